//! People and their roles (owners only), and each person's own password.

use crate::i18n::tr::filters;
use crate::i18n::tr::tr;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::auth::{self, need, AdminForm, Staff};
use super::{notice, Frame};
use crate::store;
use crate::store::admins::{self, Admin, Role, Session};
use crate::web::{self, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    f: Frame,
    /// (person, last sign-in)
    users: Vec<(Admin, String)>,
    me: i64,
    error: Option<String>,
    created: Option<(String, String)>,
    org: crate::store::Org,
    org_error: Option<String>,
}

async fn users_view(state: &AppState, s: &Session, done: Option<&str>) -> sqlx::Result<UsersPage> {
    let users = admins::list(&state.pool).await?;
    let users = users
        .into_iter()
        .map(|u| {
            let when = super::when(state, u.last_sign_in_at);
            (u, when)
        })
        .collect();
    Ok(UsersPage {
        f: Frame::new(s, tr("Кабинет"), "cabinet").with_notice(notice(done)),
        users,
        me: s.admin.id,
        error: None,
        created: None,
        org: crate::store::org(&state.pool).await?,
        org_error: None,
    })
}

async fn users_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    error: Option<String>,
    created: Option<(String, String)>,
    done: Option<&str>,
) -> web::Result {
    let page = UsersPage {
        error,
        created,
        ..users_view(state, s, done).await?
    };
    Ok(render(status, &page))
}

fn owners_only(s: &Staff) -> Option<Response> {
    (s.0.admin.role != Role::Owner).then(|| {
        super::message(
            StatusCode::FORBIDDEN,
            tr("Недостаточно прав"),
            tr("Пользователями управляет владелец."),
        )
    })
}

/// The users table alone was the owner's; it is part of Кабинет now.
pub async fn list(s: Staff) -> Response {
    if let Some(r) = owners_only(&s) {
        return r;
    }
    Redirect::to("/admin/settings/cabinet").into_response()
}

/// Settings → Кабинет: the organisation and the users table (changed by owners).
pub async fn cabinet(
    State(state): State<AppState>,
    s: Staff,
    Query(q): Query<super::DoneQuery>,
) -> web::Result {
    users_page(&state, &s.0, StatusCode::OK, None, None, q.done.as_deref()).await
}

#[derive(Deserialize, Validate)]
pub struct OrgForm {
    #[serde(default)]
    #[validate(length(max = 120, code = "org_name"))]
    name: String,
    #[serde(default)]
    #[validate(length(max = 300, code = "org_description"))]
    description: String,
    #[serde(default)]
    #[validate(custom(function = "phone_shape"))]
    phone: String,
    #[serde(default)]
    #[validate(custom(function = "policy_url"))]
    privacy_url: String,
}

fn policy_url(url: &str) -> Result<(), ValidationError> {
    let u = url.trim();
    let ok = u.is_empty()
        || (u.len() <= 500
            && (u.starts_with("https://") || u.starts_with("http://"))
            && url::Url::parse(u).is_ok());
    ok.then_some(())
        .ok_or_else(|| ValidationError::new("privacy_url"))
}

/// Saves the organisation's name and description; every page, label,
/// poster and mail uses them from now on.
pub async fn save_org(State(state): State<AppState>, form: AdminForm<OrgForm>) -> web::Result {
    if let Err(e) = form.form.validate() {
        let page = UsersPage {
            org: crate::store::Org {
                name: form.form.name.clone(),
                description: form.form.description.clone(),
                phone: form.form.phone.clone(),
                privacy_url: form.form.privacy_url.clone(),
            },
            org_error: Some(super::problem(&e).to_owned()),
            ..users_view(&state, &form.staff, None).await?
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let org = crate::store::Org {
        name: one_line(&form.form.name),
        description: one_line(&form.form.description),
        phone: crate::domain::contact::Phone::parse(&form.form.phone)
            .map(|_| one_line(&form.form.phone))
            .unwrap_or_default(),
        privacy_url: form.form.privacy_url.trim().to_owned(),
    };
    crate::store::set_org(&state.pool, &org).await?;
    state.org.set(org.clone());
    form.audit(&state, "org-change", &org.name).await;
    Ok(Redirect::to("/admin/settings/cabinet?done=cabinet").into_response())
}

#[derive(Deserialize, Validate)]
pub struct AddForm {
    #[serde(default)]
    #[validate(custom(function = "auth::email_shape"))]
    email: String,
    #[serde(default)]
    #[validate(custom(function = "auth::role_name"))]
    role: String,
}

/// Adds a person with a generated password, shown once on the next page.
pub async fn add(
    State(state): State<AppState>,
    AdminForm {
        staff: s, form, ip, ..
    }: AdminForm<AddForm, need::Owner>,
) -> web::Result {
    if let Err(e) = form.validate() {
        let problem = super::problem(&e).to_owned();
        return users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(problem),
            None,
            None,
        )
        .await;
    }
    let email = auth::normalise_email(&form.email).unwrap_or_default();
    let role = Role::parse(&form.role).unwrap_or(Role::Viewer);
    let password = auth::generate_password();
    let hash = auth::hash_blocking(password.clone()).await?;
    let now = store::now_ms();
    if admins::create(&state.pool, &email, &hash, role, now)
        .await?
        .is_none()
    {
        return users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(tr("Такой e-mail уже есть.").into()),
            None,
            None,
        )
        .await;
    }
    let _ = admins::audit_from(
        &state.pool,
        Some(s.admin.id),
        ip.as_deref(),
        "user-add",
        &format!("{email} {}", role.as_str()),
        now,
    )
    .await;
    users_page(
        &state,
        &s,
        StatusCode::OK,
        None,
        Some((email, password)),
        None,
    )
    .await
}

