//! Staff texts in Russian (the default) and English: the admin area, the
//! print page's layout warnings, the connection check.
//!
//! Texts are written in Russian where they are used (`"Коды"|t` in a
//! template, `tr("Коды")` in code, `trf("Код {}", &[&code])` with values) and
//! [`EN`](super::tr_en::EN) gives each its English. The language of the
//! request being answered is set by [`scope`] for every admin page; outside
//! it (the CLI, background work) texts stay Russian. Tests keep the catalog
//! complete: every Russian text of the admin sources and templates has an
//! English one.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::Lang;

tokio::task_local! {
    static LANG: Lang;
    /// The task system this instance sends requests to, as staff call it.
    static SYSTEM: &'static str;
    /// This page's GET address (without `lang=`), for the language switch.
    static PAGE: String;
}

static CATALOG: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| super::tr_en::EN.iter().copied().collect());

/// The language staff texts are in for the request being answered.
pub fn lang() -> Lang {
    LANG.try_with(|l| *l).unwrap_or_default()
}

/// Every (Russian, English) pair of the catalog.
pub fn entries() -> &'static [(&'static str, &'static str)] {
    super::tr_en::EN
}

/// The English of a Russian text, if the catalog has it.
pub fn english(ru: &str) -> Option<&'static str> {
    CATALOG.get(ru).copied()
}

/// `ru` in the request's language (Russian when the catalog lacks it).
pub fn tr(ru: &'static str) -> &'static str {
    match lang() {
        Lang::Ru => ru,
        Lang::En => english(ru).unwrap_or(ru),
    }
}

/// `ru` in the request's language with each `{}` replaced by the next of
/// `args`, in order.
pub fn trf(ru: &'static str, args: &[&(dyn Display + Sync)]) -> String {
    fill(tr(ru), args)
}

fn fill(text: &str, args: &[&(dyn Display + Sync)]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len() + 16 * args.len());
    let mut args = args.iter();
    let mut pieces = text.split("{}");
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        if let Some(a) = args.next() {
            let _ = write!(out, "{a}");
        }
        out.push_str(piece);
    }
    out
}

/// The word for `n` things in the request's language: Russian forms
/// (one, few, many) as written, English ones from the catalog entry of the
/// three joined by `|` ("код|кода|кодов" → "code|codes").
pub fn noun(n: impl std::borrow::Borrow<i64>, forms: &[&'static str; 3]) -> &'static str {
    let n = n.borrow().unsigned_abs();
    let lang = lang();
    let en = match lang {
        Lang::Ru => None,
        Lang::En => english(&forms.join("|")).and_then(|e| e.split_once('|')),
    };
    match en {
        Some((one, many)) => super::plural(lang, n, *forms, [one, many]),
        None => super::plural(Lang::Ru, n, *forms, ["", ""]),
    }
}

/// Runs an admin request in the person's language: `?lang=` (remembered in
/// the `lang` cookie, shared with the public pages), else the cookie, else
/// the browser's languages; Russian when none fits.
pub async fn scope(req: Request, next: Next) -> Response {
    let explicit = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")))
        .and_then(Lang::parse);
    let lang = Lang::negotiate(explicit.map(Lang::code), req.headers());
    let page = page_address(req.method(), req.uri());
    let mut res = LANG.scope(lang, PAGE.scope(page, next.run(req))).await;
    if let Some(l) = explicit {
        let (name, value) = super::lang_cookie(l);
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(name, v);
        }
    }
    res
}

/// The page a GET shows for this request: itself without `lang=`; for a
/// form's answer, the page the form is on.
fn page_address(method: &axum::http::Method, uri: &axum::http::Uri) -> String {
    let path = uri.path();
    if method == axum::http::Method::GET {
        return super::without_lang(uri);
    }
    const ACTIONS: &[&str] = &[
        "/bulk",
        "/action",
        "/retry",
        "/revoke",
        "/redeliver",
        "/check",
        "/sync",
        "/mail",
        "/calibration",
        "/erase",
        "/export",
        "/images.zip",
    ];
    let mut path = path;
    for tail in ACTIONS {
        path = path.strip_suffix(tail).unwrap_or(path);
    }
    match path {
        "/admin/pause" => "/admin".to_owned(),
        "/admin/logout" => "/admin/login".to_owned(),
        "/admin/settings/profile" => "/admin/settings".to_owned(),
        p if p.starts_with("/admin/users/") => "/admin/users".to_owned(),
        p => p.to_owned(),
    }
}

/// This page in the other language, for the switch in the admin header.
pub fn switch_href() -> String {
    let other = lang().other().code();
    let page = PAGE
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "/admin".to_owned());
    let sep = if page.contains('?') { '&' } else { '?' };
    format!("{page}{sep}lang={other}")
}

