//! `GET /metrics`: the counters of [`crate::metrics`] in the Prometheus text format.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub use crate::metrics::*;
use crate::AppState;

/// `GET /metrics`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let wanted = state.config.metrics.token.expose();
    if !wanted.is_empty() {
        let sent = super::bearer(&headers).unwrap_or_default();
        // Compared as hashes, so the time taken says nothing about the token.
        if Sha256::digest(sent.as_bytes()) != Sha256::digest(wanted.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need Authorization: Bearer <metrics.token>\n",
            )
                .into_response();
        }
    }
    match state.metrics.render(&state.pool).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer\n",
            )
                .into_response()
        }
    }
}
