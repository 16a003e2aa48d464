//! Outgoing webhooks: endpoints, their deliveries and every attempt.
//!
//! An event becomes one delivery per endpoint that listens for it, written
//! with its `deliver_webhook` job in the transaction that caused the event:
//! what was committed is told, what was rolled back is not.

use serde_json::{json, Value};

use super::{DeliveryState, JobKind, Pool, Transaction, WebhookEvent};
use crate::domain::request::RequestRecord;

#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// Event names, comma-separated.
    pub events: String,
    /// 1: the data carries the customer's contact fields.
    pub include_contact: i64,
    /// 1: deliveries are sent.
    pub active: i64,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the current run of failed attempts began.
    pub failing_since: Option<i64>,
    /// Why qrdesk switched the endpoint off, if it did.
    pub disabled_reason: Option<String>,
}
super::from_row!(WebhookRow {
    id,
    url,
    description,
    events,
    include_contact,
    active,
    secret,
    created_at,
    updated_at,
    failing_since,
    disabled_reason
});

impl WebhookRow {
    pub fn includes_contact(&self) -> bool {
        self.include_contact != 0
    }

    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    pub fn listens_for(&self, event: WebhookEvent) -> bool {
        self.events.split(',').any(|e| e == event.as_str())
    }

    pub fn event_list(&self) -> Vec<WebhookEvent> {
        self.events
            .split(',')
            .filter_map(WebhookEvent::parse)
            .collect()
    }
}

/// What an endpoint is set to do.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    pub include_contact: bool,
    pub active: bool,
}

impl EndpointSettings {
    fn events_text(&self) -> String {
        let names: Vec<&str> = WebhookEvent::ALL
            .iter()
            .filter(|e| self.events.contains(e))
            .map(|e| e.as_str())
            .collect();
        names.join(",")
    }
}

const SELECT: &str = "SELECT id, url, description, events, include_contact, active, secret, created_at, updated_at, failing_since, disabled_reason
   FROM webhooks";

/// A signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn generate_secret() -> String {
    use base64::Engine as _;
    let bytes = crate::domain::codes::random_bytes::<24>();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Adds an endpoint; the secret is returned to be shown once.
