//! qrdesk: a QR sticker on equipment becomes a task in the field-service
//! system. [`App::start`] builds everything `main` runs — the HTTP server, the
//! delivery worker, the catalog sync, the status poller and, in simulator
//! mode, an in-process HubEx — and the integration tests start the same thing.

/// Shown in static-file URLs so a new release is never served a cached old file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod admin;
pub mod api;
pub mod backend;
pub mod catalog;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod heavy;
pub mod i18n;
pub mod intake;
pub mod labels;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod ops;
pub mod store;
pub mod trace;
pub mod web;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use backend::connect::{connect, connect_backend, share_call_budget, Connected, Simulators};
use backend::hubex::sim::Simulator;
use backend::TaskBackend;
use config::Config;
use delivery::{Worker, WorkerHandle};
use store::Pool;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    /// Base URL for links and QR codes, without a trailing slash.
    pub public_url: String,
    pub backend: Arc<dyn TaskBackend>,
    pub worker: WorkerHandle,
    /// Signs form tokens; shared by every instance on the database.
    pub secret: Arc<Vec<u8>>,
    /// The catalog sync in progress, if any, and how the last one ended.
    pub sync: Arc<catalog::SyncTracker>,
    /// Photos on disk, by content hash.
    pub blobs: media::BlobStore,
    /// Heavy renders at once: photos decoded (each may take hundreds of
    /// MB), label sheets, image archives.
    pub media_permits: Arc<tokio::sync::Semaphore>,
    /// Photo bytes being received, held to caps.
    pub spool: Arc<intake::upload::SpoolBudget>,
    /// Image archives being made, one per staff session.
    pub exports: Arc<admin::Exports>,
    /// Per-IP quotas on the public pages.
    pub limits: web::limits::SharedLimits,
    /// Customer e-mail; `None` when `mail.smtp_url` is empty.
    pub mailer: Option<mail::Mailer>,
    /// The admin page's last connection check.
    pub connection: admin::connection::SharedConnection,
    /// What the public pages show, remembered between views.
    pub memos: Arc<intake::Memos>,
    /// Scans counted in memory, written every few seconds.
    pub scans: Arc<store::codes::Scans>,
    /// The JSON API's per-token quota.
    pub api_limit: api::TokenLimit,
    /// What `/metrics` counts.
    pub metrics: web::metrics::SharedMetrics,
    /// The organisation's name and description, as last read.
    pub org: Arc<web::org::OrgCell>,
}

pub fn router(state: AppState) -> Router {
    // Public pages, the API and static files go out compressed (gzip or
    // brotli, as the client accepts). Admin pages do not: they carry the
    // session's CSRF token next to text from the query, which compression
    // would let an eavesdropper guess (BREACH).
    // Static files are few, small and cached by browsers for a year: they
    // take each algorithm's usual level for the smallest download.
    let static_files = Router::new()
        .route("/static/{name}", get(web::static_file))
        .route(
            "/favicon.ico",
            get(|| {
                web::static_file(
                    axum::extract::Path("favicon.ico".to_owned()),
                    axum::extract::RawQuery(None),
                )
            }),
        )
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .br(true),
        );
    let compressed = Router::new()
        .merge(intake::router(&state.config.limits, &state.limits))
        .nest("/api/v1", api::router(&state.api_limit, &state.metrics))
        .route("/api/openapi.json", get(api::docs::json))
        .route("/api/docs", get(api::docs::page))
        .layer(
            // Pages made for each request take the fastest level: a phone's
            // 4–5 KB page loses a few hundred bytes of ratio, and the server
            // does a fraction of the work per page (brotli's usual level
            // cost 14 times /healthz).
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .merge(static_files);
    let router = Router::new()
        .merge(compressed)
        // Staff texts name the configured task system; public pages need not.
        .merge(
            admin::router(&state.limits).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                admin::name_the_system,
            )),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    // `metrics.listen` moves /metrics to a listener of its own. Here it is
    // inside the layers, with the security headers and a request id.
    let router = if state.config.metrics.listen.is_empty() {
        router.route("/metrics", get(web::metrics::page))
    } else {
        router
    };
    let router = router
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::nul::refuse,
        ))
        .layer(DefaultBodyLimit::max(state.config.limits.form_body_bytes))
        .layer(web::trace::layer())
        .layer(axum::middleware::from_fn(web::error::pages))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::limits::refusal_page,
        ))
        // Outside the pages above, so a refusal's page names the organisation.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::org::scope,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::origin_scheme,
        ))
        .layer(axum::middleware::from_fn(web::limit_headers))
        .layer(axum::middleware::from_fn(web::security_headers))
        .layer(axum::middleware::from_fn(web::trace::request_id));
    let router = if state.public_url.starts_with("https://") {
        router.layer(axum::middleware::from_fn(web::strict_transport))
    } else {
        router
    };
    router.with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the delivery worker is going round.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let db = store::ping(&state.pool).await;
    let poll = Duration::from_millis(state.config.delivery.poll_ms);
    let worker = state.worker.is_alive(poll);
    let status = if db && worker {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "database": db, "worker": worker })),
    )
}

