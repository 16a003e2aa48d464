//! Public routes: the code's form (`/q/{code}`), its QR image, the submission
//! that stores a request with its delivery job, and the status page.

pub mod challenge;
pub mod form;
mod photos;
mod status;
mod upload;

pub use status::format_local;

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::backend::AssetId;
use crate::catalog;
use crate::codes::{Code, TrackingToken};
use crate::store::catalog::AssetView;
use crate::store::codes::{self as code_store, CodeRecord, State as CodeState, Target};
use crate::store::{self, requests};
use crate::web::i18n::{Lang, Texts};
use crate::web::{self, render};
use crate::AppState;
use form::{AssetChoice, FieldErrors, RawForm};

/// The public routes, each behind the per-client limits on posts and on
/// page loads.
pub fn router(
    limits: &crate::config::LimitsConfig,
    rates: &web::limits::RateLimits,
) -> Router<AppState> {
    // Photos make a submission big; the plain form keeps its own smaller limit.
    let body = DefaultBodyLimit::max(limits.request_max_bytes + 1024 * 1024);
    Router::new()
        .route("/", get(index))
        .route("/q/{code}", get(show_code).post(submit).layer(body))
        .route("/Q/{code}", get(show_code).post(submit).layer(body))
        .route("/q/{code}/same", post(same_problem))
        .route("/t/{token}", get(status::show))
        .route("/T/{token}", get(status::show))
        .route("/t/{token}/photo/{id}", get(status::photo))
        .route("/t/{token}/qr.svg", get(status::qr))
        .route("/t/{token}/comment", post(status::comment).layer(body))
        .route("/t/{token}/feedback", post(status::feedback))
        .layer(rates.layer(web::limits::Limit::Post))
        .layer(rates.layer(web::limits::Limit::Get))
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
    code: Option<String>,
    scale: Option<u32>,
}

/// A language chosen by link is remembered in a cookie.
fn with_lang_cookie(resp: Response, explicit: Option<&str>, lang: Lang) -> Response {
    if explicit.and_then(Lang::parse).is_some() {
        ([web::lang_cookie(lang)], resp).into_response()
    } else {
        resp
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    lang: Lang,
    t: &'static Texts,
    title: &'a str,
    switch_href: Option<String>,
    code: &'a str,
    error: Option<&'a str>,
}

/// The start page: type the code from a sticker whose QR will not scan.
async fn index(Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::negotiate(q.lang.as_deref(), &headers);
    let t = lang.texts();
    let typed = q.code.as_deref().map(str::trim).unwrap_or("");
    if !typed.is_empty() {
        if let Some(code) = Code::parse(typed) {
            return Redirect::to(&format!("/q/{code}")).into_response();
        }
    }
    let page = IndexPage {
        lang,
        t,
        title: t.index_title,
        switch_href: Some(format!("/?lang={}", lang.other().code())),
        code: typed,
        error: (!typed.is_empty()).then_some(t.err_code),
    };
    let status = if typed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    with_lang_cookie(render(status, &page), q.lang.as_deref(), lang)
}

/// What a live code opens: one asset, or a site with a list to pick from.
struct FormTarget {
    asset: Option<AssetView>,
    site_name: Option<String>,
    site_address: Option<String>,
    /// For site codes: the assets the customer may pick.
    site_assets: Option<Vec<AssetView>>,
}

/// Why a code does not open a form.
enum Unusable {
    Unknown,
    Revoked,
    /// Revoked because a new sticker replaced it.
    Replaced,
    Unassigned,
}

fn unusable_page(u: Unusable, lang: Lang) -> Response {
    let t = lang.texts();
    let (title, text) = match u {
        Unusable::Unknown => (t.unknown_code_title, t.unknown_code_text),
        Unusable::Revoked => (t.revoked_title, t.revoked_text),
        Unusable::Replaced => (t.replaced_title, t.replaced_text),
        Unusable::Unassigned => (t.unassigned_title, t.unassigned_text),
    };
    web::message(StatusCode::NOT_FOUND, lang, title, text)
}

/// A message set by staff when intake is paused, for everyone or this code.
async fn pause_message(state: &AppState, code: &Code) -> Option<String> {
    let global = store::get_setting(&state.pool, "intake_pause")
        .await
        .ok()
        .flatten();
    match global.filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(m),
        None => code_store::paused_message(&state.pool, code)
            .await
            .ok()
            .flatten(),
    }
}

