//! Resumable uploads (API.md, "Uploads that survive bad networks, duplicates and
//! photo metadata"): tus 1.0.0 under `/api/uploads`, by hand for every rule, and
//! with the stock clients (tus-js-client under Node, tuspy) through a proxy that
//! cuts the connection in the middle of a PATCH.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha1::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures;
use crate::helpers::{assert_problem, error_fields, spawn_app, spawn_app_with, Role, TestApp};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A tus request as a client sends it, to any node.
pub fn request(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
}

/// A path of the app's, or a whole URL, as a whole URL.
fn at(app: &TestApp, url: &str) -> String {
    if url.starts_with("http") {
        url.to_owned()
    } else {
        app.url(url)
    }
}

/// A tus request to the app.
fn tus(app: &TestApp, method: Method, url: &str, token: &str) -> reqwest::RequestBuilder {
    request(&app.client, method, &at(app, url), token)
}

/// Creates an upload of `length` bytes on the node at `base`; its id.
pub async fn create_on(client: &reqwest::Client, base: &str, token: &str, length: usize) -> String {
    let metadata = format!("filename {}", b64("photo.png"));
    let res = request(client, Method::POST, &format!("{base}/api/uploads"), token)
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    header(&res, "location")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// Appends `body` at `offset` to the upload at `url`.
pub async fn patch_on(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    request(client, Method::PATCH, url, token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn create(app: &TestApp, token: &str, length: usize, metadata: &str) -> reqwest::Response {
    tus(app, Method::POST, "/api/uploads", token)
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .unwrap()
}

async fn created(app: &TestApp, token: &str, length: usize) -> String {
    let metadata = format!("filename {}", b64("photo.png"));
    let res = create(app, token, length, &metadata).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    header(&res, "location")
}

async fn patch(
    app: &TestApp,
    url: &str,
    token: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    patch_on(&app.client, &at(app, url), token, offset, body).await
}

async fn head(app: &TestApp, url: &str, token: &str) -> reqwest::Response {
    tus(app, Method::HEAD, url, token).send().await.unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", res.headers()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Unfinished uploads: their records (`json`), or those holding bytes (`part`),
/// in the partial-upload folder or, with media on S3, in the bucket.
async fn partial_files(app: &TestApp, kind: &str) -> usize {
    if app.settings.uses_s3() {
        let mut uploads = std::collections::BTreeSet::new();
        for key in app.media_keys("partial-uploads/").await {
            let segments: Vec<&str> = key.split('/').collect();
            match (kind, segments.len()) {
                ("json", 3) => uploads.insert(key.clone()),
                ("part", 4) => uploads.insert(segments[..3].join("/")),
                _ => false,
            };
        }
        return uploads.len();
    }
    let dir = app.data_dir().join("partial-uploads");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == kind))
                .filter(|e| kind != "part" || e.metadata().is_ok_and(|m| m.len() > 0))
                .count()
        })
        .unwrap_or(0)
}

