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

/// Faults waiting for the calls of a method (an empty method: any call).
#[derive(Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn push(&mut self, method: &str, fault: Fault, times: u32) {
        self.0.push(Rule {
            method: method.to_owned(),
            fault,
            times,
        });
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The fault this call of `method` gets, if any (counted).
    pub fn take(&mut self, method: &str) -> Option<Fault> {
        let i = self
            .0
            .iter()
            .position(|r| r.times > 0 && (r.method.is_empty() || r.method == method))?;
        self.0[i].times -= 1;
        let fault = self.0[i].fault.clone();
        self.0.retain(|r| r.times > 0);
        Some(fault)
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