/// The `lang` attribute of admin pages.
pub fn lang_code() -> &'static str {
    lang().code()
}

/// Template filters: `{{ "Коды"|t }}`, `{{ "Код {}"|tf1(code) }}`.
/// The configured task system's name ("HubEx", "Bitrix24", "EvaTeam") for
/// the staff texts of this request.
pub fn system() -> &'static str {
    SYSTEM.try_with(|s| *s).unwrap_or("HubEx")
}

/// Runs `work` with `name` as the task system staff texts name.
pub async fn with_system<F: std::future::Future>(name: &'static str, work: F) -> F::Output {
    SYSTEM.scope(name, work).await
}

pub mod filters {
    use std::fmt::Display;

    fn key<T: Display>(s: T) -> String {
        s.to_string()
    }

    fn text(ru: &str) -> String {
        match super::lang() {
            super::Lang::Ru => ru.to_owned(),
            super::Lang::En => super::english(ru).unwrap_or(ru).to_owned(),
        }
    }

    pub fn t<T: Display>(s: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(text(&key(s)))
    }

    pub fn tf1<T: Display>(
        s: T,
        _: &dyn askama::Values,
        a: impl Display,
    ) -> askama::Result<String> {
        Ok(super::fill(&text(&key(s)), &[&a.to_string()]))
    }

    pub fn tf2<T: Display>(
        s: T,
        _: &dyn askama::Values,
        a: impl Display,
        b: impl Display,
    ) -> askama::Result<String> {
        Ok(super::fill(
            &text(&key(s)),
            &[&a.to_string(), &b.to_string()],
        ))
    }

