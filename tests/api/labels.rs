//! Printed output as a scanner sees it: every built-in template rendered to
//! PDF, rasterised at 300 dpi with pdftoppm, and every QR decoded with zbarimg.

use std::path::Path;
use std::process::Command;

use qrdesk::backend::AssetId;
use qrdesk::labels::layout::{Style, DEFAULT_CTA};
use qrdesk::labels::templates::{self, MAX_LABELS_PER_JOB};
use qrdesk::labels::{job, layout};
use qrdesk::store::codes::{self as code_store, Target};

use crate::helpers::{on_each_engine, spawn_app, TempDir};

/// pdftoppm and zbarimg come from Debian (poppler-utils, zbar-tools); CI
/// installs them, and there (`CI` set) a missing tool fails the test.
fn tools_available() -> bool {
    let ok = ["pdftoppm", "zbarimg"]
        .iter()
        .all(|t| Command::new(t).arg("-h").output().is_ok());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "pdftoppm and zbarimg are required (apt-get install poppler-utils zbar-tools)"
        );
        eprintln!(
            "skipping: pdftoppm/zbarimg not installed (apt-get install poppler-utils zbar-tools)"
        );
    }
    ok
}

/// Rasterises `pdf` at `dpi`; returns the page images in order.
fn rasterise(pdf: &[u8], dir: &Path, name: &str, dpi: u32) -> Vec<std::path::PathBuf> {
    let pdf_path = dir.join(format!("{name}.pdf"));
    std::fs::write(&pdf_path, pdf).unwrap();
    let prefix = dir.join(name);
    let status = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray"])
        .arg(&pdf_path)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm failed on {name}");
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
                && p.extension().is_some_and(|e| e == "pgm")
        })
        .collect();
    pages.sort();
    pages
}

/// Every QR payload on every page of `pdf`, as zbarimg reads whole pages.
fn decode_pdf(pdf: &[u8], dir: &Path, name: &str, dpi: u32) -> Vec<String> {
    let mut found = Vec::new();
    for page in rasterise(pdf, dir, name, dpi) {
        let out = Command::new("zbarimg")
            .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"])
            .arg(&page)
            .output()
            .unwrap();
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned),
        );
    }
    found
}

/// A binary PGM (what `pdftoppm -gray` writes) as an image.
fn read_pgm(path: &Path) -> image::GrayImage {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    image::GrayImage::from_raw(w, h, bytes[pos + 1..].to_vec()).unwrap()
}

