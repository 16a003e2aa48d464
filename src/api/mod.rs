//! What integrators use: API tokens and the JSON API under `/api/v1`
//! (`Authorization: Bearer qrd_…`). Every error is
//! `{"error": {"code": "…", "message": "…"}}`; each token has its own rate
//! limit (tower-governor keyed by the token).

pub mod docs;

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use governor::middleware::NoOpMiddleware;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_governor::governor::GovernorConfig;
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::backend::{AssetId, DistrictId, LocationId};
use crate::config::LimitsConfig;
use crate::domain::api_token::ApiToken;
use crate::domain::codes::Code;
use crate::ops::codes;
use crate::store::codes::{CodeRecord, Target};
use crate::store::{self, api_tokens, ApiRole};
use crate::AppState;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let unauthorized = |message: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned())
        };
        let sent = crate::web::bearer(&parts.headers).ok_or_else(|| {
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
        Ok(crate::web::bearer(req.headers())
            .and_then(ApiToken::parse)
            .map(|t| t.hash())
            .unwrap_or_default())
    }
}

pub type TokenLimit = Arc<GovernorConfig<TokenKey, NoOpMiddleware>>;

pub fn token_limit(limits: &LimitsConfig) -> TokenLimit {
    crate::web::limits::quota(TokenKey, limits.api_per_minute, limits.api_burst, None)
}

/// The routes and their OpenAPI description, from the same handlers (so a
/// route cannot go undocumented). Paths are relative to `/api/v1`.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(list_codes, create_code))
        .routes(routes!(revoke_code))
        .routes(routes!(rotate_code))
        .routes(routes!(move_code))
        .routes(routes!(list_requests))
        .routes(routes!(get_request))
        .routes(routes!(list_assets))
        .routes(routes!(labels_pdf))
        .split_for_parts()
}

/// The API's OpenAPI 3.1 document, with full paths (`/api/v1/…`).
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = parts().1;
        doc.paths.paths = std::mem::take(&mut doc.paths.paths)
            .into_iter()
            .map(|(path, item)| (format!("/api/v1{path}"), item))
            .collect();
        doc
    })
}

/// The routes nested under `/api/v1`.
pub fn router(limit: &TokenLimit, metrics: &crate::metrics::SharedMetrics) -> Router<AppState> {
    let metrics = metrics.clone();
    let layer = GovernorLayer::new(limit.clone()).error_handler(move |e| match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            metrics.refused("api_token");
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
    parts()
        .0
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

/// Every code, newest first.
#[utoipa::path(get, path = "/codes", tag = "codes",
    responses((status = 200, description = "The codes", body = docs::CodeList),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody)))]
async fn list_codes(State(state): State<AppState>, _caller: Caller) -> ApiResult {
    let codes = store::codes::list(&state.pool).await?;
    let items: Vec<Value> = codes
        .iter()
        .map(|c| code_json(c, &state.public_url))
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// What a new code is for: exactly one of the ids, or `"blank": true`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCode {
    asset_id: Option<i64>,
    location_id: Option<i64>,
    district_id: Option<i64>,
    #[serde(default)]
    blank: bool,
    label: Option<String>,
}

/// The target exactly one of the three ids names.
fn target_of(asset: Option<i64>, location: Option<i64>, district: Option<i64>) -> Option<Target> {
    match (asset, location, district) {
        (Some(id), None, None) => Some(Target::Asset(AssetId(id))),
        (None, Some(id), None) => Some(Target::Location(LocationId(id))),
        (None, None, Some(id)) => Some(Target::District(DistrictId(id))),
        _ => None,
    }
}

