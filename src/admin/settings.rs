//! Settings → Webhooks, API токены, Персональные данные and Журнал. (Профиль
//! and Кабинет live with the users in `users.rs`, Интеграции in
//! `connection.rs`.) Every change is written to the audit log.

use crate::i18n::tr::filters;
use crate::i18n::tr::tr;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::auth::{need, AdminForm, Button, Staff};
use super::{notice, DoneQuery, Frame};
use crate::store::webhooks::{self as hooks, EndpointSettings, LogLine, WebhookRow};
use crate::store::{self, admins, api_tokens, ApiRole, WebhookEvent};
use crate::web::{self, render};
use crate::AppState;

/// How an event is named on the page.
pub fn event_title(e: &WebhookEvent) -> &'static str {
    match e {
        WebhookEvent::Accepted => tr("заявка принята"),
        WebhookEvent::Delivered => tr("задача создана"),
        WebhookEvent::Failed => tr("задачу создать не удалось"),
        WebhookEvent::StatusChanged => tr("статус задачи изменился"),
        WebhookEvent::Commented => tr("заявитель написал"),
        WebhookEvent::Replied => tr("сотрудник ответил"),
    }
}

// ---------------------------------------------------------------- webhooks

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    f: Frame,
    endpoints: Vec<WebhookRow>,
    /// The form as typed, after a refusal, or the defaults.
    form: WebhookForm,
    error: Option<String>,
    /// (id, secret) of the endpoint just made: shown once.
    created: Option<(i64, String)>,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    f: Frame,
    endpoint: WebhookRow,
    form: WebhookForm,
    error: Option<String>,
    /// (line, time as shown)
    log: Vec<(LogLine, String)>,
    waiting: usize,
}

/// The endpoint form. Events are one checkbox each (`e_accepted`, …).
#[derive(Debug, Clone, Deserialize, Validate)]
pub struct WebhookForm {
    #[serde(default)]
    #[validate(custom(function = "url_shape"))]
    pub url: String,
    #[serde(default)]
    #[validate(length(max = 200, code = "description"))]
    pub description: String,
    #[serde(default)]
    pub e_accepted: Option<String>,
    #[serde(default)]
    pub e_delivered: Option<String>,
    #[serde(default)]
    pub e_failed: Option<String>,
    #[serde(default)]
    pub e_status_changed: Option<String>,
    #[serde(default)]
    pub e_commented: Option<String>,
    #[serde(default)]
    pub e_replied: Option<String>,
    #[serde(default)]
    pub include_contact: Option<String>,
    #[serde(default)]
    pub active: Option<String>,
}

fn url_shape(url: &str) -> Result<(), ValidationError> {
    crate::webhooks::check_url(url, true)
        .map(|_| ())
        .map_err(|_| ValidationError::new("url"))
}

impl Default for WebhookForm {
    fn default() -> WebhookForm {
        let on = Some("1".to_owned());
        WebhookForm {
            url: String::new(),
            description: String::new(),
            e_accepted: on.clone(),
            e_delivered: on.clone(),
            e_failed: on.clone(),
            e_status_changed: on.clone(),
            e_commented: None,
            e_replied: None,
            include_contact: None,
            active: on,
        }
    }
}

impl WebhookForm {
    fn from_row(w: &WebhookRow) -> WebhookForm {
        let has = |e| w.listens_for(e).then(|| "1".to_owned());
        WebhookForm {
            url: w.url.clone(),
            description: w.description.clone(),
            e_accepted: has(WebhookEvent::Accepted),
            e_delivered: has(WebhookEvent::Delivered),
            e_failed: has(WebhookEvent::Failed),
            e_status_changed: has(WebhookEvent::StatusChanged),
            e_commented: has(WebhookEvent::Commented),
            e_replied: has(WebhookEvent::Replied),
            include_contact: w.includes_contact().then(|| "1".to_owned()),
            active: w.is_active().then(|| "1".to_owned()),
        }
    }

