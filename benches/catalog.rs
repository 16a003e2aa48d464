//! The admin catalog at 50,000 assets: one page of each kind of query,
//! against reading one asset by id (the floor) in the same run.
//!
//!     cargo bench --bench catalog

use std::time::{Duration, Instant};

use qrdesk::backend::{
    Asset, AssetId, CatalogSnapshot, Company, CompanyId, District, DistrictId, Location, LocationId,
};
use qrdesk::store::catalog::{self, AssetFilter};

const ASSETS: i64 = 50_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("qrdesk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pool = qrdesk::store::open(&format!("sqlite://{}/bench.db", dir.display()), 4)
        .await
        .unwrap();
    let names = [
        "Насос",
        "Кондиционер",
        "Кофемашина",
        "Компрессор",
        "Вентилятор",
        "Щит",
        "Холодильник",
        "Турникет",
    ];
    let snap = CatalogSnapshot {
        districts: (1..=10)
            .map(|i| District {
                id: DistrictId(i),
                name: format!("Участок {i}"),
                parent_id: None,
                assets_count: None,
            })
            .collect(),
        locations: (1..=500)
            .map(|i| Location {
                id: LocationId(i),
                address: format!("Москва, ул. Примерная, {i}"),
                description: None,
            })
            .collect(),
        companies: (1..=50)
            .map(|i| Company {
                id: CompanyId(i),
                name: format!("ООО «Компания {i}»"),
            })
            .collect(),
        assets: (1..=ASSETS)
            .map(|i| Asset {
                id: AssetId(i),
                name: format!("{} {i}", names[(i % 8) as usize]),
                serial_number: Some(format!("SN-{i:08}")),
                inventory_number: Some(format!("ИНВ-{i:06}")),
                company_id: Some(CompanyId(i % 50 + 1)),
                location_id: Some(LocationId(i % 500 + 1)),
                districts: vec![DistrictId(i % 10 + 1)],
                fingerprint: String::new(),
            })
            .collect(),
        ..Default::default()
    };
    let t = Instant::now();
    catalog::replace(&pool, &snap, 1).await.unwrap();
    println!(
        "catalog: {ASSETS} assets written in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let runs = 15;
    let time = |f: AssetFilter, offset: i64| {
        let pool = pool.clone();
        async move {
            let mut v = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let (rows, total) = catalog::search_assets(&pool, &f, 50, offset).await.unwrap();
                v.push(t.elapsed());
                assert!(total > 0 && !rows.is_empty());
            }
            median(v)
        }
    };
    let mut base = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        catalog::asset(&pool, AssetId(1000 + i))
            .await
            .unwrap()
            .unwrap();
        base.push(t.elapsed());
    }
    let base = median(base);
    let cases = [
        ("first page, no filter", AssetFilter::default(), 0),
        ("page 900, no filter", AssetFilter::default(), 899 * 50),
        (
            "search \"насос 12\"",
            AssetFilter {
                q: "насос 12".into(),
                ..Default::default()
            },
            0,
        ),
        (
            "search serial \"SN-0004\"",
            AssetFilter {
                q: "sn-0004".into(),
                ..Default::default()
            },
            0,
        ),
        (
            "участок filter",
            AssetFilter {
                district: Some(DistrictId(3)),
                ..Default::default()
            },
            0,
        ),
        (
            "location filter",
            AssetFilter {
                location: Some(LocationId(42)),
                ..Default::default()
            },
            0,
        ),
        (
            "without a code",
            AssetFilter {
                has_code: Some(false),
                ..Default::default()
            },
            0,
        ),
    ];
    println!(
        "  baseline, one asset by id: {:>7.2} ms",
        base.as_secs_f64() * 1e3
    );
    for (name, f, offset) in cases {
        let d = time(f, offset).await;
        println!(
            "  {name:<28} {:>7.2} ms  ({:.0}× the baseline)",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / base.as_secs_f64()
        );
    }
    pool.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
