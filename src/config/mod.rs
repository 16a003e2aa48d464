//! Typed configuration: defaults in code < `config/default.toml` (or `--config`)
//! < `QRDESK_…` environment variables.
//!
//! Every layer is checked against the shape of the defaults, so a typo or a value
//! of the wrong type stops the start-up with a message that names the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub backend: BackendConfig,
    pub status: StatusConfig,
    pub intake: IntakeConfig,
    pub catalog: CatalogConfig,
    pub hubex: HubexConfig,
    pub bitrix24: Bitrix24Config,
    pub evateam: EvaTeamConfig,
    pub delivery: DeliveryConfig,
    pub limits: LimitsConfig,
    pub mail: MailConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub privacy: PrivacyConfig,
    pub webhooks: WebhooksConfig,
    pub organisation: OrganisationConfig,
    /// Old key names met while loading, each with the name to use instead:
    /// logged once at start.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The organisation, when it is set by configuration rather than (or
/// before) Settings → Кабинет; a field saved there wins.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationConfig {
    pub name: String,
    pub description: String,
    pub phone: String,
    pub privacy_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Customers' name, phone and e-mail are erased this long after their
    /// request's task is closed (the request itself stays).
    pub contact_retention_days: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Lets endpoints on loopback, private and link-local addresses through
    /// (tests, or a receiver inside the same network on purpose).
    pub allow_private_targets: bool,
    /// Seconds a receiver has to answer.
    pub timeout_secs: u64,
    /// Seconds before each retry after a failed attempt; after the last one
    /// the delivery counts as failed.
    pub retry_delays_secs: Vec<u64>,
    /// An endpoint failing for this long is switched off.
    pub disable_after_hours: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (for people) or `json` (one object a line, for collectors).
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// When set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub token: Secret,
    /// Empty: `/metrics` is on the main listener. `IP:PORT`: only there.
    pub listen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// Base URL printed on labels. Empty: `http://` + the bound address.
    pub public_url: String,
    /// Directory for the SQLite database and other data.
    pub data_dir: String,
    /// Seconds to wait for in-flight requests on shutdown.
    pub shutdown_grace_secs: u64,
    /// Offset from UTC for times shown on pages, in minutes (Moscow: 180).
    pub utc_offset_minutes: i32,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For`/`Forwarded` is believed.
    pub trusted_proxies: Vec<String>,
    /// A connection that has not sent a whole request head this long after
    /// it opened (or after its last answer) is closed.
    pub header_read_timeout_secs: u64,
    /// A request body that sends nothing for this long is cut off.
    pub body_stall_secs: u64,
    /// Longest a request may take in all (a big upload on a slow phone included).
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db`. Empty: `<data_dir>/qrdesk.db`.
    pub url: String,
    pub max_connections: u32,
}

/// Which task system requests go to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// HubEx, with its catalog synced (`[hubex]`).
    Hubex,
    /// Bitrix24 through an inbound webhook (`[bitrix24]`); qrdesk keeps
    /// the equipment catalog itself.
    Bitrix24,
    /// EvaTeam through its JSON-RPC API (`[evateam]`); qrdesk keeps the
    /// equipment catalog itself.
    Evateam,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Hubex => "HubEx",
            BackendKind::Bitrix24 => "Bitrix24",
            BackendKind::Evateam => "EvaTeam",
        }
    }

    /// Its configuration section.
    pub fn section(self) -> &'static str {
        match self {
            BackendKind::Hubex => "hubex",
            BackendKind::Bitrix24 => "bitrix24",
            BackendKind::Evateam => "evateam",
        }
    }
}

