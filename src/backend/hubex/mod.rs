//! HubEx: the first [`TaskBackend`](crate::backend::TaskBackend).
//!
//! `client` talks to a tenant, `types` are the wire shapes, `sim` is an
//! in-process tenant for demos and tests.

pub mod check;
pub mod client;
pub mod defaults;
pub mod read;
pub mod sim;
mod task_backend;
pub mod types;

pub use client::HubexClient;

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{Config, Mode};
use sim::Simulator;

/// The HubEx client `[hubex]` describes; in simulator mode with the
/// simulator started on a loopback port.
pub async fn connect(
    config: &Config,
    sim: Option<Simulator>,
) -> anyhow::Result<(HubexClient, Option<Simulator>, Option<SocketAddr>)> {
    let h = &config.hubex;
    let timeout = Duration::from_secs(h.timeout_secs.max(1));
    match h.mode {
        Mode::Live => {
            let client = HubexClient::new(
                &h.base_url,
                h.service_token.expose(),
                h.application_id,
                timeout,
                h.page_size,
                h.max_calls_per_minute,
            )?;
            Ok((client, None, None))
        }
        Mode::Simulator => {
            let sim = sim.unwrap_or_default();
            sim.set_shape(h.sim_shape);
            let addr = crate::backend::on_loopback(|l| sim.spawn(l)).await?;
            let client = HubexClient::new(
                &format!("http://{addr}"),
                &sim.service_token(),
                h.application_id,
                timeout,
                h.page_size,
                h.max_calls_per_minute,
            )?;
            Ok((client, Some(sim), Some(addr)))
        }
    }
}
