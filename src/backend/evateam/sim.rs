//! An in-process EvaTeam installation: the JSON-RPC methods qrdesk uses,
//! checked the way EvaTeam checks them (the bearer token, `jsonrpc` 2.2,
//! only known kwargs for `CmfTask.create`, required fields), with errors
//! in the body under HTTP 200 as EvaTeam sends them, 401 and 500 as in its
//! documents, and the same injectable faults as the HubEx simulator.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::backend::faults;
pub use crate::backend::faults::Fault;

/// The token the simulator accepts, and the demo project.
pub const TOKEN: &str = "sim-evateam-api-token";
pub const PROJECT: &str = "SUP";
/// The installation's users: login, e-mail, name.
const PEOPLE: [(&str, &str, &str); 2] = [
    ("ivanova", "ivanova@example.ru", "Ольга Иванова"),
    ("petrov", "petrov@example.ru", "Павел Петров"),
];

#[derive(Debug, Clone, Serialize)]
pub struct SimTask {
    pub id: String,
    pub code: String,
    pub name: String,
    /// HTML, as sent.
    pub text: String,
    pub project: String,
    pub lists: Vec<String>,
    pub responsible: Option<String>,
    pub status: String,
    pub created_ms: i64,
    pub modified_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimComment {
    pub id: String,
    pub parent: String,
    pub text: String,
    pub author: String,
    /// Written through the API (by qrdesk), not by staff in EvaTeam.
    pub by_api: bool,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimAttachment {
    pub id: String,
    pub parent: String,
    pub name: String,
    /// 0 until the file is uploaded to the attachment's URL.
    pub size: usize,
}

#[derive(Default)]
struct Installation {
    tasks: Vec<SimTask>,
    comments: Vec<SimComment>,
    attachments: Vec<SimAttachment>,
    faults: faults::Rules,
    calls: Vec<String>,
    next: u64,
}

#[derive(Clone, Default)]
pub struct Simulator {
    inner: Arc<Mutex<Installation>>,
}

fn now_ms() -> i64 {
    crate::store::now_ms()
}

fn iso(ms: i64) -> String {
    format!("{}+00:00", crate::backend::hubex::types::format_time(ms))
}

/// An application error: HTTP 200 with `error` in the body.
fn app_error(callid: &Value, code: i64, message: &str) -> Response {
    Json(json!({ "jsonrpc": "2.2", "error": { "code": code, "message": message }, "callid": callid }))
        .into_response()
}

fn ok(callid: &Value, result: Value) -> Response {
    Json(json!({ "jsonrpc": "2.2", "result": result, "meta": {}, "callid": callid }))
        .into_response()
}

/// `["field", "==", value]`, or a list of such, as (field, op, value) triples.
fn conditions(filter: Option<&Value>) -> Vec<(String, String, Value)> {
    let Some(Value::Array(a)) = filter else {
        return Vec::new();
    };
    if a.first().is_some_and(Value::is_string) {
        let field = a[0].as_str().unwrap_or("").to_owned();
        let op = a.get(1).and_then(Value::as_str).unwrap_or("==").to_owned();
        return vec![(field, op, a.get(2).cloned().unwrap_or(Value::Null))];
    }
    a.iter().flat_map(|c| conditions(Some(c))).collect()
}

fn matches(obj: &Value, conds: &[(String, String, Value)]) -> bool {
    conds.iter().all(|(f, op, v)| {
        let have = obj
            .get(f.as_str())
            .or_else(|| obj.get(f.trim_end_matches("_id")));
        let have_text = have.and_then(Value::as_str).unwrap_or("");
        match op.as_str() {
            "==" => have == Some(v) || v.as_str() == Some(have_text),
            "IN" | "in" => v
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(have_text))),
            "LIKE" | "like" => v
                .as_str()
                .is_some_and(|p| have_text.contains(p.trim_matches('%'))),
            _ => true,
        }
    })
}

fn slice<T: Clone>(all: Vec<T>, kwargs: &Value) -> Vec<T> {
    let s = kwargs.get("slice").and_then(Value::as_array);
    let from = s
        .and_then(|s| s.first())
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let to = s
        .and_then(|s| s.get(1))
        .and_then(Value::as_u64)
        .unwrap_or(100) as usize;
    all.into_iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .collect()
}