/// Bitrix24 through an inbound webhook created by the portal's
/// administrator or its integrator, with the scopes task, disk and user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bitrix24Config {
    pub mode: Mode,
    /// `https://PORTAL/rest/USER_ID/SECRET/`: the credential. Never logged.
    pub webhook_url: Secret,
    /// The employee new tasks are given to (`RESPONSIBLE_ID`).
    pub responsible_id: i64,
    /// A workgroup or project for new tasks; 0: none.
    pub group_id: i64,
    /// Who the task says created it; 0: the webhook's own user.
    pub created_by: i64,
    /// Employees who watch every new task.
    pub auditors: Vec<i64>,
    /// The Drive folder photos are uploaded to; 0: the webhook user's own drive.
    pub folder_id: i64,
    /// How comments are posted and read: `auto` (the old comment methods,
    /// else the task chat), `comments` or `chat`.
    pub comments: CommentApi,
    /// Per-call timeout in seconds.
    pub timeout_secs: u64,
    /// Calls per minute from this instance; Bitrix24 drains about two a
    /// second per portal, so the default stays below that.
    pub max_calls_per_minute: u32,
}

/// EvaTeam through its API, with the token of a dedicated API user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaTeamConfig {
    pub mode: Mode,
    /// The installation, e.g. `https://eva.example.ru`; calls go to `/api/`.
    pub base_url: String,
    /// The API user's token (Моя страница → Безопасность). Never logged.
    pub token: Secret,
    /// The project's code new tasks go to.
    pub project: String,
    /// A list (board column) of the project; empty: the project's default.
    pub list: String,
    /// Who new tasks are given to (login or e-mail); empty: nobody yet.
    pub responsible: String,
    /// Per-call timeout in seconds.
    pub timeout_secs: u64,
    /// Calls per minute from this instance (EvaTeam documents no limit).
    pub max_calls_per_minute: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentApi {
    Auto,
    Comments,
    Chat,
}

/// How qrdesk reaches a task system, the same for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The system's in-process simulator with demo data.
    Simulator,
    /// The real service (a tenant, a portal, an installation), or anything
    /// that speaks its API at the configured address.
    Live,
}

/// Following a task's status, for every task system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// Seconds between status polls of open tasks; 0 turns polling off.
    pub poll_secs: u64,
    /// A status page re-reads the task from the task system when its copy is older.
    pub max_age_secs: u64,
    /// The task in the task system's web app, for staff: `{id}` and
    /// `{number}` are replaced (`https://app.hubex.ru/tasks/{id}`); empty: no link.
    pub task_link: String,
}

/// The public form, for every task system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfig {
    /// An asset's form lists its open requests of the last 14 days with
    /// "I have the same problem", which comments on that task instead of
    /// creating a new one.
    pub same_problem: bool,
}

/// Which part of the catalog may receive requests, for every task system.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// District (участок) ids that may receive requests; empty: every
    /// district the service user can see.
    pub allowed_districts: Vec<i64>,
}

