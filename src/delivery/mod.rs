//! The delivery worker: takes jobs from the outbox and carries them out against
//! the task system, retrying what may succeed later and never doing the same
//! thing twice.
//!
//! A `create_task` job hands the backend qrdesk's request with its UUID as the
//! idempotency stamp and a reference the backend stores with the task (HubEx:
//! `erpID` and the notes; Bitrix24: `XML_ID` and the description; EvaTeam: the
//! text). After an attempt whose outcome is unknown (timeout, dropped
//! connection, 409 on the stamp) the worker looks the task up by that
//! reference before creating anything.

mod mail;
pub mod retry;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::backend::{
    BackendError, CreatedTask, FileUpload, NewTask, Priority, TaskAsset, TaskBackend,
};
use crate::config::DeliveryConfig;
use crate::ops::state::FollowUps;
use crate::store::{
    self, attachments, catalog as cat, comments, jobs, requests, CommentKind, JobKind, Pool,
    RequestStatus,
};
use retry::RetryPolicy;

/// Shared between the worker and the rest of the app.
#[derive(Clone)]
pub struct WorkerHandle {
    /// Wakes the worker when a job was just written.
    pub wake: Arc<Notify>,
    /// When the worker loop last went round, for `/readyz`.
    pub heartbeat: Arc<AtomicI64>,
}

impl Default for WorkerHandle {
    fn default() -> Self {
        WorkerHandle {
            wake: Arc::new(Notify::new()),
            heartbeat: Arc::new(AtomicI64::new(store::now_ms())),
        }
    }
}

impl WorkerHandle {
    /// Alive if the loop went round recently (it does at least every poll).
    pub fn is_alive(&self, poll: Duration) -> bool {
        let age = store::now_ms() - self.heartbeat.load(Ordering::Relaxed);
        age < (poll.as_millis() as i64 * 5).max(10_000)
    }
}

#[derive(Clone)]
pub struct Worker {
    pub metrics: crate::metrics::SharedMetrics,
    pub pool: Pool,
    pub backend: Arc<dyn TaskBackend>,
    pub delivery: DeliveryConfig,
    pub owner: String,
    pub handle: WorkerHandle,
    pub blobs: crate::media::BlobStore,
    /// Sends customer e-mail; `None` when mail is off.
    pub mailer: Option<crate::mail::Mailer>,
    pub webhooks: crate::webhooks::Sender,
    pub webhook_config: crate::config::WebhooksConfig,
    /// The organisation's name, written under every mail.
    pub org: Arc<crate::store::org::OrgCell>,
}

enum Outcome {
    Done,
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Again after exactly this long (a schedule of its own, not the backoff).
    Later {
        reason: String,
        delay: Duration,
    },
}

