//! The core stories, run against every task system qrdesk delivers to: one
//! set of tests, each run for HubEx, Bitrix24 and EvaTeam (each on both
//! engines).

use qrdesk::backend::bitrix24::sim::Simulator as Portal;
use qrdesk::backend::evateam::client::plain_text;
use qrdesk::backend::evateam::local_id;
use qrdesk::backend::evateam::sim::Simulator as Eva;
use qrdesk::backend::hubex::sim::Fault;
use qrdesk::backend::AssetId;
use qrdesk::config::{BackendKind, Config};
use qrdesk::domain::codes::Code;
use qrdesk::store::admins::Role;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, simulator, start_with_sims, wait_for, TestApp};

const KINDS: [BackendKind; 3] = [
    BackendKind::Hubex,
    BackendKind::Bitrix24,
    BackendKind::Evateam,
];

/// A task as the task system holds it, whatever the system.
#[derive(Debug, Clone)]
struct Seen {
    id: i64,
    /// The title where the system has one, else empty.
    title: String,
    /// The task's text (HubEx notes, Bitrix24 description).
    text: String,
    /// Our reference as stored in the system's own field (erpID, XML_ID).
    reference: String,
    files: usize,
}

/// Starts qrdesk delivering to `kind`'s simulator.
async fn spawn(kind: BackendKind, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let (dir, mut config, db) = crate::helpers::test_setup().await;
    config.backend.kind = kind;
    // The portal's own limit is what paces the tests, not ours.
    config.bitrix24.max_calls_per_minute = 6000;
    config.bitrix24.timeout_secs = 2;
    config.evateam.max_calls_per_minute = 6000;
    config.evateam.timeout_secs = 2;
    tweak(&mut config);
    let portal = (kind == BackendKind::Bitrix24).then(Portal::new);
    if let Some(p) = &portal {
        p.set_rate_limit(200.0, 500.0);
    }
    let others = qrdesk::Simulators {
        hubex: None,
        bitrix24: portal,
        evateam: (kind == BackendKind::Evateam).then(Eva::new),
    };
    start_with_sims(config, dir, db, simulator(), others).await
}

/// What each story needs of the system behind the app.
trait System {
    fn kind(&self) -> BackendKind;
    fn seen(&self) -> Vec<Seen>;
    /// A reply written by staff in the task system.
    fn reply(&self, task: i64, text: &str);
    fn in_progress(&self, task: i64);
    fn completed(&self, task: i64);
    /// Texts of the comments qrdesk posted on a task.
    fn our_comments(&self, task: i64) -> Vec<String>;
    /// The next `times` task creations get `fault`.
    fn fail_create(&self, fault: Fault, times: u32);
    /// The asset stories use.
    fn asset(&self) -> AssetId;
}

/// The EvaTeam task behind qrdesk's numeric id.
fn eva_id(eva: &Eva, task: i64) -> String {
    eva.tasks()
        .into_iter()
        .find(|t| local_id(&t.id) == task)
        .map(|t| t.id)
        .unwrap_or_else(|| panic!("EvaTeam task {task} exists"))
}

impl System for TestApp {
    fn kind(&self) -> BackendKind {
        self.config.backend.kind
    }

    fn seen(&self) -> Vec<Seen> {
        if let Some(eva) = &self.evateam {
            let files = eva.attachments();
            return eva
                .tasks()
                .into_iter()
                .map(|t| {
                    let text = plain_text(&t.text);
                    Seen {
                        id: local_id(&t.id),
                        title: t.name,
                        // EvaTeam has no field for it: the text carries it.
                        reference: text
                            .lines()
                            .find_map(|l| l.strip_prefix("Заявка qrdesk: "))
                            .unwrap_or("")
                            .to_owned(),
                        text,
                        files: files
                            .iter()
                            .filter(|a| a.parent == t.id && a.size > 0)
                            .count(),
                    }
                })
                .collect();
        }
        match &self.bitrix24 {
            Some(p) => p
                .tasks()
                .into_iter()
                .map(|t| Seen {
                    id: t.id,
                    title: t.title,
                    text: t.description,
                    reference: t.xml_id,
                    files: t.files.len(),
                })
                .collect(),
            None => {
                let files = self.sim.attachments();
                self.sim
                    .tasks()
                    .into_iter()
                    .map(|t| Seen {
                        id: t.id,
                        title: String::new(),
                        text: t.body.notes.clone().unwrap_or_default(),
                        reference: t.body.erp_id.clone().unwrap_or_default(),
                        files: files.iter().filter(|a| a.task_id == t.id).count(),
                    })
                    .collect()
            }
        }
    }