/// A running qrdesk.
pub struct App {
    pub addr: SocketAddr,
    pub public_url: String,
    pub pool: Pool,
    /// The in-process HubEx, in simulator mode.
    pub sim: Option<Simulator>,
    /// The in-process Bitrix24 portal, with `backend.kind = "bitrix24"` in simulator mode.
    pub bitrix24_sim: Option<backend::bitrix24::sim::Simulator>,
    /// The in-process EvaTeam, with `backend.kind = "evateam"` in simulator mode.
    pub evateam_sim: Option<backend::evateam::sim::Simulator>,
    /// Where the simulator listens, in simulator mode.
    pub sim_addr: Option<SocketAddr>,
    /// The task system client every part of the app shares (one call budget).
    pub backend: Arc<dyn TaskBackend>,
    /// The catalog sync in progress, if any.
    pub sync: Arc<catalog::SyncTracker>,
    /// Where `/metrics` is served when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    grace: Duration,
    scans: Arc<store::codes::Scans>,
}

/// Runs `work` every `period` until shutdown.
fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, mut work: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => work().await,
                _ = stop.changed() => return,
            }
        }
    })
}

/// What start-up made that the shared state is built from.
struct Shared {
    pool: Pool,
    config: Arc<Config>,
    public_url: String,
    backend: Arc<dyn TaskBackend>,
    secret: Arc<Vec<u8>>,
    blobs: media::BlobStore,
    mailer: Option<mail::Mailer>,
    metrics: web::metrics::SharedMetrics,
    org: Arc<web::org::OrgCell>,
}

impl AppState {
    fn new(s: Shared) -> AppState {
        AppState {
            pool: s.pool,
            config: s.config.clone(),
            public_url: s.public_url,
            backend: s.backend,
            worker: WorkerHandle::default(),
            secret: s.secret,
            sync: Arc::new(catalog::SyncTracker::default()),
            blobs: s.blobs,
            mailer: s.mailer,
            connection: Default::default(),
            memos: Default::default(),
            scans: Arc::new(store::codes::Scans::new(s.config.server.utc_offset_minutes)),
            api_limit: api::token_limit(&s.config.limits),
            metrics: s.metrics,
            org: s.org,
            limits: Arc::new(web::limits::RateLimits::new(
                &s.config.limits,
                &s.config.server.trusted_proxies,
            )),
            media_permits: Arc::new(tokio::sync::Semaphore::new(heavy::cores())),
            exports: Default::default(),
            spool: Default::default(),
        }
    }
}

/// The database of `database.url`, migrated.
async fn open_database(config: &Config) -> anyhow::Result<Pool> {
    store::open(&config.database_url(), config.database.max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open the database (database.url = {:?})",
                store::redact_url(&config.database_url())
            )
        })
}

