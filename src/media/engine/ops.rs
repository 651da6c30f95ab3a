//! Pixels: the [`Canvas`] the pipeline works on and the operations a step runs on it
//! (crop-and-resize, pad, effects, rotation, rounded corners, border, and the
//! content-aware window for `g_auto`).

use fast_image_resize::images::Image as FirImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::plan::{px, rotated_size, Resize};
use super::{codec, EngineError};
use crate::domain::{Angle, Color, Effect, Radius};

/// 8-bit pixels, interleaved: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels.
#[derive(Clone)]
pub(super) struct Canvas {
    pub(super) w: u32,
    pub(super) h: u32,
    pub(super) channels: u8,
    pub(super) data: Vec<u8>,
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
    pub(super) fn convert(self, channels: u8, bg: Color) -> Canvas {
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

pub(super) const WHITE: Color = Color {
    r: 255,
    g: 255,
    b: 255,
    a: 255,
};

/// Rec. 601 luma, as libjpeg and Pillow compute it.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114 + 500) / 1000) as u8
}

pub(super) fn raw(w: u32, h: u32, channels: u8, data: Vec<u8>) -> Canvas {
    Canvas {
        w,
        h,
        channels,
        data,
    }
}

pub(super) fn resize(img: Canvas, r: &Resize, scale: f64) -> Result<Canvas, EngineError> {
    let (x, y, w, h) = r.src;
    // Float geometry may land a hair outside the decoded image (276 / (276 / 800)
    // is 800.0000000000001); the resizer refuses such boxes, so clamp them.
    let (iw, ih) = (f64::from(img.w), f64::from(img.h));
    let (x, y) = ((x * scale).clamp(0.0, iw), (y * scale).clamp(0.0, ih));
    let (w, h) = ((w * scale).min(iw - x), (h * scale).min(ih - y));
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

pub(super) fn pad(img: Canvas, (cw, ch, ox, oy): (u32, u32, u32, u32), bg: Color) -> Canvas {
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

pub(super) fn effect(img: Canvas, e: Effect) -> Result<Canvas, EngineError> {
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
    // Always a real round trip: at factor 1 the resize back is a plain copy and a
    // weak blur (or sharpen) did nothing.
    let factor = (sigma / 1.5).max(1.25);
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

pub(super) fn rotate(img: Canvas, angle: Angle) -> Canvas {
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
pub(super) fn round_corners(img: Canvas, radius: Radius) -> Canvas {
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

pub(super) fn border(img: Canvas, width: u32, color: Color) -> Canvas {
    let img = if color.a < 255 { img.with_alpha() } else { img };
    let (cw, ch) = (img.w + 2 * width, img.h + 2 * width);
    pad(img, (cw, ch, width, width), color)
}

// Content-aware gravity -------------------------------------------------------------

/// `g_auto`: where the window with the most detail (gradient energy of the luma)
/// lies along the axis being cropped, as (x, y) factors.
pub(super) fn auto_gravity(img: &Canvas, r: &Resize, scale: f64) -> (f64, f64) {
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