    fn reply(&self, task: i64, text: &str) {
        let ok = match (&self.evateam, &self.bitrix24) {
            (Some(e), _) => e.staff_reply(&eva_id(e, task), text),
            (_, Some(p)) => p.staff_reply(task, text),
            _ => self.sim.staff_reply(task, text),
        };
        assert!(ok, "task {task} exists");
    }

    fn in_progress(&self, task: i64) {
        match (&self.evateam, &self.bitrix24) {
            (Some(e), _) => e.set_status(&eva_id(e, task), "IN_PROGRESS"),
            (_, Some(p)) => p.set_status(task, 3),
            _ => self.sim.set_status(task, 2),
        };
    }

    fn completed(&self, task: i64) {
        match (&self.evateam, &self.bitrix24) {
            (Some(e), _) => e.set_status(&eva_id(e, task), "IN_REVIEW"),
            (_, Some(p)) => p.set_status(task, 4),
            _ => self.sim.set_status(task, 3),
        };
    }

    fn our_comments(&self, task: i64) -> Vec<String> {
        match (&self.evateam, &self.bitrix24) {
            (Some(e), _) => {
                let id = eva_id(e, task);
                e.comments()
                    .into_iter()
                    .filter(|c| c.parent == id && c.by_api)
                    .map(|c| plain_text(&c.text))
                    .collect()
            }
            (_, Some(p)) => p
                .comments()
                .into_iter()
                .filter(|c| {
                    c.task_id == task && c.author_id == qrdesk::backend::bitrix24::sim::USER_ID
                })
                .map(|c| c.text)
                .collect(),
            _ => self
                .sim
                .messages()
                .into_iter()
                .filter(|m| m.task_id == task && !m.by_staff)
                .map(|m| m.message)
                .collect(),
        }
    }

    fn fail_create(&self, fault: Fault, times: u32) {
        match (&self.evateam, &self.bitrix24) {
            (Some(e), _) => e.fail("CmfTask.create", fault, times),
            (_, Some(p)) => p.fail("tasks.task.add", fault, times),
            _ => self.sim.fail("POST", "/WORK/Tasks", fault, times),
        }
    }

    fn asset(&self) -> AssetId {
        match self.kind() {
            BackendKind::Hubex => AssetId(1002),
            // The first asset of the demo catalog qrdesk keeps itself.
            BackendKind::Bitrix24 | BackendKind::Evateam => AssetId(1),
        }
    }
}

async fn code(app: &TestApp) -> Code {
    app.code_for(Target::Asset(app.asset())).await
}

