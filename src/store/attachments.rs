//! The `attachments` table: photos sent with a request and where they went.

use super::{Pool, Transaction};

/// A processed photo, about to be stored with its request.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: uuid::Uuid,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, Clone)]
pub struct AttachmentRecord {
    pub id: String,
    pub request_id: String,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub backend_id: Option<i64>,
    pub uploaded_at: Option<i64>,
    pub removed_at: Option<i64>,
}
super::from_row!(AttachmentRecord {
    id,
    request_id,
    sha256,
    mime,
    size,
    width,
    height,
    backend_id,
    uploaded_at,
    removed_at
});

const SELECT: &str = "SELECT id, request_id, sha256, mime, size, width, height, backend_id, uploaded_at, removed_at FROM attachments";

pub async fn insert(
    tx: &mut Transaction<'_>,
    request_id: &str,
    comment_id: Option<&str>,
    a: &NewAttachment,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO attachments (id, request_id, comment_id, sha256, mime, size, width, height, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id.to_string())
    .bind(request_id)
    .bind(comment_id)
    .bind(&a.sha256)
    .bind(&a.mime)
    .bind(a.size)
    .bind(a.width)
    .bind(a.height)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn for_request(pool: &Pool, request_id: &str) -> sqlx::Result<Vec<AttachmentRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE request_id = $1 ORDER BY id"))
        .bind(request_id)
        .fetch_all(pool)
        .await
}

pub async fn for_comment(pool: &Pool, comment_id: &str) -> sqlx::Result<Vec<AttachmentRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE comment_id = $1 ORDER BY id"))
        .bind(comment_id)
        .fetch_all(pool)
        .await
}

/// Photos still kept of the given requests' asset, newest request first.
pub async fn for_asset(
    pool: &Pool,
    asset: crate::domain::task::AssetId,
    limit: i64,
) -> sqlx::Result<Vec<AttachmentRecord>> {
    sqlx::query_as(
        "SELECT a.id, a.request_id, a.sha256, a.mime, a.size, a.width, a.height, a.backend_id, a.uploaded_at, a.removed_at
           FROM attachments a JOIN requests r ON r.id = a.request_id
          WHERE a.removed_at IS NULL
            AND (r.asset_id = $1 OR r.code IN (SELECT code FROM codes WHERE target_kind = 'asset' AND target_id = $1))
          ORDER BY r.created_at DESC, a.id LIMIT $2",
    )
    .bind(asset)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<AttachmentRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn mark_uploaded(pool: &Pool, id: &str, backend_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE attachments SET backend_id = $1, uploaded_at = $2 WHERE id = $3")
        .bind(backend_id)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    super::memo::changed();
    Ok(())
}

/// Blobs of photos delivered before `before` that are still on disk, and not
/// also used by a photo that is still waiting.
pub async fn expired_blobs(pool: &Pool, before: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT a.sha256 FROM attachments a
          WHERE a.uploaded_at IS NOT NULL AND a.uploaded_at < $1 AND a.removed_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM attachments b WHERE b.sha256 = a.sha256 AND b.uploaded_at IS NULL)",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

pub async fn mark_removed(pool: &Pool, sha256: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE attachments SET removed_at = $1 WHERE sha256 = $2 AND removed_at IS NULL")
        .bind(now)
        .bind(sha256)
        .execute(pool)
        .await?;
    super::memo::changed();
    Ok(())
}