pub async fn create(pool: &Pool, s: &EndpointSettings, now: i64) -> sqlx::Result<(i64, String)> {
    let secret = generate_secret();
    let id = sqlx::query_scalar(
        "INSERT INTO webhooks (url, description, events, include_contact, active, secret, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&s.url)
    .bind(&s.description)
    .bind(s.events_text())
    .bind(i64::from(s.include_contact))
    .bind(i64::from(s.active))
    .bind(&secret)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok((id, secret))
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<WebhookRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY id"))
        .fetch_all(pool)
        .await
}

pub async fn get(pool: &Pool, id: i64) -> sqlx::Result<Option<WebhookRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Changes an endpoint. Switching it on again forgets why it was switched off.
pub async fn update(pool: &Pool, id: i64, s: &EndpointSettings, now: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE webhooks SET url = $1, description = $2, events = $3, include_contact = $4, active = $5,
             updated_at = $6,
             failing_since = CASE WHEN $5 = 1 THEN NULL ELSE failing_since END,
             disabled_reason = CASE WHEN $5 = 1 THEN NULL ELSE disabled_reason END
         WHERE id = $7",
    )
    .bind(&s.url)
    .bind(&s.description)
    .bind(s.events_text())
    .bind(i64::from(s.include_contact))
    .bind(i64::from(s.active))
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Removes an endpoint with its log; its queued deliveries are dropped.
pub async fn delete(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM jobs WHERE kind = 'deliver_webhook'
            AND ref_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)
            AND lease_owner IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_attempts WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// Switches an endpoint off and says why (on the overview).
pub async fn disable(pool: &Pool, id: i64, reason: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET active = 0, disabled_reason = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The active endpoints that listen for `event`.
pub async fn listeners(
    tx: &mut Transaction<'_>,
    event: WebhookEvent,
) -> sqlx::Result<Vec<WebhookRow>> {
    let endpoints: Vec<WebhookRow> = sqlx::query_as(&format!("{SELECT} WHERE active = 1"))
        .fetch_all(&mut **tx)
        .await?;
    Ok(endpoints
        .into_iter()
        .filter(|w| w.listens_for(event))
        .collect())
}

/// Queues `event` about `request` for each of `endpoints`, inside the
/// caller's transaction. `extra` adds to the request's fields in `data`
/// (the comment, the message, the previous status).
pub async fn queue(
    tx: &mut Transaction<'_>,
    endpoints: Vec<WebhookRow>,
    event: WebhookEvent,
    request: &RequestRecord,
    extra: Value,
    now: i64,
) -> sqlx::Result<()> {
    let request_id = request.id.as_str();
    for endpoint in endpoints {
        let mut data = request.json(endpoint.includes_contact());
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), &extra) {
            data.extend(extra.clone());
        }
        let body = json!({
            "type": event.as_str(),
            "timestamp": super::rfc3339(now),
            "data": data,
        });
        let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, request_id, body, created_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(&id)
        .bind(endpoint.id)
        .bind(event)
        .bind(request_id)
        .bind(body.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        super::jobs::enqueue(tx, JobKind::DeliverWebhook, request_id, Some(&id), now).await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: i64,
    pub event: WebhookEvent,
    pub request_id: String,
    pub body: String,
    pub created_at: i64,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_at: Option<i64>,
}
super::from_row!(DeliveryRow {
    id,
    webhook_id,
    event,
    request_id,
    body,
    created_at,
    state,
    attempts,
    last_status,
    last_at
});

pub async fn delivery(pool: &Pool, id: &str) -> sqlx::Result<Option<DeliveryRow>> {
    sqlx::query_as(
        "SELECT id, webhook_id, event, request_id, body, created_at, state, attempts, last_status, last_at
           FROM webhook_deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One attempt as it went.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub delivery_id: &'a str,
    pub webhook_id: i64,
    pub status: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    /// Where the delivery stands after it.
    pub state: DeliveryState,
}

/// Logs an attempt and moves the delivery and the endpoint's failure run on.
/// Returns since when the endpoint has been failing (None after a success).
pub async fn record_attempt(pool: &Pool, a: &Attempt<'_>, now: i64) -> sqlx::Result<Option<i64>> {
    let mut tx = pool.begin().await?;
    let attempts: i64 = sqlx::query_scalar(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, last_at = $2, state = $3
          WHERE id = $4 RETURNING attempts",
    )
    .bind(a.status.map(i64::from))
    .bind(now)
    .bind(a.state)
    .bind(a.delivery_id)
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(1);
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, webhook_id, at, attempt, status, duration_ms, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.delivery_id)
    .bind(a.webhook_id)
    .bind(now)
    .bind(attempts)
    .bind(a.status.map(i64::from))
    .bind(a.duration_ms)
    .bind(a.error)
    .execute(&mut *tx)
    .await?;
    let ok = a.state == DeliveryState::Delivered;
    let failing_since: Option<i64> = sqlx::query_scalar(
        "UPDATE webhooks SET failing_since = CASE WHEN $1 = 1 THEN NULL ELSE COALESCE(failing_since, $2) END
          WHERE id = $3 RETURNING failing_since",
    )
    .bind(i64::from(ok))
    .bind(now)
    .bind(a.webhook_id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    tx.commit().await?;
    Ok(failing_since)
}

/// A line of an endpoint's delivery log.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub delivery_id: String,
    pub event: WebhookEvent,
    pub at: i64,
    pub attempt: i64,
    pub status: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub state: DeliveryState,
}
super::from_row!(LogLine {
    delivery_id,
    event,
    at,
    attempt,
    status,
    duration_ms,
    error,
    state
});

/// The endpoint's latest attempts, newest first.
pub async fn log(pool: &Pool, webhook_id: i64, limit: i64) -> sqlx::Result<Vec<LogLine>> {
    sqlx::query_as(
        "SELECT a.delivery_id, d.event, a.at, a.attempt, a.status, a.duration_ms, a.error, d.state
           FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
          WHERE a.webhook_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deliveries not yet attempted (queued), newest first.
pub async fn waiting(pool: &Pool, webhook_id: i64, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT id, webhook_id, event, request_id, body, created_at, state, attempts, last_status, last_at
           FROM webhook_deliveries WHERE webhook_id = $1 AND attempts = 0
          ORDER BY created_at DESC LIMIT $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Sends a delivery again, with the same `webhook-id`. False when there is no
/// such delivery or it is still on its way.
pub async fn redeliver(pool: &Pool, delivery_id: &str, now: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(request_id): Option<String> = sqlx::query_scalar(
        "UPDATE webhook_deliveries SET state = 'pending'
          WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'deliver_webhook' AND ref_id = $1)
          RETURNING request_id",
    )
    .bind(delivery_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    super::jobs::enqueue(
        &mut tx,
        JobKind::DeliverWebhook,
        &request_id,
        Some(delivery_id),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Endpoints qrdesk switched off, for the overview's notice.
pub async fn disabled(pool: &Pool) -> sqlx::Result<Vec<WebhookRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE active = 0 AND disabled_reason IS NOT NULL ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}
