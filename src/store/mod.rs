//! The database: pool, embedded migrations and one module per table group.
//!
//! SQLite in WAL mode is the embedded default; `database.url = "postgres://…"`
//! selects PostgreSQL, which several instances can share. Queries are written
//! once (sqlx's Any driver, `$1` placeholders) and reached through functions
//! here, so handlers never see a connection; the few statements that must
//! differ live in [`dialect`], and what only several instances need (locks,
//! wake-ups, the shared call budget) in [`shared`].

/// `FromRow` for a struct whose fields are named like the columns (and
/// `flatten` fields read from the same row), written here instead of derived so
/// that no proc macro pulls a second, host-side copy of sqlx into the build.
macro_rules! from_row {
    ($ty:ident { $($field:ident),* $(; flatten $($flat:ident),+)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $ty {
            fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)*
                    $($($flat: sqlx::FromRow::from_row(row)?,)+)?
                })
            }
        }
    };
}
pub(crate) use from_row;

pub mod admins;
pub mod api_tokens;
pub mod attachments;
pub mod catalog;
pub mod codes;
pub mod comments;
pub mod copy;
pub mod dialect;
pub mod jobs;
pub mod mails;
pub mod memo;
pub mod org;
pub mod requests;
pub mod schema;
pub mod shared;
pub mod webhooks;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

pub use crate::domain::kinds::{
    ApiRole, CommentKind, DeliveryState, JobKind, RequestStatus, WebhookEvent,
};
pub use dialect::Engine;

pub type Pool = sqlx::AnyPool;
pub type Transaction<'c> = sqlx::Transaction<'c, sqlx::Any>;

/// Opens the database `url` names (creating an SQLite file if needed) and
/// applies pending migrations.
pub async fn open(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    let pool = connect(url, max_connections).await?;
    migrate(&pool).await?;
    // Rows from before search texts existed get theirs once; new rows are
    // written with them. A database without rows gets no mark, so that a
    // new one stays empty (`db copy` copies only into an empty database).
    if get_setting(&pool, "search_text_filled").await?.is_none() {
        catalog::fill_site_search(&pool).await?;
        requests::fill_search(&pool).await?;
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM catalog_locations)",
        )
        .fetch_one(&pool)
        .await?;
        if rows > 0 {
            set_setting(&pool, "search_text_filled", "1").await?;
        }
    }
    Ok(pool)
}

/// Opens the database without migrating it.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of_url(url);
    let url = match engine {
        Engine::Postgres => url.to_owned(),
        Engine::Sqlite => sqlite_url(url)?,
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    Ok(pool)
}

/// Creates `path` as a new empty file only its owner may read and write.
pub fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Makes the data folder (0700) and the database files in it (0600)
/// private, also where an older version made them readable by everyone.
pub fn make_private(data_dir: &std::path::Path, database_url: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(data_dir)?;
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
        let file = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or(rest));
        if let Some(file) = file.filter(|f| *f != ":memory:") {
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{file}{suffix}");
                if std::path::Path::new(&path).exists() {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (data_dir, database_url);
    Ok(())
}

/// An SQLite URL that creates the file (and its folder) when missing.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| anyhow::anyhow!("database.url must start with sqlite:// or postgres://"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
    }
    Ok(if query.contains("mode=") {
        url.to_owned()
    } else if query.is_empty() {
        format!("sqlite://{path}?mode=rwc")
    } else {
        format!("sqlite://{path}?{query}&mode=rwc")
    })
}

// `SQLITE` and `POSTGRES`: (version, description, SQL) of every file in
// `migrations/<engine>`, listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The embedded migrations of one engine, checksummed as sqlx's own
/// `migrate!` does, so databases migrated by either way agree.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let files = match Engine::of(pool) {
        Engine::Sqlite => SQLITE,
        Engine::Postgres => POSTGRES,
    };
    migrator(files).run(pool).await?;
    Ok(())
}

/// Whether the database answers.
pub async fn ping(pool: &Pool) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}

/// Wall-clock time in Unix milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}

pub use crate::domain::time::rfc3339;

pub async fn get_setting(pool: &Pool, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

pub async fn set_setting(pool: &Pool, key: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
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
    let fresh = crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<32>());
    sqlx::query("INSERT INTO settings (key, value) VALUES ('installation_secret', $1) ON CONFLICT (key) DO NOTHING")
        .bind(&fresh)
        .execute(pool)
        .await?;
    let value = get_setting(pool, "installation_secret")
        .await?
        .ok_or_else(|| anyhow::anyhow!("installation secret missing"))?;
    Ok(value.into_bytes())
}

/// The organisation as Settings → Кабинет names it; empty when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Org {
    pub name: String,
    pub description: String,
    /// A contact phone shown on public pages.
    pub phone: String,
    /// The privacy policy's address, linked next to the consent box.
    pub privacy_url: String,
}

