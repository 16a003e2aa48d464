//! A HubEx simulator: the same paths and JSON shapes as the real API (see
//! `shared/hubex/API.md`), a demo tenant, and faults on demand.
//!
//! It checks what the real API checks — the access token, `X-Application-ID`,
//! required fields, referenced ids, the anonymous user's участки and the
//! concurrency stamp — and records every task it creates so tests can assert on
//! what "HubEx" received. `/__sim/…` routes drive it from outside the process.

pub mod demo;
mod tasks;

use tasks::{
    conversations, create_task, get_task, list_tasks, post_conversation, stage_move,
    task_attachments, upload_attachment,
};

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::types as wire;

/// A failure the simulator can be told to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer with this status and an error body, without doing the work.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Hold the request for this long, then answer 504 without doing the work.
    Timeout { millis: u64 },
    /// Close the connection without an answer, without doing the work.
    Drop,
    /// Do the work (e.g. create the task), then close the connection.
    CreatedThenDrop,
    /// Do the work, then hold the answer this long and close the connection.
    CreatedThenHang { millis: u64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// `GET`, `POST`, … or empty for any.
    #[serde(default)]
    pub method: String,
    /// Path under `/fsm`, e.g. `/WORK/Tasks`; also matches the paths below it.
    pub path: String,
    pub fault: Fault,
    /// How many matching calls get the fault.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// A task as the simulator stores it.
#[derive(Debug, Clone, Serialize)]
pub struct SimTask {
    pub id: i64,
    pub number: String,
    pub stamp: String,
    pub body: wire::TaskAdd,
    pub status_id: i64,
    pub created: String,
    pub modified: String,
    pub assigned: Option<String>,
    pub completed: Option<String>,
    pub closed: Option<String>,
}

/// How the simulator writes its answers. HubEx documents which list is an
/// array and which an id-keyed map, but says it is not reliable; `Other`
/// answers every list in the other shape, in PascalCase, with coordinates as
/// objects and fields nobody reads, so the client is tested against both.
pub use crate::config::SimShape as Shape;

/// A file attached to a task.
#[derive(Debug, Clone, Serialize)]
pub struct SimAttachment {
    pub id: i64,
    pub task_id: i64,
    pub file_name: String,
    pub content_type: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub is_public: bool,
}

/// A message in a task's conversation.
#[derive(Debug, Clone, Serialize)]
pub struct SimMessage {
    pub id: i64,
    pub task_id: i64,
    pub created: String,
    pub message: String,
    pub is_external: bool,
    /// Written by staff in HubEx (not through the API).
    pub by_staff: bool,
    pub attachments: Vec<i64>,
}

/// One call as the simulator saw it, for tests.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The `Range` header, if the call sent one.
    pub range: Option<String>,
    /// The qrdesk request the call serves (`X-Request-Id`), if any.
    pub request_id: Option<String>,
    pub status: u16,
    /// When the call arrived, Unix ms.
    pub at_ms: i64,
}

struct SimState {
    tenant: demo::Tenant,
    service_token: String,
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    tasks: BTreeMap<i64, SimTask>,
    attachments: Vec<SimAttachment>,
    messages: Vec<SimMessage>,
    stamps: HashMap<String, i64>,
    next_task: i64,
    faults: VecDeque<FaultRule>,
    /// Random faults on writes: (percent, kinds to pick from).
    chaos: Option<(u32, Vec<Fault>)>,
    /// Faults injected so far (a dropped connection logs as a 200 call).
    played: usize,
    calls: Vec<Call>,
    max_page: usize,
    shape: Shape,
    /// Rights (API.md §9) the API user's role lacks: calls needing them get 403.
    denied: HashSet<String>,
    /// Documented filters this tenant ignores anyway (HubEx ignores unknown
    /// ones silently; a test can make it ignore a known one).
    ignored_filters: HashSet<String>,
    /// `GET /ES/Assets?districtID=` is undocumented; off, it is ignored.
    asset_district_filter: bool,
    anonymous_enabled: bool,
}

