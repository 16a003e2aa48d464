//! The HubEx boundary as a big tenant sees it: calls counted at the
//! simulator, lists always read with `Range`, bulk sync and polling, the
//! shared budget's priorities, the lookup in a tenant with more than 10,000
//! tasks, and `qrdesk check`.

use std::time::{Duration, Instant};

use qrdesk::backend::hubex::sim::{demo, Call, Fault, Simulator};
use qrdesk::backend::{AssetId, NoProgress};
use qrdesk::store::codes::Target;

use crate::admin::StaffClient;
use crate::helpers::{on_each_engine, simulator, spawn_with_sim, wait_for, TempDir, TestApp};

/// Calls the simulator saw since `from`.
fn since(sim: &Simulator, from: usize) -> Vec<Call> {
    sim.calls().into_iter().skip(from).collect()
}

/// Every list read sent `Range` (single-object reads are exempt).
fn assert_lists_ranged(calls: &[Call]) {
    let single = |p: &str| {
        p.starts_with("/AUTHZ")
            || p == "/ADM/TenantMembers/anonymousUser"
            || (p.starts_with("/WORK/Tasks/") && p.split('/').count() == 4)
            || (p.starts_with("/ES/Assets/") && p.split('/').count() == 4)
    };
    for c in calls {
        if c.method == "GET" && !single(&c.path) {
            assert!(c.range.is_some(), "list read without Range: {c:?}");
        }
    }
}

async fn sync(app: &TestApp) -> qrdesk::catalog::SyncReport {
    let a = app.app.as_ref().unwrap();
    qrdesk::catalog::sync(&a.pool, a.backend.as_ref(), &NoProgress)
        .await
        .unwrap()
}

/// A simulator holding the big tenant, answering in the suite's shape.
fn big_sim(assets: usize, districts: usize) -> Simulator {
    let sim = simulator();
    sim.set_tenant(demo::big(assets, districts));
    sim.set_max_page(200);
    sim
}

