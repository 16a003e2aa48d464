//! E-mail to customers through a real SMTP conversation with a small mail
//! server on 127.0.0.1 that records what it was given.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use qrdesk::backend::AssetId;
use qrdesk::store::codes::Target;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::{on_each_engine, spawn_with, wait_for, TestApp};

const TEXT: &str = "Кофемашина не включается, горит красный индикатор";

/// One mail as the server received it, decoded.
#[derive(Debug, Clone)]
struct Received {
    to: String,
    subject: String,
    message_id: String,
    body: String,
}

/// A mail server that accepts everything, except that it answers the next
/// `refuse` messages with "451 try later" and any recipient at
/// `nobody@` with "550 no such user".
#[derive(Clone)]
struct MailSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Received>>>,
    /// What it answered "try later" to.
    refused: Arc<Mutex<Vec<Received>>>,
    refuse: Arc<AtomicUsize>,
    rcpt_commands: Arc<AtomicUsize>,
}

impl MailSink {
    async fn start() -> MailSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        MailSink::serve(listener)
    }

    fn serve(listener: TcpListener) -> MailSink {
        let sink = MailSink {
            addr: listener.local_addr().unwrap(),
            mails: Arc::default(),
            refused: Arc::default(),
            refuse: Arc::default(),
            rcpt_commands: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(s.clone().session(stream));
            }
        });
        sink
    }

    async fn session(self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 sink ESMTP\r\n").await;
        let mut to = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-sink\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("RCPT TO") {
                self.rcpt_commands.fetch_add(1, Ordering::SeqCst);
                to = line[8..].trim().trim_matches(['<', '>']).to_owned();
                if to.starts_with("nobody@") {
                    b"550 5.1.1 no such user\r\n"
                } else {
                    b"250 ok\r\n"
                }
            } else if upper.starts_with("DATA") {
                let _ = write.write_all(b"354 go on\r\n").await;
                let mut data = Vec::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').map(str::to_owned).unwrap_or(l));
                }
                let refused = self
                    .refuse
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if refused {
                    self.refused.lock().unwrap().push(decode(&to, &data));
                    b"451 4.3.0 try again later\r\n"
                } else {
                    self.mails.lock().unwrap().push(decode(&to, &data));
                    b"250 queued\r\n"
                }
            } else if upper.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else {
                b"250 ok\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }

    fn mails(&self) -> Vec<Received> {
        self.mails.lock().unwrap().clone()
    }
}

