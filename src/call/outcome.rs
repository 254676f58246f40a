//! What one call produced: the JSON of `replay --json` (docs/api.md), built by the runner.
use crate::media::amd::{AmdDecision, AmdReason, Verdict};
use crate::scenario::Action;
use serde::Serialize;
use std::collections::BTreeMap;

/// Something the callee did, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallEvent {
    /// A key, in-band or RFC 4733.
    Dtmf { at_ms: u64, digit: char },
    /// One recognised utterance (`at_ms` = start of speech).
    Speech {
        at_ms: u64,
        text: String,
        end_ms: u64,
    },
}

/// The AMD part of the outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmdSummary {
    pub verdict: Verdict,
    pub decided_at_ms: u64,
    /// The code of an `AmdReason` (stored and shown in the API as is).
    pub reason: String,
}

impl AmdSummary {
    /// A summary with no decision behind it (`no_decision`, `not_answered`).
    pub fn without_decision(reason: AmdReason, at_ms: u64) -> Self {
        Self {
            verdict: Verdict::Unknown,
            decided_at_ms: at_ms,
            reason: reason.as_str().into(),
        }
    }

    /// For people: «человек / person, decided at 1.16 s: short greeting, then silence».
    pub fn describe(&self) -> String {
        let why = AmdReason::from_code(&self.reason)
            .map(AmdReason::describe)
            .unwrap_or(self.reason.as_str());
        format!(
            "{}, decided at {}: {why}",
            self.verdict.label(),
            seconds(self.decided_at_ms)
        )
    }
}

impl From<&AmdDecision> for AmdSummary {
    fn from(d: &AmdDecision) -> Self {
        Self {
            verdict: d.verdict,
            decided_at_ms: d.decided_at_ms,
            reason: d.reason.as_str().into(),
        }
    }
}

/// Milliseconds as seconds for people: `1160` → `1.16 s`.
pub fn seconds(ms: u64) -> String {
    format!("{}.{:02} s", ms / 1000, ms % 1000 / 10)
}

/// The outcome of one answered call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallOutcome {
    /// A scenario result or a system result code.
    pub result: String,
    pub amd: AmdSummary,
    pub events: Vec<CallEvent>,
    pub actions: Vec<Action>,
    pub captured: BTreeMap<String, String>,
    /// Who ended the call.
    pub ended_by: EndedBy,
    /// Length of the answered part of the call.
    pub duration_ms: u64,
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Robot,
    Callee,
}

impl EndedBy {
    /// For people: «the robot hung up», «the callee hung up».
    pub fn describe(self) -> &'static str {
        match self {
            EndedBy::Robot => "the robot hung up",
            EndedBy::Callee => "the callee hung up",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amd_summary_reads_as_words() {
        let s = AmdSummary {
            verdict: Verdict::Human,
            decided_at_ms: 1160,
            reason: "short_greeting_then_silence".into(),
        };
        assert_eq!(
            s.describe(),
            "человек / person, decided at 1.16 s: short greeting, then silence"
        );
        let s = AmdSummary::without_decision(AmdReason::NotAnswered, 0);
        assert_eq!(
            s.describe(),
            "не определено / undecided, decided at 0.00 s: the call was not answered"
        );
        assert_eq!(seconds(7480), "7.48 s");
    }
}
