//! The Cloudinary media backend against a local fake of its Upload API that checks
//! request signatures the way Cloudinary documents them.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use sha1::{Digest, Sha1};
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::fixtures::{self, contains};
use crate::helpers::{assert_problem, eventually, spawn_app_with, Role, TestApp};

const KEY: &str = "123456789012345";
const SECRET: &str = "fake-api-secret-abc";
const CLOUD: &str = "demo-cloud";
const CDN: &str = "https://res.cdn.test";

/// Form fields of a multipart body (file parts keep their raw bytes).
fn form_fields(req: &Request) -> BTreeMap<String, Vec<u8>> {
    let Some(content_type) = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    else {
        return BTreeMap::new(); // not a form: nothing signed
    };
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &req.body;
    let mut fields = BTreeMap::new();
    let positions: Vec<usize> = body
        .windows(delimiter.len())
        .enumerate()
        .filter(|(_, w)| *w == delimiter.as_bytes())
        .map(|(i, _)| i)
        .collect();
    for pair in positions.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let value = &part[split + 4..part.len() - 2];
        fields.insert(name, value.to_vec());
    }
    fields
}

/// Cloudinary's rule: every parameter but file, cloud_name, resource_type, api_key
/// (and the signature itself), sorted, `k=v` joined with `&`, secret appended, SHA-1.
fn signature_is_valid(fields: &BTreeMap<String, Vec<u8>>) -> bool {
    let excluded = [
        "file",
        "cloud_name",
        "resource_type",
        "api_key",
        "signature",
    ];
    let payload = fields
        .iter()
        .filter(|(k, _)| !excluded.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
        .collect::<Vec<_>>()
        .join("&");
    let expected = hex::encode(Sha1::digest(format!("{payload}{SECRET}").as_bytes()));
    let timestamp: i64 = String::from_utf8_lossy(&fields["timestamp"])
        .parse()
        .unwrap();
    let fresh = (chrono::Utc::now().timestamp() - timestamp).abs() < 3600;
    fields.get("api_key").map(Vec::as_slice) == Some(KEY.as_bytes())
        && fields.get("signature").map(Vec::as_slice) == Some(expected.as_bytes())
        && fresh
}

/// Cloudinary's signed delivery URLs, as its SDKs make them: `s--` + the first 8
/// characters of base64url(SHA-1(what follows in the URL + secret)) + `--`.
fn delivery_signature(to_sign: &str) -> String {
    use base64::Engine;
    let digest = Sha1::digest(format!("{to_sign}{SECRET}").as_bytes());
    let text = base64::engine::general_purpose::URL_SAFE.encode(digest);
    format!("s--{}--", &text[..8])
}

/// The fake CDN serves a signed delivery URL and refuses any other (as an
/// account with strict transformations does).
struct SignedDelivery;

impl wiremock::Match for SignedDelivery {
    fn matches(&self, req: &Request) -> bool {
        let prefix = format!("/{CLOUD}/image/upload/");
        let Some(rest) = req.url.path().strip_prefix(&prefix) else {
            return false;
        };
        let Some((signature, to_sign)) = rest.split_once('/') else {
            return false;
        };
        signature == delivery_signature(to_sign)
    }
}

struct SignedByOurKey;

impl wiremock::Match for SignedByOurKey {
    fn matches(&self, req: &Request) -> bool {
        signature_is_valid(&form_fields(req))
    }
}

/// What the fake received apart from the startup ping.
async fn posted(fake: &MockServer) -> Vec<Request> {
    let all = fake.received_requests().await.unwrap();
    all.into_iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .collect()
}

/// The Admin API's ping answers only our key and secret.
async fn mount_ping(fake: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/v1_1/{CLOUD}/ping")))
        .and(basic_auth(KEY, SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .mount(fake)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1_1/{CLOUD}/ping")))
        .respond_with(ResponseTemplate::new(401))
        .mount(fake)
        .await;
}

async fn app_on(fake: &MockServer) -> TestApp {
    app_delivering_from(fake, CDN.into()).await
}

/// An app on the fake's API whose delivery URLs point at `delivery`.
async fn app_delivering_from(fake: &MockServer, delivery: String) -> TestApp {
    mount_ping(fake).await;
    let api = fake.uri();
    spawn_app_with(move |s| {
        s.cloudinary_url = SecretString::from(format!("cloudinary://{KEY}:{SECRET}@{CLOUD}"));
        s.media.cloudinary_api_base = api;
        s.media.cloudinary_delivery_base = delivery;
    })
    .await
}

#[actix_web::test]
async fn uploads_are_signed_and_links_redirect_to_the_cdn() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/upload")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": 1})))
        .expect(1)
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/destroy")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": "ok"})))
        .expect(1)
        .mount(&fake)
        .await;
    let app = app_on(&fake).await;
    let user = app.signup_and_login(Role::User).await;

    let photo = app
        .upload_ok(&user.access, fixtures::jpeg_with_exif(1, true), &[])
        .await;
    let link = app.fetch(photo["url"].as_str().unwrap()).await;

    assert_eq!(link.status(), StatusCode::FOUND);
    let location = link.headers()["location"].to_str().unwrap().to_owned();
    let uploads = posted(&fake).await;
    let fields = form_fields(&uploads[0]);
    let public_id = String::from_utf8(fields["public_id"].clone()).unwrap();
    assert_eq!(
        location,
        format!("{CDN}/{CLOUD}/image/upload/{public_id}.jpg")
    );
    assert!(
        !contains(&fields["file"], b"GPSDATUM"),
        "metadata stripped before upload"
    );
    image::load_from_memory(&fields["file"]).expect("the uploaded file is the image");

    // Display sizes are Cloudinary's delivery URLs: nothing is made or kept here.
    let small = app
        .fetch(photo["variants"]["small"].as_str().unwrap())
        .await;
    assert_eq!(small.status(), StatusCode::FOUND);
    let to_sign = format!("c_limit,h_640,w_640/f_auto/{public_id}");
    assert_eq!(
        small.headers()["location"],
        format!(
            "{CDN}/{CLOUD}/image/upload/{}/{to_sign}",
            delivery_signature(&to_sign)
        )
        .as_str(),
        "a signed delivery URL"
    );
    assert_eq!(
        posted(&fake).await.len(),
        uploads.len(),
        "no upload for a size"
    );

    let res = app
        .delete(
            &format!("/api/photos/{}", photo["id"].as_str().unwrap()),
            Some(&user.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The purge after a deletion is a queued job.
    let destroyed = |r: &Request| r.url.path().ends_with("/destroy");
    eventually("the purge destroys the upload", || async {
        posted(&fake).await.iter().any(destroyed)
    })
    .await;
    let requests = posted(&fake).await;
    let destroy = form_fields(requests.iter().find(|r| destroyed(r)).unwrap());
    assert_eq!(destroy["public_id"], public_id.as_bytes());
    assert_eq!(destroy["invalidate"], b"true");
}

#[actix_web::test]
async fn a_rejected_signature_or_an_outage_is_503_and_stores_nothing() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": "Invalid Signature"}})),
        )
        .mount(&fake)
        .await;
    let app = app_on(&fake).await;
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .upload(&user.access, fixtures::png(8, 8), "p.png", &[])
        .await;

    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(!problem["detail"].as_str().unwrap().contains("Signature"));
    assert_eq!(app.me(&user.access).await["photo_count"], 0);
}

