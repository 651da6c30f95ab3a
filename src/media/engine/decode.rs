//! Reading the input: the header ([`inspect`]) and the pixels ([`decode`]), with
//! JPEG shrink-on-load (an M/8 IDCT scale, without the progressive scans it does
//! not read) and straight-to-luma
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
        let scale = jpeg_scale(w, h, t);
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

/// The scale, in eighths, a `w` x `h` JPEG is decoded at for `t` (see
/// [`shrink_on_load`]).
pub fn jpeg_scale(w: u32, h: u32, t: &Transformation) -> usize {
    t.steps
        .first()
        .and_then(|s| plan_resize(s, w, h, None))
        .map_or(8, |r| shrink_on_load(w, h, &r))
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

/// A progressive JPEG reduced to what a 1/8 decode reads (see [`cut_scans`]):
/// only the DC scans, and the AC scans of 2x2-subsampled chroma (decoded with a
/// 2x2 IDCT). Decoding it gives the same pixels as decoding everything. None when
/// `data` is not a progressive Huffman JPEG this can rewrite.
pub fn dc_scans_only(data: &[u8]) -> Option<Vec<u8>> {
    cut_scans(data, 1, false)
}

/// A progressive JPEG without the scans an `eighths`/8 decode (to luma alone
/// when `luma`) does not read, or None when none can go (or `data` is not a
/// complete progressive Huffman JPEG). Entropy decoding is most of the time a
/// large JPEG takes, and a scan is skipped here by looking for its end marker.
///
/// At M/8, libjpeg-turbo decodes each block of a component with an NxN IDCT (N =
/// M, doubled for subsampled chroma, see [`idct_size`]). At 1/8 that reads the DC
/// alone (and 2x2-subsampled chroma a 2x2 block); decoded to luma, the chroma is
/// not read at all. An AC scan goes when its band holds nothing read, unless a
/// later scan that stays refines coefficients of that band: a refinement scan's
/// bits only make sense after every earlier scan of its coefficients. The result
/// decodes to exactly the pixels of the whole file (tested). With libjpeg's
/// standard script every luma refinement covers the band 1..63, so between 2/8
/// and 7/8 a colour decode reads everything: cutting anyway (dropping those
/// refinements' last bits) was measured 2.6x faster at 2/8 but 2 levels off on
/// average and 23 at worst, and is not done (docs/performance.md).
pub fn cut_scans(data: &[u8], eighths: usize, luma: bool) -> Option<Vec<u8>> {
    let plan = ScanPlan::read(data, eighths, luma)?;
    // One walk over the file (its scans' data is most of it): truncated or
    // malformed, it is left for the decoder to report.
    let segments: Vec<jpeg::Segment> = jpeg::segments(data)?.collect::<Result<_, _>>().ok()?;
    if segments.last()?.marker != jpeg::EOI {
        return None;
    }
    let scans = segments
        .iter()
        .filter(|s| s.marker == jpeg::SOS)
        .map(|s| plan.scan(s.payload()))
        .collect::<Option<Vec<_>>>()?;
    let keep = plan.keep(&scans);
    if keep.iter().all(|k| *k) {
        return None;
    }
    let mut keep = keep.into_iter();
    let mut out = Vec::with_capacity(data.len() / 2);
    out.extend_from_slice(&data[..2]);
    for (i, segment) in segments.iter().enumerate() {
        if segment.marker != jpeg::SOS {
            out.extend_from_slice(segment.bytes);
        } else if keep.next()? {
            // A scan runs from its header up to the next segment.
            out.extend_from_slice(&data[segment.offset..segments.get(i + 1)?.offset]);
        }
    }
    Some(out)
}

/// Zigzag index -> (row, column) of an 8x8 block.
const ZIGZAG: [(u8, u8); 64] = {
    let mut order = [(0u8, 0u8); 64];
    let (mut r, mut c, mut i) = (0i32, 0i32, 0usize);
    while i < 64 {
        order[i] = (r as u8, c as u8);
        i += 1;
        if (r + c) % 2 == 0 {
            // Moving up and to the right.
            if c == 7 {
                r += 1;
            } else if r == 0 {
                c += 1;
            } else {
                r -= 1;
                c += 1;
            }
        } else if r == 7 {
            c += 1;
        } else if c == 0 {
            r += 1;
        } else {
            r += 1;
            c -= 1;
        }
    }
    order
};

/// The size of the IDCT libjpeg-turbo decodes a component's blocks with at
/// `eighths`/8 (jdmaster.c): M, doubled while the component is subsampled
/// enough for the doubled block to land on the output scale.
fn idct_size(eighths: u32, h: u32, v: u32, max_h: u32, max_v: u32) -> u32 {
    let mut size = eighths;
    while size < 8
        && (max_h * eighths) % (h * size * 2) == 0
        && (max_v * eighths) % (v * size * 2) == 0
    {
        size *= 2;
    }
    size
}

/// Whether libjpeg takes a 3-component file for YCbCr (`jdapimin.c`,
/// `default_decompress_parms`): a JFIF marker says so; else an Adobe marker's
/// transform (0 = RGB); else component ids `R`, `G`, `B` mean RGB.
fn ycbcr(jfif: bool, adobe_transform: Option<u8>, frame: &[u8]) -> bool {
    if jfif {
        return true;
    }
    if let Some(transform) = adobe_transform {
        return transform != 0;
    }
    frame
        .get(6..15)
        .is_none_or(|c| [c[0], c[3], c[6]] != *b"RGB")
}

/// Which coefficients each component's decode reads.
struct ScanPlan {
    /// (component id, zigzag positions read).
    components: Vec<(u8, u64)>,
}

/// An AC scan of one component and its band (zigzag positions), or a scan that
/// stays whatever happens (DC, several components).
#[derive(Clone, Copy)]
enum Scan {
    Ac { component: u8, band: u64 },
    Other,
}

impl ScanPlan {
    /// From the SOF2 frame header; None for any other frame type.
    fn read(data: &[u8], eighths: usize, luma: bool) -> Option<Self> {
        let (mut jfif, mut adobe_transform) = (false, None);
        for segment in jpeg::segments(data)? {
            let segment = segment.ok()?;
            let payload = segment.payload();
            match segment.marker {
                0xE0 if payload.starts_with(b"JFIF\0") => jfif = true,
                0xEE if payload.starts_with(b"Adobe") && payload.len() >= 12 => {
                    adobe_transform = Some(payload[11]);
                }
                0xC2 => {
                    let ycbcr = ycbcr(jfif, adobe_transform, payload);
                    return Self::from_frame(payload, eighths as u32, luma, ycbcr);
                }
                // Baseline, lossless, arithmetic ... or the first scan before any frame.
                0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | jpeg::SOS => {
                    return None
                }
                _ => {}
            }
        }
        None
    }

    /// P, Y, X, Nf, then Nf triples (id, HiVi, table). `ycbcr`: what libjpeg
    /// takes a 3-component file's colour space for ([`ycbcr`]).
    fn from_frame(frame: &[u8], eighths: u32, luma: bool, ycbcr: bool) -> Option<Self> {
        let count = usize::from(*frame.get(5)?);
        let sampling: Vec<(u8, u32, u32)> = frame
            .get(6..6 + 3 * count)?
            .chunks(3)
            .map(|c| (c[0], u32::from(c[1] >> 4), u32::from(c[1] & 15)))
            .collect();
        let max_h = sampling.iter().map(|c| c.1).max()?;
        let max_v = sampling.iter().map(|c| c.2).max()?;
        if !(1..=8).contains(&eighths) || sampling.iter().any(|c| c.1 == 0 || c.2 == 0) {
            return None;
        }
        // YCbCr to luma: libjpeg decodes the first component alone (an RGB
        // file's three are all read).
        let chroma_unread = luma && count == 3 && ycbcr;
        let components = sampling
            .iter()
            .enumerate()
            .map(|(i, &(id, h, v))| {
                let n = idct_size(eighths, h, v, max_h, max_v);
                let read = match n {
                    _ if chroma_unread && i > 0 => 0,
                    1 => 1,
                    // jidctint.c's scaled IDCTs read the top-left NxN alone.
                    3 | 5 | 6 | 7 => ZIGZAG
                        .iter()
                        .enumerate()
                        .filter(|(_, &(r, c))| u32::from(r) < n && u32::from(c) < n)
                        .fold(0u64, |m, (k, _)| m | 1 << k),
                    // The 2x2 and 4x4 IDCTs (jidctred.c, libjpeg's older reduced
                    // ones) read beyond the square: for them, and at 8 and over,
                    // everything.
                    _ => u64::MAX,
                };
                (id, read)
            })
            .collect();
        Some(ScanPlan { components })
    }

    /// SOS: Ns, Ns pairs (component, tables), then Ss, Se, AhAl.
    fn scan(&self, header: &[u8]) -> Option<Scan> {
        let count = usize::from(*header.first()?);
        let ids = header.get(1..1 + 2 * count)?;
        let (ss, se) = (*header.get(1 + 2 * count)?, *header.get(2 + 2 * count)?);
        if ss == 0 || count != 1 || ss > se || se > 63 {
            return Some(Scan::Other);
        }
        Some(Scan::Ac {
            component: ids[0],
            band: (u64::MAX >> (63 - se)) & (u64::MAX << ss),
        })
    }

    /// Which scans stay: from the last back, one stays when its band holds a
    /// coefficient read, or when a later scan that stays shares a coefficient
    /// with it (it refines what this one started).
    fn keep(&self, scans: &[Scan]) -> Vec<bool> {
        let mut keep = vec![true; scans.len()];
        // Per component: the positions of the scans kept after this one.
        let mut later: Vec<(u8, u64)> = self.components.iter().map(|c| (c.0, 0)).collect();
        for (i, scan) in scans.iter().enumerate().rev() {
            let Scan::Ac { component, band } = *scan else {
                continue;
            };
            let read = self.components.iter().find(|c| c.0 == component);
            let Some(read) = read.map(|c| c.1) else {
                continue; // a component the frame does not have: the decoder says so
            };
            let Some(kept) = later.iter_mut().find(|c| c.0 == component) else {
                continue;
            };
            keep[i] = band & (read | kept.1) != 0;
            if keep[i] {
                kept.1 |= band;
            }
        }
        keep
    }
}

/// Decodes at `eighths`/8 scale; to one luma channel when `luma` (or when the JPEG
/// is greyscale), else to RGB.
pub(super) fn decode_jpeg(
    data: &[u8],
    eighths: usize,
    luma: bool,
) -> Result<(Canvas, f64), EngineError> {
    let cut = cut_scans(data, eighths, luma);
    let data = cut.as_deref().unwrap_or(data);
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