mod renamed;
use renamed::rename_in_table;
pub use renamed::{env_name, RENAMED};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubexConfig {
    pub mode: Mode,
    /// API root, e.g. `https://api.hubex.ru/fsm`. A URL without a path gets `/fsm`.
    pub base_url: String,
    /// Token of the tenant's "Пользователь API" service user. Never logged.
    pub service_token: Secret,
    /// Value of the `X-Application-ID` header.
    pub application_id: u32,
    /// `requestMethodID` for new tasks; 0 picks a QR/web method from the catalog.
    pub request_method_id: i64,
    /// `taskTypeID` for new tasks; 0 picks the catalog's default type.
    pub task_type_id: i64,
    /// `criticalityID` for new tasks; 0 picks the catalog's default, if any.
    pub criticality_id: i64,
    /// Per-call timeout in seconds.
    pub timeout_secs: u64,
    /// Seconds between background catalog syncs; 0 turns the periodic sync off.
    pub sync_interval_secs: u64,
    /// Page size used with `Range: items=FROM-TILL`.
    pub page_size: u32,
    /// Calls to HubEx per minute from this instance (its advice: about 60).
    pub max_calls_per_minute: u32,
    /// Stage a task is moved to when the customer says it is still not
    /// working; 0: only a comment is posted.
    pub reopen_stage_id: i64,
    /// In simulator mode: answer lists in HubEx's documented shapes, or in
    /// the other ones (arrays for keyed maps and back, PascalCase names).
    pub sim_shape: SimShape,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Jobs handled at once by one instance.
    pub concurrency: u32,
    /// First retry delay in milliseconds; doubles per attempt, with jitter.
    pub base_delay_ms: u64,
    /// Longest delay between two attempts, in seconds.
    pub max_delay_secs: u64,
    /// How long a claim lasts before another worker may take the job over.
    pub lease_secs: u64,
    /// How often an idle worker looks for due jobs, in milliseconds.
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub description_min_chars: usize,
    pub description_max_chars: usize,
    pub name_max_chars: usize,
    /// Largest accepted form body without photos, in bytes.
    pub form_body_bytes: usize,
    /// Photos per request.
    pub photos_max: usize,
    /// Largest photo file, in bytes.
    pub photo_max_bytes: usize,
    /// Largest request with photos, in bytes.
    pub request_max_bytes: usize,
    /// A body with photos must come in at least this fast on average, after
    /// the first `server.body_stall_secs`; a slower one is cut off (408).
    pub upload_min_bytes_per_sec: u64,
    /// Photo bytes waiting on disk for all uploads together, and for one
    /// client address; an upload past either gets "busy, try again" (503).
    pub spool_max_bytes: u64,
    pub spool_client_max_bytes: u64,
    /// Largest photo, in megapixels (checked before decoding).
    pub photo_max_megapixels: u64,
    /// Days a delivered photo is kept before its file is removed.
    pub photo_retention_days: u64,
    /// Public form posts per client IP per minute, and the burst allowed.
    pub posts_per_minute: u32,
    pub posts_burst: u32,
    /// Public page loads (forms, status pages) per client IP per minute, and the burst.
    pub gets_per_minute: u32,
    pub gets_burst: u32,
    /// Password checks (admin sign-in, first setup, password change) per
    /// client IP per minute, and the burst.
    pub sign_in_per_minute: u32,
    pub sign_in_burst: u32,
    /// JSON API calls per token.
    pub api_per_minute: u32,
    pub api_burst: u32,
    /// A request over its quota gets its 429 after this delay, so a looping
    /// script slows down instead of taking the CPU; 0: at once.
    pub limited_delay_ms: u64,
    /// Requests one code may create per hour (one sticker, not 500 tasks).
    pub code_requests_per_hour: u32,
    /// A form sent sooner than this after it was opened is a script's, and is
    /// dropped quietly.
    pub min_fill_ms: u64,
    /// The same text on the same code within this many seconds joins the
    /// first request; 0 turns the guard off.
    pub duplicate_window_secs: u64,
    /// "I have the same problem" notes one request may get per hour; more are
    /// thanked but not posted.
    pub same_problem_per_hour: u32,
    /// When the form asks for proof of work: `auto` above the thresholds
    /// below, `always`, or `off`.
    pub challenge: ChallengeMode,
    /// `auto`: a code with this many requests in the last hour asks for it.
    pub challenge_code_per_hour: u32,
    /// `auto`: this many requests across all codes in the last minute turn it on everywhere.
    pub challenge_global_per_minute: u32,
    /// The work: the browser tries up to this many SHA-256 hashes (half on average).
    pub challenge_max_number: u32,
    /// Without JavaScript the sum counts only once the form was open this long.
    pub challenge_sum_min_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeMode {
    Auto,
    Always,
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:25`, `smtp://user:password@host:587?tls=required` or
    /// `smtps://user:password@host`. Empty: no e-mail is sent.
    pub smtp_url: Secret,
    /// The sender, e.g. `Сервисная служба <noreply@example.ru>`.
    pub from: String,
    /// Also write on each status change, not only when the request is accepted.
    pub status_changes: bool,
    /// Seconds to wait for the mail server.
    pub timeout_secs: u64,
    /// The key that seals status links kept for e-mail. Empty:
    /// `<data_dir>/mail-link.key`. Keep it out of database backups.
    pub link_key_file: String,
}

/// A value that must never reach a log: its `Debug` says only whether it is set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_empty() { "(empty)" } else { "(set)" })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig {
                listen: "127.0.0.1:8080".into(),
                public_url: String::new(),
                data_dir: "data".into(),
                shutdown_grace_secs: 20,
                utc_offset_minutes: 180,
                trusted_proxies: Vec::new(),
                header_read_timeout_secs: 15,
                body_stall_secs: 30,
                request_timeout_secs: 600,
            },
            database: DatabaseConfig {
                url: String::new(),
                max_connections: 8,
            },
            backend: BackendConfig {
                kind: BackendKind::Hubex,
            },
            bitrix24: Bitrix24Config {
                mode: Mode::Simulator,
                webhook_url: Secret::default(),
                responsible_id: 0,
                group_id: 0,
                created_by: 0,
                auditors: Vec::new(),
                folder_id: 0,
                comments: CommentApi::Auto,
                timeout_secs: 30,
                max_calls_per_minute: 90,
            },
            evateam: EvaTeamConfig {
                mode: Mode::Simulator,
                base_url: String::new(),
                token: Secret::default(),
                project: String::new(),
                list: String::new(),
                responsible: String::new(),
                timeout_secs: 30,
                max_calls_per_minute: 120,
            },
            status: StatusConfig {
                poll_secs: 120,
                max_age_secs: 30,
                task_link: String::new(),
            },
            intake: IntakeConfig { same_problem: true },
            catalog: CatalogConfig::default(),
            hubex: HubexConfig {
                mode: Mode::Simulator,
                base_url: "https://api.hubex.ru/fsm".into(),
                service_token: Secret::default(),
                application_id: 3,
                request_method_id: 0,
                task_type_id: 0,
                criticality_id: 0,
                timeout_secs: 20,
                sync_interval_secs: 900,
                page_size: 200,
                max_calls_per_minute: 60,
                reopen_stage_id: 0,
                sim_shape: SimShape::Documented,
            },
            delivery: DeliveryConfig {
                concurrency: 2,
                base_delay_ms: 2000,
                max_delay_secs: 600,
                lease_secs: 120,
                poll_ms: 1000,
            },
            limits: LimitsConfig {
                description_min_chars: 10,
                description_max_chars: 4000,
                name_max_chars: 200,
                form_body_bytes: 64 * 1024,
                photos_max: 5,
                photo_max_bytes: 15 * 1024 * 1024,
                request_max_bytes: 50 * 1024 * 1024,
                upload_min_bytes_per_sec: 2048,
                spool_max_bytes: 1024 * 1024 * 1024,
                spool_client_max_bytes: 100 * 1024 * 1024,
                photo_max_megapixels: 40,
                photo_retention_days: 30,
                posts_per_minute: 10,
                posts_burst: 5,
                gets_per_minute: 120,
                gets_burst: 60,
                sign_in_per_minute: 10,
                sign_in_burst: 10,
                api_per_minute: 600,
                api_burst: 100,
                limited_delay_ms: 500,
                code_requests_per_hour: 30,
                min_fill_ms: 2000,
                duplicate_window_secs: 600,
                same_problem_per_hour: 5,
                challenge: ChallengeMode::Auto,
                challenge_code_per_hour: 5,
                challenge_global_per_minute: 20,
                challenge_max_number: 100_000,
                challenge_sum_min_secs: 15,
            },
            mail: MailConfig {
                smtp_url: Secret::default(),
                from: String::new(),
                status_changes: true,
                timeout_secs: 20,
                link_key_file: String::new(),
            },
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            privacy: PrivacyConfig {
                contact_retention_days: 180,
            },
            organisation: OrganisationConfig::default(),
            warnings: Vec::new(),
            webhooks: WebhooksConfig {
                allow_private_targets: false,
                timeout_secs: 15,
                // The Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
                retry_delays_secs: vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000],
                disable_after_hours: 5 * 24,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("unknown config key `{key}` (from {origin})")]
    UnknownKey { key: String, origin: String },
    #[error("config key `{key}` (from {origin}) must be {expected}, got `{got}`")]
    WrongType {
        key: String,
        origin: String,
        expected: &'static str,
        got: String,
    },
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("invalid configuration: {0}")]
    Shape(String),
}

