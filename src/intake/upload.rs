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
    let multipart = content_type_is(req.headers(), "multipart/form-data");
    if !multipart {
        return read_plain(req, limits).await;
    }
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| ReadError::Malformed)?;
    let mut r = Reader {
        started,
        limits,
        spool,
        text: HashMap::new(),
        photos: Vec::new(),
        problem: None,
        total: 0,
        text_total: 0,
        token_valid: None,
        claim: SpoolClaim::new(spool.budget.clone(), spool.client),
    };
    loop {
        let next = tokio::time::timeout_at(r.deadline(), multipart.next_field());
        let field = match next.await.map_err(|_| ReadError::TooSlow)? {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(&e)),
        };
        if field.name() == Some("photo") {
            let Some(valid) = r.token_valid else {
                return Err(ReadError::Malformed);
            };
            r.photo(field, valid).await?;
        } else {
            let name = field.name().unwrap_or("").to_owned();
            let value = r.text_field(field).await?;
            if name == "form_token" {
                r.token_valid = Some(token_ok(&value));
            }
            r.text.insert(name, value);
        }
    }
    Ok(r.into_incoming())
}

fn content_type_is(headers: &axum::http::HeaderMap, wanted: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with(wanted))
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> ReadError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ReadError::TooLarge
    } else {
        ReadError::Malformed
    }
}

/// A form without photos: the route allows big bodies for photos, a plain
/// form keeps its own limit.
async fn read_plain(req: Request, limits: &LimitsConfig) -> Result<Incoming, ReadError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limits.form_body_bytes)
        .await
        .map_err(|_| ReadError::TooLarge)?;
    if !content_type_is(&parts.headers, "application/x-www-form-urlencoded") {
        return Err(ReadError::Malformed);
    }
    let form = super::form::decode(&bytes).ok_or(ReadError::Malformed)?;
    Ok(Incoming {
        form,
        photos: Vec::new(),
        photo_problem: None,
    })
}

/// A multipart form being read: its text fields, its photos spooled to
/// files, and what it has cost so far.
struct Reader<'a> {
    started: tokio::time::Instant,
    limits: &'a LimitsConfig,
    spool: &'a Spool,
    text: HashMap<String, String>,
    photos: Vec<Spooled>,
    problem: Option<PhotoProblem>,
    /// Bytes of files read.
    total: usize,
    /// Bytes of text fields read.
    text_total: usize,
    /// None: no token read yet.
    token_valid: Option<bool>,
    /// The spool bytes the photo being read holds.
    claim: SpoolClaim,
}

/// One photo part as it is read.
#[derive(Default)]
struct PhotoPart {
    file: Option<(Spooled, tokio::fs::File)>,
    len: usize,
    dropped: bool,
}

impl Reader<'_> {
    fn deadline(&self) -> tokio::time::Instant {
        deadline(
            self.started,
            self.spool,
            self.limits,
            self.total + self.text_total,
        )
    }

    /// The next chunk of a part, within the time the bytes so far allow.
    async fn chunk(
        &self,
        field: &mut axum::extract::multipart::Field<'_>,
    ) -> Result<Option<axum::body::Bytes>, ReadError> {
        let next = tokio::time::timeout_at(self.deadline(), field.chunk());
        next.await
            .map_err(|_| ReadError::TooSlow)?
            .map_err(|e| multipart_error(&e))
    }

    /// A text field, bounded while it is read, not after: a 45 MB
    /// "description" is refused at its first 64 KB.
    async fn text_field(
        &mut self,
        mut field: axum::extract::multipart::Field<'_>,
    ) -> Result<String, ReadError> {
        let mut value = Vec::new();
        while let Some(chunk) = self.chunk(&mut field).await? {
            self.text_total += chunk.len();
            if value.len() + chunk.len() > TEXT_FIELD_MAX
                || self.text_total > self.limits.form_body_bytes
            {
                return Err(ReadError::TooLarge);
            }
            value.extend_from_slice(&chunk);
        }
        String::from_utf8(value).map_err(|_| ReadError::Malformed)
    }

    /// A photo part, spooled to a file. Past the count, or after a bad
    /// token, a file is still read through, but not kept.
    async fn photo(
        &mut self,
        mut field: axum::extract::multipart::Field<'_>,
        valid: bool,
    ) -> Result<(), ReadError> {
        let over_count = self.photos.len() >= self.limits.photos_max || !valid;
        let mut part = PhotoPart::default();
        while let Some(chunk) = self.chunk(&mut field).await? {
            self.photo_chunk(&mut part, &chunk, over_count).await?;
        }
        // An empty file part is a file input left empty.
        if part.dropped || part.len == 0 {
            return Ok(());
        }
        if over_count {
            if valid {
                self.problem.get_or_insert(PhotoProblem::TooMany);
            }
            return Ok(());
        }
        if let Some((mut spooled, mut f)) = part.file {
            f.flush().await.map_err(ReadError::Io)?;
            // The file keeps its bytes' share until it is processed.
            spooled._claim = self.claim.take();
            self.photos.push(spooled);
        }
        Ok(())
    }

    async fn photo_chunk(
        &mut self,
        part: &mut PhotoPart,
        chunk: &[u8],
        over_count: bool,
    ) -> Result<(), ReadError> {
        self.total += chunk.len();
        if part.dropped {
            return Ok(());
        }
        let too_much = if self.total > self.limits.request_max_bytes {
            Some(PhotoProblem::TotalTooLarge)
        } else if part.len + chunk.len() > self.limits.photo_max_bytes {
            Some(PhotoProblem::FileTooLarge)
        } else {
            None
        };
        if let Some(problem) = too_much {
            match problem {
                PhotoProblem::TotalTooLarge => self.problem = Some(problem),
                _ => {
                    self.problem.get_or_insert(problem);
                }
            }
            part.dropped = true;
            part.file = None;
            drop(self.claim.take());
            return Ok(());
        }
        part.len += chunk.len();
        if over_count {
            return Ok(());
        }
        self.claim.grow(chunk.len() as u64, self.limits)?;
        if part.file.is_none() {
            let path = self.spool.dir.join(uuid::Uuid::now_v7().to_string());
            let f = tokio::fs::File::create(&path)
                .await
                .map_err(ReadError::Io)?;
            let claim = SpoolClaim::new(self.spool.budget.clone(), self.spool.client);
            part.file = Some((
                Spooled {
                    path,
                    _claim: claim,
                },
                f,
            ));
        }
        if let Some((_, f)) = part.file.as_mut() {
            f.write_all(chunk).await.map_err(ReadError::Io)?;
        }
        Ok(())
    }

    fn into_incoming(mut self) -> Incoming {
        let mut take = |k: &str| self.text.remove(k);
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
        Incoming {
            form,
            photos: self.photos,
            photo_problem: self.problem,
        }
    }
}
