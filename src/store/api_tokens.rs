//! The `api_tokens` table. A token itself is never stored: its SHA-256 finds
//! it, its first characters tell it apart in the list.

use super::{ApiRole, Pool};
use crate::domain::api_token::ApiToken;

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub description: String,
    pub role: ApiRole,
    pub token_start: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
super::from_row!(TokenRow {
    id,
    description,
    role,
    token_start,
    created_at,
    updated_at,
    last_used_at,
    revoked_at
});

const SELECT: &str =
    "SELECT id, description, role, token_start, created_at, updated_at, last_used_at,
        revoked_at FROM api_tokens";

/// Makes a token; the caller shows it once, it cannot be read back.
pub async fn create(
    pool: &Pool,
    description: &str,
    role: ApiRole,
    now: i64,
) -> sqlx::Result<(i64, ApiToken)> {
    let token = ApiToken::generate();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (description, role, token_hash, token_start, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(description)
    .bind(role)
    .bind(token.hash())
    .bind(token.shown())
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok((id, token))
}

/// Every token, newest first, revoked ones included.
pub async fn list(pool: &Pool) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY id DESC"))
        .fetch_all(pool)
        .await
}

/// Revokes a token at once; false when there is no such active token.
pub async fn revoke(pool: &Pool, id: i64, now: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1, updated_at = $1 WHERE id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The active token `token` is, noting that it was used now (at most once a
/// minute, so reads through the API do not each write).
pub async fn authenticate(
    pool: &Pool,
    token: &ApiToken,
    now: i64,
) -> sqlx::Result<Option<TokenRow>> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE token_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(token.hash())
    .fetch_optional(pool)
    .await?;
    if let Some(r) = &row {
        if r.last_used_at.is_none_or(|t| now - t >= 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(r.id)
                .execute(pool)
                .await?;
        }
    }
    Ok(row)
}
