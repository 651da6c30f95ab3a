//! The job pipeline that makes transformed images: a queue (`JobQueue`: in-process
//! or RabbitMQ) carrying link ids, and the worker (`worker`) that renders an image
//! and its QR code and marks the link done.
//!
//! The link record is the outbox: it is written (pending) before its job is
//! published, and a sweeper publishes again every link left pending (a publish that
//! failed, a process that died in between). Delivery is at least once; the worker is
//! idempotent (a finished link is never touched again), so redelivery is harmless.

use async_trait::async_trait;
use serde::Serialize;

pub mod bus;
pub mod inprocess;
pub mod rabbitmq;
pub mod worker;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl QueueError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        QueueError::Unavailable(Box::new(e))
    }
}

/// What `GET /api/admin/queues` and `/metrics` report of one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueStats {
    pub name: String,
    /// Jobs waiting to be delivered.
    pub ready: u64,
    /// Jobs delivered to a worker and not yet acknowledged.
    pub unacked: u64,
    pub consumers: u64,
}

/// A job as the queue carries it: the link to make, whose it is (in-process jobs
/// take turns by owner), and its priority (RabbitMQ: higher first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub link_id: String,
    pub owner_id: String,
    pub priority: u8,
}

/// Priorities run 0..=MAX_PRIORITY (RabbitMQ's `x-max-priority`).
pub const MAX_PRIORITY: u8 = 9;

impl Job {
    /// A job whose owner already has `pending` links waiting: the more a user has
    /// queued, the lower their next job goes, so one user's backlog cannot hold up
    /// another user's first job.
    pub fn new(link_id: &str, owner_id: &str, pending: u64) -> Self {
        let behind = u8::try_from(pending.min(u64::from(MAX_PRIORITY))).unwrap_or(MAX_PRIORITY);
        Job {
            link_id: link_id.to_owned(),
            owner_id: owner_id.to_owned(),
            priority: MAX_PRIORITY - behind,
        }
    }
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    fn backend(&self) -> &'static str;
    /// Hands the job to the queue; for a broker, returns once the broker has
    /// confirmed it stored the message.
    async fn publish(&self, job: &Job) -> Result<(), QueueError>;
    /// The work queue first, then any other (dead letters).
    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError>;
}
