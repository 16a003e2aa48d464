//! The one error type of the HTTP edge. Handlers return
//! `Result<Response, Error>` and use `?`; what the person sees is decided
//! here, never by the text of an internal error.
//!
//! An error's page needs the request's language (and, under `/admin`, the
//! admin look), which a response alone does not know: [`Error::into_response`]
//! leaves a marker and [`pages`], outside every route, renders the page.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::i18n::Lang;

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
    /// Come back after `wait`.
    #[error("too many requests")]
    TooMany { wait: Duration },
    /// The input had problems the page explains: a finished page, usually the
    /// form again with a message at each field and everything typed kept.
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
    TooMany(u64),
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
            Error::TooMany { wait } => (
                StatusCode::TOO_MANY_REQUESTS,
                Kind::TooMany(wait.as_secs().max(1)),
            ),
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
        Kind::TooMany(secs) => {
            let mut r = super::limits::too_many(lang, Duration::from_secs(secs), false);
            r.headers_mut().insert(header::RETRY_AFTER, secs.into());
            return r;
        }
        Kind::Internal if admin => {
            return crate::admin::message(
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
        crate::admin::message(status, title, text)
    } else {
        super::message(status, lang, title, text)
    }
}
