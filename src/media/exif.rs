//! Reads a photo's metadata from its EXIF block (JPEG APP1, PNG eXIf, WebP EXIF)
//! with the `kamadak-exif` parser, before ingest cuts the block out. Nothing here
//! fails an upload: a missing or broken block, or a field of the wrong type, gives
//! null fields, and a block broken halfway gives what could be read before it.

use std::io::Cursor;

use ::exif::{Exif, In, Reader, Tag, Value};
use chrono::{FixedOffset, NaiveDate, TimeZone};

use crate::domain::{Camera, Exposure, Location, PhotoMetadata, MAX_NAME_CHARS};

/// The metadata of an encoded image; empty when it carries none that is readable.
pub fn read(data: &[u8]) -> PhotoMetadata {
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(data))
        .or_else(|e| e.distill_partial_result(|_| ()))
    {
        Ok(exif) => exif,
        Err(_) => return PhotoMetadata::default(),
    };
    let camera = Camera {
        make: text(&exif, Tag::Make),
        model: text(&exif, Tag::Model),
    };
    let exposure = Exposure {
        iso: uint(&exif, Tag::PhotographicSensitivity),
        f_number: rational(&exif, Tag::FNumber),
        exposure_time: exif
            .get_field(Tag::ExposureTime, In::PRIMARY)
            .and_then(|f| first_rational(&f.value))
            .and_then(shutter),
        focal_length_mm: rational(&exif, Tag::FocalLength),
    };
    PhotoMetadata {
        taken_at: taken_at(&exif),
        camera: (camera.make.is_some() || camera.model.is_some()).then_some(camera),
        lens: text(&exif, Tag::LensModel),
        exposure: (!exposure.is_empty()).then_some(exposure),
        location: location(&exif),
    }
}

/// An ASCII field, trimmed, cut to [`MAX_NAME_CHARS`]; none when blank or not text.
fn text(exif: &Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let Value::Ascii(parts) = &field.value else {
        return None;
    };
    let raw = parts.first()?;
    let text: String = String::from_utf8_lossy(raw)
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    (!text.is_empty()).then_some(text)
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    let value = exif.get_field(tag, In::PRIMARY)?.value.get_uint(0)?;
    (value > 0).then_some(value)
}

fn first_rational(value: &Value) -> Option<(u32, u32)> {
    match value {
        Value::Rational(v) => v.first().map(|r| (r.num, r.denom)),
        _ => None,
    }
}

/// A positive finite rational as a decimal.
fn rational(exif: &Exif, tag: Tag) -> Option<f64> {
    let (num, denom) = first_rational(&exif.get_field(tag, In::PRIMARY)?.value)?;
    (num > 0 && denom > 0).then(|| f64::from(num) / f64::from(denom))
}

/// `1/250` below a second, else seconds with at most one decimal (`2`, `2.5`).
fn shutter((num, denom): (u32, u32)) -> Option<String> {
    if num == 0 || denom == 0 {
        return None;
    }
    let seconds = f64::from(num) / f64::from(denom);
    if seconds >= 1.0 {
        let tenths = (seconds * 10.0).round() / 10.0;
        return Some(if tenths.fract() == 0.0 {
            format!("{tenths:.0}")
        } else {
            format!("{tenths:.1}")
        });
    }
    Some(format!("1/{}", (1.0 / seconds).round()))
}

/// DateTimeOriginal with OffsetTimeOriginal; UTC when the offset is missing or
/// unreadable. None when the date is blank or not a real date.
fn taken_at(exif: &Exif) -> Option<chrono::DateTime<FixedOffset>> {
    let field = exif.get_field(Tag::DateTimeOriginal, In::PRIMARY)?;
    let Value::Ascii(parts) = &field.value else {
        return None;
    };
    let mut dt = ::exif::DateTime::from_ascii(parts.first()?).ok()?;
    let naive = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())?
        .and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into())?;
    if let Some(Value::Ascii(raw)) = exif
        .get_field(Tag::OffsetTimeOriginal, In::PRIMARY)
        .map(|f| &f.value)
    {
        if let Some(raw) = raw.first() {
            let _ = dt.parse_offset(raw);
        }
    }
    let offset_minutes = dt.offset.unwrap_or(0);
    let offset = FixedOffset::east_opt(i32::from(offset_minutes) * 60)?;
    offset.from_local_datetime(&naive).single()
}

/// The GPS position in signed degrees; none without both coordinates and their
/// hemispheres, or outside the globe.
fn location(exif: &Exif) -> Option<Location> {
    let lat = degrees(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = degrees(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
        .then_some(Location { lat, lon })
}

/// Degrees, minutes and seconds as one number, negative in the `negative`
/// hemisphere (S or W).
fn degrees(exif: &Exif, tag: Tag, reference: Tag, negative: u8) -> Option<f64> {
    let Value::Rational(dms) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    let Value::Ascii(refs) = &exif.get_field(reference, In::PRIMARY)?.value else {
        return None;
    };
    let hemisphere = refs.first()?.first()?.to_ascii_uppercase();
    let part = |i: usize| -> Option<f64> {
        let r = dms.get(i)?;
        (r.denom > 0).then(|| f64::from(r.num) / f64::from(r.denom))
    };
    let value = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
    // Six decimals are 11 cm: more than any phone's fix is worth.
    let value = (value * 1e6).round() / 1e6;
    Some(if hemisphere == negative {
        -value
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutter_times_read_as_photographers_write_them() {
        assert_eq!(shutter((1, 250)).as_deref(), Some("1/250"));
        assert_eq!(shutter((10, 2500)).as_deref(), Some("1/250"));
        assert_eq!(shutter((2, 1)).as_deref(), Some("2"));
        assert_eq!(shutter((5, 2)).as_deref(), Some("2.5"));
        assert_eq!(shutter((0, 1)), None);
        assert_eq!(shutter((1, 0)), None);
    }

    #[test]
    fn a_file_without_exif_or_with_garbage_has_no_metadata() {
        assert!(read(b"not an image at all").is_empty());
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10];
        jpeg.extend_from_slice(b"Exif\0\0\xde\xad\xbe\xef\0\0\0\0");
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert!(read(&jpeg).is_empty());
    }
}
