//! Keeping the local catalog in step with the task system, and the rules that
//! read it: which targets are inside the allowed участки, and which task type,
//! request method and criticality new tasks get.

pub mod own;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::backend::hubex::defaults::source_text;
use crate::backend::{AssetId, DistrictId, TaskBackend};
use crate::config::CatalogConfig;
use crate::store::{self, catalog, codes::Target, Pool};

#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    pub districts: usize,
    pub locations: usize,
    pub companies: usize,
    pub assets: usize,
    /// Calls to the task system this sync made.
    pub calls: u64,
    /// How the assets' участки were learnt.
    pub district_source: String,
}

impl SyncReport {
    /// The report in words, for the admin in its language.
    pub fn text(&self, lang: crate::domain::lang::Lang) -> String {
        use crate::i18n::{plural, Lang};
        let n = |n: usize, ru: [&'static str; 3], en: [&'static str; 2]| {
            format!("{n} {}", plural(lang, n as u64, ru, en))
        };
        let parts = [
            n(
                self.districts,
                ["участок", "участка", "участков"],
                ["district", "districts"],
            ),
            n(
                self.locations,
                ["площадка", "площадки", "площадок"],
                ["location", "locations"],
            ),
            n(
                self.companies,
                ["компания", "компании", "компаний"],
                ["company", "companies"],
            ),
            n(
                self.assets,
                ["актив", "актива", "активов"],
                ["asset", "assets"],
            ),
        ]
        .join(", ");
        let source = source_text(&self.district_source, lang);
        match lang {
            Lang::Ru => format!(
                "{parts}; {} к HubEx; участки: {source}",
                n(
                    self.calls as usize,
                    ["запрос", "запроса", "запросов"],
                    ["call", "calls"]
                )
            ),
            Lang::En => format!(
                "{parts} in {}; участки: {source}",
                n(self.calls as usize, ["", "", ""], ["call", "calls"])
            ),
        }
    }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(crate::domain::lang::Lang::En))
    }
}

/// What a sync is doing now and how the last one ended, for the admin page.
#[derive(Debug, Clone, Default)]
pub struct SyncState {
    pub running: bool,
    pub phase: String,
    pub done: usize,
    pub total: usize,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub report: Option<SyncReport>,
}

impl SyncState {
    /// What the sync is doing, in the page's language.
    pub fn phase_title(&self) -> &str {
        use crate::i18n::tr::tr;
        match self.phase.as_str() {
            "starting" => tr("начало"),
            "districts" => tr("участки"),
            "dictionaries" => tr("справочники"),
            "locations" => tr("площадки"),
            "companies" => tr("компании"),
            "assets" => tr("оборудование"),
            "saving" => tr("сохранение"),
            other => other,
        }
    }

    /// Why the last sync failed, in the page's language (the task system's
    /// own words kept).
    pub fn error_text(&self) -> Option<String> {
        use crate::i18n::tr::{tr, trf};
        let e = self.error.as_deref()?;
        Some(if e.starts_with(ANOTHER_INSTANCE) {
            tr("Каталог сейчас синхронизирует другой экземпляр qrdesk: его результат появится здесь же. Попробуйте позже.").to_owned()
        } else {
            trf(
                "Синхронизация не удалась, каталог остался прежним. Подробности: {}",
                &[&e],
            )
        })
    }
}

const ANOTHER_INSTANCE: &str = "another instance is syncing the catalog";

/// Shared by the admin's "sync now", the periodic sync and the page that shows it.
#[derive(Default)]
pub struct SyncTracker(std::sync::Mutex<SyncState>);

impl SyncTracker {
    pub fn state(&self) -> SyncState {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut SyncState)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Marks a sync as started; false if one is already running.
    fn begin(&self) -> bool {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if s.running {
            return false;
        }
        *s = SyncState {
            running: true,
            phase: "starting".into(),
            started_at: Some(store::now_ms()),
            finished_at: s.finished_at,
            ..Default::default()
        };
        true
    }
}

impl crate::backend::Progress for SyncTracker {
    fn step(&self, phase: &str, done: usize, total: usize) {
        self.update(|s| {
            s.phase = phase.to_owned();
            s.done = done;
            s.total = total;
        });
    }
}

/// Runs a sync in the background unless one is running; false if one was.
pub fn sync_in_background(
    pool: Pool,
    backend: Arc<dyn TaskBackend>,
    tracker: Arc<SyncTracker>,
) -> bool {
    if !tracker.begin() {
        return false;
    }
    tokio::spawn(async move { run_tracked(&pool, backend.as_ref(), &tracker).await });
    true
}

/// Runs a sync unless another instance on the same database is running one.
async fn run_tracked(pool: &Pool, backend: &dyn TaskBackend, tracker: &SyncTracker) {
    let work = sync(pool, backend, tracker);
    let result = match store::shared::once_at_a_time(pool, "catalog sync", work).await {
        Ok(Some(result)) => result,
        Ok(None) => {
            tracing::info!(
                "another instance is syncing the catalog; its result lands in the shared database"
            );
            Err(anyhow::anyhow!(
                "{ANOTHER_INSTANCE} right now; try again when it is done"
            ))
        }
        Err(e) => Err(e.into()),
    };
    match &result {
        Ok(report) => tracing::info!(%report, "catalog synced"),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "catalog sync failed; the stored catalog stays in use")
        }
    }
    tracker.update(|s| {
        s.running = false;
        s.finished_at = Some(store::now_ms());
        match result {
            Ok(r) => s.report = Some(r),
            Err(e) => s.error = Some(format!("{e:#}")),
        }
    });
}

