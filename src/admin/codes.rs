//! Codes: the list with scans and requests, creating them (one, a selection,
//! in bulk, for sites, blank), revoking, rotating, moving, assigning blanks,
//! and their images and posters.

use crate::i18n::tr::filters;
use crate::i18n::tr::{tr, trf};
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::auth::{need, AdminForm, Staff};
use super::query::FilterQuery;
use super::refused;
use super::{notice, paging, Frame};
use crate::backend::{AssetId, DistrictId, LocationId};
use crate::domain::codes::Code;
use crate::labels::{job, layout};
use crate::ops::codes as ops;
use crate::store::catalog::{self, DistrictView, LocationView};
use crate::store::codes::{
    self as code_store, CodeListItem, CodeRecord, State as CodeState, Target,
};
use crate::store::{self};
use crate::web::{self, render};
use crate::AppState;

const PER_PAGE: i64 = 50;

/// How a target reads in the admin lists.
pub async fn describe(state: &AppState, target: Target) -> String {
    let pool = &state.pool;
    match target {
        Target::Asset(id) => match catalog::asset(pool, id).await.ok().flatten() {
            Some(a) => format!("{} (#{id})", a.name),
            None => trf("актив #{} (нет в каталоге)", &[&id]),
        },
        Target::Location(id) => match catalog::location(pool, id).await.ok().flatten() {
            Some(l) => trf(
                "площадка: {}{}",
                &[
                    &l.address,
                    &l.description.map(|d| format!(", {d}")).unwrap_or_default(),
                ],
            ),
            None => trf("площадка #{}", &[&id]),
        },
        Target::District(id) => match catalog::district(pool, id).await.ok().flatten() {
            Some(d) => trf("участок: {}", &[&d.name]),
            None => trf("участок #{}", &[&id]),
        },
        Target::Unassigned => tr("не привязан").into(),
    }
}

pub fn state_title(s: &CodeState) -> &'static str {
    match *s {
        CodeState::Active => tr("действует"),
        CodeState::Revoked => tr("отключён"),
        CodeState::Unassigned => tr("пустой"),
    }
}

pub struct Row {
    pub(super) item: CodeListItem,
    pub(super) target: String,
    pub(super) last_scan: String,
    pub(super) created: String,
}

#[derive(Template)]
#[template(path = "admin/codes.html")]
struct ListPage {
    f: Frame,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    last: i64,
    prev: Option<String>,
    next: Option<String>,
    q: ListQuery,
    /// The asset the list is narrowed to, by name.
    asset_name: Option<String>,
    locations: Vec<LocationView>,
    districts: Vec<DistrictView>,
}

impl ListPage {
    fn site_selected(&self, id: &LocationId) -> bool {
        self.q.location == id.0.to_string()
    }
}

/// The codes list's filters, as the query string and the bulk form carry them.
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    asset: String,
    /// A saved selection (the codes just created, or just changed in bulk).
    #[serde(default)]
    sel: String,
    page: Option<i64>,
    done: Option<String>,
}

impl ListQuery {
    fn from_form(form: &HashMap<String, String>) -> ListQuery {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        ListQuery {
            state: get("state"),
            q: get("q"),
            location: get("location"),
            asset: get("asset"),
            sel: get("sel"),
            page: None,
            done: None,
        }
    }

    fn filter(&self) -> code_store::CodeFilter {
        code_store::CodeFilter {
            state: match self.state.as_str() {
                "active" | "paused" => Some(CodeState::Active),
                "revoked" => Some(CodeState::Revoked),
                "unassigned" => Some(CodeState::Unassigned),
                _ => None,
            },
            paused_only: self.state == "paused",
            q: self.q.chars().take(50).collect(),
            location: self.location.trim().parse().ok().map(LocationId),
            asset: self.asset.trim().parse().ok().map(AssetId),
            selection: (!self.sel.is_empty()).then(|| self.sel.chars().take(40).collect()),
        }
    }

    /// The filters that are set, as (name, value): hidden fields of the bulk
    /// form and its confirmation.
    fn fields(&self) -> Vec<(&'static str, String)> {
        super::query::set_fields([
            ("state", &self.state),
            ("q", &self.q),
            ("location", &self.location),
            ("asset", &self.asset),
            ("sel", &self.sel),
        ])
    }

    /// The filters as a query string (paging links, the way back from a
    /// confirmation).
    fn query_string(&self) -> String {
        super::query::query_string(&self.fields())
    }
}

