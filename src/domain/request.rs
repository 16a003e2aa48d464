//! A customer's request as qrdesk keeps it, and the shape the API and the
//! webhooks show it in.

use serde_json::{json, Value};

use super::kinds::RequestStatus;
use super::task::{AssetId, CompanyId, LocationId, TaskId};
use super::time::rfc3339;

#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: String,
    pub code: String,
    pub asset_id: Option<AssetId>,
    pub location_id: Option<LocationId>,
    pub company_id: Option<CompanyId>,
    pub description: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub lang: String,
    pub status: RequestStatus,
    pub failure_reason: Option<String>,
    pub task_id: Option<TaskId>,
    pub task_number: Option<String>,
    pub task_status_name: Option<String>,
    pub task_status_color: Option<String>,
    pub task_created_at: Option<i64>,
    pub task_in_work_at: Option<i64>,
    pub task_completed_at: Option<i64>,
    pub task_closed_at: Option<i64>,
    pub status_checked_at: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A request as the API and webhooks show it; contact data only when asked
/// for (admin tokens, webhooks that include it). Never the status-page token.
impl RequestRecord {
    pub fn json(&self, with_contact: bool) -> Value {
        let r = self;
        let time = |t: Option<i64>| t.map(rfc3339);
        let mut body = json!({
            "id": r.id, "code": r.code, "asset_id": r.asset_id.map(|a| a.0), "status": r.status.as_str(),
            "failure_reason": r.failure_reason, "description": r.description,
            "task": r.task_id.map(|t| json!({
                "id": t.0, "number": r.task_number, "status": r.task_status_name,
                "created_at": time(r.task_created_at), "completed_at": time(r.task_completed_at),
                "closed_at": time(r.task_closed_at),
            })),
            "created_at": rfc3339(r.created_at), "delivered_at": time(r.delivered_at),
        });
        if with_contact {
            body["contact"] = json!({
                "name": r.contact_name, "phone": r.contact_phone, "email": r.contact_email,
            });
        }
        body
    }
}
