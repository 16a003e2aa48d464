//! Staff accounts, their sessions, sign-in throttling and the audit log.

use super::Pool;
use crate::domain::codes::{encode_base32, hex_sha256, random_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// Can change codes, print, retry requests, sync.
    pub fn can_edit(self) -> bool {
        self >= Role::Admin
    }
}

#[derive(Debug, Clone)]
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub name: String,
    pub phone: String,
    pub last_sign_in_at: Option<i64>,
}

struct Row {
    id: i64,
    email: String,
    role: String,
    created_at: i64,
    name: String,
    phone: String,
    last_sign_in_at: Option<i64>,
}
super::from_row!(Row {
    id,
    email,
    role,
    created_at,
    name,
    phone,
    last_sign_in_at
});

/// The columns of [`Row`], for `a` the admins table.
const COLUMNS: &str = "a.id, a.email, a.role, a.created_at, a.name, a.phone, a.last_sign_in_at";

impl From<Row> for Admin {
    fn from(r: Row) -> Admin {
        Admin {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            created_at: r.created_at,
            name: r.name,
            phone: r.phone,
            last_sign_in_at: r.last_sign_in_at,
        }
    }
}

pub async fn count(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(pool)
        .await
}

pub async fn count_owners(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE role = 'owner'")
        .fetch_one(pool)
        .await
}

/// Creates an account; `None` if the e-mail is taken.
pub async fn create(
    pool: &Pool,
    email: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let id = sqlx::query_scalar(
        "INSERT INTO admins (email, password_hash, role, created_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(id)
}

/// The account and its password hash, for signing in.
pub async fn by_email(pool: &Pool, email: &str) -> sqlx::Result<Option<(Admin, String)>> {
    struct WithHash {
        admin: Row,
        password_hash: String,
    }
    super::from_row!(WithHash { password_hash; flatten admin });
    let row: Option<WithHash> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, a.password_hash FROM admins a WHERE a.email = $1"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.admin.into(), r.password_hash)))
}

pub async fn password_hash(pool: &Pool, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM admins WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn get(pool: &Pool, id: i64) -> sqlx::Result<Option<Admin>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins a WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(Into::into))
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<Admin>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM admins a ORDER BY a.id"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Changes a person's name, phone and e-mail (their login); false when the
/// e-mail belongs to someone else.
pub async fn set_profile(
    pool: &Pool,
    id: i64,
    name: &str,
    phone: &str,
    email: &str,
) -> sqlx::Result<bool> {
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM admins WHERE email = $1 AND id <> $2")
            .bind(email)
            .bind(id)
            .fetch_optional(pool)
            .await?;
    if taken.is_some() {
        return Ok(false);
    }
    sqlx::query("UPDATE admins SET name = $1, phone = $2, email = $3 WHERE id = $4")
        .bind(name)
        .bind(phone)
        .bind(email)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(true)
}

/// Remembers a successful sign-in for the users table.
pub async fn signed_in(pool: &Pool, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE admins SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives account `id` a new role unless that would leave no owner; `false`
/// then.
pub async fn set_role(pool: &Pool, id: i64, role: Role) -> sqlx::Result<bool> {
    keeping_an_owner(
        pool,
        sqlx::query(
            "UPDATE admins SET role = $1 WHERE id = $2 AND ($1 = 'owner' OR role <> 'owner'
               OR (SELECT COUNT(*) FROM admins o WHERE o.role = 'owner' AND o.id <> $2) > 0)",
        )
        .bind(role.as_str())
        .bind(id),
    )
    .await
}

/// Removes account `id` unless it is the last owner; `false` then (or when
/// there is no such account).
pub async fn delete(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    keeping_an_owner(
        pool,
        sqlx::query(
            "DELETE FROM admins WHERE id = $1 AND (role <> 'owner'
               OR (SELECT COUNT(*) FROM admins o WHERE o.role = 'owner' AND o.id <> $1) > 0)",
        )
        .bind(id),
    )
    .await
}

/// Runs one statement whose condition keeps an owner, in a transaction
/// that takes its turn on PostgreSQL: two owners demoting each other at
/// once must not both win. Whether it changed a row.
async fn keeping_an_owner<'q>(
    pool: &Pool,
    statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    super::dialect::serialize_on(&mut tx, super::Engine::of(pool), "owners").await?;
    let done = statement.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