#[tokio::test]
async fn a_2500_asset_catalog_syncs_in_150_calls_and_resyncs_unchanged_in_60() {
    on_each_engine(|| async {
        let sim = big_sim(2500, 10);
        let app = spawn_with_sim(sim.clone(), |_| {}).await;
        // The start already synced the fresh database; do it again, counted.
        qrdesk::store::set_setting(app.pool(), "catalog_mapped_at", "0")
            .await
            .unwrap();
        sqlx::query("DELETE FROM catalog_asset_districts")
            .execute(app.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE catalog_assets SET fingerprint = ''")
            .execute(app.pool())
            .await
            .unwrap();
        let from = sim.calls().len();
        let first = sync(&app).await;
        let first_calls = since(&sim, from);
        assert_eq!(first.assets, 2500);
        assert!(
            first_calls.len() <= 150,
            "first sync: {} calls",
            first_calls.len()
        );
        assert_eq!(first.district_source, "export");
        assert_lists_ranged(&first_calls);
        let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_asset_districts")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(members, 2500, "every asset knows its участок");
        assert!(
            !first_calls
                .iter()
                .any(|c| c.path.ends_with("/districts") && c.path != "/ES/Districts"),
            "no per-asset reads on the bulk path"
        );

        let from = sim.calls().len();
        let again = sync(&app).await;
        let again_calls = since(&sim, from);
        assert_eq!(again.assets, 2500);
        assert!(
            again_calls.len() <= 60,
            "unchanged resync: {} calls",
            again_calls.len()
        );
        assert_eq!(again.district_source, "unchanged");
        assert_eq!(
            qrdesk::store::catalog::asset_districts(app.pool(), AssetId(100_000))
                .await
                .unwrap()
                .len(),
            1,
            "участки kept from the last sync"
        );
        println!(
            "2,500 assets: first sync {} calls, unchanged {}",
            first_calls.len(),
            again_calls.len()
        );
    })
    .await;
}

#[tokio::test]
async fn without_the_export_right_only_new_or_changed_assets_are_read_one_by_one() {
    on_each_engine(|| async {
        let sim = big_sim(300, 3);
        sim.deny("AssetsExport");
        let app = spawn_with_sim(sim.clone(), |_| {}).await;
        let start_calls = sim.calls();
        let per_asset = start_calls
            .iter()
            .filter(|c| c.path.starts_with("/ES/Assets/"))
            .count();
        assert_eq!(
            per_asset, 300,
            "the first sync reads each asset's участки once"
        );

        sim.edit_tenant(|t| {
            assert!(t.rename_asset(100_007, "Насос (заменён)"));
            t.add_asset(demo::DemoAsset {
                id: 200_000,
                name: "Новый насос".into(),
                serial: "SN-NEW".into(),
                inventory: "ИНВ-NEW".into(),
                location_id: 10_000,
                company_id: 101,
            });
        });
        let from = sim.calls().len();
        let report = sync(&app).await;
        let calls = since(&sim, from);
        let read: Vec<&str> = calls
            .iter()
            .filter(|c| c.path.starts_with("/ES/Assets/"))
            .map(|c| c.path.as_str())
            .collect();
        assert_eq!(report.assets, 301);
        assert_eq!(
            read.len(),
            2,
            "only the renamed and the new asset: {read:?}"
        );
        assert_eq!(report.district_source, "per_asset:2");
        let name = qrdesk::store::catalog::asset(app.pool(), AssetId(100_007))
            .await
            .unwrap()
            .unwrap()
            .name;
        assert_eq!(name, "Насос (заменён)");
        assert_eq!(
            qrdesk::store::catalog::asset_districts(app.pool(), AssetId(200_000))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_lists_ranged(&calls);
    })
    .await;
}

#[tokio::test]
async fn an_honoured_district_filter_on_assets_is_used_and_an_ignored_one_is_not() {
    on_each_engine(|| async {
        let sim = big_sim(250, 5);
        sim.deny("AssetsExport");
        sim.honour_asset_district_filter(true);
        let app = spawn_with_sim(sim.clone(), |_| {}).await;
        let calls = sim.calls();
        assert!(
            calls
                .iter()
                .any(|c| c.path == "/ES/Assets" && c.query.contains("districtID=1")),
            "reads assets per участок"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.path.starts_with("/ES/Assets/"))
                .count(),
            0
        );
        let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_asset_districts")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(members, 250);
    })
    .await;
}

#[tokio::test]
async fn a_start_never_resyncs_a_fresh_catalog() {
    on_each_engine(|| async {
        let sim = simulator();
        let app = spawn_with_sim(sim.clone(), |c| c.hubex.sync_interval_secs = 3600).await;
        assert!(sim.calls().iter().any(|c| c.path == "/ES/Assets"));
        sim.clear_calls();
        let app = app.restart().await;
        assert!(
            !sim.calls().iter().any(|c| c.path.starts_with("/ES/")),
            "a fresh catalog is not read again at start: {:?}",
            sim.calls()
        );
        assert!(app.get("/q/unknown").await.status == 404);
    })
    .await;
}

/// Submits `n` requests on asset 1001 and waits until all have tasks.
async fn delivered(app: &TestApp, n: usize) -> Vec<(String, i64)> {
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let mut out = Vec::new();
    for i in 0..n {
        let path = app
            .report(&code, &format!("Не работает кофемашина, заявка {i}"))
            .await;
        out.push(path);
    }
    let mut done = Vec::new();
    for path in out {
        let r = app.wait_status(&path, "delivered", 20).await;
        done.push((path, r.task_id.unwrap().0));
    }
    done
}

#[tokio::test]
async fn polling_40_open_tasks_is_a_few_list_reads_and_a_reply_arrives_in_one_round() {
    on_each_engine(|| async {
        let sim = simulator();
        let app = spawn_with_sim(sim.clone(), |c| {
            // The page must not read HubEx itself: only the poller may.
            c.status.max_age_secs = 3600;
        })
        .await;
        let open = delivered(&app, 40).await;
        let backend = app.app.as_ref().unwrap().backend.clone();
        // HubEx stamps changes to the second; once the clock is two seconds on,
        // no task's stamp can hide a change after a read.
        let delivered_second = qrdesk::store::now_ms() / 1000;
        wait_for(5, "the next seconds", || async {
            (qrdesk::store::now_ms() / 1000 > delivered_second + 1).then_some(())
        })
        .await;

        let from = sim.calls().len();
        let round =
            qrdesk::delivery::poll_round(app.pool(), backend.as_ref(), None, Default::default())
                .await
                .unwrap();
        let calls = since(&sim, from);
        let task_reads = calls
            .iter()
            .filter(|c| c.path.starts_with("/WORK/Tasks"))
            .count();
        assert_eq!(round.open, 40);
        assert_eq!(round.read, 40);
        assert!(
            task_reads <= 10 + round.moved,
            "full round: {task_reads} task reads"
        );
        assert_lists_ranged(&calls);

        // One reply and one status change; the round after reads only what moved.
        let (path, task) = &open[7];
        sim.staff_reply(*task, "Мастер будет через час");
        sim.set_status(open[8].1, 2);
        let since_ms = qrdesk::store::now_ms() - 60_000;
        let from = sim.calls().len();
        let round = qrdesk::delivery::poll_round(
            app.pool(),
            backend.as_ref(),
            Some(since_ms),
            Default::default(),
        )
        .await
        .unwrap();
        let calls = since(&sim, from);
        let list_reads = calls.iter().filter(|c| c.path == "/WORK/Tasks").count();
        let conversation_reads = calls
            .iter()
            .filter(|c| c.path.ends_with("/conversations"))
            .count();
        assert!(list_reads <= 2, "changes: {list_reads} list reads");
        assert_eq!(conversation_reads, round.moved);
        assert!(
            calls.len() <= 10,
            "a quiet round with two changes: {} calls: {calls:?}",
            calls.len()
        );
        assert_lists_ranged(&calls);
        let page = app.get(path).await;
        assert!(
            page.body.contains("Мастер будет через час"),
            "{}",
            page.body
        );
        let status = app.get(&open[8].0).await;
        assert!(status.body.contains("В работе"));
        println!(
            "40 open tasks: full round {task_reads} task reads; change round {} calls",
            calls.len()
        );
    })
    .await;
}

#[tokio::test]
async fn a_lost_create_answer_in_a_tenant_of_10000_tasks_links_exactly_one_task() {
    on_each_engine(|| async {
        let sim = simulator();
        sim.seed_tasks(10_050);
        // This tenant does not honour erpID: the lookup must narrow otherwise.
        sim.ignore_filter("erpID");
        let app = spawn_with_sim(sim.clone(), |_| {}).await;

        // HubEx itself caps a list read without Range at 10,000 rows.
        let addr = app.app.as_ref().unwrap().sim_addr.unwrap();
        let answer = reqwest::Client::new()
            .post(format!("http://{addr}/fsm/AUTHZ/AccessTokens"))
            .json(&serde_json::json!({ "serviceToken": sim.service_token() }))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let token: qrdesk::backend::hubex::types::AccessTokenResponse =
            qrdesk::backend::hubex::read::parse_one(&answer).unwrap();
        let all: serde_json::Value = reqwest::Client::new()
            .get(format!("http://{addr}/fsm/WORK/Tasks"))
            .bearer_auth(&token.access_token)
            .header("X-Application-ID", "3")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let n = all
            .as_object()
            .map(|m| m.len())
            .or(all.as_array().map(|a| a.len()));
        assert_eq!(n, Some(10_000), "without Range the list stops at 10,000");

        let from = sim.calls().len();
        sim.fail("POST", "/WORK/Tasks", Fault::CreatedThenDrop, 1);
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let path = app.report(&code, "Кондиционер капает на пол").await;
        let r = app.wait_status(&path, "delivered", 20).await;
        let ours: Vec<_> = sim
            .tasks()
            .into_iter()
            .filter(|t| t.body.erp_id.as_deref() == Some(&qrdesk::delivery::reference(&r.id)))
            .collect();
        assert_eq!(ours.len(), 1, "exactly one task");
        assert_eq!(r.task_id.map(|t| t.0), Some(ours[0].id), "linked to it");
        let page = app.get(&path).await;
        assert!(
            page.body.contains(&ours[0].number),
            "number on the status page"
        );
        let lookups: Vec<Call> = since(&sim, from)
            .into_iter()
            .filter(|c| c.method == "GET" && c.path == "/WORK/Tasks")
            .collect();
        assert!(!lookups.is_empty());
        assert_lists_ranged(&lookups);
    })
    .await;
}

#[tokio::test]
async fn a_big_sync_never_delays_a_customers_task() {
    on_each_engine(|| async {
        let sim = simulator();
        // 120 calls a minute: one every 500 ms, bursts of 6.
        let app = spawn_with_sim(sim.clone(), |c| {
            c.hubex.max_calls_per_minute = 120;
            c.hubex.page_size = 1000;
        })
        .await;
        sim.set_max_page(1000);
        sim.edit_tenant(|t| {
            for i in 0..16000 {
                let location_id = [201, 203, 205, 206][i as usize % 4];
                t.add_asset(demo::DemoAsset {
                    id: 300_000 + i,
                    name: format!("Светильник № {i}"),
                    serial: format!("L-{i}"),
                    inventory: format!("ИНВ-L{i}"),
                    location_id,
                    company_id: 101,
                });
            }
        });
        let a = app.app.as_ref().unwrap();
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let sync_from = sim.calls().len();
        assert!(qrdesk::catalog::sync_in_background(
            a.pool.clone(),
            a.backend.clone(),
            a.sync.clone()
        ));
        // Four участки are read at once: the sync keeps four calls waiting, and
        // by now it has used up the budget's burst (30 at 120 a minute).
        wait_for(30, "the sync to read участки", || async {
            let reads = since(&sim, sync_from)
                .iter()
                .filter(|c| c.path == "/EXPORT/Assets" && !c.query.contains("2147483646"))
                .count();
            (reads >= 8).then_some(())
        })
        .await;
        let from = sim.calls().len();
        let started = Instant::now();
        let path = app.report(&code, "Кофемашина не включается").await;
        app.wait_status(&path, "delivered", 20).await;
        let took = started.elapsed();
        let before_create = since(&sim, from)
            .iter()
            .take_while(|c| !(c.method == "POST" && c.path == "/WORK/Tasks"))
            .count();
        assert!(
            a.sync.state().running,
            "the sync is still running when the task is in"
        );
        assert!(
            before_create <= 1 && took < Duration::from_millis(3000),
            "the task waited {took:?} and {before_create} sync calls"
        );
        app.drain_outbox(30).await;
    })
    .await;
}

fn check_cli(base: &str, extra_env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let dir = TempDir::new();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.arg("check")
        .args(args)
        .current_dir(&dir.0)
        .env("QRDESK_SERVER__DATA_DIR", dir.0.join("data"))
        .env("QRDESK_HUBEX__MODE", "live")
        .env("QRDESK_HUBEX__BASE_URL", base)
        .env("QRDESK_HUBEX__SERVICE_TOKEN", demo::SERVICE_TOKEN)
        .env("QRDESK_HUBEX__TIMEOUT_SECS", "2")
        .env("QRDESK_HUBEX__MAX_CALLS_PER_MINUTE", "6000")
        .env("RUST_LOG", "error");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn standalone_sim() -> (Simulator, String) {
    let sim = simulator();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = sim.spawn(listener);
    (sim, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn check_says_what_works_and_creates_a_task_only_when_asked() {
    on_each_engine(|| async {
        let (sim, base) = standalone_sim().await;
        let (ok, out) = tokio::task::spawn_blocking({
            let base = base.clone();
            move || check_cli(&base, &[], &[])
        })
        .await
        .unwrap();
        assert!(ok, "{out}");
        for line in [
            "HubEx base URL reachable",
            "Service token exchanged",
            "X-Application-ID accepted",
            "Anonymous user found: userID 789",
            "AssetsExport right present",
            "Центральный участок (7)",
            "Task type: 1 «Ремонт» — marked default in HubEx",
            "Request method: 4 «QR-код / Web»",
            "HubEx round trip",
            "Result: tasks can be created.",
        ] {
            assert!(out.contains(line), "missing {line:?} in:\n{out}");
        }
        assert!(sim.tasks().is_empty(), "no task without --create-test-task");

        let (ok, out) = tokio::task::spawn_blocking({
            let base = base.clone();
            move || check_cli(&base, &[], &["--create-test-task", "--lang", "ru"])
        })
        .await
        .unwrap();
        assert!(ok, "{out}");
        assert!(out.contains("Проверочная заявка создана"), "{out}");
        let tasks = sim.tasks();
        assert_eq!(tasks.len(), 1);
        assert!(tasks[0]
            .body
            .notes
            .as_deref()
            .unwrap()
            .contains("qrdesk check"));
        assert_eq!(
            tasks[0].body.requested_by_user_id,
            Some(demo::ANONYMOUS_USER_ID)
        );
        println!("{out}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_what_to_fix() {
    on_each_engine(|| async {
        let (sim, base) = standalone_sim().await;
        let run = |env: Vec<(&'static str, &'static str)>, base: String| {
            tokio::task::spawn_blocking(move || check_cli(&base, &env, &[]))
        };
        let (ok, out) = run(vec![("QRDESK_HUBEX__APPLICATION_ID", "4")], base.clone())
            .await
            .unwrap();
        assert!(!ok);
        assert!(
            out.contains("X-Application-ID refused: 4: 403, 5: OK"),
            "{out}"
        );
        assert!(out.contains("set hubex.application_id = 5"), "{out}");

        let (ok, out) = run(vec![("QRDESK_HUBEX__SERVICE_TOKEN", "wrong")], base.clone())
            .await
            .unwrap();
        assert!(!ok);
        assert!(out.contains("FAIL  Service token refused"), "{out}");

        sim.deny("AssetsExport");
        sim.deny("TasksList");
        sim.disable_anonymous_user();
        let (ok, out) = run(vec![("QRDESK_HUBEX__TASK_TYPE_ID", "77")], base.clone())
            .await
            .unwrap();
        assert!(!ok, "{out}");
        for line in [
            "WARN  No AssetsExport right",
            "give the API user's role the AssetsExport right",
            "WARN  No anonymous user",
            "FAIL  Missing rights: TasksList",
            "FAIL  Task type: 77: not in HubEx",
            "Result: tasks cannot be created yet",
        ] {
            assert!(out.contains(line), "missing {line:?} in:\n{out}");
        }

        let (ok, out) = run(vec![], "http://127.0.0.1:9".into()).await.unwrap();
        assert!(!ok);
        assert!(out.contains("FAIL  HubEx base URL not reachable"), "{out}");
        assert!(sim.tasks().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_connection_page_runs_the_check() {
    on_each_engine(|| async {
        let app = spawn_with_sim(simulator(), |_| {}).await;
        let staff = StaffClient::new(&app, qrdesk::store::admins::Role::Admin).await;
        let page = staff.get("/admin/connection").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Проверка ещё не запускалась"));
        let done = staff.post("/admin/connection/check", &[]).await;
        assert_eq!(done.status, 303);
        let page = wait_for(20, "the check to finish", || async {
            let p = staff.get("/admin/connection").await;
            p.body.contains("Результат проверки").then_some(p)
        })
        .await;
        assert!(
            page.body.contains("Заявки могут создаваться"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Анонимный пользователь найден"));
        assert!(page.body.contains("userID 789"));
        let viewer = StaffClient::new(&app, qrdesk::store::admins::Role::Viewer).await;
        assert_eq!(
            viewer.post("/admin/connection/check", &[]).await.status,
            403
        );
    })
    .await;
}
