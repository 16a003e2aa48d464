//! `spawn_app()`: the real qrdesk on port 0, a fresh database (SQLite in a
//! temp directory, or a PostgreSQL database of its own), and the HubEx
//! simulator, with a phone-like HTTP client.
//!
//! A test wrapped in [`on_each_engine`] runs on SQLite, then again on
//! PostgreSQL when `QRDESK_TEST_POSTGRES_URL` names a server to create test
//! databases on (`.ci/run` sets it). A server asked for and not reachable
//! fails the test.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use qrdesk::backend::hubex::sim::{SimTask, Simulator};
use qrdesk::config::Config;
use qrdesk::domain::codes::Code;
use qrdesk::store::codes::{self as code_store, Target};
use qrdesk::store::requests::{self, RequestRecord};
use qrdesk::store::Engine;
use qrdesk::App;

tokio::task_local! {
    static ENGINE: Engine;
}

/// The PostgreSQL server tests may create databases on, if one was named.
pub fn postgres_url() -> Option<String> {
    std::env::var("QRDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Runs `test` on SQLite, then on PostgreSQL if `QRDESK_TEST_POSTGRES_URL` is set.
pub async fn on_each_engine<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    ENGINE.scope(Engine::Sqlite, test()).await;
    if postgres_url().is_some() {
        eprintln!("--- again on PostgreSQL");
        ENGINE.scope(Engine::Postgres, test()).await;
    }
}

/// Runs `test` on PostgreSQL only, for what needs several instances.
pub async fn on_postgres(test: impl Future<Output = ()>) {
    ENGINE.scope(Engine::Postgres, test).await;
}

/// The engine the running test is on (SQLite outside [`on_each_engine`]).
pub fn engine() -> Engine {
    ENGINE.try_with(|e| *e).unwrap_or(Engine::Sqlite)
}

/// A PostgreSQL database of one test's own, dropped with it.
pub struct TestDb {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDb {
    /// Creates an empty database on the `QRDESK_TEST_POSTGRES_URL` server.
    pub async fn create() -> TestDb {
        let admin_url = postgres_url().expect("QRDESK_TEST_POSTGRES_URL");
        sqlx::any::install_default_drivers();
        let name = format!(
            "qrdesk_t_{}_{}",
            std::process::id(),
            Code::generate().as_str().to_lowercase()
        );
        let mut conn = connect_admin(&admin_url).await;
        static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        SWEPT.get_or_init(|| drop_stale(&admin_url)).await;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE on QRDESK_TEST_POSTGRES_URL");
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let server = &base[..base.rfind('/').expect("postgres URL with a database")];
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        TestDb {
            url,
            name,
            admin_url,
        }
    }
}

async fn connect_admin(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    match sqlx::AnyConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => panic!("QRDESK_TEST_POSTGRES_URL={url} is set but cannot be reached: {e}"),
    }
}

/// Runs `work` to its end on a thread and runtime of its own: a `Drop` runs
/// inside the test's runtime, which cannot be blocked on. `None` if it panicked.
fn on_own_thread<T, F, Fut>(work: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
    .join()
    .ok()
}

/// Drops databases left by test runs whose process is gone.
async fn drop_stale(admin_url: &str) {
    let mut conn = connect_admin(admin_url).await;
    let conn = &mut conn;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'qrdesk_t_%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = on_own_thread(move || async move {
            let mut conn = connect_admin(&admin_url).await;
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        });
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let name = format!("qrdesk-test-{}-{}", std::process::id(), Code::generate());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestApp {
    /// First, so it looks at the outbox before anything else is dropped.
    pub teardown: Teardown,
    pub app: Option<App>,
    pub url: String,
    pub sim: Simulator,
    /// The Bitrix24 portal, when `backend.kind = "bitrix24"`.
    pub bitrix24: Option<qrdesk::backend::bitrix24::sim::Simulator>,
    /// The EvaTeam installation, when `backend.kind = "evateam"`.
    pub evateam: Option<qrdesk::backend::evateam::sim::Simulator>,
    pub client: reqwest::Client,
    pub config: Config,
    pub dir: TempDir,
    /// The test's PostgreSQL database, when it runs on PostgreSQL.
    pub db: Option<TestDb>,
}

/// At the end of a test, fails it if jobs are left waiting in the outbox: what
/// a test queued must be delivered (or given up) by the time it ends
/// ([`TestApp::drain_outbox`]), unless it says otherwise ([`TestApp::leave_jobs`]).
/// A job a worker holds at that moment is being finished and does not count
/// (the test's runtime, which would finish it, is the one dropping this).
pub struct Teardown {
    url: String,
    leave_jobs: bool,
}

