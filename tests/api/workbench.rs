//! The admin workbench: bulk work on a selection or a whole filter, search by
//! what a code points at, the picker, the asset page.

use qrdesk::backend::{AssetId, LocationId};
use qrdesk::domain::codes::Code;
use qrdesk::store::admins::Role;
use qrdesk::store::catalog::{self, AssetFilter};
use qrdesk::store::codes::{self as code_store, State as CodeState, Target};

use crate::admin::StaffClient;
use crate::helpers::{on_each_engine, spawn_app};

/// Codes of one state, straight from the database.
async fn count_in(pool: &qrdesk::store::Pool, state: CodeState) -> usize {
    code_store::list(pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.state == state)
        .count()
}

#[tokio::test]
async fn everything_in_a_filter_is_acted_on_across_pages_after_a_confirmation() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let pool = app.pool();

        // More than 100 codes at once asks first and creates nothing yet.
        let ask = admin
            .post("/admin/codes", &[("mode", "blank"), ("count", "120")])
            .await;
        assert_eq!(ask.status, 200, "{}", ask.body);
        assert!(ask.body.contains("Создать 120 кодов?"), "{}", ask.body);
        assert!(ask.body.contains(r#"name="count" value="120""#));
        assert_eq!(count_in(pool, CodeState::Unassigned).await, 0);
        let made = admin
            .post(
                "/admin/codes",
                &[("mode", "blank"), ("count", "120"), ("confirm", "1")],
            )
            .await;
        assert_eq!(made.status, 303, "{}", made.body);
        let print = made.location.unwrap();
        assert!(print.starts_with("/admin/print?sel="), "{print}");
        assert!(admin
            .get(&print)
            .await
            .body
            .contains("Печатаются выбранные коды: <strong>120</strong>"));
        assert_eq!(count_in(pool, CodeState::Unassigned).await, 120);

        // Three pages of 50; the filter's "all" takes every one of them.
        let list = admin.get("/admin/codes?state=unassigned&page=3").await;
        assert!(list.body.contains("Найдено: 120. Страница 3 из 3."));
        assert!(list.body.contains("Со всеми 120 кодами по этому фильтру"));
        let printed = admin
            .post(
                "/admin/codes/bulk",
                &[("state", "unassigned"), ("all", "1"), ("action", "print")],
            )
            .await;
        assert_eq!(printed.status, 303);
        let sel = printed.location.unwrap();
        let preview = admin.get(&sel).await;
        assert!(
            preview.body.contains("Кодов: 120; листов: 6 по 21."),
            "{}",
            preview.body
        );
        let pdf = admin
            .get(&sel.replace("/admin/print?", "/admin/print/labels.pdf?"))
            .await;
        assert_eq!(pdf.status, 200);

        // Revoking the whole filter asks, naming the count; "Отмена" keeps all.
        let ask = admin
            .post(
                "/admin/codes/bulk",
                &[("state", "unassigned"), ("all", "1"), ("action", "revoke")],
            )
            .await;
        assert_eq!(ask.status, 200);
        assert!(ask.body.contains("Отключить 120 кодов?"), "{}", ask.body);
        assert!(ask.body.contains(r#"href="/admin/codes?state=unassigned""#));
        assert_eq!(count_in(pool, CodeState::Revoked).await, 0);
        let chosen = page_input(&ask.body, "chosen");
        let done = admin
            .post(
                "/admin/codes/bulk",
                &[
                    ("state", "unassigned"),
                    ("action", "revoke"),
                    ("chosen", chosen.as_str()),
                    ("confirm", "1"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(count_in(pool, CodeState::Revoked).await, 120);
        let after = admin.get(&done.location.unwrap()).await;
        assert!(after.body.contains("Коды отключены."), "{}", after.body);
        assert!(after.body.contains("Показаны только выбранные коды: 120."));
    })
    .await;
}

#[tokio::test]
async fn ticked_codes_are_paused_resumed_and_moved_and_viewers_may_only_print() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let viewer = StaffClient::new(&app, Role::Viewer).await;
        let pool = app.pool();
        let a = app.code_for(Target::Asset(AssetId(1001))).await;
        let b = app.code_for(Target::Asset(AssetId(1002))).await;
        let other = app.code_for(Target::Asset(AssetId(1003))).await;
        let (ca, cb) = (format!("c{a}"), format!("c{b}"));

        // Pausing needs a message: asked on the confirmation, asked again if empty.
        let ask = admin
            .post(
                "/admin/codes/bulk",
                &[
                    (ca.as_str(), "on"),
                    (cb.as_str(), "on"),
                    ("action", "pause"),
                ],
            )
            .await;
        assert_eq!(ask.status, 200);
        assert!(ask.body.contains("Приостановить приём по 2 кодам?"));
        let chosen = page_input(&ask.body, "chosen");
        let empty = admin
            .post(
                "/admin/codes/bulk",
                &[("action", "pause"), ("chosen", &chosen), ("confirm", "1")],
            )
            .await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("Напишите сообщение для посетителей."));
        assert!(code_store::paused_message(pool, &a)
            .await
            .unwrap()
            .is_none());
        let message = "Кухня на ремонте до пятницы";
        let done = admin
            .post(
                "/admin/codes/bulk",
                &[
                    ("action", "pause"),
                    ("chosen", &chosen),
                    ("confirm", "1"),
                    ("message", message),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        for code in [&a, &b] {
            assert_eq!(
                code_store::paused_message(pool, code)
                    .await
                    .unwrap()
                    .as_deref(),
                Some(message)
            );
            assert!(app.get(&format!("/q/{code}")).await.body.contains(message));
        }
        assert!(code_store::paused_message(pool, &other)
            .await
            .unwrap()
            .is_none());
        let paused = admin.get("/admin/codes?state=paused").await;
        assert!(paused.body.contains("Найдено: 2."));

        let resumed = admin
            .post(
                "/admin/codes/bulk",
                &[("action", "resume"), ("chosen", &chosen), ("confirm", "1")],
            )
            .await;
        assert_eq!(resumed.status, 303);
        assert!(code_store::paused_message(pool, &a)
            .await
            .unwrap()
            .is_none());

        // Move both to a site; a revoked code stays where it was.
        code_store::revoke(pool, &b).await.unwrap();
        let ask = admin
            .post(
                "/admin/codes/bulk",
                &[
                    (ca.as_str(), "on"),
                    (cb.as_str(), "on"),
                    ("action", "move"),
                    ("site", "205"),
                ],
            )
            .await;
        assert!(
            ask.body.contains("Перенести 2 кода на площадку?"),
            "{}",
            ask.body
        );
        assert!(ask.body.contains("Южное ш., 55"));
        let moved = admin
            .post(
                "/admin/codes/bulk",
                &[
                    ("action", "move"),
                    ("site", "205"),
                    ("chosen", &page_input(&ask.body, "chosen")),
                    ("confirm", "1"),
                ],
            )
            .await;
        assert_eq!(moved.status, 303);
        let get = |c: Code| async move { code_store::get(pool, &c).await.unwrap().unwrap().target };
        assert_eq!(get(a.clone()).await, Target::Location(LocationId(205)));
        assert_eq!(get(b.clone()).await, Target::Asset(AssetId(1002)));

        // A viewer prints a selection but changes nothing.
        let print = viewer
            .post(
                "/admin/codes/bulk",
                &[(ca.as_str(), "on"), ("action", "print")],
            )
            .await;
        assert_eq!(print.status, 303);
        let revoke = viewer
            .post(
                "/admin/codes/bulk",
                &[(ca.as_str(), "on"), ("action", "revoke"), ("confirm", "1")],
            )
            .await;
        assert_eq!(revoke.status, 403);
        assert_eq!(
            code_store::get(pool, &a).await.unwrap().unwrap().state,
            CodeState::Active
        );
        // Nothing ticked: said so.
        let none = admin
            .post("/admin/codes/bulk", &[("action", "print")])
            .await;
        assert_eq!(none.status, 422);
        assert!(none.body.contains("Отметьте коды"));
    })
    .await;
}

fn page_input(body: &str, name: &str) -> String {
    crate::helpers::Page {
        status: 200,
        body: body.to_owned(),
        location: None,
        request_id: None,
    }
    .input(name)
    .unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[tokio::test]
async fn codes_are_found_by_what_they_point_at_and_the_catalog_by_address() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let pool = app.pool();
        let printer = app.code_for(Target::Asset(AssetId(1003))).await;
        let coffee = app.code_for(Target::Asset(AssetId(1001))).await;
        let site = app.code_for(Target::Location(LocationId(205))).await;

        for (q, expect, not) in [
            ("laserjet", &printer, &coffee),
            ("PHBLM31245", &printer, &coffee),
            ("инв-000119", &printer, &coffee),
            ("южное ш", &site, &printer),
        ] {
            let list = admin.get(&format!("/admin/codes?q={}", urlencode(q))).await;
            assert!(list.body.contains(expect.as_str()), "{q} finds {expect}");
            assert!(!list.body.contains(not.as_str()), "{q} does not find {not}");
        }
        let at_site = admin.get("/admin/codes?location=205").await;
        assert!(at_site.body.contains(site.as_str()));
        assert!(!at_site.body.contains(printer.as_str()));
        let of_asset = admin.get("/admin/codes?asset=1003").await;
        assert!(of_asset.body.contains(printer.as_str()));
        assert!(of_asset.body.contains("Коды актива «МФУ HP LaserJet"));
        assert!(!of_asset.body.contains(coffee.as_str()));

        // The catalog finds assets by their site's address, in any case.
        let (at_203, n) = catalog::search_assets(
            pool,
            &AssetFilter {
                location: Some(LocationId(203)),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .unwrap();
        assert!(n > 0);
        let found = admin
            .get(&format!("/admin/catalog?q={}", urlencode("ШОСТАКОВИЧА")))
            .await;
        assert!(
            found.body.contains(&format!("Найдено: {n}.")),
            "{}",
            found.body
        );
        for a in &at_203 {
            assert!(found.body.contains(&a.name));
        }
    })
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_asset_page_shows_its_codes_requests_and_photos() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let code = app.code_for(Target::Asset(AssetId(1003))).await;
        let empty = admin.get("/admin/catalog/assets/1003").await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("Заявок по этому активу ещё не было"));

        let sent = crate::photos::send(
            &app,
            &code,
            "Принтер жуёт бумагу на втором лотке",
            vec![("tray.jpg", crate::photos::phone_jpeg(1536, 2048))],
        )
        .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        let status = sent.location.unwrap();
        app.wait_status(&status, "delivered", 10).await;
        let record = app.request_by_status_path(&status).await;
        let page = admin.get("/admin/catalog/assets/1003").await;
        assert!(page.body.contains("МФУ HP LaserJet"));
        assert!(page.body.contains("PHBLM31245"));
        assert!(page.body.contains(code.as_str()));
        assert!(page.body.contains("Заявки: 1"));
        assert!(page.body.contains("Принтер жуёт бумагу"));
        let number = record.task_number.expect("delivered with a number");
        assert!(page.body.contains(&format!("№ {number}")), "{}", page.body);
        assert!(page.body.contains("ещё не было"), "no customer word yet");
        // Its photo, for staff only, small and full size.
        let id = page
            .body
            .split("/admin/photos/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a photo on the asset page")
            .to_owned();
        let thumb = admin
            .client_get_bytes(&format!("/admin/photos/{id}/thumb"))
            .await;
        let full = admin.client_get_bytes(&format!("/admin/photos/{id}")).await;
        assert!(
            thumb.len() * 5 < full.len(),
            "{} vs {}",
            thumb.len(),
            full.len()
        );
        assert_eq!(
            app.get(&format!("/admin/photos/{id}")).await.status,
            303,
            "signed in only"
        );
        let unknown = admin.get("/admin/catalog/assets/999999").await;
        assert_eq!(unknown.status, 404);
        app.drain_outbox(10).await;
    })
    .await;
}

