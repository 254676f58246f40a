//! The dialer's clock, injected: the wall clock in production, a manual one in tests so that
//! schedules, retry intervals and holds are checked without waiting.
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Where the dialer's "now" comes from: the wall clock, or a manual one that tests move
/// (calls themselves always run in real time).
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    /// A manual clock reading `base`.
    pub fn manual(base: DateTime<Utc>) -> Self {
        Clock::Manual(Arc::new(std::sync::atomic::AtomicI64::new(
            base.timestamp_millis(),
        )))
    }

    /// Moves a manual clock forward.
    pub fn advance(&self, d: Duration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(d.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(ms) => {
                DateTime::from_timestamp_millis(ms.load(std::sync::atomic::Ordering::SeqCst))
                    .unwrap_or_default()
            }
        }
    }
}