impl Worker {
    fn follow_ups(&self) -> FollowUps {
        FollowUps::of(self.mailer.as_ref())
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(self.delivery.base_delay_ms),
            max: Duration::from_secs(self.delivery.max_delay_secs),
        }
    }

    /// Runs until `shutdown` turns true, then waits for jobs in flight and
    /// hands back whatever this worker still holds.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.delivery.concurrency as usize));
        let mut in_flight = JoinSet::new();
        let poll = Duration::from_millis(self.delivery.poll_ms.max(10));
        tracing::info!(owner = %self.owner, "delivery worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.handle
                .heartbeat
                .store(store::now_ms(), Ordering::Relaxed);
            while in_flight.try_join_next().is_some() {}
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p.expect("semaphore open"),
                _ = shutdown.changed() => break,
            };
            let lease_ms = (self.delivery.lease_secs * 1000) as i64;
            match jobs::claim(&self.pool, &self.owner, lease_ms, store::now_ms()).await {
                Ok(Some(job)) => {
                    let worker = self.clone();
                    in_flight.spawn(async move {
                        worker.handle_job(job).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        _ = self.handle.wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.changed() => break,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %e, "cannot claim jobs");
                    tokio::time::sleep(poll).await;
                }
            }
        }
        let grace = Duration::from_secs(self.delivery.lease_secs.min(30));
        if tokio::time::timeout(grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            in_flight.abort_all();
        }
        match jobs::release_all(&self.pool, &self.owner).await {
            Ok(n) => tracing::info!(released = n, "delivery worker stopped"),
            Err(e) => {
                tracing::error!(error = %e, "cannot release claims; they expire with their lease")
            }
        }
    }

    async fn handle_job(&self, job: jobs::Job) {
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, request = %job.request_id, attempt = job.attempts, trace = job.trace_id.as_deref().unwrap_or(""));
        let trace = job.trace_id.clone();
        crate::trace::scope(trace, self.handle_job_inner(job).instrument(span)).await
    }

    async fn handle_job_inner(&self, job: jobs::Job) {
        let outcome = match job.kind {
            JobKind::CreateTask => self.create_task(&job).await,
            JobKind::UploadAttachment => self.upload_attachment(&job).await,
            JobKind::PostComment => self.post_comment(&job).await,
            JobKind::PostNote => self.post_note(&job).await,
            JobKind::SendMail => self.send_mail(&job).await,
            JobKind::DeliverWebhook => self.deliver_webhook(&job).await,
        };
        let result = match outcome {
            Ok(Outcome::Done) => jobs::finish(&self.pool, job.id, &self.owner)
                .await
                .map(|_| ()),
            Ok(Outcome::Retry {
                reason,
                retry_after,
            }) => {
                let delay = self
                    .policy()
                    .delay(job.attempts as u32, retry_after, retry::jitter());
                tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "delivery will be retried");
                let at = store::now_ms() + delay.as_millis() as i64;
                jobs::retry_at(&self.pool, job.id, &self.owner, at, &reason).await
            }
            Ok(Outcome::Later { reason, delay }) => {
                tracing::info!(%reason, retry_in_ms = delay.as_millis() as u64, "will be tried again");
                let at = store::now_ms() + delay.as_millis() as i64;
                jobs::retry_at(&self.pool, job.id, &self.owner, at, &reason).await
            }
            Err(e) => {
                // Our own database failed; the lease runs out and the job comes back.
                tracing::error!(error = %e, "job failed locally");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record the job's outcome; it will run again after its lease");
        }
    }

    async fn create_task(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        let Some(request) = requests::get(&self.pool, &job.request_id).await? else {
            tracing::error!("request vanished; dropping its job");
            return Ok(Outcome::Done);
        };
        if matches!(
            request.status,
            RequestStatus::Delivered | RequestStatus::Failed
        ) {
            return Ok(Outcome::Done);
        }
        let now = store::now_ms();
        requests::mark_delivering(&self.pool, &request.id, now).await?;
        let reference = reference(&request.id);
        let task = self.new_task(&request, &reference).await?;

        // A previous attempt may have created the task without us hearing back.
        if job.attempts > 1 {
            match self.backend.find_task(&task).await {
                Ok(Some(found)) => return self.delivered(&request, found).await,
                Ok(None) => {}
                Err(e) => return Ok(retry_outcome(e)),
            }
        }

        match self.backend.create_task(&task).await {
            Ok(created) => self.delivered(&request, created).await,
            Err(BackendError::DuplicateStamp) => match self.backend.find_task(&task).await {
                Ok(Some(found)) => self.delivered(&request, found).await,
                Ok(None) => Ok(Outcome::Retry {
                    reason: format!("{} says this request was already sent, but no task with reference {reference} is visible yet", self.backend.name()),
                    retry_after: None,
                }),
                Err(e) => Ok(retry_outcome(e)),
            },
            Err(BackendError::Permanent { reason }) => {
                tracing::error!(%reason, backend = self.backend.name(), "the task system refused the task; the request is marked failed");
                requests::mark_failed(&self.pool, &request.id, &reason, store::now_ms()).await?;
                Ok(Outcome::Done)
            }
            Err(e) => Ok(retry_outcome(e)),
        }
    }

    /// Attaches one photo to the task. The file is named after the attachment's
    /// UUID, so after an unknown outcome the retry finds it instead of sending
    /// it again.
    async fn upload_attachment(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        let found = match &job.ref_id {
            Some(id) => attachments::get(&self.pool, id).await?,
            None => None,
        };
        let Some(attachment) = found else {
            tracing::error!("upload job without its attachment; dropping it");
            return Ok(Outcome::Done);
        };
        let task = match self.task_of(&job.request_id).await? {
            Ok(task) => task,
            Err(retry) => return Ok(retry),
        };
        Ok(
            match self
                .ensure_uploaded(task, &attachment, job.attempts > 1)
                .await?
            {
                Ok(_) | Err(None) => Outcome::Done,
                Err(Some(retry)) => retry,
            },
        )
    }

    /// The task system's id for a photo, uploading it unless it is there
    /// already. `Err(None)`: it cannot ever be sent; `Err(Some(_))`: try later.
    async fn ensure_uploaded(
        &self,
        task: crate::backend::TaskId,
        attachment: &attachments::AttachmentRecord,
        outcome_unknown: bool,
    ) -> anyhow::Result<Result<i64, Option<Outcome>>> {
        if let Some(id) = attachment.backend_id {
            return Ok(Ok(id));
        }
        let file_name = format!("qrdesk-{}.jpg", attachment.id);
        if outcome_unknown {
            match self.backend.find_attachment(task, &file_name).await {
                Ok(Some(id)) => {
                    attachments::mark_uploaded(&self.pool, &attachment.id, id, store::now_ms())
                        .await?;
                    return Ok(Ok(id));
                }
                Ok(None) => {}
                Err(e) => return Ok(Err(Some(retry_outcome(e)))),
            }
        }
        let bytes = match self.blobs.get(&attachment.sha256).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, attachment = %attachment.id, "photo file is missing; it cannot be sent");
                return Ok(Err(None));
            }
        };
        let upload = FileUpload {
            file_name,
            mime: attachment.mime.clone(),
            bytes,
        };
        match self.backend.upload_attachment(task, &upload).await {
            Ok(id) => {
                attachments::mark_uploaded(&self.pool, &attachment.id, id, store::now_ms()).await?;
                tracing::info!(attachment = %attachment.id, backend_id = id, "photo attached");
                Ok(Ok(id))
            }
            Err(BackendError::Permanent { reason }) => {
                tracing::error!(%reason, attachment = %attachment.id, "the task system refused the photo");
                Ok(Err(None))
            }
            Err(e) => Ok(Err(Some(retry_outcome(e)))),
        }
    }

    /// Posts the customer's comment (with its photos) to the task's external
    /// conversation. A marker with the comment's id lets a retry find a
    /// comment that was posted without us hearing back.
    async fn post_comment(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        let found = match &job.ref_id {
            Some(id) => comments::get(&self.pool, id).await?,
            None => None,
        };
        let Some(comment) = found else {
            tracing::error!("comment job without its comment; dropping it");
            return Ok(Outcome::Done);
        };
        if comment.posted_at.is_some() {
            return Ok(Outcome::Done);
        }
        let task = match self.task_of(&job.request_id).await? {
            Ok(task) => task,
            Err(retry) => return Ok(retry),
        };
        let marker = comment_marker(&comment.id);
        match self.posted_before(task, &marker, job).await {
            Ok(Some(id)) => {
                comments::mark_posted(&self.pool, &comment.id, id, store::now_ms()).await?;
                return Ok(Outcome::Done);
            }
            Ok(None) => {}
            Err(retry) => return Ok(retry),
        }
        let mut ids = Vec::new();
        for attachment in attachments::for_comment(&self.pool, &comment.id).await? {
            match self
                .ensure_uploaded(task, &attachment, job.attempts > 1)
                .await?
            {
                Ok(id) => ids.push(id),
                Err(None) => {}
                Err(Some(retry)) => return Ok(retry),
            }
        }
        if comment.kind == CommentKind::NotFixed {
            if let Err(e) = self.backend.reopen(task).await {
                return Ok(retry_outcome(e));
            }
        }
        let text = format!("{}\n\n{marker}", comment.text);
        match self.backend.post_comment(task, &text, &ids, true).await {
            Ok(id) => {
                comments::mark_posted(&self.pool, &comment.id, id, store::now_ms()).await?;
                let _ = refresh(
                    &self.pool,
                    self.backend.as_ref(),
                    &job.request_id,
                    task,
                    self.follow_ups(),
                )
                .await;
                Ok(Outcome::Done)
            }
            Err(BackendError::Permanent { reason }) => {
                tracing::error!(%reason, backend = self.backend.name(), "the task system refused the comment");
                Ok(Outcome::Done)
            }
            Err(e) => Ok(retry_outcome(e)),
        }
    }

    /// The task of a request, or a retry while it has none yet.
    async fn task_of(
        &self,
        request_id: &str,
    ) -> anyhow::Result<Result<crate::backend::TaskId, Outcome>> {
        Ok(
            match requests::get(&self.pool, request_id)
                .await?
                .and_then(|r| r.task_id)
            {
                Some(task) => Ok(task),
                None => Err(Outcome::Retry {
                    reason: "the task does not exist yet".into(),
                    retry_after: None,
                }),
            },
        )
    }

    /// After an attempt whose outcome is unknown: the id of the comment
    /// already posted with `marker`, if it is there.
    async fn posted_before(
        &self,
        task: crate::backend::TaskId,
        marker: &str,
        job: &jobs::Job,
    ) -> Result<Option<i64>, Outcome> {
        if job.attempts <= 1 {
            return Ok(None);
        }
        self.backend
            .find_comment(task, marker)
            .await
            .map_err(retry_outcome)
    }

    /// Posts a note for staff to the task's team chat (never the customer's).
    async fn post_note(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        let found = match &job.ref_id {
            Some(id) => comments::note(&self.pool, id).await?,
            None => None,
        };
        let Some(note) = found.filter(|n| n.posted_at.is_none()) else {
            return Ok(Outcome::Done);
        };
        let task = match self.task_of(&note.request_id).await? {
            Ok(task) => task,
            Err(retry) => return Ok(retry),
        };
        let marker = comment_marker(&note.id);
        match self.posted_before(task, &marker, job).await {
            Ok(Some(id)) => {
                comments::mark_note_posted(&self.pool, &note.id, id, store::now_ms()).await?;
                return Ok(Outcome::Done);
            }
            Ok(None) => {}
            Err(retry) => return Ok(retry),
        }
        let text = format!("{}\n\n{marker}", note.text);
        match self.backend.post_comment(task, &text, &[], false).await {
            Ok(id) => {
                comments::mark_note_posted(&self.pool, &note.id, id, store::now_ms()).await?;
                Ok(Outcome::Done)
            }
            Err(BackendError::Permanent { reason }) => {
                tracing::error!(%reason, "the task system refused the staff note");
                Ok(Outcome::Done)
            }
            Err(e) => Ok(retry_outcome(e)),
        }
    }

    /// One attempt of a webhook delivery: 2xx delivers, 410 switches the
    /// endpoint off, anything else is tried again on the schedule (a 429 or
    /// 503 not before its `Retry-After`) until the schedule ends or the
    /// endpoint has been failing for `disable_after_hours`.
    async fn deliver_webhook(&self, job: &jobs::Job) -> anyhow::Result<Outcome> {
        use crate::store::{webhooks as hooks, DeliveryState};
        let Some(delivery) =
            hooks::delivery(&self.pool, job.ref_id.as_deref().unwrap_or_default()).await?
        else {
            return Ok(Outcome::Done);
        };
        let endpoint = match hooks::get(&self.pool, delivery.webhook_id).await? {
            Some(e) if e.is_active() => e,
            _ => {
                tracing::info!("endpoint removed or switched off; delivery dropped");
                return Ok(Outcome::Done);
            }
        };
        let now = store::now_ms();
        let answer = self
            .webhooks
            .send(
                &endpoint.url,
                &endpoint.secret,
                &delivery.id,
                now / 1000,
                &delivery.body,
            )
            .await;
        let ok = answer.status.is_some_and(|s| (200..300).contains(&s));
        let gone = answer.status == Some(410);
        let delays = &self.webhook_config.retry_delays_secs;
        let next = delays.get(job.attempts.max(1) as usize - 1).copied();
        let state = match (ok, gone, next) {
            (true, _, _) => DeliveryState::Delivered,
            (_, true, _) | (_, _, None) => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        };
        let attempt = hooks::Attempt {
            delivery_id: &delivery.id,
            webhook_id: endpoint.id,
            status: answer.status,
            duration_ms: answer.took.as_millis() as i64,
            error: answer.error.as_deref(),
            state,
        };
        let now = store::now_ms();
        let failing_since = hooks::record_attempt(&self.pool, &attempt, now).await?;
        let what = answer.status.map_or_else(
            || answer.error.clone().unwrap_or_default(),
            |s| format!("HTTP {s}"),
        );
        if ok {
            self.metrics.webhook("delivered");
            tracing::info!(webhook = endpoint.id, event = %delivery.event, "webhook delivered");
            return Ok(Outcome::Done);
        }
        if gone {
            self.metrics.webhook("gone");
            tracing::warn!(
                webhook = endpoint.id,
                "receiver answered 410 Gone; endpoint switched off"
            );
            hooks::disable(&self.pool, endpoint.id, "Получатель ответил 410 Gone", now).await?;
            return Ok(Outcome::Done);
        }
        let limit_ms = self.webhook_config.disable_after_hours as i64 * 3_600_000;
        if failing_since.is_some_and(|since| now - since >= limit_ms) {
            self.metrics.webhook("failed");
            tracing::warn!(
                webhook = endpoint.id,
                "endpoint failing for too long; switched off"
            );
            let reason = format!(
                "Получатель не принимает доставки больше {} ч (последний ответ: {what})",
                self.webhook_config.disable_after_hours
            );
            hooks::disable(&self.pool, endpoint.id, &reason, now).await?;
            return Ok(Outcome::Done);
        }
        match next {
            None => {
                self.metrics.webhook("failed");
                tracing::warn!(webhook = endpoint.id, %what, "webhook delivery failed for good");
                Ok(Outcome::Done)
            }
            Some(secs) => {
                self.metrics.webhook("retry");
                let delay = Duration::from_secs(secs).max(answer.retry_after.unwrap_or_default());
                Ok(Outcome::Later {
                    reason: what,
                    delay,
                })
            }
        }
    }

    async fn delivered(
        &self,
        request: &requests::RequestRecord,
        task: CreatedTask,
    ) -> anyhow::Result<Outcome> {
        let request_id = request.id.as_str();
        let now = store::now_ms();
        requests::mark_delivered(&self.pool, request_id, &task, now).await?;
        self.metrics.delivered_after(now - request.created_at);
        tracing::info!(task = %task.id, number = task.number.as_deref().unwrap_or(""), "task created");
        // One call a delivery: the state comes with the create answer where
        // the task system gives it; otherwise the next poll round or page
        // view reads it. A new task has no conversation to read.
        if let Some(state) = &task.state {
            if let Err(e) =
                crate::ops::state::save_state(&self.pool, request_id, state, self.follow_ups(), now)
                    .await
            {
                tracing::warn!(error = %e, "cannot keep the new task's state");
            }
        }
        Ok(Outcome::Done)
    }

    async fn new_task(
        &self,
        r: &requests::RequestRecord,
        reference: &str,
    ) -> anyhow::Result<NewTask> {
        let asset = match r.asset_id {
            Some(id) => cat::asset(&self.pool, id).await?,
            None => None,
        };
        let location = match r.location_id {
            Some(id) => cat::location(&self.pool, id).await?,
            None => None,
        };
        let address = asset
            .as_ref()
            .and_then(|a| a.address.clone())
            .or(location.map(|l| l.address));
        Ok(NewTask {
            stamp: uuid::Uuid::parse_str(&r.id)?,
            reference: reference.to_owned(),
            created_at: r.created_at,
            description: r.description.clone(),
            location_id: r.location_id.or(asset.as_ref().and_then(|a| a.location_id)),
            company_id: r.company_id.or(asset.as_ref().and_then(|a| a.company_id)),
            asset: asset.map(|a| TaskAsset {
                id: a.id,
                name: a.name,
                serial_number: a.serial_number,
                inventory_number: a.inventory_number,
            }),
            address,
            contact_name: r.contact_name.clone(),
            contact_phone: r.contact_phone.clone(),
            contact_email: r.contact_email.clone(),
            code: r.code.clone(),
        })
    }
}

