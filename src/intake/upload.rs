//! Reading a submission: a plain form, or a multipart form with photos read as
//! a stream under per-file and per-request limits. A photo that breaks a limit
//! is reported at the photo field; the text always comes through.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use tokio::io::AsyncWriteExt;

use crate::web;

use super::form::RawForm;
use crate::config::LimitsConfig;

/// What a phone sent.
pub struct Incoming {
    pub form: RawForm,
    pub photos: Vec<Spooled>,
    pub photo_problem: Option<PhotoProblem>,
}

/// A photo as received, written to a file while it streams in, so uploads
/// waiting for their turn at the decoder hold no memory. Removed when
/// dropped, and its bytes given back to the spool's budget.
pub struct Spooled {
    path: PathBuf,
    _claim: SpoolClaim,
}

/// Photo bytes on disk that have not been processed yet: all uploads
/// together and each client address are held to a cap, so a slow or
/// abandoned upload cannot fill the disk.
#[derive(Default)]
pub struct SpoolBudget {
    held: std::sync::Mutex<(u64, HashMap<std::net::IpAddr, u64>)>,
}

/// One upload's share of the [`SpoolBudget`]; given back when dropped.
struct SpoolClaim {
    budget: std::sync::Arc<SpoolBudget>,
    client: std::net::IpAddr,
    bytes: u64,
}

impl SpoolClaim {
    fn new(budget: std::sync::Arc<SpoolBudget>, client: std::net::IpAddr) -> SpoolClaim {
        SpoolClaim {
            budget,
            client,
            bytes: 0,
        }
    }

    /// Takes `n` more bytes, unless that passes a cap.
    fn grow(&mut self, n: u64, limits: &LimitsConfig) -> Result<(), ReadError> {
        let mut held = self.budget.held.lock().unwrap_or_else(|e| e.into_inner());
        let mine = held.1.get(&self.client).copied().unwrap_or(0);
        if held.0 + n > limits.spool_max_bytes || mine + n > limits.spool_client_max_bytes {
            return Err(ReadError::Busy);
        }
        held.0 += n;
        *held.1.entry(self.client).or_insert(0) += n;
        self.bytes += n;
        Ok(())
    }

    /// Splits off what this claim holds, for one finished file.
    fn take(&mut self) -> SpoolClaim {
        let bytes = std::mem::take(&mut self.bytes);
        SpoolClaim {
            budget: self.budget.clone(),
            client: self.client,
            bytes,
        }
    }
}

impl Drop for SpoolClaim {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut held = self.budget.held.lock().unwrap_or_else(|e| e.into_inner());
        held.0 = held.0.saturating_sub(self.bytes);
        if let Some(mine) = held.1.get_mut(&self.client) {
            *mine = mine.saturating_sub(self.bytes);
            if *mine == 0 {
                held.1.remove(&self.client);
            }
        }
    }
}

impl Spooled {
    pub async fn read(&self) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(&self.path).await
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A limit a photo broke while being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoProblem {
    TooMany,
    FileTooLarge,
    TotalTooLarge,
}

#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    Malformed,
    /// Slower than `limits.upload_min_bytes_per_sec`.
    TooSlow,
    /// The spool's caps are reached.
    Busy,
    /// Our disk failed (full, unwritable): not the sender's fault.
    Io(std::io::Error),
}

impl From<ReadError> for web::Error {
    fn from(e: ReadError) -> web::Error {
        match e {
            ReadError::TooLarge => web::Error::TooLarge,
            ReadError::Malformed => web::Error::BadRequest,
            ReadError::TooSlow => web::Error::TooSlow,
            ReadError::Busy => web::Error::Busy,
            ReadError::Io(e) => web::Error::Internal(e.into()),
        }
    }
}

const TEXT_FIELD_MAX: usize = 64 * 1024;

/// [`read`] for a form signed for `scope` (a code, or one status page), with
/// the configured limits and the app's spool.
pub async fn read_signed(
    state: &crate::AppState,
    body: Request,
    scope: String,
) -> web::Result<Incoming> {
    let secret = state.secret.clone();
    let token_ok = move |token: &str| {
        super::form::verify_form_token(&secret, &scope, token, crate::store::now_ms()).is_some()
    };
    let spool = Spool {
        dir: state.blobs.incoming(),
        budget: state.spool.clone(),
        client: body
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| {
                web::limits::client_ip(c.0, body.headers(), &state.limits.trusted)
            }),
        grace: std::time::Duration::from_secs(state.config.server.body_stall_secs),
    };
    Ok(read(body, &state.config.limits, &spool, &token_ok).await?)
}