/// Handle to a simulator; clones share the same tenant.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Mutex<SimState>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator {
    pub fn new() -> Simulator {
        Simulator {
            state: Arc::new(Mutex::new(SimState {
                tenant: demo::tenant(),
                service_token: demo::SERVICE_TOKEN.into(),
                tokens: HashMap::new(),
                token_lifetime: Duration::from_secs(1800),
                tasks: BTreeMap::new(),
                attachments: Vec::new(),
                messages: Vec::new(),
                stamps: HashMap::new(),
                next_task: 5001,
                faults: VecDeque::new(),
                chaos: None,
                played: 0,
                calls: Vec::new(),
                max_page: 100,
                shape: Shape::Documented,
                denied: HashSet::new(),
                ignored_filters: HashSet::new(),
                asset_district_filter: false,
                anonymous_enabled: true,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock would be a simulator bug; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn service_token(&self) -> String {
        self.lock().service_token.clone()
    }

    /// Queues a fault for the next matching calls.
    pub fn inject(&self, rule: FaultRule) {
        self.lock().faults.push_back(rule);
    }

    pub fn fail(&self, method: &str, path: &str, fault: Fault, times: u32) {
        self.inject(FaultRule {
            method: method.into(),
            path: path.into(),
            fault,
            times,
        });
    }

    pub fn clear_faults(&self) {
        let mut s = self.lock();
        s.faults.clear();
        s.chaos = None;
    }

    /// From now on, `percent` of the calls that write (POST) fail with one of
    /// `kinds`, picked at random.
    pub fn chaos(&self, percent: u32, kinds: Vec<Fault>) {
        self.lock().chaos = Some((percent.min(100), kinds));
    }

    /// How many faults were injected, queued or at random.
    pub fn faults_played(&self) -> usize {
        self.lock().played
    }

    /// Makes every issued access token invalid, as if they had expired.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Largest page the list endpoints return, to exercise `Range` paging.
    pub fn set_max_page(&self, n: usize) {
        self.lock().max_page = n.max(1);
    }

    /// Answers in the documented shapes or in the other ones.
    pub fn set_shape(&self, shape: Shape) {
        self.lock().shape = shape;
    }

    /// The API user's role loses a right (e.g. `AssetsExport`, `TasksList`).
    pub fn deny(&self, right: &str) {
        self.lock().denied.insert(right.to_owned());
    }

    /// The tenant ignores a documented filter (e.g. `erpID`), as HubEx does
    /// with any filter it does not honour.
    pub fn ignore_filter(&self, name: &str) {
        self.lock().ignored_filters.insert(name.to_owned());
    }

    /// Honours the undocumented `districtID` filter on `GET /ES/Assets`.
    pub fn honour_asset_district_filter(&self, on: bool) {
        self.lock().asset_district_filter = on;
    }

    /// No anonymous user (HubEx answers 204).
    pub fn disable_anonymous_user(&self) {
        self.lock().anonymous_enabled = false;
    }

    /// Replaces the tenant (e.g. with [`demo::big`]).
    pub fn set_tenant(&self, tenant: demo::Tenant) {
        self.lock().tenant = tenant;
    }

    /// Changes the tenant in place (rename or add assets).
    pub fn edit_tenant<R>(&self, f: impl FnOnce(&mut demo::Tenant) -> R) -> R {
        f(&mut self.lock().tenant)
    }

    /// Adds `n` tasks made elsewhere (other channels, a year ago), so lists
    /// are long.
    pub fn seed_tasks(&self, n: usize) {
        let mut s = self.lock();
        let created = wire::format_time(crate::store::now_ms() - 365 * 24 * 3600 * 1000);
        for _ in 0..n {
            let id = s.next_task;
            s.next_task += 1;
            s.tasks.insert(
                id,
                SimTask {
                    id,
                    number: format!("HX-{id:06}"),
                    stamp: uuid::Uuid::now_v7().to_string(),
                    body: wire::TaskAdd {
                        task_type_id: Some(1),
                        request_method_id: Some(1),
                        notes: Some("Заявка по телефону".into()),
                        ..Default::default()
                    },
                    status_id: 1,
                    created: created.clone(),
                    modified: created.clone(),
                    assigned: None,
                    completed: None,
                    closed: None,
                },
            );
        }
    }

    /// Forgets the calls seen so far.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    pub fn tasks(&self) -> Vec<SimTask> {
        self.lock().tasks.values().cloned().collect()
    }

    pub fn attachments(&self) -> Vec<SimAttachment> {
        self.lock().attachments.clone()
    }

    pub fn messages(&self) -> Vec<SimMessage> {
        self.lock().messages.clone()
    }

    /// Moves the task's last change `ms` into the past, as if it had
    /// happened that long before qrdesk looked.
    pub fn backdate(&self, task_id: i64, ms: i64) -> bool {
        let mut s = self.lock();
        let Some(task) = s.tasks.get_mut(&task_id) else {
            return false;
        };
        task.modified = wire::format_time(crate::store::now_ms() - ms);
        true
    }

    /// A dispatcher answers the customer in the task's external chat.
    pub fn staff_reply(&self, task_id: i64, text: &str) -> bool {
        let mut s = self.lock();
        let Some(task) = s.tasks.get_mut(&task_id) else {
            return false;
        };
        task.modified = now_text();
        let id = 7000 + s.messages.len() as i64 + 1;
        s.messages.push(SimMessage {
            id,
            task_id,
            created: now_text(),
            message: text.into(),
            is_external: true,
            by_staff: true,
            attachments: Vec::new(),
        });
        true
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Moves a task to a status (1 new, 2 in work, 3 done, 4 closed), stamping
    /// the assigned/completed/closed times as HubEx does.
    pub fn set_status(&self, task_id: i64, status_id: i64) -> bool {
        let mut s = self.lock();
        let Some(task) = s.tasks.get_mut(&task_id) else {
            return false;
        };
        task.status_id = status_id;
        let now = now_text();
        task.modified = now.clone();
        if status_id >= 2 && task.assigned.is_none() {
            task.assigned = Some(now.clone());
        }
        if status_id >= 3 && task.completed.is_none() {
            task.completed = Some(now.clone());
        }
        if status_id >= 4 && task.closed.is_none() {
            task.closed = Some(now);
        }
        true
    }

    /// The HubEx API under `/fsm` plus the `/__sim` control routes.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/AUTHZ/AccessTokens", post(access_token))
            .route("/ES/Districts", get(districts))
            .route("/ES/Locations", get(locations))
            .route("/ES/Companies", get(companies))
            .route("/ES/Assets", get(assets))
            .route("/EXPORT/Assets", get(export_assets))
            .route("/ES/Assets/{id}", get(asset))
            .route("/ES/Assets/{id}/districts", get(asset_districts))
            .route("/WORK/TaskTypes", get(task_types))
            .route("/WORK/RequestMethods", get(request_methods))
            .route("/WORK/TaskStatuses", get(task_statuses))
            .route("/SLA/Criticalities", get(criticalities))
            .route("/ADM/TenantMembers/anonymousUser", get(anonymous_user))
            .route("/WORK/Tasks", post(create_task).get(list_tasks))
            .route("/WORK/Tasks/{id}", get(get_task))
            .route("/WORK/Tasks/{id}/attachments", get(task_attachments))
            .route("/WORK/Tasks/{id}/conversations", get(conversations))
            .route("/WORK/Tasks/{id}/conversation", post(post_conversation))
            .route("/WORK/TaskStagingHistory", post(stage_move))
            .route(
                "/WORK/TaskAttachments/upload/fromForm",
                post(upload_attachment),
            )
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .layer(middleware::from_fn_with_state(self.clone(), gate));
        let control = Router::new()
            .route("/faults", post(control_fault).delete(control_clear))
            .route("/chaos", post(control_chaos))
            .route("/tasks", get(control_tasks))
            .route("/tasks/{id}/status/{status}", post(control_status))
            .route("/tasks/{id}/reply", post(control_reply))
            .route("/expire-tokens", post(control_expire))
            .route("/shape/{shape}", post(control_shape))
            .route("/calls", get(control_calls));
        Router::new()
            .nest("/fsm", api)
            .nest("/__sim", control)
            .with_state(self.clone())
    }

    /// Serves the simulator on `listener` until the process ends.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> SocketAddr {
        let addr = listener.local_addr().expect("bound listener");
        let app = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "HubEx simulator stopped");
            }
        });
        addr
    }
}