pub async fn list(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<ListQuery>,
) -> web::Result {
    let pool = &state.pool;
    // The counts kept in memory, so the page shows every scan so far.
    state.scans.flush(pool).await?;
    let filter = q.filter();
    let requested = q.page.unwrap_or(1).max(1);
    let (mut items, total) =
        code_store::page(pool, &filter, PER_PAGE, (requested - 1) * PER_PAGE).await?;
    let (page, last, prev, next) = paging(total, requested, PER_PAGE);
    if page != requested {
        // Past the last page (codes changed meanwhile): show the last one.
        (items, _) = code_store::page(pool, &filter, PER_PAGE, (page - 1) * PER_PAGE).await?;
    }
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        rows.push(Row {
            target: describe(&state, item.record.target).await,
            last_scan: super::when(&state, item.record.last_scan_at),
            created: super::when(&state, Some(item.record.created_at)),
            item,
        });
    }
    let asset_name = match filter.asset {
        Some(id) => Some(
            catalog::asset(pool, id)
                .await?
                .map(|a| a.name)
                .unwrap_or_else(|| format!("#{id}")),
        ),
        None => None,
    };
    let (locations, districts) = (
        catalog::locations(pool).await?,
        catalog::districts(pool).await?,
    );
    let base = q.query_string();
    let link = |p: i64| {
        if base.is_empty() {
            format!("/admin/codes?page={p}")
        } else {
            format!("/admin/codes?{base}&page={p}")
        }
    };
    let page_view = ListPage {
        f: Frame::new(&s, tr("Коды"), "codes").with_notice(notice(q.done.as_deref())),
        rows,
        total,
        page,
        last,
        prev: prev.map(link),
        next: next.map(link),
        asset_name,
        locations,
        districts,
        q,
    };
    Ok(render(StatusCode::OK, &page_view))
}

/// Codes or assets ticked in a list arrive as `c<CODE>=on` / `a<ID>=on`.
fn ticked<'a>(form: &'a HashMap<String, String>, prefix: &str) -> impl Iterator<Item = &'a str> {
    let prefix = prefix.to_owned();
    form.keys()
        .filter_map(move |k| k.strip_prefix(prefix.as_str()))
}

/// `POST /admin/codes`: create for ticked assets, for every asset of a filter
/// without a code, for a site, or blank ones; or send ticked codes to print/ZIP.
pub async fn create(
    State(state): State<AppState>,
    f: AdminForm<HashMap<String, String>, need::Viewer>,
) -> web::Result {
    let form = &f.form;
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let mode = get("mode");
    let pool = &state.pool;
    let scope_config = &state.config.catalog;
    let now = store::now_ms();
    let admin_id = Some(f.staff.admin.id);

    // Viewers may print what exists; creating and image exports need an admin.
    if mode != "print" && !f.staff.admin.role.can_edit() {
        return Err(super::not_allowed().into());
    }
    if matches!(mode, "print" | "zip") {
        return print_ticked(&state, &f, mode).await;
    }

    let targets = targets_to_create(pool, form, mode).await?;
    if targets.is_empty() {
        return Err(refused(tr(
            "Нечего создавать: отметьте активы или выберите фильтр, где есть активы без кода.",
        )));
    }
    if targets.len() > MAX_BULK {
        return Err(refused(tr(
            "Больше 5000 кодов за раз нельзя: сузьте фильтр.",
        )));
    }
    // What exists already: printing a ticked asset reuses its code.
    let mut plan: Vec<(Target, Option<Code>)> = Vec::with_capacity(targets.len());
    for target in targets {
        let existing = if mode == "assets-print" {
            code_store::for_target(pool, target)
                .await?
                .into_iter()
                .next()
                .map(|c| c.code)
        } else {
            None
        };
        plan.push((target, existing));
    }
    let new = plan.iter().filter(|(_, c)| c.is_none()).count() as i64;
    let missing: Vec<Target> = plan
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(t, _)| *t)
        .collect();
    if new > CONFIRM_OVER && get("confirm") != "1" {
        // Refused before asking, not after.
        ops::check_targets(pool, scope_config, &missing)
            .await
            .map_err(op_refusal)?;
        return Ok(confirm_create(&f, mode, new, plan.len()));
    }
    let actor = ops::Actor::staff(f.staff.admin.id, f.ip.clone());
    let created = ops::create_many(pool, scope_config, &actor, &missing)
        .await
        .map_err(op_refusal)?;
    let mut made = created.iter();
    let to_print: Vec<Code> = plan
        .into_iter()
        .filter_map(|(_, existing)| existing.or_else(|| made.next().cloned()))
        .collect();
    if mode == "assets-print" || mode == "blank" {
        let id = code_store::save_selection(pool, admin_id, &to_print, now).await?;
        return Ok(Redirect::to(&format!("/admin/print?sel={id}")).into_response());
    }
    // The next screen lists exactly these, with "print these".
    let id = code_store::save_selection(pool, admin_id, &created, now).await?;
    Ok(Redirect::to(&format!("/admin/codes?sel={id}&done=created")).into_response())
}

