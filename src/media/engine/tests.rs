//! Tests of the engine: geometry from dimensions, the JPEG decoding shortcuts against
//! full decodes, and rendered pixels for each kind of step.

use std::io::Cursor;

use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

use super::decode::{cut_scans, dc_scans_only, decode_jpeg, gray_from_the_start, shrink_on_load};
use super::*;
use crate::media::libjpeg;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE3: [u8; 3] = [255, 255, 255];

/// 400x300: red top-left, green top-right, blue bottom-left, white bottom-right.
fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE3,
        })
    })
}

fn encoded(img: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn png_input() -> Vec<u8> {
    encoded(&quadrants(400, 300), image::ImageFormat::Png)
}

fn run(input: &[u8], t: &str) -> (Rendered, DynamicImage) {
    let t: Transformation = t.parse().unwrap();
    let out = render(input, &t, &Limits::default(), None).unwrap();
    let img = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (out.width, out.height));
    (out, img)
}

fn near(img: &DynamicImage, x: u32, y: u32, want: [u8; 3], what: &str) {
    let p = img.get_pixel(x, y).0;
    let close = (0..3).all(|i| (i32::from(p[i]) - i32::from(want[i])).abs() <= 40);
    assert!(
        close,
        "{what}: pixel ({x},{y}) is {p:?}, want about {want:?}"
    );
}

/// The decode scale shrink-on-load picks for `t` on a 1600x1200 JPEG.
fn eighths_for(t: &str) -> usize {
    let t: Transformation = t.parse().unwrap();
    let r = plan_resize(&t.steps[0], 1600, 1200, None).unwrap();
    shrink_on_load(1600, 1200, &r)
}

fn dims(t: &str, w: u32, h: u32) -> Result<(u32, u32), ParseError> {
    plan(&t.parse().unwrap(), w, h, &Limits::default())
}

/// A noisy photo-like JPEG (so the AC scans carry data), progressive or not,
/// with a restart interval when asked.
fn textured_jpeg(w: usize, h: usize, progressive: bool) -> Vec<u8> {
    textured_jpeg_with(w, h, progressive, libjpeg::Chroma::Half)
}

fn textured_jpeg_with(w: usize, h: usize, progressive: bool, chroma: libjpeg::Chroma) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let smooth = ((i / 3 % w) * 255 / w) as u8;
            smooth.wrapping_add((seed % 64) as u8)
        })
        .collect();
    let opts = libjpeg::Encode {
        progressive,
        chroma,
        quality: 90,
    };
    libjpeg::encode(&pixels, w as u32, h as u32, 3, opts).unwrap()
}

#[test]
fn dc_scans_alone_decode_to_the_same_pixels_at_one_eighth() {
    let opts = libjpeg::Decode {
        eighths: 1,
        luma: false,
        fast_upsample: true,
        max_pixels: u64::MAX,
    };
    for chroma in [libjpeg::Chroma::Full, libjpeg::Chroma::Half] {
        let full = textured_jpeg_with(640, 480, true, chroma);
        let dc = dc_scans_only(&full).expect("a progressive JPEG is rewritten");
        assert!(
            dc.len() * 3 < full.len(),
            "the AC scans are most of the file: {} of {}",
            dc.len(),
            full.len()
        );
        let (a, sa) = decode_jpeg(&full, 1, false).unwrap();
        // decode_jpeg rewrites on its own at 1/8; decode the rewritten file too.
        let (b, sb) = decode_jpeg(&dc, 1, false).unwrap();
        assert_eq!((a.w, a.h, sa), (80, 60, sb));
        assert_eq!(a.data, b.data);
        let whole = libjpeg::decode(&full, opts).unwrap();
        assert!(
            a.data == whole.pixels,
            "{chroma:?}: same pixels as every scan"
        );
    }
    // At 1/4 the AC coefficients matter: the full file is decoded.
    let (quarter, _) = decode_jpeg(&textured_jpeg(640, 480, true), 2, false).unwrap();
    assert_eq!((quarter.w, quarter.h), (160, 120));
}

