//! Job consumers of the in-process queue, and the sweeper that publishes again the
//! links left pending and the photo deletions left unfinished. What a job does is
//! the `JobHandler`'s business (the actors layer's `jobs`); this layer only moves ids.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::inprocess::InProcessQueue;
use super::{Job, JobQueue, Work};
use crate::errors::error_chain;
use crate::ids::now_millis;
use crate::store::Store;

/// What to do with a delivered job.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Finished (done, or nothing left to do): acknowledge.
    Ack,
    /// Failed this time for a reason that may pass: deliver again after the delay.
    Retry(Duration),
    /// Failed for good: the link is marked failed; the job goes to the dead letters.
    DeadLetter,
}

/// Runs one delivery of a job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, work: &Work) -> Disposition;
}

/// Delay before the `attempt`-th retry: 1 s, 2 s, 4 s ... at most a minute.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Publishes every link left pending, and every photo deletion left unfinished,
/// since before `age` ago (all of them for a zero age); returns how many.
pub async fn sweep(store: &Store, queue: &dyn JobQueue, age: Duration) -> u64 {
    let before = now_millis() - chrono::Duration::from_std(age).unwrap_or_default();
    let mut jobs: Vec<Job> = match store.photos.deletions(before, 1000).await {
        Ok(d) => d
            .iter()
            .map(|d| Job::purge(&d.photo.id, &d.photo.owner_id))
            .collect(),
        // Links are swept even when tombstones cannot be read.
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "sweeper: storage unavailable");
            Vec::new()
        }
    };
    match store.links.pending_links(before, 1000).await {
        // A middle priority: how long the owner's queue is, the sweeper does not know.
        Ok(pending) => jobs.extend(pending.iter().map(|link| Job {
            work: Work::Transform(link.id.clone()),
            owner_id: link.owner_id.clone(),
            priority: super::MAX_PRIORITY / 2,
        })),
        Err(e) => tracing::warn!(error = %error_chain(&e), "sweeper: storage unavailable"),
    }
    let mut published = 0;
    for job in jobs {
        match queue.publish(&job).await {
            Ok(()) => published += 1,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "sweeper: queue unavailable");
                break;
            }
        }
    }
    published
}

/// Publishes the jobs left behind: first those older than `first_age`, then every
/// `every` those older than `every`, for as long as the runtime lives.
pub fn spawn_sweeper(store: Store, queue: Arc<dyn JobQueue>, first_age: Duration, every: Duration) {
    tokio::spawn(async move {
        let mut age = first_age;
        loop {
            let n = sweep(&store, queue.as_ref(), age).await;
            if n > 0 {
                tracing::info!(jobs = n, "sweeper published pending jobs");
            }
            age = every;
            tokio::time::sleep(every).await;
        }
    });
}

/// Runs `consumers` consumers on the in-process queue, and its sweeper (everything
/// pending at once: the queue was empty at start), for as long as the runtime lives.
pub fn run_local(
    queue: Arc<InProcessQueue>,
    handler: Arc<dyn JobHandler>,
    store: Store,
    consumers: usize,
    sweep_every: Duration,
) {
    for _ in 0..consumers.max(1) {
        queue.add_consumer();
        let (queue, handler) = (queue.clone(), handler.clone());
        tokio::spawn(async move {
            loop {
                let job = queue.next().await;
                let disposition = handler.handle(&job.work).await;
                queue.ack(&job.work);
                if let Disposition::Retry(delay) = disposition {
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = queue.publish(&job).await;
                    });
                }
            }
        });
    }
    spawn_sweeper(store, queue, Duration::ZERO, sweep_every);
}