#[tokio::test]
async fn a_request_becomes_one_task_with_its_fields_and_its_photos_once() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let app = spawn(kind, |_| {}).await;
            let code = code(&app).await;
            let page = crate::photos::send(
                &app,
                &code,
                "Не включается насос\nгорит красная лампа",
                vec![
                    ("a.jpg", crate::photos::phone_jpeg(800, 600)),
                    ("b.jpg", crate::photos::phone_jpeg(640, 480)),
                ],
            )
            .await;
            assert_eq!(page.status, 303, "{kind:?}: {}", page.body);
            let path = page.location.unwrap();
            let r = app.wait_status(&path, "delivered", 15).await;
            app.drain_outbox(15).await;
            let seen = app.seen();
            assert_eq!(seen.len(), 1, "{kind:?}: exactly one task");
            let t = &seen[0];
            assert_eq!(Some(t.id), r.task_id.map(|id| id.0), "{kind:?}");
            assert_eq!(t.reference, format!("qrdesk-{}", r.id), "{kind:?}");
            assert!(t.text.starts_with("Не включается насос\nгорит красная лампа"), "{kind:?}: {}", t.text);
            assert!(t.text.contains(&format!("QR-код: {code}")), "{kind:?}: {}", t.text);
            assert!(t.text.contains("Иван"), "{kind:?}: the contact: {}", t.text);
            assert!(t.text.contains("Оборудование: "), "{kind:?}: {}", t.text);
            assert_eq!(t.files, 2, "{kind:?}: each photo attached once");
            if kind != BackendKind::Hubex {
                assert_eq!(t.title, "Не включается насос", "{kind:?}");
                assert!(t.text.contains("Адрес: Москва, ул. Лесная, 5, котельная"), "{kind:?}: {}", t.text);
            }
            if kind == BackendKind::Evateam {
                let task = &app.evateam.as_ref().unwrap().tasks()[0];
                assert_eq!(task.project, "SUP");
                assert!(task.text.starts_with("<p>Не включается насос<br>горит красная лампа</p>"), "HTML, escaped: {}", task.text);
                assert_eq!(r.task_number.as_deref(), Some("SUP-000001"), "the human code is the number");
            }
            if kind == BackendKind::Bitrix24 {
                assert_eq!(t.title, "Не включается насос");
                let portal = app.bitrix24.as_ref().unwrap();
                let task = &portal.tasks()[0];
                assert_eq!(task.responsible_id, 2, "the demo portal's dispatcher");
                assert!(t.text.contains("Насос циркуляционный Grundfos UPS 32-80 (S/N GF-32-80-0117, инв. № ИНВ-0042)"), "{}", t.text);
                assert!(t.text.contains("Адрес: Москва, ул. Лесная, 5, котельная"));
                assert_eq!(portal.files().len(), 2, "uploaded once each");
            }
        })
        .await;
    }
}

#[tokio::test]
async fn the_status_page_follows_the_task_and_shows_staff_replies_and_takes_comments() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let app = spawn(kind, |_| {}).await;
            let code = code(&app).await;
            let path = app.report(&code, "Кондиционер капает на стол").await;
            let r = app.wait_status(&path, "delivered", 15).await;
            let task = r.task_id.unwrap().0;
            app.in_progress(task);
            app.reply(task, "Мастер придёт в 14:00");
            wait_for(
                15,
                "the reply and the new status on the status page",
                || async {
                    let page = app.get(&path).await;
                    let r = app.request_by_status_path(&path).await;
                    (page.body.contains("Мастер придёт в 14:00") && r.task_in_work_at.is_some())
                        .then_some(())
                },
            )
            .await;
            let sent = crate::conversation::post_comment(
                &app,
                &path,
                "Капает сильнее, подставил ведро",
                None,
            )
            .await;
            assert_eq!(sent.status, 303, "{kind:?}: {}", sent.body);
            app.drain_outbox(15).await;
            let ours = app.our_comments(task);
            assert_eq!(ours.len(), 1, "{kind:?}: {ours:?}");
            assert!(
                ours[0].starts_with("Капает сильнее, подставил ведро"),
                "{kind:?}"
            );
            let page = app.get(&path).await;
            assert_eq!(
                page.body.matches("Мастер придёт в 14:00").count(),
                1,
                "{kind:?}: the reply once; our own comment not shown as staff's"
            );
            app.completed(task);
            wait_for(15, "the completed task to ask whether it works", || async {
                let page = app.get(&path).await;
                page.body.contains("Всё работает?").then_some(())
            })
            .await;
        })
        .await;
    }
}

