//! The login throttle (docs/users.md, "Signing in"): after 5 failed logins in a minute for one
//! user name, or from one address, further attempts for it are refused until the minute has
//! passed — a guesser gets 5 tries a minute, not thousands. Pure: the caller gives the time.
use std::collections::{HashMap, VecDeque};

/// Failures allowed per key in one window.
pub const MAX_FAILURES: usize = 5;
/// The window, ms.
pub const WINDOW_MS: i64 = 60_000;
/// Keys kept at most (the oldest are forgotten first: a flood of made-up names cannot grow
/// the map without bound).
const MAX_KEYS: usize = 100_000;

/// Failed logins per user name and per address over the last minute.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<String, VecDeque<i64>>,
}

impl Throttle {
    fn keys(user: &str, addr: &str) -> [String; 2] {
        [
            format!("u:{}", user.trim().to_lowercase()),
            format!("a:{addr}"),
        ]
    }

    /// How long (ms) this attempt must wait, `None` when it may go ahead now.
    pub fn wait_ms(&mut self, user: &str, addr: &str, now_ms: i64) -> Option<i64> {
        let mut wait = None;
        for k in Self::keys(user, addr) {
            if let Some(q) = self.failures.get_mut(&k) {
                while q.front().is_some_and(|t| *t <= now_ms - WINDOW_MS) {
                    q.pop_front();
                }
                if q.len() >= MAX_FAILURES {
                    let until = q.front().copied().unwrap_or(now_ms) + WINDOW_MS;
                    wait = Some(wait.unwrap_or(0).max(until - now_ms));
                }
            }
        }
        wait
    }

    /// A failed login.
    pub fn failed(&mut self, user: &str, addr: &str, now_ms: i64) {
        if self.failures.len() >= MAX_KEYS {
            self.failures
                .retain(|_, q| q.back().is_some_and(|t| *t > now_ms - WINDOW_MS));
        }
        for k in Self::keys(user, addr) {
            self.failures.entry(k).or_default().push_back(now_ms);
        }
    }

    /// A successful login clears the user's count (not the address's).
    pub fn succeeded(&mut self, user: &str) {
        self.failures
            .remove(&format!("u:{}", user.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_a_minute_per_user_or_address_then_wait() {
        let mut t = Throttle::default();
        for i in 0..5 {
            assert_eq!(t.wait_ms("admin", "10.0.0.1", i * 1000), None);
            t.failed("admin", "10.0.0.1", i * 1000);
        }
        // The sixth waits until the first failure is a minute old.
        assert_eq!(t.wait_ms("Admin", "10.0.0.9", 5_000), Some(55_000));
        // Another user from the same address: the address is throttled too.
        assert_eq!(t.wait_ms("anna", "10.0.0.1", 5_000), Some(55_000));
        // Another user from elsewhere goes ahead.
        assert_eq!(t.wait_ms("anna", "10.0.0.2", 5_000), None);
        // A minute after the first failure, one more try.
        assert_eq!(t.wait_ms("admin", "10.0.0.1", 60_000), None);
        t.succeeded("admin");
        assert_eq!(t.wait_ms("admin", "10.0.0.3", 60_000), None);
    }
}
