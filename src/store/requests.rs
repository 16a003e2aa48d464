//! The `requests` table: what a customer submitted, and where its task stands.

use uuid::Uuid;

use serde_json::json;

use super::{JobKind, Pool, RequestStatus, WebhookEvent};
pub use crate::domain::request::RequestRecord;
use crate::domain::task::{AssetId, CompanyId, CreatedTask, LocationId, TaskId, TaskState};

/// A validated submission, ready to be stored with its delivery job.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: Uuid,
    pub code: String,
    pub asset_id: Option<AssetId>,
    pub location_id: Option<LocationId>,
    pub company_id: Option<CompanyId>,
    pub description: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub consent: bool,
    pub client_ip_hash: Option<String>,
    pub lang: String,
    pub token_hash: String,
    /// The status link sealed for e-mail, when the customer gets mail.
    pub mail_link: Option<Vec<u8>>,
}

super::from_row!(RequestRecord {
    id,
    code,
    asset_id,
    location_id,
    company_id,
    description,
    contact_name,
    contact_phone,
    contact_email,
    lang,
    status,
    failure_reason,
    task_id,
    task_number,
    task_status_name,
    task_status_color,
    task_created_at,
    task_in_work_at,
    task_completed_at,
    task_closed_at,
    status_checked_at,
    created_at,
    delivered_at
});

const SELECT: &str =
    "SELECT id, code, asset_id, location_id, company_id, description, contact_name,
        contact_phone, contact_email, lang, status, failure_reason, task_id, task_number,
        task_status_name, task_status_color, task_created_at, task_in_work_at, task_completed_at, task_closed_at,
        status_checked_at, created_at, delivered_at
   FROM requests";

/// Stores the request and its `create_task` job in one transaction: once this
/// returns, the submission survives a crash and will be delivered.
pub async fn insert_with_job(
    pool: &Pool,
    r: &NewRequest,
    photos: &[super::attachments::NewAttachment],
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO requests (id, code, asset_id, location_id, company_id, description, contact_name,
             contact_phone, contact_email, consent, client_ip_hash, lang, status, token_hash,
             created_at, updated_at, search_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'accepted', $13, $14, $15, $16)",
    )
    .bind(r.id.to_string())
    .bind(&r.code)
    .bind(r.asset_id)
    .bind(r.location_id)
    .bind(r.company_id)
    .bind(&r.description)
    .bind(&r.contact_name)
    .bind(&r.contact_phone)
    .bind(&r.contact_email)
    .bind(i64::from(r.consent))
    .bind(&r.client_ip_hash)
    .bind(&r.lang)
    .bind(&r.token_hash)
    .bind(now)
    .bind(now)
    .bind(r.description.to_lowercase())
    .execute(&mut *tx)
    .await?;
    for photo in photos {
        super::attachments::insert(&mut tx, &r.id.to_string(), None, photo, now).await?;
    }
    super::jobs::enqueue(&mut tx, JobKind::CreateTask, &r.id.to_string(), None, now).await?;
    emit(
        &mut tx,
        WebhookEvent::Accepted,
        &r.id.to_string(),
        json!({}),
        now,
    )
    .await?;
    if let Some(sealed) = &r.mail_link {
        super::mails::subscribe(&mut tx, &r.id.to_string(), sealed, now).await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

pub async fn by_token_hash(pool: &Pool, hash: &str) -> sqlx::Result<Option<RequestRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE token_hash = $1"))
        .bind(hash)
        .fetch_optional(pool)
        .await
}

