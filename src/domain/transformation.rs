//! Parsing and canonical printing of transformations in Cloudinary's URL syntax
//! (`c_fill,w_800,h_600/e_grayscale/q_80`).
//!
//! The parser is strict on purpose: a transformation is stored in its canonical form and
//! deduplicated by it, so every accepted string must print back to a form that parses to
//! the very same [`Transformation`]. Anything it does not understand is refused with the
//! name of the parameter at fault, which the API turns into a 422 for the client.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Most steps a transformation may have.
pub const MAX_STEPS: usize = 10;
/// Most characters a transformation string may have (after trimming).
pub const MAX_LENGTH: usize = 500;

/// The `param` of errors about the string or step structure rather than one parameter.
const WHOLE: &str = "transformation";

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

impl FromStr for Transformation {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(error(WHOLE, "must not be empty"));
        }
        if s.chars().count() > MAX_LENGTH {
            return Err(error(
                WHOLE,
                format!("must be at most {MAX_LENGTH} characters"),
            ));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(error(WHOLE, "must not contain whitespace"));
        }
        let texts: Vec<&str> = s.split('/').collect();
        if texts.len() > MAX_STEPS {
            return Err(error(WHOLE, format!("must have at most {MAX_STEPS} steps")));
        }
        let steps = texts
            .into_iter()
            .map(parse_step)
            .collect::<Result<_, _>>()?;
        Ok(Self { steps })
    }
}

impl fmt::Display for Transformation {
    /// The canonical form: each step's parameters sorted by their text, steps joined by `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(&canonical_params(step).join(","))?;
        }
        Ok(())
    }
}

