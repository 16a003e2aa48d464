//! The conversation on the status page: staff replies in, customer comments out.

use qrdesk::backend::hubex::sim::Fault;
use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;

use crate::helpers::{on_each_engine, spawn_app, spawn_with, wait_for, Page, TestApp};

const TEXT: &str = "Не греет батарея в переговорной";

async fn delivered_request(app: &TestApp) -> (String, i64) {
    let code = app.code_for(Target::Asset(AssetId(1002))).await;
    let path = app.report(&code, TEXT).await;
    let r = app.wait_status(&path, "delivered", 10).await;
    (path, r.task_id.unwrap().0)
}

pub async fn post_comment(app: &TestApp, path: &str, text: &str, photo: Option<Vec<u8>>) -> Page {
    let page = app.get(path).await;
    let token = page.input("form_token").expect("a form on the status page");
    send_comment(app, path, &token, text, photo).await
}

/// The status page's comment form as the phone sends it, with a given form token.
async fn send_comment(
    app: &TestApp,
    path: &str,
    token: &str,
    text: &str,
    photo: Option<Vec<u8>>,
) -> Page {
    let mut form = reqwest::multipart::Form::new()
        .text("form_token", token.to_owned())
        .text("description", text.to_owned());
    if let Some(bytes) = photo {
        form = form.part(
            "photo",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap(),
        );
    }
    let resp = app
        .client
        .post(format!("{}{path}/comment", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    crate::helpers::into_page(resp).await
}

fn png() -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::new_rgb8(120, 80)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test]
async fn staff_replies_show_and_customer_comments_reach_hubex_with_photos() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        assert!(app.get(&path).await.body.contains("Здесь появятся ответы"));

        app.sim
            .staff_reply(task, "Мастер приедет завтра с 10 до 12. <b>Ольга</b>");
        let page = app.get(&path).await;
        assert!(
            page.body.contains("Мастер приедет завтра с 10 до 12."),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("&#60;b&#62;Ольга"),
            "staff text is escaped"
        );

        let p = post_comment(
            &app,
            &path,
            "Спасибо, буду на месте. Код домофона 1234.",
            Some(png()),
        )
        .await;
        assert_eq!(p.status, 303, "{}", p.body);
        let message = wait_for(10, "the comment in HubEx", || async {
            app.sim.messages().into_iter().find(|m| !m.by_staff)
        })
        .await;
        assert_eq!(message.task_id, task);
        assert!(message.is_external, "an external comment");
        assert!(message.message.starts_with("Спасибо, буду на месте."));
        assert_eq!(message.attachments.len(), 1, "the photo goes with it");
        let attached = app.sim.attachments();
        assert_eq!(attached.len(), 1);
        assert_eq!(attached[0].task_id, task);
        let page = app.get(&path).await;
        assert!(
            page.body.contains("Спасибо, буду на месте.") && !page.body.contains("отправляется…")
        );
        assert_eq!(
            page.body.matches("Спасибо, буду на месте.").count(),
            1,
            "shown once, not also as a staff message"
        );
    })
    .await;
}

#[tokio::test]
async fn a_comment_is_posted_once_whatever_the_faults() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        for (i, fault) in [
            Fault::CreatedThenDrop,
            Fault::Status {
                status: 503,
                retry_after: None,
            },
            Fault::Drop,
        ]
        .into_iter()
        .enumerate()
        {
            app.sim.fail(
                "POST",
                &format!("/WORK/Tasks/{task}/conversation"),
                fault,
                1,
            );
            let p = post_comment(&app, &path, &format!("Комментарий номер {i}"), None).await;
            assert_eq!(p.status, 303);
        }
        wait_for(20, "three comments", || async {
            (app.sim.messages().len() >= 3).then_some(())
        })
        .await;
        app.drain_outbox(20).await;
        let texts: Vec<_> = app.sim.messages().into_iter().map(|m| m.message).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        for i in 0..3 {
            assert_eq!(
                texts
                    .iter()
                    .filter(|t| t.starts_with(&format!("Комментарий номер {i}")))
                    .count(),
                1
            );
        }
    })
    .await;
}

