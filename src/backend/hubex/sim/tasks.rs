//! The simulator's task routes: creating tasks (with HubEx's checks),
//! reading and listing them with the documented filters, attachments,
//! conversations and stage moves.

use super::*;

/// HubEx's sanitizer refuses scripts and event handlers inside real tags;
/// escaped text (`&lt;script&gt;`) is fine.
pub(super) fn has_active_markup(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.split('<').skip(1).any(|rest| {
        let tag = rest.split('>').next().unwrap_or("");
        tag.starts_with("script")
            || ["javascript:", "onerror=", "onload=", "onclick="]
                .iter()
                .any(|b| tag.contains(b))
    })
}

pub(super) fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() <= 255
}

pub(super) async fn create_task(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Option<Json<wire::TaskAdd>>,
) -> Response {
    let stamp = headers
        .get("x-concurrency-stamp")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "request body is missing or malformed",
        );
    };
    let mut s = sim.lock();
    if let Some(stamp) = &stamp {
        if !is_guid(stamp) {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidConcurrencyStamp",
                "X-Concurrency-Stamp must be a GUID",
            );
        }
        if s.stamps.contains_key(stamp) {
            return error(
                StatusCode::CONFLICT,
                "ConcurrencyConflict",
                "this X-Concurrency-Stamp was already used",
            );
        }
    }
    let t = &s.tenant;
    let Some(task_type) = body.task_type_id else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "taskTypeID is required",
        );
    };
    let Some(method) = body.request_method_id else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "requestMethodID is required",
        );
    };
    if !t.task_types.iter().any(|x| x.0 == task_type) {
        return error(
            StatusCode::NOT_FOUND,
            "TaskTypeNotFound",
            "taskTypeID does not exist",
        );
    }
    if !t.request_methods.iter().any(|x| x.0 == method) {
        return error(
            StatusCode::NOT_FOUND,
            "RequestMethodNotFound",
            "requestMethodID does not exist",
        );
    }
    if let Some(c) = body.criticality_id {
        if !t.criticalities.iter().any(|x| x.0 == c) {
            return error(
                StatusCode::NOT_FOUND,
                "CriticalityNotFound",
                "criticalityID does not exist",
            );
        }
    }
    if let Some(c) = body.company_id {
        if !t.companies.iter().any(|x| x.id == c) {
            return error(
                StatusCode::NOT_FOUND,
                "CompanyNotFound",
                "companyID does not exist",
            );
        }
    }
    let mut district = None;
    if let Some(l) = body.location_id {
        district = t.district_of_location(l);
        if district.is_none() {
            return error(
                StatusCode::NOT_FOUND,
                "LocationNotFound",
                "locationID does not exist",
            );
        }
    }
    if let Some(a) = body.asset_id {
        let Some(asset) = t.asset(a) else {
            return error(
                StatusCode::NOT_FOUND,
                "AssetNotFound",
                "assetID does not exist",
            );
        };
        district = t.district_of_location(asset.location_id);
    }
    if let Some(u) = body.requested_by_user_id {
        if u != demo::ANONYMOUS_USER_ID {
            return error(
                StatusCode::NOT_FOUND,
                "UserNotFound",
                "requestedByUserID does not exist",
            );
        }
        if district.is_some_and(|d| !t.anonymous_districts.contains(&d)) {
            return error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "the anonymous user has no access to this district",
            );
        }
    }
    if has_active_markup(body.notes_html.as_deref().unwrap_or("")) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "HtmlSanitizer",
            "notesHtml contains forbidden markup",
        );
    }
    let id = s.next_task;
    s.next_task += 1;
    let number = format!("QR-{id:06}");
    let stamp = stamp.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    s.stamps.insert(stamp.clone(), id);
    s.tasks.insert(
        id,
        SimTask {
            id,
            number: number.clone(),
            stamp,
            body,
            status_id: 1,
            created: now_text(),
            modified: now_text(),
            assigned: None,
            completed: None,
            closed: None,
        },
    );
    let body = to_value(wire::TaskCreated {
        id: Some(id),
        number: Some(number),
    });
    (StatusCode::CREATED, Json(restyle(s.shape, body))).into_response()
}

