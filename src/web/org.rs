//! The organisation's name and short description (Settings → Кабинет): in
//! the public pages' header, on labels and posters, in mails.
//!
//! Public pages must not cost a database read for it: each instance keeps
//! the last value read (refreshed when saved here and every
//! [`REFRESH`] for changes made through another instance), and a middleware
//! hands it to the templates of the request it serves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::store::Org;

tokio::task_local! {
    static CURRENT: Arc<Org>;
    /// The page being answered, as a GET address (for the language switch of
    /// pages that know nothing else of the request, such as messages).
    static PAGE: String;
}

pub use crate::store::org::{OrgCell, REFRESH};

/// Makes the organisation (and the page's address) visible to the
/// templates rendered for this request.
pub async fn scope(State(state): State<crate::AppState>, req: Request, next: Next) -> Response {
    let page = page_address(req.method(), req.uri());
    CURRENT
        .scope(state.org.get(), PAGE.scope(page, next.run(req)))
        .await
}

/// What a GET of this page is: a post's answer switches language on the page
/// the form was on (`/q/X/same` → `/q/X`); the `lang` parameter is dropped.
fn page_address(method: &axum::http::Method, uri: &axum::http::Uri) -> String {
    let mut path = uri.path();
    if method != axum::http::Method::GET {
        for tail in ["/same", "/comment", "/feedback"] {
            path = path.strip_suffix(tail).unwrap_or(path);
        }
        return path.to_owned();
    }
    crate::i18n::without_lang(uri)
}

/// The page's address in `lang` (outside a request: none).
pub fn switch_href(lang: crate::i18n::Lang) -> Option<String> {
    PAGE.try_with(|p| {
        let sep = if p.contains('?') { '&' } else { '?' };
        format!("{p}{sep}lang={}", lang.code())
    })
    .ok()
}

/// The page being answered, as a GET address.
pub fn page() -> Option<String> {
    PAGE.try_with(Clone::clone).ok()
}

/// For templates: the organisation's name, if set (outside a request: none).
pub fn name() -> Option<String> {
    CURRENT
        .try_with(|o| (!o.name.is_empty()).then(|| o.name.clone()))
        .ok()
        .flatten()
}

/// For templates: the contact phone, if set.
pub fn phone() -> Option<String> {
    CURRENT
        .try_with(|o| (!o.phone.is_empty()).then(|| o.phone.clone()))
        .ok()
        .flatten()
}

/// For templates: the phone as a `tel:` target (digits and a leading +).
pub fn phone_href() -> Option<String> {
    phone().map(|p| {
        p.chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    })
}

/// For templates: the privacy policy's address, if set.
pub fn privacy_url() -> Option<String> {
    CURRENT
        .try_with(|o| (!o.privacy_url.is_empty()).then(|| o.privacy_url.clone()))
        .ok()
        .flatten()
}

/// For templates: the short description, if set.
pub fn description() -> Option<String> {
    CURRENT
        .try_with(|o| (!o.description.is_empty()).then(|| o.description.clone()))
        .ok()
        .flatten()
}
