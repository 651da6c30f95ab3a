//! QueueMonitor: the job queue as the admin console, `/readyz` and `/metrics` see
//! it. One per process. It owns the latest snapshot (queues from the broker or the
//! in-process queue, links by status and jobs done per minute from the database)
//! and the open admin streams. It refreshes the snapshot at most once a second,
//! however many ask: concurrent askers while a refresh is under way wait for that
//! one refresh, and while streams are open it refreshes every second (`Tick`) and
//! fans each snapshot out to all of them, so ten admins watching cost one broker
//! query a second, not ten.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::actors::transform_worker::jobs::JobMetrics;
use crate::domain::LinkCounts;
use crate::media::MediaStore;
use crate::queue::{JobQueue, QueueBackend, QueueError, QueueStats};
use crate::store::{Store, StoreError};

/// How old a snapshot may be and still be served.
const FRESH: Duration = Duration::from_secs(1);
/// How often open streams get a snapshot.
const TICK: Duration = Duration::from_secs(1);
/// How long a dependency may take to answer a readiness check.
const READY_TIMEOUT: Duration = Duration::from_secs(3);
/// Minutes in the done-per-minute chart.
const CHART_MINUTES: i64 = 60;
/// Snapshots a stream may fall behind by before it misses one (a slow client).
const STREAM_BUFFER: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A dependency did not answer a readiness check; names it.
    #[error("{0} is down")]
    Down(&'static str),
    #[error("the queue monitor is not running")]
    Mailbox(#[from] MailboxError),
}

/// Transformation jobs: the queue as the broker (or the in-process queue) sees it,
/// and links by status as the database sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueReport {
    pub backend: QueueBackend,
    /// The work queue, then the dead-letter and retry queues (RabbitMQ).
    pub queues: Vec<QueueStats>,
    pub jobs: LinkCounts,
    /// Jobs done in each of the last 60 minutes, oldest first (the last entry is
    /// the current minute), from the links' completion times: the same on every
    /// node.
    pub done_per_minute: Vec<u64>,
    /// When this snapshot was taken.
    pub sampled_at: DateTime<Utc>,
}

/// The latest report (refreshed when older than a second).
#[derive(Message)]
#[rtype(result = "Result<QueueReport, MonitorError>")]
pub struct Report;

/// Opens an admin stream: every snapshot from now on (or why there is none this
/// second: the queue or the database did not answer), until the receiver is
/// dropped or the process shuts down.
#[derive(Message)]
#[rtype(result = "mpsc::Receiver<StreamItem>")]
pub struct Subscribe;

/// What a stream gets each second.
pub type StreamItem = Result<QueueReport, MonitorError>;

/// Ends every open stream (the server is shutting down).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseStreams;

/// Pings the database and the queue; `Down` names the first that does not answer.
#[derive(Message)]
#[rtype(result = "Result<(), MonitorError>")]
pub struct Readiness;

/// This process's job outcomes and render counts, for `/metrics`.
#[derive(Message)]
#[rtype(result = "JobCounters")]
pub struct Counters;

#[derive(Debug, Clone, Copy, Default)]
pub struct JobCounters {
    pub done: u64,
    pub retried: u64,
    pub failed: u64,
    /// Broker (or in-process queue) queries made for reports since start.
    pub queue_queries: u64,
    /// Admin streams open now.
    pub streams: u64,
}

type Waiters = Vec<oneshot::Sender<Result<QueueReport, String>>>;

/// What one refresh read.
struct Sample {
    queues: Vec<QueueStats>,
    jobs: LinkCounts,
    /// Completion times from `from` on.
    done: Vec<DateTime<Utc>>,
    from_minute: i64,
}

pub struct QueueMonitor {
    store: Store,
    queue: Arc<dyn JobQueue>,
    media: Arc<dyn MediaStore>,
    jobs: Arc<JobMetrics>,
    latest: Option<(Instant, QueueReport)>,
    /// Askers waiting for the refresh under way, if one is.
    refreshing: Option<Waiters>,
    queue_queries: u64,
    streams: Vec<mpsc::Sender<StreamItem>>,
    /// Jobs done per minute (minutes since the epoch) for the minutes already
    /// read: a refresh reads from the minute before the last one it read.
    chart: BTreeMap<i64, u64>,
    /// The minute of the last refresh that read the chart.
    chart_read_to: Option<i64>,
    ticking: bool,
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

impl QueueMonitor {
    pub fn new(
        store: Store,
        queue: Arc<dyn JobQueue>,
        media: Arc<dyn MediaStore>,
        jobs: Arc<JobMetrics>,
    ) -> Self {
        QueueMonitor {
            store,
            queue,
            media,
            jobs,
            latest: None,
            refreshing: None,
            queue_queries: 0,
            streams: Vec::new(),
            chart: BTreeMap::new(),
            chart_read_to: None,
            ticking: false,
        }
    }