/// Decodes each label on its own, cut out of the 300 dpi raster at the slot
/// the layout gave it — as a phone scans one sticker, not a whole sheet (zbar
/// also misses codes on a crowded full page). `None` for a label whose QR could
/// not be read.
fn decode_labels(
    pdf: &[u8],
    dir: &Path,
    t: &templates::Template,
    n: usize,
    skip: usize,
    offset: (f32, f32),
) -> Vec<Option<String>> {
    let dpi = 300.0;
    let pages = rasterise(pdf, dir, &t.id, dpi as u32);
    let images: Vec<_> = pages.iter().map(|p| read_pgm(p)).collect();
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let index = i + skip;
        let page = &images[index / t.per_page()];
        let slot = t.slot(index, offset);
        let px = |mm: f32| (mm * dpi / 25.4).round().max(0.0) as u32;
        let (x, y) = (px(slot.x), px(slot.y));
        let w = px(slot.w).min(page.width() - x);
        let h = px(slot.h).min(page.height() - y);
        let crop = image::imageops::crop_imm(page, x, y, w, h).to_image();
        let path = dir.join(format!("{}-label{i}.pgm", t.id));
        let mut bytes = format!("P5\n{w} {h}\n255\n").into_bytes();
        bytes.extend_from_slice(crop.as_raw());
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    let out = Command::new("zbarimg")
        .args(["--xml", "-q", "-Sdisable", "-Sqrcode.enable"])
        .args(&files)
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&out.stdout);
    files
        .iter()
        .map(|f| {
            let name = f.to_string_lossy();
            let source = xml
                .split("<source href='")
                .find(|s| s.starts_with(name.as_ref()))?;
            let data = source.split("<![CDATA[").nth(1)?;
            Some(data.split("]]>").next()?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn every_template_prints_codes_that_scan_to_their_urls() {
    on_each_engine(|| async {
        if !tools_available() {
            return;
        }
        let app = spawn_app().await;
        let pool = app.pool();
        // Enough codes for the fullest sheet (80 labels), over real demo assets.
        let mut records = Vec::new();
        for i in 0..80 {
            let asset = AssetId(1001 + (i % 19));
            let code = app.code_for(Target::Asset(asset)).await;
            records.push(code_store::get(pool, &code).await.unwrap().unwrap());
        }
        let style = Style {
            cta: DEFAULT_CTA.into(),
            org: Some("ООО «Сервис-Инжиниринг»".into()),
            min_pt: layout::DEFAULT_MIN_PT,
        };
        let dir = TempDir::new();
        let all = templates::builtin();
        let jobs: Vec<_> = {
            let mut v = Vec::new();
            for t in &all {
                let n = t.per_page().min(records.len());
                let contents = job::contents(pool, &app.url, &records[..n]).await.unwrap();
                let opts = job::JobOptions {
                    template: t.clone(),
                    skip: 0,
                    offset: (0.0, 0.0),
                    style: style.clone(),
                };
                let (pdf, _) = job::sheet_pdf(&contents, &opts).unwrap();
                let expected: Vec<String> = contents.iter().map(|c| c.url.clone()).collect();
                v.push((t.clone(), pdf, expected));
            }
            v
        };
        // Two at a time: the machine has two cores.
        let failures: Vec<String> = std::thread::scope(|s| {
            let chunks: Vec<_> = jobs.chunks(jobs.len().div_ceil(2)).collect();
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    let dir = &dir.0;
                    s.spawn(move || {
                        let mut bad = Vec::new();
                        for (t, pdf, expected) in chunk {
                            let found = decode_labels(pdf, dir, t, expected.len(), 0, (0.0, 0.0));
                            let wrong: Vec<usize> = (0..expected.len())
                                .filter(|i| found[*i].as_deref() != Some(expected[*i].as_str()))
                                .collect();
                            if !wrong.is_empty() {
                                bad.push(format!(
                                    "{}: labels {wrong:?} of {} did not scan",
                                    t.id,
                                    expected.len()
                                ));
                            }
                        }
                        bad
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert!(failures.is_empty(), "{failures:#?}");
    })
    .await;
}

#[tokio::test]
async fn custom_template_skip_and_calibration_still_scan() {
    on_each_engine(|| async {
        if !tools_available() {
            return;
        }
        let app = spawn_app().await;
        let pool = app.pool();
        let mut records = Vec::new();
        for asset in [1001, 1002, 1003] {
            let code = app.code_for(Target::Asset(AssetId(asset))).await;
            records.push(code_store::get(pool, &code).await.unwrap().unwrap());
        }
        let template = templates::Template::custom(
            templates::A4,
            4,
            8,
            (45.0, 30.0),
            10.0,
            10.0,
            47.5,
            34.0,
            templates::Shape::Rect,
        )
        .unwrap();
        let contents = job::contents(pool, &app.url, &records).await.unwrap();
        let opts = job::JobOptions {
            template,
            skip: 30,
            offset: (1.5, -2.0),
            style: Style {
                cta: "Сканируйте".into(),
                org: None,
                min_pt: layout::DEFAULT_MIN_PT,
            },
        };
        let (pdf, _) = job::sheet_pdf(&contents, &opts).unwrap();
        let dir = TempDir::new();
        let found = decode_labels(&pdf, &dir.0, &opts.template, 3, 30, opts.offset);
        let expected: Vec<Option<String>> = contents.iter().map(|c| Some(c.url.clone())).collect();
        assert_eq!(
            found, expected,
            "two on the first sheet after 30 skipped, one on the next"
        );
        let pages = std::fs::read_dir(&dir.0)
            .unwrap()
            .filter(|e| {
                let name = e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                name.ends_with(".pgm") && !name.contains("label")
            })
            .count();
        assert_eq!(pages, 2);
    })
    .await;
}

#[tokio::test]
async fn poster_and_alignment_page_carry_their_text() {
    on_each_engine(|| async {
        if !tools_available() {
            return;
        }
        let app = spawn_app().await;
        let pool = app.pool();
        let code = app
            .code_for(Target::Location(qrdesk::backend::LocationId(205)))
            .await;
        let record = code_store::get(pool, &code).await.unwrap().unwrap();
        let dir = TempDir::new();
        for size in [layout::PosterSize::A4, layout::PosterSize::A5] {
            let pdf = job::poster_pdf(pool, &app.url, &record, size, true, None)
                .await
                .unwrap();
            let found = decode_pdf(&pdf, &dir.0, &format!("poster-{size:?}"), 150);
            assert_eq!(found, vec![code.qr_url(&app.url)]);
            let path = dir.0.join(format!("poster-{size:?}.pdf"));
            let text = Command::new("pdftotext")
                .arg(&path)
                .arg("-")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("Сообщить о неисправности"), "{text}");
            assert!(
                text.contains("Кофейня, зал") && text.contains("Южное ш., 55"),
                "{text}"
            );
            assert!(text.contains("Report a problem"), "{text}");
        }
        let t = templates::find("avery-l7160").unwrap();
        let pdf = job::alignment_pdf(&t, (0.5, -0.5)).unwrap();
        let path = dir.0.join("align.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let text = Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("100 %") && text.contains("+0.5"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn a_job_over_the_limit_is_refused_clearly() {
    on_each_engine(|| async {
        let err = job::check_count(MAX_LABELS_PER_JOB + 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("5001") && err.contains("5000") && err.contains("several jobs"),
            "{err}"
        );
        assert!(job::check_count(0).is_err());
        assert!(job::check_count(MAX_LABELS_PER_JOB).is_ok());
    })
    .await;
}

#[test]
fn labels_cli_lists_templates_and_writes_files() {
    let dir = TempDir::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qrdesk"))
            .args(args)
            .current_dir(&dir.0)
            .env("QRDESK_SERVER__DATA_DIR", dir.0.join("data"))
            .env("QRDESK_SERVER__PUBLIC_URL", "https://qr.example.ru")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["labels", "templates", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &list[0];
    for key in ["id", "name", "page", "label", "columns", "rows"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    let a = run(&["codes", "create", "--asset", "1001", "--json"]);
    let a: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let b = run(&["codes", "create", "--location", "205", "--json"]);
    let b: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    let codes = format!(
        "{},{}",
        a["code"].as_str().unwrap(),
        b["code"].as_str().unwrap()
    );

    let out = run(&[
        "labels",
        "render",
        "--template",
        "avery-l7160",
        "--codes",
        &codes,
        "--skip",
        "3",
        "--out",
        "s.pdf",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(dir.0.join("s.pdf"))
        .unwrap()
        .starts_with(b"%PDF-"));

    let out = run(&[
        "labels",
        "render",
        "--template",
        "roll-58x40",
        "--all",
        "--format",
        "zpl",
        "--out",
        "l.zpl",
    ]);
    assert!(out.status.success());
    let zpl = std::fs::read_to_string(dir.0.join("l.zpl")).unwrap();
    assert_eq!(zpl.matches("^XA").count(), 2);
    assert!(zpl.contains(&format!(
        "^FDMA,HTTPS://QR.EXAMPLE.RU/Q/{}^FS",
        a["code"].as_str().unwrap()
    )));

    let out = run(&[
        "labels",
        "poster",
        "--code",
        b["code"].as_str().unwrap(),
        "--size",
        "a5",
        "--out",
        "p.pdf",
    ]);
    assert!(out.status.success());
    let out = run(&[
        "labels",
        "render",
        "--template",
        "nope",
        "--all",
        "--out",
        "x.pdf",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("qrdesk labels templates"));
}
