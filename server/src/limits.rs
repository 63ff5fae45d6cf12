//! Per-API-key request limits (the seed: "Rate limiting is per API key, not per IP"). GCRA from governor:
//! a key may burst up to its per-minute budget, then gets 429 with `Retry-After` until it refills.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Limits requests per key hash.
pub struct KeyLimiter {
    inner: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
    clock: DefaultClock,
}

impl KeyLimiter {
    /// `per_minute` requests per minute per key; `None` when 0 (disabled).
    pub fn new(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self { inner: RateLimiter::keyed(Quota::per_minute(n)), clock: DefaultClock::default() })
    }

    /// `Ok` if `key` may make a request now, else how long to wait.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.inner.check_key(&key.to_owned()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forget keys whose budget is full again, so memory does not grow with every key ever seen.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_per_key() {
        let l = KeyLimiter::new(3).unwrap();
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        let wait = l.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(l.check("b").is_ok(), "another key has its own budget");
        assert!(KeyLimiter::new(0).is_none());
    }
}