fn paused_page(lang: Lang, message: &str) -> Response {
    web::message(StatusCode::OK, lang, lang.texts().paused_title, message)
}

/// Loads a code and what it points at, from the local database only.
async fn resolve(
    state: &AppState,
    code: &Code,
) -> anyhow::Result<Result<(CodeRecord, FormTarget), Unusable>> {
    let Some(record) = code_store::get(&state.pool, code).await? else {
        return Ok(Err(Unusable::Unknown));
    };
    match record.state {
        CodeState::Revoked if record.replaced_by.is_some() => return Ok(Err(Unusable::Replaced)),
        CodeState::Revoked => return Ok(Err(Unusable::Revoked)),
        CodeState::Unassigned => return Ok(Err(Unusable::Unassigned)),
        CodeState::Active => {}
    }
    let pool = &state.pool;
    let allowed = catalog::allowed_districts(pool, &state.config.hubex).await?;
    let target = match record.target {
        Target::Asset(id) => {
            let asset = store::catalog::asset(pool, id).await?;
            match asset {
                Some(a) if catalog::asset_allowed(pool, &allowed, id).await? => FormTarget {
                    asset: Some(a),
                    site_name: None,
                    site_address: None,
                    site_assets: None,
                },
                // Gone from the catalog or moved out of the allowed участки.
                _ => return Ok(Err(Unusable::Unknown)),
            }
        }
        Target::Location(id) => {
            let Some(location) = store::catalog::location(pool, id).await? else {
                return Ok(Err(Unusable::Unknown));
            };
            let assets = allowed_only(
                state,
                &allowed,
                store::catalog::assets_at_location(pool, id).await?,
            )
            .await?;
            FormTarget {
                asset: None,
                site_name: location.description.clone(),
                site_address: Some(location.address),
                site_assets: Some(assets),
            }
        }
        Target::District(id) => {
            let Some(district) = store::catalog::district(pool, id).await? else {
                return Ok(Err(Unusable::Unknown));
            };
            if !allowed.contains(&id) {
                return Ok(Err(Unusable::Unknown));
            }
            let assets = allowed_only(
                state,
                &allowed,
                store::catalog::assets_in_district(pool, id).await?,
            )
            .await?;
            FormTarget {
                asset: None,
                site_name: Some(district.name),
                site_address: None,
                site_assets: Some(assets),
            }
        }
        Target::Unassigned => return Ok(Err(Unusable::Unassigned)),
    };
    Ok(Ok((record, target)))
}

