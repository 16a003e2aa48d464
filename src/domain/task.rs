//! Tasks as every task system has them: ids, states, messages, the catalog.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok($name(<i64 as sqlx::Decode<'r, DB>>::decode(value)?))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// An asset (equipment) in the task system.
    AssetId,
    /// A location (site, address).
    LocationId,
    /// A customer company.
    CompanyId,
    /// A district, "участок": the unit of access for service users.
    DistrictId,
    /// A task ("заявка").
    TaskId,
    /// A user (the anonymous user's `userID`).
    UserId,
);

/// One message of a task's external conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    /// Unix milliseconds.
    pub created_at: Option<i64>,
    pub author: Option<String>,
    pub text: String,
}

/// A file to attach to a task. The name is unique per file, so it can be found again.
#[derive(Debug, Clone)]
pub struct FileUpload {
    pub file_name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTask {
    pub id: TaskId,
    pub number: Option<String>,
    /// The new task's state where the create answer (or a read the create
    /// needed anyway) gave it: delivery then reads nothing more.
    pub state: Option<TaskState>,
}

/// What the status page shows of a task. Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskState {
    pub number: Option<String>,
    pub status_name: Option<String>,
    pub status_color: Option<String>,
    pub created_at: Option<i64>,
    /// When an engineer was assigned, if the task system says.
    pub in_work_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// When the task system last changed the task (its conversation included,
    /// where it says so); a change is what makes a poll read the conversation.
    pub modified_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct CatalogSnapshot {
    pub districts: Vec<District>,
    pub locations: Vec<Location>,
    pub companies: Vec<Company>,
    pub assets: Vec<Asset>,
    pub task_types: Vec<Named>,
    pub criticalities: Vec<Criticality>,
    pub request_methods: Vec<Named>,
    pub anonymous_user: Option<UserId>,
    /// How the assets' участки were learnt, for the log and the admin page.
    pub district_source: String,
    /// Every asset's участки were read afresh (not kept from the last sync).
    pub mapped_in_full: bool,
    /// Calls this sync made.
    pub calls: u64,
}

/// What the local catalog already knows, so a sync reads only what changed.
#[derive(Debug, Clone, Default)]
pub struct KnownCatalog {
    /// Each asset's fingerprint and участки as of the last sync.
    pub assets: HashMap<AssetId, (String, Vec<DistrictId>)>,
    /// Each участок's asset count as of the last sync, when the system gives one.
    pub district_counts: HashMap<DistrictId, i64>,
    /// When every asset's участки were last read in full (Unix ms).
    pub mapped_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct District {
    pub id: DistrictId,
    pub name: String,
    pub parent_id: Option<DistrictId>,
    pub assets_count: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: LocationId,
    pub address: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: AssetId,
    pub name: String,
    pub serial_number: Option<String>,
    pub inventory_number: Option<String>,
    pub company_id: Option<CompanyId>,
    pub location_id: Option<LocationId>,
    pub districts: Vec<DistrictId>,
    /// Changes whenever a field qrdesk keeps changes.
    pub fingerprint: String,
}

#[derive(Debug, Clone)]
pub struct Named {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone)]
pub struct Criticality {
    pub id: i64,
    pub name: String,
    pub color: Option<String>,
    pub is_default: bool,
    pub sort_order: Option<i64>,
}
