//! The task system behind qrdesk, seen through one trait.
//!
//! Intake and delivery speak these types only: qrdesk's own request
//! ([`NewTask`]), task references and states. `hubex/` and `bitrix24/` each
//! turn them into their system's wire format and fields.

pub mod bitrix24;
pub mod budget;
pub mod connect;
pub mod evateam;
pub mod faults;
pub mod hubex;
pub mod json;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use crate::domain::task::{
    Asset, AssetId, CatalogSnapshot, Company, CompanyId, CreatedTask, Criticality, District,
    DistrictId, FileUpload, KnownCatalog, Location, LocationId, Message, Named, TaskId, TaskState,
    UserId,
};
pub use budget::Priority;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One request as qrdesk knows it, for any task system: what, where, who,
/// and the reference that finds the task again. Each backend turns it into
/// its own fields (HubEx: task type, request method, criticality, the
/// anonymous user; Bitrix24: responsible, group, auditors).
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// Idempotency stamp: the same request always sends the same stamp.
    pub stamp: uuid::Uuid,
    /// External reference stored with the task, used to find it again.
    pub reference: String,
    /// When the request was accepted (Unix ms): a lookup after an unknown
    /// outcome needs to look no further back than this.
    pub created_at: i64,
    /// The customer's words.
    pub description: String,
    pub asset: Option<TaskAsset>,
    /// The asset's address, or the site's.
    pub address: Option<String>,
    pub location_id: Option<LocationId>,
    pub company_id: Option<CompanyId>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    /// The sticker the request came from.
    pub code: String,
}

/// The equipment a request is about.
#[derive(Debug, Clone)]
pub struct TaskAsset {
    pub id: AssetId,
    pub name: String,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
}

impl NewTask {
    /// A task title: the description's first non-empty line, at most 120
    /// characters.
    pub fn title(&self) -> String {
        let line = self
            .description
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("Заявка qrdesk");
        if line.chars().count() <= 120 {
            line.to_owned()
        } else {
            let mut cut: String = line.chars().take(119).collect();
            cut.push('…');
            cut
        }
    }

    /// The task's text: the customer's words first, then what the dispatcher
    /// needs, one line each.
    pub fn text_plain(&self) -> String {
        let t = TaskText::of(self);
        let mut lines = vec![t.description.to_owned(), String::new()];
        if let Some(name) = t.asset_name {
            let mut ids = Vec::new();
            if let Some(s) = t.serial_number {
                ids.push(format!("S/N {s}"));
            }
            if let Some(i) = t.inventory_number {
                ids.push(format!("инв. № {i}"));
            }
            if ids.is_empty() {
                lines.push(format!("Оборудование: {name}"));
            } else {
                lines.push(format!("Оборудование: {name} ({})", ids.join(", ")));
            }
        }
        if let Some(a) = t.address {
            lines.push(format!("Адрес: {a}"));
        }
        let contact: Vec<&str> = [t.contact_name, t.contact_phone, t.contact_email]
            .into_iter()
            .flatten()
            .collect();
        if !contact.is_empty() {
            lines.push(format!("Контакт: {}", contact.join(", ")));
        }
        if !t.code.is_empty() {
            lines.push(format!("QR-код: {}", t.code));
        }
        lines.push(format!("Заявка qrdesk: {}", t.reference));
        lines.join("\n")
    }

    /// The same as HTML, every value escaped.
    pub fn text_html(&self) -> Result<String, BackendError> {
        askama::Template::render(&TaskText::of(self)).map_err(|e| BackendError::Permanent {
            reason: format!("cannot write the task's text: {e}"),
        })
    }
}

#[derive(askama::Template)]
#[template(path = "task/text.html")]
struct TaskText<'a> {
    description: &'a str,
    asset_name: Option<&'a str>,
    serial_number: Option<&'a str>,
    inventory_number: Option<&'a str>,
    address: Option<&'a str>,
    contact_name: Option<&'a str>,
    contact_phone: Option<&'a str>,
    contact_email: Option<&'a str>,
    code: &'a str,
    reference: &'a str,
}

impl<'a> TaskText<'a> {
    fn of(t: &'a NewTask) -> Self {
        let asset = t.asset.as_ref();
        TaskText {
            description: &t.description,
            asset_name: asset.map(|a| a.name.as_str()).filter(|n| !n.is_empty()),
            serial_number: asset.and_then(|a| a.serial_number.as_deref()),
            inventory_number: asset.and_then(|a| a.inventory_number.as_deref()),
            address: t.address.as_deref(),
            contact_name: t.contact_name.as_deref(),
            contact_phone: t.contact_phone.as_deref(),
            contact_email: t.contact_email.as_deref(),
            code: &t.code,
            reference: &t.reference,
        }
    }
}

