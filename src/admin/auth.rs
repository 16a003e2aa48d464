//! Signing staff in and out: argon2id passwords, session cookies, CSRF tokens,
//! sign-in throttling, and the one-time link that creates the first owner.

use crate::i18n::tr::filters;
use crate::i18n::tr::tr;
use std::net::SocketAddr;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::Argon2;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::domain::codes::{encode_base32, hex_sha256, random_bytes};
use crate::store::admins::{self, Role, Session};
use crate::store::{self, get_setting, set_setting};
use crate::web::{self, render};
use crate::AppState;

pub use crate::web::staff::COOKIE;
const SESSION_MS: i64 = 12 * 3600 * 1000;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_IP: i64 = 20;
pub const MIN_PASSWORD: usize = 10;

/// Runs argon2 over memory blocks this thread keeps for its next hash:
/// every argon2id run needs 19 MiB, and a fresh buffer each time on
/// whichever thread ran it was memory the allocator kept (hundreds of MB
/// after a flood of failed sign-ins).
fn argon2_into(
    argon2: &Argon2,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let need = argon2.params().block_count();
        if blocks.len() < need {
            blocks.resize(need, argon2::Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..need])
    })
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let problem = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| problem(&e))?;
    let argon2 = Argon2::default();
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut raw_salt)
        .map_err(|e| problem(&e))?;
    let output_len = argon2
        .params()
        .output_len()
        .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN);
    let output = argon2::password_hash::Output::init_with(output_len, |out| {
        argon2_into(&argon2, password.as_bytes(), salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(|e| problem(&e))?;
    let hash = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(argon2.params())
            .map_err(|e| problem(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    let check = || -> Option<bool> {
        let h = PasswordHash::new(hash).ok()?;
        let algorithm = argon2::Algorithm::try_from(h.algorithm).ok()?;
        let version = match h.version {
            Some(v) => argon2::Version::try_from(v).ok()?,
            None => argon2::Version::default(),
        };
        let params = argon2::Params::try_from(&h).ok()?;
        let expected = h.hash?;
        let mut raw_salt = [0u8; 64];
        let salt = h.salt?.decode_b64(&mut raw_salt).ok()?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        argon2_into(&argon2, password.as_bytes(), salt, &mut out).ok()?;
        // Output's comparison takes the same time wherever they differ.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// Password hashes computed at once. Each argon2id run takes 19 MiB and a
/// core for a while; a burst of sign-ins waits here instead of growing the
/// process by gigabytes.
const PASSWORD_THREADS: usize = 2;
static PASSWORD_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PASSWORD_THREADS);
/// How long a password check waits for its turn before "busy, try again".
const PASSWORD_WAIT: std::time::Duration = std::time::Duration::from_secs(15);
/// The most password hashes that ever ran at once (for the tests).
static PASSWORD_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn password_work_peak() -> usize {
    PASSWORD_PEAK.load(std::sync::atomic::Ordering::Relaxed)
}

/// Too many password checks are waiting: the server is busy.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks at once; try again in a minute")]
pub struct Busy;

/// The threads that hash passwords, each keeping its argon2 memory for the
/// next hash (see [`crate::heavy`]).
fn password_threads() -> &'static crate::heavy::Threads {
    static THREADS: std::sync::OnceLock<crate::heavy::Threads> = std::sync::OnceLock::new();
    THREADS.get_or_init(|| crate::heavy::Threads::new("password", PASSWORD_THREADS))
}

/// Runs a password hash on the password threads, two at a time.
async fn password_work<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Busy> {
    use std::sync::atomic::Ordering;
    static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let _permit = tokio::time::timeout(PASSWORD_WAIT, PASSWORD_WORK.acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    password_threads()
        .run(move || {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PASSWORD_PEAK.fetch_max(now, Ordering::SeqCst);
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .and_then(Result::ok)
        .ok_or(Busy)
}

/// Hashing is deliberately slow: keep it off the async threads.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    password_work(move || hash_password(&password)).await?
}

/// Checks a password against its hash off the async threads, bounded.
pub async fn verify_blocking(password: String, hash: String) -> Result<bool, Busy> {
    password_work(move || verify_password(&password, &hash)).await
}

pub fn busy() -> Response {
    let mut r = super::message(
        StatusCode::SERVICE_UNAVAILABLE,
        tr("Сервер занят"),
        tr("Сейчас проверяется слишком много паролей. Попробуйте через минуту."),
    );
    r.headers_mut().insert(header::RETRY_AFTER, 60.into());
    r
}

/// A readable random password: 16 characters of the code alphabet.
pub fn generate_password() -> String {
    encode_base32(&random_bytes::<10>()).to_lowercase()
}

pub fn password_problem(password: &str) -> Option<&'static str> {
    password_length(password)
        .err()
        .map(|e| super::message_for(&e.code))
}

/// For validator: an address [`normalise_email`] accepts.
pub fn email_shape(email: &str) -> Result<(), validator::ValidationError> {
    normalise_email(email)
        .map(|_| ())
        .ok_or_else(|| validator::ValidationError::new("email"))
}

/// For validator: a role by its name.
pub fn role_name(role: &str) -> Result<(), validator::ValidationError> {
    Role::parse(role)
        .map(|_| ())
        .ok_or_else(|| validator::ValidationError::new("role"))
}

/// For validator: a new password of a sensible length.
pub fn password_length(password: &str) -> Result<(), validator::ValidationError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        Err(validator::ValidationError::new("password_short"))
    } else if n > 200 {
        Err(validator::ValidationError::new("password_long"))
    } else {
        Ok(())
    }
}

pub fn normalise_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    crate::domain::contact::Email::parse(&e).map(|e| e.as_str().to_owned())
}

pub use crate::web::staff::session_from;

fn session_cookie(
    state: &AppState,
    token: &str,
    max_age_secs: i64,
) -> (header::HeaderName, String) {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    (
        header::SET_COOKIE,
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"),
    )
}

/// A signed-in staff member; pages that need one redirect to the sign-in page.
pub struct Staff(pub Session);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match session_from(state, &parts.headers).await {
            Some(s) => Ok(Staff(s)),
            None => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

/// A signed-in staff member of at least the role `N` (else a 403 page that
/// says what to do), for pages that only some roles may see.
pub struct StaffAs<N: need::Need>(pub Session, pub std::marker::PhantomData<N>);

impl<N: need::Need> FromRequestParts<AppState> for StaffAs<N> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Staff(s) = Staff::from_request_parts(parts, state).await?;
        if s.admin.role < N::ROLE {
            return Err(super::not_allowed());
        }
        Ok(StaffAs(s, std::marker::PhantomData))
    }
}

/// The role an admin form needs, as a type: `AdminForm<T, need::Owner>`.
pub mod need {
    use crate::store::admins::Role;

    pub trait Need {
        const ROLE: Role;
    }
    /// Any signed-in staff member.
    pub struct Viewer;
    /// Admins and owners.
    pub struct Admin;
    pub struct Owner;

    impl Need for Viewer {
        const ROLE: Role = Role::Viewer;
    }
    impl Need for Admin {
        const ROLE: Role = Role::Admin;
    }
    impl Need for Owner {
        const ROLE: Role = Role::Owner;
    }
}

/// A form with no fields of its own (a button).
#[derive(Debug, Deserialize)]
pub struct Button {}

/// What every state-changing admin form is checked for: posted from our
/// own pages, carrying the session's CSRF token (else a page saying the form
/// is out of date), by a role that may (else a 403 saying what to do).
/// [`AdminForm`] runs it; a form it cannot read (a file upload) calls it.
/// `None`: the form may go on.
pub fn form_refusal(
    headers: &axum::http::HeaderMap,
    staff: &Session,
    csrf: &str,
    role: Role,
) -> Option<Response> {
    let token_ok = hex_sha256(csrf.as_bytes()) == hex_sha256(staff.csrf.as_bytes());
    if !web::same_origin(headers) || !token_ok {
        return Some(super::message(
            StatusCode::FORBIDDEN,
            tr("Форма устарела"),
            tr("Обновите страницу и повторите действие."),
        ));
    }
    if staff.admin.role < role {
        return Some(super::not_allowed());
    }
    None
}

/// A state-changing admin form, checked before the handler runs: signed in
/// (else the sign-in page), posted from our own pages, carrying the
/// session's CSRF token, by a role that may do it (else a 403 page that says
/// what to do); then the fields are read into `T`.
pub struct AdminForm<T, N = need::Admin> {
    pub staff: Session,
    pub form: T,
    /// The client's address, for the audit log.
    pub ip: Option<String>,
    need: std::marker::PhantomData<N>,
}

impl<T, N> AdminForm<T, N> {
    /// Writes what this form changed to the audit log (who, what, when,
    /// from where); a failure to write it is logged, not shown.
    pub async fn audit(&self, state: &AppState, action: &str, detail: &str) {
        let r = admins::audit_from(
            &state.pool,
            Some(self.staff.admin.id),
            self.ip.as_deref(),
            action,
            detail,
            crate::store::now_ms(),
        )
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, action, "cannot write the audit log");
        }
    }
}

