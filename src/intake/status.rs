//! The customer's private status page, `/t/{token}`: the task's status and
//! timeline, the photos sent, the conversation with staff, a form to add a
//! comment, "fixed / still not working", and a QR of the page itself. The token
//! in the URL is the only key; the database holds just its hash.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::{form, photos, upload, LangQuery};
use crate::backend::is_css_color;
use crate::domain::codes::TrackingToken;
use crate::i18n::{Lang, Texts};
use crate::store::catalog::AssetView;
use crate::store::{
    self, attachments, comments, requests, requests::RequestRecord, CommentKind, RequestStatus,
};
use crate::web::{self, render};
use crate::AppState;

/// A page view waits at most this long for the task system.
const LIVE_READ_TIMEOUT: Duration = Duration::from_secs(3);

/// One line of the conversation as the page shows it.
pub struct Entry {
    mine: bool,
    who: String,
    when: Stamp,
    text: String,
    pending: bool,
    at: i64,
}

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
    /// Seconds until a page without JavaScript reloads itself: only while
    /// waiting for the task, on a page without a form.
    refresh: Option<u32>,
    /// Seconds between the script's look-ups of what changed; 0 once
    /// nothing more will.
    poll: u32,
    /// What the backend calls the task's status, in the reader's language.
    task_status_name: Option<&'a str>,
    sent: Stamp,
    created: Option<Stamp>,
    in_work: Option<Stamp>,
    completed: Option<Stamp>,
    closed: Option<Stamp>,
    checked: Option<Stamp>,
    self_href: String,
    /// The page's full address, to copy or write down.
    link: String,
    /// Links to the photos sent (those still kept) and to their small copies.
    photos: Vec<(String, String)>,
    entries: Vec<Entry>,
    can_comment: bool,
    ask_feedback: bool,
    form_token: String,
    comment_text: &'a str,
    comment_error: Option<String>,
    /// The link was e-mailed to the customer.
    mailed: bool,
    photos_max: usize,
    follower: bool,
    /// A follower may leave an e-mail to hear when it is fixed.
    follow_form: bool,
}

impl StatusPage<'_> {
    /// The timeline after "received": each step with its time, once reached.
    fn steps(&self) -> [(&'static str, Option<&Stamp>); 4] {
        let t = self.t;
        [
            (t.t_created, self.created.as_ref()),
            (t.t_in_work, self.in_work.as_ref()),
            (t.t_completed, self.completed.as_ref()),
            (t.t_closed, self.closed.as_ref()),
        ]
    }
}

/// `GET /t/{token}/live`: the parts of the status page that change (status
/// and timeline, the "fixed?" question, the conversation), for the page's
/// script to put in place without reloading.
#[derive(Template)]
#[template(path = "status_live.html")]
struct LiveParts<'a, 'b>(&'b StatusPage<'a>);

impl<'a> std::ops::Deref for LiveParts<'a, '_> {
    type Target = StatusPage<'a>;
    fn deref(&self) -> &StatusPage<'a> {
        self.0
    }
}

/// A moment as the page shows it (at the configured offset) and as a
/// machine reads it (UTC), for the script to show in the reader's own format.
pub struct Stamp {
    text: String,
    iso: String,
}

impl Stamp {
    fn new(ms: i64, offset_minutes: i32) -> Stamp {
        let iso = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Stamp {
            text: format_local(ms, offset_minutes),
            iso,
        }
    }
}

/// Everything a status page shows, read in one go and remembered between
/// views (see `store::memo`).
pub struct View {
    record: RequestRecord,
    asset: Option<AssetView>,
    /// Photos still kept.
    photos: Vec<String>,
    own: Vec<comments::CommentRecord>,
    messages: Vec<(i64, Option<i64>, Option<String>, String)>,
    mailed: bool,
    /// A follower's link ("the same problem"): the status only, never the
    /// first person's words, photos or conversation.
    follower: bool,
}

async fn read_view(state: &AppState, hash: &str) -> anyhow::Result<Option<View>> {
    let pool = &state.pool;
    let Some((record, follower)) = requests::by_status_link(pool, hash).await? else {
        return Ok(None);
    };
    let asset = match record.asset_id {
        Some(id) => store::catalog::asset(pool, id).await?,
        None => None,
    };
    if follower {
        return Ok(Some(View {
            record,
            asset,
            photos: Vec::new(),
            own: Vec::new(),
            messages: Vec::new(),
            mailed: crate::store::mails::follower_subscribed(pool, hash).await?,
            follower,
        }));
    }
    let photos = attachments::for_request(pool, &record.id)
        .await?
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .map(|a| a.id)
        .collect();
    let own = comments::for_request(pool, &record.id).await?;
    let messages = comments::messages(pool, &record.id).await?;
    let mailed = state.mailer.is_some()
        && record.contact_email.is_some()
        && crate::store::mails::is_subscribed(pool, &record.id).await?;
    Ok(Some(View {
        record,
        asset,
        photos,
        own,
        messages,
        mailed,
        follower: false,
    }))
}