impl Config {
    /// Defaults, then the file (the given one, or `config/default.toml` when it
    /// exists), then `QRDESK_…` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = Value::try_from(Config::default())
            .expect("defaults serialize")
            .as_table()
            .cloned()
            .expect("defaults are a table");

        let mut warnings = Vec::new();
        let default_file = Path::new("config/default.toml");
        let file = file.or(default_file.exists().then_some(default_file));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let overlay: Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
            let mut overlay = overlay;
            let origin = path.display().to_string();
            rename_in_table(&mut overlay, &origin, &mut warnings);
            merge(&mut table, overlay, "", &origin)?;
        }

        let env: Vec<(String, String)> = env.into_iter().collect();
        let env_set: std::collections::HashSet<String> =
            env.iter().map(|(n, _)| n.clone()).collect();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix("QRDESK_") else {
                continue;
            };
            // The test suite's own settings (QRDESK_TEST_POSTGRES_URL) are not ours.
            if rest.starts_with("TEST_") {
                continue;
            }
            let mut path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            let key = path.join(".");
            if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == key) {
                let new_var = env_name(new);
                if env_set.contains(&new_var) {
                    warnings.push(format!(
                        "{name} is ignored: {new_var} is set too (its new name)"
                    ));
                    continue;
                }
                warnings.push(format!("{name} is an old name, use {new_var} (`{new}`)"));
                path = new.split('.').map(str::to_owned).collect();
            }
            set_from_env(&mut table, &path, &raw, &name)?;
        }

        let mut config: Config = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                ConfigError::Shape(e.to_string().replace('\n', " ").trim().to_owned())
            })?;
        config.validate()?;
        config.warnings = warnings;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server_address()?;
        self.validate_backend()?;
        self.validate_limits()?;
        self.validate_mail()?;
        self.validate_rest()
    }

    /// The listening address and the public URL.
    fn validate_server_address(&self) -> Result<(), ConfigError> {
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return invalid("server.listen", "must be IP:PORT, e.g. 127.0.0.1:8080");
        }
        let url = &self.server.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return invalid("server.public_url", "must start with http:// or https://");
        }
        Ok(())
    }

    /// The configured task system's own keys, required only for it in live mode.
    fn validate_backend(&self) -> Result<(), ConfigError> {
        let b = &self.bitrix24;
        if self.backend.kind == BackendKind::Bitrix24 && b.mode == Mode::Live {
            if Bitrix24Hook::parse(b.webhook_url.expose()).is_none() {
                return invalid(
                    "bitrix24.webhook_url",
                    "must be the inbound webhook's URL, https://PORTAL/rest/USER_ID/SECRET/ (set QRDESK_BITRIX24__WEBHOOK_URL)",
                );
            }
            if b.responsible_id <= 0 {
                return invalid(
                    "bitrix24.responsible_id",
                    "is required: the id of the employee new tasks are given to",
                );
            }
        }
        let e = &self.evateam;
        if self.backend.kind == BackendKind::Evateam && e.mode == Mode::Live {
            if !(e.base_url.starts_with("https://") || e.base_url.starts_with("http://")) {
                return invalid(
                    "evateam.base_url",
                    "must be the installation's address, e.g. https://eva.example.ru (set QRDESK_EVATEAM__BASE_URL)",
                );
            }
            if e.token.is_empty() {
                return invalid(
                    "evateam.token",
                    "is required: generate an API token under Моя страница → Безопасность (set QRDESK_EVATEAM__TOKEN)",
                );
            }
            if e.project.trim().is_empty() {
                return invalid(
                    "evateam.project",
                    "is required: the code of the project new tasks go to",
                );
            }
        }
        if self.backend.kind == BackendKind::Hubex && self.hubex.mode == Mode::Live {
            if self.hubex.service_token.is_empty() {
                return invalid(
                    "hubex.service_token",
                    "is required when hubex.mode = \"live\" (set QRDESK_HUBEX__SERVICE_TOKEN)",
                );
            }
            let b = &self.hubex.base_url;
            if !(b.starts_with("http://") || b.starts_with("https://")) {
                return invalid("hubex.base_url", "must start with http:// or https://");
            }
        }
        Ok(())
    }

    /// Limits, delivery, proxies and rates.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        if self.limits.description_min_chars > self.limits.description_max_chars {
            return invalid(
                "limits.description_min_chars",
                "must not exceed limits.description_max_chars",
            );
        }
        if self.delivery.concurrency == 0 {
            return invalid("delivery.concurrency", "must be at least 1");
        }
        if self.limits.photo_max_bytes > self.limits.request_max_bytes {
            return invalid(
                "limits.photo_max_bytes",
                "must not exceed limits.request_max_bytes",
            );
        }
        for p in &self.server.trusted_proxies {
            if crate::domain::net::IpRange::parse(p).is_none() {
                return invalid(
                    "server.trusted_proxies",
                    "must list IP addresses or CIDR ranges, e.g. 10.0.0.0/8",
                );
            }
        }
        if self.limits.posts_per_minute == 0
            || self.limits.gets_per_minute == 0
            || self.limits.sign_in_per_minute == 0
            || self.hubex.max_calls_per_minute == 0
        {
            return invalid("limits", "rates must be at least 1 per minute");
        }
        Ok(())
    }

    /// E-mail: the SMTP URL and the sender.
    fn validate_mail(&self) -> Result<(), ConfigError> {
        if !self.mail.smtp_url.is_empty() {
            let u = self.mail.smtp_url.expose();
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return invalid("mail.smtp_url", "must start with smtp:// or smtps://");
            }
            if password_in_clear(u) {
                return invalid(
                    "mail.smtp_url",
                    "would send the SMTP password unencrypted: add ?tls=required (or use smtps://); \
                     ?tls=none sends it in clear text anyway",
                );
            }
            if self.mail.from.trim().is_empty() {
                return invalid(
                    "mail.from",
                    "is required when mail.smtp_url is set, e.g. \"Сервис <noreply@example.ru>\"",
                );
            }
        }
        Ok(())
    }

    /// The challenge, metrics, privacy link, webhooks and paging.
    fn validate_rest(&self) -> Result<(), ConfigError> {
        if self.limits.challenge_max_number < 1000 || self.limits.challenge_max_number > 10_000_000
        {
            return invalid(
                "limits.challenge_max_number",
                "must be between 1000 and 10000000",
            );
        }
        if !self.metrics.listen.is_empty()
            && self.metrics.listen.parse::<std::net::SocketAddr>().is_err()
        {
            return invalid(
                "metrics.listen",
                "must be empty or IP:PORT, e.g. 127.0.0.1:9090",
            );
        }
        let p = &self.organisation.privacy_url;
        if !(p.is_empty() || p.starts_with("https://") || p.starts_with("http://")) {
            return invalid(
                "organisation.privacy_url",
                "must start with https:// or http://",
            );
        }
        if self.webhooks.timeout_secs == 0 {
            return invalid("webhooks.timeout_secs", "must be at least 1");
        }
        if self.hubex.page_size == 0 {
            return invalid("hubex.page_size", "must be at least 1");
        }
        Ok(())
    }

    /// The SQLite URL, defaulting to a file in the data directory.
    /// Where requests go, for people (never with a secret); `None`: the
    /// built-in simulator.
    pub fn backend_target(&self) -> Option<String> {
        match self.backend.kind {
            BackendKind::Hubex => {
                (self.hubex.mode == Mode::Live).then(|| self.hubex.base_url.clone())
            }
            BackendKind::Evateam => (self.evateam.mode == Mode::Live)
                .then(|| self.evateam.base_url.trim_end_matches('/').to_owned()),
            BackendKind::Bitrix24 => (self.bitrix24.mode == Mode::Live).then(|| {
                Bitrix24Hook::parse(self.bitrix24.webhook_url.expose())
                    .map_or_else(String::new, |h| h.portal)
            }),
        }
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}/qrdesk.db", self.server.data_dir)
        } else {
            self.database.url.clone()
        }
    }
}

