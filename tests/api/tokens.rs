//! API tokens from the command line: shown once, kept only as a hash, listed
//! by their first characters, revoked at once.

use std::process::Command;

use qrdesk::domain::api_token::ApiToken;
use qrdesk::store::{self, api_tokens, schema, ApiRole, Engine};

use crate::helpers::{engine, on_each_engine, TempDir, TestDb};

fn qrdesk(dir: &TempDir, db: &Option<TestDb>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.args(args)
        .env("QRDESK_SERVER__DATA_DIR", &dir.0)
        .env("RUST_LOG", "warn");
    if let Some(db) = db {
        cmd.env("QRDESK_DATABASE__URL", &db.url);
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn tokens_are_shown_once_kept_as_a_hash_and_revoked_at_once() {
    on_each_engine(|| async {
        let dir = TempDir::new();
        let db = match engine() {
            Engine::Postgres => Some(TestDb::create().await),
            Engine::Sqlite => None,
        };
        let out = qrdesk(
            &dir,
            &db,
            &[
                "tokens",
                "create",
                "--description",
                "Интеграция с сайтом",
                "--role",
                "admin",
                "--json",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let secret = made["token"].as_str().unwrap().to_owned();
        let token = ApiToken::parse(&secret).expect("a well-formed token");
        let id = made["id"].as_i64().unwrap();

        let url = db
            .as_ref()
            .map(|d| d.url.clone())
            .unwrap_or_else(|| format!("sqlite://{}/qrdesk.db", dir.0.display()));
        let pool = store::connect(&url, 1).await.unwrap();
        // Nowhere in the database, in no column of any table.
        for (table, t) in schema::read(&pool).await.unwrap() {
            for c in t.columns.iter().filter(|c| c.kind == schema::Kind::Text) {
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE {} LIKE $1",
                    c.name
                ))
                .bind(format!("%{}%", &secret[8..]))
                .fetch_one(&pool)
                .await
                .unwrap();
                assert_eq!(n, 0, "the token is in {table}.{}", c.name);
            }
        }
        let found = api_tokens::authenticate(&pool, &token, store::now_ms())
            .await
            .unwrap()
            .expect("the token is known by its hash");
        assert_eq!((found.id, found.role), (id, ApiRole::Admin));
        assert!(found.last_used_at.is_none(), "read before this use");
        let again = api_tokens::authenticate(&pool, &token, store::now_ms())
            .await
            .unwrap()
            .unwrap();
        assert!(again.last_used_at.is_some(), "the use is noted");

        let list = qrdesk(&dir, &db, &["tokens", "list", "--json"]);
        let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        assert_eq!(listed[0]["id"], id);
        assert_eq!(listed[0]["token_start"], &secret[..10]);
        assert_eq!(listed[0]["role"], "admin");
        assert!(listed[0]["last_used_at"].is_string());
        assert!(!String::from_utf8_lossy(&list.stdout).contains(&secret));

        let revoked = qrdesk(&dir, &db, &["tokens", "revoke", &id.to_string()]);
        assert!(revoked.status.success());
        assert!(api_tokens::authenticate(&pool, &token, store::now_ms())
            .await
            .unwrap()
            .is_none());
        let twice = qrdesk(&dir, &db, &["tokens", "revoke", &id.to_string()]);
        assert!(!twice.status.success());
        assert!(String::from_utf8_lossy(&twice.stderr).contains("no active token"));

        let bad_role = qrdesk(
            &dir,
            &db,
            &["tokens", "create", "--description", "x", "--role", "root"],
        );
        assert!(!bad_role.status.success());
        assert!(String::from_utf8_lossy(&bad_role.stderr).contains("admin or viewer"));
        pool.close().await;
    })
    .await;
}
