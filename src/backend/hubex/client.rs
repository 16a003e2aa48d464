//! HTTP client for a HubEx tenant: token exchange and cache, headers, paging,
//! one call budget with priorities, and the sorting of failures into "try
//! again" and "give up".
//!
//! Every list is read with `Range` to its end (HubEx silently caps a list
//! read without it at 10,000 rows), every answer through [`read`], and every
//! filter is checked on our side, because HubEx ignores unknown filters
//! silently. Catalog sync and status polling read in bulk: the call count
//! grows with pages and changes, not with assets or open tasks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use reqwest::{header, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

mod catalog;
mod tasks;

pub use catalog::FilterProbe;

use super::read::{self, Surprises};
use super::types as wire;
use crate::backend::budget::{CallBudget, Priority};
use crate::backend::{
    is_css_color, Asset, AssetId, BackendError, CatalogSnapshot, Company, CompanyId, CreatedTask,
    Criticality, District, DistrictId, FileUpload, KnownCatalog, Location, LocationId, Message,
    Named, NewTask, Progress, TaskId, TaskState, UserId,
};

/// Refresh the access token this long before HubEx says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// HubEx documents 30 minutes when `expires_in` is missing.
const DEFAULT_TOKEN_LIFETIME: u64 = 1800;
/// Guard against a server that keeps answering 206 without progress.
const MAX_PAGES: usize = 10_000;
/// A lookup after an unknown outcome reads at most this many pages.
const FIND_MAX_PAGES: usize = 20;
/// A poll of changes reads at most this many pages before it reads by id.
const POLL_MAX_PAGES: usize = 50;
/// Repeated `taskID=` parameters in one status read.
pub const IDS_PER_READ: usize = 50;
/// A district id no tenant has: a list filtered by it that still returns
/// assets has ignored the filter.
const NO_SUCH_DISTRICT: i64 = 2_147_483_646;
/// Every asset's участки are read in full at least this often, even when
/// nothing seems to have changed.
const FULL_MAPPING_EVERY_MS: i64 = 24 * 3600 * 1000;
/// How far before a request's own time its task may carry (clock skew).
const CLOCK_SLACK_MS: i64 = 10 * 60 * 1000;

pub struct HubexClient {
    http: reqwest::Client,
    base: String,
    service_token: String,
    application_id: String,
    page_size: u32,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    /// Calls per minute for everything this client does, by priority.
    pub(in crate::backend::hubex) budget: Arc<CallBudget>,
    calls: AtomicU64,
    /// The last call's round trip in microseconds (budget waits left out).
    last_rtt_us: AtomicU64,
    /// Shape surprises outside a sync or a poll round (logged once each).
    surprises: Surprises,
    /// Set once the tenant is seen ignoring `lastModifiedFrom` or `taskID`.
    ignores_modified_filter: AtomicBool,
    ignores_task_filter: AtomicBool,
    pub(in crate::backend::hubex) observer: std::sync::OnceLock<crate::backend::CallObserver>,
    /// The tenant's settings (task type, request method, criticality, the
    /// reopen stage) and the synced catalog new tasks' defaults come from.
    pub(in crate::backend::hubex) tenant: crate::config::HubexConfig,
    /// The участки requests may go to (`[catalog]`), for the check.
    pub(in crate::backend::hubex) scope: crate::config::CatalogConfig,
    catalog: Option<crate::store::Pool>,
}

/// The HubEx fields of a new task, beyond what qrdesk's request says.
#[derive(Debug, Clone, Copy)]
pub struct TaskFields {
    pub task_type_id: i64,
    pub request_method_id: i64,
    pub criticality_id: Option<i64>,
    pub requested_by: Option<UserId>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

impl std::fmt::Debug for HubexClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The service token is deliberately left out.
        f.debug_struct("HubexClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// `https://host` gets HubEx's `/fsm` root; a URL with a path is kept as it is.
pub fn api_root(base_url: &str) -> String {
    let trimmed = base_url.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/fsm")
    }
}

/// How a list read ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListEnd {
    /// The total HubEx gave in `Content-Range`, if it did.
    pub total: Option<u64>,
    pub pages: usize,
}

