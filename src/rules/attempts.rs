//! Attempt accounting (docs/campaigns.md "Attempts", "Several numbers", "Contact statuses"): pure
//! state over a contact's numbers, fed each call's result and time; says which number to dial next
//! and not before when, and why a number or a contact is finished.
use crate::scenario::system_result as r;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Results the dialer retries; anything else means a person was reached.
pub const RETRYABLE: [&str; 5] = [
    r::NO_ANSWER,
    r::BUSY,
    r::REJECTED,
    r::SYSTEM,
    r::ANSWERING_MACHINE,
];

/// The most calls to one number a robot project may allow (spec: 1 or 2).
pub const MAX_CALLS_PER_NUMBER_LIMIT: u32 = 2;

/// Whether a call with this result reached the person (any scenario result, `not_listened`,
/// `queue_abandoned`).
pub fn is_reached(result: &str) -> bool {
    !RETRYABLE.contains(&result)
}

/// One retryable result's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryRule {
    /// Stop calling a number after this result came this many times in a row on it.
    pub attempts: u32,
    /// Wait this long after this result before the contact's next call.
    pub interval_s: u64,
}

/// A project's attempt rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRules {
    pub max_calls_per_number: u32,
    /// A rule for each of `RETRYABLE`.
    pub per_result: BTreeMap<String, RetryRule>,
}

/// Why a set of rules is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("max_calls_per_number is {0}: a robot project allows 1 or 2")]
    MaxCalls(u32),
    #[error("retry rule for {0:?}: attempts must be at least 1")]
    Attempts(String),
    #[error("retry rule for {0:?}: not a retryable result (one of no_answer, busy, rejected, system, answering_machine)")]
    UnknownResult(String),
}

impl Default for AttemptRules {
    fn default() -> Self {
        let rule = |attempts, minutes: u64| RetryRule {
            attempts,
            interval_s: minutes * 60,
        };
        Self {
            max_calls_per_number: 2,
            per_result: [
                (r::NO_ANSWER, rule(2, 30)),
                (r::BUSY, rule(2, 10)),
                (r::REJECTED, rule(1, 60)),
                (r::SYSTEM, rule(2, 30)),
                (r::ANSWERING_MACHINE, rule(2, 60)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

impl AttemptRules {
    /// Rules with `max_calls_per_number`, the given per-result rules, and the defaults for the
    /// results not given. Refuses 3+ calls per number, zero attempts and unknown results.
    pub fn new(
        max_calls_per_number: u32,
        given: BTreeMap<String, RetryRule>,
    ) -> Result<Self, RuleError> {
        if !(1..=MAX_CALLS_PER_NUMBER_LIMIT).contains(&max_calls_per_number) {
            return Err(RuleError::MaxCalls(max_calls_per_number));
        }
        let mut rules = Self {
            max_calls_per_number,
            ..Self::default()
        };
        for (k, v) in given {
            if !RETRYABLE.contains(&k.as_str()) {
                return Err(RuleError::UnknownResult(k));
            }
            if v.attempts == 0 {
                return Err(RuleError::Attempts(k));
            }
            rules.per_result.insert(k, v);
        }
        Ok(rules)
    }

    fn rule(&self, result: &str) -> RetryRule {
        self.per_result.get(result).copied().unwrap_or(RetryRule {
            attempts: 1,
            interval_s: 0,
        })
    }
}

/// One number's attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberState {
    pub calls: u32,
    pub last_result: Option<String>,
    /// How many times in a row `last_result` came.
    pub in_row: u32,
    /// Whether calling this number has stopped.
    pub done: bool,
    /// Stopped because the number is on the stop list (never dialed again by any project).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_listed: bool,
}

/// The four contact statuses (docs/campaigns.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    /// Еще не звонили.
    NotCalled,
    /// Позвоним еще раз.
    Retry,
    /// Дозвонились.
    Reached,
    /// Не дозвонились.
    NotReached,
}

impl ContactStatus {
    /// The Russian label for the UI and exports.
    pub fn label_ru(self) -> &'static str {
        match self {
            ContactStatus::NotCalled => "Еще не звонили",
            ContactStatus::Retry => "Позвоним еще раз",
            ContactStatus::Reached => "Дозвонились",
            ContactStatus::NotReached => "Не дозвонились",
        }
    }
}

/// A contact's attempt state across its numbers (in the contact's order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempts {
    pub numbers: Vec<NumberState>,
    pub status: ContactStatus,
    /// The last call: (number index, unix time in s, result).
    pub last_call: Option<(usize, i64, String)>,
    /// Not to be called before this unix time (s), whatever the rules say: a call back an
    /// agent asked for. Kept with the attempts so every re-plan (an edit of the project, the
    /// stop list) keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until: Option<i64>,
}

/// What one result did to a contact (for the decision log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A person answered: the contact is complete.
    Reached,
    /// The number goes on; the contact's next call is due at `not_before` (unix s).
    Retry { not_before: i64 },
    /// Calling this number stopped; other numbers may go on.
    NumberDone { reason: StopReason },
    /// Every number is done without reaching the person.
    NotReached { reason: StopReason },
}