#[tokio::test]
async fn faults_on_create_leave_one_task_per_request() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let mut app = spawn(kind, |c| {
                c.delivery.base_delay_ms = 50;
                c.delivery.max_delay_secs = 1;
                c.hubex.timeout_secs = 2;
            })
            .await;
            app.fail_create(
                Fault::Status {
                    status: 500,
                    retry_after: None,
                },
                1,
            );
            app.fail_create(Fault::CreatedThenDrop, 2);
            app.fail_create(Fault::Drop, 1);
            app.fail_create(
                Fault::Status {
                    status: 503,
                    retry_after: Some(1),
                },
                1,
            );
            app.fail_create(Fault::CreatedThenHang { millis: 2500 }, 1);
            let code = code(&app).await;
            let mut paths = Vec::new();
            for i in 0..6 {
                paths.push(
                    app.report(&code, &format!("Поломка номер {i}, проверьте"))
                        .await,
                );
            }
            for p in &paths {
                app.wait_status(p, "delivered", 40).await;
            }
            app.drain_outbox(20).await;
            let seen = app.seen();
            assert_eq!(seen.len(), 6, "{kind:?}: one task each: {seen:#?}");
            for i in 0..6 {
                let n = seen
                    .iter()
                    .filter(|t| t.text.starts_with(&format!("Поломка номер {i},")))
                    .count();
                assert_eq!(n, 1, "{kind:?}: request {i}");
            }
            app.leave_jobs();
        })
        .await;
    }
}

#[tokio::test]
async fn a_crash_during_delivery_still_ends_in_one_task() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let app = spawn(kind, |c| {
                c.delivery.base_delay_ms = 50;
                c.delivery.max_delay_secs = 1;
                c.delivery.lease_secs = 1;
            })
            .await;
            // The task is made, the answer never comes, the process dies.
            app.fail_create(Fault::CreatedThenHang { millis: 60_000 }, 1);
            let code = code(&app).await;
            let path = app
                .report(&code, "Не работает лифт во втором подъезде")
                .await;
            wait_for(15, "the task to be created", || async {
                (!app.seen().is_empty()).then_some(())
            })
            .await;
            let app = app.crash_and_restart().await;
            let r = app.wait_status(&path, "delivered", 30).await;
            app.drain_outbox(15).await;
            let seen = app.seen();
            assert_eq!(seen.len(), 1, "{kind:?}: {seen:#?}");
            assert_eq!(
                Some(seen[0].id),
                r.task_id.map(|t| t.0),
                "{kind:?}: found, not made again"
            );
        })
        .await;
    }
}

#[tokio::test]
async fn refusals_are_read_as_each_system_means_them() {
    on_each_engine(|| async {
        // EvaTeam: an application error arrives with HTTP 200 and is final.
        let app = spawn(BackendKind::Evateam, |c| c.evateam.project = "NOPE".into()).await;
        let path = app
            .report(&code(&app).await, "Не работает кондиционер в переговорной")
            .await;
        let r = app.wait_status(&path, "failed", 15).await;
        assert!(
            r.failure_reason
                .as_deref()
                .unwrap_or("")
                .contains("Проект NOPE не найден"),
            "{r:?}"
        );
        assert!(app.seen().is_empty());

        // Bitrix24: a webhook without the task scope is final, with what to fix.
        let app = spawn(BackendKind::Bitrix24, |_| {}).await;
        app.bitrix24.as_ref().unwrap().revoke_scope("task");
        let path = app
            .report(&code(&app).await, "Не работает кондиционер в переговорной")
            .await;
        let r = app.wait_status(&path, "failed", 15).await;
        let reason = r.failure_reason.unwrap_or_default();
        assert!(
            reason.contains("insufficient_scope") && reason.contains("task, disk and user"),
            "{reason}"
        );
    })
    .await;
}

