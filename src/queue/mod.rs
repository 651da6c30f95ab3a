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

#[async_trait]
pub trait JobQueue: Send + Sync {
    fn backend(&self) -> &'static str;
    /// Hands the job for `link_id` to the queue; for a broker, returns once the
    /// broker has confirmed it stored the message.
    async fn publish(&self, link_id: &str) -> Result<(), QueueError>;
    /// The work queue first, then any other (dead letters).
    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError>;
}
