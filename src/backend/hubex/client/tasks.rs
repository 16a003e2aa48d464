//! Tasks in bulk for [`HubexClient`]: status polling by changes or by
//! repeated ids, and the bounded lookup after an unknown create outcome.

use super::*;

impl HubexClient {
    /// Finds the task of an unknown create outcome. Narrowed by documented
    /// filters, newest first, paged with `Range` and bounded; the match is
    /// checked here, because HubEx ignores a filter it does not honour.
    pub(in crate::backend::hubex) async fn find(
        &self,
        task: &NewTask,
    ) -> Result<Option<CreatedTask>, BackendError> {
        let reference = task.reference.as_str();
        let mut query = vec![
            ("erpID", reference.to_owned()),
            ("isDeleted", "false".to_owned()),
            (
                "creationFrom",
                wire::format_time(task.created_at - CLOCK_SLACK_MS),
            ),
            ("orderBy", "1".to_owned()),
            ("sortDirection", "2".to_owned()),
        ];
        if let Some(asset) = task.asset.as_ref().map(|a| a.id) {
            query.push(("assetID", asset.to_string()));
        }
        let mut found: Vec<CreatedTask> = Vec::new();
        self.list_each::<wire::TaskInfo>(
            "/WORK/Tasks",
            &query,
            Priority::Delivery,
            &self.surprises,
            FIND_MAX_PAGES,
            |id, t| {
                let ours = t.erp_id.as_deref() == Some(reference)
                    || t.notes.as_deref().is_some_and(|n| n.contains(reference));
                if let (true, Some(id)) = (ours, id) {
                    found.push(CreatedTask {
                        id: TaskId(id),
                        number: t.number,
                        state: None,
                    });
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )
        .await?;
        found.sort_by_key(|t| t.id);
        Ok(found.into_iter().next())
    }

    /// Status of many tasks: what changed since `since` in one paged list
    /// read, or by repeated `taskID=` in reads of [`IDS_PER_READ`] ids.
    pub(in crate::backend::hubex) async fn poll(
        &self,
        tasks: &[TaskId],
        since: Option<i64>,
    ) -> Result<Vec<(TaskId, TaskState)>, BackendError> {
        let sx = Surprises::default();
        let want: HashSet<i64> = tasks.iter().map(|t| t.0).collect();
        if let (Some(since), false) = (since, self.ignores_modified_filter.load(Ordering::Relaxed))
        {
            let mut out = Vec::new();
            let mut ignored = false;
            let end = self
                .list_each::<wire::TaskInfo>(
                    "/WORK/Tasks",
                    &[
                        ("lastModifiedFrom", wire::format_time(since)),
                        ("isDeleted", "false".to_owned()),
                    ],
                    Priority::Background,
                    &sx,
                    POLL_MAX_PAGES,
                    |id, t| {
                        let modified = t.last_modified.as_deref().and_then(wire::parse_time);
                        // An item changed before `since` means the filter was not honoured.
                        if modified.is_some_and(|m| m < since - 1000) {
                            ignored = true;
                            return ControlFlow::Break(());
                        }
                        if let Some(id) = id.filter(|id| want.contains(id)) {
                            out.push((TaskId(id), task_state(t)));
                        }
                        ControlFlow::Continue(())
                    },
                )
                .await?;
            let too_many = end.pages >= POLL_MAX_PAGES;
            if !ignored && !too_many {
                sx.log_summary("status poll");
                return Ok(out);
            }
            if ignored {
                tracing::warn!("HubEx ignores lastModifiedFrom on GET /WORK/Tasks; polling by taskID from now on");
                self.ignores_modified_filter.store(true, Ordering::Relaxed);
            }
        }
        let mut out = Vec::new();
        for chunk in tasks.chunks(IDS_PER_READ) {
            if self.ignores_task_filter.load(Ordering::Relaxed) {
                for id in chunk {
                    match self.state(*id, Priority::Background).await {
                        Ok(s) => out.push((*id, s)),
                        Err(BackendError::Permanent { reason }) => {
                            tracing::warn!(task = %id, %reason, "task unreadable; skipped this round")
                        }
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let mut query: Vec<(&str, String)> =
                chunk.iter().map(|id| ("taskID", id.to_string())).collect();
            query.push(("isDeleted", "false".to_owned()));
            let wanted: HashSet<i64> = chunk.iter().map(|t| t.0).collect();
            let mut foreign = false;
            let mut got = Vec::new();
            self.list_each::<wire::TaskInfo>(
                "/WORK/Tasks",
                &query,
                Priority::Background,
                &sx,
                chunk.len().div_ceil(self.page_size as usize).max(1) + 1,
                |id, t| match id {
                    Some(id) if wanted.contains(&id) => {
                        got.push((TaskId(id), task_state(t)));
                        ControlFlow::Continue(())
                    }
                    _ => {
                        foreign = true;
                        ControlFlow::Break(())
                    }
                },
            )
            .await?;
            if foreign {
                tracing::warn!("HubEx ignores taskID on GET /WORK/Tasks; reading open tasks one by one from now on");
                self.ignores_task_filter.store(true, Ordering::Relaxed);
                for id in chunk {
                    if let Ok(s) = self.state(*id, Priority::Background).await {
                        out.push((*id, s));
                    }
                }
            } else {
                out.extend(got);
            }
        }
        sx.log_summary("status poll");
        Ok(out)
    }
}
