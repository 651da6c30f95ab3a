//! The in-process queue, the embedded default: a FIFO of link ids in memory. It
//! persists nothing itself because the links are the persistence: every pending
//! link is published again by the sweeper at start-up, so a restart resumes.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{JobQueue, QueueError, QueueStats};

#[derive(Default)]
pub struct InProcessQueue {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<String>,
    /// Waiting or being worked on: a second publish of either is a no-op.
    known: HashSet<String>,
    in_flight: u64,
    consumers: u64,
}

impl InProcessQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job; waits until there is one.
    pub async fn next(&self) -> String {
        loop {
            let ready = self.ready.notified();
            {
                let mut s = self.state();
                if let Some(id) = s.waiting.pop_front() {
                    s.in_flight += 1;
                    return id;
                }
            }
            ready.await;
        }
    }

    /// The job taken by `next` is finished with (done, failed or to be retried).
    pub fn ack(&self, link_id: &str) {
        let mut s = self.state();
        s.known.remove(link_id);
        s.in_flight = s.in_flight.saturating_sub(1);
    }

    pub fn add_consumer(&self) {
        self.state().consumers += 1;
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    fn backend(&self) -> &'static str {
        "in-process"
    }

    async fn publish(&self, link_id: &str) -> Result<(), QueueError> {
        let mut s = self.state();
        if s.known.insert(link_id.to_owned()) {
            s.waiting.push_back(link_id.to_owned());
            drop(s);
            self.ready.notify_one();
        }
        Ok(())
    }

    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError> {
        let s = self.state();
        Ok(vec![QueueStats {
            name: "transformations".into(),
            ready: s.waiting.len() as u64,
            unacked: s.in_flight,
            consumers: s.consumers,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_come_out_in_order_once_until_acked() {
        let q = InProcessQueue::default();
        q.publish("a").await.unwrap();
        q.publish("b").await.unwrap();
        q.publish("a").await.unwrap();
        assert_eq!(
            q.stats().await.unwrap()[0].ready,
            2,
            "a duplicate is dropped"
        );
        assert_eq!(q.next().await, "a");
        q.publish("a").await.unwrap();
        let s = q.stats().await.unwrap().remove(0);
        assert_eq!((s.ready, s.unacked), (1, 1), "in flight: not queued again");
        q.ack("a");
        q.publish("a").await.unwrap();
        assert_eq!(q.next().await, "b");
        assert_eq!(q.next().await, "a", "after the ack it can come again");
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_on_publish() {
        let q = std::sync::Arc::new(InProcessQueue::default());
        let consumer = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.publish("x").await.unwrap();
        assert_eq!(consumer.await.unwrap(), "x");
    }
}
