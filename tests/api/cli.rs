//! The `qrdesk` command as automation uses it.

use std::process::Command;

use crate::helpers::TempDir;

fn qrdesk(dir: &TempDir, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(args)
        .current_dir(&dir.0)
        .env("QRDESK_SERVER__DATA_DIR", dir.0.join("data"))
        .env("QRDESK_SERVER__PUBLIC_URL", "https://qr.example.ru")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn codes_create_prints_json_and_refuses_bad_targets() {
    let dir = TempDir::new();
    let out = qrdesk(&dir, &["codes", "create", "--asset", "1001", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = v["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert_eq!(v["url"], format!("https://qr.example.ru/q/{code}"));

    let out = qrdesk(&dir, &["codes", "create", "--location", "205", "--json"]);
    assert!(out.status.success());
    let out = qrdesk(&dir, &["codes", "create", "--district", "2"]);
    assert!(out.status.success());

    let out = qrdesk(&dir, &["codes", "create", "--asset", "999999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the synced catalog"));

    let dir2 = TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(["codes", "create", "--asset", "1020"])
        .current_dir(&dir2.0)
        .env("QRDESK_SERVER__DATA_DIR", dir2.0.join("data"))
        .env("QRDESK_HUBEX__ALLOWED_DISTRICTS", "1,2,3")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("outside the allowed участки"), "{stderr}");
    // The old name of the setting still works, with a warning naming the new one.
    assert!(
        stderr.contains(
            "QRDESK_HUBEX__ALLOWED_DISTRICTS is an old name, use QRDESK_CATALOG__ALLOWED_DISTRICTS"
        ),
        "{stderr}"
    );

    let out = qrdesk(&dir, &["codes", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(list[0]["code"], code);

    let out = qrdesk(&dir, &["codes", "revoke", code]);
    assert!(out.status.success());
    let out = qrdesk(&dir, &["codes", "revoke", code]);
    assert!(!out.status.success());
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_key() {
    let dir = TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args(["migrate"])
        .current_dir(&dir.0)
        .env("QRDESK_DELIVERY__LEASE_SECS", "forever")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.lease_secs") && err.contains("QRDESK_DELIVERY__LEASE_SECS"),
        "{err}"
    );
}

#[test]
fn assets_create_and_import_fill_the_own_catalog_and_are_refused_with_hubex() {
    let dir = TempDir::new();
    let out = qrdesk(&dir, &["assets", "create", "--name", "Насос"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("synced from HubEx"));

    let b24 = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qrdesk"))
            .args(args)
            .current_dir(&dir.0)
            .env("QRDESK_SERVER__DATA_DIR", dir.0.join("b24"))
            .env("QRDESK_BACKEND__KIND", "bitrix24")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = b24(&[
        "assets",
        "create",
        "--name",
        "Насос ГВС",
        "--site",
        "Котельная",
        "--address",
        "Москва, ул. Лесная, 5",
        "--serial",
        "SN-7",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(id, 1);
    let out = b24(&["assets", "create", "--name", " "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name: Give the equipment's name"));

    let csv = dir.0.join("assets.csv");
    std::fs::write(
        &csv,
        "name,site,serial\nКран,Котельная,K-1\n,Склад,\nЛифт,Подъезд 1,\n",
    )
    .unwrap();
    let out = b24(&["assets", "import", csv.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 rows can be added, 1 have errors"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: name"));
    let out = b24(&["assets", "import", csv.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 assets added"));
    // A code on an own asset.
    let out = b24(&["codes", "create", "--asset", "3", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
