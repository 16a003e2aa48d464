//! The codes' images as one ZIP (SVG and PNG of each), for staff to send to a
//! print shop: bounded in pixels and bytes, one archive per session at a
//! time, rendered on the heavy-work threads into a file and streamed.

use crate::i18n::tr::{tr, trf};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use validator::Validate;

use super::auth::{need, AdminForm};
use super::refused;
use crate::domain::codes::Code;
use crate::labels::job;
use crate::store::admins;
use crate::store::codes as code_store;
use crate::web;
use crate::AppState;

/// Largest PNG side in a ZIP, in pixels (300 dpi × 346 mm).
const ZIP_MAX_SIDE_PX: f32 = 4096.0;
/// All PNG pixels of one ZIP together (300 codes of 1,150 px, say).
const ZIP_MAX_TOTAL_PX: f64 = 400e6;
/// The largest archive written (it goes to a file on the data disk first).
pub const ZIP_MAX_BYTES: u64 = 100_000_000;

/// The image exports running now, by session: one at a time each.
#[derive(Default)]
pub struct Exports(std::sync::Mutex<std::collections::HashSet<String>>);

/// A session's running export; dropping it lets the session start another.
struct ExportTurn<'a>(&'a Exports, String);

impl Exports {
    fn start(&self, session: &str) -> Option<ExportTurn<'_>> {
        let mut running = self.0.lock().unwrap_or_else(|e| e.into_inner());
        running
            .insert(session.to_owned())
            .then(|| ExportTurn(self, session.to_owned()))
    }
}

impl Drop for ExportTurn<'_> {
    fn drop(&mut self) {
        let mut running = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.1);
    }
}

/// SVG and PNG of existing codes, each once, in one ZIP: rendered one image
/// at a time on the heavy-work threads under a permit (shared with
/// photos and label sheets), one export per session at a time, within a
/// pixel and a byte budget, written to a file and streamed from there.
pub(super) async fn images_zip(
    state: &AppState,
    staff: &admins::Session,
    list: &str,
    dpi: u32,
    mm: f32,
) -> web::Result {
    let mut codes = Vec::new();
    let mut unknown = Vec::new();
    let mut raw: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    raw.sort_unstable();
    raw.dedup();
    if raw.len() > crate::labels::templates::MAX_LABELS_PER_JOB {
        return Err(job::LabelError::TooMany(raw.len()).into());
    }
    for raw in raw {
        match Code::parse(raw) {
            Some(code) if code_store::get(&state.pool, &code).await?.is_some() => codes.push(code),
            _ => unknown.push(raw.to_owned()),
        }
    }
    // The same code spelt twice (lower and upper case) is one image.
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
    if !unknown.is_empty() {
        let mut shown: Vec<String> = unknown.iter().take(5).cloned().collect();
        if unknown.len() > 5 {
            shown.push("…".into());
        }
        return Err(refused(&trf(
            "Таких кодов нет: {}. Выберите коды в списке.",
            &[&shown.join(", ")],
        )));
    }
    let dpi = dpi.clamp(72, 2400);
    let mm = mm.clamp(5.0, 500.0);
    let side = mm / 25.4 * dpi as f32;
    let total = f64::from(side) * f64::from(side) * codes.len() as f64;
    if side > ZIP_MAX_SIDE_PX || total > ZIP_MAX_TOTAL_PX {
        return Err(refused(&trf("Картинки получаются слишком большими: {} {} по {} пикселей. Уменьшите размер или разрешение, или выберите меньше кодов.", &[&codes.len(), &super::noun(codes.len() as i64, &["код", "кода", "кодов"]), &format!("{:.0}", side)])));
    }
    let Some(_turn) = state.exports.start(&staff.id_hash) else {
        let mut busy = super::message(
            StatusCode::TOO_MANY_REQUESTS,
            tr("Архив уже готовится"),
            tr("Дождитесь, пока скачается предыдущий архив, и попробуйте снова."),
        );
        busy.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
        return Err(busy.into());
    };
    let _permit = state
        .media_permits
        .acquire()
        .await
        .map_err(anyhow::Error::from)?;
    let public_url = state.public_url.clone();
    let dir = state.blobs.incoming();
    let path = dir.join(format!("{}.zip", uuid::Uuid::now_v7()));
    let spool = path.clone();
    let written = crate::heavy::media()
        .run(move || -> Result<u64, job::LabelError> {
            std::fs::create_dir_all(&dir).map_err(|e| job::LabelError::Write(e.to_string()))?;
            let file =
                std::fs::File::create(&spool).map_err(|e| job::LabelError::Write(e.to_string()))?;
            let out = std::io::BufWriter::new(file);
            let done = job::images_zip_into(&public_url, &codes, dpi, mm, out, ZIP_MAX_BYTES);
            let size = done.and_then(|w| {
                let file = w
                    .into_inner()
                    .map_err(|e| job::LabelError::Write(e.to_string()))?;
                file.metadata()
                    .map(|m| m.len())
                    .map_err(|e| job::LabelError::Write(e.to_string()))
            });
            if size.is_err() {
                let _ = std::fs::remove_file(&spool);
            }
            size
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("the archive's render failed"))?;
    let size = match written {
        Ok(size) => size,
        Err(e) => return Err(e.into()),
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(anyhow::Error::from);
    // Unlinked at once: the open file is read to its end, and nothing is
    // left on disk if the client goes away.
    let _ = tokio::fs::remove_file(&path).await;
    let file = file?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"qr-codes.zip\"".to_owned(),
            ),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        axum::body::Body::from_stream(web::file_stream(file)),
    )
        .into_response())
}

#[derive(Deserialize, Validate)]
pub struct ZipForm {
    #[serde(default)]
    codes: String,
    #[validate(range(min = 72, max = 2400, code = "dpi"))]
    dpi: Option<u32>,
    #[validate(range(min = 5.0, max = 500.0, code = "mm"))]
    mm: Option<f32>,
}

/// `POST /admin/codes/images.zip`: a form, so that no cross-site link can
/// make a browser start the work.
pub async fn zip(
    State(state): State<AppState>,
    AdminForm { form, staff, .. }: AdminForm<ZipForm, need::Admin>,
) -> web::Result {
    form.validate().map_err(|e| refused(super::problem(&e)))?;
    images_zip(
        &state,
        &staff,
        &form.codes,
        form.dpi.unwrap_or(300),
        form.mm.unwrap_or(30.0),
    )
    .await
}
