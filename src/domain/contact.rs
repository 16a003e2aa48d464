//! How a person can be reached, and the text they type, cleaned.

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
