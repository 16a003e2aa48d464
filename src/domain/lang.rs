//! The two languages qrdesk speaks: Russian first, English second.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

/// The word for `n` things: Russian has three forms (одна заявка, две
/// заявки, пять заявок), English two.
pub fn plural<'a>(lang: Lang, n: u64, ru: [&'a str; 3], en: [&'a str; 2]) -> &'a str {
    match lang {
        Lang::Ru => {
            let (tens, ones) = (n % 100, n % 10);
            if (11..=14).contains(&tens) {
                ru[2]
            } else if ones == 1 {
                ru[0]
            } else if (2..=4).contains(&ones) {
                ru[1]
            } else {
                ru[2]
            }
        }
        Lang::En => {
            if n == 1 {
                en[0]
            } else {
                en[1]
            }
        }
    }
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }
}
