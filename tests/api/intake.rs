//! The customer's path: open a code, fill the form, land on the status page.

use qrdesk::backend::{AssetId, DistrictId, LocationId};
use qrdesk::store::codes::{self as code_store, Target};

use crate::helpers::{on_each_engine, spawn_app, spawn_with};

const TEXT: &str = "Кофемашина не включается, на панели горит красный индикатор";

#[tokio::test]
async fn happy_path_creates_exactly_one_complete_task() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;

        let form = app.get(&format!("/q/{code}")).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("Кофемашина Jura GIGA X8"), "asset name");
        assert!(
            form.body.contains("JX8-0041772") && form.body.contains("ИНВ-000117"),
            "serial and inventory"
        );
        assert!(form.body.contains("Невский пр., 28"), "address");
        assert!(form.body.contains("lang=\"ru\""), "Russian by default");

        let page = app
            .submit(
                &code,
                &[
                    ("description", TEXT),
                    ("name", "Иван Петров"),
                    ("phone", "8 (999) 123-45-67"),
                    ("email", "ivan@example.ru"),
                    ("consent", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        let status_path = page.location.unwrap();
        assert!(status_path.starts_with("/t/") && status_path.len() == 3 + 26);

        // Accepted at once, before HubEx has been asked.
        let status = app.get(&status_path).await;
        assert_eq!(status.status, 200);
        assert!(status.body.contains(TEXT));

        let request = app.wait_status(&status_path, "delivered", 10).await;
        let tasks = app.tasks();
        assert_eq!(tasks.len(), 1, "exactly one task");
        let t = &tasks[0];
        assert_eq!(t.body.asset_id, Some(1001));
        assert_eq!(t.body.location_id, Some(201));
        assert_eq!(t.body.company_id, Some(101));
        assert_eq!(t.body.task_type_id, Some(1), "catalog default task type");
        assert_eq!(t.body.request_method_id, Some(4), "the QR request method");
        assert_eq!(
            t.body.criticality_id,
            Some(2),
            "catalog default criticality"
        );
        assert_eq!(t.body.requested_by_user_id, Some(789), "the anonymous user");
        assert_eq!(t.body.contact_person.as_deref(), Some("Иван Петров"));
        assert_eq!(t.body.contact_phone.as_deref(), Some("+79991234567"));
        assert_eq!(t.body.contact_email.as_deref(), Some("ivan@example.ru"));
        let notes = t.body.notes.as_deref().unwrap();
        assert!(notes.starts_with(TEXT), "{notes}");
        assert!(
            notes.contains(&format!("qrdesk-{}", request.id)),
            "reference in the notes"
        );
        assert_eq!(
            t.body.erp_id.as_deref(),
            Some(format!("qrdesk-{}", request.id).as_str())
        );
        assert_eq!(
            t.stamp, request.id,
            "the request's UUID is the concurrency stamp"
        );
        assert_eq!(request.task_id.map(|i| i.0), Some(t.id));

        // The status page now shows the HubEx number and status.
        let status = app.get(&status_path).await;
        assert!(status.body.contains(&t.number), "task number on the page");
        assert!(status.body.contains("Новая"), "status name");
        assert!(status.body.contains("%232196f3"), "status colour");
        assert_eq!(
            app.get(&format!("/q/{code}")).await.status,
            200,
            "the code keeps working"
        );
    })
    .await;
}