/// `mode=print|zip` of the list: the ticked codes to the print page or an
/// image archive.
async fn print_ticked(
    state: &AppState,
    f: &AdminForm<HashMap<String, String>, need::Viewer>,
    mode: &str,
) -> web::Result {
    let mut codes: Vec<String> = ticked(&f.form, "c")
        .filter_map(Code::parse)
        .map(|c| c.to_string())
        .collect();
    codes.sort();
    if codes.is_empty() {
        return Err(refused(tr("Отметьте коды в списке.")));
    }
    let list = codes.join(",");
    if mode == "print" {
        Ok(Redirect::to(&format!("/admin/print?codes={list}")).into_response())
    } else {
        super::images::images_zip(state, &f.staff, &list, 300, 30.0).await
    }
}

/// What the create form asks codes for: ticked assets, a filter's assets
/// (without a code, or all of them to print), a site or участок, blanks.
async fn targets_to_create(
    pool: &store::Pool,
    form: &HashMap<String, String>,
    mode: &str,
) -> web::Result<Vec<Target>> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let all = get("all") == "1";
    let filter = FilterQuery {
        q: get("q").into(),
        district: get("district").into(),
        location: get("location").into(),
        company: get("company").into(),
        has_code: get("has_code").into(),
        ..Default::default()
    }
    .filter();
    let targets: Vec<Target> = match mode {
        // Every asset of the catalog's filter that has no code yet.
        "filter" => assets_of(catalog::assets_without_code(pool, &filter).await?),
        "assets" if all => assets_of(catalog::assets_without_code(pool, &filter).await?),
        "assets-print" if all => {
            let (rows, _) = catalog::search_assets(pool, &filter, MAX_BULK as i64 + 1, 0).await?;
            assets_of(rows.into_iter().map(|r| r.id).collect())
        }
        "assets" | "assets-print" => ticked(form, "a")
            .filter_map(|id| id.parse().ok())
            .map(|id| Target::Asset(AssetId(id)))
            .collect(),
        "site" => {
            let target = match get("site").split_once(':') {
                Some(("location", id)) => id.parse().ok().map(|i| Target::Location(LocationId(i))),
                Some(("district", id)) => id.parse().ok().map(|i| Target::District(DistrictId(i))),
                _ => None,
            };
            match target {
                Some(t) => vec![t],
                None => return Err(refused(tr("Выберите площадку или участок."))),
            }
        }
        "blank" => {
            let n: usize = get("count").trim().parse().unwrap_or(0);
            if !(1..=MAX_BULK).contains(&n) {
                return Err(refused(tr(
                    "Укажите, сколько пустых кодов напечатать: от 1 до 5000.",
                )));
            }
            vec![Target::Unassigned; n]
        }
        _ => return Err(refused(tr("Неизвестное действие."))),
    };
    Ok(targets)
}

/// "Create N codes?" before more than [`CONFIRM_OVER`] are made: the same
/// form again with `confirm=1`.
fn confirm_create(
    f: &AdminForm<HashMap<String, String>, need::Viewer>,
    mode: &str,
    new: i64,
    planned: usize,
) -> axum::response::Response {
    let mut fields: Vec<(&str, String)> = f
        .form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "confirm"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    fields.sort();
    let codes = super::noun(new, &["код", "кода", "кодов"]);
    let consequence = match mode {
        "blank" => trf("Будет создано {} пустых {}; их наклейки заработают, когда вы привяжете каждую к оборудованию. Затем откроется печать.", &[&new, &codes]),
        "assets-print" => trf("Будет создано {} новых {} (у остальных отмеченных активов код уже есть), затем откроется печать всех {}.", &[&new, &codes, &planned]),
        _ => trf("Будет создано {} новых {} для активов без кода. Затем можно будет напечатать ровно их.", &[&new, &codes]),
    };
    let question = trf("Создать {} {}?", &[&new, &codes]);
    super::ConfirmPage {
        f: Frame::new(&f.staff, tr("Новые коды"), "codes"),
        question: &question,
        consequence,
        action: "/admin/codes".to_owned(),
        fields,
        input: None,
        button: tr("Создать"),
        danger: false,
        back: if mode == "blank" {
            "/admin/codes"
        } else {
            "/admin/catalog"
        }
        .to_owned(),
    }
    .response()
}

