//! The parser: `FromStr` for [`Transformation`], one step at a time, each value checked
//! against its range and each step against the rules between its parameters.

use std::ops::RangeInclusive;
use std::str::FromStr;

use super::{
    Angle, Border, Color, Crop, Effect, Gravity, OutputFormat, ParseError, Quality, Radius, Size,
    Step, Transformation, MAX_LENGTH, MAX_STEPS,
};

/// The `param` of errors about the string or step structure rather than one parameter.
const WHOLE: &str = "transformation";

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
