//! The one error type of the HTTP edge. Handlers return
//! `Result<Response, Error>` and use `?`; what the person sees is decided
//! here, never by the text of an internal error.
//!
//! An error's page needs the request's language (and, under `/admin`, the
//! admin look), which a response alone does not know: [`Error::into_response`]
//! leaves a marker and [`pages`], outside every route, renders the page.
//! A 429 is not among them: the per-client limits answer it in
//! `limits::refusal_page`, and the per-sticker cap brings the form back.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::i18n::Lang;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing here: the friendly 404.
    #[error("not found")]
    NotFound,
    /// Not allowed (a cross-site post, a missing right): the friendly 403.
    #[error("forbidden")]
    Forbidden,
    /// Unreadable input: the friendly 400.
    #[error("bad request")]
    BadRequest,
    /// A body over its limit: the friendly 413.
    #[error("too large")]
    TooLarge,
    /// A body that came in slower than the least rate allowed: a 408.
    #[error("too slow")]
    TooSlow,
    /// Uploads hold all the room they may: a 503 to try again later.
    #[error("busy")]
    Busy,
    /// The request ends with a finished page: usually the form again with a
    /// message at each field and everything typed kept, or a step's answer
    /// that stops the rest (a "thank you" for a report joined to another).
    #[error("ended with a page")]
    Page(Box<Response>),
    /// Our failure: logged once with its whole chain, shown as a plain page.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Internal(e.into())
    }
}

impl From<crate::labels::qr::QrError> for Error {
    fn from(e: crate::labels::qr::QrError) -> Error {
        Error::Internal(e.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Internal(e.into())
    }
}

impl From<Response> for Error {
    fn from(page: Response) -> Error {
        Error::Page(Box::new(page))
    }
}

/// Shorthand for handlers.
pub type Result<T = Response, E = Error> = std::result::Result<T, E>;

/// Left on a response by [`Error`] for [`pages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotFound,
    Forbidden,
    BadRequest,
    TooLarge,
    TooSlow,
    Busy,
    Internal,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = match self {
            Error::Page(page) => return *page,
            Error::NotFound => (StatusCode::NOT_FOUND, Kind::NotFound),
            Error::Forbidden => (StatusCode::FORBIDDEN, Kind::Forbidden),
            Error::BadRequest => (StatusCode::BAD_REQUEST, Kind::BadRequest),
            Error::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, Kind::TooLarge),
            Error::TooSlow => (StatusCode::REQUEST_TIMEOUT, Kind::TooSlow),
            Error::Busy => (StatusCode::SERVICE_UNAVAILABLE, Kind::Busy),
            Error::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Kind::Internal)
            }
        };
        let mut resp = status.into_response();
        resp.extensions_mut().insert(kind);
        resp
    }
}

/// Outside every route: turns an [`Error`]'s marker into its page, in the
/// language of the request (admin pages in the admin look).
pub async fn pages(req: Request, next: Next) -> Response {
    let explicit = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("lang=").map(str::to_owned))
    });
    let lang = Lang::negotiate(explicit.as_deref(), req.headers());
    let admin = req.uri().path().starts_with("/admin");
    let resp = next.run(req).await;
    match resp.extensions().get::<Kind>().copied() {
        Some(kind) => page(kind, lang, admin),
        None => resp,
    }
}

/// The page of one kind of error.
pub fn page(kind: Kind, lang: Lang, admin: bool) -> Response {
    let t = lang.texts();
    let (status, title, text) = match kind {
        Kind::NotFound => (StatusCode::NOT_FOUND, t.not_found_title, t.not_found_text),
        Kind::Forbidden => (StatusCode::FORBIDDEN, t.forbidden_title, t.forbidden_text),
        Kind::BadRequest => (
            StatusCode::BAD_REQUEST,
            t.bad_request_title,
            t.bad_request_text,
        ),
        Kind::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            t.too_large_title,
            t.too_large_text,
        ),
        Kind::TooSlow => (
            StatusCode::REQUEST_TIMEOUT,
            t.too_slow_title,
            t.too_slow_text,
        ),
        Kind::Busy => {
            let mut page = super::message(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                t.busy_title,
                t.busy_text,
            );
            page.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
            return page;
        }
        Kind::Internal if admin => {
            return crate::web::staff_message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Что-то пошло не так",
                "Попробуйте ещё раз. Если ошибка повторяется, загляните в журнал сервиса.",
            )
        }
        Kind::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            t.error_title,
            t.error_text,
        ),
    };
    if admin {
        crate::web::staff_message(status, title, text)
    } else if status == StatusCode::NOT_FOUND {
        super::message_then(status, lang, title, text, super::Then::EnterCode)
    } else {
        super::message(status, lang, title, text)
    }
}