/// The listening socket, its address and the public URL links are made of.
async fn listen(config: &Config) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr, String)> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", config.server.listen))?;
    let addr = listener.local_addr()?;
    let public_url = if config.server.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    };
    Ok((listener, addr, public_url))
}

/// How old the local catalog is at start, and how often it is synced.
struct CatalogStart {
    age: Option<Duration>,
    fresh: bool,
    every: Duration,
    /// The task system's catalog is synced (else qrdesk keeps its own).
    synced: bool,
    /// The HubEx simulator runs in this process.
    simulated: bool,
}

/// A start never resyncs a fresh catalog: the periodic sync picks up where
/// the last one left off. The simulator's catalog is local and instant; a
/// simulator of a system without a catalog gets a demo one of our own.
async fn prepare_catalog(
    pool: &Pool,
    config: &Config,
    backend: &dyn TaskBackend,
    sims: &Simulators,
    sim_addr: Option<SocketAddr>,
) -> anyhow::Result<CatalogStart> {
    let every = Duration::from_secs(config.hubex.sync_interval_secs);
    let age = catalog::age(pool).await?;
    let fresh = age.is_some_and(|age| every.is_zero() || age < every);
    let synced = backend.capabilities().synced_catalog;
    let simulated = sims.hubex.is_some();
    if simulated && !fresh {
        let report = catalog::sync(pool, backend, &backend::NoProgress).await?;
        tracing::info!(%report, "demo catalog loaded from the simulator");
    }
    if !synced && sim_addr.is_some() && store::catalog::asset_count(pool).await? == 0 {
        let n = catalog::own::seed_demo(pool).await?;
        tracing::info!(
            assets = n,
            backend = backend.name(),
            "demo catalog created for the simulator"
        );
    }
    Ok(CatalogStart {
        age,
        fresh,
        every,
        synced,
        simulated,
    })
}

/// The data folder made private, its photo spool emptied.
fn prepare_data_dir(config: &Config) -> anyhow::Result<media::BlobStore> {
    let dir = std::path::Path::new(&config.server.data_dir);
    store::make_private(dir, &config.database_url())
        .with_context(|| format!("cannot make {} private", config.server.data_dir))?;
    let blobs = media::BlobStore::new(dir);
    blobs
        .clear_incoming()
        .with_context(|| format!("cannot prepare {}", blobs.incoming().display()))?;
    Ok(blobs)
}

/// The outbox worker, woken by PostgreSQL's job notices where there are.
fn spawn_delivery(
    state: &AppState,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let config = &state.config;
    let worker = Worker {
        metrics: state.metrics.clone(),
        blobs: state.blobs.clone(),
        pool: state.pool.clone(),
        backend: state.backend.clone(),
        delivery: config.delivery.clone(),
        owner: format!("{}-{}", std::process::id(), domain::codes::Code::generate()),
        handle: state.worker.clone(),
        mailer: state.mailer.clone(),
        webhooks: webhooks::Sender::new(&config.webhooks)?,
        webhook_config: config.webhooks.clone(),
        org: state.org.clone(),
    };
    let mut tasks = vec![tokio::spawn(worker.run(stop.clone()))];
    let wake = state.worker.wake.clone();
    tasks.extend(store::shared::listen_for_jobs(
        config.database_url(),
        move || wake.notify_one(),
        stop.clone(),
    ));
    Ok(tasks)
}

/// The catalog sync: in the background at start when the catalog is stale,
/// then every `hubex.sync_interval_secs`.
fn spawn_catalog_sync(
    state: &AppState,
    start: &CatalogStart,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let (pool, backend, sync) = (&state.pool, &state.backend, &state.sync);
    if !start.synced {
        tracing::info!(
            backend = backend.name(),
            "qrdesk keeps the catalog itself; no sync"
        );
        return Vec::new();
    }
    if !start.simulated && !start.fresh {
        catalog::sync_in_background(pool.clone(), backend.clone(), sync.clone());
    } else if let Some(age) = start.age {
        tracing::info!(
            age_secs = age.as_secs(),
            "catalog is fresh; no sync at start"
        );
    }
    if start.every.is_zero() {
        return Vec::new();
    }
    let first = match start.age {
        Some(age) if start.fresh => start.every - age,
        _ => start.every,
    };
    vec![catalog::spawn_periodic(
        pool.clone(),
        backend.clone(),
        sync.clone(),
        first,
        start.every,
        stop.clone(),
    )]
}