impl Simulator {
    pub fn new() -> Simulator {
        Simulator::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Installation> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `times` calls of `method` (empty: any) get `fault`.
    pub fn fail(&self, method: &str, fault: Fault, times: u32) {
        self.lock().faults.push(method, fault, times);
    }

    /// From now on `percent` % of writes get one of `kinds`, at random.
    pub fn chaos(&self, percent: u32, kinds: Vec<Fault>) {
        self.lock().faults.chaos(percent, kinds);
    }

    /// Faults given out so far.
    pub fn faults_played(&self) -> usize {
        self.lock().faults.played()
    }

    pub fn tasks(&self) -> Vec<SimTask> {
        self.lock().tasks.clone()
    }

    pub fn comments(&self) -> Vec<SimComment> {
        self.lock().comments.clone()
    }

    pub fn attachments(&self) -> Vec<SimAttachment> {
        self.lock().attachments.clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Sets a task's `cache_status_type` (OPEN, IN_PROGRESS, IN_REVIEW, CLOSED).
    pub fn set_status(&self, code_or_id: &str, status: &str) -> bool {
        let mut s = self.lock();
        let Some(t) = s
            .tasks
            .iter_mut()
            .find(|t| t.id == code_or_id || t.code == code_or_id)
        else {
            return false;
        };
        t.status = status.to_owned();
        t.modified_ms = now_ms();
        true
    }

    /// A comment written by staff in EvaTeam (HTML, as its editor writes it).
    pub fn staff_reply(&self, code_or_id: &str, text: &str) -> bool {
        let mut s = self.lock();
        let Some(parent) = s
            .tasks
            .iter_mut()
            .find(|t| t.id == code_or_id || t.code == code_or_id)
            .map(|t| {
                t.modified_ms = now_ms();
                t.id.clone()
            })
        else {
            return false;
        };
        let id = s.id("CmfComment");
        s.comments.push(SimComment {
            id,
            parent,
            text: format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;")),
            author: "Ольга Диспетчер".into(),
            by_api: false,
            at_ms: now_ms(),
        });
        true
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/", post(api))
            .route("/upload/{id}", post(upload))
            .route("/__sim/tasks", get(control_tasks))
            .route("/__sim/tasks/{code}/status/{status}", post(control_status))
            .route("/__sim/tasks/{code}/reply", post(control_reply))
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(self.clone())
    }

    pub fn spawn(&self, listener: tokio::net::TcpListener) -> SocketAddr {
        faults::spawn(self.router(), listener, "EvaTeam")
    }

    fn handle(&self, method: &str, callid: &Value, k: &Value) -> Response {
        let mut s = self.lock();
        let s = &mut *s;
        let tasks_json = |tasks: &[SimTask]| -> Vec<Value> {
            tasks
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id, "code": t.code, "name": t.name, "text": t.text,
                        "project": t.project, "cache_status_type": t.status,
                        "cmf_created_at": iso(t.created_ms), "cmf_modified_at": iso(t.modified_ms),
                    })
                })
                .collect()
        };
        match method {
            "CmfProject.get" => {
                let conds = conditions(k.get("filter"));
                let project =
                    json!({ "id": "CmfProject:demo", "code": PROJECT, "name": "Сервисная служба" });
                ok(
                    callid,
                    if matches(&project, &conds) {
                        project
                    } else {
                        Value::Null
                    },
                )
            }
            "CmfPerson.get" => {
                let conds = conditions(k.get("filter"));
                let found = PEOPLE
                    .iter()
                    .map(|(login, email, name)| json!({ "id": format!("CmfPerson:{login}"), "login": login, "email": email, "name": name }))
                    .find(|p| matches(p, &conds));
                ok(callid, found.unwrap_or(Value::Null))
            }
            "CmfTask.create" => {
                const KNOWN: [&str; 10] = [
                    "name",
                    "text",
                    "parent",
                    "project",
                    "lists",
                    "responsible",
                    "priority",
                    "deadline",
                    "tags",
                    "ext_id",
                ];
                if let Some(unknown) = k
                    .as_object()
                    .and_then(|o| o.keys().find(|key| !KNOWN.contains(&key.as_str())))
                {
                    return app_error(callid, -32602, &format!("additionalProperties: {unknown}"));
                }
                let name = k.get("name").and_then(Value::as_str).unwrap_or("").trim();
                if name.is_empty() {
                    return app_error(callid, -32602, "name: обязательное поле");
                }
                let project = k
                    .get("project")
                    .or(k.get("parent"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if project != PROJECT && project != "CmfProject:demo" {
                    return app_error(callid, 404, &format!("Проект {project} не найден"));
                }
                if let Some(r) = k.get("responsible").and_then(Value::as_str) {
                    if !PEOPLE
                        .iter()
                        .any(|(login, email, _)| *login == r || *email == r)
                    {
                        return app_error(
                            callid,
                            404,
                            &format!("responsible: пользователь {r} не найден"),
                        );
                    }
                }
                let id = s.id("CmfTask");
                let code = format!("{PROJECT}-{:06}", s.tasks.len() + 1);
                let now = now_ms();
                s.tasks.push(SimTask {
                    id: id.clone(),
                    code,
                    name: name.to_owned(),
                    text: k
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    project: PROJECT.into(),
                    lists: k
                        .get("lists")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    responsible: k
                        .get("responsible")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    status: "OPEN".into(),
                    created_ms: now,
                    modified_ms: now,
                });
                ok(callid, json!(id))
            }
            "CmfTask.get" => {
                let conds = conditions(k.get("filter"));
                let all = tasks_json(&s.tasks);
                ok(
                    callid,
                    all.into_iter()
                        .find(|t| matches(t, &conds))
                        .unwrap_or(Value::Null),
                )
            }
            "CmfTask.list" => {
                let conds = conditions(k.get("filter"));
                let all: Vec<Value> = tasks_json(&s.tasks)
                    .into_iter()
                    .filter(|t| matches(t, &conds))
                    .collect();
                ok(callid, json!(slice(all, k)))
            }
            "CmfComment.create" => {
                let parent = k
                    .get("parent")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let text = k
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if !s.tasks.iter().any(|t| t.id == parent) {
                    return app_error(callid, 404, "parent: задача не найдена");
                }
                if text.trim().is_empty() {
                    return app_error(callid, -32602, "text: обязательное поле");
                }
                let id = s.id("CmfComment");
                s.comments.push(SimComment {
                    id: id.clone(),
                    parent: parent.clone(),
                    text,
                    author: "API qrdesk".into(),
                    by_api: true,
                    at_ms: now_ms(),
                });
                if let Some(t) = s.tasks.iter_mut().find(|t| t.id == parent) {
                    t.modified_ms = now_ms();
                }
                ok(callid, json!(id))
            }
            "CmfComment.list" => {
                let conds = conditions(k.get("filter"));
                let all: Vec<Value> = s
                    .comments
                    .iter()
                    .map(|c| {
                        json!({ "id": c.id, "parent_id": c.parent, "text": c.text,
                        "cmf_created_at": iso(c.at_ms), "cmf_author": { "name": c.author } })
                    })
                    .filter(|c| matches(c, &conds))
                    .collect();
                ok(callid, json!(slice(all, k)))
            }
            "CmfAttachment.create" => {
                let parent = k
                    .get("parent")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let name = k
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if !s.tasks.iter().any(|t| t.id == parent) || name.is_empty() {
                    return app_error(callid, -32602, "name и parent обязательны");
                }
                let id = s.id("CmfAttachment");
                s.attachments.push(SimAttachment {
                    id: id.clone(),
                    parent,
                    name,
                    size: 0,
                });
                ok(callid, json!(id))
            }
            "CmfAttachment.get" => {
                let conds = conditions(k.get("filter"));
                let found = s
                    .attachments
                    .iter()
                    .map(|a| json!({ "id": a.id, "name": a.name, "url": format!("/upload/{}", a.id.trim_start_matches("CmfAttachment:")) }))
                    .find(|a| matches(a, &conds));
                ok(callid, found.unwrap_or(Value::Null))
            }
            "CmfAttachment.list" => {
                let conds = conditions(k.get("filter"));
                let all: Vec<Value> = s
                    .attachments
                    .iter()
                    .map(|a| json!({ "id": a.id, "parent_id": a.parent, "name": a.name, "size": a.size }))
                    .filter(|a| matches(a, &conds))
                    .collect();
                ok(callid, json!(slice(all, k)))
            }
            _ => app_error(callid, -32601, &format!("Method not found: {method}")),
        }
    }
}

