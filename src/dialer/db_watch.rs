//! Whether the database answers the dialer. While it is away (PostgreSQL stopped, the network
//! to it cut) the dialer's queries wait for it — the pool keeps trying to connect for up to its
//! acquire timeout — so a pass simply does not get to start calls: dialing pauses by itself,
//! and resumes with the first pass after the database is back. What this watch adds is saying
//! so: a pass that has not ended after `SLOW` (or one that failed with a database error) makes
//! the dialer ask the database something trivial; no answer within `PROBE_TIMEOUT` means it is
//! away — one WARN naming it, a reminder every `REMIND_EVERY` while it stays away, and one line
//! when a pass goes through again. The calls up meanwhile go on; their results are written
//! when the database is back (`calls::retrying`).
//!
//! The state is a plain record of since when the database has been away; `run` drives it.
use crate::store::DialerStore;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A pass taking this long makes the dialer ask whether the database answers.
pub const SLOW: Duration = Duration::from_secs(3);
/// How long the database has to answer the dialer's question.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the question is asked again while a pass waits.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);
/// While the database stays away, a reminder this often.
pub const REMIND_EVERY: Duration = Duration::from_secs(60);

/// What a failed question changed, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The database is away from now on (the pass waiting for it began this long ago).
    Away { waited: Duration },
    /// It is still away, this long now: a reminder.
    StillAway { away: Duration },
}

/// Since when the database has been away, if it is.
#[derive(Debug, Default)]
struct State {
    since: Option<Instant>,
    reminded: Option<Instant>,
}

/// The dialer's view of its database (see the top).
#[derive(Debug)]
pub struct DbWatch {
    /// The database as the log names it (a PostgreSQL URL without its password, the SQLite
    /// file's path).
    database: String,
    state: Mutex<State>,
}

impl Default for DbWatch {
    fn default() -> Self {
        Self::new("the database".into())
    }
}

impl DbWatch {
    pub fn new(database: String) -> Self {
        Self {
            database,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database as the log names it.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Whether the database is away now (as the last question found it).
    pub fn away(&self) -> bool {
        self.state().since.is_some()
    }

    /// The database did not answer at `now`; the pass waiting for it began at `began`.
    /// Answers what to log: the outage's start once, then a reminder every `REMIND_EVERY`.
    pub fn no_answer(&self, began: Instant, now: Instant) -> Option<Note> {
        let mut s = self.state();
        match s.since {
            None => {
                s.since = Some(began.min(now));
                s.reminded = Some(now);
                Some(Note::Away {
                    waited: now.saturating_duration_since(began),
                })
            }
            Some(since) => {
                let due = s
                    .reminded
                    .is_none_or(|r| now.saturating_duration_since(r) >= REMIND_EVERY);
                due.then(|| {
                    s.reminded = Some(now);
                    Note::StillAway {
                        away: now.saturating_duration_since(since),
                    }
                })
            }
        }
    }

    /// A pass went through at `now`: answers how long the database was away, if it was.
    pub fn answered(&self, now: Instant) -> Option<Duration> {
        let mut s = self.state();
        s.reminded = None;
        s.since
            .take()
            .map(|since| now.saturating_duration_since(since))
    }

    /// Logs a failed question (see `no_answer`).
    fn log_no_answer(&self, began: Instant, why: &str) {
        match self.no_answer(began, Instant::now()) {
            Some(Note::Away { waited }) => {
                tracing::warn!(
                    database = %self.database,
                    error = %why,
                    waited_s = waited.as_secs(),
                    "the database does not answer: dialing paused until it does (calls up go \
                     on; their results are written when it is back)"
                );
            }
            Some(Note::StillAway { away }) => tracing::warn!(
                database = %self.database,
                error = %why,
                away_s = away.as_secs(),
                "the database still does not answer: dialing stays paused"
            ),
            None => {}
        }
    }

    /// Runs beside a pass that began at `began`: once the pass has taken `SLOW`, asks the
    /// database every `PROBE_EVERY` whether it answers, and logs when it does not. Never
    /// ends: the pass ending drops it.
    pub async fn beside_pass(
        &self,
        store: &dyn DialerStore,
        began: Instant,
    ) -> std::convert::Infallible {
        tokio::time::sleep_until(began + SLOW).await;
        loop {
            if let Err(why) = answers(store).await {
                self.log_no_answer(began, &why);
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }

    /// A pass that began at `began` failed with `error`: answers whether the database is away
    /// (then logged here; else the caller logs the error).
    pub async fn pass_failed(
        &self,
        store: &dyn DialerStore,
        began: Instant,
        error: &crate::store::StoreError,
    ) -> bool {
        if !matches!(error, crate::store::StoreError::Db(_)) {
            return false;
        }
        match answers(store).await {
            Ok(()) => false,
            Err(why) => {
                self.log_no_answer(began, &format!("{error}; asked again: {why}"));
                true
            }
        }
    }

    /// A pass went through: logs the end of an outage, if there was one.
    pub fn pass_done(&self) {
        if let Some(away) = self.answered(Instant::now()) {
            tracing::info!(
                database = %self.database,
                away_s = away.as_secs(),
                "the database answers again: dialing resumes"
            );
        }
    }
}

/// Whether the database answers a trivial question within `PROBE_TIMEOUT`; why not, if not.
pub async fn answers(store: &dyn DialerStore) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, store.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer in {} s", PROBE_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_outage_is_told_once_reminded_every_minute_and_its_end_told_with_its_length() {
        let w = DbWatch::new("postgres://ai@db/x".into());
        let began = Instant::now();
        tokio::time::advance(SLOW + PROBE_TIMEOUT).await;
        assert!(!w.away());
        assert_eq!(
            w.no_answer(began, Instant::now()),
            Some(Note::Away {
                waited: SLOW + PROBE_TIMEOUT
            })
        );
        assert!(w.away());
        // Asked again within the minute: nothing more to say.
        tokio::time::advance(PROBE_EVERY).await;
        assert_eq!(w.no_answer(Instant::now(), Instant::now()), None);
        tokio::time::advance(REMIND_EVERY).await;
        let away = SLOW + PROBE_TIMEOUT + PROBE_EVERY + REMIND_EVERY;
        assert_eq!(
            w.no_answer(Instant::now(), Instant::now()),
            Some(Note::StillAway { away })
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            w.answered(Instant::now()),
            Some(away + Duration::from_secs(1))
        );
        assert!(!w.away());
        // Back to normal: a pass that goes through says nothing; the next outage is told anew.
        assert_eq!(w.answered(Instant::now()), None);
        let began = Instant::now();
        assert_eq!(
            w.no_answer(began, began),
            Some(Note::Away {
                waited: Duration::ZERO
            })
        );
    }
}
