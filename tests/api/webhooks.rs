//! Outgoing webhooks against a local receiver that checks every signature
//! the way the Standard Webhooks libraries do.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;
use qrdesk::store::webhooks::{self as hooks, EndpointSettings};
use qrdesk::store::{self, DeliveryState, WebhookEvent};
use sha2::Sha256;

use crate::helpers::{on_each_engine, spawn_with, wait_for, TestApp};

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature_ok: bool,
    pub body: serde_json::Value,
    pub raw: String,
    pub at: Instant,
}

/// A status to answer, with a `Retry-After`.
type Answer = (u16, Option<&'static str>);

/// A receiver on 127.0.0.1 that answers from a script (then 200) and keeps
/// what it got, having checked the signature with `secret`.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    secret: Arc<Mutex<String>>,
}

/// Checks a delivery as a receiver must: the HMAC of "{id}.{timestamp}.{body}"
/// under the key after `whsec_`, among the space-separated signatures.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Ok(key) = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or_default())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(
        format!(
            "{}.{}.{}",
            header("webhook-id"),
            header("webhook-timestamp"),
            body
        )
        .as_bytes(),
    );
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature")
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

impl Receiver {
    pub async fn start(script: &[Answer]) -> Receiver {
        let r = Receiver {
            url: String::new(),
            got: Default::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            secret: Default::default(),
        };
        let shared = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = shared.clone();
                async move {
                    let secret = r.secret.lock().unwrap().clone();
                    let header =
                        |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
                    r.got.lock().unwrap().push(Received {
                        id: header("webhook-id").to_owned(),
                        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                        signature_ok: verify(&secret, &headers, &body),
                        body: serde_json::from_str(&body).unwrap_or_default(),
                        raw: body,
                        at: Instant::now(),
                    });
                    let (status, retry_after) =
                        r.script.lock().unwrap().pop_front().unwrap_or((200, None));
                    let mut resp = StatusCode::from_u16(status).unwrap().into_response();
                    if let Some(s) = retry_after {
                        resp.headers_mut().insert("retry-after", s.parse().unwrap());
                    }
                    resp
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/hook"),
            ..r
        }
    }

    pub fn set_secret(&self, secret: &str) {
        *self.secret.lock().unwrap() = secret.to_owned();
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub async fn wait_count(&self, n: usize, secs: u64) -> Vec<Received> {
        wait_for(secs, "webhook deliveries", || async {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

pub async fn add_endpoint(
    app: &TestApp,
    url: &str,
    events: &[WebhookEvent],
    include_contact: bool,
) -> (i64, String) {
    let settings = EndpointSettings {
        url: url.to_owned(),
        description: "test".into(),
        events: events.to_vec(),
        include_contact,
        active: true,
    };
    hooks::create(app.pool(), &settings, store::now_ms())
        .await
        .unwrap()
}

fn private_ok(c: &mut qrdesk::config::Config) {
    c.webhooks.allow_private_targets = true;
    c.webhooks.retry_delays_secs = vec![0, 0, 0];
}

#[tokio::test]
async fn deliveries_are_signed_retried_after_a_500_and_redelivered_with_the_same_id() {
    on_each_engine(|| async {
        let app = spawn_with(private_ok).await;
        let receiver = Receiver::start(&[(500, None)]).await;
        let (id, secret) = add_endpoint(
            &app,
            &receiver.url,
            &[WebhookEvent::Accepted, WebhookEvent::Delivered],
            false,
        )
        .await;
        assert!(secret.starts_with("whsec_"));
        let key = base64::engine::general_purpose::STANDARD
            .decode(&secret["whsec_".len()..])
            .unwrap();
        assert!(key.len() >= 24);
        receiver.set_secret(&secret);

        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app
            .report_with(
                &code,
                &[
                    ("description", "Не включается кондиционер в переговорной"),
                    ("name", "Пётр Контактов"),
                    ("phone", "+7 900 111-22-33"),
                    ("consent", "1"),
                ],
            )
            .await;
        let request = app.wait_status(&path, "delivered", 10).await;
        app.drain_outbox(10).await;

        let got = receiver.wait_count(3, 10).await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|r| r.signature_ok), "{got:?}");
        // The 500 was tried again with the same webhook-id (the "delivered"
        // event may come between the two tries).
        let of = |kind: &str| -> Vec<&Received> {
            got.iter().filter(|r| r.body["type"] == kind).collect()
        };
        let accepted = of("request.accepted");
        assert_eq!(accepted.len(), 2, "{got:?}");
        assert_eq!(accepted[0].id, accepted[1].id);
        assert!(accepted[0].id.starts_with("msg_"));
        let delivered_once = of("request.delivered");
        assert_eq!(delivered_once.len(), 1, "{got:?}");
        assert_ne!(delivered_once[0].id, accepted[0].id);
        let delivered = &delivered_once[0].body;
        assert_eq!(delivered["data"]["id"], request.id.as_str());
        assert_eq!(delivered["data"]["status"], "delivered");
        assert!(delivered["data"]["task"]["id"].is_i64());
        assert!(delivered["timestamp"].as_str().unwrap().ends_with('Z'));
        let now = store::now_ms() / 1000;
        assert!((now - delivered_once[0].timestamp).abs() < 60);
        // No contact data unless asked for, never the status page's token.
        let token = path.rsplit('/').next().unwrap();
        for r in &got {
            assert!(!r.raw.contains("Контактов") && !r.raw.contains("111-22-33"));
            assert!(!r.raw.contains(token), "status token in {}", r.raw);
            assert!(r.body["data"].get("contact").is_none());
        }

        let log = hooks::log(app.pool(), id, 10).await.unwrap();
        assert_eq!(log.len(), 3);
        let failed = log.iter().find(|l| l.status == Some(500)).expect("the 500");
        assert_eq!(failed.attempt, 1);
        let retried: Vec<_> = log
            .iter()
            .filter(|l| l.delivery_id == failed.delivery_id && l.status == Some(200))
            .collect();
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].attempt, 2);

        // Redelivery keeps the id.
        let first = failed.delivery_id.clone();
        assert!(hooks::redeliver(app.pool(), &first, store::now_ms())
            .await
            .unwrap());
        let got = receiver.wait_count(4, 10).await;
        assert_eq!(got[3].id, accepted[0].id);
        assert!(got[3].signature_ok);
        app.drain_outbox(10).await;
        let d = hooks::delivery(app.pool(), &first).await.unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Delivered);
        assert_eq!(d.attempts, 3);
    })
    .await;
}