    pub fn start(self) -> Addr<Self> {
        Supervisor::start(move |_| self)
    }

    async fn fetch(
        store: Store,
        queue: Arc<dyn JobQueue>,
        from_minute: i64,
    ) -> Result<Sample, MonitorError> {
        let from = DateTime::from_timestamp(from_minute * 60, 0).unwrap_or_default();
        let (queues, jobs, done) = futures_util::future::join3(
            queue.stats(),
            store.links.link_counts(),
            store.links.done_since(from),
        )
        .await;
        Ok(Sample {
            queues: queues?,
            jobs: jobs?,
            done: done?,
            from_minute,
        })
    }

    /// Folds a sample into the chart and makes the report.
    fn report_of(&mut self, sample: Sample) -> QueueReport {
        let now = Utc::now();
        let current = minute_of(now);
        self.chart.retain(|m, _| *m < sample.from_minute);
        for at in sample.done {
            *self.chart.entry(minute_of(at)).or_default() += 1;
        }
        self.chart.retain(|m, _| *m > current - CHART_MINUTES);
        self.chart_read_to = Some(current);
        let first = current - CHART_MINUTES + 1;
        QueueReport {
            backend: self.queue.backend(),
            queues: sample.queues,
            jobs: sample.jobs,
            done_per_minute: (first..=current)
                .map(|m| self.chart.get(&m).copied().unwrap_or(0))
                .collect(),
            sampled_at: now,
        }
    }

    /// Starts a refresh unless one is under way; `waiter` gets its outcome.
    fn refresh(
        &mut self,
        ctx: &mut Context<Self>,
        waiter: Option<oneshot::Sender<Result<QueueReport, String>>>,
    ) {
        if let Some(waiters) = &mut self.refreshing {
            waiters.extend(waiter);
            return;
        }
        self.refreshing = Some(waiter.into_iter().collect());
        self.queue_queries += 1;
        let current = minute_of(Utc::now());
        // From the minute before the last one read (a job another node finished
        // a moment ago, its clock a little behind, still lands in its minute), or
        // the whole hour after a quiet spell.
        let oldest = current - CHART_MINUTES + 1;
        let from_minute = self.chart_read_to.map_or(oldest, |m| (m - 1).max(oldest));
        let fetch = Self::fetch(self.store.clone(), self.queue.clone(), from_minute);
        ctx.spawn(fetch.into_actor(self).map(|result, act, _| {
            let shared = match result {
                Ok(sample) => {
                    let report = act.report_of(sample);
                    act.latest = Some((Instant::now(), report.clone()));
                    act.fan_out(|| Ok(report.clone()));
                    Ok(report)
                }
                Err(e) => {
                    let chain = crate::errors::error_chain(&e);
                    tracing::warn!(error = %chain, "queue report failed");
                    // The streams hear of it too: silence would look like "no change".
                    act.fan_out(|| Err(MonitorError::Down("job queue or database")));
                    Err(chain)
                }
            };
            for waiter in act.refreshing.take().unwrap_or_default() {
                let _ = waiter.send(shared.clone());
            }
        }));
    }
}

impl QueueMonitor {
    /// Sends to every open stream; a closed one is dropped, a full one (a slow
    /// client) misses this second.
    fn fan_out(&mut self, item: impl Fn() -> StreamItem) {
        self.streams.retain(|s| {
            !matches!(
                s.try_send(item()),
                Err(mpsc::error::TrySendError::Closed(_))
            )
        });
    }
}

impl Actor for QueueMonitor {
    type Context = Context<Self>;
}

impl Supervised for QueueMonitor {
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        tracing::warn!(actor = "QueueMonitor", "restarting");
        self.refreshing = None;
        self.ticking = !self.streams.is_empty();
        if self.ticking {
            ctx.notify_later(Tick, TICK);
        }
    }
}

impl Handler<Report> for QueueMonitor {
    type Result = ResponseFuture<Result<QueueReport, MonitorError>>;