/// The request behind a status link: the customer's own (`false`), or a
/// follower's (see [`follow`], `true`).
pub async fn by_status_link(
    pool: &Pool,
    hash: &str,
) -> sqlx::Result<Option<(RequestRecord, bool)>> {
    if let Some(record) = by_token_hash(pool, hash).await? {
        return Ok(Some((record, false)));
    }
    let followed: Option<RequestRecord> = sqlx::query_as(&format!(
        "{SELECT} WHERE id = (SELECT request_id FROM followers WHERE token_hash = $1)"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    Ok(followed.map(|record| (record, true)))
}

/// Gives someone with the same problem a status link of their own.
pub async fn follow(pool: &Pool, request_id: &str, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO followers (token_hash, request_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash)
    .bind(request_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many people follow a request through "the same problem".
pub async fn follower_count(pool: &Pool, request_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM followers WHERE request_id = $1")
        .bind(request_id)
        .fetch_one(pool)
        .await
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<RequestRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The request as this transaction sees it.
pub async fn get_in(
    tx: &mut super::Transaction<'_>,
    id: &str,
) -> sqlx::Result<Option<RequestRecord>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Queues `event` about request `id` for the endpoints that listen for it,
/// inside the caller's transaction (see [`super::webhooks::queue`]).
pub async fn emit(
    tx: &mut super::Transaction<'_>,
    event: WebhookEvent,
    id: &str,
    extra: serde_json::Value,
    now: i64,
) -> sqlx::Result<()> {
    let endpoints = super::webhooks::listeners(tx, event).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    match get_in(tx, id).await? {
        Some(request) => super::webhooks::queue(tx, endpoints, event, &request, extra, now).await,
        None => Ok(()),
    }
}

pub async fn mark_delivering(pool: &Pool, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE requests SET status = 'delivering', updated_at = $1 WHERE id = $2 AND status = 'accepted'")
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    super::memo::changed();
    Ok(())
}

pub async fn mark_delivered(
    pool: &Pool,
    id: &str,
    task: &CreatedTask,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE requests SET status = 'delivered', task_id = $1, task_number = $2, failure_reason = NULL,
             delivered_at = $3, updated_at = $4
         WHERE id = $5",
    )
    .bind(task.id)
    .bind(&task.number)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT a.id FROM attachments a WHERE a.request_id = $1 AND a.uploaded_at IS NULL AND a.comment_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'upload_attachment' AND j.ref_id = a.id)",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for attachment in pending {
        super::jobs::enqueue(
            &mut tx,
            JobKind::UploadAttachment,
            id,
            Some(&attachment),
            now,
        )
        .await?;
    }
    emit(&mut tx, WebhookEvent::Delivered, id, json!({}), now).await?;
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

pub async fn mark_failed(pool: &Pool, id: &str, reason: &str, now: i64) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE requests SET status = 'failed', failure_reason = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    emit(&mut tx, WebhookEvent::Failed, id, json!({}), now).await?;
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

/// Records the task's state as last read from the task system. A new status
/// name queues a mail to the customer in the same transaction. Returns
/// whether the task moved since the last read (its "last modified" changed,
/// or the task system gives none), i.e. whether its conversation is worth
/// reading again.
/// Whether the task moved since our last read (so its conversation may have
/// too). HubEx gives "last modified" to the second: a change stamped in the
/// second of our last read may have come after it, so it counts as moved.
fn moved_since(now: Option<i64>, before: Option<i64>, checked: Option<i64>) -> bool {
    match (now, before, checked) {
        (Some(now), Some(old), Some(checked)) => now != old || now + 1000 > checked,
        _ => true,
    }
}

/// Whether the task moved since we last saved its state. Asked before the
/// conversation is read, and the state saved only after the conversation:
/// a view cut short, or a second view at the same moment, never marks a
/// change as read whose messages are not stored yet.
pub async fn has_moved(pool: &Pool, id: &str, s: &TaskState) -> sqlx::Result<bool> {
    let (before, checked): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT task_modified_at, status_checked_at FROM requests WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .unwrap_or_default();
    Ok(moved_since(s.modified_at, before, checked))
}

/// What a state read changed, for the operation that decides what follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChange {
    /// The status name moved on (or a first read found the task already moving).
    pub changed: bool,
    /// The status name before.
    pub before: Option<String>,
    /// The task was neither done nor closed before and is now.
    pub became_done: bool,
}

/// Records the task's state as last read from the task system, inside the
/// caller's transaction, and says what changed.
pub async fn save_state_in(
    tx: &mut super::Transaction<'_>,
    engine: super::Engine,
    id: &str,
    s: &TaskState,
    now: i64,
) -> sqlx::Result<StateChange> {
    super::dialect::lock_request(tx, engine, id, now).await?;
    let (before, was_done): (Option<String>, bool) = sqlx::query_as::<_, (Option<String>, i64)>(
        "SELECT task_status_name,
                CASE WHEN task_completed_at IS NULL AND task_closed_at IS NULL THEN 0 ELSE 1 END
           FROM requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .map_or((None, false), |(name, done)| (name, done == 1));
    let changed = match (&before, &s.status_name) {
        (Some(old), Some(new)) => old != new,
        // Never read before (a delivery reads nothing back where the create
        // answer has no state): a task already taken up, done or closed has
        // moved since qrdesk created it.
        (None, Some(_)) => {
            s.in_work_at.is_some() || s.completed_at.is_some() || s.closed_at.is_some()
        }
        _ => false,
    };
    // The task system may not say when the work started; the first move on
    // from the first status is the next best thing.
    let in_work_at = s
        .in_work_at
        .or((changed && s.completed_at.is_none()).then_some(now));
    sqlx::query(
        "UPDATE requests SET task_number = COALESCE($1, task_number), task_status_name = $2, task_status_color = $3,
             task_created_at = $4, task_in_work_at = COALESCE(task_in_work_at, $5), task_completed_at = $6,
             task_closed_at = $7, status_checked_at = $8, task_modified_at = COALESCE($9, task_modified_at)
         WHERE id = $10",
    )
    .bind(&s.number)
    .bind(&s.status_name)
    .bind(&s.status_color)
    .bind(s.created_at)
    .bind(in_work_at)
    .bind(s.completed_at)
    .bind(s.closed_at)
    .bind(now)
    .bind(s.modified_at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(StateChange {
        changed,
        before,
        became_done: !was_done && (s.completed_at.is_some() || s.closed_at.is_some()),
    })
}

/// A delivered request whose task is not closed.
#[derive(Debug, Clone)]
pub struct OpenTask {
    pub request_id: String,
    pub task_id: TaskId,
    pub status_checked_at: Option<i64>,
}
super::from_row!(OpenTask {
    request_id,
    task_id,
    status_checked_at
});

/// Every delivered request whose task is not closed, least recently checked first.
pub async fn open_tasks(pool: &Pool) -> sqlx::Result<Vec<OpenTask>> {
    sqlx::query_as(
        "SELECT id AS request_id, task_id, status_checked_at FROM requests
          WHERE status = 'delivered' AND task_id IS NOT NULL AND task_closed_at IS NULL
          ORDER BY COALESCE(status_checked_at, 0)",
    )
    .fetch_all(pool)
    .await
}

/// Marks open tasks as current as of `at`: a poll round that read every
/// change since its last round knows the others did not change.
pub async fn mark_checked(pool: &Pool, ids: &[String], at: i64) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for id in ids {
        sqlx::query("UPDATE requests SET status_checked_at = $1 WHERE id = $2 AND COALESCE(status_checked_at, 0) < $3")
            .bind(at)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

pub async fn count_by_status(pool: &Pool) -> sqlx::Result<Vec<(RequestStatus, i64)>> {
    sqlx::query_as("SELECT status, COUNT(*) FROM requests GROUP BY status ORDER BY status")
        .fetch_all(pool)
        .await
}

/// A request as the admin list shows it.
#[derive(Debug, Clone)]
pub struct RequestListItem {
    pub id: String,
    pub code: String,
    pub asset_id: Option<AssetId>,
    pub asset_name: Option<String>,
    pub description: String,
    pub status: RequestStatus,
    pub failure_reason: Option<String>,
    pub task_number: Option<String>,
    pub task_status_name: Option<String>,
    pub created_at: i64,
    pub last_error: Option<String>,
    pub attempts: Option<i64>,
    /// Why the mail server refused the customer's e-mail for good, if it did.
    pub mail_failed: Option<String>,
    /// Why a customer e-mail is still waiting, if it is.
    pub mail_error: Option<String>,
    /// The customer's last word on the status page, if any.
    pub feedback: Option<super::CommentKind>,
}
super::from_row!(RequestListItem {
    id,
    code,
    asset_id,
    asset_name,
    description,
    status,
    failure_reason,
    task_number,
    task_status_name,
    created_at,
    last_error,
    attempts,
    mail_failed,
    mail_error,
    feedback
});

/// Which requests the admin workbench lists.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Words of the description, a code, a task number or an asset's name,
    /// serial or inventory number.
    pub q: String,
    /// A site: requests from it or about one of its assets.
    pub location: Option<crate::domain::task::LocationId>,
    pub asset: Option<AssetId>,
    /// Sent at or after, before (Unix ms).
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// Only those whose customer's last word is "still not working".
    pub not_fixed: bool,
}

/// A value bound to a numbered parameter of a query built at run time.
enum Arg {
    Text(String),
    Int(i64),
}

/// A WHERE clause built from the filters actually given: a catch-all
/// `$n IS NULL OR …` per filter made PostgreSQL's planner expect one row
/// and join `jobs` in a nested loop over every row.
#[derive(Default)]
struct Clauses {
    parts: Vec<String>,
    args: Vec<Arg>,
}

impl Clauses {
    /// The next parameter's placeholder, bound to `arg`.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn sql(&self) -> String {
        if self.parts.is_empty() {
            "TRUE".into()
        } else {
            self.parts.join(" AND ")
        }
    }

    fn bind<'q, O>(
        &self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for arg in &self.args {
            query = match arg {
                Arg::Text(t) => query.bind(t.clone()),
                Arg::Int(i) => query.bind(*i),
            };
        }
        query
    }
}

impl RequestFilter {
    /// The conditions over `requests r` for the filters that are set.
    fn clauses(&self, engine: super::dialect::Engine) -> Clauses {
        let mut c = Clauses::default();
        if let Some(status) = self.status {
            let p = c.arg(Arg::Text(status.as_str().to_owned()));
            c.parts.push(format!("r.status = {p}"));
        }
        let q = self.q.trim();
        if !q.is_empty() {
            let words = c.arg(Arg::Text(q.to_lowercase()));
            let code: String = q
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_uppercase();
            let code = c.arg(Arg::Text(code));
            let number = c.arg(Arg::Text(
                q.trim_start_matches(['#', '№']).trim().to_owned(),
            ));
            c.parts.push(format!(
                "({in_text} OR r.code = {code} OR r.task_number = {number}
                  OR r.asset_id IN (SELECT id FROM catalog_assets WHERE {in_asset}))",
                in_text = super::dialect::contains(engine, "r.search_text", &words),
                in_asset = super::dialect::contains(engine, "search_text", &words),
            ));
        }
        if let Some(location) = self.location {
            let p = c.arg(Arg::Int(location.0));
            c.parts.push(format!(
                "(r.location_id = {p} OR r.asset_id IN (SELECT id FROM catalog_assets WHERE location_id = {p}))"
            ));
        }
        if let Some(asset) = self.asset {
            let p = c.arg(Arg::Int(asset.0));
            c.parts.push(format!("r.asset_id = {p}"));
        }
        if let Some(from) = self.from {
            let p = c.arg(Arg::Int(from));
            c.parts.push(format!("r.created_at >= {p}"));
        }
        if let Some(until) = self.until {
            let p = c.arg(Arg::Int(until));
            c.parts.push(format!("r.created_at < {p}"));
        }
        if self.not_fixed {
            c.parts.push(format!("({LAST_WORD}) = 'not_fixed'"));
        }
        c
    }
}

/// The kind of the customer's last "fixed" / "still not working" on `r`.
const LAST_WORD: &str =
    "SELECT c.kind FROM comments c WHERE c.request_id = r.id AND c.kind IN ('fixed', 'not_fixed')
    ORDER BY c.created_at DESC LIMIT 1";

/// Which page of the newest-first list: keyset paging by `(created_at, id)`,
/// so a page deep in a long history costs what the first one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// The newest.
    First,
    /// Older than this row.
    After(i64, String),
    /// Newer than this row (the page before).
    Before(i64, String),
    /// The oldest.
    Last,
}

