//! Settings → Интеграции: the task system connection check as a page, with
//! "check now"; mail (set or not, "send me a test mail"); and what is set by
//! environment, read-only, secrets shown only as set.
//! The check runs in the background (it spends a dozen calls of the shared
//! budget) and the page refreshes itself until it is done.

use crate::web::tr::filters;
use crate::web::tr::{tr, trf};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::Staff;
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

/// The `QRDESK_…` variables of this process, secrets only as "задано".
fn environment() -> Vec<(String, String)> {
    let secret = |name: &str| {
        ["TOKEN", "PASSWORD", "SECRET", "SMTP_URL", "KEY"]
            .iter()
            .any(|s| name.contains(s))
    };
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("QRDESK_") && !k.starts_with("QRDESK_TEST_"))
        .map(|(k, v)| {
            let shown = if secret(&k) {
                if v.is_empty() {
                    tr("не задано")
                } else {
                    tr("задано")
                }
                .to_owned()
            } else if k == "QRDESK_DATABASE__URL" {
                crate::store::redact_url(&v)
            } else {
                v.chars().take(200).collect()
            };
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
    Staff(s): Staff,
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
        crate::web::tr::trf(
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
        district_source: crate::catalog::source_text(
            &setting("catalog_district_source").await,
            crate::web::tr::lang(),
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
        let lang = crate::web::tr::lang();
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
