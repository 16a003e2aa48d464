//! The `codes` table: what each sticker points at, and whether it still works.

use super::Pool;
use crate::domain::codes::Code;
use crate::domain::task::{AssetId, DistrictId, LocationId};

/// What a code opens the form for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Asset(AssetId),
    Location(LocationId),
    District(DistrictId),
    /// Printed in advance, not yet assigned.
    Unassigned,
}

impl Target {
    /// The stored form: kind (`asset`, `location`, `district`, `none`) and id.
    pub fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            Target::Asset(id) => ("asset", Some(id.0)),
            Target::Location(id) => ("location", Some(id.0)),
            Target::District(id) => ("district", Some(id.0)),
            Target::Unassigned => ("none", None),
        }
    }

    fn from_parts(kind: &str, id: Option<i64>) -> Target {
        match (kind, id) {
            ("asset", Some(id)) => Target::Asset(AssetId(id)),
            ("location", Some(id)) => Target::Location(LocationId(id)),
            ("district", Some(id)) => Target::District(DistrictId(id)),
            _ => Target::Unassigned,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Revoked,
    Unassigned,
}

#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub code: Code,
    pub target: Target,
    pub label: Option<String>,
    pub state: State,
    pub replaced_by: Option<Code>,
    pub created_at: i64,
    pub scan_count: i64,
    pub last_scan_at: Option<i64>,
}

struct Row {
    code: String,
    target_kind: String,
    target_id: Option<i64>,
    label: Option<String>,
    state: String,
    replaced_by: Option<String>,
    created_at: i64,
    scan_count: i64,
    last_scan_at: Option<i64>,
}
super::from_row!(Row {
    code,
    target_kind,
    target_id,
    label,
    state,
    replaced_by,
    created_at,
    scan_count,
    last_scan_at
});

impl Row {
    fn into_record(self) -> Option<CodeRecord> {
        Some(CodeRecord {
            code: Code::parse(&self.code)?,
            target: Target::from_parts(&self.target_kind, self.target_id),
            label: self.label,
            state: match self.state.as_str() {
                "active" => State::Active,
                "revoked" => State::Revoked,
                _ => State::Unassigned,
            },
            replaced_by: self.replaced_by.as_deref().and_then(Code::parse),
            created_at: self.created_at,
            scan_count: self.scan_count,
            last_scan_at: self.last_scan_at,
        })
    }
}

const SELECT: &str =
    "SELECT code, target_kind, target_id, label, state, replaced_by, created_at, scan_count, last_scan_at FROM codes";

/// Stores a new random code for `target`, drawing again on the rare collision.
pub async fn create_in(
    conn: &mut sqlx::AnyConnection,
    target: Target,
    label: Option<&str>,
    now: i64,
) -> sqlx::Result<Code> {
    let (kind, id) = target.parts();
    let state = if target == Target::Unassigned {
        "unassigned"
    } else {
        "active"
    };
    loop {
        let code = Code::generate();
        let inserted = sqlx::query(
            "INSERT INTO codes (code, target_kind, target_id, label, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING",
        )
        .bind(code.as_str())
        .bind(kind)
        .bind(id)
        .bind(label)
        .bind(state)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 1 {
            super::memo::changed();
            return Ok(code);
        }
    }
}

/// [`create_in`] on a connection of its own.
pub async fn create(
    pool: &Pool,
    target: Target,
    label: Option<&str>,
    now: i64,
) -> sqlx::Result<Code> {
    create_in(&mut *pool.acquire().await?, target, label, now).await
}

pub async fn get_in(
    conn: &mut sqlx::AnyConnection,
    code: &Code,
) -> sqlx::Result<Option<CodeRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(Row::into_record))
}

/// [`get_in`] on a connection of its own.
pub async fn get(pool: &Pool, code: &Code) -> sqlx::Result<Option<CodeRecord>> {
    get_in(&mut *pool.acquire().await?, code).await
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<CodeRecord>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY created_at, code"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().filter_map(Row::into_record).collect())
}

pub async fn count(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM codes")
        .fetch_one(pool)
        .await
}

