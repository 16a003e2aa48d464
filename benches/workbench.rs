//! The requests workbench and the API's request list at 100,000 requests
//! and with 2,000 delivery jobs waiting (the task system down for a while),
//! each against the same list at 1,000 requests without jobs, measured in
//! the same run; on SQLite, and on PostgreSQL when QRDESK_TEST_POSTGRES_URL
//! names a server (a database of its own is made and dropped).
//!
//!     cargo bench --bench workbench
//!
//! What is timed is the store's query behind each page (the page adds the
//! same rendering at every size): the first page, a page deep in the
//! history, the oldest page, a word search, the "failed" tab, the API list
//! and, at 100,000, the CSV export with jobs against the one without.

use std::time::{Duration, Instant};

use qrdesk::store::codes::Target;
use qrdesk::store::requests::{self, ApiFilter, PageAt, RequestFilter};
use qrdesk::store::{Pool, RequestStatus};

const PAGE: i64 = 51;
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `n` requests, one in ten about a pump and one in twenty failed (so every
/// list fills a page at 1,000 too), and
/// `jobs` waiting create jobs on the newest ones.
async fn fill(pool: &Pool, n: i64, jobs: i64) {
    sqlx::query("DELETE FROM jobs").execute(pool).await.unwrap();
    sqlx::query("DELETE FROM requests")
        .execute(pool)
        .await
        .unwrap();
    let code = qrdesk::store::codes::create(pool, Target::Unassigned, None, 0)
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO requests (id, code, description, search_text, status, token_hash,
                               created_at, updated_at, task_number)
         SELECT 'req-' || CAST(i AS TEXT), $2,
                CASE WHEN i % 10 = 0 THEN 'Насос не качает воду ' ELSE 'Не работает свет ' END || CAST(i AS TEXT),
                CASE WHEN i % 10 = 0 THEN 'насос не качает воду ' ELSE 'не работает свет ' END || CAST(i AS TEXT),
                CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'delivered' END,
                'h' || CAST(i AS TEXT), 1800000000000 + i * 1000, 1800000000000 + i * 1000,
                CAST(5000 + i AS TEXT)
           FROM n",
    )
    .bind(n)
    .bind(code.as_str())
    .execute(pool)
    .await
    .unwrap();
    if jobs > 0 {
        sqlx::query(
            "INSERT INTO jobs (kind, request_id, attempts, run_after, last_error, created_at)
             SELECT 'create_task', id, 4, created_at + 600000, 'HubEx: 503 Service Unavailable', created_at
               FROM requests ORDER BY created_at DESC LIMIT $1",
        )
        .bind(jobs)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE requests SET status = 'accepted', task_number = NULL
              WHERE id IN (SELECT request_id FROM jobs)",
        )
        .execute(pool)
        .await
        .unwrap();
    }
    // As a running installation would be: statistics gathered, and
    // SQLite's write-ahead log folded into the database.
    match qrdesk::store::Engine::of(pool) {
        qrdesk::store::Engine::Postgres => {
            sqlx::query("ANALYZE").execute(pool).await.unwrap();
        }
        qrdesk::store::Engine::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

/// The median time of each list, by name.
async fn lists(pool: &Pool, n: i64) -> Vec<(&'static str, Duration)> {
    let all = RequestFilter::default();
    let words = RequestFilter {
        q: "насос".into(),
        ..Default::default()
    };
    let failed = RequestFilter {
        status: Some(RequestStatus::Failed),
        ..Default::default()
    };
    let middle = 1800000000000 + (n / 2) * 1000;
    let deep = PageAt::After(middle, format!("req-{}", n / 2));
    let cases: Vec<(&'static str, &RequestFilter, PageAt)> = vec![
        ("first page", &all, PageAt::First),
        ("a page in the middle", &all, deep),
        ("the oldest page", &all, PageAt::Last),
        ("word search", &words, PageAt::First),
        ("the failed tab", &failed, PageAt::First),
    ];
    let mut out = Vec::new();
    for (name, filter, at) in cases {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let (rows, _) = requests::search(pool, filter, &at, PAGE).await.unwrap();
            times.push(t.elapsed());
            assert!(!rows.is_empty(), "{name}");
        }
        out.push((name, median(times)));
    }
    let mut times = Vec::new();
    let api = ApiFilter {
        status: Some(RequestStatus::Failed),
        ..Default::default()
    };
    for _ in 0..RUNS {
        let t = Instant::now();
        requests::api_page(pool, &api, None, 50).await.unwrap();
        times.push(t.elapsed());
    }
    out.push(("API ?status=failed", median(times)));
    out
}

async fn csv(pool: &Pool) -> Duration {
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let (rows, _) = requests::search(pool, &RequestFilter::default(), &PageAt::First, 50_000)
            .await
            .unwrap();
        times.push(t.elapsed());
        assert_eq!(rows.len(), 50_000);
    }
    median(times)
}

async fn engine(name: &str, pool: &Pool) {
    fill(pool, 1_000, 0).await;
    let base = lists(pool, 1_000).await;
    fill(pool, 100_000, 0).await;
    let big = lists(pool, 100_000).await;
    let csv_plain = csv(pool).await;
    fill(pool, 100_000, 2_000).await;
    let busy = lists(pool, 100_000).await;
    let csv_busy = csv(pool).await;
    println!("{name}: each list against itself at 1,000 requests without jobs");
    println!(
        "  {:<22} {:>10} {:>18} {:>28}",
        "list", "1,000", "100,000", "100,000 + 2,000 jobs"
    );
    let mut worst: f64 = 0.0;
    for ((name, b), ((_, m), (_, j))) in base.iter().zip(big.iter().zip(busy.iter())) {
        let (rm, rj) = (
            m.as_secs_f64() / b.as_secs_f64(),
            j.as_secs_f64() / b.as_secs_f64(),
        );
        worst = worst.max(rm).max(rj);
        println!(
            "  {name:<22} {:>8.2} ms {:>8.2} ms ({rm:>4.1}×) {:>8.2} ms ({rj:>4.1}×)",
            b.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e3,
            j.as_secs_f64() * 1e3
        );
    }
    println!(
        "  CSV of 50,000 rows: {:.0} ms without jobs, {:.0} ms with 2,000 waiting ({:.1}×)",
        csv_plain.as_secs_f64() * 1e3,
        csv_busy.as_secs_f64() * 1e3,
        csv_busy.as_secs_f64() / csv_plain.as_secs_f64()
    );
    println!("  largest ratio: {worst:.1}× (goal ≤ 3×)");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("qrdesk-bench-wb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pool = qrdesk::store::open(&format!("sqlite://{}/bench.db", dir.display()), 4)
        .await
        .unwrap();
    engine("SQLite", &pool).await;
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let Some(server) = std::env::var("QRDESK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("PostgreSQL: QRDESK_TEST_POSTGRES_URL is not set, skipped");
        return;
    };
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("qrdesk_bench_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap();
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, query) = server.split_once('?').unwrap_or((&server, ""));
    let url = format!(
        "{}/{name}{}",
        &base[..base.rfind('/').unwrap()],
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let pool = qrdesk::store::open(&url, 4).await.unwrap();
    engine("PostgreSQL", &pool).await;
    pool.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
