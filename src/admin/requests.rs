//! Every request with its delivery state, and "retry now" for failed ones.

use crate::i18n::tr::filters;
use crate::i18n::tr::{tr, trf};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::auth::{AdminForm, Button, Staff};
use super::{notice, status_title, Frame};
use crate::store;
use crate::store::requests::{self, RequestListItem};
use crate::web::{self, render};
use crate::AppState;

const PER_PAGE: i64 = 50;
/// Most rows one CSV export holds.
const CSV_MAX: i64 = 50_000;

pub struct Row {
    r: RequestListItem,
    created: String,
    status: String,
    short: String,
    word: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin/requests.html")]
struct ListPage {
    f: Frame,
    rows: Vec<Row>,
    q: ListQuery,
    /// How many match, up to [`requests::COUNT_CAP`] (past it: "more than").
    total: i64,
    many: bool,
    /// Newer, older, the newest and the oldest page, where there is one.
    prev: Option<String>,
    next: Option<String>,
    first: Option<String>,
    oldest: Option<String>,
    /// The filters as a query string, for the CSV link and the tabs.
    query: String,
    locations: Vec<crate::store::catalog::LocationView>,
    asset_name: Option<String>,
    /// A date the person typed that is not one.
    date_error: Option<&'static str>,
}

impl ListPage {
    fn site_selected(&self, id: &crate::backend::LocationId) -> bool {
        self.q.location == id.0.to_string()
    }

    /// The tab link for a status, keeping the other filters.
    fn tab(&self, status: &str) -> String {
        let mut q = self.q.clone();
        q.status = status.to_owned();
        match q.query_string() {
            s if s.is_empty() => "/admin/requests".to_owned(),
            s => format!("/admin/requests?{s}"),
        }
    }
}

/// The workbench's filters as the query string carries them.
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    asset: String,
    /// `YYYY-MM-DD`, in the installation's time zone.
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    /// `1`: only where the customer says it still does not work.
    #[serde(default)]
    not_fixed: String,
    /// Keyset paging: `<created_at>_<id>` of the row to go past.
    after: Option<String>,
    before: Option<String>,
    /// `1`: the oldest page.
    last: Option<String>,
    done: Option<String>,
}

impl ListQuery {
    fn fields(&self) -> Vec<(&'static str, String)> {
        super::query::set_fields([
            ("status", &self.status),
            ("q", &self.q),
            ("location", &self.location),
            ("asset", &self.asset),
            ("from", &self.from),
            ("until", &self.until),
            ("not_fixed", &self.not_fixed),
        ])
    }

    fn query_string(&self) -> String {
        super::query::query_string(&self.fields())
    }

    /// The filter, or what is wrong with a date.
    fn filter(&self, offset_minutes: i32) -> (requests::RequestFilter, Option<&'static str>) {
        let day = |s: &str, next: bool| -> Result<Option<i64>, ()> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            let date =
                time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| ())?;
            let date = if next {
                date.next_day().ok_or(())?
            } else {
                date
            };
            let midnight = date.midnight().assume_utc().unix_timestamp() * 1000;
            Ok(Some(midnight - i64::from(offset_minutes) * 60_000))
        };
        let (from, until, error) = match (day(&self.from, false), day(&self.until, true)) {
            (Ok(f), Ok(u)) => (f, u, None),
            (f, u) => (
                f.ok().flatten(),
                u.ok().flatten(),
                Some(tr(
                    "Дата — в виде 2026-12-01; фильтр по неверной дате не применён.",
                )),
            ),
        };
        (
            requests::RequestFilter {
                status: crate::store::RequestStatus::parse(&self.status),
                q: self.q.chars().take(100).collect(),
                location: self
                    .location
                    .trim()
                    .parse()
                    .ok()
                    .map(crate::backend::LocationId),
                asset: self.asset.trim().parse().ok().map(crate::backend::AssetId),
                from,
                until,
                not_fixed: self.not_fixed == "1",
            },
            error,
        )
    }
}

fn short(text: &str) -> String {
    let s: String = text.chars().take(120).collect();
    if s.len() < text.len() {
        format!("{s}…")
    } else {
        s
    }
}

/// The customer's last word, as the admin says it.
pub fn customer_word(kind: Option<crate::store::CommentKind>) -> Option<&'static str> {
    use crate::store::CommentKind;
    match kind? {
        CommentKind::Fixed => Some(tr("«починили, спасибо»")),
        CommentKind::NotFixed => Some(tr("«всё ещё не работает»")),
        _ => None,
    }
}

