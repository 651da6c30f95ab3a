//! A photo's placeholder: its ThumbHash (a ~25-byte blurred preview with the
//! aspect ratio and alpha) and average colour, from a small copy of the upright
//! image that ingest already has (a JPEG's 1/8 decode, or the decoded image).

use base64::Engine;
use image::DynamicImage;

use crate::domain::Placeholder;

/// ThumbHash reads at most 100 x 100 pixels, and its ~32-pixel preview needs no
/// more than this: its cost grows with the pixels, and at 100 it was a tenth of
/// a small JPEG's upload.
const SIDE: u32 = 48;

/// From a small copy of the image (ingest's is at most ~1/64 of the pixels): the
/// colour from all of it (shrinking first would mix transparent pixels' colours
/// in), the hash from a copy of at most `SIDE` pixels a side.
pub fn of(image: &DynamicImage) -> Placeholder {
    let color = average(image.to_rgba8().as_raw());
    let small = if image.width() > SIDE || image.height() > SIDE {
        image.thumbnail(SIDE, SIDE)
    } else {
        image.clone()
    };
    let rgba = small.to_rgba8();
    let (w, h) = (rgba.width() as usize, rgba.height() as usize);
    let hash = thumbhash::rgba_to_thumb_hash(w, h, rgba.as_raw());
    Placeholder {
        thumbhash: base64::engine::general_purpose::STANDARD.encode(hash),
        color,
    }
}

/// The mean colour of RGBA pixels, each weighted by its opacity; black when every
/// pixel is transparent.
fn average(rgba: &[u8]) -> String {
    let mut sum = [0u64; 3];
    let mut weight = 0u64;
    for px in rgba.chunks_exact(4) {
        let a = u64::from(px[3]);
        for (s, c) in sum.iter_mut().zip(&px[..3]) {
            *s += u64::from(*c) * a;
        }
        weight += a;
    }
    let [r, g, b] = sum.map(|s| (s + weight / 2).checked_div(weight).unwrap_or(0));
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn the_colour_is_the_opacity_weighted_mean_and_the_hash_decodes() {
        let img = RgbaImage::from_fn(300, 150, |x, _| {
            if x < 150 {
                Rgba([200, 100, 50, 255])
            } else {
                Rgba([0, 0, 255, 0])
            }
        });
        let p = of(&DynamicImage::ImageRgba8(img));
        assert_eq!(p.color, "#c86432", "transparent pixels do not count");
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&p.thumbhash)
            .unwrap();
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
        assert!((1.5..=2.5).contains(&ratio), "aspect {ratio}");
        let (_, _, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
        assert!(rgba.chunks_exact(4).any(|px| px[3] < 128), "alpha is kept");
        assert_eq!(p.has_alpha(), Some(true));
        let opaque = of(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(
            90,
            60,
            Rgba([10, 20, 30, 255]),
        )));
        assert_eq!(opaque.has_alpha(), Some(false));
        let broken = Placeholder {
            thumbhash: "!".into(),
            color: "#000000".into(),
        };
        assert_eq!(broken.has_alpha(), None);
    }
}