#[test]
fn scans_a_scaled_decode_does_not_read_are_cut_and_nothing_else() {
    let opts = |eighths, luma| libjpeg::Decode {
        eighths,
        luma,
        fast_upsample: true,
        max_pixels: u64::MAX,
    };
    let full = textured_jpeg(640, 480, true);
    // To luma, the chroma's scans all go, and nothing changes.
    for eighths in [2, 4, 8] {
        let cut = cut_scans(&full, eighths, true).expect("the chroma goes");
        assert!(cut.len() < full.len());
        let (luma, _) = decode_jpeg(&full, eighths, true).unwrap();
        let whole = libjpeg::decode(&full, opts(eighths as u8, true)).unwrap();
        assert_eq!(luma.data, whole.pixels, "{eighths}/8");
    }
    // In colour between 2/8 and 8/8, the luma refinements cover the band 1..63,
    // so every scan is read: nothing is cut (cutting would change pixels).
    for eighths in 2..=8 {
        assert!(cut_scans(&full, eighths, false).is_none(), "{eighths}/8");
    }
    assert!(
        cut_scans(&textured_jpeg(640, 480, false), 1, true).is_none(),
        "baseline"
    );
    // The same data marked RGB (an Adobe marker with transform 0, no JFIF):
    // libjpeg reads all three components for luma, so none is cut.
    assert_eq!(&full[2..4], [0xFF, 0xE0], "libjpeg writes JFIF first");
    let app0 = 2 + 2 + usize::from(u16::from_be_bytes([full[4], full[5]]));
    let mut rgb = full[..2].to_vec();
    rgb.extend_from_slice(&[0xFF, 0xEE, 0, 14]);
    rgb.extend_from_slice(b"Adobe\0\x64\0\0\0\0\0");
    rgb.extend_from_slice(&full[app0..]);
    assert!(
        cut_scans(&rgb, 2, true).is_none(),
        "an RGB file's luma reads G and B"
    );
    let (luma, _) = decode_jpeg(&rgb, 2, true).unwrap();
    let whole = libjpeg::decode(&rgb, opts(2, true)).unwrap();
    assert_eq!(luma.data, whole.pixels);
    assert_ne!(
        luma.data,
        decode_jpeg(&full, 2, true).unwrap().0.data,
        "read as RGB"
    );
}

#[test]
fn grey_first_transformations_decode_jpeg_luma_with_the_same_result() {
    for (t, gray) in [
        ("c_fill,w_160,h_120/e_grayscale/q_80", true),
        ("w_100,e_grayscale", true),
        ("e_grayscale", true),
        ("c_fill,w_160,h_120,g_auto/e_grayscale", false),
        ("c_pad,w_300,h_300,b_red/e_grayscale", false),
        ("e_sepia/e_grayscale", false),
        ("a_90/e_grayscale", false),
        ("w_100", false),
    ] {
        assert_eq!(gray_from_the_start(&t.parse().unwrap()), gray, "{t}");
    }
    // Luma straight from the JPEG against luma of the decoded RGB.
    let input = textured_jpeg(640, 480, false);
    let (luma, _) = decode_jpeg(&input, 2, true).unwrap();
    let (rgb, _) = decode_jpeg(&input, 2, false).unwrap();
    let reference = rgb.convert(1, WHITE);
    assert_eq!((luma.w, luma.h, luma.channels), (160, 120, 1));
    let mean_difference = |a: &[u8]| {
        let total: u64 = a
            .iter()
            .zip(&reference.data)
            .map(|(p, q)| u64::from(p.abs_diff(*q)))
            .sum();
        total as f64 / reference.data.len() as f64
    };
    let decoded = mean_difference(&luma.data);
    assert!(decoded < 1.0, "mean difference of the decodes {decoded}");
    // And through the whole pipeline (PNG out: no re-encoding loss).
    let t: Transformation = "c_fill,w_160,h_120/e_grayscale/f_png".parse().unwrap();
    let out = render(&input, &t, &Limits::default(), None).unwrap();
    let out = image::load_from_memory(&out.bytes).unwrap().into_luma8();
    assert_eq!(out.dimensions(), (160, 120));
    let rendered = mean_difference(out.as_raw());
    assert!(rendered < 1.0, "mean difference of the renders {rendered}");
}

