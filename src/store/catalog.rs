//! The local mirror of the task system's catalog. A scan reads only these
//! tables, so the form opens while HubEx is down.

use super::Pool;
use crate::domain::task::{
    AssetId, CatalogSnapshot, CompanyId, DistrictId, KnownCatalog, LocationId,
};

/// An asset as the form shows it, joined with its site and company.
#[derive(Debug, Clone)]
pub struct AssetView {
    pub id: AssetId,
    pub name: String,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
    pub location_id: Option<LocationId>,
    pub company_id: Option<CompanyId>,
    pub address: Option<String>,
    pub location_description: Option<String>,
    pub company_name: Option<String>,
}
super::from_row!(AssetView {
    id,
    name,
    serial_number,
    inventory_number,
    location_id,
    company_id,
    address,
    location_description,
    company_name
});

#[derive(Debug, Clone)]
pub struct LocationView {
    pub id: LocationId,
    pub address: String,
    pub description: Option<String>,
}
super::from_row!(LocationView {
    id,
    address,
    description
});

#[derive(Debug, Clone)]
pub struct DistrictView {
    pub id: DistrictId,
    pub name: String,
}
super::from_row!(DistrictView { id, name });

#[derive(Debug, Clone)]
pub struct DictionaryRow {
    pub id: i64,
    pub name: String,
    /// 1 for the catalog's default entry (flags are integers on both engines).
    pub is_default: i64,
}
super::from_row!(DictionaryRow {
    id,
    name,
    is_default
});

const ASSET_SELECT: &str =
    "SELECT a.id, a.name, a.serial_number, a.inventory_number, a.location_id, a.company_id,
        l.address, l.description AS location_description, c.name AS company_name
   FROM catalog_assets a
   LEFT JOIN catalog_locations l ON l.id = a.location_id
   LEFT JOIN catalog_companies c ON c.id = a.company_id";

