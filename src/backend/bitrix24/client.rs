//! The Bitrix24 REST client behind [`TaskBackend`].
//!
//! Every call is a POST with a JSON body to the webhook's method URL. Answers
//! are read tolerantly: ids as numbers or strings, field names in camelCase
//! or upper case, lists as arrays or id-keyed maps. A filter is never trusted:
//! what a list returns is checked on our side.

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{status_color, status_name, Hook};
use crate::backend::budget::CallBudget;
pub use crate::backend::json::int;
use crate::backend::json::{field, items, text, time_of};
use crate::backend::{
    BackendError, BoxFuture, CallObserver, Capabilities, CheckReport, Checklist, CreatedTask,
    FileUpload, Message, NewTask, Priority, TaskBackend, TaskId, TaskState, Verdict,
};
use crate::config::{Bitrix24Config, CommentApi};
use crate::domain::lang::Lang;

/// Bitrix24 pages lists by 50.
const PAGE: usize = 50;
/// A lookup never reads more than this many pages.
const MAX_PAGES: usize = 40;
/// How far before a request's time a lookup for its task starts (clocks differ).
const CLOCK_SLACK_MS: i64 = 15 * 60 * 1000;

pub struct Bitrix24Client {
    http: reqwest::Client,
    hook: Hook,
    cfg: Bitrix24Config,
    budget: Arc<CallBudget>,
    observer: std::sync::OnceLock<CallObserver>,
    /// 0: not known yet, 1: the old comment methods, 2: the task chat.
    comment_api: AtomicU8,
    /// The Drive folder photos go to, once found.
    folder: tokio::sync::Mutex<Option<i64>>,
    /// Unix ms until which no call is made: Bitrix24 said it was too much.
    hold_until: AtomicI64,
}

impl std::fmt::Debug for Bitrix24Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitrix24Client")
            .field("hook", &self.hook)
            .finish_non_exhaustive()
    }
}

const OLD_COMMENTS: u8 = 1;
const CHAT: u8 = 2;

fn network_error(e: reqwest::Error) -> BackendError {
    crate::backend::network_error("Bitrix24", e)
}

/// A time for a filter: RFC 3339 in UTC.
fn filter_time(ms: i64) -> String {
    format!("{}+00:00", crate::backend::hubex::types::format_time(ms))
}

/// The status page's view of a task object.
pub fn task_state(t: &Value) -> TaskState {
    let status = int(field(t, &["status", "STATUS", "realStatus", "REAL_STATUS"])).unwrap_or(2);
    let changed = time_of(t, &["statusChangedDate", "STATUS_CHANGED_DATE"]);
    let closed = time_of(t, &["closedDate", "CLOSED_DATE"]);
    let modified = [
        time_of(t, &["changedDate", "CHANGED_DATE"]),
        time_of(t, &["activityDate", "ACTIVITY_DATE"]),
    ]
    .into_iter()
    .flatten()
    .max();
    let started = time_of(t, &["dateStart", "DATE_START"]);
    TaskState {
        number: int(field(t, &["id", "ID"])).map(|id| id.to_string()),
        status_name: Some(status_name(status).to_owned()),
        status_color: Some(status_color(status).to_owned()),
        created_at: time_of(t, &["createdDate", "CREATED_DATE"]),
        in_work_at: match status {
            3..=5 => started.or(changed),
            _ => None,
        },
        completed_at: match status {
            4 => changed,
            5 => closed.or(changed),
            _ => None,
        },
        closed_at: match status {
            5 => closed.or(changed),
            _ => None,
        },
        modified_at: modified,
    }
}

/// An employee's `ACTIVE` (a boolean, `Y`/`N` or `1`/`0`); missing: active.
fn active(u: &Value) -> bool {
    match field(u, &["ACTIVE", "active"]) {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            v.as_i64() == Some(1)
                || matches!(
                    v.as_str().map(str::to_ascii_lowercase).as_deref(),
                    Some("y" | "true" | "1")
                )
        }
    }
}

/// What to do about a permanent error code, for the admin.
fn fix_for(code: &str) -> &'static str {
    match code {
        "NO_AUTH_FOUND" | "INVALID_CREDENTIALS" | "expired_token" | "invalid_token" => {
            "the portal does not accept the webhook: create the inbound webhook again and set bitrix24.webhook_url"
        }
        "insufficient_scope" => {
            "the webhook lacks a scope: edit it on the portal and tick task, disk and user"
        }
        "ACCESS_DENIED" => {
            "the webhook's employee may not do this: give them rights to the tasks (or the group), or create the webhook as an administrator"
        }
        "PORTAL_DELETED" => "the portal is deleted: set bitrix24.webhook_url to a working portal",
        _ => "",
    }
}

fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "QUERY_LIMIT_EXCEEDED"
            | "OPERATION_TIME_LIMIT"
            | "OVERLOAD_LIMIT"
            | "INTERNAL_SERVER_ERROR"
    )
}

impl Bitrix24Client {
    pub fn new(hook: Hook, cfg: Bitrix24Config) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("qrdesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let comment_api = match cfg.comments {
            CommentApi::Auto => 0,
            CommentApi::Comments => OLD_COMMENTS,
            CommentApi::Chat => CHAT,
        };
        Ok(Bitrix24Client {
            http,
            hook,
            budget: Arc::new(CallBudget::per_minute(cfg.max_calls_per_minute)),
            folder: tokio::sync::Mutex::new((cfg.folder_id > 0).then_some(cfg.folder_id)),
            cfg,
            observer: std::sync::OnceLock::new(),
            comment_api: AtomicU8::new(comment_api),
            hold_until: AtomicI64::new(0),
        })
    }

    /// Calls `method` and returns the whole answer (`result`, `next`, `total`).
    async fn call(
        &self,
        priority: Priority,
        method: &str,
        params: Value,
    ) -> Result<Value, BackendError> {
        self.call_url(priority, method, self.hook.method(method), params)
            .await
    }

    async fn call_url(
        &self,
        priority: Priority,
        method: &str,
        url: String,
        params: Value,
    ) -> Result<Value, BackendError> {
        let hold = self.hold_until.load(Ordering::Relaxed) - crate::store::now_ms();
        if hold > 0 {
            tokio::time::sleep(Duration::from_millis(hold as u64)).await;
        }
        self.budget.acquire(priority).await;
        let sent = self.http.post(url).json(&params).send().await;
        if let Some(observe) = self.observer.get() {
            observe(method, sent.as_ref().map_or(0, |r| r.status().as_u16()));
        }
        let resp = sent.map_err(network_error)?;
        let status = resp.status();
        let retry_after = crate::backend::retry_after(resp.headers());
        let bytes = resp.bytes().await.map_err(network_error)?;
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        if let Some(code) = body.as_ref().and_then(|b| text(b, &["error"])) {
            let description = body
                .as_ref()
                .and_then(|b| text(b, &["error_description"]))
                .unwrap_or_default();
            if is_transient_code(&code) || status.is_server_error() && fix_for(&code).is_empty() {
                let wait = retry_after
                    .or_else(|| (code == "QUERY_LIMIT_EXCEEDED").then_some(Duration::from_secs(2)));
                if let Some(wait) = wait {
                    let until = crate::store::now_ms() + wait.as_millis() as i64;
                    self.hold_until.fetch_max(until, Ordering::Relaxed);
                }
                return Err(BackendError::Transient {
                    reason: format!("Bitrix24 {method}: {code} ({status})"),
                    retry_after: wait,
                });
            }
            let fix = fix_for(&code);
            let reason = if fix.is_empty() {
                format!("Bitrix24 {method}: {code}: {description}")
            } else {
                format!("Bitrix24 {method}: {code}: {fix}")
            };
            return Err(BackendError::Permanent { reason });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(BackendError::Transient {
                reason: format!("Bitrix24 {method}: HTTP {status}"),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(BackendError::Permanent {
                reason: format!("Bitrix24 {method}: HTTP {status}"),
            });
        }
        body.ok_or_else(|| {
            BackendError::transient(format!("Bitrix24 {method}: the answer is not JSON"))
        })
    }

    /// Every item of a paged list under `result.<key>` (or `result` itself).
    async fn list(
        &self,
        priority: Priority,
        method: &str,
        params: Value,
        key: Option<&str>,
    ) -> Result<Vec<Value>, BackendError> {
        let mut all = Vec::new();
        let mut start = 0usize;
        for _ in 0..MAX_PAGES {
            let mut p = params.clone();
            p["start"] = json!(start);
            let answer = self.call(priority, method, p).await?;
            let result = answer.get("result");
            let page = match key {
                Some(k) => items(result.and_then(|r| r.get(k))),
                None => items(result),
            };
            let n = page.len();
            all.extend(page.into_iter().cloned());
            match int(answer.get("next")) {
                Some(next) if next as usize > start && n > 0 => start = next as usize,
                _ => break,
            }
            if n < PAGE {
                break;
            }
        }
        Ok(all)
    }

    fn task_fields(&self, task: &NewTask) -> Value {
        let mut fields = Map::new();
        fields.insert("TITLE".into(), json!(task.title()));
        fields.insert("DESCRIPTION".into(), json!(task.text_plain()));
        fields.insert("RESPONSIBLE_ID".into(), json!(self.responsible()));
        fields.insert("XML_ID".into(), json!(task.reference));
        if self.cfg.group_id > 0 {
            fields.insert("GROUP_ID".into(), json!(self.cfg.group_id));
        }
        if self.cfg.created_by > 0 {
            fields.insert("CREATED_BY".into(), json!(self.cfg.created_by));
        }
        if !self.cfg.auditors.is_empty() {
            fields.insert("AUDITORS".into(), json!(self.cfg.auditors));
        }
        Value::Object(fields)
    }

    fn responsible(&self) -> i64 {
        if self.cfg.responsible_id > 0 {
            self.cfg.responsible_id
        } else {
            self.hook.user_id
        }
    }

    async fn create(&self, task: &NewTask) -> Result<CreatedTask, BackendError> {
        let answer = self
            .call(
                Priority::Delivery,
                "tasks.task.add",
                json!({ "fields": self.task_fields(task) }),
            )
            .await?;
        let result = answer.get("result");
        let t = result.and_then(|r| field(r, &["task", "TASK"])).or(result);
        let id = t
            .and_then(|t| int(field(t, &["id", "ID"])))
            .ok_or_else(|| {
                // Created or not, we cannot tell: the retry looks it up first.
                BackendError::transient("Bitrix24 tasks.task.add: no task id in the answer")
            })?;
        // The answer carries the new task's fields: its state, for free.
        let state = t
            .filter(|t| field(t, &["status", "STATUS", "realStatus", "REAL_STATUS"]).is_some())
            .map(task_state);
        Ok(CreatedTask {
            id: TaskId(id),
            number: Some(id.to_string()),
            state,
        })
    }

    /// The task made for this request earlier: by `XML_ID`, or our reference
    /// in the description, among the tasks given to our responsible since
    /// shortly before the request.
    async fn find(&self, task: &NewTask) -> Result<Option<CreatedTask>, BackendError> {
        let filter = json!({
            "XML_ID": task.reference,
            "RESPONSIBLE_ID": self.responsible(),
            ">=CREATED_DATE": filter_time(task.created_at - CLOCK_SLACK_MS),
        });
        let found = self
            .list(
                Priority::Delivery,
                "tasks.task.list",
                json!({ "filter": filter, "select": ["ID", "XML_ID", "DESCRIPTION"], "order": {"ID": "asc"} }),
                Some("tasks"),
            )
            .await?;
        Ok(found
            .iter()
            .find(|t| {
                text(t, &["xmlId", "XML_ID"]).as_deref() == Some(task.reference.as_str())
                    || text(t, &["description", "DESCRIPTION"])
                        .is_some_and(|d| d.contains(&task.reference))
            })
            .and_then(|t| int(field(t, &["id", "ID"])))
            .map(|id| CreatedTask {
                id: TaskId(id),
                number: Some(id.to_string()),
                state: None,
            }))
    }

    const STATE_FIELDS: [&'static str; 9] = [
        "ID",
        "STATUS",
        "CREATED_DATE",
        "CHANGED_DATE",
        "ACTIVITY_DATE",
        "STATUS_CHANGED_DATE",
        "DATE_START",
        "CLOSED_DATE",
        "CHAT_ID",
    ];

    async fn task(&self, id: TaskId, priority: Priority) -> Result<Value, BackendError> {
        let answer = self
            .call(
                priority,
                "tasks.task.get",
                json!({ "taskId": id.0, "select": Self::STATE_FIELDS }),
            )
            .await?;
        let result = answer.get("result");
        result
            .and_then(|r| field(r, &["task", "TASK"]))
            .or(result)
            .filter(|t| t.is_object())
            .cloned()
            .ok_or_else(|| BackendError::Permanent {
                reason: format!("Bitrix24 tasks.task.get: task {id} not in the answer"),
            })
    }

    async fn poll(&self, ids: &[TaskId]) -> Result<Vec<(TaskId, TaskState)>, BackendError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(PAGE) {
            // By ids only: a comment moves ACTIVITY_DATE, an edit CHANGED_DATE,
            // and which of them a portal filters on is not documented; a page
            // of 50 ids is one call either way, and the poller sees what moved.
            let filter = json!({ "ID": chunk.iter().map(|t| t.0).collect::<Vec<_>>() });
            let found = self
                .list(
                    Priority::Background,
                    "tasks.task.list",
                    json!({ "filter": filter, "select": Self::STATE_FIELDS }),
                    Some("tasks"),
                )
                .await?;
            for t in &found {
                // The filter may not have been honoured: keep only ours.
                let Some(id) = int(field(t, &["id", "ID"])).map(TaskId) else {
                    continue;
                };
                if chunk.contains(&id) && !out.iter().any(|(seen, _)| *seen == id) {
                    out.push((id, task_state(t)));
                }
            }
        }
        Ok(out)
    }

    /// The folder photos go to: configured, else the root of the webhook
    /// user's own drive.
    async fn folder(&self) -> Result<i64, BackendError> {
        let mut cached = self.folder.lock().await;
        if let Some(id) = *cached {
            return Ok(id);
        }
        let storages = self
            .list(
                Priority::Delivery,
                "disk.storage.getlist",
                json!({ "filter": { "ENTITY_TYPE": "user", "ENTITY_ID": self.hook.user_id } }),
                None,
            )
            .await?;
        let root = storages
            .iter()
            .filter(|s| {
                text(s, &["ENTITY_TYPE"]).is_none_or(|t| t == "user")
                    && int(field(s, &["ENTITY_ID"])).is_none_or(|u| u == self.hook.user_id)
            })
            .find_map(|s| int(field(s, &["ROOT_OBJECT_ID"])))
            .ok_or_else(|| BackendError::Permanent {
                reason: "Bitrix24 disk.storage.getlist: the webhook's employee has no drive; set bitrix24.folder_id".into(),
            })?;
        *cached = Some(root);
        Ok(root)
    }

    async fn file_in_folder(&self, name: &str) -> Result<Option<i64>, BackendError> {
        let folder = self.folder().await?;
        let children = self
            .list(
                Priority::Delivery,
                "disk.folder.getchildren",
                json!({ "id": folder, "filter": { "NAME": name } }),
                None,
            )
            .await?;
        Ok(children
            .iter()
            .filter(|c| text(c, &["NAME", "name"]).as_deref() == Some(name))
            .find_map(|c| int(field(c, &["ID", "id"]))))
    }

    async fn attach(&self, task: TaskId, file: i64) -> Result<(), BackendError> {
        self.call(
            Priority::Delivery,
            "tasks.task.files.attach",
            json!({ "taskId": task.0, "fileId": file }),
        )
        .await?;
        Ok(())
    }

    async fn upload(&self, task: TaskId, file: &FileUpload) -> Result<i64, BackendError> {
        let folder = self.folder().await?;
        let content = base64::engine::general_purpose::STANDARD.encode(&file.bytes);
        let answer = self
            .call(
                Priority::Delivery,
                "disk.folder.uploadfile",
                json!({
                    "id": folder,
                    "data": { "NAME": file.file_name },
                    "fileContent": [file.file_name, content],
                    "generateUniqueName": false,
                }),
            )
            .await?;
        let id = answer
            .get("result")
            .and_then(|r| int(field(r, &["ID", "id"])))
            .ok_or_else(|| {
                BackendError::transient("Bitrix24 disk.folder.uploadfile: no file id")
            })?;
        self.attach(task, id).await?;
        Ok(id)
    }

    /// A photo uploaded before an unknown outcome: found in the folder by
    /// its unique name, and attached (again: attaching is idempotent).
    async fn find_file(&self, task: TaskId, name: &str) -> Result<Option<i64>, BackendError> {
        let Some(id) = self.file_in_folder(name).await? else {
            return Ok(None);
        };
        self.attach(task, id).await?;
        Ok(Some(id))
    }

    fn uses_chat(&self) -> bool {
        self.comment_api.load(Ordering::Relaxed) == CHAT
    }

    /// Under `auto`, a portal whose old comment methods are frozen or gone
    /// answers with a method error: from then on the task chat is used.
    /// `true`: switched, try the chat.
    fn switch_to_chat_if_frozen(&self, e: &BackendError) -> bool {
        let BackendError::Permanent { reason } = e else {
            return false;
        };
        let gone = ["METHOD_NOT_FOUND", "frozen", "deprecated"]
            .iter()
            .any(|s| reason.contains(s));
        let switch = gone && self.cfg.comments == CommentApi::Auto;
        if switch {
            self.comment_api.store(CHAT, Ordering::Relaxed);
            tracing::info!(
                "Bitrix24: the old comment methods are not available; using the task chat"
            );
        }
        switch
    }

    async fn messages(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> Result<Vec<Message>, BackendError> {
        if !self.uses_chat() {
            match self
                .call(
                    priority,
                    "task.commentitem.getlist",
                    json!({ "TASKID": task.0, "ORDER": { "ID": "asc" } }),
                )
                .await
            {
                Ok(answer) => {
                    let mut out: Vec<Message> = items(answer.get("result"))
                        .into_iter()
                        .filter_map(|c| {
                            Some(Message {
                                id: int(field(c, &["ID", "id"]))?,
                                created_at: time_of(c, &["POST_DATE", "postDate"]),
                                author: text(c, &["AUTHOR_NAME", "authorName"]),
                                text: text(c, &["POST_MESSAGE", "postMessage"])?,
                            })
                        })
                        .collect();
                    out.sort_by_key(|m| m.id);
                    return Ok(out);
                }
                Err(e) if self.switch_to_chat_if_frozen(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let t = self.task(task, priority).await?;
        let Some(chat) = int(field(&t, &["chatId", "CHAT_ID"])) else {
            return Ok(Vec::new());
        };
        let answer = self
            .call(
                priority,
                "im.dialog.messages.get",
                json!({ "DIALOG_ID": format!("chat{chat}"), "LIMIT": 50 }),
            )
            .await?;
        let result = answer.get("result");
        let names: Vec<(i64, String)> = items(result.and_then(|r| r.get("users")))
            .into_iter()
            .filter_map(|u| Some((int(field(u, &["id", "ID"]))?, text(u, &["name", "NAME"])?)))
            .collect();
        let mut out: Vec<Message> = items(result.and_then(|r| r.get("messages")))
            .into_iter()
            .filter_map(|m| {
                let author = int(field(m, &["author_id", "authorId"]));
                // Author 0 is the system's own line ("task created").
                if author == Some(0) {
                    return None;
                }
                Some(Message {
                    id: int(field(m, &["id", "ID"]))?,
                    created_at: time_of(m, &["date", "DATE"]),
                    author: author.and_then(|a| {
                        names
                            .iter()
                            .find(|(id, _)| *id == a)
                            .map(|(_, n)| n.clone())
                    }),
                    text: text(m, &["text", "TEXT"])?,
                })
            })
            .collect();
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    async fn comment(&self, task: TaskId, text: &str, files: &[i64]) -> Result<i64, BackendError> {
        if !self.uses_chat() {
            let mut fields = json!({ "POST_MESSAGE": text });
            if !files.is_empty() {
                fields["UF_FORUM_MESSAGE_DOC"] =
                    json!(files.iter().map(|f| format!("n{f}")).collect::<Vec<_>>());
            }
            match self
                .call(
                    Priority::Delivery,
                    "task.commentitem.add",
                    json!({ "TASKID": task.0, "FIELDS": fields }),
                )
                .await
            {
                Ok(answer) => return Ok(int(answer.get("result")).unwrap_or(0)),
                Err(e) if self.switch_to_chat_if_frozen(&e) => {}
                Err(e) => return Err(e),
            }
        }
        // The chat takes text only: photos go to the task itself.
        for f in files {
            self.attach(task, *f).await?;
        }
        let answer = self
            .call_url(
                Priority::Delivery,
                "tasks.task.chat.message.send",
                self.hook.method_v3("tasks.task.chat.message.send"),
                json!({ "fields": { "taskId": task.0, "text": text } }),
            )
            .await?;
        let result = answer.get("result");
        Ok(int(result)
            .or_else(|| result.and_then(|r| int(field(r, &["id", "messageId"]))))
            .unwrap_or(0))
    }

    async fn renew(&self, task: TaskId) -> Result<bool, BackendError> {
        let t = self.task(task, Priority::Delivery).await?;
        let status = int(field(&t, &["status", "STATUS"])).unwrap_or(0);
        if !matches!(status, 4 | 5) {
            return Ok(false);
        }
        self.call(
            Priority::Delivery,
            "tasks.task.renew",
            json!({ "taskId": task.0 }),
        )
        .await?;
        Ok(true)
    }

    async fn run_check(&self, lang: Lang, create_test_task: bool) -> CheckReport {
        let mut c = Checklist::new(lang);
        if self.check_webhook(&mut c).await.is_break() {
            return c.report;
        }
        let responsible = self.check_responsible(&mut c).await;
        let tasks = self.check_task_rights(&mut c).await;
        self.check_folder(&mut c).await;
        self.check_task_fields(&mut c);
        let ok = responsible && tasks;
        c.report.can_create = ok;
        if create_test_task && ok {
            self.check_test_task(&mut c).await;
        }
        c.report
    }

    /// 1. The webhook itself, and the user scope.
    async fn check_webhook(&self, c: &mut Checklist) -> std::ops::ControlFlow<()> {
        match self
            .call(Priority::Background, "user.current", json!({}))
            .await
        {
            Ok(a) => {
                let r = a.get("result").cloned().unwrap_or_default();
                let name = [text(&r, &["NAME"]), text(&r, &["LAST_NAME"])]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                c.push(
                    Verdict::Ok,
                    c.t("Вебхук принят", "Webhook accepted"),
                    format!("{} · id {} · {name}", self.hook.portal, self.hook.user_id),
                    None,
                );
                std::ops::ControlFlow::Continue(())
            }
            Err(e) => {
                c.push(
                    Verdict::Fail,
                    c.t("Вебхук", "Webhook"),
                    e.to_string(),
                    Some(c.t(
                        "Создайте входящий вебхук (Разработчикам → Другое → Входящий вебхук) с правами task, disk, user и укажите его в bitrix24.webhook_url",
                        "Create an inbound webhook (Developer resources → Other → Inbound webhook) with the scopes task, disk, user and set bitrix24.webhook_url",
                    )),
                );
                std::ops::ControlFlow::Break(())
            }
        }
    }

    /// 2. The responsible employee exists and is active.
    async fn check_responsible(&self, c: &mut Checklist) -> bool {
        let responsible = self.responsible();
        let what = c.t("Ответственный", "Responsible");
        let answer = self
            .call(
                Priority::Background,
                "user.get",
                json!({ "ID": responsible }),
            )
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                c.push(Verdict::Fail, what, e.to_string(), None);
                return false;
            }
        };
        let users = items(answer.get("result"));
        let found = users
            .iter()
            .find(|u| int(field(u, &["ID"])) == Some(responsible));
        if let Some(u) = found.filter(|u| active(u)) {
            let name = text(u, &["NAME"]).unwrap_or_default();
            c.push(
                Verdict::Ok,
                what,
                format!("id {responsible} · {name}"),
                None,
            );
            return true;
        }
        let why = if found.is_some() {
            c.t("сотрудник уволен или отключён", "the employee is inactive")
        } else {
            c.t("такого сотрудника нет", "no such employee")
        };
        let fix = c.t(
            "Укажите в bitrix24.responsible_id id действующего сотрудника",
            "Set bitrix24.responsible_id to an active employee's id",
        );
        c.push(
            Verdict::Fail,
            what,
            format!("id {responsible}: {why}"),
            Some(fix),
        );
        false
    }

    /// 3. Rights on tasks (scope task).
    async fn check_task_rights(&self, c: &mut Checklist) -> bool {
        let what = c.t("Задачи", "Tasks");
        let filter = json!({ "filter": { "RESPONSIBLE_ID": self.responsible() }, "select": ["ID"], "start": -1 });
        match self
            .call(Priority::Background, "tasks.task.list", filter)
            .await
        {
            Ok(_) => {
                let detail = c.t("чтение разрешено", "reading allowed");
                c.push(Verdict::Ok, what, detail, None);
                true
            }
            Err(e) => {
                c.push(Verdict::Fail, what, e.to_string(), None);
                false
            }
        }
    }

    /// 4. The Drive folder for photos (scope disk).
    async fn check_folder(&self, c: &mut Checklist) {
        let what = c.t("Папка для фотографий", "Folder for photos");
        match self.folder().await {
            Ok(id) => c.push(Verdict::Ok, what, format!("id {id}"), None),
            Err(e) => {
                let fix = c.t(
                    "Без права disk фотографии не дойдут до задач: добавьте его вебхуку или укажите bitrix24.folder_id",
                    "Without the disk scope photos cannot reach tasks: add it to the webhook or set bitrix24.folder_id",
                );
                c.push(Verdict::Warn, what, e.to_string(), Some(fix));
            }
        }
    }

    /// 5. A dry run: what a task would carry.
    fn check_task_fields(&self, c: &mut Checklist) {
        let sample = NewTask {
            reference: "qrdesk-…".into(),
            description: c.t("Текст заявки", "The request's text"),
            ..NewTask::default()
        };
        let fields = self.task_fields(&sample);
        let mut keys: Vec<String> = fields
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "TITLE" | "DESCRIPTION" | "XML_ID"))
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect()
            })
            .unwrap_or_default();
        keys.insert(0, "TITLE, DESCRIPTION, XML_ID".into());
        let what = c.t("Новая задача получит", "A new task gets");
        c.push(Verdict::Ok, what, keys.join("; "), None);
    }

    /// 6. A test task, only when asked.
    async fn check_test_task(&self, c: &mut Checklist) {
        let created = self.create(&c.test_task()).await;
        c.test_task_line(created, |t| format!("id {}", t.id));
    }
}