pub async fn list(
    State(state): State<AppState>,
    Staff(s): Staff,
    Query(q): Query<ListQuery>,
) -> web::Result {
    let pool = &state.pool;
    let (filter, date_error) = q.filter(state.config.server.utc_offset_minutes);
    let cursor = |raw: &Option<String>| {
        let (t, id) = raw.as_deref()?.split_once('_')?;
        Some((t.parse::<i64>().ok()?, id.to_owned()))
    };
    let at = if let Some((t, id)) = cursor(&q.after) {
        requests::PageAt::After(t, id)
    } else if let Some((t, id)) = cursor(&q.before) {
        requests::PageAt::Before(t, id)
    } else if q.last.as_deref() == Some("1") {
        requests::PageAt::Last
    } else {
        requests::PageAt::First
    };
    // One row more than a page tells whether there is another beyond it.
    let (mut items, total) = requests::search(pool, &filter, &at, PER_PAGE + 1).await?;
    let beyond = items.len() as i64 > PER_PAGE;
    let (newer, older) = match at {
        requests::PageAt::First | requests::PageAt::After(..) => {
            items.truncate(PER_PAGE as usize);
            (at != requests::PageAt::First, beyond)
        }
        requests::PageAt::Before(..) | requests::PageAt::Last => {
            if beyond {
                items.remove(0);
            }
            (beyond, matches!(at, requests::PageAt::Before(..)))
        }
    };
    let asset_name = match filter.asset {
        Some(id) => Some(
            crate::store::catalog::asset(pool, id)
                .await?
                .map(|a| a.name)
                .unwrap_or_else(|| format!("#{id}")),
        ),
        None => None,
    };
    let query = q.query_string();
    let link = |paging: String| {
        if query.is_empty() {
            format!("/admin/requests?{paging}")
        } else {
            format!("/admin/requests?{query}&{paging}")
        }
    };
    let mark = |r: &RequestListItem| format!("{}_{}", r.created_at, r.id);
    let prev = newer
        .then(|| items.first().map(|r| link(format!("before={}", mark(r)))))
        .flatten();
    let next = older
        .then(|| items.last().map(|r| link(format!("after={}", mark(r)))))
        .flatten();
    let first = newer.then(|| match query.as_str() {
        "" => "/admin/requests".to_owned(),
        q => format!("/admin/requests?{q}"),
    });
    let oldest = older.then(|| link("last=1".into()));
    let rows = items
        .into_iter()
        .map(|r| Row {
            created: super::when(&state, Some(r.created_at)),
            status: status_title(&r.status),
            short: short(&r.description),
            word: customer_word(r.feedback),
            r,
        })
        .collect();
    let view = ListPage {
        f: Frame::new(&s, tr("Заявки"), "requests").with_notice(notice(q.done.as_deref())),
        rows,
        total: total.min(requests::COUNT_CAP),
        many: total > requests::COUNT_CAP,
        prev,
        next,
        first,
        oldest,
        locations: crate::store::catalog::locations(pool).await?,
        asset_name,
        date_error,
        query,
        q,
    };
    Ok(render(StatusCode::OK, &view))
}

