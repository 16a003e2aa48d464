//! The admin area under `/admin`: staff sign in, browse the catalog, create
//! and manage codes, print labels, watch requests, and (owners) manage users.

pub mod auth;
mod catalog;
mod codes;
pub mod connection;
mod images;
pub use images::Exports;
pub mod own;
mod print;
mod query;
mod requests;
pub mod settings;
mod users;

use crate::i18n::tr::filters;
use crate::i18n::tr::{tr, trf};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::store::admins::{Role, Session};
use crate::store::{self, codes as code_store, requests as request_store};
use crate::web::render;
use crate::AppState;
use auth::{AdminForm, Staff};

pub fn router(rates: &crate::web::limits::RateLimits) -> Router<AppState> {
    // Every form that checks a password shares one per-client quota.
    let password_checks = Router::new()
        .route("/admin/login", get(auth::login_page).post(auth::login))
        .route("/admin/setup", get(auth::setup_page).post(auth::setup))
        .route(
            "/admin/account",
            get(users::account).post(users::change_password),
        )
        .route("/admin/settings", get(users::account))
        .layer(rates.layer(crate::web::limits::Limit::SignIn));
    Router::new()
        .merge(password_checks)
        .route("/admin", get(dashboard))
        .route("/admin/logout", post(auth::logout))
        .route("/admin/pause", post(pause))
        .route("/admin/catalog", get(catalog::page))
        .route("/admin/catalog/sync", post(catalog::sync_now))
        .route("/admin/catalog/assets/{id}", get(catalog::asset))
        .route("/admin/catalog/new", get(own::new_page).post(own::create))
        .route(
            "/admin/catalog/assets/{id}/edit",
            get(own::edit_page).post(own::update),
        )
        .route("/admin/catalog/assets/{id}/remove", post(own::remove))
        .route(
            "/admin/catalog/import",
            // The CSV file has a limit of its own, above the forms' one.
            get(own::import_form).post(own::import_preview).layer(
                axum::extract::DefaultBodyLimit::max(own::MAX_CSV_BYTES + 64 * 1024),
            ),
        )
        .route("/admin/catalog/import/confirm", post(own::import_confirm))
        .route("/admin/photos/{id}", get(catalog::photo))
        .route("/admin/photos/{id}/thumb", get(catalog::photo_thumb))
        .route("/admin/connection", get(connection::page))
        .route("/admin/connection/check", post(connection::check_now))
        .route("/admin/codes", get(codes::list).post(codes::create))
        .route("/admin/codes/images.zip", post(images::zip))
        .route("/admin/codes/bulk", post(codes::bulk))
        .route("/admin/codes/{code}/pick", get(codes::pick))
        .route("/admin/codes/{code}", get(codes::detail))
        .route("/admin/codes/{code}/action", post(codes::action))
        .route("/admin/codes/{code}/image", get(codes::image))
        .route("/admin/codes/{code}/poster.pdf", get(codes::poster))
        .route("/admin/print", get(print::page))
        .route("/admin/print/preview.svg", get(print::preview))
        .route("/admin/print/labels.pdf", get(print::pdf))
        .route("/admin/print/labels.zpl", get(print::zpl))
        .route("/admin/print/align.pdf", get(print::align))
        .route("/admin/print/calibration", post(print::save_calibration))
        .route("/admin/requests", get(requests::list))
        .route("/admin/requests.csv", get(requests::csv))
        .route("/admin/requests/{id}", get(requests::detail))
        .route("/admin/requests/{id}/retry", post(requests::retry))
        .route("/admin/users", get(users::list).post(users::add))
        .route("/admin/users/{id}", post(users::change))
        .route("/admin/settings/profile", post(users::save_profile))
        .route(
            "/admin/settings/cabinet",
            get(users::cabinet).post(users::save_org),
        )
        .route("/admin/settings/integrations", get(connection::page))
        .route(
            "/admin/settings/integrations/mail",
            post(connection::test_mail),
        )
        .route(
            "/admin/settings/webhooks",
            get(settings::webhooks).post(settings::create_webhook),
        )
        .route(
            "/admin/settings/webhooks/{id}",
            get(settings::webhook).post(settings::change_webhook),
        )
        .route(
            "/admin/settings/webhooks/{id}/redeliver",
            post(settings::redeliver),
        )
        .route(
            "/admin/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route(
            "/admin/settings/tokens/{id}/revoke",
            post(settings::revoke_token),
        )
        .route("/admin/settings/audit", get(settings::audit))
        .route("/admin/settings/privacy", get(settings::privacy))
        .route(
            "/admin/settings/privacy/export",
            post(settings::export_person),
        )
        .route(
            "/admin/settings/privacy/erase",
            post(settings::erase_person),
        )
        .layer(axum::middleware::from_fn(crate::i18n::tr::scope))
}