async fn allowed_only(
    state: &AppState,
    allowed: &[crate::backend::DistrictId],
    assets: Vec<AssetView>,
) -> sqlx::Result<Vec<AssetView>> {
    let mut out = Vec::with_capacity(assets.len());
    for a in assets {
        if catalog::asset_allowed(&state.pool, allowed, a.id).await? {
            out.push(a);
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    lang: Lang,
    t: &'static Texts,
    title: &'a str,
    switch_href: Option<String>,
    action: String,
    code: &'a str,
    target: &'a FormTarget,
    values: &'a RawForm,
    errors: &'a FieldErrors,
    form_token: String,
    description_hint: String,
    max_chars: usize,
    photos_max: usize,
    /// E-mail is on: the address gets the link and status changes.
    mail_on: bool,
    /// Proof asked for while requests come in faster than usual.
    challenge: Option<challenge::Challenge>,
    /// Open requests on this asset: (id, label) for "I have the same problem".
    open_requests: Vec<(String, String)>,
}

impl FormPage<'_> {
    fn selected(&self, id: &AssetId) -> bool {
        self.values.asset.as_deref() == Some(id.0.to_string().as_str())
    }

    fn other_selected(&self) -> bool {
        self.values.asset.as_deref() == Some("other")
    }
}

/// Open requests on the form's asset, labelled without personal data.
async fn open_requests(state: &AppState, target: &FormTarget, lang: Lang) -> Vec<(String, String)> {
    let (Some(asset), true) = (&target.asset, state.config.hubex.same_problem) else {
        return Vec::new();
    };
    let since = store::now_ms() - 14 * 24 * 3600 * 1000;
    let t = lang.texts();
    let offset = state.config.server.utc_offset_minutes;
    requests::open_for_asset(&state.pool, asset.id, since)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let number = r.task_number.map(|n| format!(" {n}")).unwrap_or_default();
            let status = r
                .task_status_name
                .unwrap_or_else(|| t.st_short_accepted.to_owned());
            let label = format!(
                "{}{number} · {} · {status}",
                t.request_word,
                format_local(r.created_at, offset)
            );
            (r.id, label)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    code: &Code,
    target: &FormTarget,
    values: &RawForm,
    errors: &FieldErrors,
) -> Response {
    let t = lang.texts();
    // A form that comes back keeps its token: the time it was first opened
    // (the fill-time and sum checks count from there), its question, and the
    // request it may become — so however often it comes back, one opened
    // form is at most one request (a second success is a resend of the
    // first), and one wait for the sum cannot be farmed. A fresh form starts now.
    let now = store::now_ms();
    let form_token =
        match form::verify_form_token(&state.secret, code.as_str(), &values.form_token, now) {
            Some(_) => values.form_token.clone(),
            None => form::form_token(&state.secret, code.as_str(), now),
        };
    let limits = &state.config.limits;
    let challenge = match challenge::needed(&state.pool, limits, code.as_str()).await {
        Ok(needed) => needed || errors.challenge.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot count recent requests; the form asks only if it must");
            errors.challenge.is_some()
        }
    }
    .then(|| challenge::issue(&state.secret, &form_token, limits.challenge_max_number, t));
    let page = FormPage {
        lang,
        t,
        title: t.form_title,
        switch_href: Some(format!("/q/{code}?lang={}", lang.other().code())),
        action: format!("/q/{code}"),
        code: code.as_str(),
        target,
        values,
        errors,
        form_token,
        description_hint: form::description_hint(t, &state.config.limits),
        max_chars: state.config.limits.description_max_chars,
        photos_max: state.config.limits.photos_max,
        mail_on: state.mailer.is_some(),
        challenge,
        open_requests: open_requests(state, target, lang).await,
    };
    render(status, &page)
}

/// The form again with one message at the top and everything typed kept.
#[allow(clippy::too_many_arguments)]
async fn form_with_message(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    code: &Code,
    target: &FormTarget,
    values: &RawForm,
    message: impl Into<String>,
) -> Response {
    let errors = FieldErrors {
        form: Some(message.into()),
        ..Default::default()
    };
    form_page(state, status, lang, code, target, values, &errors).await
}

/// `GET /q/{code}` (the form) and `GET /q/{code}.svg|.png` (its QR).
async fn show_code(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::negotiate(q.lang.as_deref(), &headers);
    if let Some((stem, ext)) = raw.rsplit_once('.') {
        return qr_image(&state, stem, ext, q.scale, lang).await;
    }
    let Some(code) = Code::parse(&raw) else {
        return unusable_page(Unusable::Unknown, lang);
    };
    let resolved = match resolve(&state, &code).await {
        Ok(r) => r,
        Err(e) => return web::internal_error(lang, format!("{e:#}")),
    };
    let (_, target) = match resolved {
        Ok(found) => found,
        // Staff scanning a blank sticker get to assign it.
        Err(Unusable::Unassigned)
            if crate::admin::auth::session_from(&state, &headers)
                .await
                .is_some() =>
        {
            return Redirect::to(&format!("/admin/codes/{code}")).into_response();
        }
        Err(u) => return unusable_page(u, lang),
    };
    if let Err(e) = code_store::record_scan(&state.pool, &code, store::now_ms()).await {
        tracing::warn!(error = %e, "cannot count the scan");
    }
    if let Some(message) = pause_message(&state, &code).await {
        return with_lang_cookie(paused_page(lang, &message), q.lang.as_deref(), lang);
    }
    let page = form_page(
        &state,
        StatusCode::OK,
        lang,
        &code,
        &target,
        &RawForm::default(),
        &FieldErrors::default(),
    )
    .await;
    with_lang_cookie(page, q.lang.as_deref(), lang)
}

