//! The outbox. A job is claimed with a lease: a worker that dies leaves the
//! job to the next one once the lease runs out, and a worker that stops cleanly
//! hands its claims back at once.

use super::{JobKind, Pool, Transaction};

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub request_id: String,
    /// Attempts including the current one.
    pub attempts: i64,
    /// What else the job is about: the attachment id of an upload.
    pub ref_id: Option<String>,
    /// The id of the HTTP request that queued it.
    pub trace_id: Option<String>,
}
super::from_row!(Job {
    id,
    kind,
    request_id,
    attempts,
    ref_id,
    trace_id
});

pub async fn enqueue(
    tx: &mut Transaction<'_>,
    kind: JobKind,
    request_id: &str,
    ref_id: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, request_id, ref_id, run_after, created_at, trace_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(request_id)
    .bind(ref_id)
    .bind(now)
    .bind(now)
    .bind(crate::trace::current())
    .execute(&mut **tx)
    .await?;
    super::shared::announce_job(tx).await
}

/// Claims the next due job that nobody holds, so that two workers — on this
/// instance or another — never run one job at once (see [`super::dialect::claim_job`]).
pub async fn claim(pool: &Pool, owner: &str, lease_ms: i64, now: i64) -> sqlx::Result<Option<Job>> {
    sqlx::query_as(super::dialect::claim_job(super::Engine::of(pool)))
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .fetch_optional(pool)
        .await
}

/// Removes a finished job, if this worker still holds it.
pub async fn finish(pool: &Pool, id: i64, owner: &str) -> sqlx::Result<bool> {
    let n = sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Hands the job back for another attempt at `run_after`.
pub async fn retry_at(
    pool: &Pool,
    id: i64,
    owner: &str,
    run_after: i64,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_after = $1, last_error = $2
          WHERE id = $3 AND lease_owner = $4",
    )
    .bind(run_after)
    .bind(error)
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives back every claim `owner` holds (clean shutdown). Attempts are not
/// refunded: the interrupted call may have reached the task system.
pub async fn release_all(pool: &Pool, owner: &str) -> sqlx::Result<u64> {
    Ok(
        sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
        )
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected(),
    )
}

/// Jobs waiting or in progress.
pub async fn pending(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(pool)
        .await
}

/// Per kind: how many jobs wait or run, and when the oldest was queued.
pub async fn stats(pool: &Pool) -> sqlx::Result<Vec<(JobKind, i64, i64)>> {
    sqlx::query_as("SELECT kind, COUNT(*), MIN(created_at) FROM jobs GROUP BY kind ORDER BY kind")
        .fetch_all(pool)
        .await
}
