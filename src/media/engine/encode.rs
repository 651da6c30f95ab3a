//! Writing the result: the output format a transformation asks for and the
//! encoders (libjpeg-turbo for JPEG, the image crate for PNG, WebP and GIF).

use std::io::Cursor;

use super::ops::Canvas;
use super::{codec, EngineError};
use crate::domain::{Color, OutputFormat, Transformation};
use crate::media::ingest::Format;
use crate::media::libjpeg;

/// `f_` of the transformation; without one, `unspecified` or else the input's.
pub(super) fn output_format(
    t: &Transformation,
    input: Format,
    unspecified: Option<Format>,
) -> Format {
    match t.format() {
        Some(OutputFormat::Jpg) => Format::Jpeg,
        Some(OutputFormat::Png) => Format::Png,
        Some(OutputFormat::Webp) => Format::Webp,
        Some(OutputFormat::Gif) => Format::Gif,
        Some(OutputFormat::Auto) => input,
        None => unspecified.unwrap_or(input),
    }
}

pub(super) fn encode(
    img: Canvas,
    format: Format,
    quality: u8,
    bg: Color,
) -> Result<Vec<u8>, EngineError> {
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
                    // Lossy, as photos are (libwebp), at the quality asked for;
                    // alpha is kept.
                    let img = match img.channels {
                        1 => img.convert(3, bg),
                        2 => img.convert(4, bg),
                        _ => img,
                    };
                    let encoder = if img.channels == 4 {
                        webp::Encoder::from_rgba(&img.data, img.w, img.h)
                    } else {
                        webp::Encoder::from_rgb(&img.data, img.w, img.h)
                    };
                    let failed = |e: String| EngineError::Codec(format!("webp: {e}").into());
                    let mut config = webp::WebPConfig::new()
                        .map_err(|()| failed("no encoder configuration".into()))?;
                    config.quality = f32::from(quality);
                    config.alpha_compression = 1;
                    // Less spatial noise shaping (default 50) and a lighter loop
                    // filter (default 60): smaller at the same SSIM on real photos,
                    // at the same speed (docs/performance.md).
                    config.sns_strength = 25;
                    config.filter_strength = 20;
                    let encoded = encoder
                        .encode_advanced(&config)
                        .map_err(|e| failed(format!("{e:?}")))?;
                    return Ok(encoded.to_vec());
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