impl Drop for Teardown {
    fn drop(&mut self) {
        if self.leave_jobs || std::thread::panicking() {
            return;
        }
        let url = self.url.clone();
        let left = on_own_thread(move || async move {
            let pool = qrdesk::store::connect(&url, 1).await.ok()?;
            let left: Vec<(String, i64)> = sqlx::query_as(
                "SELECT kind, COUNT(*) FROM jobs
                  WHERE lease_owner IS NULL OR lease_until < $1 GROUP BY kind ORDER BY kind",
            )
            .bind(qrdesk::store::now_ms())
            .fetch_all(&pool)
            .await
            .ok()?;
            pool.close().await;
            Some(left)
        })
        .flatten()
        .unwrap_or_default();
        assert!(
            left.is_empty(),
            "jobs left waiting at the end of the test: {left:?}; wait with TestApp::drain_outbox, or call TestApp::leave_jobs when that is the point"
        );
    }
}

/// Settings that make retries and polls fast enough for tests.
pub fn test_config(dir: &TempDir) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".into();
    c.server.data_dir = dir.0.display().to_string();
    c.server.shutdown_grace_secs = 5;
    c.delivery.base_delay_ms = 40;
    c.delivery.max_delay_secs = 1;
    c.delivery.poll_ms = 50;
    c.delivery.lease_secs = 3;
    c.hubex.timeout_secs = 1;
    c.hubex.sync_interval_secs = 0;
    c.status.poll_secs = 0;
    c.status.max_age_secs = 0;
    // Tests send many forms from one address; the limit tests lower these.
    c.limits.posts_per_minute = 100_000;
    c.limits.posts_burst = 100_000;
    c.limits.gets_per_minute = 100_000;
    c.limits.gets_burst = 100_000;
    c.limits.sign_in_per_minute = 100_000;
    c.limits.sign_in_burst = 100_000;
    c.limits.code_requests_per_hour = 100_000;
    c.limits.challenge = qrdesk::config::ChallengeMode::Off;
    c.limits.limited_delay_ms = 0;
    c.limits.min_fill_ms = 0;
    c.limits.duplicate_window_secs = 0;
    c.hubex.max_calls_per_minute = 100_000;
    c.hubex.sim_shape = sim_shape();
    c
}

/// The shape `QRDESK_HUBEX__SIM_SHAPE` names (`documented`, the default, or
/// `other`), as the binary the CLI tests start reads it: CI runs the suite in both.
fn sim_shape() -> qrdesk::backend::hubex::sim::Shape {
    std::env::var("QRDESK_HUBEX__SIM_SHAPE")
        .map(|s| {
            s.parse()
                .expect("QRDESK_HUBEX__SIM_SHAPE: documented or other")
        })
        .unwrap_or_default()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// The simulator. It answers in the shape `QRDESK_HUBEX__SIM_SHAPE` names
/// (`documented`, the default, or `other`), as the binary the CLI tests
/// start does: CI runs the suite in both.
pub fn simulator() -> Simulator {
    let sim = Simulator::new();
    if let Ok(shape) = std::env::var("QRDESK_HUBEX__SIM_SHAPE") {
        sim.set_shape(
            shape
                .parse()
                .expect("QRDESK_HUBEX__SIM_SHAPE: documented or other"),
        );
    }
    sim
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_with_sim(simulator(), tweak).await
}

/// Like [`spawn_with`], with a simulator prepared by the test.
pub async fn spawn_with_sim(sim: Simulator, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let (dir, mut config, db) = test_setup().await;
    tweak(&mut config);
    start(config, dir, db, sim).await
}

/// A test's directory and configuration, on the engine this run tests
/// (on PostgreSQL, with a database of its own).
pub async fn test_setup() -> (TempDir, Config, Option<TestDb>) {
    let dir = TempDir::new();
    let mut config = test_config(&dir);
    let db = match engine() {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let db = TestDb::create().await;
            config.database.url = db.url.clone();
            Some(db)
        }
    };
    (dir, config, db)
}

/// Starts qrdesk on `config` (its `database.url` may name `db`).
pub async fn start(config: Config, dir: TempDir, db: Option<TestDb>, sim: Simulator) -> TestApp {
    start_with_sims(config, dir, db, sim, qrdesk::Simulators::default()).await
}

/// Like [`start`], with the simulators of the other task systems
/// (`others.hubex` is not used: `sim` is).
pub async fn start_with_sims(
    config: Config,
    dir: TempDir,
    db: Option<TestDb>,
    sim: Simulator,
    others: qrdesk::Simulators,
) -> TestApp {
    let (bitrix24, evateam) = (others.bitrix24, others.evateam);
    let sims = qrdesk::Simulators {
        hubex: Some(sim.clone()),
        bitrix24: bitrix24.clone(),
        evateam: evateam.clone(),
    };
    let app = App::start_with(config.clone(), sims)
        .await
        .expect("app starts");
    TestApp {
        teardown: Teardown {
            url: config.database_url(),
            leave_jobs: false,
        },
        url: app.public_url.clone(),
        app: Some(app),
        sim,
        bitrix24,
        evateam,
        client: phone_client(),
        config,
        dir,
        db,
    }
}

