//! This instance's copy of the organisation's details, refreshed when saved
//! and every [`REFRESH`] for changes made through another instance.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::Org;

pub const REFRESH: Duration = Duration::from_secs(30);

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

    pub async fn reload(&self, pool: &super::Pool) -> sqlx::Result<()> {
        self.set(super::org(pool).await?);
        Ok(())
    }
}