#[tokio::test]
async fn bitrix24_s_rate_limit_is_waited_out_and_nothing_is_lost() {
    on_each_engine(|| async {
        let app = spawn(BackendKind::Bitrix24, |c| {
            c.delivery.concurrency = 4;
            c.delivery.base_delay_ms = 50;
            c.delivery.max_delay_secs = 1;
        })
        .await;
        let portal = app.bitrix24.as_ref().unwrap();
        // A bucket of two that drains two calls a second, and four
        // deliveries at once (one call each): several answers are 503.
        portal.set_rate_limit(2.0, 2.0);
        let code = code(&app).await;
        let mut paths = Vec::new();
        for i in 0..8 {
            paths.push(
                app.report(&code, &format!("Заявка номер {i} при лимите"))
                    .await,
            );
        }
        // Eight tasks through a bucket of two take about six seconds alone;
        // with the whole suite sharing two cores, much longer.
        for p in &paths {
            app.wait_status(p, "delivered", 90).await;
        }
        app.drain_outbox(15).await;
        assert_eq!(app.seen().len(), 8, "one task each");
        let limited = portal.calls().iter().filter(|c| c.status == 503).count();
        assert!(limited > 0, "the portal did refuse some calls");
    })
    .await;
}

#[tokio::test]
async fn on_a_bitrix24_portal_with_frozen_comments_the_task_chat_is_used() {
    on_each_engine(|| async {
        let app = spawn(BackendKind::Bitrix24, |_| {}).await;
        let portal = app.bitrix24.as_ref().unwrap();
        portal.freeze_old_comments();
        let path = app
            .report(&code(&app).await, "Не работает кондиционер в переговорной")
            .await;
        let task = app
            .wait_status(&path, "delivered", 15)
            .await
            .task_id
            .unwrap()
            .0;
        let sent =
            crate::conversation::post_comment(&app, &path, "Стало ещё хуже, течёт вода", None)
                .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        app.drain_outbox(15).await;
        let ours: Vec<_> = portal
            .comments()
            .into_iter()
            .filter(|c| c.task_id == task)
            .collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert!(
            ours[0].chat && ours[0].text.starts_with("Стало ещё хуже"),
            "{ours:?}"
        );
        portal.staff_reply(task, "Инженер уже едет");
        wait_for(15, "the chat reply on the status page", || async {
            app.get(&path)
                .await
                .body
                .contains("Инженер уже едет")
                .then_some(())
        })
        .await;
        assert!(portal
            .calls()
            .iter()
            .any(|c| c.method == "tasks.task.chat.message.send" && c.status == 200));
    })
    .await;
}

#[tokio::test]
async fn the_connection_check_names_what_each_system_lacks() {
    let lang = qrdesk::i18n::Lang::En;
    // EvaTeam: an unknown responsible fails the check, a known one passes.
    let app = spawn(BackendKind::Evateam, |c| {
        c.evateam.responsible = "nobody".into()
    })
    .await;
    let report = app.app.as_ref().unwrap().backend.check(lang, false).await;
    assert!(!report.can_create, "{:?}", report.items);
    assert!(report
        .items
        .iter()
        .any(|i| i.what == "Responsible" && i.detail.contains("no such user")));
    let app = spawn(BackendKind::Evateam, |c| {
        c.evateam.responsible = "petrov@example.ru".into()
    })
    .await;
    let report = app.app.as_ref().unwrap().backend.check(lang, true).await;
    assert!(
        report.can_create && report.created.is_some(),
        "{:?}",
        report.items
    );
    assert_eq!(
        app.evateam.as_ref().unwrap().tasks()[0]
            .responsible
            .as_deref(),
        Some("petrov@example.ru")
    );
    // Bitrix24: an inactive responsible, and a webhook without the disk scope.
    let app = spawn(BackendKind::Bitrix24, |c| c.bitrix24.responsible_id = 4).await;
    app.bitrix24.as_ref().unwrap().revoke_scope("disk");
    let report = app.app.as_ref().unwrap().backend.check(lang, false).await;
    assert!(!report.can_create);
    assert!(
        report
            .items
            .iter()
            .any(|i| i.what == "Responsible" && i.detail.contains("inactive")),
        "{:?}",
        report.items
    );
    assert!(report
        .items
        .iter()
        .any(|i| i.what == "Folder for photos"
            && i.fix.as_deref().unwrap_or("").contains("disk scope")));
    let app = spawn(BackendKind::Bitrix24, |_| {}).await;
    let report = app.app.as_ref().unwrap().backend.check(lang, true).await;
    assert!(
        report.can_create && report.created.is_some(),
        "{:?}",
        report.items
    );
    assert!(report
        .items
        .iter()
        .any(|i| i.detail.contains("RESPONSIBLE_ID = 2")));
}