/// Creates a code, exactly like `qrdesk codes create`.
#[utoipa::path(post, path = "/codes", tag = "codes", request_body = NewCode,
    responses((status = 201, description = "The new code", body = docs::CreatedCode),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody),
        (status = 403, description = "A viewer token", body = docs::ErrorBody),
        (status = 422, description = "No target, two targets or an unknown one", body = docs::ErrorBody)))]
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
    let target = match (target_of(new.asset_id, new.location_id, new.district_id), new.blank) {
        (Some(target), false) => target,
        (None, true) if new.asset_id.or(new.location_id).or(new.district_id).is_none() => {
            Target::Unassigned
        }
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
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    let code = codes::create(
        &state.pool,
        &state.config.catalog,
        &api_actor(&caller),
        target,
        label,
    )
    .await
    .map_err(api_refusal)?;
    let body = json!({ "code": code.as_str(), "url": code.url(&state.public_url) });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Who an API call's change is from, for the audit log.
fn api_actor(caller: &Caller) -> codes::Actor {
    codes::Actor {
        via: format!("api token {}…", caller.0.token_start),
        ..codes::Actor::default()
    }
}

/// A code command's refusal as the API words it.
fn api_refusal(e: codes::Error) -> ApiError {
    match e {
        codes::Error::Refused(r) => {
            let (status, kind) = match r {
                codes::Refusal::NotFound => return ApiError::not_found("code"),
                codes::Refusal::Target(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_target"),
                codes::Refusal::LabelTooLong => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_label"),
                codes::Refusal::NoPauseMessage => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
                }
                _ => (StatusCode::CONFLICT, "conflict"),
            };
            ApiError::new(status, kind, r.to_string())
        }
        codes::Error::Other(e) => {
            tracing::error!(error = %format!("{e:#}"), "a code command failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the database did not answer; try again shortly",
            )
        }
    }
}

/// Where a code goes: exactly one of the ids.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTo {
    asset_id: Option<i64>,
    location_id: Option<i64>,
    district_id: Option<i64>,
}

/// Switches a code off: its sticker says so instead of opening the form.
#[utoipa::path(post, path = "/codes/{code}/revoke", tag = "codes",
    params(("code" = String, Path, description = "The code, e.g. 7K3M9Q2A")),
    responses((status = 200, description = "The code after the change", body = docs::CodeOut),
        (status = 403, description = "A viewer token", body = docs::ErrorBody),
        (status = 404, description = "No such code", body = docs::ErrorBody),
        (status = 409, description = "Revoked already", body = docs::ErrorBody)))]
async fn revoke_code(
    state: State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult {
    code_action(state, caller, code, "revoke", None).await
}

/// Replaces a code by a new one for the same target; the old sticker says
/// it was replaced.
#[utoipa::path(post, path = "/codes/{code}/rotate", tag = "codes",
    params(("code" = String, Path, description = "The code, e.g. 7K3M9Q2A")),
    responses((status = 201, description = "The new code", body = docs::RotatedCode),
        (status = 403, description = "A viewer token", body = docs::ErrorBody),
        (status = 404, description = "No such code", body = docs::ErrorBody),
        (status = 409, description = "Not an active code", body = docs::ErrorBody)))]
async fn rotate_code(
    state: State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult {
    code_action(state, caller, code, "rotate", None).await
}

/// Points a code at another asset, site or участок; the sticker stays.
#[utoipa::path(post, path = "/codes/{code}/move", tag = "codes", request_body = MoveTo,
    params(("code" = String, Path, description = "The code, e.g. 7K3M9Q2A")),
    responses((status = 200, description = "The code after the change", body = docs::CodeOut),
        (status = 403, description = "A viewer token", body = docs::ErrorBody),
        (status = 404, description = "No such code", body = docs::ErrorBody),
        (status = 409, description = "A revoked code", body = docs::ErrorBody),
        (status = 422, description = "No target or an unknown one", body = docs::ErrorBody)))]
async fn move_code(
    state: State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    body: Option<Json<MoveTo>>,
) -> ApiResult {
    code_action(state, caller, code, "move", body).await
}