/// Why calling a number stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The number reached max calls.
    MaxCalls(u32),
    /// The same result came `attempts` times in a row.
    SameResultInRow { result: String, times: u32 },
    /// The number is on the stop list.
    StopListed,
    /// The schedule never opens while it is inside the window in the callee's zone.
    NeverInWindow(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::MaxCalls(n) => write!(f, "max calls per number ({n}) reached"),
            StopReason::SameResultInRow { result, times } => {
                write!(f, "{result} {times} time(s) in a row: its attempts limit")
            }
            StopReason::StopListed => f.write_str("on the stop list"),
            StopReason::NeverInWindow(tz) => write!(
                f,
                "the schedule is never open while the callee's local time ({tz}) is inside it"
            ),
        }
    }
}

/// The next call a contact is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextCall {
    /// Index of the number to dial.
    pub number: usize,
    /// Unix time (s) before which it must not be dialed.
    pub not_before: i64,
}

impl ContactAttempts {
    /// A contact with `numbers` numbers, never called.
    pub fn new(numbers: usize) -> Self {
        Self {
            numbers: vec![NumberState::default(); numbers],
            status: ContactStatus::NotCalled,
            last_call: None,
            wait_until: None,
        }
    }

    /// A contact with `numbers` numbers, never called, not to be called before `at`.
    pub fn waiting(numbers: usize, at: i64) -> Self {
        Self {
            wait_until: Some(at),
            ..Self::new(numbers)
        }
    }

    /// Calls made to the contact so far.
    pub fn calls(&self) -> u32 {
        self.numbers.iter().map(|n| n.calls).sum()
    }

    /// Records a finished call to number `idx` with `result` at `at` (unix s).
    pub fn record(&mut self, idx: usize, result: &str, at: i64, rules: &AttemptRules) -> Outcome {
        let Some(n) = self.numbers.get_mut(idx) else {
            return Outcome::NotReached {
                reason: StopReason::MaxCalls(0),
            };
        };
        n.calls += 1;
        if n.last_result.as_deref() == Some(result) {
            n.in_row += 1;
        } else {
            n.in_row = 1;
            n.last_result = Some(result.to_string());
        }
        self.last_call = Some((idx, at, result.to_string()));
        if is_reached(result) {
            self.status = ContactStatus::Reached;
            return Outcome::Reached;
        }
        let rule = rules.rule(result);
        let stop = if n.calls >= rules.max_calls_per_number {
            Some(StopReason::MaxCalls(rules.max_calls_per_number))
        } else if n.in_row >= rule.attempts {
            Some(StopReason::SameResultInRow {
                result: result.to_string(),
                times: n.in_row,
            })
        } else {
            None
        };
        if let Some(reason) = stop {
            n.done = true;
            if self.numbers.iter().all(|n| n.done) {
                self.status = ContactStatus::NotReached;
                return Outcome::NotReached { reason };
            }
            self.status = ContactStatus::Retry;
            return Outcome::NumberDone { reason };
        }
        self.status = ContactStatus::Retry;
        Outcome::Retry {
            not_before: at + rule.interval_s as i64,
        }
    }

