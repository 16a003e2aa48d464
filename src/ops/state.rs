//! A task's state was read: what follows from a change (the customer's
//! mail, the followers' "fixed" mail, the `request.status_changed` webhook)
//! is decided here, once, and stored with the state in one transaction.

use serde_json::json;

use crate::domain::kinds::WebhookEvent;
use crate::domain::task::TaskState;
use crate::store::{self, mails, requests, Pool};

/// What a status change sets off besides the webhooks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUps {
    /// Mail the customer who asked for it when the status name changes.
    pub mail_on_change: bool,
}

impl FollowUps {
    /// As the mail settings say.
    pub fn of(mailer: Option<&crate::mail::Mailer>) -> FollowUps {
        FollowUps {
            mail_on_change: mailer.is_some_and(|m| m.status_changes),
        }
    }
}

/// Keeps the task's state as read and queues what its change sets off.
pub async fn save_state(
    pool: &Pool,
    request_id: &str,
    state: &TaskState,
    follow: FollowUps,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let change =
        requests::save_state_in(&mut tx, store::Engine::of(pool), request_id, state, now).await?;
    if change.changed && follow.mail_on_change {
        let new = state.status_name.as_deref().unwrap_or_default();
        mails::queue_status_change(&mut tx, request_id, new, now).await?;
    }
    // Fixed: the followers who asked are told, once.
    if change.became_done {
        mails::queue_fixed_for_followers(&mut tx, request_id, now).await?;
    }
    if change.changed {
        let extra = json!({ "previous_status": change.before });
        requests::emit(&mut tx, WebhookEvent::StatusChanged, request_id, extra, now).await?;
    }
    tx.commit().await?;
    store::memo::changed();
    Ok(())
}
