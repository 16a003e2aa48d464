//! The settings area: profile, cabinet (organisation, users), integrations,
//! webhooks, API tokens, personal data and the audit log, over HTTP as staff.

use qrdesk::backend::AssetId;
use qrdesk::store::admins::{self, Role};
use qrdesk::store::codes::Target;
use qrdesk::store::{self, webhooks as hooks};

use crate::admin::StaffClient;
use qrdesk::store::Engine;

use crate::helpers::{engine, on_each_engine, spawn_app, spawn_with, unescape, TempDir, TestDb};
use crate::webhooks::Receiver;

#[tokio::test]
async fn every_settings_page_opens_for_every_role() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        for role in [Role::Owner, Role::Admin, Role::Viewer] {
            let staff = StaffClient::new(&app, role).await;
            // Credentials and customers' contacts are for admins.
            for path in ["/admin/settings/integrations", "/admin/settings/privacy"] {
                let page = staff.get(path).await;
                if role == Role::Viewer {
                    assert_eq!(page.status, 403, "{path} is for admins");
                    assert!(!staff.get("/admin/settings").await.body.contains(path));
                } else {
                    assert_eq!(page.status, 200, "{role:?} {path}");
                }
            }
            for path in [
                "/admin/settings",
                "/admin/settings/cabinet",
                "/admin/settings/webhooks",
                "/admin/settings/tokens",
                "/admin/settings/audit",
            ] {
                let page = staff.get(path).await;
                assert_eq!(page.status, 200, "{role:?} {path}: {}", page.body);
                assert!(page.body.contains("aria-label=\"Настройки\""), "{path}");
            }
        }
        let owner = StaffClient::new(&app, Role::Owner).await;
        assert!(owner
            .get("/admin/settings/tokens")
            .await
            .body
            .contains("Нет данных"));
        assert!(owner
            .get("/admin/settings/webhooks")
            .await
            .body
            .contains("Нет данных"));
        // The old addresses still lead there.
        assert_eq!(owner.get("/admin/users").await.status, 303);
        assert_eq!(owner.get("/admin/connection").await.status, 200);
    })
    .await;
}

