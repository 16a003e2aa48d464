//! Every request with its delivery state, and "retry now" for failed ones.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::auth::{AdminForm, Button, Staff};
use super::{notice, paging, status_title, Frame};
use crate::store;
use crate::store::requests::{self, RequestListItem};
use crate::web::{self, render};
use crate::AppState;

const PER_PAGE: i64 = 50;

pub struct Row {
    r: RequestListItem,
    created: String,
    status: &'static str,
    short: String,
}

#[derive(Template)]
#[template(path = "admin/requests.html")]
struct ListPage {
    f: Frame,
    rows: Vec<Row>,
    status: String,
    total: i64,
    page: i64,
    last: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    page: Option<i64>,
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<ListQuery>,
) -> web::Result {
    let status = crate::store::RequestStatus::parse(&q.status);
    let requested = q.page.unwrap_or(1).max(1);
    let (items, total) =
        requests::page(&state.pool, status, PER_PAGE, (requested - 1) * PER_PAGE).await?;
    let (page, last, prev, next) = paging(total, requested, PER_PAGE);
    let rows = items
        .into_iter()
        .map(|r| Row {
            created: super::when(&state, Some(r.created_at)),
            status: status_title(&r.status),
            short: {
                let s: String = r.description.chars().take(120).collect();
                if s.len() < r.description.len() {
                    format!("{s}…")
                } else {
                    s
                }
            },
            r,
        })
        .collect();
    let status = status.map_or("", |s| s.as_str());
    let base = format!("/admin/requests?status={status}");
    let view = ListPage {
        f: Frame::new(&s, "Заявки", "requests").with_notice(notice(q.done.as_deref())),
        rows,
        status: status.to_owned(),
        total,
        page,
        last,
        prev: prev.map(|p| format!("{base}&page={p}")),
        next: next.map(|p| format!("{base}&page={p}")),
    };
    Ok(render(StatusCode::OK, &view))
}

/// Puts a failed request back in the queue; the worker wakes at once.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: AdminForm<Button>,
) -> web::Result {
    let now = store::now_ms();
    if !requests::retry(&state.pool, &id, now).await? {
        return Ok(super::message(
            StatusCode::CONFLICT,
            "Не получилось",
            "Повторить можно только заявку с ошибкой.",
        ));
    }
    f.audit(&state, "request-retry", &id).await;
    state.worker.wake.notify_one();
    Ok(Redirect::to("/admin/requests?done=retried").into_response())
}
