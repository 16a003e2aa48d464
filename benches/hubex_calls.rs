//! Calls to HubEx, counted at the simulator: catalog sync at 2,500 and
//! 50,000 assets (first and unchanged) and status poll rounds at 40 and
//! 1,000 open tasks, each against the baseline measured in the same run —
//! the one-call-per-asset sync (no AssetsExport right, no usable filter) and
//! the one-call-per-task poll (a tenant that ignores `taskID` and
//! `lastModifiedFrom`). Wall time at HubEx's advised 60 calls a minute is
//! computed from the counts.
//!
//!     cargo bench --bench hubex_calls

use std::time::{Duration, Instant};

use qrdesk::backend::hubex::sim::{demo, Simulator};
use qrdesk::backend::hubex::HubexClient;
use qrdesk::backend::{AssetId, NewTask, NoProgress, TaskBackend};
use qrdesk::store::codes::Target;
use qrdesk::store::{self, Pool};

const PAGE: u32 = 200;

struct Tenant {
    sim: Simulator,
    client: HubexClient,
    pool: Pool,
    _dir: Dir,
}

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn tenant(name: &str, sim: Simulator) -> Tenant {
    let dir = std::env::temp_dir().join(format!("qrdesk-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pool = store::open(&format!("sqlite://{}/b.db", dir.display()), 4)
        .await
        .unwrap();
    sim.set_max_page(PAGE as usize);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = sim.spawn(listener);
    let client = HubexClient::new(
        &format!("http://{addr}"),
        &sim.service_token(),
        3,
        Duration::from_secs(30),
        PAGE,
        10_000_000,
    )
    .unwrap()
    .for_tenant(
        qrdesk::config::HubexConfig {
            task_type_id: 1,
            request_method_id: 4,
            ..qrdesk::config::Config::default().hubex
        },
        None,
    );
    Tenant {
        sim,
        client,
        pool,
        _dir: Dir(dir),
    }
}

async fn sync_calls(t: &Tenant) -> (usize, Duration) {
    let before = t.sim.calls().len();
    let started = Instant::now();
    qrdesk::catalog::sync(&t.pool, &t.client, &NoProgress)
        .await
        .unwrap();
    (t.sim.calls().len() - before, started.elapsed())
}

fn at_60(calls: usize) -> String {
    let minutes = calls as f64 / 60.0;
    if minutes >= 60.0 {
        format!("{:.1} h", minutes / 60.0)
    } else {
        format!("{minutes:.1} min")
    }
}

async fn catalog(assets: usize, districts: usize) {
    let bulk = tenant(&format!("bulk{assets}"), {
        let s = Simulator::new();
        s.set_tenant(demo::big(assets, districts));
        s
    })
    .await;
    let (first, first_t) = sync_calls(&bulk).await;
    let (again, again_t) = sync_calls(&bulk).await;
    let base = tenant(&format!("base{assets}"), {
        let s = Simulator::new();
        s.set_tenant(demo::big(assets, districts));
        s.deny("AssetsExport");
        s
    })
    .await;
    let (per_asset, per_asset_t) = sync_calls(&base).await;
    let (per_asset_again, _) = sync_calls(&base).await;
    println!(
        "sync {assets:>6} assets, {districts} участки: first {first:>4} calls ({}, {:.1} s here), unchanged {again:>4} ({}, {:.1} s); \
         baseline one call per asset {per_asset:>6} ({}, {:.1} s here) → {:.3}× the calls; per-asset path unchanged {per_asset_again}",
        at_60(first),
        first_t.as_secs_f64(),
        at_60(again),
        again_t.as_secs_f64(),
        at_60(per_asset),
        per_asset_t.as_secs_f64(),
        first as f64 / per_asset as f64,
    );
}

/// `n` delivered requests with open tasks in the simulator.
async fn open_tasks(t: &Tenant, n: usize) {
    let code = store::codes::create(&t.pool, Target::Asset(AssetId(1001)), None, store::now_ms())
        .await
        .unwrap();
    for i in 0..n {
        let id = uuid::Uuid::now_v7();
        let request = store::requests::NewRequest {
            id,
            code: code.as_str().to_owned(),
            asset_id: Some(AssetId(1001)),
            location_id: None,
            company_id: None,
            description: format!("Заявка {i}"),
            contact_name: None,
            contact_phone: None,
            contact_email: None,
            consent: false,
            client_ip_hash: None,
            lang: "ru".into(),
            token_hash: qrdesk::domain::codes::hex_sha256(id.as_bytes()),
            mail_link: None,
        };
        store::requests::insert_with_job(&t.pool, &request, &[], store::now_ms())
            .await
            .unwrap();
        let reference = format!("qrdesk-{id}");
        let created = t
            .client
            .create_task(&NewTask {
                stamp: id,
                reference,
                created_at: store::now_ms(),
                description: format!("Заявка {i}"),
                asset: Some(qrdesk::backend::TaskAsset {
                    id: AssetId(1001),
                    name: String::new(),
                    serial_number: None,
                    inventory_number: None,
                }),
                ..NewTask::default()
            })
            .await
            .unwrap();
        store::requests::mark_delivered(&t.pool, &id.to_string(), &created, store::now_ms())
            .await
            .unwrap();
        // As the worker does right after creating a task.
        qrdesk::delivery::refresh(
            &t.pool,
            &t.client,
            &id.to_string(),
            created.id,
            Default::default(),
        )
        .await
        .unwrap();
    }
    // Wait out the second of the last read (HubEx stamps changes to the second).
    tokio::time::sleep(Duration::from_millis(2100)).await;
}

async fn poll(n: usize) {
    let t = tenant(&format!("poll{n}"), Simulator::new()).await;
    open_tasks(&t, n).await;
    let round = |since: Option<i64>| {
        let (pool, client, sim) = (t.pool.clone(), &t.client, t.sim.clone());
        async move {
            let before = sim.calls().len();
            qrdesk::delivery::poll_round(&pool, client, since, Default::default())
                .await
                .unwrap();
            sim.calls().len() - before
        }
    };
    // The first round after delivery re-reads each conversation once: HubEx
    // stamps changes to the second, and the delivery read was in that second.
    let first = round(None).await;
    let full = round(None).await;
    let quiet = round(Some(store::now_ms() - 120_000)).await;
    for task in t.sim.tasks().iter().take(3) {
        t.sim.staff_reply(task.id, "Мастер в пути");
    }
    let changed = round(Some(store::now_ms() - 120_000)).await;
    // The baseline: one read per open task, as a poller without bulk reads.
    let before = t.sim.calls().len();
    for task in t.sim.tasks() {
        t.client
            .task_state(
                qrdesk::backend::TaskId(task.id),
                qrdesk::backend::Priority::Background,
            )
            .await
            .unwrap();
    }
    let per_task = t.sim.calls().len() - before;
    println!(
        "poll {n:>5} open tasks: first round after delivery {first:>4} calls, full round by id {full:>3}, \
         round of changes {quiet} (baseline one read per task {per_task:>5} → {:.3}×), round with 3 staff replies {changed}",
        quiet.max(1) as f64 / per_task as f64
    );
}

#[tokio::main]
async fn main() {
    catalog(2_500, 10).await;
    catalog(50_000, 25).await;
    poll(40).await;
    poll(1_000).await;
}