/// Counts past this are shown as "more than": counting every match of a
/// long history (a word in one request of ten: 10,000 rows read for 1,000
/// matches) would cost many times the page itself.
pub const COUNT_CAP: i64 = 200;

/// One page of requests matching `f`, newest first, and how many match up
/// to [`COUNT_CAP`] + 1. Each row's job, mail problem and last word are
/// looked up for the page's rows only.
pub async fn search(
    pool: &Pool,
    f: &RequestFilter,
    at: &PageAt,
    limit: i64,
) -> sqlx::Result<(Vec<RequestListItem>, i64)> {
    let engine = super::dialect::Engine::of(pool);
    let counted = f.clauses(engine);
    let (total,): (i64,) = counted
        .bind(sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM requests r WHERE {} LIMIT {}) t",
            counted.sql(),
            COUNT_CAP + 1
        )))
        .fetch_one(pool)
        .await?;
    let mut c = f.clauses(engine);
    let newest_first = !matches!(at, PageAt::Before(..) | PageAt::Last);
    match at {
        PageAt::After(t, id) | PageAt::Before(t, id) => {
            let (t, id) = (c.arg(Arg::Int(*t)), c.arg(Arg::Text(id.clone())));
            let op = if newest_first { "<" } else { ">" };
            c.parts
                .push(format!("(r.created_at, r.id) {op} ({t}, {id})"));
        }
        PageAt::First | PageAt::Last => {}
    }
    let order = if newest_first { "DESC" } else { "ASC" };
    let limit = c.arg(Arg::Int(limit));
    let mut rows: Vec<RequestListItem> = c
        .bind(sqlx::query_as(&format!(
            "SELECT r.id, r.code, r.asset_id, a.name AS asset_name, r.description, r.status, r.failure_reason,
                    r.task_number, r.task_status_name, r.created_at, j.last_error, j.attempts,
                    (SELECT m.failed FROM mails m WHERE m.request_id = r.id AND m.failed IS NOT NULL
                      ORDER BY m.created_at DESC LIMIT 1) AS mail_failed,
                    (SELECT mj.last_error FROM jobs mj WHERE mj.request_id = r.id AND mj.kind = 'send_mail'
                      AND mj.last_error IS NOT NULL LIMIT 1) AS mail_error,
                    ({LAST_WORD}) AS feedback
               FROM (SELECT * FROM requests r WHERE {filter}
                      ORDER BY r.created_at {order}, r.id {order} LIMIT {limit}) r
               LEFT JOIN catalog_assets a ON a.id = r.asset_id
               LEFT JOIN jobs j ON j.request_id = r.id AND j.kind = 'create_task'
              ORDER BY r.created_at {order}, r.id {order}",
            filter = c.sql(),
        )))
        .fetch_all(pool)
        .await?;
    if !newest_first {
        rows.reverse();
    }
    Ok((rows, total))
}