fn retry_outcome(e: BackendError) -> Outcome {
    match e {
        BackendError::Transient {
            reason,
            retry_after,
        } => Outcome::Retry {
            reason,
            retry_after,
        },
        other => Outcome::Retry {
            reason: other.to_string(),
            retry_after: None,
        },
    }
}

pub use crate::domain::marker::{comment_marker, is_ours};

/// Reads the task's status, and its conversation when the task moved since
/// the last read, and keeps a copy, which the status page shows when the
/// task system is slow or down.
pub async fn refresh(
    pool: &Pool,
    backend: &dyn TaskBackend,
    request_id: &str,
    task: crate::backend::TaskId,
    follow: FollowUps,
) -> anyhow::Result<()> {
    let state = backend.task_state(task, Priority::View).await?;
    // The conversation first, then the state that marks the change as read.
    if requests::has_moved(pool, request_id, &state).await? {
        let messages = backend.conversation(task, Priority::View).await?;
        comments::save_messages(pool, request_id, &messages).await?;
    }
    crate::ops::state::save_state(pool, request_id, &state, follow, store::now_ms()).await?;
    Ok(())
}

/// The external reference of a request, stored in the task's `erpID` and notes.
pub fn reference(request_id: &str) -> String {
    format!("qrdesk-{request_id}")
}