/// Pulls the whole catalog and replaces the local mirror in one transaction.
pub async fn sync(
    pool: &Pool,
    backend: &dyn TaskBackend,
    progress: &dyn crate::backend::Progress,
) -> anyhow::Result<SyncReport> {
    if !backend.capabilities().synced_catalog {
        anyhow::bail!(
            "{} keeps no equipment catalog, so there is nothing to sync: qrdesk keeps its own (Каталог → Добавить, qrdesk assets create / import)",
            backend.name()
        );
    }
    let result = async {
        let known = catalog::known(pool).await?;
        let snap = backend.fetch_catalog(&known, progress).await?;
        progress.step("saving", 0, 0);
        // An empty answer where we had assets is far more likely a permission
        // change or an outage than a tenant that deleted everything.
        if snap.assets.is_empty() && catalog::asset_count(pool).await? > 0 {
            anyhow::bail!("HubEx returned no assets; the local catalog was kept (check the API user's участки)");
        }
        catalog::replace(pool, &snap, store::now_ms()).await?;
        Ok(SyncReport {
            districts: snap.districts.len(),
            locations: snap.locations.len(),
            companies: snap.companies.len(),
            assets: snap.assets.len(),
            calls: snap.calls,
            district_source: snap.district_source,
        })
    }
    .await;
    let error = match &result {
        Ok(_) => String::new(),
        Err(e) => format!("{e:#}"),
    };
    store::set_setting(pool, "catalog_sync_error", &error).await?;
    result
}

/// How long ago the catalog was last synced; `None` if never.
pub async fn age(pool: &Pool) -> anyhow::Result<Option<Duration>> {
    let at: Option<i64> = store::get_setting(pool, "catalog_synced_at")
        .await?
        .and_then(|v| v.parse().ok());
    Ok(at.map(|at| Duration::from_millis((store::now_ms() - at).max(0) as u64)))
}

/// Syncs after `first`, then every `interval`, until shutdown; errors are
/// logged and kept for the admin page, the previous catalog stays in use.
pub fn spawn_periodic(
    pool: Pool,
    backend: Arc<dyn TaskBackend>,
    tracker: Arc<SyncTracker>,
    first: Duration,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = first;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            wait = interval;
            if tracker.begin() {
                run_tracked(&pool, backend.as_ref(), &tracker).await;
            }
        }
    })
}

/// Why a target cannot receive requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefusal {
    #[error("{} is not in the synced catalog (run `qrdesk sync` first, or check the id)", english(.0))]
    Unknown(Target),
    #[error("{} is outside the allowed участки (catalog.allowed_districts)", english(.0))]
    OutsideDistricts(Target),
}

fn english(t: &Target) -> String {
    match t {
        Target::Asset(id) => format!("asset {id}"),
        Target::Location(id) => format!("location {id}"),
        Target::District(id) => format!("district {id}"),
        Target::Unassigned => "no target".into(),
    }
}

impl TargetRefusal {
    /// The refusal as the admin area says it, with what to do.
    pub fn for_staff(&self) -> String {
        let what = |t: &Target| match t {
            Target::Asset(id) => format!("Актив №{id}"),
            Target::Location(id) => format!("Площадка №{id}"),
            Target::District(id) => format!("Участок №{id}"),
            Target::Unassigned => "Цель".into(),
        };
        match self {
            TargetRefusal::Unknown(t) => format!(
                "{} не найден в каталоге. Выберите из поиска или обновите каталог (Каталог → «Синхронизировать сейчас»).",
                what(t)
            ),
            TargetRefusal::OutsideDistricts(t) => format!(
                "{} вне участков, в которые qrdesk создаёт заявки. Выберите другой или попросите владельца добавить участок в настройках.",
                what(t)
            ),
        }
    }
}

/// The districts requests may go to: the configured list, or every synced one.
pub async fn allowed_districts(
    pool: &Pool,
    scope: &CatalogConfig,
) -> sqlx::Result<Vec<DistrictId>> {
    if scope.allowed_districts.is_empty() {
        Ok(catalog::districts(pool)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect())
    } else {
        Ok(scope
            .allowed_districts
            .iter()
            .copied()
            .map(DistrictId)
            .collect())
    }
}

fn overlaps(a: &[DistrictId], allowed: &[DistrictId]) -> bool {
    a.iter().any(|d| allowed.contains(d))
}

/// Checks that a target exists locally and lies inside the allowed участки.
pub async fn check_target(
    pool: &Pool,
    scope: &CatalogConfig,
    target: Target,
) -> Result<(), anyhow::Error> {
    let allowed = allowed_districts(pool, scope).await?;
    let refusal = match target {
        Target::Asset(id) => {
            if catalog::asset(pool, id).await?.is_none() {
                Some(TargetRefusal::Unknown(target))
            } else if !asset_allowed(pool, &allowed, id).await? {
                Some(TargetRefusal::OutsideDistricts(target))
            } else {
                None
            }
        }
        Target::Location(id) => {
            if catalog::location(pool, id).await?.is_none() {
                Some(TargetRefusal::Unknown(target))
            } else if !overlaps(&catalog::location_districts(pool, id).await?, &allowed) {
                Some(TargetRefusal::OutsideDistricts(target))
            } else {
                None
            }
        }
        Target::District(id) => {
            if catalog::district(pool, id).await?.is_none() {
                Some(TargetRefusal::Unknown(target))
            } else if !allowed.contains(&id) {
                Some(TargetRefusal::OutsideDistricts(target))
            } else {
                None
            }
        }
        Target::Unassigned => None,
    };
    match refusal {
        Some(r) => Err(r.into()),
        None => Ok(()),
    }
}

pub async fn asset_allowed(pool: &Pool, allowed: &[DistrictId], id: AssetId) -> sqlx::Result<bool> {
    Ok(overlaps(
        &catalog::asset_districts(pool, id).await?,
        allowed,
    ))
}
