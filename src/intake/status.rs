//! The customer's private status page, `/t/{token}`. The token in the URL is
//! the only key; the database holds just its hash.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::LangQuery;
use crate::backend::hubex::client::is_css_color;
use crate::codes::TrackingToken;
use crate::store::catalog::AssetView;
use crate::store::{self, attachments, requests, requests::RequestRecord};
use crate::web::i18n::{Lang, Texts};
use crate::web::{self, render};
use crate::AppState;

/// A page view waits at most this long for the task system.
const LIVE_READ_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    lang: Lang,
    t: &'static Texts,
    title: &'a str,
    switch_href: Option<String>,
    r: &'a RequestRecord,
    asset: Option<AssetView>,
    state_text: &'a str,
    /// A coloured dot for the task status, as a data: image (no inline style).
    status_dot: Option<String>,
    /// Seconds until the page reloads itself; none once the task is closed.
    refresh: Option<u32>,
    sent: String,
    created: Option<String>,
    completed: Option<String>,
    closed: Option<String>,
    checked: Option<String>,
    self_href: String,
    /// Links to the photos sent (those still kept).
    photos: Vec<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let explicit = q.lang.as_deref();
    let fallback = Lang::negotiate(explicit, &headers);
    let not_found = || {
        let t = fallback.texts();
        web::message(
            StatusCode::NOT_FOUND,
            fallback,
            t.token_unknown_title,
            t.token_unknown_text,
        )
    };
    let Some(token) = TrackingToken::parse(&raw) else {
        return not_found();
    };
    let mut record = match requests::by_token_hash(&state.pool, &token.hash()).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(),
        Err(e) => return web::internal_error(fallback, e),
    };
    // The language of the request, unless the person asked for another now.
    let lang = explicit
        .and_then(Lang::parse)
        .or_else(|| Lang::from_cookie(&headers))
        .or_else(|| Lang::parse(&record.lang))
        .unwrap_or_default();

    if let Some(task_id) = record.task_id {
        let stale = record.status_checked_at.is_none_or(|at| {
            store::now_ms() - at >= state.config.hubex.status_max_age_secs as i64 * 1000
        });
        if stale && record.task_closed_at.is_none() {
            // Best effort: when the task system is slow or down, the page
            // shows the last known status and when it was read.
            if let Ok(Ok(s)) =
                tokio::time::timeout(LIVE_READ_TIMEOUT, state.backend.task_state(task_id)).await
            {
                if requests::save_state(&state.pool, &record.id, &s, store::now_ms())
                    .await
                    .is_ok()
                {
                    if let Ok(Some(fresh)) = requests::get(&state.pool, &record.id).await {
                        record = fresh;
                    }
                }
            }
        }
    }

    let photos = attachments::for_request(&state.pool, &record.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .map(|a| format!("/t/{}/photo/{}", token.as_str(), a.id))
        .collect();
    let asset = match record.asset_id {
        Some(id) => store::catalog::asset(&state.pool, id).await.ok().flatten(),
        None => None,
    };
    let t = lang.texts();
    let state_text = match record.status.as_str() {
        "delivered" => t.st_delivered,
        "failed" => t.st_failed,
        _ => t.st_accepted,
    };
    let refresh = match record.status.as_str() {
        "accepted" | "delivering" => Some(5),
        "delivered" if record.task_closed_at.is_none() => Some(60),
        _ => None,
    };
    let offset = state.config.server.utc_offset_minutes;
    let fmt = |ms: Option<i64>| ms.map(|ms| format_local(ms, offset));
    let page = StatusPage {
        lang,
        t,
        title: t.status_title,
        switch_href: Some(format!("/t/{}?lang={}", token.as_str(), lang.other().code())),
        r: &record,
        asset,
        state_text,
        status_dot: record
            .task_status_color
            .as_deref()
            .filter(|c| is_css_color(c))
            .map(|c| {
                format!(
                    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E\
                     %3Ccircle cx='5' cy='5' r='5' fill='%23{}'/%3E%3C/svg%3E",
                    &c[1..]
                )
            }),
        refresh,
        sent: format_local(record.created_at, offset),
        created: fmt(record.task_created_at),
        completed: fmt(record.task_completed_at),
        closed: fmt(record.task_closed_at),
        checked: fmt(record.status_checked_at),
        self_href: format!("/t/{}", token.as_str()),
        photos,
    };
    super::with_lang_cookie(render(StatusCode::OK, &page), explicit, lang)
}

/// A photo of the request behind `token`; the token is the only key.
pub async fn photo(
    State(state): State<AppState>,
    Path((raw, id)): Path<(String, String)>,
) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Some(token) = TrackingToken::parse(&raw) else {
        return not_found();
    };
    let Ok(Some(record)) = requests::by_token_hash(&state.pool, &token.hash()).await else {
        return not_found();
    };
    let Ok(Some(a)) = attachments::get(&state.pool, &id).await else {
        return not_found();
    };
    if a.request_id != record.id || a.removed_at.is_some() {
        return not_found();
    }
    match state.blobs.get(&a.sha256).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

/// `22.11.2026 14:05` at the configured offset from UTC.
pub fn format_local(ms: i64, offset_minutes: i32) -> String {
    use time::macros::format_description;
    let offset =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| {
            t.format(format_description!("[day].[month].[year] [hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_time_uses_the_offset() {
        // 2025-07-02T15:15:04Z
        let ms = 1_751_469_304_000;
        assert_eq!(super::format_local(ms, 180), "02.07.2025 18:15");
        assert_eq!(super::format_local(ms, 0), "02.07.2025 15:15");
    }
}
