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
//! jobs. Geometry is planned from dimensions alone ([`plan()`]), so a transformation
//! whose output would be too large is refused before any pixel is decoded.

mod decode;
mod encode;
mod ops;
mod plan;
#[cfg(test)]
mod tests;

use crate::domain::{Gravity, ParseError, Quality, Transformation};
use crate::media::ingest::Format;

pub use decode::{cut_scans, dc_scans_only, jpeg_scale};
use decode::{decode, inspect};
use encode::{encode, output_format};
use ops::{auto_gravity, border, effect, pad, resize, rotate, round_corners, WHITE};
pub use plan::plan;
use plan::{plan_resize, Resize};

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
    /// Most work one transformation may cost, in pixel operations (`plan`).
    pub max_cost: u64,
}

impl Limits {
    /// The configured limits (`media.max_output_pixels`, `media.max_pixels`).
    pub fn from_settings(media: &crate::config::MediaSettings) -> Self {
        Limits {
            max_output_pixels: media.max_output_pixels,
            max_input_pixels: media.max_pixels,
            max_cost: media.max_transform_cost_mpx.saturating_mul(1_000_000),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_pixels: 25_000_000,
            max_input_pixels: 50_000_000,
            max_cost: 300_000_000,
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
