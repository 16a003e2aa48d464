//! What integrators use: API tokens and the JSON API under `/api/v1`
//! (`Authorization: Bearer qrd_…`). Every error is
//! `{"error": {"code": "…", "message": "…"}}`; each token has its own rate
//! limit (tower-governor keyed by the token).

pub mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use governor::middleware::NoOpMiddleware;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::backend::{AssetId, DistrictId, LocationId};
use crate::codes::Code;
use crate::config::LimitsConfig;
use crate::store::codes::{CodeRecord, Target};
use crate::store::{self, api_tokens, ApiRole};
use crate::AppState;
use token::ApiToken;

/// An API error: its status, a stable machine-readable code and what to do.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        tracing::error!(error = %e, "database error in the API");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the database did not answer; try again shortly",
        )
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// The token a request came with, known and not revoked.
pub struct Caller(pub api_tokens::TokenRow);

impl Caller {
    fn must_write(&self) -> ApiResult<()> {
        if self.0.role == ApiRole::Admin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token is a viewer token and can only read; make an admin token to change things",
            ))
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let unauthorized = |message: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned())
        };
        let sent = bearer(parts).ok_or_else(|| {
            unauthorized(
                "send Authorization: Bearer qrd_… with a token from `qrdesk tokens create`",
            )
        })?;
        // A mistyped or made-up token never reaches the database.
        let token = ApiToken::parse(sent).ok_or_else(|| {
            unauthorized("this is not a qrdesk token (check that it was copied whole)")
        })?;
        let row = api_tokens::authenticate(&state.pool, &token, store::now_ms())
            .await?
            .ok_or_else(|| unauthorized("this token is unknown or revoked"))?;
        Ok(Caller(row))
    }
}

/// The per-token limit's key: the token's hash (requests without a token
/// share one key and are refused by the authentication anyway).
#[derive(Debug, Clone, Copy)]
pub struct TokenKey;

impl KeyExtractor for TokenKey {
    type Key = String;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<String, GovernorError> {
        let value = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(ApiToken::parse(value.trim_start_matches("Bearer ").trim())
            .map(|t| t.hash())
            .unwrap_or_default())
    }
}

pub type TokenLimit = Arc<GovernorConfig<TokenKey, NoOpMiddleware>>;

pub fn token_limit(limits: &LimitsConfig) -> TokenLimit {
    let mut builder = GovernorConfigBuilder::default().key_extractor(TokenKey);
    builder
        .period(
            (Duration::from_secs(60) / limits.api_per_minute.max(1)).max(Duration::from_nanos(1)),
        )
        .burst_size(limits.api_burst.max(1));
    Arc::new(builder.finish().expect("a period and a burst above zero"))
}

/// The routes nested under `/api/v1`.
pub fn router(limit: &TokenLimit) -> Router<AppState> {
    let layer = GovernorLayer::new(limit.clone()).error_handler(|e| match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many calls with this token; try again in {wait_time} s"),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, wait_time.max(1).into());
            r
        }
        other => {
            tracing::error!(error = %other, "API rate limit could not read the request");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "try again")
                .into_response()
        }
    });
    Router::new()
        .route("/codes", get(list_codes).post(create_code))
        .route("/requests/{id}", get(get_request))
        .fallback(|| async { ApiError::not_found("API route under /api/v1") })
        .layer(layer)
}

/// A code as the API and `qrdesk codes list --json` show it.
pub fn code_json(c: &CodeRecord, public_url: &str) -> Value {
    let (kind, id) = c.target.parts();
    json!({
        "code": c.code.as_str(), "url": c.code.url(public_url), "target": kind,
        "target_id": id, "state": format!("{:?}", c.state).to_lowercase(),
        "label": c.label, "scans": c.scan_count,
    })
}

async fn list_codes(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let codes = store::codes::list(&state.pool).await?;
    let items: Vec<Value> = codes
        .iter()
        .map(|c| code_json(c, &state.public_url))
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCode {
    asset_id: Option<i64>,
    location_id: Option<i64>,
    district_id: Option<i64>,
    #[serde(default)]
    blank: bool,
    label: Option<String>,
}

async fn create_code(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewCode>, JsonRejection>,
) -> ApiResult {
    caller.must_write()?;
    let Json(new) = body.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("send JSON like {{\"asset_id\": 1001}}: {}", e.body_text()),
        )
    })?;
    let target = match (new.asset_id, new.location_id, new.district_id, new.blank) {
        (Some(id), None, None, false) => Target::Asset(AssetId(id)),
        (None, Some(id), None, false) => Target::Location(LocationId(id)),
        (None, None, Some(id), false) => Target::District(DistrictId(id)),
        (None, None, None, true) => Target::Unassigned,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_target",
                "say what the code is for with exactly one of asset_id, location_id, district_id or \"blank\": true",
            ))
        }
    };
    let label = new
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > 200) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_label",
            "a label has at most 200 characters",
        ));
    }
    crate::catalog::check_target(&state.pool, &state.config.hubex, target)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_target",
                e.to_string(),
            )
        })?;
    let code: Code = store::codes::create(&state.pool, target, label, store::now_ms()).await?;
    let body = json!({ "code": code.as_str(), "url": code.url(&state.public_url) });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn get_request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let r = store::requests::get(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("request"))?;
    let photos = store::attachments::for_request(&state.pool, &r.id)
        .await?
        .len();
    let time = |t: Option<i64>| t.map(store::rfc3339);
    let mut body = json!({
        "id": r.id, "code": r.code, "asset_id": r.asset_id.map(|a| a.0), "status": r.status.as_str(),
        "failure_reason": r.failure_reason, "description": r.description,
        "task": r.task_id.map(|t| json!({
            "id": t.0, "number": r.task_number, "status": r.task_status_name,
            "created_at": time(r.task_created_at), "completed_at": time(r.task_completed_at),
            "closed_at": time(r.task_closed_at),
        })),
        "photos": photos, "created_at": store::rfc3339(r.created_at),
        "delivered_at": time(r.delivered_at),
    });
    // Contact data only for admin tokens.
    if caller.0.role == ApiRole::Admin {
        body["contact"] = json!({
            "name": r.contact_name, "phone": r.contact_phone, "email": r.contact_email,
        });
    }
    Ok(Json(body).into_response())
}
