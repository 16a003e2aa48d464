//! The organisation's name and short description (Settings → Кабинет): in
//! the public pages' header, on labels and posters, in mails.
//!
//! Public pages must not cost a database read for it: each instance keeps
//! the last value read (refreshed when saved here and every
//! [`REFRESH`] for changes made through another instance), and a middleware
//! hands it to the templates of the request it serves.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::store::{self, Org};

pub const REFRESH: Duration = Duration::from_secs(30);

tokio::task_local! {
    static CURRENT: Arc<Org>;
}

/// This instance's copy of the organisation: what Settings → Кабинет saved,
/// each empty field taken from `[organisation]`.
#[derive(Debug, Default)]
pub struct OrgCell {
    current: RwLock<Arc<Org>>,
    defaults: crate::config::OrganisationConfig,
}

impl OrgCell {
    pub fn new(defaults: crate::config::OrganisationConfig) -> OrgCell {
        OrgCell {
            current: RwLock::new(Arc::new(Org::default().or(&defaults))),
            defaults,
        }
    }

    pub fn get(&self) -> Arc<Org> {
        self.current.read().expect("org lock").clone()
    }

    /// Takes what was saved (empty fields fall back to the configuration).
    pub fn set(&self, saved: Org) {
        *self.current.write().expect("org lock") = Arc::new(saved.or(&self.defaults));
    }

    pub async fn reload(&self, pool: &store::Pool) -> sqlx::Result<()> {
        self.set(store::org(pool).await?);
        Ok(())
    }
}

/// Makes the organisation visible to the templates rendered for this request.
pub async fn scope(State(state): State<crate::AppState>, req: Request, next: Next) -> Response {
    CURRENT.scope(state.org.get(), next.run(req)).await
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
