//! HubEx wire shapes (see `shared/hubex/API.md`). Shared by the client and the
//! simulator so both speak the same JSON.
//!
//! Every field is optional and read with [`lenient`] readers that never fail
//! (a value of the wrong type reads as absent); names are HubEx's camelCase
//! with upper-case `ID`, which `read::normalize` brings PascalCase answers to
//! before parsing. Unknown keys are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{lenient, FromId};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenRequest {
    #[serde(rename = "serviceToken")]
    pub service_token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccessTokenResponse {
    #[serde(
        default,
        alias = "accessToken",
        alias = "jwt",
        deserialize_with = "lenient::text"
    )]
    pub access_token: String,
    #[serde(
        default,
        alias = "expiresIn",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_in: Option<i64>,
}

/// `ErrorModel`; often wrapped in an array.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorModel {
    #[serde(
        default,
        rename = "traceIdentifier",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub trace_identifier: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdRef {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
}

impl FromId for IdRef {
    fn from_id(id: i64) -> Self {
        IdRef {
            id: Some(id),
            name: None,
        }
    }
}

/// An item of `GET /ES/Districts` (an array whose items carry `id`), and of
/// `GET /ES/Assets/{id}/districts` (items with a name and no id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct District {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        rename = "districtID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub district_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "parentID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub parent_id: Option<i64>,
    /// How many assets the участок holds; a change tells the sync to re-read it.
    #[serde(
        default,
        rename = "assetsCount",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub assets_count: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Location {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub address: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// `"lat:lng"` or an object; never read, kept only so the simulator can send it.
    #[serde(
        default,
        deserialize_with = "lenient::any",
        skip_serializing_if = "Option::is_none"
    )]
    pub coordinate: Option<Value>,
}

impl FromId for Location {
    fn from_id(id: i64) -> Self {
        Location {
            id: Some(id),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Company {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
}

/// An item of `GET /ES/Assets` and `GET /EXPORT/Assets`, and `GET /ES/Assets/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Asset {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "serialNumber",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub serial_number: Option<String>,
    #[serde(
        default,
        rename = "inventoryNumber",
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub inventory_number: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub company: Option<IdRef>,
    #[serde(
        default,
        rename = "companyID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub company_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<Location>,
    #[serde(
        default,
        rename = "locationID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub location_id: Option<i64>,
}

/// Task types, request methods, criticalities, statuses: keyed maps of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dictionary {
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        rename = "isDefault",
        deserialize_with = "lenient::bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_default: Option<bool>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub color: Option<String>,
    #[serde(
        default,
        rename = "sortOrder",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub sort_order: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnonymousUser {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        rename = "accountID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_id: Option<i64>,
    #[serde(
        default,
        rename = "userID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<i64>,
    /// The declared type nests the user instead.
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub user: Option<IdRef>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
}

/// Body of `POST /WORK/Tasks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskAdd {
    #[serde(
        rename = "taskTypeID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_type_id: Option<i64>,
    #[serde(
        rename = "requestMethodID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_method_id: Option<i64>,
    #[serde(
        rename = "criticalityID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub criticality_id: Option<i64>,
    #[serde(
        rename = "assetID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub asset_id: Option<i64>,
    #[serde(
        rename = "locationID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub location_id: Option<i64>,
    #[serde(
        rename = "companyID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub company_id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes: Option<String>,
    #[serde(
        rename = "notesHtml",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes_html: Option<String>,
    #[serde(
        rename = "contactPerson",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_person: Option<String>,
    #[serde(
        rename = "contactPhone",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_phone: Option<String>,
    #[serde(
        rename = "contactEmail",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_email: Option<String>,
    #[serde(
        rename = "requestedByUserID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_by_user_id: Option<i64>,
    #[serde(
        rename = "erpID",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub erp_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskCreated {
    #[serde(
        default,
        alias = "taskID",
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub color: Option<String>,
}

impl FromId for Status {
    fn from_id(id: i64) -> Self {
        Status {
            id: Some(id),
            ..Default::default()
        }
    }
}

/// Timestamps without a zone, documented as UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timesheet {
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<String>,
    /// An engineer was assigned: the work has started.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub assigned: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed: Option<String>,
}

impl FromId for Timesheet {
    fn from_id(_: i64) -> Self {
        Timesheet::default()
    }
}

/// `GET /WORK/Tasks/{id}` and the items of `GET /WORK/Tasks` (keyed, no `id`
/// inside — or an array with it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub number: Option<String>,
    #[serde(
        rename = "erpID",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub erp_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes: Option<String>,
    #[serde(
        rename = "lastModified",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
    #[serde(
        rename = "taskStatus",
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_status: Option<Status>,
    #[serde(
        rename = "taskStage",
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_stage: Option<Status>,
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub asset: Option<IdRef>,
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub timesheet: Option<Timesheet>,
    #[serde(
        default,
        deserialize_with = "lenient::bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted: Option<bool>,
}

