//! HubEx wire shapes (see `shared/hubex/API.md`). Shared by the client and the
//! simulator so both speak exactly the same JSON.
//!
//! HubEx omits empty fields and spells ids `…ID`, so every field is optional and
//! renamed explicitly; unknown keys are ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenRequest {
    #[serde(rename = "serviceToken")]
    pub service_token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccessTokenResponse {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `ErrorModel`; often wrapped in an array.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorModel {
    #[serde(
        default,
        rename = "traceIdentifier",
        skip_serializing_if = "Option::is_none"
    )]
    pub trace_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct District {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "parentID", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default)]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinate: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Company {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Asset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(
        default,
        rename = "serialNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub serial_number: Option<String>,
    #[serde(
        default,
        rename = "inventoryNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub inventory_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<IdRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// An item of `GET /ES/Assets/{id}/districts`. Where the id lives is not
/// documented, so both `id` and `districtID` are read and the name is kept as a
/// fallback for matching.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssetDistrict {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(
        default,
        rename = "districtID",
        skip_serializing_if = "Option::is_none"
    )]
    pub district_id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "parentID", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
}

/// Task types, request methods, criticalities, statuses: keyed maps of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dictionary {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "isDefault", skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, rename = "sortOrder", skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnonymousUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    #[serde(default, rename = "userID", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `POST /WORK/Tasks`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskAdd {
    #[serde(
        rename = "taskTypeID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_type_id: Option<i64>,
    #[serde(
        rename = "requestMethodID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_method_id: Option<i64>,
    #[serde(
        rename = "criticalityID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub criticality_id: Option<i64>,
    #[serde(rename = "assetID", default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<i64>,
    #[serde(
        rename = "locationID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub location_id: Option<i64>,
    #[serde(rename = "companyID", default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(rename = "notesHtml", default, skip_serializing_if = "Option::is_none")]
    pub notes_html: Option<String>,
    #[serde(
        rename = "contactPerson",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_person: Option<String>,
    #[serde(
        rename = "contactPhone",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_phone: Option<String>,
    #[serde(
        rename = "contactEmail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub contact_email: Option<String>,
    #[serde(
        rename = "requestedByUserID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub requested_by_user_id: Option<i64>,
    #[serde(rename = "erpID", default, skip_serializing_if = "Option::is_none")]
    pub erp_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskCreated {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Timestamps without a zone, documented as UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timesheet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// An engineer was assigned: the work has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

/// `GET /WORK/Tasks/{id}` and the values of `GET /WORK/Tasks` (no `id` inside).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(rename = "erpID", default, skip_serializing_if = "Option::is_none")]
    pub erp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(
        rename = "taskStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_status: Option<Status>,
    #[serde(rename = "taskStage", default, skip_serializing_if = "Option::is_none")]
    pub task_stage: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timesheet: Option<Timesheet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(rename = "taskID", default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<i64>,
    #[serde(rename = "attachmentID")]
    pub attachment_id: i64,
    #[serde(rename = "md5Hash", default, skip_serializing_if = "Option::is_none")]
    pub md5_hash: Option<String>,
    #[serde(rename = "fileName", default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// A value of `GET /WORK/Tasks/{id}/attachments` (keyed by attachment id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttachmentInfo {
    #[serde(rename = "fileName", default)]
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(
        rename = "isUploaded",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_uploaded: Option<bool>,
}

/// An item of `GET /WORK/Tasks/{id}/conversations` (an array).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConversationMessage {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(rename = "isExternal", default)]
    pub is_external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Author {
    #[serde(rename = "firstName", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "lastName", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(
        rename = "isCustomer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_customer: Option<bool>,
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
    pub id: i64,
    #[serde(rename = "taskID", default, skip_serializing_if = "Option::is_none")]
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
