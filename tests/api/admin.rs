//! The admin area over HTTP: sign-in, roles, CSRF, codes, printing, requests.

use qrdesk::admin::auth::hash_password;
use qrdesk::backend::{AssetId, LocationId};
use qrdesk::domain::codes::Code;
use qrdesk::store::admins::{self, Role};
use qrdesk::store::codes::{self as code_store, State as CodeState, Target};

use crate::helpers::{on_each_engine, spawn_app, Page, TestApp};

const PASSWORD: &str = "correct-horse-battery";

/// A browser with its own cookie jar, signed in as a new account of `role`.
pub(crate) struct StaffClient {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(resp: reqwest::Response) -> Page {
    crate::helpers::into_page(resp).await
}

impl StaffClient {
    async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Page, StaffClient) {
        StaffClient::sign_in_at(&app.url, email, password).await
    }

    async fn sign_in_at(base: &str, email: &str, password: &str) -> (Page, StaffClient) {
        let client = browser();
        let resp = client
            .post(format!("{base}/admin/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        let login = page(resp).await;
        let mut staff = StaffClient {
            client,
            base: base.to_owned(),
            csrf: String::new(),
        };
        if login.status == 303 {
            let dash = staff.get("/admin").await;
            staff.csrf = dash.input("csrf").expect("csrf on every page");
        }
        (login, staff)
    }

    pub(crate) async fn new(app: &TestApp, role: Role) -> StaffClient {
        StaffClient::at(&app.url, app.pool(), role).await
    }

    /// A new account of `role` in the database at `pool`, signed in to the
    /// qrdesk at `base` (a `qrdesk serve` process, say).
    pub(crate) async fn at(base: &str, pool: &qrdesk::store::Pool, role: Role) -> StaffClient {
        let email = format!(
            "{}-{}@example.ru",
            role.as_str(),
            Code::generate().as_str().to_lowercase()
        );
        let hash = hash_password(PASSWORD).unwrap();
        admins::create(pool, &email, &hash, role, qrdesk::store::now_ms())
            .await
            .unwrap()
            .unwrap();
        let (login, staff) = StaffClient::sign_in_at(base, &email, PASSWORD).await;
        assert_eq!(login.status, 303, "{}", login.body);
        staff
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        page(
            self.client
                .get(format!("{}{}", self.base, path))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A binary answer (an image, a PDF), which must be 200.
    pub(crate) async fn client_get_bytes(&self, path: &str) -> Vec<u8> {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.bytes().await.unwrap().to_vec()
    }

    /// A form's binary answer (a ZIP, say), which must be 200.
    pub(crate) async fn client_post_bytes(&self, path: &str, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .form(&all)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.bytes().await.unwrap().to_vec()
    }

    /// A form's answer with its body not read yet.
    pub(crate) async fn post_unread(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{}", self.base, path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// A file upload, the session's CSRF token first as the forms send it.
    pub(crate) async fn post_file(
        &self,
        path: &str,
        field: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .part(
                field.to_owned(),
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        page(
            self.client
                .post(format!("{}{}", self.base, path))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        page(
            self.client
                .post(format!("{}{}", self.base, path))
                .form(&all)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn setup_link_creates_the_owner_once() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let link = qrdesk::admin::auth::setup_link(app.pool(), &app.url)
            .await
            .unwrap()
            .expect("no accounts yet");
        let path = link.strip_prefix(&app.url).unwrap().to_owned();
        let token = path.split("token=").nth(1).unwrap().to_owned();
        let client = browser();
        let form = page(
            client
                .get(format!("{}{}", app.url, path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(form.status, 200);
        let short = page(
            client
                .post(format!("{}/admin/setup", app.url))
                .form(&[
                    ("token", token.as_str()),
                    ("email", "owner@example.ru"),
                    ("password", "short"),
                    ("repeat", "short"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("не меньше 10"));
        let ok = page(
            client
                .post(format!("{}/admin/setup", app.url))
                .form(&[
                    ("token", token.as_str()),
                    ("email", "Owner@Example.ru"),
                    ("password", PASSWORD),
                    ("repeat", PASSWORD),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(ok.status, 303);
        let dash = page(
            client
                .get(format!("{}/admin", app.url))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(dash.status, 200, "signed in after setup");
        assert!(dash.body.contains("owner@example.ru") && dash.body.contains("Владелец"));
        // The link worked once.
        let again = page(
            client
                .get(format!("{}{}", app.url, path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(again.status, 404);
    })
    .await;
}

#[tokio::test]
async fn sign_in_sets_a_safe_cookie_and_wrong_passwords_are_throttled() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let hash = hash_password(PASSWORD).unwrap();
        admins::create(app.pool(), "staff@example.ru", &hash, Role::Admin, 0)
            .await
            .unwrap();

        let client = browser();
        let resp = client
            .post(format!("{}/admin/login", app.url))
            .form(&[("email", "staff@example.ru"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain http in tests");

        // Not signed in: every admin page sends you to the sign-in page.
        for path in [
            "/admin",
            "/admin/catalog",
            "/admin/codes",
            "/admin/print",
            "/admin/requests",
            "/admin/users",
        ] {
            let p = page(
                browser()
                    .get(format!("{}{path}", app.url))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                (p.status, p.location.as_deref()),
                (303, Some("/admin/login")),
                "{path}"
            );
        }

        for _ in 0..5 {
            let (p, _) = StaffClient::sign_in(&app, "staff@example.ru", "wrong-password").await;
            assert_eq!(p.status, 401);
            assert!(p.body.contains("Неверный e-mail или пароль"));
        }
        let (p, _) = StaffClient::sign_in(&app, "staff@example.ru", PASSWORD).await;
        assert_eq!(
            p.status, 429,
            "the account is throttled even with the right password"
        );
        assert!(p.body.contains("Подождите 15 минут"));
        let (p, _) = StaffClient::sign_in(&app, "nobody@example.ru", "whatever-it-is").await;
        assert_eq!(p.status, 401, "unknown accounts look the same");
    })
    .await;
}

#[tokio::test]
async fn forms_need_the_session_csrf_token_and_the_right_role() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let missing = page(
            admin
                .client
                .post(format!("{}/admin/codes", app.url))
                .form(&[("mode", "site"), ("site", "location:205")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(missing.status, 403, "no CSRF token");
        let cross = page(
            admin
                .client
                .post(format!("{}/admin/codes", app.url))
                .header("sec-fetch-site", "cross-site")
                .form(&[
                    ("csrf", admin.csrf.as_str()),
                    ("mode", "site"),
                    ("site", "location:205"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(cross.status, 403, "cross-site post");
        assert_eq!(code_store::count(app.pool()).await.unwrap(), 0);

        let viewer = StaffClient::new(&app, Role::Viewer).await;
        let p = viewer
            .post(
                "/admin/codes",
                &[("mode", "site"), ("site", "location:205")],
            )
            .await;
        assert_eq!(p.status, 403);
        assert!(p.body.contains("Недостаточно прав"));
        assert_eq!(
            viewer.get("/admin/users").await.status,
            403,
            "users are the owner's"
        );
        assert_eq!(
            viewer.get("/admin/catalog").await.status,
            200,
            "viewers may look"
        );
    })
    .await;
}

#[tokio::test]
async fn codes_for_a_selection_a_filter_a_site_and_blanks() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let pool = app.pool();

        let p = admin
            .post(
                "/admin/codes",
                &[("mode", "assets"), ("a1001", "on"), ("a1002", "on")],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        assert_eq!(
            code_store::for_target(pool, Target::Asset(AssetId(1001)))
                .await
                .unwrap()
                .len(),
            1
        );

        // Every asset of location 205 without a code: five coffee-shop assets.
        let p = admin
            .post("/admin/codes", &[("mode", "filter"), ("location", "205")])
            .await;
        assert_eq!(p.status, 303);
        let (rows, _) = qrdesk::store::catalog::search_assets(
            pool,
            &qrdesk::store::catalog::AssetFilter {
                location: Some(LocationId(205)),
                has_code: Some(false),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .unwrap();
        assert!(rows.is_empty(), "every asset there has a code now");
        let again = admin
            .post("/admin/codes", &[("mode", "filter"), ("location", "205")])
            .await;
        assert_eq!(again.status, 422, "nothing left to create");

        let p = admin
            .post(
                "/admin/codes",
                &[("mode", "site"), ("site", "location:205")],
            )
            .await;
        assert_eq!(p.status, 303);
        assert_eq!(
            code_store::for_target(pool, Target::Location(LocationId(205)))
                .await
                .unwrap()
                .len(),
            1
        );

        let p = admin
            .post("/admin/codes", &[("mode", "blank"), ("count", "3")])
            .await;
        assert_eq!(p.status, 303);
        let to_print = p.location.unwrap();
        assert!(
            to_print.starts_with("/admin/print?sel="),
            "blanks go straight to printing: {to_print}"
        );
        let print = admin.get(&to_print).await;
        assert!(
            print
                .body
                .contains("Печатаются выбранные коды: <strong>3</strong>"),
            "exactly the three just created"
        );
        let too_many = admin
            .post("/admin/codes", &[("mode", "blank"), ("count", "5001")])
            .await;
        assert_eq!(too_many.status, 422);
        assert!(too_many.body.contains("5000"));

        let list = admin.get("/admin/codes?state=unassigned").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Найдено: 3."));
    })
    .await;
}

#[tokio::test]
async fn blank_codes_are_claimed_by_staff_and_polite_to_customers() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let blank = app.code_for(Target::Unassigned).await;

        let customer = app.get(&format!("/q/{blank}")).await;
        assert_eq!(customer.status, 404);
        assert!(customer.body.contains("ещё не подключён"));

        let staff_scan = admin.get(&format!("/q/{blank}")).await;
        assert_eq!(staff_scan.status, 303);
        assert_eq!(
            staff_scan.location.as_deref(),
            Some(format!("/admin/codes/{blank}/pick").as_str()),
            "a technician scanning a blank sticker lands on the picker"
        );
        let detail = admin.get(&format!("/admin/codes/{blank}")).await;
        assert!(detail.body.contains("Привязать пустой код"));
        // Found by its serial number, in lower case, with one button.
        let picker = admin
            .get(&format!("/admin/codes/{blank}/pick?q=phblm31245"))
            .await;
        assert_eq!(picker.status, 200);
        assert!(picker.body.contains("МФУ HP LaserJet"), "{}", picker.body);
        assert!(picker.body.contains(r#"name="target_id" value="1003""#));
        assert!(!picker.body.contains("Кофемашина"), "only what matches");

        let p = admin
            .post(
                &format!("/admin/codes/{blank}/action"),
                &[("op", "assign"), ("kind", "asset"), ("target_id", "1003")],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        let form = app.get(&format!("/q/{blank}")).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("МФУ HP LaserJet"));

        let outside = admin
            .post(
                &format!("/admin/codes/{blank}/action"),
                &[("op", "move"), ("kind", "asset"), ("target_id", "999999")],
            )
            .await;
        assert_eq!(outside.status, 422);
        assert!(
            outside.body.contains("Актив №999999 не найден в каталоге"),
            "said in Russian, with what to do: {}",
            outside.body
        );
    })
    .await;
}

#[tokio::test]
async fn rotate_revoke_and_move_keep_customers_informed() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Кофемашина не включается совсем").await;
        app.get(&format!("/q/{code}")).await;

        let detail = admin.get(&format!("/admin/codes/{code}")).await;
        assert!(
            // One phone opened the form twice within the hour: one scan.
            detail.body.contains("<dt>Сканов</dt><dd>1"),
            "scans counted: {}",
            detail.body
        );
        assert!(
            detail.body.contains("<dt>Заявок</dt><dd>1"),
            "requests counted"
        );
        // The dashboard counts in proper Russian: one code, one request.
        let dash = admin.get("/admin").await.body;
        assert!(
            dash.contains("<span class=\"big\">1</span> код</a>"),
            "{dash}"
        );
        assert!(
            dash.contains("<span class=\"big\">1</span> заявка:"),
            "{dash}"
        );
        // Today's bar of the 30-day chart carries that scan.
        assert!(
            detail.body.contains("Сканы за 30 дней: 1"),
            "{}",
            detail.body
        );
        assert_eq!(detail.body.matches("<rect ").count(), 30, "a bar a day");
        assert!(detail.body.contains(": 1</title>"), "today's bar");

        let p = admin
            .post(
                &format!("/admin/codes/{code}/action"),
                &[("op", "move"), ("kind", "asset"), ("target_id", "1002")],
            )
            .await;
        assert_eq!(p.status, 303);
        assert!(
            app.get(&format!("/q/{code}"))
                .await
                .body
                .contains("Кондиционер Daikin"),
            "same sticker, new asset"
        );

        // Rotating asks first, saying what will happen; nothing changes yet.
        let ask = admin
            .post(&format!("/admin/codes/{code}/action"), &[("op", "rotate")])
            .await;
        assert_eq!(ask.status, 200);
        assert!(
            ask.body.contains("Заменить код новым?") && ask.body.contains("эта наклейка заменена"),
            "{}",
            ask.body
        );
        assert!(ask.body.contains("name=\"confirm\" value=\"1\""));
        assert_eq!(app.get(&format!("/q/{code}")).await.status, 200, "not yet");
        let p = admin
            .post(
                &format!("/admin/codes/{code}/action"),
                &[("op", "rotate"), ("confirm", "1")],
            )
            .await;
        assert_eq!(p.status, 303);
        let new = p
            .location
            .unwrap()
            .trim_start_matches("/admin/codes/")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let old_page = app.get(&format!("/q/{code}")).await;
        assert_eq!(old_page.status, 404);
        assert!(
            old_page.body.contains("Эта наклейка заменена"),
            "{}",
            old_page.body
        );
        assert_eq!(app.get(&format!("/q/{new}")).await.status, 200);

        let ask = admin
            .post(&format!("/admin/codes/{new}/action"), &[("op", "revoke")])
            .await;
        assert!(
            ask.body.contains("Отключить код?") && ask.body.contains("перестанет принимать заявки")
        );
        assert_eq!(app.get(&format!("/q/{new}")).await.status, 200, "not yet");
        let p = admin
            .post(
                &format!("/admin/codes/{new}/action"),
                &[("op", "revoke"), ("confirm", "1")],
            )
            .await;
        assert_eq!(p.status, 303);
        let revoked = code_store::get(app.pool(), &Code::parse(&new).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.state, CodeState::Revoked);
        assert!(app
            .get(&format!("/q/{new}"))
            .await
            .body
            .contains("больше не действует"));

        // For 30 days a revoked code can be switched on again; a replaced
        // one cannot (its sticker says "replaced").
        let offers_restore = |c: String| {
            let admin = &admin;
            async move {
                admin
                    .get(&format!("/admin/codes/{c}"))
                    .await
                    .body
                    .contains("Включить снова")
            }
        };
        let restore = |c: String| {
            let admin = &admin;
            async move {
                admin
                    .post(&format!("/admin/codes/{c}/action"), &[("op", "restore")])
                    .await
                    .status
            }
        };
        assert!(offers_restore(new.clone()).await);
        assert!(!offers_restore(code.to_string()).await);
        assert_eq!(restore(new.clone()).await, 303);
        assert_eq!(
            app.get(&format!("/q/{new}")).await.status,
            200,
            "takes requests again"
        );
        assert_eq!(
            restore(code.to_string()).await,
            422,
            "a replaced code stays replaced"
        );
        // Past the 30 days: no more.
        let new_code = Code::parse(&new).unwrap();
        code_store::revoke(app.pool(), &new_code).await.unwrap();
        sqlx::query("UPDATE codes SET revoked_at = revoked_at - $1 WHERE code = $2")
            .bind(code_store::RESTORE_WITHIN_MS + 1000)
            .bind(new_code.as_str())
            .execute(app.pool())
            .await
            .unwrap();
        assert!(!offers_restore(new.clone()).await);
        assert_eq!(restore(new.clone()).await, 422);
    })
    .await;
}

#[tokio::test]
async fn failed_requests_can_be_retried_from_the_list() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        app.sim.fail(
            "POST",
            "/WORK/Tasks",
            qrdesk::backend::hubex::sim::Fault::Status {
                status: 400,
                retry_after: None,
            },
            1,
        );
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let path = app.report(&code, "Капает вода из кондиционера").await;
        let r = app.wait_status(&path, "failed", 10).await;

        let list = admin.get("/admin/requests?status=failed").await;
        assert!(
            list.body.contains("Капает вода") && list.body.contains("HubEx HTTP 400"),
            "{}",
            list.body
        );
        let p = admin
            .post(&format!("/admin/requests/{}/retry", r.id), &[])
            .await;
        assert_eq!(p.status, 303);
        app.wait_status(&path, "delivered", 10).await;
        assert_eq!(app.tasks().len(), 1);
        let again = admin
            .post(&format!("/admin/requests/{}/retry", r.id), &[])
            .await;
        assert_eq!(again.status, 409, "only failed requests are retried");
    })
    .await;
}

#[tokio::test]
async fn printing_endpoints_deliver_what_the_preview_shows() {
    on_each_engine(|| async {
    let app = spawn_app().await;
    let admin = StaffClient::new(&app, Role::Admin).await;
    let a = app.code_for(Target::Asset(AssetId(1001))).await;
    let b = app.code_for(Target::Location(LocationId(205))).await;
    let q = format!("codes={a},{b}&template=avery-l7160&skip=1");

    let print = admin.get(&format!("/admin/print?{q}")).await;
    assert_eq!(print.status, 200);
    assert!(print.body.contains("Кодов: 2"));
    let preview = admin
        .client
        .get(format!("{}/admin/print/preview.svg?{q}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(preview.headers()["content-type"], "image/svg+xml");
    let svg = preview.text().await.unwrap();
    assert!(
        svg.contains("Кофемашина") && svg.contains("GIGA X8") && svg.contains("<path"),
        "{svg}"
    );

    let evil = code_store::create(
        app.pool(),
        Target::Asset(AssetId(1003)),
        Some("<script>alert(1)</script>"),
        0,
    )
    .await
    .unwrap();
    let svg = admin
        .client
        .get(format!("{}/admin/print/preview.svg?codes={evil}", app.url))
        .send()
        .await
        .unwrap();
    let svg = svg.text().await.unwrap();
    assert!(
        !svg.contains("<script") && svg.contains("&#60;script&#62;"),
        "label text is escaped in the preview"
    );

    let pdf = admin
        .client
        .get(format!("{}/admin/print/labels.pdf?{q}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let zpl = admin
        .client
        .get(format!("{}/admin/print/labels.zpl?{q}&dpmm=12", app.url))
        .send()
        .await
        .unwrap();
    let zpl = zpl.text().await.unwrap();
    assert_eq!(zpl.matches("^XA").count(), 2);
    let align = admin
        .client
        .get(format!(
            "{}/admin/print/align.pdf?template=avery-l7160",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert!(align.bytes().await.unwrap().starts_with(b"%PDF-"));
    let poster = admin
        .client
        .get(format!("{}/admin/codes/{b}/poster.pdf?size=a5", app.url))
        .send()
        .await
        .unwrap();
    assert!(poster.bytes().await.unwrap().starts_with(b"%PDF-"));
    let list = format!("{a},{b}");
    let zip = admin
        .client
        .post(format!("{}/admin/codes/images.zip", app.url))
        .form(&[
            ("csrf", admin.csrf.as_str()),
            ("codes", list.as_str()),
            ("dpi", "300"),
            ("mm", "25"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));
    let png = admin
        .client
        .get(format!(
            "{}/admin/codes/{a}/image?format=png&dpi=600&mm=20",
            app.url
        ))
        .send()
        .await
        .unwrap();
    let img = image::load_from_memory(&png.bytes().await.unwrap()).unwrap();
    let expected = 20.0 / 25.4 * 600.0;
    assert!(
        (img.width() as f32 - expected).abs() < expected * 0.15,
        "about 20 mm at 600 dpi: {} px",
        img.width()
    );

    // Calibration is saved per template and used by later jobs.
    let p = admin
        .post(
            "/admin/print/calibration",
            &[
                ("template", "avery-l7160"),
                ("ox", "0,5"),
                ("oy", "-1"),
                ("back", &q),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let offset = qrdesk::labels::job::saved_offset(app.pool(), "avery-l7160")
        .await
        .unwrap();
    assert_eq!(offset, (0.5, -1.0));
    let bad = admin
        .post(
            "/admin/print/calibration",
            &[("template", "avery-l7160"), ("ox", "99"), ("oy", "0")],
        )
        .await;
    assert_eq!(bad.status, 422);

    let custom = admin
        .get(&format!("/admin/print?codes={a}&template=custom&pw=210&ph=297&cols=4&rows=7&lw=70&lh=38&top=5&left=0&hp=70&vp=38"))
        .await;
    assert!(
        custom.body.contains("не помещаются"),
        "a custom sheet that cannot fit is explained"
    );
    })
    .await;
}

#[tokio::test]
async fn owner_manages_people_and_a_password_change_ends_other_sessions() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let owner = StaffClient::new(&app, Role::Owner).await;
        let p = owner
            .post(
                "/admin/users",
                &[("email", "new.person@example.ru"), ("role", "viewer")],
            )
            .await;
        assert_eq!(p.status, 200);
        let password = p
            .body
            .split("class=\"mono big-code\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        let (login, newbie) = StaffClient::sign_in(&app, "new.person@example.ru", &password).await;
        assert_eq!(login.status, 303, "the generated password works");
        assert_eq!(newbie.get("/admin").await.status, 200);

        // The last owner can be neither demoted nor removed.
        let me = admins::by_email(app.pool(), &owner_email(&app).await)
            .await
            .unwrap()
            .unwrap()
            .0;
        let p = owner
            .post(
                &format!("/admin/users/{}", me.id),
                &[("op", "role"), ("role", "viewer")],
            )
            .await;
        assert_eq!(p.status, 409);

        // Two sessions; changing the password in one ends the other.
        let other = StaffClient::sign_in(&app, &me.email, PASSWORD).await.1;
        assert_eq!(other.get("/admin").await.status, 200);
        let p = owner
            .post(
                "/admin/account",
                &[
                    ("current", PASSWORD),
                    ("password", "another-long-password"),
                    ("repeat", "another-long-password"),
                ],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        assert_eq!(owner.get("/admin").await.status, 200, "this session stays");
        assert_eq!(
            other.get("/admin").await.status,
            303,
            "the other session ended"
        );
    })
    .await;
}

async fn owner_email(app: &TestApp) -> String {
    admins::list(app.pool())
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.role == Role::Owner)
        .unwrap()
        .email
}

#[test]
fn admin_create_cli_reads_the_password_from_stdin() {
    use std::io::Write;
    let dir = crate::helpers::TempDir::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.ru",
            "--role",
            "owner",
        ])
        .current_dir(&dir.0)
        .env("QRDESK_SERVER__DATA_DIR", dir.0.join("data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-enough-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("created owner account ops@example.ru")
            && !stdout.contains("a-long-enough-password")
    );
}

#[tokio::test]
async fn intake_can_be_paused_for_everyone_or_one_code_with_a_message() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let a = app.code_for(Target::Asset(AssetId(1001))).await;
        let b = app.code_for(Target::Asset(AssetId(1002))).await;

        let p = admin
            .post(
                "/admin/pause",
                &[
                    ("op", "pause"),
                    ("code", a.as_str()),
                    (
                        "message",
                        "Мы знаем, что кофемашина сломана: мастер уже едет",
                    ),
                ],
            )
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        let page = app.get(&format!("/q/{a}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Мы уже знаем о проблеме") && page.body.contains("мастер уже едет")
        );
        assert!(!page.body.contains("form_token"), "no form while paused");
        let post = app
            .post_form(
                &format!("/q/{a}"),
                &[("description", "Кофемашина не работает совсем")],
            )
            .await;
        assert!(post.body.contains("мастер уже едет"));
        assert!(
            app.get(&format!("/q/{b}"))
                .await
                .body
                .contains("form_token"),
            "other codes still take requests"
        );
        // The code page says so and offers only "resume"; the list filters it.
        let detail = admin.get(&format!("/admin/codes/{a}")).await.body;
        assert!(
            detail.contains("приостановлен: посетители видят «Мы знаем"),
            "{detail}"
        );
        assert!(
            detail.contains("Возобновить приём") && !detail.contains(">Приостановить</button>")
        );
        let other = admin.get(&format!("/admin/codes/{b}")).await.body;
        assert!(other.contains(">Приостановить</button>") && !other.contains("Возобновить"));
        let paused = admin.get("/admin/codes?state=paused").await.body;
        assert!(paused.contains(&format!("/admin/codes/{a}\"")), "{paused}");
        assert!(!paused.contains(&format!("/admin/codes/{b}\"")));
        assert!(paused.contains("<td>приостановлен</td>"));
        // A code is found as printed: with its hyphen, in lower case.
        let printed = qrdesk::labels::layout::display_code(a.as_str()).to_lowercase();
        let found = admin.get(&format!("/admin/codes?q={printed}")).await.body;
        assert!(
            found.contains(&format!("/admin/codes/{a}\"")),
            "{printed}: {found}"
        );
        assert!(!found.contains(&format!("/admin/codes/{b}\"")));

        let p = admin
            .post(
                "/admin/pause",
                &[("op", "pause"), ("message", "Технические работы до 18:00")],
            )
            .await;
        assert_eq!(p.status, 303);
        assert!(app
            .get(&format!("/q/{b}"))
            .await
            .body
            .contains("Технические работы до 18:00"));
        let empty = admin
            .post("/admin/pause", &[("op", "pause"), ("message", "  ")])
            .await;
        assert_eq!(empty.status, 422, "a pause needs a message");

        admin.post("/admin/pause", &[("op", "resume")]).await;
        admin
            .post("/admin/pause", &[("op", "resume"), ("code", a.as_str())])
            .await;
        assert!(app
            .get(&format!("/q/{a}"))
            .await
            .body
            .contains("form_token"));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(stored, 0, "nothing was accepted while paused");

        let viewer = StaffClient::new(&app, Role::Viewer).await;
        assert_eq!(
            viewer
                .post("/admin/pause", &[("op", "pause"), ("message", "x")])
                .await
                .status,
            403
        );
    })
    .await;
}