impl Installation {
    fn id(&mut self, kind: &str) -> String {
        self.next += 1;
        format!(
            "{kind}:0190b8a0-{:04x}-7000-8000-{:012x}",
            self.next % 0xffff,
            self.next
        )
    }
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(TOKEN)
}

#[derive(Deserialize)]
struct MethodQuery {
    #[serde(default)]
    m: String,
}

async fn api(
    State(sim): State<Simulator>,
    Query(q): Query<MethodQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let callid = req.get("callid").cloned().unwrap_or(Value::Null);
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or(q.m.as_str())
        .to_owned();
    sim.lock().calls.push(method.clone());
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "code": 401, "message": "Требуется авторизация" } })),
        )
            .into_response();
    }
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.2") {
        return app_error(&callid, -32600, "jsonrpc: ожидается 2.2");
    }
    let fault = sim.lock().faults.take(&method, method.ends_with(".create"));
    let kwargs = req.get("kwargs").cloned().unwrap_or_else(|| json!({}));
    let error = |status: u16, _| {
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(json!({ "error": { "code": status, "message": "Внутренняя ошибка" } })),
        )
            .into_response()
    };
    faults::play(fault, error, || sim.handle(&method, &callid, &kwargs)).await
}

/// The attachment's upload URL: a multipart POST with the file as `file`.
async fn upload(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut size = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("file") {
            size = field.bytes().await.ok().map(|b| b.len());
        }
    }
    let Some(size) = size.filter(|n| *n > 0) else {
        return (StatusCode::BAD_REQUEST, "no file").into_response();
    };
    let full = format!("CmfAttachment:{id}");
    let fault = sim.lock().faults.take("upload", true);
    let error = |status: u16, _| {
        StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response()
    };
    faults::play(fault, error, || {
        let mut s = sim.lock();
        match s.attachments.iter_mut().find(|a| a.id == full) {
            Some(a) => {
                a.size = size;
                StatusCode::OK.into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    })
    .await
}

async fn control_tasks(State(sim): State<Simulator>) -> Json<Value> {
    Json(
        json!({ "tasks": sim.tasks(), "comments": sim.comments(), "attachments": sim.attachments() }),
    )
}

async fn control_status(
    State(sim): State<Simulator>,
    Path((code, status)): Path<(String, String)>,
) -> StatusCode {
    if sim.set_status(&code, &status) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn control_reply(
    State(sim): State<Simulator>,
    Path(code): Path<String>,
    text: String,
) -> StatusCode {
    if sim.staff_reply(&code, &text) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