#[actix_web::test]
async fn transformations_are_made_by_cloudinary_eagerly_and_links_redirect_to_them() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/upload")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": 1})))
        .mount(&fake)
        .await;
    let derived = format!("{CDN}/{CLOUD}/image/upload/c_fill,h_50,w_50/photoshare/derived.jpg");
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/explicit")))
        .and(SignedByOurKey)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"eager": [{"secure_url": derived}]})),
        )
        .expect(1)
        .mount(&fake)
        .await;
    let app = app_on(&fake).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, fixtures::png(80, 60), &[])
        .await;
    let photo_id = photo["id"].as_str().unwrap();

    let res =
        crate::transformations::create(&app, &user.access, photo_id, "w_50,h_50,c_fill").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let link: serde_json::Value = res.json().await.unwrap();
    let done = crate::transformations::finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");

    let image = app.fetch(link["url"].as_str().unwrap()).await;
    assert_eq!(image.status(), StatusCode::FOUND);
    assert_eq!(image.headers()["location"], derived.as_str());
    let requests = posted(&fake).await;
    let upload = form_fields(&requests[0]);
    let explicit = requests
        .iter()
        .map(form_fields)
        .find(|f| f.contains_key("eager"))
        .expect("an explicit call");
    assert_eq!(
        explicit["eager"], b"c_fill,h_50,w_50",
        "the canonical transformation"
    );
    assert_eq!(explicit["type"], b"upload");
    assert_eq!(
        explicit["public_id"], upload["public_id"],
        "of the photo's original"
    );
    let qr = app.fetch(link["qr_url"].as_str().unwrap()).await;
    assert_eq!(qr.status(), StatusCode::OK);
    let png = qr.bytes().await.unwrap();
    assert_eq!(
        crate::transformations::decode_qr(&png),
        link["url"].as_str().unwrap()
    );
}

/// Startup pings Cloudinary: unreachable, or refusing the credentials, is a clear
/// error that names neither the key's secret nor anything but the API base.
#[actix_web::test]
async fn an_unreachable_cloudinary_or_wrong_credentials_stop_startup_clearly() {
    let configure = |api: String, secret: &'static str| {
        move |s: &mut photoshare::config::Settings| {
            s.cloudinary_url = SecretString::from(format!("cloudinary://{KEY}:{secret}@{CLOUD}"));
            s.media.cloudinary_api_base = api;
        }
    };
    let build = |customize: Box<dyn FnOnce(&mut photoshare::config::Settings)>| async move {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = crate::helpers::test_settings(dir.path());
        customize(&mut settings);
        photoshare::app::Application::build(settings)
            .await
            .err()
            .map(|e| format!("{e:#}"))
    };
    let unreachable = build(Box::new(configure("http://127.0.0.1:1".into(), SECRET)))
        .await
        .expect("refused");
    assert!(
        unreachable.contains("cannot reach Cloudinary at http://127.0.0.1:1"),
        "{unreachable}"
    );
    assert!(!unreachable.contains(SECRET));

    let fake = MockServer::start().await;
    mount_ping(&fake).await;
    let refused = build(Box::new(configure(fake.uri(), "not-the-secret")))
        .await
        .expect("refused");
    assert!(refused.contains("refused the key and secret"), "{refused}");
    assert!(!refused.contains("not-the-secret"));
}