/// Removes the files of photos delivered more than `keep` ago; returns how many.
pub async fn sweep_photos(
    pool: &Pool,
    blobs: &crate::media::BlobStore,
    keep: Duration,
) -> anyhow::Result<usize> {
    let before = store::now_ms() - keep.as_millis() as i64;
    let expired = attachments::expired_blobs(pool, before).await?;
    let n = expired.len();
    for sha in expired {
        blobs.remove(&sha).await?;
        attachments::mark_removed(pool, &sha, store::now_ms()).await?;
    }
    Ok(n)
}

/// Every hour: erases customers' contact data `contacts_keep` after their
/// task was closed, and removes the files of photos delivered more than
/// `keep` ago.
pub fn spawn_retention(
    pool: Pool,
    blobs: crate::media::BlobStore,
    keep: Duration,
    contacts_keep: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let contacts_before = store::now_ms() - contacts_keep.as_millis() as i64;
            let contacts = async {
                Ok(
                    requests::erase_contacts_closed_before(&pool, contacts_before, store::now_ms())
                        .await?,
                )
            };
            retention_sweep(
                &pool,
                "contact retention",
                "contact data of closed requests erased",
                contacts,
            )
            .await;
            let photos = async { Ok(sweep_photos(&pool, &blobs, keep).await? as u64) };
            retention_sweep(
                &pool,
                "photo retention",
                "delivered photos past retention removed",
                photos,
            )
            .await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// Runs one sweep on one instance at a time and logs what it did.
async fn retention_sweep(
    pool: &Pool,
    name: &str,
    done: &str,
    work: impl std::future::Future<Output = anyhow::Result<u64>>,
) {
    match store::shared::once_at_a_time(pool, name, work).await {
        Ok(None | Some(Ok(0))) => {}
        Ok(Some(Ok(n))) => tracing::info!(sweep = name, count = n, "{done}"),
        Ok(Some(Err(e))) => {
            tracing::warn!(sweep = name, error = %format!("{e:#}"), "sweep failed; next in an hour")
        }
        Err(e) => tracing::warn!(sweep = name, error = %e, "sweep failed; next in an hour"),
    }
}

/// How far a poll's "changed since" reaches back before the previous round
/// began, so clocks that disagree a little lose no change.
const POLL_OVERLAP_MS: i64 = 5 * 60 * 1000;
/// Every open task is read by id at least this often, whatever the change list says.
const FULL_POLL_EVERY_MS: i64 = 3600 * 1000;

/// What one poll round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollRound {
    pub open: usize,
    /// Tasks whose state the task system returned.
    pub read: usize,
    /// Tasks that moved, whose conversation was read.
    pub moved: usize,
}