#[tokio::test]
async fn the_requests_workbench_searches_filters_shows_one_and_exports_csv() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Viewer).await;
        let printer = app.code_for(Target::Asset(AssetId(1003))).await;
        let coffee = app.code_for(Target::Asset(AssetId(1001))).await;
        let jam = app
            .report(&printer, "Принтер жуёт бумагу на втором лотке")
            .await;
        let toner = app
            .report(&printer, "Тонер закончился, печатает бледно")
            .await;
        let leak = app
            .report(&coffee, "=HYPERLINK(\"http://evil\") течёт вода")
            .await;
        let jam_r = app.wait_status(&jam, "delivered", 10).await;
        app.wait_status(&toner, "delivered", 10).await;
        let leak_r = app.wait_status(&leak, "delivered", 10).await;

        let count = |body: &str| {
            body.split("Найдено: ")
                .nth(1)
                .and_then(|s| s.split('.').next())
                .and_then(|n| n.parse::<i64>().ok())
                .expect("a count")
        };
        let number = jam_r.task_number.clone().unwrap();
        for (query, expect) in [
            ("q=%D0%91%D0%A3%D0%9C%D0%90%D0%93%D0%A3".to_owned(), 1), // "БУМАГУ"
            (format!("q={printer}"), 2),
            (format!("q=%E2%84%96{number}"), 1), // "№123"
            ("q=laserjet".to_owned(), 2),
            ("asset=1003".to_owned(), 2),
            ("location=201".to_owned(), 3),
            ("location=205".to_owned(), 0),
            ("from=2999-01-01".to_owned(), 0),
            ("until=2000-01-01".to_owned(), 0),
            ("status=failed".to_owned(), 0),
        ] {
            let list = admin.get(&format!("/admin/requests?{query}")).await;
            assert_eq!(list.status, 200);
            assert_eq!(count(&list.body), expect, "{query}");
        }
        let bad = admin.get("/admin/requests?from=01.12.2026").await;
        assert_eq!(count(&bad.body), 3, "a bad date filters nothing");
        assert!(bad.body.contains("Дата — в виде 2026-12-01"));

        // "Still not working" from the status page.
        app.sim.set_status(leak_r.task_id.unwrap().0, 3);
        let page = app.get(&leak).await;
        let token = page.input("form_token").unwrap();
        let resp = app
            .client
            .post(format!("{}{leak}/feedback", app.url))
            .form(&[("form_token", token.as_str()), ("kind", "not_fixed")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        let not_fixed = admin.get("/admin/requests?not_fixed=1").await;
        assert_eq!(count(&not_fixed.body), 1);
        assert!(not_fixed.body.contains("течёт вода"));
        assert!(not_fixed.body.contains("«всё ещё не работает»"));

        // One request: description, task, conversation with the staff reply.
        let jam_task = jam_r.task_id.unwrap().0;
        assert!(app
            .sim
            .staff_reply(jam_task, "Заменим ролик захвата завтра"));
        // The reply came a while before anyone looks, as in life.
        assert!(app.sim.backdate(jam_task, 5000));
        let detail = crate::helpers::wait_for(10, "the staff reply read", || async {
            app.get(&jam).await; // the status page reads the task and its replies
            let detail = admin.get(&format!("/admin/requests/{}", jam_r.id)).await;
            detail
                .body
                .contains("Заменим ролик захвата завтра")
                .then_some(detail)
        })
        .await;
        assert_eq!(detail.status, 200);
        assert!(detail.body.contains("Принтер жуёт бумагу"));
        assert!(detail.body.contains(&format!("№ {number}")));
        assert!(detail.body.contains("Заменим ролик захвата завтра"));
        assert!(detail.body.contains(&format!("/admin/codes/{printer}")));
        assert!(
            !detail.body.contains("открыть в HubEx"),
            "no link configured"
        );
        assert_eq!(admin.get("/admin/requests/nope").await.status, 404);

        // CSV of the filter: a BOM, one line per request, no formula.
        let csv = admin.get("/admin/requests.csv?asset=1001").await;
        assert_eq!(csv.status, 200);
        assert!(csv.body.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].contains("\"'=HYPERLINK(\"\"http://evil\"\") течёт вода\""),
            "a formula is defused and quotes doubled: {}",
            lines[1]
        );
        app.drain_outbox(10).await;
    })
    .await;
}

