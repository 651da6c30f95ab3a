//! What a transformation job does: loads its link, has TransformWorker render the
//! image and the QR code, stores both and marks the link done. Failures are
//! classified where they are known: a permanent one (the transformation no longer
//! parses, the original is gone or undecodable, the renderer crashed on it) fails
//! the link at once with its reason and dead-letters the job; a transient one
//! (storage, media store, renderer pool down) is retried with backoff until the
//! attempts run out. Every log line of a job carries its link id and the request
//! id of the request that created the link.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use bytes::Bytes;
use tracing::Instrument;

use super::{Render, RenderError, TransformWorker};
use crate::domain::{PublicUrls, Transformation};
use crate::errors::error_chain;
use crate::ids::now_millis;
use crate::media::engine::{self, EngineError, Limits};
use crate::media::MediaStore;
use crate::queue::worker::{backoff, Disposition};
use crate::store::{LinkOutcome, LinkOutput, LinkRecord, LinkStatus, Store};

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("the stored original is missing")]
    MissingOriginal,
    #[error("the stored transformation no longer parses: {0}")]
    Transformation(String),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

impl From<EngineError> for JobError {
    fn from(e: EngineError) -> Self {
        JobError::Render(RenderError::Engine(e))
    }
}

impl JobError {
    /// Failing again cannot help: the same input meets the same code.
    fn is_permanent(&self) -> bool {
        match self {
            JobError::MissingOriginal | JobError::Transformation(_) => true,
            JobError::Render(RenderError::Mailbox(_)) => false,
            JobError::Render(_) => true,
            JobError::Store(_) | JobError::Media(_) => false,
        }
    }

    /// The reason a client sees on a failed link: no internals.
    fn reason(&self) -> String {
        match self {
            JobError::Render(RenderError::Engine(EngineError::Invalid(e))) => e.to_string(),
            JobError::Render(RenderError::Engine(EngineError::Unsupported))
            | JobError::MissingOriginal => "the original image could not be read".into(),
            JobError::Render(RenderError::Engine(EngineError::TooLarge)) => {
                "the original image is too large".into()
            }
            JobError::Render(RenderError::Panicked(_)) => {
                "the image could not be made (the renderer failed on it)".into()
            }
            JobError::Transformation(m) => m.clone(),
            _ => "the image could not be made".into(),
        }
    }
}

/// Runs jobs. Cheap to clone; one per process, shared by every consumer.
#[derive(Clone)]
pub struct Transformer {
    pub store: Store,
    pub media: Arc<dyn MediaStore>,
    pub workers: TransformWorker,
    pub limits: Limits,
    /// Link URLs, which the QR codes encode.
    pub urls: PublicUrls,
    /// Attempts before a job that keeps failing for a passing reason is failed.
    pub max_attempts: u32,
    pub metrics: Arc<JobMetrics>,
}

/// Job outcomes since start, for `/metrics`.
#[derive(Default)]
pub struct JobMetrics {
    pub done: std::sync::atomic::AtomicU64,
    pub retried: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
}

/// Media key of a link's image and of its QR code: derived from the slug, so a
/// redelivered job writes the same objects again instead of new ones.
pub fn link_keys(slug: &str, format: crate::media::ingest::Format) -> (String, String) {
    let dir = &slug[..2.min(slug.len())];
    (
        format!("t/{dir}/{slug}.{}", format.extension()),
        format!("t/{dir}/{slug}.qr.png"),
    )
}

impl Transformer {
    /// Handles one delivery of the job for `link_id`.
    pub async fn run(&self, link_id: &str) -> Disposition {
        let link = match self.store.links.link(link_id).await {
            Ok(Some(link)) if link.status == LinkStatus::Pending => link,
            // Gone or already finished: a redelivery, nothing to do.
            Ok(_) => return Disposition::Ack,
            Err(e) => {
                tracing::warn!(link_id, error = %error_chain(&e), "job: storage unavailable");
                self.metrics.retried.fetch_add(1, Relaxed);
                return Disposition::Retry(backoff(1));
            }
        };
        let span = tracing::info_span!(
            "job",
            link_id,
            request_id = link.request_id.as_deref().unwrap_or("")
        );
        self.run_link(link).instrument(span).await
    }