#[test]
fn only_complete_progressive_huffman_jpegs_are_rewritten() {
    assert!(
        dc_scans_only(&textured_jpeg(64, 48, false)).is_none(),
        "baseline"
    );
    let full = textured_jpeg(64, 48, true);
    assert!(
        dc_scans_only(&full[..full.len() / 2]).is_none(),
        "truncated"
    );
    assert!(dc_scans_only(b"not a jpeg").is_none());
    assert!(dc_scans_only(&png_input()).is_none());
}

#[test]
fn crop_modes_have_cloudinarys_geometry() {
    for (t, want) in [
        ("w_200", (200, 150)),
        ("c_scale,w_200,h_100", (200, 100)),
        ("c_fit,w_200,h_200", (200, 150)),
        ("c_fit,w_800,h_800", (800, 600)),
        ("c_limit,w_1000", (400, 300)),
        ("c_limit,w_200", (200, 150)),
        ("c_fill,w_100,h_100", (100, 100)),
        ("c_thumb,w_50,h_80", (50, 80)),
        ("c_pad,w_200,h_200", (200, 200)),
        ("c_crop,w_100,h_50", (100, 50)),
        ("c_crop,w_1000,h_50", (400, 50)),
        ("w_0.5", (200, 150)),
        ("c_fill,w_0.5,h_1.0", (200, 300)),
        ("c_fill,ar_1:1,w_100", (100, 100)),
        ("c_fill,ar_16:9,h_90", (160, 90)),
        ("a_90", (300, 400)),
        ("a_45", (495, 495)),
        ("bo_5px_solid_red", (410, 310)),
        ("c_fill,w_100,h_100/c_scale,w_0.5", (50, 50)),
        ("e_grayscale", (400, 300)),
    ] {
        assert_eq!(dims(t, 400, 300).unwrap(), want, "{t}");
    }
}

#[test]
fn outputs_over_the_cap_are_refused_naming_the_parameter() {
    assert_eq!(dims("w_10000,h_10000", 400, 300).unwrap_err().param, "w");
    assert_eq!(
        dims("c_fill,h_20000,ar_2", 400, 300).unwrap_err().param,
        "h"
    );
    let err = dims("w_4000/bo_1000px_solid_red", 400, 300).unwrap_err();
    assert_eq!(err.param, "bo");
    assert!(err.message.contains("megapixels"), "{err}");
    assert!(dims("w_5000", 400, 300).is_ok(), "5000x3750 is under 25 MP");
}

#[test]
fn gravity_and_offsets_pick_the_right_region() {
    let input = png_input();
    for (t, colour) in [
        ("c_crop,g_north_west,w_100,h_100", RED),
        ("c_crop,g_north_east,w_100,h_100", GREEN),
        ("c_crop,g_south_west,w_100,h_100", BLUE),
        ("c_crop,g_south_east,w_100,h_100", WHITE3),
        ("c_crop,x_300,y_10,w_50,h_50", GREEN),
        ("c_crop,x_0,y_200,w_50,h_50", BLUE),
        ("c_fill,g_east,w_50,h_300", GREEN),
    ] {
        let (_, img) = run(&input, t);
        near(&img, 10, 10, colour, t);
        near(&img, img.width() - 5, img.height() / 4, colour, t);
    }
    let (_, img) = run(&input, "c_fill,w_100,h_100,g_west");
    near(&img, 10, 10, RED, "fill west, top");
    near(&img, 10, 90, BLUE, "fill west, bottom");
}

