//! The clock every time-dependent decision reads, injected: the wall clock in production, a
//! manual one in tests, so that schedules, retry intervals, holds, a project's end date-time
//! and the outbox's timers are checked without waiting and on any date. Below the `serve` /
//! `call` edges nothing reads the wall clock for a decision (tests run the date-dependent
//! suites with the system clock moved a year ahead to prove it: `scripts/test.sh`).
//! Calls themselves run in real time (their 20 ms ticks are tokio's monotonic timers).
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where "now" comes from: the wall clock, or a manual one that tests move.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock reading `base`.
    pub fn manual(base: DateTime<Utc>) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(base.timestamp_millis())))
    }

    /// Moves a manual clock forward (the wall clock is not moved).
    pub fn advance(&self, d: Duration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
        }
    }

    /// Sets a manual clock to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        if let Clock::Manual(ms) = self {
            ms.store(t.timestamp_millis(), Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(ms) => {
                DateTime::from_timestamp_millis(ms.load(Ordering::SeqCst)).unwrap_or_default()
            }
        }
    }

    /// Now in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Now in unix seconds.
    pub fn now_s(&self) -> i64 {
        self.now().timestamp()
    }
}
