//! The task system behind qrdesk, seen through one trait.
//!
//! Intake and delivery speak these types only: qrdesk's own request
//! ([`NewTask`]), task references and states. `hubex/` and `bitrix24/` each
//! turn them into their system's wire format and fields.

pub mod bitrix24;
pub mod budget;
pub mod evateam;
pub mod faults;
pub mod hubex;
pub mod json;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use budget::Priority;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($name(<i64 as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// An asset (equipment) in the task system.
    AssetId,
    /// A location (site, address).
    LocationId,
    /// A customer company.
    CompanyId,
    /// A district, "участок": the unit of access for service users.
    DistrictId,
    /// A task ("заявка").
    TaskId,
    /// A user (the anonymous user's `userID`).
    UserId,
);

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

/// One message of a task's external conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    /// Unix milliseconds.
    pub created_at: Option<i64>,
    pub author: Option<String>,
    pub text: String,
}

/// A file to attach to a task. The name is unique per file, so it can be found again.
#[derive(Debug, Clone)]
pub struct FileUpload {
    pub file_name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTask {
    pub id: TaskId,
    pub number: Option<String>,
    /// The new task's state where the create answer (or a read the create
    /// needed anyway) gave it: delivery then reads nothing more.
    pub state: Option<TaskState>,
}

/// What the status page shows of a task. Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    pub number: Option<String>,
    pub status_name: Option<String>,
    pub status_color: Option<String>,
    pub created_at: Option<i64>,
    /// When an engineer was assigned, if the task system says.
    pub in_work_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// When the task system last changed the task (its conversation included,
    /// where it says so); a change is what makes a poll read the conversation.
    pub modified_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    pub districts: Vec<District>,
    pub locations: Vec<Location>,
    pub companies: Vec<Company>,
    pub assets: Vec<Asset>,
    pub task_types: Vec<Named>,
    pub criticalities: Vec<Criticality>,
    pub request_methods: Vec<Named>,
    pub anonymous_user: Option<UserId>,
    /// How the assets' участки were learnt, for the log and the admin page.
    pub district_source: String,
    /// Every asset's участки were read afresh (not kept from the last sync).
    pub mapped_in_full: bool,
    /// Calls this sync made.
    pub calls: u64,
}

/// What the local catalog already knows, so a sync reads only what changed.
#[derive(Debug, Clone, Default)]
pub struct KnownCatalog {
    /// Each asset's fingerprint and участки as of the last sync.
    pub assets: HashMap<AssetId, (String, Vec<DistrictId>)>,
    /// Each участок's asset count as of the last sync, when the system gives one.
    pub district_counts: HashMap<DistrictId, i64>,
    /// When every asset's участки were last read in full (Unix ms).
    pub mapped_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct District {
    pub id: DistrictId,
    pub name: String,
    pub parent_id: Option<DistrictId>,
    pub assets_count: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: LocationId,
    pub address: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: AssetId,
    pub name: String,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
    pub company_id: Option<CompanyId>,
    pub location_id: Option<LocationId>,
    pub districts: Vec<DistrictId>,
    /// Changes whenever a field qrdesk keeps changes.
    pub fingerprint: String,
}

#[derive(Debug, Clone)]
pub struct Named {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone)]
pub struct Criticality {
    pub id: i64,
    pub name: String,
    pub color: Option<String>,
    pub is_default: bool,
    pub sort_order: Option<i64>,
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
        lang: crate::web::i18n::Lang,
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

/// A connection check's text in the report's language.
pub fn in_lang(lang: crate::web::i18n::Lang, ru: &str, en: &str) -> String {
    match lang {
        crate::web::i18n::Lang::Ru => ru.to_owned(),
        crate::web::i18n::Lang::En => en.to_owned(),
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

/// Where a long read reports how far it got (the admin page shows it).
pub trait Progress: Send + Sync {
    fn step(&self, phase: &str, done: usize, total: usize);
}

/// For callers nobody watches (the CLI, tests).
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&self, _phase: &str, _done: usize, _total: usize) {}
}
