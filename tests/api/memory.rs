//! The real binary's resident memory under the review's floods, read from
//! `/proc/<pid>/status` of a `qrdesk serve` process: failed sign-ins from
//! many addresses, and image archives asked for at once and read slowly.
//! Each test prints the growth and holds it to a bound. SQLite only: the
//! memory in question is the process's, not the database's.

use qrdesk::store::admins::Role;
use qrdesk::store::codes::Target;

use crate::admin::StaffClient;
use crate::crash::{start, Proc};
use crate::helpers::{engine, TempDir};

/// A `/proc/<pid>/status` figure in MB: `VmRSS` now, `VmHWM` the peak.
fn status_mb(proc: &Proc, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", proc.0.id())).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc status"));
    kb / 1024.0
}

/// Settings that let a flood through the per-client limits, so what is
/// measured is the work behind them.
fn serve(dir: &TempDir) -> (Proc, String) {
    serve_with(dir, &[])
}

/// [`serve`] with `extra` settings on top.
fn serve_with(dir: &TempDir, extra: &[(&'static str, &str)]) -> (Proc, String) {
    let mut env = vec![
        ("QRDESK_SERVER__LISTEN", "127.0.0.1:0".to_owned()),
        ("QRDESK_SERVER__DATA_DIR", dir.0.display().to_string()),
        ("QRDESK_SERVER__TRUSTED_PROXIES", "127.0.0.1".into()),
        ("QRDESK_LIMITS__SIGN_IN_PER_MINUTE", "100000".into()),
        ("QRDESK_LIMITS__SIGN_IN_BURST", "100000".into()),
        ("QRDESK_HUBEX__SYNC_INTERVAL_SECS", "0".into()),
        ("QRDESK_HUBEX__STATUS_POLL_SECS", "0".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let (proc, base) = start(&["serve"], &env, "qrdesk is running at");
    (proc, base.trim_end_matches('/').to_owned())
}

/// Review finding: 100 concurrent failed sign-ins from 100 addresses grew
/// the process by 366 MB (1.3–1.8 GB in one run): each argon2 check took a
/// fresh 19 MiB buffer on whichever blocking thread ran it, and the
/// allocator kept them. Now two password threads reuse their buffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_from_many_addresses_leave_memory_flat() {
    if engine() != qrdesk::store::Engine::Sqlite {
        return;
    }
    // QRDESK_TEST_SIGN_INS=1000 repeats the review's count (about a minute
    // in a debug build); the suite's default keeps it short.
    let total: usize = std::env::var("QRDESK_TEST_SIGN_INS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let dir = TempDir::new();
    let (proc, base) = serve(&dir);
    let client = crate::helpers::phone_client();
    let attempt = |i: usize| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .post(format!("{base}/admin/login"))
                .header("x-forwarded-for", format!("198.51.100.{}", i % 100))
                .form(&[
                    ("email", format!("nobody{i}@example.ru")),
                    ("password", "wrong-password-1".into()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // One round first: the two password threads and their buffers exist.
    assert_eq!(attempt(10_000).await, 401);
    let before = status_mb(&proc, "VmRSS");
    let mut statuses = Vec::new();
    for round in 0..total.div_ceil(100) {
        let n = (total - round * 100).min(100);
        let at_once = (0..n).map(|i| attempt(round * 100 + i));
        statuses.extend(futures_util::future::join_all(at_once).await);
    }
    let after = status_mb(&proc, "VmRSS");
    let peak = status_mb(&proc, "VmHWM");
    let refused = statuses.iter().filter(|s| **s == 401).count();
    eprintln!(
        "{total} failed sign-ins, 100 at a time from 100 addresses: resident {before:.0} MB → {after:.0} MB (+{:.0} MB), peak {peak:.0} MB; {refused} answered 401, the rest {:?}",
        after - before,
        statuses.iter().filter(|s| **s != 401).collect::<Vec<_>>()
    );
    assert!(refused > 0, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        after - before <= 100.0,
        "resident memory grew by {:.0} MB after {total} failed sign-ins",
        after - before
    );
}

/// Review finding: 24 image archives asked for at once and read slowly took
/// the process from 486 MB to 2.0 GB, and kept 220 MB while unread. Now
/// each is rendered one image at a time under the heavy-work permits,
/// written to a file and streamed from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_archives_read_slowly_keep_memory_bounded() {
    if engine() != qrdesk::store::Engine::Sqlite {
        return;
    }
    let dir = TempDir::new();
    let (proc, base) = serve(&dir);
    let pool = qrdesk::store::connect(&format!("sqlite://{}/qrdesk.db", dir.0.display()), 2)
        .await
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..300 {
        let code =
            qrdesk::store::codes::create(&pool, Target::Unassigned, None, qrdesk::store::now_ms())
                .await
                .unwrap();
        codes.push(code.to_string());
    }
    let list = codes.join(",");
    // Eight admins, three archives each at once: 24 in all.
    let mut staff = Vec::new();
    for _ in 0..8 {
        staff.push(StaffClient::at(&base, &pool, Role::Admin).await);
    }
    let one = staff[0]
        .client_post_bytes("/admin/codes/images.zip", &[("codes", &list)])
        .await;
    assert!(one.starts_with(b"PK"));
    let before = status_mb(&proc, "VmRSS");
    let peak_before = status_mb(&proc, "VmHWM");
    let fields = [("codes", list.as_str())];
    let fields = &fields;
    let asks = staff
        .iter()
        .flat_map(|s| (0..3).map(move |_| s.post_unread("/admin/codes/images.zip", fields)));
    // The answers' heads arrive; their bodies are left unread for now.
    let answers = futures_util::future::join_all(asks).await;
    let held = status_mb(&proc, "VmRSS");
    let peak = status_mb(&proc, "VmHWM");
    let mut ok = 0;
    let mut busy = 0;
    for answer in answers {
        match answer.status().as_u16() {
            200 => {
                ok += 1;
                // Read only now, one after another, piece by piece.
                let mut answer = answer;
                let mut read = 0;
                while let Some(piece) = answer.chunk().await.unwrap() {
                    read += piece.len();
                }
                assert_eq!(read, one.len(), "the whole archive");
            }
            429 => busy += 1,
            other => panic!("answer {other}"),
        }
    }
    eprintln!(
        "24 image archives of 300 codes ({} KB each) at once from 8 sessions: {ok} made, {busy} told to wait; resident {before:.0} MB → {held:.0} MB while unread (+{:.0} MB), peak {peak_before:.0} → {peak:.0} MB (+{:.0} MB)",
        one.len() / 1024,
        held - before,
        peak - peak_before
    );
    assert!(ok >= 8, "every session got one archive at least");
    assert!(
        held - before <= 100.0,
        "+{:.0} MB held while unread",
        held - before
    );
    assert!(
        peak - peak_before <= 150.0,
        "peak +{:.0} MB",
        peak - peak_before
    );
    pool.close().await;
}

/// A phone's 10 MB photo: noise, so JPEG cannot shrink it.
fn big_photo() -> Vec<u8> {
    let (w, h) = (2700u32, 2000u32);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let img = image::RgbImage::from_raw(w, h, pixels).unwrap();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// Review finding: 20 parallel 10 MB uploads peaked at 276–348 MB resident
/// (goal ≤ 200 MB). Decodes ran a few at a time already; what grew was the
/// allocator keeping each freed body, decode and blocking thread's buffers.
/// Now decodes run on threads of their own, as many as the permits, and
/// large buffers are given back when freed (see `main`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_photo_uploads_keep_the_peak_bounded() {
    if engine() != qrdesk::store::Engine::Sqlite {
        return;
    }
    let dir = TempDir::new();
    let (proc, base) = serve_with(
        &dir,
        &[
            ("QRDESK_LIMITS__MIN_FILL_MS", "0"),
            ("QRDESK_LIMITS__CHALLENGE", "off"),
            ("QRDESK_LIMITS__DUPLICATE_WINDOW_SECS", "0"),
            ("QRDESK_LIMITS__CODE_REQUESTS_PER_HOUR", "100000"),
        ],
    );
    let pool = qrdesk::store::connect(&format!("sqlite://{}/qrdesk.db", dir.0.display()), 2)
        .await
        .unwrap();
    let code = qrdesk::store::codes::create(
        &pool,
        Target::Asset(qrdesk::backend::AssetId(1001)),
        None,
        qrdesk::store::now_ms(),
    )
    .await
    .unwrap();
    let photo = big_photo();
    assert!(photo.len() > 9_000_000, "{} bytes", photo.len());
    let client = crate::helpers::phone_client();
    let send = |i: usize| {
        let (client, base, photo) = (client.clone(), base.clone(), photo.clone());
        let code = code.to_string();
        async move {
            let ip = format!("198.51.100.{i}");
            let form = client
                .get(format!("{base}/q/{code}"))
                .header("x-forwarded-for", &ip)
                .send()
                .await
                .unwrap();
            let token = crate::helpers::into_page(form)
                .await
                .input("form_token")
                .unwrap();
            let body = reqwest::multipart::Form::new()
                .text("form_token", token)
                .text("description", format!("Течёт кран в умывальной, фото {i}"))
                .part(
                    "photo",
                    reqwest::multipart::Part::bytes(photo)
                        .file_name("IMG.jpg")
                        .mime_str("image/jpeg")
                        .unwrap(),
                );
            client
                .post(format!("{base}/q/{code}"))
                .header("x-forwarded-for", &ip)
                .multipart(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(200).await, 303, "one upload first");
    let before = status_mb(&proc, "VmRSS");
    let statuses = futures_util::future::join_all((0..20).map(send)).await;
    let after = status_mb(&proc, "VmRSS");
    let peak = status_mb(&proc, "VmHWM");
    eprintln!(
        "20 parallel uploads of a {:.1} MB photo: resident {before:.0} MB → {after:.0} MB, peak {peak:.0} MB",
        photo.len() as f64 / 1e6
    );
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert!(peak <= 200.0, "peak {peak:.0} MB");
    pool.close().await;
}