/// Like a phone's browser, but it shows us redirects instead of following them.
pub fn phone_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Linux; Android 14) Mobile")
        .build()
        .unwrap()
}

/// Polls `check` until it returns `Some`, failing the test after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub struct Page {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    /// The id qrdesk gave the request (`X-Request-Id`).
    pub request_id: Option<String>,
}

impl Page {
    /// The value of a hidden or text input, as the browser would send it.
    pub fn input(&self, name: &str) -> Option<String> {
        let tag_start = self.body.find(&format!("name=\"{name}\""))?;
        let tag_end = self.body[tag_start..].find('>')? + tag_start;
        let tag = &self.body[tag_start..tag_end];
        let start = tag.find("value=\"")? + "value=\"".len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

impl TestApp {
    pub fn pool(&self) -> &qrdesk::store::Pool {
        &self.app.as_ref().expect("running").pool
    }

    /// Waits until the outbox is empty: every job queued so far (tasks,
    /// photos, comments, mails) is done or given up, so nothing more reaches
    /// HubEx or the mail server until something new is queued.
    pub async fn drain_outbox(&self, secs: u64) {
        wait_for(secs, "the outbox to drain", || async {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
                .fetch_one(self.pool())
                .await
                .unwrap();
            (n == 0).then_some(())
        })
        .await;
    }

    pub async fn code_for(&self, target: Target) -> Code {
        code_store::create(self.pool(), target, None, qrdesk::store::now_ms())
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(format!("{}{}", self.url, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        into_page(req.send().await.unwrap()).await
    }

    /// Opens the form like a phone, then posts `fields` with the form's token.
    pub async fn submit(&self, code: &Code, fields: &[(&str, &str)]) -> Page {
        let form = self.get(&format!("/q/{code}")).await;
        assert_eq!(form.status, 200, "form for {code}: {}", form.body);
        let token = form.input("form_token").expect("form token");
        let mut all: Vec<(&str, &str)> = vec![("form_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(&format!("/q/{code}"), &all).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .client
            .post(format!("{}{}", self.url, path))
            .form(fields)
            .send()
            .await
            .unwrap();
        into_page(resp).await
    }

    /// Submits a valid request and returns its status-page path.
    pub async fn report(&self, code: &Code, description: &str) -> String {
        self.report_with(code, &[("description", description)])
            .await
    }

    pub async fn report_with(&self, code: &Code, fields: &[(&str, &str)]) -> String {
        let page = self.submit(code, fields).await;
        assert_eq!(page.status, 303, "{}", page.body);
        page.location.expect("redirect to the status page")
    }

    pub async fn request_by_status_path(&self, path: &str) -> RequestRecord {
        let token = path.trim_start_matches("/t/");
        let token = qrdesk::domain::codes::TrackingToken::parse(token).expect("token");
        requests::by_token_hash(self.pool(), &token.hash())
            .await
            .unwrap()
            .expect("request stored")
    }

    /// Waits until the request behind a status page reaches `status` and,
    /// once delivered or failed, its delivery job is finished too.
    pub async fn wait_status(&self, path: &str, status: &str, secs: u64) -> RequestRecord {
        wait_for(secs, &format!("request to become {status}"), || async {
            let r = self.request_by_status_path(path).await;
            if r.status.as_str() != status {
                return None;
            }
            let settled = matches!(status, "delivered" | "failed");
            let delivering: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE request_id = $1 AND kind = 'create_task'",
            )
            .bind(&r.id)
            .fetch_one(self.pool())
            .await
            .unwrap();
            (!settled || delivering == 0).then_some(r)
        })
        .await
    }

    pub fn tasks(&self) -> Vec<SimTask> {
        self.sim.tasks()
    }

    /// The test ends with jobs still queued on purpose (HubEx kept down…).
    pub fn leave_jobs(&mut self) {
        self.teardown.leave_jobs = true;
    }

    /// Stops cleanly (as on SIGTERM) and starts again on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.app.take().unwrap().stop().await;
        self.leave_jobs();
        let TestApp {
            config,
            dir,
            db,
            sim,
            bitrix24,
            evateam,
            ..
        } = self;
        let others = qrdesk::Simulators {
            hubex: None,
            bitrix24,
            evateam,
        };
        start_with_sims(config, dir, db, sim, others).await
    }

    /// Ends without clean-up, as a crash would, and starts again.
    pub async fn crash_and_restart(mut self) -> TestApp {
        self.app.take().unwrap().crash().await;
        self.leave_jobs();
        let TestApp {
            config,
            dir,
            db,
            sim,
            bitrix24,
            evateam,
            ..
        } = self;
        let others = qrdesk::Simulators {
            hubex: None,
            bitrix24,
            evateam,
        };
        start_with_sims(config, dir, db, sim, others).await
    }
}

pub async fn into_page(resp: reqwest::Response) -> Page {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.unwrap_or_default();
    Page {
        status,
        body,
        location,
        request_id,
    }
}
