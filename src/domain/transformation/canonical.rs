//! Canonical printing: `Display` for [`Transformation`], the text a transformation is
//! stored and deduplicated by, which parses back to the same value.

use std::fmt;

use super::{
    Angle, Color, Crop, Effect, Gravity, OutputFormat, Quality, Radius, Size, Step, Transformation,
};

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

impl fmt::Display for Step {
    /// One step in canonical form (`a_33,c_scale,w_800`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&canonical_params(self).join(","))
    }
}

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