/// Creating more codes than this at once asks first.
const CONFIRM_OVER: i64 = 100;

fn assets_of(ids: Vec<AssetId>) -> Vec<Target> {
    ids.into_iter().map(Target::Asset).collect()
}

/// Most codes one bulk action or print job takes.
const MAX_BULK: usize = crate::labels::templates::MAX_LABELS_PER_JOB;

/// `POST /admin/codes/bulk`: print, ZIP, pause, resume, revoke or move the
/// codes ticked in the list, or every code of its filter (`all=1`); what
/// changes codes asks first, naming how many.
pub async fn bulk(
    State(state): State<AppState>,
    f: AdminForm<HashMap<String, String>, need::Viewer>,
) -> web::Result {
    let form = &f.form;
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let action = get("action");
    let pool = &state.pool;
    let now = store::now_ms();
    let list = ListQuery::from_form(form);
    let back = match list.query_string() {
        q if q.is_empty() => "/admin/codes".to_owned(),
        q => format!("/admin/codes?{q}"),
    };
    if !matches!(
        action,
        "print" | "zip" | "pause" | "resume" | "revoke" | "move"
    ) {
        return Err(refused(tr("Неизвестное действие.")));
    }
    if action != "print" && !f.staff.admin.role.can_edit() {
        return Err(super::not_allowed().into());
    }
    let codes = bulk_codes(pool, form, &list, now).await?;
    if codes.is_empty() {
        return Err(refused(tr(
            "Отметьте коды в списке или выберите «все по этому фильтру».",
        )));
    }
    if codes.len() > MAX_BULK {
        return Err(refused(&trf(
            "Больше {} кодов за раз нельзя: сузьте фильтр.",
            &[&MAX_BULK],
        )));
    }
    let n = codes.len() as i64;
    let count = format!("{n} {}", super::noun(n, &["код", "кода", "кодов"]));
    match action {
        "print" => {
            let id = code_store::save_selection(pool, Some(f.staff.admin.id), &codes, now).await?;
            return Ok(Redirect::to(&format!("/admin/print?sel={id}")).into_response());
        }
        "zip" => {
            let list = codes.iter().map(Code::as_str).collect::<Vec<_>>().join(",");
            return super::images::images_zip(&state, &f.staff, &list, 300, 30.0).await;
        }
        _ => {}
    }
    let site = match action {
        "move" => {
            let id: Option<i64> = get("site").trim().parse().ok();
            let Some(id) = id.map(LocationId) else {
                return Err(refused(tr("Выберите площадку, на которую перенести коды.")));
            };
            let target = Target::Location(id);
            ops::check_targets(pool, &state.config.catalog, &[target])
                .await
                .map_err(op_refusal)?;
            Some((id, describe(&state, target).await))
        }
        _ => None,
    };
    let message: String = crate::domain::contact::clean_text(get("message"))
        .chars()
        .take(ops::MAX_PAUSE_CHARS)
        .collect();
    if get("confirm") != "1" || (action == "pause" && message.is_empty()) {
        let chosen = match get("chosen") {
            "" => code_store::save_selection(pool, Some(f.staff.admin.id), &codes, now).await?,
            id => id.to_owned(),
        };
        let asked = BulkAsk {
            action,
            n,
            count: &count,
            site: &site,
            message: &message,
        };
        return Ok(confirm_bulk(&f, &list, &chosen, back, asked));
    }
    let chosen = match get("chosen") {
        "" => code_store::save_selection(pool, Some(f.staff.admin.id), &codes, now).await?,
        id => id.to_owned(),
    };
    let change = match (action, &site) {
        ("pause", _) => code_store::BulkChange::Pause(&message),
        ("resume", _) => code_store::BulkChange::Resume,
        ("revoke", _) => code_store::BulkChange::Revoke,
        (_, Some((id, _))) => code_store::BulkChange::Retarget(Target::Location(*id)),
        _ => return Err(refused(tr("Выберите площадку, на которую перенести коды."))),
    };
    let changed = code_store::change_selection(pool, &chosen, change, now).await?;
    let shown: Vec<&str> = codes.iter().take(20).map(Code::as_str).collect();
    f.audit(
        &state,
        &format!("codes-bulk-{action}"),
        &format!(
            "{changed}/{}: {}{}",
            codes.len(),
            shown.join(","),
            if codes.len() > shown.len() {
                ",…"
            } else {
                ""
            }
        ),
    )
    .await;
    // The list then shows what was acted on.
    Ok(Redirect::to(&format!("/admin/codes?sel={chosen}&done=bulk-{action}")).into_response())
}