/// One round of status polling. With `since` (Unix ms) only what changed
/// since then is read, in one paged list read, plus tasks never read;
/// without, every open task by id in bulk. A task that moved gets its
/// conversation read, so a staff reply reaches the status page in this round.
pub async fn poll_round(
    pool: &Pool,
    backend: &dyn TaskBackend,
    since: Option<i64>,
    follow: FollowUps,
) -> anyhow::Result<PollRound> {
    let started = store::now_ms();
    let open = requests::open_tasks(pool).await?;
    let mut round = PollRound {
        open: open.len(),
        ..Default::default()
    };
    if open.is_empty() {
        return Ok(round);
    }
    let mut by_task: std::collections::HashMap<crate::backend::TaskId, Vec<&str>> =
        std::collections::HashMap::new();
    for o in &open {
        by_task.entry(o.task_id).or_default().push(&o.request_id);
    }
    let all: Vec<_> = by_task.keys().copied().collect();
    let mut states = backend.poll_tasks(&all, since).await?;
    if since.is_some() {
        let never: Vec<_> = open
            .iter()
            .filter(|o| o.status_checked_at.is_none())
            .map(|o| o.task_id)
            .filter(|t| !states.iter().any(|(s, _)| s == t))
            .collect();
        if !never.is_empty() {
            states.extend(backend.poll_tasks(&never, None).await?);
        }
    }
    for (task, state) in states {
        let Some(request_ids) = by_task.get(&task) else {
            continue;
        };
        round.read += 1;
        let mut moved = false;
        for id in request_ids {
            moved |= requests::has_moved(pool, id, &state).await?;
        }
        // As for a page view: the conversation before the state.
        if moved {
            round.moved += 1;
            let messages = backend.conversation(task, Priority::Background).await?;
            for id in request_ids {
                comments::save_messages(pool, id, &messages).await?;
            }
        }
        for id in request_ids {
            crate::ops::state::save_state(pool, id, &state, follow, store::now_ms()).await?;
        }
    }
    // Every change since `since` was read, so the rest is current too.
    let ids: Vec<String> = open.into_iter().map(|o| o.request_id).collect();
    requests::mark_checked(pool, &ids, started).await?;
    Ok(round)
}

