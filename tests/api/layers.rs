//! Dependencies point one way: the vocabulary at the bottom, then the
//! store, the task systems, the operations, and the web, admin, API and CLI
//! at the top (docs/architecture.md). Every `crate::…` path a file names is
//! checked against what its folder may use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A folder (or a top-level file) and what it may name besides itself.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("heavy", &[]),
    ("trace", &["domain"]),
    ("config", &["domain"]),
    ("i18n", &["domain"]),
    ("metrics", &["domain", "config", "store"]),
    ("store", &["domain", "config", "trace"]),
    (
        "backend",
        &["domain", "config", "store", "i18n", "trace", "heavy"],
    ),
    ("media", &["domain", "config", "heavy"]),
    ("labels", &["domain", "config", "store", "i18n", "heavy"]),
    ("mail", &["domain", "config", "i18n"]),
    ("webhooks", &["domain", "config", "store"]),
    ("ops", OPERATIONS),
    ("catalog", OPERATIONS),
    ("delivery", OPERATIONS),
];

/// What an operation (code commands, a task's state change, the catalog
/// sync, delivery) may use.
const OPERATIONS: &[&str] = &[
    "domain", "config", "store", "backend", "i18n", "trace", "heavy", "media", "labels", "mail",
    "webhooks", "ops", "catalog", "delivery", "metrics",
];

/// The lower layers every top folder (web plumbing, the public pages, the
/// admin area, the API) may use.
const BELOW_THE_WEB: &[&str] = &[
    "domain", "heavy", "trace", "config", "i18n", "store", "backend", "media", "labels", "mail",
    "webhooks", "ops", "catalog", "delivery", "metrics",
];

fn allowed(module: &str) -> Option<BTreeSet<&'static str>> {
    if let Some((_, may)) = RULES.iter().find(|(m, _)| *m == module) {
        return Some(may.iter().copied().collect());
    }
    let mut may: BTreeSet<&str> = BELOW_THE_WEB.iter().copied().collect();
    match module {
        // `lib` is the crate root: the shared state every handler reads.
        "web" => {
            may.insert("lib");
        }
        "intake" | "api" => {
            may.extend(["web", "lib"]);
        }
        "admin" => {
            may.extend(["web", "lib", "api"]);
        }
        // The crate root and the binary wire everything.
        _ => return None,
    }
    Some(may)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top folder (or top-level file) a source file belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    let name = name.trim_end_matches(".rs");
    if name == "lib" || name == "main" {
        "lib".into()
    } else {
        name.to_owned()
    }
}

/// Every top-level module a file names through `crate::`, with a line each:
/// `crate::store::x`, `use crate::{store, web::Error}` alike.
fn named_modules(text: &str, roots: &BTreeSet<String>) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = after.strip_prefix('{') {
                // Top-level names of a group, nested groups skipped.
                let mut depth = 0;
                let mut items = Vec::new();
                let mut start = 0;
                for (k, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            items.push(&group[start..k]);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            items.push(&group[start..k]);
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                items
            } else {
                vec![after]
            };
            for name in names {
                let head: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let module = if roots.contains(&head) {
                    head
                } else if head.is_empty() || head == "self" {
                    continue;
                } else {
                    // An item of the crate root (AppState, VERSION, …).
                    "lib".into()
                };
                found.push((module, n + 1));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let roots: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(may) = allowed(&module) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        // Unit tests may reach anywhere.
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for (named, line) in named_modules(text, &roots) {
            if named != module && !may.contains(named.as_str()) {
                let rel = file.strip_prefix(&src).unwrap().display();
                wrong.push(format!("src/{rel}:{line}: {module} -> {named}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers (docs/architecture.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_groups_and_paths() {
    let roots: BTreeSet<String> = ["store", "web", "domain"].map(String::from).into();
    let found = named_modules(
        "use crate::{store::{self, Pool}, web};\nlet x = crate::domain::codes::Code::parse(s); // crate::web\nuse crate::AppState;",
        &roots,
    );
    let names: Vec<&str> = found.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["store", "web", "domain", "lib"]);
}