/// Parses HubEx's zone-less timestamps as UTC, to Unix milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let (main, _fraction) = s.split_once('.').unwrap_or((s, ""));
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(main.trim_end_matches('Z'), &fmt).ok()?;
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Formats Unix milliseconds the way HubEx does (UTC, no zone).
pub fn format_time(ms: i64) -> String {
    use time::macros::format_description;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_as_utc() {
        let ms = parse_time("2025-07-02T15:15:04").unwrap();
        assert_eq!(format_time(ms), "2025-07-02T15:15:04");
        assert_eq!(parse_time("2025-07-02T15:15:04.123"), Some(ms));
        assert_eq!(parse_time("2025-07-02T15:15:04Z"), Some(ms));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn task_add_uses_hubex_names() {
        let body = serde_json::to_value(TaskAdd {
            task_type_id: Some(1),
            request_method_id: Some(4),
            asset_id: Some(456),
            requested_by_user_id: Some(789),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"taskTypeID": 1, "requestMethodID": 4, "assetID": 456, "requestedByUserID": 789})
        );
    }
}

/// Answer of `POST /WORK/TaskAttachments/upload/fromForm`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttachmentUploaded {
    #[serde(
        rename = "taskID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_id: Option<i64>,
    #[serde(
        rename = "attachmentID",
        alias = "id",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub attachment_id: Option<i64>,
    #[serde(
        rename = "md5Hash",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_hash: Option<String>,
    #[serde(
        rename = "fileName",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_name: Option<String>,
}

/// A value of `GET /WORK/Tasks/{id}/attachments` (keyed by attachment id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttachmentInfo {
    #[serde(rename = "fileName", default, deserialize_with = "lenient::text")]
    pub file_name: String,
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<i64>,
    #[serde(
        rename = "isUploaded",
        default,
        deserialize_with = "lenient::bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_uploaded: Option<bool>,
}

/// An item of `GET /WORK/Tasks/{id}/conversations` (an array).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationMessage {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub message: String,
    /// Absent reads as internal: a team note is never shown to the customer.
    #[serde(
        rename = "isExternal",
        default,
        deserialize_with = "lenient::bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_external: Option<bool>,
    #[serde(
        default,
        deserialize_with = "lenient::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub author: Option<Author>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Author {
    #[serde(
        rename = "firstName",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_name: Option<String>,
    #[serde(
        rename = "lastName",
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_name: Option<String>,
    #[serde(
        rename = "isCustomer",
        default,
        deserialize_with = "lenient::bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_customer: Option<bool>,
}

impl FromId for Author {
    fn from_id(_: i64) -> Self {
        Author::default()
    }
}

/// Body of `POST /WORK/Tasks/{id}/conversation`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationPost {
    pub message: String,
    #[serde(rename = "isExternal")]
    pub is_external: bool,
    #[serde(default)]
    pub attachments: Vec<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Posted {
    #[serde(
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<i64>,
    #[serde(
        rename = "taskID",
        default,
        deserialize_with = "lenient::id",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_id: Option<i64>,
}

/// Body of `POST /WORK/TaskStagingHistory`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageMove {
    #[serde(rename = "taskID")]
    pub task_id: i64,
    #[serde(rename = "taskStageID")]
    pub task_stage_id: i64,
}
