//! A form body as a phone (or anyone) might send it: decoding and validation
//! never panic, and an accepted description keeps to the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qrdesk::backend::AssetId;
use qrdesk::config::Config;
use qrdesk::intake::form::{decode, validate};
use qrdesk::web::i18n::RU;

fuzz_target!(|data: &[u8]| {
    let Some(form) = decode(data) else {
        return;
    };
    let limits = Config::default().limits;
    let site = [AssetId(1001), AssetId(1002)];
    for site in [None, Some(&site[..])] {
        if let Ok(s) = validate(&form, &limits, site, &RU) {
            let n = s.description.chars().count();
            assert!(n >= limits.description_min_chars && n <= limits.description_max_chars);
            assert!(!s.description.contains('\0'));
        }
    }
});
