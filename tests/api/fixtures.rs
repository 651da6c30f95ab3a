//! Real image files made for the tests: encoded by the `image` crate, with EXIF
//! segments written byte by byte where a test needs them.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

pub const RED: [u8; 3] = [220, 20, 20];
pub const GREEN: [u8; 3] = [20, 200, 20];
pub const BLUE: [u8; 3] = [20, 20, 220];
pub const WHITE: [u8; 3] = [250, 250, 250];

/// 64x32, upright: red | green on top, blue | white below.
pub fn quadrants() -> RgbImage {
    quadrants_sized(64, 32)
}

/// Red, green, blue and white quadrants at any size.
pub fn quadrants_sized(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// The pixels a camera stores so that EXIF `orientation` displays `upright`.
pub fn stored_for(orientation: u16, upright: &RgbImage) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    match orientation {
        1 => upright.clone(),
        2 => flip_horizontal(upright),
        3 => rotate180(upright),
        4 => flip_vertical(upright),
        5 => flip_horizontal(&rotate90(upright)), // transpose
        6 => rotate270(upright),
        7 => flip_vertical(&rotate90(upright)), // transverse
        8 => rotate90(upright),
        _ => panic!("orientation {orientation}"),
    }
}

pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
            img.to_rgb8().write_with_encoder(enc).unwrap();
        }
        other => img.write_to(&mut Cursor::new(&mut out), other).unwrap(),
    }
    out
}

/// An APP1 Exif segment (big-endian TIFF) with an Orientation tag and, optionally, a
/// GPS IFD holding a position.
pub fn exif_segment(orientation: u16, gps: bool) -> Vec<u8> {
    let entries: u16 = if gps { 2 } else { 1 };
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&entries.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    if gps {
        let gps_ifd = 8 + 2 + 12 * u32::from(entries) + 4;
        tiff.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1]);
        tiff.extend_from_slice(&gps_ifd.to_be_bytes());
    }
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    if gps {
        // GPSLatitudeRef "N", GPSLongitudeRef "E", GPSMapDatum "GPSDATUM"
        let datum_offset = (tiff.len() + 2 + 3 * 12 + 4) as u32;
        tiff.extend_from_slice(&3u16.to_be_bytes());
        tiff.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]);
        tiff.extend_from_slice(&[0x00, 0x03, 0x00, 0x02, 0, 0, 0, 2, b'E', 0, 0, 0]);
        tiff.extend_from_slice(&[0x00, 0x12, 0x00, 0x02, 0, 0, 0, 9]);
        tiff.extend_from_slice(&datum_offset.to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(b"GPSDATUM\0");
    }
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// A JPEG of `upright` as a camera would store it with this EXIF orientation.
pub fn jpeg_with_exif(orientation: u16, gps: bool) -> Vec<u8> {
    let stored = stored_for(orientation, &quadrants());
    let jpeg = encode(&DynamicImage::ImageRgb8(stored), ImageFormat::Jpeg);
    insert_after_soi(&jpeg, &exif_segment(orientation, gps))
}

pub fn insert_after_soi(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG of a gradient. Each call is another file: a `tEXt` chunk numbers it
/// (the server strips it), since one account uploading the same file twice is a
/// duplicate (409). Clone the bytes to send one file again.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    static FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 90]));
    let mut png = encode(&DynamicImage::ImageRgb8(img), ImageFormat::Png);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let iend = png.split_off(png.len() - 12);
    let text = format!("Comment\0fixture {} {n}", std::process::id());
    push_chunk(&mut png, b"tEXt", text.as_bytes());
    png.extend_from_slice(&iend);
    png
}

/// A PNG of pseudo-random pixels: it does not compress, so its size is predictable.
/// Each call draws other pixels (another file, as for `png`).
pub fn noise_png(width: u32, height: u32) -> Vec<u8> {
    static FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let img = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        Rgb([r, g, b])
    });
    encode(&DynamicImage::ImageRgb8(img), ImageFormat::Png)
}

/// A small valid PNG whose header claims `width` x `height` pixels.
pub fn png_claiming(width: u32, height: u32, filler: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    push_chunk(&mut out, b"IHDR", &ihdr);
    push_chunk(&mut out, b"IDAT", &vec![0x55; filler]);
    push_chunk(&mut out, b"IEND", &[]);
    out
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Asserts a pixel is within `tolerance` of a colour on every channel.
pub fn assert_near(img: &RgbImage, x: u32, y: u32, want: [u8; 3], what: &str) {
    let got = img.get_pixel(x, y).0;
    let close = got
        .iter()
        .zip(want)
        .all(|(g, w)| (i16::from(*g) - i16::from(w)).abs() <= 40);
    assert!(
        close,
        "{what}: pixel ({x},{y}) is {got:?}, expected about {want:?}"
    );
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