#[tokio::test]
async fn completed_tasks_ask_whether_it_works_and_can_be_reopened() {
    on_each_engine(|| async {
        let app = spawn_with(|c| c.hubex.reopen_stage_id = 2).await;
        let (path, task) = delivered_request(&app).await;
        assert!(!app.get(&path).await.body.contains("Всё работает?"));
        app.sim.set_status(task, 3);
        let page = app.get(&path).await;
        assert!(page.body.contains("Работы выполнены. Всё работает?"));
        let token = page.input("form_token").unwrap();
        for _ in 0..2 {
            let resp = app
                .client
                .post(format!("{}{path}/feedback", app.url))
                .form(&[("form_token", token.as_str()), ("kind", "not_fixed")])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 303);
        }
        let message = wait_for(10, "the answer in HubEx", || async {
            app.sim.messages().into_iter().find(|m| !m.by_staff)
        })
        .await;
        assert!(message.message.contains("всё ещё не работает"));
        wait_for(10, "the task reopened", || async {
            app.sim
                .tasks()
                .into_iter()
                .find(|t| t.id == task && t.status_id == 2 && t.completed.is_none())
        })
        .await;
        assert_eq!(
            app.sim.messages().len(),
            1,
            "a second tap sends nothing more"
        );
        let page = app.get(&path).await;
        assert!(!page.body.contains("Всё работает?"), "asked once");
    })
    .await;
}

#[tokio::test]
async fn closed_tasks_take_no_comments_and_bad_posts_keep_the_text() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        let short = post_comment(&app, &path, "!", None).await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("от 2 до"));
        let page = app.get(&path).await;
        let token = page.input("form_token").unwrap();
        let forged = app
            .client
            .post(format!("{}{path}/comment", app.url))
            .multipart(
                reqwest::multipart::Form::new()
                    .text("form_token", token.replace('.', "x"))
                    .text("description", "Текст, который нельзя терять"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 422);
        assert!(forged
            .text()
            .await
            .unwrap()
            .contains("Текст, который нельзя терять"));

        app.sim.set_status(task, 4);
        let page = app.get(&path).await;
        assert!(
            !page.body.contains("Добавить комментарий"),
            "no form once closed"
        );
    })
    .await;
}

#[tokio::test]
async fn the_status_page_offers_a_qr_of_itself() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, _) = delivered_request(&app).await;
        // The link itself, to copy or write down.
        let page = app.get(&path).await;
        assert!(page.body.contains(&format!(
            "id=\"status-link\" class=\"link\" readonly value=\"{}{path}\"",
            app.url
        )));
        let svg = app
            .client
            .get(format!("{}{path}/qr.svg", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        let upper = path.to_uppercase();
        assert_eq!(
            app.get(&upper).await.status,
            200,
            "the upper-case URL from the QR opens the page"
        );
        let resp = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert!(resp.text().await.unwrap().contains("noindex"));
    })
    .await;
}

