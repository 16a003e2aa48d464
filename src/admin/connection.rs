//! Settings → Интеграции: the task system connection check as a page, with
//! "check now"; mail (set or not, "send me a test mail"); and what is set by
//! environment, read-only, secrets shown only as set.
//! The check runs in the background (it spends a dozen calls of the shared
//! budget) and the page refreshes itself until it is done.

use crate::i18n::tr::filters;
use crate::i18n::tr::{tr, trf};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{need, StaffAs};
use super::auth::{AdminForm, Button};
use super::{notice, Frame};
use crate::backend::CheckReport;
use crate::web::render;
use crate::AppState;

/// The last check and whether one is running, shared by the page and the task.
#[derive(Default)]
pub struct ConnectionState {
    pub running: bool,
    pub last: Option<CheckReport>,
}

pub type SharedConnection = Arc<Mutex<ConnectionState>>;

#[derive(Template)]
#[template(path = "admin/connection.html")]
struct Page {
    f: Frame,
    running: bool,
    report: Option<CheckReport>,
    checked: String,
    target: String,
    /// The task system's name; the catalog is synced from it.
    backend: &'static str,
    synced: bool,
    district_source: String,
    sync_calls: String,
    mail_on: bool,
    mail_from: String,
    mail_error: Option<String>,
    /// `QRDESK_…` variables: (name, value or "задано").
    env: Vec<(String, String)>,
}

/// Settings whose values are safe to show to an admin as they are: numbers,
/// switches, kinds, names. Whole sections are listed where every key is of
/// that sort; anything not named here (tokens, webhook URLs, passwords in a
/// query string, and every key added later) shows only as set or not set.
const SHOWN_SECTIONS: [&str; 5] = [
    "QRDESK_LIMITS__",
    "QRDESK_DELIVERY__",
    "QRDESK_PRIVACY__",
    "QRDESK_LOG__",
    "QRDESK_ORGANISATION__",
];
const SHOWN_KEYS: [&str; 41] = [
    "QRDESK_SERVER__LISTEN",
    "QRDESK_SERVER__DATA_DIR",
    "QRDESK_SERVER__SHUTDOWN_GRACE_SECS",
    "QRDESK_SERVER__UTC_OFFSET_MINUTES",
    "QRDESK_SERVER__TRUSTED_PROXIES",
    "QRDESK_SERVER__HEADER_READ_TIMEOUT_SECS",
    "QRDESK_SERVER__BODY_STALL_SECS",
    "QRDESK_SERVER__REQUEST_TIMEOUT_SECS",
    "QRDESK_DATABASE__MAX_CONNECTIONS",
    "QRDESK_BACKEND__KIND",
    "QRDESK_HUBEX__MODE",
    "QRDESK_HUBEX__APPLICATION_ID",
    "QRDESK_HUBEX__REQUEST_METHOD_ID",
    "QRDESK_HUBEX__TASK_TYPE_ID",
    "QRDESK_HUBEX__CRITICALITY_ID",
    "QRDESK_HUBEX__ALLOWED_DISTRICTS",
    "QRDESK_HUBEX__TIMEOUT_SECS",
    "QRDESK_HUBEX__SYNC_INTERVAL_SECS",
    "QRDESK_HUBEX__STATUS_POLL_SECS",
    "QRDESK_HUBEX__PAGE_SIZE",
    "QRDESK_HUBEX__MAX_CALLS_PER_MINUTE",
    "QRDESK_HUBEX__STATUS_MAX_AGE_SECS",
    "QRDESK_HUBEX__REOPEN_STAGE_ID",
    "QRDESK_HUBEX__SAME_PROBLEM",
    "QRDESK_HUBEX__SIM_SHAPE",
    "QRDESK_BITRIX24__MODE",
    "QRDESK_BITRIX24__RESPONSIBLE_ID",
    "QRDESK_BITRIX24__GROUP_ID",
    "QRDESK_BITRIX24__CREATED_BY",
    "QRDESK_BITRIX24__AUDITORS",
    "QRDESK_BITRIX24__FOLDER_ID",
    "QRDESK_BITRIX24__COMMENTS",
    "QRDESK_BITRIX24__TIMEOUT_SECS",
    "QRDESK_BITRIX24__MAX_CALLS_PER_MINUTE",
    "QRDESK_EVATEAM__MODE",
    "QRDESK_EVATEAM__PROJECT",
    "QRDESK_EVATEAM__TIMEOUT_SECS",
    "QRDESK_EVATEAM__MAX_CALLS_PER_MINUTE",
    "QRDESK_MAIL__STATUS_CHANGES",
    "QRDESK_MAIL__TIMEOUT_SECS",
    "QRDESK_WEBHOOKS__TIMEOUT_SECS",
];
/// Addresses shown as scheme and host only: where they point is useful to
/// see, while a path or query may hold a credential.
const SHOWN_AS_ORIGIN: [&str; 6] = [
    "QRDESK_SERVER__PUBLIC_URL",
    "QRDESK_DATABASE__URL",
    "QRDESK_HUBEX__BASE_URL",
    "QRDESK_EVATEAM__BASE_URL",
    "QRDESK_BITRIX24__WEBHOOK_URL",
    "QRDESK_METRICS__LISTEN",
];

