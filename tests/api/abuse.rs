//! What one account (or none) can make the server hold, burn or reveal: a test per
//! class of issue 18, each of which failed before its fix.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app, spawn_app_with, Role, TestApp};

/// A raw HTTP/1.1 exchange: the head of what the server answered to `request`
/// (on a blocking thread: the test's own runtime must stay free).
async fn raw(app: &TestApp, request: &[u8]) -> String {
    let addr = app.address.trim_start_matches("http://").to_owned();
    let request = request.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(&request).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        while !out.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn a_jpeg_whose_header_claims_more_pixels_than_its_data_holds_is_refused() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let pixels = vec![128u8; 16 * 16 * 3];
    let opts = photoshare::media::libjpeg::Encode::quality(80);
    let mut jpeg = photoshare::media::libjpeg::encode(&pixels, 16, 16, 3, opts).unwrap();
    // SOF0: FF C0, length (2), precision (1), height (2), width (2).
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x1B, 0x58, 0x1B, 0x58]); // 7000 x 7000
    let res = app.upload(&user.access, jpeg, "liar.jpg", &[]).await;
    let problem = assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("corrupt or truncated"));
    let page: Value = app
        .get("/api/photos", Some(&user.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "nothing was kept");
}

#[actix_web::test]
async fn an_image_that_would_decode_past_the_memory_budget_is_413_before_decoding() {
    let app = spawn_app_with(|s| s.media.processing_budget_mib = 16).await;
    let user = app.signup_and_login(Role::User).await;
    // Lossless WebP of a flat 3000x3000 image: a few KiB that decode to 36 MB.
    let img = image::RgbaImage::from_pixel(3000, 3000, image::Rgba([10, 20, 30, 255]));
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), 3000, 3000, image::ExtendedColorType::Rgba8)
        .unwrap();
    assert!(webp.len() < 100_000);
    let res = app.upload(&user.access, webp, "flat.webp", &[]).await;
    let problem = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("MiB"),
        "{problem}"
    );
}

#[actix_web::test]
async fn many_small_parts_of_a_chunked_upload_count_against_one_budget() {
    let app = spawn_app_with(|s| s.media.max_upload_bytes = 64 * 1024).await;
    let user = app.signup_and_login(Role::User).await;
    // 200 tags parts of 10 KiB, sent chunked (no Content-Length): 2 MB in all.
    let chunks = (0..200).map(|_| {
        let mut part = b"--B\r\ncontent-disposition: form-data; name=\"tags\"\r\n\r\n".to_vec();
        part.extend(std::iter::repeat_n(b'a', 10 * 1024));
        part.extend_from_slice(b"\r\n");
        Ok::<_, std::io::Error>(part)
    });
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
        chunks.chain(std::iter::once(Ok(b"--B--\r\n".to_vec()))),
    ));
    let res = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access)
        .header("content-type", "multipart/form-data; boundary=B")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[actix_web::test]
async fn a_body_trickled_past_the_deadline_gets_408_and_the_connection_closes() {
    let app = spawn_app_with(|s| s.server.body_timeout_seconds = 1).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .write_all(
                b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Content-Length: 1000\r\n\r\n{",
            )
            .unwrap();
        // A byte now and then, never the whole body.
        for _ in 0..8 {
            std::thread::sleep(Duration::from_millis(300));
            if stream.write_all(b" ").is_err() {
                break;
            }
        }
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out); // returns: the server closed it
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("request-timeout"), "{answer}");
}

