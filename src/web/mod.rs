//! Shared HTTP plumbing: security headers, page rendering, friendly error
//! pages, the same-origin check on form posts, and the embedded static files.

pub use crate::i18n::{cookie, lang_cookie};

pub mod error;
pub mod limits;
pub mod metrics;
pub mod nul;
pub mod org;
pub mod serve;
pub mod staff;
pub use staff::staff_message;
pub mod trace;

pub use error::{Error, Result};

use askama::Template;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::i18n::{Lang, Texts};

/// Everything comes from our own origin; no inline script or style.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers every response carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    set(h, "referrer-policy", "no-referrer");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(self), microphone=(), geolocation=()",
    );
    set(h, "cache-control", "no-store");
    resp
}

/// A state-changing request whose `Origin` has another scheme than
/// `server.public_url` (a page on plain http posting to the https site) is
/// refused here, once for every form; the host is compared by `same_origin`.
pub async fn origin_scheme(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let ours = state.public_url.split_once("://").map(|(s, _)| s);
    let theirs = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|o| o.split_once("://").map(|(s, _)| s.to_ascii_lowercase()));
    if let (false, Some(ours), Some(theirs)) = (safe, ours, theirs) {
        if !theirs.eq_ignore_ascii_case(ours) {
            let lang = Lang::negotiate(None, req.headers());
            return error::page(error::Kind::Forbidden, lang, false);
        }
    }
    next.run(req).await
}

/// Over https, browsers are told to stay on https (a year, subdomains too).
pub async fn strict_transport(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .entry("strict-transport-security")
        .or_insert(HeaderValue::from_static(
            "max-age=31536000; includeSubDomains",
        ));
    resp
}

/// Headers larger than this in total get a 431 page: no browser sends that much.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// More header lines than this get the same page.
pub const MAX_HEADERS: usize = 100;

/// Refuses requests whose headers are too large, before any handler runs.
pub async fn limit_headers(req: Request, next: Next) -> Response {
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES || req.headers().len() > MAX_HEADERS {
        let t = Lang::default().texts();
        return message(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Lang::default(),
            t.bad_request_title,
            t.bad_request_text,
        );
    }
    next.run(req).await
}

/// Renders a template; a template error is our bug, logged and shown as a
/// plain error page without details.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

/// A page with a title, a sentence that says what to do, and an optional link.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub lang: Lang,
    pub t: &'static Texts,
    pub title: &'a str,
    pub text: &'a str,
    pub link: Option<(String, &'a str)>,
    /// The organisation's phone, for pages where calling is the way on.
    pub call: Option<(String, String)>,
    pub switch_href: Option<String>,
}

/// What a message page offers next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Nothing but the language switch.
    Nothing,
    /// "Enter a code by hand": the start page.
    EnterCode,
    /// The same page again (after a wait).
    TryAgain,
    /// Call the organisation, when its phone is known.
    Call,
}

/// A page with a title and a sentence; nothing offered next.
pub fn message(status: StatusCode, lang: Lang, title: &str, text: &str) -> Response {
    message_then(status, lang, title, text, Then::Nothing)
}

/// A message page with what fits it next, and the language switch.
pub fn message_then(
    status: StatusCode,
    lang: Lang,
    title: &str,
    text: &str,
    then: Then,
) -> Response {
    let t = lang.texts();
    let link = match then {
        Then::EnterCode => Some(("/".to_owned(), t.enter_code)),
        Then::TryAgain => org::page().map(|p| (p, t.try_again)),
        Then::Nothing | Then::Call => None,
    };
    let call = (then == Then::Call)
        .then(|| org::phone().zip(org::phone_href()))
        .flatten();
    render(
        status,
        &MessagePage {
            lang,
            t,
            title,
            text,
            link,
            call,
            switch_href: org::switch_href(lang.other()),
        },
    )
}

pub async fn not_found(headers: HeaderMap) -> Response {
    error::page(
        error::Kind::NotFound,
        Lang::negotiate(None, &headers),
        false,
    )
}

/// CSRF defence for forms that need no session: the browser tells us where a
/// post came from. A cross-site post is refused; clients that send neither
/// header (curl, old browsers) are not browsers being tricked.
/// The token of an `Authorization: Bearer …` header (the scheme in any case).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// A public form post's first checks: refuses a cross-site post (403), and
/// a body that is not a readable form (413 when too large, 400 otherwise).
pub fn public_form<T>(
    headers: &HeaderMap,
    form: std::result::Result<axum::Form<T>, axum::extract::rejection::FormRejection>,
) -> Result<T> {
    same_origin_or_refuse(headers)?;
    match form {
        Ok(axum::Form(v)) => Ok(v),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Error::TooLarge),
        Err(_) => Err(Error::BadRequest),
    }
}

/// A post that came from another site is refused (403).
pub fn same_origin_or_refuse(headers: &HeaderMap) -> Result<()> {
    same_origin(headers).then_some(()).ok_or(Error::Forbidden)
}

/// A sticker code from the path, parsed once; anything else is the 404 page.
pub struct CodePath(pub crate::domain::codes::Code);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CodePath {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<CodePath> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::NotFound)?;
        crate::domain::codes::Code::parse(&raw)
            .map(CodePath)
            .ok_or(Error::NotFound)
    }
}

const STYLE: &str = include_str!("../../static/style.css");
const SCRIPT: &str = include_str!("../../static/app.js");
const ICON: &str = include_str!("../../static/icon.svg");

/// The one stylesheet and the one script, embedded in the binary. Asked for
/// with this release's `?v=` (as every page links them), they are cached
/// for a year as immutable; otherwise for an hour.
pub async fn static_file(
    Path(name): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let versioned = query.is_some_and(|q| q == format!("v={}", crate::VERSION));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let (body, kind) = match name.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "icon.svg" | "favicon.ico" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response()
}

/// `Set-Cookie` that remembers an explicit language choice for a year.
/// The value of the request's cookie `name`, if it sent one.
/// An open file as a response body, read in 64 KiB pieces as the client
/// takes them: a slow reader holds one piece, not the whole file.
pub fn file_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

pub fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    cookie(headers, name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(same_origin(&h(&[])));
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&h(&[
            ("origin", "http://qr.example.ru"),
            ("host", "qr.example.ru")
        ])));
        assert!(!same_origin(&h(&[
            ("origin", "https://evil.example"),
            ("host", "qr.example.ru")
        ])));
        assert!(!same_origin(&h(&[
            ("origin", "null"),
            ("host", "qr.example.ru")
        ])));
    }
}
