//! `POST /q/{code}`: a submission becomes a stored request with its delivery
//! job, step by step. Every step either lets the submission on or ends it
//! with the page the person should see: the form again with a message at the
//! field (or photo) concerned and everything typed kept, a "thank you" that
//! stores nothing (bots), or the status page of the request it already is.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{self, AssetChoice, FieldErrors, RawForm, Submission};
use super::{challenge, code_view, paused_page, photos, upload, Shown};
use crate::domain::codes::TrackingToken;
use crate::i18n::Lang;
use crate::media::Processed;
use crate::store::codes::{CodeRecord, Target};
use crate::store::{self, comments, requests};
use crate::web;
use crate::AppState;

/// A form post, counted by how it ended (`/metrics`).
pub(super) async fn submit(
    state: State<AppState>,
    code: web::CodePath,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let metrics = state.metrics.clone();
    let response = take(state, code, peer, headers, body).await.into_response();
    metrics.submission(response.status());
    response
}

async fn take(
    State(state): State<AppState>,
    web::CodePath(code): web::CodePath,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Request,
) -> web::Result {
    web::same_origin_or_refuse(&headers)?;
    // The code first: for an unknown or dead one, no byte of the body is read.
    let view = code_view(&state, &code).await?;
    let (record, target) = view.usable(Lang::negotiate(None, &headers))?;
    // The form token is checked before any photo byte reaches disk, and text
    // fields are bounded while they stream in.
    let incoming = upload::read_signed(&state, body, code.as_str().to_owned()).await?;
    let lang = Lang::negotiate(incoming.form.lang.as_deref(), &headers);
    if let Some(message) = &view.paused {
        return Ok(paused_page(lang, message));
    }
    let s = Submit {
        form: Shown {
            state: &state,
            lang,
            code: &code,
            view: &view,
            target,
        },
        values: &incoming.form,
        now: store::now_ms(),
    };
    if s.is_bot() {
        tracing::info!(code = %code, "honeypot filled; submission dropped");
        return Ok(s.thanks());
    }
    let issued = s.form_token()?;
    if s.too_fast(issued) {
        tracing::info!(code = %code, "form sent too fast; submission dropped");
        return Ok(s.thanks());
    }
    let token = TrackingToken::for_form(&state.secret, &s.values.form_token);
    s.not_sent_before(&token).await?;
    let challenge = s.challenge(issued);
    let submission = s.validate(incoming.photo_problem, challenge)?;
    let processed = s.process_photos(incoming.photos).await?;
    let request = s.new_request(submission, record, &token, peer, &headers);
    s.join_same_text(&request).await?;
    s.within_sticker_cap().await?;
    s.store(&request, &processed, &token).await
}

/// A submission on its way through the steps.
pub struct Submit<'a> {
    form: Shown<'a>,
    values: &'a RawForm,
    now: i64,
}