async fn qr_image(
    state: &AppState,
    stem: &str,
    ext: &str,
    scale: Option<u32>,
    lang: Lang,
) -> Response {
    let Some(code) = Code::parse(stem) else {
        return unusable_page(Unusable::Unknown, lang);
    };
    match code_store::get(&state.pool, &code).await {
        Ok(Some(_)) => {}
        Ok(None) => return unusable_page(Unusable::Unknown, lang),
        Err(e) => return web::internal_error(lang, e),
    }
    let url = code.qr_url(&state.public_url);
    let cache = (header::CACHE_CONTROL, "public, max-age=3600");
    match ext.to_ascii_lowercase().as_str() {
        "svg" => match crate::labels::qr::svg(&url) {
            Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml"), cache], svg).into_response(),
            Err(e) => web::internal_error(lang, e),
        },
        "png" => match crate::labels::qr::png(&url, scale.unwrap_or(8).clamp(1, 40), None) {
            Ok(png) => ([(header::CONTENT_TYPE, "image/png"), cache], png).into_response(),
            Err(e) => web::internal_error(lang, e),
        },
        _ => web::not_found(HeaderMap::new()).await,
    }
}

/// `POST /q/{code}`: validate, process photos, store request + photos + job in
/// one transaction, 303 to the status page. Any problem re-renders the form
/// with the text kept and a message at the field (or photo) concerned.
async fn submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let fallback = Lang::negotiate(None, &headers);
    if let Some(page) = web::cross_site_refusal(&headers) {
        return page;
    }
    // The code first: for an unknown or dead one, no byte of the body is read.
    let Some(code) = Code::parse(&raw) else {
        return unusable_page(Unusable::Unknown, fallback);
    };
    let (record, target) = match resolve(&state, &code).await {
        Ok(Ok(found)) => found,
        Ok(Err(u)) => return unusable_page(u, fallback),
        Err(e) => return web::internal_error(fallback, format!("{e:#}")),
    };
    let spool = state.blobs.incoming();
    let (secret, scope) = (state.secret.clone(), code.as_str().to_owned());
    let token_ok = move |token: &str| {
        form::verify_form_token(&secret, &scope, token, store::now_ms()).is_some()
    };
    let incoming = match upload::read(request, &state.config.limits, &spool, &token_ok).await {
        Ok(i) => i,
        Err(e) => return e.page(fallback),
    };
    let values = incoming.form;
    let lang = Lang::negotiate(values.lang.as_deref(), &headers);
    let t = lang.texts();

    if let Some(message) = pause_message(&state, &code).await {
        return paused_page(lang, &message);
    }

    // Bots fill every field; people never see this one. Look accepted, store nothing.
    if !values.website.trim().is_empty() {
        tracing::info!(code = %code, "honeypot filled; submission dropped");
        return web::message(StatusCode::OK, lang, t.thanks_title, t.thanks_text);
    }

    let now = store::now_ms();
    let Some(issued) =
        form::verify_form_token(&state.secret, code.as_str(), &values.form_token, now)
    else {
        return form_with_message(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &code,
            &target,
            &values,
            t.err_expired,
        )
        .await;
    };
    // Nobody reads the form and describes a fault this fast: a script did.
    if now - issued < state.config.limits.min_fill_ms as i64 {
        tracing::info!(code = %code, "form sent too fast; submission dropped");
        return web::message(StatusCode::OK, lang, t.thanks_title, t.thanks_text);
    }

    // The same form again (a resend after a lost connection): its status page.
    let token = TrackingToken::for_form(&state.secret, &values.form_token);
    if let Ok(Some(_)) = requests::by_token_hash(&state.pool, &token.hash()).await {
        return Redirect::to(&format!("/t/{}", token.as_str())).into_response();
    }
    // Under a flood the form asks for proof of work (or, without JavaScript, a sum).
    let challenge_problem =
        match challenge::needed(&state.pool, &state.config.limits, code.as_str()).await {
            Ok(true) => (!challenge::solved(
                &state.secret,
                &values.form_token,
                &state.config.limits,
                &challenge::Posted {
                    pow: &values.pow,
                    answer: &values.answer,
                    open_ms: now - issued,
                },
            ))
            .then(|| t.err_challenge.to_owned()),
            Ok(false) => None,
            Err(e) => return web::internal_error(lang, e),
        };

    let site_ids: Option<Vec<AssetId>> = target
        .site_assets
        .as_ref()
        .map(|v| v.iter().map(|a| a.id).collect());
    let limits = &state.config.limits;
    let photo_problem = incoming
        .photo_problem
        .map(|p| photos::problem_message(t, p, limits));
    let submission = match form::validate(&values, limits, site_ids.as_deref(), t) {
        Ok(s) if photo_problem.is_none() && challenge_problem.is_none() => s,
        // Text, photo and proof problems: one page with every message.
        result => {
            let mut errors = result.err().unwrap_or_default();
            errors.photos = photo_problem;
            errors.challenge = challenge_problem;
            return form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &code,
                &target,
                &values,
                &errors,
            )
            .await;
        }
    };
    let processed = match photos::process_all(&state, incoming.photos, t).await {
        Ok(p) => p,
        Err(message) => {
            let errors = FieldErrors {
                photos: Some(message),
                ..Default::default()
            };
            return form_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &code,
                &target,
                &values,
                &errors,
            )
            .await;
        }
    };

    let picked = match submission.asset {
        AssetChoice::Fixed => target.asset.clone(),
        AssetChoice::Picked(id) => target
            .site_assets
            .as_ref()
            .and_then(|v| v.iter().find(|a| a.id == id).cloned()),
        AssetChoice::NotListed => None,
    };
    let site_location = match record.target {
        Target::Location(id) => Some(id),
        _ => None,
    };
    let mut request = requests::NewRequest {
        id: uuid::Uuid::now_v7(),
        code: code.to_string(),
        asset_id: picked.as_ref().map(|a| a.id),
        location_id: picked
            .as_ref()
            .and_then(|a| a.location_id)
            .or(site_location),
        company_id: picked.as_ref().and_then(|a| a.company_id),
        description: submission.description,
        contact_name: submission.name,
        contact_phone: submission.phone.map(|p| p.as_str().to_owned()),
        contact_email: submission.email.map(|e| e.as_str().to_owned()),
        consent: submission.consent,
        client_ip_hash: Some(
            crate::codes::hex_sha256(
                [
                    state.secret.as_slice(),
                    web::limits::client_ip(peer, &headers, &state.limits.trusted)
                        .to_string()
                        .as_bytes(),
                ]
                .concat()
                .as_slice(),
            )[..16]
                .to_owned(),
        ),
        lang: lang.code().to_owned(),
        token_hash: token.hash(),
        mail_link: None,
    };
    if let (Some(mailer), Some(_)) = (&state.mailer, &request.contact_email) {
        request.mail_link = Some(mailer.key().seal(&request.id.to_string(), &token));
    }
    // The same text on the same sticker within minutes (10 by default) is the same report:
    // it joins the first request (with any new contact) instead of a duplicate.
    let window = state.config.limits.duplicate_window_secs as i64 * 1000;
    match requests::recent_same_text(
        &state.pool,
        code.as_str(),
        &request.description,
        if window > 0 { now - window } else { i64::MAX },
    )
    .await
    {
        Ok(Some(first)) => {
            let contact: Vec<&str> = [
                request.contact_name.as_deref(),
                request.contact_phone.as_deref(),
                request.contact_email.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            // The second person's contact is for staff only: a team note on
            // the task, never a line on the first person's status page, and
            // within the same hourly cap as "the same problem".
            if !contact.is_empty() {
                let note = format!("{} {}", t.duplicate_contact_note, contact.join(", "));
                let cap = i64::from(state.config.limits.same_problem_per_hour);
                match crate::store::comments::same_problem_since(
                    &state.pool,
                    &first,
                    now - 3_600_000,
                )
                .await
                {
                    Ok(n) if n >= cap => {
                        tracing::info!(code = %code, "same-text notes for this request capped this hour");
                    }
                    Ok(_) => {
                        if let Err(e) = crate::store::comments::insert_note_with_job(
                            &state.pool,
                            &first,
                            &note,
                            &values.form_token,
                            now,
                        )
                        .await
                        {
                            return web::internal_error(lang, e);
                        }
                        state.worker.wake.notify_one();
                    }
                    Err(e) => return web::internal_error(lang, e),
                }
            }
            tracing::info!(code = %code, "same text again within 10 minutes; joined the first request");
            return web::message(StatusCode::OK, lang, t.duplicate_title, t.duplicate_text);
        }
        Ok(None) => {}
        Err(e) => return web::internal_error(lang, e),
    }

    // One sticker should not produce hundreds of tasks.
    let since = now - 3600 * 1000;
    match requests::count_for_code_since(&state.pool, code.as_str(), since).await {
        Ok(n) if n >= state.config.limits.code_requests_per_hour as i64 => {
            tracing::warn!(code = %code, "per-code hourly limit reached");
            let mut page = form_with_message(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                lang,
                &code,
                &target,
                &values,
                t.too_many_code,
            )
            .await;
            page.headers_mut().insert(header::RETRY_AFTER, 600.into());
            return page;
        }
        Ok(_) => {}
        Err(e) => return web::internal_error(lang, e),
    }
    let attachments = match photos::store_all(&state, &processed).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot store photos");
            return form_with_message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &code,
                &target,
                &values,
                t.error_text,
            )
            .await;
        }
    };
    match requests::insert_with_job(&state.pool, &request, &attachments, now).await {
        Ok(()) => {}
        // The same form again (double tap, resend): the first one stands.
        Err(e) if is_unique_violation(&e) => {
            tracing::info!(code = %code, "form sent again; showing the first request");
            return Redirect::to(&format!("/t/{}", token.as_str())).into_response();
        }
        Err(e) => {
            // Nothing was stored; the form comes back with everything typed.
            tracing::error!(error = %e, "cannot store the request");
            return form_with_message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &code,
                &target,
                &values,
                t.error_text,
            )
            .await;
        }
    }
    tracing::info!(request = %request.id, code = %code, "request accepted");
    state.worker.wake.notify_one();
    Redirect::to(&format!("/t/{}", token.as_str())).into_response()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[derive(Deserialize)]
