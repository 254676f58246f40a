//! What one call produced: the JSON of `replay --json` (docs/api.md), built by the runner.
use crate::media::amd::{AmdDecision, Verdict};
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
    pub reason: String,
}

impl From<&AmdDecision> for AmdSummary {
    fn from(d: &AmdDecision) -> Self {
        Self {
            verdict: d.verdict,
            decided_at_ms: d.decided_at_ms,
            reason: d.reason.clone(),
        }
    }
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
