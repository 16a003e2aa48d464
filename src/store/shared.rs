//! What several instances on one PostgreSQL database agree on through it:
//! work done by one instance at a time, a wake-up when a job is queued, and
//! the task system's call budget. On SQLite there is one instance, so each of
//! these is the in-process equivalent.

use std::future::Future;
use std::time::Duration;

use super::{Engine, Pool, Transaction};

/// The channel a queued job is announced on.
const JOBS_CHANNEL: &str = "qrdesk_jobs";

/// Runs `work` unless another instance is running the work called `name`
/// right now; `None` then. On PostgreSQL this is a session advisory lock,
/// held on one connection for as long as `work` runs and released by the
/// server if this instance dies; on SQLite `work` simply runs.
pub async fn once_at_a_time<T, F>(pool: &Pool, name: &str, work: F) -> sqlx::Result<Option<T>>
where
    F: Future<Output = T>,
{
    if Engine::of(pool) == Engine::Sqlite {
        return Ok(Some(work.await));
    }
    let key = lock_key(name);
    let mut held = Held(Some(pool.acquire().await?));
    let conn = held.0.as_mut().expect("just acquired");
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut **conn)
        .await?;
    if !got {
        return Ok(None);
    }
    let out = work.await;
    let conn = held.0.as_mut().expect("held until here");
    let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .fetch_one(&mut **conn)
        .await;
    if matches!(unlocked, Ok(true)) {
        held.0.take();
    }
    Ok(Some(out))
}

/// The connection an advisory lock is held on. Dropped while it may still
/// hold the lock (the work was cancelled, the unlock failed), it is closed
/// instead of going back to the pool, and the server releases the lock.
struct Held(Option<sqlx::pool::PoolConnection<sqlx::Any>>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

/// A stable 64-bit key for an advisory lock (FNV-1a of the name).
pub(super) fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("qrdesk:{name}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Announces, inside the transaction that queues a job, that there is work:
/// PostgreSQL delivers the notification to every instance at commit. On
/// SQLite the caller wakes its own worker.
pub async fn announce_job(tx: &mut Transaction<'_>) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(JOBS_CHANNEL)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Calls `wake` whenever any instance queues a job, until `stop` turns true.
/// Only on PostgreSQL (nothing to do on SQLite); a lost connection is opened
/// again, and the worker's polling covers the gap.
pub fn listen_for_jobs(
    url: String,
    wake: impl Fn() + Send + Sync + 'static,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if Engine::of_url(&url) != Engine::Postgres {
        return None;
    }
    Some(tokio::spawn(async move {
        loop {
            let listened = async {
                let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
                listener.listen(JOBS_CHANNEL).await?;
                // Jobs queued while no one listened are found by the next poll.
                wake();
                loop {
                    listener.recv().await?;
                    wake();
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            };
            tokio::select! {
                r = listened => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "job notifications lost; listening again in 5 s");
                    }
                }
                _ = stop.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}

/// A call budget several instances take their calls from: GCRA over one row
/// of `call_budget`, so all of them together stay within `per_minute`.
#[derive(Clone)]
pub struct SharedBudget {
    pool: Pool,
    name: String,
    interval_ms: i64,
    /// How far ahead of now the theoretical arrival time may run (the burst).
    ahead_ms: i64,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("name", &self.name)
            .field("interval_ms", &self.interval_ms)
            .finish_non_exhaustive()
    }
}

impl SharedBudget {
    /// The budget called `name`, `interval` apart with bursts of `burst`.
    pub async fn new(
        pool: &Pool,
        name: &str,
        interval: Duration,
        burst: u32,
    ) -> sqlx::Result<SharedBudget> {
        sqlx::query(
            "INSERT INTO call_budget (name, tat) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(pool)
        .await?;
        let interval_ms = (interval.as_millis() as i64).max(1);
        Ok(SharedBudget {
            pool: pool.clone(),
            name: name.to_owned(),
            interval_ms,
            ahead_ms: interval_ms * i64::from(burst.max(1) - 1),
        })
    }

    /// Takes one call if the budget has one now; otherwise says how long to
    /// wait before asking again.
    pub async fn try_take(&self, now: i64) -> sqlx::Result<Result<(), Duration>> {
        let taken: Option<i64> = sqlx::query_scalar(
            "UPDATE call_budget SET tat = (CASE WHEN tat > $2 THEN tat ELSE $2 END) + $3
              WHERE name = $1 AND (CASE WHEN tat > $2 THEN tat ELSE $2 END) - $4 <= $2
              RETURNING tat",
        )
        .bind(&self.name)
        .bind(now)
        .bind(self.interval_ms)
        .bind(self.ahead_ms)
        .fetch_optional(&self.pool)
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let tat: i64 = sqlx::query_scalar("SELECT tat FROM call_budget WHERE name = $1")
            .bind(&self.name)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(now);
        let wait = (tat - self.ahead_ms - now).clamp(1, 60_000);
        Ok(Err(Duration::from_millis(wait as u64)))
    }

    /// Waits until the budget has a call, and takes it. A database that does
    /// not answer does not stop calls: this instance's own budget still holds.
    pub async fn take(&self) {
        loop {
            match self.try_take(super::now_ms()).await {
                Ok(Ok(())) => return,
                Ok(Err(wait)) => tokio::time::sleep(wait).await,
                Err(e) => {
                    tracing::warn!(error = %e, "shared call budget unreadable; using this instance's own");
                    return;
                }
            }
        }
    }
}
