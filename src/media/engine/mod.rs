//! The local image engine: runs a [`Transformation`] on encoded image bytes.
//!
//! Speed comes from doing less work, the way libvips and Pillow's `draft` do:
//! - shrink on load: a JPEG whose first step makes it smaller is decoded by
//!   libjpeg-turbo at the smallest M/8 scale that still has enough pixels (the IDCT
//!   does the shrinking);
//! - a crop and the resize after it are one SIMD convolution (fast_image_resize);
//! - grey images stay one channel from the effect to the encoder;
//! - JPEG is encoded by libjpeg-turbo.
//!
//! One image is worked on by one thread; callers get parallelism by running several
//! jobs. Geometry is planned from dimensions alone ([`plan`]), so a transformation
//! whose output would be too large is refused before any pixel is decoded.

use std::io::Cursor;

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::domain::{
    Angle, Color, Crop, Effect, Gravity, OutputFormat, ParseError, Quality, Radius, Size, Step,
    Transformation,
};
use crate::media::ingest::{self, Format};
use crate::media::jpeg;
use crate::media::libjpeg;

/// Quality when the transformation does not say (`q_auto` too).
pub const DEFAULT_QUALITY: u8 = 80;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The transformation cannot be applied to this image (output too large, a crop
    /// outside the image); names the parameter like a parse error.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("the input is not an image we can read")]
    Unsupported,
    #[error("the image is larger than the pixel limit")]
    TooLarge,
    #[error("image codec failed")]
    Codec(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn codec(e: impl std::error::Error + Send + Sync + 'static) -> EngineError {
    EngineError::Codec(Box::new(e))
}

/// What the engine may produce and accept.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest output (and intermediate) image, in pixels.
    pub max_output_pixels: u64,
    /// Largest input image, in pixels (checked from the header).
    pub max_input_pixels: u64,
}

impl Limits {
    /// The configured limits (`media.max_output_pixels`, `media.max_pixels`).
    pub fn from_settings(media: &crate::config::MediaSettings) -> Self {
        Limits {
            max_output_pixels: media.max_output_pixels,
            max_input_pixels: media.max_pixels,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_pixels: 25_000_000,
            max_input_pixels: 50_000_000,
        }
    }
}

/// An encoded result.
#[derive(Debug)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

// ---------------------------------------------------------------------------------
// Geometry: what each step does to the dimensions, from dimensions alone.

/// A step's crop-and-resize: take `src` (x, y, w, h in input pixels, fractional) and
/// scale it to `out`; then place it at `offset` on a `canvas` (pad), if any.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Resize {
    src: (f64, f64, f64, f64),
    out: (u32, u32),
    canvas: Option<(u32, u32, u32, u32)>,
}

fn param_error(param: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        param: param.to_owned(),
        message: message.into(),
    }
}

fn resolve(size: Option<Size>, input: u32) -> Option<f64> {
    size.map(|s| match s {
        Size::Pixels(n) => f64::from(n),
        Size::Fraction(f) => (f * f64::from(input)).max(1.0),
    })
}

fn px(v: f64) -> u32 {
    (v.round() as u32).max(1)
}

/// Where a window of `inner` goes inside `outer` along one axis: 0 = start,
/// 0.5 = centre, 1 = end.
fn gravity_factors(g: Gravity) -> (f64, f64) {
    match g {
        Gravity::Center | Gravity::Auto => (0.5, 0.5),
        Gravity::North => (0.5, 0.0),
        Gravity::South => (0.5, 1.0),
        Gravity::East => (1.0, 0.5),
        Gravity::West => (0.0, 0.5),
        Gravity::NorthEast => (1.0, 0.0),
        Gravity::NorthWest => (0.0, 0.0),
        Gravity::SouthEast => (1.0, 1.0),
        Gravity::SouthWest => (0.0, 1.0),
    }
}

