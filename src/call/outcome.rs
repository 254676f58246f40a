//! What one call produced: the JSON of `replay --json` (docs/api.md), built by the runner.
use crate::media::amd::{AmdDecision, AmdReason, Verdict};
use crate::scenario::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something the callee did, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A prompt the robot played: from its start to its end, or to where it was cut off (a key, a
/// new step, the end of the call), in ms since the answer — the recording's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayedPrompt {
    pub at_ms: u64,
    pub end_ms: u64,
    /// The prompt's file name (`hello.wav`), or `число 42` for a number read back.
    pub name: String,
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
    /// The prompts played, in order (the call timeline draws them).
    pub prompts: Vec<PlayedPrompt>,
    /// When the result was set (ms since the answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_at_ms: Option<u64>,
    /// When a transfer began (ms since the answer), if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_at_ms: Option<u64>,
    pub actions: Vec<Action>,
    pub captured: BTreeMap<String, String>,
    /// Who ended the call.
    pub ended_by: EndedBy,
    /// Length of the answered part of the call.
    pub duration_ms: u64,
    /// What the call heard of the callee's greeting, to be learned (docs/amd.md, "Learned
    /// greetings"); none without a greeting book.
    #[serde(skip)]
    pub greeting: Option<super::greetings::HeardGreeting>,
}

/// What a finished call keeps for its timeline (the store's `calls.timeline`, JSON; the web
/// UI's call page draws it over the recording): times in ms since the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(default)]
    pub prompts: Vec<PlayedPrompt>,
    /// Keys and utterances.
    #[serde(default)]
    pub events: Vec<CallEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_at_ms: Option<u64>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub ended_by: Option<EndedBy>,
}

impl Timeline {
    /// The timeline of an answered call's outcome.
    pub fn of(o: &CallOutcome) -> Self {
        Self {
            prompts: o.prompts.clone(),
            events: o.events.clone(),
            result_at_ms: o.result_at_ms,
            transfer_at_ms: o.transfer_at_ms,
            duration_ms: o.duration_ms,
            ended_by: Some(o.ended_by),
        }
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    #[test]
    fn a_timeline_is_kept_as_json_and_read_back() {
        let t = Timeline {
            prompts: vec![PlayedPrompt {
                at_ms: 1200,
                end_ms: 4300,
                name: "hello.wav".into(),
            }],
            events: vec![
                CallEvent::Dtmf {
                    at_ms: 4000,
                    digit: '1',
                },
                CallEvent::Speech {
                    at_ms: 5000,
                    text: "да".into(),
                    end_ms: 5600,
                },
            ],
            result_at_ms: Some(4100),
            transfer_at_ms: None,
            duration_ms: 6000,
            ended_by: Some(EndedBy::Robot),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timeline>(&json).unwrap(), t);
        // An older or partial row reads as what it has.
        let bare: Timeline = serde_json::from_str("{}").unwrap();
        assert!(bare.prompts.is_empty() && bare.ended_by.is_none());
    }
}
