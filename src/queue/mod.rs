//! The job pipeline: a queue (`JobQueue`: in-process or RabbitMQ) carrying ids of
//! work to do (`Work`: make a link's image, finish deleting a photo), and the
//! consumers and sweeper (`worker`) that hand each to its handler.
//!
//! The records are the outbox: a pending link, or a photo's deletion tombstone, is
//! written before its job is published, and a sweeper publishes again every one
//! left behind (a publish that failed, a process that died in between). Delivery is
//! at least once; handlers are idempotent (a finished link is never touched again, a
//! purge that finds no tombstone has nothing to do), so redelivery is harmless.

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

/// What a job does, by the id of the record that says what is left to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    /// Make a pending link's image and QR code.
    Transform(String),
    /// Finish a photo's deletion: what hangs off it, its files, then its tombstone.
    PurgePhoto(String),
}

const PURGE: &str = "purge:";

impl Work {
    /// As a message carries it: a link id alone (what every job was before there
    /// were others, so messages already queued still mean the same), or
    /// `purge:<photo id>`.
    pub fn wire(&self) -> String {
        match self {
            Work::Transform(link_id) => link_id.clone(),
            Work::PurgePhoto(photo_id) => format!("{PURGE}{photo_id}"),
        }
    }

    pub fn parse(wire: &str) -> Work {
        match wire.strip_prefix(PURGE) {
            Some(photo_id) => Work::PurgePhoto(photo_id.to_owned()),
            None => Work::Transform(wire.to_owned()),
        }
    }
}

/// A job as the queue carries it: what to do, whose it is (in-process jobs take
/// turns by owner), and its priority (RabbitMQ: higher first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub work: Work,
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
            work: Work::Transform(link_id.to_owned()),
            owner_id: owner_id.to_owned(),
            priority: MAX_PRIORITY - behind,
        }
    }

    /// Finishing a photo's deletion: first in line (it is quick, and until it is
    /// done the photo's comments still count on their authors' profiles).
    pub fn purge(photo_id: &str, owner_id: &str) -> Self {
        Job {
            work: Work::PurgePhoto(photo_id.to_owned()),
            owner_id: owner_id.to_owned(),
            priority: MAX_PRIORITY,
        }
    }
}

/// Which queue carries the jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub enum QueueBackend {
    #[serde(rename = "rabbitmq")]
    RabbitMq,
    #[serde(rename = "in-process")]
    InProcess,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    fn backend(&self) -> QueueBackend;
    /// Hands the job to the queue; for a broker, returns once the broker has
    /// confirmed it stored the message.
    async fn publish(&self, job: &Job) -> Result<(), QueueError>;
    /// The work queue first, then any other (dead letters).
    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError>;
    /// Drops the dead-lettered messages for `work` (a failed job an admin retries:
    /// its new message is the one that runs); returns how many went. A queue
    /// without dead letters has nothing to drop.
    async fn forget_dead(&self, _work: &Work) -> Result<u64, QueueError> {
        Ok(0)
    }
}