#[tokio::test]
async fn wrong_credentials_are_named_by_the_check() {
    let lang = qrdesk::i18n::Lang::En;
    // Bitrix24: a webhook URL with a wrong secret.
    let portal = Portal::new();
    let addr = portal.spawn(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let mut config = Config::default();
    config.backend.kind = BackendKind::Bitrix24;
    config.bitrix24.mode = qrdesk::config::Mode::Live;
    config.bitrix24.webhook_url = format!("http://{addr}/rest/1/wrongsecret1/").into();
    config.bitrix24.responsible_id = 2;
    let backend = qrdesk::connect(&config, None, Default::default())
        .await
        .unwrap()
        .backend;
    let report = backend.check(lang, false).await;
    assert!(!report.can_create);
    let first = &report.items[0];
    assert!(
        first.detail.contains("NO_AUTH_FOUND")
            && first.detail.contains("create the inbound webhook again"),
        "{first:?}"
    );
    assert!(
        !format!("{:?}", report.items).contains("wrongsecret1"),
        "the secret is never shown"
    );
    // EvaTeam: a wrong token is a 401.
    let eva = Eva::new();
    let addr = eva.spawn(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let mut config = Config::default();
    config.backend.kind = BackendKind::Evateam;
    config.evateam.mode = qrdesk::config::Mode::Live;
    config.evateam.base_url = format!("http://{addr}");
    config.evateam.token = "not-the-token".into();
    config.evateam.project = "SUP".into();
    let backend = qrdesk::connect(&config, None, Default::default())
        .await
        .unwrap()
        .backend;
    let report = backend.check(lang, false).await;
    assert!(!report.can_create);
    assert!(
        report.items[0].detail.contains("the token is not accepted"),
        "{:?}",
        report.items
    );
    assert!(eva.tasks().is_empty());
}

#[tokio::test]
async fn a_fault_matrix_leaves_one_task_per_request_and_every_photo_once() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let mut app = spawn(kind, |c| {
                c.delivery.concurrency = 4;
                c.delivery.base_delay_ms = 20;
                c.delivery.max_delay_secs = 1;
            })
            .await;
            let kinds = vec![
                Fault::Status {
                    status: 500,
                    retry_after: None,
                },
                Fault::Drop,
                Fault::CreatedThenDrop,
            ];
            match (&app.bitrix24, &app.evateam) {
                (Some(p), _) => p.chaos(25, kinds),
                (_, Some(e)) => e.chaos(25, kinds),
                _ => app.sim.chaos(25, kinds),
            }
            let code = code(&app).await;
            let mut paths = Vec::new();
            for i in 0..24 {
                let page = crate::photos::send(
                    &app,
                    &code,
                    &format!("Неисправность номер {i}, фото прилагаю"),
                    vec![("p.jpg", crate::photos::phone_jpeg(320 + i, 240))],
                )
                .await;
                assert_eq!(page.status, 303, "{kind:?}: {}", page.body);
                paths.push(page.location.unwrap());
            }
            for p in &paths {
                app.wait_status(p, "delivered", 60).await;
            }
            app.drain_outbox(60).await;
            let seen = app.seen();
            assert_eq!(seen.len(), 24, "{kind:?}: one task each");
            for i in 0..24 {
                let t: Vec<_> = seen
                    .iter()
                    .filter(|t| t.text.starts_with(&format!("Неисправность номер {i},")))
                    .collect();
                assert_eq!(t.len(), 1, "{kind:?}: request {i}");
                assert_eq!(t[0].files, 1, "{kind:?}: request {i}'s photo once");
            }
            // Counted where they are injected: a dropped connection is
            // logged as a 200 call, so the calls alone miss two kinds of three.
            let played = match (&app.bitrix24, &app.evateam) {
                (Some(p), _) => p.faults_played(),
                (_, Some(e)) => e.faults_played(),
                _ => app.sim.faults_played(),
            };
            eprintln!("{kind:?}: {played} faults in 24 requests");
            assert!(played > 0, "{kind:?}: the matrix did inject faults");
            app.leave_jobs();
        })
        .await;
    }
}