/// The codes a bulk action is for: a selection saved by the confirmation,
/// the whole filter, or the ticks of this page.
async fn bulk_codes(
    pool: &store::Pool,
    form: &HashMap<String, String>,
    list: &ListQuery,
    now: i64,
) -> web::Result<Vec<Code>> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    Ok(if !get("chosen").is_empty() {
        code_store::selection(pool, get("chosen"), now)
            .await?
            .ok_or_else(|| {
                refused(tr(
                    "Выбор устарел (он хранится сутки): отметьте коды в списке ещё раз.",
                ))
            })?
    } else if get("all") == "1" {
        code_store::matching(pool, &list.filter(), MAX_BULK as i64 + 1).await?
    } else {
        let mut ticked: Vec<Code> = ticked(form, "c").filter_map(Code::parse).collect();
        ticked.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ticked
    })
}

/// What a bulk change asks before it is made.
struct BulkAsk<'a> {
    action: &'a str,
    n: i64,
    count: &'a str,
    site: &'a Option<(LocationId, String)>,
    message: &'a str,
}

/// "Pause / resume / revoke / move N codes?" with what will happen.
fn confirm_bulk(
    f: &AdminForm<HashMap<String, String>, need::Viewer>,
    list: &ListQuery,
    chosen: &str,
    back: String,
    a: BulkAsk<'_>,
) -> axum::response::Response {
    let (question, consequence, button) = match a.action {
        "pause" => (
            trf("Приостановить приём по {} {}?", &[&a.n, &super::noun(a.n, &["коду", "кодам", "кодам"])]),
            tr("Вместо формы посетители увидят сообщение ниже. Наклейки останутся прежними; возобновить приём можно так же, выбрав коды.").to_owned(),
            tr("Приостановить"),
        ),
        "resume" => (
            trf("Возобновить приём по {} {}?", &[&a.n, &super::noun(a.n, &["коду", "кодам", "кодам"])]),
            tr("Наклейки снова откроют форму заявки.").to_owned(),
            tr("Возобновить"),
        ),
        "revoke" => (
            trf("Отключить {}?", &[&a.count]),
            tr("Наклейки перестанут принимать заявки: посетители увидят «код больше не используется». Уже отправленные заявки и их страницы статуса останутся. Каждый код можно включить снова на его странице в течение 30 дней.").to_owned(),
            tr("Отключить"),
        ),
        _ => (
            trf("Перенести {} на площадку?", &[&a.count]),
            trf("Наклейки останутся прежними, а заявки пойдут на «{}»: форма предложит выбрать оборудование этой площадки. Отключённые коды не переносятся.", &[&a.site.as_ref().map(|s| s.1.as_str()).unwrap_or("")]),
            tr("Перенести"),
        ),
    };
    let mut fields = list.fields();
    fields.push(("action", a.action.to_owned()));
    fields.push(("chosen", chosen.to_owned()));
    if let Some((id, _)) = a.site {
        fields.push(("site", id.0.to_string()));
    }
    let input = (a.action == "pause").then(|| super::ConfirmInput {
        name: "message",
        label: tr("Сообщение вместо формы"),
        value: a.message.to_owned(),
        placeholder: tr("Мы знаем о неисправности: мастер уже едет"),
        error: (f.form.get("confirm").map(String::as_str) == Some("1"))
            .then_some(tr("Напишите сообщение для посетителей.")),
    });
    super::ConfirmPage {
        f: Frame::new(&f.staff, tr("Коды"), "codes"),
        question: &question,
        consequence,
        action: "/admin/codes/bulk".to_owned(),
        fields,
        input,
        button,
        danger: a.action == "revoke",
        back,
    }
    .response()
}

