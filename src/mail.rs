//! E-mail to a customer who left an address: the status page link once the
//! request is accepted, and a note on each status change. Off unless
//! `mail.smtp_url` is set.
//!
//! Only the hash of a status token is stored, so the link cannot be rebuilt
//! from the database. For e-mail the token is kept sealed with a key that lives
//! in its own file ([`LinkKey`]): a copy of the database alone opens no page.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, Mac};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;

use crate::config::MailConfig;
use crate::domain::codes::TrackingToken;
use crate::domain::lang::Lang;

/// Seals status tokens kept for e-mail: the token XOR an HMAC of the request
/// id, a pad used for that one request only.
pub struct LinkKey([u8; 32]);

impl LinkKey {
    /// Reads the key from `path`, or creates it (readable by the owner only).
    pub fn load_or_create(path: &Path) -> anyhow::Result<LinkKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => LinkKey::from_hex(text.trim()).with_context(|| {
                format!(
                    "{} is not a qrdesk link key (64 hex digits): restore it from a backup, \
                     or remove it to start a new one (links of e-mails not yet sent are then lost)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
                let hex = crate::domain::codes::hex(&key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                std::io::Write::write_all(&mut file, format!("{hex}\n").as_bytes())?;
                tracing::info!(path = %path.display(), "created the key for e-mailed status links");
                Ok(LinkKey(key))
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn from_hex(text: &str) -> Option<LinkKey> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(LinkKey(key))
    }

    fn pad(&self, request_id: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"mail-link|");
        mac.update(request_id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn seal(&self, request_id: &str, token: &TrackingToken) -> Vec<u8> {
        let pad = self.pad(request_id);
        token
            .as_str()
            .bytes()
            .zip(pad)
            .map(|(a, b)| a ^ b)
            .collect()
    }

    /// The token again, or `None` if it was sealed with another key.
    pub fn open(&self, request_id: &str, sealed: &[u8]) -> Option<TrackingToken> {
        let pad = self.pad(request_id);
        let bytes: Vec<u8> = sealed.iter().zip(pad).map(|(a, b)| a ^ b).collect();
        TrackingToken::parse(std::str::from_utf8(&bytes).ok()?)
    }
}

/// Why a mail was not sent.
#[derive(Debug)]
pub enum SendError {
    /// Try again later: no connection, a timeout, a 4xx reply.
    Transient(String),
    /// The server refused it for good (5xx), e.g. an address that does not exist.
    Permanent(String),
}

/// Sends the customer e-mails over SMTP.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    key: Arc<LinkKey>,
    public_url: String,
    /// Status changes are written about too.
    pub status_changes: bool,
}

impl Mailer {
    /// `None` when e-mail is off (no `mail.smtp_url`).
    pub fn from_config(
        config: &MailConfig,
        data_dir: &Path,
        public_url: &str,
    ) -> anyhow::Result<Option<Mailer>> {
        if config.smtp_url.is_empty() {
            return Ok(None);
        }
        let (url, clear) = without_tls_none(config.smtp_url.expose());
        if clear {
            tracing::warn!(
                "mail.smtp_url has tls=none: the SMTP password goes over the network unencrypted"
            );
        }
        // lettre's errors do not repeat the URL, so the password stays out of the message.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow::anyhow!("mail.smtp_url cannot be used: {e}"))?
            .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))))
            .build();
        let from: Mailbox = config.from.parse().map_err(|e| {
            anyhow::anyhow!(
                "mail.from must be an address such as \"Сервис <noreply@example.ru>\": {e}"
            )
        })?;
        let key_path = link_key_path(config, data_dir);
        Ok(Some(Mailer {
            transport,
            from,
            key: Arc::new(LinkKey::load_or_create(&key_path)?),
            public_url: public_url.trim_end_matches('/').to_owned(),
            status_changes: config.status_changes,
        }))
    }

    pub fn key(&self) -> &LinkKey {
        &self.key
    }

    pub fn status_link(&self, token: &TrackingToken) -> String {
        format!("{}/t/{}", self.public_url, token.as_str())
    }

    /// Sends one mail. `id` becomes the Message-ID, so a resend after a lost
    /// reply carries the same one and mail programs show it once.
    pub async fn send(&self, id: &str, to: &str, mail: &Composed) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("the address cannot be used: {e}")))?;
        let host = self.from.email.domain().to_owned();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{id}@{host}>")))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(mail.body.clone()),
            )
            .map_err(|e| SendError::Permanent(format!("cannot build the mail: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

/// What a mail is about.
pub enum MailKind<'a> {
    Accepted,
    StatusChanged {
        status: &'a str,
    },
    /// To a follower: the task they joined is done.
    Fixed,
}

/// What a follower's link is sealed for: never the request alone, so that no
/// two links of one request are sealed with the same pad.
pub fn follower_seal_id(request_id: &str, token_hash: &str) -> String {
    format!("{request_id}/follower/{token_hash}")
}

/// Where the key that seals mailed status links lives.
pub fn link_key_path(config: &MailConfig, data_dir: &Path) -> std::path::PathBuf {
    if config.link_key_file.is_empty() {
        data_dir.join("mail-link.key")
    } else {
        config.link_key_file.clone().into()
    }
}

/// A mail's subject and plain-text body.
#[derive(Debug, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub body: String,
}

/// Writes the mail in the customer's language.
pub fn compose(
    lang: Lang,
    kind: MailKind<'_>,
    link: &str,
    number: Option<&str>,
    equipment: Option<&str>,
    org: Option<&str>,
) -> Composed {
    let t = lang.texts();
    let numbered = |rest: &str| match number {
        Some(n) => format!("{}{n}: {rest}", t.mail_request_no),
        None => rest.to_owned(),
    };
    let (subject, lead) = match kind {
        MailKind::Accepted => (
            numbered(t.mail_accepted_subject),
            t.mail_accepted_text.to_owned(),
        ),
        MailKind::StatusChanged { status } => {
            (numbered(status), format!("{} {status}", t.mail_status_text))
        }
        MailKind::Fixed => (numbered(t.mail_fixed_subject), t.mail_fixed_text.to_owned()),
    };
    let mut body = vec![t.mail_hello.to_owned(), String::new(), lead];
    if let Some(n) = number {
        body.push(format!("{}{n}", t.mail_request_no));
    }
    if let Some(e) = equipment {
        body.push(format!("{} {e}", t.mail_equipment));
    }
    body.extend([
        String::new(),
        t.mail_link_text.to_owned(),
        link.to_owned(),
        String::new(),
        "—".to_owned(),
    ]);
    if let Some(org) = org {
        body.push(org.replace(['\r', '\n'], " "));
    }
    body.push(t.mail_footer.to_owned());
    Composed {
        subject: subject.replace(['\r', '\n'], " "),
        body: body.join("\r\n"),
    }
}

/// The URL as lettre takes it (it knows no `tls=none`), and whether it was there.
fn without_tls_none(url: &str) -> (String, bool) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), false);
    };
    let kept: Vec<&str> = query.split('&').filter(|kv| *kv != "tls=none").collect();
    let clear = kept.len() != query.split('&').count();
    if kept.is_empty() {
        (base.to_owned(), clear)
    } else {
        (format!("{base}?{}", kept.join("&")), clear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_link_opens_with_its_key_and_request_only() {
        let key = LinkKey([7; 32]);
        let token = TrackingToken::generate();
        let sealed = key.seal("req-1", &token);
        assert_eq!(sealed.len(), 26);
        assert_ne!(sealed, token.as_str().as_bytes());
        assert_eq!(key.open("req-1", &sealed), Some(token.clone()));
        assert_eq!(key.open("req-2", &sealed), None);
        assert_eq!(LinkKey([8; 32]).open("req-1", &sealed), None);
    }

    #[test]
    fn key_file_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("qrdesk-key-{}", uuid::Uuid::now_v7()));
        let path = dir.join("mail-link.key");
        let token = TrackingToken::generate();
        let sealed = LinkKey::load_or_create(&path).unwrap().seal("r", &token);
        let again = LinkKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("r", &sealed), Some(token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
        }
        std::fs::write(&path, "not a key").unwrap();
        let err = LinkKey::load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("64 hex digits"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mails_name_the_number_status_and_link_in_the_customer_language() {
        let link = "https://qr.example.ru/t/abc";
        let ru = compose(
            Lang::Ru,
            MailKind::StatusChanged {
                status: "В работе"
            },
            link,
            Some("1042"),
            Some("Кофемашина"),
            Some("ООО «Сервис-Инжиниринг»"),
        );
        assert_eq!(ru.subject, "Заявка №1042: В работе");
        assert!(ru.body.contains("\r\nООО «Сервис-Инжиниринг»\r\n"));
        assert!(ru.body.contains("Статус вашей заявки изменился: В работе"));
        assert!(ru.body.contains("Оборудование: Кофемашина"));
        assert!(ru.body.contains(link));
        let en = compose(Lang::En, MailKind::Accepted, link, None, None, None);
        assert_eq!(en.subject, "Your request has been received");
        assert!(en.body.contains(link) && !en.body.contains("Equipment"));
        // A status name cannot add headers.
        let evil = compose(
            Lang::Ru,
            MailKind::StatusChanged {
                status: "x\r\nBcc: a@b.c",
            },
            link,
            None,
            None,
            None,
        );
        assert!(!evil.subject.contains('\n'));
    }
}
