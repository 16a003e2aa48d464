//! `qrdesk check` and the admin page "Подключение к HubEx": one line per
//! thing that must hold for requests to become tasks, each with what to do
//! when it does not. No task is created unless asked.

use std::ops::ControlFlow;
use std::time::Duration;

use reqwest::{header, StatusCode};
use serde_json::Value;

use super::client::{FilterProbe, HubexClient};
use super::defaults::{self as catalog, Why};
use super::read::Surprises;
use crate::backend::{
    AssetId, CheckItem, CheckReport, District, NewTask, Priority, UserId, Verdict,
};
use crate::config::{CatalogConfig, HubexConfig};
use crate::domain::lang::Lang;

use crate::backend::in_lang as t;

/// Lists read by the check and the right (API.md §9) each needs.
const RIGHTS: [(&str, &str); 5] = [
    ("/WORK/Tasks", "TasksList"),
    ("/WORK/TaskTypes", "TaskTypesList"),
    ("/WORK/RequestMethods", "RequestMethodsList"),
    ("/SLA/Criticalities", "CriticalitiesList"),
    ("/WORK/TaskStatuses", "TaskStatusesList"),
];

struct Run<'a> {
    client: &'a HubexClient,
    lang: Lang,
    items: Vec<CheckItem>,
    times: Vec<Duration>,
}

impl Run<'_> {
    fn push(&mut self, verdict: Verdict, what: String, detail: String, fix: Option<String>) {
        self.items.push(CheckItem {
            verdict,
            what,
            detail,
            fix,
        });
    }

    fn why(&self, why: Why, key: &str) -> String {
        let l = self.lang;
        match why {
            Why::Configured => t(l, &format!("задан в {key}"), &format!("set in {key}")),
            Why::MarkedDefault => t(
                l,
                "значение по умолчанию в HubEx",
                "marked default in HubEx",
            ),
            Why::Named(n) => t(
                l,
                &format!("название содержит «{n}»"),
                &format!("its name contains “{n}”"),
            ),
            Why::Integration => t(
                l,
                "id 4, совет HubEx для интеграций",
                "id 4, HubEx's advice for integrations",
            ),
            Why::First => t(
                l,
                &format!("первый в списке; задайте {key}, если нужен другой"),
                &format!("first in the list; set {key} for another"),
            ),
        }
    }

    /// A `GET` with `Range: items=1-1`, timed; the status, or a network error.
    async fn peek(&mut self, path: &str, app: &str) -> Result<StatusCode, String> {
        let resp = self
            .client
            .send_as(Priority::View, app, || {
                self.client.get(path).header(header::RANGE, "items=1-1")
            })
            .await
            .map_err(|e| e.to_string())?;
        self.times.push(self.client.last_round_trip());
        Ok(resp.status())
    }
}

/// Runs the check against the tenant `client` talks to.
pub async fn run(
    client: &HubexClient,
    hubex: &HubexConfig,
    scope: &CatalogConfig,
    lang: Lang,
    create_test_task: bool,
) -> CheckReport {
    let mut run = Run {
        client,
        lang,
        items: Vec::new(),
        times: Vec::new(),
    };
    let mut report = CheckReport {
        checked_at: crate::store::now_ms(),
        ..Default::default()
    };
    if run.reachable().await.is_break() || run.token().await.is_break() {
        return finish(run, report);
    }
    let Some(app) = run.application_id().await else {
        return finish(run, report);
    };
    let anonymous = run.anonymous_user().await;
    let sx = Surprises::default();
    let scoped = run.allowed_districts(scope, &sx).await;
    // The rights are probed first, and reported after what new tasks get.
    let denied = run.denied_rights(&app).await;
    let fields = run.new_task_fields(hubex, &sx).await;
    run.list_rights(&denied);
    report.can_create = fields.ok
        && !scoped.allowed.is_empty()
        && scoped.missing.is_empty()
        && !denied.contains(&"TasksList");
    if create_test_task && report.can_create {
        run.test_task(&scoped, &fields, anonymous, &sx, &mut report)
            .await;
    }
    finish(run, report)
}

