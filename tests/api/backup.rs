//! `qrdesk backup --to FILE` while qrdesk takes requests, and a restore from it.

use std::process::Command;

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{engine, simulator, spawn_app, start, test_config, TempDir};

fn backup(data_dir: &std::path::Path, to: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(["backup", "--to", to.to_str().unwrap()])
        .env("QRDESK_SERVER__DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn an_online_backup_restores_to_a_working_installation() {
    if engine() != qrdesk::store::Engine::Sqlite {
        return;
    }
    let app = spawn_app().await;
    let key = app.dir.0.join("mail-link.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let path = app.report(&code, "Не работает вытяжка на кухне").await;
    app.wait_status(&path, "delivered", 10).await;
    app.drain_outbox(10).await;

    // Requests keep coming while the copy is taken.
    let out_dir = TempDir::new();
    let to = out_dir.0.join("qrdesk-backup.db");
    let writer = {
        let (url, code) = (app.url.clone(), code.clone());
        tokio::spawn(async move {
            let client = crate::helpers::phone_client();
            for i in 0..15 {
                let text = format!("Заявка номер {i} во время резервной копии");
                let sent = crate::crash::send_form(
                    &client,
                    &url,
                    code.as_str(),
                    &[("description", &text)],
                )
                .await;
                assert_eq!(sent.status(), 303);
            }
        })
    };
    let dir = app.dir.0.clone();
    let to2 = to.clone();
    let out = tokio::task::spawn_blocking(move || backup(&dir, &to2))
        .await
        .unwrap();
    writer.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("database copied"), "{said}");
    let key_copy = out_dir.0.join("qrdesk-backup.db.mail-link.key");
    assert_eq!(
        std::fs::read(&key_copy).unwrap(),
        std::fs::read(&key).unwrap()
    );
    // Review finding: the backup was readable by everyone (0644). It holds
    // contacts and webhook secrets: the owner's alone, like the key copy.
    assert_eq!(mode(&to), 0o600, "the backup");
    assert_eq!(mode(&key_copy), 0o600, "the key copy");
    // The live data folder and database too.
    assert_eq!(mode(&app.dir.0), 0o700, "the data folder");
    assert_eq!(mode(&app.dir.0.join("qrdesk.db")), 0o600, "the database");
    // A second backup to the same name is refused, the first one kept.
    let again = backup(&app.dir.0, &to);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // The copy is a sound database.
    let copy = qrdesk::store::connect(&format!("sqlite://{}", to.display()), 1)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    copy.close().await;
    app.drain_outbox(20).await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(total, 16, "the requests sent during the backup were taken");

    // Restore: the copy and the key into a new data directory, then start.
    let restored_dir = TempDir::new();
    std::fs::copy(&to, restored_dir.0.join("qrdesk.db")).unwrap();
    // As an older version left it: readable by everyone.
    set_mode(&restored_dir.0.join("qrdesk.db"), 0o644);
    set_mode(&restored_dir.0, 0o755);
    let restored_db = restored_dir.0.join("qrdesk.db");
    let restored_folder = restored_dir.0.clone();
    std::fs::copy(&key_copy, restored_dir.0.join("mail-link.key")).unwrap();
    let config = test_config(&restored_dir);
    let restored = start(config, restored_dir, None, simulator()).await;
    assert_eq!(mode(&restored_db), 0o600, "made private at start");
    assert_eq!(mode(&restored_folder), 0o700, "made private at start");
    // The customer's private link still opens their request.
    let page = restored.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Не работает вытяжка на кухне"));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(restored.pool())
        .await
        .unwrap();
    assert!((1..=16).contains(&n), "{n}");
    restored.drain_outbox(20).await;
}

#[tokio::test]
async fn backup_says_what_to_use_for_postgresql() {
    let dir = TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(["backup", "--to", dir.0.join("x.db").to_str().unwrap()])
        .env("QRDESK_SERVER__DATA_DIR", &dir.0)
        .env("QRDESK_DATABASE__URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
}