async fn code_action(
    State(state): State<AppState>,
    caller: Caller,
    code: String,
    action: &str,
    body: Option<Json<MoveTo>>,
) -> ApiResult {
    caller.must_write()?;
    let code = Code::parse(&code).ok_or_else(|| ApiError::not_found("code"))?;
    let command = match action {
        "revoke" => codes::Command::Revoke,
        "rotate" => codes::Command::Rotate,
        _ => {
            let invalid = |m: &str| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_target",
                    m.to_owned(),
                )
            };
            let Some(Json(to)) = body else {
                return Err(invalid("send JSON like {\"asset_id\": 1002}"));
            };
            let target = target_of(to.asset_id, to.location_id, to.district_id).ok_or_else(|| {
                invalid("say where the code goes with exactly one of asset_id, location_id or district_id")
            })?;
            codes::Command::Move(target)
        }
    };
    if let codes::Outcome::Rotated(new) = codes::run(
        &state.pool,
        &state.config.catalog,
        &api_actor(&caller),
        Some(&code),
        command,
    )
    .await
    .map_err(api_refusal)?
    {
        let body = json!({
            "code": new.as_str(), "url": new.url(&state.public_url), "replaces": code.as_str(),
        });
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    let after = store::codes::get(&state.pool, &code)
        .await?
        .ok_or_else(|| ApiError::not_found("code"))?;
    Ok(Json(code_json(&after, &state.public_url)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RequestQuery {
    /// accepted, delivering, delivered or failed
    status: Option<String>,
    /// Only requests from this code
    code: Option<String>,
    /// Only requests about this asset id
    asset: Option<i64>,
    /// Created at or after: RFC 3339 or Unix milliseconds
    since: Option<String>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
    /// 1 to 200, default 50
    limit: Option<i64>,
}

/// `GET /api/v1/requests?status=&code=&asset=&since=&limit=&cursor=`: newest
/// first; `next_cursor` fetches the next page.
/// Requests, newest first, a page at a time: `next_cursor` fetches the next.
#[utoipa::path(get, path = "/requests", tag = "requests", params(RequestQuery),
    responses((status = 200, description = "A page of requests (contact data only for admin tokens)", body = docs::RequestList),
        (status = 400, description = "A filter that cannot be read", body = docs::ErrorBody),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody)))]
async fn list_requests(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RequestQuery>, QueryRejection>,
) -> ApiResult {
    let bad = |code: &'static str, message: &str| {
        ApiError::new(StatusCode::BAD_REQUEST, code, message.to_owned())
    };
    let Query(q) = query.map_err(|e| bad("invalid_query", &e.body_text()))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(store::RequestStatus::parse(s).ok_or_else(|| {
            bad(
                "invalid_query",
                "status: accepted, delivering, delivered or failed",
            )
        })?),
    };
    let since = match q.since.as_deref() {
        None => None,
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            bad(
                "invalid_query",
                "since: RFC 3339 (2026-12-01T00:00:00Z) or Unix milliseconds",
            )
        })?),
    };
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.split_once('_')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| {
                    bad(
                        "invalid_cursor",
                        "cursor: pass next_cursor of the previous page as it is",
                    )
                })?,
        ),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(bad("invalid_query", "limit: 1 to 200"));
    }
    let filter = store::requests::ApiFilter {
        status,
        code: q
            .code
            .map(|c| Code::parse(&c).map_or(c, |c| c.as_str().to_owned())),
        asset: q.asset.map(AssetId),
        since,
    };
    let rows = store::requests::api_page(&state.pool, &filter, cursor, limit).await?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| format!("{}_{}", r.created_at, r.id))
    } else {
        None
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| r.json(caller.0.role == ApiRole::Admin))
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": next })).into_response())
}

/// RFC 3339 or Unix milliseconds, as Unix milliseconds.
fn parse_time(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
    })
}

/// One request: status, task number and status, times, photos.
#[utoipa::path(get, path = "/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "The request's UUID")),
    responses((status = 200, description = "The request (contact data only for admin tokens)", body = docs::RequestOut),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody),
        (status = 404, description = "No such request", body = docs::ErrorBody)))]
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
    let mut body = r.json(caller.0.role == ApiRole::Admin);
    body["photos"] = photos.into();
    Ok(Json(body).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AssetQuery {
    /// Part of the name, serial or inventory number
    q: Option<String>,
    /// Only assets of this участок (district id)
    district: Option<i64>,
    /// 1 to 200, default 50
    limit: Option<i64>,
    /// How many to skip
    offset: Option<i64>,
}

/// The synced catalog, by name.
#[utoipa::path(get, path = "/assets", tag = "assets", params(AssetQuery),
    responses((status = 200, description = "A page of assets", body = docs::AssetList),
        (status = 400, description = "A filter that cannot be read", body = docs::ErrorBody),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody)))]
