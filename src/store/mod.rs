//! The database: pool, embedded migrations and one module per table group.
//!
//! SQLite in WAL mode is the embedded default. Every query here is plain SQL that
//! callers reach through functions, so handlers never see a connection.

pub mod admins;
pub mod attachments;
pub mod catalog;
pub mod codes;
pub mod comments;
pub mod jobs;
pub mod mails;
pub mod memo;
pub mod requests;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub type Pool = SqlitePool;

/// Opens (creating if needed) the database and applies pending migrations.
pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            }
        }
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations").run(pool).await?;
    Ok(())
}

/// Wall-clock time in Unix milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}

pub async fn get_setting(pool: &Pool, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
        .bind(key)
        .fetch_optional(pool)
        .await
}

pub async fn set_setting(pool: &Pool, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    memo::changed();
    Ok(())
}

/// A per-installation secret, made on first use and shared by every instance
/// on the same database (form tokens are signed with it).
pub async fn installation_secret(pool: &Pool) -> anyhow::Result<Vec<u8>> {
    let fresh = crate::codes::encode_base32(&crate::codes::random_bytes::<32>());
    sqlx::query("INSERT INTO settings (key, value) VALUES ('installation_secret', ?) ON CONFLICT (key) DO NOTHING")
        .bind(&fresh)
        .execute(pool)
        .await?;
    let value = get_setting(pool, "installation_secret")
        .await?
        .ok_or_else(|| anyhow::anyhow!("installation secret missing"))?;
    Ok(value.into_bytes())
}
