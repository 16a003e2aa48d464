//! HTTP client for a HubEx tenant: token exchange and cache, headers, paging,
//! and the sorting of failures into "try again" and "give up".

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::types as wire;
use crate::backend::{
    Asset, AssetId, BackendError, BoxFuture, CatalogSnapshot, Company, CompanyId, CreatedTask,
    Criticality, District, DistrictId, FileUpload, Location, LocationId, Message, Named, NewTask,
    Progress, TaskBackend, TaskId, TaskState, UserId,
};

/// Refresh the access token this long before HubEx says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// HubEx documents 30 minutes when `expires_in` is missing.
const DEFAULT_TOKEN_LIFETIME: u64 = 1800;
/// Guard against a server that keeps answering 206 without progress.
const MAX_PAGES: usize = 10_000;

pub struct HubexClient {
    http: reqwest::Client,
    base: String,
    service_token: String,
    application_id: String,
    page_size: u32,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    /// Calls per minute this instance may make, so bursts never flood the tenant.
    pace: governor::DefaultDirectRateLimiter,
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

impl HubexClient {
    pub fn new(
        base_url: &str,
        service_token: &str,
        application_id: u32,
        timeout: Duration,
        page_size: u32,
        calls_per_minute: u32,
    ) -> anyhow::Result<Self> {
        let per_minute = std::num::NonZeroU32::new(calls_per_minute.max(1)).expect("at least 1");
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
            pace: governor::RateLimiter::direct(governor::Quota::per_minute(per_minute)),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A cached access token, exchanging the service token when there is none
    /// or it is about to expire. `stale` is a token the server just refused.
    async fn access_token(&self, stale: Option<&str>) -> Result<String, BackendError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref() {
            if Some(t.value.as_str()) != stale && Instant::now() < t.refresh_at {
                return Ok(t.value.clone());
            }
        }
        let resp = self
            .http
            .post(self.url("/AUTHZ/AccessTokens"))
            .header("X-Application-ID", &self.application_id)
            .json(&wire::AccessTokenRequest {
                service_token: self.service_token.clone(),
            })
            .send()
            .await
            .map_err(network_error)?;
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
        let body: wire::AccessTokenResponse = resp.json().await.map_err(network_error)?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME));
        let refresh_in = lifetime.checked_sub(TOKEN_MARGIN).unwrap_or(lifetime / 2);
        *slot = Some(CachedToken {
            value: body.access_token.clone(),
            refresh_at: Instant::now() + refresh_in,
        });
        Ok(body.access_token)
    }

    /// Sends an authorised request; on 401 exchanges the token once and resends.
    async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response, BackendError> {
        let mut stale: Option<String> = None;
        for _ in 0..2 {
            let token = self.access_token(stale.as_deref()).await?;
            self.pace.until_ready().await;
            let resp = build()
                .bearer_auth(&token)
                .header("X-Application-ID", &self.application_id)
                .send()
                .await
                .map_err(network_error)?;
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
    async fn send_ok(&self, build: impl Fn() -> RequestBuilder) -> Result<Response, BackendError> {
        check(self.send(build).await?).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, BackendError> {
        let resp = self
            .send_ok(|| self.http.get(self.url(path)).query(query))
            .await?;
        resp.json().await.map_err(network_error)
    }

    /// Reads every page of a list with `Range: items=FROM-TILL`. HubEx lists are
    /// either arrays or objects keyed by id; both come back as (key, item).
    async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<(Option<i64>, T)>, BackendError> {
        let mut out = Vec::new();
        let mut from: u64 = 1;
        for _ in 0..MAX_PAGES {
            let till = from + self.page_size as u64 - 1;
            let range = format!("items={from}-{till}");
            let resp = self
                .send_ok(|| {
                    self.http
                        .request(Method::GET, self.url(path))
                        .header(header::RANGE, &range)
                })
                .await?;
            let status = resp.status();
            let content_range = resp
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            let page: serde_json::Value = resp.json().await.map_err(network_error)?;
            let before = out.len();
            match page {
                serde_json::Value::Array(items) => {
                    for item in items {
                        out.push((None, from_value(path, item)?));
                    }
                }
                serde_json::Value::Object(map) => {
                    for (key, item) in map {
                        out.push((key.parse().ok(), from_value(path, item)?));
                    }
                }
                serde_json::Value::Null => {}
                other => {
                    return Err(BackendError::Permanent {
                        reason: format!(
                            "{path}: expected a list, got {}",
                            short(&other.to_string())
                        ),
                    })
                }
            }
            match (status, content_range) {
                (StatusCode::PARTIAL_CONTENT, Some((_, end, total)))
                    if end < total && out.len() > before =>
                {
                    from = end + 1;
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }

    async fn asset_districts(
        &self,
        asset: i64,
        districts: &[District],
    ) -> Result<Vec<DistrictId>, BackendError> {
        let path = format!("/ES/Assets/{asset}/districts");
        let items: Vec<wire::AssetDistrict> = self.get_json(&path, &[]).await?;
        Ok(items
            .into_iter()
            .filter_map(|d| {
                d.id.or(d.district_id).map(DistrictId).or_else(|| {
                    districts
                        .iter()
                        .find(|known| known.name == d.name)
                        .map(|known| known.id)
                })
            })
            .collect())
    }

    async fn catalog(&self, progress: &dyn Progress) -> Result<CatalogSnapshot, BackendError> {
        progress.step("districts", 0, 0);
        let districts: Vec<District> = self
            .get_all::<wire::District>("/ES/Districts")
            .await?
            .into_iter()
            .map(|(_, d)| District {
                id: DistrictId(d.id),
                name: d.name,
                parent_id: d.parent_id.map(DistrictId),
            })
            .collect();
        progress.step("locations", 0, 0);
        let locations = self
            .get_all::<wire::Location>("/ES/Locations")
            .await?
            .into_iter()
            .filter_map(|(k, l)| {
                Some(Location {
                    id: LocationId(l.id.or(k)?),
                    address: l.address,
                    description: l.description,
                })
            })
            .collect();
        progress.step("companies", 0, 0);
        let companies = self
            .get_all::<wire::Company>("/ES/Companies")
            .await?
            .into_iter()
            .filter_map(|(k, c)| {
                Some(Company {
                    id: CompanyId(c.id.or(k)?),
                    name: c.name,
                })
            })
            .collect();
        progress.step("assets", 0, 0);
        let raw_assets = self.get_all::<wire::Asset>("/ES/Assets").await?;
        let total = raw_assets.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        // One call per asset; a few at a time keeps within HubEx's rate limits.
        let assets: Vec<Asset> = stream::iter(
            raw_assets
                .into_iter()
                .filter_map(|(k, a)| Some((a.id.or(k)?, a))),
        )
        .map(|(id, a)| {
            let (districts, done) = (&districts, &done);
            async move {
                let in_districts = self.asset_districts(id, districts).await?;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress.step("asset districts", n, total);
                Ok::<_, BackendError>(Asset {
                    id: AssetId(id),
                    name: a.name,
                    serial_number: a.serial_number.filter(|s| !s.is_empty()),
                    inventory_number: a.inventory_number.filter(|s| !s.is_empty()),
                    company_id: a.company.and_then(|c| c.id).map(CompanyId),
                    location_id: a.location.and_then(|l| l.id).map(LocationId),
                    districts: in_districts,
                })
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
        let dictionary = |items: Vec<(Option<i64>, wire::Dictionary)>| -> Vec<Named> {
            items
                .into_iter()
                .filter_map(|(k, d)| {
                    Some(Named {
                        id: k?,
                        name: d.name,
                        is_default: d.is_default.unwrap_or(false),
                    })
                })
                .collect()
        };
        progress.step("dictionaries", 0, 0);
        let task_types = dictionary(self.get_all("/WORK/TaskTypes").await?);
        let request_methods = dictionary(self.get_all("/WORK/RequestMethods").await?);
        let criticalities = self
            .get_all::<wire::Dictionary>("/SLA/Criticalities")
            .await?
            .into_iter()
            .filter_map(|(k, d)| {
                Some(Criticality {
                    id: k?,
                    name: d.name,
                    color: d.color,
                    is_default: d.is_default.unwrap_or(false),
                    sort_order: d.sort_order,
                })
            })
            .collect();
        let anonymous_user = self.anonymous_user().await?;
        Ok(CatalogSnapshot {
            districts,
            locations,
            companies,
            assets,
            task_types,
            criticalities,
            request_methods,
            anonymous_user,
        })
    }

    /// `GET /ADM/TenantMembers/anonymousUser`: 204 when the tenant has none.
    async fn anonymous_user(&self) -> Result<Option<UserId>, BackendError> {
        let resp = self
            .send_ok(|| self.http.get(self.url("/ADM/TenantMembers/anonymousUser")))
            .await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = resp.bytes().await.map_err(network_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let user: wire::AnonymousUser =
            serde_json::from_slice(&bytes).map_err(|e| BackendError::Permanent {
                reason: format!("anonymousUser: {e}"),
            })?;
        Ok(user.user_id.map(UserId))
    }

    async fn create(&self, task: &NewTask) -> Result<CreatedTask, BackendError> {
        let body = wire::TaskAdd {
            task_type_id: Some(task.task_type_id),
            request_method_id: Some(task.request_method_id),
            criticality_id: task.criticality_id,
            asset_id: task.asset_id.map(|a| a.0),
            location_id: task.location_id.map(|l| l.0),
            company_id: task.company_id.map(|c| c.0),
            notes: Some(task.notes.clone()),
            notes_html: Some(task.notes_html.clone()),
            contact_person: task.contact_person.clone(),
            contact_phone: task.contact_phone.clone(),
            contact_email: task.contact_email.clone(),
            requested_by_user_id: task.requested_by.map(|u| u.0),
            erp_id: Some(task.reference.clone()),
        };
        let stamp = task.stamp.to_string();
        let resp = self
            .send(|| {
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
        // A 201 whose body is lost leaves the outcome unknown: a transient error,
        // and the retry finds the task by its reference.
        let created: wire::TaskCreated = resp.json().await.map_err(network_error)?;
        Ok(CreatedTask {
            id: TaskId(created.id),
            number: created.number,
        })
    }

    async fn find(&self, reference: &str) -> Result<Option<CreatedTask>, BackendError> {
        let query = [
            ("erpID", reference.to_owned()),
            ("isDeleted", "false".to_owned()),
        ];
        let tasks: HashMap<String, wire::TaskInfo> = self.get_json("/WORK/Tasks", &query).await?;
        // Unknown filters are ignored silently by HubEx, so check the match here.
        let mut found: Vec<CreatedTask> = tasks
            .into_iter()
            .filter(|(_, t)| {
                t.erp_id.as_deref() == Some(reference)
                    || t.notes.as_deref().is_some_and(|n| n.contains(reference))
            })
            .filter_map(|(k, t)| {
                Some(CreatedTask {
                    id: TaskId(k.parse().ok()?),
                    number: t.number,
                })
            })
            .collect();
        found.sort_by_key(|t| t.id);
        Ok(found.into_iter().next())
    }

    async fn upload(&self, task: TaskId, file: &FileUpload) -> Result<i64, BackendError> {
        let resp = self
            .send_ok(|| {
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
        let uploaded: wire::AttachmentUploaded = resp.json().await.map_err(network_error)?;
        Ok(uploaded.attachment_id)
    }

    async fn find_file(&self, task: TaskId, file_name: &str) -> Result<Option<i64>, BackendError> {
        let files: HashMap<String, wire::AttachmentInfo> = self
            .get_json(&format!("/WORK/Tasks/{task}/attachments"), &[])
            .await?;
        let mut ids: Vec<i64> = files
            .into_iter()
            .filter(|(_, f)| f.file_name == file_name)
            .filter_map(|(k, _)| k.parse().ok())
            .collect();
        ids.sort();
        Ok(ids.first().copied())
    }

    async fn messages(&self, task: TaskId) -> Result<Vec<Message>, BackendError> {
        let items: Vec<wire::ConversationMessage> = self
            .get_json(&format!("/WORK/Tasks/{task}/conversations"), &[])
            .await?;
        let mut out: Vec<Message> = items
            .into_iter()
            .filter(|m| m.is_external)
            .map(|m| Message {
                id: m.id,
                created_at: m.created.as_deref().and_then(wire::parse_time),
                author: m.author.map(|a| {
                    [a.first_name, a.last_name]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
                text: m.message,
            })
            .collect();
        out.sort_by_key(|m| (m.created_at, m.id));
        Ok(out)
    }

    async fn comment(
        &self,
        task: TaskId,
        text: &str,
        attachments: &[i64],
    ) -> Result<i64, BackendError> {
        let body = wire::ConversationPost {
            message: text.to_owned(),
            is_external: true,
            attachments: attachments.to_vec(),
        };
        let resp = self
            .send_ok(|| {
                self.http
                    .post(self.url(&format!("/WORK/Tasks/{task}/conversation")))
                    .json(&body)
            })
            .await?;
        let posted: Vec<wire::Posted> = resp.json().await.map_err(network_error)?;
        posted
            .first()
            .map(|p| p.id)
            .ok_or_else(|| BackendError::transient("HubEx did not say which comment it created"))
    }

    async fn stage(&self, task: TaskId, stage: i64) -> Result<(), BackendError> {
        let body = wire::StageMove {
            task_id: task.0,
            task_stage_id: stage,
        };
        self.send_ok(|| {
            self.http
                .post(self.url("/WORK/TaskStagingHistory"))
                .json(&body)
        })
        .await?;
        Ok(())
    }

    async fn state(&self, id: TaskId) -> Result<TaskState, BackendError> {
        let t: wire::TaskInfo = self.get_json(&format!("/WORK/Tasks/{id}"), &[]).await?;
        let sheet = t.timesheet.unwrap_or_default();
        let status = t.task_status.or(t.task_stage).unwrap_or_default();
        Ok(TaskState {
            number: t.number,
            status_name: status.name,
            status_color: status.color.filter(|c| is_css_color(c)),
            created_at: sheet.created.as_deref().and_then(wire::parse_time),
            in_work_at: sheet.assigned.as_deref().and_then(wire::parse_time),
            completed_at: sheet.completed.as_deref().and_then(wire::parse_time),
            closed_at: sheet.closed.as_deref().and_then(wire::parse_time),
        })
    }
}

impl TaskBackend for HubexClient {
    fn create_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<CreatedTask, BackendError>> {
        Box::pin(self.create(task))
    }

    fn find_task<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<CreatedTask>, BackendError>> {
        Box::pin(self.find(reference))
    }

    fn task_state(&self, id: TaskId) -> BoxFuture<'_, Result<TaskState, BackendError>> {
        Box::pin(self.state(id))
    }

    fn upload_attachment<'a>(
        &'a self,
        task: TaskId,
        file: &'a FileUpload,
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(self.upload(task, file))
    }

    fn find_attachment<'a>(
        &'a self,
        task: TaskId,
        file_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>> {
        Box::pin(self.find_file(task, file_name))
    }

    fn conversation(&self, task: TaskId) -> BoxFuture<'_, Result<Vec<Message>, BackendError>> {
        Box::pin(self.messages(task))
    }

    fn post_comment<'a>(
        &'a self,
        task: TaskId,
        text: &'a str,
        attachments: &'a [i64],
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(self.comment(task, text, attachments))
    }

    fn move_to_stage(&self, task: TaskId, stage: i64) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(self.stage(task, stage))
    }

    fn fetch_catalog<'a>(
        &'a self,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<CatalogSnapshot, BackendError>> {
        Box::pin(self.catalog(progress))
    }
}

/// Only `#rgb`/`#rrggbb` colours reach a page's style attribute.
pub fn is_css_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Passes a success through; turns any other status into an error.
async fn check(resp: Response) -> Result<Response, BackendError> {
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

fn from_value<T: DeserializeOwned>(path: &str, v: serde_json::Value) -> Result<T, BackendError> {
    serde_json::from_value(v).map_err(|e| BackendError::Permanent {
        reason: format!("{path}: unexpected item shape: {e}"),
    })
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
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_decode() {
        "unreadable answer"
    } else {
        "connection error"
    };
    BackendError::transient(format!("HubEx {kind}: {}", e.without_url()))
}

/// `Retry-After` in seconds (the HTTP-date form falls back to our own backoff).
pub fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

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
fn error_detail(body: &[u8]) -> String {
    let model = serde_json::from_slice::<wire::ErrorModel>(body)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<Vec<wire::ErrorModel>>(body)
                .ok()?
                .into_iter()
                .next()
        });
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