impl Submit<'_> {
    fn thanks(&self) -> Response {
        let t = self.form.lang.texts();
        web::message(
            StatusCode::OK,
            self.form.lang,
            t.thanks_title,
            t.thanks_text,
        )
    }

    /// The form again, with `errors`, answered with `status`.
    fn again(&self, status: StatusCode, errors: &FieldErrors) -> web::Error {
        self.form.page(status, self.values, errors).into()
    }

    fn again_with(&self, status: StatusCode, message: &str) -> web::Error {
        self.form.with_message(status, self.values, message).into()
    }

    /// Bots fill every field; people never see the honeypot.
    pub fn is_bot(&self) -> bool {
        !self.values.website.trim().is_empty()
    }

    /// The form's signed token: when it was opened. An expired or foreign
    /// token brings the form back (with a fresh token) and the text kept.
    pub fn form_token(&self) -> web::Result<i64> {
        let state = self.form.state;
        form::verify_form_token(
            &state.secret,
            self.form.code.as_str(),
            &self.values.form_token,
            self.now,
        )
        .ok_or_else(|| {
            self.again_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                self.form.lang.texts().err_expired,
            )
        })
    }

    /// Nobody reads the form and describes a fault this fast: a script did.
    pub fn too_fast(&self, issued: i64) -> bool {
        self.now - issued < self.form.state.config.limits.min_fill_ms as i64
    }

    /// The same form again (a resend after a lost connection) goes to its
    /// status page.
    pub async fn not_sent_before(&self, token: &TrackingToken) -> web::Result<()> {
        match requests::by_token_hash(&self.form.state.pool, &token.hash()).await? {
            Some(_) => Err(status_page(token).into()),
            None => Ok(()),
        }
    }

    /// Under a flood the form asks for proof of work (or, without
    /// JavaScript, a sum); the message when the proof is missing or wrong.
    pub fn challenge(&self, issued: i64) -> Option<String> {
        let state = self.form.state;
        let limits = &state.config.limits;
        let solved = || {
            challenge::solved(
                &state.secret,
                &self.values.form_token,
                limits,
                &challenge::Posted {
                    pow: &self.values.pow,
                    answer: &self.values.answer,
                    open_ms: self.now - issued,
                },
            )
        };
        (self.form.view.challenge_needed(limits) && !solved())
            .then(|| self.form.lang.texts().err_challenge.to_owned())
    }

    /// Every field checked at once; text, photo and proof problems come back
    /// on one page with every message.
    pub fn validate(
        &self,
        photo_problem: Option<upload::PhotoProblem>,
        challenge: Option<String>,
    ) -> web::Result<Submission> {
        let (t, limits) = (self.form.lang.texts(), &self.form.state.config.limits);
        let photos = photo_problem.map(|p| photos::problem_message(t, p, limits));
        let site: Option<Vec<_>> = self
            .form
            .target
            .site_assets
            .as_ref()
            .map(|v| v.iter().map(|a| a.id).collect());
        match form::validate(self.values, limits, site.as_deref(), t) {
            Ok(s) if photos.is_none() && challenge.is_none() => Ok(s),
            result => {
                let mut errors = result.err().unwrap_or_default();
                errors.photos = photos;
                errors.challenge = challenge;
                Err(self.again(StatusCode::UNPROCESSABLE_ENTITY, &errors))
            }
        }
    }

    /// Each photo shrunk and re-encoded; the first one that fails is named
    /// at the photo field.
    pub async fn process_photos(
        &self,
        spooled: Vec<upload::Spooled>,
    ) -> web::Result<Vec<Processed>> {
        photos::process_all(self.form.state, spooled, self.form.lang.texts())
            .await
            .map_err(|message| {
                let errors = FieldErrors {
                    photos: Some(message),
                    ..Default::default()
                };
                self.again(StatusCode::UNPROCESSABLE_ENTITY, &errors)
            })
    }

    /// The request as it will be stored.
    pub fn new_request(
        &self,
        submission: Submission,
        record: &CodeRecord,
        token: &TrackingToken,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> requests::NewRequest {
        let (state, target) = (self.form.state, self.form.target);
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
        let client = web::limits::client_ip(peer, headers, &state.limits.trusted).to_string();
        let mut request = requests::NewRequest {
            id: uuid::Uuid::now_v7(),
            code: self.form.code.to_string(),
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
                crate::domain::codes::hex_sha256(
                    &[state.secret.as_slice(), client.as_bytes()].concat(),
                )[..16]
                    .to_owned(),
            ),
            lang: self.form.lang.code().to_owned(),
            token_hash: token.hash(),
            mail_link: None,
        };
        if let (Some(mailer), Some(_)) = (&state.mailer, &request.contact_email) {
            request.mail_link = Some(mailer.key().seal(&request.id.to_string(), token));
        }
        request
    }

    /// The same text on the same sticker within minutes (10 by default) is
    /// the same report: it joins the first request instead of a duplicate.
    /// The second person's contact is for staff only — a team note on the
    /// task, never a line on the first person's status page — and within the
    /// same hourly cap as "the same problem".
    pub async fn join_same_text(&self, request: &requests::NewRequest) -> web::Result<()> {
        let (state, lang, code) = (self.form.state, self.form.lang, self.form.code);
        let t = lang.texts();
        let window = state.config.limits.duplicate_window_secs as i64 * 1000;
        let since = if window > 0 {
            self.now - window
        } else {
            i64::MAX
        };
        let Some(first) =
            requests::recent_same_text(&state.pool, code.as_str(), &request.description, since)
                .await?
        else {
            return Ok(());
        };
        let contact: Vec<&str> = [
            request.contact_name.as_deref(),
            request.contact_phone.as_deref(),
            request.contact_email.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !contact.is_empty() {
            let cap = i64::from(state.config.limits.same_problem_per_hour);
            if comments::same_problem_since(&state.pool, &first, self.now - 3_600_000).await? >= cap
            {
                tracing::info!(code = %code, "same-text notes for this request capped this hour");
            } else {
                let note = format!("{} {}", t.duplicate_contact_note, contact.join(", "));
                comments::insert_note_with_job(
                    &state.pool,
                    &first,
                    &note,
                    &self.values.form_token,
                    self.now,
                )
                .await?;
                state.worker.wake.notify_one();
            }
        }
        tracing::info!(code = %code, "same text again within the window; joined the first request");
        Err(web::message(StatusCode::OK, lang, t.duplicate_title, t.duplicate_text).into())
    }

    /// One sticker should not produce hundreds of tasks an hour.
    pub async fn within_sticker_cap(&self) -> web::Result<()> {
        let state = self.form.state;
        let since = self.now - 3_600_000;
        let n = requests::count_for_code_since(&state.pool, self.form.code.as_str(), since).await?;
        if n < state.config.limits.code_requests_per_hour as i64 {
            return Ok(());
        }
        tracing::warn!(code = %self.form.code, "per-code hourly limit reached");
        let mut page = self.form.with_message(
            StatusCode::TOO_MANY_REQUESTS,
            self.values,
            self.form.lang.texts().too_many_code,
        );
        page.headers_mut().insert(header::RETRY_AFTER, 600.into());
        Err(page.into())
    }

    /// Photos, request and job in one transaction; then the status page.
    /// When nothing could be stored the form comes back with everything typed.
    pub async fn store(
        &self,
        request: &requests::NewRequest,
        processed: &[Processed],
        token: &TrackingToken,
    ) -> web::Result {
        let state = self.form.state;
        let unavailable = || {
            self.again_with(
                StatusCode::SERVICE_UNAVAILABLE,
                self.form.lang.texts().error_text,
            )
        };
        let attachments = photos::store_all(state, processed).await.map_err(|e| {
            tracing::error!(error = %e, "cannot store photos");
            unavailable()
        })?;
        match requests::insert_with_job(&state.pool, request, &attachments, self.now).await {
            Ok(()) => {}
            // The same form again (double tap, resend): the first one stands.
            Err(e) if is_unique_violation(&e) => {
                tracing::info!(code = %self.form.code, "form sent again; showing the first request");
                return Ok(status_page(token));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store the request");
                return Err(unavailable());
            }
        }
        tracing::info!(request = %request.id, code = %self.form.code, "request accepted");
        state.worker.wake.notify_one();
        Ok(status_page(token))
    }
}

fn status_page(token: &TrackingToken) -> Response {
    Redirect::to(&format!("/t/{}", token.as_str())).into_response()
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