/// Finds the request behind a token, or the friendly 404 page. A found one
/// is remembered (see `store::memo`); an unknown token costs one query.
async fn lookup(
    state: &AppState,
    raw: &str,
    lang: Lang,
) -> web::Result<(TrackingToken, std::sync::Arc<View>)> {
    let not_found = || {
        let t = lang.texts();
        web::Error::from(web::message(
            StatusCode::NOT_FOUND,
            lang,
            t.token_unknown_title,
            t.token_unknown_text,
        ))
    };
    let token = TrackingToken::parse(raw).ok_or_else(not_found)?;
    let hash = token.hash();
    let memo = &state.memos.statuses;
    if let Some(view) = memo.get(&hash) {
        return Ok((token, view));
    }
    let reading = memo.begin();
    let view = read_view(state, &hash).await?.ok_or_else(not_found)?;
    Ok((token, memo.put(&hash, reading, view)))
}

/// The language of the request, unless the person asked for another now.
fn page_lang(explicit: Option<&str>, headers: &HeaderMap, record: &RequestRecord) -> Lang {
    explicit
        .and_then(Lang::parse)
        .or_else(|| Lang::from_cookie(headers))
        .or_else(|| Lang::parse(&record.lang))
        .unwrap_or_default()
}

/// What a status-page form is signed for: this request only.
fn form_scope(token: &TrackingToken) -> String {
    format!("status:{}", token.hash())
}

/// Whether a status-page form was signed for this page, and lately.
fn signed_here(state: &AppState, token: &TrackingToken, form_token: &str) -> bool {
    form::verify_form_token(
        &state.secret,
        &form_scope(token),
        form_token,
        store::now_ms(),
    )
    .is_some()
}

pub async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> web::Result {
    let explicit = q.lang.as_deref();
    let (token, view, lang) = current(&state, &raw, explicit, &headers).await?;
    let page = page(&state, &token, &view, lang, "", None, StatusCode::OK);
    Ok(super::with_lang_cookie(page, explicit, lang))
}

