//! API tokens: `qrd_` + 30 random base62 characters (≈ 178 bits) + a 6-character
//! base62 CRC32 of those 30, the scheme GitHub uses. The prefix lets secret
//! scanners find a leaked token; the checksum lets qrdesk turn away a
//! mistyped or made-up one before it reads the database. Only the SHA-256 of
//! a token is stored.

use sha2::{Digest, Sha256};

const PREFIX: &str = "qrd_";
const BODY_LEN: usize = 30;
const CHECK_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + BODY_LEN + CHECK_LEN;
/// What the token list shows of a token: enough to tell tokens apart.
pub const SHOWN_LEN: usize = PREFIX.len() + 6;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A well-formed token (its checksum holds); whether it is known is for the store.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken({}…)", self.shown())
    }
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

impl ApiToken {
    /// A new random token.
    pub fn generate() -> ApiToken {
        let mut body = String::with_capacity(BODY_LEN);
        while body.len() < BODY_LEN {
            for b in crate::domain::codes::random_bytes::<32>() {
                // 248 = 4 × 62: below it every character is equally likely.
                if b < 248 && body.len() < BODY_LEN {
                    body.push(BASE62[(b % 62) as usize] as char);
                }
            }
        }
        let check = checksum(&body);
        ApiToken(format!("{PREFIX}{body}{check}"))
    }

    /// Reads a token as a client sent it; `None` unless prefix, length,
    /// alphabet and checksum are all right.
    pub fn parse(s: &str) -> Option<ApiToken> {
        let rest = s.strip_prefix(PREFIX)?;
        if rest.len() != BODY_LEN + CHECK_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (body, check) = rest.split_at(BODY_LEN);
        (checksum(body) == check).then(|| ApiToken(s.to_owned()))
    }

    /// The whole token: shown to its owner once, never stored or logged.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256, the only form the database keeps.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first characters, for the token list.
    pub fn shown(&self) -> &str {
        &self.0[..SHOWN_LEN]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = ApiToken::generate();
        let b = ApiToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(a.expose().starts_with("qrd_"));
        assert_eq!(ApiToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(&a.expose()[SHOWN_LEN..]));
    }

    #[test]
    fn a_mistyped_or_made_up_token_is_turned_away_without_a_lookup() {
        let t = ApiToken::generate();
        let s = t.expose();
        // Every single-character change to the body is caught by the checksum.
        for i in PREFIX.len()..PREFIX.len() + BODY_LEN {
            let c = s.as_bytes()[i];
            let other = if c == b'a' { 'b' } else { 'a' };
            let typo = format!("{}{other}{}", &s[..i], &s[i + 1..]);
            assert_eq!(ApiToken::parse(&typo), None, "{typo}");
        }
        for bad in [
            "",
            "qrd_",
            &s[..s.len() - 1],
            &format!("{s}x"),
            &s.replacen("qrd_", "qrx_", 1),
            &format!("qrd_{}", "-".repeat(BODY_LEN + CHECK_LEN)),
        ] {
            assert_eq!(ApiToken::parse(bad), None, "{bad}");
        }
    }
}
