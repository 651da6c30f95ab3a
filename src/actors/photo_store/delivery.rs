//! Signed on-the-fly delivery (`/x/s--SIG--/{transformation}/{slug}`): any
//! transformation the owner handed out a URL for, made on the first request and
//! kept under `x/{photo id}/{hash of the transformation}.{ext}`, like a display
//! size. The HTTP layer checks the signature; this side checks who may hand a URL
//! out and what the render costs.

use actix::prelude::*;
use sha2::{Digest, Sha256};

use super::variants::{default_format, Kept};
use super::{Image, LinkError, PhotoError, Photos};
use crate::auth::Caller;
use crate::domain::{OutputFormat, Step, Transformation};
use crate::media::ingest::Format;

/// The photo behind `slug` with a transformation from a signed URL.
#[derive(Message)]
#[rtype(result = "Result<Image, PhotoError>")]
pub struct OpenDelivered {
    pub slug: String,
    pub transformation: Transformation,
    /// `?format=`: wins over the transformation's `f_`.
    pub forced: Option<Format>,
    /// The client takes WebP: used when neither `?format=` nor an `f_` decides.
    pub webp: bool,
}

/// May `caller` hand out a delivery URL for this transformation of the photo?
/// Answers the photo's slug, which the URL names.
#[derive(Message)]
#[rtype(result = "Result<String, LinkError>")]
pub struct PlanDelivery {
    pub photo_id: String,
    pub caller: Caller,
    pub transformation: Transformation,
}

/// Where the renders of a photo's delivery URLs are kept (all of them go with it).
pub fn delivery_prefix(photo_id: &str) -> String {
    format!("x/{photo_id}/")
}

impl Photos {
    pub(super) async fn plan_delivery(self, msg: PlanDelivery) -> Result<String, LinkError> {
        // Checked now, so a URL handed out can be made.
        let photo = self
            .renderable(&msg.photo_id, &msg.caller, &msg.transformation)
            .await?;
        Ok(photo.slug)
    }

    pub(super) async fn open_delivered(self, msg: OpenDelivered) -> Result<Image, PhotoError> {
        let photo = self.photo_by_slug(&msg.slug).await?;
        let mut t = msg.transformation;
        if let Some(url) = self.media.transformed_url(&photo.media_key, &t.to_string()) {
            return Ok(Image::Redirect(url));
        }
        let format = match (msg.forced, t.format()) {
            (Some(forced), _) => forced,
            (None, Some(OutputFormat::Jpg)) => Format::Jpeg,
            (None, Some(OutputFormat::Png)) => Format::Png,
            (None, Some(OutputFormat::Webp)) => Format::Webp,
            (None, Some(OutputFormat::Gif)) => Format::Gif,
            // `f_auto`, or none: what the client takes best.
            (None, Some(OutputFormat::Auto) | None) if msg.webp => Format::Webp,
            (None, _) => default_format(&photo),
        };
        // The format is decided: one render per (steps, format), whatever asked.
        for step in &mut t.steps {
            step.format = None;
        }
        // A step that only named a format is now empty: `w_100/f_png` and
        // `w_100?format=png` are one render.
        t.steps.retain(|step| *step != Step::default());
        let steps = t.to_string();
        let digest = hex::encode(&Sha256::digest(steps.as_bytes())[..16]);
        let kept = Kept {
            key: format!(
                "{}{digest}.{}",
                delivery_prefix(&photo.id),
                format.extension()
            ),
            tag: format!("{}/x/{steps}/{}", photo.sha256, format.name()),
            transformation: t,
            format,
        };
        self.kept_render(&photo, kept).await
    }
}