#[actix_web::test]
async fn invented_methods_do_not_become_metrics_labels() {
    let app = spawn_app().await;
    for i in 0..20 {
        let req = format!("INVENTED{i} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let head = raw(&app, req.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(!metrics.contains("INVENTED"), "{metrics}");
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
}

async fn login_from(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": "nobody", "password": "wrong-password"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[actix_web::test]
async fn a_client_cannot_pick_its_own_address_past_the_rate_limit() {
    // One proxy in front: only the entry it appends is believed.
    let app = spawn_app_with(|s| {
        s.rate_limit.auth_per_minute = 3;
        s.server.forwarded_hops = 1;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        // The client writes anything on the left; the proxy appends what it saw.
        statuses.push(login_from(&app, &format!("10.0.0.{i}, 203.0.113.9")).await);
    }
    assert_eq!(&statuses[..3], &[StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Another real client (another appended address) has its own budget.
    assert_eq!(
        login_from(&app, "203.0.113.10").await,
        StatusCode::UNAUTHORIZED
    );
    // Junk in the believed position falls back to the peer address: no new key.
    let junk = login_from(&app, "not-an-address").await;
    assert_eq!(junk, StatusCode::UNAUTHORIZED);

    // No proxy configured: the header is ignored altogether.
    let direct = spawn_app_with(|s| s.rate_limit.auth_per_minute = 2).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(login_from(&direct, &format!("198.51.100.{i}")).await);
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[actix_web::test]
async fn control_bidi_and_invisible_text_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, crate::fixtures::png(8, 8), &[])
        .await;
    let id = photo["id"].as_str().unwrap();
    let cases = [
        (
            "/api/photos",
            "description",
            "nul\u{0}inside",
            "description",
        ),
        ("/comments", "text", "invoice\u{202E}fdp.exe", "text"),
        ("/comments", "text", "\u{200B}\u{200B}\u{3164}", "text"),
        ("/me", "full_name", "a\tb", "full_name"),
        ("/me", "email", "<script>@x.com", "email"),
    ];
    for (target, field, value, named) in cases {
        let res = match target {
            "/api/photos" => {
                app.upload(
                    &user.access,
                    crate::fixtures::png(8, 8),
                    "p.png",
                    &[(field, value)],
                )
                .await
            }
            "/comments" => {
                let path = format!("/api/photos/{id}/comments");
                app.post_json(&path, &json!({ field: value }), Some(&user.access))
                    .await
            }
            _ => {
                app.send_json(
                    reqwest::Method::PATCH,
                    "/api/users/me",
                    &json!({ field: value }),
                    Some(&user.access),
                )
                .await
            }
        };
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), vec![named], "{value:?}: {problem}");
    }
    let res = app
        .signup("spaces_only", "spaces@example.com", "          ")
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), vec!["password"]);
    let res = app
        .signup("spaced_ok", "spaced@example.com", "correct horse battery")
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "spaces inside a password are fine"
    );
}

#[actix_web::test]
async fn email_changes_are_limited_so_taken_addresses_cannot_be_enumerated() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let body = json!({ "email": format!("probe{i}@example.com") });
        let res = app
            .send_json(
                reqwest::Method::PATCH,
                "/api/users/me",
                &body,
                Some(&user.access),
            )
            .await;
        statuses.push(res.status());
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Other profile fields are not limited.
    let res = app
        .send_json(
            reqwest::Method::PATCH,
            "/api/users/me",
            &json!({"bio": "hi"}),
            Some(&user.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_browser_on_an_allowed_origin_may_patch_and_revalidate() {
    let app = spawn_app_with(|s| s.server.cors_origins = "https://app.example".into()).await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/users/me"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, if-none-match, tus-resumable, upload-offset",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for wanted in ["if-none-match", "tus-resumable", "upload-offset"] {
        assert!(headers.contains(wanted), "{wanted} not in {headers}");
    }
    // The answer itself lets the page read what a client app needs.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for wanted in [
        "etag",
        "location",
        "retry-after",
        "upload-offset",
        "photoshare-photo-id",
    ] {
        assert!(exposed.contains(wanted), "{wanted} not in {exposed}");
    }
}

#[actix_web::test]
async fn problem_details_never_carry_the_frameworks_or_rusts_words() {
    let app = spawn_app().await;
    let res = app
        .post_json("/api/auth/login", &json!("just a string"), None)
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let text = problem.to_string();
    assert!(
        !text.contains("struct") && !text.contains("Request"),
        "{text}"
    );
    // A malformed multipart body: our sentence, not actix-multipart's.
    let user = app.signup_and_login(Role::User).await;
    let res = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access)
        .header("content-type", "multipart/form-data; boundary=B")
        .body("--B\r\ncontent-disposition: form-data\r\n\r\nx\r\n--B")
        .send()
        .await
        .unwrap();
    let status = res.status();
    let problem: Value = res.json().await.unwrap();
    assert!(status.is_client_error(), "{status}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        !detail.contains("None") && !detail.contains("Error"),
        "{detail}"
    );
}