fn now_text() -> String {
    wire::format_time(crate::store::now_ms())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!([{ "traceIdentifier": "SIM", "code": code, "message": message }]);
    (status, Json(body)).into_response()
}

/// A response whose connection is closed before the answer is complete.
pub fn dropped() -> Response {
    let body = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated dropped connection",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::from_stream(body))
        .expect("static response")
}

/// The right (API.md §9) a call needs, where HubEx declares one.
fn required_right(method: &axum::http::Method, path: &str) -> Option<&'static str> {
    let get = method == axum::http::Method::GET;
    Some(match path {
        "/EXPORT/Assets" => "AssetsExport",
        "/WORK/Tasks" if get => "TasksList",
        "/WORK/Tasks" => "TaskAdd",
        "/WORK/TaskTypes" => "TaskTypesList",
        "/WORK/RequestMethods" => "RequestMethodsList",
        "/WORK/TaskStatuses" => "TaskStatusesList",
        "/SLA/Criticalities" => "CriticalitiesList",
        "/WORK/TaskAttachments/upload/fromForm" => "TaskAttachmentUpload",
        "/WORK/TaskStagingHistory" => "TaskStagingHistoryAdd",
        p if p.starts_with("/WORK/Tasks/") && p.ends_with("/conversations") => {
            "TaskConversationsList"
        }
        p if p.starts_with("/WORK/Tasks/") && p.ends_with("/conversation") => "TaskConversationAdd",
        p if p.starts_with("/WORK/Tasks/") && p.ends_with("/attachments") => "TaskAttachmentsList",
        p if p.starts_with("/WORK/Tasks/") => "TaskGet",
        _ => return None,
    })
}

