//! QR codes for links: exactly the link URL, medium error correction (survives a
//! smudge or a logo-free print at small size), the standard 4-module quiet zone.

use qrcode::{EcLevel, QrCode};

/// Pixels per module in the PNG: a 29-module code is 296 px square, easy for a
/// phone camera at arm's length.
const PNG_MODULE_PX: u32 = 8;
const QUIET_ZONE: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the link is too long for a QR code")]
    TooLong(#[from] qrcode::types::QrError),
    #[error("PNG encoding failed")]
    Png(#[from] image::ImageError),
    #[error("QR rendering failed: {0}")]
    Render(String),
}

fn code(url: &str) -> Result<QrCode, QrError> {
    Ok(QrCode::with_error_correction_level(
        url.as_bytes(),
        EcLevel::M,
    )?)
}

/// A greyscale PNG of the code.
pub fn png(url: &str) -> Result<Vec<u8>, QrError> {
    use image::ImageEncoder;
    let code = code(url)?;
    let modules = code.width() as u32;
    let side = (modules + 2 * QUIET_ZONE) * PNG_MODULE_PX;
    let dark = code.to_colors();
    let mut pixels = vec![255u8; (side * side) as usize];
    for (i, color) in dark.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i as u32 % modules, i as u32 / modules);
        let (x0, y0) = (
            (mx + QUIET_ZONE) * PNG_MODULE_PX,
            (my + QUIET_ZONE) * PNG_MODULE_PX,
        );
        for y in y0..y0 + PNG_MODULE_PX {
            let row = (y * side) as usize;
            pixels[row + x0 as usize..row + (x0 + PNG_MODULE_PX) as usize].fill(0);
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        &pixels,
        side,
        side,
        image::ExtendedColorType::L8,
    )?;
    Ok(out)
}

/// An SVG of the code (scales to any size without blur).
pub fn svg(url: &str) -> Result<String, QrError> {
    Ok(code(url)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(img: image::GrayImage) -> String {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code found");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn the_png_decodes_back_to_exactly_the_url() {
        let url = "https://photos.example.com/t/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA";
        let png = png(url).unwrap();
        let img = image::load_from_memory(&png).unwrap().into_luma8();
        assert_eq!(img.width(), img.height());
        assert_eq!(decode(img), url);
    }

    /// Fills the SVG's rectangles (`M{x} {y}h{w}v{h}H{x}V{y}`, what the renderer
    /// writes) into a bitmap: the test reads the SVG itself, not the code behind it.
    fn rasterise(svg: &str) -> image::GrayImage {
        let size = |attr: &str| -> u32 {
            let at = svg.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3;
            svg[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (w, h) = (size("width"), size("height"));
        let mut img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for rect in path.split('M').filter(|r| !r.is_empty()) {
            let nums: Vec<u32> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().unwrap())
                .collect();
            let (x, y, rw, rh) = (nums[0], nums[1], nums[2], nums[3]);
            for yy in y..y + rh {
                for xx in x..x + rw {
                    img.put_pixel(xx, yy, image::Luma([0]));
                }
            }
        }
        img
    }

    #[test]
    fn the_svg_decodes_back_to_exactly_the_url() {
        let url = "http://127.0.0.1:8080/t/abc_DEF-123";
        let svg = svg(url).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
        assert_eq!(decode(rasterise(&svg)), url);
    }

    #[test]
    fn an_absurdly_long_link_is_an_error_not_a_panic() {
        assert!(matches!(png(&"x".repeat(5000)), Err(QrError::TooLong(_))));
    }
}