/// Where and under which budget photos are spooled, for whom.
struct Spool {
    dir: PathBuf,
    budget: std::sync::Arc<SpoolBudget>,
    client: std::net::IpAddr,
    /// How long a body may take before the least rate applies.
    grace: std::time::Duration,
}

/// When the body must have sent more than `received` bytes by, at the least
/// average rate after the grace period.
fn deadline(
    started: tokio::time::Instant,
    spool: &Spool,
    limits: &LimitsConfig,
    received: usize,
) -> tokio::time::Instant {
    let rate = limits.upload_min_bytes_per_sec.max(1);
    started + spool.grace + std::time::Duration::from_millis(received as u64 * 1000 / rate)
}

/// Reads the body; photo files go to `spool` (a directory on the data disk).
///
/// `token_ok` checks the form's signed token. No photo byte reaches the disk
/// before a valid one was read (the form puts it first): a photo part ahead
/// of any token refuses the body, and photos after an invalid one are read
/// through and dropped, so the text still comes back with "the form expired".
async fn read(
    req: Request,
    limits: &LimitsConfig,
    spool: &Spool,
    token_ok: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<Incoming, ReadError> {
    let started = tokio::time::Instant::now();
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
    // None: no token read yet.
    let mut token_valid: Option<bool> = None;
    let mut claim = SpoolClaim::new(spool.budget.clone(), spool.client);
    loop {
        let next = tokio::time::timeout_at(
            deadline(started, spool, limits, total + text_total),
            multipart.next_field(),
        );
        let mut field = match next.await.map_err(|_| ReadError::TooSlow)? {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ReadError::TooLarge)
            }
            Err(_) => return Err(ReadError::Malformed),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "photo" {
            let Some(valid) = token_valid else {
                return Err(ReadError::Malformed);
            };
            // Past the count, or after a bad token, a file is still read
            // through, but not kept.
            let over_count = photos.len() >= limits.photos_max || !valid;
            let mut file: Option<(Spooled, tokio::fs::File)> = None;
            let mut len = 0usize;
            let mut dropped = false;
            loop {
                let next = tokio::time::timeout_at(
                    deadline(started, spool, limits, total + text_total),
                    field.chunk(),
                );
                match next.await.map_err(|_| ReadError::TooSlow)? {
                    Ok(Some(chunk)) => {
                        total += chunk.len();
                        if dropped {
                            continue;
                        }
                        if total > limits.request_max_bytes {
                            problem = Some(PhotoProblem::TotalTooLarge);
                            dropped = true;
                            file = None;
                            drop(claim.take());
                        } else if len + chunk.len() > limits.photo_max_bytes {
                            problem.get_or_insert(PhotoProblem::FileTooLarge);
                            dropped = true;
                            file = None;
                            drop(claim.take());
                        } else {
                            len += chunk.len();
                            if over_count {
                                continue;
                            }
                            claim.grow(chunk.len() as u64, limits)?;
                            if file.is_none() {
                                let path = spool.dir.join(uuid::Uuid::now_v7().to_string());
                                let f = tokio::fs::File::create(&path)
                                    .await
                                    .map_err(ReadError::Io)?;
                                let claim = SpoolClaim::new(spool.budget.clone(), spool.client);
                                file = Some((
                                    Spooled {
                                        path,
                                        _claim: claim,
                                    },
                                    f,
                                ));
                            }
                            if let Some((_, f)) = file.as_mut() {
                                f.write_all(&chunk).await.map_err(ReadError::Io)?;
                            }
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
            if dropped || len == 0 {
                continue;
            }
            if over_count {
                if valid {
                    problem.get_or_insert(PhotoProblem::TooMany);
                }
                continue;
            }
            if let Some((mut spooled, mut f)) = file {
                f.flush().await.map_err(ReadError::Io)?;
                // The file keeps its bytes' share until it is processed.
                spooled._claim = claim.take();
                photos.push(spooled);
            }
        } else {
            // Bounded while it is read, not after: a 45 MB "description"
            // is refused at its first 64 KB.
            let mut value = Vec::new();
            loop {
                let next = tokio::time::timeout_at(
                    deadline(started, spool, limits, total + text_total),
                    field.chunk(),
                );
                match next.await.map_err(|_| ReadError::TooSlow)? {
                    Ok(Some(chunk)) => {
                        text_total += chunk.len();
                        if value.len() + chunk.len() > TEXT_FIELD_MAX
                            || text_total > limits.form_body_bytes
                        {
                            return Err(ReadError::TooLarge);
                        }
                        value.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                        return Err(ReadError::TooLarge)
                    }
                    Err(_) => return Err(ReadError::Malformed),
                }
            }
            let value = String::from_utf8(value).map_err(|_| ReadError::Malformed)?;
            if name == "form_token" {
                token_valid = Some(token_ok(&value));
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
