//! The pure scenario interpreter: (state, input, now) → commands. (interface fixed by the skeleton)
use super::model::{Action, Scenario};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Something that happened on the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// The call was answered by a person (or AMD let it through); starts the scenario.
    Answered,
    /// Everything from the last `Play` has been sent.
    PromptsFinished,
    /// A DTMF digit (in-band or RFC 4733).
    Dtmf(char),
    /// The VAD confirmed the callee started speaking.
    SpeechStarted,
    /// A recognised utterance.
    Speech { text: &'a str },
    /// The callee hung up.
    CalleeHungUp,
    /// Time passed (the runner calls this at or after `next_deadline`).
    Tick,
}

/// What the call must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Play these items in order (replaces anything playing).
    Play(Vec<PlayItem>),
    /// Stop the current playback (barge-in).
    StopPlayback,
    /// Listen for these reactions; `phrases` is the grammar for the recogniser.
    Listen {
        dtmf: bool,
        voice: bool,
        phrases: Vec<String>,
    },
    /// The scenario ended: hang up and act.
    Finish(Outcome),
}

/// One thing to play.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayItem {
    File(PathBuf),
    /// Digits to read back as a number via `say_number`.
    Number(String),
}

/// How a call ended, from the scenario's side.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub result: String,
    pub actions: Vec<Action>,
    pub captured: BTreeMap<String, String>,
}

/// Interpreter state for one call.
#[derive(Debug)]
pub struct Interpreter {
    scenario: Arc<Scenario>,
}

impl Interpreter {
    /// A new interpreter at the scenario's start (nothing happens before `Input::Answered`).
    pub fn new(scenario: Arc<Scenario>) -> Self {
        Self { scenario }
    }

    /// Handles one input at `now_ms` (ms since answer).
    pub fn handle(&mut self, input: Input<'_>, now_ms: u64) -> Vec<Command> {
        let _ = (input, now_ms, &self.scenario);
        Vec::new()
    }

    /// When the runner must send `Input::Tick` next, if at all.
    pub fn next_deadline(&self) -> Option<u64> {
        None
    }
}
