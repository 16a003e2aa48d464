//! Photos of a submission: processed off the async threads, a few at a time,
//! then stored by content hash before the request's transaction.

use crate::config::LimitsConfig;
use crate::i18n::Texts;
use crate::media::{self, MediaError, MediaLimits, Processed};
use crate::store::attachments::NewAttachment;
use crate::AppState;

use super::upload::PhotoProblem;

pub fn problem_message(t: &Texts, p: PhotoProblem, limits: &LimitsConfig) -> String {
    match p {
        PhotoProblem::TooMany => t
            .err_photo_count
            .replace("{max}", &limits.photos_max.to_string()),
        PhotoProblem::FileTooLarge => t.err_photo_size.replace(
            "{mb}",
            &(limits.photo_max_bytes / (1024 * 1024)).to_string(),
        ),
        PhotoProblem::TotalTooLarge => t.err_photo_total.replace(
            "{mb}",
            &(limits.request_max_bytes / (1024 * 1024)).to_string(),
        ),
    }
}

fn media_message(t: &Texts, e: &MediaError) -> String {
    match e {
        MediaError::TooLarge(mb) => t.err_photo_size.replace("{mb}", &mb.to_string()),
        MediaError::TooManyPixels(mp) => t.err_photo_pixels.replace("{mp}", &mp.to_string()),
        MediaError::Heic => t.err_photo_heic.to_owned(),
        MediaError::Gif | MediaError::NotAnImage => t.err_photo_type.to_owned(),
        MediaError::Corrupt => t.err_photo_corrupt.to_owned(),
    }
}

/// Processes every photo; the first refusal becomes the message at the field.
pub async fn process_all(
    state: &AppState,
    photos: Vec<super::upload::Spooled>,
    t: &Texts,
) -> Result<Vec<Processed>, String> {
    let limits = MediaLimits {
        max_file_bytes: state.config.limits.photo_max_bytes,
        max_pixels: state.config.limits.photo_max_megapixels * 1_000_000,
        max_side: 2048,
    };
    let mut out = Vec::with_capacity(photos.len());
    for (i, spooled) in photos.into_iter().enumerate() {
        // Decoding can take hundreds of MB: a few at a time, whatever the load.
        let _permit = state
            .media_permits
            .acquire()
            .await
            .map_err(|_| t.error_text.to_owned())?;
        let bytes = spooled.read().await.map_err(|e| {
            tracing::error!(error = %e, "cannot read an upload back from disk");
            t.error_text.to_owned()
        })?;
        drop(spooled);
        let result = crate::heavy::media()
            .run(move || media::process(&bytes, &limits))
            .await
            .ok_or_else(|| t.error_text.to_owned())?;
        match result {
            Ok(p) => out.push(p),
            Err(e) => {
                return Err(format!(
                    "{} {}: {}",
                    t.photo_word,
                    i + 1,
                    media_message(t, &e)
                ))
            }
        }
    }
    Ok(out)
}

/// Writes the processed photos to the blob store.
pub async fn store_all(
    state: &AppState,
    photos: &[Processed],
) -> std::io::Result<Vec<NewAttachment>> {
    let mut out = Vec::with_capacity(photos.len());
    for p in photos {
        state.blobs.put(&p.sha256, &p.jpeg).await?;
        out.push(NewAttachment {
            id: uuid::Uuid::now_v7(),
            sha256: p.sha256.clone(),
            mime: "image/jpeg".into(),
            size: p.jpeg.len() as i64,
            width: p.width as i64,
            height: p.height as i64,
        });
    }
    Ok(out)
}
