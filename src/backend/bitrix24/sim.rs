//! An in-process Bitrix24 portal: the REST methods qrdesk uses, checked the
//! way the portal checks them (the webhook's user and secret, its scopes,
//! required fields, the leaky-bucket limit answering `503
//! QUERY_LIMIT_EXCEEDED`, errors as `{"error", "error_description"}`), and
//! the same injectable faults as the HubEx simulator.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use super::client::int;
use crate::backend::faults;
pub use crate::backend::faults::Fault;

/// The webhook user and secret the simulator accepts.
pub const USER_ID: i64 = 1;
const SECRET: &str = "simwebhooksecret";

#[derive(Debug, Clone, Serialize)]
pub struct SimTask {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub responsible_id: i64,
    pub group_id: i64,
    pub created_by: i64,
    pub auditors: Vec<i64>,
    pub xml_id: String,
    pub status: i64,
    pub created_ms: i64,
    pub changed_ms: i64,
    pub activity_ms: i64,
    pub status_changed_ms: i64,
    pub closed_ms: Option<i64>,
    pub started_ms: Option<i64>,
    /// Drive file ids attached to the task.
    pub files: Vec<i64>,
    pub chat_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimComment {
    pub id: i64,
    pub task_id: i64,
    pub author_id: i64,
    pub text: String,
    pub files: Vec<i64>,
    pub at_ms: i64,
    /// Posted to the task chat rather than with the old comment methods.
    pub chat: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimFile {
    pub id: i64,
    pub name: String,
    pub folder_id: i64,
    pub size: usize,
}

/// One call as the portal saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub method: String,
    pub status: u16,
    pub at_ms: i64,
}

struct Portal {
    users: Vec<(i64, &'static str, bool)>,
    scopes: Vec<&'static str>,
    tasks: Vec<SimTask>,
    comments: Vec<SimComment>,
    files: Vec<SimFile>,
    next_id: i64,
    /// The leaky bucket: its level, when it was last drained, its drain
    /// per second and its size.
    bucket: (f64, Instant),
    drain_per_sec: f64,
    bucket_size: f64,
    faults: faults::Rules,
    calls: Vec<Call>,
    /// The old comment methods answer as on portals where they are frozen.
    comments_frozen: bool,
    /// `tasks.task.list` ignores an `XML_ID` filter (it is not documented).
    ignore_xml_filter: bool,
}

const ROOT_FOLDER: i64 = 9001;
const CHAT_SEND: &str = "tasks.task.chat.message.send";

#[derive(Clone)]
pub struct Simulator {
    portal: Arc<Mutex<Portal>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator::new()
    }
}

fn now_ms() -> i64 {
    crate::store::now_ms()
}

fn iso(ms: i64) -> String {
    // Moscow time, as a Russian portal answers.
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::macros::offset!(+3));
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]+03:00"
    ))
    .unwrap_or_default()
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn answer(result: Value) -> Response {
    Json(json!({ "result": result, "time": { "start": now_ms() as f64 / 1000.0 } })).into_response()
}

/// The method needs this scope.
fn scope_of(method: &str) -> &'static str {
    if method.starts_with("disk.") {
        "disk"
    } else if method.starts_with("user.") {
        "user"
    } else if method.starts_with("im.") {
        "im"
    } else {
        "task"
    }
}