pub struct SameProblemForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    request: String,
    lang: Option<String>,
}

/// `POST /q/{code}/same`: "I have the same problem" on an open request of this
/// asset adds a comment to its task instead of creating another task.
async fn same_problem(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    form: Result<axum::Form<SameProblemForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match web::public_form(&headers, form) {
        Ok(f) => f,
        Err(page) => return *page,
    };
    let lang = Lang::negotiate(form.lang.as_deref(), &headers);
    let t = lang.texts();
    let Some(code) = Code::parse(&raw) else {
        return unusable_page(Unusable::Unknown, lang);
    };
    let target = match resolve(&state, &code).await {
        Ok(Ok((_, target))) => target,
        Ok(Err(u)) => return unusable_page(u, lang),
        Err(e) => return web::internal_error(lang, format!("{e:#}")),
    };
    let now = store::now_ms();
    if form::verify_form_token(&state.secret, code.as_str(), &form.form_token, now).is_none() {
        return web::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            t.forbidden_title,
            t.err_expired,
        );
    }
    // Only a request that this form offered: open, on this asset, recent.
    let offered = open_requests(&state, &target, lang).await;
    if !offered.iter().any(|(id, _)| *id == form.request) {
        return web::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            t.bad_request_title,
            t.bad_request_text,
        );
    }
    // However many people press it, the task gets a few notes an hour, not a flood.
    let since = now - 3_600_000;
    let cap = i64::from(state.config.limits.same_problem_per_hour);
    match crate::store::comments::same_problem_since(&state.pool, &form.request, since).await {
        Ok(n) if n >= cap => {
            tracing::info!(code = %code, "same-problem notes for this request capped this hour");
        }
        Ok(_) => match crate::store::comments::insert_with_job(
            &state.pool,
            &form.request,
            "same_problem",
            t.same_problem_note,
            &[],
            &form.form_token,
            now,
        )
        .await
        {
            Ok(_) => state.worker.wake.notify_one(),
            Err(e) => return web::internal_error(lang, e),
        },
        Err(e) => return web::internal_error(lang, e),
    }
    web::message(
        StatusCode::OK,
        lang,
        t.same_thanks_title,
        t.same_thanks_text,
    )
}
