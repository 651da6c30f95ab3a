//! RabbitMQ, when `PHOTOSHARE__QUEUE__AMQP_URL` is set: API and worker processes
//! scale out independently against one broker.
//!
//! Topology (declared by every process, idempotently):
//! - `photoshare.jobs`: durable work queue with priorities 0-9; messages are
//!   persistent link ids, a user's next job a step lower the more they have queued
//!   (so one user's backlog does not hold up another's first job); rejected
//!   messages dead-letter to
//! - `photoshare.jobs.dead`: durable dead-letter queue, for inspection;
//! - `photoshare.jobs.retry`: durable, no consumers; a message waits there for its
//!   per-message expiration (the backoff), then dead-letters back to the work queue
//!   with its priority.
//!
//! (Before priorities the queues were `<prefix>.transformations*`; a broker that
//! still has them can drop them: the sweeper publishes every pending link again.)
//!
//! Publishing uses its own channel in confirm mode with `mandatory`: `publish`
//! returns only when the broker has the message. Consumers use another channel,
//! prefetch sized to the number of concurrent jobs, and ack only after the result
//! is stored. Lost connections are re-established with backoff; until then publish
//! fails fast (the link stays pending and the sweeper publishes it later).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

use super::worker::{Disposition, JobHandler};
use super::{Job, JobQueue, QueueBackend, QueueError, QueueStats, Work};
use crate::errors::error_chain;

/// The three queue names, from the configured prefix.
#[derive(Debug, Clone)]
pub struct Names {
    pub work: String,
    pub dead: String,
    pub retry: String,
    /// `x-expires` for every queue, when set.
    pub idle_expiry_ms: Option<u32>,
}

impl Names {
    pub fn new(prefix: &str, idle_expiry_seconds: u64) -> Self {
        Names {
            work: format!("{prefix}.jobs"),
            dead: format!("{prefix}.jobs.dead"),
            retry: format!("{prefix}.jobs.retry"),
            idle_expiry_ms: (idle_expiry_seconds > 0)
                .then(|| u32::try_from(idle_expiry_seconds * 1000).unwrap_or(u32::MAX)),
        }
    }
}

/// How long a publish may wait for a connection and the broker's confirm.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("the broker returned the message as unroutable")]
struct Unroutable;

#[derive(Debug, thiserror::Error)]
#[error("the broker did not answer in time")]
struct TimedOut;

pub struct RabbitQueue {
    url: String,
    names: Names,
    /// The publishing channel (confirm mode), made on first use and again after a
    /// connection is lost.
    publisher: Mutex<Option<(Connection, Channel)>>,
    in_flight: std::sync::atomic::AtomicU64,
    consumers: std::sync::atomic::AtomicU64,
}

pub(super) async fn connect(url: &str) -> Result<Connection, lapin::Error> {
    let props = ConnectionProperties::default()
        .with_connection_name("photoshare".into())
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    Connection::connect(url, props).await
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn queue_args(names: &Names, dead_letter_to: Option<&str>) -> FieldTable {
    let mut args = FieldTable::default();
    if let Some(ms) = names.idle_expiry_ms {
        args.insert(ShortString::from("x-expires"), AMQPValue::LongUInt(ms));
    }
    let Some(queue) = dead_letter_to else {
        return args;
    };
    args.insert(
        ShortString::from("x-dead-letter-exchange"),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        ShortString::from("x-dead-letter-routing-key"),
        AMQPValue::LongString(queue.into()),
    );
    args
}

/// Declares the three queues (idempotent: same arguments every time).
async fn declare(channel: &Channel, names: &Names) -> Result<(), lapin::Error> {
    let n = names;
    channel
        .queue_declare(&n.dead, durable(), queue_args(n, None))
        .await?;
    let mut work = queue_args(n, Some(&n.dead));
    work.insert(
        ShortString::from("x-max-priority"),
        AMQPValue::ShortShortUInt(super::MAX_PRIORITY),
    );
    channel.queue_declare(&n.work, durable(), work).await?;
    channel
        .queue_declare(&n.retry, durable(), queue_args(n, Some(&n.work)))
        .await?;
    Ok(())
}

fn persistent() -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("text/plain".into())
}

