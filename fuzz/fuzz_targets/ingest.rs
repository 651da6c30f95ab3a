//! The upload path after the body is spooled: sniff the format from the bytes, read
//! the header for the pixel limit, decode, orient, strip metadata. Any bytes either
//! become a photo within the limits or are refused (no panic, no huge allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use photoshare::media::ingest::{self, Format};

/// Small enough that the fuzzer stays fast; the limit logic is the same.
const MAX_PIXELS: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let sniffed = Format::sniff(data);
    match ingest::ingest(data.to_vec(), MAX_PIXELS) {
        Ok(photo) => {
            assert!(sniffed.is_some(), "ingested bytes of no known format");
            assert!(u64::from(photo.width) * u64::from(photo.height) <= MAX_PIXELS);
        }
        Err(_) => {}
    }
});
