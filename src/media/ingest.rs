//! Upload ingest: what a stored original is. The format comes from the bytes; the
//! pixel count from the header, before anything is decoded; then a full decode under
//! `image::Limits` guards against corrupt or hostile files. An image that needs no
//! rotation keeps its exact encoded data with the metadata segments cut out (no
//! re-encode, no quality loss); one with an EXIF orientation is turned upright and
//! re-encoded. Either way no EXIF, GPS, XMP or comments are stored.
//!
//! The EXIF fields people search by (date, camera, lens, exposure, position) are
//! read first (`super::exif`) and travel beside the bytes, never in them.
//!
//! Pure CPU work: callers run it on a blocking thread.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};
use sha2::{Digest, Sha256};

use super::jpeg;
use super::libjpeg;
use crate::domain::{PhotoMetadata, Placeholder};

/// A photo's format, detected from its bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[schema(as = PhotoFormat)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl Format {
    /// From the first bytes of the file, whatever it is called.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        match head {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Format::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Format::Webp),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            other => other.name(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "webp" => Some(Format::Webp),
            "gif" => Some(Format::Gif),
            _ => None,
        }
    }

    fn image_format(self) -> image::ImageFormat {
        match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Webp => image::ImageFormat::WebP,
            Format::Gif => image::ImageFormat::Gif,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    #[error("not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    #[error("image is {width}x{height} pixels; at most {max} pixels are accepted")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image data is corrupt or truncated")]
    Corrupt,
    /// Decoding it would take more memory than uploads may use at once.
    #[error("this image needs {need_mib} MiB to process; uploads may use {max_mib} MiB")]
    TooMuchMemory { need_mib: u32, max_mib: u32 },
}

#[derive(Debug, Clone)]
pub struct Ingested {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Hex SHA-256 of `bytes`: the strong ETag.
    pub sha256: String,
    /// What the EXIF block said, read before it was cut.
    pub metadata: PhotoMetadata,
    pub placeholder: Option<Placeholder>,
}

/// Format and dimensions from the header alone; refuses over-limit pixel counts.
pub fn inspect(data: &[u8], max_pixels: u64) -> Result<(Format, u32, u32), IngestError> {
    let format = Format::sniff(data).ok_or(IngestError::Unsupported)?;
    let (width, height) = ImageReader::with_format(Cursor::new(data), format.image_format())
        .into_dimensions()
        .map_err(|_| IngestError::Corrupt)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(IngestError::TooManyPixels {
            width,
            height,
            max: max_pixels,
        });
    }
    Ok((format, width, height))
}

/// Bytes a decode of this image may allocate: RGBA8, or 16-bit PNGs, plus slack.
pub fn decode_budget(width: u32, height: u32) -> u64 {
    u64::from(width) * u64::from(height) * 8 + (1 << 20)
}

/// Memory `ingest` needs for an image, from its header: a JPEG is checked with a
/// 1/8 decode (and decoded whole, 3 bytes a pixel, only to turn it upright); the
/// other formats are decoded whole at their own pixel size.
pub fn memory_needed(format: Format, width: u32, height: u32, bytes_per_pixel: u8) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let per_pixel = match format {
        Format::Jpeg => 3,
        _ => u64::from(bytes_per_pixel.max(4)),
    };
    pixels * per_pixel + (1 << 20)
}

/// A JPEG's data covers its frame: decoding at 1/8 (only the DC scans of a
/// progressive file, which are what that scale reads) raises no warning. A header
/// that claims 7000x7000 over 16x16 of data, or data cut short, is corrupt: it
/// would be kept as a 49 MP photo whose every transformation then fails. The 1/8
/// image is kept for the placeholder (none for an unusual channel count).
fn verify_jpeg(data: &[u8]) -> Result<Option<DynamicImage>, IngestError> {
    let dc = crate::media::engine::dc_scans_only(data);
    let opts = libjpeg::Decode {
        eighths: 1,
        luma: false,
        fast_upsample: true,
        max_pixels: u64::MAX,
    };
    let d = match libjpeg::decode(dc.as_deref().unwrap_or(data), opts) {
        Ok(d) if d.warnings == 0 => d,
        _ => return Err(IngestError::Corrupt),
    };
    Ok(match d.channels {
        3 => image::RgbImage::from_raw(d.width, d.height, d.pixels).map(DynamicImage::ImageRgb8),
        1 => image::GrayImage::from_raw(d.width, d.height, d.pixels).map(DynamicImage::ImageLuma8),
        _ => None,
    })
}

