//! Placeholders (API.md, "Display sizes, placeholders and delivery"): every photo
//! carries the ThumbHash of its upright image and its average colour, from the
//! upload answer on. Checked by decoding the hash with the reference decoder.

use base64::Engine;
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use serde_json::Value;

use crate::fixtures::{self, encode};
use crate::helpers::{spawn_app, Role};

/// The preview a client would paint: width, height, RGBA.
fn preview(photo: &Value) -> (usize, usize, Vec<u8>) {
    let hash = photo["placeholder"]["thumbhash"]
        .as_str()
        .expect("a thumbhash");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .unwrap();
    assert!(bytes.len() <= 40, "a placeholder is a few dozen bytes");
    thumbhash::thumb_hash_to_rgba(&bytes).unwrap()
}

/// The colour of the preview at a fraction of its width and height.
fn at((w, h, rgba): &(usize, usize, Vec<u8>), fx: f32, fy: f32) -> [u8; 4] {
    let (x, y) = ((fx * *w as f32) as usize, (fy * *h as f32) as usize);
    let i = (y * w + x) * 4;
    [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
}

fn channels(color: &str) -> [i32; 3] {
    let hex = color.strip_prefix('#').expect("#rrggbb");
    assert_eq!(hex.len(), 6, "{color}");
    let c = |i: usize| i32::from_str_radix(&hex[i..i + 2], 16).unwrap();
    [c(0), c(2), c(4)]
}

#[actix_web::test]
async fn the_placeholder_is_of_the_upright_photo_in_every_format() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;

    // A JPEG stored on its side (Orientation 6): red | green over blue | white
    // once upright, and so is its preview.
    let photo = app
        .upload_ok(&ada.access, fixtures::jpeg_with_exif(6, false), &[])
        .await;
    let painted = preview(&photo);
    assert!(painted.0 > painted.1, "landscape, as upright: {painted:?}");
    let dominant = |[r, g, b, _]: [u8; 4]| {
        let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
        if r > 150 && g > 150 && b > 150 {
            "white"
        } else if r > g + 40 && r > b + 40 {
            "red"
        } else if g > r + 40 && g > b + 40 {
            "green"
        } else if b > r + 40 && b > g + 40 {
            "blue"
        } else {
            "mixed"
        }
    };
    assert_eq!(dominant(at(&painted, 0.15, 0.2)), "red");
    assert_eq!(dominant(at(&painted, 0.85, 0.2)), "green");
    assert_eq!(dominant(at(&painted, 0.15, 0.8)), "blue");
    assert_eq!(dominant(at(&painted, 0.85, 0.8)), "white");
    // The mean of the four quadrants.
    let mean = [127, 122, 127];
    let color = channels(photo["placeholder"]["color"].as_str().unwrap());
    for (got, want) in color.iter().zip(mean) {
        assert!((got - want).abs() <= 12, "{color:?} != {mean:?}");
    }
    let again: Value = app
        .get(
            &format!("/api/photos/{}", photo["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["placeholder"], photo["placeholder"]);

    // Half transparent: the colour is that of what shows, the preview keeps alpha.
    let half = RgbaImage::from_fn(80, 40, |x, _| {
        if x < 40 {
            Rgba([30, 60, 200, 255])
        } else {
            Rgba([255, 255, 0, 0])
        }
    });
    let png = encode(&DynamicImage::ImageRgba8(half.clone()), ImageFormat::Png);
    let photo = app.upload_ok(&ada.access, png, &[]).await;
    assert_eq!(photo["placeholder"]["color"], "#1e3cc8");
    let painted = preview(&photo);
    assert!(at(&painted, 0.9, 0.5)[3] < 128, "transparent on the right");
    assert!(at(&painted, 0.1, 0.5)[3] > 200, "opaque on the left");

    // GIF and WebP too.
    for format in [ImageFormat::Gif, ImageFormat::WebP] {
        let solid = RgbaImage::from_pixel(30, 60, Rgba([200, 40, 40, 255]));
        let bytes = encode(&DynamicImage::ImageRgba8(solid), format);
        let photo = app.upload_ok(&ada.access, bytes, &[]).await;
        let painted = preview(&photo);
        assert!(painted.1 > painted.0, "{format:?}: portrait");
        let color = channels(photo["placeholder"]["color"].as_str().unwrap());
        assert!(
            (color[0] - 200).abs() <= 6 && color[1] < 60,
            "{format:?}: {color:?}"
        );
    }
}