fn decode(to: &str, lines: &[String]) -> Received {
    let split = lines.iter().position(|l| l.is_empty()).unwrap();
    let header = |name: &str| {
        // Folded headers continue on lines that start with white space.
        let mut value = String::new();
        let mut inside = false;
        for l in &lines[..split] {
            if inside && l.starts_with([' ', '\t']) {
                value.push_str(l.trim_start());
            } else if let Some(v) = l.strip_prefix(&format!("{name}: ")) {
                value.push_str(v);
                inside = true;
            } else {
                inside = false;
            }
        }
        value
    };
    assert!(header("Content-Transfer-Encoding").eq_ignore_ascii_case("base64"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.decode(lines[split + 1..].concat()).unwrap();
    // Subject: =?utf-8?b?…?= encoded words (white space between them does not count), or ASCII.
    let raw = header("Subject");
    let mut subject = String::new();
    let mut rest = raw.as_str();
    while let Some(start) = rest.to_ascii_lowercase().find("=?utf-8?b?") {
        subject.push_str(rest[..start].trim());
        let word = &rest[start + 10..];
        let end = word.find("?=").unwrap();
        subject.push_str(&String::from_utf8(b64.decode(&word[..end]).unwrap()).unwrap());
        rest = &word[end + 2..];
    }
    subject.push_str(rest);
    Received {
        to: to.to_owned(),
        subject: subject.trim().to_owned(),
        message_id: header("Message-ID"),
        body: String::from_utf8(body).unwrap(),
    }
}

async fn app_with_mail(port: u16) -> TestApp {
    spawn_with(move |c| {
        c.mail.smtp_url = format!("smtp://127.0.0.1:{port}").into();
        c.mail.from = "Сервисная служба <noreply@example.ru>".into();
        c.mail.timeout_secs = 2;
    })
    .await
}

async fn report_with_email(app: &TestApp, email: &str) -> String {
    let code = app.code_for(Target::Asset(AssetId(1001))).await;
    app.report_with(
        &code,
        &[("description", TEXT), ("email", email), ("consent", "1")],
    )
    .await
}

async fn wait_mails(sink: &MailSink, n: usize) -> Vec<Received> {
    wait_for(10, &format!("{n} e-mails"), || async {
        let mails = sink.mails();
        (mails.len() >= n).then_some(mails)
    })
    .await
}

fn link_in(body: &str) -> String {
    let start = body.find("/t/").expect("a status link in the mail");
    body[start..start + 29].to_owned()
}

#[tokio::test]
async fn the_link_is_mailed_and_each_status_change_too() {
    on_each_engine(|| async {
        let sink = MailSink::start().await;
        let app = app_with_mail(sink.addr.port()).await;
        let form = app
            .get(&format!(
                "/q/{}",
                app.code_for(Target::Asset(AssetId(1001))).await
            ))
            .await;
        assert!(form.body.contains("придёт ссылка на заявку"));

        let path = report_with_email(&app, "ivan@example.ru").await;
        let first = wait_mails(&sink, 1).await.remove(0);
        assert_eq!(first.to, "ivan@example.ru");
        // "Заявка №…: " goes before it when the task already exists by then.
        assert!(
            first.subject.ends_with("Заявка принята"),
            "{}",
            first.subject
        );
        assert!(first.body.contains("Ваша заявка принята"), "{}", first.body);
        assert!(first.body.contains(&format!("{}{path}", app.url)));
        assert_eq!(link_in(&first.body), path);
        // The mailed link opens the page, which says so.
        let page = app.get(&link_in(&first.body)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(TEXT));
        assert!(page.body.contains("придёт на ваш e-mail"));

        let r = app.wait_status(&path, "delivered", 10).await;
        let task = r.task_id.unwrap().0;
        app.get(&path).await; // first reading of the status: no mail for it
        app.sim.set_status(task, 2);
        app.get(&path).await; // the page reads HubEx again (cache 0 s in tests)
        let mails = wait_mails(&sink, 2).await;
        let second = &mails[1];
        let number = r.task_number.clone().unwrap();
        assert_eq!(second.subject, format!("Заявка №{number}: В работе"));
        assert!(second
            .body
            .contains("Статус вашей заявки изменился: В работе"));
        assert!(second.body.contains("Оборудование:"));
        assert_eq!(link_in(&second.body), path);
        assert_ne!(first.message_id, second.message_id);

        // Reading the same status again writes nothing new.
        app.get(&path).await;
        app.get(&path).await;
        app.drain_outbox(10).await;
        assert_eq!(sink.mails().len(), 2);

        // The database alone does not hold the link.
        let sealed = qrdesk::store::mails::sealed_link(app.pool(), &r.id)
            .await
            .unwrap()
            .unwrap();
        let token = path.trim_start_matches("/t/");
        assert!(!String::from_utf8_lossy(&sealed).contains(token));
        assert!(std::path::Path::new(&app.config.server.data_dir)
            .join("mail-link.key")
            .exists());
    })
    .await;
}

#[tokio::test]
async fn english_customers_get_english_mail_and_no_address_means_no_mail() {
    on_each_engine(|| async {
        let sink = MailSink::start().await;
        let app = app_with_mail(sink.addr.port()).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        app.report(&code, "No e-mail given, only a description")
            .await;
        let form = app.get(&format!("/q/{code}?lang=en")).await;
        let token = form.input("form_token").unwrap();
        assert_eq!(form.input("lang").as_deref(), Some("en"));
        let page = app
            .post_form(
                &format!("/q/{code}?lang=en"),
                &[
                    ("form_token", token.as_str()),
                    ("lang", "en"),
                    ("description", "The coffee machine does not turn on"),
                    ("email", "jane@example.com"),
                    ("consent", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let mails = wait_mails(&sink, 1).await;
        app.drain_outbox(10).await;
        assert_eq!(sink.mails().len(), 1, "only the request with an address");
        assert_eq!(mails[0].to, "jane@example.com");
        assert!(
            mails[0].subject.ends_with("Your request has been received"),
            "{}",
            mails[0].subject
        );
        assert!(mails[0].body.contains("/t/"));
    })
    .await;
}

#[tokio::test]
async fn a_busy_or_absent_mail_server_delays_mail_but_loses_none() {
    on_each_engine(|| async {
        // Nothing listens on the port yet: the request is still accepted and
        // delivered to HubEx; the mail waits.
        let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = parked.local_addr().unwrap().port();
        drop(parked);
        let app = app_with_mail(port).await;
        let path = report_with_email(&app, "ivan@example.ru").await;
        let r = app.wait_status(&path, "delivered", 10).await;
        let waiting = wait_for(10, "a failed mail attempt", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'send_mail' AND last_error IS NOT NULL",
            )
            .fetch_one(app.pool())
            .await
            .unwrap();
            (n == 1).then_some(n)
        })
        .await;
        assert_eq!(waiting, 1);

        // The server comes up, says "try later" twice, then takes it.
        let sink = MailSink::serve(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
        sink.refuse.store(2, Ordering::SeqCst);
        let mails = wait_mails(&sink, 1).await;
        app.drain_outbox(10).await;
        assert_eq!(sink.mails().len(), 1, "sent once: {mails:?}");
        assert_eq!(sink.refuse.load(Ordering::SeqCst), 0, "both refusals seen");
        // Every attempt was the same mail: a client that got one of them shows it once.
        let refused = sink.refused.lock().unwrap().clone();
        assert_eq!(refused.len(), 2);
        assert!(refused.iter().all(|r| r.message_id == mails[0].message_id));
        let stored = qrdesk::store::mails::for_request(app.pool(), &r.id)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].sent_at.is_some());
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
    })
    .await;
}

#[tokio::test]
async fn a_refused_address_is_recorded_and_not_retried() {
    on_each_engine(|| async {
        let sink = MailSink::start().await;
        let app = app_with_mail(sink.addr.port()).await;
        let path = report_with_email(&app, "nobody@example.ru").await;
        let r = app.request_by_status_path(&path).await;
        let stored = wait_for(10, "the refusal recorded", || async {
            let m = qrdesk::store::mails::for_request(app.pool(), &r.id)
                .await
                .unwrap();
            m.into_iter().find(|m| m.failed.is_some())
        })
        .await;
        assert!(stored.failed.unwrap().contains("550"));
        app.drain_outbox(10).await;
        assert_eq!(sink.rcpt_commands.load(Ordering::SeqCst), 1, "not retried");
        assert!(sink.mails().is_empty());
        // The request itself is unaffected, and staff see why the mail did not go.
        app.wait_status(&path, "delivered", 10).await;
        let staff = crate::admin::StaffClient::new(&app, qrdesk::store::admins::Role::Viewer).await;
        let list = staff.get("/admin/requests").await;
        assert!(
            list.body.contains("Письмо заявителю не принято") && list.body.contains("550"),
            "{}",
            list.body
        );
    })
    .await;
}

#[tokio::test]
async fn without_smtp_nothing_is_queued_and_the_form_promises_nothing() {
    on_each_engine(|| async {
        let app = spawn_with(|_| {}).await;
        let code = app.code_for(Target::Asset(AssetId(1001))).await;
        assert!(!app
            .get(&format!("/q/{code}"))
            .await
            .body
            .contains("придёт ссылка"));
        let path = report_with_email(&app, "ivan@example.ru").await;
        app.wait_status(&path, "delivered", 10).await;
        let mails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mails")
            .fetch_one(app.pool())
            .await
            .unwrap();
        assert_eq!(mails, 0);
        assert!(!app.get(&path).await.body.contains("на ваш e-mail"));
    })
    .await;
}

#[tokio::test]
async fn a_follower_who_leaves_an_e_mail_is_told_once_when_it_is_fixed() {
    on_each_engine(|| async {
        let sink = MailSink::start().await;
        let app = app_with_mail(sink.addr.port()).await;
        let code = app.code_for(Target::Asset(AssetId(1002))).await;
        let first = app.report(&code, TEXT).await;
        let r = app.wait_status(&first, "delivered", 10).await;
        let form = app.get(&format!("/q/{code}")).await;
        let token = form.input("form_token").unwrap();
        let resp = app
            .client
            .post(format!("{}/q/{code}/same", app.url))
            .form(&[("form_token", token.as_str()), ("request", r.id.as_str())])
            .send()
            .await
            .unwrap();
        let own = resp.headers()["location"].to_str().unwrap().to_owned();
        let own = own.split('?').next().unwrap().to_owned();
        let page = app.get(&own).await;
        assert!(
            page.body.contains("Сообщить, когда починят?"),
            "{}",
            page.body
        );
        let form_token = page.input("form_token").unwrap();
        let follow = |email: &'static str, consent: &'static str| {
            let (app, own, form_token) = (&app, own.clone(), form_token.clone());
            async move {
                let mut fields = vec![("form_token", form_token), ("email", email.to_owned())];
                if !consent.is_empty() {
                    fields.push(("consent", consent.to_owned()));
                }
                app.client
                    .post(format!("{}{own}/follow", app.url))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap()
            }
        };
        // A bad address and a missing consent are said, with the address kept.
        let bad = follow("petr@", "1").await;
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.unwrap().contains("Проверьте адрес"));
        let no_consent = follow("petr@example.ru", "").await;
        assert_eq!(no_consent.status(), 422);
        let body = no_consent.text().await.unwrap();
        assert!(body.contains("Отметьте согласие") && body.contains("petr@example.ru"));
        assert_eq!(follow("petr@example.ru", "1").await.status(), 303);
        let page = app.get(&own).await;
        assert!(page
            .body
            .contains("Напишем на ваш e-mail, когда работы будут выполнены."));
        assert!(!page.body.contains("Сообщить, когда починят?"));

        // The requester's own mail aside, the follower gets nothing until done…
        app.drain_outbox(10).await;
        let before = sink.mails().len();
        assert!(sink.mails().iter().all(|m| m.to != "petr@example.ru"));
        let task = r.task_id.unwrap().0;
        // The note of "the same problem" touched the task this very second:
        // make that older, read it, so the completion below is news.
        assert!(app.sim.backdate(task, 5000));
        app.get(&first).await;
        app.sim.set_status(task, 3);
        app.get(&first).await; // reads the task: completed
        let mails = wait_for(10, "the follower's mail", || async {
            let mails = sink.mails();
            mails
                .iter()
                .any(|m| m.to == "petr@example.ru")
                .then_some(mails)
        })
        .await;
        let fixed = mails.iter().find(|m| m.to == "petr@example.ru").unwrap();
        assert!(
            fixed.subject.ends_with("Неисправность устранена"),
            "{}",
            fixed.subject
        );
        assert!(fixed.body.contains("у меня та же проблема"));
        // …with their own link, never the requester's.
        assert_eq!(link_in(&fixed.body), own);
        assert!(!fixed.body.contains(&first));
        // Once: closing the task later sends the follower nothing more.
        app.sim.set_status(task, 4);
        app.get(&first).await;
        app.drain_outbox(10).await;
        let to_follower = sink
            .mails()
            .iter()
            .filter(|m| m.to == "petr@example.ru")
            .count();
        assert_eq!(to_follower, 1);
        assert!(sink.mails().len() > before);

        // Erasing the person by e-mail removes the follower's address too.
        let person = qrdesk::store::requests::Person::Email("petr@example.ru".into());
        let following = qrdesk::store::requests::followed_by(app.pool(), "petr@example.ru")
            .await
            .unwrap();
        assert_eq!(following.len(), 1);
        qrdesk::store::requests::erase_person(app.pool(), &person)
            .await
            .unwrap();
        let following = qrdesk::store::requests::followed_by(app.pool(), "petr@example.ru")
            .await
            .unwrap();
        assert!(following.is_empty());
    })
    .await;
}