/// How one `QRDESK_…` variable is shown: its value only where the key is
/// known to be harmless, an address as its origin, else set / not set.
fn shown_value(key: &str, value: &str) -> String {
    let set_or_not = || {
        if value.trim().is_empty() {
            tr("не задано")
        } else {
            tr("задано")
        }
        .to_owned()
    };
    if SHOWN_KEYS.contains(&key) || SHOWN_SECTIONS.iter().any(|s| key.starts_with(s)) {
        value.chars().take(200).collect()
    } else if SHOWN_AS_ORIGIN.contains(&key) {
        match crate::store::url_origin(value) {
            Some(origin) if value.contains("://") => origin,
            _ => set_or_not(),
        }
    } else {
        set_or_not()
    }
}

/// The `QRDESK_…` variables of this process, each as [`shown_value`] allows.
fn environment() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("QRDESK_") && !k.starts_with("QRDESK_TEST_"))
        .map(|(k, v)| {
            let shown = shown_value(&k, &v);
            (k, shown)
        })
        .collect();
    vars.sort();
    vars
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    StaffAs(s, _): StaffAs<need::Admin>,
    Query(q): Query<DoneQuery>,
) -> Response {
    render(
        StatusCode::OK,
        &view(&state, &s, q.done.as_deref(), None).await,
    )
}

async fn view(
    state: &AppState,
    s: &crate::store::admins::Session,
    done: Option<&str>,
    mail_error: Option<String>,
) -> Page {
    let (running, report) = {
        let c = state.connection.lock().unwrap_or_else(|e| e.into_inner());
        (c.running, c.last.clone())
    };
    let setting = |key: &'static str| {
        let pool = state.pool.clone();
        async move {
            crate::store::get_setting(&pool, key)
                .await
                .ok()
                .flatten()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "—".into())
        }
    };
    let kind = state.config.backend.kind;
    let target = state.config.backend_target().unwrap_or_else(|| {
        crate::i18n::tr::trf(
            "встроенный симулятор {} ({}.mode = \"simulator\")",
            &[&kind.name(), &kind.section()],
        )
    });
    Page {
        f: Frame::new(s, tr("Интеграции"), "integrations").with_notice(notice(done)),
        running,
        checked: super::when(state, report.as_ref().map(|r| r.checked_at)),
        report,
        target,
        backend: state.backend.name(),
        synced: state.backend.capabilities().synced_catalog,
        district_source: crate::backend::hubex::defaults::source_text(
            &setting("catalog_district_source").await,
            crate::i18n::tr::lang(),
        ),
        sync_calls: setting("catalog_sync_calls").await,
        mail_on: state.mailer.is_some(),
        mail_from: state.config.mail.from.clone(),
        mail_error,
        env: environment(),
    }
}