/// The crop/resize of one step on a `w` x `h` input; `None` when the step has no
/// size (effects only). `auto` is the window position chosen by content, as
/// factors, when gravity is `auto`.
fn plan_resize(step: &Step, w: u32, h: u32, auto: Option<(f64, f64)>) -> Option<Resize> {
    let (fw, fh) = (f64::from(w), f64::from(h));
    let mut tw = resolve(step.width, w);
    let mut th = resolve(step.height, h);
    if let Some(ar) = step.aspect_ratio {
        match (tw, th) {
            (Some(x), None) => th = Some(x / ar),
            (None, Some(y)) => tw = Some(y * ar),
            _ => {}
        }
    }
    if tw.is_none() && th.is_none() {
        return None;
    }
    let whole = (0.0, 0.0, fw, fh);
    let crop = step.crop.unwrap_or(Crop::Scale);
    // One side missing: keep the input's aspect.
    let (tw, th) = match (tw, th) {
        (Some(x), Some(y)) => (x, y),
        (Some(x), None) => (x, x * fh / fw),
        (None, Some(y)) => (y * fw / fh, y),
        (None, None) => unreachable!("checked above"),
    };
    let gravity = step.gravity.unwrap_or(Gravity::Center);
    let (gx, gy) = match (gravity, auto) {
        (Gravity::Auto, Some(f)) => f,
        (g, _) => gravity_factors(g),
    };
    Some(match crop {
        Crop::Scale => Resize {
            src: whole,
            out: (px(tw), px(th)),
            canvas: None,
        },
        Crop::Fit | Crop::Limit | Crop::Pad => {
            let mut s = (tw / fw).min(th / fh);
            if crop == Crop::Limit {
                s = s.min(1.0);
            }
            let out = (px(fw * s), px(fh * s));
            let canvas = (crop == Crop::Pad).then(|| {
                let (cw, ch) = (px(tw), px(th));
                let ox = (f64::from(cw.saturating_sub(out.0)) * gx).round() as u32;
                let oy = (f64::from(ch.saturating_sub(out.1)) * gy).round() as u32;
                (cw, ch, ox, oy)
            });
            Resize {
                src: whole,
                out,
                canvas,
            }
        }
        Crop::Fill | Crop::Thumb => {
            // Cover the target, then cut the excess on the gravity side.
            let s = (tw / fw).max(th / fh);
            let (sw, sh) = (tw / s, th / s);
            Resize {
                src: ((fw - sw) * gx, (fh - sh) * gy, sw, sh),
                out: (px(tw), px(th)),
                canvas: None,
            }
        }
        Crop::Crop => {
            let (cw, ch) = (tw.min(fw).max(1.0).round(), th.min(fh).max(1.0).round());
            let (x, y) = match (step.x, step.y) {
                (None, None) => ((fw - cw) * gx, (fh - ch) * gy),
                (x, y) => (
                    (x.unwrap_or(0) as f64).clamp(0.0, fw - cw),
                    (y.unwrap_or(0) as f64).clamp(0.0, fh - ch),
                ),
            };
            Resize {
                src: (x.round(), y.round(), cw, ch),
                out: (px(cw), px(ch)),
                canvas: None,
            }
        }
    })
}

/// Dimensions after a rotation by `degrees` clockwise (bounding box).
fn rotated_size(w: u32, h: u32, degrees: i32) -> (u32, u32) {
    match degrees.rem_euclid(360) {
        0 | 180 => (w, h),
        90 | 270 => (h, w),
        d => {
            let r = f64::from(d).to_radians();
            let (s, c) = (r.sin().abs(), r.cos().abs());
            let (fw, fh) = (f64::from(w), f64::from(h));
            (px(fw * c + fh * s), px(fw * s + fh * c))
        }
    }
}

/// Size after every part of a step but the resize.
fn after_step(step: &Step, (mut w, mut h): (u32, u32)) -> (u32, u32) {
    if let Some(Angle::Degrees(d)) = step.angle {
        (w, h) = rotated_size(w, h, d);
    }
    if let Some(b) = step.border {
        (w, h) = (w + 2 * b.width, h + 2 * b.width);
    }
    (w, h)
}

