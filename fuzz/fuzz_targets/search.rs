//! The search query string: any query either parses or is a 422/400 (no panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use photoshare::http::search::Search;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        let _ = Search::parse(query);
    }
});
