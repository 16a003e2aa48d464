//! The task system behind qrdesk, seen through one trait.
//!
//! Intake and delivery speak these types only; `hubex/` turns them into HubEx's
//! wire format. Another system (EvaTeam, Bitrix24) would be a second module that
//! implements [`TaskBackend`].

pub mod budget;
pub mod hubex;

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

/// Everything needed to create one task.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Idempotency stamp: the same request always sends the same stamp.
    pub stamp: uuid::Uuid,
    /// External reference stored with the task, used to find it again.
    pub reference: String,
    /// When the request was accepted (Unix ms): a lookup after an unknown
    /// outcome needs to look no further back than this.
    pub created_at: i64,
    pub task_type_id: i64,
    pub request_method_id: i64,
    pub criticality_id: Option<i64>,
    pub asset_id: Option<AssetId>,
    pub location_id: Option<LocationId>,
    pub company_id: Option<CompanyId>,
    pub notes: String,
    pub notes_html: String,
    pub contact_person: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub requested_by: Option<UserId>,
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
    /// an unknown outcome.
    fn find_comment<'a>(
        &'a self,
        task: TaskId,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>>;

    /// Moves a task to a stage (used to reopen it).
    fn move_to_stage(&self, task: TaskId, stage: i64) -> BoxFuture<'_, Result<(), BackendError>>;

    /// Checks the connection line by line (`qrdesk check`); creates a test
    /// task only when `create_test_task` says so.
    fn check<'a>(
        &'a self,
        config: &'a crate::config::HubexConfig,
        lang: crate::web::i18n::Lang,
        create_test_task: bool,
    ) -> BoxFuture<'a, CheckReport>;

    /// Reads the whole catalog, reporting how far it got; what `known` says
    /// is unchanged is not read again.
    fn fetch_catalog<'a>(
        &'a self,
        known: &'a KnownCatalog,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<CatalogSnapshot, BackendError>>;
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