/// A refusal of `key`'s value, saying what it must be.
fn invalid(key: &'static str, message: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid {
        key,
        message: message.to_owned(),
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Merges `overlay` into `base`, refusing keys and types the defaults do not have.
fn merge(base: &mut Table, overlay: Table, prefix: &str, origin: &str) -> Result<(), ConfigError> {
    for (k, v) in overlay {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(slot) = base.get_mut(&k) else {
            return Err(ConfigError::UnknownKey {
                key,
                origin: origin.into(),
            });
        };
        match (slot, v) {
            (Value::Table(b), Value::Table(o)) => merge(b, o, &key, origin)?,
            (slot, v) if std::mem::discriminant(slot) == std::mem::discriminant(&v) => *slot = v,
            (slot, v) => {
                return Err(ConfigError::WrongType {
                    key,
                    origin: origin.into(),
                    expected: type_name(slot),
                    got: v.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Sets one key from an environment variable, parsing the text by the type the
/// defaults give that key.
fn set_from_env(
    table: &mut Table,
    path: &[String],
    raw: &str,
    var: &str,
) -> Result<(), ConfigError> {
    let key = path.join(".");
    let unknown = || ConfigError::UnknownKey {
        key: key.clone(),
        origin: var.into(),
    };
    let (last, parents) = path.split_last().ok_or_else(unknown)?;
    let mut cur = table;
    for p in parents {
        cur = match cur.get_mut(p) {
            Some(Value::Table(t)) => t,
            _ => return Err(unknown()),
        };
    }
    let slot = cur.get_mut(last).ok_or_else(unknown)?;
    let wrong = |expected| ConfigError::WrongType {
        key: key.clone(),
        origin: var.into(),
        expected,
        got: raw.into(),
    };
    let value = match slot {
        Value::String(_) => Value::String(raw.into()),
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| wrong("an integer"))?),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| wrong("a number"))?),
        Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Boolean(true),
            "false" | "0" | "no" | "off" => Value::Boolean(false),
            _ => return Err(wrong("true or false")),
        },
        // Lists: "1,2,3" or "10.0.0.0/8, 127.0.0.1" (empty for none). Numbers
        // stay numbers; the typed config then says if the kind is wrong.
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>()
                        .map(Value::Integer)
                        .unwrap_or_else(|_| Value::String(s.into()))
                })
                .collect(),
        ),
        _ => return Err(unknown()),
    };
    *slot = value;
    Ok(())
}

