//! JPEG streams, well-formed or not: the segment walker, the metadata cut of the
//! upload path, and a 1/8 render (which cuts the AC scans of a progressive file
//! before decoding). Segments must lie inside the input in increasing order, the cut
//! file must not grow, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photoshare::domain::Transformation;
use photoshare::media::engine::{self, Limits};
use photoshare::media::ingest::{self, Format};
use photoshare::media::jpeg;

fuzz_target!(|data: &[u8]| {
    let Some(segments) = jpeg::segments(data) else {
        return;
    };
    let mut end = 2;
    for segment in segments {
        let Ok(segment) = segment else { break };
        assert!(segment.offset >= end, "segments overlap");
        assert_eq!(&data[segment.offset..][..segment.bytes.len()], segment.bytes);
        end = segment.offset + segment.bytes.len();
    }
    if let Ok(cut) = ingest::strip_metadata(Format::Jpeg, data.to_vec()) {
        assert!(cut.len() <= data.len(), "stripping made the file larger");
    }
    let limits = Limits {
        max_output_pixels: 1 << 20,
        max_input_pixels: 1 << 20,
    };
    let t: Transformation = "c_scale,w_16".parse().unwrap();
    let _ = engine::render(data, &t, &limits, None);
});