/// Scans counted in memory and written in batches ([`Scans::flush`]), so
/// opening a form writes nothing. Only the count, the time and the day are
/// kept: no personal data.
#[derive(Default)]
pub struct Scans {
    counted: std::sync::Mutex<std::collections::HashMap<Code, (i64, i64)>>,
    /// Visitors (keyed digests) seen this hour and the last, so a reload
    /// without the cookie is not a second scan either.
    seen: std::sync::Mutex<Seen>,
    /// `server.utc_offset_minutes`: where a day begins.
    offset_minutes: i32,
}

#[derive(Default)]
struct Seen {
    hour: i64,
    this: std::collections::HashSet<[u8; 16]>,
    last: std::collections::HashSet<[u8; 16]>,
}

/// How often counted scans are written.
pub const SCAN_FLUSH_SECS: u64 = 5;

/// At most this many visitors are remembered an hour (a flood does not grow
/// memory; past it, every visit counts).
const SEEN_MAX: usize = 100_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

impl Scans {
    pub fn new(offset_minutes: i32) -> Scans {
        Scans {
            offset_minutes,
            ..Scans::default()
        }
    }

    /// The day number (days since 1970-01-01 at the configured offset).
    pub fn day_of(&self, ms: i64) -> i64 {
        (ms + i64::from(self.offset_minutes) * 60_000).div_euclid(DAY_MS)
    }

    /// Counts a visit unless this visitor (`visitor`: a keyed digest of what
    /// identifies them, nothing stored) was counted for it within the hour.
    pub fn visit(&self, code: &Code, visitor: [u8; 16], now: i64) -> bool {
        let hour = now.div_euclid(HOUR_MS);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.hour != hour {
            let this = std::mem::take(&mut seen.this);
            seen.last = if seen.hour == hour - 1 {
                this
            } else {
                Default::default()
            };
            seen.hour = hour;
        }
        if seen.this.contains(&visitor) || seen.last.contains(&visitor) {
            return false;
        }
        if seen.this.len() < SEEN_MAX {
            seen.this.insert(visitor);
        }
        drop(seen);
        self.record(code, now);
        true
    }

    pub fn record(&self, code: &Code, now: i64) {
        self.add(code.clone(), 1, now);
    }

    fn add(&self, code: Code, n: i64, at: i64) {
        let mut m = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(code).or_insert((0, at));
        e.0 += n;
        e.1 = e.1.max(at);
    }

    /// Writes the counted scans in one transaction; on failure they are kept
    /// for the next try.
    pub async fn flush(&self, pool: &Pool) -> sqlx::Result<()> {
        let batch = std::mem::take(&mut *self.counted.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        let write = async {
            let mut tx = pool.begin().await?;
            for (code, (n, at)) in &batch {
                sqlx::query(
                    "UPDATE codes SET scan_count = scan_count + $1,
                        last_scan_at = CASE WHEN last_scan_at > $2 THEN last_scan_at ELSE $2 END
                      WHERE code = $3",
                )
                .bind(n)
                .bind(at)
                .bind(code.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO code_scan_days (code, day, scans)
                     SELECT code, $2, $3 FROM codes WHERE code = $1
                     ON CONFLICT (code, day) DO UPDATE SET scans = code_scan_days.scans + excluded.scans",
                )
                .bind(code.as_str())
                .bind(self.day_of(*at))
                .bind(n)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        };
        if let Err(e) = write.await {
            for (code, (n, at)) in batch {
                self.add(code, n, at);
            }
            return Err(e);
        }
        Ok(())
    }
}

/// Scans by day for the `days` days up to `today` (oldest first, zeros
/// included).
pub async fn scans_by_day(
    pool: &Pool,
    code: &Code,
    today: i64,
    days: i64,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let from = today - days + 1;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT day, scans FROM code_scan_days WHERE code = $1 AND day >= $2 AND day <= $3",
    )
    .bind(code.as_str())
    .bind(from)
    .bind(today)
    .fetch_all(pool)
    .await?;
    Ok((from..=today)
        .map(|d| (d, rows.iter().find(|(day, _)| *day == d).map_or(0, |r| r.1)))
        .collect())
}

/// Turns a code off; its sticker then shows a friendly "no longer in use" page.
pub async fn revoke_in(conn: &mut sqlx::AnyConnection, code: &Code) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE codes SET state = 'revoked', revoked_at = $2 WHERE code = $1 AND state <> 'revoked'",
    )
    .bind(code.as_str())
    .bind(super::now_ms())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    super::memo::changed();
    Ok(n == 1)
}