impl Simulator {
    pub fn new() -> Simulator {
        Simulator {
            portal: Arc::new(Mutex::new(Portal {
                users: vec![
                    (USER_ID, "Администратор портала", true),
                    (2, "Диспетчер Иванова", true),
                    (3, "Инженер Петров", true),
                    (4, "Уволенный Сидоров", false),
                ],
                scopes: vec!["task", "disk", "user", "im"],
                tasks: Vec::new(),
                comments: Vec::new(),
                files: Vec::new(),
                next_id: 100,
                bucket: (0.0, Instant::now()),
                drain_per_sec: 2.0,
                bucket_size: 50.0,
                faults: faults::Rules::default(),
                calls: Vec::new(),
                comments_frozen: false,
                ignore_xml_filter: true,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Portal> {
        self.portal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The webhook URL for a simulator listening at `addr`.
    pub fn webhook_url(addr: SocketAddr) -> String {
        format!("http://{addr}/rest/{USER_ID}/{SECRET}/")
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

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The leaky bucket's drain per second and size (2 and 50 on a cloud portal).
    pub fn set_rate_limit(&self, drain_per_sec: f64, size: f64) {
        let mut p = self.lock();
        p.drain_per_sec = drain_per_sec;
        p.bucket_size = size;
    }

    /// Takes a scope away from the webhook (`task`, `disk`, `user`).
    pub fn revoke_scope(&self, scope: &str) {
        self.lock().scopes.retain(|s| *s != scope);
    }

    /// Answers the old comment methods as a portal where they are frozen.
    pub fn freeze_old_comments(&self) {
        self.lock().comments_frozen = true;
    }

    pub fn tasks(&self) -> Vec<SimTask> {
        self.lock().tasks.clone()
    }

    pub fn comments(&self) -> Vec<SimComment> {
        self.lock().comments.clone()
    }

    pub fn files(&self) -> Vec<SimFile> {
        self.lock().files.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Moves a task to a status, as an employee would.
    pub fn set_status(&self, task_id: i64, status: i64) -> bool {
        let mut p = self.lock();
        let now = now_ms();
        let Some(t) = p.tasks.iter_mut().find(|t| t.id == task_id) else {
            return false;
        };
        t.status = status;
        t.status_changed_ms = now;
        t.changed_ms = now;
        if status == 3 && t.started_ms.is_none() {
            t.started_ms = Some(now);
        }
        t.closed_ms = (status == 5).then_some(now);
        true
    }

    /// An employee's comment on a task.
    pub fn staff_reply(&self, task_id: i64, text: &str) -> bool {
        let mut p = self.lock();
        if !p.tasks.iter().any(|t| t.id == task_id) {
            return false;
        }
        let chat = p.comments_frozen;
        add_comment(&mut p, task_id, 3, text, Vec::new(), chat);
        true
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/rest/{user}/{secret}/{method}", post(rest).get(rest))
            .route("/rest/api/{user}/{secret}/{method}", post(rest_v3))
            .route("/__sim/tasks", get(control_tasks))
            .route("/__sim/tasks/{id}/status/{status}", post(control_status))
            .route("/__sim/tasks/{id}/reply", post(control_reply))
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(self.clone())
    }

    /// Serves the simulator on `listener` until the process ends.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> SocketAddr {
        faults::spawn(self.router(), listener, "Bitrix24")
    }

    /// Auth, scope, rate limit and faults around one method call.
    async fn serve(&self, user: &str, secret: &str, method: &str, body: &[u8]) -> Response {
        let method = method.trim_end_matches(".json").to_owned();
        let params: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => {
                    return self.log(
                        &method,
                        error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "Invalid JSON"),
                    )
                }
            }
        };
        let refused = {
            let mut p = self.lock();
            let (level, at) = p.bucket;
            let drained = (level - at.elapsed().as_secs_f64() * p.drain_per_sec).max(0.0);
            if user != USER_ID.to_string() || secret != SECRET {
                Some(error(
                    StatusCode::UNAUTHORIZED,
                    "NO_AUTH_FOUND",
                    "Wrong authorization data",
                ))
            } else if drained + 1.0 > p.bucket_size {
                p.bucket = (drained, Instant::now());
                Some(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "QUERY_LIMIT_EXCEEDED",
                    "Too many requests",
                ))
            } else {
                p.bucket = (drained + 1.0, Instant::now());
                if !p.scopes.contains(&scope_of(&method)) {
                    Some(error(
                        StatusCode::UNAUTHORIZED,
                        "insufficient_scope",
                        "The request requires higher privileges than provided by the webhook token",
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(r) = refused {
            return self.log(&method, r);
        }
        let write = [".add", ".attach", ".uploadfile", ".send", ".renew"]
            .iter()
            .any(|w| method.ends_with(w));
        let fault = self.lock().faults.take(&method, write);
        let error = |status: u16, _| {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match status {
                503 => error(code, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
                504 => error(code, "OPERATION_TIME_LIMIT", "Timeout"),
                _ => error(code, "INTERNAL_SERVER_ERROR", "Internal server error"),
            }
        };
        let response = faults::play(fault, error, || self.handle(&method, &params)).await;
        self.log(&method, response)
    }

    fn log(&self, method: &str, r: Response) -> Response {
        self.lock().calls.push(Call {
            method: method.to_owned(),
            status: r.status().as_u16(),
            at_ms: now_ms(),
        });
        r
    }

    fn handle(&self, method: &str, p: &Value) -> Response {
        let mut portal = self.lock();
        let portal = &mut *portal;
        let bad = |text: &str| error(StatusCode::BAD_REQUEST, "ERROR_CORE", text);
        match method {
            "user.current" => answer(
                json!({ "ID": USER_ID.to_string(), "NAME": "Администратор", "LAST_NAME": "портала", "ACTIVE": true }),
            ),
            "user.get" => {
                let id = int(p.get("ID").or(p.get("id")));
                let users: Vec<Value> = portal
                    .users
                    .iter()
                    .filter(|u| id.is_none_or(|id| id == u.0))
                    .map(|u| json!({ "ID": u.0.to_string(), "NAME": u.1, "ACTIVE": u.2 }))
                    .collect();
                answer(json!(users))
            }
            "tasks.task.add" => {
                let f = p.get("fields").cloned().unwrap_or_default();
                let title = f.get("TITLE").and_then(Value::as_str).unwrap_or("").trim();
                if title.is_empty() {
                    return bad("Не указано название задачи");
                }
                let Some(responsible) = int(f.get("RESPONSIBLE_ID")) else {
                    return bad("Не указан ответственный");
                };
                if !portal.users.iter().any(|u| u.0 == responsible && u.2) {
                    return bad("Пользователь с ID ответственного не найден");
                }
                let auditors: Vec<i64> = f
                    .get("AUDITORS")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|v| int(Some(v))).collect())
                    .unwrap_or_default();
                let now = now_ms();
                portal.next_id += 1;
                let id = portal.next_id;
                let task = SimTask {
                    id,
                    title: title.to_owned(),
                    description: f
                        .get("DESCRIPTION")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    responsible_id: responsible,
                    group_id: int(f.get("GROUP_ID")).unwrap_or(0),
                    created_by: int(f.get("CREATED_BY")).unwrap_or(USER_ID),
                    auditors,
                    xml_id: f
                        .get("XML_ID")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    status: 2,
                    created_ms: now,
                    changed_ms: now,
                    activity_ms: now,
                    status_changed_ms: now,
                    closed_ms: None,
                    started_ms: None,
                    files: Vec::new(),
                    chat_id: 5000 + id,
                };
                let view = task_json(&task);
                portal.tasks.push(task);
                answer(json!({ "task": view }))
            }
            "tasks.task.get" => {
                let id = int(p.get("taskId").or(p.get("id")));
                match portal.tasks.iter().find(|t| Some(t.id) == id) {
                    Some(t) => answer(json!({ "task": task_json(t) })),
                    None => bad("Задача не найдена или доступ запрещён"),
                }
            }
            "tasks.task.list" => {
                let filter = p.get("filter").cloned().unwrap_or_default();
                let ids: Option<Vec<i64>> = filter.get("ID").map(|v| match v {
                    Value::Array(a) => a.iter().filter_map(|v| int(Some(v))).collect(),
                    other => int(Some(other)).into_iter().collect(),
                });
                let xml = filter.get("XML_ID").and_then(Value::as_str);
                let responsible = int(filter.get("RESPONSIBLE_ID"));
                let since = filter
                    .get(">=CREATED_DATE")
                    .and_then(Value::as_str)
                    .and_then(crate::backend::hubex::types::parse_time);
                let changed = filter
                    .get(">=CHANGED_DATE")
                    .and_then(Value::as_str)
                    .and_then(crate::backend::hubex::types::parse_time);
                let matching: Vec<&SimTask> = portal
                    .tasks
                    .iter()
                    .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id)))
                    .filter(|t| portal.ignore_xml_filter || xml.is_none_or(|x| t.xml_id == x))
                    .filter(|t| responsible.is_none_or(|r| t.responsible_id == r))
                    .filter(|t| since.is_none_or(|s| t.created_ms >= s))
                    .filter(|t| changed.is_none_or(|s| t.changed_ms.max(t.activity_ms) >= s))
                    .collect();
                let start = int(p.get("start")).unwrap_or(0);
                // start = -1: no count, the first page only.
                let from = start.max(0) as usize;
                let page: Vec<Value> = matching
                    .iter()
                    .skip(from)
                    .take(50)
                    .map(|t| task_json(t))
                    .collect();
                let mut body = json!({ "result": { "tasks": page }, "total": matching.len() });
                if from + 50 < matching.len() && start >= 0 {
                    body["next"] = json!(from + 50);
                }
                Json(body).into_response()
            }
            "tasks.task.renew" => {
                let id = int(p.get("taskId"));
                let now = now_ms();
                match portal.tasks.iter_mut().find(|t| Some(t.id) == id) {
                    Some(t) if matches!(t.status, 4 | 5) => {
                        t.status = 2;
                        t.closed_ms = None;
                        t.status_changed_ms = now;
                        t.changed_ms = now;
                        answer(json!({ "task": task_json(t) }))
                    }
                    Some(_) => bad("Действие над задачей не разрешено"),
                    None => bad("Задача не найдена или доступ запрещён"),
                }
            }
            "tasks.task.files.attach" => {
                let (Some(task), Some(file)) = (int(p.get("taskId")), int(p.get("fileId"))) else {
                    return bad("Не указаны taskId или fileId");
                };
                if !portal.files.iter().any(|f| f.id == file) {
                    return bad("Файл не найден");
                }
                let now = now_ms();
                match portal.tasks.iter_mut().find(|t| t.id == task) {
                    Some(t) => {
                        if !t.files.contains(&file) {
                            t.files.push(file);
                            t.changed_ms = now;
                        }
                        answer(json!({ "attachmentId": file + 100_000 }))
                    }
                    None => bad("Задача не найдена или доступ запрещён"),
                }
            }
            "disk.storage.getlist" => answer(json!([{
                "ID": "1", "NAME": "Мой диск", "ENTITY_TYPE": "user",
                "ENTITY_ID": USER_ID.to_string(), "ROOT_OBJECT_ID": ROOT_FOLDER.to_string()
            }])),
            "disk.folder.getchildren" => {
                let folder = int(p.get("id"));
                let name = p
                    .get("filter")
                    .and_then(|f| f.get("NAME"))
                    .and_then(Value::as_str);
                let found: Vec<Value> = portal
                    .files
                    .iter()
                    .filter(|f| Some(f.folder_id) == folder)
                    .filter(|f| name.is_none_or(|n| f.name == n))
                    .map(|f| json!({ "ID": f.id.to_string(), "NAME": f.name, "TYPE": "file" }))
                    .collect();
                answer(json!(found))
            }
            "disk.folder.uploadfile" => {
                let folder = int(p.get("id"));
                if folder != Some(ROOT_FOLDER) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "ERROR_NOT_FOUND",
                        "Could not find entity with id 'id'",
                    );
                }
                let name = p
                    .get("data")
                    .and_then(|d| d.get("NAME"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let content = p
                    .get("fileContent")
                    .and_then(Value::as_array)
                    .and_then(|a| a.get(1))
                    .and_then(Value::as_str)
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                let (false, Some(bytes)) = (name.is_empty(), content) else {
                    return bad("Не указано имя или содержимое файла");
                };
                if portal
                    .files
                    .iter()
                    .any(|f| f.folder_id == ROOT_FOLDER && f.name == name)
                {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "DISK_OBJ_22000",
                        "Файл с таким именем уже есть",
                    );
                }
                portal.next_id += 1;
                let id = portal.next_id;
                portal.files.push(SimFile {
                    id,
                    name: name.to_owned(),
                    folder_id: ROOT_FOLDER,
                    size: bytes.len(),
                });
                answer(
                    json!({ "ID": id.to_string(), "NAME": name, "SIZE": bytes.len().to_string() }),
                )
            }
            "task.commentitem.add" | "task.commentitem.getlist" if portal.comments_frozen => error(
                StatusCode::BAD_REQUEST,
                "ERROR_METHOD_NOT_FOUND",
                "Method is frozen: use tasks.task.chat.message.send",
            ),
            "task.commentitem.add" => {
                let task = int(p.get("TASKID"));
                let fields = p.get("FIELDS").cloned().unwrap_or_default();
                let text = fields
                    .get("POST_MESSAGE")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if text.trim().is_empty() {
                    return bad("Текст комментария не указан");
                }
                let files: Vec<i64> = fields
                    .get("UF_FORUM_MESSAGE_DOC")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str()?.strip_prefix('n')?.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                let Some(task) = task.filter(|t| portal.tasks.iter().any(|x| x.id == *t)) else {
                    return bad("Задача не найдена или доступ запрещён");
                };
                let id = add_comment(portal, task, USER_ID, text, files, false);
                answer(json!(id))
            }
            "task.commentitem.getlist" => {
                let task = int(p.get("TASKID"));
                let list: Vec<Value> = portal
                    .comments
                    .iter()
                    .filter(|c| Some(c.task_id) == task && !c.chat)
                    .map(|c| {
                        json!({
                            "ID": c.id.to_string(), "AUTHOR_ID": c.author_id.to_string(),
                            "AUTHOR_NAME": user_name(&portal.users, c.author_id),
                            "POST_MESSAGE": c.text, "POST_DATE": iso(c.at_ms),
                        })
                    })
                    .collect();
                answer(json!(list))
            }
            CHAT_SEND => {
                let fields = p.get("fields").cloned().unwrap_or_default();
                let text = fields.get("text").and_then(Value::as_str).unwrap_or("");
                let Some(task) =
                    int(fields.get("taskId")).filter(|t| portal.tasks.iter().any(|x| x.id == *t))
                else {
                    return bad("Задача не найдена или доступ запрещён");
                };
                if text.trim().is_empty() {
                    return bad("Пустое сообщение");
                }
                let id = add_comment(portal, task, USER_ID, text, Vec::new(), true);
                answer(json!({ "id": id }))
            }
            "im.dialog.messages.get" => {
                let dialog = p.get("DIALOG_ID").and_then(Value::as_str).unwrap_or("");
                let Some(task) = portal
                    .tasks
                    .iter()
                    .find(|t| format!("chat{}", t.chat_id) == dialog)
                    .map(|t| t.id)
                else {
                    return bad("Диалог не найден");
                };
                let messages: Vec<Value> = portal
                    .comments
                    .iter()
                    .filter(|c| c.task_id == task && c.chat)
                    .map(|c| json!({ "id": c.id, "author_id": c.author_id, "date": iso(c.at_ms), "text": c.text }))
                    .collect();
                let users: Vec<Value> = portal
                    .users
                    .iter()
                    .map(|u| json!({ "id": u.0, "name": u.1 }))
                    .collect();
                answer(json!({ "messages": messages, "users": users, "chat_id": task + 5000 }))
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "ERROR_METHOD_NOT_FOUND",
                "Method not found!",
            ),
        }
    }
}

fn user_name(users: &[(i64, &'static str, bool)], id: i64) -> &'static str {
    users.iter().find(|u| u.0 == id).map_or("", |u| u.1)
}

fn add_comment(
    portal: &mut Portal,
    task: i64,
    author: i64,
    text: &str,
    files: Vec<i64>,
    chat: bool,
) -> i64 {
    portal.next_id += 1;
    let id = portal.next_id;
    let now = now_ms();
    if let Some(t) = portal.tasks.iter_mut().find(|t| t.id == task) {
        t.activity_ms = now;
    }
    portal.comments.push(SimComment {
        id,
        task_id: task,
        author_id: author,
        text: text.to_owned(),
        files,
        at_ms: now,
        chat,
    });
    id
}

/// A task as `tasks.task.*` answers it: camelCase, ids as strings.
fn task_json(t: &SimTask) -> Value {
    json!({
        "id": t.id.to_string(),
        "title": t.title,
        "description": t.description,
        "responsibleId": t.responsible_id.to_string(),
        "groupId": t.group_id.to_string(),
        "createdBy": t.created_by.to_string(),
        "auditors": t.auditors.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "xmlId": t.xml_id,
        "status": t.status.to_string(),
        "createdDate": iso(t.created_ms),
        "changedDate": iso(t.changed_ms),
        "activityDate": iso(t.activity_ms),
        "statusChangedDate": iso(t.status_changed_ms),
        "dateStart": t.started_ms.map(iso),
        "closedDate": t.closed_ms.map(iso),
        "chatId": t.chat_id.to_string(),
        "ufTaskWebdavFiles": t.files.iter().map(|f| format!("n{f}")).collect::<Vec<_>>(),
    })
}

async fn rest(
    State(sim): State<Simulator>,
    Path((user, secret, method)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    // The task chat is a REST 3.0 method, under /rest/api/ only.
    if method.trim_end_matches(".json") == CHAT_SEND {
        return error(
            StatusCode::NOT_FOUND,
            "ERROR_METHOD_NOT_FOUND",
            "Method not found!",
        );
    }
    sim.serve(&user, &secret, &method, &body).await
}

async fn rest_v3(
    State(sim): State<Simulator>,
    Path((user, secret, method)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if method != CHAT_SEND {
        return error(
            StatusCode::NOT_FOUND,
            "ERROR_METHOD_NOT_FOUND",
            "Method not found!",
        );
    }
    sim.serve(&user, &secret, &method, &body).await
}

async fn control_tasks(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!({ "tasks": sim.tasks(), "comments": sim.comments(), "files": sim.files() }))
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
