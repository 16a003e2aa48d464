//! The real binary, killed with SIGKILL mid-delivery again and again, restarted
//! on the same database against a standalone simulator: nothing lost, nothing
//! doubled.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::helpers::{engine, on_each_engine, TempDir, TestDb};
use qrdesk::store::Engine;

/// Kills the child when dropped, so a failing test leaves nothing running.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `qrdesk args…` and waits for a stdout line starting with `prefix`.
pub fn start(args: &[&str], env: &[(&str, String)], prefix: &str) -> (Proc, String) {
    start_logging(args, env, prefix, Stdio::null())
}

/// [`start`], with the log (stderr) going to `log`.
pub fn start_logging(
    args: &[&str],
    env: &[(&str, String)],
    prefix: &str,
    log: Stdio,
) -> (Proc, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(log)
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut found = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            found = rest.trim().to_owned();
            break;
        }
    }
    assert!(
        !found.is_empty(),
        "`qrdesk {}` did not print `{prefix}`",
        args.join(" ")
    );
    // Keep draining stdout so the process never writes into a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), found)
}

pub fn run(args: &[&str], env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.args(args).env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "qrdesk {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `qrdesk hubex-sim` on a free port: the process and the simulator's base
/// URL (the API under `/fsm`, its control routes under `/__sim`).
pub fn standalone_sim() -> (Proc, String) {
    let (sim, url) = start(
        &["hubex-sim", "--listen", "127.0.0.1:0"],
        &[],
        "HubEx simulator at",
    );
    (sim, url.trim_end_matches("/fsm").to_owned())
}

/// A new code for asset 1001, made with `qrdesk codes create`.
pub fn code_for_asset(env: &[(&str, String)]) -> String {
    let created: serde_json::Value =
        serde_json::from_str(&run(&["codes", "create", "--asset", "1001", "--json"], env)).unwrap();
    created["code"].as_str().unwrap().to_owned()
}

/// One of the standalone simulator's records: `tasks` or `calls`.
pub async fn sim_list(
    client: &reqwest::Client,
    sim_base: &str,
    what: &str,
) -> Vec<serde_json::Value> {
    client
        .get(format!("{sim_base}/__sim/{what}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Opens the form of `code` at `base` like a phone and posts `fields` with its token.
pub async fn send_form(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let form = client.get(format!("{base}/q/{code}")).send().await.unwrap();
    let token = crate::helpers::into_page(form)
        .await
        .input("form_token")
        .expect("a form token");
    let mut all = vec![("form_token", token.as_str())];
    all.extend_from_slice(fields);
    client
        .post(format!("{base}/q/{code}"))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// The settings of a `qrdesk serve` in live mode against a standalone
/// simulator at `sim_base`, fast enough for tests.
pub fn live_env(dir: &TempDir, sim_base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("QRDESK_SERVER__LISTEN", "127.0.0.1:0".into()),
        ("QRDESK_SERVER__DATA_DIR", dir.0.display().to_string()),
        ("QRDESK_HUBEX__MODE", "live".into()),
        ("QRDESK_HUBEX__BASE_URL", sim_base.to_owned()),
        ("QRDESK_HUBEX__SERVICE_TOKEN", "demo-service-token".into()),
        ("QRDESK_HUBEX__TIMEOUT_SECS", "1".into()),
        ("QRDESK_HUBEX__MAX_CALLS_PER_MINUTE", "100000".into()),
        ("QRDESK_DELIVERY__BASE_DELAY_MS", "50".into()),
        ("QRDESK_DELIVERY__MAX_DELAY_SECS", "1".into()),
        ("QRDESK_DELIVERY__LEASE_SECS", "2".into()),
        ("QRDESK_DELIVERY__POLL_MS", "50".into()),
        ("QRDESK_LIMITS__POSTS_PER_MINUTE", "100000".into()),
        ("QRDESK_LIMITS__POSTS_BURST", "100000".into()),
        ("QRDESK_LIMITS__GETS_PER_MINUTE", "100000".into()),
        ("QRDESK_LIMITS__GETS_BURST", "100000".into()),
        ("QRDESK_LIMITS__MIN_FILL_MS", "0".into()),
        ("QRDESK_LIMITS__CODE_REQUESTS_PER_HOUR", "100000".into()),
        ("QRDESK_LIMITS__CHALLENGE", "off".into()),
        ("QRDESK_LIMITS__DUPLICATE_WINDOW_SECS", "0".into()),
    ]
}

#[tokio::test]
async fn sigkill_mid_delivery_loses_nothing_and_doubles_nothing() {
    on_each_engine(sigkill_mid_delivery).await;
}

async fn sigkill_mid_delivery() {
    let dir = TempDir::new();
    let db = match engine() {
        Engine::Postgres => Some(TestDb::create().await),
        Engine::Sqlite => None,
    };
    let (_sim, sim_base) = standalone_sim();
    let mut env = live_env(&dir, &sim_base);
    if let Some(db) = &db {
        env.push(("QRDESK_DATABASE__URL", db.url.clone()));
    }
    run(&["sync"], &env);
    let code = code_for_asset(&env);

    let client = crate::helpers::phone_client();
    let tasks_now = || sim_list(&client, &sim_base, "tasks");
    let mut accepted = Vec::new();
    for round in 0..4 {
        let before = tasks_now().await.len();
        let (server, base) = start(&["serve"], &env, "qrdesk is running at");
        let base = base.trim_end_matches('/').to_owned();
        // Deliveries hang after the task is created, so the kill lands mid-call.
        client
            .post(format!("{sim_base}/__sim/faults"))
            .json(&serde_json::json!({"method": "POST", "path": "/WORK/Tasks", "fault": {"kind": "created_then_hang", "millis": 3000}, "times": 3}))
            .send()
            .await
            .unwrap();
        for i in 0..8 {
            let text = format!("Авария, раунд {round}, заявка {i}");
            let resp = send_form(&client, &base, &code, &[("description", &text)]).await;
            assert_eq!(resp.status(), 303);
            accepted.push(resp.headers()["location"].to_str().unwrap().to_owned());
        }
        // A delivery is under way: HubEx has created a task and hangs before answering.
        crate::helpers::wait_for(20, "a task created in this round", || async {
            (tasks_now().await.len() > before).then_some(())
        })
        .await;
        drop(server); // SIGKILL: no clean-up, claims stay until their lease runs out.
        client
            .delete(format!("{sim_base}/__sim/faults"))
            .send()
            .await
            .unwrap();
    }

    // A last, undisturbed run delivers whatever is left.
    let (_server, base) = start(&["serve"], &env, "qrdesk is running at");
    let base = base.trim_end_matches('/').to_owned();
    crate::helpers::wait_for(60, "every accepted request delivered", || async {
        for path in &accepted {
            let page = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if !page.contains("class=\"number\"") {
                return None;
            }
        }
        Some(())
    })
    .await;
    // Listed only now: read before the last page showed its number, the list
    // could miss a task created meanwhile.
    let tasks = tasks_now().await;
    assert_eq!(
        tasks.len(),
        accepted.len(),
        "one task per accepted request, none doubled"
    );
    let mut stamps: Vec<&str> = tasks.iter().map(|t| t["stamp"].as_str().unwrap()).collect();
    stamps.sort();
    stamps.dedup();
    assert_eq!(stamps.len(), accepted.len(), "every stamp once");
    // The kills really landed after HubEx had created tasks: restarts
    // had to look tasks up by their reference.
    let calls = sim_list(&client, &sim_base, "calls").await;
    assert!(
        calls
            .iter()
            .any(|c| c["method"] == "GET" && c["path"] == "/WORK/Tasks"),
        "no look-up after an unknown outcome: the kills missed"
    );
}
