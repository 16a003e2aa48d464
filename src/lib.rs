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
        .merge(admin::router(&state.limits))
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
        // Outside the pages above, so a refusal's page names the organisation
        // and staff texts the configured task system.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::org::scope,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::staff::name_the_system,
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
        let pool = store::open(&config.database_url(), config.database.max_connections)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database (database.url = {:?})",
                    store::redact_url(&config.database_url())
                )
            })?;
        let connected = connect(&config, Some(&pool), sims).await?;
        let (backend, sims, sim_addr) = (connected.backend, connected.sims, connected.sim_addr);
        let sim = sims.hubex.clone();
        let synced = backend.capabilities().synced_catalog;
        let engine = store::Engine::of(&pool);
        share_call_budget(&pool, backend.as_ref()).await?;

        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| {
                format!("cannot listen on {} (server.listen)", config.server.listen)
            })?;
        let addr = listener.local_addr()?;
        let public_url = if config.server.public_url.is_empty() {
            format!("http://{addr}")
        } else {
            config.server.public_url.trim_end_matches('/').to_owned()
        };

        // A start never resyncs a fresh catalog: the periodic sync picks up
        // where the last one left off. The simulator's catalog is local and
        // instant; a real tenant's first sync runs in the background so the
        // server starts at once.
        let sync_every = Duration::from_secs(config.hubex.sync_interval_secs);
        let catalog_age = catalog::age(&pool).await?;
        let fresh = catalog_age.is_some_and(|age| sync_every.is_zero() || age < sync_every);
        if sim.is_some() && !fresh {
            let report = catalog::sync(&pool, backend.as_ref(), &backend::NoProgress).await?;
            tracing::info!(%report, "demo catalog loaded from the simulator");
        }
        // A simulator of a system without a catalog: a demo one of our own.
        if !synced && sim_addr.is_some() && store::catalog::asset_count(&pool).await? == 0 {
            let n = catalog::own::seed_demo(&pool).await?;
            tracing::info!(
                assets = n,
                backend = backend.name(),
                "demo catalog created for the simulator"
            );
        }

        let secret = Arc::new(store::installation_secret(&pool).await?);
        if let Some(link) = admin::auth::setup_link(&pool, &public_url).await? {
            tracing::warn!("no admin accounts yet: open {link} to create the owner (one-time link), or run `qrdesk admin create --email … --role owner`");
        }
        let config = Arc::new(config);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let worker_handle = WorkerHandle::default();
        let mut background = Vec::new();

        store::make_private(
            std::path::Path::new(&config.server.data_dir),
            &config.database_url(),
        )
        .with_context(|| format!("cannot make {} private", config.server.data_dir))?;
        let blobs = media::BlobStore::new(std::path::Path::new(&config.server.data_dir));
        blobs
            .clear_incoming()
            .with_context(|| format!("cannot prepare {}", blobs.incoming().display()))?;
        let mailer = mail::Mailer::from_config(
            &config.mail,
            std::path::Path::new(&config.server.data_dir),
            &public_url,
        )?;
        if mailer.is_some() && config.server.public_url.is_empty() {
            tracing::warn!(%public_url, "e-mail is on but server.public_url is empty: mailed links point to the listening address");
        }
        let follow = ops::state::FollowUps::of(mailer.as_ref());
        let metrics = web::metrics::SharedMetrics::default();
        let org = Arc::new(web::org::OrgCell::new(config.organisation.clone()));
        org.reload(&pool).await?;
        let m = metrics.clone();
        backend.observe_calls(Box::new(move |path, status| m.call(path, status)));
        let worker = Worker {
            metrics: metrics.clone(),
            blobs: blobs.clone(),
            pool: pool.clone(),
            backend: backend.clone(),
            delivery: config.delivery.clone(),
            owner: format!("{}-{}", std::process::id(), domain::codes::Code::generate()),
            handle: worker_handle.clone(),
            mailer: mailer.clone(),
            webhooks: webhooks::Sender::new(&config.webhooks)?,
            webhook_config: config.webhooks.clone(),
            org: org.clone(),
        };
        background.push(tokio::spawn(worker.run(shutdown_rx.clone())));
        let wake = worker_handle.wake.clone();
        background.extend(store::shared::listen_for_jobs(
            config.database_url(),
            move || wake.notify_one(),
            shutdown_rx.clone(),
        ));

        let sync = Arc::new(catalog::SyncTracker::default());
        if !synced {
            tracing::info!(
                backend = backend.name(),
                "qrdesk keeps the catalog itself; no sync"
            );
        } else if sim.is_none() && !fresh {
            catalog::sync_in_background(pool.clone(), backend.clone(), sync.clone());
        } else if let Some(age) = catalog_age {
            tracing::info!(
                age_secs = age.as_secs(),
                "catalog is fresh; no sync at start"
            );
        }
        if synced && !sync_every.is_zero() {
            let first = match catalog_age {
                Some(age) if fresh => sync_every - age,
                _ => sync_every,
            };
            background.push(catalog::spawn_periodic(
                pool.clone(),
                backend.clone(),
                sync.clone(),
                first,
                sync_every,
                shutdown_rx.clone(),
            ));
        }
        background.push(delivery::spawn_retention(
            pool.clone(),
            blobs.clone(),
            Duration::from_secs(config.limits.photo_retention_days * 24 * 3600),
            Duration::from_secs(config.privacy.contact_retention_days * 24 * 3600),
            shutdown_rx.clone(),
        ));
        if config.status.poll_secs > 0 {
            background.push(delivery::spawn_status_poller(
                pool.clone(),
                backend.clone(),
                Duration::from_secs(config.status.poll_secs),
                follow,
                shutdown_rx.clone(),
            ));
        }

        let state = AppState {
            pool: pool.clone(),
            config: config.clone(),
            public_url: public_url.clone(),
            backend: backend.clone(),
            worker: worker_handle,
            secret,
            sync: sync.clone(),
            blobs: blobs.clone(),
            mailer,
            connection: Default::default(),
            memos: Default::default(),
            scans: Arc::new(store::codes::Scans::new(config.server.utc_offset_minutes)),
            api_limit: api::token_limit(&config.limits),
            metrics: metrics.clone(),
            org: org.clone(),
            limits: Arc::new(web::limits::RateLimits::new(
                &config.limits,
                &config.server.trusted_proxies,
            )),
            media_permits: Arc::new(tokio::sync::Semaphore::new(heavy::cores())),
            exports: Default::default(),
            spool: Default::default(),
        };
        let (org, org_pool) = (state.org.clone(), pool.clone());
        background.push(every(web::org::REFRESH, shutdown_rx.clone(), move || {
            let (org, pool) = (org.clone(), org_pool.clone());
            async move {
                if let Err(e) = org.reload(&pool).await {
                    tracing::warn!(error = %e, "cannot read the organisation's name");
                }
            }
        }));
        // Forget idle addresses now and then, so a flood of them cannot grow memory.
        let (limits, api_limit) = (state.limits.clone(), state.api_limit.clone());
        background.push(every(
            Duration::from_secs(60),
            shutdown_rx.clone(),
            move || {
                limits.shrink();
                api_limit.limiter().retain_recent();
                std::future::ready(())
            },
        ));
        // Scans are written in batches; the last ones at shutdown (`App::stop`).
        let (scans, flush_pool) = (state.scans.clone(), pool.clone());
        background.push(every(
            Duration::from_secs(store::codes::SCAN_FLUSH_SECS),
            shutdown_rx.clone(),
            move || {
                let (scans, pool) = (scans.clone(), flush_pool.clone());
                async move {
                    if let Err(e) = scans.flush(&pool).await {
                        tracing::warn!(error = %e, "cannot write scan counts; keeping them for the next try");
                    }
                }
            },
        ));
        let scans = state.scans.clone();
        let timeouts = web::serve::Timeouts::from_config(&config.server);
        let mut metrics_addr = None;
        if !config.metrics.listen.is_empty() {
            let listener = tokio::net::TcpListener::bind(&config.metrics.listen)
                .await
                .with_context(|| {
                    format!("cannot listen for metrics on {}", config.metrics.listen)
                })?;
            metrics_addr = Some(listener.local_addr()?);
            let only_metrics = Router::new()
                .route("/metrics", get(web::metrics::page))
                .fallback(web::not_found)
                .layer(axum::middleware::from_fn(web::security_headers))
                .layer(axum::middleware::from_fn(web::trace::request_id))
                .with_state(state.clone());
            background.push(tokio::spawn(web::serve::serve(
                listener,
                only_metrics,
                timeouts,
                shutdown_rx.clone(),
            )));
            tracing::info!(addr = ?metrics_addr, "metrics listening");
        }
        let app = router(state);
        let server = tokio::spawn(web::serve::serve(
            listener,
            app,
            timeouts,
            shutdown_rx.clone(),
        ));
        tracing::info!(%addr, %public_url, database = engine.name(), "qrdesk listening");
        Ok(App {
            addr,
            public_url,
            pool,
            sim,
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