#[derive(Template)]
#[template(path = "admin/code.html")]
struct DetailPage {
    f: Frame,
    record: CodeRecord,
    target: String,
    url: String,
    requests: i64,
    last_scan: String,
    created: String,
    replaced_by: Option<String>,
    chart: ScanChart,
    /// Intake paused for this code, with the message people see.
    paused: Option<String>,
    /// A revoked code can be switched on again until then.
    restorable_until: Option<String>,
}

/// Scans by day for the last 30 days, as bars of a small SVG.
pub(super) struct ScanChart {
    pub(super) bars: Vec<Bar>,
    pub(super) total: i64,
    pub(super) busiest: Option<(String, i64)>,
}

pub(super) struct Bar {
    pub(super) x: usize,
    pub(super) y: i64,
    pub(super) height: i64,
    pub(super) label: String,
}

pub(super) const CHART_DAYS: i64 = 30;
const CHART_HEIGHT: i64 = 48;

pub(super) fn scan_chart(days: &[(i64, i64)]) -> ScanChart {
    let date = |day: i64| {
        time::OffsetDateTime::from_unix_timestamp(day * 86_400)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!("[day].[month]"))
                    .ok()
            })
            .unwrap_or_default()
    };
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, &(day, n))| {
            // A day with scans shows at least a sliver.
            let height = if n == 0 {
                0
            } else {
                (n * CHART_HEIGHT / max).max(2)
            };
            Bar {
                x: i * 10,
                y: CHART_HEIGHT - height,
                height,
                label: format!("{}: {n}", date(day)),
            }
        })
        .collect();
    let busiest = days
        .iter()
        .filter(|d| d.1 > 0)
        .max_by_key(|d| (d.1, d.0))
        .map(|&(day, n)| (date(day), n));
    ScanChart {
        bars,
        total: days.iter().map(|d| d.1).sum(),
        busiest,
    }
}

pub async fn detail(
    State(state): State<AppState>,
    Staff(s): Staff,
    Path(raw): Path<String>,
    Query(q): Query<super::DoneQuery>,
) -> web::Result {
    let unknown = || {
        web::Error::from(super::message(
            StatusCode::NOT_FOUND,
            tr("Нет такого кода"),
            tr("Проверьте код: 8 букв и цифр."),
        ))
    };
    let code = Code::parse(&raw).ok_or_else(unknown)?;
    let pool = &state.pool;
    state.scans.flush(pool).await?;
    let record = code_store::get(pool, &code).await?.ok_or_else(unknown)?;
    let requests = code_store::request_count(pool, &code).await?;
    let today = state.scans.day_of(store::now_ms());
    let days = code_store::scans_by_day(pool, &code, today, CHART_DAYS).await?;
    let page = DetailPage {
        chart: scan_chart(&days),
        paused: code_store::paused_message(pool, &code).await?,
        restorable_until: code_store::restorable_until(pool, &code, store::now_ms())
            .await?
            .map(|until| super::when(&state, Some(until))),
        f: Frame::new(&s, trf("Код {}", &[&code]), "codes").with_notice(notice(q.done.as_deref())),
        target: describe(&state, record.target).await,
        url: code.url(&state.public_url),
        requests,
        last_scan: super::when(&state, record.last_scan_at),
        created: super::when(&state, Some(record.created_at)),
        replaced_by: record.replaced_by.as_ref().map(|c| c.to_string()),
        record,
    };
    Ok(render(StatusCode::OK, &page))
}

/// What the code page's buttons ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeOp {
    Revoke,
    Rotate,
    Move,
    Assign,
    Restore,
    /// Anything else a crafted form sends: refused by the check.
    #[default]
    #[serde(other)]
    Unknown,
}

impl CodeOp {
    fn as_str(self) -> &'static str {
        match self {
            CodeOp::Revoke => "revoke",
            CodeOp::Rotate => "rotate",
            CodeOp::Move => "move",
            CodeOp::Assign => "assign",
            CodeOp::Restore => "restore",
            CodeOp::Unknown => "",
        }
    }
}

#[derive(Deserialize, Validate)]
pub struct ActionForm {
    #[serde(default)]
    #[validate(custom(function = "known_op"))]
    op: CodeOp,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target_id: String,
    /// Set by the confirmation page.
    #[serde(default)]
    confirm: String,
}

fn known_op(op: &CodeOp) -> Result<(), ValidationError> {
    (*op != CodeOp::Unknown)
        .then_some(())
        .ok_or_else(|| ValidationError::new("unknown_action"))
}