/// What a task system lets qrdesk do beyond creating tasks; the status page
/// offers only what the backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Staff replies can be read back for the status page.
    pub staff_replies: bool,
    /// The customer can comment (and say "still not working").
    pub comments: bool,
    /// "Still not working" reopens the task, not only comments on it.
    pub reopen: bool,
    /// The catalog is read from the task system (else qrdesk keeps its own).
    pub synced_catalog: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// Worth another try later: network trouble, timeouts, 429, 5xx.
    #[error("temporary failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The task system refused the data; retrying the same call cannot help.
    #[error("refused: {reason}")]
    Permanent { reason: String },
    /// The idempotency stamp was already used: the task may exist already.
    #[error("the idempotency stamp was already used")]
    DuplicateStamp,
}

impl BackendError {
    pub fn transient(reason: impl Into<String>) -> Self {
        BackendError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// What [`TaskBackend::observe_calls`] is told of each call.
pub type CallObserver = Box<dyn Fn(&str, u16) + Send + Sync>;

/// A task system that qrdesk can deliver requests to.
pub trait TaskBackend: Send + Sync + 'static {
    /// The budget every call to the task system is taken from, if it has one.
    fn call_budget(&self) -> Option<&budget::CallBudget> {
        None
    }

    /// Hears of every call from now on: its path and HTTP status (0: no answer).
    fn observe_calls(&self, _observer: CallObserver) {}

    fn create_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<CreatedTask, BackendError>>;

    /// Finds a task created earlier for this request (by its reference).
    fn find_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<Option<CreatedTask>, BackendError>>;

    fn task_state(
        &self,
        id: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<TaskState, BackendError>>;

    /// The state of many tasks in few calls. With `changed_since` (Unix ms)
    /// it may return only those of `tasks` changed since then; without, it
    /// returns every one it can read.
    fn poll_tasks<'a>(
        &'a self,
        tasks: &'a [TaskId],
        changed_since: Option<i64>,
    ) -> BoxFuture<'a, Result<Vec<(TaskId, TaskState)>, BackendError>>;

    /// Attaches a file to a task; returns the task system's attachment id.
    fn upload_attachment<'a>(
        &'a self,
        task: TaskId,
        file: &'a FileUpload,
    ) -> BoxFuture<'a, Result<i64, BackendError>>;

    /// Finds a file attached earlier under `file_name` (after an unknown outcome).
    fn find_attachment<'a>(
        &'a self,
        task: TaskId,
        file_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>>;

    /// The customer-facing (external) conversation of a task, oldest first.
    fn conversation(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<Vec<Message>, BackendError>>;

    /// Posts a comment with already attached files; returns its id.
    /// `external`: in the customer's chat; otherwise a note for the team only.
    fn post_comment<'a>(
        &'a self,
        task: TaskId,
        text: &'a str,
        attachments: &'a [i64],
        external: bool,
    ) -> BoxFuture<'a, Result<i64, BackendError>>;

    /// Finds a comment (in either chat) whose text contains `marker`, after
    /// an unknown outcome. By default: in the conversation.
    fn find_comment<'a>(
        &'a self,
        task: TaskId,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>> {
        Box::pin(async move {
            Ok(self
                .conversation(task, Priority::Delivery)
                .await?
                .into_iter()
                .find(|m| m.text.contains(marker))
                .map(|m| m.id))
        })
    }

    /// Reopens a task the customer says is still not working, where the
    /// backend can; `Ok(false)`: it cannot or is not set to (a comment says it).
    fn reopen(&self, task: TaskId) -> BoxFuture<'_, Result<bool, BackendError>>;

    /// Checks the connection line by line (`qrdesk check`); creates a test
    /// task only when `create_test_task` says so.
    fn check(
        &self,
        lang: crate::domain::lang::Lang,
        create_test_task: bool,
    ) -> BoxFuture<'_, CheckReport>;

