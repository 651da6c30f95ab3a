//! Per-client rate limits: GCRA (a leaky bucket kept as one timestamp per key),
//! `limit` requests per window with that many in a burst. Keys are parsed values
//! (IP addresses, account ids), never raw header text, and the table is bounded:
//! at `capacity` keys, the idle ones go, and if that is not enough, the ones that
//! have been quiet longest.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ApiError;

pub struct RateLimiter<K = std::net::IpAddr> {
    /// Time one request "costs"; `None` = limit off.
    interval: Option<Duration>,
    window: Duration,
    capacity: usize,
    /// Theoretical arrival time per key.
    clients: Mutex<HashMap<K, Instant>>,
}

/// Keys a limiter keeps at most (about 60 bytes each).
const CAPACITY: usize = 100_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60), CAPACITY)
    }

    pub fn per_hour(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(3600), CAPACITY)
    }

    pub fn new(limit: u32, window: Duration, capacity: usize) -> Self {
        Self {
            interval: (limit > 0).then(|| window / limit),
            window,
            capacity: capacity.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request for `key`; refused (429 with the wait) past the budget.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        self.admit(key, true)
    }

    /// Whether `key` has budget left, without spending any: for limits that count
    /// failures, checked before the attempt and charged (`check`) after one fails.
    pub fn peek(&self, key: &K) -> Result<(), ApiError> {
        self.admit(key, false)
    }

    fn admit(&self, key: &K, spend: bool) -> Result<(), ApiError> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= self.capacity && !clients.contains_key(key) {
            clients.retain(|_, tat| *tat > now);
            if clients.len() >= self.capacity {
                // Still full of live keys: drop the quietest half.
                let mut tats: Vec<Instant> = clients.values().copied().collect();
                tats.sort_unstable();
                let cut = tats[tats.len() / 2];
                clients.retain(|_, tat| *tat > cut);
            }
        }
        let tat = clients.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = tat + interval;
        if allowed_at > now + self.window {
            let wait = allowed_at - (now + self.window);
            return Err(ApiError::RateLimited(wait.as_secs().max(1)));
        }
        if spend {
            clients.insert(key.clone(), allowed_at);
        }
        Ok(())
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allows_the_budget_then_refuses_with_retry_after() {
        let limiter = RateLimiter::per_minute(3);
        for _ in 0..3 {
            limiter.check(&ip("1.2.3.4")).unwrap();
        }
        match limiter.check(&ip("1.2.3.4")) {
            Err(ApiError::RateLimited(secs)) => assert!((1..=20).contains(&secs)),
            other => panic!("expected 429, got {other:?}"),
        }
        limiter
            .check(&ip("5.6.7.8"))
            .expect("other clients have their own budget");
    }

    #[test]
    fn peeking_spends_nothing() {
        let limiter: RateLimiter<String> = RateLimiter::per_minute(2);
        let key = "share".to_owned();
        for _ in 0..10 {
            limiter.peek(&key).unwrap();
        }
        limiter.check(&key).unwrap();
        limiter.check(&key).unwrap();
        assert!(limiter.peek(&key).is_err(), "the budget is spent");
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::per_minute(0);
        for _ in 0..1000 {
            limiter.check(&ip("1.2.3.4")).unwrap();
        }
        assert!(limiter.is_empty());
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_within_capacity() {
        let limiter: RateLimiter<u32> = RateLimiter::new(5, Duration::from_secs(60), 1000);
        for key in 0..50_000u32 {
            limiter.check(&key).unwrap();
        }
        assert!(limiter.len() <= 1000, "{} keys", limiter.len());
        // A key that is being limited right now is among those kept.
        for _ in 0..5 {
            limiter.check(&7_000_000).unwrap();
        }
        for key in 0..2000u32 {
            let _ = limiter.check(&key);
        }
        assert!(
            limiter.check(&7_000_000).is_err(),
            "its budget survived the flood"
        );
    }
}