#[tokio::test]
async fn the_same_problem_joins_the_open_request_instead_of_a_duplicate() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let first = app.report(&code, TEXT).await;
        let r = app.wait_status(&first, "delivered", 10).await;

        let form = app.get(&format!("/q/{code}")).await;
        assert!(form.body.contains("Об этом уже сообщили"), "{}", form.body);
        assert!(
            form.body.contains(r.task_number.as_deref().unwrap()),
            "task number shown"
        );
        assert!(!form.body.contains(TEXT), "no one else's words on the form");
        let token = form.input("form_token").unwrap();
        let resp = app
            .client
            .post(format!("{}/q/{code}/same", app.url))
            .form(&[("form_token", token.as_str()), ("request", r.id.as_str())])
            .send()
            .await
            .unwrap();
        // The person gets a status link of their own for that task.
        assert_eq!(resp.status(), 303);
        let own = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(own.starts_with("/t/") && !own.starts_with(&first), "{own}");
        let mine = app.get(&own).await;
        assert_eq!(mine.status, 200);
        assert!(
            mine.body.contains(r.task_number.as_deref().unwrap()),
            "task number"
        );
        assert!(
            mine.body.contains("сообщили сервисной службе"),
            "{}",
            mine.body
        );
        assert!(
            !mine.body.contains(TEXT) && !mine.body.contains("comment-form"),
            "no one else's words, no comment form"
        );
        assert_eq!(
            app.get(&format!("{}/live", own.split('?').next().unwrap()))
                .await
                .status,
            200
        );
        let own_token = own.trim_start_matches("/t/").split('?').next().unwrap();
        // It cannot write into the first person's conversation.
        let comment = app
            .client
            .post(format!("{}/t/{own_token}/comment", app.url))
            .form(&[("description", "Чужая переписка")])
            .send()
            .await
            .unwrap();
        assert_eq!(comment.status(), 404);
        let m = wait_for(10, "the note in HubEx", || async {
            app.sim.messages().into_iter().find(|m| !m.by_staff)
        })
        .await;
        assert!(m.message.contains("той же проблеме") && m.task_id == r.task_id.unwrap().0);
        assert_eq!(app.tasks().len(), 1, "no second task");
        let status = app.get(&first).await;
        assert!(
            status.body.contains("Другой заявитель"),
            "the first customer sees who it was"
        );
        // The follower's page follows the task too.
        app.sim.set_status(r.task_id.unwrap().0, 2);
        let mine = app.get(&own).await;
        assert!(mine.body.contains("В работе"), "{}", mine.body);

        // A request id this form did not offer is refused.
        let other = app
            .client
            .post(format!("{}/q/{code}/same", app.url))
            .form(&[
                ("form_token", token.as_str()),
                ("request", "01234567-0000-7000-8000-000000000000"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 422);
        // Once the task is completed the form no longer offers it.
        app.sim.set_status(r.task_id.unwrap().0, 3);
        app.get(&first).await;
        assert!(!app
            .get(&format!("/q/{code}"))
            .await
            .body
            .contains("Об этом уже сообщили"));
    })
    .await;
}

#[tokio::test]
async fn timeline_shows_each_step_as_the_task_moves() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        let done = |label: &str| format!("<li class=\"done\"><span>{label}</span>");
        let todo = |label: &str| format!("<li class=\"todo\"><span>{label}</span>");
        let page = app.get(&path).await.body;
        assert!(page.contains(&done("Принята")));
        assert!(page.contains(&done("Передана в сервисную службу")));
        for step in ["В работе", "Выполнена", "Закрыта"] {
            assert!(page.contains(&todo(step)), "{step} still ahead");
        }
        app.sim.set_status(task, 2);
        let page = app.get(&path).await.body;
        assert!(page.contains(&done("В работе")));
        assert!(page.contains(&todo("Выполнена")));
        app.sim.set_status(task, 4);
        let page = app.get(&path).await.body;
        for step in ["В работе", "Выполнена", "Закрыта"] {
            assert!(page.contains(&done(step)), "{step} reached");
        }
        let english = app.get(&format!("{path}?lang=en")).await.body;
        assert!(english.contains(&done("In progress")));
    })
    .await;
}

/// "I have the same problem" pressed on the form signed `token`.
async fn same_problem(
    app: &TestApp,
    code: &qrdesk::domain::codes::Code,
    token: &str,
    request_id: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}/q/{code}/same", app.url))
        .form(&[("form_token", token), ("request", request_id)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_form_sent_twice_is_one_comment_and_same_problem_notes_are_capped() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        let customer_notes = |app: &TestApp| {
            app.sim
                .messages()
                .into_iter()
                .filter(|m| !m.by_staff && m.task_id == task)
                .count()
        };

        // The status page's comment form, sent twice (a double tap).
        let token = app.get(&path).await.input("form_token").unwrap();
        for _ in 0..2 {
            let page =
                send_comment(&app, &path, &token, "Ещё деталь: индикатор мигает", None).await;
            assert_eq!(page.status, 303);
        }
        wait_for(10, "the comment in HubEx", || async {
            (customer_notes(&app) == 1).then_some(())
        })
        .await;

        // "The same problem": one form pressed twice is one note; many forms are
        // capped at limits.same_problem_per_hour (5).
        let code = {
            let r = app.request_by_status_path(&path).await;
            qrdesk::domain::codes::Code::parse(&r.code).unwrap()
        };
        let request_id = app.request_by_status_path(&path).await.id;
        for i in 0..8 {
            let token = app
                .get(&format!("/q/{code}"))
                .await
                .input("form_token")
                .unwrap();
            let times = if i == 0 { 2 } else { 1 };
            for _ in 0..times {
                let resp = same_problem(&app, &code, &token, &request_id).await;
                assert_eq!(resp.status(), 303, "every person gets a link");
            }
        }
        wait_for(10, "five notes in HubEx", || async {
            (customer_notes(&app) == 1 + 5).then_some(())
        })
        .await;
        app.drain_outbox(10).await;
        assert_eq!(customer_notes(&app), 6, "capped at five notes an hour");

        // Review finding: one form token minted a follower link per press
        // (30 presses, 30 rows). Now one form is one link, however often.
        let followers = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM followers")
                .fetch_one(app.pool())
                .await
                .unwrap()
        };
        let before = followers().await;
        let token = app
            .get(&format!("/q/{code}"))
            .await
            .input("form_token")
            .unwrap();
        let mut links = std::collections::HashSet::new();
        for _ in 0..30 {
            let resp = same_problem(&app, &code, &token, &request_id).await;
            assert_eq!(resp.status(), 303);
            links.insert(resp.headers()["location"].to_str().unwrap().to_owned());
        }
        assert_eq!(links.len(), 1, "the same link each time");
        assert_eq!(followers().await, before + 1, "one follower row");
    })
    .await;
}

