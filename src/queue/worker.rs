//! The worker: makes a link's image and QR code, stores them, marks the link done.
//! CPU work runs on blocking threads, one image per job; parallelism is the number
//! of consumers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::inprocess::InProcessQueue;
use super::JobQueue;
use crate::domain::Transformation;
use crate::errors::error_chain;
use crate::media::engine::{self, EngineError, Limits};
use crate::media::qr;
use crate::media::MediaStore;
use crate::store::{now_millis, LinkOutcome, LinkOutput, LinkRecord, LinkStatus, Store};

/// What to do with a delivered job.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Finished (done, or nothing left to do): acknowledge.
    Ack,
    /// Failed this time: deliver again after the delay.
    Retry(Duration),
    /// Failed for good: the link is marked failed; the job goes to the dead letters.
    DeadLetter,
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("the stored original is missing")]
    MissingOriginal,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the stored transformation no longer parses: {0}")]
    Transformation(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    #[error(transparent)]
    Qr(#[from] qr::QrError),
    #[error("worker thread failed")]
    Join(#[from] tokio::task::JoinError),
}

impl JobError {
    /// The reason a client sees on a failed link: no internals.
    fn reason(&self) -> String {
        match self {
            JobError::Engine(EngineError::Invalid(e)) => e.to_string(),
            JobError::Engine(EngineError::Unsupported) | JobError::MissingOriginal => {
                "the original image could not be read".into()
            }
            JobError::Engine(EngineError::TooLarge) => "the original image is too large".into(),
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
    pub limits: Limits,
    /// Base of link URLs, which the QR codes encode.
    pub public_url: String,
    /// Attempts before a job is failed for good.
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

/// Delay before the `attempt`-th retry: 1 s, 2 s, 4 s ... at most a minute.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

impl Transformer {
    /// Handles one delivery of the job for `link_id`.
    pub async fn handle(&self, link_id: &str) -> Disposition {
        use std::sync::atomic::Ordering::Relaxed;
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
        let attempt = match self.store.links.count_attempt(link_id).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(link_id, error = %error_chain(&e), "job: storage unavailable");
                self.metrics.retried.fetch_add(1, Relaxed);
                return Disposition::Retry(backoff(1));
            }
        };
        match self.make(&link).await {
            Ok(()) => {
                self.metrics.done.fetch_add(1, Relaxed);
                Disposition::Ack
            }
            Err(e) if attempt < self.max_attempts => {
                tracing::warn!(link_id, attempt, error = %error_chain(&e), "job failed; will retry");
                self.metrics.retried.fetch_add(1, Relaxed);
                Disposition::Retry(backoff(attempt))
            }
            Err(e) => {
                tracing::error!(link_id, attempt, error = %error_chain(&e), "job failed for good");
                let failed = LinkOutcome::Failed(e.reason());
                if let Err(e) = self
                    .store
                    .links
                    .finish_link(link_id, failed, now_millis())
                    .await
                {
                    tracing::error!(link_id, error = %error_chain(&e), "could not mark the link failed");
                    return Disposition::Retry(backoff(attempt));
                }
                self.metrics.failed.fetch_add(1, Relaxed);
                Disposition::DeadLetter
            }
        }
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
        let url = format!("{}/t/{}", self.public_url, link.slug);
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
        let limits = self.limits;
        let (rendered, qr_png) = tokio::task::spawn_blocking(move || {
            let rendered = engine::render(&original, &t, &limits, None)?;
            let qr_png = qr::png(&url)?;
            Ok::<_, JobError>((rendered, qr_png))
        })
        .await??;
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
        if !self
            .store
            .links
            .finish_link(&link.id, done, now_millis())
            .await?
            && self.store.links.link(&link.id).await?.is_none()
        {
            // Deleted while we worked: nothing refers to the files any more.
            for key in [key, qr_key] {
                let _ = self.media.delete(&key).await;
            }
        }
        Ok(())
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
            .map_err(|e| JobError::Engine(EngineError::Invalid(e)))?;
        let format = match t.format() {
            Some(crate::domain::OutputFormat::Jpg) => "jpeg",
            Some(crate::domain::OutputFormat::Png) => "png",
            Some(crate::domain::OutputFormat::Webp) => "webp",
            Some(crate::domain::OutputFormat::Gif) => "gif",
            _ => photo.format.as_str(),
        };
        let qr_png = tokio::task::spawn_blocking(move || qr::png(&url)).await??;
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
            qr_key,
            url: Some(derived),
        };
        self.store
            .links
            .finish_link(&link.id, LinkOutcome::Done(output), now_millis())
            .await?;
        Ok(())
    }

    /// Publishes every link left pending since before `age` ago (all of them for
    /// a zero age); returns how many.
    pub async fn sweep(&self, queue: &dyn JobQueue, age: Duration) -> u64 {
        let before = now_millis() - chrono::Duration::from_std(age).unwrap_or_default();
        let pending = match self.store.links.pending_links(before, 1000).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "sweeper: storage unavailable");
                return 0;
            }
        };
        let mut published = 0;
        for link in pending {
            match queue.publish(&link.id).await {
                Ok(()) => published += 1,
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "sweeper: queue unavailable");
                    break;
                }
            }
        }
        published
    }
}

/// Publishes jobs of links left pending: first those older than `first_age`, then
/// every `every` those older than `every`, for as long as the runtime lives.
pub fn spawn_sweeper(
    queue: Arc<dyn JobQueue>,
    transformer: Transformer,
    first_age: Duration,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut age = first_age;
        loop {
            let n = transformer.sweep(queue.as_ref(), age).await;
            if n > 0 {
                tracing::info!(jobs = n, "sweeper published pending jobs");
            }
            age = every;
            tokio::time::sleep(every).await;
        }
    });
}

/// Runs `consumers` workers on the in-process queue, and its sweeper (everything
/// pending at once: the queue was empty at start), for as long as the runtime lives.
pub fn run_local(
    queue: Arc<InProcessQueue>,
    transformer: Transformer,
    consumers: usize,
    sweep_every: Duration,
) {
    for _ in 0..consumers.max(1) {
        queue.add_consumer();
        let (queue, transformer) = (queue.clone(), transformer.clone());
        tokio::spawn(async move {
            loop {
                let link_id = queue.next().await;
                let disposition = transformer.handle(&link_id).await;
                queue.ack(&link_id);
                if let Disposition::Retry(delay) = disposition {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = queue.publish(&link_id).await;
                    });
                }
            }
        });
    }
    spawn_sweeper(queue, transformer, Duration::ZERO, sweep_every);
}
