//! "Подключение к HubEx": the connection check as a page, with "check now".
//! The check runs in the background (it spends a dozen calls of the shared
//! budget) and the page refreshes itself until it is done.

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
use crate::web::i18n::Lang;
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
    district_source: String,
    sync_calls: String,
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
    let h = &state.config.hubex;
    let target = match h.mode {
        crate::config::HubexMode::Live => h.base_url.clone(),
        crate::config::HubexMode::Simulator => {
            "встроенный симулятор HubEx (hubex.mode = \"simulator\")".into()
        }
    };
    let view = Page {
        f: Frame::new(&s, "Подключение к HubEx", "connection")
            .with_notice(notice(q.done.as_deref())),
        running,
        checked: super::when(&state, report.as_ref().map(|r| r.checked_at)),
        report,
        target,
        district_source: crate::catalog::source_text(
            &setting("catalog_district_source").await,
            Lang::Ru,
        ),
        sync_calls: setting("catalog_sync_calls").await,
    };
    render(StatusCode::OK, &view)
}

/// Starts a check unless one is running.
pub async fn check_now(State(state): State<AppState>, _: AdminForm<Button>) -> Response {
    let start = {
        let mut c = state.connection.lock().unwrap_or_else(|e| e.into_inner());
        !std::mem::replace(&mut c.running, true)
    };
    if start {
        let (backend, config, shared) = (
            state.backend.clone(),
            state.config.clone(),
            state.connection.clone(),
        );
        tokio::spawn(async move {
            let report = backend.check(&config.hubex, Lang::Ru, false).await;
            let mut c = shared.lock().unwrap_or_else(|e| e.into_inner());
            c.running = false;
            c.last = Some(report);
        });
    }
    Redirect::to("/admin/connection?done=check").into_response()
}