/// What keeps running besides delivery: retention, the status poller, the
/// organisation's details from other instances, forgetting idle addresses,
/// writing scan counts.
fn spawn_upkeep(state: &AppState, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let (config, pool) = (&state.config, &state.pool);
    let mut tasks = vec![delivery::spawn_retention(
        pool.clone(),
        state.blobs.clone(),
        Duration::from_secs(config.limits.photo_retention_days * 24 * 3600),
        Duration::from_secs(config.privacy.contact_retention_days * 24 * 3600),
        stop.clone(),
    )];
    if config.status.poll_secs > 0 {
        tasks.push(delivery::spawn_status_poller(
            pool.clone(),
            state.backend.clone(),
            Duration::from_secs(config.status.poll_secs),
            ops::state::FollowUps::of(state.mailer.as_ref()),
            stop.clone(),
        ));
    }
    let (org, org_pool) = (state.org.clone(), pool.clone());
    tasks.push(every(web::org::REFRESH, stop.clone(), move || {
        let (org, pool) = (org.clone(), org_pool.clone());
        async move {
            if let Err(e) = org.reload(&pool).await {
                tracing::warn!(error = %e, "cannot read the organisation's name");
            }
        }
    }));
    // Forget idle addresses now and then, so a flood of them cannot grow memory.
    let (limits, api_limit) = (state.limits.clone(), state.api_limit.clone());
    tasks.push(every(Duration::from_secs(60), stop.clone(), move || {
        limits.shrink();
        api_limit.limiter().retain_recent();
        std::future::ready(())
    }));
    // Scans are written in batches; the last ones at shutdown (`App::stop`).
    let (scans, flush_pool) = (state.scans.clone(), pool.clone());
    tasks.push(every(
        Duration::from_secs(store::codes::SCAN_FLUSH_SECS),
        stop.clone(),
        move || {
            let (scans, pool) = (scans.clone(), flush_pool.clone());
            async move {
                if let Err(e) = scans.flush(&pool).await {
                    tracing::warn!(error = %e, "cannot write scan counts; keeping them for the next try");
                }
            }
        },
    ));
    tasks
}