/// Revoke, rotate, or point the code at another asset, site or участок.
pub async fn action(
    State(state): State<AppState>,
    web::CodePath(code): web::CodePath,
    f: AdminForm<ActionForm>,
) -> web::Result {
    let form = &f.form;
    form.validate().map_err(|e| refused(super::problem(&e)))?;
    let back =
        |done: &str| Ok(Redirect::to(&format!("/admin/codes/{code}?done={done}")).into_response());
    if matches!(form.op, CodeOp::Revoke | CodeOp::Rotate) && form.confirm != "1" {
        let shown = crate::labels::layout::display_code(code.as_str());
        let (question, consequence, button) = if form.op == CodeOp::Revoke {
            (
                tr("Отключить код?"),
                trf("Наклейка {} перестанет принимать заявки: посетители увидят «код больше не используется». Уже отправленные заявки и их страницы статуса останутся.", &[&shown]),
                tr("Отключить"),
            )
        } else {
            (
                tr("Заменить код новым?"),
                trf("Будет создан новый код для того же места; наклейка {} начнёт говорить «эта наклейка заменена». Напечатайте и наклейте новую.", &[&shown]),
                tr("Заменить"),
            )
        };
        return Ok(super::ConfirmPage {
            f: super::Frame::new(&f.staff, trf("Код {}", &[&code]), "codes"),
            question,
            consequence,
            action: format!("/admin/codes/{code}/action"),
            fields: vec![("op", form.op.as_str().to_owned())],
            input: None,
            button,
            danger: form.op == CodeOp::Revoke,
            back: format!("/admin/codes/{code}"),
        }
        .response());
    }
    let command = match form.op {
        CodeOp::Revoke => ops::Command::Revoke,
        CodeOp::Restore => ops::Command::Restore,
        CodeOp::Rotate => ops::Command::Rotate,
        CodeOp::Move | CodeOp::Assign | CodeOp::Unknown => {
            let id: Option<i64> = form.target_id.trim().parse().ok();
            match (form.kind.as_str(), id) {
                ("asset", Some(id)) => ops::Command::Move(Target::Asset(AssetId(id))),
                ("location", Some(id)) => ops::Command::Move(Target::Location(LocationId(id))),
                ("district", Some(id)) => ops::Command::Move(Target::District(DistrictId(id))),
                _ => {
                    return Err(refused(tr(
                        "Укажите, куда привязать код: номер актива, площадку или участок.",
                    )))
                }
            }
        }
    };
    let done = match run_command(&state, &f, &code, command).await? {
        ops::Outcome::Rotated(new) => {
            return Ok(Redirect::to(&format!("/admin/codes/{new}?done=rotated")).into_response())
        }
        ops::Outcome::Restored => "restored",
        ops::Outcome::Moved if form.op == CodeOp::Assign => "assigned",
        ops::Outcome::Moved => "moved",
        _ => "revoked",
    };
    back(done)
}

/// Runs a code command for a staff member; refusals become pages that say
/// what to do.
pub(super) async fn run_command<T>(
    state: &AppState,
    f: &AdminForm<T>,
    code: &Code,
    command: ops::Command,
) -> web::Result<ops::Outcome> {
    let actor = ops::Actor::staff(f.staff.admin.id, f.ip.clone());
    match ops::run(
        &state.pool,
        &state.config.catalog,
        &actor,
        Some(code),
        command,
    )
    .await
    {
        // Revoking a revoked code leaves it as asked.
        Err(ops::Error::Refused(ops::Refusal::RevokedAlready)) => Ok(ops::Outcome::Revoked),
        other => other.map_err(op_refusal),
    }
}

/// A code command's refusal as a page that says what to do.
fn op_refusal(e: ops::Error) -> web::Error {
    let r = match e {
        ops::Error::Refused(r) => r,
        ops::Error::Other(e) => return web::Error::Internal(e),
    };
    match r {
        ops::Refusal::NotFound => web::Error::NotFound,
        ops::Refusal::Target(r) => refused(&r.for_staff()),
        ops::Refusal::NotRestorable => refused(tr("Этот код снова включить нельзя: прошло больше 30 дней или его заменили новым. Создайте новый код.")),
        ops::Refusal::NotActive => refused(tr("Заменить можно только действующий код.")),
        ops::Refusal::MoveRevoked => refused(tr("Отключённый код перенести нельзя: создайте новый.")),
        ops::Refusal::NoPauseMessage => refused(tr("Напишите сообщение")),
        ops::Refusal::LabelTooLong | ops::Refusal::RevokedAlready => refused(tr("Не получилось")),
    }
}