/// [`revoke_in`] on a connection of its own.
pub async fn revoke(pool: &Pool, code: &Code) -> sqlx::Result<bool> {
    revoke_in(&mut *pool.acquire().await?, code).await
}

/// How long a revoked code can be switched on again.
pub const RESTORE_WITHIN_MS: i64 = 30 * 86_400_000;

/// Until when a revoked code can still be switched on again, if it can (not
/// one replaced by a new code: its sticker says so).
pub async fn restorable_until(pool: &Pool, code: &Code, now: i64) -> sqlx::Result<Option<i64>> {
    let at: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT revoked_at FROM codes WHERE code = $1 AND state = 'revoked' AND replaced_by IS NULL",
    )
    .bind(code.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(at
        .flatten()
        .map(|at| at + RESTORE_WITHIN_MS)
        .filter(|until| *until >= now))
}

/// Switches a revoked code on again, within [`RESTORE_WITHIN_MS`].
pub async fn restore_in(
    conn: &mut sqlx::AnyConnection,
    code: &Code,
    now: i64,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE codes SET state = 'active', revoked_at = NULL
          WHERE code = $1 AND state = 'revoked' AND replaced_by IS NULL AND revoked_at >= $2",
    )
    .bind(code.as_str())
    .bind(now - RESTORE_WITHIN_MS)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    super::memo::changed();
    Ok(n == 1)
}

struct ListRow {
    row: Row,
    requests: i64,
    paused_message: Option<String>,
}
super::from_row!(ListRow { requests, paused_message; flatten row });

/// A code with what the admin list shows next to it.
#[derive(Debug, Clone)]
pub struct CodeListItem {
    pub record: CodeRecord,
    pub requests: i64,
    /// Intake paused with this message (the code is still active).
    pub paused: bool,
}

/// Which codes an admin list shows: one state (or only paused ones), a site
/// (its own codes and those of its assets), one asset, and `q`: a code as
/// printed (with or without its hyphen, in any case), a label, or the name,
/// serial, inventory number or address of what the code points at.
#[derive(Debug, Clone, Default)]
pub struct CodeFilter {
    pub state: Option<State>,
    pub paused_only: bool,
    pub q: String,
    pub location: Option<LocationId>,
    pub asset: Option<AssetId>,
    /// Only the codes of a saved selection (say, the ones just created).
    pub selection: Option<String>,
}

impl CodeFilter {
    /// The WHERE clause over `codes c`, with `$1`…`$8` as [`Self::bind`] binds them.
    fn sql(engine: super::dialect::Engine) -> String {
        let contains = |column: &str, arg: &str| super::dialect::contains(engine, column, arg);
        format!(
            "($1 IS NULL OR c.state = $1)
             AND ($2 = ''
                  OR ($3 <> '' AND {code})
                  OR {label}
                  OR (c.target_kind = 'asset' AND c.target_id IN (
                        SELECT a.id FROM catalog_assets a LEFT JOIN catalog_locations l ON l.id = a.location_id
                         WHERE {asset} OR {asset_site}))
                  OR (c.target_kind = 'location' AND c.target_id IN (
                        SELECT l.id FROM catalog_locations l WHERE {site})))
             AND ($4 = 0 OR c.paused_message IS NOT NULL)
             AND ($5 IS NULL
                  OR (c.target_kind = 'location' AND c.target_id = $5)
                  OR (c.target_kind = 'asset' AND c.target_id IN (SELECT id FROM catalog_assets WHERE location_id = $5)))
             AND ($6 IS NULL OR (c.target_kind = 'asset' AND c.target_id = $6))
             AND ($8 = '' OR EXISTS (SELECT 1 FROM selections s WHERE s.id = $8 AND {chosen}))",
            code = contains("c.code", "$3"),
            label = contains("upper(COALESCE(c.label, ''))", "$2"),
            asset = contains("a.search_text", "$7"),
            asset_site = contains("COALESCE(l.search_text, '')", "$7"),
            site = contains("l.search_text", "$7"),
            chosen = contains("',' || s.codes || ','", "',' || c.code || ','"),
        )
    }