    /// Stops number `idx` because it is on the stop list. Answers what that did: the contact
    /// goes on with its other numbers, or is closed as not reached when none is left. A
    /// contact already reached or closed stays as it is.
    pub fn block(&mut self, idx: usize) -> Option<Outcome> {
        self.stop_number(idx, StopReason::StopListed)
    }

    /// Stops number `idx` for `reason` (the stop list, a callee's window the schedule never
    /// meets). Answers what that did, as `block` does.
    pub fn stop_number(&mut self, idx: usize, reason: StopReason) -> Option<Outcome> {
        if matches!(
            self.status,
            ContactStatus::Reached | ContactStatus::NotReached
        ) {
            return None;
        }
        let n = self.numbers.get_mut(idx)?;
        if n.done {
            return None;
        }
        n.done = true;
        n.stop_listed = reason == StopReason::StopListed;
        if self.numbers.iter().all(|n| n.done) {
            self.status = ContactStatus::NotReached;
            return Some(Outcome::NotReached { reason });
        }
        Some(Outcome::NumberDone { reason })
    }

    /// Brings an open contact's numbers under `rules` (a project's retry rules or max calls
    /// were edited): a number over the new limits stops; one stopped only by the old limits, or
    /// by a window the old schedule never met, goes on again (its plan checks the window anew).
    /// Numbers on the stop list stay stopped, and a closed contact stays closed. The next
    /// call's interval follows the new rule by itself (`next`).
    pub fn apply_rules(&mut self, rules: &AttemptRules) {
        if matches!(
            self.status,
            ContactStatus::Reached | ContactStatus::NotReached
        ) {
            return;
        }
        for n in &mut self.numbers {
            if n.stop_listed {
                continue;
            }
            let over_calls = n.calls >= rules.max_calls_per_number;
            let over_row = n
                .last_result
                .as_deref()
                .is_some_and(|r| RETRYABLE.contains(&r) && n.in_row >= rules.rule(r).attempts);
            n.done = over_calls || over_row;
        }
        if self.numbers.iter().all(|n| n.done) {
            self.status = ContactStatus::NotReached;
        }
    }

