//! Logs as JSON, and what never reaches them: a whole flow with known
//! secrets (the HubEx service token, an SMTP password, an API token, the
//! metrics token, a status-page link) and contact data, at debug level.

use crate::crash::{code_for_asset, live_env, run, send_form, standalone_sim, start_logging};
use crate::helpers::{wait_for, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_and_no_contact_reaches_the_log() {
    let dir = TempDir::new();
    let (_sim, sim_base) = standalone_sim();
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
    let code = code_for_asset(&env);
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
    let log = std::fs::File::create(&log_path).unwrap();
    let mut serve_env = env.clone();
    serve_env.push(("RUST_LOG", "debug".to_owned()));
    let (server, base) = start_logging(&["serve"], &serve_env, "qrdesk is running at", log.into());
    let base = base.trim_end_matches('/').to_owned();

    let client = crate::helpers::phone_client();
    let sent = send_form(
        &client,
        &base,
        &code,
        &[
            ("description", "Не работает кондиционер в серверной"),
            ("name", "Секретов Иван"),
            ("phone", "+79995550123"),
            ("email", "secret.person@example.ru"),
            ("consent", "1"),
        ],
    )
    .await;
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
