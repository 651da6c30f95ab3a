//! QueueMonitor: the job queue as the admin console, `/readyz` and `/metrics` see
//! it. One per process. It owns the latest snapshot (queues from the broker or the
//! in-process queue, links by status from the database) and refreshes it at most
//! once a second, however many requests ask: concurrent askers while a refresh is
//! under way wait for that one refresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::actors::transform_worker::jobs::JobMetrics;
use crate::domain::LinkCounts;
use crate::queue::{JobQueue, QueueError, QueueStats};
use crate::store::{Store, StoreError};

/// How old a snapshot may be and still be served.
const FRESH: Duration = Duration::from_secs(1);
/// How long a dependency may take to answer a readiness check.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

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
    /// `rabbitmq` or `in-process`.
    pub backend: &'static str,
    /// The work queue, then the dead-letter and retry queues (RabbitMQ).
    pub queues: Vec<QueueStats>,
    /// Links by status: `pending`, `done`, `failed`.
    #[schema(value_type = Object)]
    pub jobs: LinkCounts,
}

/// The latest report (refreshed when older than a second).
#[derive(Message)]
#[rtype(result = "Result<QueueReport, MonitorError>")]
pub struct Report;

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
}

type Waiters = Vec<oneshot::Sender<Result<QueueReport, String>>>;

pub struct QueueMonitor {
    store: Store,
    queue: Arc<dyn JobQueue>,
    jobs: Arc<JobMetrics>,
    latest: Option<(Instant, QueueReport)>,
    /// Askers waiting for the refresh under way, if one is.
    refreshing: Option<Waiters>,
    queue_queries: u64,
}

impl QueueMonitor {
    pub fn new(store: Store, queue: Arc<dyn JobQueue>, jobs: Arc<JobMetrics>) -> Self {
        QueueMonitor {
            store,
            queue,
            jobs,
            latest: None,
            refreshing: None,
            queue_queries: 0,
        }
    }

    pub fn start(self) -> Addr<Self> {
        Supervisor::start(move |_| self)
    }

    async fn fetch(store: Store, queue: Arc<dyn JobQueue>) -> Result<QueueReport, MonitorError> {
        let (queues, jobs) =
            futures_util::future::join(queue.stats(), store.links.link_counts()).await;
        Ok(QueueReport {
            backend: queue.backend(),
            queues: queues?,
            jobs: jobs?,
        })
    }
}

impl Actor for QueueMonitor {
    type Context = Context<Self>;
}

impl Supervised for QueueMonitor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!(actor = "QueueMonitor", "restarting");
        self.refreshing = None;
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
        match &mut self.refreshing {
            Some(waiters) => waiters.push(tx),
            None => {
                self.refreshing = Some(vec![tx]);
                self.queue_queries += 1;
                let fetch = Self::fetch(self.store.clone(), self.queue.clone());
                ctx.spawn(fetch.into_actor(self).map(|result, act, _| {
                    let shared = match &result {
                        Ok(report) => {
                            act.latest = Some((Instant::now(), report.clone()));
                            Ok(report.clone())
                        }
                        Err(e) => Err(crate::errors::error_chain(e)),
                    };
                    if let Err(e) = &result {
                        tracing::warn!(error = %crate::errors::error_chain(e), "queue report failed");
                    }
                    for waiter in act.refreshing.take().unwrap_or_default() {
                        let _ = waiter.send(shared.clone());
                    }
                }));
            }
        }
        Box::pin(async move {
            match rx.await {
                Ok(Ok(report)) => Ok(report),
                // The cause was logged once by the refresh.
                Ok(Err(_)) | Err(_) => Err(MonitorError::Down("job queue or database")),
            }
        })
    }
}

impl Handler<Readiness> for QueueMonitor {
    type Result = ResponseFuture<Result<(), MonitorError>>;

    fn handle(&mut self, _: Readiness, _: &mut Context<Self>) -> Self::Result {
        let (store, queue) = (self.store.clone(), self.queue.clone());
        Box::pin(async move {
            match tokio::time::timeout(READY_TIMEOUT, store.health.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::errors::error_chain(&e), "readiness: database down");
                    return Err(MonitorError::Down("database"));
                }
                Err(_) => {
                    tracing::warn!("readiness: database ping timed out");
                    return Err(MonitorError::Down("database"));
                }
            }
            match tokio::time::timeout(READY_TIMEOUT, queue.stats()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::errors::error_chain(&e), "readiness: job queue down");
                    Err(MonitorError::Down("job queue"))
                }
                Err(_) => {
                    tracing::warn!("readiness: job queue timed out");
                    Err(MonitorError::Down("job queue"))
                }
            }
        })
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
}