    /// The next call, if the contact is still to be called: numbers in order, never the same
    /// number twice in a row while another still has attempts; not before the retry interval
    /// of the last result.
    pub fn next(&self, rules: &AttemptRules) -> Option<NextCall> {
        if matches!(
            self.status,
            ContactStatus::Reached | ContactStatus::NotReached
        ) {
            return None;
        }
        let open: Vec<usize> = (0..self.numbers.len())
            .filter(|&i| !self.numbers[i].done)
            .collect();
        let first = *open.first()?;
        let wait = self.wait_until.unwrap_or(i64::MIN);
        let Some((last, at, result)) = &self.last_call else {
            return Some(NextCall {
                number: first,
                not_before: wait,
            });
        };
        let number = open
            .iter()
            .copied()
            .find(|&i| i > *last)
            .or_else(|| open.iter().copied().find(|&i| i != *last))
            .unwrap_or(first);
        Some(NextCall {
            number,
            not_before: (at + rules.rule(result).interval_s as i64).max(wait),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_call_back_waits_for_its_time_whatever_the_rules_say() {
        let rules = AttemptRules::default();
        let mut a = ContactAttempts::waiting(2, 5_000);
        assert_eq!(a.next(&rules).map(|n| n.not_before), Some(5_000));
        // Kept through the attempts' JSON, as the store keeps them.
        let back: ContactAttempts =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        // A call before then (the wait is later than the retry interval) keeps the wait.
        a.last_call = Some((0, 1_000, "no_answer".into()));
        assert_eq!(a.next(&rules).map(|n| n.not_before), Some(5_000));
        // A contact without a wait is due as the rules say.
        assert_eq!(
            ContactAttempts::new(1).next(&rules).map(|n| n.not_before),
            Some(i64::MIN)
        );
    }

    use super::*;

    const MIN: i64 = 60;

    /// Spec §2: all limits 2 except `rejected` = 1, interval 10 min, max calls 2.
    fn spec_rules() -> AttemptRules {
        let given = RETRYABLE
            .iter()
            .map(|k| {
                let attempts = if *k == "rejected" { 1 } else { 2 };
                (
                    k.to_string(),
                    RetryRule {
                        attempts,
                        interval_s: 600,
                    },
                )
            })
            .collect();
        AttemptRules::new(2, given).unwrap()
    }

    #[test]
    fn spec_example_busy_then_rejected_ten_minutes_later_stops_at_max_calls() {
        let rules = spec_rules();
        let mut c = ContactAttempts::new(1);
        let t0 = 1_700_000_000;
        assert_eq!(c.next(&rules).map(|n| n.number), Some(0));
        assert_eq!(
            c.record(0, "busy", t0, &rules),
            Outcome::Retry {
                not_before: t0 + 10 * MIN
            }
        );
        assert_eq!(c.status, ContactStatus::Retry);
        assert_eq!(
            c.next(&rules),
            Some(NextCall {
                number: 0,
                not_before: t0 + 10 * MIN
            })
        );
        assert_eq!(
            c.record(0, "rejected", t0 + 10 * MIN, &rules),
            Outcome::NotReached {
                reason: StopReason::MaxCalls(2)
            }
        );
        assert_eq!(c.status, ContactStatus::NotReached);
        assert_eq!(c.next(&rules), None);
    }

    #[test]
    fn spec_example_rejected_once_stops_at_the_rejected_limit() {
        let rules = spec_rules();
        let mut c = ContactAttempts::new(1);
        assert_eq!(
            c.record(0, "rejected", 0, &rules),
            Outcome::NotReached {
                reason: StopReason::SameResultInRow {
                    result: "rejected".into(),
                    times: 1
                }
            }
        );
        assert_eq!(c.next(&rules), None);
    }

    #[test]
    fn the_same_result_counts_only_in_a_row() {
        // max 2 calls: busy, no_answer → max calls; with a bigger limit in-a-row is what stops.
        let mut given = BTreeMap::new();
        given.insert(
            "busy".to_string(),
            RetryRule {
                attempts: 2,
                interval_s: 60,
            },
        );
        let rules = AttemptRules::new(2, given).unwrap();
        let mut c = ContactAttempts::new(2);
        // Number 0: busy; number 1: busy; number 0: no_answer → max calls on 0 (2 calls).
        assert!(matches!(
            c.record(0, "busy", 0, &rules),
            Outcome::Retry { .. }
        ));
        assert_eq!(c.numbers[0].in_row, 1);
        assert!(matches!(
            c.record(1, "busy", 100, &rules),
            Outcome::Retry { .. }
        ));
        assert_eq!(c.numbers[1].in_row, 1, "in a row is per number");
        assert!(matches!(
            c.record(0, "no_answer", 200, &rules),
            Outcome::NumberDone { .. }
        ));
        assert_eq!(
            c.numbers[0].in_row, 1,
            "a different result restarts the row"
        );
    }

    #[test]
    fn a_stop_listed_number_is_skipped_and_a_contact_with_none_left_is_closed() {
        let rules = AttemptRules::default();
        let mut c = ContactAttempts::new(2);
        assert_eq!(
            c.block(0),
            Some(Outcome::NumberDone {
                reason: StopReason::StopListed
            })
        );
        assert_eq!(
            c.next(&rules).map(|n| n.number),
            Some(1),
            "the second number goes on"
        );
        assert_eq!(c.block(0), None, "already stopped");
        assert_eq!(
            c.block(1),
            Some(Outcome::NotReached {
                reason: StopReason::StopListed
            })
        );
        assert_eq!(c.status, ContactStatus::NotReached);
        assert_eq!(c.next(&rules), None);
        // A reached contact is left alone.
        let mut d = ContactAttempts::new(1);
        d.record(0, "Да", 0, &rules);
        assert_eq!(d.block(0), None);
        assert_eq!(d.status, ContactStatus::Reached);
    }

    #[test]
    fn edited_rules_stop_numbers_over_the_new_limits_and_reopen_those_under_them() {
        let old = AttemptRules::default();
        let mut c = ContactAttempts::new(2);
        c.record(0, "busy", 0, &old);
        assert_eq!(c.next(&old).map(|n| n.not_before), Some(10 * MIN));
        // The busy interval becomes 5 minutes: the pending retry moves to it.
        let mut given = BTreeMap::new();
        given.insert(
            "busy".to_string(),
            RetryRule {
                attempts: 2,
                interval_s: 300,
            },
        );
        let shorter = AttemptRules::new(2, given.clone()).unwrap();
        c.apply_rules(&shorter);
        assert_eq!(c.next(&shorter).map(|n| n.not_before), Some(5 * MIN));
        // One call per number: number 0 has had its call, number 1 goes on.
        let one = AttemptRules::new(1, given).unwrap();
        c.apply_rules(&one);
        assert!(c.numbers[0].done && !c.numbers[1].done);
        assert_eq!(c.next(&one).map(|n| n.number), Some(1));
        // Two again: number 0 goes on too.
        c.apply_rules(&shorter);
        assert!(!c.numbers[0].done);
        // A stop-listed number stays stopped; all numbers over the limits close the contact.
        c.block(1);
        c.apply_rules(&shorter);
        assert!(c.numbers[1].done && c.status == ContactStatus::Retry);
        c.apply_rules(&one);
        assert_eq!(c.status, ContactStatus::NotReached);
        // A closed contact is left as it is.
        c.apply_rules(&shorter);
        assert_eq!(c.status, ContactStatus::NotReached);
    }

    #[test]
    fn max_calls_three_or_zero_is_refused() {
        assert_eq!(
            AttemptRules::new(3, BTreeMap::new()),
            Err(RuleError::MaxCalls(3))
        );
        assert_eq!(
            AttemptRules::new(0, BTreeMap::new()),
            Err(RuleError::MaxCalls(0))
        );
        let mut bad = BTreeMap::new();
        bad.insert(
            "Хочу".to_string(),
            RetryRule {
                attempts: 1,
                interval_s: 0,
            },
        );
        assert!(matches!(
            AttemptRules::new(2, bad),
            Err(RuleError::UnknownResult(_))
        ));
    }

    #[test]
    fn numbers_alternate_and_an_exhausted_one_lets_the_others_go_on() {
        let rules = AttemptRules::new(2, BTreeMap::new()).unwrap();
        let mut c = ContactAttempts::new(3);
        let mut order = vec![];
        let mut t = 0;
        while let Some(n) = c.next(&rules) {
            order.push(n.number);
            t = t.max(n.not_before) + 1;
            // Number 1 is always busy, the others never answer.
            let result = if n.number == 1 { "busy" } else { "no_answer" };
            c.record(n.number, result, t, &rules);
            assert!(order.len() < 20, "{order:?}");
        }
        assert_eq!(
            order,
            vec![0, 1, 2, 0, 1, 2],
            "in order, never twice in a row"
        );
        assert_eq!(c.status, ContactStatus::NotReached);
        assert_eq!(c.calls(), 6);
    }

    #[test]
    fn the_last_open_number_may_repeat_and_reaching_anyone_completes_the_contact() {
        let mut given = BTreeMap::new();
        given.insert(
            "rejected".to_string(),
            RetryRule {
                attempts: 1,
                interval_s: 0,
            },
        );
        let rules = AttemptRules::new(2, given).unwrap();
        let mut c = ContactAttempts::new(2);
        c.record(0, "rejected", 0, &rules); // number 0 done
        assert_eq!(c.next(&rules).map(|n| n.number), Some(1));
        c.record(1, "no_answer", 10, &rules);
        // Only number 1 has attempts left: it is called again.
        assert_eq!(c.next(&rules).map(|n| n.number), Some(1));
        assert_eq!(
            c.record(1, "Хочу записаться", 2_000, &rules),
            Outcome::Reached
        );
        assert_eq!(c.status, ContactStatus::Reached);
        assert_eq!(c.next(&rules), None);
        // not_listened is a person too.
        let mut d = ContactAttempts::new(1);
        assert_eq!(d.record(0, "not_listened", 0, &rules), Outcome::Reached);
    }
}