/// Sends a short mail to the signed-in person, to see that mail works.
pub async fn test_mail(State(state): State<AppState>, form: AdminForm<Button>) -> Response {
    let s = &form.staff;
    let Some(mailer) = &state.mailer else {
        let page = view(
            &state,
            s,
            None,
            Some(tr("Почта не настроена: задайте mail.smtp_url и mail.from.").into()),
        )
        .await;
        return render(StatusCode::CONFLICT, &page);
    };
    let org = state.org.get();
    let mail = crate::mail::Composed {
        subject: tr("qrdesk: проверка почты").into(),
        body: [
            tr("Здравствуйте!"),
            "",
            tr("Это проверочное письмо из настроек qrdesk: почта работает."),
            "",
            "—",
            org.name().unwrap_or("qrdesk"),
        ]
        .join("\r\n"),
    };
    let id = uuid::Uuid::now_v7().to_string();
    match mailer.send(&id, &s.admin.email, &mail).await {
        Ok(()) => {
            form.audit(&state, "test-mail", &s.admin.email).await;
            Redirect::to("/admin/settings/integrations?done=mail-sent").into_response()
        }
        Err(e) => {
            let text = match e {
                crate::mail::SendError::Permanent(r) | crate::mail::SendError::Transient(r) => r,
            };
            tracing::warn!(reason = %text, "test mail failed");
            let page = view(
                &state,
                s,
                None,
                Some(trf(
                    "Письмо не ушло: {}. Проверьте mail.smtp_url и mail.from.",
                    &[&text],
                )),
            )
            .await;
            render(StatusCode::BAD_GATEWAY, &page)
        }
    }
}

/// Starts a check unless one is running.
pub async fn check_now(State(state): State<AppState>, _: AdminForm<Button>) -> Response {
    let start = {
        let mut c = state.connection.lock().unwrap_or_else(|e| e.into_inner());
        !std::mem::replace(&mut c.running, true)
    };
    if start {
        // The report is written in the language of whoever asked for it.
        let lang = crate::i18n::tr::lang();
        let (backend, shared) = (state.backend.clone(), state.connection.clone());
        tokio::spawn(async move {
            let report = backend.check(lang, false).await;
            let mut c = shared.lock().unwrap_or_else(|e| e.into_inner());
            c.running = false;
            c.last = Some(report);
        });
    }
    Redirect::to("/admin/settings/integrations?done=check").into_response()
}

#[cfg(test)]
mod tests {
    use super::shown_value;

    #[test]
    fn only_harmless_settings_show_their_values() {
        let hook = "https://portal.bitrix24.ru/rest/1/s3cretw3bhook/";
        assert_eq!(
            shown_value("QRDESK_BITRIX24__WEBHOOK_URL", hook),
            "https://portal.bitrix24.ru"
        );
        let db = "postgres://qrdesk@db:5432/qrdesk?password=s3cret";
        assert_eq!(
            shown_value("QRDESK_DATABASE__URL", db),
            "postgres://db:5432"
        );
        assert_eq!(shown_value("QRDESK_LIMITS__PHOTOS_MAX", "5"), "5");
        assert_eq!(shown_value("QRDESK_BACKEND__KIND", "bitrix24"), "bitrix24");
        // Unknown, new or secret keys: set or not, never the value.
        for key in [
            "QRDESK_HUBEX__SERVICE_TOKEN",
            "QRDESK_MAIL__SMTP_URL",
            "QRDESK_TELEGRAM__BOT",
            "QRDESK_SOMETHING_NEW",
        ] {
            assert_eq!(shown_value(key, "s3cret"), "задано", "{key}");
            assert_eq!(shown_value(key, ""), "не задано", "{key}");
        }
    }
}
