//! Public routes: the code's form (`/q/{code}`), its QR image, the submission
//! that stores a request with its delivery job, and the status page.

pub mod challenge;
pub mod form;
mod photos;
mod status;
mod submit;
pub mod upload;

pub use status::format_local;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::backend::AssetId;
use crate::catalog;
use crate::domain::codes::Code;
use crate::i18n::{Lang, Texts};
use crate::store::catalog::AssetView;
use crate::store::codes::{self as code_store, CodeRecord, State as CodeState, Target};
use crate::store::memo::Memo;
use crate::store::{self, comments, requests};
use crate::web::{self, render};
use crate::AppState;
use form::{FieldErrors, RawForm};

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
        .route("/q/{code}", get(show_code).post(submit::submit).layer(body))
        .route("/Q/{code}", get(show_code).post(submit::submit).layer(body))
        .route("/q/{code}/same", post(same_problem))
        .route("/t/{token}", get(status::show))
        .route("/T/{token}", get(status::show))
        .route("/t/{token}/live", get(status::live))
        .route("/t/{token}/photo/{id}", get(status::photo))
        .route("/t/{token}/thumb/{id}", get(status::thumb))
        .route("/t/{token}/qr.svg", get(status::qr))
        .route("/t/{token}/comment", post(status::comment).layer(body))
        .route("/t/{token}/feedback", post(status::feedback))
        .route("/t/{token}/follow", post(status::follow))
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

/// The cookie that says this browser was counted for the code this hour.
fn seen_cookie_name(code: &Code) -> String {
    // Codes are stored without the printed hyphen: a valid cookie name.
    format!("seen_{}", code.as_str())
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    // An unknown or unassigned sticker may have been misread: typing its code
    // helps; for a withdrawn one the service desk does.
    let then = match u {
        Unusable::Unknown | Unusable::Unassigned => web::Then::EnterCode,
        Unusable::Revoked | Unusable::Replaced => web::Then::Call,
    };
    web::message_then(StatusCode::NOT_FOUND, lang, title, text, then)
}

fn paused_page(lang: Lang, message: &str) -> Response {
    web::message_then(
        StatusCode::OK,
        lang,
        lang.texts().paused_title,
        message,
        web::Then::Call,
    )
}

/// Everything a code's form shows, read from the local database in one go
/// and remembered between views (see `store::memo`): opening a form costs no
/// database work.
pub struct CodeView {
    found: Result<(CodeRecord, FormTarget), Unusable>,
    /// Staff's message while intake is paused, for every code or this one.
    paused: Option<String>,
    /// Open requests on the form's asset, for "I have the same problem".
    open: Vec<requests::OpenRequest>,
    /// Requests through this code in the last hour, and everywhere in the
    /// last minute: what switches the challenge on.
    last_hour: i64,
    last_minute: i64,
}

impl CodeView {
    fn usable(&self, lang: Lang) -> web::Result<(&CodeRecord, &FormTarget)> {
        match &self.found {
            Ok((record, target)) => Ok((record, target)),
            Err(u) => Err(unusable_page(*u, lang).into()),
        }
    }

    /// Whether the form asks for proof now.
    fn challenge_needed(&self, limits: &crate::config::LimitsConfig) -> bool {
        challenge::needed(limits, self.last_hour, self.last_minute)
    }
}

/// The public pages' memory: code views and status pages.
pub struct Memos {
    codes: Memo<CodeView>,
    statuses: Memo<status::View>,
}

impl Default for Memos {
    fn default() -> Memos {
        Memos {
            codes: Memo::new(10_000),
            statuses: Memo::new(10_000),
        }
    }
}

/// The view of `code`, from memory when it is fresh.
async fn code_view(state: &AppState, code: &Code) -> anyhow::Result<std::sync::Arc<CodeView>> {
    state
        .memos
        .codes
        .get_or(code.as_str(), read_code_view(state, code))
        .await
}

