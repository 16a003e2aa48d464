//! Two qrdesk processes on one PostgreSQL database, against a standalone
//! simulator that fails a share of the writes: every accepted request reaches
//! HubEx exactly once, although one process is SIGKILLed twice, and both
//! together stay within the one call budget. PostgreSQL only.

use std::collections::HashSet;

use crate::crash::{
    code_for_asset, live_env, run, send_form, sim_list, standalone_sim, start, Proc,
};
use crate::helpers::{postgres_url, wait_for, TempDir, TestDb};

/// Calls a minute for the whole installation: 500 ms apart, bursts of 30.
const PER_MINUTE: i64 = 120;
const SUBMISSIONS: usize = 24;

fn env_for(dir: &TempDir, db: &TestDb, sim_base: &str) -> Vec<(&'static str, String)> {
    let mut env = live_env(dir, sim_base);
    // Later entries win: one budget for everyone, workers that poll slowly
    // (notifications wake them), no periodic sync or status polling.
    env.extend([
        ("QRDESK_DATABASE__URL", db.url.clone()),
        ("QRDESK_HUBEX__MAX_CALLS_PER_MINUTE", PER_MINUTE.to_string()),
        ("QRDESK_HUBEX__SYNC_INTERVAL_SECS", "0".into()),
        ("QRDESK_HUBEX__STATUS_POLL_SECS", "0".into()),
        ("QRDESK_DELIVERY__POLL_MS", "1000".into()),
    ]);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_request_once_within_one_call_budget() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: the multi-instance test needs PostgreSQL");
        return;
    }
    let dir = TempDir::new();
    let db = TestDb::create().await;
    let (_sim, sim_base) = standalone_sim();
    let env = env_for(&dir, &db, &sim_base);
    run(&["migrate"], &env);
    run(&["sync"], &env);
    let code = code_for_asset(&env);

    let client = crate::helpers::phone_client();
    // A quarter of the writes fail, in every way a network and HubEx can fail.
    client
        .post(format!("{sim_base}/__sim/chaos"))
        .json(&serde_json::json!({"percent": 25, "faults": [
            {"kind": "status", "status": 500},
            {"kind": "status", "status": 503, "retry_after": 1},
            {"kind": "drop"},
            {"kind": "created_then_drop"},
            {"kind": "timeout", "millis": 1500},
        ]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    // And a few for certain: two refusals and two tasks created without an answer.
    for fault in [
        serde_json::json!({"kind": "status", "status": 500}),
        serde_json::json!({"kind": "created_then_drop"}),
    ] {
        client
            .post(format!("{sim_base}/__sim/faults"))
            .json(&serde_json::json!({"method": "POST", "path": "/WORK/Tasks", "fault": fault, "times": 2}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    let serve = || start(&["serve"], &env, "qrdesk is running at");
    let (mut a, mut a_base): (Proc, String) = serve();
    let (_b, b_base) = serve();
    let mut accepted = HashSet::new();
    for i in 0..SUBMISSIONS {
        if i == 8 || i == 16 {
            // SIGKILL: its claims stay held until their lease runs out.
            drop(a);
            (a, a_base) = serve();
        }
        let base = if i % 2 == 0 { &a_base } else { &b_base };
        let base = base.trim_end_matches('/');
        let text = format!("Не работает, заявка {i}");
        let resp = send_form(&client, base, &code, &[("description", &text)]).await;
        assert_eq!(resp.status(), 303, "submission {i}");
        accepted.insert(resp.headers()["location"].to_str().unwrap().to_owned());
    }
    assert_eq!(accepted.len(), SUBMISSIONS);

    let pool = qrdesk::store::connect(&db.url, 2).await.unwrap();
    wait_for(120, "every accepted request delivered", || async {
        let (delivered, jobs): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM requests WHERE status = 'delivered'),
                    (SELECT COUNT(*) FROM jobs)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (delivered == SUBMISSIONS as i64 && jobs == 0).then_some(())
    })
    .await;

    let tasks = sim_list(&client, &sim_base, "tasks").await;
    assert_eq!(tasks.len(), SUBMISSIONS, "one task per accepted request");
    let stamps: HashSet<&str> = tasks.iter().map(|t| t["stamp"].as_str().unwrap()).collect();
    assert_eq!(stamps.len(), SUBMISSIONS, "every stamp once");

    let calls = sim_list(&client, &sim_base, "calls").await;
    let refused = calls
        .iter()
        .filter(|c| {
            c["method"] == "POST"
                && c["path"] == "/WORK/Tasks"
                && c["status"].as_u64().unwrap_or(0) >= 400
        })
        .count();
    assert!(
        refused >= 2,
        "the two injected refusals did not strike: {refused} refused writes"
    );
    assert!(
        calls
            .iter()
            .any(|c| c["method"] == "GET" && c["path"] == "/WORK/Tasks"),
        "no look-up after an unknown outcome"
    );
    // GCRA: within any window of W ms, at most burst + W / interval calls
    // (plus one for the edges) — for both processes and the CLI together.
    let mut at: Vec<i64> = calls.iter().map(|c| c["at_ms"].as_i64().unwrap()).collect();
    at.sort_unstable();
    let interval = 60_000 / PER_MINUTE;
    let burst = PER_MINUTE / 4;
    let window = 5_000;
    let limit = burst + window / interval + 1;
    let mut busiest = 0;
    for (i, t) in at.iter().enumerate() {
        let n = at[i..].iter().take_while(|u| **u < t + window).count() as i64;
        busiest = busiest.max(n);
    }
    assert!(
        busiest <= limit,
        "{busiest} calls within {window} ms, the budget allows {limit}"
    );
    eprintln!(
        "{} calls to HubEx, {refused} writes refused, busiest {window} ms: {busiest} (limit {limit})",
        at.len()
    );
}

/// A request taken by an instance that runs no deliveries reaches HubEx
/// through the other one at once: the queued job is announced, not waited for.
#[tokio::test]
async fn a_job_queued_on_one_instance_wakes_the_worker_of_another() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: job notifications need PostgreSQL");
        return;
    }
    crate::helpers::on_postgres(async {
        // This instance delivers nothing itself, and looks for jobs only every minute.
        let app = crate::helpers::spawn_with(|c| {
            c.delivery.concurrency = 0;
            c.delivery.poll_ms = 60_000;
        })
        .await;
        let mut other = app.config.clone();
        other.delivery.concurrency = 2;
        other.delivery.poll_ms = 60_000;
        let worker = qrdesk::App::start(other, Some(app.sim.clone()))
            .await
            .unwrap();
        let code = app
            .code_for(qrdesk::store::codes::Target::Asset(
                qrdesk::backend::AssetId(1001),
            ))
            .await;
        let started = std::time::Instant::now();
        let path = app.report(&code, "Не включается вентиляция").await;
        app.wait_status(&path, "delivered", 5).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "delivered by the other instance in {:?}",
            started.elapsed()
        );
        assert_eq!(app.tasks().len(), 1);
        worker.stop().await;
    })
    .await;
}

/// Work for one instance at a time: while one holds it, another is told so;
/// once it is done, the next one gets it.
#[tokio::test]
async fn once_at_a_time_work_runs_on_one_instance() {
    let Some(_) = postgres_url() else {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: advisory locks need PostgreSQL");
        return;
    };
    let db = TestDb::create().await;
    let a = qrdesk::store::open(&db.url, 2).await.unwrap();
    let b = qrdesk::store::open(&db.url, 2).await.unwrap();
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn({
        let a = a.clone();
        async move {
            qrdesk::store::shared::once_at_a_time(&a, "catalog sync", async {
                held_tx.send(()).unwrap();
                release_rx.await.unwrap();
                "first"
            })
            .await
            .unwrap()
        }
    });
    held_rx.await.unwrap();
    let meanwhile = qrdesk::store::shared::once_at_a_time(&b, "catalog sync", async { "second" })
        .await
        .unwrap();
    assert_eq!(meanwhile, None, "another instance holds it");
    let other_work = qrdesk::store::shared::once_at_a_time(&b, "status poll", async { "poll" })
        .await
        .unwrap();
    assert_eq!(other_work, Some("poll"), "other work is not held up");
    release_tx.send(()).unwrap();
    assert_eq!(first.await.unwrap(), Some("first"));
    let after = qrdesk::store::shared::once_at_a_time(&b, "catalog sync", async { "second" })
        .await
        .unwrap();
    assert_eq!(after, Some("second"));
}

/// The per-sticker cap counts requests taken by every instance.
#[tokio::test]
async fn the_sticker_cap_holds_across_instances() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: several instances need PostgreSQL");
        return;
    }
    crate::helpers::on_postgres(async {
        let mut a = crate::helpers::spawn_with(|c| c.limits.code_requests_per_hour = 2).await;
        let b = qrdesk::App::start(a.config.clone(), Some(a.sim.clone()))
            .await
            .unwrap();
        let code = a
            .code_for(qrdesk::store::codes::Target::Asset(
                qrdesk::backend::AssetId(1001),
            ))
            .await;
        a.report(&code, "Первая заявка с этой наклейки").await;
        // The second through the other instance, as a proxy would send it.
        let url_a = std::mem::replace(&mut a.url, b.public_url.clone());
        a.report(&code, "Вторая заявка, через другой экземпляр")
            .await;
        a.url = url_a;
        let third = a
            .submit(&code, &[("description", "Третья заявка за час")])
            .await;
        assert_eq!(third.status, 429, "the cap counts both instances' requests");
        a.drain_outbox(10).await;
        b.stop().await;
    })
    .await;
}