async fn list_assets(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<AssetQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let (limit, offset) = (q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    if !(1..=200).contains(&limit) || offset < 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit: 1 to 200; offset: 0 or more",
        ));
    }
    let filter = store::catalog::AssetFilter {
        q: q.q.unwrap_or_default(),
        district: q.district.map(DistrictId),
        ..Default::default()
    };
    let (rows, total) = store::catalog::search_assets(&state.pool, &filter, limit, offset).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({
                "id": a.id.0, "name": a.name, "serial_number": a.serial_number,
                "inventory_number": a.inventory_number, "address": a.address,
                "company": a.company_name, "code": a.code, "codes": a.codes,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "total": total })).into_response())
}

/// A label job: codes and a template.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsBody {
    /// Codes to print, e.g. ["7K3M9Q2A"]
    codes: Vec<String>,
    /// A template id from `qrdesk labels templates`.
    template: String,
    /// Labels already used on the first sheet
    #[serde(default)]
    skip: usize,
}

/// A label sheet as PDF, e.g. `{"codes": ["7K3M9Q2A"], "template": "avery-l7160"}`.
#[utoipa::path(post, path = "/labels", tag = "labels", request_body = LabelsBody,
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "No token, or a bad one", body = docs::ErrorBody),
        (status = 422, description = "An unknown template or code, or too many labels", body = docs::ErrorBody)))]
async fn labels_pdf(
    State(state): State<AppState>,
    _caller: Caller,
    body: Result<Json<LabelsBody>, JsonRejection>,
) -> ApiResult {
    let invalid =
        |code: &'static str, m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m);
    let Json(b) = body.map_err(|e| {
        invalid(
            "invalid_body",
            format!(
                "send JSON like {{\"codes\": [\"7K3M9Q2A\"], \"template\": \"avery-l7160\"}}: {}",
                e.body_text()
            ),
        )
    })?;
    let template = crate::labels::templates::find(&b.template).ok_or_else(|| {
        invalid(
            "invalid_template",
            format!(
                "no template {:?}; `qrdesk labels templates` lists them",
                b.template
            ),
        )
    })?;
    let mut records = Vec::with_capacity(b.codes.len());
    for raw in &b.codes {
        let code = Code::parse(raw)
            .ok_or_else(|| invalid("invalid_code", format!("{raw:?} is not a code")))?;
        records.push(
            store::codes::get(&state.pool, &code)
                .await?
                .ok_or_else(|| invalid("invalid_code", format!("no code {code}")))?,
        );
    }
    let label_error = |e: crate::labels::job::LabelError| match e {
        crate::labels::job::LabelError::Db(e) => ApiError::from(e),
        other => invalid("invalid_labels", other.to_string()),
    };
    let contents = crate::labels::job::contents(&state.pool, &state.public_url, &records)
        .await
        .map_err(label_error)?;
    let offset = crate::labels::job::saved_offset(&state.pool, &template.id).await?;
    let opts = crate::labels::job::JobOptions {
        template,
        skip: b.skip,
        offset,
        style: crate::labels::layout::Style {
            cta: crate::labels::layout::DEFAULT_CTA.to_owned(),
            org: state.org.get().name().map(str::to_owned),
            min_pt: crate::labels::layout::DEFAULT_MIN_PT,
        },
    };
    let _permit = state.media_permits.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "shutting down",
        )
    })?;
    let (pdf, _) = crate::heavy::media()
        .run(move || crate::labels::job::sheet_pdf(&contents, &opts))
        .await
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the PDF could not be made",
            )
        })?
        .map_err(label_error)?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