impl Org {
    /// The name, when one is set.
    pub fn name(&self) -> Option<&str> {
        (!self.name.is_empty()).then_some(self.name.as_str())
    }

    /// Each field as saved in settings, or else as `[organisation]` says.
    pub fn or(self, defaults: &crate::config::OrganisationConfig) -> Org {
        let pick = |saved: String, default: &str| {
            if saved.is_empty() {
                default.trim().to_owned()
            } else {
                saved
            }
        };
        Org {
            name: pick(self.name, &defaults.name),
            description: pick(self.description, &defaults.description),
            phone: pick(self.phone, &defaults.phone),
            privacy_url: pick(self.privacy_url, &defaults.privacy_url),
        }
    }
}

/// The organisation as saved in Settings → Кабинет (empty fields unset).
pub async fn org(pool: &Pool) -> sqlx::Result<Org> {
    let get = |key: &'static str| async move {
        get_setting(pool, key).await.map(Option::unwrap_or_default)
    };
    Ok(Org {
        name: get("org_name").await?,
        description: get("org_description").await?,
        phone: get("org_phone").await?,
        privacy_url: get("org_privacy_url").await?,
    })
}

pub async fn set_org(pool: &Pool, org: &Org) -> sqlx::Result<()> {
    set_setting(pool, "org_name", &org.name).await?;
    set_setting(pool, "org_description", &org.description).await?;
    set_setting(pool, "org_phone", &org.phone).await?;
    set_setting(pool, "org_privacy_url", &org.privacy_url).await
}

/// A database URL fit for logs and messages: any password replaced by `***`,
/// in the user part (`user:pass@`) and in the query (`?password=…`, which
/// libpq and sqlx both accept), where every value but a few harmless ones is
/// hidden.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let slash = if rest.contains('/') { "/" } else { "" };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        _ => authority.to_owned(),
    };
    let query = query.map_or_else(String::new, |q| {
        const HARMLESS: [&str; 5] = [
            "sslmode",
            "application_name",
            "connect_timeout",
            "mode",
            "statement_timeout",
        ];
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if HARMLESS.contains(&k) => format!("{k}={v}"),
                Some((k, _)) => format!("{k}=***"),
                None => pair.to_owned(),
            })
            .collect();
        format!("?{}", pairs.join("&"))
    });
    format!("{scheme}://{authority}{slash}{tail}{query}")
}

/// Only where a URL points: `scheme://host[:port]`, without user, path or
/// query (any of which may carry a credential: a Bitrix24 webhook's secret
/// is in its path). A value that is not a URL gives `None`.
pub fn url_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    match (u.host_str(), u.port()) {
        (Some(host), Some(port)) => Some(format!("{}://{host}:{port}", u.scheme())),
        (Some(host), None) => Some(format!("{}://{host}", u.scheme())),
        (None, _) => Some(format!("{}:", u.scheme())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_database_urls_in_messages() {
        assert_eq!(
            redact_url("postgres://qrdesk:s3cret@db:5432/qrdesk?sslmode=require"),
            "postgres://qrdesk:***@db:5432/qrdesk?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://qrdesk@db/qrdesk"),
            "postgres://qrdesk@db/qrdesk"
        );
        assert_eq!(redact_url("postgres://u:p:q@db"), "postgres://u:***@db");
        assert_eq!(
            redact_url("sqlite://data/qrdesk.db"),
            "sqlite://data/qrdesk.db"
        );
        // libpq takes the password from the query too.
        assert_eq!(
            redact_url("postgres://qrdesk@db/qrdesk?password=s3cret&sslmode=require"),
            "postgres://qrdesk@db/qrdesk?password=***&sslmode=require"
        );
    }

    #[test]
    fn an_origin_keeps_no_credential() {
        assert_eq!(
            url_origin("https://portal.bitrix24.ru/rest/1/s3cret/").as_deref(),
            Some("https://portal.bitrix24.ru")
        );
        assert_eq!(
            url_origin("postgres://u:p@db:5433/x?password=q").as_deref(),
            Some("postgres://db:5433")
        );
        assert_eq!(url_origin("not a url"), None);
    }

    #[test]
    fn sqlite_urls_create_the_file_and_keep_their_options() {
        let dir = std::env::temp_dir().join(format!("qrdesk-url-{}", std::process::id()));
        let file = dir.join("sub/q.db");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir(), "the folder is made");
        assert_eq!(
            sqlite_url(&format!("{url}?cache=shared")).unwrap(),
            format!("{url}?cache=shared&mode=rwc")
        );
        assert_eq!(
            sqlite_url(&format!("{url}?mode=ro")).unwrap(),
            format!("{url}?mode=ro")
        );
        assert_eq!(sqlite_url("sqlite::memory:").unwrap(), "sqlite::memory:");
        assert!(sqlite_url("mysql://x").is_err());
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(Engine::of_url("postgresql://h/d"), Engine::Postgres);
        assert_eq!(Engine::of_url(""), Engine::Sqlite);
    }
}
