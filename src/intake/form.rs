//! The request form: parsing what a phone sent into a [`Submission`], with a
//! message per field when something is wrong, and the signed form token.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::backend::AssetId;
use crate::config::LimitsConfig;
use crate::web::i18n::Texts;

/// What the browser posts. Every field is text so that nothing a client sends
/// fails deserialisation; meaning is given by [`validate`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawForm {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub consent: Option<String>,
    /// Honeypot: hidden from people, filled by naive bots.
    #[serde(default)]
    pub website: String,
    /// For site codes: an asset id, or `other`.
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub form_token: String,
    /// Proof of work: the number the browser found (see `challenge`).
    #[serde(default)]
    pub pow: String,
    /// Without JavaScript: the answer to the challenge's sum.
    #[serde(default)]
    pub answer: String,
}

/// Decodes an `application/x-www-form-urlencoded` body; `None` when it is not
/// one (invalid percent-encoding is read leniently, as browsers write it).
pub fn decode(body: &[u8]) -> Option<RawForm> {
    serde_urlencoded::from_bytes(body).ok()
}

impl RawForm {
    pub fn consent_given(&self) -> bool {
        self.consent.as_deref().is_some_and(|v| !v.is_empty())
    }
}

/// A phone number: digits with an optional leading `+`; Russian `8…` and
/// ten-digit mobile numbers become `+7…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Option<Phone> {
        let s = input.trim();
        let plus = s.starts_with('+');
        let mut digits = String::new();
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return None,
            }
        }
        if !(10..=15).contains(&digits.len()) {
            return None;
        }
        let normalised = if !plus && digits.len() == 11 && digits.starts_with('8') {
            format!("+7{}", &digits[1..])
        } else if !plus && digits.len() == 10 && digits.starts_with('9') {
            format!("+7{digits}")
        } else if plus {
            format!("+{digits}")
        } else {
            digits
        };
        Some(Phone(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for shape only (delivery is the proof).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Option<Email> {
        let s = input.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.rsplit_once('@')?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"']);
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.chars().count() >= 2);
        (local_ok && domain_ok).then(|| Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which asset a site code's form was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetChoice {
    /// The code belongs to one asset: no choice on the form.
    Fixed,
    Picked(AssetId),
    NotListed,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub description: String,
    pub name: Option<String>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub consent: bool,
    pub asset: AssetChoice,
}

/// A message per field, in the person's language.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    pub description: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub consent: Option<String>,
    pub asset: Option<String>,
    pub photos: Option<String>,
    /// The proof asked for while requests come in faster than usual.
    pub challenge: Option<String>,
    /// About the form as a whole (e.g. it was open too long).
    pub form: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        [
            &self.description,
            &self.name,
            &self.phone,
            &self.email,
            &self.consent,
            &self.asset,
            &self.photos,
            &self.challenge,
            &self.form,
        ]
        .iter()
        .all(|f| f.is_none())
    }
}

/// Drops control characters (but newlines and tabs), bidi overrides and
/// zero-width tricks; normalises line ends; trims.
pub fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let unwanted = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
    };
    let cleaned: String = s.chars().filter(|&c| !unwanted(c)).collect();
    cleaned.trim().to_owned()
}

/// One-line fields also lose newlines and tabs.
fn clean_line(s: &str) -> String {
    clean_text(s).replace(['\n', '\t'], " ")
}

pub fn description_hint(t: &Texts, limits: &LimitsConfig) -> String {
    t.description_hint
        .replace("{min}", &limits.description_min_chars.to_string())
}