/// Review finding: a viewer saw the Bitrix24 webhook URL (the portal's
/// credential) and a database URL with `?password=` on Интеграции. The real
/// binary, configured by environment as an integrator would.
#[tokio::test]
async fn the_integrations_page_shows_no_credential_and_only_to_admins() {
    on_each_engine(|| async {
        let dir = TempDir::new();
        let pg = match engine() {
            Engine::Postgres => Some(TestDb::create().await),
            Engine::Sqlite => None,
        };
        let hook = "https://portal.example.ru/rest/7/w3bh00ks3cret/";
        let mut env = vec![
            ("QRDESK_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
            ("QRDESK_SERVER__DATA_DIR", dir.0.display().to_string()),
            ("QRDESK_BACKEND__KIND", "bitrix24".into()),
            ("QRDESK_BITRIX24__WEBHOOK_URL", hook.into()),
            ("QRDESK_HUBEX__SERVICE_TOKEN", "t0kens3cret".into()),
        ];
        let db_url = match &pg {
            // Trust authentication ignores the password; the page must not show it.
            Some(db) => {
                let sep = if db.url.contains('?') { '&' } else { '?' };
                format!("{}{sep}password=pgpas5s3cret", db.url)
            }
            None => format!("sqlite://{}/qrdesk.db", dir.0.display()),
        };
        env.push(("QRDESK_DATABASE__URL", db_url.clone()));
        let (_serve, base) = crate::crash::start(&["serve"], &env, "qrdesk is running at");
        let base = base.trim_end_matches('/').to_owned();
        let pool = qrdesk::store::connect(&db_url, 2).await.unwrap();

        let viewer = StaffClient::at(&base, &pool, Role::Viewer).await;
        let refused = viewer.get("/admin/settings/integrations").await;
        assert_eq!(refused.status, 403);
        let admin = StaffClient::at(&base, &pool, Role::Admin).await;
        let page = admin.get("/admin/settings/integrations").await;
        assert_eq!(page.status, 200);
        for secret in ["w3bh00ks3cret", "pgpas5s3cret", "t0kens3cret"] {
            assert!(!refused.body.contains(secret), "{secret} shown to a viewer");
            assert!(!page.body.contains(secret), "{secret} shown to an admin");
        }
        assert!(page.body.contains("QRDESK_BITRIX24__WEBHOOK_URL"));
        assert!(page.body.contains("https://portal.example.ru"));
        assert!(page.body.contains("QRDESK_HUBEX__SERVICE_TOKEN"));
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn profile_and_organisation_are_saved_audited_and_shown() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let owner = StaffClient::new(&app, Role::Owner).await;
        let bad = owner
            .post(
                "/admin/settings/profile",
                &[
                    ("name", "Ольга"),
                    ("phone", "12"),
                    ("email", "olga@example.ru"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Проверьте телефон"));
        let saved = owner
            .post(
                "/admin/settings/profile",
                &[
                    ("name", "Ольга Диспетчер"),
                    ("phone", "+7 900 123-45-67"),
                    ("email", "Olga@Example.ru"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let me = admins::by_email(app.pool(), "olga@example.ru")
            .await
            .unwrap()
            .expect("the login is the new e-mail")
            .0;
        assert_eq!(me.name, "Ольга Диспетчер");
        assert_eq!(me.phone, "+79001234567");
        let profile = owner.get("/admin/settings").await;
        assert!(profile.body.contains("Ольга Диспетчер"));

        let long = "Я".repeat(121);
        assert_eq!(
            owner
                .post("/admin/settings/cabinet", &[("name", &long)])
                .await
                .status,
            422
        );
        let org = owner
            .post(
                "/admin/settings/cabinet",
                &[
                    ("name", "ООО «Ромашка»"),
                    ("description", "Эксплуатация зданий на Тверской"),
                    ("phone", "+7 495 123-45-67"),
                    ("privacy_url", "https://romashka.example.ru/privacy"),
                ],
            )
            .await;
        assert_eq!(org.status, 303);
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let form = app.get(&format!("/q/{}", code.as_str())).await;
        assert!(
            unescape(&form.body).contains("ООО «Ромашка»"),
            "{}",
            form.body
        );
        assert!(form.body.contains("Эксплуатация зданий на Тверской"));
        // The operator next to the consent box, and the footer.
        let text = unescape(&form.body);
        assert!(
            text.contains("Оператор персональных данных: ООО «Ромашка», <a href=\"https://romashka.example.ru/privacy\">"),
            "{text}"
        );
        assert!(text.contains("href=\"tel:+74951234567\""), "{text}");
        assert_eq!(
            owner
                .post(
                    "/admin/settings/cabinet",
                    &[("name", "x"), ("privacy_url", "javascript:alert(1)")]
                )
                .await
                .status,
            422
        );
        // Labels take it as the default organisation line.
        let print = owner
            .get(&format!("/admin/print?codes={}", code.as_str()))
            .await;
        assert_eq!(
            print.input("org").map(|v| unescape(&v)).as_deref(),
            Some("ООО «Ромашка»")
        );
        // A viewer sees it and cannot change it.
        let viewer = StaffClient::new(&app, Role::Viewer).await;
        assert_eq!(
            viewer
                .post("/admin/settings/cabinet", &[("name", "x")])
                .await
                .status,
            403
        );

        let users = owner.get("/admin/settings/cabinet").await;
        assert!(users.body.contains("Последний вход"));
        assert!(users.body.contains("+79001234567"));
        let audit = owner.get("/admin/settings/audit?action=org-change").await;
        assert!(audit.body.contains("<td class=\"mono\">org-change</td>"));
        assert!(audit.body.contains("127.0.0.1"), "the address is kept");
        assert!(
            !audit
                .body
                .contains("<td class=\"mono\">profile-change</td>"),
            "filtered by action"
        );
        let mine = owner
            .get(&format!("/admin/settings/audit?person={}", me.id))
            .await;
        assert!(mine.body.contains("<td class=\"mono\">profile-change</td>"));
        assert!(mine.body.contains("<td class=\"mono\">sign-in</td>"));
    })
    .await;
}

#[tokio::test]
async fn tokens_made_on_the_page_are_shown_once_and_revoked_at_once() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let viewer = StaffClient::new(&app, Role::Viewer).await;
        assert_eq!(
            viewer
                .post(
                    "/admin/settings/tokens",
                    &[("description", "x"), ("role", "admin")]
                )
                .await
                .status,
            403
        );
        assert_eq!(
            admin
                .post(
                    "/admin/settings/tokens",
                    &[("description", " "), ("role", "admin")]
                )
                .await
                .status,
            422
        );
        let made = admin
            .post(
                "/admin/settings/tokens",
                &[("description", "Сайт"), ("role", "viewer")],
            )
            .await;
        assert_eq!(made.status, 200);
        let token = made.input("token").expect("the token, once");
        assert!(token.starts_with("qrd_"));
        let api = |t: String| {
            let url = format!("{}/api/v1/codes", app.url);
            async move {
                reqwest::Client::new()
                    .get(url)
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(api(token.clone()).await, 200);
        let list = admin.get("/admin/settings/tokens").await;
        assert!(!list.body.contains(&token), "shown only once");
        assert!(list.body.contains(&token[..8]));
        let id = store::api_tokens::list(app.pool()).await.unwrap()[0].id;
        let revoked = admin
            .post(&format!("/admin/settings/tokens/{id}/revoke"), &[])
            .await;
        assert_eq!(revoked.status, 303);
        assert_eq!(api(token).await, 401);
    })
    .await;
}

#[tokio::test]
async fn webhooks_made_on_the_page_deliver_log_and_redeliver() {
    on_each_engine(|| async {
        let app = spawn_with(|c| c.webhooks.allow_private_targets = true).await;
        let receiver = Receiver::start(&[]).await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let none = admin
            .post(
                "/admin/settings/webhooks",
                &[("url", receiver.url.as_str()), ("active", "1")],
            )
            .await;
        assert_eq!(none.status, 422);
        assert!(none.body.contains("хотя бы одно событие"));
        let bad = admin
            .post(
                "/admin/settings/webhooks",
                &[("url", "ftp://x"), ("e_accepted", "1")],
            )
            .await;
        assert_eq!(bad.status, 422);
        let made = admin
            .post(
                "/admin/settings/webhooks",
                &[
                    ("url", receiver.url.as_str()),
                    ("description", "CRM"),
                    ("e_accepted", "1"),
                    ("active", "1"),
                ],
            )
            .await;
        assert_eq!(made.status, 200, "{}", made.body);
        let secret = made.input("secret").expect("the secret, once");
        assert!(secret.starts_with("whsec_"));
        receiver.set_secret(&secret);
        assert!(!admin
            .get("/admin/settings/webhooks")
            .await
            .body
            .contains(&secret));

        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "Не греет батарея в кабинете 12").await;
        app.drain_outbox(10).await;
        let got = receiver.wait_count(1, 10).await;
        assert!(got[0].signature_ok);
        let id = hooks::list(app.pool()).await.unwrap()[0].id;
        let detail = admin.get(&format!("/admin/settings/webhooks/{id}")).await;
        assert!(detail.body.contains("HTTP 200"), "{}", detail.body);
        assert!(detail.body.contains(&got[0].id));
        let again = admin
            .post(
                &format!("/admin/settings/webhooks/{id}/redeliver"),
                &[("delivery", got[0].id.as_str())],
            )
            .await;
        assert_eq!(again.status, 303);
        let got = receiver.wait_count(2, 10).await;
        assert_eq!(got[1].id, got[0].id);
        app.drain_outbox(10).await;

        // Switched off on the page: nothing more is sent.
        let off = admin
            .post(
                &format!("/admin/settings/webhooks/{id}"),
                &[
                    ("op", "save"),
                    ("url", receiver.url.as_str()),
                    ("e_accepted", "1"),
                ],
            )
            .await;
        assert_eq!(off.status, 303);
        app.report(&code, "Снова не греет батарея в кабинете 12")
            .await;
        app.drain_outbox(10).await;
        assert_eq!(receiver.received().len(), 2);
        let gone = admin
            .post(
                &format!("/admin/settings/webhooks/{id}"),
                &[("op", "delete")],
            )
            .await;
        assert_eq!(gone.status, 303);
        assert!(hooks::list(app.pool()).await.unwrap().is_empty());
        let audit = admin.get("/admin/settings/audit").await;
        for action in [
            "webhook-create",
            "webhook-redeliver",
            "webhook-change",
            "webhook-delete",
        ] {
            assert!(audit.body.contains(action), "{action}");
        }
    })
    .await;
}

#[tokio::test]
async fn internal_webhook_addresses_are_refused_on_the_page() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            // The review's: IPv4-compatible, translated, 6to4 around
            // loopback, site-local, benchmarking, NAT64, Teredo. Refused
            // where saved: nothing is ever sent to them by this test.
            "http://[::127.0.0.1]/hook",
            "http://[::ffff:0:7f00:1]/hook",
            "http://[2002:7f00:1::]/hook",
            "http://[fec0::1]/hook",
            "http://198.18.0.1/hook",
            "http://[64:ff9b:1::a00:1]/hook",
            "http://[2001::1]/hook",
        ] {
            let page = admin
                .post(
                    "/admin/settings/webhooks",
                    &[("url", url), ("e_accepted", "1"), ("active", "1")],
                )
                .await;
            assert_eq!(page.status, 422, "{url}");
            assert!(page.body.contains("внутренней сети"), "{url}");
        }
        assert!(hooks::list(app.pool()).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn one_persons_data_is_exported_and_erased() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let path = app
            .report_with(
                &code,
                &[
                    ("description", "Не работает кондиционер в зале"),
                    ("name", "Анна Заявитель"),
                    ("email", "Anna@Example.ru"),
                    ("consent", "1"),
                ],
            )
            .await;
        app.report_with(
            &code,
            &[
                ("description", "Другая заявка другого человека"),
                ("name", "Борис"),
                ("email", "boris@example.ru"),
                ("consent", "1"),
            ],
        )
        .await;
        app.drain_outbox(10).await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let owner = StaffClient::new(&app, Role::Owner).await;
        let found = admin
            .get("/admin/settings/privacy?who=anna@example.ru")
            .await;
        assert!(found.body.contains("Заявки: 1"), "{}", found.body);
        assert_eq!(
            admin
                .get("/admin/settings/privacy?who=not-an-address")
                .await
                .status,
            422
        );
        let export = admin
            .post(
                "/admin/settings/privacy/export",
                &[("who", "anna@example.ru")],
            )
            .await;
        assert_eq!(export.status, 200);
        let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
        assert_eq!(json["requests"].as_array().unwrap().len(), 1);
        assert_eq!(json["requests"][0]["contact"]["name"], "Анна Заявитель");
        assert!(!export.body.contains("Борис"));

        assert_eq!(
            admin
                .post(
                    "/admin/settings/privacy/erase",
                    &[("who", "anna@example.ru")]
                )
                .await
                .status,
            403,
            "erasing is the owner's"
        );
        let erased = owner
            .post(
                "/admin/settings/privacy/erase",
                &[("who", "anna@example.ru")],
            )
            .await;
        assert_eq!(erased.status, 303);
        let r = app.request_by_status_path(&path).await;
        assert_eq!(r.contact_name, None);
        assert_eq!(r.contact_email, None);
        assert_eq!(r.description, "Не работает кондиционер в зале");
        let others = store::requests::of_person(
            app.pool(),
            &store::requests::Person::Email("boris@example.ru".into()),
        )
        .await
        .unwrap();
        assert_eq!(others.len(), 1, "only that person's data goes");
        let audit = owner
            .get("/admin/settings/audit?action=personal-data-erase")
            .await;
        assert!(audit.body.contains("a***@example.ru"));
        assert!(!audit.body.contains("anna@example.ru"));
    })
    .await;
}

#[tokio::test]
async fn integrations_show_the_connection_mail_and_environment() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let admin = StaffClient::new(&app, Role::Admin).await;
        let page = admin.get("/admin/settings/integrations").await;
        assert!(page.body.contains("Проверить сейчас"));
        assert!(page.body.contains("Почта не настроена"));
        let mail = admin.post("/admin/settings/integrations/mail", &[]).await;
        assert_eq!(mail.status, 409);
        assert!(mail.body.contains("mail.smtp_url"));
    })
    .await;
}

#[tokio::test]
async fn the_organisation_can_come_from_configuration() {
    on_each_engine(|| async {
        let app = spawn_with(|c| {
            c.organisation.name = "ООО «Из конфигурации»".into();
            c.organisation.privacy_url = "https://example.ru/privacy".into();
        })
        .await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let form = unescape(&app.get(&format!("/q/{}", code.as_str())).await.body);
        assert!(form.contains("Оператор персональных данных: ООО «Из конфигурации»"));
        // What Кабинет saves wins over the configuration.
        let owner = StaffClient::new(&app, Role::Owner).await;
        owner
            .post("/admin/settings/cabinet", &[("name", "ООО «Из настроек»")])
            .await;
        let form = unescape(&app.get(&format!("/q/{}", code.as_str())).await.body);
        assert!(form.contains("Оператор персональных данных: ООО «Из настроек»"));
        assert!(
            form.contains("https://example.ru/privacy"),
            "an empty field keeps the configured one"
        );
    })
    .await;
}
