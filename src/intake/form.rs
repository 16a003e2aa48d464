//! The request form: parsing what a phone sent into a [`Submission`], with a
//! message per field when something is wrong, and the signed form token.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use validator::{Validate, ValidateArgs, ValidationError, ValidationErrors};

use crate::backend::AssetId;
use crate::config::LimitsConfig;
use crate::domain::contact::{clean_text, Email, Phone};
use crate::i18n::Texts;

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

    /// Each field's error with the id of the field it is about, in the
    /// form's order, for the summary's links.
    pub fn list(&self) -> Vec<(&'static str, &str)> {
        [
            ("asset", &self.asset),
            ("description", &self.description),
            ("photos", &self.photos),
            ("name", &self.name),
            ("phone", &self.phone),
            ("email", &self.email),
            ("consent", &self.consent),
            ("answer", &self.challenge),
        ]
        .into_iter()
        .filter_map(|(id, e)| e.as_deref().map(|e| (id, e)))
        .collect()
    }
}

/// One-line fields also lose newlines and tabs.
fn clean_line(s: &str) -> String {
    clean_text(s).replace(['\n', '\t'], " ")
}

pub fn description_hint(t: &Texts, limits: &LimitsConfig) -> String {
    t.description_hint
        .replace("{min}", &limits.description_min_chars.to_string())
}

/// What the checks need besides the form: the configured limits and, for a
/// site code, the assets a person may pick.
pub struct Rules<'a> {
    pub limits: &'a LimitsConfig,
    pub site_assets: Option<&'a [AssetId]>,
}

/// The form's fields cleaned of invisible tricks, checked by validator. Each
/// check's `code` becomes a message in the person's language in [`messages`].
#[derive(Debug, Validate)]
#[validate(
    context = "Rules<'v_a>",
    schema(function = "contact_needs_consent", skip_on_field_errors = false)
)]
pub struct Cleaned {
    #[validate(custom(function = "description_length", use_context))]
    pub description: String,
    #[validate(custom(function = "name_length", use_context))]
    pub name: String,
    #[validate(custom(function = "phone_shape"))]
    pub phone: String,
    #[validate(custom(function = "email_shape"))]
    pub email: String,
    pub consent: bool,
    /// Empty when the form sent none.
    #[validate(custom(function = "asset_listed", use_context))]
    pub asset: String,
}

impl Cleaned {
    pub fn from_raw(raw: &RawForm) -> Cleaned {
        Cleaned {
            description: clean_text(&raw.description),
            name: clean_line(&raw.name),
            phone: raw.phone.trim().to_owned(),
            email: raw.email.trim().to_owned(),
            consent: raw.consent_given(),
            asset: raw.asset.as_deref().unwrap_or("").trim().to_owned(),
        }
    }
}

fn description_length(s: &str, rules: &Rules) -> Result<(), ValidationError> {
    let chars = s.chars().count();
    if chars < rules.limits.description_min_chars {
        Err(ValidationError::new("description_short"))
    } else if chars > rules.limits.description_max_chars {
        Err(ValidationError::new("description_long"))
    } else {
        Ok(())
    }
}

fn name_length(s: &str, rules: &Rules) -> Result<(), ValidationError> {
    (s.chars().count() <= rules.limits.name_max_chars)
        .then_some(())
        .ok_or_else(|| ValidationError::new("name_long"))
}

/// Empty is fine (the field is optional); anything else must be a [`Phone`].
fn phone_shape(s: &str) -> Result<(), ValidationError> {
    (s.is_empty() || Phone::parse(s).is_some())
        .then_some(())
        .ok_or_else(|| ValidationError::new("phone"))
}

fn email_shape(s: &str) -> Result<(), ValidationError> {
    (s.is_empty() || Email::parse(s).is_some())
        .then_some(())
        .ok_or_else(|| ValidationError::new("email"))
}

fn asset_listed(s: &str, rules: &Rules) -> Result<(), ValidationError> {
    let Some(allowed) = rules.site_assets else {
        return Ok(());
    };
    let ok = s == "other"
        || s.parse::<i64>()
            .is_ok_and(|id| allowed.contains(&AssetId(id)));
    ok.then_some(())
        .ok_or_else(|| ValidationError::new("asset"))
}

fn contact_needs_consent(f: &Cleaned) -> Result<(), ValidationError> {
    let has_contact = !f.name.is_empty() || !f.phone.is_empty() || !f.email.is_empty();
    (!has_contact || f.consent)
        .then_some(())
        .ok_or_else(|| ValidationError::new("consent"))
}