/// How the built-in HubEx simulator answers lists: as documented, or in the
/// other shape HubEx is known to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimShape {
    #[default]
    Documented,
    Other,
}

impl std::str::FromStr for SimShape {
    type Err = String;
    fn from_str(s: &str) -> Result<SimShape, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "documented" | "" => Ok(SimShape::Documented),
            "other" => Ok(SimShape::Other),
            other => Err(format!("unknown shape {other:?} (documented or other)")),
        }
    }
}

/// An inbound webhook URL, split into what calls are made of.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitrix24Hook {
    /// `https://portal.bitrix24.ru`, without a trailing slash.
    pub portal: String,
    pub user_id: i64,
    pub secret: String,
}

impl std::fmt::Debug for Bitrix24Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is the credential: never printed.
        write!(f, "{}/rest/{}/***/", self.portal, self.user_id)
    }
}

impl Bitrix24Hook {
    /// `https://PORTAL/rest/USER_ID/SECRET/` (a method name after it, or
    /// the trailing slash, may be left off).
    pub fn parse(url: &str) -> Option<Bitrix24Hook> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://")?;
        if scheme != "https" && scheme != "http" {
            return None;
        }
        let (host, path) = rest.split_once('/')?;
        if host.is_empty() {
            return None;
        }
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        if parts.next()? != "rest" {
            return None;
        }
        let user_id: i64 = parts.next()?.parse().ok().filter(|&id| id > 0)?;
        let secret = parts.next()?;
        if secret.len() < 4 || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Bitrix24Hook {
            portal: format!("{scheme}://{host}"),
            user_id,
            secret: secret.to_owned(),
        })
    }
}

/// An `smtp://` URL with a password and no TLS: the password would go over
/// the network in clear text. `?tls=none` says that is meant.
pub fn password_in_clear(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("smtp://") else {
        return false;
    };
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, q),
        None => (rest, ""),
    };
    let userinfo = authority.split('/').next().unwrap_or("");
    let has_password = userinfo
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'));
    let tls = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("tls="))
        .unwrap_or("");
    has_password && !matches!(tls, "required" | "opportunistic" | "none")
}

#[cfg(test)]
mod tests;
