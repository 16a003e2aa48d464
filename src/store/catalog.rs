//! The local mirror of the task system's catalog. A scan reads only these
//! tables, so the form opens while HubEx is down.

use sqlx::FromRow;

use super::Pool;
use crate::backend::{AssetId, CatalogSnapshot, CompanyId, DistrictId, LocationId};

/// An asset as the form shows it, joined with its site and company.
#[derive(Debug, Clone, FromRow)]
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

#[derive(Debug, Clone, FromRow)]
pub struct LocationView {
    pub id: LocationId,
    pub address: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct DistrictView {
    pub id: DistrictId,
    pub name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct DictionaryRow {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

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
            "INSERT INTO catalog_districts (id, name, parent_id, synced_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
                 synced_at = excluded.synced_at",
        )
        .bind(d.id)
        .bind(&d.name)
        .bind(d.parent_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for l in &snap.locations {
        sqlx::query(
            "INSERT INTO catalog_locations (id, address, description, synced_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, description = excluded.description,
                 synced_at = excluded.synced_at",
        )
        .bind(l.id)
        .bind(&l.address)
        .bind(&l.description)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for c in &snap.companies {
        sqlx::query(
            "INSERT INTO catalog_companies (id, name, synced_at) VALUES (?, ?, ?)
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
            "INSERT INTO catalog_assets (id, name, serial_number, inventory_number, company_id, location_id, synced_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, serial_number = excluded.serial_number,
                 inventory_number = excluded.inventory_number, company_id = excluded.company_id,
                 location_id = excluded.location_id, synced_at = excluded.synced_at",
        )
        .bind(a.id)
        .bind(&a.name)
        .bind(&a.serial_number)
        .bind(&a.inventory_number)
        .bind(a.company_id)
        .bind(a.location_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for d in &a.districts {
            sqlx::query("INSERT OR IGNORE INTO catalog_asset_districts (asset_id, district_id) VALUES (?, ?)")
                .bind(a.id)
                .bind(d)
                .execute(&mut *tx)
                .await?;
        }
    }
    for t in &snap.task_types {
        sqlx::query(
            "INSERT INTO catalog_task_types (id, name, is_default, synced_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, is_default = excluded.is_default,
                 synced_at = excluded.synced_at",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(t.is_default)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    for m in &snap.request_methods {
        sqlx::query(
            "INSERT INTO catalog_request_methods (id, name, synced_at) VALUES (?, ?, ?)
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
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, color = excluded.color,
                 is_default = excluded.is_default, sort_order = excluded.sort_order, synced_at = excluded.synced_at",
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.color)
        .bind(c.is_default)
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
        sqlx::query(&format!("DELETE FROM {table} WHERE synced_at < ?"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let anonymous = snap
        .anonymous_user
        .map(|u| u.0.to_string())
        .unwrap_or_default();
    for (key, value) in [
        ("anonymous_user_id", anonymous),
        ("catalog_synced_at", now.to_string()),
    ] {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

pub async fn asset(pool: &Pool, id: AssetId) -> sqlx::Result<Option<AssetView>> {
    sqlx::query_as(&format!("{ASSET_SELECT} WHERE a.id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn assets_at_location(pool: &Pool, id: LocationId) -> sqlx::Result<Vec<AssetView>> {
    sqlx::query_as(&format!(
        "{ASSET_SELECT} WHERE a.location_id = ? ORDER BY a.name"
    ))
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn assets_in_district(pool: &Pool, id: DistrictId) -> sqlx::Result<Vec<AssetView>> {
    sqlx::query_as(&format!(
        "{ASSET_SELECT} WHERE a.id IN (SELECT asset_id FROM catalog_asset_districts WHERE district_id = ?)
         ORDER BY l.address, a.name"
    ))
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn asset_districts(pool: &Pool, id: AssetId) -> sqlx::Result<Vec<DistrictId>> {
    sqlx::query_scalar("SELECT district_id FROM catalog_asset_districts WHERE asset_id = ?")
        .bind(id)
        .fetch_all(pool)
        .await
}

pub async fn location(pool: &Pool, id: LocationId) -> sqlx::Result<Option<LocationView>> {
    sqlx::query_as("SELECT id, address, description FROM catalog_locations WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Districts of the assets at a location (a location has no district of its own).
pub async fn location_districts(pool: &Pool, id: LocationId) -> sqlx::Result<Vec<DistrictId>> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.district_id FROM catalog_asset_districts d
           JOIN catalog_assets a ON a.id = d.asset_id WHERE a.location_id = ?",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

pub async fn district(pool: &Pool, id: DistrictId) -> sqlx::Result<Option<DistrictView>> {
    sqlx::query_as("SELECT id, name FROM catalog_districts WHERE id = ?")
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
    sqlx::query_as("SELECT id, name, 0 AS is_default FROM catalog_request_methods ORDER BY id")
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
