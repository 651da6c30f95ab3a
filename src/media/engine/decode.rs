//! Reading the input: the header ([`inspect`]) and the pixels ([`decode`]), with
//! JPEG shrink-on-load (an M/8 IDCT scale, DC scans alone at 1/8) and straight-to-luma
//! decoding when the transformation starts by greying.

use super::ops::{raw, Canvas};
use super::plan::{plan_resize, Resize};
use super::{EngineError, Limits};
use crate::domain::{Crop, Effect, Gravity, Transformation};
use crate::media::ingest::{self, Format};
use crate::media::jpeg;
use crate::media::libjpeg;

/// Format and dimensions from the header, within the input pixel limit. JPEG
/// headers are read by libjpeg-turbo (no copy of the file).
pub(super) fn inspect(data: &[u8], limits: &Limits) -> Result<(Format, u32, u32), EngineError> {
    let (format, w, h) = if Format::sniff(data) == Some(Format::Jpeg) {
        let header = libjpeg::info(data).map_err(|_| EngineError::Unsupported)?;
        (Format::Jpeg, header.width, header.height)
    } else {
        ingest::inspect(data, u64::MAX).map_err(|_| EngineError::Unsupported)?
    };
    if u64::from(w) * u64::from(h) > limits.max_input_pixels {
        return Err(EngineError::TooLarge);
    }
    Ok((format, w, h))
}

pub(super) fn decode(
    data: &[u8],
    (format, w, h): (Format, u32, u32),
    t: &Transformation,
) -> Result<(Canvas, Format, f64), EngineError> {
    if format == Format::Jpeg {
        let scale = t
            .steps
            .first()
            .and_then(|s| plan_resize(s, w, h, None))
            .map_or(8, |r| shrink_on_load(w, h, &r));
        return decode_jpeg(data, scale, gray_from_the_start(t)).map(|(c, s)| (c, format, s));
    }
    let img = image::load_from_memory(data).map_err(|_| EngineError::Unsupported)?;
    let canvas = match img {
        image::DynamicImage::ImageLuma8(i) => raw(i.width(), i.height(), 1, i.into_raw()),
        image::DynamicImage::ImageLumaA8(i) => raw(i.width(), i.height(), 2, i.into_raw()),
        img if img.color().has_alpha() => {
            let i = img.into_rgba8();
            raw(i.width(), i.height(), 4, i.into_raw())
        }
        img => {
            let i = img.into_rgb8();
            raw(i.width(), i.height(), 3, i.into_raw())
        }
    };
    Ok((canvas, format, 1.0))
}

/// True when the first thing the transformation does to colour is `e_grayscale`, with
/// only cropping and scaling before it (no padding, background, content-aware
/// gravity, rotation, corners, border or other effect). A colour JPEG can then be
/// decoded straight to its luma: JPEG's Y is the Rec. 601 weighting `luma` uses, and
/// libjpeg-turbo skips the chroma IDCT, upsampling and colour conversion. Scaling
/// and cropping commute with that weighting, so only rounding differs.
pub(super) fn gray_from_the_start(t: &Transformation) -> bool {
    for s in &t.steps {
        let only_geometry = s.background.is_none()
            && s.angle.is_none()
            && s.radius.is_none()
            && s.border.is_none()
            && s.crop != Some(Crop::Pad)
            && s.gravity != Some(Gravity::Auto);
        if !only_geometry {
            return false;
        }
        match s.effect {
            Some(Effect::Grayscale) => return true,
            Some(_) => return false,
            None => {}
        }
    }
    false
}

/// The DCT scale, in eighths, to decode at: the smallest that still gives the
/// resize at least as many source pixels as it outputs along both axes. Every M/8
/// works: libjpeg-turbo has an MxM inverse DCT for each, and builds the chroma at
/// that scale in the IDCT too (a 2Mx2M one for 4:2:0), not by upsampling.
pub(super) fn shrink_on_load(w: u32, h: u32, r: &Resize) -> usize {
    let need = (f64::from(r.out.0) / r.src.2).max(f64::from(r.out.1) / r.src.3);
    (1..=8)
        .find(|eighths| {
            *eighths as f64 / 8.0 >= need && w as usize * eighths >= 8 && h as usize * eighths >= 8
        })
        .unwrap_or(8)
}