impl<T, N> FromRequest<AppState> for AdminForm<T, N>
where
    T: serde::de::DeserializeOwned,
    N: need::Need,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        #[derive(Deserialize)]
        struct Csrf {
            #[serde(default)]
            csrf: String,
        }
        let (mut parts, body) = req.into_parts();
        let Staff(staff) = Staff::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, state.config.limits.form_body_bytes)
            .await
            .map_err(|_| web::Error::TooLarge.into_response())?;
        let Csrf { csrf } = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| web::Error::BadRequest.into_response())?;
        if let Some(refused) = form_refusal(&parts.headers, &staff, &csrf, N::ROLE) {
            return Err(refused);
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| web::Error::BadRequest.into_response())?;
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| {
            web::limits::client_ip(c.0, &parts.headers, &state.limits.trusted).to_string()
        });
        Ok(AdminForm {
            staff,
            form,
            ip,
            need: std::marker::PhantomData,
        })
    }
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    title: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session_from(&state, &headers).await.is_some() {
        return Redirect::to("/admin").into_response();
    }
    render(
        StatusCode::OK,
        &LoginPage {
            title: tr("Вход"),
            email: "",
            error: None,
        },
    )
}

/// What no account has: longer addresses or passwords are refused before
/// any counting or hashing.
#[derive(Deserialize, validator::Validate)]
pub struct LoginForm {
    #[serde(default)]
    #[validate(length(max = 254, code = "email"))]
    email: String,
    #[serde(default)]
    #[validate(length(max = 200, code = "password_long"))]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> web::Result {
    let page = |status, error| {
        render(
            status,
            &LoginPage {
                title: tr("Вход"),
                email: &form.email,
                error: Some(error),
            },
        )
    };
    if !web::same_origin(&headers) {
        return Ok(page(
            StatusCode::FORBIDDEN,
            tr("Форма отправлена с другого сайта. Откройте страницу входа заново."),
        ));
    }
    if validator::Validate::validate(&form).is_err() {
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            tr("Неверный e-mail или пароль."),
        ));
    }
    let pool = &state.pool;
    let now = store::now_ms();
    let email = form.email.trim().to_lowercase();
    // The same client address as every per-client limit (behind a trusted
    // proxy, the address it forwards).
    let ip = web::limits::client_ip(peer, &headers, &state.limits.trusted);
    let keys = [
        (format!("email:{email}"), MAX_FAILURES_PER_ACCOUNT),
        (format!("ip:{ip}"), MAX_FAILURES_PER_IP),
    ];
    // Counted before the password is checked, atomically: however many
    // attempts arrive at once, at most the cap is ever evaluated.
    let rows = match admins::begin_attempt(pool, &keys, now - WINDOW_MS, now).await {
        Ok(Some(rows)) => rows,
        Ok(None) => {
            let mut resp = page(
                StatusCode::TOO_MANY_REQUESTS,
                tr("Слишком много неудачных попыток. Подождите 15 минут или попросите владельца сменить пароль."),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, (WINDOW_MS / 1000).into());
            return Ok(resp);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot count sign-in attempts");
            return Ok(super::message(
                StatusCode::SERVICE_UNAVAILABLE,
                tr("Ошибка"),
                tr("Попробуйте через минуту."),
            ));
        }
    };
    let account = admins::by_email(pool, &email).await.ok().flatten();
    // Verify against a dummy hash when there is no account, so timing does not tell.
    let (admin, hash) = match account {
        Some((a, h)) => (Some(a), h),
        None => (None, DUMMY_HASH.to_owned()),
    };
    let verified = match verify_blocking(form.password.clone(), hash).await {
        Ok(v) => v,
        Err(Busy) => {
            // Not the person's fault: the attempt does not count.
            let _ = admins::forget_attempt(pool, &rows).await;
            return Ok(busy());
        }
    };
    let Some(admin) = admin.filter(|_| verified) else {
        tracing::info!(%ip, "sign-in failed");
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            tr("Неверный e-mail или пароль."),
        ));
    };
    let _ = admins::forget_attempt(pool, &rows).await;
    let _ = admins::clear_failures(pool, &keys[0].0).await;
    // A fresh session id at every sign-in.
    let token = admins::start_session(pool, admin.id, SESSION_MS, now).await?;
    let _ = admins::signed_in(pool, admin.id, now).await;
    let ip_text = ip.to_string();
    let _ = admins::audit_from(pool, Some(admin.id), Some(&ip_text), "sign-in", "", now).await;
    Ok((
        [session_cookie(&state, &token, SESSION_MS / 1000)],
        Redirect::to("/admin"),
    )
        .into_response())
}

