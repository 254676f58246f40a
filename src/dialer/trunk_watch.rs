//! The trunk's own health, as its calls show it (docs/telephony.md, "When the trunk does not
//! answer"). A call the trunk never answered at all — not a status, not a 100 Trying: the
//! INVITE timed out or the ring timeout passed in silence — says the trunk (or the network to
//! it) is down, not the callee. Dialing on would spend every contact's `system` attempts in
//! minutes, so after `SILENT_IN_A_ROW` such calls in a row the dialer holds: it places no new
//! call, then one probe call after `FIRST_BACKOFF_MS`, doubling up to `MAX_BACKOFF_MS` while
//! the probes go unanswered; the first call the trunk answers in any way (a 180, a 486, an
//! answer) ends the hold. The calls that failed keep their `system` result (the contract's
//! rule for network errors); the contacts not yet dialed keep their attempts.
//!
//! A plain state machine over call ends and the dialer's clock (unix ms); `calls` feeds it,
//! `run` asks it how many calls the trunk may take.

/// Calls in a row the trunk did not answer at all before the dialer holds.
pub const SILENT_IN_A_ROW: u32 = 5;
/// The first wait before a probe call.
pub const FIRST_BACKOFF_MS: i64 = 5_000;
/// The longest wait between probe calls.
pub const MAX_BACKOFF_MS: i64 = 60_000;

/// What a call's end says about the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkSaid {
    /// Something came back from the far end (a provisional or final status, an answer).
    Answered,
    /// Nothing came back at all.
    Silent,
}

/// A change the caller logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The dialer holds from now on; the first probe at this time.
    Held { probe_at_ms: i64 },
    /// A probe went unanswered; the next one at this time.
    ProbeFailed { probe_at_ms: i64 },
    /// The trunk answered again after this long held.
    Back { held_ms: i64 },
}

#[derive(Debug, Default, Clone)]
pub struct TrunkWatch {
    silent_in_a_row: u32,
    held: Option<Hold>,
}

#[derive(Debug, Clone)]
struct Hold {
    since_ms: i64,
    backoff_ms: i64,
    probe_at_ms: i64,
    /// The probe call out now, if any.
    probe: Option<i64>,
}

impl TrunkWatch {
    /// Whether the dialer holds now.
    pub fn held(&self) -> bool {
        self.held.is_some()
    }

    /// How many new calls the trunk may take now: `None` without a limit; while held, one
    /// probe once its time has come and none is out, else none.
    pub fn room(&self, now_ms: i64) -> Option<u32> {
        self.held
            .as_ref()
            .map(|h| u32::from(h.probe.is_none() && now_ms >= h.probe_at_ms))
    }

    /// The dialer placed this call; while held it is the probe.
    pub fn placed(&mut self, call_id: i64) {
        if let Some(h) = self.held.as_mut() {
            if h.probe.is_none() {
                h.probe = Some(call_id);
            }
        }
    }

    /// A call ended: what the trunk said to it. While held, only the probe's silence counts
    /// (calls placed before the hold end silent too, and say nothing new); any answer at all
    /// ends the hold.
    pub fn ended(&mut self, call_id: i64, said: TrunkSaid, now_ms: i64) -> Option<Change> {
        match said {
            TrunkSaid::Answered => {
                self.silent_in_a_row = 0;
                self.held.take().map(|h| Change::Back {
                    held_ms: (now_ms - h.since_ms).max(0),
                })
            }
            TrunkSaid::Silent => {
                self.silent_in_a_row = self.silent_in_a_row.saturating_add(1);
                match self.held.as_mut() {
                    Some(h) if h.probe == Some(call_id) => {
                        h.backoff_ms = (h.backoff_ms * 2).min(MAX_BACKOFF_MS);
                        h.probe_at_ms = now_ms + h.backoff_ms;
                        h.probe = None;
                        Some(Change::ProbeFailed {
                            probe_at_ms: h.probe_at_ms,
                        })
                    }
                    Some(_) => None,
                    None if self.silent_in_a_row >= SILENT_IN_A_ROW => {
                        let probe_at_ms = now_ms + FIRST_BACKOFF_MS;
                        self.held = Some(Hold {
                            since_ms: now_ms,
                            backoff_ms: FIRST_BACKOFF_MS,
                            probe_at_ms,
                            probe: None,
                        });
                        Some(Change::Held { probe_at_ms })
                    }
                    None => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_silent_calls_in_a_row_hold_and_an_answer_between_them_resets_the_count() {
        let mut w = TrunkWatch::default();
        for id in 1..=4 {
            assert_eq!(w.ended(id, TrunkSaid::Silent, 1_000), None);
        }
        // A busy number answered: the trunk is there.
        assert_eq!(w.ended(5, TrunkSaid::Answered, 1_000), None);
        for id in 6..=9 {
            assert_eq!(w.ended(id, TrunkSaid::Silent, 2_000), None);
        }
        assert_eq!(w.room(2_000), None);
        assert_eq!(
            w.ended(10, TrunkSaid::Silent, 2_000),
            Some(Change::Held {
                probe_at_ms: 2_000 + FIRST_BACKOFF_MS
            })
        );
        assert!(w.held());
        assert_eq!(w.room(2_000), Some(0));
    }

    #[test]
    fn held_it_probes_one_call_at_a_time_backing_off_to_the_cap_and_an_answer_ends_it() {
        let mut w = TrunkWatch::default();
        for id in 1..=5 {
            w.ended(id, TrunkSaid::Silent, 0);
        }
        // Calls placed before the hold end silent too: they change nothing.
        assert_eq!(w.ended(6, TrunkSaid::Silent, 1_000), None);
        assert_eq!(w.room(FIRST_BACKOFF_MS - 1), Some(0));
        let mut t = FIRST_BACKOFF_MS;
        let mut backoff = FIRST_BACKOFF_MS;
        let mut waits = Vec::new();
        for probe in 100..108 {
            assert_eq!(w.room(t), Some(1), "at {t}");
            w.placed(probe);
            // One probe at a time.
            assert_eq!(w.room(t), Some(0));
            w.placed(probe + 1000);
            t += 2_000;
            // Another call's silence is not the probe's.
            assert_eq!(w.ended(probe + 1000, TrunkSaid::Silent, t), None);
            backoff = (backoff * 2).min(MAX_BACKOFF_MS);
            assert_eq!(
                w.ended(probe, TrunkSaid::Silent, t),
                Some(Change::ProbeFailed {
                    probe_at_ms: t + backoff
                })
            );
            waits.push(backoff);
            assert_eq!(w.room(t + backoff - 1), Some(0));
            t += backoff;
        }
        assert_eq!(
            waits,
            [10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000, 60_000]
        );
        w.placed(200);
        assert_eq!(
            w.ended(200, TrunkSaid::Answered, t + 500),
            Some(Change::Back { held_ms: t + 500 })
        );
        assert!(!w.held());
        assert_eq!(w.room(t + 500), None);
        // After the hold, the count starts again from nothing.
        for id in 300..304 {
            assert_eq!(w.ended(id, TrunkSaid::Silent, t + 600), None);
        }
        assert!(!w.held());
    }
}