    fn bind<'q, O>(
        &self,
        query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        let state = self.state.map(|s| match s {
            State::Active => "active",
            State::Revoked => "revoked",
            State::Unassigned => "unassigned",
        });
        let q = self.q.trim();
        // Printed codes carry a hyphen (`SHVZ-JFCW`); stored ones do not.
        let as_code: String = q
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_uppercase();
        query
            .bind(state)
            .bind(q.to_uppercase())
            .bind(as_code)
            .bind(i64::from(self.paused_only))
            .bind(self.location)
            .bind(self.asset)
            .bind(q.to_lowercase())
            .bind(self.selection.clone().unwrap_or_default())
    }
}

/// One page of codes matching `f`, newest first, with their request counts;
/// and how many match in all.
pub async fn page(
    pool: &Pool,
    f: &CodeFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<CodeListItem>, i64)> {
    let filter = CodeFilter::sql(super::dialect::Engine::of(pool));
    let (total,): (i64,) = f
        .bind(sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM codes c WHERE {filter}"
        )))
        .fetch_one(pool)
        .await?;
    let rows: Vec<ListRow> = f
        .bind(sqlx::query_as(&format!(
            "SELECT c.code, c.target_kind, c.target_id, c.label, c.state, c.replaced_by, c.created_at, c.scan_count,
                    c.last_scan_at, (SELECT COUNT(*) FROM requests r WHERE r.code = c.code) AS requests,
                    c.paused_message
               FROM codes c WHERE {filter} ORDER BY c.created_at DESC, c.code LIMIT $9 OFFSET $10"
        )))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            Some(CodeListItem {
                paused: r.paused_message.is_some(),
                record: r.row.into_record()?,
                requests: r.requests,
            })
        })
        .collect();
    Ok((items, total))
}

/// Every code matching `f` (newest first), at most `max`: "everything in this
/// filter" of the admin list.
pub async fn matching(pool: &Pool, f: &CodeFilter, max: i64) -> sqlx::Result<Vec<Code>> {
    let filter = CodeFilter::sql(super::dialect::Engine::of(pool));
    let rows: Vec<(String,)> = f
        .bind(sqlx::query_as(&format!(
            "SELECT c.code FROM codes c WHERE {filter} ORDER BY c.created_at DESC, c.code LIMIT $9"
        )))
        .bind(max)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c,)| Code::parse(&c))
        .collect())
}

/// How long a saved selection can be printed or acted on.
pub const SELECTION_TTL_MS: i64 = 24 * 3600 * 1000;

/// Keeps a set of codes under a short random id (for `/admin/print?sel=…`
/// and the bulk confirmations); selections older than a day are dropped.
pub async fn save_selection(
    pool: &Pool,
    admin_id: Option<i64>,
    codes: &[Code],
    now: i64,
) -> sqlx::Result<String> {
    let id = crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<10>())
        .to_lowercase();
    let list = codes.iter().map(Code::as_str).collect::<Vec<_>>().join(",");
    sqlx::query("DELETE FROM selections WHERE created_at < $1")
        .bind(now - SELECTION_TTL_MS)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO selections (id, admin_id, codes, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(admin_id)
        .bind(list)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(id)
}

/// A change made to every code of a selection at once.
#[derive(Debug, Clone, Copy)]
pub enum BulkChange<'a> {
    Pause(&'a str),
    Resume,
    Revoke,
    /// Points the codes (not revoked ones) at the target.
    Retarget(Target),
}