/// An argon2id hash of a random string, for failed look-ups.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0wFnkn3j+jOjF9YqRXySxx1ZzVJcPMvHexRk1T0E7sQ";

pub async fn logout(State(state): State<AppState>, f: AdminForm<Button, need::Viewer>) -> Response {
    let _ = admins::end_session(&state.pool, &f.staff.id_hash).await;
    (
        [session_cookie(&state, "", 0)],
        Redirect::to("/admin/login"),
    )
        .into_response()
}

/// On start with no accounts: a one-time link to create the owner. Only its
/// hash is kept; each start makes a new one.
pub async fn setup_link(
    state_pool: &store::Pool,
    public_url: &str,
) -> anyhow::Result<Option<String>> {
    if admins::count(state_pool).await? > 0 {
        return Ok(None);
    }
    let token = encode_base32(&random_bytes::<20>()).to_lowercase();
    set_setting(
        state_pool,
        "setup_token_hash",
        &hex_sha256(token.as_bytes()),
    )
    .await?;
    Ok(Some(format!("{public_url}/admin/setup?token={token}")))
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage<'a> {
    title: &'a str,
    token: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

async fn setup_token_ok(state: &AppState, token: &str) -> bool {
    let stored = get_setting(&state.pool, "setup_token_hash")
        .await
        .ok()
        .flatten();
    let none_yet = admins::count(&state.pool).await.is_ok_and(|n| n == 0);
    none_yet
        && !token.is_empty()
        && stored.is_some_and(|h| !h.is_empty() && h == hex_sha256(token.as_bytes()))
}

pub async fn setup_page(State(state): State<AppState>, Query(q): Query<SetupQuery>) -> Response {
    if !setup_token_ok(&state, &q.token).await {
        return super::message(
            StatusCode::NOT_FOUND,
            tr("Ссылка недействительна"),
            tr("Ссылка для первой настройки одноразовая. Возьмите новую из журнала сервиса или создайте владельца командой qrdesk admin create."),
        );
    }
    render(
        StatusCode::OK,
        &SetupPage {
            title: tr("Первая настройка"),
            token: &q.token,
            email: "",
            error: None,
        },
    )
}

#[derive(Deserialize, validator::Validate)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    #[validate(custom(function = "owner_email"))]
    email: String,
    #[serde(default)]
    #[validate(custom(function = "password_length"))]
    password: String,
    #[serde(default)]
    #[validate(must_match(other = "password", code = "password_repeat"))]
    repeat: String,
}