    pub fn tf3<T: Display>(
        s: T,
        _: &dyn askama::Values,
        a: impl Display,
        b: impl Display,
        c: impl Display,
    ) -> askama::Result<String> {
        Ok(super::fill(
            &text(&key(s)),
            &[&a.to_string(), &b.to_string(), &c.to_string()],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cyrillic(s: &str) -> bool {
        s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
    }

    /// The string literals of Rust source before its tests, each with the
    /// non-blank characters just before and after it; comments skipped.
    fn rust_literals(src: &str) -> Vec<(String, char, char)> {
        let src = src.split("#[cfg(test)]").next().unwrap_or("");
        let b: Vec<char> = src.chars().collect();
        let (mut out, mut i) = (Vec::new(), 0);
        let mut last = ' ';
        while i < b.len() {
            match b[i] {
                '/' if b.get(i + 1) == Some(&'/') => {
                    while i < b.len() && b[i] != '\n' {
                        i += 1;
                    }
                }
                '\'' if b.get(i + 2) == Some(&'\'') || b.get(i + 1) == Some(&'\\') => {
                    // A char literal such as '"' or '\n'.
                    i += if b[i + 1] == '\\' { 4 } else { 3 };
                    last = '\'';
                    continue;
                }
                '"' => {
                    let mut s = String::new();
                    i += 1;
                    while i < b.len() && b[i] != '"' {
                        if b[i] == '\\' {
                            i += 1;
                            match b[i] {
                                'n' => s.push('\n'),
                                'r' => s.push('\r'),
                                c => s.push(c),
                            }
                        } else {
                            s.push(b[i]);
                        }
                        i += 1;
                    }
                    let next = b[i + 1..]
                        .iter()
                        .copied()
                        .find(|c| !c.is_whitespace())
                        .unwrap_or(' ');
                    out.push((s, last, next));
                    last = '"';
                }
                c if !c.is_whitespace() => last = c,
                _ => {}
            }
            i += 1;
        }
        out
    }

    /// The texts a source asks for: literals, and three-form noun arrays
    /// joined by `|`.
    fn texts(lits: &[(String, char, char)]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < lits.len() {
            let (s, before, _) = &lits[i];
            if *before == '[' && i + 2 < lits.len() && lits[i + 2].2 == ']' && cyrillic(s) {
                out.push(format!("{}|{}|{}", lits[i].0, lits[i + 1].0, lits[i + 2].0));
                i += 3;
                continue;
            }
            if cyrillic(s) {
                out.push(s.clone());
            }
            i += 1;
        }
        out
    }

    fn files(dir: &str, ext: &str) -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_staff_text_has_its_english() {
        let mut missing = Vec::new();
        let mut sources = files("src/admin", "rs");
        for extra in [
            "src/store/admins.rs",
            "src/catalog.rs",
            "src/labels/templates.rs",
        ] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(extra);
            sources.push((extra.into(), std::fs::read_to_string(p).unwrap()));
        }
        for (name, src) in &sources {
            let lits = rust_literals(src);
            for text in texts(&lits) {
                // catalog.rs speaks to staff only in its sync state's texts.
                let wrapped =
                    !name.ends_with("catalog.rs") || src.contains(&format!("tr(\"{text}"));
                if wrapped && english(&text).is_none() {
                    missing.push(format!("{name}: {text}"));
                }
            }
        }
        for (name, src) in files("templates/admin", "html") {
            // Text outside `{{ }}` and `{% %}` must have none; inside, each
            // Russian literal is a text to translate.
            let (mut outside, mut inside) = (String::new(), String::new());
            let mut rest = src.as_str();
            while let Some(at) = rest.find(['{']) {
                let close = match rest[at..].chars().nth(1) {
                    Some('{') => "}}",
                    Some('%') => "%}",
                    Some('#') => "#}",
                    _ => {
                        outside.push_str(&rest[..=at]);
                        rest = &rest[at + 1..];
                        continue;
                    }
                };
                outside.push_str(&rest[..at]);
                let end = rest[at..].find(close).map_or(rest.len(), |e| at + e + 2);
                if close != "#}" {
                    inside.push_str(&rest[at + 2..end - 2]);
                    inside.push('\n');
                }
                rest = &rest[end..];
            }
            outside.push_str(rest);
            let line = outside.lines().find(|l| cyrillic(l));
            assert!(
                line.is_none(),
                "{name}: text outside a translated string: {line:?}"
            );
            for text in texts(&rust_literals(&inside)) {
                if english(&text).is_none() {
                    missing.push(format!("{name}: {text}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "no English for:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn the_catalog_has_one_entry_per_text_with_the_same_blanks() {
        let mut seen = std::collections::HashSet::new();
        for (ru, en) in super::super::tr_en::EN {
            assert!(seen.insert(ru), "twice: {ru}");
            assert_eq!(
                ru.matches("{}").count(),
                en.matches("{}").count(),
                "{ru} → {en}"
            );
            assert_eq!(ru.contains('|'), en.contains('|'), "{ru} → {en}");
            assert!(
                !cyrillic(en) || en.contains("участ"),
                "Russian left in: {en}"
            );
        }
    }

    #[tokio::test]
    async fn texts_follow_the_request_language() {
        assert_eq!(tr("Коды"), "Коды");
        let en = LANG
            .scope(Lang::En, async {
                (
                    tr("Коды"),
                    trf("Код {}", &[&"AB12-CD34"]),
                    noun(1, &["код", "кода", "кодов"]),
                    noun(5, &["код", "кода", "кодов"]),
                )
            })
            .await;
        assert_eq!(en, ("Codes", "Code AB12-CD34".into(), "code", "codes"));
        let ru = LANG
            .scope(Lang::Ru, async {
                (
                    noun(3, &["код", "кода", "кодов"]),
                    noun(11, &["код", "кода", "кодов"]),
                )
            })
            .await;
        assert_eq!(ru, ("кода", "кодов"));
    }
}