/// `GET /t/{token}/live`: what the page's script puts in place.
pub async fn live(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> web::Result {
    let (token, view, lang) = current(&state, &raw, q.lang.as_deref(), &headers).await?;
    let page = build(&state, &token, &view, lang, "", None);
    let mut resp = render(StatusCode::OK, &LiveParts(&page));
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// The request behind the token as it stands now: its task's status is read
/// again when older than `status.max_age_secs`.
async fn current(
    state: &AppState,
    raw: &str,
    explicit: Option<&str>,
    headers: &HeaderMap,
) -> web::Result<(TrackingToken, std::sync::Arc<View>, Lang)> {
    let fallback = Lang::negotiate(explicit, headers);
    let (token, mut view) = lookup(state, raw, fallback).await?;
    let record = &view.record;
    if let Some(task_id) = record.task_id {
        let stale = record.status_checked_at.is_none_or(|at| {
            store::now_ms() - at >= state.config.status.max_age_secs as i64 * 1000
        });
        if stale && record.task_closed_at.is_none() {
            // Best effort: when the task system is slow or down, the page
            // shows the last known status and when it was read.
            let read = crate::delivery::refresh(
                &state.pool,
                state.backend.as_ref(),
                &record.id,
                task_id,
                crate::ops::state::FollowUps::of(state.mailer.as_ref()),
            );
            if let Ok(Ok(())) = tokio::time::timeout(LIVE_READ_TIMEOUT, read).await {
                (_, view) = lookup(state, raw, fallback).await?;
            }
        }
    }
    let lang = page_lang(explicit, headers, &view.record);
    Ok((token, view, lang))
}

fn page(
    state: &AppState,
    token: &TrackingToken,
    view: &View,
    lang: Lang,
    comment_text: &str,
    comment_error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        status,
        &build(state, token, view, lang, comment_text, comment_error),
    )
}

/// The page again after a form on it was refused: what was typed kept, the
/// reason at the top, 422.
fn again(
    state: &AppState,
    token: &TrackingToken,
    view: &View,
    lang: Lang,
    typed: &str,
    error: String,
) -> web::Error {
    web::Error::from(page(
        state,
        token,
        view,
        lang,
        typed,
        Some(error),
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

fn build<'a>(
    state: &AppState,
    token: &TrackingToken,
    view: &'a View,
    lang: Lang,
    comment_text: &'a str,
    comment_error: Option<String>,
) -> StatusPage<'a> {
    let record = &view.record;
    let photos = photo_links(token, view);
    let t = lang.texts();
    let offset = state.config.server.utc_offset_minutes;
    let fmt = |ms: Option<i64>| ms.map(|ms| Stamp::new(ms, offset));

    let (entries, feedback_given) = conversation(view, t, offset);

    let delivered = record.status == RequestStatus::Delivered && record.task_id.is_some();
    let state_text = match record.status {
        RequestStatus::Delivered => t.st_delivered,
        RequestStatus::Failed => t.st_failed,
        RequestStatus::Accepted | RequestStatus::Delivering => t.st_accepted,
    };
    let poll = poll_secs(state, record);
    // Without the script only the waiting page reloads itself, slowly; a page
    // with a form never does (WCAG 2.2.1).
    let waiting = matches!(
        record.status,
        RequestStatus::Accepted | RequestStatus::Delivering
    );
    let refresh = (waiting && comment_text.is_empty() && comment_error.is_none()).then_some(30);
    StatusPage {
        lang,
        t,
        title: t.status_title,
        switch_href: Some(format!(
            "/t/{}?lang={}",
            token.as_str(),
            lang.other().code()
        )),
        r: record,
        asset: view.asset.clone(),
        state_text,
        status_dot: status_dot(record),
        refresh,
        poll,
        task_status_name: record
            .task_status_name
            .as_deref()
            .map(|name| status_name(name, lang, record)),
        sent: Stamp::new(record.created_at, offset),
        created: fmt(record.task_created_at),
        in_work: fmt(record.task_in_work_at),
        completed: fmt(record.task_completed_at),
        closed: fmt(record.task_closed_at),
        checked: fmt(record.status_checked_at),
        self_href: format!("/t/{}", token.as_str()),
        link: format!("{}/t/{}", state.public_url, token.as_str()),
        photos,
        entries,
        can_comment: delivered
            && state.backend.capabilities().comments
            && record.task_closed_at.is_none()
            && !view.follower,
        ask_feedback: delivered
            && state.backend.capabilities().comments
            && record.task_completed_at.is_some()
            && !feedback_given
            && !view.follower,
        form_token: form::form_token(&state.secret, &form_scope(token), store::now_ms()),
        comment_text,
        comment_error,
        mailed: view.mailed,
        photos_max: state.config.limits.photos_max,
        follower: view.follower,
        follow_form: view.follower
            && !view.mailed
            && state.mailer.is_some()
            && record.task_completed_at.is_none()
            && record.task_closed_at.is_none(),
    }
}

/// The task's conversation as the page shows it: staff messages from the
/// task system, the customer's own from qrdesk's copy (with their sending
/// state), oldest first; and whether the customer has answered "fixed?".
fn conversation(view: &View, t: &'static Texts, offset: i32) -> (Vec<Entry>, bool) {
    let own = &view.own;
    let mut entries: Vec<Entry> = view
        .messages
        .iter()
        // Our own comments are shown from our copy, with their sending state.
        .filter(|(_, _, _, text)| !crate::delivery::is_ours(text))
        .map(|(_, at, author, text)| Entry {
            mine: false,
            who: author
                .as_deref()
                .filter(|a| !a.trim().is_empty())
                .unwrap_or(t.staff_word)
                .to_owned(),
            when: Stamp::new(at.unwrap_or(0), offset),
            text: text.clone(),
            pending: false,
            at: at.unwrap_or(0),
        })
        .collect();
    let feedback_given = own
        .iter()
        .any(|c| matches!(c.kind, CommentKind::Fixed | CommentKind::NotFixed));
    entries.extend(own.iter().map(|c| Entry {
        // Someone else at the same machine, not the person reading.
        mine: c.kind != CommentKind::SameProblem,
        who: if c.kind == CommentKind::SameProblem {
            t.another_person.to_owned()
        } else {
            t.you_word.to_owned()
        },
        when: Stamp::new(c.created_at, offset),
        pending: c.posted_at.is_none(),
        text: match c.kind {
            CommentKind::Fixed => t.fixed_yes.to_owned(),
            CommentKind::NotFixed => format!("{} {}", t.fixed_no, c.text).trim().to_owned(),
            CommentKind::Comment | CommentKind::SameProblem => c.text.clone(),
        },
        at: c.created_at,
    }));
    entries.sort_by_key(|e| e.at);
    (entries, feedback_given)
}

/// Each photo's address and its thumbnail's, under the status page's token.
fn photo_links(token: &TrackingToken, view: &View) -> Vec<(String, String)> {
    let t = token.as_str();
    view.photos
        .iter()
        .map(|id| (format!("/t/{t}/photo/{id}"), format!("/t/{t}/thumb/{id}")))
        .collect()
}

/// How often the page asks again, in seconds (0: not any more).
fn poll_secs(state: &AppState, record: &RequestRecord) -> u32 {
    match record.status {
        RequestStatus::Accepted | RequestStatus::Delivering => 5,
        // The task exists but its status is not read yet: soon.
        RequestStatus::Delivered if record.task_status_name.is_none() => 5,
        // As often as a view reads the task system again, and no more.
        RequestStatus::Delivered if record.task_closed_at.is_none() => {
            state.config.status.max_age_secs.clamp(5, 300) as u32
        }
        _ => 0,
    }
}

/// The task system's status colour as a small inline dot, when it is a colour.
fn status_dot(record: &RequestRecord) -> Option<String> {
    let color = record
        .task_status_color
        .as_deref()
        .filter(|c| is_css_color(c))?;
    Some(format!(
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'%3E\
         %3Ccircle cx='5' cy='5' r='5' fill='%23{}'/%3E%3C/svg%3E",
        &color[1..]
    ))
}

/// The backend's name for the task's status; on an English page a name in
/// Cyrillic gives way to the timeline's own word for the step reached.
fn status_name<'a>(name: &'a str, lang: Lang, record: &RequestRecord) -> &'a str {
    let cyrillic = name.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c));
    if lang != Lang::En || !cyrillic {
        return name;
    }
    let t = lang.texts();
    if record.task_closed_at.is_some() {
        t.t_closed
    } else if record.task_completed_at.is_some() {
        t.t_completed
    } else if record.task_in_work_at.is_some() {
        t.t_in_work
    } else {
        t.task_open
    }
}