/// The first owner's address; its example says so.
fn owner_email(email: &str) -> Result<(), validator::ValidationError> {
    email_shape(email).map_err(|_| validator::ValidationError::new("owner_email"))
}

pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> web::Result {
    if !web::same_origin(&headers) || !setup_token_ok(&state, &form.token).await {
        return Ok(super::message(
            StatusCode::FORBIDDEN,
            tr("Ссылка недействительна"),
            tr("Откройте ссылку для первой настройки заново."),
        ));
    }
    let page = |error| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                title: tr("Первая настройка"),
                token: &form.token,
                email: &form.email,
                error: Some(error),
            },
        )
    };
    if let Err(e) = validator::Validate::validate(&form) {
        return Ok(page(super::problem(&e)));
    }
    let email = normalise_email(&form.email).unwrap_or_default();
    let now = store::now_ms();
    // The link is spent here, atomically: of several posts at once, one wins.
    let token_hash = hex_sha256(form.token.as_bytes());
    if !admins::consume_setup_token(&state.pool, &token_hash).await? {
        return Ok(super::message(
            StatusCode::FORBIDDEN,
            tr("Ссылка недействительна"),
            tr("Ссылка для первой настройки уже использована. Войдите под созданной учётной записью."),
        ));
    }
    let created = async {
        let hash = hash_blocking(form.password.clone()).await?;
        Ok::<_, anyhow::Error>(admins::create(&state.pool, &email, &hash, Role::Owner, now).await?)
    }
    .await;
    let id = match created {
        Ok(Some(id)) => id,
        other => {
            // Not spent after all: the same link may be tried again.
            let _ = set_setting(&state.pool, "setup_token_hash", &token_hash).await;
            return match other {
                Ok(_) => Ok(page(tr("Такой e-mail уже есть."))),
                Err(e) => Err(e.into()),
            };
        }
    };
    let _ = admins::audit(&state.pool, Some(id), "setup", &email, now).await;
    let token = admins::start_session(&state.pool, id, SESSION_MS, now).await?;
    Ok((
        [session_cookie(&state, &token, SESSION_MS / 1000)],
        Redirect::to("/admin"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy hash parses"
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Hashes stored before the reused memory blocks still verify …
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs));
        assert!(!verify_password("correct horse batterY", &theirs));
        // … and ours verify with the crate's own verifier.
        let ours = hash_password("correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
    }

    #[test]
    fn generated_passwords_are_long_enough() {
        let p = generate_password();
        assert_eq!(p.len(), 16);
        assert!(password_problem(&p).is_none());
        assert!(password_problem("short").is_some());
    }
}
