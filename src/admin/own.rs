//! The own catalog's pages, for task systems without equipment (Bitrix24):
//! add, change and remove an asset, and import a CSV file after a preview
//! that shows each row's problems before anything is stored.

use crate::i18n::tr::filters;
use crate::i18n::tr::tr;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use validator::Validate;

use super::auth::{AdminForm, Staff};
use super::Frame;
use crate::backend::AssetId;
use crate::catalog::own::{self, Preview, Problem};
use crate::store::admins::Role;
use crate::store::catalog::{self as store_catalog, KeepReason};
use crate::web::{self, render};
use crate::AppState;

/// Largest CSV file taken (about 20,000 rows).
pub const MAX_CSV_BYTES: usize = 4 * 1024 * 1024;

/// The asset form. Lengths are checked here; names and spaces are tidied
/// by [`own::validate`].
#[derive(Debug, Clone, Default, Deserialize, Validate)]
pub struct AssetForm {
    #[serde(default)]
    #[validate(length(max = 300, code = "asset_field"))]
    pub name: String,
    #[serde(default)]
    #[validate(length(max = 300, code = "asset_field"))]
    pub site: String,
    #[serde(default)]
    #[validate(length(max = 300, code = "asset_field"))]
    pub address: String,
    #[serde(default)]
    #[validate(length(max = 300, code = "asset_field"))]
    pub serial: String,
    #[serde(default)]
    #[validate(length(max = 300, code = "asset_field"))]
    pub inventory: String,
}

impl AssetForm {
    /// The asset, or each field's problem in the page's language.
    fn asset(&self) -> Result<store_catalog::OwnAsset, Vec<(&'static str, String)>> {
        let lengths = self.validate();
        let checked = own::validate(
            Some(&self.name),
            Some(&self.site),
            Some(&self.address),
            Some(&self.serial),
            Some(&self.inventory),
        );
        match (lengths, checked) {
            (Ok(()), Ok(a)) => Ok(a),
            (_, Err(problems)) => Err(problems.iter().map(|p| (p.field, text(p))).collect()),
            (Err(_), Ok(_)) => Err(vec![("name", super::message_for("asset_field").to_owned())]),
        }
    }
}

fn text(p: &Problem) -> String {
    match crate::i18n::tr::lang() {
        crate::i18n::Lang::En => p.en.clone(),
        crate::i18n::Lang::Ru => p.ru.clone(),
    }
}

/// The pages exist only while qrdesk keeps the catalog.
fn own_catalog(state: &AppState) -> Result<(), web::Error> {
    if state.backend.capabilities().synced_catalog {
        return Err(web::Error::from(super::message(
            StatusCode::NOT_FOUND,
            tr("Каталог синхронизируется"),
            tr("Оборудование добавляют в системе задач; qrdesk забирает его при синхронизации."),
        )));
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/asset_form.html")]
struct FormPage {
    f: Frame,
    action: String,
    form: AssetForm,
    errors: Vec<(&'static str, String)>,
    /// The asset being changed, for "remove".
    id: Option<AssetId>,
}

/// One field of the asset form as the page shows it.
struct Field<'a> {
    name: &'static str,
    label: &'static str,
    value: &'a str,
    hint: &'static str,
    autocomplete: &'static str,
    required: bool,
    error: Option<&'a str>,
}

impl FormPage {
    fn fields(&self) -> Vec<Field<'_>> {
        let f = &self.form;
        [
            (
                "name",
                tr("Название"),
                f.name.as_str(),
                tr("Как на табличке оборудования: модель, марка."),
                "off",
            ),
            (
                "site",
                tr("Участок"),
                f.site.as_str(),
                tr("Например, «Котельная» или «Офис». Новый участок создаётся сам."),
                "off",
            ),
            (
                "address",
                tr("Адрес"),
                f.address.as_str(),
                tr("Где стоит: адрес, этаж, помещение."),
                "street-address",
            ),
            ("serial", tr("Серийный номер"), f.serial.as_str(), "", "off"),
            (
                "inventory",
                tr("Инвентарный номер"),
                f.inventory.as_str(),
                "",
                "off",
            ),
        ]
        .into_iter()
        .map(|(name, label, value, hint, autocomplete)| Field {
            name,
            label,
            value,
            hint,
            autocomplete,
            required: name == "name",
            error: self
                .errors
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, e)| e.as_str()),
        })
        .collect()
    }
}