async fn read_code_view(state: &AppState, code: &Code) -> anyhow::Result<CodeView> {
    let pool = &state.pool;
    let found = resolve(state, code).await?;
    let global = store::get_setting(pool, "intake_pause").await?;
    let paused = match global.filter(|m| !m.trim().is_empty()) {
        Some(m) => Some(m),
        None => code_store::paused_message(pool, code).await?,
    };
    let now = store::now_ms();
    let open = match &found {
        Ok((_, FormTarget { asset: Some(a), .. })) if state.config.intake.same_problem => {
            requests::open_for_asset(pool, a.id, now - 14 * 24 * 3600 * 1000).await?
        }
        _ => Vec::new(),
    };
    let (last_hour, last_minute) = match state.config.limits.challenge {
        crate::config::ChallengeMode::Auto => (
            requests::count_for_code_since(pool, code.as_str(), now - 3_600_000).await?,
            requests::count_since(pool, now - 60_000).await?,
        ),
        _ => (0, 0),
    };
    Ok(CodeView {
        found,
        paused,
        open,
        last_hour,
        last_minute,
    })
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
    let allowed = catalog::allowed_districts(pool, &state.config.catalog).await?;
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
    /// "Исправьте 2 ошибки" / "Please fix 2 problems".
    fn errors_heading(&self, n: usize) -> String {
        let (verb, ru, en) = self.t.errors_count;
        let noun = crate::i18n::plural(self.lang, n as u64, ru, en);
        format!("{verb} {n} {noun}:")
    }
}

/// Open requests on the form's asset, labelled without personal data.
fn open_requests(state: &AppState, view: &CodeView, lang: Lang) -> Vec<(String, String)> {
    let t = lang.texts();
    let offset = state.config.server.utc_offset_minutes;
    view.open
        .iter()
        .map(|r| {
            let number = r
                .task_number
                .as_ref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            let status = r.task_status_name.as_deref().unwrap_or(t.st_short_accepted);
            let label = format!(
                "{}{number} · {} · {status}",
                t.request_word,
                format_local(r.created_at, offset)
            );
            (r.id.clone(), label)
        })
        .collect()
}

/// The form, empty or as it came back with a message at each field.
struct Shown<'a> {
    state: &'a AppState,
    lang: Lang,
    code: &'a Code,
    view: &'a CodeView,
    target: &'a FormTarget,
}

impl Shown<'_> {
    fn page(&self, status: StatusCode, values: &RawForm, errors: &FieldErrors) -> Response {
        let (state, lang, code) = (self.state, self.lang, self.code);
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
        let challenge = (self.view.challenge_needed(limits) || errors.challenge.is_some())
            .then(|| challenge::issue(&state.secret, &form_token, limits.challenge_max_number, t));
        let page = FormPage {
            lang,
            t,
            title: t.form_title,
            switch_href: Some(format!("/q/{code}?lang={}", lang.other().code())),
            action: format!("/q/{code}"),
            code: code.as_str(),
            target: self.target,
            values,
            errors,
            form_token,
            description_hint: form::description_hint(t, limits),
            max_chars: limits.description_max_chars,
            photos_max: limits.photos_max,
            mail_on: state.mailer.is_some(),
            challenge,
            open_requests: open_requests(state, self.view, lang),
        };
        render(status, &page)
    }

    /// The form again with one message at the top and everything typed kept.
    fn with_message(&self, status: StatusCode, values: &RawForm, message: &str) -> Response {
        let errors = FieldErrors {
            form: Some(message.to_owned()),
            ..Default::default()
        };
        self.page(status, values, &errors)
    }
}

