//! The id of the request (or job) a task works for: set by the web layer
//! for each request, kept with the jobs a request queues, and sent with the
//! task-system calls those jobs make.

use std::future::Future;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request (or job) this task works for, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` on behalf of `id`.
pub async fn scope<F: Future>(id: Option<String>, work: F) -> F::Output {
    match id {
        Some(id) => CURRENT.scope(id, work).await,
        None => work.await,
    }
}