/// Gives requests stored before request search existed their search text.
pub async fn fill_search(pool: &Pool) -> sqlx::Result<()> {
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, description FROM requests WHERE search_text = '' AND description <> '' LIMIT 500",
        )
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        for (id, description) in rows {
            sqlx::query("UPDATE requests SET search_text = $1 WHERE id = $2")
                .bind(description.to_lowercase())
                .bind(id)
                .execute(pool)
                .await?;
        }
    }
}

/// A request about one asset, for its admin page: with the customer's last
/// word on the status page ("fixed" / "still not working"), if any.
#[derive(Debug, Clone)]
pub struct AssetRequest {
    pub id: String,
    pub code: String,
    pub description: String,
    pub status: RequestStatus,
    pub task_number: Option<String>,
    pub task_status_name: Option<String>,
    pub created_at: i64,
    pub feedback: Option<super::CommentKind>,
    pub feedback_at: Option<i64>,
}
super::from_row!(AssetRequest {
    id,
    code,
    description,
    status,
    task_number,
    task_status_name,
    created_at,
    feedback,
    feedback_at
});

/// Requests sent for an asset (chosen on a site code too) or through one of
/// its codes, newest first, at most `limit`; and how many there are.
pub async fn for_asset(
    pool: &Pool,
    asset: crate::domain::task::AssetId,
    limit: i64,
) -> sqlx::Result<(Vec<AssetRequest>, i64)> {
    const OF_ASSET: &str = "(r.asset_id = $1 OR r.code IN
        (SELECT code FROM codes WHERE target_kind = 'asset' AND target_id = $1))";
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM requests r WHERE {OF_ASSET}"))
            .bind(asset)
            .fetch_one(pool)
            .await?;
    let rows = sqlx::query_as(&format!(
        "SELECT r.id, r.code, r.description, r.status, r.task_number, r.task_status_name, r.created_at,
                (SELECT c.kind FROM comments c WHERE c.request_id = r.id AND c.kind IN ('fixed', 'not_fixed')
                  ORDER BY c.created_at DESC LIMIT 1) AS feedback,
                (SELECT c.created_at FROM comments c WHERE c.request_id = r.id AND c.kind IN ('fixed', 'not_fixed')
                  ORDER BY c.created_at DESC LIMIT 1) AS feedback_at
           FROM requests r WHERE {OF_ASSET}
          ORDER BY r.created_at DESC LIMIT $2"
    ))
    .bind(asset)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// Sends a failed request again: back to `accepted` with a fresh job, in one
