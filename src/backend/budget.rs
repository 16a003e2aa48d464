//! One call budget for the task system, shared by everything that calls it,
//! with priorities: a customer's task goes before a status page, and a status
//! page before polling and catalog sync.
//!
//! The budget is a GCRA token bucket (`per_minute` calls, a small burst). A
//! caller may take a call only when nobody of a higher priority is waiting,
//! so a long sync yields to a delivery at the very next free slot.
//!
//! Instances sharing a PostgreSQL database also take every call from one
//! [`SharedBudget`] there ([`CallBudget::share`]): the task system's limit is
//! per tenant, not per instance. Priorities hold within an instance.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::store::shared::SharedBudget;

/// Who is calling, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Creating tasks, uploading photos, posting comments (and what they need).
    Delivery = 0,
    /// A status page someone is looking at.
    View = 1,
    /// Status polling, catalog sync, connection checks.
    Background = 2,
}

pub struct CallBudget {
    interval: Duration,
    burst: u32,
    state: Mutex<State>,
    changed: Notify,
    shared: std::sync::OnceLock<SharedBudget>,
}

struct State {
    /// GCRA's theoretical arrival time of the next call.
    tat: Instant,
    waiting: [usize; 3],
    taken: [u64; 3],
}

impl std::fmt::Debug for CallBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBudget")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl CallBudget {
    /// `per_minute` calls a minute; bursts of a quarter of that (at least 1),
    /// so a start's catalog read or a handful of photos go at once while a
    /// minute never sees much more than `per_minute * 1.25` calls.
    pub fn per_minute(per_minute: u32) -> CallBudget {
        let per_minute = per_minute.max(1);
        CallBudget {
            interval: Duration::from_secs(60) / per_minute,
            burst: (per_minute / 4).max(1),
            state: Mutex::new(State {
                tat: Instant::now(),
                waiting: [0; 3],
                taken: [0; 3],
            }),
            changed: Notify::new(),
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Takes every call from `shared` too, from now on (set once).
    pub fn share(&self, shared: SharedBudget) {
        let _ = self.shared.set(shared);
    }

    /// The spacing of calls and the burst, for a [`SharedBudget`] of the same rate.
    pub fn rate(&self) -> (Duration, u32) {
        (self.interval, self.burst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls taken so far at each priority (for tests and the check).
    pub fn taken(&self) -> [u64; 3] {
        self.lock().taken
    }

    /// Waits until a call at `priority` may be made, and counts it.
    pub async fn acquire(&self, priority: Priority) {
        let p = priority as usize;
        self.lock().waiting[p] += 1;
        let guard = Waiting { budget: self, p };
        loop {
            let notified = self.changed.notified();
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                let ahead = s.waiting[..p].iter().any(|n| *n > 0);
                let tat = s.tat.max(now);
                let earliest = tat
                    .checked_sub(self.interval * (self.burst - 1))
                    .unwrap_or(now);
                if !ahead && earliest <= now {
                    s.tat = tat + self.interval;
                    s.taken[p] += 1;
                    None
                } else if ahead {
                    Some(None)
                } else {
                    Some(Some(earliest - now))
                }
            };
            match wait {
                None => {
                    if let Some(shared) = self.shared.get() {
                        shared.take().await;
                    }
                    break;
                }
                Some(None) => notified.await,
                Some(Some(d)) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = notified => {}
                    }
                }
            }
        }
        drop(guard);
    }
}

/// Counts a waiter in and out, also when its future is dropped midway.
struct Waiting<'a> {
    budget: &'a CallBudget,
    p: usize,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.budget.lock().waiting[self.p] -= 1;
        self.budget.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_delivery_goes_before_waiting_background_calls() {
        // 600 a minute: one call every 100 ms, bursts of 150.
        let budget = Arc::new(CallBudget::per_minute(600));
        for _ in 0..150 {
            budget.acquire(Priority::Background).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (b, o) = (budget.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                b.acquire(Priority::Background).await;
                o.lock().unwrap().push(format!("bg{i}"));
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (b, o) = (budget.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            b.acquire(Priority::Delivery).await;
            o.lock().unwrap().push("delivery".into());
        }));
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap();
        let pos = order.iter().position(|s| s == "delivery").unwrap();
        assert!(pos <= 1, "delivery came {pos}th: {order:?}");
        assert_eq!(budget.taken(), [1, 0, 155]);
    }

    #[tokio::test]
    async fn the_rate_holds() {
        let budget = CallBudget::per_minute(1200); // 50 ms apart, burst 300
        let start = Instant::now();
        for _ in 0..310 {
            budget.acquire(Priority::View).await;
        }
        // 300 at once, then 10 more 50 ms apart.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(450), "{took:?}");
        assert!(took < Duration::from_millis(2000), "{took:?}");
    }
}
