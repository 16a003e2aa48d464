//! Load on the public pages, against baselines measured in the same run:
//! - form GET and a delivered request's status page vs `/healthz` of the same
//!   binary (and that vs a minimal axum handler), as ratios;
//! - submit latency (p50/p99) at a fixed offered rate;
//! - a flood from one address while another address keeps using the form:
//!   the flooder gets 429s, the other's p99 stays near its quiet baseline;
//! - idle RSS of the real binary;
//! - SQLite against PostgreSQL: submit p50/p99 at 100/s and the delivery
//!   throughput of a backlog, in the same run.
//!
//!     cargo bench --bench load      (loopback only; every loop is bounded)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// GETs `url` from `workers` tasks for `secs`, asking for `encoding` (as a
/// phone does: `br`); returns requests per second.
async fn throughput_in(
    client: &reqwest::Client,
    url: &str,
    encoding: &str,
    workers: usize,
    secs: u64,
) -> f64 {
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (client, url, encoding) = (client.clone(), url.to_owned(), encoding.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let mut get = client.get(&url);
                if !encoding.is_empty() {
                    get = get.header("accept-encoding", &encoding);
                }
                // The answer's head is enough: the server has made and
                // compressed the page by then, and the client spends no
                // core of the two on reading it.
                if get.send().await.is_ok_and(|r| r.status().is_success()) {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / secs as f64
}

async fn form_token(client: &reqwest::Client, form_url: &str, ip: &str) -> String {
    let html = client
        .get(form_url)
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    html.split("name=\"form_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// One submission from `ip`: form GET + POST; returns the POST's latency and status.
async fn submit(client: &reqwest::Client, form_url: &str, ip: &str, n: usize) -> (Duration, u16) {
    let token = form_token(client, form_url, ip).await;
    let t = Instant::now();
    let status = client
        .post(form_url)
        .header("x-forwarded-for", ip)
        .form(&[
            ("form_token", token.as_str()),
            (
                "description",
                &format!("Нагрузочная заявка номер {n}, не работает"),
            ),
        ])
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (t.elapsed(), status)
}

/// Starts `qrdesk serve` on the demo data with the load settings (and
/// `extra` env); returns the process and its demo form's URL.
fn start_server(dir: &std::path::Path, extra: &[(&str, String)]) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qrdesk"));
    cmd.arg("serve")
        .env("QRDESK_SERVER__LISTEN", "127.0.0.1:0")
        .env("QRDESK_SERVER__DATA_DIR", dir)
        .env("QRDESK_SERVER__TRUSTED_PROXIES", "127.0.0.1")
        .env("QRDESK_LIMITS__GETS_PER_MINUTE", "1000000")
        .env("QRDESK_LIMITS__GETS_BURST", "1000000")
        .env("QRDESK_LIMITS__CODE_REQUESTS_PER_HOUR", "1000000")
        // The challenge stays "auto" (its counting is part of every form view)
        // but never switches on: this measures the server, not the proof of work.
        .env("QRDESK_LIMITS__CHALLENGE_CODE_PER_HOUR", "1000000")
        .env("QRDESK_LIMITS__CHALLENGE_GLOBAL_PER_MINUTE", "1000000")
        .env("QRDESK_LIMITS__MIN_FILL_MS", "0")
        .env("QRDESK_LIMITS__DUPLICATE_WINDOW_SECS", "0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut server = cmd.spawn().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut form_url = String::new();
    for line in lines.by_ref() {
        if let Some(u) = line.unwrap().strip_prefix("Demo form:") {
            form_url = u.trim().to_owned();
            break;
        }
    }
    assert!(!form_url.is_empty(), "qrdesk did not start");
    std::thread::spawn(move || for _ in lines {});
    (server, form_url)
}

/// Submit latency at 100/s and delivery throughput of one server, whose
/// database `db` names.
async fn engine_round(
    client: &reqwest::Client,
    form_url: &str,
    db: &str,
    base: usize,
) -> (Duration, Duration, f64) {
    let pool = qrdesk::store::connect(db, 1).await.unwrap();
    let delivered = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM requests WHERE status = 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let (rate, secs) = (100u64, 10u64);
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / rate));
    let mut tasks = Vec::new();
    for n in 0..(rate * secs) as usize {
        ticker.tick().await;
        let (client, url) = (client.clone(), form_url.to_owned());
        let ip = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
        tasks.push(tokio::spawn(async move {
            submit(&client, &url, &ip, base + n).await
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        let (d, s) = t.await.unwrap();
        assert_eq!(s, 303);
        lat.push(d);
    }
    // Delivery throughput: a backlog of 1,000 at once, then until all are in.
    let before = delivered().await;
    let start = Instant::now();
    let mut batch = Vec::new();
    for n in 0..1000usize {
        let (client, url) = (client.clone(), form_url.to_owned());
        let ip = format!("11.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
        batch.push(tokio::spawn(async move {
            submit(&client, &url, &ip, base + 50_000 + n).await
        }));
        if batch.len() >= 32 {
            for t in batch.drain(..) {
                assert_eq!(t.await.unwrap().1, 303);
            }
        }
    }
    for t in batch {
        assert_eq!(t.await.unwrap().1, 303);
    }
    let target = (rate * secs) as i64 + 1000;
    let until = Instant::now() + Duration::from_secs(120);
    while delivered().await < target {
        assert!(Instant::now() < until, "deliveries did not finish in 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let per_sec = (target - before) as f64 / start.elapsed().as_secs_f64();
    pool.close().await;
    (
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        per_sec,
    )
}

fn main() {
    let dir = std::env::temp_dir().join(format!("qrdesk-load-bench-{}", std::process::id()));
    let (mut server, form_url) = start_server(&dir, &[]);
    let pid = server.id();
    std::thread::sleep(Duration::from_secs(1));
    let idle = rss_kb(pid, "VmRSS:");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();

        // Baselines: a minimal axum handler in this process, and /healthz
        // of the same binary (everything in front of a handler, no work in it).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let origin = form_url.split("/q/").next().unwrap().to_owned();
        // A delivered request's status page.
        let status_path = {
            let page = client
                .post(&form_url)
                .header("x-forwarded-for", "198.18.0.1")
                .form(&[
                    (
                        "form_token",
                        form_token(&client, &form_url, "198.18.0.1").await.as_str(),
                    ),
                    ("description", "Статус для замера: не работает кондиционер"),
                ])
                .send()
                .await
                .unwrap();
            let path = page.headers()["location"].to_str().unwrap().to_owned();
            let until = Instant::now() + Duration::from_secs(30);
            loop {
                let body = client
                    .get(format!("{origin}{path}"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if body.contains("Передана в сервисную службу") {
                    break;
                }
                assert!(
                    Instant::now() < until,
                    "the request was not delivered in 30 s"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            path
        };
        let throughput = |url: String, encoding: &'static str| {
            let client = client.clone();
            async move { throughput_in(&client, &url, encoding, 16, 5).await }
        };
        let base_rps = throughput(format!("http://{addr}/"), "").await;
        let health_rps = throughput(format!("{origin}/healthz"), "").await;
        // What phones send: brotli first; then gzip and none for comparison.
        let form_rps = throughput(form_url.clone(), "br").await;
        let form_gzip = throughput(form_url.clone(), "gzip").await;
        let form_plain = throughput(form_url.clone(), "").await;
        let status_rps = throughput(format!("{origin}{status_path}"), "br").await;
        println!("load: page views, 16 connections, 5 s each");
        println!("  minimal axum handler: {base_rps:>8.0} req/s");
        println!(
            "  qrdesk /healthz:      {health_rps:>8.0} req/s  ({:.2} of the minimal handler)",
            health_rps / base_rps
        );
        println!(
            "  qrdesk form GET, br:  {form_rps:>8.0} req/s  (form/healthz {:.2}; target ≥ 0.5)",
            form_rps / health_rps
        );
        println!(
            "  form GET, gzip:       {form_gzip:>8.0} req/s  ({:.2}); uncompressed {form_plain:.0} req/s ({:.2})",
            form_gzip / health_rps,
            form_plain / health_rps
        );
        println!(
            "  status page, br:      {status_rps:>8.0} req/s  (status/healthz {:.2}; target ≥ 0.3)",
            status_rps / health_rps
        );

        // Submit latency at a fixed offered rate, each from its own address.
        let (rate, secs) = (100u64, 30u64);
        let mut ticker = tokio::time::interval(Duration::from_millis(1000 / rate));
        let mut tasks = Vec::new();
        for n in 0..(rate * secs) as usize {
            ticker.tick().await;
            let (client, url) = (client.clone(), form_url.clone());
            let ip = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
            tasks.push(tokio::spawn(
                async move { submit(&client, &url, &ip, n).await },
            ));
        }
        let mut lat = Vec::new();
        let mut ok = 0;
        for t in tasks {
            let (d, s) = t.await.unwrap();
            lat.push(d);
            ok += (s == 303) as usize;
        }
        let (p50, p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));
        println!(
            "  submit at {rate}/s for {secs} s: {ok}/{} accepted, p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );

        // Flood: one address hammers the POST; another keeps submitting.
        let quiet = {
            let mut v = Vec::new();
            for n in 0..40 {
                let ip = format!("198.51.100.{}", 1 + n);
                v.push(submit(&client, &form_url, &ip, 100_000 + n).await.0);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            percentile(&mut v, 0.99)
        };
        let flood_until = Instant::now() + Duration::from_secs(8);
        let mut flooders = Vec::new();
        for _ in 0..16 {
            let (client, url) = (client.clone(), form_url.clone());
            flooders.push(tokio::spawn(async move {
                let (mut limited, mut total) = (0u64, 0u64);
                while Instant::now() < flood_until {
                    let r = client
                        .post(&url)
                        .header("x-forwarded-for", "203.0.113.66")
                        .form(&[("description", "спам спам спам спам")])
                        .send()
                        .await;
                    total += 1;
                    limited += r.map(|r| r.status() == 429).unwrap_or(false) as u64;
                }
                (limited, total)
            }));
        }
        let mut during = Vec::new();
        let mut n = 200_000;
        while Instant::now() < flood_until {
            // Other people, each within their own quota, while one address floods.
            let ip = format!("192.0.2.{}", 1 + n % 200);
            during.push(submit(&client, &form_url, &ip, n).await.0);
            n += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (mut limited, mut total) = (0, 0);
        for f in flooders {
            let (l, t) = f.await.unwrap();
            limited += l;
            total += t;
        }
        let flood_p99 = percentile(&mut during, 0.99);
        println!("  flood: {total} posts from one address, {limited} got 429");
        println!(
            "  another address meanwhile: p99 {:.1} ms vs {:.1} ms quiet ({:.2}×; target ≤ 2×)",
            flood_p99.as_secs_f64() * 1e3,
            quiet.as_secs_f64() * 1e3,
            flood_p99.as_secs_f64() / quiet.as_secs_f64()
        );
    });
    println!(
        "  idle RSS before the load: {:.1} MB, peak during it: {:.1} MB",
        idle as f64 / 1024.0,
        rss_kb(pid, "VmHWM:") as f64 / 1024.0
    );
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    rt.block_on(engines(&client_for_engines()));
}

fn client_for_engines() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// SQLite against PostgreSQL in the same run: the same server settings, a
/// call budget that never waits, and the simulator as the task system.
async fn engines(client: &reqwest::Client) {
    let admin = std::env::var("QRDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("qrdesk_bench_{}", std::process::id());
    let admin_pool = qrdesk::store::connect(&admin, 1)
        .await
        .expect("PostgreSQL for the engine comparison (QRDESK_TEST_POSTGRES_URL)");
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&admin_pool)
        .await
        .unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&admin_pool)
        .await
        .unwrap();
    let pg_url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    let fast = [
        ("QRDESK_HUBEX__MAX_CALLS_PER_MINUTE", "1000000".to_owned()),
        ("QRDESK_DELIVERY__CONCURRENCY", "8".to_owned()),
    ];
    println!("engines: submit at 100/s for 10 s, then a backlog of 1,000 delivered");
    let mut results = Vec::new();
    for (engine, url) in [("SQLite", None), ("PostgreSQL", Some(pg_url.clone()))] {
        let dir = std::env::temp_dir().join(format!(
            "qrdesk-engine-bench-{}-{engine}",
            std::process::id()
        ));
        let mut env = fast.to_vec();
        let db = match &url {
            Some(u) => {
                env.push(("QRDESK_DATABASE__URL", u.clone()));
                u.clone()
            }
            None => format!("sqlite://{}/qrdesk.db", dir.display()),
        };
        let (mut server, form_url) = start_server(&dir, &env);
        let (p50, p99, per_sec) = engine_round(client, &form_url, &db, 300_000).await;
        println!(
            "  {engine:<10}  submit p50 {:.1} ms, p99 {:.1} ms; delivery {per_sec:.0} requests/s",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        results.push((p99, per_sec));
        let _ = server.kill();
        let _ = server.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "  PostgreSQL/SQLite: submit p99 {:.2}×, delivery throughput {:.2}×",
        results[1].0.as_secs_f64() / results[0].0.as_secs_f64(),
        results[1].1 / results[0].1
    );
    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin_pool)
        .await;
}
