//! Replays the hostile-input corpus in `tests/corpus/` (made by its
//! `generate.py`): no 5xx, the expected clear answer, nothing half-stored, and
//! markup always escaped on the way out.

use std::collections::HashMap;

use base64::Engine;
use qrdesk::backend::AssetId;
use qrdesk::store::codes::{self as code_store, Target};
use serde::Deserialize;

use crate::helpers::{on_each_engine, spawn_app, wait_for, TestApp};

#[derive(Deserialize)]
struct Case {
    name: String,
    method: String,
    path: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    body: Option<String>,
    body_b64: Option<String>,
    expect: String,
}

fn load() -> Vec<Case> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Case>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.pool()).await.unwrap()
}

/// Markup that must never come back unescaped in a page or in notesHtml.
const ACTIVE: [&str; 6] = [
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "<iframe",
    "<style>*",
    "<a href=\"javascript",
];

#[tokio::test]
async fn hostile_inputs_get_clear_answers_and_nothing_half_stored() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let revoked = app.code_for(Target::Asset(AssetId(1002))).await;
        code_store::revoke(app.pool(), &revoked).await.unwrap();
        let status_path = app.report(&code, "Контрольная заявка для проверки").await;
        app.wait_status(&status_path, "delivered", 10).await;
        let status_token = status_path.trim_start_matches("/t/").to_owned();

        let cases = load();
        assert!(cases.len() >= 150, "{} cases", cases.len());
        let big = "%D1%8F".repeat(500_000);
        let huge = "a".repeat(200_000);
        let fill = |s: &str, token: &str| {
            s.replace("{CODE}", code.as_str())
                .replace("{code_lower}", &code.as_str().to_lowercase())
                .replace("{REVOKED}", revoked.as_str())
                .replace("{TOKEN}", token)
                .replace("{STATUS}", &status_token)
                .replace("{BIG}", &big)
                .replace("{HUGE}", &huge)
        };
        let mut failures = Vec::new();
        for c in &cases {
            let form = app.get(&format!("/q/{code}")).await;
            let token = form.input("form_token").unwrap();
            let before = count(&app, "SELECT COUNT(*) FROM requests").await;
            let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
            let mut req = app
                .client
                .request(method, format!("{}{}", app.url, fill(&c.path, &token)));
            for (k, v) in &c.headers {
                req = req.header(k.as_str(), fill(v, &token));
            }
            if let Some(b) = &c.body {
                req = req.body(fill(b, &token));
            } else if let Some(b) = &c.body_b64 {
                let bytes = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                // Binary bodies keep their bytes; only the ASCII placeholder is replaced.
                let filled = if text.contains("{TOKEN}") {
                    let mut out = Vec::with_capacity(bytes.len());
                    let mut rest = &bytes[..];
                    while let Some(i) = rest.windows(7).position(|w| w == b"{TOKEN}") {
                        out.extend_from_slice(&rest[..i]);
                        out.extend_from_slice(token.as_bytes());
                        rest = &rest[i + 7..];
                    }
                    out.extend_from_slice(rest);
                    out
                } else {
                    bytes
                };
                req = req.body(filled);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{}: no answer: {e}", c.name));
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = resp.text().await.unwrap_or_default();
            let after = count(&app, "SELECT COUNT(*) FROM requests").await;
            let ok = match c.expect.as_str() {
                "4xx" => (400..500).contains(&status),
                "303" => status == 303,
                "200" => status == 200,
                _ => status < 500,
            };
            if status >= 500 {
                failures.push(format!("{}: {status} (a 5xx)", c.name));
            } else if !ok {
                failures.push(format!("{}: {status}, expected {}", c.name, c.expect));
            }
            if status != 303 && after != before {
                failures.push(format!(
                    "{}: refused ({status}) but a request was stored",
                    c.name
                ));
            }
            if ACTIVE.iter().any(|a| body.contains(a)) {
                failures.push(format!("{}: markup came back unescaped", c.name));
            }
            if let Some(path) = location.filter(|l| l.starts_with("/t/")) {
                let page = app.get(&path).await;
                if ACTIVE.iter().any(|a| page.body.contains(a)) {
                    failures.push(format!("{}: markup unescaped on the status page", c.name));
                }
            }
        }
        // Every stored request is complete: it has its job or is already delivered.
        let orphans = count(
            &app,
            "SELECT COUNT(*) FROM requests r WHERE r.status IN ('accepted', 'delivering')
           AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.request_id = r.id)",
        )
        .await;
        assert_eq!(orphans, 0, "half-stored requests");
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );

        // What HubEx received is escaped too.
        let stored = count(&app, "SELECT COUNT(*) FROM requests").await as usize;
        let tasks = wait_for(60, "every accepted request delivered", || async {
            let t = app.tasks();
            (t.len() >= stored).then_some(t)
        })
        .await;
        for t in tasks {
            let html = t.body.notes_html.unwrap_or_default();
            assert!(
                !ACTIVE.iter().any(|a| html.contains(a)),
                "notesHtml of task {}: {html}",
                t.id
            );
        }
    })
    .await;
}