/// Staff texts name the task system this instance is configured for.
pub async fn name_the_system(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    crate::i18n::tr::with_system(state.backend.name(), next.run(req)).await
}

/// The settings area's pages: (nav key, address, tab text).
pub const SETTINGS_TABS: &[(&str, &str, &str)] = &[
    ("profile", "/admin/settings", "Профиль"),
    ("cabinet", "/admin/settings/cabinet", "Кабинет"),
    ("integrations", "/admin/settings/integrations", "Интеграции"),
    ("webhooks", "/admin/settings/webhooks", "Webhooks"),
    ("tokens", "/admin/settings/tokens", "API токены"),
    ("privacy", "/admin/settings/privacy", "Персональные данные"),
    ("audit", "/admin/settings/audit", "Журнал"),
];

/// What every admin page shows around its content.
pub struct Frame {
    pub title: String,
    pub email: String,
    pub role: Role,
    pub nav: &'static str,
    pub csrf: String,
    pub notice: Option<String>,
}

impl Frame {
    pub fn new(session: &Session, title: impl Into<String>, nav: &'static str) -> Frame {
        Frame {
            title: title.into(),
            email: session.admin.email.clone(),
            role: session.admin.role,
            nav,
            csrf: session.csrf.clone(),
            notice: None,
        }
    }

    pub fn in_settings(&self) -> bool {
        SETTINGS_TABS.iter().any(|(nav, ..)| *nav == self.nav)
    }

    pub fn can_edit(&self) -> bool {
        self.role.can_edit()
    }

    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Frame {
        self.notice = notice;
        self
    }
}

/// Results of actions, carried in `?done=` after a redirect; unknown keys show nothing.
pub fn notice(key: Option<&str>) -> Option<String> {
    let text = match key? {
        "created" => tr("Коды созданы."),
        "revoked" => tr("Код отключён."),
        "rotated" => tr("Код заменён новым: напечатайте новую наклейку."),
        "moved" => tr("Код перенесён."),
        "restored" => tr("Код снова действует: наклейка принимает заявки."),
        "assigned" => tr("Код привязан."),
        "retried" => tr("Заявка снова поставлена в очередь на отправку."),
        "sync" => tr("Синхронизация запущена."),
        "sync-running" => tr("Синхронизация уже идёт."),
        "check" => tr("Проверка подключения запущена."),
        "calibrated" => tr("Калибровка сохранена."),
        "asset-saved" => tr("Оборудование сохранено."),
        "asset-removed" => tr("Оборудование удалено из каталога."),
        "imported" => tr("Оборудование из файла добавлено в каталог."),
        "password" => tr("Пароль изменён; другие сеансы завершены."),
        "profile" => tr("Профиль сохранён."),
        "cabinet" => tr("Данные организации сохранены."),
        "webhook-saved" => tr("Webhook сохранён."),
        "webhook-removed" => tr("Webhook удалён."),
        "redelivered" => tr("Доставка снова поставлена в очередь."),
        "token-revoked" => tr("Токен отозван: он больше не действует."),
        "mail-sent" => tr("Проверочное письмо отправлено на ваш e-mail."),
        "erased" => tr("Персональные данные удалены."),
        "user-changed" => tr("Изменения сохранены."),
        "user-removed" => tr("Пользователь удалён."),
        "paused" => tr("Приём заявок приостановлен: посетители видят ваше сообщение."),
        "bulk-pause" => tr("Приём по этим кодам приостановлен: посетители видят ваше сообщение."),
        "bulk-resume" => tr("Приём по этим кодам возобновлён."),
        "bulk-revoke" => {
            tr("Коды отключены. Каждый можно включить снова на его странице в течение 30 дней.")
        }
        "bulk-move" => tr("Коды перенесены на площадку."),
        "resumed" => tr("Приём заявок возобновлён."),
        _ => return None,
    };
    Some(text.to_owned())
}

