//! `qrdesk db copy`: moves an installation from one database to another
//! (SQLite to PostgreSQL, or back), every table in one transaction on the
//! target, which must be empty.

use futures_util::TryStreamExt;
use sqlx::Row;

use super::schema::{self, Kind};
use super::{Engine, Pool};

/// Parents before children, so foreign keys hold row by row.
const TABLES: &[&str] = &[
    "settings",
    "catalog_districts",
    "catalog_locations",
    "catalog_companies",
    "catalog_assets",
    "catalog_asset_districts",
    "catalog_task_types",
    "catalog_criticalities",
    "catalog_request_methods",
    "codes",
    "code_scan_days",
    "requests",
    "jobs",
    "admins",
    "sessions",
    "login_failures",
    "audit_log",
    "attachments",
    "comments",
    "followers",
    "task_messages",
    "mail_subscriptions",
    "mails",
    "staff_notes",
    "call_budget",
    "api_tokens",
    "webhooks",
    "webhook_deliveries",
    "webhook_attempts",
    "selections",
];

/// Copies every row of `from` into `to` (both migrated to the same schema)
/// and returns the rows copied per table. `progress` hears of each table as
/// it is done.
pub async fn copy(
    from: &Pool,
    to: &Pool,
    mut progress: impl FnMut(&str, u64),
) -> anyhow::Result<Vec<(String, u64)>> {
    let source = schema::read(from).await?;
    let target = schema::read(to).await?;
    for name in target.keys() {
        anyhow::ensure!(
            TABLES.contains(&name.as_str()),
            "table {name} is not in the copy list; it would be left behind"
        );
    }
    for name in TABLES {
        let (Some(s), Some(t)) = (source.get(*name), target.get(*name)) else {
            anyhow::bail!("table {name} is missing on one side; migrate both databases first");
        };
        anyhow::ensure!(
            sorted_names(s) == sorted_names(t),
            "table {name} has other columns on the two sides; migrate both to the same release"
        );
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {name}"))
            .fetch_one(to)
            .await?;
        anyhow::ensure!(
            n == 0,
            "the target is not empty ({name} has {n} rows); copy only into a new database"
        );
    }

    let mut tx = to.begin().await?;
    let mut copied = Vec::new();
    for name in TABLES {
        let columns = &target[*name].columns;
        let list = columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let params = (1..=columns.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {name} ({list}) VALUES ({params})");
        let select = format!("SELECT {list} FROM {name}");
        let mut rows = sqlx::query(&select).fetch(from);
        let mut n = 0u64;
        while let Some(row) = rows.try_next().await? {
            let mut q = sqlx::query(&insert);
            for (i, c) in columns.iter().enumerate() {
                q = match c.kind {
                    Kind::Integer => q.bind(row.try_get::<Option<i64>, _>(i)?),
                    Kind::Text => q.bind(row.try_get::<Option<String>, _>(i)?),
                    Kind::Blob => q.bind(row.try_get::<Option<Vec<u8>>, _>(i)?),
                };
            }
            q.execute(&mut *tx).await?;
            n += 1;
        }
        if Engine::of(to) == Engine::Postgres
            && columns
                .iter()
                .any(|c| c.name == "id" && c.kind == Kind::Integer)
        {
            // Identity columns go on after the highest id copied.
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE(MAX(id), 0) + 1, false)
                   FROM {name} WHERE pg_get_serial_sequence('{name}', 'id') IS NOT NULL"
            ))
            .fetch_all(&mut *tx)
            .await?;
        }
        progress(name, n);
        copied.push((name.to_string(), n));
    }
    tx.commit().await?;
    Ok(copied)
}

fn sorted_names(t: &schema::Table) -> Vec<&str> {
    let mut v: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    v.sort_unstable();
    v
}