#[tokio::test]
async fn a_configured_task_link_opens_the_task_in_hubex() {
    let app = crate::helpers::spawn_with(|c| {
        c.status.task_link = "https://app.hubex.example/tasks/{id}?n={number}".into()
    })
    .await;
    let admin = StaffClient::new(&app, Role::Viewer).await;
    let code = app.code_for(Target::Asset(AssetId(1003))).await;
    let path = app.report(&code, "Принтер не включается совсем").await;
    let r = app.wait_status(&path, "delivered", 10).await;
    let detail = admin.get(&format!("/admin/requests/{}", r.id)).await;
    let link = format!(
        "https://app.hubex.example/tasks/{}?n={}",
        r.task_id.unwrap().0,
        r.task_number.unwrap()
    );
    assert!(detail.body.contains(&link), "{}", detail.body);
}

#[tokio::test]
async fn the_print_page_warns_of_cut_text_and_withdrawn_codes_before_download() {
    let app = spawn_app().await;
    let admin = StaffClient::new(&app, Role::Viewer).await;
    let pool = app.pool();
    let coffee = app.code_for(Target::Asset(AssetId(1001))).await;
    let shown = qrdesk::labels::layout::display_code(coffee.as_str());

    let fine = admin.get(&format!("/admin/print?codes={coffee}")).await;
    assert_eq!(fine.status, 200);
    assert!(!fine.body.contains("class=\"warning\""), "{}", fine.body);
    assert!(fine
        .body
        .contains(r#"name="min" type="number" min="4" max="10" step="0.5" value="6""#));

    // At 10 pt the 58×40 roll cannot hold everything: said, naming the label.
    let cut = admin
        .get(&format!(
            "/admin/print?codes={coffee}&template=roll-58x40&min=10"
        ))
        .await;
    assert!(
        cut.body
            .contains("На 1 этикетке текст не помещается крупнее 10 pt"),
        "{}",
        cut.body
    );
    assert!(cut
        .body
        .contains(&format!("«Кофемашина Jura GIGA X8» ({shown})")));

    code_store::revoke(pool, &coffee).await.unwrap();
    let withdrawn = admin.get(&format!("/admin/print?codes={coffee}")).await;
    assert!(
        withdrawn.body.contains(&format!(
            "Среди выбранных 1 отключённый или заменённый код: {shown}"
        )),
        "{}",
        withdrawn.body
    );
}

#[tokio::test]
async fn the_catalog_page_reports_the_sync_in_russian() {
    let app = spawn_app().await;
    let admin = StaffClient::new(&app, Role::Admin).await;
    let started = admin.post("/admin/catalog/sync", &[]).await;
    assert_eq!(started.status, 303);
    let page = crate::helpers::wait_for(20, "the sync's report", || async {
        let page = admin.get("/admin/catalog").await;
        page.body
            .contains("Последняя синхронизация")
            .then_some(page)
    })
    .await;
    let line = page
        .body
        .split("Последняя синхронизация: ")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap()
        .to_owned();
    assert!(
        line.contains("21 актив") && line.contains("к HubEx"),
        "{line}"
    );
    for english in ["districts", "locations", "assets", "calls"] {
        assert!(
            !line.contains(english),
            "no English in the Russian page: {line}"
        );
    }
}

/// Russian words of the admin texts long enough not to be found by chance
/// in the demo catalog's names.
fn russian_pieces() -> Vec<&'static str> {
    let mut pieces: Vec<&str> = qrdesk::i18n::tr::entries()
        .iter()
        .flat_map(|(ru, _)| ru.split(['{', '}', '|', '\r', '\n']))
        .map(str::trim)
        .filter(|p| p.chars().filter(|c| c.is_alphabetic()).count() >= 8)
        .filter(|p| {
            p.chars()
                .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap()))
        })
        .collect();
    pieces.sort();
    pieces.dedup();
    pieces
}