/// The allowed участки as the API user sees them.
struct Scoped {
    allowed: Vec<District>,
    /// Configured ids the API user does not see.
    missing: Vec<i64>,
    /// An asset of an allowed участок, when the bulk read found one.
    first_asset: Option<AssetId>,
}

/// What new tasks get, as picked from the tenant's lists.
struct Picked {
    task_type: Option<(i64, Why)>,
    method: Option<(i64, Why)>,
    criticality: Option<(i64, Why)>,
    /// Every pick is there and known to HubEx.
    ok: bool,
}

impl Run<'_> {
    /// 1. The base URL answers at all (any HTTP status will do).
    async fn reachable(&mut self) -> ControlFlow<()> {
        let (client, l) = (self.client, self.lang);
        match client.ping().await {
            Ok(status) => {
                let rtt = client.last_round_trip();
                let ms = rtt.as_millis();
                self.times.push(rtt);
                self.push(
                    Verdict::Ok,
                    t(l, "Адрес HubEx отвечает", "HubEx base URL reachable"),
                    format!(
                        "{} — HTTP {} ({ms} {})",
                        client.base(),
                        status.as_u16(),
                        t(l, "мс", "ms")
                    ),
                    None,
                );
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.push(
                    Verdict::Fail,
                    t(l, "Адрес HubEx не отвечает", "HubEx base URL not reachable"),
                    format!("{}: {e}", client.base()),
                    Some(t(
                        l,
                        "проверьте hubex.base_url (QRDESK_HUBEX__BASE_URL), DNS и доступ в интернет с этого сервера",
                        "check hubex.base_url (QRDESK_HUBEX__BASE_URL), DNS and this server's outbound access",
                    )),
                );
                ControlFlow::Break(())
            }
        }
    }

    /// 2. The service token.
    async fn token(&mut self) -> ControlFlow<()> {
        let l = self.lang;
        if let Err(e) = self.client.exchange_token().await {
            self.push(
                Verdict::Fail,
                t(l, "Служебный токен не принят", "Service token refused"),
                e.to_string(),
                Some(t(
                    l,
                    "создайте токен в HubEx: Интеграция → Служебные пользователи → Пользователь API → Сгенерировать, и задайте hubex.service_token (QRDESK_HUBEX__SERVICE_TOKEN)",
                    "generate one in HubEx (Integration → Service users → API user → Generate) and set hubex.service_token (QRDESK_HUBEX__SERVICE_TOKEN)",
                )),
            );
            return ControlFlow::Break(());
        }
        self.push(
            Verdict::Ok,
            t(
                l,
                "Служебный токен обменян на ключ доступа",
                "Service token exchanged for an access token",
            ),
            String::new(),
            None,
        );
        ControlFlow::Continue(())
    }

    /// Step 3, X-Application-ID: the first authorised read; on 403 the
    /// other id is tried. The accepted id, or none when the check stops.
    async fn application_id(&mut self) -> Option<String> {
        let l = self.lang;
        let app = self.client.application_id().to_owned();
        match self.peek("/ES/Districts", &app).await {
            Ok(s) if s != StatusCode::FORBIDDEN => {
                self.push(
                    Verdict::Ok,
                    t(l, "X-Application-ID принят", "X-Application-ID accepted"),
                    app.clone(),
                    None,
                );
                Some(app)
            }
            Ok(_) => {
                self.application_id_refused(&app).await;
                None
            }
            Err(e) => {
                self.push(
                    Verdict::Fail,
                    t(l, "Чтение участков не удалось", "Reading участки failed"),
                    e,
                    None,
                );
                None
            }
        }
    }

    /// A 403 with the configured id: is it the id, or the role?
    async fn application_id_refused(&mut self, app: &str) {
        let l = self.lang;
        let other = if app == "5" { "3" } else { "5" };
        let other_ok = matches!(self.peek("/ES/Districts", other).await, Ok(s) if s.is_success());
        if other_ok {
            self.push(
                Verdict::Fail,
                t(l, "X-Application-ID не принят", "X-Application-ID refused"),
                format!("{app}: 403, {other}: OK"),
                Some(t(
                    l,
                    &format!("задайте hubex.application_id = {other} (QRDESK_HUBEX__APPLICATION_ID={other})"),
                    &format!("set hubex.application_id = {other} (QRDESK_HUBEX__APPLICATION_ID={other})"),
                )),
            );
        } else {
            self.push(
                Verdict::Fail,
                t(l, "HubEx отказал в доступе (403)", "HubEx refused access (403)"),
                format!("GET /ES/Districts, X-Application-ID {app} и {other}"),
                Some(t(
                    l,
                    "включите роли пользователя API «API полномочия» и дайте ей участки (Интеграция → Служебные пользователи)",
                    "switch on the API user's role's \"API powers\" and give it участки (Integration → Service users)",
                )),
            );
        }
    }

    /// 4. The anonymous user.
    async fn anonymous_user(&mut self) -> Option<UserId> {
        let l = self.lang;
        match self.client.anonymous_user(Priority::View).await {
            Ok(Some(u)) => {
                self.push(
                    Verdict::Ok,
                    t(l, "Анонимный пользователь найден", "Anonymous user found"),
                    format!("userID {u}"),
                    None,
                );
                Some(u)
            }
            Ok(None) => {
                self.push(
                    Verdict::Warn,
                    t(l, "Анонимный пользователь не включён", "No anonymous user"),
                    t(
                        l,
                        "заявки будут созданы от пользователя API",
                        "tasks will be created as the API user",
                    ),
                    Some(t(
                        l,
                        "включите его: Интеграция → Служебные пользователи → Анонимный пользователь, с ролью (например, Заказчик) и участками",
                        "enable it: Integration → Service users → Anonymous user, with a role (e.g. Customer) and участки",
                    )),
                );
                None
            }
            Err(e) => {
                self.push(
                    Verdict::Warn,
                    t(
                        l,
                        "Анонимный пользователь не прочитан",
                        "Anonymous user unreadable",
                    ),
                    e.to_string(),
                    None,
                );
                None
            }
        }
    }

    /// 5. The bulk path for участки: the list path that honours `districtID`.
    async fn bulk_path(&mut self) -> Option<&'static str> {
        let (client, l) = (self.client, self.lang);
        let export = client
            .probe_district_filter("/EXPORT/Assets", Priority::View)
            .await;
        let filter = client
            .probe_district_filter("/ES/Assets", Priority::View)
            .await;
        match (&export, &filter) {
            (Ok(FilterProbe::Honoured), _) => {
                self.push(
                    Verdict::Ok,
                    t(l, "Право AssetsExport есть", "AssetsExport right present"),
                    t(
                        l,
                        "синхронизация читает оборудование участками: GET /EXPORT/Assets?districtID=",
                        "sync reads assets per участок: GET /EXPORT/Assets?districtID=",
                    ),
                    None,
                );
                Some("/EXPORT/Assets")
            }
            (e, Ok(FilterProbe::Honoured)) => {
                self.push(
                    Verdict::Ok,
                    t(
                        l,
                        "Оборудование читается участками",
                        "Assets read per участок",
                    ),
                    format!(
                        "GET /ES/Assets?districtID= ({}: {})",
                        t(l, "экспорт", "export"),
                        probe_text(l, e)
                    ),
                    None,
                );
                Some("/ES/Assets")
            }
            (e, _) => {
                self.push(
                    Verdict::Warn,
                    t(l, "Нет права AssetsExport", "No AssetsExport right"),
                    format!(
                        "{}; {}",
                        probe_text(l, e),
                        t(
                            l,
                            "участки оборудования читаются по одному запросу на новое или изменённое оборудование",
                            "an asset's участки are read one call per new or changed asset",
                        )
                    ),
                    Some(t(
                        l,
                        "добавьте роли пользователя API право «AssetsExport» — тогда синхронизация обойдётся несколькими запросами на участок",
                        "give the API user's role the AssetsExport right: sync then costs a few calls per участок",
                    )),
                );
                None
            }
        }
    }

    /// 5. The allowed участки with their assets.
    async fn allowed_districts(&mut self, scope: &CatalogConfig, sx: &Surprises) -> Scoped {
        let districts = self.client.districts(sx).await.unwrap_or_default();
        let bulk_path = self.bulk_path().await;
        let wanted = &scope.allowed_districts;
        let allowed: Vec<District> = districts
            .iter()
            .filter(|d| wanted.is_empty() || wanted.contains(&d.id.0))
            .cloned()
            .collect();
        let missing: Vec<i64> = wanted
            .iter()
            .copied()
            .filter(|id| !districts.iter().any(|d| d.id.0 == *id))
            .collect();
        let mut counts = Vec::new();
        let mut first_asset = None;
        for d in &allowed {
            let (n, first) = match bulk_path {
                Some(path) => self.count_assets(path, d, sx).await,
                None => (d.assets_count, None),
            };
            first_asset = first_asset.or(first);
            counts.push(match n {
                Some(n) => format!("{} ({n})", d.name),
                None => format!("{} (?)", d.name),
            });
        }
        self.report_districts(&allowed, &missing, &counts);
        Scoped {
            allowed,
            missing,
            first_asset,
        }
    }

    /// An участок's asset count through the bulk path, and its first asset.
    async fn count_assets(
        &self,
        path: &str,
        d: &District,
        sx: &Surprises,
    ) -> (Option<i64>, Option<AssetId>) {
        let mut first = None;
        let end = self
            .client
            .list_each::<Value>(
                path,
                &[("districtID", d.id.to_string())],
                Priority::View,
                sx,
                1,
                |id, _| {
                    first = first.or(id);
                    ControlFlow::Break(())
                },
            )
            .await
            .ok();
        let n = end
            .and_then(|e| e.total)
            .map(|n| n as i64)
            .or(d.assets_count)
            .or(first.map(|_| 1));
        (n, first.map(AssetId))
    }

    fn report_districts(&mut self, allowed: &[District], missing: &[i64], counts: &[String]) {
        let l = self.lang;
        if allowed.is_empty() || !missing.is_empty() {
            self.push(
                Verdict::Fail,
                t(l, "Разрешённые участки", "Allowed участки"),
                if missing.is_empty() {
                    t(l, "пользователю API не видно ни одного участка", "the API user sees no участок")
                } else {
                    format!(
                        "{}: {missing:?}",
                        t(l, "не видны пользователю API", "not visible to the API user")
                    )
                },
                Some(t(
                    l,
                    "дайте пользователю API и анонимному пользователю нужные участки или поправьте catalog.allowed_districts",
                    "give the API user and the anonymous user these участки, or fix catalog.allowed_districts",
                )),
            );
        } else {
            self.push(
                Verdict::Ok,
                t(
                    l,
                    "Разрешённые участки и оборудование в них",
                    "Allowed участки and their assets",
                ),
                counts.join(", "),
                None,
            );
        }
    }

    /// 7. The rights of the lists qrdesk reads: those HubEx refuses.
    async fn denied_rights(&mut self, app: &str) -> Vec<&'static str> {
        let mut denied = Vec::new();
        for (path, right) in RIGHTS {
            if let Ok(StatusCode::FORBIDDEN) = self.peek(path, app).await {
                denied.push(right);
            }
        }
        denied
    }

    fn list_rights(&mut self, denied: &[&str]) {
        let l = self.lang;
        if denied.is_empty() {
            self.push(
                Verdict::Ok,
                t(l, "Права на чтение списков", "List rights"),
                RIGHTS.iter().map(|r| r.1).collect::<Vec<_>>().join(", "),
                None,
            );
        } else {
            self.push(
                Verdict::Fail,
                t(l, "Не хватает прав", "Missing rights"),
                denied.join(", "),
                Some(t(
                    l,
                    "добавьте эти права роли пользователя API (Настройки → Роли → API полномочия); нужны также TaskAdd, TaskAttachmentUpload, TaskConversationAdd, TaskConversationsList, TaskGet",
                    "add these rights to the API user's role (Settings → Roles → API powers); TaskAdd, TaskAttachmentUpload, TaskConversationAdd, TaskConversationsList and TaskGet are needed too",
                )),
            );
        }
    }

    /// 6. What new tasks get: task type, request method, criticality.
    async fn new_task_fields(&mut self, hubex: &HubexConfig, sx: &Surprises) -> Picked {
        let client = self.client;
        let types = client.task_types(sx).await.unwrap_or_default();
        let methods = client.request_methods(sx).await.unwrap_or_default();
        let crits = client.criticalities(sx).await.unwrap_or_default();
        let type_rows: Vec<(i64, &str, bool)> = types
            .iter()
            .map(|x| (x.id, x.name.as_str(), x.is_default))
            .collect();
        let method_rows: Vec<(i64, &str)> =
            methods.iter().map(|x| (x.id, x.name.as_str())).collect();
        let crit_rows: Vec<(i64, bool)> = crits.iter().map(|x| (x.id, x.is_default)).collect();
        let picked = Picked {
            task_type: catalog::pick_task_type(hubex.task_type_id, &type_rows),
            method: catalog::pick_request_method_why(hubex.request_method_id, &method_rows),
            criticality: catalog::pick_criticality(hubex.criticality_id, &crit_rows),
            ok: true,
        };
        let type_names: Vec<(i64, &str)> = type_rows.iter().map(|r| (r.0, r.1)).collect();
        let crit_names: Vec<(i64, &str)> = crits.iter().map(|c| (c.id, c.name.as_str())).collect();
        let ok = [
            self.field(
                ("Тип задачи", "Task type"),
                "hubex.task_type_id",
                picked.task_type,
                &type_names,
            ),
            self.field(
                ("Способ обращения", "Request method"),
                "hubex.request_method_id",
                picked.method,
                &method_rows,
            ),
            self.field(
                ("Критичность", "Criticality"),
                "hubex.criticality_id",
                picked.criticality,
                &crit_names,
            ),
        ];
        Picked {
            ok: ok.iter().all(|ok| *ok),
            ..picked
        }
    }

    /// One line of what new tasks get; whether it holds.
    fn field(
        &mut self,
        (label_ru, label_en): (&str, &str),
        key: &str,
        picked: Option<(i64, Why)>,
        names: &[(i64, &str)],
    ) -> bool {
        let l = self.lang;
        let what = t(l, label_ru, label_en);
        let name_of = |id: i64| names.iter().find(|r| r.0 == id).map(|r| r.1.to_owned());
        match picked {
            Some((id, why)) => {
                match name_of(id) {
                    Some(name) => {
                        let detail = format!("{id} «{name}» — {}", self.why(why, key));
                        self.push(Verdict::Ok, what, detail, None);
                        true
                    }
                    None => {
                        self.push(
                        Verdict::Fail,
                        what,
                        format!("{id}: {}", t(l, "нет в HubEx", "not in HubEx")),
                        Some(t(
                            l,
                            &format!("задайте в {key} один из: {names:?}, или 0 для выбора по умолчанию"),
                            &format!("set {key} to one of {names:?}, or 0 to choose automatically"),
                        )),
                    );
                        false
                    }
                }
            }
            None if key == "hubex.criticality_id" => {
                self.push(
                    Verdict::Ok,
                    what,
                    t(
                        l,
                        "не передаётся (в HubEx нет основной)",
                        "not sent (none is marked default)",
                    ),
                    None,
                );
                true
            }
            None => {
                self.push(
                    Verdict::Fail,
                    what,
                    t(l, "список пуст", "the list is empty"),
                    Some(t(
                        l,
                        &format!("заведите его в HubEx или задайте {key}"),
                        &format!("add one in HubEx or set {key}"),
                    )),
                );
                false
            }
        }
    }

    /// 8. A test task, only when asked.
    async fn test_task(
        &mut self,
        scoped: &Scoped,
        fields: &Picked,
        anonymous: Option<UserId>,
        sx: &Surprises,
        report: &mut CheckReport,
    ) {
        let (client, l) = (self.client, self.lang);
        let (Some((type_id, _)), Some((method_id, _))) = (fields.task_type, fields.method) else {
            return;
        };
        let asset = match scoped.first_asset {
            Some(a) => Some(a),
            None => first_asset_by_reads(client, &scoped.allowed, sx).await,
        };
        let task = test_task_of(l, asset);
        let task_fields = super::client::TaskFields {
            task_type_id: type_id,
            request_method_id: method_id,
            criticality_id: fields.criticality.map(|c| c.0),
            requested_by: anonymous,
        };
        match client.create_with(&task, &task_fields).await {
            Ok(created) => {
                self.push(
                    Verdict::Ok,
                    t(l, "Проверочная заявка создана", "Test task created"),
                    format!(
                        "№ {} (id {}), {} {}",
                        created.number.as_deref().unwrap_or("?"),
                        created.id,
                        t(l, "оборудование", "asset"),
                        asset.map_or("—".into(), |a| a.to_string())
                    ),
                    None,
                );
                report.created = Some(created);
            }
            Err(e) => {
                report.can_create = false;
                self.push(
                    Verdict::Fail,
                    t(l, "Проверочная заявка не создана", "Test task not created"),
                    e.to_string(),
                    Some(t(
                        l,
                        "проверьте право TaskAdd роли пользователя API и участки анонимного пользователя",
                        "check the API user's role's TaskAdd right and the anonymous user's участки",
                    )),
                );
            }
        }
    }
}