#[tokio::test]
async fn contact_data_is_erased_after_the_task_is_closed_and_the_request_stays() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        let fields = |text| {
            [
                ("description", text),
                ("name", "Петров Пётр"),
                ("phone", "+79990001234"),
                ("consent", "1"),
            ]
        };
        let closed = app
            .report_with(&code, &fields("Не работает кофемашина, закроют"))
            .await;
        let open = app
            .report_with(&code, &fields("Не работает чайник, ещё в работе"))
            .await;
        let task = app
            .wait_status(&closed, "delivered", 10)
            .await
            .task_id
            .unwrap()
            .0;
        app.wait_status(&open, "delivered", 10).await;
        app.sim.set_status(task, 4);
        app.get(&closed).await; // the page reads the closed status
        let r = app.request_by_status_path(&closed).await;
        let closed_at = r.task_closed_at.expect("closed");
        let now = qrdesk::store::now_ms();
        // Not yet past the retention window: nothing is erased.
        assert_eq!(
            qrdesk::store::requests::erase_contacts_closed_before(app.pool(), closed_at, now)
                .await
                .unwrap(),
            0
        );
        // Past it: the closed request loses its contact, the open one keeps it.
        assert_eq!(
            qrdesk::store::requests::erase_contacts_closed_before(app.pool(), closed_at + 1, now)
                .await
                .unwrap(),
            1
        );
        let r = app.request_by_status_path(&closed).await;
        assert_eq!(
            (r.contact_name, r.contact_phone, r.contact_email),
            (None, None, None)
        );
        assert!(r.task_number.is_some(), "the request itself stays");
        assert_eq!(app.get(&closed).await.status, 200);
        let other = app.request_by_status_path(&open).await;
        assert_eq!(other.contact_phone.as_deref(), Some("+79990001234"));
        app.drain_outbox(10).await;
    })
    .await;
}

/// A view that reads the task's new state but cannot read its conversation
/// (the conversation call fails, or the page gives up waiting) must not mark
/// the change as read: the next view still fetches the staff reply.
#[tokio::test]
async fn a_conversation_read_that_fails_is_read_again_on_the_next_view() {
    on_each_engine(|| async {
        let app = spawn_app().await;
        let (path, task) = delivered_request(&app).await;
        app.get(&path).await;
        assert!(app.sim.staff_reply(task, "Мастер придёт после обеда."));
        // The reply came a while before the person looks (not in the same
        // second, which qrdesk reads again anyway).
        assert!(app.sim.backdate(task, 5000));
        app.sim.fail(
            "GET",
            &format!("/WORK/Tasks/{task}/conversations"),
            Fault::Status {
                status: 500,
                retry_after: None,
            },
            10,
        );
        let cut_short = app.get(&path).await;
        assert_eq!(cut_short.status, 200);
        assert!(!cut_short.body.contains("после обеда"));
        app.sim.clear_faults();
        let next = app.get(&path).await;
        assert!(
            next.body.contains("Мастер придёт после обеда."),
            "{}",
            next.body
        );
    })
    .await;
}