#[derive(Deserialize, Validate)]
pub struct ChangeForm {
    #[serde(default)]
    #[validate(custom(function = "known_change"))]
    op: String,
    #[serde(default)]
    role: String,
}

fn known_change(op: &str) -> Result<(), ValidationError> {
    matches!(op, "role" | "remove")
        .then_some(())
        .ok_or_else(|| ValidationError::new("unknown_action"))
}

/// Changes a person's role or removes them; the last owner stays.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm {
        staff, form, ip, ..
    }: AdminForm<ChangeForm, need::Owner>,
) -> web::Result {
    let refused =
        |status, text: &str| web::Error::from(super::message(status, tr("Не получилось"), text));
    form.validate()
        .map_err(|e| refused(StatusCode::UNPROCESSABLE_ENTITY, super::problem(&e)))?;
    let pool = &state.pool;
    let Some(user) = admins::get(pool, id).await? else {
        return Ok(super::message(
            StatusCode::NOT_FOUND,
            tr("Нет такого пользователя"),
            tr("Обновите список."),
        ));
    };
    let now = store::now_ms();
    // The store refuses to leave no owner, in one statement that concurrent
    // changes cannot slip past.
    let done = if form.op == "role" {
        let role = Role::parse(&form.role)
            .ok_or_else(|| refused(StatusCode::UNPROCESSABLE_ENTITY, tr("Выберите роль.")))?;
        if !admins::set_role(pool, id, role).await? {
            return Err(refused(
                StatusCode::CONFLICT,
                tr("Нельзя убрать последнего владельца: сначала назначьте другого."),
            ));
        }
        "user-changed"
    } else {
        if id == staff.admin.id || !admins::delete(pool, id).await? {
            return Err(refused(
                StatusCode::CONFLICT,
                tr("Нельзя удалить себя или последнего владельца."),
            ));
        }
        "user-removed"
    };
    let _ = admins::audit_from(
        pool,
        Some(staff.admin.id),
        ip.as_deref(),
        done,
        &user.email,
        now,
    )
    .await;
    Ok(Redirect::to(&format!("/admin/settings/cabinet?done={done}")).into_response())
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    f: Frame,
    me: Admin,
    /// A problem with the password form.
    error: Option<String>,
    /// A problem with the profile form, and what was typed.
    profile_error: Option<String>,
}

fn account_page(s: &Session, error: Option<String>, profile_error: Option<String>) -> AccountPage {
    AccountPage {
        f: Frame::new(s, tr("Профиль"), "profile"),
        me: s.admin.clone(),
        error,
        profile_error,
    }
}

/// Settings → Профиль: name, phone, e-mail (the login), password, sign out.
pub async fn account(s: Staff, Query(q): Query<super::DoneQuery>) -> Response {
    let mut page = account_page(&s.0, None, None);
    page.f = page.f.with_notice(notice(q.done.as_deref()));
    render(StatusCode::OK, &page)
}

#[derive(Deserialize, Validate)]
pub struct ProfileForm {
    #[serde(default)]
    #[validate(length(max = 120, code = "name_long"))]
    name: String,
    #[serde(default)]
    #[validate(custom(function = "phone_shape"))]
    phone: String,
    #[serde(default)]
    #[validate(custom(function = "auth::email_shape"))]
    email: String,
}