/// "Are you sure?" for an action that cannot simply be taken back: what will
/// happen, the same form again with `confirm=1`, and a way back.
#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage<'a> {
    pub f: Frame,
    pub question: &'a str,
    pub consequence: String,
    pub action: String,
    pub fields: Vec<(&'a str, String)>,
    /// A text the action needs (a pause message, say).
    pub input: Option<ConfirmInput<'a>>,
    pub button: &'a str,
    pub danger: bool,
    pub back: String,
}

pub struct ConfirmInput<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: String,
    pub placeholder: &'a str,
    pub error: Option<&'a str>,
}

impl ConfirmPage<'_> {
    pub fn response(&self) -> Response {
        render(StatusCode::OK, self)
    }
}

/// The word for `n` things in the page's language:
/// `noun(21, ["актив", "актива", "активов"])` is "актив", 3 → "актива",
/// 5 → "активов"; in English "asset" / "assets".
pub use crate::i18n::tr::noun;

pub use crate::web::staff_message as message;

/// A refusal the person can act on: the page says what to change.
pub(crate) fn refused(text: &str) -> crate::web::Error {
    message(StatusCode::UNPROCESSABLE_ENTITY, tr("Не получилось"), text).into()
}

/// The page for an action the role may not do.
/// A page shown again with a problem is a 422; otherwise a 200.
pub fn status_for(refused: bool) -> StatusCode {
    if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

pub fn not_allowed() -> Response {
    message(
        StatusCode::FORBIDDEN,
        tr("Недостаточно прав"),
        tr("Это действие доступно администраторам. Попросите владельца изменить вашу роль."),
    )
}

/// A label job the person can fix gets a page that says how; a failure of
/// ours (QR, PDF, database) is logged and shows no detail.
impl From<crate::labels::job::LabelError> for crate::web::Error {
    fn from(e: crate::labels::job::LabelError) -> crate::web::Error {
        label_problem(e)
    }
}

fn label_problem(e: crate::labels::job::LabelError) -> crate::web::Error {
    match label_message(&e) {
        Some(text) => message(StatusCode::UNPROCESSABLE_ENTITY, tr("Не получилось"), &text).into(),
        None => crate::web::Error::Internal(e.into()),
    }
}

/// What to change about a label job, when it is the person's to change.
pub fn label_message(e: &crate::labels::job::LabelError) -> Option<String> {
    use crate::labels::job::LabelError;
    match e {
        LabelError::TooMany(n) => Some(trf(
            "{} {} в одном задании — больше предела {}: напечатайте их в нескольких заданиях.",
            &[
                &n,
                &noun(*n as i64, &["этикетка", "этикетки", "этикеток"]),
                &crate::labels::templates::MAX_LABELS_PER_JOB,
            ],
        )),
        LabelError::Empty => Some(tr("Нечего печатать: выберите хотя бы один код.").to_owned()),
        LabelError::TooLarge(max) => Some(trf(
            "Архив получается больше {} МБ: выберите меньше кодов или уменьшите размер.",
            &[&(max / 1_000_000)],
        )),
        LabelError::SelectionExpired => Some(
            tr("Выбор кодов устарел (он хранится сутки): отметьте коды в списке ещё раз.")
                .to_owned(),
        ),
        _ => None,
    }
}

/// What each check of an admin form says when it fails, most important first.
const PROBLEMS: &[(&str, &str)] = &[
    ("unknown_action", "Неизвестное действие."),
    ("email", "Проверьте e-mail: например, ivan@example.ru."),
    ("owner_email", "Проверьте e-mail: например, admin@example.ru."),
    ("role", "Выберите роль."),
    ("name_long", "Имя слишком длинное: не больше 120 символов."),
    ("phone", "Проверьте телефон: например, +7 900 123-45-67."),
    ("org_name", "Название организации — не больше 120 символов."),
    ("org_description", "Описание — не больше 300 символов."),
    ("asset_field", "Каждое поле — не больше 300 символов."),
    (
        "privacy_url",
        "Укажите адрес политики полностью, например https://example.ru/privacy.",
    ),
    ("url", "Укажите адрес получателя полностью, например https://example.ru/hooks/qrdesk."),
    ("events", "Выберите хотя бы одно событие."),
    ("description", "Опишите, для чего это, — от 1 до 200 символов."),
    ("who", "Укажите e-mail или телефон человека."),
    (
        "password_short",
        "Пароль слишком короткий: нужно не меньше 10 символов.",
    ),
    (
        "password_long",
        "Пароль слишком длинный: не больше 200 символов.",
    ),
    ("password_repeat", "Пароли не совпадают."),
    ("new_password_repeat", "Новые пароли не совпадают."),
    (
        "pause_message",
        "Посетители увидят его вместо формы, например: «Мы знаем о проблеме с лифтом, мастер уже работает».",
    ),
    (
        "offset_number",
        "Укажите смещение по X и по Y в миллиметрах, например 0.5 или -1.",
    ),
    (
        "offset_range",
        "Смещение больше 20 мм — проверьте, тот ли шаблон выбран.",
    ),
    (
        "template",
        "Калибровку можно сохранить для встроенного шаблона.",
    ),
    ("dpi", "Разрешение — от 72 до 2400 точек на дюйм."),
    ("mm", "Размер — от 5 до 500 мм."),
];

/// The message of the most important failed check of an admin form.
pub fn problem(errors: &validator::ValidationErrors) -> &'static str {
    let fields = errors.field_errors();
    let failed: Vec<&str> = fields
        .values()
        .flat_map(|v| v.iter().map(|e| e.code.as_ref()))
        .collect();
    PROBLEMS
        .iter()
        .find(|(code, _)| failed.contains(code))
        .map_or(tr("Проверьте поля формы."), |(_, text)| text)
}

