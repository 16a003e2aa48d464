//! The conversation: comments the customer sends from the status page, and
//! the staff's replies as last read from the task system.

use super::attachments::{self, NewAttachment};
use super::{CommentKind, Pool};
use crate::domain::task::Message;

#[derive(Debug, Clone)]
pub struct CommentRecord {
    pub id: String,
    pub request_id: String,
    pub kind: CommentKind,
    pub text: String,
    pub created_at: i64,
    pub backend_id: Option<i64>,
    pub posted_at: Option<i64>,
}
super::from_row!(CommentRecord {
    id,
    request_id,
    kind,
    text,
    created_at,
    backend_id,
    posted_at
});

const SELECT: &str =
    "SELECT id, request_id, kind, text, created_at, backend_id, posted_at FROM comments";

/// The comment's id for the form it came from: the same form sent twice (a
/// double tap, a resend after a lost connection) is one comment.
pub fn id_for_form(kind: &str, form_token: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("comment|{kind}|{form_token}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// Stores a comment with its photos and its `post_comment` job, once per
/// form; returns whether it is new.
pub async fn insert_with_job(
    pool: &Pool,
    request_id: &str,
    kind: CommentKind,
    text: &str,
    photos: &[NewAttachment],
    form_token: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let id = id_for_form(kind.as_str(), form_token);
    let mut tx = pool.begin().await?;
    let new = sqlx::query(
        "INSERT INTO comments (id, request_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(request_id)
    .bind(kind)
    .bind(text)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !new {
        return Ok(false);
    }
    for photo in photos {
        attachments::insert(&mut tx, request_id, Some(&id), photo, now).await?;
    }
    super::jobs::enqueue(
        &mut tx,
        super::JobKind::PostComment,
        request_id,
        Some(&id),
        now,
    )
    .await?;
    let comment =
        serde_json::json!({ "comment": { "id": id, "kind": kind.as_str(), "text": text } });
    super::requests::emit(
        &mut tx,
        super::WebhookEvent::Commented,
        request_id,
        comment,
        now,
    )
    .await?;
    tx.commit().await?;
    super::memo::changed();
    Ok(true)
}

/// A note for staff only, not shown on the status page.
#[derive(Debug, Clone)]
pub struct NoteRecord {
    pub id: String,
    pub request_id: String,
    pub text: String,
    pub posted_at: Option<i64>,
}
super::from_row!(NoteRecord {
    id,
    request_id,
    text,
    posted_at
});

/// Stores a staff note and its `post_note` job, once per form; returns
/// whether it is new.
pub async fn insert_note_with_job(
    pool: &Pool,
    request_id: &str,
    text: &str,
    form_token: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let id = id_for_form("note", form_token);
    let mut tx = pool.begin().await?;
    let new = sqlx::query(
        "INSERT INTO staff_notes (id, request_id, text, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(request_id)
    .bind(text)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new {
        super::jobs::enqueue(
            &mut tx,
            super::JobKind::PostNote,
            request_id,
            Some(&id),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(new)
}

pub async fn note(pool: &Pool, id: &str) -> sqlx::Result<Option<NoteRecord>> {
    sqlx::query_as("SELECT id, request_id, text, posted_at FROM staff_notes WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn mark_note_posted(
    pool: &Pool,
    id: &str,
    backend_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE staff_notes SET backend_id = $1, posted_at = $2 WHERE id = $3")
        .bind(backend_id)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    super::memo::changed();
    Ok(())
}

/// "The same problem" reports on a request since `since`: presses of the
/// button and repeated texts alike (one cap for both).
pub async fn same_problem_since(pool: &Pool, request_id: &str, since: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM comments WHERE request_id = $1 AND kind = 'same_problem' AND created_at >= $2)
              + (SELECT COUNT(*) FROM staff_notes WHERE request_id = $3 AND created_at >= $4)",
    )
    .bind(request_id)
    .bind(since)
    .bind(request_id)
    .bind(since)
    .fetch_one(pool)
    .await
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<CommentRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn for_request(pool: &Pool, request_id: &str) -> sqlx::Result<Vec<CommentRecord>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE request_id = $1 ORDER BY created_at, id"
    ))
    .bind(request_id)
    .fetch_all(pool)
    .await
}

pub async fn mark_posted(pool: &Pool, id: &str, backend_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE comments SET backend_id = $1, posted_at = $2 WHERE id = $3")
        .bind(backend_id)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    super::memo::changed();
    Ok(())
}

/// Replaces the stored copy of the task's conversation.
pub async fn save_messages(
    pool: &Pool,
    request_id: &str,
    messages: &[Message],
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let now = super::now_ms();
    for m in messages {
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT backend_id FROM task_messages WHERE request_id = $1 AND backend_id = $2",
        )
        .bind(request_id)
        .bind(m.id)
        .fetch_optional(&mut *tx)
        .await?;
        if known.is_none() && !crate::domain::marker::is_ours(&m.text) {
            let message = serde_json::json!({ "message": {
                "id": m.id, "author": m.author, "text": m.text,
                "created_at": m.created_at.map(super::rfc3339),
            }});
            super::requests::emit(
                &mut tx,
                super::WebhookEvent::Replied,
                request_id,
                message,
                now,
            )
            .await?;
        }
        sqlx::query(
            "INSERT INTO task_messages (request_id, backend_id, created_at, author, text) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (request_id, backend_id) DO UPDATE SET text = excluded.text, author = excluded.author",
        )
        .bind(request_id)
        .bind(m.id)
        .bind(m.created_at)
        .bind(&m.author)
        .bind(&m.text)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

/// Stored messages of the task, oldest first: (backend id, time, author, text).
pub async fn messages(
    pool: &Pool,
    request_id: &str,
) -> sqlx::Result<Vec<(i64, Option<i64>, Option<String>, String)>> {
    sqlx::query_as(
        "SELECT backend_id, created_at, author, text FROM task_messages WHERE request_id = $1
          ORDER BY COALESCE(created_at, 0), backend_id",
    )
    .bind(request_id)
    .fetch_all(pool)
    .await
}
