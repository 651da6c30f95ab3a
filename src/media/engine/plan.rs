//! Geometry: what each step does to the dimensions, from dimensions alone. [`plan`]
//! refuses a transformation whose output would be too large before any pixel is
//! decoded; [`plan_resize`] is the crop-and-resize the pixel pipeline then runs.

use super::Limits;
use crate::domain::{Angle, Crop, Gravity, ParseError, Size, Step, Transformation};

/// A step's crop-and-resize: take `src` (x, y, w, h in input pixels, fractional) and
/// scale it to `out`; then place it at `offset` on a `canvas` (pad), if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Resize {
    pub(super) src: (f64, f64, f64, f64),
    pub(super) out: (u32, u32),
    pub(super) canvas: Option<(u32, u32, u32, u32)>,
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

pub(super) fn px(v: f64) -> u32 {
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
pub(super) fn plan_resize(step: &Step, w: u32, h: u32, auto: Option<(f64, f64)>) -> Option<Resize> {
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
pub(super) fn rotated_size(w: u32, h: u32, degrees: i32) -> (u32, u32) {
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
        let sized = step.width.is_some() || step.height.is_some();
        let param = if step.border.is_some() && !sized {
            "bo"
        } else if step.angle.is_some() && !sized {
            "a"
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
///
/// It also estimates the work, in pixel operations, each step adds (decoding the
/// input, every resize's source and output, a rotation by an odd angle (4x: an
/// affine resample), blur (6x), the other effects and corners, encoding the
/// result), and refuses the step at which the total passes `limits.max_cost`, so
/// a short chain of huge scales and rotations cannot take the CPU for seconds.
pub fn plan(
    t: &Transformation,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(u32, u32), ParseError> {
    let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
    let mut dims = (width, height);
    let mut cost = area(dims);
    for (i, step) in t.steps.iter().enumerate() {
        if let Some(r) = plan_resize(step, dims.0, dims.1, None) {
            let source = (r.src.2 * r.src.3).max(0.0) as u64;
            cost += source + 2 * area(r.out);
            dims = r.canvas.map_or(r.out, |(cw, ch, _, _)| (cw, ch));
        }
        dims = after_step(step, dims);
        check_size(step, dims, limits)?;
        let here = area(dims);
        cost += match step.angle {
            Some(Angle::Degrees(d)) if d.rem_euclid(90) != 0 => 4 * here,
            Some(_) => here,
            None => 0,
        };
        cost += match step.effect {
            Some(crate::domain::Effect::Blur(_)) => 6 * here,
            Some(_) => here,
            None => 0,
        };
        if step.radius.is_some() || step.border.is_some() {
            cost += here;
        }
        if i + 1 == t.steps.len() {
            cost += 2 * here;
        }
        if cost > limits.max_cost {
            return Err(param_error(
                "transformation",
                format!(
                    "step {} ({step}) brings the work to {} million pixel operations, \
                     more than the {} allowed",
                    i + 1,
                    cost / 1_000_000,
                    limits.max_cost / 1_000_000
                ),
            ));
        }
    }
    Ok(dims)
}
