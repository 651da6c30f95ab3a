//! Signed on-the-fly delivery (API.md, "Display sizes, placeholders and delivery"):
//! the owner asks for a URL with any transformation, anyone may fetch it, nobody
//! can forge one, keys rotate, and deleting the photo removes what was made.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use image::{DynamicImage, GenericImageView, ImageFormat};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::fixtures::{self, encode};
use crate::helpers::{assert_problem, error_fields, spawn_app_with, Role, TestApp};
use crate::variants::{counter, variant_renders};

const NEW_KEY: &str = "new-delivery-key-0123456789abcdefghij";
const OLD_KEY: &str = "old-delivery-key-0123456789abcdefghij";

/// The signature as API.md defines it, computed here on its own.
fn signature(key: &str, canonical: &str, slug: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{canonical}/{slug}").as_bytes());
    let text = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("s--{}--", &text[..16])
}

async fn delivery_url(app: &TestApp, token: &str, photo_id: &str, t: &str) -> reqwest::Response {
    let path = format!("/api/photos/{photo_id}/delivery-urls");
    app.post_json(&path, &json!({ "transformation": t }), Some(token))
        .await
}

#[actix_web::test]
async fn signed_urls_serve_any_transformation_and_nothing_else() {
    let app = spawn_app_with(|s| {
        s.delivery.key = SecretString::from(format!("{NEW_KEY},{OLD_KEY}"));
    })
    .await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let jpeg = encode(
        &DynamicImage::ImageRgb8(fixtures::quadrants_sized(1200, 900)),
        ImageFormat::Jpeg,
    );
    let photo = app.upload_ok(&ada.access, jpeg, &[]).await;
    let id = photo["id"].as_str().unwrap();
    let slug = photo["url"].as_str().unwrap().rsplit('/').next().unwrap();

    // Asked in any spelling, handed out canonical and signed by the first key.
    let res = delivery_url(&app, &ada.access, id, "w_300,c_fill,h_200/e_grayscale").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let canonical = "c_fill,h_200,w_300/e_grayscale";
    let sig = signature(NEW_KEY, canonical, slug);
    let url = format!("{}/x/{sig}/{canonical}/{slug}", app.address);
    assert_eq!(body["url"], url.as_str());

    let before = variant_renders(&app).await;
    let asks = (0..8).map(|_| app.fetch(&url));
    let answers = futures_util::future::join_all(asks).await;
    let mut first = None;
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.bytes().await.unwrap();
        assert_eq!(
            *first.get_or_insert_with(|| bytes.clone()),
            bytes,
            "one image"
        );
    }
    assert_eq!(
        variant_renders(&app).await - before,
        1,
        "eight first requests, one render"
    );
    let res = app.fetch(&url).await;
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["vary"], "Accept");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(img.dimensions(), (300, 200));
    let px = img.to_rgb8();
    let [r, g, b] = px.get_pixel(40, 40).0;
    assert!(
        r.abs_diff(g) < 8 && g.abs_diff(b) < 8,
        "grey, not red: {r} {g} {b}"
    );
    assert_eq!(
        variant_renders(&app).await - before,
        1,
        "kept: not made again"
    );
    let etag = headers["etag"].to_str().unwrap();
    let res = app
        .client
        .get(&url)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = app.client.head(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().is_empty());

    // WebP for a browser that takes it; `?format=` forces one.
    let res = app
        .client
        .get(&url)
        .header("Accept", "image/webp,*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/webp");
    assert_ne!(
        res.headers()["etag"],
        headers["etag"],
        "one ETag per format"
    );
    let webp = res.bytes().await.unwrap();
    let decoded = image::load_from_memory_with_format(&webp, ImageFormat::WebP).unwrap();
    assert_eq!(decoded.dimensions(), (300, 200));
    let res = app.fetch(&format!("{url}?format=png")).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap();
    assert_eq!(image::guess_format(&png).unwrap(), ImageFormat::Png);
    let res = app.fetch(&format!("{url}?format=tiff")).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    // The transformation's own format beats Accept, `?format=` beats both.
    let res = delivery_url(&app, &ada.access, id, "c_limit,w_500/f_png").await;
    let png_url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .get(&png_url)
        .header("Accept", "image/webp")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(img.dimensions(), (500, 375));
    let res = app.fetch(&format!("{png_url}?format=webp")).await;
    assert_eq!(res.headers()["content-type"], "image/webp");

    // A transformation that only names a format: the whole photo in it.
    let res = delivery_url(&app, &ada.access, id, "f_png").await;
    let whole = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.fetch(&whole).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(img.dimensions(), (1200, 900));

    // A URL signed by the old key still works; the old key no longer signs.
    let old = format!(
        "{}/x/{}/c_scale,w_100/{slug}",
        app.address,
        signature(OLD_KEY, "c_scale,w_100", slug)
    );
    let res = app.fetch(&old).await;
    assert_eq!(res.status(), StatusCode::OK);
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(img.dimensions(), (100, 75));

    // A valid signature on another spelling is sent to the canonical URL.
    let res = app
        .fetch(&format!(
            "{}/x/{sig}/w_300,c_fill,h_200/e_grayscale/{slug}?format=png",
            app.address
        ))
        .await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        res.headers()["location"],
        format!("{url}?format=png").as_str()
    );

    // Anything else is refused, with nothing made.
    let made = variant_renders(&app).await;
    let forged = signature("not-the-key-0123456789abcdefghijklmn", canonical, slug);
    let other = bob_photo_slug(&app, &bob.access).await;
    for bad in [
        format!("/x/{forged}/{canonical}/{slug}"),
        format!("/x/{canonical}/{slug}"),
        format!("/x/{sig}/c_fill,h_200,w_301/e_grayscale/{slug}"),
        format!("/x/{sig}/{canonical}/{other}"),
        format!("/x/{}/{canonical}/{slug}", sig.to_lowercase()),
        format!("/x/{sig}/w_0/{slug}"),
        format!("/x/{sig}"),
    ] {
        let res = app.fetch(&app.url(&bad)).await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(variant_renders(&app).await, made);

    // Who may ask, and what.
    let res = delivery_url(&app, &bob.access, id, "w_100").await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let admin = app.admin().await;
    let res = delivery_url(&app, &admin.access, id, "w_100").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = delivery_url(&app, &ada.access, &"0".repeat(24), "w_100").await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    for bad in ["w_0", "c_nonsense", "c_scale,w_20000,h_20000"] {
        let res = delivery_url(&app, &ada.access, id, bad).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["transformation"], "{bad}");
    }
    let res = app
        .post_json(
            &format!("/api/photos/{id}/delivery-urls"),
            &json!({"transformation": "w_1"}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    // Deleting the photo takes what was made with it.
    let folder = format!("x/{id}/");
    let kept = app.media_keys(&folder).await.len();
    assert!(
        kept >= 6,
        "jpeg, webp, png, f_png, f_png alone, old key: {kept}"
    );
    let res = app
        .delete(&format!("/api/photos/{id}"), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    crate::helpers::eventually("the URL is gone", || async {
        app.fetch(&url).await.status() == StatusCode::NOT_FOUND
    })
    .await;
    crate::helpers::eventually("the renders are gone", || async {
        app.media_keys(&folder).await.is_empty()
    })
    .await;
}

async fn bob_photo_slug(app: &TestApp, token: &str) -> String {
    let photo = app.upload_ok(token, fixtures::noise_png(64, 48), &[]).await;
    photo["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

const COPIES: &str = "photoshare_baseline_copies_total";

/// A progressive JPEG of `w` x `h` noisy pixels (slow to render at every size).
fn noisy_progressive(w: u32, h: u32) -> Vec<u8> {
    use photoshare::media::libjpeg::{self, Encode};
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i % 251) as u8).wrapping_mul(7) ^ ((i / (w * 3)) as u8))
        .collect();
    let progressive = Encode {
        progressive: true,
        ..Encode::quality(85)
    };
    libjpeg::encode(&pixels, w, h, 3, progressive).unwrap()
}

#[actix_web::test]
async fn a_progressive_original_is_rendered_from_a_lossless_baseline_copy() {
    use photoshare::media::libjpeg::{self, Decode};
    let app = spawn_app_with(|_| {}).await;
    let ada = app.signup_and_login(Role::User).await;
    let jpeg = noisy_progressive(1200, 900);
    let photo = app.upload_ok(&ada.access, jpeg, &[]).await;
    let id = photo["id"].as_str().unwrap();
    let copy_key = format!("x/{id}/baseline.jpg");
    assert!(
        app.media_keys(&copy_key).await.is_empty(),
        "made by a render, not the upload"
    );
    let copies_before = counter(&app, COPIES).await;

    // A 1/8 decode reads the original's DC scans: no copy. Then two renders at
    // larger scales: one copy, made by the first.
    let renders = [
        ("w_120", (120, 90), false),
        ("c_limit,h_400,w_400/q_80", (400, 300), true),
        ("w_900", (900, 675), true),
    ];
    for (t, want, copied) in renders {
        let res = delivery_url(&app, &ada.access, id, t).await;
        let url: Value = res.json().await.unwrap();
        let res = app.fetch(url["url"].as_str().unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK, "{t}");
        let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(img.dimensions(), want, "{t}");
        let copies = app.media_keys(&copy_key).await.len();
        assert_eq!(copies, usize::from(copied), "{t}");
    }
    let slug = photo["url"].as_str().unwrap().rsplit('/').next().unwrap();
    let small = app.fetch(&app.url(&format!("/v/{slug}/small"))).await;
    assert_eq!(small.status(), StatusCode::OK);
    assert_eq!(counter(&app, COPIES).await - copies_before, 1, "counted");

    // Baseline, and the very pixels of the original at every scale.
    let copy = app.media().get(&copy_key).await.unwrap().unwrap();
    let original = app
        .fetch(photo["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert!(libjpeg::info(&original).unwrap().progressive);
    assert!(!libjpeg::info(&copy).unwrap().progressive);
    for eighths in [1, 2, 3, 8] {
        let opts = Decode {
            eighths,
            luma: false,
            fast_upsample: false,
            max_pixels: 1 << 24,
        };
        let a = libjpeg::decode(&original, opts).unwrap();
        let b = libjpeg::decode(&copy, opts).unwrap();
        assert!(a.pixels == b.pixels, "{eighths}/8");
    }

    // It goes with the photo.
    let res = app
        .delete(&format!("/api/photos/{id}"), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    crate::helpers::eventually("the copy is gone", || async {
        app.media_keys(&format!("x/{id}/")).await.is_empty()
    })
    .await;
}

/// Deleting a photo while its display sizes are being made leaves no file behind:
/// a render (or baseline copy) that lands after the purge is removed again, and
/// its request answers 404.
#[actix_web::test]
async fn renders_finished_after_the_photos_purge_leave_no_file() {
    let app = spawn_app_with(|_| {}).await;
    let ada = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&ada.access, noisy_progressive(3000, 2000), &[])
        .await;
    let id = photo["id"].as_str().unwrap();
    let slug = photo["url"].as_str().unwrap().rsplit('/').next().unwrap();

    // Nine renders queue on the render pool behind the baseline copy; the photo
    // is deleted once the copy is there, while they are being made.
    let urls: Vec<String> = ["large", "medium", "small"]
        .iter()
        .flat_map(|v| {
            ["jpeg", "png", "webp"].map(|f| app.url(&format!("/v/{slug}/{v}?format={f}")))
        })
        .collect();
    let renders = futures_util::future::join_all(urls.iter().map(|u| app.fetch(u)));
    let delete = async {
        crate::helpers::eventually("the copy is made", || async {
            !app.media_keys(&format!("x/{id}/")).await.is_empty()
        })
        .await;
        app.delete(&format!("/api/photos/{id}"), Some(&ada.access))
            .await
    };
    let (answers, deleted) = futures_util::future::join(renders, delete).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for (url, answer) in urls.iter().zip(&answers) {
        let status = answer.status();
        assert!(
            [StatusCode::OK, StatusCode::NOT_FOUND].contains(&status),
            "{url}: {status}"
        );
    }

    // Every render has answered, so none can land any more: once the purge has
    // run, nothing of the photo is left.
    crate::helpers::eventually("the renders are gone", || async {
        app.media_keys(&format!("v/{id}/")).await.is_empty()
            && app.media_keys(&format!("x/{id}/")).await.is_empty()
    })
    .await;
}
