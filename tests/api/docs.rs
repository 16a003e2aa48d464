//! The documentation stays true: the README short and its links alive, every
//! `QRDESK_…` variable it or docs/ names a real setting, every setting of
//! config/default.toml documented.

use std::path::Path;

use qrdesk::config::{env_name, Config, RENAMED};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md and every page of docs/, with their names.
fn pages() -> Vec<(String, String)> {
    let mut pages = vec![("README.md".to_owned(), read("README.md"))];
    let mut names: Vec<_> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    for n in names {
        let text = read(&format!("docs/{n}"));
        pages.push((format!("docs/{n}"), text));
    }
    pages
}

/// `section.key` for every setting, from the defaults.
fn setting_keys() -> Vec<String> {
    let value = serde_json::to_value(Config::default()).expect("defaults serialize");
    let mut keys = Vec::new();
    for (section, fields) in value.as_object().expect("a table") {
        if let Some(fields) = fields.as_object() {
            keys.extend(fields.keys().map(|k| format!("{section}.{k}")));
        }
    }
    keys
}

#[test]
fn the_readme_fits_a_screen_or_two_and_its_links_lead_somewhere() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(
        lines < 250,
        "README.md has {lines} lines: move a topic to docs/"
    );
    assert!(readme.contains("cargo run --release") && readme.contains("cargo test"));
    let mut rest = readme.as_str();
    let mut links = 0;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let target = &after[..after.find(')').expect("a closed link")];
        if !target.starts_with("http") && !target.starts_with('#') {
            let path = target.split('#').next().unwrap();
            assert!(
                root().join(path).exists(),
                "README.md links to {path}, which is missing"
            );
            links += 1;
        }
        rest = after;
    }
    assert!(
        links >= 10,
        "the README leads to the topic pages ({links} links)"
    );
}

#[test]
fn every_variable_the_docs_name_is_a_real_setting() {
    let known: Vec<String> = setting_keys().iter().map(|k| env_name(k)).collect();
    let old: Vec<String> = RENAMED.iter().map(|(o, _)| env_name(o)).collect();
    let mut unknown = Vec::new();
    for (name, text) in pages() {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("QRDESK_") {
            let var: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[i + var.len()..];
            // `QRDESK_` + a path, `QRDESK_TEST_…` (the test suite's own), or a
            // prefix written before an elided list (`QRDESK_BITRIX24__…`).
            if var == "QRDESK_" || var.starts_with("QRDESK_TEST_") || var.ends_with("__") {
                continue;
            }
            if !known.contains(&var) && !old.contains(&var) {
                unknown.push(format!("{name}: {var}"));
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "variables that are no setting:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn every_setting_of_the_default_file_is_documented() {
    let reference = read("docs/configuration.md");
    let mut section = String::new();
    let mut missing = Vec::new();
    let mut seen = 0;
    for line in read("config/default.toml").lines() {
        let line = line.trim();
        if let Some(s) = line.strip_prefix('[') {
            section = s.split(']').next().unwrap().to_owned();
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        if line.starts_with('#') {
            continue;
        }
        let key = key.trim();
        let dotted = format!("{section}.{key}");
        let var = env_name(&dotted);
        let prefix = env_name(&section);
        // A row may list a section's keys together: `…__MAX_CALLS_PER_MINUTE`.
        let elided = format!("…__{}", key.to_ascii_uppercase());
        let documented = reference.contains(&format!("`{dotted}`"))
            || reference.contains(&var)
            || reference
                .lines()
                .any(|l| l.contains(&format!("{prefix}__")) && l.contains(&elided));
        if !documented {
            missing.push(dotted);
        }
        seen += 1;
    }
    assert!(seen > 50, "the default file was read ({seen} keys)");
    assert!(
        missing.is_empty(),
        "settings docs/configuration.md does not name:\n{}",
        missing.join("\n")
    );
}