/// Checks every field and collects every problem at once.
pub fn validate(
    raw: &RawForm,
    limits: &LimitsConfig,
    site_assets: Option<&[AssetId]>,
    t: &Texts,
) -> Result<Submission, Box<FieldErrors>> {
    let mut errors = FieldErrors::default();

    let description = clean_text(&raw.description);
    let chars = description.chars().count();
    if chars < limits.description_min_chars {
        errors.description = Some(
            t.err_description_short
                .replace("{min}", &limits.description_min_chars.to_string()),
        );
    } else if chars > limits.description_max_chars {
        errors.description = Some(
            t.err_description_long
                .replace("{max}", &limits.description_max_chars.to_string()),
        );
    }

    let name = clean_line(&raw.name);
    if name.chars().count() > limits.name_max_chars {
        errors.name = Some(t.err_name_long.into());
    }
    let phone = match raw.phone.trim() {
        "" => None,
        p => {
            let parsed = Phone::parse(p);
            if parsed.is_none() {
                errors.phone = Some(t.err_phone.into());
            }
            parsed
        }
    };
    let email = match raw.email.trim() {
        "" => None,
        e => {
            let parsed = Email::parse(e);
            if parsed.is_none() {
                errors.email = Some(t.err_email.into());
            }
            parsed
        }
    };
    let has_contact =
        !name.is_empty() || !raw.phone.trim().is_empty() || !raw.email.trim().is_empty();
    let consent = raw.consent_given();
    if has_contact && !consent {
        errors.consent = Some(t.err_consent.into());
    }

    let asset = match site_assets {
        None => AssetChoice::Fixed,
        Some(allowed) => match raw.asset.as_deref().map(str::trim) {
            Some("other") => AssetChoice::NotListed,
            Some(id) => match id.parse::<i64>().ok().map(AssetId) {
                Some(id) if allowed.contains(&id) => AssetChoice::Picked(id),
                _ => {
                    errors.asset = Some(t.err_asset.into());
                    AssetChoice::NotListed
                }
            },
            None => {
                errors.asset = Some(t.err_asset.into());
                AssetChoice::NotListed
            }
        },
    };

    if !errors.is_empty() {
        return Err(Box::new(errors));
    }
    Ok(Submission {
        description,
        name: (!name.is_empty()).then_some(name),
        phone,
        email,
        consent,
        asset,
    })
}

type HmacSha256 = Hmac<Sha256>;

/// How long a form stays valid after it was opened.
pub const FORM_TOKEN_MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// `ISSUED_MS.NONCE.MAC`: proves the form came from us, for this code, and
/// when. The random nonce makes every rendered form distinct, so two people
/// who open the same sticker in the same millisecond never share a status page.
pub fn form_token(secret: &[u8], code: &str, issued_ms: i64) -> String {
    let nonce = crate::codes::encode_base32(&crate::codes::random_bytes::<5>());
    signed_form_token(secret, code, issued_ms, &nonce)
}

fn signed_form_token(secret: &[u8], code: &str, issued_ms: i64, nonce: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("form|{code}|{issued_ms}|{nonce}").as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{issued_ms}.{nonce}.{}", crate::codes::encode_base32(&tag))
}

