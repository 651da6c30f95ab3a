//! TransformWorker: the CPU. A bounded pool of renderer actors (`SyncArbiter`, one
//! thread each) that decode, transform and encode images and draw QR codes; every
//! job consumer (in-process or RabbitMQ) sends its `Render` here, so the number of
//! images being worked on at once is the pool's size whatever the number of
//! consumers, and nothing CPU-heavy runs on an async thread.
//!
//! - Backpressure: at most `2 x threads` renders are queued or running; a caller
//!   past that waits for a slot before its message is sent (the mailbox bound).
//! - A panic inside the engine is caught in the renderer that hit it: that
//!   renderer is stopped and the `SyncArbiter` starts a fresh one in its thread
//!   (its supervisor), and the caller gets `RenderError::Panicked` with the panic's
//!   message, so the job is failed with a reason instead of lost.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::Semaphore;

use crate::domain::Transformation;
use crate::media::engine::{self, EngineError, Limits, Rendered};
use crate::media::ingest::Format;
use crate::media::libjpeg;
use crate::media::qr::{self, QrError};

pub mod jobs;
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The engine panicked on this input; the renderer was replaced.
    #[error("the renderer crashed: {0}")]
    Panicked(String),
    #[error("the render pool is not running")]
    Mailbox(#[from] MailboxError),
}

/// Makes the transformed image (and, when `qr_url` is set, the QR code of that URL).
#[derive(Message)]
#[rtype(result = "Result<Output, RenderError>")]
pub struct Render {
    pub original: bytes::Bytes,
    pub transformation: Transformation,
    /// Output format when the transformation names none (else the input's).
    pub format: Option<Format>,
    pub qr_url: Option<String>,
}

/// Draws only a QR code.
#[derive(Message)]
#[rtype(result = "Result<Vec<u8>, RenderError>")]
pub struct RenderQr {
    pub url: String,
    pub svg: bool,
}

#[derive(Debug)]
pub struct Output {
    pub image: Rendered,
    pub qr_png: Option<Vec<u8>>,
}

/// The function that renders: the engine, or a stand-in in tests.
pub type RenderFn =
    fn(&[u8], &Transformation, &Limits, Option<Format>) -> Result<Rendered, EngineError>;

struct Renderer {
    limits: Limits,
    render: RenderFn,
    stats: Arc<PoolStats>,
}

impl Actor for Renderer {
    type Context = SyncContext<Self>;
}

/// Runs `f`, turning a panic into `Panicked` and stopping the renderer (the
/// `SyncArbiter` replaces it before its next message).
fn guarded<T>(
    ctx: &mut SyncContext<Renderer>,
    stats: &PoolStats,
    f: impl FnOnce() -> Result<T, RenderError>,
) -> Result<T, RenderError> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(reason, "renderer panicked; starting a new one");
            stats.restarts.fetch_add(1, Relaxed);
            ctx.stop();
            Err(RenderError::Panicked(reason))
        }
    }
}

impl Handler<Render> for Renderer {
    type Result = Result<Output, RenderError>;

    fn handle(&mut self, msg: Render, ctx: &mut SyncContext<Self>) -> Self::Result {
        let _span = tracing::info_span!("render", transformation = %msg.transformation).entered();
        let (render, limits) = (self.render, self.limits);
        let stats = self.stats.clone();
        guarded(ctx, &stats, move || {
            let image = render(&msg.original, &msg.transformation, &limits, msg.format)?;
            let qr_png = msg.qr_url.as_deref().map(qr::png).transpose()?;
            Ok(Output { image, qr_png })
        })
    }
}

impl Handler<RenderQr> for Renderer {
    type Result = Result<Vec<u8>, RenderError>;

    fn handle(&mut self, msg: RenderQr, ctx: &mut SyncContext<Self>) -> Self::Result {
        let stats = self.stats.clone();
        guarded(ctx, &stats, move || {
            Ok(if msg.svg {
                qr::svg(&msg.url)?.into_bytes()
            } else {
                qr::png(&msg.url)?
            })
        })
    }
}

/// A progressive JPEG rewritten as one baseline scan (`libjpeg::baseline`): what
/// renders of its photo read instead of the original.
#[derive(Message)]
#[rtype(result = "Result<Vec<u8>, RenderError>")]
pub struct BaselineCopy {
    pub original: bytes::Bytes,
}

impl Handler<BaselineCopy> for Renderer {
    type Result = Result<Vec<u8>, RenderError>;

