//! Multipart parsing of uploads as the handler does it (`photos::UploadBody` over
//! actix-multipart, then `photos::read_form`): the first byte picks where the body is split into network
//! chunks, the rest is the body for a fixed boundary. Never a panic or a hang (run
//! with -timeout); a file part never passes the byte limit.
#![no_main]

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use photoshare::http::photos::{read_form, UploadBody};

const MAX: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("multipart/form-data; boundary=XfuzzX"),
    );
    let step = usize::from(split).max(1);
    let chunks: Vec<Result<Bytes, actix_web::error::PayloadError>> = body
        .chunks(step)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let spool = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let mut payload = UploadBody::new(&headers, stream);
        if let Ok(form) = read_form(&mut payload, spool.path(), MAX).await {
            if let Some(file) = &form.file {
                let len = std::fs::metadata(file).unwrap().len();
                assert!(len <= MAX, "a {len}-byte file passed the {MAX}-byte limit");
            }
        }
    });
});
