//! Arbitrary bytes as a photo: sniffing and the whole pipeline never panic,
//! and what comes out is a JPEG within the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qrdesk::media::{process, sniff, Kind, MediaLimits};

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let limits = MediaLimits {
        max_file_bytes: 1 << 20,
        max_pixels: 2_000_000,
        max_side: 256,
    };
    if let Ok(p) = process(data, &limits) {
        assert_eq!(sniff(&p.jpeg), Kind::Jpeg);
        assert!(p.width <= 256 && p.height <= 256);
    }
});