#[test]
fn rotations_and_flips_move_the_quadrants() {
    let input = png_input();
    let (_, img) = run(&input, "a_90");
    assert_eq!((img.width(), img.height()), (300, 400));
    near(&img, 5, 5, BLUE, "a_90: top-left comes from bottom-left");
    near(&img, 295, 5, RED, "a_90: top-right comes from top-left");
    let (_, img) = run(&input, "a_hflip");
    near(&img, 5, 5, GREEN, "hflip");
    let (_, img) = run(&input, "a_vflip");
    near(&img, 5, 5, BLUE, "vflip");
    let (_, img) = run(&input, "a_180");
    near(&img, 5, 5, WHITE3, "180");
    let (out, img) = run(&input, "a_45/f_png");
    assert_eq!(out.format, Format::Png);
    assert_eq!(
        img.get_pixel(0, 0).0[3],
        0,
        "corners of the bounding box are transparent"
    );
    let c = img.width() / 2;
    assert_eq!(img.get_pixel(c, c).0[3], 255);
}

#[test]
fn rounded_corners_are_transparent_or_white_in_jpeg() {
    let input = png_input();
    let (out, img) = run(&input, "c_thumb,w_200,h_200/r_max/f_png");
    assert_eq!(
        (out.format, img.width(), img.height()),
        (Format::Png, 200, 200)
    );
    assert_eq!(img.get_pixel(0, 0).0[3], 0, "outside the circle");
    assert_eq!(img.get_pixel(199, 199).0[3], 0);
    assert_eq!(img.get_pixel(100, 100).0[3], 255, "inside");
    assert_eq!(
        img.get_pixel(100, 1).0[3],
        255,
        "the circle touches the edge"
    );
    let (out, img) = run(&input, "r_40/f_jpg");
    assert_eq!(out.format, Format::Jpeg);
    near(&img, 1, 1, WHITE3, "JPEG corners on white");
    near(&img, 60, 60, RED, "inside the rounded rectangle");
}

#[test]
fn pad_and_border_add_colour_around_the_image() {
    let input = png_input();
    let (_, img) = run(&input, "c_pad,w_400,h_400,b_black");
    assert_eq!((img.width(), img.height()), (400, 400));
    near(&img, 200, 10, [0, 0, 0], "pad above");
    near(&img, 10, 60, RED, "image below the pad");
    let (_, img) = run(&input, "c_pad,w_400,h_400,g_north,b_rgb:0000ff");
    near(&img, 200, 390, BLUE, "pad below with g_north");
    let (_, img) = run(&input, "bo_10px_solid_rgb:00ff00");
    assert_eq!((img.width(), img.height()), (420, 320));
    near(&img, 2, 2, GREEN, "border");
    near(&img, 15, 15, RED, "image inside the border");
}

#[test]
fn effects_change_pixels_the_way_their_names_say() {
    let input = png_input();
    let (_, img) = run(&input, "e_grayscale");
    let p = img.to_rgb8().get_pixel(10, 10).0;
    assert!(p[0] == p[1] && p[1] == p[2], "grey: {p:?}");
    assert!((70..=84).contains(&p[0]), "red's luma is 76: {p:?}");
    let (_, img) = run(&input, "e_negate");
    near(&img, 10, 10, [0, 255, 255], "negated red is cyan");
    let (_, img) = run(&input, "e_brightness:-50/e_sepia");
    let p = img.to_rgb8().get_pixel(390, 290).0;
    assert!(p[0] > p[1] && p[1] > p[2], "sepia white is warm: {p:?}");
    let (_, img) = run(&input, "e_brightness:-50");
    near(&img, 390, 290, [128, 128, 128], "darker white");
    let (_, img) = run(&input, "e_contrast:-100");
    near(&img, 390, 290, [128, 128, 128], "no contrast: mid grey");
    let (_, img) = run(&input, "e_blur:1000");
    let p = img.to_rgb8().get_pixel(200, 150).0;
    assert!(
        p.iter().all(|&v| v > 40 && v < 215),
        "edges mixed by the blur: {p:?}"
    );
    near(&img, 20, 20, RED, "far from edges stays red");
    let (_, img) = run(&input, "e_sharpen");
    near(&img, 20, 20, RED, "flat areas unchanged by sharpening");
    let (_, img) = run(&input, "e_pixelate:50");
    let rgb = img.to_rgb8();
    assert_eq!(rgb.get_pixel(0, 0), rgb.get_pixel(20, 20), "one block");
    // Weak blurs and sharpens change pixels too (they used to be a plain copy).
    let (_, plain) = run(&input, "c_scale,w_400");
    for weak in ["e_blur:10", "e_blur:37"] {
        let (_, img) = run(&input, weak);
        assert!(img.to_rgb8() != plain.to_rgb8(), "{weak} did something");
    }
}