impl RabbitQueue {
    /// Connects and declares the topology: a broker that cannot be reached at
    /// start is a startup error (a wrong URL should not look like an outage). Later
    /// outages are survived: publishing connects again on its next use.
    pub async fn connect(url: &str, names: Names) -> Result<Arc<Self>, QueueError> {
        let queue = Arc::new(RabbitQueue {
            url: url.to_owned(),
            names,
            publisher: Mutex::new(None),
            in_flight: Default::default(),
            consumers: Default::default(),
        });
        let publisher = queue.open_publisher().await?;
        *queue.publisher.lock().await = Some(publisher);
        Ok(queue)
    }

    /// A new connection (within the publish timeout) and a channel on it.
    async fn channel(&self) -> Result<(Connection, Channel), QueueError> {
        let connection = tokio::time::timeout(PUBLISH_TIMEOUT, connect(&self.url))
            .await
            .map_err(|_| QueueError::unavailable(TimedOut))?
            .map_err(QueueError::unavailable)?;
        let channel = connection
            .create_channel()
            .await
            .map_err(QueueError::unavailable)?;
        Ok((connection, channel))
    }

    async fn open_publisher(&self) -> Result<(Connection, Channel), QueueError> {
        let (connection, channel) = self.channel().await?;
        declare(&channel, &self.names)
            .await
            .map_err(QueueError::unavailable)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(QueueError::unavailable)?;
        Ok((connection, channel))
    }