fn phone_shape(phone: &str) -> Result<(), ValidationError> {
    let p = phone.trim();
    if p.is_empty() || crate::domain::contact::Phone::parse(p).is_some() {
        Ok(())
    } else {
        Err(ValidationError::new("phone"))
    }
}

/// Saves the person's own name, phone and e-mail.
pub async fn save_profile(
    State(state): State<AppState>,
    form: AdminForm<ProfileForm, need::Viewer>,
) -> web::Result {
    let s = &form.staff;
    let f = &form.form;
    let refuse = |text: &str| {
        let mut page = account_page(s, None, Some(text.to_owned()));
        page.me.name = f.name.clone();
        page.me.phone = f.phone.clone();
        page.me.email = f.email.clone();
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    if let Err(e) = f.validate() {
        return Ok(refuse(super::problem(&e)));
    }
    let email = auth::normalise_email(&f.email).unwrap_or_default();
    let phone = crate::domain::contact::Phone::parse(&f.phone)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let (name, phone) = (f.name.trim(), phone.as_str());
    if !admins::set_profile(&state.pool, s.admin.id, name, phone, &email).await? {
        return Ok(refuse(tr("Этот e-mail уже у другого пользователя.")));
    }
    let mut changed = Vec::new();
    if name != s.admin.name {
        changed.push("name");
    }
    if phone != s.admin.phone {
        changed.push("phone");
    }
    if email != s.admin.email {
        changed.push("email");
    }
    form.audit(&state, "profile-change", &changed.join(","))
        .await;
    Ok(Redirect::to("/admin/settings?done=profile").into_response())
}

#[derive(Deserialize, Validate)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    #[validate(custom(function = "auth::password_length"))]
    password: String,
    #[serde(default)]
    #[validate(must_match(other = "password", code = "new_password_repeat"))]
    repeat: String,
}

/// Changes the password and ends every other session of the account.
pub async fn change_password(
    State(state): State<AppState>,
    AdminForm {
        staff, form, ip, ..
    }: AdminForm<PasswordForm, need::Viewer>,
) -> web::Result {
    let fail = |e: &str| {
        web::Error::from(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &account_page(&staff, Some(e.to_owned()), None),
        ))
    };
    let pool = &state.pool;
    let hash = admins::password_hash(pool, staff.admin.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the signed-in account has no password hash"))?;
    // A stolen session must not be a way to guess the password: the
    // account's failures count here as at sign-in, before the check.
    let now = store::now_ms();
    let keys = [(
        format!("email:{}", staff.admin.email),
        auth::MAX_FAILURES_PER_ACCOUNT,
    )];
    let Some(rows) = admins::begin_attempt(pool, &keys, now - auth::WINDOW_MS, now).await? else {
        return Ok(super::message(
            StatusCode::TOO_MANY_REQUESTS,
            tr("Слишком много неудачных попыток"),
            tr("Текущий пароль введён неверно слишком много раз. Подождите 15 минут."),
        ));
    };
    match auth::verify_blocking(form.current.clone(), hash).await {
        Ok(true) => {
            let _ = admins::forget_attempt(pool, &rows).await;
        }
        Ok(false) => return Err(fail(tr("Текущий пароль неверен."))),
        Err(auth::Busy) => {
            let _ = admins::forget_attempt(pool, &rows).await;
            return Ok(auth::busy());
        }
    }
    if let Err(e) = form.validate() {
        return Err(fail(super::problem(&e)));
    }
    let new_hash = auth::hash_blocking(form.password.clone()).await?;
    let now = store::now_ms();
    admins::set_password(pool, staff.admin.id, &new_hash, Some(&staff.id_hash), now).await?;
    let _ = admins::audit_from(
        pool,
        Some(staff.admin.id),
        ip.as_deref(),
        "password-change",
        "",
        now,
    )
    .await;
    Ok(Redirect::to("/admin/settings?done=password").into_response())
}

/// A role's name as staff read it, in their language.
impl crate::store::admins::Role {
    pub fn title(self) -> &'static str {
        match self {
            Role::Owner => crate::i18n::tr::tr("Владелец"),
            Role::Admin => crate::i18n::tr::tr("Администратор"),
            Role::Viewer => crate::i18n::tr::tr("Наблюдатель"),
        }
    }
}