/// The check's test task, on `asset` when there is one.
fn test_task_of(l: Lang, asset: Option<AssetId>) -> NewTask {
    let id = uuid::Uuid::now_v7();
    let notes = t(
        l,
        "Проверка связи qrdesk (qrdesk check --create-test-task). Эту заявку можно закрыть.",
        "qrdesk connection check (qrdesk check --create-test-task). You may close this task.",
    );
    NewTask {
        stamp: id,
        reference: format!("qrdesk-check-{id}"),
        created_at: crate::store::now_ms(),
        description: notes,
        asset: asset.map(|id| crate::backend::TaskAsset {
            id,
            name: String::new(),
            serial_number: None,
            inventory_number: None,
        }),
        ..NewTask::default()
    }
}

/// Without a bulk path: the first asset of the first allowed участок, read
/// asset by asset (at most 20).
async fn first_asset_by_reads(
    client: &HubexClient,
    allowed: &[District],
    sx: &Surprises,
) -> Option<AssetId> {
    let mut ids = Vec::new();
    client
        .list_each::<Value>("/ES/Assets", &[], Priority::View, sx, 1, |id, _| {
            ids.extend(id);
            ControlFlow::Continue(())
        })
        .await
        .ok()?;
    let first = allowed.first()?;
    for id in ids.into_iter().take(20) {
        let path = format!("/ES/Assets/{id}/districts");
        let mut here = false;
        let _ = client
            .list_each::<super::types::District>(&path, &[], Priority::View, sx, 1, |did, d| {
                here |= d.district_id.or(d.id).or(did) == Some(first.id.0)
                    || d.name.as_deref() == Some(first.name.as_str());
                ControlFlow::Continue(())
            })
            .await;
        if here {
            return Some(AssetId(id));
        }
    }
    None
}

