//! Answering-machine detection from the moment of answer. (interface fixed by the skeleton)
use super::FrameFeatures;
use serde::Serialize;

/// Who answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Human,
    Machine,
    Unknown,
}

/// A (possibly revised) decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmdDecision {
    pub verdict: Verdict,
    /// Time from answer when this decision was made.
    pub decided_at_ms: u64,
    /// Why, in a short machine-readable phrase (e.g. "long_greeting", "beep", "sit").
    pub reason: String,
}

/// The detector state for one call.
#[derive(Debug, Default)]
pub struct Amd {
    current: Option<AmdDecision>,
}

impl Amd {
    /// A detector with default parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one analysed callee frame; returns a new or revised decision when it changes.
    pub fn process(&mut self, _f: &FrameFeatures) -> Option<AmdDecision> {
        None
    }

    /// Tells the detector the recognised text of a callee utterance (carrier phrases).
    pub fn note_transcript(&mut self, _text: &str, _at_ms: u64) {}

    /// The latest decision, if any.
    pub fn decision(&self) -> Option<&AmdDecision> {
        self.current.as_ref()
    }
}