/// transaction. The same UUID is the stamp, so HubEx still cannot get two tasks.
pub async fn retry(pool: &Pool, id: &str, now: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let n = sqlx::query(
        "UPDATE requests SET status = 'accepted', failure_reason = NULL, updated_at = $1 WHERE id = $2 AND status = 'failed'",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 1 {
        super::jobs::enqueue(&mut tx, JobKind::CreateTask, id, None, now).await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(n == 1)
}

/// An open request on an asset, as other customers may see it: no text, no
/// contact, just the task number, when, and its status.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub id: String,
    pub task_number: Option<String>,
    pub task_status_name: Option<String>,
    pub created_at: i64,
}
super::from_row!(OpenRequest {
    id,
    task_number,
    task_status_name,
    created_at
});

/// Requests on `asset` since `since` whose task is neither completed nor closed.
pub async fn open_for_asset(
    pool: &Pool,
    asset: AssetId,
    since: i64,
) -> sqlx::Result<Vec<OpenRequest>> {
    sqlx::query_as(
        "SELECT id, task_number, task_status_name, created_at FROM requests
          WHERE asset_id = $1 AND created_at >= $2 AND status IN ('accepted', 'delivering', 'delivered')
            AND task_completed_at IS NULL AND task_closed_at IS NULL
          ORDER BY created_at DESC LIMIT 5",
    )
    .bind(asset)
    .bind(since)
    .fetch_all(pool)
    .await
}

/// Requests made through `code` since `since` (the per-sticker hourly cap).
pub async fn count_for_code_since(pool: &Pool, code: &str, since: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE code = $1 AND created_at >= $2")
        .bind(code)
        .bind(since)
        .fetch_one(pool)
        .await
}

/// Requests on every code since `since`.
pub async fn count_since(pool: &Pool, since: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE created_at >= $1")
        .bind(since)
        .fetch_one(pool)
        .await
}

/// A request on `code` since `since` with exactly this description.
pub async fn recent_same_text(
    pool: &Pool,
    code: &str,
    description: &str,
    since: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM requests WHERE code = $1 AND created_at >= $2 AND description = $3 ORDER BY created_at LIMIT 1",
    )
    .bind(code)
    .bind(since)
    .bind(description)
    .fetch_optional(pool)
    .await
}

