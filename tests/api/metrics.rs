//! `/metrics`: what came in, what waits, how long delivery took, what HubEx
//! was asked; behind a bearer token when `metrics.token` is set.

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use qrdesk::backend::hubex::sim::{Fault, FaultRule};

use crate::helpers::{on_each_engine, spawn_with, wait_for};

#[tokio::test]
async fn metrics_count_submissions_deliveries_and_calls() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app.report(&code, "Не работает кофемашина на кухне").await;
        app.wait_status(&path, "delivered", 10).await;
        let short = app.submit(&code, &[("description", "ой")]).await;
        assert_eq!(short.status, 422);
        app.drain_outbox(10).await;
        // The status page reads the task (a delivery reads nothing back).
        assert_eq!(app.get(&path).await.status, 200);

        let resp = app
            .client
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"));
        let body = resp.text().await.unwrap();
        for line in [
            "qrdesk_submissions_total{outcome=\"accepted\"} 1",
            "qrdesk_submissions_total{outcome=\"invalid\"} 1",
            // Two form loads by one phone within the hour.
            "qrdesk_scans_total 1",
            "qrdesk_requests{status=\"delivered\"} 1",
            "qrdesk_delivery_seconds_count 1",
        ] {
            assert!(body.lines().any(|l| l == line), "no `{line}` in\n{body}");
        }
        assert!(
            body.lines().any(|l| l.starts_with(
                "qrdesk_task_system_calls_total{endpoint=\"/WORK/Tasks\",status=\"201\"}"
            )),
            "{body}"
        );
        assert!(
            body.contains("endpoint=\"/WORK/Tasks/{id}\""),
            "ids are folded out of endpoints: {body}"
        );

        // HubEx down: the request waits in the outbox, and the page says so.
        app.sim.inject(FaultRule {
            method: "POST".into(),
            path: "/WORK/Tasks".into(),
            fault: Fault::Status {
                status: 503,
                retry_after: None,
            },
            times: 1000,
        });
        app.report(&code, "Снова не работает кофемашина").await;
        let scrape = || async {
            let body = app
                .client
                .get(format!("{}/metrics", app.url))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let waiting = body
                .lines()
                .any(|l| l == "qrdesk_outbox_jobs{kind=\"create_task\"} 1");
            // The refused call is counted once the worker has tried.
            (waiting && body.contains("status=\"503\"")).then_some(body)
        };
        let body = wait_for(
            10,
            "the waiting job and the refused call on /metrics",
            scrape,
        )
        .await;
        assert!(body.contains("qrdesk_outbox_oldest_seconds{kind=\"create_task\"}"));
        app.sim.clear_faults();
        app.drain_outbox(20).await;
    })
    .await;
}

#[tokio::test]
async fn metrics_ask_for_their_token_when_one_is_set() {
    let app = spawn_with(|c| c.metrics.token = "metrics-secret-1".into()).await;
    let url = format!("{}/metrics", app.url);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("metrics-secret-2")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(&url)
        .bearer_auth("metrics-secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert_has_edge_headers(&right);
    assert!(right.text().await.unwrap().contains("qrdesk_scans_total"));
}

/// Review finding: /metrics was routed outside the layers, so it came
/// without the security headers and a request id.
fn assert_has_edge_headers(resp: &reqwest::Response) {
    let h = resp.headers();
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "x-request-id",
    ] {
        assert!(h.contains_key(name), "/metrics without {name}: {h:?}");
    }
}

#[tokio::test]
async fn metrics_listen_moves_the_page_to_its_own_address() {
    on_each_engine(|| async {
        let app = spawn_with(|c| c.metrics.listen = "127.0.0.1:0".into()).await;
        let main = app
            .client
            .get(format!("{}/metrics", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(main.status(), 404, "not on the main listener any more");
        let addr = app.app.as_ref().unwrap().metrics_addr.expect("bound");
        let own = app
            .client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
        assert_has_edge_headers(&own);
        assert!(own.text().await.unwrap().contains("qrdesk_scans_total"));
        let other = app
            .client
            .get(format!("http://{addr}/admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404, "nothing else there");
    })
    .await;
}