/// Faults, auth and `X-Application-ID`, in front of every API route; also logs calls.
async fn gate(State(sim): State<Simulator>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().trim_start_matches("/fsm").to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let header_text = |h: &axum::http::HeaderMap, name: &str| -> Option<String> {
        h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let range = header_text(req.headers(), header::RANGE.as_str());
    let request_id = header_text(req.headers(), "x-request-id");

    let fault = {
        let mut s = sim.lock();
        let pos = s.faults.iter().position(|r| {
            (r.method.is_empty() || r.method.eq_ignore_ascii_case(method.as_str()))
                && (path == r.path || path.starts_with(&format!("{}/", r.path)))
        });
        pos.map(|i| {
            let rule = &mut s.faults[i];
            let fault = rule.fault.clone();
            rule.times = rule.times.saturating_sub(1);
            if rule.times == 0 {
                s.faults.remove(i);
            }
            fault
        })
        .or_else(|| {
            let (percent, kinds) = s.chaos.as_ref()?;
            if method != axum::http::Method::POST || kinds.is_empty() || path.starts_with("/AUTHZ")
            {
                return None;
            }
            let roll = u32::from_le_bytes(crate::domain::codes::random_bytes::<4>());
            (roll % 100 < *percent).then(|| kinds[(roll / 100) as usize % kinds.len()].clone())
        })
    };

    if fault.is_some() {
        sim.lock().played += 1;
    }
    let response = match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = error(status, "SimulatedFault", "injected by the simulator");
            if let Some(secs) = retry_after {
                r.headers_mut().insert(header::RETRY_AFTER, secs.into());
            }
            r
        }
        Some(Fault::Timeout { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            error(
                StatusCode::GATEWAY_TIMEOUT,
                "SimulatedTimeout",
                "injected by the simulator",
            )
        }
        Some(Fault::Drop) => dropped(),
        Some(Fault::CreatedThenDrop) => {
            let _ = authorised(&sim, req, next).await;
            dropped()
        }
        Some(Fault::CreatedThenHang { millis }) => {
            let _ = authorised(&sim, req, next).await;
            tokio::time::sleep(Duration::from_millis(millis)).await;
            dropped()
        }
        None => authorised(&sim, req, next).await,
    };
    sim.lock().calls.push(Call {
        method: method.to_string(),
        path,
        query,
        range,
        request_id,
        status: response.status().as_u16(),
        at_ms: crate::store::now_ms(),
    });
    response
}

/// Applications this tenant accepts in `X-Application-ID` (API.md §2: 3 or 5).
const APPLICATIONS: [u32; 2] = [3, 5];

async fn authorised(sim: &Simulator, req: Request, next: Next) -> Response {
    let is_exchange = req.uri().path().ends_with("/AUTHZ/AccessTokens");
    if !is_exchange {
        let app = req
            .headers()
            .get("x-application-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        match app {
            None => {
                return error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "X-Application-ID is required",
                )
            }
            Some(a) if !APPLICATIONS.contains(&a) => {
                return error(
                    StatusCode::FORBIDDEN,
                    "ApplicationNotAllowed",
                    "this X-Application-ID is not allowed",
                )
            }
            Some(_) => {}
        }
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let (valid, denied) = {
            let s = sim.lock();
            let valid = s.tokens.get(token).is_some_and(|exp| Instant::now() < *exp);
            let path = req.uri().path().trim_start_matches("/fsm");
            let denied = required_right(req.method(), path).filter(|r| s.denied.contains(*r));
            (valid, denied)
        };
        if !valid {
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "access token missing or expired",
            );
        }
        if let Some(right) = denied {
            return error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                &format!("the role has no {right} right"),
            );
        }
    }
    next.run(req).await
}