#[test]
fn transformations_that_cost_too_much_are_refused_naming_the_step() {
    let limits = Limits::default();
    // 49 MP in, then huge scales and odd-angle rotations: each step inside the
    // output limit, the chain far over the cost budget.
    let t: Transformation = "c_scale,w_3500/a_33/c_scale,w_3500/a_33/c_scale,w_3500/a_33"
        .parse()
        .unwrap();
    let err = plan(&t, 7000, 7000, &limits).unwrap_err();
    assert_eq!(err.param, "transformation");
    assert!(err.message.starts_with("step "), "{}", err.message);
    assert!(err.message.contains("a_"), "{}", err.message);
    // An ordinary display size of a 17 MP photo is far inside it.
    let t: Transformation = "c_limit,w_1600/q_85".parse().unwrap();
    assert!(plan(&t, 5640, 3172, &limits).is_ok());
    // A rotation alone past the output size names `a`.
    let t: Transformation = "a_45".parse().unwrap();
    assert_eq!(plan(&t, 4000, 4000, &limits).unwrap_err().param, "a");
}

#[test]
fn formats_and_quality_are_honoured() {
    let input = png_input();
    for (t, format) in [
        ("f_jpg", Format::Jpeg),
        ("f_png", Format::Png),
        ("f_webp", Format::Webp),
        ("f_gif", Format::Gif),
        ("f_auto", Format::Png),
        ("w_10", Format::Png),
    ] {
        let (out, _) = run(&input, t);
        assert_eq!(out.format, format, "{t}");
        assert_eq!(
            Format::sniff(&out.bytes),
            Some(format),
            "{t}: bytes are {format:?}"
        );
    }
    let noise = RgbImage::from_fn(200, 200, |x, y| {
        let v = ((x * 7919 + y * 104_729) % 251) as u8;
        Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
    });
    let noise = encoded(&noise, image::ImageFormat::Png);
    let (low, _) = run(&noise, "f_jpg,q_10");
    let (high, _) = run(&noise, "f_jpg,q_95");
    assert!(
        low.bytes.len() * 2 < high.bytes.len(),
        "q_10 is much smaller than q_95"
    );
}

#[test]
fn large_jpegs_shrink_on_load_and_still_come_out_right() {
    let input = encoded(&quadrants(1600, 1200), image::ImageFormat::Jpeg);
    assert_eq!(eighths_for("w_200"), 1, "decoded at 1/8");
    assert_eq!(eighths_for("w_900"), 5, "900 of 1600: at 5/8 (1000 wide)");
    assert_eq!(eighths_for("w_1500"), 8, "1500 of 1600 needs full size");
    let (out, img) = run(&input, "c_fill,w_200,h_100/e_grayscale/q_80");
    assert_eq!(
        (out.format, img.width(), img.height()),
        (Format::Jpeg, 200, 100)
    );
    assert_eq!(
        img.color(),
        image::ColorType::L8,
        "grey JPEG is one channel"
    );
    let (_, img) = run(&input, "c_limit,w_300");
    assert_eq!((img.width(), img.height()), (300, 225));
    near(&img, 10, 10, RED, "top-left");
    near(&img, 290, 215, WHITE3, "bottom-right");
    let (_, img) = run(&input, "c_crop,g_south_east,w_100,h_100/w_50");
    near(&img, 25, 25, WHITE3, "crop after a shrink-free decode");
}