/// `POST /t/{token}/comment`: text and photos for the task's external chat.
pub async fn comment(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> web::Result {
    web::same_origin_or_refuse(&headers)?;
    let (token, view) = lookup(&state, &raw, Lang::negotiate(None, &headers)).await?;
    let view = &*view;
    // A follower's page, or a task system that takes no comments.
    if view.follower || !state.backend.capabilities().comments {
        return Err(web::Error::NotFound);
    }
    let record = &view.record;
    let lang = page_lang(None, &headers, record);
    let t = lang.texts();
    let incoming = upload::read_signed(&state, request, form_scope(&token)).await?;
    let back = |error: String| {
        again(
            &state,
            &token,
            view,
            lang,
            &incoming.form.description,
            error,
        )
    };
    if !signed_here(&state, &token, &incoming.form.form_token) {
        return Err(back(t.err_expired.to_owned()));
    }
    if record.task_id.is_none() || record.task_closed_at.is_some() {
        return Err(back(t.err_comment_closed.to_owned()));
    }
    if let Some(p) = incoming.photo_problem {
        return Err(back(photos::problem_message(t, p, &state.config.limits)));
    }
    let text = form::CommentText::check(&incoming.form.description, &state.config.limits, t)
        .map_err(back)?;
    let processed = photos::process_all(&state, incoming.photos, t)
        .await
        .map_err(back)?;
    let stored = photos::store_all(&state, &processed).await?;
    comments::insert_with_job(
        &state.pool,
        &record.id,
        CommentKind::Comment,
        &text,
        &stored,
        &incoming.form.form_token,
        store::now_ms(),
    )
    .await?;
    state.worker.wake.notify_one();
    Ok(Redirect::to(&format!("/t/{}#conversation", token.as_str())).into_response())
}

#[derive(Deserialize)]
pub struct FeedbackForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    form_token: String,
}