pub fn ingest(data: Vec<u8>, max_pixels: u64) -> Result<Ingested, IngestError> {
    let (format, width, height) = inspect(&data, max_pixels)?;
    let eighth = match format {
        Format::Jpeg => verify_jpeg(&data)?,
        _ => None,
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(decode_budget(width, height));
    let mut reader = ImageReader::with_format(Cursor::new(&data[..]), format.image_format());
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| IngestError::Corrupt)?;
    let metadata = match format {
        Format::Gif => PhotoMetadata::default(),
        _ => super::exif::read(&data),
    };
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    // A JPEG was verified above; every other format is verified by decoding it.
    let upright = orientation == Orientation::NoTransforms;
    let image = if format == Format::Jpeg && upright {
        drop(decoder);
        None
    } else {
        Some(DynamicImage::from_decoder(decoder).map_err(|_| IngestError::Corrupt)?)
    };

    // Of the upright image: a small copy turned, not the whole one.
    let placeholder = eighth
        .or_else(|| {
            let i = image.as_ref()?;
            Some(if i.width() > 256 || i.height() > 256 {
                i.thumbnail(256, 256)
            } else {
                i.clone()
            })
        })
        .map(|mut small| {
            small.apply_orientation(orientation);
            super::placeholder::of(&small)
        });
    let (bytes, width, height) = match image {
        None => (strip_metadata(format, data)?, width, height),
        Some(_) if upright => (strip_metadata(format, data)?, width, height),
        Some(image) => {
            let mut upright = image;
            upright.apply_orientation(orientation);
            let (w, h) = (upright.width(), upright.height());
            (encode(&upright, format, icc)?, w, h)
        }
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Ingested {
        bytes,
        format,
        width,
        height,
        sha256,
        metadata,
        placeholder,
    })
}

/// Re-encodes an upright image in its original format (JPEG at quality 92 with its
/// ICC profile; PNG, WebP (lossless) and GIF as the `image` crate writes them).
fn encode(
    img: &DynamicImage,
    format: Format,
    icc: Option<Vec<u8>>,
) -> Result<Vec<u8>, IngestError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let result = match format {
        Format::Jpeg => {
            let rgb = img.to_rgb8();
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
            if let Some(icc) = icc {
                let _ = enc.set_icc_profile(icc);
            }
            enc.write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
        other => img.write_to(&mut Cursor::new(&mut out), other.image_format()),
    };
    result.map_err(|_| IngestError::Corrupt)?;
    Ok(out)
}

/// Cuts metadata out of the encoded file without touching the image data, in the
/// file's own buffer: a 20 MiB original is never held twice.
pub fn strip_metadata(format: Format, mut data: Vec<u8>) -> Result<Vec<u8>, IngestError> {
    let kept = match format {
        Format::Jpeg => strip_jpeg(&data),
        Format::Png => strip_png(&data),
        Format::Webp => strip_webp(&data),
        Format::Gif => strip_gif(&data),
    }
    .ok_or(IngestError::Corrupt)?;
    // Each kept span starts at or after where it goes, so moving them down in
    // order overwrites only what was dropped or already moved.
    let mut at = 0;
    for span in kept.0 {
        let len = span.len();
        data.copy_within(span, at);
        at += len;
    }
    data.truncate(at);
    if format == Format::Webp {
        fix_webp_header(&mut data).ok_or(IngestError::Corrupt)?;
    }
    Ok(data)
}

/// The spans of a file that stay, in order (adjacent ones joined).
#[derive(Debug, Default)]
struct Kept(Vec<std::ops::Range<usize>>);

impl Kept {
    fn keep(&mut self, span: std::ops::Range<usize>) {
        match self.0.last_mut() {
            Some(last) if last.end == span.start => last.end = span.end,
            _ => self.0.push(span),
        }
    }
}

