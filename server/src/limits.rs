//! Per-API-key request limits (the seed: "Rate limiting is per API key, not per IP"). GCRA from governor:
//! a key may burst up to its per-minute budget, then gets 429 with `Retry-After` until it refills.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

/// How often keys whose budget is full again are forgotten. A key's budget refills within a minute, so an entry
/// lives at most about two minutes after its key's last request.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Limits requests per key hash. Only keys that exist are charged (see `extract::AuthUser`), and idle ones are
/// forgotten every minute, so memory follows the keys in use, not every string ever sent as one.
pub struct KeyLimiter {
    inner: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
    clock: DefaultClock,
    forgotten_at: Mutex<Instant>,
}

impl KeyLimiter {
    /// `per_minute` requests per minute per key; `None` when 0 (disabled).
    pub fn new(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self {
            inner: RateLimiter::keyed(Quota::per_minute(n)),
            clock: DefaultClock::default(),
            forgotten_at: Mutex::new(Instant::now()),
        })
    }

    /// `Ok` if `key` may make a request now, else how long to wait.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.forget_idle_if_due();
        self.inner.check_key(&key.to_owned()).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Forget keys whose budget is full again, so memory does not grow with every key ever seen.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// [`Self::forget_idle`] once a minute, by whichever request comes first (the rest do not wait for it).
    fn forget_idle_if_due(&self) {
        let Ok(mut at) = self.forgotten_at.try_lock() else { return };
        if at.elapsed() >= FORGET_EVERY {
            *at = Instant::now();
            self.forget_idle();
        }
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

    #[test]
    fn idle_keys_are_forgotten() {
        let l = KeyLimiter::new(60_000).unwrap();
        for k in 0..100 {
            assert!(l.check(&k.to_string()).is_ok());
        }
        assert_eq!(l.len(), 100);
        // At 1,000 a second, a key's single request is refilled in a millisecond.
        std::thread::sleep(Duration::from_millis(20));
        if let Ok(mut at) = l.forgotten_at.lock() {
            *at = Instant::now().checked_sub(FORGET_EVERY).unwrap_or(*at);
        }
        assert!(l.check("new").is_ok());
        assert_eq!(l.len(), 1, "the first request after a minute forgets the idle keys");
    }
}