/// Where a task's status and times come from in a task read or list item.
fn task_state(t: wire::TaskInfo) -> TaskState {
    let sheet = t.timesheet.unwrap_or_default();
    let status = t.task_status.or(t.task_stage).unwrap_or_default();
    TaskState {
        number: t.number,
        status_name: status.name,
        status_color: status.color.filter(|c| is_css_color(c)),
        created_at: sheet.created.as_deref().and_then(wire::parse_time),
        in_work_at: sheet.assigned.as_deref().and_then(wire::parse_time),
        completed_at: sheet.completed.as_deref().and_then(wire::parse_time),
        closed_at: sheet.closed.as_deref().and_then(wire::parse_time),
        modified_at: t.last_modified.as_deref().and_then(wire::parse_time),
    }
}

impl HubexClient {
    pub fn new(
        base_url: &str,
        service_token: &str,
        application_id: u32,
        timeout: Duration,
        page_size: u32,
        calls_per_minute: u32,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("qrdesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HubexClient {
            http,
            base: api_root(base_url),
            service_token: service_token.to_owned(),
            application_id: application_id.to_string(),
            page_size: page_size.max(1),
            token: tokio::sync::Mutex::new(None),
            budget: Arc::new(CallBudget::per_minute(calls_per_minute)),
            calls: AtomicU64::new(0),
            last_rtt_us: AtomicU64::new(0),
            surprises: Surprises::default(),
            ignores_modified_filter: AtomicBool::new(false),
            ignores_task_filter: AtomicBool::new(false),
            observer: std::sync::OnceLock::new(),
            tenant: crate::config::Config::default().hubex,
            scope: crate::config::CatalogConfig::default(),
            catalog: None,
        })
    }

    /// The client for the tenant `[hubex]` describes: new tasks take their
    /// task type, request method, criticality and anonymous user from the
    /// settings, else from the catalog synced into `catalog`.
    pub fn for_tenant(
        mut self,
        tenant: crate::config::HubexConfig,
        catalog: Option<crate::store::Pool>,
    ) -> Self {
        self.tenant = tenant;
        self.catalog = catalog;
        self
    }

    /// The участки requests may go to, which the check looks at.
    pub fn with_scope(mut self, scope: crate::config::CatalogConfig) -> Self {
        self.scope = scope;
        self
    }

    /// The tenant settings this client was made with.
    pub fn tenant(&self) -> &crate::config::HubexConfig {
        &self.tenant
    }

    /// A new task's HubEx fields: from the synced catalog where there is
    /// one, else the configured ids alone.
    pub async fn task_fields(&self) -> Result<TaskFields, BackendError> {
        let h = &self.tenant;
        match &self.catalog {
            Some(pool) => {
                let d = super::defaults::task_defaults(pool, h)
                    .await
                    .map_err(|e| BackendError::transient(format!("{e:#}")))?;
                Ok(TaskFields {
                    task_type_id: d.task_type_id,
                    request_method_id: d.request_method_id,
                    criticality_id: d.criticality_id,
                    requested_by: d.requested_by,
                })
            }
            None if h.task_type_id > 0 && h.request_method_id > 0 => Ok(TaskFields {
                task_type_id: h.task_type_id,
                request_method_id: h.request_method_id,
                criticality_id: (h.criticality_id > 0).then_some(h.criticality_id),
                requested_by: None,
            }),
            None => Err(BackendError::Permanent {
                reason: "set hubex.task_type_id and hubex.request_method_id, or sync the catalog"
                    .into(),
            }),
        }
    }

    /// Tells the observer (metrics) of one call's path and status (0: no answer).
    fn observe(&self, path: &str, sent: &Result<Response, reqwest::Error>) {
        if let Some(observe) = self.observer.get() {
            observe(path, sent.as_ref().map_or(0, |r| r.status().as_u16()));
        }
    }

    /// The path of the API root (`/fsm`), which calls' paths start with.
    fn base_path(&self) -> &str {
        let after_scheme = self
            .base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, r)| r);
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    }

    /// Calls made so far, the token exchange included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// How long the last call took to answer, without waiting for the budget.
    pub fn last_round_trip(&self) -> Duration {
        Duration::from_micros(self.last_rtt_us.load(Ordering::Relaxed))
    }

    /// The API root calls go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any HTTP answer from the API root (no token): is it there at all?
    pub async fn ping(&self) -> Result<StatusCode, String> {
        self.budget.acquire(Priority::View).await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let status = self
            .http
            .get(self.url("/ES/Districts"))
            .send()
            .await
            .map(|r| r.status())
            .map_err(|e| network_error(e).to_string());
        self.last_rtt_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        status
    }

    pub fn application_id(&self) -> &str {
        &self.application_id
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A cached access token, exchanging the service token when there is none
    /// or it is about to expire. `stale` is a token the server just refused.
    async fn access_token(
        &self,
        stale: Option<&str>,
        priority: Priority,
    ) -> Result<String, BackendError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if Some(t.value.as_str()) != stale && Instant::now() < t.refresh_at {
                return Ok(t.value.clone());
            }
        }
        self.budget.acquire(priority).await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .http
            .post(self.url("/AUTHZ/AccessTokens"))
            .header("X-Application-ID", &self.application_id)
            .json(&wire::AccessTokenRequest {
                service_token: self.service_token.clone(),
            })
            .send()
            .await;
        self.observe("/AUTHZ/AccessTokens", &sent);
        let resp = sent.map_err(network_error)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            let reason = format!(
                "HubEx refused the service token (HTTP {}{}); check hubex.service_token and the API user's role",
                status.as_u16(),
                error_detail(&body)
            );
            // A bad token is a configuration problem an admin can fix: keep retrying.
            return Err(match classify(status, None) {
                Some(e) => e,
                None => BackendError::transient(reason),
            });
        }
        let bytes = resp.bytes().await.map_err(network_error)?;
        let body: wire::AccessTokenResponse = read::parse_one(&bytes)
            .map_err(|e| BackendError::transient(format!("HubEx token answer unreadable: {e}")))?;
        if body.access_token.is_empty() {
            return Err(BackendError::transient(
                "HubEx's token answer has no access_token",
            ));
        }
        let lifetime = Duration::from_secs(
            body.expires_in
                .filter(|s| *s > 0)
                .map_or(DEFAULT_TOKEN_LIFETIME, |s| s as u64),
        );
        let refresh_in = lifetime.checked_sub(TOKEN_MARGIN).unwrap_or(lifetime / 2);
        *slot = Some(CachedToken {
            value: body.access_token.clone(),
            refresh_at: Instant::now() + refresh_in,
        });
        Ok(body.access_token)
    }

    /// Exchanges the service token now, for the connection check.
    pub async fn exchange_token(&self) -> Result<(), BackendError> {
        *self.token.lock().await = None;
        self.access_token(None, Priority::View).await.map(|_| ())
    }

    /// Sends an authorised request; on 401 exchanges the token once and resends.
    async fn send(
        &self,
        priority: Priority,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, BackendError> {
        self.send_as(priority, &self.application_id, build).await
    }

    /// [`send`](Self::send) with another `X-Application-ID` (the check tries both).
    pub(crate) async fn send_as(
        &self,
        priority: Priority,
        application_id: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, BackendError> {
        let mut stale: Option<String> = None;
        for _ in 0..2 {
            let token = self.access_token(stale.as_deref(), priority).await?;
            self.budget.acquire(priority).await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let mut request = build()
                .bearer_auth(&token)
                .header("X-Application-ID", application_id);
            // The id of the qrdesk request this call serves, for both sides' logs.
            if let Some(id) = crate::trace::current() {
                request = request.header("X-Request-Id", id);
            }
            let request = request.build().map_err(network_error)?;
            let path = request.url().path().to_owned();
            let sent = self.http.execute(request).await;
            self.observe(path.strip_prefix(self.base_path()).unwrap_or(&path), &sent);
            let resp = sent.map_err(network_error)?;
            self.last_rtt_us
                .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            if resp.status() == StatusCode::UNAUTHORIZED && stale.is_none() {
                tracing::info!("HubEx access token refused, exchanging the service token again");
                stale = Some(token);
                continue;
            }
            return Ok(resp);
        }
        Err(BackendError::transient(
            "HubEx answered 401 after a fresh token; check the API user's role and API powers",
        ))
    }

    /// Sends and maps a non-success status to an error.
    async fn send_ok(
        &self,
        priority: Priority,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, BackendError> {
        check(self.send(priority, build).await?).await
    }

    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(self.url(path))
    }

    /// Reads one answer that is not a list.
    async fn get_one<T: DeserializeOwned>(
        &self,
        path: &str,
        priority: Priority,
    ) -> Result<T, BackendError> {
        let resp = self.send_ok(priority, || self.get(path)).await?;
        let bytes = resp.bytes().await.map_err(network_error)?;
        read::parse_one(&bytes).map_err(|e| BackendError::Permanent {
            reason: format!("{path}: unreadable answer: {e}"),
        })
    }

    /// Reads a list page by page with `Range: items=FROM-TILL` to its end
    /// (or `max_pages`), handing each readable item to `each` with its id
    /// (the item's own, or its key). `each` may stop the read.
    pub(crate) async fn list_each<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
        sx: &Surprises,
        max_pages: usize,
        mut each: impl FnMut(Option<i64>, T) -> ControlFlow<()>,
    ) -> Result<ListEnd, BackendError> {
        let mut end = ListEnd::default();
        let mut from: u64 = 1;
        let mut previous_first: Option<Option<i64>> = None;
        while end.pages < max_pages.min(MAX_PAGES) {
            let till = from + self.page_size as u64 - 1;
            let range = format!("items={from}-{till}");
            let resp = self
                .send_ok(priority, || {
                    self.get(path).query(query).header(header::RANGE, &range)
                })
                .await?;
            end.pages += 1;
            let content_range = resp
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            let bytes = resp.bytes().await.map_err(network_error)?;
            let mut value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    BackendError::transient(format!("{path}: the answer is not JSON: {e}"))
                })?
            };
            if read::normalize(&mut value) {
                sx.note(path, "names in PascalCase", "", "read as camelCase");
            }
            let items = read::split_list(value).map_err(|e| BackendError::Permanent {
                reason: format!("{path}: {e}"),
            })?;
            let n = items.len() as u64;
            let first = items.first().map(|(k, v)| read::item_id(k.as_deref(), v));
            if end.pages > 1 && first.is_some() && previous_first == first {
                sx.note(path, "Range ignored (the same page came twice)", "", "");
                return Ok(end);
            }
            previous_first = first;
            for (id, item) in read::parse_items::<T>(path, items, sx) {
                if each(id, item).is_break() {
                    return Ok(end);
                }
            }
            match content_range {
                Some((_, last, total)) => {
                    end.total = Some(total);
                    if n == 0 || last >= total {
                        return Ok(end);
                    }
                    from = last + 1;
                }
                // No Content-Range: the whole list, unless a full page came.
                None => {
                    if n < self.page_size as u64 {
                        return Ok(end);
                    }
                    from = till + 1;
                }
            }
        }
        sx.note(path, "list longer than the page bound", "", "");
        Ok(end)
    }

    /// A whole list as (id, item); items without an id are skipped and noted.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
        sx: &Surprises,
    ) -> Result<Vec<(i64, T)>, BackendError> {
        let mut out = Vec::new();
        let mut missing = 0usize;
        self.list_each(path, query, priority, sx, MAX_PAGES, |id, item| {
            match id {
                Some(id) => out.push((id, item)),
                None => missing += 1,
            }
            ControlFlow::Continue(())
        })
        .await?;
        if missing > 0 {
            sx.note(
                path,
                "items without an id skipped",
                &format!("{missing} items"),
                "",
            );
        }
        Ok(out)
    }

    /// `GET /ADM/TenantMembers/anonymousUser`: 204 when the tenant has none.
    pub(crate) async fn anonymous_user(
        &self,
        priority: Priority,
    ) -> Result<Option<UserId>, BackendError> {
        let path = "/ADM/TenantMembers/anonymousUser";
        let resp = self.send(priority, || self.get(path)).await?;
        if matches!(resp.status().as_u16(), 403 | 404) {
            let status = resp.status().as_u16();
            let body = resp.bytes().await.unwrap_or_default();
            tracing::warn!(status, detail = %error_detail(&body), "HubEx did not give the anonymous user; tasks are created without requestedByUserID (run `qrdesk check`)");
            return Ok(None);
        }
        let resp = check(resp).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = resp.bytes().await.map_err(network_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let user: wire::AnonymousUser =
            read::parse_one(&bytes).map_err(|e| BackendError::Permanent {
                reason: format!("{path}: unreadable answer: {e}"),
            })?;
        Ok(user.user_id.or(user.user.and_then(|u| u.id)).map(UserId))
    }

    pub(in crate::backend::hubex) async fn create(
        &self,
        task: &NewTask,
    ) -> Result<CreatedTask, BackendError> {
        let fields = self.task_fields().await?;
        self.create_with(task, &fields).await
    }

    /// Creates `task` with these HubEx fields.
    pub async fn create_with(
        &self,
        task: &NewTask,
        fields: &TaskFields,
    ) -> Result<CreatedTask, BackendError> {
        let body = wire::TaskAdd {
            task_type_id: Some(fields.task_type_id),
            request_method_id: Some(fields.request_method_id),
            criticality_id: fields.criticality_id,
            asset_id: task.asset.as_ref().map(|a| a.id.0),
            location_id: task.location_id.map(|l| l.0),
            company_id: task.company_id.map(|c| c.0),
            notes: Some(task.text_plain()),
            notes_html: Some(task.text_html()?),
            contact_person: task.contact_name.clone(),
            contact_phone: task.contact_phone.clone(),
            contact_email: task.contact_email.clone(),
            requested_by_user_id: fields.requested_by.map(|u| u.0),
            erp_id: Some(task.reference.clone()),
        };
        let stamp = task.stamp.to_string();
        let resp = self
            .send(Priority::Delivery, || {
                self.http
                    .post(self.url("/WORK/Tasks"))
                    .header("X-Concurrency-Stamp", &stamp)
                    .json(&body)
            })
            .await?;
        if resp.status() == StatusCode::CONFLICT {
            return Err(BackendError::DuplicateStamp);
        }
        let resp = check(resp).await?;
        // A 201 whose body is lost or unreadable leaves the outcome unknown: a
        // transient error, and the retry finds the task by its reference.
        let bytes = resp.bytes().await.map_err(network_error)?;
        let created: wire::TaskCreated = read::parse_one(&bytes).map_err(|e| {
            BackendError::transient(format!("HubEx's answer to the new task is unreadable: {e}"))
        })?;
        let id = created.id.ok_or_else(|| {
            BackendError::transient("HubEx created the task but did not say its id")
        })?;
        // Where HubEx answers with the task itself, its state comes free.
        let state = read::parse_one::<wire::TaskInfo>(&bytes)
            .ok()
            .filter(|t| t.task_status.is_some() || t.task_stage.is_some())
            .map(task_state);
        Ok(CreatedTask {
            id: TaskId(id),
            number: created.number,
            state,
        })
    }

    pub(in crate::backend::hubex) async fn upload(
        &self,
        task: TaskId,
        file: &FileUpload,
    ) -> Result<i64, BackendError> {
        let resp = self
            .send_ok(Priority::Delivery, || {
                let part = reqwest::multipart::Part::bytes(file.bytes.clone())
                    .file_name(file.file_name.clone())
                    .mime_str(&file.mime)
                    .expect("valid mime");
                let form = reqwest::multipart::Form::new()
                    .text("taskID", task.to_string())
                    .text("isPublic", "true")
                    .text("isIgnorePossibleDuplication", "true")
                    .part("file", part);
                self.http
                    .post(self.url("/WORK/TaskAttachments/upload/fromForm"))
                    .multipart(form)
            })
            .await?;
        let bytes = resp.bytes().await.map_err(network_error)?;
        let uploaded: wire::AttachmentUploaded = read::parse_one(&bytes).unwrap_or_default();
        uploaded
            .attachment_id
            .ok_or_else(|| BackendError::transient("HubEx did not say which attachment it created"))
    }

    pub(in crate::backend::hubex) async fn find_file(
        &self,
        task: TaskId,
        file_name: &str,
    ) -> Result<Option<i64>, BackendError> {
        let mut ids = Vec::new();
        self.list_each::<wire::AttachmentInfo>(
            &format!("/WORK/Tasks/{task}/attachments"),
            &[],
            Priority::Delivery,
            &self.surprises,
            MAX_PAGES,
            |id, f| {
                if let (Some(id), true) = (id, f.file_name == file_name) {
                    ids.push(id);
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        ids.sort();
        Ok(ids.first().copied())
    }

    pub(in crate::backend::hubex) async fn messages(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> Result<Vec<Message>, BackendError> {
        self.all_messages(task, priority, false).await
    }

    /// The conversation; with `internal`, the team's chat too.
    pub(in crate::backend::hubex) async fn all_messages(
        &self,
        task: TaskId,
        priority: Priority,
        internal: bool,
    ) -> Result<Vec<Message>, BackendError> {
        let mut out = Vec::new();
        self.list_each::<wire::ConversationMessage>(
            &format!("/WORK/Tasks/{task}/conversations"),
            &[],
            priority,
            &self.surprises,
            MAX_PAGES,
            |id, m| {
                let shown = internal || m.is_external == Some(true);
                if let (Some(id), true) = (id, shown) {
                    out.push(Message {
                        id,
                        created_at: m.created.as_deref().and_then(wire::parse_time),
                        author: m.author.map(|a| {
                            [a.first_name, a.last_name]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ")
                        }),
                        text: m.message,
                    });
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        out.sort_by_key(|m| (m.created_at, m.id));
        Ok(out)
    }

    pub(in crate::backend::hubex) async fn comment(
        &self,
        task: TaskId,
        text: &str,
        attachments: &[i64],
        external: bool,
    ) -> Result<i64, BackendError> {
        let body = wire::ConversationPost {
            message: text.to_owned(),
            is_external: external,
            attachments: attachments.to_vec(),
        };
        let resp = self
            .send_ok(Priority::Delivery, || {
                self.http
                    .post(self.url(&format!("/WORK/Tasks/{task}/conversation")))
                    .json(&body)
            })
            .await?;
        let bytes = resp.bytes().await.map_err(network_error)?;
        let posted: wire::Posted = read::parse_one(&bytes).unwrap_or_default();
        posted
            .id
            .ok_or_else(|| BackendError::transient("HubEx did not say which comment it created"))
    }

    pub(in crate::backend::hubex) async fn stage(
        &self,
        task: TaskId,
        stage: i64,
    ) -> Result<(), BackendError> {
        let body = wire::StageMove {
            task_id: task.0,
            task_stage_id: stage,
        };
        self.send_ok(Priority::Delivery, || {
            self.http
                .post(self.url("/WORK/TaskStagingHistory"))
                .json(&body)
        })
        .await?;
        Ok(())
    }

    pub(in crate::backend::hubex) async fn state(
        &self,
        id: TaskId,
        priority: Priority,
    ) -> Result<TaskState, BackendError> {
        let t: wire::TaskInfo = self.get_one(&format!("/WORK/Tasks/{id}"), priority).await?;
        Ok(task_state(t))
    }
}

/// Passes a success through; turns any other status into an error.
pub(crate) async fn check(resp: Response) -> Result<Response, BackendError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = retry_after(resp.headers());
    let body = resp.bytes().await.unwrap_or_default();
    Err(
        classify(status, retry_after).unwrap_or_else(|| BackendError::Permanent {
            reason: format!("HubEx HTTP {}{}", status.as_u16(), error_detail(&body)),
        }),
    )
}

/// Statuses worth retrying; `None` means the caller decides (a permanent refusal).
fn classify(status: StatusCode, retry_after: Option<Duration>) -> Option<BackendError> {
    let transient = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error();
    transient.then(|| BackendError::Transient {
        reason: format!("HubEx HTTP {}", status.as_u16()),
        retry_after,
    })
}

fn network_error(e: reqwest::Error) -> BackendError {
    crate::backend::network_error("HubEx", e)
}

pub use crate::backend::retry_after;

/// `items=A-B/TOTAL` → (A, B, TOTAL).
pub fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v
        .trim()
        .strip_prefix("items")?
        .trim_start_matches([' ', '=']);
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

/// " — CODE: message" from an `ErrorModel` or an array of them.
pub(crate) fn error_detail(body: &[u8]) -> String {
    // An array of them, or one; its first is what matters.
    let model = read::parse_one::<Vec<wire::ErrorModel>>(body)
        .ok()
        .and_then(|v| v.into_iter().next())
        .filter(|m| m.code.is_some() || m.message.is_some())
        .or_else(|| read::parse_one::<wire::ErrorModel>(body).ok());
    match model {
        Some(m) => {
            let parts: Vec<String> = [m.code, m.message].into_iter().flatten().collect();
            if parts.is_empty() {
                String::new()
            } else {
                format!(" — {}", short(&parts.join(": ")))
            }
        }
        None if body.is_empty() => String::new(),
        None => format!(" — {}", short(&String::from_utf8_lossy(body))),
    }
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_adds_fsm_only_without_a_path() {
        assert_eq!(
            api_root("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000/fsm"
        );
        assert_eq!(
            api_root("https://api.hubex.ru/fsm/"),
            "https://api.hubex.ru/fsm"
        );
    }

    #[test]
    fn content_range_parses() {
        assert_eq!(parse_content_range("items=1-50/120"), Some((1, 50, 120)));
        assert_eq!(parse_content_range("items 0-0/7"), Some((0, 0, 7)));
        assert_eq!(parse_content_range("bytes=1-2/3"), None);
    }

    #[test]
    fn error_models_in_both_shapes() {
        assert_eq!(
            error_detail(br#"{"code":"X","message":"bad"}"#),
            " — X: bad"
        );
        assert_eq!(error_detail(br#"[{"code":"Y"}]"#), " — Y");
        assert_eq!(error_detail(b""), "");
    }

    #[test]
    fn statuses_sort_into_retry_and_give_up() {
        for s in [429, 500, 502, 503, 504, 408] {
            assert!(
                classify(StatusCode::from_u16(s).unwrap(), None).is_some(),
                "{s}"
            );
        }
        for s in [400, 403, 404, 409, 422] {
            assert!(
                classify(StatusCode::from_u16(s).unwrap(), None).is_none(),
                "{s}"
            );
        }
    }

    #[test]
    fn colours_are_checked() {
        assert!(is_css_color("#1a2B3c") && is_css_color("#abc"));
        assert!(!is_css_color("red;background:url(x)") && !is_css_color("#12345"));
    }
}