    fn handle(&mut self, msg: BaselineCopy, ctx: &mut SyncContext<Self>) -> Self::Result {
        let stats = self.stats.clone();
        guarded(ctx, &stats, move || {
            libjpeg::baseline(&msg.original)
                .map_err(|e| RenderError::Engine(EngineError::Codec(Box::new(e))))
        })
    }
}

/// Renders since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct PoolStats {
    pub renders: AtomicU64,
    /// Renderers replaced after a panic.
    pub restarts: AtomicU64,
}

/// The pool's address and its slots. Cheap to clone; one pool per process.
#[derive(Clone)]
pub struct TransformWorker {
    addr: Addr<Renderer>,
    slots: Arc<Semaphore>,
    threads: usize,
    stats: Arc<PoolStats>,
}

impl TransformWorker {
    /// `threads` renderer threads running the engine. Needs a running actix System.
    pub fn start(threads: usize, limits: Limits) -> Self {
        Self::start_with(threads, limits, engine::render)
    }

    /// The same with another render function (tests inject a panicking one).
    pub fn start_with(threads: usize, limits: Limits, render: RenderFn) -> Self {
        let threads = threads.max(1);
        let stats = Arc::new(PoolStats::default());
        let shared = stats.clone();
        let addr = SyncArbiter::start(threads, move || Renderer {
            limits,
            render,
            stats: shared.clone(),
        });
        TransformWorker {
            addr,
            slots: Arc::new(Semaphore::new(threads * 2)),
            threads,
            stats,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    async fn send<M>(&self, msg: M) -> Result<<M as Message>::Result, RenderError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        Renderer: Handler<M>,
    {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| RenderError::Mailbox(MailboxError::Closed))?;
        self.stats.renders.fetch_add(1, Relaxed);
        Ok(self.addr.send(msg).await?)
    }

    pub async fn render(&self, msg: Render) -> Result<Output, RenderError> {
        self.send(msg).await?
    }

    /// A lossless baseline copy of a progressive JPEG.
    pub async fn baseline_copy(&self, original: bytes::Bytes) -> Result<Vec<u8>, RenderError> {
        self.send(BaselineCopy { original }).await?
    }

    /// A QR code, PNG or SVG.
    pub async fn qr(&self, url: String, svg: bool) -> Result<Vec<u8>, RenderError> {
        self.send(RenderQr { url, svg }).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explode(
        input: &[u8],
        t: &Transformation,
        limits: &Limits,
        f: Option<Format>,
    ) -> Result<Rendered, EngineError> {
        if input == b"boom" {
            panic!("engine bug on this input");
        }
        engine::render(input, t, limits, f)
    }

    fn png() -> bytes::Bytes {
        let img = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner().into()
    }

    fn render(original: bytes::Bytes) -> Render {
        Render {
            original,
            transformation: "c_scale,w_20".parse().unwrap(),
            format: None,
            qr_url: Some("http://localhost/t/abc".into()),
        }
    }

    #[actix_web::test]
    async fn a_panic_fails_that_render_and_the_pool_keeps_working() {
        let pool = TransformWorker::start_with(1, Limits::default(), explode);
        let err = pool.render(render("boom".into())).await.unwrap_err();
        assert!(
            matches!(&err, RenderError::Panicked(m) if m.contains("engine bug")),
            "{err}"
        );
        // The one renderer was replaced: the next job on the same thread works.
        let out = pool.render(render(png())).await.unwrap();
        assert_eq!((out.image.width, out.image.height), (20, 15));
        assert!(out.qr_png.is_some_and(|p| p.starts_with(b"\x89PNG")));
        assert_eq!(pool.stats().restarts.load(Relaxed), 1);
        assert_eq!(pool.stats().renders.load(Relaxed), 2);
    }

    #[actix_web::test]
    async fn concurrent_renders_queue_for_the_pools_slots() {
        let pool = TransformWorker::start(2, Limits::default());
        let jobs = (0..12).map(|_| pool.render(render(png())));
        let done = futures_util::future::join_all(jobs).await;
        assert!(done.iter().all(Result::is_ok));
        assert_eq!(
            pool.slots.available_permits(),
            4,
            "every slot is given back"
        );
        let qr = pool.qr("http://localhost/t/x".into(), true).await.unwrap();
        assert!(String::from_utf8(qr).unwrap().starts_with("<?xml"));
    }
}