#[actix_web::test]
async fn the_tus_protocol_end_to_end_with_every_check_of_an_upload() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;

    // Discovery, without a token.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "tus-version"), "1.0.0");
    assert_eq!(header(&res, "tus-resumable"), "1.0.0");
    let extensions = header(&res, "tus-extension");
    for ext in ["creation", "termination", "checksum"] {
        assert!(extensions.split(',').any(|e| e == ext), "{extensions}");
    }
    assert_eq!(header(&res, "tus-max-size"), "20971520");
    assert_eq!(header(&res, "tus-checksum-algorithm"), "sha1");

    // Creation: version, length and metadata are checked before anything is kept.
    let res = app
        .client
        .post(app.url("/api/uploads"))
        .bearer_auth(&ada.access)
        .header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["tus-version"], "1.0.0");
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    let res = create(&app, &ada.access, 20 * 1024 * 1024 + 1, "").await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let bad_tags = format!("filename {},tags {}", b64("a.jpg"), b64("ok,two words"));
    let problem = assert_problem(
        create(&app, &ada.access, 10, &bad_tags).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&problem), ["tags"]);
    let res = create(&app, &ada.access, 10, "filename ***").await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;
    let res = tus(&app, Method::POST, "/api/uploads", &ada.access)
        .header("Upload-Defer-Length", "1")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        partial_files(&app, "json").await,
        0,
        "nothing kept for refusals"
    );

    // A camera file in three chunks, one with a checksum.
    let file = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/exif/canon-new-york.jpg"
    ))
    .unwrap();
    let metadata = format!(
        "filename {},description {},tags {}",
        b64("canon.jpg"),
        b64("Liberty at dusk"),
        b64("NYC,harbour")
    );
    let res = create(&app, &ada.access, file.len(), &metadata).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().contains_key("upload-expires"));
    let url = header(&res, "location");
    assert!(
        url.starts_with(&format!("{}/api/uploads/", app.address)),
        "{url}"
    );

    // Only its creator may touch it.
    assert_eq!(
        head(&app, &url, &bob.access).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = patch(&app, &url, &bob.access, 0, &file[..10]).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = tus(&app, Method::DELETE, &url, &bob.access)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;

    // The wrong content type, offset or checksum changes nothing.
    let res = tus(&app, Method::PATCH, &url, &ada.access)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/octet-stream")
        .body(file[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let res = patch(&app, &url, &ada.access, 5, &file[..10]).await;
    assert_problem(res, StatusCode::CONFLICT).await;
    let wrong = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(b"other"));
    let res = tus(&app, Method::PATCH, &url, &ada.access)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {wrong}"))
        .body(file[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 460);
    let res = head(&app, &url, &ada.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "upload-offset"), "0");
    assert_eq!(header(&res, "upload-length"), file.len().to_string());
    assert_eq!(header(&res, "cache-control"), "no-store");

    let third = file.len() / 3;
    let right =
        base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&file[..third]));
    let res = tus(&app, Method::PATCH, &url, &ada.access)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {right}"))
        .body(file[..third].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "upload-offset"), third.to_string());
    let res = patch(&app, &url, &ada.access, third, &file[third..2 * third]).await;
    assert_eq!(header(&res, "upload-offset"), (2 * third).to_string());
    assert!(!res.headers().contains_key("photoshare-photo-id"));
    // More than the upload's length is refused and not kept.
    let mut long = file[2 * third..].to_vec();
    long.push(0);
    let res = patch(&app, &url, &ada.access, 2 * third, &long).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    let res = patch(&app, &url, &ada.access, 2 * third, &file[2 * third..]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "upload-offset"), file.len().to_string());
    let photo_id = header(&res, "photoshare-photo-id");

    // The photo went through every check of an upload: upright, metadata read and
    // cut, tags and description from the upload's metadata.
    let photo: Value = app
        .get(&format!("/api/photos/{photo_id}"), Some(&ada.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photo["description"], "Liberty at dusk");
    assert_eq!(photo["tags"], json!(["nyc", "harbour"]));
    assert_eq!(
        (&photo["width"], &photo["height"]),
        (&json!(64), &json!(96))
    );
    assert_eq!(photo["taken_at"], "2019-07-04T18:30:00-04:00");
    assert!(photo["location"]["lat"].is_number());
    assert_eq!(
        partial_files(&app, "part").await,
        0,
        "the bytes are gone once stored"
    );

    // Asked again (the answer was lost), the upload names its photo.
    let res = head(&app, &url, &ada.access).await;
    assert_eq!(header(&res, "upload-offset"), file.len().to_string());
    assert_eq!(header(&res, "photoshare-photo-id"), photo_id);
    let res = patch(&app, &url, &ada.access, file.len(), &[]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "photoshare-photo-id"), photo_id);

    // The same file again, resumably: a duplicate, named; the upload is gone.
    let again = created(&app, &ada.access, file.len()).await;
    let res = patch(&app, &again, &ada.access, 0, &file).await;
    let problem = assert_problem(res, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:photoshare:problem:duplicate-photo");
    assert_eq!(problem["photo_id"], photo_id.as_str());
    assert_eq!(
        head(&app, &again, &ada.access).await.status(),
        StatusCode::NOT_FOUND
    );

    // Not an image: refused when the last byte arrives, and removed.
    let text = b"just some text, not a photo".to_vec();
    let junk = created(&app, &ada.access, text.len()).await;
    let res = patch(&app, &junk, &ada.access, 0, &text).await;
    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(
        head(&app, &junk, &ada.access).await.status(),
        StatusCode::NOT_FOUND
    );

    // Termination.
    let gone = created(&app, &ada.access, 1000).await;
    patch(&app, &gone, &ada.access, 0, &[1, 2, 3]).await;
    let res = tus(&app, Method::DELETE, &gone, &ada.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        head(&app, &gone, &ada.access).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(partial_files(&app, "part").await, 0);
}

#[actix_web::test]
async fn unfinished_uploads_are_bounded_per_account_and_expire() {
    let app = spawn_app_with(|s| {
        s.media.max_unfinished_uploads = 2;
        s.media.max_unfinished_upload_bytes = 3000;
        s.media.upload_ttl_seconds = 1;
    })
    .await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let first = created(&app, &ada.access, 1000).await;
    let res = patch(&app, &first, &ada.access, 0, &[7; 10]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(partial_files(&app, "part").await, 1);
    let second = created(&app, &ada.access, 1000).await;
    let res = create(&app, &ada.access, 10, "").await;
    let problem = assert_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(problem["type"], "urn:photoshare:problem:too-many-uploads");
    // Another account has its own bounds; bytes are bounded too.
    let res = create(&app, &bob.access, 3001, "").await;
    let problem = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("3000"),
        "{problem}"
    );
    let third = created(&app, &bob.access, 3000).await;

    // Once expired, an upload is gone; a new one clears the expired away.
    crate::helpers::eventually("the uploads expire", || async {
        let mut gone = true;
        for (url, user) in [(&first, &ada), (&second, &ada), (&third, &bob)] {
            gone &= head(&app, url, &user.access).await.status() == StatusCode::NOT_FOUND;
        }
        gone
    })
    .await;
    created(&app, &ada.access, 1000).await;
    assert_eq!(
        partial_files(&app, "json").await,
        1,
        "only the new upload is left"
    );
    assert_eq!(
        partial_files(&app, "part").await,
        0,
        "the expired bytes are gone"
    );
}

/// A bad network in front of the app: it cuts, once, the connection that carries
/// the client's byte number `cut_at` (counted over every connection; that byte and
/// the rest are never delivered and both sides see the connection end), and with
/// `bytes_per_second` it carries each connection's uploads no faster than that.
pub struct Link {
    pub port: u16,
    upstream: Arc<Mutex<Option<String>>>,
    cut: Arc<AtomicBool>,
}

impl Link {
    pub async fn start(cut_at: u64, bytes_per_second: Option<u64>) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream: Arc<Mutex<Option<String>>> = Arc::default();
        let cut = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (up, cut2) = (upstream.clone(), cut.clone());
        actix_web::rt::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let to = up.lock().unwrap().clone().expect("upstream set");
                let (cut, sent) = (cut2.clone(), sent.clone());
                tokio::spawn(async move {
                    let server = tokio::net::TcpStream::connect(to).await.unwrap();
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match from_client.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let before = sent.fetch_add(n as u64, Ordering::SeqCst);
                        if !cut.load(Ordering::SeqCst) && before + n as u64 >= cut_at {
                            cut.store(true, Ordering::SeqCst);
                            let keep = (cut_at - before.min(cut_at)) as usize;
                            let _ = to_server.write_all(&buf[..keep]).await;
                            let _ = to_server.shutdown().await;
                            back.abort();
                            return;
                        }
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        if let Some(rate) = bytes_per_second {
                            let pause = n as f64 / rate as f64;
                            tokio::time::sleep(std::time::Duration::from_secs_f64(pause)).await;
                        }
                    }
                    let _ = to_server.shutdown().await;
                    let _ = back.await;
                });
            }
        });
        Link {
            port,
            upstream,
            cut,
        }
    }

    /// Where it forwards to: the app, once it runs (its public URL is this link).
    pub fn forward_to(&self, app: &TestApp) {
        *self.upstream.lock().unwrap() = Some(format!("127.0.0.1:{}", app.settings.server.port));
    }
}

