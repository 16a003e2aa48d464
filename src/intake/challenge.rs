//! Proof of work on the public form, ALTCHA-style and self-hosted: switched on
//! only while a sticker or the whole installation gets more requests than
//! people make.
//!
//! The salt is the form's own signed token, and the secret number is derived
//! from it with the installation secret, so nothing is stored: the page shows
//! `SHA-256(salt + number)` and the upper bound, the browser tries numbers
//! until the hash matches, and the server checks the number it can derive
//! itself. A solution is good for that one form only. Without JavaScript the
//! same form asks a small sum instead, derived the same way; since a script can
//! read a sum, the sum counts only once the form has been open a while
//! (`limits.challenge_sum_min_secs`), which a person typing a fault needs
//! anyway and which caps what a script gets out of each form.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{ChallengeMode, LimitsConfig};
use crate::i18n::Texts;

/// What the form shows when proof is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Hex SHA-256 of the form token followed by the secret number.
    pub hash: String,
    /// The browser tries 0..=max.
    pub max: u32,
    /// The no-JavaScript question, e.g. "Сколько будет 3 + 4?".
    pub question: String,
}

fn derive(secret: &[u8], form_token: &str, what: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(what.as_bytes());
    mac.update(b"|");
    mac.update(form_token.as_bytes());
    mac.finalize().into_bytes().into()
}

fn number(secret: &[u8], form_token: &str, max: u32) -> u32 {
    let d = derive(secret, form_token, "pow");
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    // Skip the first tenth so a solution always costs some work.
    let low = max / 10;
    low + n % (max - low + 1)
}

fn operands(secret: &[u8], form_token: &str) -> (u32, u32) {
    let d = derive(secret, form_token, "sum");
    (u32::from(d[0] % 9) + 1, u32::from(d[1] % 9) + 1)
}

/// The hash a solver looks for: hex SHA-256 of `salt` followed by `number` in decimal.
pub fn hash_hex(salt: &str, number: u32) -> String {
    crate::domain::codes::hex_sha256(format!("{salt}{number}").as_bytes())
}

pub fn issue(secret: &[u8], form_token: &str, max: u32, t: &Texts) -> Challenge {
    let (a, b) = operands(secret, form_token);
    Challenge {
        hash: hash_hex(form_token, number(secret, form_token, max)),
        max,
        question: format!("{} {a} + {b}?", t.challenge_question),
    }
}

/// What a post brings as proof.
pub struct Posted<'a> {
    /// The number the browser found.
    pub pow: &'a str,
    /// The answer to the sum, without JavaScript.
    pub answer: &'a str,
    /// How long the form was open, in milliseconds.
    pub open_ms: i64,
}

/// Whether the post carries the number behind the form's hash, or the sum
/// after the form was open long enough.
pub fn solved(secret: &[u8], form_token: &str, limits: &LimitsConfig, posted: &Posted) -> bool {
    let max = limits.challenge_max_number;
    let pow_ok = posted
        .pow
        .trim()
        .parse::<u32>()
        .is_ok_and(|n| n == number(secret, form_token, max));
    let (a, b) = operands(secret, form_token);
    let answer_ok = posted
        .answer
        .trim()
        .parse::<u32>()
        .is_ok_and(|s| s == a + b)
        && posted.open_ms >= limits.challenge_sum_min_secs as i64 * 1000;
    pow_ok || answer_ok
}

/// Whether a form asks for proof now, given the requests through its code
/// in the last hour and everywhere in the last minute.
pub fn needed(limits: &LimitsConfig, code_last_hour: i64, everywhere_last_minute: i64) -> bool {
    match limits.challenge {
        ChallengeMode::Off => false,
        ChallengeMode::Always => true,
        ChallengeMode::Auto => {
            code_last_hour >= i64::from(limits.challenge_code_per_hour)
                || everywhere_last_minute >= i64::from(limits.challenge_global_per_minute)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn limits() -> LimitsConfig {
        let mut l = crate::config::Config::default().limits;
        l.challenge_max_number = 5000;
        l.challenge_sum_min_secs = 15;
        l
    }

    fn pow(n: &str) -> Posted<'_> {
        Posted {
            pow: n,
            answer: "",
            open_ms: 0,
        }
    }

    fn by_sum(answer: &str, open_ms: i64) -> Posted<'_> {
        Posted {
            pow: "",
            answer,
            open_ms,
        }
    }

    fn solve(salt: &str, c: &Challenge) -> Option<u32> {
        (0..=c.max).find(|&n| hash_hex(salt, n) == c.hash)
    }

    #[test]
    fn the_number_behind_the_hash_is_found_by_search_and_accepted() {
        let secret = b"installation";
        let token = "1700000000000.ABCDEFGH.XYZ";
        let c = issue(secret, token, 5000, Lang::Ru.texts());
        let n = solve(token, &c).expect("a solution within max");
        assert!(n >= 500, "at least a tenth of the range: {n}");
        let l = limits();
        assert!(solved(secret, token, &l, &pow(&n.to_string())));
        assert!(!solved(secret, token, &l, &pow(&(n + 1).to_string())));
        assert!(!solved(secret, token, &l, &pow("")));
        assert!(!solved(secret, token, &l, &by_sum("x", 60_000)));
        // Bound to its form: another token's challenge is different.
        let other = issue(secret, "1700000000000.ABCDEFGI.XYZ", 5000, Lang::Ru.texts());
        assert_ne!(other.hash, c.hash);
        assert!(!solved(
            secret,
            "1700000000000.ABCDEFGI.XYZ",
            &l,
            &pow(&n.to_string())
        ));
    }

    #[test]
    fn the_question_is_a_small_sum_in_the_page_language() {
        let secret = b"installation";
        let token = "1700000000000.ABCDEFGH.XYZ";
        let c = issue(secret, token, 5000, Lang::Ru.texts());
        let q = c
            .question
            .trim_start_matches("Сколько будет ")
            .trim_end_matches('?');
        let (a, b) = q.split_once(" + ").unwrap();
        let sum: u32 = a.parse::<u32>().unwrap() + b.parse::<u32>().unwrap();
        assert!((2..=18).contains(&sum));
        let l = limits();
        let right = format!(" {sum} ");
        assert!(solved(secret, token, &l, &by_sum(&right, 15_000)));
        assert!(
            !solved(secret, token, &l, &by_sum(&right, 14_999)),
            "too soon"
        );
        assert!(!solved(
            secret,
            token,
            &l,
            &by_sum(&(sum + 1).to_string(), 60_000)
        ));
        let en = issue(secret, token, 5000, Lang::En.texts());
        assert!(en.question.starts_with("What is "), "{}", en.question);
    }
}
