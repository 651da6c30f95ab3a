//! Parsing and canonical printing of transformations in Cloudinary's URL syntax
//! (`c_fill,w_800,h_600/e_grayscale/q_80`).
//!
//! The parser is strict on purpose: a transformation is stored in its canonical form and
//! deduplicated by it, so every accepted string must print back to a form that parses to
//! the very same [`Transformation`]. Anything it does not understand is refused with the
//! name of the parameter at fault, which the API turns into a 422 for the client.

mod canonical;
mod parse;
#[cfg(test)]
mod tests;

/// Most steps a transformation may have.
pub const MAX_STEPS: usize = 10;
/// Most characters a transformation string may have (after trimming).
pub const MAX_LENGTH: usize = 500;

/// A parsed transformation: steps applied in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformation {
    /// The steps, applied first to last.
    pub steps: Vec<Step>,
}

/// One step: the parameters between two `/`. Every field is optional; see each field for
/// its URL key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// `c_`: crop/resize mode. `None` with a size means scaling.
    pub crop: Option<Crop>,
    /// `w_`: target width.
    pub width: Option<Size>,
    /// `h_`: target height.
    pub height: Option<Size>,
    /// `ar_`: width / height, > 0, rounded to 6 significant digits (`16:9` -> 1.77778).
    pub aspect_ratio: Option<f64>,
    /// `g_`: which part of the image a crop keeps or where a pad places it.
    pub gravity: Option<Gravity>,
    /// `x_`: horizontal offset (only with `c_crop`).
    pub x: Option<i64>,
    /// `y_`: vertical offset (only with `c_crop`).
    pub y: Option<i64>,
    /// `b_`: background colour (padding, transparent areas).
    pub background: Option<Color>,
    /// `e_`: one effect.
    pub effect: Option<Effect>,
    /// `a_`: rotation or flip.
    pub angle: Option<Angle>,
    /// `r_`: rounded corners.
    pub radius: Option<Radius>,
    /// `bo_`: solid border.
    pub border: Option<Border>,
    /// `q_`: output quality.
    pub quality: Option<Quality>,
    /// `f_`: output format.
    pub format: Option<OutputFormat>,
}

/// A width or height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// Exact pixels, 1..=20000.
    Pixels(u32),
    /// A fraction of the input's dimension, 0 < x <= 1.
    Fraction(f64),
}

/// Crop/resize mode (`c_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crop {
    /// Resize to the given size, distorting if both sides are given.
    Scale,
    /// Fit inside the box, keeping the aspect ratio.
    Fit,
    /// Like `Fit`, but never enlarge.
    Limit,
    /// Fill the box exactly, cropping the excess.
    Fill,
    /// Like `Fill`, aimed at thumbnails.
    Thumb,
    /// Cut out a region of the original.
    Crop,
    /// Fit inside the box and pad the rest with the background.
    Pad,
}

/// Anchor for crops and padding (`g_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gravity {
    Center,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
    /// Let the engine choose the most interesting region.
    Auto,
}

/// An effect (`e_`), with its strength where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Grayscale,
    /// 1..=100, default 80.
    Sepia(u8),
    /// 1..=2000, default 100.
    Blur(u32),
    /// 1..=2000, default 100.
    Sharpen(u32),
    /// Block size 1..=200, default 5.
    Pixelate(u32),
    Negate,
    /// -99..=100, default 80.
    Brightness(i32),
    /// -100..=100, default 0.
    Contrast(i32),
}

/// Rotation (`a_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Angle {
    /// Clockwise, -360..=360.
    Degrees(i32),
    /// Mirror left to right.
    HFlip,
    /// Mirror top to bottom.
    VFlip,
}

/// Rounded corners (`r_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Radius {
    /// Corner radius, 1..=10000.
    Pixels(u32),
    /// A circle or ellipse.
    Max,
}

/// A solid border (`bo_<n>px_solid_<colour>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Border {
    /// 1..=1000 pixels.
    pub width: u32,
    pub color: Color,
}

/// Output quality (`q_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// 1..=100.
    Value(u8),
    /// Let the engine choose.
    Auto,
}

/// Output format (`f_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Jpg,
    Png,
    Webp,
    Gif,
    /// Keep the input's format.
    Auto,
}

/// sRGB colour; `a` is 0 only for `transparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

/// Why a transformation was refused: which parameter (e.g. "w", "c", "e_blur", "bo", or
/// "transformation" for the whole string/step structure) and why, in words for an API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct ParseError {
    pub param: String,
    pub message: String,
}

impl Transformation {
    /// The format the last step asks for, if any (`f_` of the last step that has one).
    pub fn format(&self) -> Option<OutputFormat> {
        self.steps.iter().rev().find_map(|step| step.format)
    }

    /// Quality of the last step that has one.
    pub fn quality(&self) -> Option<Quality> {
        self.steps.iter().rev().find_map(|step| step.quality)
    }
}
