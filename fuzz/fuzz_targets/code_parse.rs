//! Codes and status tokens from arbitrary text: never a panic, and whatever
//! parses is canonical and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qrdesk::domain::codes::{Code, TrackingToken};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = Code::parse(text) {
        assert_eq!(code.as_str().len(), 8);
        assert_eq!(Code::parse(code.as_str()).as_ref(), Some(&code));
        assert!(code.qr_url("https://qr.example.ru").is_ascii());
    }
    if let Some(token) = TrackingToken::parse(text) {
        assert_eq!(TrackingToken::parse(token.as_str()), Some(token.clone()));
        assert_eq!(token.hash().len(), 64);
    }
});