/// The issue time of a valid token for `code`, or `None`.
pub fn verify_form_token(secret: &[u8], code: &str, token: &str, now_ms: i64) -> Option<i64> {
    let mut parts = token.splitn(3, '.');
    let (issued, nonce) = (parts.next()?, parts.next()?);
    parts.next()?;
    let issued: i64 = issued.parse().ok()?;
    if nonce.len() > 16 {
        return None;
    }
    let expected = signed_form_token(secret, code, issued, nonce);
    // Compare through the MAC type for constant time.
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(expected.as_bytes());
    let a = mac.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(token.as_bytes());
    mac.verify_slice(&a).ok()?;
    let age = now_ms - issued;
    ((-300_000..=FORM_TOKEN_MAX_AGE_MS).contains(&age)).then_some(issued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::RU;

    fn limits() -> LimitsConfig {
        crate::config::Config::default().limits
    }

    fn form(description: &str) -> RawForm {
        RawForm {
            description: description.into(),
            ..Default::default()
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("8 (999) 123-45-67").unwrap().as_str(),
            "+79991234567"
        );
        assert_eq!(Phone::parse("9991234567").unwrap().as_str(), "+79991234567");
        assert_eq!(
            Phone::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        for bad in ["12345", "+7 999 abc", "++79991234567", "1234567890123456"] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ivan@Example.RU ").unwrap().as_str(),
            "Ivan@example.ru"
        );
        assert!(Email::parse("иван@пример.рф").is_some());
        for bad in [
            "ivan",
            "ivan@",
            "@x.ru",
            "a b@x.ru",
            "a@x",
            "a@-x.ru",
            "a..b@x.ru",
            "<a>@x.ru",
            "a@x.r",
        ] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn description_length_is_counted_in_characters() {
        assert!(validate(&form("Не работает"), &limits(), None, &RU).is_ok());
        let e = validate(&form("  сломано  "), &limits(), None, &RU).unwrap_err();
        assert!(e.description.unwrap().contains("10"));
        let e = validate(&form(&"я".repeat(4001)), &limits(), None, &RU).unwrap_err();
        assert!(e.description.unwrap().contains("4000"));
        assert!(validate(&form(&"я".repeat(4000)), &limits(), None, &RU).is_ok());
    }

    #[test]
    fn contact_needs_consent() {
        let mut f = form("Не работает кофемашина");
        f.phone = "+7 999 123-45-67".into();
        let e = validate(&f, &limits(), None, &RU).unwrap_err();
        assert!(e.consent.is_some() && e.phone.is_none());
        f.consent = Some("1".into());
        let s = validate(&f, &limits(), None, &RU).unwrap();
        assert_eq!(s.phone.unwrap().as_str(), "+79991234567");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let f = RawForm {
            description: "x".into(),
            phone: "abc".into(),
            email: "no".into(),
            ..Default::default()
        };
        let e = validate(&f, &limits(), None, &RU).unwrap_err();
        assert!(
            e.description.is_some()
                && e.phone.is_some()
                && e.email.is_some()
                && e.consent.is_some()
        );
    }

    #[test]
    fn site_codes_need_a_listed_asset_or_other() {
        let site = [AssetId(1), AssetId(2)];
        let mut f = form("Не работает кондиционер");
        assert!(validate(&f, &limits(), Some(&site), &RU)
            .unwrap_err()
            .asset
            .is_some());
        f.asset = Some("3".into());
        assert!(validate(&f, &limits(), Some(&site), &RU)
            .unwrap_err()
            .asset
            .is_some());
        f.asset = Some("2".into());
        assert_eq!(
            validate(&f, &limits(), Some(&site), &RU).unwrap().asset,
            AssetChoice::Picked(AssetId(2))
        );
        f.asset = Some("other".into());
        assert_eq!(
            validate(&f, &limits(), Some(&site), &RU).unwrap().asset,
            AssetChoice::NotListed
        );
    }

    #[test]
    fn text_is_cleaned() {
        assert_eq!(clean_text("a\u{202E}b\u{0}c\r\nd\u{200B} "), "abc\nd");
        assert_eq!(clean_line(" Иван\nПетров\t"), "Иван Петров");
    }

    #[test]
    fn form_tokens_are_bound_to_code_and_time() {
        let secret = b"secret";
        let t = form_token(secret, "7K3M9Q2A", 1_000_000);
        assert_eq!(
            verify_form_token(secret, "7K3M9Q2A", &t, 1_000_500),
            Some(1_000_000)
        );
        assert_eq!(verify_form_token(secret, "7K3M9Q2B", &t, 1_000_500), None);
        assert_eq!(verify_form_token(b"other", "7K3M9Q2A", &t, 1_000_500), None);
        assert_eq!(
            verify_form_token(
                secret,
                "7K3M9Q2A",
                &t,
                1_000_000 + FORM_TOKEN_MAX_AGE_MS + 1
            ),
            None
        );
        assert_eq!(verify_form_token(secret, "7K3M9Q2A", "garbage", 0), None);
        // Two forms opened in the same millisecond are still two forms.
        assert_ne!(t, form_token(secret, "7K3M9Q2A", 1_000_000));
        let forged = t.replacen("1000000", "1000001", 1);
        assert_eq!(
            verify_form_token(secret, "7K3M9Q2A", &forged, 1_000_500),
            None
        );
    }
}