/// Keeps APP0 (JFIF), APP2 ICC profiles and APP14 (Adobe colour transform); drops
/// APP1 (Exif, XMP), other APPn (IPTC, Photoshop, MPF, ...) and COM wherever they are,
/// between progressive scans too, and everything after EOI (a phone's secondary
/// images with their own Exif, a motion photo's video). Scans are copied verbatim; a
/// file whose data ends inside a scan keeps that scan, as decoders accept it; any
/// other broken segment, after a scan too, makes the file unusable (None).
fn strip_jpeg(data: &[u8]) -> Option<Kept> {
    let segments = jpeg::segments(data)?;
    let mut out = Kept::default();
    out.keep(0..2);
    // Where the scan being copied started: it runs up to the next segment.
    let mut scan_from = None;
    for segment in segments {
        let segment = match segment {
            Ok(segment) => segment,
            Err(jpeg::Malformed::EndsInScan) => {
                out.keep(scan_from?..data.len());
                return Some(out);
            }
            // Not "cut short": whatever follows could be metadata a reader finds.
            Err(jpeg::Malformed::Broken) => return None,
        };
        if let Some(from) = scan_from.take() {
            out.keep(from..segment.offset);
        }
        let keep = match segment.marker {
            jpeg::SOS => {
                scan_from = Some(segment.offset);
                false
            }
            0xE0 | 0xEE => true,
            0xE2 => segment.payload().starts_with(b"ICC_PROFILE\0"),
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.keep(segment.offset..segment.offset + segment.bytes.len());
        }
        if segment.marker == jpeg::EOI {
            return Some(out);
        }
    }
    None
}