/// The message for each failed check, in the person's language.
pub fn messages(errors: &ValidationErrors, t: &Texts, limits: &LimitsConfig) -> FieldErrors {
    let mut out = FieldErrors::default();
    let fields = errors.field_errors();
    let all = fields.values().flat_map(|v| v.iter());
    for e in all {
        let (slot, text) = match e.code.as_ref() {
            "description_short" => (
                &mut out.description,
                t.err_description_short
                    .replace("{min}", &limits.description_min_chars.to_string()),
            ),
            "description_long" => (
                &mut out.description,
                t.err_description_long
                    .replace("{max}", &limits.description_max_chars.to_string()),
            ),
            "name_long" => (&mut out.name, t.err_name_long.to_owned()),
            "phone" => (&mut out.phone, t.err_phone.to_owned()),
            "email" => (&mut out.email, t.err_email.to_owned()),
            "consent" => (&mut out.consent, t.err_consent.to_owned()),
            "asset" => (&mut out.asset, t.err_asset.to_owned()),
            other => {
                tracing::error!(code = other, "a form check without a message");
                (&mut out.form, t.bad_request_text.to_owned())
            }
        };
        slot.get_or_insert(text);
    }
    out
}

/// Checks every field and collects every problem at once.
pub fn validate(
    raw: &RawForm,
    limits: &LimitsConfig,
    site_assets: Option<&[AssetId]>,
    t: &Texts,
) -> Result<Submission, Box<FieldErrors>> {
    let f = Cleaned::from_raw(raw);
    f.validate_with_args(&Rules {
        limits,
        site_assets,
    })
    .map_err(|e| Box::new(messages(&e, t, limits)))?;
    let asset = match (site_assets, f.asset.as_str()) {
        (None, _) => AssetChoice::Fixed,
        (Some(_), "other") => AssetChoice::NotListed,
        (Some(_), id) => id.parse::<i64>().map_or(AssetChoice::NotListed, |id| {
            AssetChoice::Picked(AssetId(id))
        }),
    };
    Ok(Submission {
        phone: Phone::parse(&f.phone),
        email: Email::parse(&f.email),
        name: (!f.name.is_empty()).then_some(f.name),
        description: f.description,
        consent: f.consent,
        asset,
    })
}

/// A comment on the status page: cleaned text within the configured length.
#[derive(Debug, Validate)]
#[validate(context = "LimitsConfig")]
pub struct CommentText {
    #[validate(custom(function = "comment_length", use_context))]
    pub text: String,
}

impl CommentText {
    /// The cleaned text, or the message that says what to change.
    pub fn check(raw: &str, limits: &LimitsConfig, t: &Texts) -> Result<String, String> {
        let c = CommentText {
            text: clean_text(raw),
        };
        match c.validate_with_args(limits) {
            Ok(()) => Ok(c.text),
            Err(_) => Err(t
                .err_comment_length
                .replace("{max}", &limits.description_max_chars.to_string())),
        }
    }
}

fn comment_length(s: &str, limits: &LimitsConfig) -> Result<(), ValidationError> {
    (2..=limits.description_max_chars)
        .contains(&s.chars().count())
        .then_some(())
        .ok_or_else(|| ValidationError::new("comment_length"))
}

type HmacSha256 = Hmac<Sha256>;

/// Who opened a code's form, as a keyed digest of the address and browser
/// (kept in memory for an hour to count a scan once; never stored).
pub fn visitor_key(secret: &[u8], code: &str, ip: &str, agent: &str) -> [u8; 16] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("visitor|{code}|{ip}|{agent}").as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut key = [0; 16];
    key.copy_from_slice(&tag[..16]);
    key
}

/// How long a form stays valid after it was opened.
pub const FORM_TOKEN_MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// `ISSUED_MS.NONCE.MAC`: proves the form came from us, for this code, and
/// when. The random nonce makes every rendered form distinct, so two people
/// who open the same sticker in the same millisecond never share a status page.
pub fn form_token(secret: &[u8], code: &str, issued_ms: i64) -> String {
    let nonce = crate::domain::codes::encode_base32(&crate::domain::codes::random_bytes::<5>());
    signed_form_token(secret, code, issued_ms, &nonce)
}

fn signed_form_token(secret: &[u8], code: &str, issued_ms: i64, nonce: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("form|{code}|{issued_ms}|{nonce}").as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "{issued_ms}.{nonce}.{}",
        crate::domain::codes::encode_base32(&tag)
    )
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
    use crate::i18n::RU;

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