#[tokio::test]
async fn status_page_follows_the_task_to_closed() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let path = app.report(&code, TEXT).await;
        let r = app.wait_status(&path, "delivered", 10).await;
        let page = app.get(&path).await;
        // The open task's page has a comment form: it never reloads itself
        // (WCAG 2.2.1); its script looks for changes, and without the script
        // a link does it.
        assert!(
            !page.body.contains("http-equiv=\"refresh\""),
            "no reload on a page with a form"
        );
        assert!(
            page.body.contains("data-poll=\"") && !page.body.contains("data-poll=\"0\""),
            "looked up while open"
        );
        assert!(page
            .body
            .contains(&format!("<a href=\"{path}\">Обновить</a>")));

        // What the script fetches: only the parts that change, never cached.
        let raw = app
            .client
            .get(format!("{}{path}/live", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(raw.headers()["cache-control"], "no-store");
        let live = app.get(&format!("{path}/live")).await;
        assert_eq!(live.status, 200);
        assert!(
            live.body.contains("id=\"live-state\"") && live.body.contains("id=\"live-messages\"")
        );
        assert!(!live.body.contains("<html") && !live.body.contains("comment-form"));
        assert!(live.body.contains("Новая"), "{}", live.body);

        app.sim.set_status(r.task_id.unwrap().0, 4);
        // The next look-up finds the task closed, without reloading the page.
        let live = app.get(&format!("{path}/live")).await;
        assert!(live.body.contains("Закрыта"), "{}", live.body);
        assert!(
            live.body.contains("data-poll=\"0\""),
            "nothing more to look for"
        );
        let page = app.get(&path).await;
        assert!(page.body.contains("Закрыта"), "{}", page.body);
        assert!(
            page.body.contains("Выполнена") && page.body.contains("Закрыта"),
            "completed and closed times"
        );
        assert!(
            !page.body.contains("http-equiv=\"refresh\"") && !page.body.contains(">Обновить<"),
            "no refresh once closed"
        );
        // Times carry their moment for the reader's own format.
        assert!(
            page.body.contains("<time datetime=\"20"),
            "machine-readable times"
        );
        // An English page does not show HubEx's Russian status name.
        let en = app.get(&format!("{path}?lang=en")).await;
        assert!(
            !en.body.contains("Закрыта") && en.body.contains("<span class=\"badge\">Closed</span>"),
            "{}",
            en.body
        );
        assert_eq!(
            app.get("/t/00000000000000000000000000/live").await.status,
            404
        );
    })
    .await;
}

#[tokio::test]
async fn status_page_shows_last_known_status_when_hubex_is_down() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1003))).await;
        let path = app.report(&code, TEXT).await;
        app.wait_status(&path, "delivered", 10).await;
        app.get(&path).await;
        app.sim.fail(
            "",
            "/WORK",
            qrdesk::backend::hubex::sim::Fault::Status {
                status: 503,
                retry_after: None,
            },
            100,
        );
        let page = app.get(&path).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Новая") && page.body.contains("Статус на"),
            "{}",
            page.body
        );
    })
    .await;
}

#[tokio::test]
async fn each_validation_rule_rerenders_the_form_with_what_was_typed() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let too_long = "я".repeat(4001);
        let long_name = "И".repeat(201);
        // (fields posted, id of the error message, what it says)
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec![("description", "сломано")],
                "description-error",
                "не меньше 10 символов",
            ),
            (
                vec![("description", "")],
                "description-error",
                "не меньше 10 символов",
            ),
            (
                vec![("description", &too_long)],
                "description-error",
                "до 4000 символов",
            ),
            (
                vec![("description", TEXT), ("phone", "12-34"), ("consent", "1")],
                "phone-error",
                "Проверьте номер",
            ),
            (
                vec![("description", TEXT), ("email", "ivan@"), ("consent", "1")],
                "email-error",
                "Проверьте адрес",
            ),
            (
                vec![("description", TEXT), ("name", "Иван")],
                "consent-error",
                "отметьте согласие",
            ),
            (
                vec![
                    ("description", TEXT),
                    ("name", &long_name),
                    ("consent", "1"),
                ],
                "name-error",
                "Слишком длинное имя",
            ),
        ];
        for (fields, field, message) in cases {
            let page = app.submit(&code, &fields).await;
            assert_eq!(page.status, 422, "{field}");
            assert!(
                page.body.contains(&format!("id=\"{field}\"")),
                "{field} marked"
            );
            assert!(page.body.contains(message), "{field}: {message}");
            assert!(page.body.contains("role=\"alert\""));
            for (name, value) in &fields {
                if *name == "description" {
                    let kept = format!(">{value}</textarea>");
                    assert!(page.body.contains(&kept), "description kept for {field}");
                } else if *name != "consent" {
                    assert_eq!(
                        page.input(name).as_deref(),
                        Some(*value),
                        "{name} kept for {field}"
                    );
                }
            }
            assert!(
                page.input("form_token").is_some(),
                "a fresh token to send again"
            );
        }
        assert!(app.tasks().is_empty());
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 0, "nothing stored from invalid posts");
    })
    .await;
}

