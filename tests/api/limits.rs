//! Floods and bursts: per-IP quotas, the per-sticker cap, and the friendly 429.

use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_with};

const TEXT: &str = "Не работает кофемашина, горит красный индикатор";

#[tokio::test]
async fn one_address_hammering_gets_429_with_retry_after_while_pages_still_load() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.limits.posts_per_minute = 6;
            c.limits.posts_burst = 3;
            c.limits.gets_per_minute = 100_000;
            c.limits.gets_burst = 100_000;
            c.limits.limited_delay_ms = 300;
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
        let asked = std::time::Instant::now();
        let resp = app
            .client
            .post(format!("{}/q/{code}", app.url))
            .form(&[("description", TEXT)])
            .send()
            .await
            .unwrap();
        // A refused request is held back, so a looping script slows down.
        assert!(asked.elapsed() >= std::time::Duration::from_millis(300));
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&retry), "Retry-After {retry}");
        // Reading pages has its own quota, and the admin area and health checks none.
        assert_eq!(app.get(&format!("/q/{code}")).await.status, 200);
        assert_eq!(app.get("/healthz").await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    on_each_engine(|| async {
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
        app.drain_outbox(30).await;
    })
    .await;
}

#[tokio::test]
async fn one_sticker_cannot_create_hundreds_of_tasks() {
    on_each_engine(|| async {
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
        app.drain_outbox(30).await;
    })
    .await;
}

#[tokio::test]
async fn scripts_that_fill_forms_instantly_are_dropped_quietly() {
    on_each_engine(|| async {
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
    })
    .await;
}

#[tokio::test]
async fn the_same_text_on_the_same_sticker_joins_the_first_request() {
    on_each_engine(|| async {
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
        assert!(!note.is_external, "for staff only");
        // A different text is a new request.
        let other = app
            .report(&code, "Кофемашина протекает снизу, лужа на полу")
            .await;
        app.wait_status(&other, "delivered", 10).await;
        assert_eq!(app.tasks().len(), 2);
    })
    .await;
}

/// The number behind a form's proof-of-work hash, found the way a browser does.
fn solve_challenge(page: &crate::helpers::Page) -> u32 {
    let fieldset = &page.body[page.body.find("id=\"challenge\"").expect("a challenge")..];
    let attr = |name: &str| {
        let start = fieldset.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        fieldset[start..start + fieldset[start..].find('"').unwrap()].to_owned()
    };
    let (salt, hash) = (attr("data-salt"), attr("data-hash"));
    let max: u32 = attr("data-max").parse().unwrap();
    (0..=max)
        .find(|&n| qrdesk::intake::challenge::hash_hex(&salt, n) == hash)
        .expect("a solution within the range")
}

/// The sum the no-JavaScript question asks for.
pub(crate) fn answer_question(page: &crate::helpers::Page) -> u32 {
    let start = page.body.find("Сколько будет ").expect("the question") + "Сколько будет ".len();
    let q = &page.body[start..start + page.body[start..].find('?').unwrap()];
    let (a, b) = q.split_once(" + ").unwrap();
    a.parse::<u32>().unwrap() + b.parse::<u32>().unwrap()
}

pub(crate) async fn post_with(
    app: &crate::helpers::TestApp,
    code: &qrdesk::domain::codes::Code,
    form: &crate::helpers::Page,
    extra: &[(&str, &str)],
) -> crate::helpers::Page {
    let token = form.input("form_token").unwrap();
    let mut fields = vec![("form_token", token.as_str()), ("description", TEXT)];
    fields.extend_from_slice(extra);
    app.post_form(&format!("/q/{code}"), &fields).await
}

/// The challenge switches on once a sticker has one request in the hour.
async fn challenge_after_one_request() -> crate::helpers::TestApp {
    spawn_with(|c| {
        c.limits.challenge = qrdesk::config::ChallengeMode::Auto;
        c.limits.challenge_code_per_hour = 1;
        c.limits.challenge_max_number = 20_000;
    })
    .await
}

