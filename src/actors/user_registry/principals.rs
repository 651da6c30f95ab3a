//! The principals cache UserRegistry owns: who a token's bearer is, as last read
//! from the database (account, session, blocklist, photo count), keyed by the
//! token id. A hit answers an authenticated request without a database round trip.
//!
//! Entries go when their token expires, after `ttl` (the backstop), or at once when
//! an event says the account or the session changed. A fetch that started before
//! such an event is not cached when it completes (the `generation` check), so an
//! old answer cannot outlive the event that made it old.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::auth::Principal;

pub struct Principals {
    entries: HashMap<String, (Instant, Principal)>,
    ttl: Duration,
    max: usize,
    generation: u64,
    pub hits: u64,
    pub misses: u64,
}

impl Principals {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Principals {
            entries: HashMap::new(),
            ttl,
            max: max.max(1),
            generation: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// The cached principal of a token id, if still fresh.
    pub fn get(&mut self, jti: &str) -> Option<Principal> {
        let now = chrono::Utc::now();
        let found = self
            .entries
            .get(jti)
            .filter(|(at, p)| at.elapsed() < self.ttl && p.expires_at > now)
            .map(|(_, p)| p.clone());
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Where invalidations stand now: pass it back to `insert`.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Caches what a fetch that started at `generation` found, unless something
    /// was invalidated since.
    pub fn insert(&mut self, generation: u64, principal: Principal) {
        if generation != self.generation {
            return;
        }
        if self.entries.len() >= self.max {
            let ttl = self.ttl;
            self.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if self.entries.len() >= self.max {
                self.entries.clear();
            }
        }
        self.entries
            .insert(principal.jti.clone(), (Instant::now(), principal));
    }

    pub fn forget_user(&mut self, user_id: &str) {
        self.generation += 1;
        self.entries.retain(|_, (_, p)| p.user.id != user_id);
    }

    pub fn forget_session(&mut self, sid: &str) {
        self.generation += 1;
        self.entries.retain(|_, (_, p)| p.sid != sid);
    }

    pub fn clear(&mut self) {
        self.generation += 1;
        self.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, UserRecord};

    fn principal(user: &str, sid: &str, jti: &str) -> Principal {
        Principal {
            user: UserRecord {
                id: user.into(),
                username: user.into(),
                email: format!("{user}@example.com"),
                full_name: None,
                bio: None,
                role: Role::User,
                is_active: true,
                password_hash: String::new(),
                created_at: chrono::Utc::now(),
                deleting: false,
            },
            sid: sid.into(),
            jti: jti.into(),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(5),
            photo_count: 0,
        }
    }

    #[test]
    fn entries_go_with_their_user_or_session_and_late_fetches_are_not_cached() {
        let mut c = Principals::new(Duration::from_secs(60), 100);
        let g = c.generation();
        c.insert(g, principal("u1", "s1", "t1"));
        c.insert(g, principal("u1", "s2", "t2"));
        c.insert(g, principal("u2", "s3", "t3"));
        assert!(c.get("t1").is_some());
        c.forget_session("s1");
        assert!(c.get("t1").is_none());
        assert!(c.get("t2").is_some());
        c.forget_user("u1");
        assert!(c.get("t2").is_none());
        assert!(c.get("t3").is_some());
        // A fetch that began before the last invalidation is dropped.
        c.insert(g, principal("u1", "s4", "t4"));
        assert!(c.get("t4").is_none());
        assert_eq!((c.hits, c.misses), (3, 3));
    }

    #[test]
    fn entries_expire_and_the_cache_stays_bounded() {
        let mut c = Principals::new(Duration::ZERO, 2);
        c.insert(0, principal("u", "s", "t"));
        assert!(c.get("t").is_none(), "a zero ttl caches nothing usable");
        let mut c = Principals::new(Duration::from_secs(60), 2);
        for i in 0..5 {
            c.insert(0, principal("u", "s", &format!("t{i}")));
        }
        assert!(c.len() <= 2);
        let mut old = principal("u", "s", "old");
        old.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1);
        c.insert(0, old);
        assert!(c.get("old").is_none(), "an expired token is never served");
    }
}
