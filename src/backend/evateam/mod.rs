//! EvaTeam: tasks through its JSON-RPC API (`POST {base}/api/?m=Method`).
//!
//! `client` speaks the methods qrdesk needs, `sim` is an in-process
//! installation for demos and tests. EvaTeam tasks know nothing of
//! equipment, so qrdesk keeps the catalog itself.

pub mod client;
pub mod sim;

pub use client::EvaTeamClient;

/// qrdesk's numeric id for an EvaTeam object (`CmfTask:<uuid>`): the first
/// 63 bits of its SHA-256, so the same object always gets the same id.
pub fn local_id(remote: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(remote.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 1) as i64
}

/// Status names by `cache_status_type`, as the timeline shows them.
pub fn status_name(kind: &str) -> &'static str {
    match kind {
        "OPEN" => "Открыта",
        "IN_PROGRESS" => "В работе",
        "IN_REVIEW" => "На проверке",
        "CLOSED" => "Закрыта",
        _ => "Неизвестный статус",
    }
}

pub fn status_color(kind: &str) -> &'static str {
    match kind {
        "OPEN" => "#2f6fb3",
        "IN_PROGRESS" => "#b36b00",
        "IN_REVIEW" => "#6b4fb3",
        "CLOSED" => "#2e7d32",
        _ => "#5f6b76",
    }
}

/// The EvaTeam client `[evateam]` describes; in simulator mode with the demo
/// installation started on a loopback port.
pub async fn connect(
    config: &crate::config::EvaTeamConfig,
    catalog: Option<&crate::store::Pool>,
    given: Option<sim::Simulator>,
) -> anyhow::Result<(
    EvaTeamClient,
    Option<sim::Simulator>,
    Option<std::net::SocketAddr>,
)> {
    let mut e = config.clone();
    let (base, sim, sim_addr) = match e.mode {
        crate::config::Mode::Live => (e.base_url.clone(), None, None),
        crate::config::Mode::Simulator => {
            let sim = given.unwrap_or_default();
            let addr = crate::backend::on_loopback(|l| sim.spawn(l)).await?;
            e.token = sim::TOKEN.into();
            if e.project.is_empty() {
                e.project = sim::PROJECT.into();
            }
            (format!("http://{addr}"), Some(sim), Some(addr))
        }
    };
    let client = EvaTeamClient::new(&base, e, catalog.cloned())?;
    Ok((client, sim, sim_addr))
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_ids_are_positive_stable_and_distinct() {
        let a = super::local_id("CmfTask:0190b8a0-0000-7000-8000-000000000001");
        let b = super::local_id("CmfTask:0190b8a0-0000-7000-8000-000000000002");
        assert!(a > 0 && b > 0 && a != b);
        assert_eq!(
            a,
            super::local_id("CmfTask:0190b8a0-0000-7000-8000-000000000001")
        );
    }
}