/// The message of one check's code.
pub fn message_for(code: &str) -> &'static str {
    PROBLEMS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(tr("Проверьте поля формы."), |(_, text)| text)
}

/// Formats Unix milliseconds for staff, in the configured time zone.
pub fn when(state: &AppState, ms: Option<i64>) -> String {
    ms.map(|ms| crate::domain::time::format_local(ms, state.config.server.utc_offset_minutes))
        .unwrap_or_else(|| "—".into())
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    f: Frame,
    assets: i64,
    codes: i64,
    by_status: Vec<(crate::store::RequestStatus, i64)>,
    pending_jobs: i64,
    last_sync: String,
    sync_error: String,
    sync: crate::catalog::SyncState,
    sync_started: String,
    pause: String,
    /// Webhooks qrdesk switched off, with why.
    switched_off: Vec<store::webhooks::WebhookRow>,
    /// The catalog is read from the task system (else qrdesk keeps it).
    synced: bool,
}

async fn dashboard(
    State(state): State<AppState>,
    Staff(s): Staff,
    q: axum::extract::Query<DoneQuery>,
) -> crate::web::Result {
    let pool = &state.pool;
    let assets = store::catalog::asset_count(pool).await?;
    let codes = code_store::count(pool).await?;
    let by_status = request_store::count_by_status(pool).await?;
    let pending_jobs = store::jobs::pending(pool).await?;
    let last_sync = store::get_setting(pool, "catalog_synced_at")
        .await?
        .and_then(|v| v.parse().ok());
    let sync_error = store::get_setting(pool, "catalog_sync_error")
        .await?
        .unwrap_or_default();
    let pause = store::get_setting(pool, "intake_pause")
        .await?
        .unwrap_or_default();
    let sync = state.sync.state();
    let page = Dashboard {
        f: Frame::new(&s, tr("Обзор"), "dashboard").with_notice(notice(q.done.as_deref())),
        assets,
        codes,
        by_status,
        pending_jobs,
        last_sync: when(&state, last_sync),
        sync_error,
        sync_started: when(&state, sync.started_at),
        sync,
        pause,
        switched_off: store::webhooks::disabled(pool).await?,
        synced: state.backend.capabilities().synced_catalog,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(serde::Deserialize, validator::Validate)]
#[validate(schema(function = "pause_has_message"))]
pub struct PauseForm {
    #[serde(default)]
    message: String,
    /// A code to pause alone; empty: every code.
    #[serde(default)]
    code: String,
    #[serde(default)]
    op: PauseOp,
}

/// Pause (with a message) or resume intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum PauseOp {
    Resume,
    /// "pause", and anything else a form sends: it needs a message anyway.
    #[default]
    #[serde(other)]
    Pause,
}