async fn access_token(
    State(sim): State<Simulator>,
    body: Option<Json<wire::AccessTokenRequest>>,
) -> Response {
    let mut s = sim.lock();
    match body {
        Some(Json(b)) if b.service_token == s.service_token => {
            let token =
                crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<20>());
            let lifetime = s.token_lifetime;
            s.tokens.insert(token.clone(), Instant::now() + lifetime);
            let body = json!({ "access_token": token, "expires_in": lifetime.as_secs() });
            Json(restyle(s.shape, body)).into_response()
        }
        _ => error(
            StatusCode::UNAUTHORIZED,
            "InvalidServiceToken",
            "service token is not valid",
        ),
    }
}

/// How HubEx documents a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// An object keyed by id; `id_inside`: the items repeat their id.
    Keyed { id_inside: bool },
    /// An array whose items carry their id (or none at all).
    Array,
}

/// A single answer in the simulator's shape: PascalCase and an unknown
/// field in the other shape, as documented otherwise.
fn restyle(shape: Shape, mut v: Value) -> Value {
    if shape == Shape::Other {
        if let Value::Object(map) = &mut v {
            map.insert("isFavourite".into(), json!(false));
            map.insert("counters".into(), json!({ "unread": 0 }));
            for coordinate in map.values_mut().filter_map(|x| x.get_mut("coordinate")) {
                *coordinate = coordinate_object(coordinate);
            }
            if let Some(c) = map.get_mut("coordinate") {
                *c = coordinate_object(c);
            }
        }
        super::read::pascal(&mut v);
    }
    v
}

/// `"59.9:30.3"` → `{"lat": 59.9, "lng": 30.3}`.
fn coordinate_object(v: &Value) -> Value {
    let Some((lat, lng)) = v.as_str().and_then(|s| s.split_once(':')) else {
        return v.clone();
    };
    json!({ "lat": lat.parse::<f64>().unwrap_or(0.0), "lng": lng.parse::<f64>().unwrap_or(0.0) })
}

/// The 1-based inclusive `Range: items=FROM-TILL`, if sent.
fn requested_range(headers: &HeaderMap) -> Option<(usize, usize)> {
    headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("items="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| {
            Some((
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ))
        })
}

/// Rows HubEx returns for a list read without `Range`.
const UNRANGED_CAP: usize = 10_000;

/// Pages `ids` by `Range` (without it: the first 10,000, silently, as
/// HubEx does), renders only that page with `render`, and writes it in the
/// shape of `kind` and the simulator's [`Shape`].
fn paged_list(
    s: &SimState,
    headers: &HeaderMap,
    kind: ListKind,
    ids: Vec<i64>,
    render: impl Fn(i64) -> Value,
) -> Response {
    let total = ids.len();
    let requested = requested_range(headers);
    let (from, till) = match requested {
        Some((a, b)) => (a.max(1), b.min(a.max(1) + s.max_page - 1)),
        None => (1, UNRANGED_CAP),
    };
    let till = till.min(total);
    let page: &[i64] = if from > total {
        &[]
    } else {
        &ids[from - 1..till]
    };
    let keyed = match (kind, s.shape) {
        (ListKind::Keyed { .. }, Shape::Documented) | (ListKind::Array, Shape::Other) => true,
        (ListKind::Keyed { .. }, Shape::Other) | (ListKind::Array, Shape::Documented) => false,
    };
    let id_inside = match (kind, s.shape) {
        (ListKind::Keyed { id_inside }, Shape::Documented) => id_inside,
        (ListKind::Keyed { .. }, Shape::Other) => true,
        (ListKind::Array, Shape::Documented) => true,
        (ListKind::Array, Shape::Other) => false,
    };
    let rows = page.iter().map(|&id| {
        let mut v = render(id);
        if let Value::Object(map) = &mut v {
            if id_inside {
                if !map.contains_key("id") && id > 0 {
                    map.insert("id".into(), json!(id));
                }
            } else {
                map.remove("id");
            }
        }
        (id, restyle(s.shape, v))
    });
    let body = if keyed {
        Value::Object(
            rows.map(|(id, v)| (id.to_string(), v))
                .collect::<Map<_, _>>(),
        )
    } else {
        Value::Array(rows.map(|(_, v)| v).collect())
    };
    let partial = requested.is_some() && (from > 1 || till < total);
    if partial {
        let range = format!("items={from}-{till}/{total}");
        (
            StatusCode::PARTIAL_CONTENT,
            [(header::CONTENT_RANGE, range)],
            Json(body),
        )
            .into_response()
    } else {
        Json(body).into_response()
    }
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("serializable")
}