impl TaskBackend for Bitrix24Client {
    fn call_budget(&self) -> Option<&CallBudget> {
        Some(&self.budget)
    }

    fn observe_calls(&self, observer: CallObserver) {
        let _ = self.observer.set(observer);
    }

    fn create_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<CreatedTask, BackendError>> {
        Box::pin(self.create(task))
    }

    fn find_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<Option<CreatedTask>, BackendError>> {
        Box::pin(self.find(task))
    }

    fn task_state(
        &self,
        id: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<TaskState, BackendError>> {
        Box::pin(async move { Ok(task_state(&self.task(id, priority).await?)) })
    }

    fn poll_tasks<'a>(
        &'a self,
        tasks: &'a [TaskId],
        _changed_since: Option<i64>,
    ) -> BoxFuture<'a, Result<Vec<(TaskId, TaskState)>, BackendError>> {
        Box::pin(self.poll(tasks))
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

    fn conversation(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<Vec<Message>, BackendError>> {
        Box::pin(self.messages(task, priority))
    }

    fn post_comment<'a>(
        &'a self,
        task: TaskId,
        text: &'a str,
        attachments: &'a [i64],
        _external: bool,
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        // Bitrix24 has one conversation per task; a note for the team is
        // kept out of the status page by its qrdesk marker.
        Box::pin(self.comment(task, text, attachments))
    }

