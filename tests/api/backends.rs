//! The core stories, run against every task system qrdesk delivers to: one
//! set of tests, each run for HubEx and for Bitrix24 (each on both engines).

use qrdesk::backend::bitrix24::sim::Simulator as Portal;
use qrdesk::backend::hubex::sim::Fault;
use qrdesk::backend::AssetId;
use qrdesk::codes::Code;
use qrdesk::config::{BackendKind, Config};
use qrdesk::store::codes::Target;

use qrdesk::store::Engine;

use crate::helpers::{
    engine, on_each_engine, simulator, start_with_portal, test_config, wait_for, TempDir, TestApp,
    TestDb,
};

const KINDS: [BackendKind; 2] = [BackendKind::Hubex, BackendKind::Bitrix24];

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
    let dir = TempDir::new();
    let mut config = test_config(&dir);
    let db = match engine() {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let db = TestDb::create().await;
            config.database.url = db.url.clone();
            Some(db)
        }
    };
    config.backend.kind = kind;
    // The portal's own limit is what paces the tests, not ours.
    config.bitrix24.max_calls_per_minute = 6000;
    config.bitrix24.timeout_secs = 2;
    tweak(&mut config);
    let portal = (kind == BackendKind::Bitrix24).then(Portal::new);
    if let Some(p) = &portal {
        p.set_rate_limit(200.0, 500.0);
    }
    start_with_portal(config, dir, db, simulator(), portal).await
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

impl System for TestApp {
    fn kind(&self) -> BackendKind {
        self.config.backend.kind
    }

    fn seen(&self) -> Vec<Seen> {
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
        let ok = match &self.bitrix24 {
            Some(p) => p.staff_reply(task, text),
            None => self.sim.staff_reply(task, text),
        };
        assert!(ok, "task {task} exists");
    }

    fn in_progress(&self, task: i64) {
        match &self.bitrix24 {
            Some(p) => p.set_status(task, 3),
            None => self.sim.set_status(task, 2),
        };
    }

    fn completed(&self, task: i64) {
        match &self.bitrix24 {
            Some(p) => p.set_status(task, 4),
            None => self.sim.set_status(task, 3),
        };
    }

    fn our_comments(&self, task: i64) -> Vec<String> {
        match &self.bitrix24 {
            Some(p) => p
                .comments()
                .into_iter()
                .filter(|c| {
                    c.task_id == task && c.author_id == qrdesk::backend::bitrix24::sim::USER_ID
                })
                .map(|c| c.text)
                .collect(),
            None => self
                .sim
                .messages()
                .into_iter()
                .filter(|m| m.task_id == task && !m.by_staff)
                .map(|m| m.message)
                .collect(),
        }
    }

    fn fail_create(&self, fault: Fault, times: u32) {
        match &self.bitrix24 {
            Some(p) => p.fail("tasks.task.add", fault, times),
            None => self.sim.fail("POST", "/WORK/Tasks", fault, times),
        }
    }

    fn asset(&self) -> AssetId {
        match self.kind() {
            BackendKind::Hubex => AssetId(1002),
            // The first asset of the demo catalog qrdesk keeps itself.
            BackendKind::Bitrix24 => AssetId(1),
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
            assert!(t.text.contains("Контакт: Иван"), "{kind:?}: {}", t.text);
            assert!(t.text.contains("Оборудование: "), "{kind:?}: {}", t.text);
            assert_eq!(t.files, 2, "{kind:?}: each photo attached once");
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