#[tokio::test]
async fn english_by_accept_language_and_by_switch() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let page = app
            .get_with(
                &format!("/q/{code}"),
                &[("accept-language", "en-US,en;q=0.9")],
            )
            .await;
        assert!(page.body.contains("Report a problem") && page.body.contains("lang=\"en\""));
        assert!(page.body.contains("Русский"), "a visible switch back");
        let page = app.get(&format!("/q/{code}?lang=en")).await;
        assert!(page.body.contains("Send the request"));
        let page = app
            .submit(&code, &[("description", "short"), ("lang", "en")])
            .await;
        assert_eq!(page.status, 422);
        assert!(
            page.body.contains("at least 10 characters"),
            "errors in English"
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_revoked_and_malformed_codes_get_a_friendly_404() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        code_store::revoke(app.pool(), &code).await.unwrap();
        let revoked = app.get(&format!("/q/{code}")).await;
        assert_eq!(revoked.status, 404);
        assert!(revoked.body.contains("больше не действует"));
        let post = app
            .post_form(&format!("/q/{code}"), &[("description", TEXT)])
            .await;
        assert_eq!(post.status, 404);

        for path in [
            "/q/ZZZZZZZZ",
            "/q/not-a-code",
            "/q/%00%01",
            "/Q/ABC",
            "/q/7K3M9Q2A7K3M9Q2A7K3M9Q2A7K3M9Q2A7K3M9Q2A",
        ] {
            let page = app.get(path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.body.contains("Код не найден"), "{path}");
        }
        let blank = app.code_for(Target::Unassigned).await;
        let page = app.get(&format!("/q/{blank}")).await;
        assert_eq!(page.status, 404);
        assert!(page.body.contains("ещё не подключён"));
        assert_eq!(app.get("/t/0123456789abcdefghjkmnpqrs").await.status, 404);
        assert_eq!(app.get("/t/short").await.status, 404);
        assert_eq!(app.get("/nothing/here").await.status, 404);
    })
    .await;
}

#[tokio::test]
async fn upper_case_qr_paths_and_lower_case_codes_work() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        assert_eq!(app.get(&format!("/Q/{code}")).await.status, 200);
        assert_eq!(
            app.get(&format!("/q/{}", code.as_str().to_lowercase()))
                .await
                .status,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn assets_outside_the_allowed_districts_are_refused() {
    on_each_engine(|| async {
        let app = spawn_with(|c| c.catalog.allowed_districts = vec![1, 2, 3]).await;
        let err = qrdesk::catalog::check_target(
            app.pool(),
            &app.config.catalog,
            Target::Asset(AssetId(1020)),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("outside the allowed участки"),
            "{err}"
        );
        assert!(qrdesk::catalog::check_target(
            app.pool(),
            &app.config.catalog,
            Target::District(DistrictId(4))
        )
        .await
        .is_err());
        // A code made before the участок was excluded no longer opens a form.
        let code = app.code_for(Target::Asset(AssetId(1020))).await;
        assert_eq!(app.get(&format!("/q/{code}")).await.status, 404);
        let post = app
            .post_form(&format!("/q/{code}"), &[("description", TEXT)])
            .await;
        assert_eq!(post.status, 404);
        assert!(app.tasks().is_empty());
    })
    .await;
}

#[tokio::test]
async fn site_code_offers_a_picker_and_not_listed() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Location(LocationId(205))).await;
        let form = app.get(&format!("/q/{code}")).await;
        assert!(form.body.contains("Южное ш., 55"));
        assert!(form.body.contains("La Marzocco") && form.body.contains("Нет в списке"));
        assert!(!form.body.contains("Jura"), "only this site's assets");

        let missing = app.submit(&code, &[("description", TEXT)]).await;
        assert_eq!(missing.status, 422);
        assert!(missing.body.contains("asset-error"));
        let foreign = app
            .submit(&code, &[("description", TEXT), ("asset", "1001")])
            .await;
        assert_eq!(foreign.status, 422, "an asset from another site is refused");

        let path = app
            .report_with(&code, &[("description", TEXT), ("asset", "1016")])
            .await;
        app.wait_status(&path, "delivered", 10).await;
        let path2 = app
            .report_with(&code, &[("description", TEXT), ("asset", "other")])
            .await;
        app.wait_status(&path2, "delivered", 10).await;
        let tasks = app.tasks();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            (tasks[0].body.asset_id, tasks[0].body.location_id),
            (Some(1016), Some(205))
        );
        assert_eq!(
            (tasks[1].body.asset_id, tasks[1].body.location_id),
            (None, Some(205))
        );

        let district = app.code_for(Target::District(DistrictId(2))).await;
        let form = app.get(&format!("/q/{district}")).await;
        assert!(form.body.contains("Северный участок") && form.body.contains("Турникет"));
    })
    .await;
}

#[tokio::test]
async fn honeypot_posts_look_accepted_but_store_nothing() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let page = app
            .submit(
                &code,
                &[("description", TEXT), ("website", "http://spam.example")],
            )
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Спасибо"));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 0);
    })
    .await;
}

