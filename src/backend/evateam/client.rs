//! The EvaTeam JSON-RPC client behind [`TaskBackend`].
//!
//! Every call is `POST {base}/api/?m=<Method>` with `{"jsonrpc": "2.2",
//! "method", "callid", "kwargs"}` and the API user's bearer token. An `error`
//! (or `abort`) in the body is a failure even with HTTP 200. EvaTeam ids are
//! strings (`CmfTask:<uuid>`); qrdesk keeps each task's under its own numeric
//! id ([`super::local_id`]) in `settings`, so every instance finds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::{local_id, status_color, status_name};
use crate::backend::budget::CallBudget;
use crate::backend::json::{field, items, text, time_of};
use crate::backend::{
    BackendError, BoxFuture, CallObserver, Capabilities, CheckReport, Checklist, CreatedTask,
    FileUpload, Message, NewTask, Priority, TaskBackend, TaskId, TaskState, Verdict,
};
use crate::config::EvaTeamConfig;
use crate::domain::lang::Lang;
use crate::store::Pool;

/// Lists are read in slices of this many.
const SLICE: usize = 100;
const MAX_SLICES: usize = 20;
const TASK_FIELDS: [&str; 8] = [
    "id",
    "code",
    "name",
    "text",
    "cache_status_type",
    "status",
    "cmf_created_at",
    "cmf_modified_at",
];

pub struct EvaTeamClient {
    http: reqwest::Client,
    /// `https://eva.example.ru`, without a trailing slash.
    base: String,
    token: String,
    cfg: EvaTeamConfig,
    budget: Arc<CallBudget>,
    observer: std::sync::OnceLock<CallObserver>,
    /// Where each task's EvaTeam id is kept (none: this process only).
    store: Option<Pool>,
    remote: Mutex<HashMap<i64, String>>,
}

impl std::fmt::Debug for EvaTeamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvaTeamClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn network_error(e: reqwest::Error) -> BackendError {
    crate::backend::network_error("EvaTeam", e)
}

/// An EvaTeam id as sent: a string, or an object with `id`.
fn remote_id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        o @ Value::Object(_) => text(o, &["id"]),
        _ => None,
    }
}

/// The status page's view of a task object.
pub fn task_state(t: &Value) -> TaskState {
    let kind = text(t, &["cache_status_type"]).unwrap_or_else(|| "OPEN".into());
    let modified = time_of(t, &["cmf_modified_at"]);
    // The status's own name and colour where EvaTeam gives them.
    let status = field(t, &["status", "status_id"]).filter(|s| s.is_object());
    let name = status
        .and_then(|s| text(s, &["name"]))
        .unwrap_or_else(|| status_name(&kind).to_owned());
    let color = status
        .and_then(|s| text(s, &["color"]))
        .filter(|c| crate::backend::is_css_color(c))
        .unwrap_or_else(|| status_color(&kind).to_owned());
    TaskState {
        number: text(t, &["code"]),
        status_name: Some(name),
        status_color: Some(color),
        created_at: time_of(t, &["cmf_created_at"]),
        in_work_at: matches!(kind.as_str(), "IN_PROGRESS" | "IN_REVIEW" | "CLOSED")
            .then_some(modified)
            .flatten(),
        completed_at: matches!(kind.as_str(), "IN_REVIEW" | "CLOSED")
            .then_some(modified)
            .flatten(),
        closed_at: (kind == "CLOSED").then_some(modified).flatten(),
        modified_at: modified,
    }
}

/// HTML for a task's `text`: every line escaped, lines kept.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// EvaTeam's HTML as plain text: line breaks kept, tags dropped, the
/// common entities read.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        if tag.starts_with("br") || tag == "/p" || tag == "/div" || tag == "/li" {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.trim_end().to_owned()
}

