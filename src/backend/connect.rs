//! Wiring the configured task system: its client and, in simulator mode,
//! its in-process simulator. Adding a system means a folder beside
//! `hubex/`, `bitrix24/` and `evateam/` with a `connect`, and one arm here.

use std::net::SocketAddr;
use std::sync::Arc;

use super::hubex::sim::Simulator;
use super::{bitrix24, evateam, hubex, TaskBackend};
use crate::config::{BackendKind, Config};
use crate::store::{self, Pool};

/// The simulators a process runs in place of the task systems; tests keep
/// handles on them (fault injection, what the "task system" received).
#[derive(Clone, Default)]
pub struct Simulators {
    pub hubex: Option<Simulator>,
    pub bitrix24: Option<bitrix24::sim::Simulator>,
    pub evateam: Option<evateam::sim::Simulator>,
}

/// The task backend the configuration asks for, started.
pub struct Connected {
    pub backend: Arc<dyn TaskBackend>,
    /// The simulators started (the one of the configured kind, in simulator mode).
    pub sims: Simulators,
    /// Where the simulator listens, in simulator mode.
    pub sim_addr: Option<SocketAddr>,
}

/// The task backend the configuration asks for; starts the simulator if
/// needed. With `catalog`, HubEx tasks take their defaults from the synced
/// catalog.
pub async fn connect(
    config: &Config,
    catalog: Option<&Pool>,
    sims: Simulators,
) -> anyhow::Result<Connected> {
    match config.backend.kind {
        BackendKind::Hubex => {
            let (client, sim, sim_addr) = hubex::connect(config, sims.hubex).await?;
            let client = client
                .for_tenant(config.hubex.clone(), catalog.cloned())
                .with_scope(config.catalog.clone());
            Ok(Connected {
                backend: Arc::new(client),
                sims: Simulators {
                    hubex: sim,
                    ..Simulators::default()
                },
                sim_addr,
            })
        }
        BackendKind::Bitrix24 => {
            let (client, sim, sim_addr) =
                bitrix24::connect(&config.bitrix24, sims.bitrix24).await?;
            Ok(Connected {
                backend: Arc::new(client),
                sims: Simulators {
                    bitrix24: sim,
                    ..Simulators::default()
                },
                sim_addr,
            })
        }
        BackendKind::Evateam => {
            let (client, sim, sim_addr) =
                evateam::connect(&config.evateam, catalog, sims.evateam).await?;
            Ok(Connected {
                backend: Arc::new(client),
                sims: Simulators {
                    evateam: sim,
                    ..Simulators::default()
                },
                sim_addr,
            })
        }
    }
}

/// The HubEx backend alone (its catalog sync, its tests), whatever
/// `backend.kind` says.
pub async fn connect_backend(
    config: &Config,
    sim: Option<Simulator>,
) -> anyhow::Result<(Arc<dyn TaskBackend>, Option<Simulator>, Option<SocketAddr>)> {
    let (client, sim, addr) = hubex::connect(config, sim).await?;
    let client = client
        .for_tenant(config.hubex.clone(), None)
        .with_scope(config.catalog.clone());
    Ok((Arc::new(client), sim, addr))
}

/// On PostgreSQL, makes `backend` take its calls from the budget every
/// process on the database shares (the task system's limit is per tenant).
pub async fn share_call_budget(pool: &Pool, backend: &dyn TaskBackend) -> anyhow::Result<()> {
    if store::Engine::of(pool) == store::Engine::Postgres {
        if let Some(budget) = backend.call_budget() {
            let (interval, burst) = budget.rate();
            let shared =
                store::shared::SharedBudget::new(pool, "task system", interval, burst).await?;
            budget.share(shared);
        }
    }
    Ok(())
}