    /// Each event with its checkbox name and whether it is ticked.
    pub fn events(&self) -> Vec<(WebhookEvent, &'static str, bool)> {
        let ticked = [
            &self.e_accepted,
            &self.e_delivered,
            &self.e_failed,
            &self.e_status_changed,
            &self.e_commented,
            &self.e_replied,
        ];
        let names = [
            "e_accepted",
            "e_delivered",
            "e_failed",
            "e_status_changed",
            "e_commented",
            "e_replied",
        ];
        WebhookEvent::ALL
            .iter()
            .zip(names)
            .zip(ticked)
            .map(|((e, n), t)| (*e, n, t.is_some()))
            .collect()
    }

    pub fn include_contact(&self) -> bool {
        self.include_contact.is_some()
    }

    pub fn active(&self) -> bool {
        self.active.is_some()
    }

    /// The settings, or what to fix.
    fn settings(&self, allow_private: bool) -> Result<EndpointSettings, String> {
        if let Err(e) = self.validate() {
            return Err(super::problem(&e).to_owned());
        }
        crate::webhooks::check_url(&self.url, allow_private).map_err(str::to_owned)?;
        let events: Vec<WebhookEvent> = self
            .events()
            .into_iter()
            .filter(|(_, _, on)| *on)
            .map(|(e, _, _)| e)
            .collect();
        if events.is_empty() {
            return Err(super::message_for("events").to_owned());
        }
        Ok(EndpointSettings {
            url: self.url.trim().to_owned(),
            description: self.description.trim().to_owned(),
            events,
            include_contact: self.include_contact(),
            active: self.active(),
        })
    }
}

async fn webhooks_page(
    state: &AppState,
    f: Frame,
    form: WebhookForm,
    error: Option<String>,
    created: Option<(i64, String)>,
) -> web::Result {
    let status = super::status_for(error.is_some());
    let page = WebhooksPage {
        f,
        endpoints: hooks::list(&state.pool).await?,
        form,
        error,
        created,
    };
    Ok(render(status, &page))
}

pub async fn webhooks(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<DoneQuery>,
) -> web::Result {
    let f = Frame::new(&s, "Webhooks", "webhooks").with_notice(notice(q.done.as_deref()));
    webhooks_page(&state, f, WebhookForm::default(), None, None).await
}

pub async fn create_webhook(
    State(state): State<AppState>,
    form: AdminForm<WebhookForm>,
) -> web::Result {
    let f = Frame::new(&form.staff, "Webhooks", "webhooks");
    let settings = match form
        .form
        .settings(state.config.webhooks.allow_private_targets)
    {
        Ok(s) => s,
        Err(e) => return webhooks_page(&state, f, form.form.clone(), Some(e), None).await,
    };
    let (id, secret) = hooks::create(&state.pool, &settings, store::now_ms()).await?;
    form.audit(&state, "webhook-create", &format!("{id} {}", settings.url))
        .await;
    webhooks_page(&state, f, WebhookForm::default(), None, Some((id, secret))).await
}

async fn webhook_page(
    state: &AppState,
    f: Frame,
    endpoint: WebhookRow,
    form: Option<WebhookForm>,
    error: Option<String>,
) -> web::Result {
    let status = super::status_for(error.is_some());
    let log = hooks::log(&state.pool, endpoint.id, 100)
        .await?
        .into_iter()
        .map(|l| {
            let at = super::when(state, Some(l.at));
            (l, at)
        })
        .collect();
    let waiting = hooks::waiting(&state.pool, endpoint.id, 1000).await?.len();
    let page = WebhookPage {
        f,
        form: form.unwrap_or_else(|| WebhookForm::from_row(&endpoint)),
        endpoint,
        error,
        log,
        waiting,
    };
    Ok(render(status, &page))
}