async fn stored(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(app.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn proof_of_work_or_the_sum_is_needed_when_asked_for() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.limits.challenge = qrdesk::config::ChallengeMode::Always;
            c.limits.challenge_max_number = 20_000;
            c.limits.challenge_sum_min_secs = 1;
        })
        .await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;

        // Nothing: the form comes back with the text and a message at the question.
        let form = app.get(&format!("/q/{code}")).await;
        assert!(form.body.contains("id=\"challenge\""));
        let page = post_with(&app, &code, &form, &[]).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("Ответьте на вопрос и отправьте"));
        assert!(page.body.contains(TEXT), "the text is kept");
        assert!(
            page.body.contains("data-keep=\"1\""),
            "the question stays visible"
        );
        assert_eq!(stored(&app).await, 0);

        // A wrong number or a wrong sum: the same.
        let form = app.get(&format!("/q/{code}")).await;
        let n = solve_challenge(&form);
        let wrong = (n + 1).to_string();
        assert_eq!(
            post_with(&app, &code, &form, &[("pow", &wrong)])
                .await
                .status,
            422
        );
        let sum = answer_question(&form);
        let wrong_sum = (sum + 1).to_string();
        assert_eq!(
            post_with(&app, &code, &form, &[("answer", &wrong_sum)])
                .await
                .status,
            422
        );
        // Another form's solution does not fit this one.
        let other = app.get(&format!("/q/{code}")).await;
        assert_eq!(
            post_with(&app, &code, &other, &[("pow", &n.to_string())])
                .await
                .status,
            422
        );
        assert_eq!(stored(&app).await, 0);

        // The browser's number: accepted.
        let page = post_with(&app, &code, &form, &[("pow", &n.to_string())]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        // Without JavaScript: the sum, but not the moment the form opened (a
        // script reads sums); the form that comes back keeps its opening time.
        let form = app.get(&format!("/q/{code}")).await;
        let sum = answer_question(&form).to_string();
        let page = post_with(&app, &code, &form, &[("answer", &sum)]).await;
        assert_eq!(page.status, 422, "too soon");
        let token = page.input("form_token").unwrap();
        assert_eq!(
            Some(&token),
            form.input("form_token").as_ref(),
            "same token, same opening time"
        );
        // Until the form has been open the configured second (its token says when it opened).
        let opened: i64 = token.split('.').next().unwrap().parse().unwrap();
        crate::helpers::wait_for(5, "the form open for a second", || async {
            (qrdesk::store::now_ms() - opened >= 1000).then_some(())
        })
        .await;
        let sum = answer_question(&page).to_string();
        let page = post_with(&app, &code, &page, &[("answer", &sum)]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(stored(&app).await, 2);
        crate::helpers::wait_for(10, "both delivered", || async {
            (app.tasks().len() == 2).then_some(())
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn the_challenge_switches_on_above_the_per_code_and_global_rates() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.limits.challenge = qrdesk::config::ChallengeMode::Auto;
            c.limits.challenge_code_per_hour = 2;
            c.limits.challenge_global_per_minute = 4;
            c.limits.challenge_max_number = 20_000;
        })
        .await;
        let busy = app.code_for(Target::Asset(AssetId(1001))).await;
        let quiet = app.code_for(Target::Asset(AssetId(1002))).await;
        let other = app.code_for(Target::Asset(AssetId(1003))).await;
        for i in 0..2 {
            let form = app.get(&format!("/q/{busy}")).await;
            assert!(
                !form.body.contains("id=\"challenge\""),
                "quiet sticker, no challenge"
            );
            let text = format!("{TEXT} #{i}");
            let token = form.input("form_token").unwrap();
            let page = app
                .post_form(
                    &format!("/q/{busy}"),
                    &[("form_token", &token), ("description", &text)],
                )
                .await;
            assert_eq!(page.status, 303);
        }
        // Two requests on one sticker within the hour: its form asks for proof…
        let form = app.get(&format!("/q/{busy}")).await;
        assert!(form.body.contains("id=\"challenge\""));
        assert_eq!(post_with(&app, &busy, &form, &[]).await.status, 422);
        let n = solve_challenge(&form).to_string();
        assert_eq!(
            post_with(&app, &busy, &form, &[("pow", &n)]).await.status,
            303
        );
        // …while another sticker's form does not (3 requests in the last minute < 4).
        let form = app.get(&format!("/q/{quiet}")).await;
        assert!(!form.body.contains("id=\"challenge\""));
        assert_eq!(post_with(&app, &quiet, &form, &[]).await.status, 303);
        // Four requests in the last minute across all stickers: every form asks.
        let form = app.get(&format!("/q/{other}")).await;
        assert!(
            form.body.contains("id=\"challenge\""),
            "global rate crossed"
        );

        // A form opened before the switch and sent after it comes back with the
        // question and the text kept, not lost.
        let app2 = challenge_after_one_request().await;
        let code = app2.code_for(Target::Asset(AssetId(1001))).await;
        let early = app2.get(&format!("/q/{code}")).await;
        assert!(!early.body.contains("id=\"challenge\""));
        app2.report(&code, "Первая заявка по этой наклейке").await;
        let page = post_with(&app2, &code, &early, &[]).await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains(TEXT) && page.body.contains("id=\"challenge\""));
        app.drain_outbox(30).await;
        app2.drain_outbox(30).await;
    })
    .await;
}

