//! The schema as the database itself reports it, in one form for both
//! engines: what `qrdesk db copy` copies, and what the test that keeps
//! `migrations/sqlite` and `migrations/postgres` in step compares.

use std::collections::BTreeMap;

use super::{Engine, Pool};

/// A column's kind of value, whatever the engine calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Integer,
    Text,
    Blob,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// In the table's own order.
    pub columns: Vec<Column>,
    /// Explicit indexes (not those behind primary keys and UNIQUE): name → columns.
    pub indexes: BTreeMap<String, Vec<String>>,
}

/// Every table but the migrations' own bookkeeping, by name.
pub async fn read(pool: &Pool) -> anyhow::Result<BTreeMap<String, Table>> {
    let engine = Engine::of(pool);
    let names: Vec<String> = sqlx::query_scalar(match engine {
        Engine::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table'
               AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
              WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                AND table_name <> '_sqlx_migrations' ORDER BY 1"
        }
    })
    .fetch_all(pool)
    .await?;
    let mut out = BTreeMap::new();
    for name in names {
        let table = match engine {
            Engine::Sqlite => sqlite_table(pool, &name).await?,
            Engine::Postgres => postgres_table(pool, &name).await?,
        };
        out.insert(name, table);
    }
    Ok(out)
}

fn kind_of(declared: &str) -> anyhow::Result<Kind> {
    let t = declared.to_ascii_lowercase();
    Ok(if t.contains("int") {
        Kind::Integer
    } else if t.contains("text") || t.contains("char") {
        Kind::Text
    } else if t.contains("blob") || t.contains("bytea") {
        Kind::Blob
    } else {
        anyhow::bail!("column type {declared:?} is neither integer, text nor blob")
    })
}

async fn sqlite_table(pool: &Pool, name: &str) -> anyhow::Result<Table> {
    let cols: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    let mut table = Table::default();
    for (col, declared, not_null, pk) in cols {
        table.columns.push(Column {
            name: col,
            kind: kind_of(&declared)?,
            not_null: not_null != 0 || pk != 0,
        });
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    for index in indexes {
        let cols: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&index)
                .fetch_all(pool)
                .await?;
        table.indexes.insert(index, cols);
    }
    Ok(table)
}

async fn postgres_table(pool: &Pool, name: &str) -> anyhow::Result<Table> {
    let cols: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT), CAST(is_nullable AS TEXT)
           FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    let mut table = Table::default();
    for (col, declared, nullable) in cols {
        table.columns.push(Column {
            name: col,
            kind: kind_of(&declared)?,
            not_null: nullable == "NO",
        });
    }
    // Indexes that no constraint owns, with their key columns in order.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(i.relname AS TEXT), CAST(a.attname AS TEXT)
           FROM pg_index x
           JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
           JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE n.nspname = current_schema() AND t.relname = $1
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
          ORDER BY i.relname, k.pos",
    )
    .bind(name)
    .fetch_all(pool)
    .await?;
    for (index, col) in indexes {
        table.indexes.entry(index).or_default().push(col);
    }
    Ok(table)
}