#[tokio::test]
async fn contact_data_only_when_the_endpoint_asks_for_it() {
    on_each_engine(|| async {
        let app = spawn_with(private_ok).await;
        let receiver = Receiver::start(&[]).await;
        let (_, secret) = add_endpoint(&app, &receiver.url, &[WebhookEvent::Accepted], true).await;
        receiver.set_secret(&secret);
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report_with(
            &code,
            &[
                ("description", "Течёт кран в санузле на втором этаже"),
                ("name", "Пётр Контактов"),
                ("phone", "+7 900 111-22-33"),
                ("consent", "1"),
            ],
        )
        .await;
        app.drain_outbox(10).await;
        let got = receiver.wait_count(1, 10).await;
        assert!(got[0].signature_ok);
        assert_eq!(got[0].body["data"]["contact"]["name"], "Пётр Контактов");
    })
    .await;
}

#[tokio::test]
async fn gone_switches_the_endpoint_off_and_retry_after_is_honoured() {
    on_each_engine(|| async {
        let app = spawn_with(private_ok).await;
        let slow = Receiver::start(&[(429, Some("1"))]).await;
        let (_, secret) = add_endpoint(&app, &slow.url, &[WebhookEvent::Accepted], false).await;
        slow.set_secret(&secret);
        let gone = Receiver::start(&[(410, None)]).await;
        let (gone_id, _) = add_endpoint(&app, &gone.url, &[WebhookEvent::Accepted], false).await;

        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Не работает лифт в третьем подъезде")
            .await;
        let got = slow.wait_count(2, 10).await;
        // retry_delays_secs is 0 here: only the receiver's Retry-After waited.
        assert!(got[1].at - got[0].at >= Duration::from_millis(950));
        assert_eq!(gone.wait_count(1, 10).await.len(), 1);
        app.drain_outbox(10).await;
        let endpoint = hooks::get(app.pool(), gone_id).await.unwrap().unwrap();
        assert!(!endpoint.is_active());
        assert!(endpoint.disabled_reason.unwrap().contains("410"));

        // A switched-off endpoint gets nothing more.
        app.report(&code, "Снова не работает лифт в третьем подъезде")
            .await;
        slow.wait_count(3, 10).await;
        app.drain_outbox(10).await;
        assert_eq!(gone.received().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_endpoint_failing_too_long_is_switched_off() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            private_ok(c);
            // Failing for "0 hours" is failing too long at the first failure.
            c.webhooks.disable_after_hours = 0;
        })
        .await;
        let receiver = Receiver::start(&[(500, None), (500, None)]).await;
        let (id, _) = add_endpoint(&app, &receiver.url, &[WebhookEvent::Accepted], false).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Не работает освещение на парковке").await;
        app.drain_outbox(10).await;
        assert_eq!(receiver.received().len(), 1);
        let endpoint = hooks::get(app.pool(), id).await.unwrap().unwrap();
        assert!(!endpoint.is_active());
        assert!(endpoint.disabled_reason.unwrap().contains("HTTP 500"));
        assert_eq!(hooks::disabled(app.pool()).await.unwrap().len(), 1);
    })
    .await;
}

