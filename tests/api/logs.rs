//! Logs as JSON, and what never reaches them: a whole flow with known
//! secrets (the HubEx service token, an SMTP password, an API token, the
//! metrics token, a status-page link) and contact data, at debug level.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::crash::{live_env, run, start, Proc};
use crate::helpers::{into_page, wait_for, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_and_no_contact_reaches_the_log() {
    let dir = TempDir::new();
    let (_sim, sim_url) = start(
        &["hubex-sim", "--listen", "127.0.0.1:0"],
        &[],
        "HubEx simulator at",
    );
    let sim_base = sim_url.trim_end_matches("/fsm").to_owned();
    let mut env = live_env(&dir, &sim_base);
    env.extend([
        ("QRDESK_LOG__FORMAT", "json".to_owned()),
        ("QRDESK_METRICS__TOKEN", "metrics-token-8431".to_owned()),
        (
            "QRDESK_MAIL__SMTP_URL",
            "smtp://mailer:smtp-pass-5512@127.0.0.1:9?tls=none".to_owned(),
        ),
        (
            "QRDESK_MAIL__FROM",
            "Сервис <noreply@example.ru>".to_owned(),
        ),
    ]);
    run(&["sync"], &env);
    let created: serde_json::Value = serde_json::from_str(&run(
        &["codes", "create", "--asset", "1001", "--json"],
        &env,
    ))
    .unwrap();
    let code = created["code"].as_str().unwrap().to_owned();
    let made: serde_json::Value = serde_json::from_str(&run(
        &[
            "tokens",
            "create",
            "--description",
            "логи",
            "--role",
            "admin",
            "--json",
        ],
        &env,
    ))
    .unwrap();
    let api_token = made["token"].as_str().unwrap().to_owned();

    let log_path = dir.0.join("serve.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.arg("serve")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("qrdesk is running at")
                .map(|u| u.trim().trim_end_matches('/').to_owned())
        })
        .expect("qrdesk started");
    std::thread::spawn(move || for _ in lines {});
    let server = Proc(child);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = into_page(client.get(format!("{base}/q/{code}")).send().await.unwrap()).await;
    let token = form.input("form_token").expect("a form token");
    let sent = client
        .post(format!("{base}/q/{code}"))
        .form(&[
            ("form_token", token.as_str()),
            ("description", "Не работает кондиционер в серверной"),
            ("name", "Секретов Иван"),
            ("phone", "+79995550123"),
            ("email", "secret.person@example.ru"),
            ("consent", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let status_path = sent.headers()["location"].to_str().unwrap().to_owned();
    let status_token = status_path.trim_start_matches("/t/").to_owned();
    wait_for(30, "the request delivered", || async {
        let page = client
            .get(format!("{base}{status_path}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        page.contains("class=\"number\"").then_some(())
    })
    .await;
    let api = client
        .get(format!("{base}/api/v1/requests"))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth("metrics-token-8431")
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    eprintln!("{} log lines checked", log.lines().count());
    assert!(log.lines().count() > 20, "a debug log was written:\n{log}");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON object: {line}"
        );
    }
    for secret in [
        "demo-service-token",
        "smtp-pass-5512",
        "metrics-token-8431",
        api_token.as_str(),
        &api_token[10..],
        status_token.as_str(),
        "+79995550123",
        "79995550123",
        "secret.person@example.ru",
        "Секретов",
    ] {
        if let Some(line) = log.lines().find(|l| l.contains(secret)) {
            panic!("{secret:?} is in the log: {line}");
        }
    }
}
