//! A message page in the admin area's layout, for refusals the web layer
//! gives before a request reaches the admin area.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use axum::http::HeaderMap;

use crate::i18n::tr::filters;

/// The staff session cookie.
pub const COOKIE: &str = "qrdesk_session";

/// The signed-in staff member behind a request's cookie, if any.
pub async fn session_from(
    state: &crate::AppState,
    headers: &HeaderMap,
) -> Option<crate::store::admins::Session> {
    let token = super::cookie(headers, COOKIE)?;
    crate::store::admins::session(&state.pool, token, crate::store::now_ms())
        .await
        .ok()
        .flatten()
}

pub fn staff_message(status: StatusCode, title: &str, text: &str) -> Response {
    super::render(status, &StaffMessage { title, text })
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct StaffMessage<'a> {
    title: &'a str,
    text: &'a str,
}