/// The background poller brings a status change in without anyone opening
/// the page; with two instances, whichever polls goes on from where the
/// other's last round got to (kept in the database).
#[tokio::test]
async fn the_status_poller_reads_changes_on_any_instance() {
    crate::helpers::on_each_engine(|| async {
        let app = crate::helpers::spawn_with(|c| c.status.poll_secs = 1).await;
        let second = match crate::helpers::engine() {
            qrdesk::store::Engine::Postgres => Some(
                qrdesk::App::start(app.config.clone(), Some(app.sim.clone()))
                    .await
                    .unwrap(),
            ),
            qrdesk::store::Engine::Sqlite => None,
        };
        let code = app
            .code_for(qrdesk::store::codes::Target::Asset(
                qrdesk::backend::AssetId(1001),
            ))
            .await;
        let path = app.report(&code, "Не работает лифт на втором этаже").await;
        let r = app.wait_status(&path, "delivered", 10).await;
        app.sim.set_status(r.task_id.unwrap().0, 3);
        wait_for(10, "the poller to read the new status", || async {
            let r = app.request_by_status_path(&path).await;
            // The round notes where it got to once it is done.
            let mark = qrdesk::store::get_setting(app.pool(), "status_poll_round_at")
                .await
                .unwrap();
            (r.task_completed_at.is_some() && mark.is_some_and(|m| m.parse::<i64>().is_ok()))
                .then_some(())
        })
        .await;
        app.drain_outbox(10).await;
        if let Some(second) = second {
            second.stop().await;
        }
    })
    .await;
}
