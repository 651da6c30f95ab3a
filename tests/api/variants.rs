//! Display sizes (API.md, "Display sizes, placeholders and delivery"): every photo
//! lists `variants`, `/v/{slug}/{name}` makes each on its first request, keeps it,
//! and serves it like an original; 32 first requests at once make one.

use image::{DynamicImage, GenericImageView, ImageFormat, Rgba, RgbaImage};
use reqwest::StatusCode;
use serde_json::Value;

use crate::fixtures::{self, encode};
use crate::helpers::{assert_problem, spawn_app, Role, TestApp};

/// Renders made on request (display sizes and delivery URLs), from `/metrics`.
pub async fn variant_renders(app: &TestApp) -> u64 {
    counter(app, "photoshare_variant_renders_total").await
}

/// A counter of `/metrics`, by name.
pub async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} is exported"))
        .parse()
        .unwrap()
}

async fn fetch(app: &TestApp, url: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app.fetch(url).await;
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

#[actix_web::test]
async fn display_sizes_are_made_on_demand_kept_and_served_like_originals() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let jpeg = encode(
        &DynamicImage::ImageRgb8(fixtures::quadrants_sized(1200, 900)),
        ImageFormat::Jpeg,
    );
    let photo = app.upload_ok(&ada.access, jpeg, &[]).await;
    let slug = photo["url"].as_str().unwrap().rsplit('/').next().unwrap();
    let variants = &photo["variants"];
    for (name, (w, h)) in [
        ("thumb", (256, 256)),
        ("small", (640, 480)),
        ("medium", (1200, 900)),
        ("large", (1200, 900)),
    ] {
        let url = variants[name].as_str().unwrap();
        assert_eq!(url, format!("{}/v/{slug}/{name}", app.address));
        let (headers, bytes) = fetch(&app, url).await;
        assert_eq!(headers["content-type"], "image/jpeg", "{name}");
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers["vary"], "Accept");
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(img.dimensions(), (w, h), "{name}: never upscaled");
        if name == "small" {
            // Upright quadrants, still where they were.
            let px = img.to_rgb8();
            fixtures::assert_near(&px, 100, 100, fixtures::RED, "small, top left");
            fixtures::assert_near(&px, 540, 380, fixtures::WHITE, "small, bottom right");
        }
    }
    let small = variants["small"].as_str().unwrap();
    let (headers, _) = fetch(&app, small).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let res = app
        .client
        .get(small)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = app.client.head(small).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().is_empty(), "HEAD has no body");
    let (png_headers, png) = fetch(&app, &format!("{small}?format=png")).await;
    assert_eq!(png_headers["content-type"], "image/png");
    assert_ne!(png_headers["etag"], headers["etag"], "one ETag per format");
    assert_eq!(
        image::load_from_memory(&png).unwrap().dimensions(),
        (640, 480)
    );
    // A browser that takes WebP gets it (lossy), with its own tag.
    let res = app
        .client
        .get(small)
        .header(
            "Accept",
            "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/webp");
    let webp_etag = res.headers()["etag"].clone();
    assert_ne!(webp_etag, headers["etag"]);
    let webp = res.bytes().await.unwrap();
    let decoded = image::load_from_memory_with_format(&webp, ImageFormat::WebP).unwrap();
    assert_eq!(decoded.dimensions(), (640, 480));
    let res = app
        .client
        .get(small)
        .header("Accept", "image/webp;q=0, image/jpeg")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg", "q=0 refuses");
    let res = app.fetch(&format!("{small}?format=tiff")).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app.fetch(&format!("{}/v/{slug}/huge", app.address)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .fetch(&format!("{}/v/{}/small", app.address, "0".repeat(32)))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    // An opaque PNG gets JPEG sizes; a PNG with alpha keeps it.
    let opaque = app
        .upload_ok(&ada.access, fixtures::noise_png(900, 300), &[])
        .await;
    let (headers, bytes) = fetch(&app, opaque["variants"]["small"].as_str().unwrap()).await;
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(image::guess_format(&bytes).unwrap(), ImageFormat::Jpeg);

    let half = RgbaImage::from_fn(900, 300, |x, _| {
        if x < 450 {
            Rgba([30, 60, 200, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let png = encode(&DynamicImage::ImageRgba8(half), ImageFormat::Png);
    let clear: Value = app.upload_ok(&ada.access, png, &[]).await;
    let (headers, bytes) = fetch(&app, clear["variants"]["small"].as_str().unwrap()).await;
    assert_eq!(headers["content-type"], "image/png");
    let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (640, 213));
    assert_eq!(
        img.get_pixel(600, 100)[3],
        0,
        "transparent stays transparent"
    );
    assert_eq!(img.get_pixel(40, 100)[3], 255);
    let url = format!(
        "{}?format=webp",
        clear["variants"]["small"].as_str().unwrap()
    );
    let (headers, bytes) = fetch(&app, &url).await;
    assert_eq!(headers["content-type"], "image/webp");
    let img = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert!(img.get_pixel(600, 100)[3] < 10, "WebP keeps alpha");
    assert!(img.get_pixel(40, 100)[3] > 245);

    // Deleting the photo removes its sizes.
    let id = photo["id"].as_str().unwrap();
    let res = app
        .delete(&format!("/api/photos/{id}"), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    crate::helpers::eventually("the sizes are gone", || async {
        app.fetch(small).await.status() == StatusCode::NOT_FOUND
    })
    .await;
    if !app.settings.uses_cloudinary() {
        let folder = format!("v/{id}/");
        crate::helpers::eventually("the files are gone", || async {
            app.media_keys(&folder).await.is_empty()
        })
        .await;
    }
}

#[actix_web::test]
async fn thirty_two_first_requests_at_once_make_one_render() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&ada.access, fixtures::noise_png(1600, 1000), &[])
        .await;
    let url = photo["variants"]["medium"].as_str().unwrap().to_owned();
    let before = variant_renders(&app).await;
    let asks = (0..32).map(|_| fetch(&app, &url));
    let answers = futures_util::future::join_all(asks).await;
    let first = &answers[0].1;
    assert!(answers.iter().all(|(_, bytes)| bytes == first), "one image");
    assert_eq!(variant_renders(&app).await - before, 1, "made once");
    let img = image::load_from_memory(first).unwrap();
    assert_eq!(img.dimensions(), (1280, 800));
}
