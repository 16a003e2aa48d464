//! What can be done to a code, written once: the admin pages, `/api/v1`
//! and the `qrdesk codes` command each turn their input into a [`Command`]
//! and their answer out of an [`Outcome`] or a [`Refusal`]. Each command
//! runs in one transaction with its line in the audit log.

use crate::catalog::TargetRefusal;
use crate::config::CatalogConfig;
use crate::domain::codes::Code;
use crate::store::codes::{self as code_store, Target};
use crate::store::{self, admins, Pool};

/// The longest label a code may carry.
pub const MAX_LABEL_CHARS: usize = 200;
/// The longest pause message.
pub const MAX_PAUSE_CHARS: usize = 500;

/// One change to one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A new code for `target` (`Target::Unassigned`: a blank to print).
    Create {
        target: Target,
        label: Option<String>,
    },
    /// Off: the sticker says it is no longer in use.
    Revoke,
    /// On again, within 30 days of a revoke (not after a rotate).
    Restore,
    /// A new code for the same target; the old sticker says it was replaced.
    Rotate,
    /// Points the code (a blank one too) at another target.
    Move(Target),
    /// The form is replaced by `message` until resumed.
    Pause(String),
    Resume,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created(Code),
    Revoked,
    Restored,
    /// The new code.
    Rotated(Code),
    Moved,
    Paused,
    Resumed,
}

/// Why a command was not carried out; each adapter words it its own way.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no such code")]
    NotFound,
    #[error("{0}")]
    Target(TargetRefusal),
    #[error("a label has at most {MAX_LABEL_CHARS} characters")]
    LabelTooLong,
    #[error("a pause needs a message for the people who scan the code")]
    NoPauseMessage,
    #[error("the code is revoked already")]
    RevokedAlready,
    #[error("only an active code can be replaced")]
    NotActive,
    #[error("a revoked code cannot be moved")]
    MoveRevoked,
    #[error(
        "the code cannot be switched on again: more than 30 days have passed, or it was replaced"
    )]
    NotRestorable,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        Error::Other(e.into())
    }
}

/// Who asks, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The signed-in staff member, if it is one.
    pub admin_id: Option<i64>,
    /// The address the change came from.
    pub ip: Option<String>,
    /// How it came: "admin", "api token qrd_ab…", "cli".
    pub via: String,
}

impl Actor {
    /// An audit line's detail, saying how the change came when not through
    /// the admin pages.
    fn detail(&self, detail: String) -> String {
        if self.via.is_empty() || self.via == "admin" {
            detail
        } else {
            format!("{detail} (via {})", self.via)
        }
    }

    /// A signed-in staff member.
    pub fn staff(admin_id: i64, ip: Option<String>) -> Actor {
        Actor {
            admin_id: Some(admin_id),
            ip,
            via: "admin".into(),
        }
    }

    pub fn cli() -> Actor {
        Actor {
            via: "cli".into(),
            ..Actor::default()
        }
    }
}

/// Carries out `command` on `code` (none for [`Command::Create`]).
pub async fn run(
    pool: &Pool,
    scope: &CatalogConfig,
    actor: &Actor,
    code: Option<&Code>,
    command: Command,
) -> Result<Outcome, Error> {
    if let Some(code) = code {
        if code_store::get(pool, code).await?.is_none() {
            return Err(Refusal::NotFound.into());
        }
    }
    check(pool, scope, &command).await?;
    let now = store::now_ms();
    let mut tx = pool.begin().await?;
    let (outcome, action, detail) = match (&command, code) {
        (Command::Create { target, label }, _) => {
            let new = code_store::create_in(&mut tx, *target, label.as_deref(), now).await?;
            (
                Outcome::Created(new.clone()),
                "code-create",
                format!("{new} -> {target:?}"),
            )
        }
        (_, None) => return Err(Refusal::NotFound.into()),
        (_, Some(code)) => change(&mut tx, code, &command, now).await?,
    };
    let detail = actor.detail(detail);
    admins::audit_in(
        &mut tx,
        actor.admin_id,
        actor.ip.as_deref(),
        action,
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    store::memo::changed();
    Ok(outcome)
}

/// [`Command::Create`]: the new code.
pub async fn create(
    pool: &Pool,
    scope: &CatalogConfig,
    actor: &Actor,
    target: Target,
    label: Option<String>,
) -> Result<Code, Error> {
    match run(pool, scope, actor, None, Command::Create { target, label }).await? {
        Outcome::Created(code) => Ok(code),
        other => Err(anyhow::anyhow!("a create answered {other:?}").into()),
    }
}

/// Checks each distinct target once: a refusal names the first that fails.
pub async fn check_targets(
    pool: &Pool,
    scope: &CatalogConfig,
    targets: &[Target],
) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for target in targets {
        if seen.insert(*target) {
            check_target(pool, scope, *target).await?;
        }
    }
    Ok(())
}