    async fn run_link(&self, link: LinkRecord) -> Disposition {
        let link_id = link.id.as_str();
        let attempt = match self.store.links.count_attempt(link_id).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "job: storage unavailable");
                self.metrics.retried.fetch_add(1, Relaxed);
                return Disposition::Retry(backoff(1));
            }
        };
        let error = match self.make(&link).await {
            Ok(()) => {
                tracing::info!(attempt, "job done");
                self.metrics.done.fetch_add(1, Relaxed);
                return Disposition::Ack;
            }
            Err(e) => e,
        };
        if !error.is_permanent() && attempt < self.max_attempts {
            tracing::warn!(attempt, error = %error_chain(&error), "job failed; will retry");
            self.metrics.retried.fetch_add(1, Relaxed);
            return Disposition::Retry(backoff(attempt));
        }
        let permanent = error.is_permanent();
        tracing::error!(attempt, permanent, error = %error_chain(&error), "job failed for good");
        let failed = LinkOutcome::Failed(error.reason());
        if let Err(e) = self
            .store
            .links
            .finish_link(link_id, failed, now_millis())
            .await
        {
            tracing::error!(error = %error_chain(&e), "could not mark the link failed");
            return Disposition::Retry(backoff(attempt));
        }
        self.metrics.failed.fetch_add(1, Relaxed);
        Disposition::DeadLetter
    }

    async fn make(&self, link: &LinkRecord) -> Result<(), JobError> {
        let t: Transformation = link
            .transformation
            .parse()
            .map_err(|e: crate::domain::ParseError| JobError::Transformation(e.to_string()))?;
        let photo = self
            .store
            .photos
            .photo(&link.photo_id)
            .await?
            .ok_or(JobError::MissingOriginal)?;
        let url = self.urls.link(&link.slug);
        // A backend that makes derived images itself (Cloudinary) needs no bytes here.
        if let Some(derived) = self
            .media
            .derive(&photo.media_key, &link.transformation)
            .await?
        {
            return self.finish_derived(link, &photo, &t, url, derived).await;
        }
        let original = self
            .media
            .get(&photo.media_key)
            .await?
            .ok_or(JobError::MissingOriginal)?;
        let out = self
            .workers
            .render(Render {
                original,
                transformation: t,
                format: None,
                qr_url: Some(url),
            })
            .await?;
        let (rendered, qr_png) = (out.image, out.qr_png.unwrap_or_default());
        let (key, qr_key) = link_keys(&link.slug, rendered.format);
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&rendered.bytes));
        let output = LinkOutput {
            media_key: key.clone(),
            format: rendered.format.name().to_owned(),
            width: rendered.width,
            height: rendered.height,
            size_bytes: rendered.bytes.len() as u64,
            sha256,
            qr_key: qr_key.clone(),
            url: None,
        };
        self.media
            .put(&key, Bytes::from(rendered.bytes), rendered.format.mime())
            .await?;
        self.media
            .put(&qr_key, Bytes::from(qr_png), "image/png")
            .await?;
        let done = LinkOutcome::Done(output);
        self.store
            .links
            .finish_link(&link.id, done, now_millis())
            .await?;
        if self.orphaned(link).await? {
            for key in [key, qr_key] {
                let _ = self.media.delete(&key).await;
            }
        }
        Ok(())
    }

    /// Whether the files just stored for `link` belong to nobody: the link was
    /// deleted while we worked, or its photo was. A deletion that read the link
    /// before we finished knows no files to delete, so they are ours to delete; one
    /// that read it after finds them in the record it removes (and deleting twice is
    /// harmless). Looked up after the finish, whatever it answered: a server that
    /// let a finish and a delete of one document interleave (SecantusDB did, in
    /// CI) still leaves no file behind.
    async fn orphaned(&self, link: &LinkRecord) -> Result<bool, JobError> {
        if self.store.links.link(&link.id).await?.is_none() {
            return Ok(true);
        }
        Ok(self.store.photos.photo(&link.photo_id).await?.is_none())
    }

    /// The media backend made the image (Cloudinary): store the QR code and the
    /// URL that serves the image.
    async fn finish_derived(
        &self,
        link: &LinkRecord,
        photo: &crate::store::PhotoRecord,
        t: &Transformation,
        url: String,
        derived: String,
    ) -> Result<(), JobError> {
        let (width, height) = engine::plan(t, photo.width, photo.height, &self.limits)
            .map_err(EngineError::Invalid)?;
        let format = match t.format() {
            Some(crate::domain::OutputFormat::Jpg) => "jpeg",
            Some(crate::domain::OutputFormat::Png) => "png",
            Some(crate::domain::OutputFormat::Webp) => "webp",
            Some(crate::domain::OutputFormat::Gif) => "gif",
            _ => photo.format.as_str(),
        };
        let qr_png = self.workers.qr(url, false).await?;
        let (_, qr_key) = link_keys(&link.slug, crate::media::ingest::Format::Png);
        self.media
            .put(&qr_key, Bytes::from(qr_png), "image/png")
            .await?;
        let output = LinkOutput {
            media_key: String::new(),
            format: format.to_owned(),
            width,
            height,
            size_bytes: 0,
            sha256: String::new(),
            qr_key: qr_key.clone(),
            url: Some(derived),
        };
        let done = LinkOutcome::Done(output);
        self.store
            .links
            .finish_link(&link.id, done, now_millis())
            .await?;
        if self.orphaned(link).await? {
            let _ = self.media.delete(&qr_key).await;
        }
        Ok(())
    }
}
