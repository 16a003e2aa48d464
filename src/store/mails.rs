//! E-mails to customers: who asked for them (`mail_subscriptions`) and each
//! mail to send (`mails`, with its `send_mail` job).

use uuid::Uuid;

use super::{Pool, Transaction};
use crate::domain::kinds::MailReason;

#[derive(Debug, Clone)]
pub struct MailRecord {
    pub id: String,
    pub request_id: String,
    pub kind: MailReason,
    pub status_name: Option<String>,
    pub sent_at: Option<i64>,
    pub failed: Option<String>,
}
super::from_row!(MailRecord {
    id,
    request_id,
    kind,
    status_name,
    sent_at,
    failed
});

async fn queue(
    tx: &mut Transaction<'_>,
    request_id: &str,
    kind: MailReason,
    status_name: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO mails (id, request_id, kind, status_name, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(kind)
    .bind(status_name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    super::jobs::enqueue(tx, super::JobKind::SendMail, request_id, Some(&id), now).await
}

/// Keeps the sealed link of a new request and queues its first mail.
pub async fn subscribe(
    tx: &mut Transaction<'_>,
    request_id: &str,
    token_sealed: &[u8],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mail_subscriptions (request_id, token_sealed, created_at) VALUES ($1, $2, $3)",
    )
    .bind(request_id)
    .bind(token_sealed)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    queue(tx, request_id, MailReason::Accepted, None, now).await
}

/// Queues one "fixed" mail for each follower who left an e-mail and has not
/// had one yet.
pub async fn queue_fixed_for_followers(
    tx: &mut Transaction<'_>,
    request_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    let hashes: Vec<String> = sqlx::query_scalar(
        "SELECT f.token_hash FROM followers f
          WHERE f.request_id = $1 AND f.email IS NOT NULL AND f.token_sealed IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM mails m WHERE m.follower = f.token_hash AND m.kind = 'fixed')",
    )
    .bind(request_id)
    .fetch_all(&mut **tx)
    .await?;
    for hash in hashes {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO mails (id, request_id, kind, status_name, created_at, follower) VALUES ($1, $2, 'fixed', NULL, $3, $4)",
        )
        .bind(&id)
        .bind(request_id)
        .bind(now)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        super::jobs::enqueue(tx, super::JobKind::SendMail, request_id, Some(&id), now).await?;
    }
    Ok(())
}

/// Where a follower's mail goes: their address, sealed link and language.
#[derive(Debug, Clone)]
pub struct FollowerMail {
    pub token_hash: String,
    pub email: String,
    pub token_sealed: Vec<u8>,
    pub lang: String,
}
super::from_row!(FollowerMail {
    token_hash,
    email,
    token_sealed,
    lang
});

/// The follower a mail is for, if it is for one who still wants it.
pub async fn follower_of(pool: &Pool, mail_id: &str) -> sqlx::Result<Option<FollowerMail>> {
    sqlx::query_as(
        "SELECT f.token_hash, f.email, f.token_sealed, f.lang FROM mails m JOIN followers f ON f.token_hash = m.follower
          WHERE m.id = $1 AND f.email IS NOT NULL AND f.token_sealed IS NOT NULL",
    )
    .bind(mail_id)
    .fetch_optional(pool)
    .await
}

/// Keeps a follower's address to tell them when the task is fixed.
pub async fn follow_by_mail(
    pool: &Pool,
    token_hash: &str,
    email: &str,
    token_sealed: &[u8],
    lang: &str,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE followers SET email = $2, token_sealed = $3, lang = $4 WHERE token_hash = $1",
    )
    .bind(token_hash)
    .bind(email)
    .bind(token_sealed)
    .bind(lang)
    .execute(pool)
    .await?
    .rows_affected();
    super::memo::changed();
    Ok(n == 1)
}

/// Whether a follower left an e-mail.
pub async fn follower_subscribed(pool: &Pool, token_hash: &str) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM followers WHERE token_hash = $1 AND email IS NOT NULL")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
    Ok(found.is_some())
}

/// Queues a "status changed" mail if the request asked for mail.
pub async fn queue_status_change(
    tx: &mut Transaction<'_>,
    request_id: &str,
    status_name: &str,
    now: i64,
) -> sqlx::Result<()> {
    let subscribed: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM mail_subscriptions WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&mut **tx)
            .await?;
    if subscribed.is_some() {
        queue(tx, request_id, MailReason::Status, Some(status_name), now).await?;
    }
    Ok(())
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<MailRecord>> {
    sqlx::query_as(
        "SELECT id, request_id, kind, status_name, sent_at, failed FROM mails WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Every mail of a request, oldest first.
/// The mails to the requester (not to followers).
pub async fn for_request(pool: &Pool, request_id: &str) -> sqlx::Result<Vec<MailRecord>> {
    sqlx::query_as(
        "SELECT id, request_id, kind, status_name, sent_at, failed FROM mails
          WHERE request_id = $1 AND follower IS NULL ORDER BY created_at, id",
    )
    .bind(request_id)
    .fetch_all(pool)
    .await
}

pub async fn sealed_link(pool: &Pool, request_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT token_sealed FROM mail_subscriptions WHERE request_id = $1")
        .bind(request_id)
        .fetch_optional(pool)
        .await
}

pub async fn is_subscribed(pool: &Pool, request_id: &str) -> sqlx::Result<bool> {
    Ok(sealed_link(pool, request_id).await?.is_some())
}

pub async fn mark_sent(pool: &Pool, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE mails SET sent_at = $1, failed = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn mark_failed(pool: &Pool, id: &str, reason: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE mails SET failed = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