fn pause_has_message(f: &PauseForm) -> Result<(), validator::ValidationError> {
    (f.op == PauseOp::Resume || !crate::domain::contact::clean_text(&f.message).is_empty())
        .then_some(())
        .ok_or_else(|| validator::ValidationError::new("pause_message"))
}

/// Pauses or resumes intake, for every code or one, with a message people see
/// instead of the form ("we know about it, it is being fixed").
async fn pause(State(state): State<AppState>, f: AdminForm<PauseForm>) -> crate::web::Result {
    use axum::response::{IntoResponse, Redirect};
    use validator::Validate;
    let form = &f.form;
    form.validate().map_err(|e| {
        message(
            StatusCode::UNPROCESSABLE_ENTITY,
            tr("Напишите сообщение"),
            problem(&e),
        )
    })?;
    let text: String = crate::domain::contact::clean_text(&form.message)
        .chars()
        .take(crate::ops::codes::MAX_PAUSE_CHARS)
        .collect();
    let resume = form.op == PauseOp::Resume;
    if form.code.is_empty() {
        let value = if resume { "" } else { text.as_str() };
        store::set_setting(&state.pool, "intake_pause", value).await?;
        let action = if resume {
            "intake-resume"
        } else {
            "intake-pause"
        };
        f.audit(&state, action, "all").await;
    } else {
        let code =
            crate::domain::codes::Code::parse(&form.code).ok_or(crate::web::Error::NotFound)?;
        let command = if resume {
            crate::ops::codes::Command::Resume
        } else {
            crate::ops::codes::Command::Pause(text)
        };
        codes::run_command(&state, &f, &code, command).await?;
    }
    let done = if resume { "resumed" } else { "paused" };
    let back = if form.code.is_empty() {
        format!("/admin?done={done}")
    } else {
        format!("/admin/codes/{}?done={done}", form.code)
    };
    Ok(Redirect::to(&back).into_response())
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// Page numbers for a list: (current, last, previous, next).
pub fn paging(total: i64, page: i64, per_page: i64) -> (i64, i64, Option<i64>, Option<i64>) {
    let last = ((total + per_page - 1) / per_page).max(1);
    let page = page.clamp(1, last);
    (
        page,
        last,
        (page > 1).then(|| page - 1),
        (page < last).then(|| page + 1),
    )
}

/// Russian name of a request status.
pub fn status_title(status: &crate::store::RequestStatus) -> String {
    use crate::store::RequestStatus::*;
    match status {
        Accepted => tr("принята").into(),
        Delivering => tr("отправляется").into(),
        Delivered => trf("в {}", &[&crate::i18n::tr::system()]),
        Failed => tr("ошибка").into(),
    }
}