fn probe_text(l: Lang, p: &Result<FilterProbe, crate::backend::BackendError>) -> String {
    match p {
        Ok(FilterProbe::Forbidden) => t(l, "403, нет права", "403, no right"),
        Ok(FilterProbe::Unavailable) => t(l, "недоступен", "not available"),
        Ok(FilterProbe::Ignored) => t(l, "фильтр не работает", "filter ignored"),
        Ok(FilterProbe::Honoured) => t(l, "работает", "works"),
        Err(e) => e.to_string(),
    }
}

fn finish(mut run: Run<'_>, mut report: CheckReport) -> CheckReport {
    if !run.times.is_empty() {
        run.times.sort();
        let median = run.times[run.times.len() / 2].as_millis();
        let max = run.times.last().map_or(0, |d| d.as_millis());
        let l = run.lang;
        let ms = t(l, "мс", "ms");
        run.push(
            Verdict::Ok,
            t(l, "Время ответа HubEx", "HubEx round trip"),
            format!(
                "{} {median} {ms}, {} {max} {ms} ({} {})",
                t(l, "медиана", "median"),
                t(l, "максимум", "max"),
                run.times.len(),
                t(l, "запросов", "calls")
            ),
            None,
        );
    }
    report.items = run.items;
    if report.items.iter().any(|i| i.verdict == Verdict::Fail) {
        report.can_create = false;
    }
    report
}
