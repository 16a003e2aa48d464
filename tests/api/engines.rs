//! SQLite and PostgreSQL side by side: the two migration folders give one
//! schema, and `qrdesk db copy` moves a running installation between them.

use std::process::Command;

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;
use qrdesk::store::{self, schema};

use crate::helpers::{postgres_url, spawn_app, start, TempDir, TestDb};

#[tokio::test]
async fn both_migration_folders_give_the_same_schema() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: nothing to compare SQLite with");
        return;
    }
    let dir = TempDir::new();
    let sqlite = store::open(&format!("sqlite://{}/s.db", dir.0.display()), 1)
        .await
        .unwrap();
    let db = TestDb::create().await;
    let postgres = store::open(&db.url, 1).await.unwrap();
    let (s, p) = (
        schema::read(&sqlite).await.unwrap(),
        schema::read(&postgres).await.unwrap(),
    );
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        p.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (name, st) in &s {
        let pt = &p[name];
        let mut sc = st.columns.clone();
        let mut pc = pt.columns.clone();
        sc.sort();
        pc.sort();
        assert_eq!(sc, pc, "columns of {name} (SQLite left, PostgreSQL right)");
        assert_eq!(st.indexes, pt.indexes, "indexes of {name}");
    }
    assert!(s.len() >= 20, "{} tables read", s.len());
}

fn qrdesk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn db_copy_moves_an_installation_to_postgresql() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: no PostgreSQL to copy to");
        return;
    }
    // A used SQLite installation: codes, delivered requests, a comment.
    let app = spawn_app().await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let other = app.code_for(Target::Asset(AssetId(1002))).await;
    let first = app.report(&code, "Течёт кондиционер в переговорной").await;
    let second = app.report(&other, "Не греет батарея").await;
    app.drain_outbox(10).await;
    let sent = crate::conversation::post_comment(&app, &first, "Капает сильнее", None).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    app.drain_outbox(10).await;
    let before_first = app.request_by_status_path(&first).await;
    let before_second = app.request_by_status_path(&second).await;
    let codes_before = store::codes::list(app.pool()).await.unwrap();
    let from = app.config.database_url();
    let mut app = app;
    app.app.take().unwrap().stop().await;
    let crate::helpers::TestApp {
        mut config,
        dir,
        sim,
        ..
    } = app;

    let db = TestDb::create().await;
    let out = qrdesk(&["db", "copy", "--from", &from, "--to", &db.url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("copied"), "{said}");
    // Once is enough: a second copy would mix two installations.
    let again = qrdesk(&["db", "copy", "--from", &from, "--to", &db.url]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The same installation, now on PostgreSQL.
    config.database.url = db.url.clone();
    let app = start(config, dir, Some(db), sim).await;
    assert_eq!(
        store::codes::list(app.pool()).await.unwrap().len(),
        codes_before.len()
    );
    for (path, before) in [(&first, &before_first), (&second, &before_second)] {
        let after = app.request_by_status_path(path).await;
        assert_eq!(
            (
                &after.id,
                &after.status,
                &after.task_number,
                after.created_at
            ),
            (
                &before.id,
                &before.status,
                &before.task_number,
                before.created_at
            )
        );
        let page = app.get(path).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains(before.task_number.as_deref().expect("delivered")),
            "the status page shows the task number"
        );
    }
    assert!(app.get(&first).await.body.contains("Капает сильнее"));
    // New work continues after the copied ids.
    let third = app.report(&code, "Снова течёт").await;
    let r = app.wait_status(&third, "delivered", 10).await;
    assert!(r.task_number.is_some());
    assert_eq!(app.tasks().len(), 3);
}

#[tokio::test]
async fn migrate_on_postgresql_names_the_engine_not_the_password() {
    if postgres_url().is_none() {
        eprintln!("QRDESK_TEST_POSTGRES_URL is not set: nothing to migrate");
        return;
    }
    let db = TestDb::create().await;
    // The test server trusts local connections; the password is only there to be hidden.
    let url = db.url.replacen(
        "postgres://postgres@",
        "postgres://postgres:s3cret-pass@",
        1,
    );
    assert_ne!(url, db.url, "a URL of the form postgres://postgres@host/db");
    let dir = TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .arg("migrate")
        .env("QRDESK_DATABASE__URL", &url)
        .env("QRDESK_SERVER__DATA_DIR", &dir.0)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("up to date (PostgreSQL)"), "{stdout}");
    assert!(stdout.contains("postgres:***@"), "{stdout}");
    assert!(
        !stdout.contains("s3cret-pass") && !stderr.contains("s3cret-pass"),
        "the password stays out of the output"
    );
    let pool = store::connect(&db.url, 1).await.unwrap();
    assert!(!schema::read(&pool).await.unwrap().is_empty());
}
