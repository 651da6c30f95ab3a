//! The in-process queue, the embedded default: jobs in memory, taken fairly: each
//! owner with jobs waiting has their own line, and consumers take one job from each
//! line in turn, so a user with many heavy links waiting cannot make another user's
//! one link wait behind all of them. It persists nothing itself because the links
//! are the persistence: every pending link is published again by the sweeper at
//! start-up, so a restart resumes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{Job, JobQueue, QueueBackend, QueueError, QueueStats, Work};

#[derive(Default)]
pub struct InProcessQueue {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    /// Each owner's waiting jobs, oldest first.
    lines: HashMap<String, VecDeque<Job>>,
    /// Owners with jobs waiting, in the order they are served.
    turns: VecDeque<String>,
    waiting: u64,
    /// Waiting or being worked on: a second publish of either is a no-op.
    known: HashSet<Work>,
    in_flight: u64,
    consumers: u64,
}

impl State {
    fn take(&mut self) -> Option<Job> {
        let owner = self.turns.pop_front()?;
        let line = self.lines.get_mut(&owner)?;
        let job = line.pop_front()?;
        if line.is_empty() {
            self.lines.remove(&owner);
        } else {
            self.turns.push_back(owner);
        }
        self.waiting -= 1;
        Some(job)
    }
}

impl InProcessQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next job; waits until there is one.
    pub async fn next(&self) -> Job {
        loop {
            let ready = self.ready.notified();
            {
                let mut s = self.state();
                if let Some(job) = s.take() {
                    s.in_flight += 1;
                    return job;
                }
            }
            ready.await;
        }
    }

    /// The job taken by `next` is finished with (done, failed or to be retried).
    pub fn ack(&self, work: &Work) {
        let mut s = self.state();
        s.known.remove(work);
        s.in_flight = s.in_flight.saturating_sub(1);
    }

    pub fn add_consumer(&self) {
        self.state().consumers += 1;
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    fn backend(&self) -> QueueBackend {
        QueueBackend::InProcess
    }

    async fn publish(&self, job: &Job) -> Result<(), QueueError> {
        let mut s = self.state();
        if s.known.insert(job.work.clone()) {
            let line = s.lines.entry(job.owner_id.clone()).or_default();
            let first = line.is_empty();
            line.push_back(job.clone());
            if first {
                s.turns.push_back(job.owner_id.clone());
            }
            s.waiting += 1;
            drop(s);
            self.ready.notify_one();
        }
        Ok(())
    }

    async fn stats(&self) -> Result<Vec<QueueStats>, QueueError> {
        let s = self.state();
        Ok(vec![QueueStats {
            name: "jobs".into(),
            ready: s.waiting,
            unacked: s.in_flight,
            consumers: s.consumers,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, owner: &str) -> Job {
        Job::new(id, owner, 0)
    }

    fn id(job: Job) -> String {
        job.work.wire()
    }

    #[tokio::test]
    async fn jobs_come_out_once_until_acked() {
        let q = InProcessQueue::default();
        q.publish(&job("a", "u")).await.unwrap();
        q.publish(&job("b", "u")).await.unwrap();
        q.publish(&job("a", "u")).await.unwrap();
        assert_eq!(
            q.stats().await.unwrap()[0].ready,
            2,
            "a duplicate is dropped"
        );
        assert_eq!(id(q.next().await), "a");
        q.publish(&job("a", "u")).await.unwrap();
        let s = q.stats().await.unwrap().remove(0);
        assert_eq!((s.ready, s.unacked), (1, 1), "in flight: not queued again");
        q.ack(&Work::Transform("a".into()));
        q.publish(&job("a", "u")).await.unwrap();
        assert_eq!(id(q.next().await), "b");
        assert_eq!(id(q.next().await), "a", "after the ack it can come again");
    }

    #[tokio::test]
    async fn owners_take_turns_whatever_one_of_them_queued() {
        let q = InProcessQueue::default();
        for i in 0..5 {
            q.publish(&job(&format!("heavy{i}"), "busy")).await.unwrap();
        }
        q.publish(&job("light", "other")).await.unwrap();
        q.publish(&job("light2", "third")).await.unwrap();
        let order: Vec<String> = [(); 4].iter().map(|_| String::new()).collect();
        let mut taken = Vec::new();
        for _ in order {
            taken.push(id(q.next().await));
        }
        assert_eq!(taken, ["heavy0", "light", "light2", "heavy1"]);
        assert_eq!(Job::new("x", "u", 0).priority, 9);
        assert_eq!(Job::new("x", "u", 4).priority, 5);
        assert_eq!(Job::new("x", "u", 40).priority, 0);
    }

    #[tokio::test]
    async fn a_purge_and_a_link_with_the_same_id_are_two_jobs() {
        let q = InProcessQueue::default();
        q.publish(&job("x", "u")).await.unwrap();
        q.publish(&Job::purge("x", "u")).await.unwrap();
        q.publish(&Job::purge("x", "u")).await.unwrap();
        assert_eq!(q.stats().await.unwrap()[0].ready, 2);
        assert_eq!(q.next().await.work, Work::Transform("x".into()));
        assert_eq!(q.next().await.work, Work::PurgePhoto("x".into()));
        assert_eq!(Work::parse("purge:x"), Work::PurgePhoto("x".into()));
        assert_eq!(
            Work::parse(&Work::Transform("y".into()).wire()),
            Work::Transform("y".into())
        );
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_on_publish() {
        let q = std::sync::Arc::new(InProcessQueue::default());
        let consumer = tokio::spawn({
            let q = q.clone();
            async move { q.next().await }
        });
        tokio::task::yield_now().await;
        q.publish(&job("x", "u")).await.unwrap();
        assert_eq!(id(consumer.await.unwrap()), "x");
    }
}
