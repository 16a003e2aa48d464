//! Work that takes a core and tens of megabytes at a time — password
//! hashes, photo decodes, label and image renders — on a few threads of its
//! own instead of tokio's blocking pool. The blocking pool grows to hundreds
//! of threads under load, and the allocator keeps an arena with freed
//! buffers for each thread that ever did such work: after a flood the
//! process stayed hundreds of megabytes larger. A fixed set of threads
//! bounds that to a few arenas, whatever the load.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of named threads taking jobs in turn.
pub struct Threads {
    jobs: mpsc::Sender<Job>,
}

impl Threads {
    pub fn new(name: &str, count: usize) -> Threads {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..count.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("qrdesk-{name}-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                })
                .expect("a thread for heavy work");
        }
        Threads { jobs }
    }

    /// Runs `work` on one of the threads; `None` if it panicked. Callers
    /// bound how many wait (a semaphore), so the queue stays short.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if let Ok(out) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                let _ = tx.send(out);
            }
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }
}

/// The threads for photo decodes and label and image renders: as many as
/// the heavy-work permits (`AppState::media_permits`), one a core.
pub fn media() -> &'static Threads {
    static THREADS: std::sync::OnceLock<Threads> = std::sync::OnceLock::new();
    THREADS.get_or_init(|| Threads::new("media", cores()))
}

/// The cores of this machine, the number of heavy jobs run at once.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