#[tokio::test]
async fn a_resent_form_lands_on_its_status_page_even_under_the_challenge() {
    on_each_engine(|| async {
        let app = challenge_after_one_request().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let form = app.get(&format!("/q/{code}")).await;
        let first = post_with(&app, &code, &form, &[]).await;
        assert_eq!(first.status, 303);
        // The reply was lost; the phone sends the same form again. The sticker
        // now asks for proof, but this form is already a request.
        let again = post_with(&app, &code, &form, &[]).await;
        assert_eq!(again.status, 303);
        assert_eq!(again.location, first.location);
        assert_eq!(stored(&app).await, 1);
        app.drain_outbox(30).await;
    })
    .await;
}

#[tokio::test]
async fn message_pages_switch_language_and_offer_what_fits() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.limits.gets_per_minute = 1;
            c.limits.gets_burst = 3;
            c.organisation.phone = "+7 (812) 555-01-02".into();
        })
        .await;
        // An unknown sticker: typing the code may help; the switch keeps the page.
        let unknown = app.get("/q/ZZZZZZZZ?x=1").await;
        assert_eq!(unknown.status, 404);
        assert!(unknown.body.contains("Ввести код вручную"));
        assert!(
            unknown
                .body
                .contains("href=\"/q/ZZZZZZZZ?x=1&#38;lang=en\""),
            "{}",
            unknown.body
        );
        // A withdrawn one: the service desk's phone, not the code box.
        let revoked = app.code_for(Target::Asset(AssetId(1002))).await;
        qrdesk::store::codes::revoke(app.pool(), &revoked)
            .await
            .unwrap();
        let page = app.get(&format!("/q/{revoked}")).await;
        assert!(!page.body.contains("Ввести код вручную"), "{}", page.body);
        assert!(
            page.body.contains("href=\"tel:+78125550102\""),
            "{}",
            page.body
        );
        // Past the page-load quota: the network, not "this device", and a way back.
        let mut refused = app.get("/?lang=en").await;
        for _ in 0..5 {
            if refused.status == 429 {
                break;
            }
            refused = app.get("/?lang=en").await;
        }
        assert_eq!(refused.status, 429);
        assert!(
            refused.body.contains("your network") && !refused.body.contains("this device"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains("href=\"/\">Try again</a>"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains("href=\"/?lang=ru\""),
            "{}",
            refused.body
        );
    })
    .await;
}