/// One cell of the CSV: quoted, and never read as a formula by a spreadsheet
/// (a leading `=`, `+`, `-`, `@`, tab or CR gets a `'`).
fn csv_cell(s: &str) -> String {
    let guarded = match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// `GET /admin/requests.csv?…`: the workbench's filter as CSV (UTF-8 with a
/// BOM, so spreadsheets read Cyrillic), at most 50,000 rows.
pub async fn csv(
    State(state): State<AppState>,
    Staff(_): Staff,
    Query(q): Query<ListQuery>,
) -> web::Result {
    let (filter, _) = q.filter(state.config.server.utc_offset_minutes);
    let (items, _) =
        requests::search(&state.pool, &filter, &requests::PageAt::First, CSV_MAX).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(tr("Когда;Заявка qrdesk;Код;Оборудование;Описание;Состояние;Номер задачи;Статус задачи;Клиент сказал\r\n"));
    for r in &items {
        let cells = [
            super::when(&state, Some(r.created_at)),
            r.id.clone(),
            r.code.clone(),
            r.asset_name.clone().unwrap_or_default(),
            r.description.clone(),
            status_title(&r.status),
            r.task_number.clone().unwrap_or_default(),
            r.task_status_name.clone().unwrap_or_default(),
            customer_word(r.feedback).unwrap_or_default().to_owned(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"qrdesk-requests.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// One line of a request's conversation in the admin.
pub struct Line {
    staff: bool,
    who: String,
    when: String,
    text: String,
    at: i64,
}

#[derive(Template)]
#[template(path = "admin/request.html")]
struct DetailPage {
    f: Frame,
    r: crate::store::requests::RequestRecord,
    asset: Option<crate::store::catalog::AssetView>,
    status: String,
    created: String,
    task_link: Option<String>,
    photos: Vec<String>,
    lines: Vec<Line>,
    followers: i64,
    word: Option<&'static str>,
}

/// `GET /admin/requests/{id}`: everything about one request, with its photos
/// and conversation, and links to the task and the code.
pub async fn detail(
    State(state): State<AppState>,
    Staff(s): Staff,
    Path(id): Path<String>,
) -> web::Result {
    use crate::store::{attachments, comments, CommentKind};
    let pool = &state.pool;
    let mut r = requests::get(pool, &id).await?.ok_or_else(|| {
        web::Error::from(super::message(
            StatusCode::NOT_FOUND,
            tr("Нет такой заявки"),
            tr("Найдите заявку в списке заявок."),
        ))
    })?;
    // A customer's contacts are for admins, as viewer API tokens get none.
    if !s.admin.role.can_edit() {
        r.contact_name = None;
        r.contact_phone = None;
        r.contact_email = None;
    }
    let asset = match r.asset_id {
        Some(a) => crate::store::catalog::asset(pool, a).await?,
        None => None,
    };
    let photos = attachments::for_request(pool, &r.id)
        .await?
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .map(|a| a.id)
        .collect();
    let mine = comments::for_request(pool, &r.id).await?;
    let word = customer_word(
        mine.iter()
            .filter(|c| matches!(c.kind, CommentKind::Fixed | CommentKind::NotFixed))
            .max_by_key(|c| c.created_at)
            .map(|c| c.kind),
    );
    let posted: Vec<i64> = mine.iter().filter_map(|c| c.backend_id).collect();
    let mut lines: Vec<Line> = mine
        .iter()
        .map(|c| Line {
            staff: false,
            who: match c.kind {
                CommentKind::SameProblem => tr("Другой посетитель: та же проблема").into(),
                _ => tr("Заявитель").into(),
            },
            when: super::when(&state, Some(c.created_at)),
            text: c.text.clone(),
            at: c.created_at,
        })
        .collect();
    for (backend_id, at, author, text) in comments::messages(pool, &r.id).await? {
        if posted.contains(&backend_id) {
            continue;
        }
        lines.push(Line {
            staff: true,
            who: author.unwrap_or_else(|| tr("Исполнитель").into()),
            when: super::when(&state, at),
            text,
            at: at.unwrap_or(0),
        });
    }
    lines.sort_by_key(|l| l.at);
    let template = state.config.status.task_link.trim();
    let task_link = match (r.task_id, template) {
        (Some(task), t) if t.starts_with("https://") || t.starts_with("http://") => {
            Some(t.replace("{id}", &task.to_string()).replace(
                "{number}",
                &super::query::urlencode(r.task_number.as_deref().unwrap_or_default()),
            ))
        }
        _ => None,
    };
    let page = DetailPage {
        f: Frame::new(
            &s,
            trf("Заявка от {}", &[&super::when(&state, Some(r.created_at))]),
            "requests",
        ),
        status: status_title(&r.status),
        created: super::when(&state, Some(r.created_at)),
        followers: requests::follower_count(pool, &r.id).await?,
        asset,
        task_link,
        photos,
        lines,
        word,
        r,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Puts a failed request back in the queue; the worker wakes at once.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: AdminForm<Button>,
) -> web::Result {
    let now = store::now_ms();
    if !requests::retry(&state.pool, &id, now).await? {
        return Ok(super::message(
            StatusCode::CONFLICT,
            tr("Не получилось"),
            tr("Повторить можно только заявку с ошибкой."),
        ));
    }
    f.audit(&state, "request-retry", &id).await;
    state.worker.wake.notify_one();
    Ok(Redirect::to("/admin/requests?done=retried").into_response())
}
