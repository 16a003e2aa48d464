//! Contract tests: the HubEx client against fixed answers in every shape the
//! API documents or is known to use (arrays with ids, id-keyed maps without,
//! omitted and unknown fields, PascalCase names, string and object
//! coordinates, asset участки without an id, a wrapped list, unreadable
//! items). The answers are files under `tests/fixtures/hubex/<set>/`, served
//! by a small tenant of fixtures: `ES/Assets` → `ES_Assets.json`, with
//! `@districtID=N` for a filtered read and `.status` for a refusal.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use qrdesk::backend::hubex::HubexClient;
use qrdesk::backend::{AssetId, DistrictId, NewTask, Priority, TaskBackend, TaskId};
use qrdesk::store::{self, catalog};

use crate::helpers::TempDir;

async fn fixture(
    State(dir): State<PathBuf>,
    uri: Uri,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let name = uri.path().trim_start_matches("/fsm/").replace('/', "_");
    let district = q.iter().find(|(k, _)| k == "districtID").map(|(_, v)| v);
    if let Some(d) = district {
        if let Ok(body) = std::fs::read(dir.join(format!("{name}@districtID={d}.json"))) {
            return ([("content-type", "application/json")], body).into_response();
        }
    }
    if let Ok(status) = std::fs::read_to_string(dir.join(format!("{name}.status"))) {
        let status = StatusCode::from_u16(status.trim().parse().unwrap()).unwrap();
        return (status, r#"[{"code":"AccessDenied","message":"fixture"}]"#).into_response();
    }
    match std::fs::read(dir.join(format!("{name}.json"))) {
        Ok(body) => ([("content-type", "application/json")], body).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A tenant that answers from the fixture set `set`.
async fn fixture_tenant(set: &str) -> HubexClient {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hubex")
        .join(set);
    assert!(dir.is_dir(), "{}", dir.display());
    let app = axum::Router::new().fallback(fixture).with_state(dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    HubexClient::new(
        &format!("http://{addr}"),
        "fixture-token",
        3,
        Duration::from_secs(2),
        50,
        100_000,
    )
    .unwrap()
}

/// Syncs from the fixture set into a fresh database and checks what the
/// mirror holds: the same catalog from either set.
async fn sync_reads_the_catalog(set: &str) {
    let dir = TempDir::new();
    let pool = store::open(&format!("sqlite://{}/c.db", dir.0.display()), 2)
        .await
        .unwrap();
    let client = fixture_tenant(set).await;
    let report = qrdesk::catalog::sync(&pool, &client, &qrdesk::backend::NoProgress)
        .await
        .unwrap_or_else(|e| panic!("{set}: sync failed: {e:#}"));
    assert_eq!(
        (
            report.districts,
            report.locations,
            report.companies,
            report.assets
        ),
        (2, 2, 2, 3),
        "{set}: an item without an id or a name is skipped, the rest kept"
    );
    let names: Vec<String> = catalog::districts(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["Северный участок", "Центральный участок"], "{set}");
    for (asset, district) in [(1001, 1), (1002, 1), (1003, 2)] {
        assert_eq!(
            catalog::asset_districts(&pool, AssetId(asset))
                .await
                .unwrap(),
            vec![DistrictId(district)],
            "{set}: asset {asset}"
        );
    }
    let a = catalog::asset(&pool, AssetId(1001)).await.unwrap().unwrap();
    assert_eq!(a.name, "Кофемашина Jura");
    assert_eq!(a.company_id.map(|c| c.0), Some(101), "{set}");
    assert_eq!(a.location_id.map(|l| l.0), Some(201), "{set}");
    assert_eq!(
        a.address.as_deref(),
        Some("Санкт-Петербург, Невский пр., 28"),
        "{set}"
    );
    let b = catalog::asset(&pool, AssetId(1002)).await.unwrap().unwrap();
    assert_eq!(
        b.company_id.map(|c| c.0),
        Some(101),
        "{set}: company by id or object"
    );
    assert_eq!(b.location_id.map(|l| l.0), Some(201), "{set}");
    let loc = catalog::location(&pool, qrdesk::backend::LocationId(202))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loc.address, "Санкт-Петербург, ул. Шостаковича, 8");
    let anon = store::get_setting(&pool, "anonymous_user_id")
        .await
        .unwrap();
    assert_eq!(anon.as_deref(), Some("789"), "{set}");
    let config = qrdesk::config::Config::default().hubex;
    let d = qrdesk::backend::hubex::defaults::task_defaults(&pool, &config)
        .await
        .unwrap();
    assert_eq!(
        (d.task_type_id, d.request_method_id, d.criticality_id),
        (1, 4, Some(2)),
        "{set}"
    );
}

#[tokio::test]
async fn sync_reads_the_documented_shapes() {
    sync_reads_the_catalog("documented").await;
}

#[tokio::test]
async fn sync_reads_the_other_shapes() {
    sync_reads_the_catalog("other").await;
}

/// Task reads and conversations in both sets: keyed without id or an array
/// with it; `isExternal` missing reads as internal.
async fn tasks_and_conversations_read(set: &str) {
    let client = fixture_tenant(set).await;
    let polled = client.poll_tasks(&[TaskId(5001)], None).await.unwrap();
    assert_eq!(polled.len(), 1, "{set}");
    let (id, state) = &polled[0];
    assert_eq!(*id, TaskId(5001));
    assert!(
        state.number.as_deref().unwrap().ends_with("207000000003"),
        "{set}"
    );
    assert_eq!(state.status_name.as_deref(), Some("В работе"), "{set}");
    assert!(
        state.in_work_at.is_some() && state.created_at.is_some(),
        "{set}"
    );
    assert!(state.modified_at.is_some(), "{set}: lastModified read");
    let messages = client
        .conversation(TaskId(5001), Priority::View)
        .await
        .unwrap();
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Мастер приедет завтра"], "{set}: external only");
    assert_eq!(messages[0].author.as_deref(), Some("Ольга Диспетчер"));
    let task = NewTask {
        stamp: uuid::Uuid::now_v7(),
        reference: "qrdesk-contract".into(),
        created_at: store::now_ms(),
        description: String::new(),
        asset: None,
        ..NewTask::default()
    };
    let found = client
        .find_task(&task)
        .await
        .unwrap()
        .expect("found by erpID");
    assert_eq!(found.id, TaskId(5001), "{set}");
}

#[tokio::test]
async fn tasks_and_conversations_read_in_the_documented_shapes() {
    tasks_and_conversations_read("documented").await;
}

#[tokio::test]
async fn tasks_and_conversations_read_in_the_other_shapes() {
    tasks_and_conversations_read("other").await;
}
