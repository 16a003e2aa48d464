//! The few places where SQLite and PostgreSQL need different SQL. Everything
//! else in `store/` is written once, in the subset both engines share
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`, `CAST(… AS BIGINT)`).

use super::{Pool, Transaction};

/// Which database engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a `database.url` selects: `postgres://` or `postgresql://`
    /// for PostgreSQL, anything else (`sqlite://…`, empty) for SQLite.
    pub fn of_url(url: &str) -> Engine {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    pub fn of(pool: &Pool) -> Engine {
        Engine::of_url(pool.connect_options().database_url.as_str())
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

/// Claims the next due job nobody holds: `$1` owner, `$2` lease end, `$3` now.
/// On SQLite one `UPDATE … RETURNING` is enough (writers are serialised); on
/// PostgreSQL the candidate row is locked with `SKIP LOCKED`, so concurrent
/// workers on other instances pass over it instead of waiting for it, and a
/// row whose lease another worker just took is re-checked and left alone.
pub fn claim_job(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => {
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
              WHERE id = (SELECT id FROM jobs
                           WHERE run_after <= $3 AND (lease_until IS NULL OR lease_until < $3)
                           ORDER BY run_after, id LIMIT 1)
              RETURNING id, kind, request_id, attempts, ref_id, trace_id"
        }
        Engine::Postgres => {
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
              WHERE id = (SELECT id FROM jobs
                           WHERE run_after <= $3 AND (lease_until IS NULL OR lease_until < $3)
                           ORDER BY run_after, id LIMIT 1
                           FOR UPDATE SKIP LOCKED)
              RETURNING id, kind, request_id, attempts, ref_id, trace_id"
        }
    }
}

/// Locks one request row for the rest of the transaction, so two status
/// reads of one task (a page view here, the poller on another instance) never
/// interleave their read and write. SQLite has no row locks: a write first
/// takes the database's write lock instead.
pub async fn lock_request(
    tx: &mut Transaction<'_>,
    engine: Engine,
    id: &str,
    now: i64,
) -> sqlx::Result<()> {
    match engine {
        Engine::Sqlite => {
            sqlx::query("UPDATE requests SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Engine::Postgres => {
            sqlx::query("SELECT id FROM requests WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Makes transactions about `key` (a sign-in account or address) take turns
/// until they end, so a count taken inside sees every attempt before it.
/// SQLite runs one writer at a time anyway; PostgreSQL takes a transaction
/// advisory lock.
pub async fn serialize_on(tx: &mut Transaction<'_>, engine: Engine, key: &str) -> sqlx::Result<()> {
    if engine == Engine::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(super::shared::lock_key(key))
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `haystack` contains the text bound as `needle`, as plain text (no `LIKE`
/// wildcards). Case-insensitive search folds both sides before: the needle in
/// Rust, the column with `upper()`/`lower()` — which folds ASCII only on
/// SQLite, hence `catalog_assets.search_text`, folded when it is written.
pub fn contains(engine: Engine, haystack: &str, needle: &str) -> String {
    match engine {
        Engine::Sqlite => format!("instr({haystack}, {needle}) > 0"),
        Engine::Postgres => format!("strpos({haystack}, {needle}) > 0"),
    }
}