pub(super) fn task_info(s: &SimState, t: &SimTask) -> wire::TaskInfo {
    let status = s.tenant.statuses.iter().find(|x| x.0 == t.status_id);
    wire::TaskInfo {
        id: None,
        number: Some(t.number.clone()),
        erp_id: t.body.erp_id.clone(),
        notes: t.body.notes.clone(),
        last_modified: Some(t.modified.clone()),
        task_status: status.map(|&(id, name, color)| wire::Status {
            id: Some(id),
            name: Some(name.into()),
            color: Some(color.into()),
        }),
        task_stage: None,
        asset: t.body.asset_id.map(|id| wire::IdRef {
            id: Some(id),
            name: None,
        }),
        timesheet: Some(wire::Timesheet {
            created: Some(t.created.clone()),
            assigned: t.assigned.clone(),
            completed: t.completed.clone(),
            closed: t.closed.clone(),
        }),
        deleted: None,
    }
}

/// `GET /WORK/Tasks` with the documented filters this simulator honours
/// (`taskID` repeated, `erpID`, `assetID`, `isDeleted`, `creationFrom`,
/// `lastModifiedFrom`, `orderBy=1` + `sortDirection`); anything else, and
/// any filter in `ignored_filters`, is ignored silently, as HubEx does.
pub(super) async fn list_tasks(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let s = sim.lock();
    let honoured = |name: &str| !s.ignored_filters.contains(name);
    let task_ids: HashSet<i64> = q
        .iter()
        .filter(|(k, _)| k == "taskID" && honoured("taskID"))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let erp = param(&q, "erpID").filter(|_| honoured("erpID"));
    let asset: Option<i64> = param(&q, "assetID")
        .filter(|_| honoured("assetID"))
        .and_then(|v| v.parse().ok());
    let time = |name: &str| {
        param(&q, name)
            .filter(|_| honoured(name))
            .and_then(wire::parse_time)
    };
    let (created_from, modified_from) = (time("creationFrom"), time("lastModifiedFrom"));
    let mut ids: Vec<i64> = s
        .tasks
        .values()
        .filter(|t| task_ids.is_empty() || task_ids.contains(&t.id))
        .filter(|t| erp.is_none_or(|e| t.body.erp_id.as_deref() == Some(e)))
        .filter(|t| asset.is_none_or(|a| t.body.asset_id == Some(a)))
        .filter(|t| {
            created_from.is_none_or(|f| wire::parse_time(&t.created).is_some_and(|c| c >= f))
        })
        .filter(|t| {
            modified_from.is_none_or(|f| wire::parse_time(&t.modified).is_some_and(|m| m >= f))
        })
        .map(|t| t.id)
        .collect();
    if honoured("orderBy")
        && param(&q, "orderBy") == Some("1")
        && param(&q, "sortDirection") != Some("1")
    {
        ids.reverse();
    }
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: false },
        ids,
        |id| to_value(task_info(&s, &s.tasks[&id])),
    )
}

pub(super) async fn get_task(State(sim): State<Simulator>, Path(id): Path<i64>) -> Response {
    let s = sim.lock();
    match s.tasks.get(&id) {
        Some(t) => Json(restyle(s.shape, to_value(task_info(&s, t)))).into_response(),
        None => error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found"),
    }
}

/// `POST /WORK/TaskAttachments/upload/fromForm`: fields `taskID`, `file`,
/// `isPublic`, `isIgnorePossibleDuplication`.
pub(super) async fn upload_attachment(
    State(sim): State<Simulator>,
    mut form: axum::extract::Multipart,
) -> Response {
    let (mut task_id, mut file, mut is_public) = (None, None, false);
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidData",
                    "malformed multipart body",
                )
            }
        };
        let name = field.name().unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "taskid" => {
                task_id = field
                    .text()
                    .await
                    .ok()
                    .and_then(|t| t.trim().parse::<i64>().ok())
            }
            "ispublic" => {
                is_public = field
                    .text()
                    .await
                    .is_ok_and(|t| t.trim().eq_ignore_ascii_case("true"))
            }
            "file" => {
                let file_name = field.file_name().unwrap_or("file").to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                match field.bytes().await {
                    Ok(b) => file = Some((file_name, content_type, b.to_vec())),
                    Err(_) => {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "InvalidData",
                            "file part unreadable",
                        )
                    }
                }
            }
            _ => {}
        }
    }
    let (Some(task_id), Some((file_name, content_type, bytes))) = (task_id, file) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "taskID and file are required",
        );
    };
    let mut s = sim.lock();
    if !s.tasks.contains_key(&task_id) {
        return error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found");
    }
    let id = 9000 + s.attachments.len() as i64 + 1;
    if let Some(task) = s.tasks.get_mut(&task_id) {
        task.modified = now_text();
    }
    s.attachments.push(SimAttachment {
        id,
        task_id,
        file_name: file_name.clone(),
        content_type,
        bytes,
        is_public,
    });
    let body = to_value(wire::AttachmentUploaded {
        task_id: Some(task_id),
        attachment_id: Some(id),
        md5_hash: None,
        file_name: Some(file_name),
    });
    (StatusCode::CREATED, Json(restyle(s.shape, body))).into_response()
}