#[tokio::test]
async fn the_admin_area_speaks_english_when_chosen_and_remembers_it() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1003))).await;
        let status = app.report(&code, "Принтер не печатает").await;
        app.wait_status(&status, "delivered", 10).await;
        let record = app.request_by_status_path(&status).await;

        let login = app.get("/admin/login?lang=en").await;
        assert!(login.body.contains("<html lang=\"en\">"), "{}", login.body);
        assert!(login.body.contains("Staff sign-in"));

        let owner = StaffClient::new(&app, Role::Owner).await;
        let ru = owner.get("/admin").await;
        assert!(ru.body.contains("<html lang=\"ru\">") && ru.body.contains("Обзор"));
        assert!(ru.body.contains("href=\"/admin?lang=en\""), "the switch");
        let first = owner.get("/admin?lang=en").await;
        assert!(first.body.contains("Overview"), "{}", first.body);

        // Remembered: the pages after it need no parameter.
        let pieces = russian_pieces();
        assert!(pieces.len() > 300, "{}", pieces.len());
        let pages = [
            "/admin".to_owned(),
            "/admin/catalog".to_owned(),
            "/admin/catalog/assets/1003".to_owned(),
            "/admin/codes".to_owned(),
            "/admin/codes?state=paused".to_owned(),
            format!("/admin/codes/{code}"),
            format!("/admin/codes/{code}/pick?q=hp"),
            "/admin/print".to_owned(),
            format!("/admin/print?codes={code}"),
            "/admin/requests".to_owned(),
            format!("/admin/requests/{}", record.id),
            "/admin/settings".to_owned(),
            "/admin/settings/cabinet".to_owned(),
            "/admin/settings/integrations".to_owned(),
            "/admin/settings/webhooks".to_owned(),
            "/admin/settings/tokens".to_owned(),
            "/admin/settings/privacy".to_owned(),
            "/admin/settings/audit".to_owned(),
        ];
        let mut bodies = Vec::new();
        for path in &pages {
            let page = owner.get(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            bodies.push((path.clone(), page.body));
        }
        // Answers to forms: a refusal, a confirmation, a 404.
        let refused = owner
            .post("/admin/codes/bulk", &[("action", "pause")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(
            refused.body.contains("Tick codes in the list"),
            "{}",
            refused.body
        );
        bodies.push(("bulk refusal".into(), refused.body));
        let confirm = owner
            .post(&format!("/admin/codes/{code}/action"), &[("op", "revoke")])
            .await;
        assert!(
            confirm.body.contains("Switch the code off?"),
            "{}",
            confirm.body
        );
        bodies.push(("revoke confirmation".into(), confirm.body));
        let missing = owner.get("/admin/catalog/assets/999999").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("No such asset"));
        bodies.push(("unknown asset".into(), missing.body));
        for (what, body) in &bodies {
            assert!(body.contains("<html lang=\"en\">"), "{what}");
            let left: Vec<_> = pieces.iter().filter(|p| body.contains(**p)).collect();
            assert!(left.is_empty(), "{what}: Russian left: {left:?}");
        }
        let dashboard = &bodies[0].1;
        assert!(
            dashboard.contains("<span class=\"big\">1</span> code<")
                && dashboard.contains("<span class=\"big\">1</span> request:"),
            "{dashboard}"
        );
        let csv = owner.client_get_bytes("/admin/requests.csv").await;
        assert!(String::from_utf8_lossy(&csv).contains("When;qrdesk request;Code"));

        // Back to Russian from the header's switch.
        let en = owner.get("/admin/codes?state=active").await;
        assert!(
            en.body
                .contains("href=\"/admin/codes?state=active&#38;lang=ru\""),
            "{}",
            en.body
        );
        let back = owner.get("/admin/codes?state=active&lang=ru").await;
        assert!(back.body.contains("Коды") && back.body.contains("<html lang=\"ru\">"));
        assert!(owner.get("/admin").await.body.contains("Обзор"));
        app.drain_outbox(10).await;
    })
    .await;
}

