//! HubEx behind the one [`TaskBackend`] trait: each call handed to the
//! client, the connection check to [`super::check`].

use crate::backend::budget::{CallBudget, Priority};
use crate::backend::{
    BackendError, BoxFuture, CatalogSnapshot, CreatedTask, FileUpload, KnownCatalog, Message,
    NewTask, Progress, TaskBackend, TaskId, TaskState,
};

use super::client::HubexClient;

impl TaskBackend for HubexClient {
    fn call_budget(&self) -> Option<&CallBudget> {
        Some(&self.budget)
    }

    fn observe_calls(&self, observer: crate::backend::CallObserver) {
        let _ = self.observer.set(observer);
    }

    fn create_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<CreatedTask, BackendError>> {
        Box::pin(self.create(task))
    }

    fn find_task<'a>(
        &'a self,
        task: &'a NewTask,
    ) -> BoxFuture<'a, Result<Option<CreatedTask>, BackendError>> {
        Box::pin(self.find(task))
    }

    fn task_state(
        &self,
        id: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<TaskState, BackendError>> {
        Box::pin(self.state(id, priority))
    }

    fn poll_tasks<'a>(
        &'a self,
        tasks: &'a [TaskId],
        changed_since: Option<i64>,
    ) -> BoxFuture<'a, Result<Vec<(TaskId, TaskState)>, BackendError>> {
        Box::pin(self.poll(tasks, changed_since))
    }

    fn upload_attachment<'a>(
        &'a self,
        task: TaskId,
        file: &'a FileUpload,
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(self.upload(task, file))
    }

    fn find_attachment<'a>(
        &'a self,
        task: TaskId,
        file_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>> {
        Box::pin(self.find_file(task, file_name))
    }

    fn conversation(
        &self,
        task: TaskId,
        priority: Priority,
    ) -> BoxFuture<'_, Result<Vec<Message>, BackendError>> {
        Box::pin(self.messages(task, priority))
    }

    fn post_comment<'a>(
        &'a self,
        task: TaskId,
        text: &'a str,
        attachments: &'a [i64],
        external: bool,
    ) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(self.comment(task, text, attachments, external))
    }

    fn find_comment<'a>(
        &'a self,
        task: TaskId,
        marker: &'a str,
    ) -> BoxFuture<'a, Result<Option<i64>, BackendError>> {
        Box::pin(async move {
            let all = self.all_messages(task, Priority::Delivery, true).await?;
            Ok(all
                .into_iter()
                .find(|m| m.text.contains(marker))
                .map(|m| m.id))
        })
    }

    fn reopen(&self, task: TaskId) -> BoxFuture<'_, Result<bool, BackendError>> {
        Box::pin(async move {
            let stage = self.tenant.reopen_stage_id;
            if stage <= 0 {
                return Ok(false);
            }
            self.stage(task, stage).await?;
            Ok(true)
        })
    }

    fn check(
        &self,
        lang: crate::domain::lang::Lang,
        create_test_task: bool,
    ) -> BoxFuture<'_, crate::backend::CheckReport> {
        Box::pin(super::check::run(
            self,
            &self.tenant,
            &self.scope,
            lang,
            create_test_task,
        ))
    }

    fn name(&self) -> &'static str {
        "HubEx"
    }

    fn capabilities(&self) -> crate::backend::Capabilities {
        crate::backend::Capabilities {
            staff_replies: true,
            comments: true,
            reopen: self.tenant.reopen_stage_id > 0,
            synced_catalog: true,
        }
    }

    fn fetch_catalog<'a>(
        &'a self,
        known: &'a KnownCatalog,
        progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<CatalogSnapshot, BackendError>> {
        Box::pin(self.catalog(known, progress))
    }
}