pub(super) async fn task_attachments(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let s = sim.lock();
    if !s.tasks.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found");
    }
    let ids = s
        .attachments
        .iter()
        .filter(|a| a.task_id == id)
        .map(|a| a.id)
        .collect();
    paged_list(
        &s,
        &headers,
        ListKind::Keyed { id_inside: false },
        ids,
        |aid| {
            let a = s.attachments.iter().find(|a| a.id == aid).expect("listed");
            to_value(wire::AttachmentInfo {
                file_name: a.file_name.clone(),
                size: Some(a.bytes.len() as i64),
                is_uploaded: Some(true),
            })
        },
    )
}

pub(super) async fn conversations(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let s = sim.lock();
    if !s.tasks.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found");
    }
    let ids = s
        .messages
        .iter()
        .filter(|m| m.task_id == id)
        .map(|m| m.id)
        .collect();
    paged_list(&s, &headers, ListKind::Array, ids, |mid| {
        let m = s.messages.iter().find(|m| m.id == mid).expect("listed");
        let author = if m.by_staff {
            json!({ "firstName": "Ольга", "lastName": "Диспетчер", "isCustomer": false, "isTechnician": false })
        } else {
            json!({ "firstName": "API", "lastName": "qrdesk", "isCustomer": false })
        };
        json!({
            "id": m.id, "created": m.created, "message": m.message, "isExternal": m.is_external,
            "author": author,
            "attachment": m.attachments.iter().map(|a| json!({ "id": a })).collect::<Vec<_>>(),
        })
    })
}

pub(super) async fn post_conversation(
    State(sim): State<Simulator>,
    Path(id): Path<i64>,
    body: Option<Json<wire::ConversationPost>>,
) -> Response {
    let Some(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "message is required",
        );
    };
    let mut s = sim.lock();
    if !s.tasks.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found");
    }
    if body.message.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "InvalidData", "message is empty");
    }
    if let Some(bad) = body
        .attachments
        .iter()
        .find(|a| !s.attachments.iter().any(|x| x.id == **a && x.task_id == id))
    {
        return error(
            StatusCode::NOT_FOUND,
            "AttachmentNotFound",
            &format!("attachment {bad} is not on this task"),
        );
    }
    let mid = 7000 + s.messages.len() as i64 + 1;
    if let Some(task) = s.tasks.get_mut(&id) {
        task.modified = now_text();
    }
    s.messages.push(SimMessage {
        id: mid,
        task_id: id,
        created: now_text(),
        message: body.message,
        is_external: body.is_external,
        by_staff: false,
        attachments: body.attachments,
    });
    (
        StatusCode::CREATED,
        Json(restyle(
            s.shape,
            json!([to_value(wire::Posted {
                id: Some(mid),
                task_id: Some(id),
            })]),
        )),
    )
        .into_response()
}

/// Only "reopen" is modelled: any stage move puts the task back in work.
pub(super) async fn stage_move(
    State(sim): State<Simulator>,
    body: Option<Json<wire::StageMove>>,
) -> Response {
    let Some(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidData",
            "taskID and taskStageID are required",
        );
    };
    let mut s = sim.lock();
    let Some(task) = s.tasks.get_mut(&body.task_id) else {
        return error(StatusCode::NOT_FOUND, "TaskNotFound", "task not found");
    };
    task.status_id = 2;
    task.completed = None;
    task.closed = None;
    task.modified = now_text();
    (
        StatusCode::CREATED,
        Json(json!({ "stageId": body.task_stage_id, "isFinalStage": false, "errors": [] })),
    )
        .into_response()
}