/// Refreshes the status of open tasks every `interval`: changes since the
/// last round in bulk, every open task by id at this instance's first round
/// and once an hour. One instance polls at a time; where the last round got
/// to is kept in the database, so whichever instance polls next goes on from
/// there.
pub fn spawn_status_poller(
    pool: Pool,
    backend: Arc<dyn TaskBackend>,
    interval: Duration,
    follow: FollowUps,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = true;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            let round = async {
                let setting = |key| {
                    let pool = pool.clone();
                    async move {
                        let v = store::get_setting(&pool, key).await?;
                        Ok::<_, sqlx::Error>(v.and_then(|v| v.parse::<i64>().ok()))
                    }
                };
                let last_round = setting(POLL_ROUND_KEY).await?;
                let last_full = setting(POLL_FULL_KEY).await?.unwrap_or(0);
                let started = store::now_ms();
                let full = first || started - last_full >= FULL_POLL_EVERY_MS;
                let since = last_round.filter(|_| !full).map(|t| t - POLL_OVERLAP_MS);
                let round = poll_round(&pool, backend.as_ref(), since, follow).await?;
                store::set_setting(&pool, POLL_ROUND_KEY, &started.to_string()).await?;
                if since.is_none() {
                    store::set_setting(&pool, POLL_FULL_KEY, &started.to_string()).await?;
                }
                Ok::<_, anyhow::Error>((round, since.is_none()))
            };
            match store::shared::once_at_a_time(&pool, "status poll", round).await {
                // Another instance is polling: its round serves everyone.
                Ok(None) => {}
                Ok(Some(Ok((round, full)))) => {
                    tracing::debug!(?round, full, "status poll round");
                    first = false;
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %format!("{e:#}"), "status poll failed; will try next round");
                }
                Err(e) => tracing::warn!(error = %e, "status poll failed; will try next round"),
            }
        }
    })
}

/// Where the last status poll round began, and the last full one (Unix ms).
const POLL_ROUND_KEY: &str = "status_poll_round_at";
const POLL_FULL_KEY: &str = "status_poll_full_at";
