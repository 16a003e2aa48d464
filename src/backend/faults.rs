//! What the Bitrix24 and EvaTeam simulators share: fault rules by method,
//! playing a fault out around the real work, and serving a router.

use std::net::SocketAddr;
use std::time::Duration;

use axum::response::Response;

pub use crate::backend::hubex::sim::Fault;

struct Rule {
    method: String,
    fault: Fault,
    times: u32,
}

/// Faults waiting for the calls of a method (an empty method: any call),
/// and random ones on writes.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Rule>,
    chaos: Option<(u32, Vec<Fault>)>,
    played: usize,
}

impl Rules {
    pub fn push(&mut self, method: &str, fault: Fault, times: u32) {
        self.rules.push(Rule {
            method: method.to_owned(),
            fault,
            times,
        });
    }

    pub fn clear(&mut self) {
        self.rules.clear();
        self.chaos = None;
    }

    /// From now on `percent` % of writes get one of `kinds`, at random.
    pub fn chaos(&mut self, percent: u32, kinds: Vec<Fault>) {
        self.chaos = Some((percent.min(100), kinds));
    }

    /// The fault this call of `method` gets, if any (counted); a `write`
    /// may also get a random one.
    pub fn take(&mut self, method: &str, write: bool) -> Option<Fault> {
        let found = self
            .rules
            .iter()
            .position(|r| r.times > 0 && (r.method.is_empty() || r.method == method));
        if let Some(i) = found {
            self.rules[i].times -= 1;
            let fault = self.rules[i].fault.clone();
            self.rules.retain(|r| r.times > 0);
            self.played += 1;
            return Some(fault);
        }
        let (percent, kinds) = self.chaos.as_ref().filter(|_| write)?;
        if kinds.is_empty() {
            return None;
        }
        let roll = u32::from_le_bytes(crate::domain::codes::random_bytes::<4>());
        let fault =
            (roll % 100 < *percent).then(|| kinds[(roll / 100) as usize % kinds.len()].clone());
        self.played += usize::from(fault.is_some());
        fault
    }

    /// Faults given out so far.
    pub fn played(&self) -> usize {
        self.played
    }
}

/// Plays `fault` out: an error answer (`error(status, retry_after)`), a
/// timeout, a dropped connection, or the work done and its answer lost.
pub async fn play(
    fault: Option<Fault>,
    error: impl Fn(u16, Option<u64>) -> Response,
    work: impl Fn() -> Response,
) -> Response {
    let dropped = crate::backend::hubex::sim::dropped;
    match fault {
        None => work(),
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let mut r = error(status, retry_after);
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().expect("digits"));
            }
            r
        }
        Some(Fault::Timeout { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            error(504, None)
        }
        Some(Fault::Drop) => dropped(),
        Some(Fault::CreatedThenDrop) => {
            let _ = work();
            dropped()
        }
        Some(Fault::CreatedThenHang { millis }) => {
            let _ = work();
            tokio::time::sleep(Duration::from_millis(millis)).await;
            dropped()
        }
    }
}

/// Serves a simulator's router on `listener` until the process ends.
pub fn spawn(
    router: axum::Router,
    listener: tokio::net::TcpListener,
    name: &'static str,
) -> SocketAddr {
    let addr = listener.local_addr().expect("bound listener");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, simulator = name, "simulator stopped");
        }
    });
    addr
}
