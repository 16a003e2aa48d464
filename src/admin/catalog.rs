//! The synced catalog: search, filters, paging, selection for codes and
//! printing, and "sync now".

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{AdminForm, Button, Staff};
use super::{notice, paging, Frame};
use crate::backend::{CompanyId, DistrictId, LocationId};
use crate::store::catalog::{self, AssetFilter, AssetRow, DistrictView, LocationView};
use crate::web::{self, render};
use crate::AppState;

pub const PER_PAGE: i64 = 50;

/// Filters as they arrive in the query string (empty means "any").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub has_code: String,
    #[serde(default)]
    pub page: Option<i64>,
    pub done: Option<String>,
}

impl FilterQuery {
    pub fn filter(&self) -> AssetFilter {
        AssetFilter {
            q: self.q.chars().take(200).collect(),
            district: self.district.parse().ok().map(DistrictId),
            location: self.location.parse().ok().map(LocationId),
            company: self.company.parse().ok().map(CompanyId),
            has_code: match self.has_code.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        }
    }

    /// The filters as a query string, for paging links.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("district", &self.district),
            ("location", &self.location),
            ("company", &self.company),
            ("has_code", &self.has_code),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin/catalog.html")]
struct CatalogPage {
    f: Frame,
    q: FilterQuery,
    rows: Vec<AssetRow>,
    total: i64,
    page: i64,
    last: i64,
    prev: Option<String>,
    next: Option<String>,
    districts: Vec<DistrictView>,
    locations: Vec<LocationView>,
    companies: Vec<(CompanyId, String)>,
    sync: crate::catalog::SyncState,
    last_sync: String,
    sync_error: String,
}

impl CatalogPage {
    fn selected(&self, field: &str, id: &i64) -> bool {
        let v = match field {
            "district" => &self.q.district,
            "location" => &self.q.location,
            _ => &self.q.company,
        };
        *v == id.to_string()
    }
}

pub async fn page(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<FilterQuery>,
) -> web::Result {
    let pool = &state.pool;
    let filter = q.filter();
    let requested = q.page.unwrap_or(1).max(1);
    let (mut rows, total) =
        catalog::search_assets(pool, &filter, PER_PAGE, (requested - 1) * PER_PAGE).await?;
    let (page, last, prev, next) = paging(total, requested, PER_PAGE);
    if page != requested {
        // Past the last page: show the last one.
        (rows, _) = catalog::search_assets(pool, &filter, PER_PAGE, (page - 1) * PER_PAGE).await?;
    }
    let districts = catalog::districts(pool).await?;
    let locations = catalog::locations(pool).await?;
    let companies = catalog::companies(pool).await?;
    let synced_at = crate::store::get_setting(pool, "catalog_synced_at")
        .await?
        .and_then(|v| v.parse().ok());
    let sync_error = crate::store::get_setting(pool, "catalog_sync_error")
        .await?
        .unwrap_or_default();
    let base = q.query_string();
    let link = |p: i64| {
        if base.is_empty() {
            format!("/admin/catalog?page={p}")
        } else {
            format!("/admin/catalog?{base}&page={p}")
        }
    };
    let page_view = CatalogPage {
        f: Frame::new(&s, "Каталог", "catalog").with_notice(notice(q.done.as_deref())),
        rows,
        total,
        page,
        last,
        prev: prev.map(link),
        next: next.map(link),
        districts,
        locations,
        companies,
        sync: state.sync.state(),
        last_sync: super::when(&state, synced_at),
        sync_error,
        q,
    };
    Ok(render(StatusCode::OK, &page_view))
}

/// Starts a sync in the background; the catalog page shows its progress.
pub async fn sync_now(State(state): State<AppState>, _: AdminForm<Button>) -> Response {
    let started = crate::catalog::sync_in_background(
        state.pool.clone(),
        state.backend.clone(),
        state.sync.clone(),
    );
    let done = if started { "sync" } else { "sync-running" };
    Redirect::to(&format!("/admin/catalog?done={done}")).into_response()
}
