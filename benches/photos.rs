//! Photo processing: a 12-megapixel JPEG through qrdesk's pipeline against
//! `vipsthumbnail` (libvips-tools) on the same file in the same run — time and
//! peak memory, each in a fresh process — then the server's peak RSS while 20
//! phones upload a 10 MB photo at once.
//!
//! The same picture is then sent as HEIC (written with libheif's `heif-enc`).
//!
//!     cargo bench --bench photos   (needs vipsthumbnail, heif-enc and /usr/bin/time)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A photo-like image: smooth gradients with sensor-like noise, so the JPEG
/// is as big as a phone's.
fn photo(w: u32, h: u32, quality: u8) -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 48) as i32 - 24;
        let px = |base: i32| (base + n).clamp(0, 255) as u8;
        Rgb([
            px((x * 255 / w) as i32),
            px((y * 255 / h) as i32),
            px(((x + y) * 127 / (w + h)) as i32 + 64),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .unwrap();
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn child(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let t = Instant::now();
    let p = qrdesk::media::process(&bytes, &qrdesk::media::MediaLimits::default()).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{ms} {} {}x{}",
        peak_rss_kb(std::process::id()),
        p.width,
        p.height
    );
}

/// Median time (ms) and peak RSS (kB) of five runs of `run`.
fn median_of_five(mut run: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    let (ms, kb): (Vec<f64>, Vec<f64>) = (0..5).map(|_| run()).unzip();
    (median(ms), median(kb))
}

/// qrdesk's pipeline and `vipsthumbnail` on the same file, each in fresh processes.
fn compare(file: &std::path::Path, dir: &std::path::Path) {
    let me = std::env::current_exe().unwrap();
    let (o_ms, o_kb) = median_of_five(|| {
        let out = Command::new(&me)
            .args(["--child", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout);
        let mut parts = line.split_whitespace();
        (
            parts.next().unwrap().parse().unwrap(),
            parts.next().unwrap().parse().unwrap(),
        )
    });
    let (v_ms, v_kb) = median_of_five(|| {
        let out_file = dir.join("vips.jpg");
        let _ = std::fs::remove_file(&out_file);
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%e %M", "vipsthumbnail"])
            .arg(file)
            .args(["-s", "2048", "-o"])
            .arg(&out_file)
            .output()
            .expect("/usr/bin/time (apt-get install time)");
        assert!(
            out.status.success() && out_file.exists(),
            "vipsthumbnail failed or is missing (apt-get install libvips-tools): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let mut parts = err.lines().last().unwrap_or("0 0").split_whitespace();
        (
            parts.next().unwrap().parse::<f64>().unwrap() * 1e3,
            parts.next().unwrap().parse().unwrap(),
        )
    });
    println!("  qrdesk pipeline (decode, shrink to 2048, orient, re-encode): {o_ms:>7.0} ms, peak {:>5.0} MB", o_kb / 1024.0);
    println!("  vipsthumbnail -s 2048 (whole process):                       {v_ms:>7.0} ms, peak {:>5.0} MB", v_kb / 1024.0);
    println!(
        "  ratio qrdesk / vips: time {:.1}×, memory {:.1}×",
        o_ms / v_ms,
        o_kb / v_kb
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1]);
    }
    let dir = std::env::temp_dir().join(format!("qrdesk-photo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("12mp.jpg");
    std::fs::write(&file, photo(4000, 3000, 92)).unwrap();
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "photos: 4000×3000 JPEG, {:.1} MB, median of 5 fresh processes each",
        size as f64 / 1e6
    );

    compare(&file, &dir);

    // The same picture as an iPhone would send it: HEIC, written by libheif.
    let heic = dir.join("12mp.heic");
    let enc = Command::new("heif-enc")
        .args(["-q", "50", "-o"])
        .arg(&heic)
        .arg(&file)
        .output()
        .expect("heif-enc (apt-get install libheif-examples)");
    assert!(
        enc.status.success(),
        "heif-enc failed: {}",
        String::from_utf8_lossy(&enc.stderr)
    );
    println!(
        "photos: the same as HEIC, {:.1} MB",
        std::fs::metadata(&heic).unwrap().len() as f64 / 1e6
    );
    compare(&heic, &dir);

    concurrent_uploads(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real server, 20 phones sending a ~10 MB photo at the same moment.
fn concurrent_uploads(dir: &std::path::Path) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_qrdesk"))
        .arg("serve")
        .env("QRDESK_SERVER__LISTEN", "127.0.0.1:0")
        .env("QRDESK_SERVER__DATA_DIR", dir.join("data"))
        // Twenty phones from one test address.
        .env("QRDESK_LIMITS__POSTS_PER_MINUTE", "1000")
        .env("QRDESK_LIMITS__POSTS_BURST", "1000")
        .env("QRDESK_LIMITS__MIN_FILL_MS", "0")
        .env("QRDESK_LIMITS__DUPLICATE_WINDOW_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut form_url = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Demo form:") {
            form_url = url.trim().to_owned();
            break;
        }
    }
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    let pid = server.id();
    std::thread::sleep(Duration::from_millis(500));
    let idle = peak_rss_kb(pid);
    let upload = photo(4000, 3000, 97);
    let mb = upload.len() as f64 / 1e6;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let ok = rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let html = client
            .get(&form_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = html
            .split("name=\"form_token\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (client, url, token, bytes) = (
                client.clone(),
                form_url.clone(),
                token.clone(),
                upload.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let form = reqwest::multipart::Form::new()
                    .text("form_token", token)
                    .text(
                        "description",
                        format!("Нагрузочная проверка, фото номер {i}"),
                    )
                    .part(
                        "photo",
                        reqwest::multipart::Part::bytes(bytes)
                            .file_name("p.jpg")
                            .mime_str("image/jpeg")
                            .unwrap(),
                    );
                client
                    .post(&url)
                    .multipart(form)
                    .send()
                    .await
                    .map(|r| r.status().as_u16() == 303)
                    .unwrap_or(false)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += t.await.unwrap() as usize;
        }
        ok
    });
    let took = started.elapsed();
    let peak = peak_rss_kb(pid);
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();
    println!("server: idle peak RSS {:.0} MB", idle as f64 / 1024.0);
    println!(
        "  20 concurrent uploads of a {mb:.1} MB photo: {ok}/20 accepted in {:.1} s, peak RSS {:.0} MB",
        took.as_secs_f64(),
        peak as f64 / 1024.0
    );
}
