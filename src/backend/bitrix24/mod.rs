//! Bitrix24: tasks through an inbound webhook (`https://PORTAL/rest/USER/SECRET/`).
//!
//! `client` speaks the portal's REST methods, `sim` is an in-process portal
//! for demos and tests. Bitrix24 tasks know nothing of equipment, so qrdesk
//! keeps the catalog itself ([`crate::catalog::own`]).

pub mod client;
pub mod sim;

pub use crate::config::Bitrix24Hook as Hook;
pub use client::Bitrix24Client;

impl Hook {
    /// The URL of a method (`tasks.task.add`).
    pub fn method(&self, name: &str) -> String {
        format!(
            "{}/rest/{}/{}/{name}.json",
            self.portal, self.user_id, self.secret
        )
    }

    /// The URL of a REST 3.0 method (`/rest/api/…`), such as the task chat.
    pub fn method_v3(&self, name: &str) -> String {
        format!(
            "{}/rest/api/{}/{}/{name}",
            self.portal, self.user_id, self.secret
        )
    }
}

/// The status names Bitrix24 shows, by its `STATUS` number.
pub fn status_name(status: i64) -> &'static str {
    match status {
        1 => "Новая",
        2 => "Ждёт выполнения",
        3 => "Выполняется",
        4 => "Ждёт контроля",
        5 => "Завершена",
        6 => "Отложена",
        7 => "Отклонена",
        _ => "Неизвестный статус",
    }
}

/// A colour per status for the status page's badge.
pub fn status_color(status: i64) -> &'static str {
    match status {
        1 | 2 => "#2f6fb3",
        3 => "#b36b00",
        4 => "#6b4fb3",
        5 => "#2e7d32",
        _ => "#5f6b76",
    }
}

/// The Bitrix24 client `[bitrix24]` describes; in simulator mode with the
/// demo portal started on a loopback port.
pub async fn connect(
    b: &crate::config::Bitrix24Config,
    given: Option<sim::Simulator>,
) -> anyhow::Result<(
    Bitrix24Client,
    Option<sim::Simulator>,
    Option<std::net::SocketAddr>,
)> {
    use anyhow::Context;
    let (hook, sim, sim_addr) = match b.mode {
        crate::config::Mode::Live => {
            let hook = Hook::parse(b.webhook_url.expose())
                .context("bitrix24.webhook_url is not an inbound webhook URL")?;
            (hook, None, None)
        }
        crate::config::Mode::Simulator => {
            let sim = given.unwrap_or_default();
            let addr = crate::backend::on_loopback(|l| sim.spawn(l)).await?;
            let url = sim::Simulator::webhook_url(addr);
            let hook = Hook::parse(&url).context("simulator URL")?;
            (hook, Some(sim), Some(addr))
        }
    };
    let mut cfg = b.clone();
    if cfg.responsible_id <= 0 && sim.is_some() {
        // The demo portal's dispatcher.
        cfg.responsible_id = 2;
    }
    let client = Bitrix24Client::new(hook, cfg)?;
    Ok((client, sim, sim_addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_split_and_its_secret_never_printed() {
        let h = Hook::parse("https://acme.bitrix24.ru/rest/17/abcd1234efgh/").unwrap();
        assert_eq!(h.portal, "https://acme.bitrix24.ru");
        assert_eq!(h.user_id, 17);
        assert_eq!(
            h.method("tasks.task.add"),
            "https://acme.bitrix24.ru/rest/17/abcd1234efgh/tasks.task.add.json"
        );
        assert_eq!(
            h.method_v3("tasks.task.chat.message.send"),
            "https://acme.bitrix24.ru/rest/api/17/abcd1234efgh/tasks.task.chat.message.send"
        );
        assert!(!format!("{h:?}").contains("abcd1234efgh"));
        assert_eq!(
            Hook::parse("https://acme.bitrix24.ru/rest/17/abcd1234efgh/profile.json"),
            Some(h)
        );
        for bad in [
            "",
            "acme.bitrix24.ru/rest/17/abcd1234efgh/",
            "ftp://acme.bitrix24.ru/rest/17/abcd1234efgh/",
            "https://acme.bitrix24.ru/api/17/abcd1234efgh/",
            "https://acme.bitrix24.ru/rest/0/abcd1234efgh/",
            "https://acme.bitrix24.ru/rest/x/abcd1234efgh/",
            "https://acme.bitrix24.ru/rest/17/",
            "https://acme.bitrix24.ru/rest/17/ab%2F/",
        ] {
            assert!(Hook::parse(bad).is_none(), "{bad}");
        }
    }
}