/// Drops eXIf, tEXt, zTXt, iTXt and tIME chunks.
fn strip_png(data: &[u8]) -> Option<Kept> {
    let mut out = Kept::default();
    data.get(..8)?;
    out.keep(0..8);
    let mut i = 8;
    while i < data.len() {
        let len = u32::from_be_bytes(data.get(i..i + 4)?.try_into().ok()?) as usize;
        let kind = data.get(i + 4..i + 8)?;
        let end = i.checked_add(12)?.checked_add(len)?;
        data.get(i..end)?;
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.keep(i..end);
        }
        i = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// Drops EXIF and XMP chunks (`fix_webp_header` then clears their VP8X flags and
/// fixes the RIFF size).
fn strip_webp(data: &[u8]) -> Option<Kept> {
    let mut out = Kept::default();
    data.get(..12)?;
    out.keep(0..12);
    let riff_end =
        (8 + u32::from_le_bytes(data.get(4..8)?.try_into().ok()?) as usize).min(data.len());
    let mut i = 12;
    while i + 8 <= riff_end {
        let kind = data.get(i..i + 4)?;
        let len = u32::from_le_bytes(data.get(i + 4..i + 8)?.try_into().ok()?) as usize;
        let end = (i + 8).checked_add(len + (len & 1))?.min(riff_end);
        if !matches!(kind, b"EXIF" | b"XMP ") {
            out.keep(i..end);
        }
        i = end;
    }
    Some(out)
}

/// After the cut: no VP8X flag names a chunk that is gone, and the RIFF size is
/// the file's.
fn fix_webp_header(out: &mut [u8]) -> Option<()> {
    let mut i = 12;
    while i + 8 <= out.len() {
        let len = u32::from_le_bytes(out[i + 4..i + 8].try_into().ok()?) as usize;
        if &out[i..i + 4] == b"VP8X" {
            // Flags byte: bit 3 = EXIF present, bit 2 = XMP present.
            *out.get_mut(i + 8)? &= !0b0000_1100;
        }
        i = (i + 8).checked_add(len + (len & 1))?;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(())
}

/// Drops comment extensions and application extensions other than the animation
/// loop ones (NETSCAPE2.0, ANIMEXTS1.0) — XMP lives in the latter kind.
fn strip_gif(data: &[u8]) -> Option<Kept> {
    let mut out = Kept::default();
    let flags = *data.get(10)?;
    let mut i = 13;
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 0x07) + 1);
    }
    data.get(..i)?;
    out.keep(0..i);
    // Length of a run of sub-blocks starting at `at`, through its 0 terminator.
    let sub_blocks = |mut at: usize| -> Option<usize> {
        let start = at;
        loop {
            let n = usize::from(*data.get(at)?);
            at += 1 + n;
            if n == 0 {
                return Some(at - start);
            }
        }
    };
    loop {
        match *data.get(i)? {
            0x21 => {
                let label = *data.get(i + 1)?;
                let body = sub_blocks(i + 2)?;
                let end = i + 2 + body;
                let keep = match label {
                    0xFE => false,
                    0xFF => {
                        let id = data.get(i + 3..i + 14)?;
                        id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0"
                    }
                    _ => true,
                };
                data.get(i..end)?;
                if keep {
                    out.keep(i..end);
                }
                i = end;
            }
            0x2C => {
                let packed = *data.get(i + 9)?;
                let mut end = i + 10;
                if packed & 0x80 != 0 {
                    end += 3 << ((packed & 0x07) + 1);
                }
                end += 1; // LZW minimum code size
                end += sub_blocks(end)?;
                data.get(i..end)?;
                out.keep(i..end);
                i = end;
            }
            0x3B => {
                out.keep(i..i + 1);
                return Some(out);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(format: Format, data: &[u8]) -> Option<Vec<u8>> {
        strip_metadata(format, data.to_vec()).ok()
    }

    #[test]
    fn a_webp_loses_its_exif_chunk_and_flag_and_keeps_a_true_riff_size() {
        let data = include_bytes!("../../tests/fixtures/exif/fuji.webp");
        assert!(data.windows(4).any(|w| w == b"EXIF"));
        let cut = strip(Format::Webp, data).unwrap();
        assert!(cut.len() < data.len());
        assert!(!cut.windows(4).any(|w| w == b"EXIF"));
        let size = u32::from_le_bytes(cut[4..8].try_into().unwrap()) as usize;
        assert_eq!(size, cut.len() - 8);
        assert_eq!(&cut[12..16], b"VP8X");
        assert_eq!(cut[20] & 0b0000_1100, 0, "no EXIF or XMP flag");
        let before = image::load_from_memory(data).unwrap().to_rgba8();
        let after = image::load_from_memory(&cut).unwrap().to_rgba8();
        assert_eq!(before, after, "the pixels are untouched");
    }

    /// Found by the `ingest` fuzz target: a JPEG the decoder accepts, with a marker
    /// segment whose length is below 2; cutting its metadata panicked (slice out of
    /// range) instead of refusing it.
    #[test]
    fn a_segment_length_below_two_is_refused_not_a_panic() {
        let data = include_bytes!("../../fuzz/regressions/ingest/segment-length-below-2.jpg");
        assert!(strip(Format::Jpeg, data).is_none());
        assert!(ingest(data.to_vec(), 50_000_000).is_err());
        for len in [0u8, 1] {
            let mut tiny = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, len, 0xFF, 0xD9];
            assert!(strip(Format::Jpeg, &tiny).is_none(), "length {len}");
            tiny.truncate(3);
            assert!(strip(Format::Jpeg, &tiny).is_none());
        }
    }

    /// Metadata between progressive scans and data after EOI (phones append
    /// secondary images with their own Exif, or a motion photo's video) are cut too;
    /// the pixels are untouched.
    #[test]
    fn jpeg_metadata_between_scans_and_after_the_end_is_cut() {
        let original = include_bytes!("../../fuzz/seeds/jpeg/prog.jpg").as_slice();
        let second_scan = jpeg::segments(original)
            .unwrap()
            .map(Result::unwrap)
            .filter(|s| s.marker == jpeg::SOS)
            .nth(1)
            .expect("a progressive file has several scans")
            .offset;
        let comment = [b"\xFF\xFE\x00\x0Esecret-place".as_slice()].concat();
        let exif = [b"\xFF\xE1\x00\x0EExif\0\0GPS-N4".as_slice()].concat();
        let mut data = original[..second_scan].to_vec();
        data.extend_from_slice(&comment);
        data.extend_from_slice(&exif);
        data.extend_from_slice(&original[second_scan..]);
        data.extend_from_slice(b"\xFF\xD8\xFF\xE1 trailing image with GPS-N4");
        let cut = strip(Format::Jpeg, &data).unwrap();
        let contains = |needle: &[u8]| cut.windows(needle.len()).any(|w| w == needle);
        assert!(
            !contains(b"secret-place") && !contains(b"GPS-N4"),
            "metadata left"
        );
        assert!(cut.ends_with(&[0xFF, jpeg::EOI]), "nothing after EOI");
        assert_eq!(cut, original, "only what was added is gone");
        let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgb8().into_raw();
        assert_eq!(pixels(&cut), pixels(original));
    }

    /// Found in review: a broken segment right after a scan was taken for a file cut
    /// short, and everything from the scan on (metadata included) was kept.
    #[test]
    fn a_broken_segment_after_a_scan_is_refused_a_cut_short_scan_is_kept() {
        let broken = b"\xFF\xD8\xFF\xDA\x00\x02\x12\x34\xFF\xE1\x00\x00GPS\xFF\xD9";
        assert!(strip(Format::Jpeg, broken).is_none());
        let cut_short = b"\xFF\xD8\xFF\xFE\x00\x04hi\xFF\xDA\x00\x02\x12\xFF\x00\x34";
        assert_eq!(
            strip(Format::Jpeg, cut_short).unwrap(),
            b"\xFF\xD8\xFF\xDA\x00\x02\x12\xFF\x00\x34",
            "the comment goes, the scan stays"
        );
    }

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 128])
        }));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn sniffing_ignores_names_and_reads_magic_bytes() {
        assert_eq!(
            Format::sniff(&encoded(image::ImageFormat::Png)),
            Some(Format::Png)
        );
        assert_eq!(
            Format::sniff(&encoded(image::ImageFormat::Jpeg)),
            Some(Format::Jpeg)
        );
        assert_eq!(
            Format::sniff(&encoded(image::ImageFormat::Gif)),
            Some(Format::Gif)
        );
        assert_eq!(
            Format::sniff(&encoded(image::ImageFormat::WebP)),
            Some(Format::Webp)
        );
        assert_eq!(Format::sniff(b"%PDF-1.7\n"), None);
        assert_eq!(Format::sniff(b""), None);
    }

    #[test]
    fn png_text_chunks_are_dropped_and_the_image_survives() {
        let png = encoded(image::ImageFormat::Png);
        // Insert a tEXt chunk right after IHDR (8 + 25 bytes).
        let mut text = Vec::new();
        let payload = b"Comment\0secret location";
        text.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        text.extend_from_slice(b"tEXt");
        text.extend_from_slice(payload);
        text.extend_from_slice(&[0, 0, 0, 0]);
        let mut with_text = png[..33].to_vec();
        with_text.extend_from_slice(&text);
        with_text.extend_from_slice(&png[33..]);

        let stripped = strip(Format::Png, &with_text).unwrap();

        assert_eq!(stripped, png);
    }

    #[test]
    fn gif_comments_are_dropped() {
        let gif = encoded(image::ImageFormat::Gif);
        let flags = gif[10];
        let header = 13
            + if flags & 0x80 != 0 {
                3 << ((flags & 7) + 1)
            } else {
                0
            };
        let mut with_comment = gif[..header].to_vec();
        with_comment.extend_from_slice(&[0x21, 0xFE, 5, b'h', b'e', b'l', b'l', b'o', 0]);
        with_comment.extend_from_slice(&gif[header..]);

        let stripped = strip(Format::Gif, &with_comment).unwrap();

        assert_eq!(stripped, gif);
    }

    #[test]
    fn truncated_files_are_corrupt_not_a_panic() {
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::Jpeg,
            image::ImageFormat::Gif,
            image::ImageFormat::WebP,
        ] {
            let bytes = encoded(format);
            for cut in [bytes.len() / 2, 20, 13] {
                let result = ingest(bytes[..cut].to_vec(), 1_000_000);
                assert!(result.is_err(), "{format:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn pixel_limit_is_checked_from_the_header() {
        let png = encoded(image::ImageFormat::Png);
        assert_eq!(
            inspect(&png, 1000).unwrap_err(),
            IngestError::TooManyPixels {
                width: 40,
                height: 30,
                max: 1000
            }
        );
        let ok = ingest(png.clone(), 1200).unwrap();
        assert_eq!((ok.width, ok.height, ok.format), (40, 30, Format::Png));
        assert_eq!(ok.bytes, png, "nothing to strip, nothing changed");
        assert_eq!(ok.sha256.len(), 64);
    }
}