    fn reopen(&self, task: TaskId) -> BoxFuture<'_, Result<bool, BackendError>> {
        Box::pin(self.renew(task))
    }

    fn check(&self, lang: Lang, create_test_task: bool) -> BoxFuture<'_, CheckReport> {
        Box::pin(self.run_check(lang, create_test_task))
    }

    fn name(&self) -> &'static str {
        "Bitrix24"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            staff_replies: true,
            comments: true,
            reopen: true,
            synced_catalog: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_read_from_either_spelling_and_mapped_to_the_timeline() {
        let camel = json!({"id": "42", "status": "3", "createdDate": "2026-12-01T10:00:00+03:00",
            "dateStart": "2026-12-01T11:00:00+03:00", "changedDate": "2026-12-01T11:00:00+03:00"});
        let s = task_state(&camel);
        assert_eq!(s.number.as_deref(), Some("42"));
        assert_eq!(s.status_name.as_deref(), Some("Выполняется"));
        assert!(s.in_work_at.is_some() && s.completed_at.is_none());
        let upper = json!({"ID": 42, "STATUS": 5, "CLOSED_DATE": "2026-12-02T09:00:00+03:00"});
        let s = task_state(&upper);
        assert_eq!(s.status_name.as_deref(), Some("Завершена"));
        assert!(s.completed_at.is_some() && s.closed_at.is_some());
        let waiting = task_state(&json!({"id": 7, "status": 2}));
        assert!(waiting.in_work_at.is_none() && waiting.closed_at.is_none());
    }

    #[test]
    fn lists_come_as_arrays_or_id_keyed_maps() {
        let a = json!([{"ID": 1}, {"ID": 2}]);
        let m = json!({"1": {"ID": 1}, "2": {"ID": 2}});
        assert_eq!(items(Some(&a)).len(), 2);
        assert_eq!(items(Some(&m)).len(), 2);
        assert!(items(Some(&json!(null))).is_empty());
    }
}