/// `POST /t/{token}/feedback`: "fixed, thank you" or "still not working".
pub async fn feedback(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    form: Result<axum::Form<FeedbackForm>, axum::extract::rejection::FormRejection>,
) -> web::Result {
    let form = web::public_form(&headers, form)?;
    let (token, view) = lookup(&state, &raw, Lang::negotiate(None, &headers)).await?;
    let view = &*view;
    // A follower's page, or a task system that takes no comments.
    if view.follower || !state.backend.capabilities().comments {
        return Err(web::Error::NotFound);
    }
    let record = &view.record;
    let lang = page_lang(None, &headers, record);
    let t = lang.texts();
    let back = |error: &str| again(&state, &token, view, lang, "", error.to_owned());
    if !signed_here(&state, &token, &form.form_token) {
        return Err(back(t.err_expired));
    }
    let (kind, text) = match form.kind.as_str() {
        "fixed" => (CommentKind::Fixed, t.feedback_fixed_note),
        "not_fixed" => (CommentKind::NotFixed, t.feedback_not_fixed_note),
        _ => return Err(web::Error::BadRequest),
    };
    if record.task_id.is_none() {
        return Err(back(t.err_comment_closed));
    }
    // One answer per request: a second tap lands on the same page.
    let already = comments::for_request(&state.pool, &record.id)
        .await?
        .iter()
        .any(|c| matches!(c.kind, CommentKind::Fixed | CommentKind::NotFixed));
    if !already {
        comments::insert_with_job(
            &state.pool,
            &record.id,
            kind,
            text,
            &[],
            &form.form_token,
            store::now_ms(),
        )
        .await?;
        state.worker.wake.notify_one();
    }
    Ok(Redirect::to(&format!("/t/{}#conversation", token.as_str())).into_response())
}

#[derive(Deserialize, Validate)]
pub struct FollowForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    #[validate(custom(function = "follow_email"))]
    email: String,
    #[serde(default)]
    #[validate(custom(function = "follow_consent"))]
    consent: String,
}

fn follow_email(s: &str) -> Result<(), ValidationError> {
    crate::domain::contact::Email::parse(s)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("email"))
}

fn follow_consent(s: &str) -> Result<(), ValidationError> {
    (!s.is_empty())
        .then_some(())
        .ok_or_else(|| ValidationError::new("consent"))
}

/// `POST /t/{token}/follow`: a follower's e-mail, to be told once when the
/// task is done.
pub async fn follow(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    form: Result<axum::Form<FollowForm>, axum::extract::rejection::FormRejection>,
) -> web::Result {
    let form = web::public_form(&headers, form)?;
    let (token, view) = lookup(&state, &raw, Lang::negotiate(None, &headers)).await?;
    let view = &*view;
    let Some(mailer) = state.mailer.as_ref().filter(|_| view.follower) else {
        return Err(web::Error::NotFound);
    };
    let record = &view.record;
    let lang = page_lang(None, &headers, record);
    let t = lang.texts();
    let back = |error: &str| again(&state, &token, view, lang, &form.email, error.to_owned());
    if !signed_here(&state, &token, &form.form_token) {
        return Err(back(t.err_expired));
    }
    if let Err(e) = form.validate() {
        let consent = e.field_errors().contains_key("consent");
        let email = e.field_errors().contains_key("email");
        return Err(back(match (email, consent) {
            (true, _) => t.err_email,
            _ => t.err_follow_consent,
        }));
    }
    let email = crate::domain::contact::Email::parse(&form.email).ok_or(web::Error::BadRequest)?;
    let hash = token.hash();
    let sealed = mailer
        .key()
        .seal(&crate::mail::follower_seal_id(&record.id, &hash), &token);
    crate::store::mails::follow_by_mail(&state.pool, &hash, email.as_str(), &sealed, lang.code())
        .await?;
    Ok(Redirect::to(&format!("/t/{}", token.as_str())).into_response())
}

/// A photo of the request behind `token`; the token is the only key.
pub async fn photo(State(state): State<AppState>, Path(p): Path<(String, String)>) -> Response {
    send_photo(&state, p, false).await
}

/// The photo's small copy, as the page shows it.
pub async fn thumb(State(state): State<AppState>, Path(p): Path<(String, String)>) -> Response {
    send_photo(&state, p, true).await
}

async fn send_photo(state: &AppState, (raw, id): (String, String), small: bool) -> Response {
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
    let bytes = if small {
        state.blobs.thumb(&a.sha256).await
    } else {
        state.blobs.get(&a.sha256).await
    };
    crate::media::jpeg_response(bytes)
}

/// A QR of the status page's own URL, to photograph and keep.
pub async fn qr(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let Some(token) = TrackingToken::parse(&raw) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match requests::by_status_link(&state.pool, &token.hash()).await {
        Ok(Some(_)) => {}
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    // Upper case keeps the QR alphanumeric; tokens are read case-insensitively.
    let url = format!("{}/T/{}", state.public_url, token.as_str()).to_ascii_uppercase();
    match crate::labels::qr::svg(&url) {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            svg,
        )
            .into_response(),
        Err(e) => web::Error::Internal(e.into()).into_response(),
    }
}

pub use crate::domain::time::format_local;

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