fn error(param: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        param: param.to_owned(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Steps

fn parse_step(text: &str) -> Result<Step, ParseError> {
    if text.is_empty() {
        return Err(error(
            WHOLE,
            "has an empty step (a leading, trailing or doubled '/')",
        ));
    }
    let mut step = Step::default();
    for param in text.split(',') {
        if param.is_empty() {
            return Err(error(
                WHOLE,
                "has an empty parameter (a leading, trailing or doubled ',')",
            ));
        }
        let (key, value) = match param.split_once('_') {
            Some((key, value)) if !key.is_empty() => (key, value),
            _ => {
                return Err(error(
                    param,
                    "is not a parameter; expected key_value such as w_100",
                ))
            }
        };
        match key {
            "c" => fill(&mut step.crop, key, value, parse_crop)?,
            "w" | "h" => {
                let slot = if key == "w" {
                    &mut step.width
                } else {
                    &mut step.height
                };
                fill(slot, key, value, |v| parse_size(key, v))?;
            }
            "ar" => fill(&mut step.aspect_ratio, key, value, parse_aspect_ratio)?,
            "g" => fill(&mut step.gravity, key, value, parse_gravity)?,
            "x" | "y" => {
                let slot = if key == "x" { &mut step.x } else { &mut step.y };
                fill(slot, key, value, |v| {
                    integer_in(key, v, -20_000..=20_000, "must be an integer")
                })?;
            }
            "b" => fill(&mut step.background, key, value, |v| {
                parse_color(v).ok_or_else(|| error("b", COLOR_HELP))
            })?,
            "e" => fill(&mut step.effect, key, value, parse_effect)?,
            "a" => fill(&mut step.angle, key, value, parse_angle)?,
            "r" => fill(&mut step.radius, key, value, parse_radius)?,
            "bo" => fill(&mut step.border, key, value, parse_border)?,
            "q" => fill(&mut step.quality, key, value, parse_quality)?,
            "f" => fill(&mut step.format, key, value, parse_format)?,
            _ => {
                return Err(error(
                    key,
                    "is not a supported parameter (c, w, h, ar, g, x, y, b, e, a, r, bo, q, f)",
                ))
            }
        }
    }
    check_combination(&step)?;
    Ok(step)
}

/// Sets an empty slot from `value`; a second occurrence of a key in one step is an error.
fn fill<T>(
    slot: &mut Option<T>,
    key: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(error(key, "is given more than once in one step"));
    }
    *slot = Some(parse(value)?);
    Ok(())
}

/// Rules between parameters of one step; each error names the parameter at fault.
fn check_combination(step: &Step) -> Result<(), ParseError> {
    let has_width = step.width.is_some();
    let has_height = step.height.is_some();
    if step.crop.is_some() && !has_width && !has_height {
        return Err(error("c", "needs w_ or h_ (or both)"));
    }
    if step.aspect_ratio.is_some() {
        if has_width && has_height {
            return Err(error("ar", "cannot be combined with both w_ and h_"));
        }
        if !has_width && !has_height {
            return Err(error("ar", "needs one of w_ or h_"));
        }
    }
    if step.crop != Some(Crop::Crop) {
        if step.x.is_some() {
            return Err(error("x", "is only allowed with c_crop"));
        }
        if step.y.is_some() {
            return Err(error("y", "is only allowed with c_crop"));
        }
    }
    if let Some(gravity) = step.gravity {
        match step.crop {
            None | Some(Crop::Scale | Crop::Fit | Crop::Limit) => {
                return Err(error(
                    "g",
                    "is only allowed with c_fill, c_thumb, c_crop or c_pad",
                ));
            }
            Some(Crop::Pad) if gravity == Gravity::Auto => {
                return Err(error(
                    "g",
                    "g_auto is only allowed with c_fill, c_thumb or c_crop",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Values

fn parse_crop(value: &str) -> Result<Crop, ParseError> {
    Ok(match value {
        "scale" => Crop::Scale,
        "fit" => Crop::Fit,
        "limit" => Crop::Limit,
        "fill" => Crop::Fill,
        "thumb" => Crop::Thumb,
        "crop" => Crop::Crop,
        "pad" => Crop::Pad,
        _ => {
            return Err(error(
                "c",
                "must be one of scale, fit, limit, fill, thumb, crop, pad",
            ))
        }
    })
}

fn parse_size(key: &str, value: &str) -> Result<Size, ParseError> {
    let refuse = || {
        error(
            key,
            "must be an integer from 1 to 20000 (pixels) or a decimal 0 < x <= 1 (a fraction of the input)",
        )
    };
    if value.contains('.') {
        let fraction = decimal(value).ok_or_else(refuse)?;
        if fraction > 0.0 && fraction <= 1.0 {
            Ok(Size::Fraction(fraction))
        } else {
            Err(refuse())
        }
    } else {
        integer(value)
            .filter(|n| (1..=20_000).contains(n))
            .and_then(|n| u32::try_from(n).ok())
            .map(Size::Pixels)
            .ok_or_else(refuse)
    }
}

fn parse_aspect_ratio(value: &str) -> Result<f64, ParseError> {
    let refuse = || {
        error(
            "ar",
            "must be a ratio N:M of positive integers or a positive decimal, between 0.01 and 100",
        )
    };
    let ratio = match value.split_once(':') {
        Some((w, h)) => {
            let w = integer(w).filter(|&n| n > 0).ok_or_else(refuse)?;
            let h = integer(h).filter(|&n| n > 0).ok_or_else(refuse)?;
            // Both are at most 19 digits, far inside f64's range; precision loss beyond
            // 15 digits does not matter after the rounding below.
            w as f64 / h as f64
        }
        None => decimal(value).ok_or_else(refuse)?,
    };
    if !(0.01..=100.0).contains(&ratio) {
        return Err(refuse());
    }
    // Stored rounded so that the canonical text parses back to the same value.
    Ok(round_significant(ratio))
}

/// Rounds to 6 significant digits, exactly as the decimal text would read back.
fn round_significant(x: f64) -> f64 {
    format!("{x:.5e}").parse().unwrap_or(x)
}

fn parse_gravity(value: &str) -> Result<Gravity, ParseError> {
    Ok(match value {
        "center" => Gravity::Center,
        "north" => Gravity::North,
        "south" => Gravity::South,
        "east" => Gravity::East,
        "west" => Gravity::West,
        "north_east" => Gravity::NorthEast,
        "north_west" => Gravity::NorthWest,
        "south_east" => Gravity::SouthEast,
        "south_west" => Gravity::SouthWest,
        "auto" => Gravity::Auto,
        _ => return Err(error(
            "g",
            "must be one of center, north, south, east, west, north_east, north_west, south_east, south_west, auto",
        )),
    })
}

fn parse_effect(value: &str) -> Result<Effect, ParseError> {
    let (name, amount) = match value.split_once(':') {
        Some((name, amount)) => (name, Some(amount)),
        None => (value, None),
    };
    Ok(match name {
        "grayscale" => {
            no_amount("e_grayscale", amount)?;
            Effect::Grayscale
        }
        "negate" => {
            no_amount("e_negate", amount)?;
            Effect::Negate
        }
        "sepia" => Effect::Sepia(amount_in("e_sepia", amount, 1..=100, 80)?),
        "blur" => Effect::Blur(amount_in("e_blur", amount, 1..=2000, 100)?),
        "sharpen" => Effect::Sharpen(amount_in("e_sharpen", amount, 1..=2000, 100)?),
        "pixelate" => Effect::Pixelate(amount_in("e_pixelate", amount, 1..=200, 5)?),
        "brightness" => Effect::Brightness(amount_in("e_brightness", amount, -99..=100, 80)?),
        "contrast" => Effect::Contrast(amount_in("e_contrast", amount, -100..=100, 0)?),
        _ => return Err(error(
            "e",
            "must be one of grayscale, sepia, blur, sharpen, pixelate, negate, brightness, contrast",
        )),
    })
}

fn no_amount(param: &str, amount: Option<&str>) -> Result<(), ParseError> {
    match amount {
        None => Ok(()),
        Some(_) => Err(error(param, "takes no value")),
    }
}

/// An effect's `:amount`, or its default when there is none.
fn amount_in<T: TryFrom<i64>>(
    param: &str,
    amount: Option<&str>,
    range: RangeInclusive<i64>,
    default: i64,
) -> Result<T, ParseError> {
    match amount {
        None => T::try_from(default).map_err(|_| error(param, "has no usable default")),
        Some(text) => integer_in(param, text, range, "must be an integer"),
    }
}

fn parse_angle(value: &str) -> Result<Angle, ParseError> {
    match value {
        "hflip" => Ok(Angle::HFlip),
        "vflip" => Ok(Angle::VFlip),
        _ => integer_in(
            "a",
            value,
            -360..=360,
            "must be hflip, vflip or an integer number of degrees",
        )
        .map(Angle::Degrees),
    }
}

fn parse_radius(value: &str) -> Result<Radius, ParseError> {
    match value {
        "max" => Ok(Radius::Max),
        _ => integer_in("r", value, 1..=10_000, "must be max or an integer").map(Radius::Pixels),
    }
}

fn parse_border(value: &str) -> Result<Border, ParseError> {
    let refuse = || {
        error(
            "bo",
            format!("must be <n>px_solid_<colour> with n from 1 to 1000 and {COLOR_HELP}"),
        )
    };
    let (width, color) = value.split_once("px_solid_").ok_or_else(refuse)?;
    let width = integer(width)
        .filter(|n| (1..=1000).contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(refuse)?;
    let color = parse_color(color).ok_or_else(refuse)?;
    Ok(Border { width, color })
}

fn parse_quality(value: &str) -> Result<Quality, ParseError> {
    match value {
        "auto" => Ok(Quality::Auto),
        _ => integer_in("q", value, 1..=100, "must be auto or an integer").map(Quality::Value),
    }
}

fn parse_format(value: &str) -> Result<OutputFormat, ParseError> {
    Ok(match value {
        "jpg" | "jpeg" => OutputFormat::Jpg,
        "png" => OutputFormat::Png,
        "webp" => OutputFormat::Webp,
        "gif" => OutputFormat::Gif,
        "auto" => OutputFormat::Auto,
        _ => return Err(error("f", "must be one of jpg, png, webp, gif, auto")),
    })
}

const COLOR_HELP: &str =
    "a colour is a name such as red or transparent, or rgb:RRGGBB / rgb:RGB in hex";

/// A colour name (any case) or `rgb:RRGGBB` / `rgb:RGB`.
fn parse_color(text: &str) -> Option<Color> {
    let lower = text.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("rgb:") {
        return parse_hex(hex);
    }
    let (r, g, b) = match lower.as_str() {
        "transparent" => {
            return Some(Color {
                r: 0,
                g: 0,
                b: 0,
                a: 0,
            })
        }
        "white" => (255, 255, 255),
        "black" => (0, 0, 0),
        "red" => (255, 0, 0),
        "green" => (0, 128, 0),
        "lime" => (0, 255, 0),
        "blue" => (0, 0, 255),
        "yellow" => (255, 255, 0),
        "cyan" => (0, 255, 255),
        "magenta" => (255, 0, 255),
        "gray" | "grey" => (128, 128, 128),
        "orange" => (255, 165, 0),
        "purple" => (128, 0, 128),
        "pink" => (255, 192, 203),
        "brown" => (165, 42, 42),
        "navy" => (0, 0, 128),
        "teal" => (0, 128, 128),
        "silver" => (192, 192, 192),
        _ => return None,
    };
    Some(Color { r, g, b, a: 255 })
}

fn parse_hex(hex: &str) -> Option<Color> {
    // Checked up front because from_str_radix would also take a leading '+'.
    if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |digits: &str| u8::from_str_radix(digits, 16).ok();
    let (r, g, b) = match hex.len() {
        6 => (
            channel(&hex[0..2])?,
            channel(&hex[2..4])?,
            channel(&hex[4..6])?,
        ),
        // `f00` means `ff0000`: each digit doubled, i.e. times 17.
        3 => (
            channel(&hex[0..1])? * 17,
            channel(&hex[1..2])? * 17,
            channel(&hex[2..3])? * 17,
        ),
        _ => return None,
    };
    Some(Color { r, g, b, a: 255 })
}

/// An optional `-` and ASCII digits, nothing else (no `+`, no spaces).
fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An integer in `range`, converted to the field's type; the message names the range.
fn integer_in<T: TryFrom<i64>>(
    param: &str,
    text: &str,
    range: RangeInclusive<i64>,
    what: &str,
) -> Result<T, ParseError> {
    let refuse = || {
        error(
            param,
            format!("{what} from {} to {}", range.start(), range.end()),
        )
    };
    integer(text)
        .filter(|n| range.contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(refuse)
}

/// ASCII digits with at most one `.` and at least one digit (no sign, exponent, inf, NaN).
fn decimal(text: &str) -> Option<f64> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    let dots = text.bytes().filter(|&c| c == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != text.len() {
        return None;
    }
    text.parse().ok()
}

// ---------------------------------------------------------------------------------------
// Canonical text

/// The step's parameters in canonical text, sorted.
fn canonical_params(step: &Step) -> Vec<String> {
    let mut params = Vec::new();
    if let Some(crop) = step.crop {
        params.push(format!("c_{}", crop_text(crop)));
    }
    if let Some(width) = step.width {
        params.push(format!("w_{}", size_text(width)));
    }
    if let Some(height) = step.height {
        params.push(format!("h_{}", size_text(height)));
    }
    if let Some(ratio) = step.aspect_ratio {
        // f64's Display is the shortest text that reads back to the same value.
        params.push(format!("ar_{ratio}"));
    }
    if let Some(gravity) = step.gravity {
        params.push(format!("g_{}", gravity_text(gravity)));
    }
    if let Some(x) = step.x {
        params.push(format!("x_{x}"));
    }
    if let Some(y) = step.y {
        params.push(format!("y_{y}"));
    }
    if let Some(color) = step.background {
        params.push(format!("b_{}", color_text(color)));
    }
    if let Some(effect) = step.effect {
        params.push(format!("e_{}", effect_text(effect)));
    }
    if let Some(angle) = step.angle {
        params.push(match angle {
            Angle::Degrees(degrees) => format!("a_{degrees}"),
            Angle::HFlip => "a_hflip".to_owned(),
            Angle::VFlip => "a_vflip".to_owned(),
        });
    }
    if let Some(radius) = step.radius {
        params.push(match radius {
            Radius::Pixels(px) => format!("r_{px}"),
            Radius::Max => "r_max".to_owned(),
        });
    }
    if let Some(border) = step.border {
        params.push(format!(
            "bo_{}px_solid_{}",
            border.width,
            color_text(border.color)
        ));
    }
    if let Some(quality) = step.quality {
        params.push(match quality {
            Quality::Value(q) => format!("q_{q}"),
            Quality::Auto => "q_auto".to_owned(),
        });
    }
    if let Some(format) = step.format {
        params.push(format!("f_{}", format_text(format)));
    }
    params.sort();
    params
}

fn crop_text(crop: Crop) -> &'static str {
    match crop {
        Crop::Scale => "scale",
        Crop::Fit => "fit",
        Crop::Limit => "limit",
        Crop::Fill => "fill",
        Crop::Thumb => "thumb",
        Crop::Crop => "crop",
        Crop::Pad => "pad",
    }
}

/// Pixels as an integer; a fraction always with a `.` so it reads back as a fraction.
fn size_text(size: Size) -> String {
    match size {
        Size::Pixels(px) => px.to_string(),
        Size::Fraction(fraction) => {
            let text = fraction.to_string();
            if text.contains('.') {
                text
            } else {
                format!("{text}.0")
            }
        }
    }
}

fn gravity_text(gravity: Gravity) -> &'static str {
    match gravity {
        Gravity::Center => "center",
        Gravity::North => "north",
        Gravity::South => "south",
        Gravity::East => "east",
        Gravity::West => "west",
        Gravity::NorthEast => "north_east",
        Gravity::NorthWest => "north_west",
        Gravity::SouthEast => "south_east",
        Gravity::SouthWest => "south_west",
        Gravity::Auto => "auto",
    }
}

/// `transparent` for a fully transparent colour, otherwise `rgb:rrggbb` (alpha dropped).
fn color_text(color: Color) -> String {
    if color.a == 0 {
        "transparent".to_owned()
    } else {
        format!("rgb:{:02x}{:02x}{:02x}", color.r, color.g, color.b)
    }
}

fn effect_text(effect: Effect) -> String {
    match effect {
        Effect::Grayscale => "grayscale".to_owned(),
        Effect::Negate => "negate".to_owned(),
        Effect::Sepia(n) => format!("sepia:{n}"),
        Effect::Blur(n) => format!("blur:{n}"),
        Effect::Sharpen(n) => format!("sharpen:{n}"),
        Effect::Pixelate(n) => format!("pixelate:{n}"),
        Effect::Brightness(n) => format!("brightness:{n}"),
        Effect::Contrast(n) => format!("contrast:{n}"),
    }
}

fn format_text(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Jpg => "jpg",
        OutputFormat::Png => "png",
        OutputFormat::Webp => "webp",
        OutputFormat::Gif => "gif",
        OutputFormat::Auto => "auto",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Transformation {
        s.parse()
            .unwrap_or_else(|e| panic!("{s:?} should parse, got {e}"))
    }

    fn step(s: &str) -> Step {
        let t = parse(s);
        assert_eq!(t.steps.len(), 1, "{s:?} should be one step");
        t.steps[0].clone()
    }

    /// The `param` named by the error for `s`.
    fn refused(s: &str) -> String {
        match s.parse::<Transformation>() {
            Ok(t) => panic!("{s:?} should be refused, parsed as {t:?}"),
            Err(e) => {
                assert!(!e.message.is_empty(), "{s:?} has an empty message");
                e.param
            }
        }
    }

    fn canonical(s: &str) -> String {
        parse(s).to_string()
    }

    const RED: Color = Color {
        r: 255,
        g: 0,
        b: 0,
        a: 255,
    };

    // ---- structure ---------------------------------------------------------------

    #[test]
    fn steps_are_split_on_slashes_and_kept_in_order() {
        let t = parse("w_100/e_grayscale/q_80");
        assert_eq!(t.steps.len(), 3);
        assert_eq!(t.steps[0].width, Some(Size::Pixels(100)));
        assert_eq!(t.steps[1].effect, Some(Effect::Grayscale));
        assert_eq!(t.steps[2].quality, Some(Quality::Value(80)));
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(parse(" \t w_100,h_50 \n"), parse("w_100,h_50"));
    }

    #[test]
    fn whitespace_inside_is_refused() {
        for s in [
            "w_100, h_50",
            "w_ 100",
            "w_100 /q_80",
            "w_100,\th_50",
            "e_blur:\u{a0}5",
        ] {
            assert_eq!(refused(s), "transformation", "{s:?}");
        }
    }

    #[test]
    fn empty_strings_steps_and_parameters_are_refused() {
        for s in [
            "",
            "   ",
            "/",
            "w_100/",
            "/w_100",
            "w_100//q_80",
            "w_100,,h_10",
            ",w_100",
            "w_100,",
            "w_100/,",
        ] {
            assert_eq!(refused(s), "transformation", "{s:?}");
        }
    }

    #[test]
    fn at_most_ten_steps() {
        let ten = ["e_negate"; 10].join("/");
        assert_eq!(parse(&ten).steps.len(), 10);
        let eleven = ["e_negate"; 11].join("/");
        assert_eq!(refused(&eleven), "transformation");
    }

    #[test]
    fn at_most_five_hundred_characters() {
        // Leading zeros are allowed, which makes a long but valid string easy to build.
        let long = format!("w_{}100", "0".repeat(495));
        assert_eq!(long.len(), 500);
        assert_eq!(step(&long).width, Some(Size::Pixels(100)));
        assert_eq!(
            refused(&format!("w_{}100", "0".repeat(496))),
            "transformation"
        );
        // Trimmed whitespace does not count.
        assert_eq!(step(&format!("  {long}  ")).width, Some(Size::Pixels(100)));
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(refused("zz_3"), "zz");
        assert_eq!(refused("crop_fill"), "crop");
        assert_eq!(refused("w_100,width_100"), "width");
        assert_eq!(refused("W_100"), "W");
        assert_eq!(refused("l_sample"), "l");
    }

    #[test]
    fn parameters_without_an_underscore_are_named() {
        assert_eq!(refused("w100"), "w100");
        assert_eq!(refused("w_100,grayscale"), "grayscale");
        assert_eq!(refused("_100"), "_100");
    }

    #[test]
    fn a_key_twice_in_one_step_is_named() {
        assert_eq!(refused("w_100,w_200"), "w");
        assert_eq!(refused("e_grayscale,e_blur"), "e");
        assert_eq!(refused("q_80,h_10,q_80"), "q");
        // ...but the same key in different steps is fine.
        assert_eq!(parse("w_100/w_50").steps.len(), 2);
    }

    #[test]
    fn parameters_split_at_the_first_underscore() {
        assert_eq!(
            step("c_fill,w_10,g_north_east").gravity,
            Some(Gravity::NorthEast)
        );
        assert_eq!(
            step("bo_4px_solid_red").border,
            Some(Border {
                width: 4,
                color: RED
            })
        );
        assert_eq!(step("b_rgb:ff0000").background, Some(RED));
    }

    #[test]
    fn errors_display_param_and_message() {
        let e = "w_0".parse::<Transformation>().unwrap_err();
        assert_eq!(e.param, "w");
        assert_eq!(e.to_string(), format!("w: {}", e.message));
    }

    // ---- c, w, h, ar ---------------------------------------------------------------

    #[test]
    fn every_crop_mode_parses() {
        for (text, crop) in [
            ("scale", Crop::Scale),
            ("fit", Crop::Fit),
            ("limit", Crop::Limit),
            ("fill", Crop::Fill),
            ("thumb", Crop::Thumb),
            ("crop", Crop::Crop),
            ("pad", Crop::Pad),
        ] {
            assert_eq!(step(&format!("c_{text},w_100")).crop, Some(crop), "{text}");
        }
        for bad in ["c_", "c_FILL", "c_lfill", "c_fill_pad"] {
            assert_eq!(refused(&format!("{bad},w_100")), "c", "{bad}");
        }
    }

    #[test]
    fn sizes_are_pixels_or_fractions() {
        let s = step("w_1,h_20000");
        assert_eq!(s.width, Some(Size::Pixels(1)));
        assert_eq!(s.height, Some(Size::Pixels(20000)));
        assert_eq!(step("w_0.5").width, Some(Size::Fraction(0.5)));
        assert_eq!(step("h_1.0").height, Some(Size::Fraction(1.0)));
        assert_eq!(step("w_.25").width, Some(Size::Fraction(0.25)));
        assert_eq!(step("w_1.").width, Some(Size::Fraction(1.0)));
        assert_eq!(step("w_0100").width, Some(Size::Pixels(100)));
    }

    #[test]
    fn bad_sizes_are_named() {
        for bad in [
            "0",
            "20001",
            "-5",
            "1.5",
            "0.0",
            "0.",
            "abc",
            "",
            "1e3",
            "+5",
            "0.5.5",
            ".",
            "99999999999999999999",
            "inf",
            "NaN",
            "-0.5",
        ] {
            assert_eq!(refused(&format!("w_{bad}")), "w", "w_{bad}");
            assert_eq!(refused(&format!("h_{bad}")), "h", "h_{bad}");
        }
    }

    #[test]
    fn size_without_crop_means_scale_but_keeps_crop_unset() {
        let s = step("w_100");
        assert_eq!(s.crop, None);
        assert_eq!(s.width, Some(Size::Pixels(100)));
        assert_eq!(canonical("w_100"), "w_100");
    }

    #[test]
    fn aspect_ratios_parse_rounded_to_six_digits() {
        assert_eq!(step("w_100,ar_16:9").aspect_ratio, Some(1.77778));
        assert_eq!(step("w_100,ar_1.5").aspect_ratio, Some(1.5));
        assert_eq!(step("h_100,ar_2").aspect_ratio, Some(2.0));
        assert_eq!(step("h_100,ar_1:100").aspect_ratio, Some(0.01));
        assert_eq!(step("h_100,ar_100").aspect_ratio, Some(100.0));
        assert_eq!(step("c_fill,w_100,ar_4:3").aspect_ratio, Some(1.33333));
    }

    #[test]
    fn bad_aspect_ratios_are_named() {
        for bad in [
            "0:9", "16:0", "-1", "0", "0.001", "101", "1:101", "abc", "16:9:1", "16:", ":9",
            "1.5:1", "-16:9", "", "1e2",
        ] {
            assert_eq!(refused(&format!("w_100,ar_{bad}")), "ar", "ar_{bad}");
        }
    }

    #[test]
    fn crop_needs_a_size() {
        for mode in ["scale", "fit", "limit", "fill", "thumb", "crop", "pad"] {
            assert_eq!(refused(&format!("c_{mode}")), "c", "{mode}");
        }
        assert_eq!(refused("c_fill,ar_16:9"), "c");
        assert_eq!(refused("c_fill,g_north"), "c");
        for ok in [
            "c_crop,w_10",
            "c_fill,h_10",
            "c_thumb,w_10",
            "c_pad,h_10",
            "c_limit,w_10",
        ] {
            assert!(ok.parse::<Transformation>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn aspect_ratio_needs_exactly_one_side() {
        assert_eq!(refused("w_100,h_100,ar_1.5"), "ar");
        assert_eq!(refused("c_fill,w_100,h_100,ar_1.5"), "ar");
        assert_eq!(refused("ar_1.5"), "ar");
        assert_eq!(refused("ar_16:9,e_grayscale"), "ar");
        assert!("c_pad,h_100,ar_1.5".parse::<Transformation>().is_ok());
    }

    // ---- g, x, y -------------------------------------------------------------------

    #[test]
    fn every_gravity_parses() {
        for (text, gravity) in [
            ("center", Gravity::Center),
            ("north", Gravity::North),
            ("south", Gravity::South),
            ("east", Gravity::East),
            ("west", Gravity::West),
            ("north_east", Gravity::NorthEast),
            ("north_west", Gravity::NorthWest),
            ("south_east", Gravity::SouthEast),
            ("south_west", Gravity::SouthWest),
            ("auto", Gravity::Auto),
        ] {
            assert_eq!(
                step(&format!("c_fill,w_10,g_{text}")).gravity,
                Some(gravity)
            );
        }
        for bad in ["g_", "g_northeast", "g_North", "g_face", "g_north_"] {
            assert_eq!(refused(&format!("c_fill,w_10,{bad}")), "g", "{bad}");
        }
    }

    #[test]
    fn gravity_needs_a_cropping_mode() {
        assert_eq!(refused("w_10,g_north"), "g");
        for mode in ["scale", "fit", "limit"] {
            assert_eq!(refused(&format!("c_{mode},w_10,g_north")), "g", "{mode}");
        }
        for mode in ["fill", "thumb", "crop", "pad"] {
            assert_eq!(
                step(&format!("c_{mode},w_10,g_north")).gravity,
                Some(Gravity::North)
            );
        }
    }

    #[test]
    fn auto_gravity_is_not_for_pad() {
        assert_eq!(refused("c_pad,w_10,g_auto"), "g");
        for mode in ["fill", "thumb", "crop"] {
            assert_eq!(
                step(&format!("c_{mode},w_10,g_auto")).gravity,
                Some(Gravity::Auto)
            );
        }
    }

    #[test]
    fn offsets_parse_with_crop() {
        let s = step("c_crop,w_100,h_100,x_-10,y_20000");
        assert_eq!((s.x, s.y), (Some(-10), Some(20000)));
        assert_eq!(step("c_crop,w_10,x_-20000").x, Some(-20000));
        assert_eq!(step("c_crop,w_10,y_0").y, Some(0));
    }

    #[test]
    fn offsets_need_crop_and_a_valid_integer() {
        assert_eq!(refused("w_100,x_10"), "x");
        assert_eq!(refused("c_fill,w_100,y_10"), "y");
        assert_eq!(refused("c_pad,w_100,x_0,y_0"), "x");
        for bad in ["20001", "-20001", "1.5", "abc", "", "+5", "--5"] {
            assert_eq!(refused(&format!("c_crop,w_10,x_{bad}")), "x", "{bad}");
            assert_eq!(refused(&format!("c_crop,w_10,y_{bad}")), "y", "{bad}");
        }
    }

    // ---- colours -------------------------------------------------------------------

    #[test]
    fn every_colour_name_parses_in_any_case() {
        for (name, (r, g, b)) in [
            ("white", (255, 255, 255)),
            ("black", (0, 0, 0)),
            ("red", (255, 0, 0)),
            ("green", (0, 128, 0)),
            ("lime", (0, 255, 0)),
            ("blue", (0, 0, 255)),
            ("yellow", (255, 255, 0)),
            ("cyan", (0, 255, 255)),
            ("magenta", (255, 0, 255)),
            ("gray", (128, 128, 128)),
            ("grey", (128, 128, 128)),
            ("orange", (255, 165, 0)),
            ("purple", (128, 0, 128)),
            ("pink", (255, 192, 203)),
            ("brown", (165, 42, 42)),
            ("navy", (0, 0, 128)),
            ("teal", (0, 128, 128)),
            ("silver", (192, 192, 192)),
        ] {
            let expected = Some(Color { r, g, b, a: 255 });
            assert_eq!(step(&format!("b_{name}")).background, expected, "{name}");
            let upper = name.to_uppercase();
            assert_eq!(step(&format!("b_{upper}")).background, expected, "{upper}");
        }
        assert_eq!(
            step("b_Transparent").background,
            Some(Color {
                r: 0,
                g: 0,
                b: 0,
                a: 0
            })
        );
    }

    #[test]
    fn hex_colours_parse() {
        assert_eq!(step("b_rgb:ff0000").background, Some(RED));
        assert_eq!(step("b_rgb:FF0000").background, Some(RED));
        assert_eq!(step("b_RGB:Ff0000").background, Some(RED));
        assert_eq!(step("b_rgb:f00").background, Some(RED));
        assert_eq!(
            step("b_rgb:1a2B3c").background,
            Some(Color {
                r: 0x1a,
                g: 0x2b,
                b: 0x3c,
                a: 255
            })
        );
        assert_eq!(
            step("b_rgb:a5c").background,
            Some(Color {
                r: 0xaa,
                g: 0x55,
                b: 0xcc,
                a: 255
            })
        );
    }

    #[test]
    fn bad_colours_are_named() {
        for bad in [
            "",
            "notacolor",
            "rgb:",
            "rgb:ff00",
            "rgb:ff00000",
            "rgb:gg0000",
            "rgb:+f0000",
            "rgb:ff0000ff",
            "#ff0000",
            "ff0000",
            "rgb:ff_000",
            "red:1",
        ] {
            assert_eq!(refused(&format!("b_{bad}")), "b", "b_{bad}");
        }
    }

    // ---- effects -------------------------------------------------------------------

    #[test]
    fn effects_have_their_defaults() {
        for (text, effect) in [
            ("grayscale", Effect::Grayscale),
            ("negate", Effect::Negate),
            ("sepia", Effect::Sepia(80)),
            ("blur", Effect::Blur(100)),
            ("sharpen", Effect::Sharpen(100)),
            ("pixelate", Effect::Pixelate(5)),
            ("brightness", Effect::Brightness(80)),
            ("contrast", Effect::Contrast(0)),
        ] {
            assert_eq!(step(&format!("e_{text}")).effect, Some(effect), "{text}");
        }
    }

    #[test]
    fn effects_take_values_within_their_ranges() {
        for (text, effect) in [
            ("sepia:1", Effect::Sepia(1)),
            ("sepia:100", Effect::Sepia(100)),
            ("blur:1", Effect::Blur(1)),
            ("blur:2000", Effect::Blur(2000)),
            ("sharpen:1", Effect::Sharpen(1)),
            ("sharpen:2000", Effect::Sharpen(2000)),
            ("pixelate:1", Effect::Pixelate(1)),
            ("pixelate:200", Effect::Pixelate(200)),
            ("brightness:-99", Effect::Brightness(-99)),
            ("brightness:100", Effect::Brightness(100)),
            ("contrast:-100", Effect::Contrast(-100)),
            ("contrast:100", Effect::Contrast(100)),
        ] {
            assert_eq!(step(&format!("e_{text}")).effect, Some(effect), "{text}");
        }
    }

    #[test]
    fn bad_effect_values_name_the_effect() {
        for (bad, param) in [
            ("grayscale:1", "e_grayscale"),
            ("negate:5", "e_negate"),
            ("negate:", "e_negate"),
            ("sepia:0", "e_sepia"),
            ("sepia:101", "e_sepia"),
            ("sepia:", "e_sepia"),
            ("blur:0", "e_blur"),
            ("blur:2001", "e_blur"),
            ("blur:abc", "e_blur"),
            ("blur:1.5", "e_blur"),
            ("blur:5:5", "e_blur"),
            ("sharpen:0", "e_sharpen"),
            ("sharpen:2001", "e_sharpen"),
            ("pixelate:0", "e_pixelate"),
            ("pixelate:201", "e_pixelate"),
            ("brightness:-100", "e_brightness"),
            ("brightness:101", "e_brightness"),
            ("contrast:-101", "e_contrast"),
            ("contrast:101", "e_contrast"),
        ] {
            assert_eq!(refused(&format!("e_{bad}")), param, "e_{bad}");
        }
    }

    #[test]
    fn unknown_effects_are_named_e() {
        for bad in [
            "e_",
            "e_foo",
            "e_foo:3",
            "e_Grayscale",
            "e_:5",
            "e_vignette",
        ] {
            assert_eq!(refused(bad), "e", "{bad}");
        }
    }

    // ---- a, r, bo, q, f --------------------------------------------------------------

    #[test]
    fn angles_parse() {
        assert_eq!(step("a_90").angle, Some(Angle::Degrees(90)));
        assert_eq!(step("a_-360").angle, Some(Angle::Degrees(-360)));
        assert_eq!(step("a_360").angle, Some(Angle::Degrees(360)));
        assert_eq!(step("a_0").angle, Some(Angle::Degrees(0)));
        assert_eq!(step("a_hflip").angle, Some(Angle::HFlip));
        assert_eq!(step("a_vflip").angle, Some(Angle::VFlip));
        for bad in ["361", "-361", "abc", "", "45.5", "hflip:1", "auto"] {
            assert_eq!(refused(&format!("a_{bad}")), "a", "a_{bad}");
        }
    }

    #[test]
    fn radii_parse() {
        assert_eq!(step("r_max").radius, Some(Radius::Max));
        assert_eq!(step("r_1").radius, Some(Radius::Pixels(1)));
        assert_eq!(step("r_10000").radius, Some(Radius::Pixels(10000)));
        for bad in ["0", "10001", "-5", "MAX", "", "2.5"] {
            assert_eq!(refused(&format!("r_{bad}")), "r", "r_{bad}");
        }
    }

    #[test]
    fn borders_parse() {
        assert_eq!(
            step("bo_4px_solid_red").border,
            Some(Border {
                width: 4,
                color: RED
            })
        );
        assert_eq!(
            step("bo_1000px_solid_rgb:00ff00").border,
            Some(Border {
                width: 1000,
                color: Color {
                    r: 0,
                    g: 255,
                    b: 0,
                    a: 255
                }
            })
        );
        assert_eq!(
            step("bo_1px_solid_transparent").border,
            Some(Border {
                width: 1,
                color: Color {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 0
                }
            })
        );
        for bad in [
            "0px_solid_red",
            "1001px_solid_red",
            "4px_dashed_red",
            "4_solid_red",
            "4px_solid_notacolor",
            "px_solid_red",
            "4px_solid_",
            "4px",
            "-4px_solid_red",
            "4px_solid_red_blue",
        ] {
            assert_eq!(refused(&format!("bo_{bad}")), "bo", "bo_{bad}");
        }
    }

    #[test]
    fn qualities_parse() {
        assert_eq!(step("q_1").quality, Some(Quality::Value(1)));
        assert_eq!(step("q_100").quality, Some(Quality::Value(100)));
        assert_eq!(step("q_auto").quality, Some(Quality::Auto));
        for bad in ["0", "101", "auto:good", "", "AUTO", "50.5"] {
            assert_eq!(refused(&format!("q_{bad}")), "q", "q_{bad}");
        }
    }

    #[test]
    fn formats_parse() {
        for (text, format) in [
            ("jpg", OutputFormat::Jpg),
            ("jpeg", OutputFormat::Jpg),
            ("png", OutputFormat::Png),
            ("webp", OutputFormat::Webp),
            ("gif", OutputFormat::Gif),
            ("auto", OutputFormat::Auto),
        ] {
            assert_eq!(step(&format!("f_{text}")).format, Some(format), "{text}");
        }
        for bad in ["tiff", "JPG", "", "avif"] {
            assert_eq!(refused(&format!("f_{bad}")), "f", "f_{bad}");
        }
    }

    #[test]
    fn a_full_step_parses_every_field() {
        let s = step(
            "c_crop,w_0.5,h_300,g_north_west,x_-10,y_5,b_navy,e_blur:20,a_hflip,r_15,bo_2px_solid_black,q_auto,f_webp",
        );
        assert_eq!(
            s,
            Step {
                crop: Some(Crop::Crop),
                width: Some(Size::Fraction(0.5)),
                height: Some(Size::Pixels(300)),
                aspect_ratio: None,
                gravity: Some(Gravity::NorthWest),
                x: Some(-10),
                y: Some(5),
                background: Some(Color {
                    r: 0,
                    g: 0,
                    b: 128,
                    a: 255
                }),
                effect: Some(Effect::Blur(20)),
                angle: Some(Angle::HFlip),
                radius: Some(Radius::Pixels(15)),
                border: Some(Border {
                    width: 2,
                    color: Color {
                        r: 0,
                        g: 0,
                        b: 0,
                        a: 255
                    }
                }),
                quality: Some(Quality::Auto),
                format: Some(OutputFormat::Webp),
            }
        );
    }

    // ---- format() and quality() ----------------------------------------------------

    #[test]
    fn format_and_quality_come_from_the_last_step_that_has_them() {
        let t = parse("f_png,q_50/w_100/f_webp/e_negate");
        assert_eq!(t.format(), Some(OutputFormat::Webp));
        assert_eq!(t.quality(), Some(Quality::Value(50)));
        let t = parse("q_50/q_auto,f_jpeg");
        assert_eq!(t.quality(), Some(Quality::Auto));
        assert_eq!(t.format(), Some(OutputFormat::Jpg));
        let t = parse("w_100/e_grayscale");
        assert_eq!(t.format(), None);
        assert_eq!(t.quality(), None);
    }

    // ---- canonical form --------------------------------------------------------------

    #[test]
    fn canonical_examples() {
        for (input, expected) in [
            (
                "c_fill,w_800,h_600/e_grayscale/q_80",
                "c_fill,h_600,w_800/e_grayscale/q_80",
            ),
            (
                "c_thumb,w_200,h_200/r_max/f_png",
                "c_thumb,h_200,w_200/r_max/f_png",
            ),
            ("c_limit,w_1600/q_85", "c_limit,w_1600/q_85"),
            ("w_0.5", "w_0.5"),
            ("w_.5", "w_0.5"),
            ("h_1.", "h_1.0"),
            ("w_0.50", "w_0.5"),
            ("w_0100", "w_100"),
            ("w_100,ar_16:9", "ar_1.77778,w_100"),
            ("w_100,ar_1.5", "ar_1.5,w_100"),
            ("w_100,ar_2", "ar_2,w_100"),
            ("w_100,ar_2.0", "ar_2,w_100"),
            ("w_100,ar_1:100", "ar_0.01,w_100"),
            (
                "c_crop,w_10,g_north_east,x_-10,y_3",
                "c_crop,g_north_east,w_10,x_-10,y_3",
            ),
            ("b_red,c_pad,w_10", "b_rgb:ff0000,c_pad,w_10"),
            ("b_rgb:F00,c_pad,w_10", "b_rgb:ff0000,c_pad,w_10"),
            ("b_TRANSPARENT,c_pad,w_10", "b_transparent,c_pad,w_10"),
            ("e_sepia", "e_sepia:80"),
            ("e_contrast", "e_contrast:0"),
            ("e_brightness:-20", "e_brightness:-20"),
            ("e_pixelate", "e_pixelate:5"),
            ("a_90", "a_90"),
            ("a_-90", "a_-90"),
            ("a_vflip", "a_vflip"),
            ("r_20", "r_20"),
            ("bo_4px_solid_red", "bo_4px_solid_rgb:ff0000"),
            ("q_auto", "q_auto"),
            ("f_jpeg", "f_jpg"),
            (
                "bo_1px_solid_red,b_blue,c_pad,w_5",
                "b_rgb:0000ff,bo_1px_solid_rgb:ff0000,c_pad,w_5",
            ),
        ] {
            assert_eq!(canonical(input), expected, "{input}");
        }
    }

    #[test]
    fn parameter_order_does_not_matter() {
        assert_eq!(canonical("w_100,c_fill"), canonical("c_fill,w_100"));
        assert_eq!(canonical("w_100,c_fill"), "c_fill,w_100");
        assert_eq!(
            canonical("q_80,f_png,e_negate,h_10"),
            canonical("h_10,e_negate,f_png,q_80")
        );
    }

    #[test]
    fn equivalent_spellings_have_one_canonical_form() {
        assert_eq!(parse("c_pad,w_10,b_red"), parse("c_pad,w_10,b_rgb:ff0000"));
        assert_eq!(
            canonical("c_pad,w_10,b_red"),
            canonical("c_pad,w_10,b_rgb:FF0000")
        );
        assert_eq!(canonical("b_grey,c_pad,w_1"), canonical("b_gray,c_pad,w_1"));
        assert_eq!(canonical("w_100,ar_16:9"), canonical("w_100,ar_1.77778"));
        assert_eq!(canonical("e_blur"), canonical("e_blur:100"));
        assert_eq!(canonical("f_jpeg"), canonical("f_jpg"));
        // Step order does matter.
        assert_ne!(
            canonical("e_grayscale/w_100"),
            canonical("w_100/e_grayscale")
        );
    }

    #[test]
    fn canonical_form_round_trips() {
        for input in [
            "c_fill,w_800,h_600/e_grayscale/q_80",
            "c_thumb,w_200,h_200,g_auto/r_max/f_png",
            "c_limit,w_1600/q_85",
            "w_0.5",
            "h_0.333333333333",
            "w_1.0,h_0.1",
            "w_0.000001",
            "c_fill,w_100,ar_16:9,g_south",
            "c_pad,h_300,ar_0.3333333,b_transparent,g_west",
            "h_50,ar_99.99999",
            "c_crop,w_400,h_300,x_-20000,y_20000,g_center",
            "c_pad,w_500,h_500,b_rgb:AbC",
            "e_sepia/e_blur:2000/e_sharpen/e_pixelate:200/e_negate/e_brightness:-99/e_contrast:-100",
            "a_-45,r_10000,bo_1000px_solid_PINK",
            "a_hflip/a_vflip/a_0",
            "q_auto,f_auto",
            "f_jpeg,q_1",
            "f_webp,q_100/f_gif",
            "c_scale,w_20000,h_1",
            "c_fit,w_0.75,h_1/c_fill,w_100,h_100,g_north_east/bo_2px_solid_teal",
            "e_brightness/e_contrast:55,b_silver",
            "w_00042,ar_3:2",
        ] {
            let first = parse(input);
            let text = first.to_string();
            let second = parse(&text);
            assert_eq!(second, first, "{input} -> {text}");
            assert_eq!(second.to_string(), text, "{input} -> {text}");
        }
    }

    #[test]
    fn canonical_params_are_sorted_within_each_step() {
        let text = canonical(
            "f_png,q_9,bo_3px_solid_red,r_4,a_5,e_negate,b_red,y_1,x_1,g_south,h_2,w_1,c_crop",
        );
        let params: Vec<&str> = text.split(',').collect();
        let mut sorted = params.clone();
        sorted.sort_unstable();
        assert_eq!(params, sorted);
        assert_eq!(params.len(), 13);
    }
}