/// `GET /q/{code}` (the form) and `GET /q/{code}.svg|.png` (its QR).
async fn show_code(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<LangQuery>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> web::Result {
    let lang = Lang::negotiate(q.lang.as_deref(), &headers);
    if let Some((stem, ext)) = raw.rsplit_once('.') {
        return qr_image(&state, stem, ext, q.scale, lang).await;
    }
    let code = Code::parse(&raw).ok_or_else(|| unusable_page(Unusable::Unknown, lang))?;
    let view = code_view(&state, &code).await?;
    let target = match &view.found {
        Ok((_, target)) => target,
        // Staff scanning a blank sticker get to assign it.
        Err(Unusable::Unassigned)
            if crate::web::staff::session_from(&state, &headers)
                .await
                .is_some() =>
        {
            return Ok(Redirect::to(&format!("/admin/codes/{code}/pick")).into_response());
        }
        Err(u) => return Err(unusable_page(*u, lang).into()),
    };
    // A scan is a visitor opening the form, once an hour: a reload, the
    // language switch or the form coming back with a message is not another.
    let seen_cookie = seen_cookie_name(&code);
    let had_cookie = web::has_cookie(&headers, &seen_cookie);
    let counted = !had_cookie && {
        let ip = web::limits::client_ip(peer, &headers, &state.limits.trusted);
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let visitor = form::visitor_key(&state.secret, code.as_str(), &ip.to_string(), agent);
        state.scans.visit(&code, visitor, store::now_ms())
    };
    if counted {
        state.metrics.scan();
    }
    let page = match &view.paused {
        Some(message) => paused_page(lang, message),
        None => Shown {
            state: &state,
            lang,
            code: &code,
            view: &view,
            target,
        }
        .page(StatusCode::OK, &RawForm::default(), &FieldErrors::default()),
    };
    let mut page = with_lang_cookie(page, q.lang.as_deref(), lang);
    // Set once, not renewed: the hour counts from the visit that was counted.
    if !had_cookie {
        let seen = format!(
            "{seen_cookie}=1; Path={}; Max-Age=3600; SameSite=Lax; HttpOnly",
            uri.path()
        );
        if let Ok(v) = header::HeaderValue::from_str(&seen) {
            page.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(page)
}

async fn qr_image(
    state: &AppState,
    stem: &str,
    ext: &str,
    scale: Option<u32>,
    lang: Lang,
) -> web::Result {
    let unknown = || web::Error::from(unusable_page(Unusable::Unknown, lang));
    let code = Code::parse(stem).ok_or_else(unknown)?;
    code_store::get(&state.pool, &code)
        .await?
        .ok_or_else(unknown)?;
    let url = code.qr_url(&state.public_url);
    let cache = (header::CACHE_CONTROL, "public, max-age=3600");
    Ok(match ext.to_ascii_lowercase().as_str() {
        "svg" => {
            let svg = crate::labels::qr::svg(&url)?;
            ([(header::CONTENT_TYPE, "image/svg+xml"), cache], svg).into_response()
        }
        "png" => {
            let png = crate::labels::qr::png(&url, scale.unwrap_or(8).clamp(1, 40), None)?;
            ([(header::CONTENT_TYPE, "image/png"), cache], png).into_response()
        }
        _ => return Err(web::Error::NotFound),
    })
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
    web::CodePath(code): web::CodePath,
    headers: HeaderMap,
    form: Result<axum::Form<SameProblemForm>, axum::extract::rejection::FormRejection>,
) -> web::Result {
    let form = web::public_form(&headers, form)?;
    let lang = Lang::negotiate(form.lang.as_deref(), &headers);
    let t = lang.texts();
    let view = code_view(&state, &code).await?;
    view.usable(lang)?;
    let now = store::now_ms();
    if form::verify_form_token(&state.secret, code.as_str(), &form.form_token, now).is_none() {
        return Err(web::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            t.forbidden_title,
            t.err_expired,
        )
        .into());
    }
    // Only a request that this form offered: open, on this asset, recent.
    if !view.open.iter().any(|r| r.id == form.request) {
        return Err(web::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            t.bad_request_title,
            t.bad_request_text,
        )
        .into());
    }
    // However many people press it, the task gets a few notes an hour, not a
    // flood; each of them gets a status link of their own.
    let cap = i64::from(state.config.limits.same_problem_per_hour);
    if comments::same_problem_since(&state.pool, &form.request, now - 3_600_000).await? >= cap {
        tracing::info!(code = %code, "same-problem notes for this request capped this hour");
    } else {
        comments::insert_with_job(
            &state.pool,
            &form.request,
            crate::store::CommentKind::SameProblem,
            t.same_problem_note,
            &[],
            &form.form_token,
            now,
        )
        .await?;
        state.worker.wake.notify_one();
    }
    // One link per form: pressing again (30 times, say) lands on the same one.
    let token = crate::domain::codes::TrackingToken::for_follower(&state.secret, &form.form_token);
    requests::follow(&state.pool, &form.request, &token.hash(), now).await?;
    Ok(Redirect::to(&format!("/t/{}?lang={}", token.as_str(), lang.code())).into_response())
}
