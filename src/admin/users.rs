//! People and their roles (owners only), and each person's own password.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::auth::{self, Staff};
use super::{notice, Frame};
use crate::store;
use crate::store::admins::{self, Admin, Role};
use crate::web::render;
use crate::AppState;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    f: Frame,
    users: Vec<(Admin, String)>,
    me: i64,
    error: Option<String>,
    created: Option<(String, String)>,
}

async fn users_page(
    state: &AppState,
    s: &Staff,
    status: StatusCode,
    error: Option<String>,
    created: Option<(String, String)>,
    done: Option<&str>,
) -> Response {
    let users = match admins::list(&state.pool).await {
        Ok(u) => u,
        Err(e) => return super::internal(e),
    };
    let users = users
        .into_iter()
        .map(|u| {
            let when = super::when(state, Some(u.created_at));
            (u, when)
        })
        .collect();
    let page = UsersPage {
        f: Frame::new(&s.0, "Пользователи", "users").with_notice(notice(done)),
        users,
        me: s.0.admin.id,
        error,
        created,
    };
    render(status, &page)
}

fn owners_only(s: &Staff) -> Option<Response> {
    (s.0.admin.role != Role::Owner).then(|| {
        super::message(
            StatusCode::FORBIDDEN,
            "Недостаточно прав",
            "Пользователями управляет владелец.",
        )
    })
}

pub async fn list(
    State(state): State<AppState>,
    s: Staff,
    Query(q): Query<super::DoneQuery>,
) -> Response {
    if let Some(r) = owners_only(&s) {
        return r;
    }
    users_page(&state, &s, StatusCode::OK, None, None, q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// Adds a person with a generated password, shown once on the next page.
pub async fn add(
    State(state): State<AppState>,
    s: Staff,
    headers: HeaderMap,
    Form(form): Form<AddForm>,
) -> Response {
    if let Some(r) = s.refusal(&headers, &form.csrf, Role::Owner) {
        return r;
    }
    let Some(email) = auth::normalise_email(&form.email) else {
        return users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Проверьте e-mail: например, ivan@example.ru.".into()),
            None,
            None,
        )
        .await;
    };
    let Some(role) = Role::parse(&form.role) else {
        return users_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Выберите роль.".into()),
            None,
            None,
        )
        .await;
    };
    let password = auth::generate_password();
    let hash = match auth::hash_blocking(password.clone()).await {
        Ok(h) => h,
        Err(e) => return super::internal(e),
    };
    let now = store::now_ms();
    match admins::create(&state.pool, &email, &hash, role, now).await {
        Ok(Some(_)) => {
            let _ = admins::audit(
                &state.pool,
                Some(s.0.admin.id),
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
        Ok(None) => {
            users_page(
                &state,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Такой e-mail уже есть.".into()),
                None,
                None,
            )
            .await
        }
        Err(e) => super::internal(e),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    role: String,
}

/// Changes a person's role or removes them; the last owner stays.
pub async fn change(
    State(state): State<AppState>,
    s: Staff,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ChangeForm>,
) -> Response {
    if let Some(r) = s.refusal(&headers, &form.csrf, Role::Owner) {
        return r;
    }
    let pool = &state.pool;
    let Ok(Some(user)) = admins::get(pool, id).await else {
        return super::message(
            StatusCode::NOT_FOUND,
            "Нет такого пользователя",
            "Обновите список.",
        );
    };
    let owners = admins::count_owners(pool).await.unwrap_or(0);
    let last_owner = user.role == Role::Owner && owners <= 1;
    let now = store::now_ms();
    let result = match form.op.as_str() {
        "role" => {
            let Some(role) = Role::parse(&form.role) else {
                return super::message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Не получилось",
                    "Выберите роль.",
                );
            };
            if last_owner && role != Role::Owner {
                return super::message(
                    StatusCode::CONFLICT,
                    "Не получилось",
                    "Нельзя убрать последнего владельца: сначала назначьте другого.",
                );
            }
            admins::set_role(pool, id, role)
                .await
                .map(|_| "user-changed")
        }
        "remove" => {
            if last_owner || id == s.0.admin.id {
                return super::message(
                    StatusCode::CONFLICT,
                    "Не получилось",
                    "Нельзя удалить себя или последнего владельца.",
                );
            }
            admins::delete(pool, id).await.map(|_| "user-removed")
        }
        _ => {
            return super::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Не получилось",
                "Неизвестное действие.",
            )
        }
    };
    match result {
        Ok(done) => {
            let _ = admins::audit(pool, Some(s.0.admin.id), done, &user.email, now).await;
            Redirect::to(&format!("/admin/users?done={done}")).into_response()
        }
        Err(e) => super::internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    f: Frame,
    error: Option<String>,
}

pub async fn account(s: Staff, Query(q): Query<super::DoneQuery>) -> Response {
    let page = AccountPage {
        f: Frame::new(&s.0, "Мой аккаунт", "account").with_notice(notice(q.done.as_deref())),
        error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// Changes the password and ends every other session of the account.
pub async fn change_password(
    State(state): State<AppState>,
    s: Staff,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(r) = s.refusal(&headers, &form.csrf, Role::Viewer) {
        return r;
    }
    let fail = |e: &str| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                f: Frame::new(&s.0, "Мой аккаунт", "account"),
                error: Some(e.to_owned()),
            },
        )
    };
    let pool = &state.pool;
    let Ok(Some(hash)) = admins::password_hash(pool, s.0.admin.id).await else {
        return super::internal("account vanished");
    };
    // A stolen session must not be a way to guess the password: the
    // account's failures count here as at sign-in, before the check.
    let now = store::now_ms();
    let keys = [(
        format!("email:{}", s.0.admin.email),
        auth::MAX_FAILURES_PER_ACCOUNT,
    )];
    let rows = match admins::begin_attempt(pool, &keys, now - auth::WINDOW_MS, now).await {
        Ok(Some(rows)) => rows,
        Ok(None) => {
            return super::message(
                StatusCode::TOO_MANY_REQUESTS,
                "Слишком много неудачных попыток",
                "Текущий пароль введён неверно слишком много раз. Подождите 15 минут.",
            )
        }
        Err(e) => return super::internal(e),
    };
    match auth::verify_blocking(form.current.clone(), hash).await {
        Ok(true) => {
            let _ = admins::forget_attempt(pool, &rows).await;
        }
        Ok(false) => return fail("Текущий пароль неверен."),
        Err(auth::Busy) => {
            let _ = admins::forget_attempt(pool, &rows).await;
            return auth::busy();
        }
    }
    if let Some(p) = auth::password_problem(&form.password) {
        return fail(p);
    }
    if form.password != form.repeat {
        return fail("Новые пароли не совпадают.");
    }
    let new_hash = match auth::hash_blocking(form.password.clone()).await {
        Ok(h) => h,
        Err(e) => return super::internal(e),
    };
    let now = store::now_ms();
    if let Err(e) =
        admins::set_password(pool, s.0.admin.id, &new_hash, Some(&s.0.id_hash), now).await
    {
        return super::internal(e);
    }
    let _ = admins::audit(pool, Some(s.0.admin.id), "password-change", "", now).await;
    Redirect::to("/admin/account?done=password").into_response()
}
