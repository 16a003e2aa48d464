//! Floods and bursts: per-IP quotas, the per-sticker cap, and the friendly 429.

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::spawn_with;

const TEXT: &str = "Не работает кофемашина, горит красный индикатор";

#[tokio::test]
async fn one_address_hammering_gets_429_with_retry_after_while_pages_still_load() {
    let app = spawn_with(|c| {
        c.limits.posts_per_minute = 6;
        c.limits.posts_burst = 3;
        c.limits.gets_per_minute = 100_000;
        c.limits.gets_burst = 100_000;
    })
    .await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = app.submit(&code, &[("description", TEXT)]).await;
        statuses.push(page.status);
        if page.status == 429 {
            assert!(
                page.body.contains("Слишком много запросов")
                    && page.body.contains("введённый текст сохранён")
            );
        }
    }
    assert_eq!(&statuses[..3], &[303, 303, 303], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let resp = app
        .client
        .post(format!("{}/q/{code}", app.url))
        .form(&[("description", TEXT)])
        .send()
        .await
        .unwrap();
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    // Reading pages has its own quota, and the admin area and health checks none.
    assert_eq!(app.get(&format!("/q/{code}")).await.status, 200);
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let app = spawn_with(|c| {
        c.limits.posts_per_minute = 2;
        c.limits.posts_burst = 2;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    // Behind the proxy, each customer address has its own quota.
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        for _ in 0..2 {
            let form = app.get(&format!("/q/{code}")).await;
            let token = form.input("form_token").unwrap();
            let resp = app
                .client
                .post(format!("{}/q/{code}", app.url))
                .header("x-forwarded-for", ip)
                .form(&[("form_token", token.as_str()), ("description", TEXT)])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 303, "{ip}");
        }
    }
    let third = app
        .client
        .post(format!("{}/q/{code}", app.url))
        .header("x-forwarded-for", "198.51.100.1")
        .form(&[("description", TEXT)])
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 429, "the same customer a third time");
}

#[tokio::test]
async fn one_sticker_cannot_create_hundreds_of_tasks() {
    let app = spawn_with(|c| c.limits.code_requests_per_hour = 3).await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    for _ in 0..3 {
        assert_eq!(
            app.submit(&code, &[("description", TEXT)]).await.status,
            303
        );
    }
    let page = app.submit(&code, &[("description", TEXT)]).await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("очень много заявок"));
    assert!(page.body.contains(TEXT), "the text is kept");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(stored, 3);
    // Another sticker is unaffected.
    let other = app.code_for(Target::Asset(AssetId(1002))).await;
    assert_eq!(
        app.submit(&other, &[("description", TEXT)]).await.status,
        303
    );
}

#[tokio::test]
async fn scripts_that_fill_forms_instantly_are_dropped_quietly() {
    let app = spawn_with(|c| c.limits.min_fill_ms = 60_000).await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let page = app.submit(&code, &[("description", TEXT)]).await;
    assert_eq!(page.status, 200, "looks accepted");
    assert!(page.body.contains("Спасибо"));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored");
}

#[tokio::test]
async fn the_same_text_on_the_same_sticker_joins_the_first_request() {
    let app = spawn_with(|c| c.limits.duplicate_window_secs = 600).await;
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    let first = app.report(&code, TEXT).await;
    let r = app.wait_status(&first, "delivered", 10).await;
    let again = app
        .submit(
            &code,
            &[
                ("description", TEXT),
                ("phone", "+7 999 123-45-67"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("Такая заявка уже есть"));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(app.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let note = crate::helpers::wait_for(10, "the contact noted on the first task", || async {
        app.sim.messages().into_iter().find(|m| !m.by_staff)
    })
    .await;
    assert_eq!(note.task_id, r.task_id.unwrap().0);
    assert!(note.message.contains("+79991234567"));
    // A different text is a new request.
    let other = app
        .report(&code, "Кофемашина протекает снизу, лужа на полу")
        .await;
    app.wait_status(&other, "delivered", 10).await;
    assert_eq!(app.tasks().len(), 2);
}