/// Sets a new password and ends every session of the account except `keep`.
pub async fn set_password(
    pool: &Pool,
    id: i64,
    hash: &str,
    keep: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE admins SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE admin_id = $1 AND id_hash <> $2")
        .bind(id)
        .bind(keep.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A signed-in session as its cookie finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub admin: Admin,
    pub id_hash: String,
    pub csrf: String,
}

/// Starts a session; returns the cookie value (only its hash is stored).
pub async fn start_session(
    pool: &Pool,
    admin_id: i64,
    lifetime_ms: i64,
    now: i64,
) -> sqlx::Result<String> {
    let token = encode_base32(&random_bytes::<32>());
    let csrf = encode_base32(&random_bytes::<20>());
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO sessions (id_hash, admin_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hex_sha256(token.as_bytes()))
        .bind(admin_id)
        .bind(csrf)
        .bind(now)
        .bind(now + lifetime_ms)
        .execute(pool)
        .await?;
    Ok(token)
}

pub async fn session(pool: &Pool, token: &str, now: i64) -> sqlx::Result<Option<Session>> {
    struct WithCsrf {
        admin: Row,
        csrf: String,
    }
    super::from_row!(WithCsrf { csrf; flatten admin });
    let hash = hex_sha256(token.as_bytes());
    let row: Option<WithCsrf> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, s.csrf FROM sessions s JOIN admins a ON a.id = s.admin_id
          WHERE s.id_hash = $1 AND s.expires_at > $2"
    ))
    .bind(&hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Session {
        admin: r.admin.into(),
        id_hash: hash,
        csrf: r.csrf,
    }))
}

pub async fn end_session(pool: &Pool, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Counts a sign-in attempt against every key before its password is
/// checked, atomically: concurrent attempts on the same keys queue here
/// ([`super::dialect::serialize_on`]; on SQLite the first write takes the
/// write lock), then the window is counted with this attempt in it. Over a key's cap, nothing is kept and `None` says refuse; otherwise
/// the rows written, which stay as a failure unless the password was right
/// ([`forget_attempt`]).
pub async fn begin_attempt(
    pool: &Pool,
    keys: &[(String, i64)],
    since: i64,
    now: i64,
) -> sqlx::Result<Option<Vec<i64>>> {
    let mut tx = pool.begin().await?;
    let engine = super::Engine::of(pool);
    let mut ordered: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    ordered.sort_unstable();
    for key in ordered {
        super::dialect::serialize_on(&mut tx, engine, &format!("sign-in:{key}")).await?;
    }
    let mut rows = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        let id: i64 =
            sqlx::query_scalar("INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id")
                .bind(key)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        rows.push(id);
    }
    for (key, cap) in keys {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2")
                .bind(key)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
        if n > *cap {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(rows))
}

/// The attempt was right after all: its rows are not failures.
/// Spends the one-time setup link: true for exactly one caller.
pub async fn consume_setup_token(pool: &Pool, token_hash: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE settings SET value = '' WHERE key = 'setup_token_hash' AND value = $1 AND value <> ''",
    )
    .bind(token_hash)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn forget_attempt(pool: &Pool, rows: &[i64]) -> sqlx::Result<()> {
    for id in rows {
        sqlx::query("DELETE FROM login_failures WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(())
}

pub async fn clear_failures(pool: &Pool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn audit(
    pool: &Pool,
    admin_id: Option<i64>,
    action: &str,
    detail: &str,
    now: i64,
) -> sqlx::Result<()> {
    audit_from(pool, admin_id, None, action, detail, now).await
}

/// An audit line with the address the change came from.
pub async fn audit_from(
    pool: &Pool,
    admin_id: Option<i64>,
    ip: Option<&str>,
    action: &str,
    detail: &str,
    now: i64,
) -> sqlx::Result<()> {
    audit_in(
        &mut *pool.acquire().await?,
        admin_id,
        ip,
        action,
        detail,
        now,
    )
    .await
}

/// An audit line written on `conn`, inside the caller's transaction.
pub async fn audit_in(
    conn: &mut sqlx::AnyConnection,
    admin_id: Option<i64>,
    ip: Option<&str>,
    action: &str,
    detail: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, admin_id, ip, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(admin_id)
    .bind(ip)
    .bind(action)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A line of the audit log, with the person's e-mail when they still exist.
#[derive(Debug, Clone)]
pub struct AuditLine {
    pub id: i64,
    pub at: i64,
    pub admin_id: Option<i64>,
    pub email: Option<String>,
    pub ip: Option<String>,
    pub action: String,
    pub detail: Option<String>,
}
super::from_row!(AuditLine {
    id,
    at,
    admin_id,
    email,
    ip,
    action,
    detail
});

/// The log, newest first, optionally of one person and one action, older
/// than `before` (an id) for the next page.
pub async fn audit_page(
    pool: &Pool,
    admin_id: Option<i64>,
    action: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AuditLine>> {
    sqlx::query_as(
        "SELECT l.id, l.at, l.admin_id, a.email, l.ip, l.action, l.detail
           FROM audit_log l LEFT JOIN admins a ON a.id = l.admin_id
          WHERE ($1 IS NULL OR l.admin_id = $1) AND ($2 IS NULL OR l.action = $2)
            AND ($3 IS NULL OR l.id < $3)
          ORDER BY l.id DESC LIMIT $4",
    )
    .bind(admin_id)
    .bind(action)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Every action the log holds, for the filter.
pub async fn audit_actions(pool: &Pool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action")
        .fetch_all(pool)
        .await
}