#[tokio::test]
async fn stale_or_forged_form_token_keeps_the_text_and_asks_to_resend() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        for token in ["", "1.AAAA", "99999999999999.AAAA"] {
            let page = app
                .post_form(
                    &format!("/q/{code}"),
                    &[("description", TEXT), ("form_token", token)],
                )
                .await;
            assert_eq!(page.status, 422);
            assert!(page.body.contains("слишком долго"));
            assert!(page.body.contains(TEXT));
        }
    })
    .await;
}

#[tokio::test]
async fn cross_site_posts_and_bad_bodies_get_clear_4xx() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let url = format!("{}/q/{code}", app.url);
        let cross = app
            .client
            .post(&url)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .form(&[("description", TEXT)])
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403);
        assert!(cross.text().await.unwrap().contains("Откройте её заново"));

        let big = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("description={}", "a".repeat(200_000)))
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413);

        let bad_utf8 = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"description=%FF%FE%FD".to_vec())
            .send()
            .await
            .unwrap();
        // Invalid bytes are read as U+FFFD: the form comes back asking for a description.
        assert_eq!(bad_utf8.status(), 422);

        let json = app
            .client
            .post(&url)
            .json(&serde_json::json!({ "description": TEXT }))
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 400);
        assert!(app.tasks().is_empty());
    })
    .await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let resp = app
            .client
            .get(format!("{}/q/{code}", app.url))
            .send()
            .await
            .unwrap();
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        let body = resp.text().await.unwrap();
        assert!(
            !body.contains("<script>") && !body.contains("style=\""),
            "no inline script or style"
        );
        assert!(
            !body.contains("src=\"http") && !body.contains("href=\"http"),
            "nothing from another origin"
        );
    })
    .await;
}

#[tokio::test]
async fn the_form_page_is_light() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        // What a phone downloads (compressed) and what it parses.
        let mut sent = 0;
        let mut parsed = 0;
        for path in [
            format!("/q/{code}"),
            "/static/style.css".into(),
            "/static/app.js".into(),
        ] {
            parsed += app.get(&path).await.body.len();
            let resp = app
                .client
                .get(format!("{}{path}", app.url))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.headers()["content-encoding"], "gzip", "{path}");
            sent += resp.bytes().await.unwrap().len();
        }
        println!("form page: {sent} bytes sent, {parsed} parsed");
        assert!(sent < 14 * 1024, "{sent} bytes sent");
        assert!(parsed < 40 * 1024, "{parsed} bytes parsed");
    })
    .await;
}

#[tokio::test]
async fn health_routes_answer() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        assert_eq!(app.get("/healthz").await.status, 200);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        assert!(ready.body.contains("\"worker\":true"));
    })
    .await;
}

#[tokio::test]
async fn manual_code_entry_leads_to_the_form() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let page = app
            .get(&format!("/?code={}", code.as_str().to_lowercase()))
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(
            page.location.as_deref(),
            Some(format!("/q/{code}").as_str())
        );
        let page = app.get("/?code=bad!").await;
        assert_eq!(page.status, 422);
        assert!(page.body.contains("8 букв и цифр"));
    })
    .await;
}

#[tokio::test]
async fn markup_in_the_description_is_escaped_everywhere() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let evil = "<script>alert(1)</script> \"><img src=x onerror=alert(2)> не работает";
        let path = app.report(&code, evil).await;
        app.wait_status(&path, "delivered", 10).await;
        let page = app.get(&path).await;
        assert!(
            !page.body.contains("<script>alert") && page.body.contains("&#60;script&#62;alert")
        );
        let task = &app.tasks()[0];
        let html = task.body.notes_html.as_deref().unwrap();
        assert!(
            html.contains("&#60;script&#62;")
                && !html.contains("<img")
                && !html.contains("<script"),
            "{html}"
        );
        assert!(
            task.body.notes.as_deref().unwrap().contains("<script>"),
            "plain notes keep the text as typed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_form_sent_twice_lands_on_the_same_status_page() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let form = app.get(&format!("/q/{code}")).await;
        let token = form.input("form_token").unwrap();
        let fields = [("form_token", token.as_str()), ("description", TEXT)];
        let path = format!("/q/{code}");
        let (a, b) = tokio::join!(app.post_form(&path, &fields), app.post_form(&path, &fields));
        let c = app.post_form(&path, &fields).await;
        assert_eq!((a.status, b.status, c.status), (303, 303, 303));
        assert_eq!(a.location, b.location);
        assert_eq!(a.location, c.location);
        let path = a.location.unwrap();
        app.wait_status(&path, "delivered", 10).await;
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 1);
        assert_eq!(app.tasks().len(), 1);
        // A fresh form is a new request.
        app.report(&code, TEXT).await;
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 2);
        app.drain_outbox(30).await;
    })
    .await;
}
