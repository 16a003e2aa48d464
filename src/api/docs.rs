//! The API's description: OpenAPI 3.1 at `/api/openapi.json` (built by
//! utoipa from the handlers' annotations) and a reference page at
//! `/api/docs` rendered here from that same document, with nothing loaded
//! from another origin.
//!
//! The response shapes below describe what the handlers' JSON holds; the
//! API tests check real answers against them.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "qrdesk API",
        description = "Codes, requests, the catalog and label sheets of a qrdesk installation. \
            Every call takes `Authorization: Bearer qrd_…` (a token from Settings → API токены or \
            `qrdesk tokens create`); a viewer token reads, an admin token also changes codes. \
            Errors are always `{\"error\": {\"code\": …, \"message\": …}}`; each token has its own \
            rate limit (429 with Retry-After).",
        license(name = "MIT")
    ),
    modifiers(&Bearer),
    security(("bearer" = [])),
    components(schemas(ErrorBody, ErrorDetail, Contact, Task)),
    tags(
        (name = "codes", description = "QR codes: create, revoke, replace, move"),
        (name = "requests", description = "What customers reported, and where its task stands"),
        (name = "assets", description = "The catalog synced from the task system"),
        (name = "labels", description = "Label sheets as PDF"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("qrd_…")
                    .build(),
            ),
        );
    }
}

/// Every error.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable and machine-readable: unauthorized, forbidden, not_found,
    /// conflict, invalid_query, invalid_body, invalid_target, rate_limited, …
    code: String,
    /// What to do, in English.
    message: String,
}

/// A code.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CodeOut {
    /// Eight characters, e.g. 7K3M9Q2A
    code: String,
    /// What the sticker's QR holds
    url: String,
    /// asset, location, district or none
    target: String,
    target_id: Option<i64>,
    /// active, revoked or unassigned
    state: String,
    label: Option<String>,
    /// Forms opened from it
    scans: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CodeList {
    items: Vec<CodeOut>,
}

/// A code just made.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreatedCode {
    code: String,
    url: String,
}

/// The code that replaces another.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RotatedCode {
    code: String,
    url: String,
    /// The code it replaces
    replaces: String,
}

/// The task in the task system.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Task {
    id: i64,
    number: Option<String>,
    /// The status's name as the task system shows it
    status: Option<String>,
    created_at: Option<String>,
    completed_at: Option<String>,
    closed_at: Option<String>,
}

/// The customer's contact fields (admin tokens only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Contact {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

/// A request. Times are RFC 3339.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RequestOut {
    /// UUID
    id: String,
    code: String,
    asset_id: Option<i64>,
    /// accepted, delivering, delivered or failed
    status: String,
    failure_reason: Option<String>,
    description: String,
    task: Option<Task>,
    created_at: String,
    delivered_at: Option<String>,
    /// Admin tokens only
    contact: Option<Contact>,
    /// `GET /requests/{id}` only
    photos: Option<i64>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RequestList {
    items: Vec<RequestOut>,
    /// Pass as `cursor` for the next page; null on the last
    next_cursor: Option<String>,
}

/// An asset of the catalog.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssetOut {
    id: i64,
    name: String,
    serial_number: Option<String>,
    inventory_number: Option<String>,
    address: Option<String>,
    company: Option<String>,
    /// Its newest active code
    code: Option<String>,
    /// How many codes it has
    codes: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssetList {
    items: Vec<AssetOut>,
    total: i64,
}

/// `GET /api/openapi.json`.
pub async fn json() -> Response {
    let body = serde_json::to_string_pretty(super::openapi()).unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// One operation as the reference page shows it.
pub struct Operation {
    pub method: String,
    pub path: String,
    pub anchor: String,
    pub summary: String,
    pub description: String,
    /// (name, where, required, type, description)
    pub params: Vec<(String, String, bool, String, String)>,
    /// (content type, schema name)
    pub body: Option<(String, String)>,
    /// (status, description, schema name)
    pub responses: Vec<(String, String, String)>,
}

/// A schema: its name, description and (property, type, required, description).
pub struct Schema {
    pub name: String,
    pub description: String,
    pub properties: Vec<(String, String, bool, String)>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    description: String,
    version: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A schema in a few words: a name for a reference, a type otherwise.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(any) = schema
        .get("oneOf")
        .or(schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        return any.iter().map(type_of).collect::<Vec<_>>().join(" | ");
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        Some(Value::String(k)) => k.clone(),
        _ => String::new(),
    };
    match schema.get("items") {
        Some(items) => format!("{kind} of {}", type_of(items)),
        None => kind,
    }
}

fn content_schema(v: &Value) -> Option<(String, String)> {
    let (kind, media) = v.get("content")?.as_object()?.iter().next()?;
    Some((
        kind.clone(),
        media.get("schema").map(type_of).unwrap_or_default(),
    ))
}

/// The document as the page's rows.
fn page_model(doc: &Value) -> DocsPage {
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                (
                                    text(p, "name"),
                                    text(p, "in"),
                                    p.get("required").and_then(Value::as_bool).unwrap_or(false),
                                    p.get("schema").map(type_of).unwrap_or_default(),
                                    text(p, "description"),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|rs| {
                        rs.iter()
                            .map(|(status, r)| {
                                (
                                    status.clone(),
                                    text(r, "description"),
                                    content_schema(r).map(|(_, s)| s).unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let anchor = format!("{method}{}", path.replace(['/', '{', '}'], "-"));
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    anchor,
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    params,
                    body: op.get("requestBody").and_then(content_schema),
                    responses,
                });
            }
        }
    }
    let mut schemas = Vec::new();
    if let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, s) in all {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let properties = s
                .get("properties")
                .and_then(Value::as_object)
                .map(|ps| {
                    ps.iter()
                        .map(|(p, v)| {
                            (
                                p.clone(),
                                type_of(v),
                                required.contains(&p.as_str()),
                                text(v, "description"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            schemas.push(Schema {
                name: name.clone(),
                description: text(s, "description"),
                properties,
            });
        }
    }
    DocsPage {
        title: doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("API")
            .to_owned(),
        description: doc
            .pointer("/info/description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        version: doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        operations,
        schemas,
    }
}

/// `GET /api/docs`: the reference, readable without JavaScript.
pub async fn page() -> Response {
    let doc = serde_json::to_value(super::openapi()).unwrap_or_default();
    crate::web::render(StatusCode::OK, &page_model(&doc))
}