pub async fn webhook(
    State(state): State<AppState>,
    Staff(s): Staff,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> web::Result {
    let endpoint = hooks::get(&state.pool, id)
        .await?
        .ok_or(web::Error::NotFound)?;
    let f =
        Frame::new(&s, format!("Webhook {id}"), "webhooks").with_notice(notice(q.done.as_deref()));
    webhook_page(&state, f, endpoint, None, None).await
}

#[derive(Deserialize)]
pub struct EndpointAction {
    #[serde(default)]
    op: String,
    #[serde(flatten)]
    form: WebhookForm,
}

/// Saves or removes an endpoint.
pub async fn change_webhook(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: AdminForm<EndpointAction>,
) -> web::Result {
    let endpoint = hooks::get(&state.pool, id)
        .await?
        .ok_or(web::Error::NotFound)?;
    if form.form.op == "delete" {
        hooks::delete(&state.pool, id).await?;
        form.audit(&state, "webhook-delete", &format!("{id} {}", endpoint.url))
            .await;
        return Ok(Redirect::to("/admin/settings/webhooks?done=webhook-removed").into_response());
    }
    let f = Frame::new(&form.staff, format!("Webhook {id}"), "webhooks");
    let typed = form.form.form.clone();
    let settings = match typed.settings(state.config.webhooks.allow_private_targets) {
        Ok(s) => s,
        Err(e) => return webhook_page(&state, f, endpoint, Some(typed), Some(e)).await,
    };
    hooks::update(&state.pool, id, &settings, store::now_ms()).await?;
    form.audit(
        &state,
        "webhook-change",
        &format!(
            "{id} {} {}",
            settings.url,
            if settings.active { "on" } else { "off" }
        ),
    )
    .await;
    Ok(Redirect::to(&format!("/admin/settings/webhooks/{id}?done=webhook-saved")).into_response())
}

#[derive(Deserialize)]
pub struct RedeliverForm {
    #[serde(default)]
    delivery: String,
}

/// Sends one delivery again, with its `webhook-id`.
pub async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: AdminForm<RedeliverForm>,
) -> web::Result {
    let delivery = hooks::delivery(&state.pool, &form.form.delivery)
        .await?
        .filter(|d| d.webhook_id == id)
        .ok_or(web::Error::NotFound)?;
    if !hooks::redeliver(&state.pool, &delivery.id, store::now_ms()).await? {
        return Ok(super::message(
            StatusCode::CONFLICT,
            tr("Доставка уже в очереди"),
            tr("Эта доставка ещё отправляется. Обновите страницу через минуту."),
        ));
    }
    state.worker.wake.notify_one();
    form.audit(&state, "webhook-redeliver", &delivery.id).await;
    Ok(Redirect::to(&format!("/admin/settings/webhooks/{id}?done=redelivered")).into_response())
}

// ---------------------------------------------------------------- tokens

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    f: Frame,
    /// (token, created, updated, last used)
    tokens: Vec<(api_tokens::TokenRow, String, String, String)>,
    error: Option<String>,
    description: String,
    /// (id, token) just made: shown once.
    created: Option<(i64, String)>,
}

async fn tokens_page(
    state: &AppState,
    f: Frame,
    error: Option<String>,
    description: String,
    created: Option<(i64, String)>,
) -> web::Result {
    let status = super::status_for(error.is_some());
    let tokens = api_tokens::list(&state.pool)
        .await?
        .into_iter()
        .map(|t| {
            let c = super::when(state, Some(t.created_at));
            let u = super::when(state, Some(t.updated_at));
            let l = super::when(state, t.last_used_at);
            (t, c, u, l)
        })
        .collect();
    let page = TokensPage {
        f,
        tokens,
        error,
        description,
        created,
    };
    Ok(render(status, &page))
}

pub async fn tokens(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<DoneQuery>,
) -> web::Result {
    let f = Frame::new(&s, tr("API токены"), "tokens").with_notice(notice(q.done.as_deref()));
    tokens_page(&state, f, None, String::new(), None).await
}

#[derive(Deserialize, Validate)]
pub struct TokenForm {
    #[serde(default)]
    #[validate(length(min = 1, max = 200, code = "description"))]
    description: String,
    #[serde(default)]
    #[validate(custom(function = "api_role"))]
    role: String,
}

fn api_role(role: &str) -> Result<(), ValidationError> {
    ApiRole::parse(role)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("role"))
}