#[test]
fn decoding_at_any_eighth_matches_a_full_decode_and_resize() {
    // Smooth detail in every channel, so the comparison is about scaling, not
    // about how two resamplers ring at hard edges.
    let img = RgbImage::from_fn(1600, 1200, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let wave = |v: f32| (128.0 + 100.0 * v.sin()) as u8;
        Rgb([wave(x / 37.0), wave(y / 53.0), wave((x + y) / 71.0)])
    });
    let input = encoded(&img, image::ImageFormat::Jpeg);
    let full = image::load_from_memory(&input).unwrap();
    for (width, eighths) in [(600, 3), (1000, 5), (1300, 7)] {
        let t = format!("w_{width}");
        assert_eq!(eighths_for(&t), eighths, "{t}");
        let (_, ours) = run(&input, &format!("{t}/f_png"));
        let height = width * 3 / 4;
        let reference = full
            .resize_exact(width, height, image::imageops::FilterType::Lanczos3)
            .to_rgb8();
        let ours = ours.to_rgb8();
        let diff: u64 = ours
            .as_raw()
            .iter()
            .zip(reference.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / ours.as_raw().len() as f64;
        assert!(mean < 1.0, "{t}: mean difference {mean:.2} levels");
    }
}

/// Found in review: at 3/8 a 1500-wide JPEG decodes 563 wide (rounded up), and a
/// scale taken from the widths (563/1500) pushed crops past the bottom edge.
#[test]
fn shrink_on_load_keeps_crops_inside_sizes_that_do_not_divide_by_eight() {
    for (w, h) in [(1500, 1000), (1366, 768), (1001, 999), (800, 600)] {
        let input = encoded(&quadrants(w, h), image::ImageFormat::Jpeg);
        for t in [
            // Found in the soak run: 276 / (276 / 800) is 800.0000000000001, so
            // the cover crop started a hair left of 0 and ran past the edge.
            "c_fill,w_276,h_200",
            "w_100",
            "w_500",
            "w_900",
            "h_333",
            "c_fill,w_300,h_290,g_south_east",
            "c_crop,g_south_east,w_200,h_200/w_100",
        ] {
            let want = dims(t, w, h).unwrap();
            let (_, img) = run(&input, t);
            assert_eq!((img.width(), img.height()), want, "{t} on {w}x{h}");
            let (x, y) = (img.width() - 5, img.height() - 5);
            near(&img, x, y, WHITE3, &format!("{t} on {w}x{h}: bottom right"));
        }
    }
}

#[test]
fn auto_gravity_finds_the_detailed_part() {
    // Flat grey with a detailed patch on the right: g_auto keeps the patch.
    let img = RgbImage::from_fn(600, 200, |x, y| {
        if x > 450 && (x / 4 + y / 4) % 2 == 0 {
            Rgb([0, 0, 0])
        } else {
            Rgb([128, 128, 128])
        }
    });
    let input = encoded(&img, image::ImageFormat::Png);
    let (_, out) = run(&input, "c_fill,g_auto,w_200,h_200");
    let dark = out.to_rgb8().pixels().filter(|p| p.0[0] < 60).count();
    assert!(dark > 5000, "the patch is in the crop: {dark} dark pixels");
    let (_, centre) = run(&input, "c_fill,w_200,h_200");
    let dark = centre.to_rgb8().pixels().filter(|p| p.0[0] < 60).count();
    assert_eq!(dark, 0, "a centred crop misses it");
}

#[test]
fn unreadable_or_oversized_inputs_are_errors() {
    let t: Transformation = "w_10".parse().unwrap();
    let limits = Limits::default();
    assert!(matches!(
        render(b"not an image", &t, &limits, None),
        Err(EngineError::Unsupported)
    ));
    let small = Limits {
        max_input_pixels: 1000,
        ..limits
    };
    assert!(matches!(
        render(&png_input(), &t, &small, None),
        Err(EngineError::TooLarge)
    ));
}