/// The requests workbench pages by key: forward to the oldest and back,
/// every request once, and the oldest page straight away.
#[tokio::test]
async fn the_request_list_pages_by_key_through_a_long_history() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Viewer).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        for i in 0..120 {
            app.report(&code, &format!("Неисправность номер {i:03} у входа"))
                .await;
        }
        let numbers = |body: &str| -> Vec<String> {
            body.match_indices("Неисправность номер ")
                .map(|(at, m)| body[at + m.len()..at + m.len() + 3].to_owned())
                .collect()
        };
        let link = |body: &str, text: &str| -> Option<String> {
            let at = body.find(&format!(">{text}</a>"))?;
            let start = body[..at].rfind("href=\"")? + 6;
            Some(crate::helpers::unescape(&body[start..at - 1]))
        };
        let mut seen = Vec::new();
        let mut page = admin.get("/admin/requests").await;
        assert!(page.body.contains("Найдено: 120."), "{}", page.body);
        let mut pages = 1;
        loop {
            seen.extend(numbers(&page.body));
            match link(&page.body, "Вперёд →") {
                Some(next) => {
                    page = admin.get(&next).await;
                    pages += 1;
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let expected: Vec<String> = (0..120).rev().map(|i| format!("{i:03}")).collect();
        assert_eq!(seen, expected, "newest first, each once");
        // Back from the last page: the middle one again.
        let back = admin.get(&link(&page.body, "← Назад").unwrap()).await;
        assert_eq!(numbers(&back.body), expected[50..100]);
        // The oldest page straight away, newest of it first.
        let oldest = admin.get("/admin/requests?last=1").await;
        assert_eq!(numbers(&oldest.body), expected[70..120]);
        assert!(link(&oldest.body, "Вперёд →").is_none());
        assert!(link(&oldest.body, "« Новые").is_some());
    })
    .await;
}

/// Review finding: viewers saw customers' contacts on the request page and
/// through the privacy search, while viewer API tokens get none. Now
/// neither does a viewer in the admin area; admins still do.
#[tokio::test]
async fn viewers_see_no_customer_contacts() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app
            .report_with(
                &code,
                &[
                    ("description", "Не работает лифт в третьем подъезде"),
                    ("name", "Сидорова Анна"),
                    ("phone", "+79991112233"),
                    ("consent", "1"),
                ],
            )
            .await;
        let id = app.request_by_status_path(&path).await.id;
        let viewer = StaffClient::new(&app, Role::Viewer).await;
        let page = viewer.get(&format!("/admin/requests/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Сидорова"), "{}", page.body);
        assert!(!page.body.contains("9991112233"));
        assert!(page.body.contains("контакты видят администраторы"));
        let search = viewer
            .get("/admin/settings/privacy?who=%2B79991112233")
            .await;
        assert_eq!(search.status, 403);
        let admin = StaffClient::new(&app, Role::Admin).await;
        let page = admin.get(&format!("/admin/requests/{id}")).await;
        assert!(page.body.contains("Сидорова Анна"));
    })
    .await;
}
