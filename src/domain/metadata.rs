//! What a photo's file said about it: when and with what it was taken, and where.
//! Read from the EXIF block at upload (see `crate::media::exif`), before the file's
//! metadata is cut; kept beside the photo, never in its files. The position is the
//! owner's: answers show it only to the owner, moderators and admins.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest make, model or lens name kept (cameras write at most a few dozen).
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoMetadata {
    /// From DateTimeOriginal, with OffsetTimeOriginal when the camera wrote it;
    /// without one, the camera's clock time is taken as UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<Camera>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl PhotoMetadata {
    pub fn is_empty(&self) -> bool {
        self == &PhotoMetadata::default()
    }

    /// The instant the photo was taken, for search bounds and the `taken_at` sorts.
    pub fn taken_utc(&self) -> Option<DateTime<Utc>> {
        self.taken_at.map(|t| t.with_timezone(&Utc))
    }

    /// What `camera=` matches: the words of make and model, lowercased (see
    /// [`crate::domain::words`]), sorted and distinct.
    pub fn camera_words(&self) -> Vec<String> {
        let Some(camera) = &self.camera else {
            return Vec::new();
        };
        let names = [&camera.make, &camera.model];
        let mut out: Vec<String> = names
            .into_iter()
            .flatten()
            .flat_map(|name| crate::domain::words(name))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The camera's maker and model as it wrote them (trimmed). At least one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"make": "Canon", "model": "Canon EOS 5D Mark IV"}))]
pub struct Camera {
    pub make: Option<String>,
    pub model: Option<String>,
}

/// How the photo was exposed; each part null when the camera did not say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"iso": 400, "f_number": 2.8, "exposure_time": "1/250", "focal_length_mm": 50.0}))]
pub struct Exposure {
    /// ISO speed (PhotographicSensitivity).
    pub iso: Option<u32>,
    /// The aperture, e.g. 2.8 for f/2.8.
    pub f_number: Option<f64>,
    /// Shutter time as photographers write it: `1/250` below a second, else
    /// seconds (`2`, `2.5`).
    pub exposure_time: Option<String>,
    /// The lens's real focal length in millimetres (not the 35 mm equivalent).
    pub focal_length_mm: Option<f64>,
}

impl Exposure {
    pub fn is_empty(&self) -> bool {
        self.iso.is_none()
            && self.f_number.is_none()
            && self.exposure_time.is_none()
            && self.focal_length_mm.is_none()
    }
}

/// What a client paints before the image arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI", "color": "#6f7f8a"}))]
pub struct Placeholder {
    /// ThumbHash of the upright image, standard base64: decodes to a blurred
    /// preview of about 32 px with the photo's aspect ratio (and alpha).
    pub thumbhash: String,
    /// The average colour, `#rrggbb`.
    #[schema(pattern = "^#[0-9a-f]{6}$")]
    pub color: String,
}

impl Placeholder {
    /// Whether the photo has transparent parts, read from the ThumbHash header
    /// (bit 23 of its first three bytes: its reduced copy is not all opaque);
    /// None when the hash does not decode.
    pub fn has_alpha(&self) -> Option<bool> {
        use base64::Engine;
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&self.thumbhash)
            .ok()?;
        Some(hash.get(2)? & 0x80 != 0)
    }
}

/// Where the photo was taken: WGS 84 degrees, south and west negative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"lat": -33.856784, "lon": 151.215297}))]
pub struct Location {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_words_are_the_words_of_make_and_model() {
        let meta = PhotoMetadata {
            camera: Some(Camera {
                make: Some("Canon".into()),
                model: Some("Canon EOS 5D Mark IV".into()),
            }),
            ..PhotoMetadata::default()
        };
        assert_eq!(meta.camera_words(), ["5d", "canon", "eos", "iv", "mark"]);
        assert!(PhotoMetadata::default().camera_words().is_empty());
    }
}
