//! Per-client rate limit for the auth routes: GCRA (a leaky bucket kept as one
//! timestamp per client), `per_minute` requests a minute with that many in a burst.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ApiError;

pub struct RateLimiter {
    /// Time one request "costs"; `None` = limit off.
    interval: Option<Duration>,
    window: Duration,
    /// Theoretical arrival time per client.
    clients: Mutex<HashMap<String, Instant>>,
}

/// Above this many tracked clients, idle ones are dropped on the next check.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        let window = Duration::from_secs(60);
        Self {
            interval: (limit > 0).then(|| window / limit),
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, client: &str) -> Result<(), ApiError> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= SWEEP_AT {
            clients.retain(|_, tat| *tat > now);
        }
        let tat = clients.get(client).copied().unwrap_or(now).max(now);
        let allowed_at = tat + interval;
        if allowed_at > now + self.window {
            let wait = allowed_at - (now + self.window);
            return Err(ApiError::RateLimited(wait.as_secs().max(1)));
        }
        clients.insert(client.to_owned(), allowed_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_budget_then_refuses_with_retry_after() {
        let limiter = RateLimiter::per_minute(3);
        for _ in 0..3 {
            limiter.check("1.2.3.4").unwrap();
        }
        match limiter.check("1.2.3.4") {
            Err(ApiError::RateLimited(secs)) => assert!((1..=20).contains(&secs)),
            other => panic!("expected 429, got {other:?}"),
        }
        limiter
            .check("5.6.7.8")
            .expect("other clients have their own budget");
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::per_minute(0);
        for _ in 0..1000 {
            limiter.check("1.2.3.4").unwrap();
        }
    }
}