async fn districts(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let t = &s.tenant;
    let ids = t.districts.iter().map(|d| d.id).collect();
    paged_list(&s, &headers, ListKind::Array, ids, |id| {
        let d = t.districts.iter().find(|d| d.id == id).expect("listed");
        let count = t
            .assets
            .iter()
            .filter(|a| t.district_of_asset(a) == Some(id))
            .count();
        to_value(wire::District {
            id: Some(id),
            name: Some(d.name.clone()),
            parent_id: d.parent_id,
            assets_count: Some(count as i64),
            ..Default::default()
        })
    })
}

fn wire_location(l: &demo::SimLocation) -> wire::Location {
    wire::Location {
        id: Some(l.id),
        address: Some(l.address.clone()),
        description: Some(l.description.clone()),
        coordinate: Some(json!(l.coordinate)),
    }
}

async fn locations(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let t = &s.tenant;
    let ids = t.locations.iter().map(|l| l.id).collect();
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: true },
        ids,
        |id| to_value(wire_location(t.location(id).expect("listed"))),
    )
}

async fn companies(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let t = &s.tenant;
    let ids = t.companies.iter().map(|c| c.id).collect();
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: true },
        ids,
        |id| {
            let c = t.companies.iter().find(|c| c.id == id).expect("listed");
            to_value(wire::Company {
                id: Some(c.id),
                name: Some(c.name.clone()),
            })
        },
    )
}

fn wire_asset(t: &demo::Tenant, a: &demo::DemoAsset) -> wire::Asset {
    let company = t.companies.iter().find(|c| c.id == a.company_id);
    wire::Asset {
        id: Some(a.id),
        name: Some(a.name.clone()),
        serial_number: Some(a.serial.clone()),
        inventory_number: Some(a.inventory.clone()),
        company: company.map(|c| wire::IdRef {
            id: Some(c.id),
            name: Some(c.name.clone()),
        }),
        location: t.location(a.location_id).map(wire_location),
        ..Default::default()
    }
}

/// Assets, filtered by `districtID` when `honour` says so.
fn asset_ids(s: &SimState, q: &[(String, String)], honour_district: bool) -> Vec<i64> {
    let district: Option<i64> = honour_district
        .then(|| param(q, "districtID"))
        .flatten()
        .and_then(|v| v.parse().ok());
    s.tenant
        .assets
        .iter()
        .filter(|a| district.is_none_or(|d| s.tenant.district_of_asset(a) == Some(d)))
        .map(|a| a.id)
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn assets(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let s = sim.lock();
    let ids = asset_ids(&s, &q, s.asset_district_filter);
    let t = &s.tenant;
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: true },
        ids,
        |id| to_value(wire_asset(t, t.asset(id).expect("listed"))),
    )
}

/// `GET /EXPORT/Assets` (right `AssetsExport`): `districtID` is documented here.
async fn export_assets(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let s = sim.lock();
    let ids = asset_ids(&s, &q, !s.ignored_filters.contains("districtID"));
    let t = &s.tenant;
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: true },
        ids,
        |id| {
            let mut v = to_value(wire_asset(t, t.asset(id).expect("listed")));
            v["erpID"] = json!(format!("ERP-{id}"));
            v
        },
    )
}

async fn asset(State(sim): State<Simulator>, Path(id): Path<i64>) -> Response {
    let s = sim.lock();
    match s.tenant.asset(id) {
        Some(a) => Json(restyle(s.shape, to_value(wire_asset(&s.tenant, a)))).into_response(),
        None => error(StatusCode::NOT_FOUND, "AssetNotFound", "asset not found"),
    }
}

