//! The synced catalog: search, filters, paging, selection for codes and
//! printing, and "sync now".

use crate::i18n::tr::filters;
use crate::i18n::tr::tr;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{AdminForm, Button, Staff};
use super::{notice, paging, Frame};
use crate::backend::CompanyId;
use crate::store::catalog::{self, AssetRow, DistrictView, LocationView};
use crate::web::{self, render};
use crate::AppState;

pub const PER_PAGE: i64 = 50;

use super::query::FilterQuery;

#[derive(Template)]
#[template(path = "admin/catalog.html")]
struct CatalogPage {
    f: Frame,
    /// qrdesk keeps the catalog itself (the task system has none).
    own: bool,
    backend: &'static str,
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
        f: Frame::new(&s, tr("Каталог"), "catalog").with_notice(notice(q.done.as_deref())),
        own: !state.backend.capabilities().synced_catalog,
        backend: state.backend.name(),
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

pub struct AssetRequestRow {
    r: crate::store::requests::AssetRequest,
    created: String,
    status: String,
    short: String,
    /// The customer's last word, as the page says it.
    word: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/asset.html")]
struct AssetPage {
    f: Frame,
    /// qrdesk keeps the catalog: the asset can be changed here.
    own: bool,
    asset: crate::store::catalog::AssetView,
    districts: Vec<String>,
    codes: Vec<super::codes::Row>,
    codes_total: i64,
    chart: super::codes::ScanChart,
    scans: i64,
    requests: Vec<AssetRequestRow>,
    requests_total: i64,
    photos: Vec<String>,
    last_word: Option<(&'static str, String)>,
}

/// How many requests and photos the asset page lists.
const ASSET_REQUESTS: i64 = 20;
const ASSET_PHOTOS: i64 = 12;

/// `GET /admin/catalog/assets/{id}`: one asset with its codes, scans,
/// requests, photos and what the customer said last.
pub async fn asset(
    State(state): State<AppState>,
    Staff(s): Staff,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::extract::Query(done): axum::extract::Query<super::DoneQuery>,
) -> web::Result {
    use crate::store::{attachments, codes as code_store, requests};
    let pool = &state.pool;
    let id = crate::backend::AssetId(id);
    let asset = catalog::asset(pool, id).await?.ok_or_else(|| {
        web::Error::from(super::message(
            StatusCode::NOT_FOUND,
            tr("Нет такого актива"),
            tr("Его нет в каталоге: найдите актив в поиске каталога."),
        ))
    })?;
    state.scans.flush(pool).await?;
    let all_districts = catalog::districts(pool).await?;
    let districts = catalog::asset_districts(pool, id)
        .await?
        .into_iter()
        .filter_map(|d| {
            all_districts
                .iter()
                .find(|v| v.id == d)
                .map(|v| v.name.clone())
        })
        .collect();
    let filter = code_store::CodeFilter {
        asset: Some(id),
        ..Default::default()
    };
    let (items, codes_total) = code_store::page(pool, &filter, 100, 0).await?;
    let today = state.scans.day_of(crate::store::now_ms());
    let mut days: Vec<(i64, i64)> = Vec::new();
    let mut codes = Vec::with_capacity(items.len());
    for item in items {
        let by_day =
            code_store::scans_by_day(pool, &item.record.code, today, super::codes::CHART_DAYS)
                .await?;
        if days.is_empty() {
            days = by_day;
        } else {
            for (sum, (_, n)) in days.iter_mut().zip(by_day) {
                sum.1 += n;
            }
        }
        codes.push(super::codes::Row {
            target: String::new(),
            last_scan: super::when(&state, item.record.last_scan_at),
            created: super::when(&state, Some(item.record.created_at)),
            item,
        });
    }
    if days.is_empty() {
        days = (today - super::codes::CHART_DAYS + 1..=today)
            .map(|d| (d, 0))
            .collect();
    }
    let scans = codes.iter().map(|c| c.item.record.scan_count).sum();
    let (found, requests_total) = requests::for_asset(pool, id, ASSET_REQUESTS).await?;
    let last_word = found
        .iter()
        .filter(|r| r.feedback_at.is_some())
        .max_by_key(|r| r.feedback_at)
        .and_then(|r| {
            Some((
                super::requests::customer_word(r.feedback)?,
                super::when(&state, r.feedback_at),
            ))
        });
    let requests = found
        .into_iter()
        .map(|r| AssetRequestRow {
            created: super::when(&state, Some(r.created_at)),
            status: super::status_title(&r.status),
            short: r.description.chars().take(120).collect(),
            word: super::requests::customer_word(r.feedback),
            r,
        })
        .collect();
    let photos = attachments::for_asset(pool, id, ASSET_PHOTOS)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let page = AssetPage {
        f: Frame::new(&s, asset.name.clone(), "catalog").with_notice(notice(done.done.as_deref())),
        own: !state.backend.capabilities().synced_catalog,
        chart: super::codes::scan_chart(&days),
        asset,
        districts,
        codes,
        codes_total,
        scans,
        requests,
        requests_total,
        photos,
        last_word,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/photos/{id}` and `…/thumb`: a photo of a request, for staff.
pub async fn photo(
    State(state): State<AppState>,
    Staff(_): Staff,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    send_photo(&state, &id, false).await
}

pub async fn photo_thumb(
    State(state): State<AppState>,
    Staff(_): Staff,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    send_photo(&state, &id, true).await
}

async fn send_photo(state: &AppState, id: &str, small: bool) -> Response {
    let Ok(Some(a)) = crate::store::attachments::get(&state.pool, id).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if a.removed_at.is_some() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let bytes = if small {
        state.blobs.thumb(&a.sha256).await
    } else {
        state.blobs.get(&a.sha256).await
    };
    crate::media::jpeg_response(bytes)
}
