//! Sticker codes and status-page tokens: the alphabet, parsing and generation.
//!
//! A code is 40 random bits written as 8 Crockford base32 characters (no I, L,
//! O, U), so it survives being read aloud or typed from a label, and an upper-case
//! URL holding it stays in the QR alphanumeric mode.

use std::fmt;

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const CODE_LEN: usize = 8;

/// Fills an array from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("operating system random source");
    buf
}

/// Crockford base32 of `bytes`, most significant bit first, no padding.
pub fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The value of one base32 character, reading look-alikes the Crockford way.
fn decode_char(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u8)
}

/// A sticker code, always stored and shown in canonical upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code(String);

impl Code {
    /// Parses what a person or a URL gave: any case, `O`/`I`/`L` read as
    /// `0`/`1`, hyphens and spaces ignored. Anything else is refused.
    pub fn parse(input: &str) -> Option<Code> {
        if input.len() > 32 {
            return None;
        }
        let mut out = String::with_capacity(CODE_LEN);
        for b in input.bytes() {
            if b == b'-' || b == b' ' {
                continue;
            }
            out.push(ALPHABET[decode_char(b)? as usize] as char);
        }
        (out.len() == CODE_LEN).then_some(Code(out))
    }

    pub fn generate() -> Code {
        let bytes = random_bytes::<5>();
        Code(encode_base32(&bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL printed in the QR: upper case, so the QR stays alphanumeric.
    pub fn qr_url(&self, public_url: &str) -> String {
        format!("{}/Q/{}", public_url.trim_end_matches('/'), self.0).to_ascii_uppercase()
    }

    /// The URL a person opens (lower-case path), for links and the CLI.
    pub fn url(&self, public_url: &str) -> String {
        format!("{}/q/{}", public_url.trim_end_matches('/'), self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret in a status-page URL: 128 random bits. Only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TrackingToken(String);

impl TrackingToken {
    pub fn generate() -> TrackingToken {
        TrackingToken(encode_base32(&random_bytes::<16>()).to_ascii_lowercase())
    }

    /// The token for a submission of the form signed `form_token`: the same
    /// form sent twice (a double tap, a resend after a lost connection) gets
    /// the same token, so it lands on the same status page. Unguessable
    /// without the installation secret.
    pub fn for_form(secret: &[u8], form_token: &str) -> TrackingToken {
        TrackingToken::for_form_as(secret, "tracking", form_token)
    }

    /// A follower's token for "the same problem" pressed on the form signed
    /// `form_token`: pressing again gives the same link, not another row.
    pub fn for_follower(secret: &[u8], form_token: &str) -> TrackingToken {
        TrackingToken::for_form_as(secret, "follower", form_token)
    }

    fn for_form_as(secret: &[u8], purpose: &str, form_token: &str) -> TrackingToken {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(form_token.as_bytes());
        let tag = mac.finalize().into_bytes();
        TrackingToken(encode_base32(&tag[..16]).to_ascii_lowercase())
    }

    pub fn parse(input: &str) -> Option<TrackingToken> {
        let ok = input.len() == 26 && input.bytes().all(|b| decode_char(b).is_some());
        ok.then(|| TrackingToken(input.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256, the only form that reaches the database.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }
}

impl fmt::Debug for TrackingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingToken(…)")
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_canonical_and_parse_back() {
        for _ in 0..1000 {
            let c = Code::generate();
            assert_eq!(c.as_str().len(), CODE_LEN);
            assert!(c.as_str().bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(Code::parse(c.as_str()), Some(c.clone()));
            assert_eq!(Code::parse(&c.as_str().to_lowercase()), Some(c));
        }
    }

    #[test]
    fn look_alikes_and_separators_are_forgiven() {
        assert_eq!(Code::parse("7k3m-9q2o").unwrap().as_str(), "7K3M9Q20");
        assert_eq!(Code::parse("IL000000").unwrap().as_str(), "11000000");
    }

    #[test]
    fn bad_codes_are_refused() {
        for bad in [
            "",
            "7K3M9Q2",
            "7K3M9Q2AB",
            "7K3M9Q2U",
            "7K3M/Q2A",
            "ЖK3M9Q2A",
            &"A".repeat(40),
        ] {
            assert!(Code::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base32_matches_known_vectors() {
        assert_eq!(encode_base32(&[0, 0, 0, 0, 0]), "00000000");
        assert_eq!(encode_base32(&[0xff; 5]), "ZZZZZZZZ");
        assert_eq!(encode_base32(&[0x08, 0x42, 0x10, 0x84, 0x21]), "11111111");
        assert_eq!(encode_base32(&[0xff; 16]).len(), 26);
    }

    #[test]
    fn qr_url_is_upper_case() {
        let c = Code::parse("7K3M9Q2A").unwrap();
        assert_eq!(
            c.qr_url("https://qr.example.ru/"),
            "HTTPS://QR.EXAMPLE.RU/Q/7K3M9Q2A"
        );
        assert_eq!(
            c.url("https://qr.example.ru"),
            "https://qr.example.ru/q/7K3M9Q2A"
        );
    }

    #[test]
    fn form_tokens_give_stable_distinct_tracking_tokens() {
        let a = TrackingToken::for_form(b"secret", "123.ABC");
        assert_eq!(a, TrackingToken::for_form(b"secret", "123.ABC"));
        assert_ne!(a, TrackingToken::for_form(b"secret", "124.ABC"));
        assert_ne!(a, TrackingToken::for_form(b"other", "123.ABC"));
        assert_eq!(TrackingToken::parse(a.as_str()), Some(a));
    }

    #[test]
    fn tokens_are_128_bits_and_hashed() {
        let t = TrackingToken::generate();
        assert_eq!(t.as_str().len(), 26);
        assert_eq!(TrackingToken::parse(t.as_str()), Some(t.clone()));
        assert_eq!(t.hash().len(), 64);
        assert!(TrackingToken::parse("short").is_none());
        assert!(TrackingToken::parse(&"u".repeat(26)).is_none());
    }
}