/// Runs a stock tus client through a connection cut mid-PATCH; its JSON line.
async fn upload_through_a_cut(
    client: &str,
    chunk: &str,
    cut_at: u64,
) -> Option<(TestApp, Value, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let required = std::env::var("PHOTOSHARE_TEST_CLIENTS").is_ok_and(|v| v == "required");
    let (program, script, tool) = match client {
        "tus-js-client" => (
            "node".to_owned(),
            root.join("clients/tus/tus-js.mjs"),
            root.join("clients/node_modules/tus-js-client"),
        ),
        _ => {
            let python = root.join(".venv-clients/bin/python");
            let tool = root.join(".venv-clients/lib");
            (
                python.display().to_string(),
                root.join("clients/tus/tuspy.py"),
                tool,
            )
        }
    };
    let installed = tool.exists()
        && (client != "tuspy"
            || std::process::Command::new(&program)
                .args(["-c", "import tusclient"])
                .status()
                .is_ok_and(|s| s.success()));
    if !installed {
        assert!(
            !required,
            "{client} is required (npm ci in clients/, tuspy in .venv-clients)"
        );
        eprintln!("skipped: {client} is not installed");
        return None;
    }
    let cutter = Link::start(cut_at, None).await;
    let public = format!("http://127.0.0.1:{}", cutter.port);
    let app = spawn_app_with(|s| s.server.public_url = public.clone()).await;
    cutter.forward_to(&app);
    let ada = app.signup_and_login(Role::User).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("noise.png");
    let bytes = fixtures::noise_png(400, 400);
    std::fs::write(&file, &bytes).unwrap();
    let out = tokio::process::Command::new(&program)
        .arg(&script)
        .arg(format!("{public}/api/uploads"))
        .arg(&ada.access)
        .arg(&file)
        .arg(chunk)
        .output()
        .await
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{client}: {log}");
    assert!(cutter.cut.load(Ordering::SeqCst), "{client}: the proxy cut");
    let line = log
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let answer: Value = serde_json::from_str(line).unwrap();
    let photo_id = answer["photo_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{log}"));
    let photo: Value = app
        .get(&format!("/api/photos/{photo_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photo["owner"]["username"], ada.username.as_str());
    assert_eq!(photo["description"], format!("sent by {client}"));
    // The file as sent, whole: the server found it by its sha256.
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let res = app
        .post_json(
            "/api/photos/check",
            &json!({"sha256": [sha]}),
            Some(&ada.access),
        )
        .await;
    let existing: Value = res.json().await.unwrap();
    assert_eq!(existing["existing"][0]["photo_id"], photo_id, "{client}");
    assert_eq!(partial_files(&app, "part").await, 0);
    Some((app, answer, bytes))
}

#[actix_web::test]
async fn tus_js_client_resumes_from_the_servers_offset_after_a_cut() {
    // One PATCH of the whole file, cut at about 200 KB of its ~480 KB.
    let Some((_app, answer, bytes)) = upload_through_a_cut("tus-js-client", "all", 200_000).await
    else {
        return;
    };
    let heads = answer["resumed_from"].as_array().unwrap();
    assert_eq!(heads.len(), 1, "one resume: {answer}");
    let offset = heads[0].as_u64().unwrap();
    assert!(
        offset > 0 && offset < bytes.len() as u64,
        "resumed at {offset}: what arrived was kept"
    );
}

#[actix_web::test]
async fn tuspy_with_checksums_resumes_at_the_last_whole_chunk_after_a_cut() {
    let chunk = 64 * 1024;
    let Some((_app, answer, _)) = upload_through_a_cut("tuspy", &chunk.to_string(), 200_000).await
    else {
        return;
    };
    let heads = answer["resumed_from"].as_array().unwrap();
    assert_eq!(heads.len(), 1, "one resume: {answer}");
    let offset = heads[0].as_u64().unwrap();
    // The cut chunk's first bytes arrived, but could not match its checksum.
    assert!(offset > 0 && offset % chunk == 0, "resumed at {offset}");
}

/// The database goes away as the last byte arrives: that PATCH is 503, the bytes
/// stay, and once it is back a HEAD stores the photo and names it. Skipped without
/// `PHOTOSHARE_TEST_MONGODB_URI` (the embedded database lives in the process).
#[actix_web::test]
async fn the_last_chunk_during_a_database_outage_is_503_and_nothing_is_lost() {
    use crate::proxy::{host_port, via, Proxy};
    let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") else {
        return;
    };
    let proxy = Proxy::start(host_port(&uri)).await;
    let proxied = format!("{}/?directConnection=true", via(&uri, proxy.port));
    let app = spawn_app_with(|s| s.database.uri = proxied.into()).await;
    let ada = app.signup_and_login(Role::User).await;
    let file = fixtures::noise_png(60, 60);
    let url = created(&app, &ada.access, file.len()).await;
    let half = file.len() / 2;
    let res = patch(&app, &url, &ada.access, 0, &file[..half]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    proxy.down();
    let res = patch(&app, &url, &ada.access, half, &file[half..]).await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(partial_files(&app, "part").await, 1, "the bytes are kept");

    proxy.up();
    crate::helpers::eventually("the database is back", || async {
        app.get("/readyz", None).await.status() == StatusCode::OK
    })
    .await;
    let res = head(&app, &url, &ada.access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "upload-offset"), file.len().to_string());
    let photo_id = header(&res, "photoshare-photo-id");
    let photo = app.get(&format!("/api/photos/{photo_id}"), None).await;
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(partial_files(&app, "part").await, 0);
}
