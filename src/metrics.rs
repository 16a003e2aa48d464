//! `/metrics` in the Prometheus text format (prometheus-client): what came
//! in, what is waiting, how long delivery takes, what the task system was
//! asked. Counters live here; what the database knows (requests by status,
//! the outbox) is read when the page is scraped. `metrics.token`, when set,
//! makes the page ask for `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Status {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Call {
    pub endpoint: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: String,
}

pub struct Metrics {
    registry: Registry,
    submissions: Family<Outcome, Counter>,
    scans: Counter,
    requests: Family<Status, Gauge>,
    outbox_jobs: Family<Kind, Gauge>,
    outbox_oldest: Family<Kind, Gauge>,
    delivery_seconds: Histogram,
    calls: Family<Call, Counter>,
    refusals: Family<LimitLabel, Counter>,
    webhooks: Family<Outcome, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("qrdesk");
        let m = Metrics {
            submissions: Family::default(),
            scans: Counter::default(),
            requests: Family::default(),
            outbox_jobs: Family::default(),
            outbox_oldest: Family::default(),
            // 50 ms … about 14 min.
            delivery_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 15)),
            calls: Family::default(),
            refusals: Family::default(),
            webhooks: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "submissions",
            "Form posts by outcome (accepted, dropped, invalid, limited, refused, failed)",
            m.submissions.clone(),
        );
        registry.register("scans", "Forms opened from a sticker", m.scans.clone());
        registry.register("requests", "Requests by status", m.requests.clone());
        registry.register(
            "outbox_jobs",
            "Jobs waiting or running, by kind",
            m.outbox_jobs.clone(),
        );
        registry.register(
            "outbox_oldest_seconds",
            "Age of the oldest job of each kind",
            m.outbox_oldest.clone(),
        );
        registry.register(
            "delivery_seconds",
            "From a request accepted to its task created in the task system",
            m.delivery_seconds.clone(),
        );
        registry.register(
            "task_system_calls",
            "Calls to the task system by endpoint and HTTP status (0: no answer)",
            m.calls.clone(),
        );
        registry.register(
            "rate_limit_refusals",
            "Requests refused by a per-client or per-token limit",
            m.refusals.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retry, failed, gone, refused)",
            m.webhooks.clone(),
        );
        Metrics { registry, ..m }
    }
}

pub type SharedMetrics = Arc<Metrics>;

impl Metrics {
    pub fn submission(&self, status: StatusCode) {
        let outcome = match status.as_u16() {
            303 => "accepted",
            200 => "dropped",
            422 => "invalid",
            429 => "limited",
            400..=499 => "refused",
            _ => "failed",
        };
        self.submissions
            .get_or_create(&Outcome {
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn scan(&self) {
        self.scans.inc();
    }

    pub fn delivered_after(&self, ms: i64) {
        self.delivery_seconds.observe(ms.max(0) as f64 / 1000.0);
    }

    /// A call to the task system: its path with ids folded (`/WORK/Tasks/{id}`).
    pub fn call(&self, path: &str, status: u16) {
        let endpoint = path
            .split('/')
            .map(|p| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    "{id}"
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        self.calls
            .get_or_create(&Call {
                endpoint,
                status: status.to_string(),
            })
            .inc();
    }

    pub fn refused(&self, limit: &str) {
        self.refusals
            .get_or_create(&LimitLabel {
                limit: limit.into(),
            })
            .inc();
    }

    pub fn webhook(&self, outcome: &str) {
        self.webhooks
            .get_or_create(&Outcome {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The page: database figures read now, then everything encoded.
    pub async fn render(&self, pool: &store::Pool) -> sqlx::Result<String> {
        let by_status = store::requests::count_by_status(pool).await?;
        self.requests.clear();
        for (status, n) in by_status {
            self.requests
                .get_or_create(&Status {
                    status: status.as_str().into(),
                })
                .set(n);
        }
        let now = store::now_ms();
        self.outbox_jobs.clear();
        self.outbox_oldest.clear();
        for (kind, n, oldest) in store::jobs::stats(pool).await? {
            let label = Kind {
                kind: kind.as_str().into(),
            };
            self.outbox_jobs.get_or_create(&label).set(n);
            self.outbox_oldest
                .get_or_create(&label)
                .set((now - oldest).max(0) / 1000);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        Ok(out)
    }
}