/// `[{name, parentID}]`, without an id, as the stored schema says.
async fn asset_districts(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let s = sim.lock();
    let Some(a) = s.tenant.asset(id) else {
        return error(StatusCode::NOT_FOUND, "AssetNotFound", "asset not found");
    };
    let ids: Vec<i64> = s.tenant.district_of_asset(a).into_iter().collect();
    let t = &s.tenant;
    paged_list(&s, &headers, ListKind::Array, ids, |id| {
        let d = t.districts.iter().find(|d| d.id == id).expect("listed");
        json!({ "name": d.name, "parentID": d.parent_id })
    })
}

fn dictionary_list(
    s: &SimState,
    headers: &HeaderMap,
    rows: Vec<(i64, &str, Option<&str>, Option<bool>)>,
) -> Response {
    let ids = rows.iter().map(|r| r.0).collect();
    paged_list(
        s,
        headers,
        ListKind::Keyed { id_inside: false },
        ids,
        |id| {
            let &(_, name, color, is_default) = rows.iter().find(|r| r.0 == id).expect("listed");
            to_value(wire::Dictionary {
                name: Some(name.into()),
                is_default,
                color: color.map(Into::into),
                sort_order: Some(id),
            })
        },
    )
}

async fn task_types(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let rows = s
        .tenant
        .task_types
        .iter()
        .map(|&(id, n, d)| (id, n, None, Some(d)))
        .collect();
    dictionary_list(&s, &headers, rows)
}

async fn request_methods(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let rows = s
        .tenant
        .request_methods
        .iter()
        .map(|&(id, n)| (id, n, None, None))
        .collect();
    dictionary_list(&s, &headers, rows)
}

async fn task_statuses(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let rows = s
        .tenant
        .statuses
        .iter()
        .map(|&(id, n, c)| (id, n, Some(c), None))
        .collect();
    dictionary_list(&s, &headers, rows)
}

async fn criticalities(State(sim): State<Simulator>, headers: HeaderMap) -> Response {
    let s = sim.lock();
    let rows = s
        .tenant
        .criticalities
        .iter()
        .map(|&(id, n, c, d)| (id, n, Some(c), Some(d)))
        .collect();
    dictionary_list(&s, &headers, rows)
}

async fn anonymous_user(State(sim): State<Simulator>) -> Response {
    let s = sim.lock();
    if !s.anonymous_enabled {
        return StatusCode::NO_CONTENT.into_response();
    }
    let body = to_value(wire::AnonymousUser {
        id: Some(123),
        account_id: Some(456),
        user_id: Some(demo::ANONYMOUS_USER_ID),
        user: None,
        description: Some("Анонимный пользователь".into()),
    });
    Json(restyle(s.shape, body)).into_response()
}

async fn control_reply(
    State(sim): State<Simulator>,
    Path(id): Path<i64>,
    text: String,
) -> StatusCode {
    if sim.staff_reply(id, &text) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn control_fault(State(sim): State<Simulator>, Json(rule): Json<FaultRule>) -> StatusCode {
    sim.inject(rule);
    StatusCode::NO_CONTENT
}

/// `{"percent": 30, "faults": [{"kind": "created_then_drop"}, …]}`: that share
/// of task-system writes fails, each with one of `faults` at random.
#[derive(Deserialize)]
struct ChaosRule {
    percent: u32,
    faults: Vec<Fault>,
}

async fn control_chaos(State(sim): State<Simulator>, Json(rule): Json<ChaosRule>) -> StatusCode {
    sim.chaos(rule.percent, rule.faults);
    StatusCode::NO_CONTENT
}

async fn control_clear(State(sim): State<Simulator>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn control_tasks(State(sim): State<Simulator>) -> Json<Vec<SimTask>> {
    Json(sim.tasks())
}

async fn control_status(
    State(sim): State<Simulator>,
    Path((id, status)): Path<(i64, i64)>,
) -> StatusCode {
    if sim.set_status(id, status) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn control_expire(State(sim): State<Simulator>) -> StatusCode {
    sim.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn control_shape(State(sim): State<Simulator>, Path(shape): Path<String>) -> StatusCode {
    match shape.parse() {
        Ok(shape) => {
            sim.set_shape(shape);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn control_calls(State(sim): State<Simulator>) -> Json<Vec<Call>> {
    Json(sim.calls())
}