/// SSRF: without `allow_private_targets`, neither an internal IP nor a name
/// that resolves to one is ever connected to.
#[tokio::test]
async fn internal_targets_are_refused_by_address() {
    on_each_engine(|| async {
        let app = spawn_with(|c| c.webhooks.retry_delays_secs = vec![0]).await;
        let receiver = Receiver::start(&[]).await;
        let port = receiver
            .url
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        // Written straight to the store, as if the check at saving had been
        // passed (a name that resolved elsewhere then, say).
        let by_name = format!("http://localhost:{port}/hook");
        let (named, _) = add_endpoint(&app, &by_name, &[WebhookEvent::Accepted], false).await;
        let (literal, _) =
            add_endpoint(&app, &receiver.url, &[WebhookEvent::Accepted], false).await;
        let mapped = format!("http://[::ffff:127.0.0.1]:{port}/hook");
        let (v6, _) = add_endpoint(&app, &mapped, &[WebhookEvent::Accepted], false).await;

        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Не работает домофон у главного входа")
            .await;
        app.drain_outbox(10).await;
        assert!(receiver.received().is_empty(), "{:?}", receiver.received());
        for id in [named, literal, v6] {
            let log = hooks::log(app.pool(), id, 10).await.unwrap();
            assert_eq!(log.len(), 2, "two attempts, both refused: {log:?}");
            assert!(log.iter().all(|l| l.status.is_none()));
            assert_eq!(log[0].state, DeliveryState::Failed);
        }
        let named_log = hooks::log(app.pool(), named, 1).await.unwrap();
        assert!(
            named_log[0].error.as_deref().unwrap().contains("internal"),
            "{named_log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn status_changes_comments_and_replies_are_told() {
    on_each_engine(|| async {
        let app = spawn_with(private_ok).await;
        let receiver = Receiver::start(&[]).await;
        let (_, secret) = add_endpoint(
            &app,
            &receiver.url,
            &[
                WebhookEvent::StatusChanged,
                WebhookEvent::Commented,
                WebhookEvent::Replied,
            ],
            false,
        )
        .await;
        receiver.set_secret(&secret);
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app.report(&code, "Шумит вентиляция в серверной").await;
        let request = app.wait_status(&path, "delivered", 10).await;
        let task = request.task_id.unwrap().0;
        app.sim.set_status(task, 2);
        app.sim.staff_reply(task, "Мастер придёт завтра в 10:00");
        // The status page reads the task again.
        app.get(&path).await;
        let p =
            crate::conversation::post_comment(&app, &path, "Буду на месте с девяти", None).await;
        assert_eq!(p.status, 303, "{}", p.body);
        app.drain_outbox(10).await;
        let got = receiver.wait_count(3, 10).await;
        let by_type = |t: &str| got.iter().find(|r| r.body["type"] == t).cloned();
        let changed = by_type("request.status_changed").expect("status change told");
        assert_eq!(changed.body["data"]["task"]["status"], "В работе");
        assert!(changed.body["data"].get("previous_status").is_some());
        let commented = by_type("request.commented").expect("comment told");
        assert_eq!(
            commented.body["data"]["comment"]["text"],
            "Буду на месте с девяти"
        );
        let replied = by_type("request.replied").expect("reply told");
        assert_eq!(
            replied.body["data"]["message"]["text"],
            "Мастер придёт завтра в 10:00"
        );
        assert!(got.iter().all(|r| r.signature_ok));
    })
    .await;
}

/// A receiver that redirects elsewhere does not get the delivery through:
/// redirects are not followed (the target could be internal).
#[tokio::test]
async fn redirects_are_not_followed() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            private_ok(c);
            c.webhooks.retry_delays_secs = vec![];
        })
        .await;
        let elsewhere = Receiver::start(&[]).await;
        let target = elsewhere.url.clone();
        let redirecting = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let target = target.clone();
                async move { axum::response::Redirect::temporary(&target) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, redirecting).await });
        let (id, _) = add_endpoint(
            &app,
            &format!("http://{addr}/hook"),
            &[WebhookEvent::Accepted],
            false,
        )
        .await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Не работает кулер в коридоре").await;
        app.drain_outbox(10).await;
        let log = hooks::log(app.pool(), id, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].status, Some(307));
        assert_eq!(log[0].state, DeliveryState::Failed);
        assert!(elsewhere.received().is_empty());
    })
    .await;
}