#[tokio::test]
async fn the_background_poller_brings_status_and_replies_without_a_page_view() {
    for kind in KINDS {
        on_each_engine(|| async move {
            let app = spawn(kind, |c| c.status.poll_secs = 1).await;
            let path = app.report(&code(&app).await, "Не работает вытяжка на кухне").await;
            let r = app.wait_status(&path, "delivered", 15).await;
            let task = r.task_id.unwrap().0;
            app.reply(task, "Заменили мотор вытяжки");
            app.completed(task);
            wait_for(20, "the poller to see the completed task and the reply", || async {
                let r = app.request_by_status_path(&path).await;
                let replies: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM task_messages WHERE request_id = $1 AND text LIKE '%мотор%'",
                )
                .bind(&r.id)
                .fetch_one(app.pool())
                .await
                .unwrap();
                (r.task_completed_at.is_some() && replies == 1).then_some(())
            })
            .await;
        })
        .await;
    }
}

#[tokio::test]
async fn staff_pages_name_the_configured_task_system_not_hubex() {
    for (kind, name) in [
        (BackendKind::Bitrix24, "Bitrix24"),
        (BackendKind::Evateam, "EvaTeam"),
    ] {
        let app = spawn(kind, |_| {}).await;
        let code = code(&app).await;
        let status = app.report(&code, "Не работает кнопка пуска").await;
        app.drain_outbox(20).await;
        let request = app.request_by_status_path(&status).await;
        let owner = crate::admin::StaffClient::new(&app, Role::Owner).await;
        let pages = [
            "/admin".to_owned(),
            "/admin/requests".to_owned(),
            "/admin/requests?status=delivered".to_owned(),
            format!("/admin/requests/{}", request.id),
            "/admin/codes".to_owned(),
            format!("/admin/codes/{code}"),
            "/admin/catalog".to_owned(),
            format!("/admin/catalog/assets/{}", app.asset()),
            "/admin/print".to_owned(),
            "/admin/connection".to_owned(),
            "/admin/settings".to_owned(),
            "/admin/settings/cabinet".to_owned(),
            "/admin/settings/integrations".to_owned(),
            "/admin/settings/webhooks".to_owned(),
            "/admin/settings/tokens".to_owned(),
            "/admin/settings/privacy".to_owned(),
            "/admin/settings/audit".to_owned(),
        ];
        for path in &pages {
            for lang in ["ru", "en"] {
                let sep = if path.contains('?') { '&' } else { '?' };
                let page = owner.get(&format!("{path}{sep}lang={lang}")).await;
                assert_eq!(page.status, 200, "{kind:?} {path} {lang}: {}", page.body);
                assert!(
                    !page.body.contains("HubEx"),
                    "{kind:?}: {path} ({lang}) names HubEx"
                );
            }
        }
        let list = owner.get("/admin/requests?lang=ru").await;
        assert!(list.body.contains(&format!("в {name}")), "{kind:?}");
        // The catalog is kept by qrdesk: the dashboard offers no sync with the system.
        let dashboard = owner.get("/admin?lang=ru").await;
        assert!(
            dashboard
                .body
                .contains(&format!("{name} не хранит оборудование")),
            "{kind:?}"
        );
        assert!(
            !dashboard.body.contains("Синхронизировать сейчас"),
            "{kind:?}"
        );
    }
}