/// Replaces the mirror with `snap` in one transaction: rows not in the snapshot
/// are removed, so a deleted asset stops accepting requests.
pub async fn replace(pool: &Pool, snap: &CatalogSnapshot, now: i64) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    for d in &snap.districts {
        sqlx::query(
            "INSERT INTO catalog_districts (id, name, parent_id, assets_count, synced_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
                 assets_count = excluded.assets_count, synced_at = excluded.synced_at",
        )
        .bind(d.id)
        .bind(&d.name)
        .bind(d.parent_id)
        .bind(d.assets_count)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for l in &snap.locations {
        sqlx::query(
            "INSERT INTO catalog_locations (id, address, description, synced_at, search_text) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, description = excluded.description,
                 synced_at = excluded.synced_at, search_text = excluded.search_text",
        )
        .bind(l.id)
        .bind(&l.address)
        .bind(&l.description)
        .bind(now)
        .bind(search_text(&[Some(&l.address), l.description.as_ref()]))
        .execute(&mut *tx)
        .await?;
    }
    for c in &snap.companies {
        sqlx::query(
            "INSERT INTO catalog_companies (id, name, synced_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, synced_at = excluded.synced_at",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM catalog_asset_districts")
        .execute(&mut *tx)
        .await?;
    for a in &snap.assets {
        sqlx::query(
            "INSERT INTO catalog_assets (id, name, serial_number, inventory_number, company_id, location_id, synced_at,
                 search_text, fingerprint)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, serial_number = excluded.serial_number,
                 inventory_number = excluded.inventory_number, company_id = excluded.company_id,
                 location_id = excluded.location_id, synced_at = excluded.synced_at,
                 search_text = excluded.search_text, fingerprint = excluded.fingerprint",
        )
        .bind(a.id)
        .bind(&a.name)
        .bind(&a.serial_number)
        .bind(&a.inventory_number)
        .bind(a.company_id)
        .bind(a.location_id)
        .bind(now)
        .bind(search_text(&[Some(&a.name), a.serial_number.as_ref(), a.inventory_number.as_ref()]))
        .bind(&a.fingerprint)
        .execute(&mut *tx)
        .await?;
        for d in &a.districts {
            sqlx::query("INSERT INTO catalog_asset_districts (asset_id, district_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(a.id)
                .bind(d)
                .execute(&mut *tx)
                .await?;
        }
    }
    for t in &snap.task_types {
        sqlx::query(
            "INSERT INTO catalog_task_types (id, name, is_default, synced_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, is_default = excluded.is_default,
                 synced_at = excluded.synced_at",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(i64::from(t.is_default))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for m in &snap.request_methods {
        sqlx::query(
            "INSERT INTO catalog_request_methods (id, name, synced_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, synced_at = excluded.synced_at",
        )
        .bind(m.id)
        .bind(&m.name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for c in &snap.criticalities {
        sqlx::query(
            "INSERT INTO catalog_criticalities (id, name, color, is_default, sort_order, synced_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color,
                 is_default = excluded.is_default, sort_order = excluded.sort_order, synced_at = excluded.synced_at",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.color)
        .bind(i64::from(c.is_default))
        .bind(c.sort_order)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for table in [
        "catalog_districts",
        "catalog_locations",
        "catalog_companies",
        "catalog_assets",
        "catalog_task_types",
        "catalog_request_methods",
        "catalog_criticalities",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE synced_at < $1"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let anonymous = snap
        .anonymous_user
        .map(|u| u.0.to_string())
        .unwrap_or_default();
    let mut settings = vec![
        ("anonymous_user_id", anonymous),
        ("catalog_synced_at", now.to_string()),
        ("catalog_district_source", snap.district_source.clone()),
        ("catalog_sync_calls", snap.calls.to_string()),
    ];
    if snap.mapped_in_full {
        settings.push(("catalog_mapped_at", now.to_string()));
    }
    for (key, value) in settings {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(())
}

/// What the mirror knows, so the next sync reads only what changed.
pub async fn known(pool: &Pool) -> sqlx::Result<KnownCatalog> {
    let mut known = KnownCatalog::default();
    let rows: Vec<(AssetId, String)> = sqlx::query_as("SELECT id, fingerprint FROM catalog_assets")
        .fetch_all(pool)
        .await?;
    for (id, fingerprint) in rows {
        known.assets.insert(id, (fingerprint, Vec::new()));
    }
    let members: Vec<(AssetId, DistrictId)> =
        sqlx::query_as("SELECT asset_id, district_id FROM catalog_asset_districts")
            .fetch_all(pool)
            .await?;
    for (asset, district) in members {
        if let Some((_, ds)) = known.assets.get_mut(&asset) {
            ds.push(district);
        }
    }
    let counts: Vec<(DistrictId, Option<i64>)> =
        sqlx::query_as("SELECT id, assets_count FROM catalog_districts")
            .fetch_all(pool)
            .await?;
    known.district_counts = counts
        .into_iter()
        .filter_map(|(id, n)| Some((id, n?)))
        .collect();
    known.mapped_at = super::get_setting(pool, "catalog_mapped_at")
        .await?
        .and_then(|v| v.parse().ok());
    Ok(known)
}

/// Gives sites synced before site search existed their search text.
pub async fn fill_site_search(pool: &Pool) -> sqlx::Result<()> {
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, address, description FROM catalog_locations WHERE search_text = ''",
    )
    .fetch_all(pool)
    .await?;
    for (id, address, description) in rows {
        sqlx::query("UPDATE catalog_locations SET search_text = $1 WHERE id = $2")
            .bind(search_text(&[Some(&address), description.as_ref()]))
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// What catalog search matches against: the parts, lower-cased, space-joined.
pub fn search_text(parts: &[Option<&String>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|p| p.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn asset(pool: &Pool, id: AssetId) -> sqlx::Result<Option<AssetView>> {
    sqlx::query_as(&format!("{ASSET_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn assets_at_location(pool: &Pool, id: LocationId) -> sqlx::Result<Vec<AssetView>> {
    sqlx::query_as(&format!(
        "{ASSET_SELECT} WHERE a.location_id = $1 ORDER BY a.name"
    ))
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn assets_in_district(pool: &Pool, id: DistrictId) -> sqlx::Result<Vec<AssetView>> {
    sqlx::query_as(&format!(
        "{ASSET_SELECT} WHERE a.id IN (SELECT asset_id FROM catalog_asset_districts WHERE district_id = $1)
         ORDER BY l.address, a.name"
    ))
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn asset_districts(pool: &Pool, id: AssetId) -> sqlx::Result<Vec<DistrictId>> {
    sqlx::query_scalar("SELECT district_id FROM catalog_asset_districts WHERE asset_id = $1")
        .bind(id)
        .fetch_all(pool)
        .await
}

pub async fn location(pool: &Pool, id: LocationId) -> sqlx::Result<Option<LocationView>> {
    sqlx::query_as("SELECT id, address, description FROM catalog_locations WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Districts of the assets at a location (a location has no district of its own).
pub async fn location_districts(pool: &Pool, id: LocationId) -> sqlx::Result<Vec<DistrictId>> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.district_id FROM catalog_asset_districts d
           JOIN catalog_assets a ON a.id = d.asset_id WHERE a.location_id = $1",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn district(pool: &Pool, id: DistrictId) -> sqlx::Result<Option<DistrictView>> {
    sqlx::query_as("SELECT id, name FROM catalog_districts WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn districts(pool: &Pool) -> sqlx::Result<Vec<DistrictView>> {
    sqlx::query_as("SELECT id, name FROM catalog_districts ORDER BY name")
        .fetch_all(pool)
        .await
}

pub async fn task_types(pool: &Pool) -> sqlx::Result<Vec<DictionaryRow>> {
    sqlx::query_as("SELECT id, name, is_default FROM catalog_task_types ORDER BY id")
        .fetch_all(pool)
        .await
}

pub async fn request_methods(pool: &Pool) -> sqlx::Result<Vec<DictionaryRow>> {
    sqlx::query_as(
        "SELECT id, name, CAST(0 AS BIGINT) AS is_default FROM catalog_request_methods ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

pub async fn criticalities(pool: &Pool) -> sqlx::Result<Vec<DictionaryRow>> {
    sqlx::query_as("SELECT id, name, is_default FROM catalog_criticalities ORDER BY sort_order, id")
        .fetch_all(pool)
        .await
}

pub async fn asset_count(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM catalog_assets")
        .fetch_one(pool)
        .await
}

/// The first asset, in id order, that lies in one of `districts` (any when empty).
pub async fn first_asset_in(
    pool: &Pool,
    districts: &[DistrictId],
) -> sqlx::Result<Option<AssetId>> {
    let ids: Vec<AssetId> = sqlx::query_scalar("SELECT id FROM catalog_assets ORDER BY id")
        .fetch_all(pool)
        .await?;
    for id in ids {
        let ds = asset_districts(pool, id).await?;
        if districts.is_empty() || ds.iter().any(|d| districts.contains(d)) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Filters of the admin catalog page.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub q: String,
    pub district: Option<DistrictId>,
    pub location: Option<LocationId>,
    pub company: Option<CompanyId>,
    /// Some(true): only assets with an active code; Some(false): only without.
    pub has_code: Option<bool>,
}

/// An asset row of the admin catalog, with its first active code.
#[derive(Debug, Clone)]
pub struct AssetRow {
    pub id: AssetId,
    pub name: String,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
    pub address: Option<String>,
    pub company_name: Option<String>,
    pub code: Option<String>,
    pub codes: i64,
}
super::from_row!(AssetRow {
    id,
    name,
    serial_number,
    inventory_number,
    address,
    company_name,
    code,
    codes
});

/// One page of assets matching `f`, and how many match in all. Uses the
/// indexes on location, company and district; search scans one column.
pub async fn search_assets(
    pool: &Pool,
    f: &AssetFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AssetRow>, i64)> {
    let q = f.q.trim().to_lowercase();
    let has_code = f.has_code.map(i64::from);
    let engine = super::dialect::Engine::of(pool);
    let filter = format!(
        "($1 = '' OR {}
               OR a.location_id IN (SELECT l.id FROM catalog_locations l WHERE {}))
          AND ($2 IS NULL OR a.location_id = $2)
          AND ($3 IS NULL OR a.company_id = $3)
          AND ($4 IS NULL OR a.id IN (SELECT asset_id FROM catalog_asset_districts WHERE district_id = $4))
          AND ($5 IS NULL
               OR ($5 = 1 AND a.id IN (SELECT target_id FROM codes WHERE target_kind = 'asset' AND state = 'active'))
               OR ($5 = 0 AND a.id NOT IN (SELECT target_id FROM codes WHERE target_kind = 'asset' AND state = 'active')))",
        super::dialect::contains(engine, "a.search_text", "$1"),
        super::dialect::contains(engine, "l.search_text", "$1"),
    );
    macro_rules! bind_filter {
        ($query:expr) => {
            $query
                .bind(&q)
                .bind(f.location)
                .bind(f.company)
                .bind(f.district)
                .bind(has_code)
        };
    }
    let total: i64 = bind_filter!(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM catalog_assets a WHERE {filter}"
    )))
    .fetch_one(pool)
    .await?;
    // Page through ids first (the name index gives the order), then join the
    // details and code look-ups for those 50 rows only.
    let rows = bind_filter!(sqlx::query_as(&format!(
        "WITH page AS (SELECT a.id FROM catalog_assets a WHERE {filter} ORDER BY a.name, a.id LIMIT $6 OFFSET $7)
         SELECT a.id, a.name, a.serial_number, a.inventory_number, l.address, c.name AS company_name,
                (SELECT code FROM codes k WHERE k.target_kind = 'asset' AND k.target_id = a.id AND k.state = 'active'
                  ORDER BY k.created_at LIMIT 1) AS code,
                (SELECT COUNT(*) FROM codes k WHERE k.target_kind = 'asset' AND k.target_id = a.id AND k.state = 'active') AS codes
           FROM page
           JOIN catalog_assets a ON a.id = page.id
           LEFT JOIN catalog_locations l ON l.id = a.location_id
           LEFT JOIN catalog_companies c ON c.id = a.company_id
          ORDER BY a.name, a.id"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// Every asset matching `f` that has no active code (for bulk creation).
pub async fn assets_without_code(pool: &Pool, f: &AssetFilter) -> sqlx::Result<Vec<AssetId>> {
    let f = AssetFilter {
        has_code: Some(false),
        ..f.clone()
    };
    let (rows, _) = search_assets(pool, &f, 100_000, 0).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Sites whose address or description contains `q` (any case), by address.
pub async fn find_locations(pool: &Pool, q: &str, limit: i64) -> sqlx::Result<Vec<LocationView>> {
    let engine = super::dialect::Engine::of(pool);
    sqlx::query_as(&format!(
        "SELECT id, address, description FROM catalog_locations
          WHERE $1 = '' OR {} ORDER BY address, description, id LIMIT $2",
        super::dialect::contains(engine, "search_text", "$1")
    ))
    .bind(q.trim().to_lowercase())
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn locations(pool: &Pool) -> sqlx::Result<Vec<LocationView>> {
    sqlx::query_as(
        "SELECT id, address, description FROM catalog_locations ORDER BY address, description",
    )
    .fetch_all(pool)
    .await
}

pub async fn companies(pool: &Pool) -> sqlx::Result<Vec<(CompanyId, String)>> {
    sqlx::query_as("SELECT id, name FROM catalog_companies ORDER BY name")
        .fetch_all(pool)
        .await
}

/// An asset of qrdesk's own catalog (for task systems without one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnAsset {
    pub name: String,
    /// The участок / site, by name; made when new.
    pub site: Option<String>,
    /// The address, by its text; made when new.
    pub address: Option<String>,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
}

/// The id of the участок named `name`, made when new.
async fn own_district(c: &mut sqlx::AnyConnection, name: &str, now: i64) -> sqlx::Result<i64> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM catalog_districts WHERE name = $1 ORDER BY id LIMIT 1")
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM catalog_districts")
        .fetch_one(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO catalog_districts (id, name, parent_id, assets_count, synced_at) VALUES ($1, $2, NULL, NULL, $3)",
    )
    .bind(id)
    .bind(name)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(id)
}

/// The id of the site at `address`, made when new.
async fn own_location(
    c: &mut sqlx::AnyConnection,
    address: &String,
    now: i64,
) -> sqlx::Result<i64> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM catalog_locations WHERE address = $1 ORDER BY id LIMIT 1",
    )
    .bind(address)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM catalog_locations")
        .fetch_one(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO catalog_locations (id, address, description, synced_at, search_text) VALUES ($1, $2, NULL, $3, $4)",
    )
    .bind(id)
    .bind(address)
    .bind(now)
    .bind(search_text(&[Some(address)]))
    .execute(&mut *c)
    .await?;
    Ok(id)
}

/// Writes asset `id` with these fields (inserted when `new`), its site,
/// address and участок.
async fn write_own_asset(
    c: &mut sqlx::AnyConnection,
    id: i64,
    a: &OwnAsset,
    new: bool,
    now: i64,
) -> sqlx::Result<()> {
    let district = match &a.site {
        Some(site) => Some(own_district(c, site, now).await?),
        None => None,
    };
    let location = match &a.address {
        Some(address) => Some(own_location(c, address, now).await?),
        None => None,
    };
    let sql = if new {
        "INSERT INTO catalog_assets (id, name, serial_number, inventory_number, company_id, location_id, synced_at,
             search_text, fingerprint)
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, 'own')"
    } else {
        "UPDATE catalog_assets SET name = $2, serial_number = $3, inventory_number = $4, location_id = $5,
             synced_at = $6, search_text = $7 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(&a.name)
        .bind(&a.serial_number)
        .bind(&a.inventory_number)
        .bind(location)
        .bind(now)
        .bind(search_text(&[
            Some(&a.name),
            a.serial_number.as_ref(),
            a.inventory_number.as_ref(),
        ]))
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM catalog_asset_districts WHERE asset_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    if let Some(d) = district {
        sqlx::query("INSERT INTO catalog_asset_districts (asset_id, district_id) VALUES ($1, $2)")
            .bind(id)
            .bind(d)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Adds assets to the own catalog in one transaction, with their sites and
/// addresses (found by name, else made); returns their ids in order.
pub async fn add_own_assets(
    pool: &Pool,
    assets: &[OwnAsset],
    now: i64,
) -> sqlx::Result<Vec<AssetId>> {
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(assets.len());
    for a in assets {
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM catalog_assets")
            .fetch_one(&mut *tx)
            .await?;
        write_own_asset(&mut tx, id, a, true, now).await?;
        ids.push(AssetId(id));
    }
    tx.commit().await?;
    super::memo::changed();
    Ok(ids)
}

/// Changes an asset of the own catalog (its codes stay). `false`: no such asset.
pub async fn update_own_asset(
    pool: &Pool,
    id: AssetId,
    a: &OwnAsset,
    now: i64,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM catalog_assets WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    write_own_asset(&mut tx, id.0, a, false, now).await?;
    tx.commit().await?;
    super::memo::changed();
    Ok(true)
}

/// Why an asset of the own catalog cannot be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepReason {
    NotFound,
    /// Codes that are not revoked point at it.
    HasCodes(i64),
}

/// Removes an asset of the own catalog that no live code points at.
pub async fn remove_own_asset(pool: &Pool, id: AssetId) -> sqlx::Result<Result<(), KeepReason>> {
    let mut tx = pool.begin().await?;
    let codes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM codes WHERE target_kind = 'asset' AND target_id = $1 AND state <> 'revoked'",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if codes > 0 {
        return Ok(Err(KeepReason::HasCodes(codes)));
    }
    let gone = sqlx::query("DELETE FROM catalog_assets WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Ok(Err(KeepReason::NotFound));
    }
    sqlx::query("DELETE FROM catalog_asset_districts WHERE asset_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    super::memo::changed();
    Ok(Ok(()))
}