impl EvaTeamClient {
    pub fn new(base_url: &str, cfg: EvaTeamConfig, store: Option<Pool>) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("qrdesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(EvaTeamClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token: cfg.token.expose().to_owned(),
            budget: Arc::new(CallBudget::per_minute(cfg.max_calls_per_minute)),
            cfg,
            observer: std::sync::OnceLock::new(),
            store,
            remote: Mutex::new(HashMap::new()),
        })
    }

    /// Calls `method`; returns its `result`.
    async fn call(
        &self,
        priority: Priority,
        method: &str,
        kwargs: Value,
    ) -> Result<Value, BackendError> {
        self.budget.acquire(priority).await;
        let callid = uuid::Uuid::now_v7().to_string();
        let body = json!({ "jsonrpc": "2.2", "method": method, "callid": callid, "args": [], "kwargs": kwargs });
        let sent = self
            .http
            .post(format!("{}/api/?m={method}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await;
        if let Some(observe) = self.observer.get() {
            observe(method, sent.as_ref().map_or(0, |r| r.status().as_u16()));
        }
        let resp = sent.map_err(network_error)?;
        let status = resp.status();
        let retry_after = crate::backend::retry_after(resp.headers());
        let bytes = resp.bytes().await.map_err(network_error)?;
        let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
        let error = answer
            .as_ref()
            .and_then(|a| field(a, &["error", "abort"]))
            .map(|e| match e {
                Value::Object(_) => format!(
                    "{}: {}",
                    text(e, &["code"]).unwrap_or_default(),
                    text(e, &["message"]).unwrap_or_default()
                ),
                other => other.to_string(),
            });
        if status.as_u16() == 401 {
            return Err(BackendError::Permanent {
                reason: format!(
                    "EvaTeam {method}: the token is not accepted ({}): generate a new API token for the API user and set evateam.token",
                    error.unwrap_or_default()
                ),
            });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(BackendError::Transient {
                reason: format!(
                    "EvaTeam {method}: HTTP {status} {}",
                    error.unwrap_or_default()
                ),
                retry_after,
            });
        }
        if let Some(e) = error {
            // An application error, even with HTTP 200: the same call fails again.
            return Err(BackendError::Permanent {
                reason: format!("EvaTeam {method}: {e}"),
            });
        }
        if !status.is_success() {
            return Err(BackendError::Permanent {
                reason: format!("EvaTeam {method}: HTTP {status}"),
            });
        }
        let answer = answer.ok_or_else(|| {
            BackendError::transient(format!("EvaTeam {method}: the answer is not JSON"))
        })?;
        Ok(answer.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Every item of a list method, slice by slice.
    async fn list(
        &self,
        priority: Priority,
        method: &str,
        kwargs: Value,
    ) -> Result<Vec<Value>, BackendError> {
        let mut all = Vec::new();
        for i in 0..MAX_SLICES {
            let mut k = kwargs.clone();
            k["slice"] = json!([i * SLICE, (i + 1) * SLICE]);
            let result = self.call(priority, method, k).await?;
            let page: Vec<Value> = items(Some(&result)).into_iter().cloned().collect();
            let n = page.len();
            all.extend(page);
            if n < SLICE {
                break;
            }
        }
        Ok(all)
    }

    /// Remembers which EvaTeam task a numeric id stands for.
    async fn remember(&self, remote: &str) -> Result<TaskId, BackendError> {
        let id = local_id(remote);
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, remote.to_owned());
        if let Some(pool) = &self.store {
            crate::store::set_setting(pool, &format!("evateam_task:{id}"), remote)
                .await
                .map_err(|e| BackendError::transient(format!("cannot keep the EvaTeam id: {e}")))?;
        }
        Ok(TaskId(id))
    }

    async fn remote_of(&self, id: TaskId) -> Result<String, BackendError> {
        if let Some(r) = self
            .remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id.0)
        {
            return Ok(r.clone());
        }
        let kept = match &self.store {
            Some(pool) => crate::store::get_setting(pool, &format!("evateam_task:{}", id.0))
                .await
                .map_err(|e| BackendError::transient(format!("cannot read the EvaTeam id: {e}")))?,
            None => None,
        };
        let remote = kept.ok_or_else(|| BackendError::Permanent {
            reason: format!("EvaTeam: task {id} is not one qrdesk created"),
        })?;
        self.remote
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.0, remote.clone());
        Ok(remote)
    }

    fn created(&self, id: TaskId, t: Option<&Value>) -> CreatedTask {
        CreatedTask {
            id,
            number: t.and_then(|t| text(t, &["code"])),
            state: t.map(task_state),
        }
    }

    async fn create(&self, task: &NewTask) -> Result<CreatedTask, BackendError> {
        let mut kwargs = json!({
            "name": task.title(),
            "text": task.text_html()?,
            "project": self.cfg.project,
        });
        if !self.cfg.list.is_empty() {
            kwargs["lists"] = json!([self.cfg.list]);
        }
        if !self.cfg.responsible.is_empty() {
            kwargs["responsible"] = json!(self.cfg.responsible);
        }
        let result = self
            .call(Priority::Delivery, "CmfTask.create", kwargs)
            .await?;
        // Made, but without its id we cannot tell: the retry looks it up.
        let remote = remote_id(Some(&result)).ok_or_else(|| {
            BackendError::transient("EvaTeam CmfTask.create: no task id in the answer")
        })?;
        let id = self.remember(&remote).await?;
        // The human code (SUP-000123) comes with a read.
        let t = self.task(id, Priority::Delivery).await.ok();
        Ok(self.created(id, t.as_ref()))
    }

    /// The task made for this request earlier: our reference in its text,
    /// checked on our side whatever the filter did.
    async fn find(&self, task: &NewTask) -> Result<Option<CreatedTask>, BackendError> {
        let found = self
            .list(
                Priority::Delivery,
                "CmfTask.list",
                json!({
                    "filter": [["project", "==", self.cfg.project], ["text", "LIKE", format!("%{}%", task.reference)]],
                    "fields": TASK_FIELDS,
                    "order_by": ["-cmf_created_at"],
                }),
            )
            .await?;
        let Some(t) = found
            .iter()
            .find(|t| text(t, &["text"]).is_some_and(|x| x.contains(&escape(&task.reference))))
        else {
            return Ok(None);
        };
        let Some(remote) = text(t, &["id"]) else {
            return Ok(None);
        };
        let id = self.remember(&remote).await?;
        Ok(Some(self.created(id, Some(t))))
    }

    async fn task(&self, id: TaskId, priority: Priority) -> Result<Value, BackendError> {
        let remote = self.remote_of(id).await?;
        let result = self
            .call(
                priority,
                "CmfTask.get",
                json!({ "filter": ["id", "==", remote], "fields": TASK_FIELDS }),
            )
            .await?;
        Some(result)
            .filter(|t| t.is_object())
            .ok_or_else(|| BackendError::Permanent {
                reason: format!("EvaTeam CmfTask.get: task {remote} not found"),
            })
    }

    async fn poll(&self, ids: &[TaskId]) -> Result<Vec<(TaskId, TaskState)>, BackendError> {
        let mut remotes = Vec::new();
        for id in ids {
            if let Ok(r) = self.remote_of(*id).await {
                remotes.push((r, *id));
            }
        }
        let mut out = Vec::new();
        for chunk in remotes.chunks(SLICE) {
            let wanted: Vec<&str> = chunk.iter().map(|(r, _)| r.as_str()).collect();
            let found = self
                .list(
                    Priority::Background,
                    "CmfTask.list",
                    json!({ "filter": ["id", "IN", wanted], "fields": TASK_FIELDS }),
                )
                .await?;
            for t in &found {
                let Some(remote) = text(t, &["id"]) else {
                    continue;
                };
                if let Some((_, id)) = chunk.iter().find(|(r, _)| *r == remote) {
                    if !out.iter().any(|(seen, _)| seen == id) {
                        out.push((*id, task_state(t)));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Three steps: the attachment, its upload URL, the file itself.
    async fn upload(&self, task: TaskId, file: &FileUpload) -> Result<i64, BackendError> {
        let remote = self.remote_of(task).await?;
        let made = self
            .call(
                Priority::Delivery,
                "CmfAttachment.create",
                json!({ "name": file.file_name, "parent": remote }),
            )
            .await?;
        let attachment = remote_id(Some(&made))
            .ok_or_else(|| BackendError::transient("EvaTeam CmfAttachment.create: no id"))?;
        let got = self
            .call(
                Priority::Delivery,
                "CmfAttachment.get",
                json!({ "filter": ["id", "==", attachment], "fields": ["url"] }),
            )
            .await?;
        let url = text(&got, &["url"])
            .ok_or_else(|| BackendError::transient("EvaTeam CmfAttachment.get: no upload URL"))?;
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url
        };
        self.budget.acquire(Priority::Delivery).await;
        let part = reqwest::multipart::Part::bytes(file.bytes.clone())
            .file_name(file.file_name.clone())
            .mime_str(&file.mime)
            .map_err(|e| BackendError::Permanent {
                reason: format!("EvaTeam upload: {e}"),
            })?;
        let sent = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await;
        if let Some(observe) = self.observer.get() {
            observe(
                "attachment upload",
                sent.as_ref().map_or(0, |r| r.status().as_u16()),
            );
        }
        let resp = sent.map_err(network_error)?;
        if resp.status().is_server_error() {
            return Err(BackendError::transient(format!(
                "EvaTeam upload: HTTP {}",
                resp.status()
            )));
        }
        if !resp.status().is_success() {
            return Err(BackendError::Permanent {
                reason: format!("EvaTeam upload: HTTP {}", resp.status()),
            });
        }
        Ok(local_id(&attachment))
    }

    async fn find_file(&self, task: TaskId, name: &str) -> Result<Option<i64>, BackendError> {
        let remote = self.remote_of(task).await?;
        let found = self
            .list(
                Priority::Delivery,
                "CmfAttachment.list",
                json!({ "filter": ["parent_id", "==", remote], "fields": ["id", "name", "size"] }),
            )
            .await?;
        // An attachment made but never filled is not a photo: upload again.
        Ok(found
            .iter()
            .filter(|a| text(a, &["name"]).as_deref() == Some(name))
            .filter(|a| crate::backend::json::int(a.get("size")).is_none_or(|s| s > 0))
            .find_map(|a| text(a, &["id"]))
            .map(|id| local_id(&id)))
    }

    async fn messages(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> Result<Vec<Message>, BackendError> {
        let remote = self.remote_of(task).await?;
        let found = self
            .list(
                priority,
                "CmfComment.list",
                json!({ "filter": ["parent_id", "==", remote], "fields": ["id", "text", "cmf_created_at", "cmf_author"] }),
            )
            .await?;
        let mut out: Vec<Message> = found
            .iter()
            .filter_map(|c| {
                Some(Message {
                    id: local_id(&text(c, &["id"])?),
                    created_at: time_of(c, &["cmf_created_at"]),
                    author: field(c, &["cmf_author"]).and_then(|a| match a {
                        Value::String(s) => Some(s.clone()),
                        o => text(o, &["name"]),
                    }),
                    text: plain_text(&text(c, &["text"])?),
                })
            })
            .collect();
        out.sort_by_key(|m| m.created_at.unwrap_or(0));
        Ok(out)
    }

    async fn comment(&self, task: TaskId, body: &str) -> Result<i64, BackendError> {
        let remote = self.remote_of(task).await?;
        let html = body.lines().map(escape).collect::<Vec<_>>().join("<br>");
        let result = self
            .call(
                Priority::Delivery,
                "CmfComment.create",
                json!({ "parent": remote, "text": html }),
            )
            .await?;
        Ok(remote_id(Some(&result)).map_or(0, |id| local_id(&id)))
    }

    async fn run_check(&self, lang: Lang, create_test_task: bool) -> CheckReport {
        let mut c = Checklist::new(lang);
        if self.check_project(&mut c).await.is_break() {
            return c.report;
        }
        self.check_responsible(&mut c).await;
        self.check_task_fields(&mut c);
        if create_test_task && c.report.can_create {
            self.check_test_task(&mut c).await;
        }
        c.report
    }

    /// 1. The token, and the project.
    async fn check_project(&self, c: &mut Checklist) -> std::ops::ControlFlow<()> {
        let project = &self.cfg.project;
        let query = json!({ "filter": ["code", "==", project], "fields": ["id", "code", "name"] });
        let found = match self
            .call(Priority::Background, "CmfProject.get", query)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let fix = c.t(
                    "Войдите под пользователем для API, Моя страница → Безопасность → Сгенерировать API токен, и укажите его в evateam.token",
                    "Sign in as the API user, My page → Security → Generate API token, and set evateam.token",
                );
                c.push(
                    Verdict::Fail,
                    c.t("Токен", "Token"),
                    e.to_string(),
                    Some(fix),
                );
                return std::ops::ControlFlow::Break(());
            }
        };
        let accepted = c.t("Токен принят", "Token accepted");
        c.push(Verdict::Ok, accepted, self.base.clone(), None);
        let what = c.t("Проект", "Project");
        if found.is_object() {
            let name = text(&found, &["name"]).unwrap_or_default();
            c.push(Verdict::Ok, what, format!("{project} · {name}"), None);
            c.report.can_create = true;
        } else {
            let detail = format!(
                "{project}: {}",
                c.t("такого проекта нет", "no such project")
            );
            let fix = c.t(
                "Укажите в evateam.project код существующего проекта",
                "Set evateam.project to an existing project's code",
            );
            c.push(Verdict::Fail, what, detail, Some(fix));
        }
        std::ops::ControlFlow::Continue(())
    }

    /// 2. The responsible, when one is set: by login, else by e-mail.
    async fn check_responsible(&self, c: &mut Checklist) {
        let r = self.cfg.responsible.trim();
        if r.is_empty() {
            return;
        }
        let what = c.t("Ответственный", "Responsible");
        for key in ["login", "email"] {
            let query = json!({ "filter": [key, "==", r], "fields": ["id", "login", "name"] });
            match self
                .call(Priority::Background, "CmfPerson.get", query)
                .await
            {
                Ok(p) if p.is_object() => {
                    let name = text(&p, &["name"]).unwrap_or_default();
                    c.push(Verdict::Ok, what, format!("{r} · {name}"), None);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    c.push(Verdict::Warn, what, e.to_string(), None);
                    return;
                }
            }
        }
        c.report.can_create = false;
        let detail = format!("{r}: {}", c.t("такого пользователя нет", "no such user"));
        let fix = c.t(
            "Укажите в evateam.responsible логин или e-mail пользователя EvaTeam, или оставьте пустым",
            "Set evateam.responsible to an EvaTeam user's login or e-mail, or leave it empty",
        );
        c.push(Verdict::Fail, what, detail, Some(fix));
    }

    /// 3. A dry run of what a task carries.
    fn check_task_fields(&self, c: &mut Checklist) {
        let mut carries = vec![format!("name, text (HTML), project = {}", self.cfg.project)];
        if !self.cfg.list.is_empty() {
            carries.push(format!("lists = [{}]", self.cfg.list));
        }
        if !self.cfg.responsible.is_empty() {
            carries.push(format!("responsible = {}", self.cfg.responsible));
        }
        let what = c.t("Новая задача получит", "A new task gets");
        c.push(Verdict::Ok, what, carries.join("; "), None);
    }

    /// 4. A test task, only when asked.
    async fn check_test_task(&self, c: &mut Checklist) {
        let created = self.create(&c.test_task()).await;
        c.test_task_line(created, |t| t.number.clone().unwrap_or_default());
    }
}

impl TaskBackend for EvaTeamClient {
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
        _attachments: &'a [i64],
        _external: bool,
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        // Photos are attached to the task itself; a note for the team is
        // kept off the status page by its qrdesk marker.
        Box::pin(self.comment(task, text))
    }

    fn reopen(&self, _task: TaskId) -> BoxFuture<'_, Result<bool, BackendError>> {
        // No documented way to set a status: the comment says it.
        Box::pin(async { Ok(false) })
    }

    fn check(&self, lang: Lang, create_test_task: bool) -> BoxFuture<'_, CheckReport> {
        Box::pin(self.run_check(lang, create_test_task))
    }

    fn name(&self) -> &'static str {
        "EvaTeam"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            staff_replies: true,
            comments: true,
            reopen: false,
            synced_catalog: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_maps_to_the_timeline_by_its_status_type() {
        let t = json!({"id": "CmfTask:1", "code": "SUP-000123", "cache_status_type": "IN_REVIEW",
            "cmf_created_at": "2026-12-01T10:00:00+03:00", "cmf_modified_at": "2026-12-01T12:00:00+03:00"});
        let s = task_state(&t);
        assert_eq!(s.number.as_deref(), Some("SUP-000123"));
        assert_eq!(s.status_name.as_deref(), Some("На проверке"));
        assert!(s.in_work_at.is_some() && s.completed_at.is_some() && s.closed_at.is_none());
        let named = json!({"cache_status_type": "CLOSED", "status": {"name": "Решено", "color": "#00aa00"}});
        let s = task_state(&named);
        assert_eq!(s.status_name.as_deref(), Some("Решено"));
        assert_eq!(s.status_color.as_deref(), Some("#00aa00"));
        let open = task_state(&json!({"cache_status_type": "OPEN"}));
        assert!(open.in_work_at.is_none());
    }

    #[test]
    fn comment_html_reads_as_plain_text() {
        assert_eq!(
            plain_text(
                "<p>Мастер придёт&nbsp;в 14:00</p><p>Тел. &lt;495&gt; &amp; доб.<br/>12</p>"
            ),
            "Мастер придёт в 14:00\nТел. <495> & доб.\n12"
        );
        assert_eq!(plain_text("без тегов"), "без тегов");
    }
}