/// `/metrics` on a listener of its own when `metrics.listen` is set.
async fn serve_metrics(
    state: &AppState,
    timeouts: web::serve::Timeouts,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let listen = &state.config.metrics.listen;
    if listen.is_empty() {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {listen}"))?;
    let addr = listener.local_addr()?;
    let only_metrics = Router::new()
        .route("/metrics", get(web::metrics::page))
        .fallback(web::not_found)
        .layer(axum::middleware::from_fn(web::security_headers))
        .layer(axum::middleware::from_fn(web::trace::request_id))
        .with_state(state.clone());
    let task = tokio::spawn(web::serve::serve(
        listener,
        only_metrics,
        timeouts,
        stop.clone(),
    ));
    tracing::info!(addr = ?addr, "metrics listening");
    Ok(Some((addr, task)))
}

impl App {
    /// Writes the scans counted in memory now (they are written every few
    /// seconds anyway).
    pub async fn flush_scans(&self) -> sqlx::Result<()> {
        self.scans.flush(&self.pool).await
    }

    /// Starts qrdesk as configured. `sim` lets a test keep a handle on the
    /// simulator (fault injection, what "HubEx" received).
    pub async fn start(config: Config, sim: Option<Simulator>) -> anyhow::Result<App> {
        let sims = Simulators {
            hubex: sim,
            ..Simulators::default()
        };
        App::start_with(config, sims).await
    }

    /// Starts qrdesk as configured, with these simulators for whichever
    /// backend runs in simulator mode.
    pub async fn start_with(config: Config, sims: Simulators) -> anyhow::Result<App> {
        let pool = open_database(&config).await?;
        let connected = connect(&config, Some(&pool), sims).await?;
        let (backend, sims, sim_addr) = (connected.backend, connected.sims, connected.sim_addr);
        share_call_budget(&pool, backend.as_ref()).await?;
        let (listener, addr, public_url) = listen(&config).await?;
        let catalog_start =
            prepare_catalog(&pool, &config, backend.as_ref(), &sims, sim_addr).await?;
        let secret = Arc::new(store::installation_secret(&pool).await?);
        if let Some(link) = admin::auth::setup_link(&pool, &public_url).await? {
            tracing::warn!("no admin accounts yet: open {link} to create the owner (one-time link), or run `qrdesk admin create --email … --role owner`");
        }
        let config = Arc::new(config);
        let blobs = prepare_data_dir(&config)?;
        let mailer = mail::Mailer::from_config(
            &config.mail,
            std::path::Path::new(&config.server.data_dir),
            &public_url,
        )?;
        if mailer.is_some() && config.server.public_url.is_empty() {
            tracing::warn!(%public_url, "e-mail is on but server.public_url is empty: mailed links point to the listening address");
        }
        let metrics = web::metrics::SharedMetrics::default();
        let org = Arc::new(web::org::OrgCell::new(config.organisation.clone()));
        org.reload(&pool).await?;
        let m = metrics.clone();
        backend.observe_calls(Box::new(move |path, status| m.call(path, status)));
        let state = AppState::new(Shared {
            pool: pool.clone(),
            config: config.clone(),
            public_url: public_url.clone(),
            backend: backend.clone(),
            secret,
            blobs,
            mailer,
            metrics,
            org,
        });
        let (shutdown, stop) = watch::channel(false);
        let mut background = spawn_delivery(&state, &stop)?;
        background.extend(spawn_catalog_sync(&state, &catalog_start, &stop));
        background.extend(spawn_upkeep(&state, &stop));
        let timeouts = web::serve::Timeouts::from_config(&config.server);
        let metrics_addr = match serve_metrics(&state, timeouts, &stop).await? {
            Some((addr, task)) => {
                background.push(task);
                Some(addr)
            }
            None => None,
        };
        let scans = state.scans.clone();
        let sync = state.sync.clone();
        let server = tokio::spawn(web::serve::serve(listener, router(state), timeouts, stop));
        let database = store::Engine::of(&pool).name();
        tracing::info!(%addr, %public_url, database, "qrdesk listening");
        Ok(App {
            addr,
            public_url,
            pool,
            sim: sims.hubex,
            bitrix24_sim: sims.bitrix24,
            evateam_sim: sims.evateam,
            sim_addr,
            backend,
            sync,
            metrics_addr,
            shutdown,
            server,
            background,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
            scans,
        })
    }

    /// Stops taking connections, lets requests in flight finish, stops the
    /// worker (which hands back its claims) and closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(self.grace, self.server).await.is_err() {
            tracing::warn!("requests still running after the grace period; closing anyway");
        }
        for task in self.background {
            let _ = tokio::time::timeout(self.grace, task).await;
        }
        if let Err(e) = self.scans.flush(&self.pool).await {
            tracing::warn!(error = %e, "cannot write the last scan counts");
        }
        self.pool.close().await;
    }

    /// Ends the app without any clean-up, as a crash would: claims stay held
    /// until their lease runs out. For tests.
    pub async fn crash(self) {
        self.server.abort();
        for task in &self.background {
            task.abort();
        }
        for task in self.background {
            let _ = task.await;
        }
        let _ = self.server.await;
        self.pool.close().await;
    }
}