/// What the API's request list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ApiFilter {
    pub status: Option<RequestStatus>,
    pub code: Option<String>,
    pub asset: Option<AssetId>,
    /// Created at or after (Unix ms).
    pub since: Option<i64>,
}

/// A page of requests, newest first, after `cursor` (the `created_at` and
/// `id` of the last one seen): keyset paging, so a page is as quick at the
/// end of a long history as at its start and nothing is skipped when new
/// requests arrive between pages.
pub async fn api_page(
    pool: &Pool,
    f: &ApiFilter,
    cursor: Option<(i64, String)>,
    limit: i64,
) -> sqlx::Result<Vec<RequestRecord>> {
    // Only the filters given, as the workbench does: catch-all predicates
    // kept the (status, created_at) index out of use.
    let mut c = Clauses::default();
    if let Some(status) = f.status {
        let p = c.arg(Arg::Text(status.as_str().to_owned()));
        c.parts.push(format!("status = {p}"));
    }
    if let Some(code) = &f.code {
        let p = c.arg(Arg::Text(code.clone()));
        c.parts.push(format!("code = {p}"));
    }
    if let Some(asset) = f.asset {
        let p = c.arg(Arg::Int(asset.0));
        c.parts.push(format!("asset_id = {p}"));
    }
    if let Some(since) = f.since {
        let p = c.arg(Arg::Int(since));
        c.parts.push(format!("created_at >= {p}"));
    }
    if let Some((at, id)) = cursor {
        let (at, id) = (c.arg(Arg::Int(at)), c.arg(Arg::Text(id)));
        c.parts.push(format!("(created_at, id) < ({at}, {id})"));
    }
    let limit = c.arg(Arg::Int(limit));
    c.bind(sqlx::query_as(&format!(
        "{SELECT} WHERE {} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        c.sql()
    )))
    .fetch_all(pool)
    .await
}

