//! Failed authentications per client address: after `desk.max_auth_failures_per_minute` in a
//! minute, the address is answered 429 until that minute is over, so that tokens cannot be
//! guessed at speed. Written here rather than taken from a rate-limiting crate because what is
//! limited is failures only (a desk behind one NAT must not be throttled for its own traffic),
//! which the well-kept limiters (`governor`) do not count apart; it is a map and a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past it, the ones whose minute is over are forgotten first.
const MAX_ADDRESSES: usize = 100_000;

/// Failures per address in the current minute.
#[derive(Debug)]
pub struct FailureLimiter {
    max: u32,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    /// At most `max` failures per address per minute (0: no limit).
    pub fn new(max: u32) -> FailureLimiter {
        FailureLimiter {
            max,
            seen: Mutex::default(),
        }
    }

    /// How long `addr` must still wait, when it has used up its failures.
    pub fn blocked(&self, addr: IpAddr) -> Option<Duration> {
        self.blocked_at(addr, Instant::now())
    }

    /// Counts a failure of `addr`.
    pub fn failed(&self, addr: IpAddr) {
        self.failed_at(addr, Instant::now());
    }

    fn blocked_at(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        if self.max == 0 {
            return None;
        }
        let seen = self.seen.lock().ok()?;
        let (start, n) = seen.get(&addr)?;
        let left = WINDOW.checked_sub(now.saturating_duration_since(*start))?;
        (*n >= self.max && !left.is_zero()).then_some(left)
    }

    fn failed_at(&self, addr: IpAddr, now: Instant) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (start, _)| now.saturating_duration_since(*start) < WINDOW);
        }
        let entry = seen.entry(addr).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_back_after_its_failures_until_its_minute_is_over() {
        let l = FailureLimiter::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..2 {
            l.failed_at(a, t0);
        }
        assert_eq!(l.blocked_at(a, t0), None, "two of three");
        l.failed_at(a, t0);
        assert!(l.blocked_at(a, t0 + Duration::from_secs(59)).is_some());
        assert_eq!(
            l.blocked_at(b, t0),
            None,
            "another address is not held back"
        );
        assert_eq!(l.blocked_at(a, t0 + WINDOW), None, "the minute is over");
        l.failed_at(a, t0 + WINDOW);
        assert_eq!(
            l.blocked_at(a, t0 + WINDOW),
            None,
            "a new minute, one failure"
        );
        assert_eq!(FailureLimiter::new(0).blocked_at(a, t0), None);
    }
}
