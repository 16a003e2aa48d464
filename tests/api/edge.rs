//! The HTTP edge: a request id that follows a report to the task system, a
//! form view that writes nothing, what other instances change seen within
//! the memory's age, and errors that never show their text.

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_app, wait_for};

#[tokio::test]
async fn one_request_id_follows_a_report_to_hubex() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let page = app
            .submit(&code, &[("description", "Кофемашина течёт снизу")])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let id = page.request_id.expect("every answer carries X-Request-Id");
        assert!(id.len() >= 16, "{id}");
        let other = app.get(&format!("/q/{code}")).await;
        assert_ne!(
            other.request_id.as_deref(),
            Some(id.as_str()),
            "one id per request"
        );
        let sim = app.sim.clone();
        let created = wait_for(10, "the task to be created", || {
            let sim = sim.clone();
            async move {
                sim.calls()
                    .into_iter()
                    .find(|c| c.method == "POST" && c.path.ends_with("/Tasks") && c.status < 300)
            }
        })
        .await;
        assert_eq!(
            created.request_id.as_deref(),
            Some(id.as_str()),
            "the task creation carries the id of the form post that caused it"
        );
        let stored: Option<String> = sqlx::query_scalar("SELECT trace_id FROM jobs LIMIT 1")
            .fetch_optional(app.pool())
            .await
            .unwrap()
            .flatten();
        // The job may already be done and gone; when it is still there it has the id.
        assert!(stored.is_none_or(|s| s == id));
    })
    .await;
}

#[tokio::test]
async fn opening_a_form_writes_nothing_and_scans_are_still_counted() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        // Ten phones open the form three times each (reloads, the language
        // switch): ten scans.
        let mut cookie = None;
        for round in 0..3 {
            for phone in 0..10 {
                let agent = format!("Mozilla/5.0 (Linux; Android 14; phone {phone}) Mobile");
                let path = if round == 1 {
                    format!("/q/{code}?lang=en")
                } else {
                    format!("/q/{code}")
                };
                let resp = app
                    .client
                    .get(format!("{}{path}", app.url))
                    .header("user-agent", agent)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let set = resp
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .find(|c| c.starts_with("seen_"))
                    .expect("the counted-scan cookie");
                assert!(
                    set.contains(&format!("Path=/q/{code}")) && set.contains("Max-Age=3600"),
                    "{set}"
                );
                cookie.get_or_insert(set.split(';').next().unwrap().to_owned());
            }
        }
        // A browser that keeps the cookie is not counted again, even from a
        // new address or after an update.
        let resp = app
            .client
            .get(format!("{}/q/{code}", app.url))
            .header("user-agent", "Mozilla/5.0 (X11; Linux) updated")
            .header("cookie", cookie.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            !resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("seen_")),
            "the hour is not renewed by a reload"
        );
        // An eleventh phone opens the form and sends it wrong: one scan, the
        // form coming back with a message is not another.
        assert_eq!(
            app.submit(&code, &[("description", "ой")]).await.status,
            422
        );
        let (count, last): (i64, Option<i64>) =
            sqlx::query_as("SELECT scan_count, last_scan_at FROM codes WHERE code = $1")
                .bind(code.as_str())
                .fetch_one(app.pool())
                .await
                .unwrap();
        assert!(
            count < 30 && (count == 0) == last.is_none(),
            "form views do not each write: {count} in the database right away"
        );
        // Written in a batch a few seconds later.
        wait_for(15, "the scan counts to be written", || async {
            let n: i64 = sqlx::query_scalar("SELECT scan_count FROM codes WHERE code = $1")
                .bind(code.as_str())
                .fetch_one(app.pool())
                .await
                .unwrap();
            (n >= 11).then_some(n)
        })
        .await;
        app.app.as_ref().unwrap().flush_scans().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT scan_count FROM codes WHERE code = $1")
            .bind(code.as_str())
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(n, 11, "one scan per visitor an hour");
        // And by day, for the code page's chart.
        let days: Vec<(i64, i64)> =
            sqlx::query_as("SELECT day, scans FROM code_scan_days WHERE code = $1")
                .bind(code.as_str())
                .fetch_all(app.pool())
                .await
                .unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].1, 11);
    })
    .await;
}

#[tokio::test]
async fn a_change_made_elsewhere_reaches_the_form_within_seconds() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        assert_eq!(app.get(&format!("/q/{code}")).await.status, 200);
        // Another instance (or a hand-written query) revokes the code.
        sqlx::query("UPDATE codes SET state = 'revoked' WHERE code = $1")
            .bind(code.as_str())
            .execute(app.pool())
            .await
            .unwrap();
        let started = std::time::Instant::now();
        wait_for(5, "the form to show the revoked page", || async {
            (app.get(&format!("/q/{code}")).await.status == 404).then_some(())
        })
        .await;
        assert!(
            started.elapsed() <= qrdesk::store::memo::MAX_AGE + std::time::Duration::from_secs(1),
            "seen within the memory's age: {:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn a_database_failure_shows_a_plain_page_without_its_text() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        // The table the status page reads is gone: an internal error.
        sqlx::query("ALTER TABLE requests RENAME TO requests_gone")
            .execute(app.pool())
            .await
            .unwrap();
        let status = app.get("/t/ABCDEFGHJKMNPQRSTVWXYZ0123").await;
        assert_eq!(status.status, 500, "{}", status.body);
        assert!(
            status.body.contains("Что-то пошло не так") || status.body.contains("Попробуйте"),
            "{}",
            status.body
        );
        for leak in [
            "no such table",
            "requests_gone",
            "sqlx",
            "SQLITE",
            "error returned",
        ] {
            assert!(!status.body.contains(leak), "{leak} shown: {}", status.body);
        }
        sqlx::query("ALTER TABLE requests_gone RENAME TO requests")
            .execute(app.pool())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn public_pages_are_compressed_admin_pages_are_not_and_static_files_are_immutable() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app
            .code_for(qrdesk::store::codes::Target::Asset(
                qrdesk::backend::AssetId(1001),
            ))
            .await;
        let fetch = |path: String, encoding: &'static str| {
            let client = app.client.clone();
            let url = format!("{}{path}", app.url);
            async move {
                client
                    .get(url)
                    .header("accept-encoding", encoding)
                    .send()
                    .await
                    .unwrap()
            }
        };
        for (encoding, expect) in [("br", "br"), ("gzip", "gzip"), ("gzip, br", "br")] {
            for path in [
                format!("/q/{}", code.as_str()),
                format!("/static/style.css?v={}", qrdesk::VERSION),
                "/static/app.js".to_owned(),
            ] {
                let r = fetch(path.clone(), encoding).await;
                assert_eq!(r.status(), 200, "{path}");
                assert_eq!(
                    r.headers()
                        .get("content-encoding")
                        .map(|v| v.to_str().unwrap()),
                    Some(expect),
                    "{path} with {encoding}"
                );
            }
        }
        let plain = fetch(format!("/q/{}", code.as_str()), "identity").await;
        assert!(plain.headers().get("content-encoding").is_none());
        // The sign-in page carries a form token next to the query: never compressed.
        let admin = fetch("/admin/login".to_owned(), "gzip, br").await;
        assert!(admin.headers().get("content-encoding").is_none());

        let versioned = fetch(
            format!("/static/style.css?v={}", qrdesk::VERSION),
            "identity",
        )
        .await;
        assert_eq!(
            versioned.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let old = fetch("/static/style.css?v=0.0.0".to_owned(), "identity").await;
        assert_eq!(old.headers()["cache-control"], "public, max-age=3600");
    })
    .await;
}
