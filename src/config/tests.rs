//! The configuration's tests: defaults, files, variables, old names, checks.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn old_hubex_names_of_general_settings_still_work_with_a_warning() {
    let c = Config::load(
        None,
        env(&[
            ("QRDESK_HUBEX__STATUS_POLL_SECS", "7"),
            ("QRDESK_HUBEX__STATUS_MAX_AGE_SECS", "8"),
            ("QRDESK_HUBEX__TASK_LINK", "https://t.example/{id}"),
            ("QRDESK_HUBEX__SAME_PROBLEM", "false"),
            ("QRDESK_HUBEX__ALLOWED_DISTRICTS", "4"),
        ]),
    )
    .unwrap();
    assert_eq!(c.status.poll_secs, 7);
    assert_eq!(c.status.max_age_secs, 8);
    assert_eq!(c.status.task_link, "https://t.example/{id}");
    assert!(!c.intake.same_problem);
    assert_eq!(c.catalog.allowed_districts, vec![4]);
    assert_eq!(c.warnings.len(), 5, "{:?}", c.warnings);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("use QRDESK_STATUS__POLL_SECS")));

    // The new name wins over the old one, whichever comes first.
    let c = Config::load(
        None,
        env(&[
            ("QRDESK_HUBEX__STATUS_POLL_SECS", "7"),
            ("QRDESK_STATUS__POLL_SECS", "9"),
        ]),
    )
    .unwrap();
    assert_eq!(c.status.poll_secs, 9);
    assert!(c.warnings[0].contains("is ignored"), "{:?}", c.warnings);

    // A file with the old keys under [hubex].
    let dir = std::env::temp_dir().join(format!("qrdesk-renamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("old.toml");
    std::fs::write(
        &file,
        "[hubex]\nstatus_poll_secs = 11\nsame_problem = false\n",
    )
    .unwrap();
    let c = Config::load(Some(&file), env(&[])).unwrap();
    assert_eq!(c.status.poll_secs, 11);
    assert!(!c.intake.same_problem);
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("use `status.poll_secs`"),
        "{:?}",
        c.warnings
    );
    std::fs::remove_dir_all(dir).unwrap();

    // Unchanged: no warning.
    assert!(Config::load(None, env(&[])).unwrap().warnings.is_empty());
}

#[test]
fn env_overrides_defaults_by_type() {
    let c = Config::load(
        None,
        env(&[
            ("QRDESK_SERVER__LISTEN", "127.0.0.1:0"),
            ("QRDESK_HUBEX__APPLICATION_ID", "5"),
            ("QRDESK_HUBEX__ALLOWED_DISTRICTS", "1, 3"),
            ("QRDESK_HUBEX__SERVICE_TOKEN", "12345"),
            ("OTHER", "ignored"),
        ]),
    )
    .unwrap();
    assert_eq!(c.server.listen, "127.0.0.1:0");
    assert_eq!(c.hubex.application_id, 5);
    assert_eq!(c.catalog.allowed_districts, vec![1, 3]);
    assert_eq!(
        c.warnings,
        ["QRDESK_HUBEX__ALLOWED_DISTRICTS is an old name, use QRDESK_CATALOG__ALLOWED_DISTRICTS (`catalog.allowed_districts`)"]
    );
    assert_eq!(c.hubex.service_token.expose(), "12345");
}

#[test]
fn bad_values_name_the_key() {
    let err = Config::load(None, env(&[("QRDESK_DELIVERY__LEASE_SECS", "soon")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("delivery.lease_secs"), "{err}");
    assert!(err.contains("QRDESK_DELIVERY__LEASE_SECS"), "{err}");

    let err = Config::load(None, env(&[("QRDESK_SERVER__LISTN", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown config key `server.listn`"), "{err}");

    let err = Config::load(None, env(&[("QRDESK_HUBEX__MODE", "real")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("real"), "{err}");

    let err = Config::load(None, env(&[("QRDESK_HUBEX__MODE", "live")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hubex.service_token"), "{err}");
}

#[test]
fn shipped_default_file_matches_the_built_in_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let from_file = Config::load(Some(&path), Vec::new()).unwrap();
    let a = toml::to_string(&from_file).unwrap();
    let b = toml::to_string(&Config::default()).unwrap();
    assert_eq!(a, b, "config/default.toml documents every default");
}

#[test]
fn file_layer_is_checked() {
    let dir = std::env::temp_dir().join(format!("qrdesk-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("c.toml");
    std::fs::write(&f, "[server]\nlisten = 8080\n").unwrap();
    let err = Config::load(Some(&f), Vec::new()).unwrap_err().to_string();
    assert!(
        err.contains("server.listen") && err.contains("a string"),
        "{err}"
    );
    std::fs::write(&f, "[delivery]\nlease_secs = 5\n").unwrap();
    assert_eq!(
        Config::load(Some(&f), Vec::new())
            .unwrap()
            .delivery
            .lease_secs,
        5
    );
}

mod mail {
    use super::*;

    #[test]
    fn smtp_needs_a_sender_and_its_password_is_never_printed() {
        let url = (
            "QRDESK_MAIL__SMTP_URL".to_owned(),
            "smtp://u:s3cret@mx:587?tls=required".to_owned(),
        );
        let err = Config::load(Some(Path::new("/dev/null")), [url.clone()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("mail.from"), "{err}");
        let from = (
            "QRDESK_MAIL__FROM".to_owned(),
            "Сервис <noreply@example.ru>".to_owned(),
        );
        let token = (
            "QRDESK_HUBEX__SERVICE_TOKEN".to_owned(),
            "tok-9f8e7d".to_owned(),
        );
        let c = Config::load(Some(Path::new("/dev/null")), [url, from, token]).unwrap();
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("tok-9f8e7d"),
            "{printed}"
        );
        assert!(printed.contains("(set)"));
        let bad = (
            "QRDESK_MAIL__SMTP_URL".to_owned(),
            "mx.example.ru".to_owned(),
        );
        let err = Config::load(Some(Path::new("/dev/null")), [bad])
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp://"), "{err}");
    }

    #[test]
    fn an_smtp_password_is_never_sent_in_clear_text_unless_asked() {
        let load = |url: &str| {
            Config::load(
                Some(Path::new("/dev/null")),
                [
                    ("QRDESK_MAIL__SMTP_URL".to_owned(), url.to_owned()),
                    (
                        "QRDESK_MAIL__FROM".to_owned(),
                        "Сервис <noreply@example.ru>".to_owned(),
                    ),
                ],
            )
        };
        let err = load("smtp://u:s3cret@mx:25").unwrap_err().to_string();
        assert!(
            err.contains("tls=required") && !err.contains("s3cret"),
            "{err}"
        );
        assert!(load("smtp://u:s3cret@mx:587?tls=required").is_ok());
        assert!(load("smtps://u:s3cret@mx").is_ok());
        assert!(
            load("smtp://mx:25").is_ok(),
            "no password, nothing to protect"
        );
        assert!(
            load("smtp://u:s3cret@mx:25?tls=none").is_ok(),
            "asked for explicitly"
        );
    }
}