/// A progressive JPEG reduced to what a 1/8 decode reads, or None when `data` is
/// not a progressive Huffman JPEG this can rewrite. At 1/8 libjpeg-turbo decodes
/// each block with a 1x1 IDCT, which reads only the DC coefficient, so the AC scans
/// (most of the file and of the time) can go unread. The exception is chroma
/// subsampled 2x2 (4:2:0): it is decoded 2x2, from AC coefficients too, so the AC
/// scans of those components are kept. Decoding the result gives the same pixels as
/// decoding everything. Every other segment is kept in order, except that the AC
/// entries of the quantization tables of the DC-only components are zeroed:
/// libjpeg-turbo's block smoothing (which would re-estimate the DC of a file with
/// missing AC data, for a progressive preview) stays off when they are zero.
pub fn dc_scans_only(data: &[u8]) -> Option<Vec<u8>> {
    let plan = ScanPlan::read(data)?;
    let mut out = Vec::with_capacity(data.len() / 4);
    out.extend_from_slice(&data[..2]);
    // Where the scan being copied started: it runs up to the next segment.
    let mut scan_from = None;
    for segment in jpeg::segments(data)? {
        let segment = segment.ok()?; // truncated or malformed: let the decoder report it
        if let Some(from) = scan_from.take() {
            out.extend_from_slice(&data[from..segment.offset]);
        }
        match segment.marker {
            jpeg::EOI => {
                out.extend_from_slice(segment.bytes);
                return Some(out);
            }
            jpeg::DQT => {
                let at = out.len();
                out.extend_from_slice(segment.bytes);
                zero_ac_quantizers(&mut out[at + 4..], &plan.dc_only_tables)?;
            }
            // SOS: Ns, Ns pairs (component, tables), then Ss (0 for a DC scan), Se, AhAl.
            jpeg::SOS => {
                let payload = segment.payload();
                let count = usize::from(*payload.first()?);
                let components = payload.get(1..1 + 2 * count)?;
                let dc = *payload.get(1 + 2 * count)? == 0;
                let kept = components.chunks(2).all(|c| plan.keeps_ac.contains(&c[0]));
                if dc || kept {
                    scan_from = Some(segment.offset);
                }
            }
            _ => out.extend_from_slice(segment.bytes),
        }
    }
    None
}

/// Which components of a progressive JPEG a 1/8 decode needs AC data for.
struct ScanPlan {
    /// Component ids whose AC scans stay (2x2-subsampled chroma).
    keeps_ac: Vec<u8>,
    /// Quantization tables used only by DC-only components.
    dc_only_tables: Vec<u8>,
}

impl ScanPlan {
    /// From the SOF2 frame header; None for any other frame type, or when a
    /// quantization table is shared by a component that keeps its AC scans and one
    /// that does not (zeroing it would change the first).
    fn read(data: &[u8]) -> Option<Self> {
        for segment in jpeg::segments(data)? {
            let segment = segment.ok()?;
            match segment.marker {
                0xC2 => return Self::from_frame(segment.payload()),
                // Baseline, lossless, arithmetic ... or the first scan before any frame.
                0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | jpeg::SOS => {
                    return None
                }
                _ => {}
            }
        }
        None
    }

    /// P, Y, X, Nf, then Nf triples (id, HiVi, table).
    fn from_frame(frame: &[u8]) -> Option<Self> {
        let count = usize::from(*frame.get(5)?);
        let components: Vec<(u8, u8, u8, u8)> = frame
            .get(6..6 + 3 * count)?
            .chunks(3)
            .map(|c| (c[0], c[1] >> 4, c[1] & 15, c[2]))
            .collect();
        let max_h = components.iter().map(|c| c.1).max()?;
        let max_v = components.iter().map(|c| c.2).max()?;
        // libjpeg-turbo decodes a component at a larger IDCT (instead of upsampling
        // it) when its sampling factors divide the largest ones twice over.
        let larger = |h: u8, v: u8| h > 0 && v > 0 && max_h % (2 * h) == 0 && max_v % (2 * v) == 0;
        let keeps_ac: Vec<u8> = components
            .iter()
            .filter(|c| larger(c.1, c.2))
            .map(|c| c.0)
            .collect();
        let tables = |keep: bool| -> Vec<u8> {
            components
                .iter()
                .filter(|c| keeps_ac.contains(&c.0) == keep)
                .map(|c| c.3)
                .collect()
        };
        let (kept, dc_only) = (tables(true), tables(false));
        if dc_only.iter().any(|t| kept.contains(t)) {
            return None;
        }
        Some(ScanPlan {
            keeps_ac,
            dc_only_tables: dc_only,
        })
    }
}

/// Zeroes entries 1..64 (zigzag order: every AC entry) of the tables in `which`
/// in a DQT segment's payload; None if the payload is malformed.
fn zero_ac_quantizers(mut tables: &mut [u8], which: &[u8]) -> Option<()> {
    while let Some((spec, rest)) = tables.split_first_mut() {
        let width = if *spec >> 4 == 0 { 1 } else { 2 };
        let table = rest.get_mut(..64 * width)?;
        if which.contains(&(*spec & 15)) {
            table[width..].fill(0);
        }
        tables = &mut rest[64 * width..];
    }
    Some(())
}

/// Decodes at `eighths`/8 scale; to one luma channel when `luma` (or when the JPEG
/// is greyscale), else to RGB.
pub(super) fn decode_jpeg(
    data: &[u8],
    eighths: usize,
    luma: bool,
) -> Result<(Canvas, f64), EngineError> {
    let dc_only = if eighths == 1 {
        dc_scans_only(data)
    } else {
        None
    };
    let data = dc_only.as_deref().unwrap_or(data);
    let decoded = libjpeg::decode(
        data,
        libjpeg::Decode {
            eighths: eighths as u8,
            luma,
            // Shrinking anyway: the cheaper chroma upsampling is invisible after it.
            fast_upsample: eighths < 8,
            max_pixels: u64::MAX,
        },
    )
    .map_err(|_| EngineError::Unsupported)?;
    let canvas = raw(
        decoded.width,
        decoded.height,
        decoded.channels,
        decoded.pixels,
    );
    // An MxM IDCT per 8x8 block: the scale is exactly M/8 on both axes. The last
    // column or row may be a partial pixel (libjpeg-turbo rounds the size up).
    Ok((canvas, eighths as f64 / 8.0))
}