/// On Cloudinary, an export reads the originals from the delivery URL, and an
/// account's deletion destroys every upload of its photos.
#[actix_web::test]
async fn an_account_exports_from_and_is_deleted_from_cloudinary() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/upload")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": 1})))
        .mount(&fake)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/destroy")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": "ok"})))
        .mount(&fake)
        .await;
    // The delivery side serves one known original for every upload.
    let original = fixtures::png(9, 7);
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(format!(
            "^/{CLOUD}/image/upload/.+"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(original.clone()))
        .mount(&fake)
        .await;
    let app = app_delivering_from(&fake, fake.uri()).await;
    let user = app.signup_and_login(Role::User).await;
    for _ in 0..2 {
        app.upload_ok(&user.access, fixtures::png(9, 7), &[]).await;
    }
    let public_ids: Vec<Vec<u8>> = posted(&fake)
        .await
        .iter()
        .map(|r| form_fields(r)["public_id"].clone())
        .collect();
    assert_eq!(public_ids.len(), 2);

    let res = app.get("/api/users/me/export", Some(&user.access)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (sizes, _, sha) = crate::account::read_zip(&res.bytes().await.unwrap());
    let originals: Vec<&String> = sizes
        .keys()
        .filter(|k| k.starts_with("originals/"))
        .collect();
    assert_eq!(originals.len(), 2, "{sizes:?}");
    let expected = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&original))
    };
    for name in originals {
        assert_eq!(
            sha[name], expected,
            "{name}: the bytes Cloudinary delivered"
        );
    }

    let res = app
        .send_json(
            reqwest::Method::DELETE,
            "/api/users/me",
            &json!({ "password": crate::helpers::PASSWORD }),
            Some(&user.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    eventually("every upload is destroyed", || async {
        let destroyed: Vec<Vec<u8>> = posted(&fake)
            .await
            .iter()
            .filter(|r| r.url.path().ends_with("/destroy"))
            .map(|r| form_fields(r)["public_id"].clone())
            .collect();
        public_ids.iter().all(|id| destroyed.contains(id))
    })
    .await;
}

/// Signed delivery URLs with the Cloudinary backend are Cloudinary's own signed
/// delivery URLs: `/x/` answers 302 there, and the fake CDN takes the signature.
#[actix_web::test]
async fn delivery_urls_redirect_to_signed_cloudinary_urls() {
    let fake = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1_1/{CLOUD}/image/upload")))
        .and(SignedByOurKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": 1})))
        .mount(&fake)
        .await;
    let served = fixtures::png(40, 30);
    Mock::given(method("GET"))
        .and(SignedDelivery)
        .respond_with(ResponseTemplate::new(200).set_body_bytes(served.clone()))
        .mount(&fake)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(format!(
            "^/{CLOUD}/image/upload/"
        )))
        .respond_with(ResponseTemplate::new(401))
        .mount(&fake)
        .await;
    let app = app_delivering_from(&fake, fake.uri()).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, fixtures::png(80, 60), &[])
        .await;
    let id = photo["id"].as_str().unwrap();
    let public_id =
        String::from_utf8(form_fields(&posted(&fake).await[0])["public_id"].clone()).unwrap();
    let mut answers = Vec::new();
    for (asked, chain) in [
        ("w_40,c_scale", "c_scale,w_40/f_auto".to_owned()),
        (
            "c_fill,w_20,h_20/f_png",
            "c_fill,h_20,w_20/f_png".to_owned(),
        ),
    ] {
        let res = app
            .post_json(
                &format!("/api/photos/{id}/delivery-urls"),
                &json!({ "transformation": asked }),
                Some(&user.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let url: serde_json::Value = res.json().await.unwrap();
        let res = app.fetch(url["url"].as_str().unwrap()).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let to_sign = format!("{chain}/{public_id}");
        assert_eq!(
            location,
            format!(
                "{}/{CLOUD}/image/upload/{}/{to_sign}",
                fake.uri(),
                delivery_signature(&to_sign)
            ),
            "f_auto unless the transformation names a format"
        );
        answers.push(location);
    }
    for location in &answers {
        let res = reqwest::get(location).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the CDN takes the signature");
        assert_eq!(res.bytes().await.unwrap(), served);
    }
    let tampered = answers[0].replace("w_40", "w_41");
    assert_eq!(
        reqwest::get(&tampered).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