/// Applies `change` to the codes of selection `id` in one statement; returns
/// how many codes changed.
pub async fn change_selection(
    pool: &Pool,
    id: &str,
    change: BulkChange<'_>,
    now: i64,
) -> sqlx::Result<u64> {
    let engine = super::dialect::Engine::of(pool);
    let chosen = format!(
        "EXISTS (SELECT 1 FROM selections s WHERE s.id = $1 AND {})",
        super::dialect::contains(engine, "',' || s.codes || ','", "',' || codes.code || ','")
    );
    let query = match change {
        BulkChange::Pause(_) | BulkChange::Resume => {
            format!("UPDATE codes SET paused_message = $2 WHERE {chosen}")
        }
        BulkChange::Revoke => format!(
            "UPDATE codes SET state = 'revoked', revoked_at = $2 WHERE state <> 'revoked' AND {chosen}"
        ),
        BulkChange::Retarget(_) => format!(
            "UPDATE codes SET target_kind = $2, target_id = $3, state = 'active' WHERE state <> 'revoked' AND {chosen}"
        ),
    };
    let query = sqlx::query(&query).bind(id);
    let query = match change {
        BulkChange::Pause(message) => query.bind(Some(message)),
        BulkChange::Resume => query.bind(None::<&str>),
        BulkChange::Revoke => query.bind(now),
        BulkChange::Retarget(target) => {
            let (kind, target_id) = target.parts();
            query.bind(kind).bind(target_id)
        }
    };
    let n = query.execute(pool).await?.rows_affected();
    super::memo::changed();
    Ok(n)
}

/// The codes of a selection still within its day, in the order saved.
pub async fn selection(pool: &Pool, id: &str, now: i64) -> sqlx::Result<Option<Vec<Code>>> {
    let list: Option<String> =
        sqlx::query_scalar("SELECT codes FROM selections WHERE id = $1 AND created_at >= $2")
            .bind(id)
            .bind(now - SELECTION_TTL_MS)
            .fetch_optional(pool)
            .await?;
    Ok(list.map(|l| l.split(',').filter_map(Code::parse).collect()))
}

pub async fn request_count(pool: &Pool, code: &Code) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE code = $1")
        .bind(code.as_str())
        .fetch_one(pool)
        .await
}

/// Active codes pointing at `target`.
pub async fn for_target(pool: &Pool, target: Target) -> sqlx::Result<Vec<CodeRecord>> {
    let (kind, id) = target.parts();
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE target_kind = $1 AND target_id = $2 AND state = 'active' ORDER BY created_at"
    ))
    .bind(kind)
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(Row::into_record).collect())
}

/// Replaces a code with a new one for the same target: the old sticker then
/// says it was replaced. Returns the new code.
pub async fn rotate_in(
    conn: &mut sqlx::AnyConnection,
    code: &Code,
    now: i64,
) -> sqlx::Result<Option<Code>> {
    let Some(old) = get_in(conn, code).await? else {
        return Ok(None);
    };
    if old.state != State::Active {
        return Ok(None);
    }
    let new = create_in(conn, old.target, old.label.as_deref(), now).await?;
    sqlx::query(
        "UPDATE codes SET state = 'revoked', replaced_by = $1, rotated_at = $2 WHERE code = $3",
    )
    .bind(new.as_str())
    .bind(now)
    .bind(code.as_str())
    .execute(&mut *conn)
    .await?;
    super::memo::changed();
    Ok(Some(new))
}

/// Points a code (active or printed blank) at a new target; it becomes active.
pub async fn retarget_in(
    conn: &mut sqlx::AnyConnection,
    code: &Code,
    target: Target,
) -> sqlx::Result<bool> {
    let (kind, id) = target.parts();
    let n = sqlx::query(
        "UPDATE codes SET target_kind = $1, target_id = $2, state = 'active' WHERE code = $3 AND state <> 'revoked'",
    )
    .bind(kind)
    .bind(id)
    .bind(code.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    super::memo::changed();
    Ok(n == 1)
}

/// Pauses intake on a code with a message for customers; `None` resumes it.
pub async fn set_paused_in(
    conn: &mut sqlx::AnyConnection,
    code: &Code,
    message: Option<&str>,
) -> sqlx::Result<bool> {
    let n = sqlx::query("UPDATE codes SET paused_message = $1 WHERE code = $2")
        .bind(message)
        .bind(code.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    super::memo::changed();
    Ok(n == 1)
}

pub async fn paused_message(pool: &Pool, code: &Code) -> sqlx::Result<Option<String>> {
    let m: Option<Option<String>> =
        sqlx::query_scalar("SELECT paused_message FROM codes WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(m.flatten().filter(|m| !m.trim().is_empty()))
}
