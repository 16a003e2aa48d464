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

/// This instance's copy of the organisation.
#[derive(Debug, Default)]
pub struct OrgCell(RwLock<Arc<Org>>);

impl OrgCell {
    pub fn get(&self) -> Arc<Org> {
        self.0.read().expect("org lock").clone()
    }

    pub fn set(&self, org: Org) {
        *self.0.write().expect("org lock") = Arc::new(org);
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

/// For templates: the short description, if set.
pub fn description() -> Option<String> {
    CURRENT
        .try_with(|o| (!o.description.is_empty()).then(|| o.description.clone()))
        .ok()
        .flatten()
}