    fn handle(&mut self, _: Report, ctx: &mut Context<Self>) -> Self::Result {
        if let Some((at, report)) = &self.latest {
            if at.elapsed() < FRESH {
                let report = report.clone();
                return Box::pin(async move { Ok(report) });
            }
        }
        let (tx, rx) = oneshot::channel();
        self.refresh(ctx, Some(tx));
        Box::pin(async move {
            match rx.await {
                Ok(Ok(report)) => Ok(report),
                // The cause was logged once by the refresh.
                Ok(Err(_)) | Err(_) => Err(MonitorError::Down("job queue or database")),
            }
        })
    }
}

/// Every second while streams are open: one refresh for all of them.
#[derive(Message)]
#[rtype(result = "()")]
struct Tick;

impl Handler<Tick> for QueueMonitor {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        self.streams.retain(|s| !s.is_closed());
        if self.streams.is_empty() {
            self.ticking = false;
            return;
        }
        self.refresh(ctx, None);
        ctx.notify_later(Tick, TICK);
    }
}

impl Handler<Subscribe> for QueueMonitor {
    type Result = MessageResult<Subscribe>;

    fn handle(&mut self, _: Subscribe, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        // The first snapshot at once: the latest if fresh, else the next refresh.
        match &self.latest {
            Some((at, report)) if at.elapsed() < FRESH => {
                let _ = tx.try_send(Ok(report.clone()));
            }
            _ => self.refresh(ctx, None),
        }
        self.streams.push(tx);
        if !self.ticking {
            self.ticking = true;
            ctx.notify_later(Tick, TICK);
        }
        MessageResult(rx)
    }
}

impl Handler<CloseStreams> for QueueMonitor {
    type Result = ();

    fn handle(&mut self, _: CloseStreams, _: &mut Context<Self>) {
        self.streams.clear();
    }
}

impl Handler<Readiness> for QueueMonitor {
    type Result = ResponseFuture<Result<(), MonitorError>>;

    fn handle(&mut self, _: Readiness, _: &mut Context<Self>) -> Self::Result {
        let (store, queue, media) = (self.store.clone(), self.queue.clone(), self.media.clone());
        Box::pin(async move {
            ready("database", store.health.ping()).await?;
            ready("job queue", async { queue.stats().await.map(drop) }).await?;
            ready("media storage", media.health()).await
        })
    }
}

/// A dependency's check within `READY_TIMEOUT`; down (and logged) otherwise.
async fn ready<E: std::error::Error + 'static>(
    name: &'static str,
    check: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), MonitorError> {
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, error = %crate::errors::error_chain(&e), "readiness: down");
            Err(MonitorError::Down(name))
        }
        Err(_) => {
            tracing::warn!(dependency = name, "readiness: check timed out");
            Err(MonitorError::Down(name))
        }
    }
}

impl Handler<Counters> for QueueMonitor {
    type Result = MessageResult<Counters>;

    fn handle(&mut self, _: Counters, _: &mut Context<Self>) -> Self::Result {
        use std::sync::atomic::Ordering::Relaxed;
        MessageResult(JobCounters {
            done: self.jobs.done.load(Relaxed),
            retried: self.jobs.retried.load(Relaxed),
            failed: self.jobs.failed.load(Relaxed),
            queue_queries: self.queue_queries,
            streams: self.streams.iter().filter(|s| !s.is_closed()).count() as u64,
        })
    }
}

/// The typed handle the HTTP layer uses.
#[derive(Clone)]
pub struct Monitor {
    addr: Addr<QueueMonitor>,
}

impl Monitor {
    pub fn new(addr: Addr<QueueMonitor>) -> Self {
        Monitor { addr }
    }

    pub async fn report(&self) -> Result<QueueReport, MonitorError> {
        self.addr.send(Report).await?
    }

    pub async fn readiness(&self) -> Result<(), MonitorError> {
        self.addr.send(Readiness).await?
    }

    pub async fn counters(&self) -> Result<JobCounters, MonitorError> {
        Ok(self.addr.send(Counters).await?)
    }

    pub async fn subscribe(&self) -> Result<mpsc::Receiver<StreamItem>, MonitorError> {
        Ok(self.addr.send(Subscribe).await?)
    }

    /// Ends every open stream; the server's graceful stop then has none to wait for.
    pub async fn close_streams(&self) {
        let _ = self.addr.send(CloseStreams).await;
    }
}