    /// The publishing channel, opened again if its connection was lost.
    async fn ensure_publisher<'a>(
        &self,
        guard: &'a mut Option<(Connection, Channel)>,
    ) -> Result<&'a Channel, QueueError> {
        if !guard
            .as_ref()
            .is_some_and(|(c, ch)| c.status().connected() && ch.status().connected())
        {
            *guard = None;
            *guard = Some(self.open_publisher().await?);
        }
        match guard.as_ref() {
            Some((_, channel)) => Ok(channel),
            None => Err(QueueError::unavailable(TimedOut)),
        }
    }

    /// Runs `work` on the publishing channel (one caller at a time) within
    /// `PUBLISH_TIMEOUT`; a failure or a timeout drops the connection, so the next
    /// call opens a fresh one.
    async fn on_publisher<T, F>(&self, work: impl FnOnce(Channel) -> F) -> Result<T, QueueError>
    where
        F: std::future::Future<Output = Result<T, lapin::Error>>,
    {
        let mut guard = self.publisher.lock().await;
        let channel = self.ensure_publisher(&mut guard).await?.clone();
        match tokio::time::timeout(PUBLISH_TIMEOUT, work(channel)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                *guard = None;
                Err(QueueError::unavailable(e))
            }
            Err(_) => {
                *guard = None;
                Err(QueueError::unavailable(TimedOut))
            }
        }
    }

    /// Publishes to `queue` and waits for the broker's confirm.
    async fn publish_to(
        &self,
        queue: &str,
        wire: &str,
        properties: BasicProperties,
    ) -> Result<(), QueueError> {
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirmation = self
            .on_publisher(|channel| async move {
                channel
                    .basic_publish("", queue, options, wire.as_bytes(), properties)
                    .await?
                    .await
            })
            .await?;
        match confirmation.take_message() {
            None => Ok(()),
            Some(_) => Err(QueueError::unavailable(Unroutable)),
        }
    }

    /// Runs `consumers` concurrent jobs from the work queue for as long as the
    /// runtime lives, reconnecting (1 s, 2 s ... 30 s apart) whenever the
    /// connection is lost.
    pub fn run_consumers(self: &Arc<Self>, handler: Arc<dyn JobHandler>, consumers: usize) {
        let queue = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            loop {
                match queue.consume(&handler, consumers).await {
                    Ok(()) => delay = Duration::from_secs(1),
                    Err(e) => tracing::warn!(error = %error_chain(&e),
                        "job consumer lost the broker; reconnecting"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// One connection's worth of consuming: returns when the connection drops.
    async fn consume(
        self: &Arc<Self>,
        handler: &Arc<dyn JobHandler>,
        consumers: usize,
    ) -> Result<(), lapin::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let connection = connect(&self.url).await?;
        let channel = connection.create_channel().await?;
        declare(&channel, &self.names).await?;
        let prefetch = u16::try_from(consumers.max(1)).unwrap_or(u16::MAX);
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                &self.names.work,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue = %self.names.work, prefetch, "consuming jobs");
        self.consumers.fetch_add(1, Relaxed);
        let jobs = Arc::new(tokio::sync::Semaphore::new(consumers.max(1)));
        let mut result = Ok(());
        while let Some(delivery) = deliveries.next().await {
            let delivery = match delivery {
                Ok(d) => d,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            let Ok(permit) = jobs.clone().acquire_owned().await else {
                break;
            };
            let (queue, handler) = (self.clone(), handler.clone());
            self.in_flight.fetch_add(1, Relaxed);
            tokio::spawn(async move {
                let wire = String::from_utf8_lossy(&delivery.data).into_owned();
                let requeue = |requeue| BasicNackOptions {
                    requeue,
                    ..BasicNackOptions::default()
                };
                let settled = match handler.handle(&Work::parse(&wire)).await {
                    Disposition::Ack => delivery.ack(BasicAckOptions::default()).await,
                    Disposition::Retry(delay) => match queue
                        .publish_later(&wire, delay, delivery.properties.priority().unwrap_or(0))
                        .await
                    {
                        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
                        // Could not park it: the broker delivers it again now.
                        Err(_) => delivery.nack(requeue(true)).await,
                    },
                    // Rejected without requeue: the broker dead-letters it.
                    Disposition::DeadLetter => delivery.nack(requeue(false)).await,
                };
                if let Err(e) = settled {
                    // The channel is gone: the broker delivers the job again.
                    tracing::warn!(job = wire, error = %error_chain(&e), "could not settle a job");
                }
                queue.in_flight.fetch_sub(1, Relaxed);
                drop(permit);
            });
        }
        self.consumers.fetch_sub(1, Relaxed);
        result
    }

    /// Parks the job in the retry queue until `delay` has passed.
    async fn publish_later(
        &self,
        wire: &str,
        delay: Duration,
        priority: u8,
    ) -> Result<(), QueueError> {
        let expiration = delay.as_millis().to_string();
        let properties = persistent()
            .with_expiration(expiration.into())
            .with_priority(priority);
        self.publish_to(&self.names.retry, wire, properties).await
    }

    /// Message and consumer counts of a queue, as the broker reports them.
    async fn count(&self, channel: &Channel, name: &str) -> Result<QueueStats, lapin::Error> {
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let q = channel
            .queue_declare(name, options, FieldTable::default())
            .await?;
        Ok(QueueStats {
            name: name.to_owned(),
            ready: u64::from(q.message_count()),
            unacked: 0,
            consumers: u64::from(q.consumer_count()),
        })
    }
}

#[async_trait]
impl JobQueue for RabbitQueue {
    fn backend(&self) -> QueueBackend {
        QueueBackend::RabbitMq
    }

    async fn publish(&self, job: &Job) -> Result<(), QueueError> {
        let properties = persistent().with_priority(job.priority);
        self.publish_to(&self.names.work, &job.work.wire(), properties)
            .await
    }

    /// Ready and consumer counts come from the broker; `unacked` is what this
    /// process's own consumers hold (AMQP does not report the broker-wide figure).
    /// Asked on the publishing connection (no new connection per `/readyz` or
    /// `/metrics` call).
    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError> {
        let n = &self.names;
        let mut out = self
            .on_publisher(|channel| async move {
                let mut out = Vec::new();
                for name in [&n.work, &n.dead, &n.retry] {
                    out.push(self.count(&channel, name).await?);
                }
                Ok(out)
            })
            .await?;
        out[0].unacked = self.in_flight.load(std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    /// AMQP cannot delete one message by content: on a channel of its own this
    /// takes every dead letter (up to `DEAD_SCAN` of them) without acking, acks
    /// the ones for `work`, and closes the channel, which gives the rest back to
    /// the queue.
    async fn forget_dead(&self, work: &Work) -> Result<u64, QueueError> {
        let wire = work.wire();
        let (connection, channel) = self.channel().await?;
        let scan = async {
            let mut dropped = 0;
            for _ in 0..DEAD_SCAN {
                let options = BasicGetOptions { no_ack: false };
                let Some(message) = channel.basic_get(&self.names.dead, options).await? else {
                    break;
                };
                if message.delivery.data == wire.as_bytes() {
                    message.delivery.ack(BasicAckOptions::default()).await?;
                    dropped += 1;
                }
            }
            Ok::<_, lapin::Error>(dropped)
        };
        let result = tokio::time::timeout(PUBLISH_TIMEOUT * 2, scan).await;
        let _ = channel.close(200, "done").await;
        let _ = connection.close(200, "done").await;
        match result {
            Ok(Ok(dropped)) => Ok(dropped),
            Ok(Err(e)) => Err(QueueError::unavailable(e)),
            Err(_) => Err(QueueError::unavailable(TimedOut)),
        }
    }
}

/// At most this many dead letters are looked through per retry.
const DEAD_SCAN: usize = 10_000;