fn form_page(
    s: &crate::store::admins::Session,
    id: Option<AssetId>,
    form: AssetForm,
    errors: Vec<(&'static str, String)>,
) -> Response {
    let (title, action) = match id {
        Some(id) => (
            tr("Изменить оборудование"),
            format!("/admin/catalog/assets/{id}/edit"),
        ),
        None => (tr("Добавить оборудование"), "/admin/catalog/new".to_owned()),
    };
    let status = super::status_for(!errors.is_empty());
    let page = FormPage {
        f: Frame::new(s, title, "catalog"),
        action,
        form,
        errors,
        id,
    };
    render(status, &page)
}

/// `GET /admin/catalog/new`.
pub async fn new_page(State(state): State<AppState>, Staff(s): Staff) -> web::Result {
    own_catalog(&state)?;
    if !s.admin.role.can_edit() {
        return Ok(super::not_allowed());
    }
    Ok(form_page(&s, None, AssetForm::default(), Vec::new()))
}

/// `POST /admin/catalog/new`.
pub async fn create(State(state): State<AppState>, f: AdminForm<AssetForm>) -> web::Result {
    own_catalog(&state)?;
    match f.form.asset() {
        Err(errors) => Ok(form_page(&f.staff, None, f.form.clone(), errors)),
        Ok(asset) => {
            let id = own::create(&state.pool, &asset).await?;
            f.audit(&state, "asset.create", &format!("{id} {}", asset.name))
                .await;
            Ok(
                Redirect::to(&format!("/admin/catalog/assets/{id}?done=asset-saved"))
                    .into_response(),
            )
        }
    }
}

/// `GET /admin/catalog/assets/{id}/edit`.
pub async fn edit_page(
    State(state): State<AppState>,
    Staff(s): Staff,
    Path(id): Path<i64>,
) -> web::Result {
    own_catalog(&state)?;
    if !s.admin.role.can_edit() {
        return Ok(super::not_allowed());
    }
    let id = AssetId(id);
    let a = store_catalog::asset(&state.pool, id)
        .await?
        .ok_or(web::Error::NotFound)?;
    let districts = store_catalog::asset_districts(&state.pool, id).await?;
    let site = match districts.first() {
        Some(d) => store_catalog::district(&state.pool, *d)
            .await?
            .map(|d| d.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let form = AssetForm {
        name: a.name,
        site,
        address: a.address.unwrap_or_default(),
        serial: a.serial_number.unwrap_or_default(),
        inventory: a.inventory_number.unwrap_or_default(),
    };
    Ok(form_page(&s, Some(id), form, Vec::new()))
}

/// `POST /admin/catalog/assets/{id}/edit`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: AdminForm<AssetForm>,
) -> web::Result {
    own_catalog(&state)?;
    let id = AssetId(id);
    match f.form.asset() {
        Err(errors) => Ok(form_page(&f.staff, Some(id), f.form.clone(), errors)),
        Ok(asset) => {
            if !store_catalog::update_own_asset(&state.pool, id, &asset, crate::store::now_ms())
                .await?
            {
                return Err(web::Error::NotFound);
            }
            f.audit(&state, "asset.update", &format!("{id} {}", asset.name))
                .await;
            Ok(
                Redirect::to(&format!("/admin/catalog/assets/{id}?done=asset-saved"))
                    .into_response(),
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/catalog/assets/{id}/remove`: asks first; only while no
/// live code points at it.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: AdminForm<RemoveForm>,
) -> web::Result {
    own_catalog(&state)?;
    let id = AssetId(id);
    if f.form.confirm != "1" {
        let a = store_catalog::asset(&state.pool, id)
            .await?
            .ok_or(web::Error::NotFound)?;
        return Ok(super::ConfirmPage {
            f: Frame::new(&f.staff, a.name.clone(), "catalog"),
            question: tr("Удалить оборудование из каталога?"),
            consequence: crate::i18n::tr::trf(
                "«{}» исчезнет из каталога и из выбора при привязке кодов. Заявки по нему останутся. Это нельзя отменить.",
                &[&a.name],
            ),
            action: format!("/admin/catalog/assets/{id}/remove"),
            fields: Vec::new(),
            input: None,
            button: tr("Удалить"),
            danger: true,
            back: format!("/admin/catalog/assets/{id}"),
        }
        .response());
    }
    match store_catalog::remove_own_asset(&state.pool, id).await? {
        Ok(()) => {
            f.audit(&state, "asset.remove", &id.to_string()).await;
            Ok(Redirect::to("/admin/catalog?done=asset-removed").into_response())
        }
        Err(KeepReason::NotFound) => Err(web::Error::NotFound),
        Err(KeepReason::HasCodes(n)) => Ok(super::message(
            StatusCode::CONFLICT,
            tr("Оборудование не удалено"),
            &crate::i18n::tr::trf(
                "К нему привязаны действующие коды ({}): отключите их или перенесите на другое оборудование, затем удалите.",
                &[&n],
            ),
        )),
    }
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    f: Frame,
    /// The preview of an uploaded file, with the name it is kept under.
    preview: Option<(Preview, String)>,
    error: Option<String>,
}

impl ImportPage {
    fn problems(&self, row: &own::Row) -> Vec<String> {
        match &row.result {
            Ok(_) => Vec::new(),
            Err(p) => p.iter().map(text).collect(),
        }
    }

    fn refusal(&self) -> Option<String> {
        self.preview
            .as_ref()
            .and_then(|(p, _)| p.refusal.as_ref())
            .map(text)
    }
}

fn import_page(
    s: &crate::store::admins::Session,
    preview: Option<(Preview, String)>,
    error: Option<String>,
) -> Response {
    let status = super::status_for(error.is_some());
    let page = ImportPage {
        f: Frame::new(s, tr("Загрузка оборудования из CSV"), "catalog"),
        preview,
        error,
    };
    render(status, &page)
}

/// `GET /admin/catalog/import`.
pub async fn import_form(State(state): State<AppState>, Staff(s): Staff) -> web::Result {
    own_catalog(&state)?;
    if !s.admin.role.can_edit() {
        return Ok(super::not_allowed());
    }
    Ok(import_page(&s, None, None))
}

/// The import form again, saying why the file was not read: too large
/// (413), or not received whole (400).
fn upload_failed(s: &crate::store::admins::Session, status: StatusCode) -> Response {
    let (status, text) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        (status, tr("Файл больше 4 МБ: разделите его на части."))
    } else {
        (
            StatusCode::BAD_REQUEST,
            tr("Файл пришёл не целиком: проверьте связь и загрузите его ещё раз."),
        )
    };
    let mut page = import_page(s, None, Some(text.to_owned()));
    *page.status_mut() = status;
    page
}

fn upload_dir(state: &AppState) -> std::path::PathBuf {
    std::path::Path::new(&state.config.server.data_dir).join("imports")
}

/// `POST /admin/catalog/import`: the file is read and kept aside; the page
/// shows every row and its problems; nothing is stored in the catalog yet.
pub async fn import_preview(
    State(state): State<AppState>,
    Staff(s): Staff,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> web::Result {
    own_catalog(&state)?;
    // A multipart form: the CSRF token is its first field.
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if let Some(refused) = super::auth::form_refusal(&headers, &s, &csrf, Role::Admin) {
        return Ok(refused);
    }
    // Any read error is said, never taken for the end of the file: a file
    // cut short would import fewer rows without a word.
    let mut bytes = Vec::new();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Ok(upload_failed(&s, e.status())),
        };
        if field.name() != Some("file") {
            continue;
        }
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_CSV_BYTES {
                        return Ok(upload_failed(&s, StatusCode::PAYLOAD_TOO_LARGE));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Ok(upload_failed(&s, e.status())),
            }
        }
    }
    if bytes.is_empty() {
        return Ok(import_page(
            &s,
            None,
            Some(tr("Выберите файл CSV.").to_owned()),
        ));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(import_page(
            &s,
            None,
            Some(
                tr("Файл не в кодировке UTF-8: в Excel сохраните его как «CSV UTF-8».").to_owned(),
            ),
        ));
    };
    if text.contains('\0') {
        return Ok(import_page(
            &s,
            None,
            Some(
                tr("В файле есть нулевые байты: сохраните его заново как «CSV UTF-8».").to_owned(),
            ),
        ));
    }
    let preview = own::preview(&text);
    let name = uuid::Uuid::now_v7().to_string();
    let dir = upload_dir(&state);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| web::Error::Internal(e.into()))?;
    forget_old_uploads(&dir).await;
    tokio::fs::write(dir.join(format!("{name}.csv")), text)
        .await
        .map_err(|e| web::Error::Internal(e.into()))?;
    Ok(import_page(&s, Some((preview, name)), None))
}

/// Files previewed but never confirmed are removed after a day.
async fn forget_old_uploads(dir: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    while let Ok(Some(e)) = entries.next_entry().await {
        let old = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ImportConfirm {
    /// The name the previewed file is kept under.
    #[serde(default)]
    upload: String,
}

/// `POST /admin/catalog/import/confirm`: stores the good rows of the
/// previewed file.
pub async fn import_confirm(
    State(state): State<AppState>,
    f: AdminForm<ImportConfirm>,
) -> web::Result {
    own_catalog(&state)?;
    let Ok(name) = uuid::Uuid::parse_str(&f.form.upload) else {
        return Err(web::Error::BadRequest);
    };
    let path = upload_dir(&state).join(format!("{name}.csv"));
    let Ok(text) = tokio::fs::read_to_string(&path).await else {
        return Ok(import_page(
            &f.staff,
            None,
            Some(tr("Файл уже загружен или устарел: выберите его ещё раз.").to_owned()),
        ));
    };
    let preview = own::preview(&text);
    let added = own::import(&state.pool, &preview).await?;
    let _ = tokio::fs::remove_file(&path).await;
    f.audit(&state, "asset.import", &format!("{added} rows"))
        .await;
    Ok(Redirect::to("/admin/catalog?done=imported").into_response())
}