#[derive(Template)]
#[template(path = "admin/pick.html")]
struct PickPage {
    f: Frame,
    code: Code,
    /// `assign` for a blank sticker, `move` for one in use.
    op: &'static str,
    q: String,
    current: String,
    assets: Vec<catalog::AssetRow>,
    assets_total: i64,
    locations: Vec<LocationView>,
    districts: Vec<DistrictView>,
}

#[derive(Deserialize, Default)]
pub struct PickQuery {
    #[serde(default)]
    q: String,
}

/// How many matches of each kind the picker lists.
const PICK_LIMIT: i64 = 20;

/// `GET /admin/codes/{code}/pick?q=…`: where to point a code, found by name,
/// serial, inventory number or address; each match is one button. A signed-in
/// technician scanning a blank sticker lands here.
pub async fn pick(
    State(state): State<AppState>,
    Staff(s): Staff,
    web::CodePath(code): web::CodePath,
    Query(q): Query<PickQuery>,
) -> web::Result {
    if !s.admin.role.can_edit() {
        return Err(super::not_allowed().into());
    }
    let pool = &state.pool;
    let record = code_store::get(pool, &code)
        .await?
        .ok_or(web::Error::NotFound)?;
    if record.state == CodeState::Revoked {
        return Err(refused(tr(
            "Отключённый код перенести нельзя: создайте новый код и напечатайте наклейку.",
        )));
    }
    let search: String = q.q.trim().chars().take(100).collect();
    let filter = catalog::AssetFilter {
        q: search.clone(),
        ..Default::default()
    };
    let (assets, assets_total) = catalog::search_assets(pool, &filter, PICK_LIMIT, 0).await?;
    let locations = catalog::find_locations(pool, &search, PICK_LIMIT).await?;
    let needle = search.to_lowercase();
    let districts = catalog::districts(pool)
        .await?
        .into_iter()
        .filter(|d| d.name.to_lowercase().contains(&needle))
        .take(PICK_LIMIT as usize)
        .collect();
    let unassigned = record.state == CodeState::Unassigned;
    let shown = crate::labels::layout::display_code(code.as_str());
    let title = if unassigned {
        trf("Привязать код {}", &[&shown])
    } else {
        trf("Перенести код {}", &[&shown])
    };
    let page = PickPage {
        f: Frame::new(&s, title, "codes"),
        op: if unassigned { "assign" } else { "move" },
        current: describe(&state, record.target).await,
        code,
        q: search,
        assets,
        assets_total,
        locations,
        districts,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct ImageQuery {
    #[serde(default)]
    format: String,
    dpi: Option<u32>,
    mm: Option<f32>,
}

/// The code's QR as SVG, or as PNG at a DPI and printed size.
pub async fn image(
    State(state): State<AppState>,
    Staff(_): Staff,
    web::CodePath(code): web::CodePath,
    Query(q): Query<ImageQuery>,
) -> web::Result {
    let url = code.qr_url(&state.public_url);
    let dpi = q.dpi.unwrap_or(300).clamp(72, 2400);
    let mm = q.mm.unwrap_or(30.0).clamp(5.0, 500.0);
    let (bytes, mime, ext) = match q.format.as_str() {
        "png" => crate::labels::qr::scale_for(&url, dpi, mm)
            .and_then(|scale| crate::labels::qr::png(&url, scale, Some(dpi)))
            .map(|b| (b, "image/png", "png")),
        _ => crate::labels::qr::svg(&url).map(|s| (s.into_bytes(), "image/svg+xml", "svg")),
    }?;
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{code}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct PosterQuery {
    #[serde(default)]
    size: String,
    #[serde(default)]
    english: String,
}

pub async fn poster(
    State(state): State<AppState>,
    Staff(_): Staff,
    web::CodePath(code): web::CodePath,
    Query(q): Query<PosterQuery>,
) -> web::Result {
    let record = code_store::get(&state.pool, &code)
        .await?
        .ok_or(web::Error::NotFound)?;
    let size = layout::PosterSize::parse(&q.size).unwrap_or(layout::PosterSize::A4);
    let bytes = job::poster_pdf(
        &state.pool,
        &state.public_url,
        &record,
        size,
        !q.english.is_empty(),
        state.org.get().name(),
    )
    .await?;
    Ok(pdf_response(bytes, &format!("poster-{code}.pdf")))
}

pub fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