/// New codes for many targets at once (ticked assets, a filter's assets
/// without a code, blanks): every distinct target is checked, then all are
/// made in one transaction with one audit line. In the targets' order.
pub async fn create_many(
    pool: &Pool,
    scope: &CatalogConfig,
    actor: &Actor,
    targets: &[Target],
) -> Result<Vec<Code>, Error> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    check_targets(pool, scope, targets).await?;
    let now = store::now_ms();
    let mut tx = pool.begin().await?;
    let mut made = Vec::with_capacity(targets.len());
    for target in targets {
        made.push(code_store::create_in(&mut tx, *target, None, now).await?);
    }
    let list: Vec<&str> = made.iter().map(Code::as_str).collect();
    let detail = actor.detail(list.join(","));
    admins::audit_in(
        &mut tx,
        actor.admin_id,
        actor.ip.as_deref(),
        "codes-create",
        &detail,
        now,
    )
    .await?;
    tx.commit().await?;
    store::memo::changed();
    Ok(made)
}

/// What can be checked before the transaction: the target and the texts.
async fn check(pool: &Pool, scope: &CatalogConfig, command: &Command) -> Result<(), Error> {
    match command {
        Command::Create { target, label } => {
            if label
                .as_deref()
                .is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS)
            {
                return Err(Refusal::LabelTooLong.into());
            }
            check_target(pool, scope, *target).await?;
        }
        Command::Move(target) => check_target(pool, scope, *target).await?,
        Command::Pause(message) if message.trim().is_empty() => {
            return Err(Refusal::NoPauseMessage.into())
        }
        _ => {}
    }
    Ok(())
}

async fn check_target(pool: &Pool, scope: &CatalogConfig, target: Target) -> Result<(), Error> {
    match crate::catalog::check_target(pool, scope, target).await {
        Ok(()) => Ok(()),
        Err(e) => match e.downcast::<TargetRefusal>() {
            Ok(refusal) => Err(Refusal::Target(refusal).into()),
            Err(other) => Err(other.into()),
        },
    }
}

/// A change to an existing code: its outcome and its audit line.
async fn change(
    tx: &mut store::Transaction<'_>,
    code: &Code,
    command: &Command,
    now: i64,
) -> Result<(Outcome, &'static str, String), Error> {
    let done = match command {
        Command::Revoke => {
            if !code_store::revoke_in(tx, code).await? {
                return Err(Refusal::RevokedAlready.into());
            }
            (Outcome::Revoked, "code-revoke", code.to_string())
        }
        Command::Restore => {
            if !code_store::restore_in(tx, code, now).await? {
                return Err(Refusal::NotRestorable.into());
            }
            (Outcome::Restored, "code-restore", code.to_string())
        }
        Command::Rotate => {
            let new = code_store::rotate_in(tx, code, now)
                .await?
                .ok_or(Refusal::NotActive)?;
            let detail = format!("{code} -> {new}");
            (Outcome::Rotated(new), "code-rotate", detail)
        }
        Command::Move(target) => {
            if !code_store::retarget_in(tx, code, *target).await? {
                return Err(Refusal::MoveRevoked.into());
            }
            (
                Outcome::Moved,
                "code-retarget",
                format!("{code} -> {target:?}"),
            )
        }
        Command::Pause(message) => {
            let message: String = message.trim().chars().take(MAX_PAUSE_CHARS).collect();
            code_store::set_paused_in(tx, code, Some(&message)).await?;
            (Outcome::Paused, "intake-pause", code.to_string())
        }
        Command::Resume => {
            code_store::set_paused_in(tx, code, None).await?;
            (Outcome::Resumed, "intake-resume", code.to_string())
        }
        Command::Create { .. } => unreachable!("a create has no code yet"),
    };
    Ok(done)
}