fn check_size(step: &Step, (w, h): (u32, u32), limits: &Limits) -> Result<(), ParseError> {
    if u64::from(w) * u64::from(h) > limits.max_output_pixels {
        let param = if step.border.is_some() && step.width.is_none() && step.height.is_none() {
            "bo"
        } else if step.width.is_some() || step.height.is_none() {
            "w"
        } else {
            "h"
        };
        return Err(param_error(
            param,
            format!(
                "the result would be {w}x{h}, more than {} megapixels",
                limits.max_output_pixels as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// The output dimensions of `t` on a `width` x `height` input, or the parameter
/// that makes it too large. Needs no pixels.
pub fn plan(
    t: &Transformation,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(u32, u32), ParseError> {
    let mut dims = (width, height);
    for step in &t.steps {
        if let Some(r) = plan_resize(step, dims.0, dims.1, None) {
            dims = r.canvas.map_or(r.out, |(cw, ch, _, _)| (cw, ch));
        }
        dims = after_step(step, dims);
        check_size(step, dims, limits)?;
    }
    Ok(dims)
}

// ---------------------------------------------------------------------------------
// Pixels.

/// 8-bit pixels, interleaved: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels.
#[derive(Clone)]
struct Canvas {
    w: u32,
    h: u32,
    channels: u8,
    data: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32, channels: u8, fill: &[u8]) -> Self {
        let data = fill
            .iter()
            .copied()
            .cycle()
            .take(w as usize * h as usize * channels as usize)
            .collect();
        Canvas {
            w,
            h,
            channels,
            data,
        }
    }

    fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    fn pixel_type(&self) -> PixelType {
        match self.channels {
            1 => PixelType::U8,
            2 => PixelType::U8x2,
            3 => PixelType::U8x3,
            _ => PixelType::U8x4,
        }
    }

    /// Converts to `channels` (adding opaque alpha, dropping alpha onto `bg`,
    /// greying, or making colour from grey).
    fn convert(self, channels: u8, bg: Color) -> Canvas {
        if channels == self.channels {
            return self;
        }
        let n = self.w as usize * self.h as usize;
        let mut out = Vec::with_capacity(n * channels as usize);
        let src = self.channels as usize;
        for p in self.data.chunks_exact(src) {
            let (r, g, b, a) = match src {
                1 => (p[0], p[0], p[0], 255),
                2 => (p[0], p[0], p[0], p[1]),
                3 => (p[0], p[1], p[2], 255),
                _ => (p[0], p[1], p[2], p[3]),
            };
            let blend = |c: u8, under: u8| -> u8 {
                ((u32::from(c) * u32::from(a) + u32::from(under) * (255 - u32::from(a)) + 127)
                    / 255) as u8
            };
            match channels {
                1 | 2 => {
                    let l = luma(r, g, b);
                    if channels == 1 {
                        out.push(blend(l, luma(bg.r, bg.g, bg.b)));
                    } else {
                        out.extend_from_slice(&[l, a]);
                    }
                }
                3 => out.extend_from_slice(&[blend(r, bg.r), blend(g, bg.g), blend(b, bg.b)]),
                _ => out.extend_from_slice(&[r, g, b, a]),
            }
        }
        Canvas {
            w: self.w,
            h: self.h,
            channels,
            data: out,
        }
    }

    fn with_alpha(self) -> Canvas {
        match self.channels {
            1 => self.convert(2, WHITE),
            3 => self.convert(4, WHITE),
            _ => self,
        }
    }
}

const WHITE: Color = Color {
    r: 255,
    g: 255,
    b: 255,
    a: 255,
};

/// Rec. 601 luma, as libjpeg and Pillow compute it.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114 + 500) / 1000) as u8
}

/// Format and dimensions from the header, within the input pixel limit. JPEG
/// headers are read by libjpeg-turbo (no copy of the file).
fn inspect(data: &[u8], limits: &Limits) -> Result<(Format, u32, u32), EngineError> {
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

fn decode(
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

fn raw(w: u32, h: u32, channels: u8, data: Vec<u8>) -> Canvas {
    Canvas {
        w,
        h,
        channels,
        data,
    }
}

/// True when the first thing the transformation does to colour is `e_grayscale`, with
/// only cropping and scaling before it (no padding, background, content-aware
/// gravity, rotation, corners, border or other effect). A colour JPEG can then be
/// decoded straight to its luma: JPEG's Y is the Rec. 601 weighting `luma` uses, and
/// libjpeg-turbo skips the chroma IDCT, upsampling and colour conversion. Scaling
/// and cropping commute with that weighting, so only rounding differs.
fn gray_from_the_start(t: &Transformation) -> bool {
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
fn shrink_on_load(w: u32, h: u32, r: &Resize) -> usize {
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
fn dc_scans_only(data: &[u8]) -> Option<Vec<u8>> {
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
fn decode_jpeg(data: &[u8], eighths: usize, luma: bool) -> Result<(Canvas, f64), EngineError> {
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

fn resize(img: Canvas, r: &Resize, scale: f64) -> Result<Canvas, EngineError> {
    let (x, y, w, h) = r.src;
    let (x, y, w, h) = (x * scale, y * scale, w * scale, h * scale);
    let (ow, oh) = r.out;
    if (x, y, w, h) == (0.0, 0.0, f64::from(img.w), f64::from(img.h)) && (ow, oh) == (img.w, img.h)
    {
        return Ok(img);
    }
    let pixel_type = img.pixel_type();
    let channels = img.channels;
    let src = FirImage::from_vec_u8(img.w, img.h, img.data, pixel_type).map_err(codec)?;
    let mut dst = FirImage::new(ow, oh, pixel_type);
    let alg = if ow as f64 == w && oh as f64 == h {
        ResizeAlg::Nearest
    } else {
        ResizeAlg::Convolution(FilterType::Lanczos3)
    };
    let options = ResizeOptions::new().resize_alg(alg).crop(x, y, w, h);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(codec)?;
    Ok(raw(ow, oh, channels, dst.into_vec()))
}

fn pad(img: Canvas, (cw, ch, ox, oy): (u32, u32, u32, u32), bg: Color) -> Canvas {
    let img = if bg.a < 255 { img.with_alpha() } else { img };
    let c = img.channels;
    let fill: Vec<u8> = match c {
        1 => vec![luma(bg.r, bg.g, bg.b)],
        2 => vec![luma(bg.r, bg.g, bg.b), bg.a],
        3 => vec![bg.r, bg.g, bg.b],
        _ => vec![bg.r, bg.g, bg.b, bg.a],
    };
    let mut out = Canvas::new(cw, ch, c, &fill);
    blit(&img, &mut out, ox, oy);
    out
}

fn blit(src: &Canvas, dst: &mut Canvas, ox: u32, oy: u32) {
    let c = src.channels as usize;
    let row = src.w as usize * c;
    for y in 0..src.h as usize {
        let d = ((oy as usize + y) * dst.w as usize + ox as usize) * c;
        dst.data[d..d + row].copy_from_slice(&src.data[y * row..(y + 1) * row]);
    }
}

// Effects -------------------------------------------------------------------------

fn color_channels(img: &mut Canvas, mut f: impl FnMut(u8) -> u8) {
    let c = img.channels as usize;
    let colour = if img.has_alpha() { c - 1 } else { c };
    let mut table = [0u8; 256];
    for (i, v) in table.iter_mut().enumerate() {
        *v = f(i as u8);
    }
    for p in img.data.chunks_exact_mut(c) {
        for v in &mut p[..colour] {
            *v = table[*v as usize];
        }
    }
}

fn effect(img: Canvas, e: Effect) -> Result<Canvas, EngineError> {
    let mut img = img;
    match e {
        Effect::Grayscale => {
            let channels = if img.has_alpha() { 2 } else { 1 };
            img = img.convert(channels, WHITE);
        }
        Effect::Negate => color_channels(&mut img, |v| 255 - v),
        Effect::Brightness(level) => {
            let add = f64::from(level) * 2.55;
            color_channels(&mut img, |v| {
                (f64::from(v) + add).round().clamp(0.0, 255.0) as u8
            });
        }
        Effect::Contrast(level) => {
            let k = (100.0 + f64::from(level)) / 100.0;
            color_channels(&mut img, |v| {
                ((f64::from(v) - 128.0) * k + 128.0)
                    .round()
                    .clamp(0.0, 255.0) as u8
            });
        }
        Effect::Sepia(level) => {
            let channels = if img.has_alpha() { 4 } else { 3 };
            img = img.convert(channels, WHITE);
            let k = f64::from(level) / 100.0;
            let c = img.channels as usize;
            for p in img.data.chunks_exact_mut(c) {
                let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
                let sepia = [
                    0.393 * r + 0.769 * g + 0.189 * b,
                    0.349 * r + 0.686 * g + 0.168 * b,
                    0.272 * r + 0.534 * g + 0.131 * b,
                ];
                for (i, s) in sepia.into_iter().enumerate() {
                    let v = f64::from(p[i]) * (1.0 - k) + s * k;
                    p[i] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Effect::Blur(strength) => img = blur(img, strength)?,
        Effect::Sharpen(strength) => {
            let blurred = blur(img.clone(), strength.min(400))?;
            let amount = f64::from(strength) / 100.0;
            let c = img.channels as usize;
            let colour = if img.has_alpha() { c - 1 } else { c };
            for (p, b) in img
                .data
                .chunks_exact_mut(c)
                .zip(blurred.data.chunks_exact(c))
            {
                for i in 0..colour {
                    let v = f64::from(p[i]) + (f64::from(p[i]) - f64::from(b[i])) * amount;
                    p[i] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Effect::Pixelate(size) => {
            let (w, h) = (img.w, img.h);
            let small = Resize {
                src: (0.0, 0.0, f64::from(w), f64::from(h)),
                out: ((w / size).max(1), (h / size).max(1)),
                canvas: None,
            };
            let small = resize(img, &small, 1.0)?;
            let pixel_type = small.pixel_type();
            let channels = small.channels;
            let src =
                FirImage::from_vec_u8(small.w, small.h, small.data, pixel_type).map_err(codec)?;
            let mut dst = FirImage::new(w, h, pixel_type);
            let nearest = ResizeOptions::new().resize_alg(ResizeAlg::Nearest);
            Resizer::new()
                .resize(&src, &mut dst, &nearest)
                .map_err(codec)?;
            img = raw(w, h, channels, dst.into_vec());
        }
    }
    Ok(img)
}

/// Gaussian-like blur whose radius grows with Cloudinary's 1..2000 strength: a
/// down-scale, then a smooth up-scale (cheap at any radius, and close to a
/// Gaussian for the eye).
fn blur(img: Canvas, strength: u32) -> Result<Canvas, EngineError> {
    let sigma = (f64::from(strength) / 100.0 * 4.0).max(0.5);
    let (w, h) = (img.w, img.h);
    let factor = (sigma / 1.5).max(1.0);
    let down = Resize {
        src: (0.0, 0.0, f64::from(w), f64::from(h)),
        out: (px(f64::from(w) / factor), px(f64::from(h) / factor)),
        canvas: None,
    };
    let small = if factor > 1.0 {
        resize(img, &down, 1.0)?
    } else {
        img
    };
    let pixel_type = small.pixel_type();
    let channels = small.channels;
    let src = FirImage::from_vec_u8(small.w, small.h, small.data, pixel_type).map_err(codec)?;
    let mut dst = FirImage::new(w, h, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Gaussian));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(codec)?;
    Ok(raw(w, h, channels, dst.into_vec()))
}

// Rotation, corners, border ---------------------------------------------------------

fn rotate(img: Canvas, angle: Angle) -> Canvas {
    let (w, h, c) = (img.w as usize, img.h as usize, img.channels as usize);
    let at = |x: usize, y: usize| &img.data[(y * w + x) * c..(y * w + x + 1) * c];
    let map = |nw: usize, nh: usize, src: &dyn Fn(usize, usize) -> (usize, usize)| {
        let mut data = Vec::with_capacity(nw * nh * c);
        for y in 0..nh {
            for x in 0..nw {
                let (sx, sy) = src(x, y);
                data.extend_from_slice(at(sx, sy));
            }
        }
        raw(nw as u32, nh as u32, c as u8, data)
    };
    match angle {
        Angle::HFlip => map(w, h, &|x, y| (w - 1 - x, y)),
        Angle::VFlip => map(w, h, &|x, y| (x, h - 1 - y)),
        Angle::Degrees(d) => match d.rem_euclid(360) {
            0 => img,
            90 => map(h, w, &|x, y| (y, h - 1 - x)),
            180 => map(w, h, &|x, y| (w - 1 - x, h - 1 - y)),
            270 => map(h, w, &|x, y| (w - 1 - y, x)),
            d => rotate_any(img.with_alpha(), d),
        },
    }
}

/// Rotation by any angle, clockwise, onto a transparent bounding box (bilinear).
fn rotate_any(img: Canvas, degrees: i32) -> Canvas {
    let (nw, nh) = rotated_size(img.w, img.h, degrees);
    let c = img.channels as usize;
    let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
    let (cx, cy) = (f64::from(img.w) / 2.0, f64::from(img.h) / 2.0);
    let (ncx, ncy) = (f64::from(nw) / 2.0, f64::from(nh) / 2.0);
    let mut out = Canvas::new(nw, nh, c as u8, &vec![0; c]);
    let (w, h) = (img.w as i64, img.h as i64);
    for y in 0..nh as usize {
        for x in 0..nw as usize {
            let (dx, dy) = (x as f64 + 0.5 - ncx, y as f64 + 0.5 - ncy);
            let sx = dx * cos + dy * sin + cx - 0.5;
            let sy = -dx * sin + dy * cos + cy - 0.5;
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let mut acc = [0.0f64; 4];
            for (ox, oy, wgt) in [
                (0, 0, (1.0 - fx) * (1.0 - fy)),
                (1, 0, fx * (1.0 - fy)),
                (0, 1, (1.0 - fx) * fy),
                (1, 1, fx * fy),
            ] {
                let (px_, py_) = (x0 + ox, y0 + oy);
                if px_ < 0 || py_ < 0 || px_ >= w || py_ >= h {
                    continue;
                }
                let i = (py_ as usize * img.w as usize + px_ as usize) * c;
                let alpha = f64::from(img.data[i + c - 1]) * wgt;
                for (sum, v) in acc.iter_mut().zip(&img.data[i..i + c - 1]) {
                    *sum += f64::from(*v) * alpha;
                }
                acc[c - 1] += alpha;
            }
            let o = (y * nw as usize + x) * c;
            let a = acc[c - 1];
            if a > 0.0 {
                for (v, sum) in out.data[o..o + c - 1].iter_mut().zip(acc) {
                    *v = (sum / a).round().clamp(0.0, 255.0) as u8;
                }
                out.data[o + c - 1] = a.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Rounded corners of radius `r` (or an ellipse for `r_max`), outside transparent,
/// with one pixel of anti-aliasing.
fn round_corners(img: Canvas, radius: Radius) -> Canvas {
    let mut img = img.with_alpha();
    let (w, h) = (f64::from(img.w), f64::from(img.h));
    let c = img.channels as usize;
    let coverage: Box<dyn Fn(f64, f64) -> f64> = match radius {
        Radius::Max => {
            let (rx, ry) = (w / 2.0, h / 2.0);
            Box::new(move |x, y| {
                let (dx, dy) = ((x - rx) / rx, (y - ry) / ry);
                let d = (dx * dx + dy * dy).sqrt();
                // Distance outside the ellipse, in pixels (approximately).
                ((1.0 - d) * rx.min(ry) + 0.5).clamp(0.0, 1.0)
            })
        }
        Radius::Pixels(r) => {
            let r = f64::from(r).min(w / 2.0).min(h / 2.0);
            Box::new(move |x, y| {
                let cx = x.clamp(r, w - r);
                let cy = y.clamp(r, h - r);
                let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                (r - d + 0.5).clamp(0.0, 1.0)
            })
        }
    };
    for y in 0..img.h as usize {
        for x in 0..img.w as usize {
            let k = coverage(x as f64 + 0.5, y as f64 + 0.5);
            if k < 1.0 {
                let i = (y * img.w as usize + x) * c + c - 1;
                img.data[i] = (f64::from(img.data[i]) * k).round() as u8;
            }
        }
    }
    img
}

fn border(img: Canvas, width: u32, color: Color) -> Canvas {
    let img = if color.a < 255 { img.with_alpha() } else { img };
    let (cw, ch) = (img.w + 2 * width, img.h + 2 * width);
    pad(img, (cw, ch, width, width), color)
}

// Content-aware gravity -------------------------------------------------------------

/// `g_auto`: where the window with the most detail (gradient energy of the luma)
/// lies along the axis being cropped, as (x, y) factors.
fn auto_gravity(img: &Canvas, r: &Resize, scale: f64) -> (f64, f64) {
    let (fw, fh) = (f64::from(img.w), f64::from(img.h));
    let (sw, sh) = (r.src.2 * scale, r.src.3 * scale);
    let c = img.channels as usize;
    let l = |x: usize, y: usize| -> i32 {
        let i = (y * img.w as usize + x) * c;
        if c >= 3 {
            i32::from(luma(img.data[i], img.data[i + 1], img.data[i + 2]))
        } else {
            i32::from(img.data[i])
        }
    };
    let horizontal = fw - sw > fh - sh;
    let len = if horizontal { img.w } else { img.h } as usize;
    let mut energy = vec![0u64; len];
    // About 250k samples whatever the size.
    let pixels = f64::from(img.w) * f64::from(img.h);
    let step = ((pixels / 250_000.0).sqrt() as usize).max(1);
    for y in (1..img.h as usize).step_by(step) {
        for x in (1..img.w as usize).step_by(step) {
            let e = (l(x, y) - l(x - 1, y)).unsigned_abs() + (l(x, y) - l(x, y - 1)).unsigned_abs();
            energy[if horizontal { x } else { y }] += u64::from(e);
        }
    }
    let window = (if horizontal { sw } else { sh }).round() as usize;
    let window = window.clamp(1, len);
    let mut sum: u64 = energy[..window].iter().sum();
    let (mut best, mut best_at) = (sum, 0);
    for start in 1..=len - window {
        sum = sum + energy[start + window - 1] - energy[start - 1];
        if sum > best {
            (best, best_at) = (sum, start);
        }
    }
    let slack = (len - window) as f64;
    let f = if slack > 0.0 {
        best_at as f64 / slack
    } else {
        0.5
    };
    if horizontal {
        (f, 0.5)
    } else {
        (0.5, f)
    }
}

// Encoding ------------------------------------------------------------------------

/// `f_` of the transformation; without one, `unspecified` or else the input's.
fn output_format(t: &Transformation, input: Format, unspecified: Option<Format>) -> Format {
    match t.format() {
        Some(OutputFormat::Jpg) => Format::Jpeg,
        Some(OutputFormat::Png) => Format::Png,
        Some(OutputFormat::Webp) => Format::Webp,
        Some(OutputFormat::Gif) => Format::Gif,
        Some(OutputFormat::Auto) => input,
        None => unspecified.unwrap_or(input),
    }
}

fn encode(img: Canvas, format: Format, quality: u8, bg: Color) -> Result<Vec<u8>, EngineError> {
    match format {
        Format::Jpeg => {
            // JPEG has no alpha: transparent parts go onto the background (white).
            let img = match img.channels {
                2 => img.convert(1, bg),
                4 => img.convert(3, bg),
                _ => img,
            };
            // Grey stays one channel; colour gets 4:2:0 chroma.
            libjpeg::encode(
                &img.data,
                img.w,
                img.h,
                img.channels,
                libjpeg::Encode::quality(quality),
            )
            .map_err(codec)
        }
        Format::Png | Format::Webp | Format::Gif => {
            let color = match img.channels {
                1 => image::ExtendedColorType::L8,
                2 => image::ExtendedColorType::La8,
                3 => image::ExtendedColorType::Rgb8,
                _ => image::ExtendedColorType::Rgba8,
            };
            let mut out = Cursor::new(Vec::new());
            match format {
                Format::Png => {
                    use image::ImageEncoder;
                    image::codecs::png::PngEncoder::new(&mut out)
                        .write_image(&img.data, img.w, img.h, color)
                        .map_err(codec)?;
                }
                Format::Webp => {
                    use image::ImageEncoder;
                    // WebP output is lossless (the image crate's encoder).
                    let img = match img.channels {
                        1 => img.convert(3, bg),
                        2 => img.convert(4, bg),
                        _ => img,
                    };
                    let color = if img.channels == 4 {
                        image::ExtendedColorType::Rgba8
                    } else {
                        image::ExtendedColorType::Rgb8
                    };
                    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                        .write_image(&img.data, img.w, img.h, color)
                        .map_err(codec)?;
                }
                _ => {
                    let rgba = img.convert(4, bg);
                    let buffer = image::RgbaImage::from_raw(rgba.w, rgba.h, rgba.data)
                        .ok_or(EngineError::Unsupported)?;
                    let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
                    encoder
                        .encode_frame(image::Frame::new(buffer))
                        .map_err(codec)?;
                    drop(encoder);
                }
            }
            Ok(out.into_inner())
        }
    }
}

/// Runs `t` on the encoded image `input`. The output format is `t`'s `f_`; without
/// one, `unspecified` (say, from a file name), else the input's format.
pub fn render(
    input: &[u8],
    t: &Transformation,
    limits: &Limits,
    unspecified: Option<Format>,
) -> Result<Rendered, EngineError> {
    let header = inspect(input, limits)?;
    let (_, w, h) = header;
    plan(t, w, h, limits)?;
    let (mut img, input_format, mut scale) = decode(input, header, t)?;
    let mut dims = (w, h);
    let mut background = WHITE;
    for step in &t.steps {
        if let Some(bg) = step.background {
            background = bg;
        }
        let needs_auto = step.gravity == Some(Gravity::Auto);
        if let Some(r) = plan_resize(step, dims.0, dims.1, None) {
            let r = if needs_auto {
                let f = auto_gravity(&img, &r, scale);
                plan_resize(step, dims.0, dims.1, Some(f)).unwrap_or(r)
            } else {
                r
            };
            img = resize(img, &r, scale)?;
            if let Some(canvas) = r.canvas {
                img = pad(img, canvas, step.background.unwrap_or(WHITE));
            }
            scale = 1.0;
        } else if scale != 1.0 {
            // Shrunk on load but this step does not resize: back to full size.
            let full = Resize {
                src: (0.0, 0.0, f64::from(dims.0), f64::from(dims.1)),
                out: dims,
                canvas: None,
            };
            img = resize(img, &full, scale)?;
            scale = 1.0;
        }
        if let Some(e) = step.effect {
            img = effect(img, e)?;
        }
        if let Some(r) = step.radius {
            img = round_corners(img, r);
        }
        if let Some(a) = step.angle {
            img = rotate(img, a);
        }
        if let Some(b) = step.border {
            img = border(img, b.width, b.color);
        }
        dims = (img.w, img.h);
    }
    if scale != 1.0 {
        let full = Resize {
            src: (0.0, 0.0, f64::from(dims.0), f64::from(dims.1)),
            out: dims,
            canvas: None,
        };
        img = resize(img, &full, scale)?;
    }
    let format = output_format(t, input_format, unspecified);
    let quality = match t.quality() {
        Some(Quality::Value(q)) => q,
        Some(Quality::Auto) | None => DEFAULT_QUALITY,
    };
    let (width, height) = (img.w, img.h);
    let bytes = encode(img, format, quality, background)?;
    Ok(Rendered {
        bytes,
        format,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

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

    fn textured_jpeg_with(
        w: usize,
        h: usize,
        progressive: bool,
        chroma: libjpeg::Chroma,
    ) -> Vec<u8> {
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
        for (w, h) in [(1500, 1000), (1366, 768), (1001, 999)] {
            let input = encoded(&quadrants(w, h), image::ImageFormat::Jpeg);
            for t in [
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
}
