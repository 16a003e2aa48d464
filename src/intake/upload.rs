//! Reading a submission: a plain form, or a multipart form with photos read as
//! a stream under per-file and per-request limits. A photo that breaks a limit
//! is reported at the photo field; the text always comes through.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

use super::form::RawForm;
use crate::config::LimitsConfig;

/// What a phone sent.
pub struct Incoming {
    pub form: RawForm,
    pub photos: Vec<Vec<u8>>,
    pub photo_problem: Option<PhotoProblem>,
}

/// A limit a photo broke while being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoProblem {
    TooMany,
    FileTooLarge,
    TotalTooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    TooLarge,
    Malformed,
}

const TEXT_FIELD_MAX: usize = 64 * 1024;

pub async fn read(req: Request, limits: &LimitsConfig) -> Result<Incoming, ReadError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        // The route allows big bodies for photos; a plain form keeps its own limit.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, limits.form_body_bytes)
            .await
            .map_err(|_| ReadError::TooLarge)?;
        let urlencoded = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !urlencoded {
            return Err(ReadError::Malformed);
        }
        let form = super::form::decode(&bytes).ok_or(ReadError::Malformed)?;
        return Ok(Incoming {
            form,
            photos: Vec::new(),
            photo_problem: None,
        });
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| ReadError::Malformed)?;
    let mut text: HashMap<String, String> = HashMap::new();
    let mut photos = Vec::new();
    let mut problem = None;
    let mut total = 0usize;
    let mut text_total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ReadError::TooLarge)
            }
            Err(_) => return Err(ReadError::Malformed),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "photo" {
            let mut bytes = Vec::new();
            let mut dropped = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        total += chunk.len();
                        if dropped {
                            continue;
                        }
                        if total > limits.request_max_bytes {
                            problem = Some(PhotoProblem::TotalTooLarge);
                            dropped = true;
                        } else if bytes.len() + chunk.len() > limits.photo_max_bytes {
                            problem.get_or_insert(PhotoProblem::FileTooLarge);
                            dropped = true;
                        } else {
                            bytes.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(ReadError::TooLarge)
                    }
                    Err(_) => return Err(ReadError::Malformed),
                }
            }
            // An empty file part is a file input left empty.
            if dropped || bytes.is_empty() {
                continue;
            }
            if photos.len() >= limits.photos_max {
                problem.get_or_insert(PhotoProblem::TooMany);
                continue;
            }
            photos.push(bytes);
        } else {
            let value = field.text().await.map_err(|_| ReadError::Malformed)?;
            text_total += value.len();
            if value.len() > TEXT_FIELD_MAX || text_total > limits.form_body_bytes {
                return Err(ReadError::TooLarge);
            }
            text.insert(name, value);
        }
    }
    let mut take = |k: &str| text.remove(k);
    let form = RawForm {
        description: take("description").unwrap_or_default(),
        name: take("name").unwrap_or_default(),
        phone: take("phone").unwrap_or_default(),
        email: take("email").unwrap_or_default(),
        consent: take("consent"),
        website: take("website").unwrap_or_default(),
        asset: take("asset"),
        lang: take("lang"),
        form_token: take("form_token").unwrap_or_default(),
        pow: take("pow").unwrap_or_default(),
        answer: take("answer").unwrap_or_default(),
    };
    Ok(Incoming {
        form,
        photos,
        photo_problem: problem,
    })
}