/// Erases the name, phone and e-mail of requests whose task was closed
/// before `closed_before`; returns how many were erased. The requests stay.
pub async fn erase_contacts_closed_before(
    pool: &Pool,
    closed_before: i64,
    now: i64,
) -> sqlx::Result<u64> {
    let n = sqlx::query(
        "UPDATE requests SET contact_name = NULL, contact_phone = NULL, contact_email = NULL, updated_at = $2
          WHERE task_closed_at IS NOT NULL AND task_closed_at < $1
            AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL OR contact_email IS NOT NULL)",
    )
    .bind(closed_before)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    // Followers' addresses go with the requester's.
    let f = sqlx::query(
        "UPDATE followers SET email = NULL, token_sealed = NULL
          WHERE email IS NOT NULL AND request_id IN
                (SELECT id FROM requests WHERE task_closed_at IS NOT NULL AND task_closed_at < $1)",
    )
    .bind(closed_before)
    .execute(pool)
    .await?
    .rows_affected();
    if n + f > 0 {
        super::memo::changed();
    }
    Ok(n)
}

/// One person, by the e-mail or phone they left on requests (normalised as
/// the form stores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    Email(String),
    Phone(String),
}

impl Person {
    /// For the audit log: enough to recognise, not the whole address.
    pub fn masked(&self) -> String {
        match self {
            Person::Email(e) => {
                let (user, domain) = e.split_once('@').unwrap_or((e, ""));
                let first: String = user.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            Person::Phone(p) => {
                let tail: String = p
                    .chars()
                    .rev()
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("***{tail}")
            }
        }
    }

    fn condition(&self) -> (&'static str, String) {
        match self {
            Person::Email(e) => ("LOWER(contact_email) = $1", e.to_lowercase()),
            Person::Phone(p) => ("contact_phone = $1", p.clone()),
        }
    }
}

/// The person's requests, newest first.
pub async fn of_person(pool: &Pool, person: &Person) -> sqlx::Result<Vec<RequestRecord>> {
    let (condition, value) = person.condition();
    sqlx::query_as(&format!(
        "{SELECT} WHERE {condition} ORDER BY created_at DESC"
    ))
    .bind(value)
    .fetch_all(pool)
    .await
}

/// The requests a person follows with their e-mail ("the same problem"):
/// request id and since when.
pub async fn followed_by(pool: &Pool, email: &str) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT request_id, created_at FROM followers WHERE LOWER(email) = $1 ORDER BY created_at",
    )
    .bind(email.to_lowercase())
    .fetch_all(pool)
    .await
}

/// Erases the person's name, phone and e-mail from every request of theirs
/// and stops mail to them; the requests stay. Returns the requests changed.
pub async fn erase_person(pool: &Pool, person: &Person) -> sqlx::Result<u64> {
    let (condition, value) = person.condition();
    let mut tx = pool.begin().await?;
    let ids: Vec<String> =
        sqlx::query_scalar(&format!("SELECT id FROM requests WHERE {condition}"))
            .bind(&value)
            .fetch_all(&mut *tx)
            .await?;
    let now = super::now_ms();
    for id in &ids {
        sqlx::query(
            "UPDATE requests SET contact_name = NULL, contact_phone = NULL, contact_email = NULL, updated_at = $1
              WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM mail_subscriptions WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM jobs WHERE kind = 'send_mail' AND request_id = $1 AND lease_owner IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    // As a follower ("the same problem") they may have left the address too.
    if let Person::Email(email) = person {
        let hashes: Vec<String> =
            sqlx::query_scalar("SELECT token_hash FROM followers WHERE LOWER(email) = $1")
                .bind(email.to_lowercase())
                .fetch_all(&mut *tx)
                .await?;
        for hash in &hashes {
            sqlx::query(
                "UPDATE followers SET email = NULL, token_sealed = NULL WHERE token_hash = $1",
            )
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM jobs WHERE kind = 'send_mail' AND lease_owner IS NULL
                  AND ref_id IN (SELECT id FROM mails WHERE follower = $1)",
            )
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(ids.len() as u64)
}
