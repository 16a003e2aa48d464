//! The `send_mail` job: one customer (or follower) e-mail, with the status
//! link opened from its sealed copy.

use super::{Outcome, Worker};
use crate::domain::kinds::MailReason;
use crate::store::{self, catalog as cat, jobs, mails, requests};

impl Worker {
    /// Sends one customer e-mail. The mail server's temporary refusals and lost
    /// connections are retried like any delivery; a permanent refusal (e.g. no
    /// such mailbox) is recorded and not retried.
    pub(super) async fn send_mail(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        let Some(mail) = (match &job.ref_id {
            Some(id) => mails::get(&self.pool, id).await?,
            None => None,
        }) else {
            tracing::error!("mail job without its mail; dropping it");
            return Ok(Outcome::Done);
        };
        if mail.sent_at.is_some() || mail.failed.is_some() {
            return Ok(Outcome::Done);
        }
        let Some(mailer) = &self.mailer else {
            tracing::warn!("e-mail is off now (mail.smtp_url is empty); this mail is not sent");
            mails::mark_failed(&self.pool, &mail.id, "e-mail was switched off").await?;
            return Ok(Outcome::Done);
        };
        let Some(request) = requests::get(&self.pool, &mail.request_id).await? else {
            mails::mark_failed(&self.pool, &mail.id, "the request is gone").await?;
            return Ok(Outcome::Done);
        };
        // A follower's mail goes to the follower, with their own link and
        // language; the others to the requester.
        let (to, sealed, sealed_for, lang) = if mail.kind == MailReason::Fixed {
            let Some(f) = mails::follower_of(&self.pool, &mail.id).await? else {
                mails::mark_failed(&self.pool, &mail.id, "the follower no longer wants mail")
                    .await?;
                return Ok(Outcome::Done);
            };
            let sealed_for = crate::mail::follower_seal_id(&request.id, &f.token_hash);
            (Some(f.email), Some(f.token_sealed), sealed_for, f.lang)
        } else {
            (
                request.contact_email.clone(),
                mails::sealed_link(&self.pool, &request.id).await?,
                request.id.clone(),
                request.lang.clone(),
            )
        };
        let Some(sealed) = sealed else {
            mails::mark_failed(&self.pool, &mail.id, "the request is gone").await?;
            return Ok(Outcome::Done);
        };
        let Some(to) = to else {
            mails::mark_failed(&self.pool, &mail.id, "no e-mail address").await?;
            return Ok(Outcome::Done);
        };
        let Some(token) = mailer.key().open(&sealed_for, &sealed) else {
            tracing::error!(
                "the link key changed since this request; its mail cannot carry the link"
            );
            mails::mark_failed(
                &self.pool,
                &mail.id,
                "the link key (mail.link_key_file) changed",
            )
            .await?;
            return Ok(Outcome::Done);
        };
        let equipment = match request.asset_id {
            Some(id) => cat::asset(&self.pool, id).await?.map(|a| a.name),
            None => None,
        };
        let kind = match (mail.kind, mail.status_name.as_deref()) {
            (MailReason::Status, Some(status)) => crate::mail::MailKind::StatusChanged { status },
            (MailReason::Fixed, _) => crate::mail::MailKind::Fixed,
            (MailReason::Accepted | MailReason::Status, _) => crate::mail::MailKind::Accepted,
        };
        let lang = crate::domain::lang::Lang::parse(&lang).unwrap_or_default();
        let org = self.org.get();
        let composed = crate::mail::compose(
            lang,
            kind,
            &mailer.status_link(&token),
            request.task_number.as_deref(),
            equipment.as_deref(),
            org.name(),
        );
        match mailer.send(&mail.id, &to, &composed).await {
            Ok(()) => {
                mails::mark_sent(&self.pool, &mail.id, store::now_ms()).await?;
                tracing::info!(kind = %mail.kind, "e-mail sent");
                Ok(Outcome::Done)
            }
            Err(crate::mail::SendError::Permanent(reason)) => {
                tracing::warn!(%reason, "the mail server refused the e-mail for good");
                mails::mark_failed(&self.pool, &mail.id, &reason).await?;
                Ok(Outcome::Done)
            }
            Err(crate::mail::SendError::Transient(reason)) => Ok(Outcome::Retry {
                reason: format!("mail server: {reason}"),
                retry_after: None,
            }),
        }
    }
}