    /// The task system's name, for messages ("HubEx", "Bitrix24").
    fn name(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Reads the whole catalog, reporting how far it got; what `known` says
    /// is unchanged is not read again. By default there is none: qrdesk
    /// keeps its own (`Capabilities::synced_catalog` is false).
    fn fetch_catalog<'a>(
        &'a self,
        _known: &'a KnownCatalog,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<CatalogSnapshot, BackendError>> {
        Box::pin(async {
            Err(BackendError::Permanent {
                reason: format!(
                    "{} keeps no equipment catalog: qrdesk keeps its own (Каталог → Добавить, qrdesk assets create / import)",
                    self.name()
                ),
            })
        })
    }
}

/// A transport failure talking to `system`, worth another try. Never with
/// the URL: a Bitrix24 webhook's holds its secret.
pub fn network_error(system: &str, e: reqwest::Error) -> BackendError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_decode() {
        "unreadable answer"
    } else {
        "connection error"
    };
    BackendError::transient(format!("{system} {kind}: {}", e.without_url()))
}

/// `Retry-After` in seconds (the HTTP-date form falls back to our own backoff).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

/// Serves a simulator on a free loopback port; returns where.
pub(crate) async fn on_loopback(
    spawn: impl FnOnce(tokio::net::TcpListener) -> std::net::SocketAddr,
) -> anyhow::Result<std::net::SocketAddr> {
    Ok(spawn(tokio::net::TcpListener::bind("127.0.0.1:0").await?))
}

/// A connection check's text in the report's language.
pub fn in_lang(lang: crate::domain::lang::Lang, ru: &str, en: &str) -> String {
    match lang {
        crate::domain::lang::Lang::Ru => ru.to_owned(),
        crate::domain::lang::Lang::En => en.to_owned(),
    }
}

/// Only `#rgb`/`#rrggbb` colours reach a page's style attribute.
pub fn is_css_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How one line of a connection check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl Verdict {
    /// For the terminal: fixed width, upper case when it needs action.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }

    /// A CSS class for the admin page.
    pub fn class(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// One line of a connection check: what was checked, what was found, and
/// what to do when it failed.
#[derive(Debug, Clone)]
pub struct CheckItem {
    pub verdict: Verdict,
    pub what: String,
    pub detail: String,
    pub fix: Option<String>,
}

/// A connection check, line by line.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub items: Vec<CheckItem>,
    /// Everything a new task needs is in place.
    pub can_create: bool,
    /// The test task, when one was asked for and created.
    pub created: Option<CreatedTask>,
    /// Unix ms.
    pub checked_at: i64,
}

/// A connection check being written, the same for every task system: one
/// line per thing that must hold, in the asker's language.
pub struct Checklist {
    pub lang: crate::domain::lang::Lang,
    pub report: CheckReport,
}

impl Checklist {
    pub fn new(lang: crate::domain::lang::Lang) -> Checklist {
        Checklist {
            lang,
            report: CheckReport {
                checked_at: crate::store::now_ms(),
                ..CheckReport::default()
            },
        }
    }

    /// A text in the check's language.
    pub fn t(&self, ru: &str, en: &str) -> String {
        in_lang(self.lang, ru, en)
    }

    /// The check's test task, which staff may close.
    pub fn test_task(&self) -> NewTask {
        let id = uuid::Uuid::now_v7();
        NewTask {
            stamp: id,
            reference: format!("qrdesk-check-{id}"),
            created_at: crate::store::now_ms(),
            description: self.t(
                "Проверка связи qrdesk (qrdesk check --create-test-task). Эту задачу можно закрыть.",
                "qrdesk connection check (qrdesk check --create-test-task). You may close this task.",
            ),
            ..NewTask::default()
        }
    }

    /// The test task's line: `detail` says which task it is.
    pub fn test_task_line(
        &mut self,
        created: Result<CreatedTask, BackendError>,
        detail: impl Fn(&CreatedTask) -> String,
    ) {
        match created {
            Ok(created) => {
                let what = self.t("Проверочная задача создана", "Test task created");
                self.push(Verdict::Ok, what, detail(&created), None);
                self.report.created = Some(created);
            }
            Err(e) => {
                let what = self.t("Проверочная задача", "Test task");
                self.push(Verdict::Fail, what, e.to_string(), None);
            }
        }
    }

    pub fn push(&mut self, verdict: Verdict, what: String, detail: String, fix: Option<String>) {
        self.report.items.push(CheckItem {
            verdict,
            what,
            detail,
            fix,
        });
    }
}

/// Where a long read reports how far it got (the admin page shows it).
pub trait Progress: Send + Sync {
    fn step(&self, phase: &str, done: usize, total: usize);
}

/// For callers nobody watches (the CLI, tests).
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _phase: &str, _done: usize, _total: usize) {}
}