pub async fn create_token(
    State(state): State<AppState>,
    form: AdminForm<TokenForm>,
) -> web::Result {
    let f = Frame::new(&form.staff, tr("API токены"), "tokens");
    let description = form.form.description.trim().to_owned();
    if let Err(e) = form.form.validate() {
        let problem = super::problem(&e).to_owned();
        return tokens_page(&state, f, Some(problem), description, None).await;
    }
    if description.is_empty() {
        let problem = super::message_for("description").to_owned();
        return tokens_page(&state, f, Some(problem), description, None).await;
    }
    let role = ApiRole::parse(&form.form.role).unwrap_or(ApiRole::Viewer);
    let (id, token) = api_tokens::create(&state.pool, &description, role, store::now_ms()).await?;
    form.audit(
        &state,
        "token-create",
        &format!("{id} {role} {description}"),
    )
    .await;
    let shown = token.expose().to_owned();
    tokens_page(&state, f, None, String::new(), Some((id, shown))).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: AdminForm<Button>,
) -> web::Result {
    if !api_tokens::revoke(&state.pool, id, store::now_ms()).await? {
        return Ok(super::message(
            StatusCode::NOT_FOUND,
            tr("Нет такого токена"),
            tr("Он уже отозван или удалён. Обновите список."),
        ));
    }
    form.audit(&state, "token-revoke", &id.to_string()).await;
    Ok(Redirect::to("/admin/settings/tokens?done=token-revoked").into_response())
}

// ---------------------------------------------------------------- audit log

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    f: Frame,
    /// (line, time as shown)
    lines: Vec<(admins::AuditLine, String)>,
    people: Vec<admins::Admin>,
    actions: Vec<String>,
    person: Option<i64>,
    action: String,
    /// The id to page on from, when there are older lines.
    older: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    before: Option<i64>,
}

const AUDIT_PAGE: i64 = 100;

pub async fn audit(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<AuditQuery>,
) -> web::Result {
    let person = q.person.trim().parse::<i64>().ok();
    let action = q.action.trim().to_owned();
    let wanted = (!action.is_empty()).then_some(action.as_str());
    let mut lines =
        admins::audit_page(&state.pool, person, wanted, q.before, AUDIT_PAGE + 1).await?;
    let older = (lines.len() as i64 > AUDIT_PAGE).then(|| {
        lines.truncate(AUDIT_PAGE as usize);
        lines.last().map(|l| l.id)
    });
    let lines = lines
        .into_iter()
        .map(|mut l| {
            let at = super::when(&state, Some(l.at));
            // A long detail (the codes of a big batch) is cut for the table.
            if let Some(d) = l.detail.as_mut().filter(|d| d.chars().count() > 120) {
                *d = d.chars().take(120).chain("…".chars()).collect();
            }
            (l, at)
        })
        .collect();
    let page = AuditPage {
        f: Frame::new(&s, tr("Журнал изменений"), "audit"),
        lines,
        people: admins::list(&state.pool).await?,
        actions: admins::audit_actions(&state.pool).await?,
        person,
        action,
        older: older.flatten(),
    };
    Ok(render(StatusCode::OK, &page))
}

impl AuditPage {
    fn older_href(&self, before: i64) -> String {
        let e = super::query::urlencode;
        format!(
            "/admin/settings/audit?person={}&action={}&before={before}",
            self.person.map(|p| p.to_string()).unwrap_or_default(),
            e(&self.action)
        )
    }
}

// ---------------------------------------------------------------- personal data

#[derive(Template)]
#[template(path = "admin/privacy.html")]
struct PrivacyPage {
    f: Frame,
    who: String,
    error: Option<String>,
    /// Requests found for `who`: (id, code, created, status).
    found: Option<Vec<(String, String, String, String)>>,
    retention_days: u64,
}

#[derive(Deserialize, Default)]
pub struct PrivacyQuery {
    #[serde(default)]
    who: String,
    done: Option<String>,
}

/// An e-mail or a phone, normalised as the intake form stores them.
fn person_key(who: &str) -> Option<store::requests::Person> {
    let who = who.trim();
    if who.contains('@') {
        crate::domain::contact::Email::parse(&who.to_lowercase())
            .map(|e| store::requests::Person::Email(e.as_str().to_owned()))
    } else {
        crate::domain::contact::Phone::parse(who)
            .map(|p| store::requests::Person::Phone(p.as_str().to_owned()))
    }
}

