//! The transformation parser: any string either parses or is refused (no panic), and
//! what parses prints a canonical form that parses back to the same transformation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photoshare::domain::Transformation;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = text.parse::<Transformation>() {
        let canonical = t.to_string();
        let again: Transformation = canonical
            .parse()
            .unwrap_or_else(|e| panic!("canonical {canonical:?} of {text:?} refused: {e}"));
        assert_eq!(again.to_string(), canonical, "canonical form is stable");
    }
});