pub async fn privacy(
    State(state): State<AppState>,
    super::auth::StaffAs(s, _): super::auth::StaffAs<super::auth::need::Admin>,
    Query(q): Query<PrivacyQuery>,
) -> web::Result {
    let f =
        Frame::new(&s, tr("Персональные данные"), "privacy").with_notice(notice(q.done.as_deref()));
    let retention_days = state.config.privacy.contact_retention_days;
    let who = q.who.trim().to_owned();
    if who.is_empty() {
        let page = PrivacyPage {
            f,
            who,
            error: None,
            found: None,
            retention_days,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    let Some(person) = person_key(&who) else {
        let page = PrivacyPage {
            f,
            who,
            error: Some(super::message_for("who").to_owned()),
            found: None,
            retention_days,
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let found = store::requests::of_person(&state.pool, &person)
        .await?
        .into_iter()
        .map(|r| {
            let at = super::when(&state, Some(r.created_at));
            (r.id, r.code, at, r.status.as_str().to_owned())
        })
        .collect();
    let page = PrivacyPage {
        f,
        who,
        error: None,
        found: Some(found),
        retention_days,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    who: String,
}

/// Everything kept about the person: each request with its contact fields,
/// the customer's comments and the mails sent to them, and what they follow.
async fn person_export(
    pool: &store::Pool,
    person: &store::requests::Person,
) -> sqlx::Result<serde_json::Value> {
    use serde_json::json;
    use store::requests::Person;
    let mut requests = Vec::new();
    for r in store::requests::of_person(pool, person).await? {
        let mut item = r.json(true);
        let comments: Vec<serde_json::Value> = store::comments::for_request(pool, &r.id)
            .await?
            .into_iter()
            .map(|c| json!({ "kind": c.kind.as_str(), "text": c.text, "created_at": store::rfc3339(c.created_at) }))
            .collect();
        let mails: Vec<serde_json::Value> = store::mails::for_request(pool, &r.id)
            .await?
            .into_iter()
            .map(|m| json!({ "kind": m.kind.as_str(), "status": m.status_name, "sent_at": m.sent_at.map(store::rfc3339) }))
            .collect();
        item["comments"] = comments.into();
        item["mails"] = mails.into();
        requests.push(item);
    }
    let following = match person {
        Person::Email(email) => store::requests::followed_by(pool, email).await?,
        Person::Phone(_) => Vec::new(),
    };
    let following: Vec<serde_json::Value> = following
        .into_iter()
        .map(|(request, at)| json!({ "request_id": request, "since": store::rfc3339(at) }))
        .collect();
    Ok(json!({
        "following": following,
        "exported_at": store::rfc3339(store::now_ms()),
        "person": match person { Person::Email(e) => json!({"email": e}), Person::Phone(p) => json!({"phone": p}) },
        "requests": requests,
    }))
}

/// Everything qrdesk holds about one person, as a JSON download.
pub async fn export_person(
    State(state): State<AppState>,
    form: AdminForm<PersonForm>,
) -> web::Result {
    let Some(person) = person_key(&form.form.who) else {
        return Ok(super::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr("Не получилось"),
            super::message_for("who"),
        ));
    };
    let export = person_export(&state.pool, &person).await?;
    form.audit(&state, "personal-data-export", &person.masked())
        .await;
    let body = serde_json::to_string_pretty(&export).map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"qrdesk-personal-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// Erases one person's contact fields (and their comments' text) from
/// every request; the requests themselves stay.
pub async fn erase_person(
    State(state): State<AppState>,
    form: AdminForm<PersonForm, need::Owner>,
) -> web::Result {
    let Some(person) = person_key(&form.form.who) else {
        return Ok(super::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr("Не получилось"),
            super::message_for("who"),
        ));
    };
    let n = store::requests::erase_person(&state.pool, &person).await?;
    form.audit(
        &state,
        "personal-data-erase",
        &format!("{} ({n})", person.masked()),
    )
    .await;
    Ok(Redirect::to("/admin/settings/privacy?done=erased").into_response())
}
