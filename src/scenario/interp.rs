//! The pure scenario interpreter: (state, input, now) → commands. No I/O, no clock reads: the
//! runner passes `now_ms` (ms since answer) and calls `Tick` at `next_deadline()`.
//!
//! Semantics (docs/telephony.md, docs/scenarios.md):
//! - Entering a step plays its prompts and listens; with `barge_in` (default) a reaction during
//!   the prompts stops them and counts; otherwise input is ignored until the prompts end.
//! - The listening window (`wait_s`) starts when the prompts end. No reaction in it: a
//!   `timeout = true` reaction if there is one, else the call ends: with the result set so far
//!   on an earlier step, or `not_listened`.
//! - Unmatched speech re-plays the step once; the second time it counts as no reaction.
//! - Captures collect digits (keys or a spoken number) until the end key, `max_digits`, or
//!   `timeout_s` of silence after the last digit; then the step's own result/actions apply and
//!   the call goes on to `next`.
//! - A step with nothing to wait for applies its result/actions after its prompts and goes on
//!   to `next` or ends the call.
//! - The callee hanging up ends the call with the result set so far, or `not_listened`.
use super::model::{Action, CaptureKind, PlayRef, Prompt, Reaction, Scenario, Step};
use super::system_result;
use crate::asr::{numbers, phrase};
use std::collections::BTreeMap;
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
    /// A voice assistant's recorded greeting answered (docs/amd.md): the scenario goes to its
    /// `on_assistant` step, whatever it was doing.
    Assistant,
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
    /// The scenario decided (or changed) the call's result or added actions, and the call
    /// may go on: the outcome so far, to be kept at once (a stop before the end loses none
    /// of it). `Finish` follows later with the final outcome.
    Decided(Outcome),
    /// The scenario ended: hang up and act.
    Finish(Outcome),
}

/// One thing to play.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayItem {
    /// A prompt, decoded at load.
    Prompt(Prompt),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Playing,
    /// Waiting for a reaction until the deadline.
    Listening {
        deadline: u64,
    },
    Finished,
}

/// Interpreter state for one call.
#[derive(Debug)]
pub struct Interpreter {
    scenario: Arc<Scenario>,
    step: String,
    phase: Phase,
    reprompted: bool,
    digits: String,
    result: Option<String>,
    actions: Vec<Action>,
    captured: BTreeMap<String, String>,
}

impl Interpreter {
    /// A new interpreter at the scenario's start (nothing happens before `Input::Answered`).
    pub fn new(scenario: Arc<Scenario>) -> Self {
        let step = scenario.start.clone();
        Self {
            scenario,
            step,
            phase: Phase::NotStarted,
            reprompted: false,
            digits: String::new(),
            result: None,
            actions: Vec::new(),
            captured: BTreeMap::new(),
        }
    }

    /// Handles one input at `now_ms` (ms since answer).
    pub fn handle(&mut self, input: Input<'_>, now_ms: u64) -> Vec<Command> {
        let mut out = Vec::new();
        if self.phase == Phase::Finished {
            return out;
        }
        match input {
            Input::Answered => {
                if self.phase == Phase::NotStarted {
                    let start = self.scenario.start.clone();
                    self.enter(&start, now_ms, &mut out);
                }
            }
            Input::Assistant => {
                if let Some(step) = self.scenario.on_assistant.clone() {
                    self.enter(&step, now_ms, &mut out);
                }
            }
            Input::PromptsFinished => {
                if self.phase == Phase::Playing {
                    self.prompts_done(now_ms, &mut out);
                }
            }
            Input::Dtmf(d) => self.on_dtmf(d, now_ms, &mut out),
            Input::SpeechStarted => {}
            Input::Speech { text } => self.on_speech(text, now_ms, &mut out),
            Input::CalleeHungUp => {
                if self.phase != Phase::NotStarted {
                    self.finish(&mut out);
                }
            }
            Input::Tick => {
                if let Phase::Listening { deadline } = self.phase {
                    if now_ms >= deadline {
                        self.window_expired(now_ms, &mut out);
                    }
                }
            }
        }
        out
    }

    /// When the runner must send `Input::Tick` next, if at all.
    pub fn next_deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Listening { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// The step the call is in.
    pub fn current_step(&self) -> &str {
        &self.step
    }

    fn cur(&self) -> &Step {
        // Validation guarantees every step name used here exists.
        self.scenario
            .steps
            .get(&self.step)
            .expect("validated scenario: step exists")
    }

    fn waits(step: &Step) -> bool {
        !step.on.is_empty() || step.capture.is_some()
    }

    fn enter(&mut self, name: &str, now_ms: u64, out: &mut Vec<Command>) {
        self.step = name.to_string();
        self.reprompted = false;
        self.digits.clear();
        let step = self.cur();
        let waits = Self::waits(step);
        let listen = step.listen;
        let mut phrases: Vec<String> = step
            .on
            .iter()
            .flat_map(|r| r.voice.iter().cloned())
            .collect();
        if step.capture.is_some() && listen.voice {
            phrases.extend(numbers::number_words().iter().map(|w| w.to_string()));
        }
        if waits {
            out.push(Command::Listen {
                dtmf: listen.dtmf,
                voice: listen.voice,
                phrases,
            });
        }
        self.play_prompts(now_ms, out);
    }

    fn play_prompts(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let items: Vec<PlayItem> = self
            .cur()
            .play
            .iter()
            .filter_map(|p| match p {
                PlayRef::Prompt(p) => Some(PlayItem::Prompt(p.clone())),
                PlayRef::Var(v) => self.captured.get(v).map(|d| PlayItem::Number(d.clone())),
            })
            .collect();
        if items.is_empty() {
            self.phase = Phase::Playing;
            self.prompts_done(now_ms, out);
        } else {
            self.phase = Phase::Playing;
            out.push(Command::Play(items));
        }
    }

    fn prompts_done(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let step = self.cur();
        if !Self::waits(step) {
            self.complete_step(now_ms, out);
            return;
        }
        let deadline = match &step.capture {
            Some(c) if !self.digits.is_empty() => now_ms + u64::from(c.timeout_s) * 1000,
            _ => now_ms + u64::from(step.listen.wait_s) * 1000,
        };
        self.phase = Phase::Listening { deadline };
    }

    fn accepting(&self) -> bool {
        match self.phase {
            Phase::Listening { .. } => true,
            Phase::Playing => self.cur().barge_in,
            _ => false,
        }
    }

    fn on_dtmf(&mut self, d: char, now_ms: u64, out: &mut Vec<Command>) {
        if !self.accepting() || !self.cur().listen.dtmf {
            return;
        }
        let step = self.cur();
        if let Some(c) = &step.capture {
            let (end, max, timeout) = (c.end, c.max_digits as usize, c.timeout_s);
            if Some(d) == end {
                self.stop_if_playing(out);
                self.capture_done(now_ms, out);
                return;
            }
            if d.is_ascii_digit() {
                self.stop_if_playing(out);
                self.digits.push(d);
                if self.digits.len() >= max {
                    self.capture_done(now_ms, out);
                } else {
                    self.phase = Phase::Listening {
                        deadline: now_ms + u64::from(timeout) * 1000,
                    };
                }
                return;
            }
        }
        if let Some(r) = step.on.iter().find(|r| r.dtmf == Some(d)).cloned() {
            self.stop_if_playing(out);
            self.take(&r, now_ms, out);
        }
    }

    fn on_speech(&mut self, text: &str, now_ms: u64, out: &mut Vec<Command>) {
        if !self.accepting() || !self.cur().listen.voice {
            return;
        }
        let step = self.cur();
        if let Some(c) = &step.capture {
            if let Some(d) = numbers::words_to_digits(text) {
                let kind = c.kind;
                self.stop_if_playing(out);
                self.digits = match kind {
                    CaptureKind::Digits => d,
                    CaptureKind::Number => strip_leading_zeros(&d),
                };
                self.capture_done(now_ms, out);
                return;
            }
        } else {
            let mut best: Option<(usize, &Reaction)> = None;
            for r in &step.on {
                for p in &r.voice {
                    if phrase::matches(p, text)
                        && best.is_none_or(|(len, _)| p.chars().count() > len)
                    {
                        best = Some((p.chars().count(), r));
                    }
                }
            }
            if let Some((_, r)) = best {
                let r = r.clone();
                self.stop_if_playing(out);
                self.take(&r, now_ms, out);
                return;
            }
        }
        // Unmatched speech: ask again once, then it counts as no reaction.
        if !self.reprompted {
            self.reprompted = true;
            out.push(Command::StopPlayback);
            self.play_prompts(now_ms, out);
        } else {
            self.stop_if_playing(out);
            self.window_expired(now_ms, out);
        }
    }

    fn stop_if_playing(&mut self, out: &mut Vec<Command>) {
        if self.phase == Phase::Playing {
            out.push(Command::StopPlayback);
            self.phase = Phase::Listening { deadline: u64::MAX };
        }
    }

    fn window_expired(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let step = self.cur();
        if step.capture.is_some() && !self.digits.is_empty() {
            self.capture_done(now_ms, out);
            return;
        }
        if let Some(r) = step.on.iter().find(|r| r.timeout).cloned() {
            self.take(&r, now_ms, out);
            return;
        }
        self.finish(out);
    }

    fn capture_done(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let Some(c) = self.cur().capture.clone() else {
            return;
        };
        if self.digits.is_empty() {
            self.window_expired(now_ms, out);
            return;
        }
        let value = match c.kind {
            CaptureKind::Digits => self.digits.clone(),
            CaptureKind::Number => strip_leading_zeros(&self.digits),
        };
        self.captured.insert(c.var.clone(), value);
        self.digits.clear();
        self.complete_step(now_ms, out);
    }

    fn take(&mut self, r: &Reaction, now_ms: u64, out: &mut Vec<Command>) {
        if let Some(res) = &r.result {
            self.result = Some(res.clone());
        }
        self.actions.extend(r.actions.iter().cloned());
        if r.result.is_some() || !r.actions.is_empty() {
            self.decided(out);
        }
        match &r.next {
            Some(n) => self.enter(&n.clone(), now_ms, out),
            None => self.finish(out),
        }
    }

    fn complete_step(&mut self, now_ms: u64, out: &mut Vec<Command>) {
        let step = self.cur();
        let (result, actions, next) =
            (step.result.clone(), step.actions.clone(), step.next.clone());
        let changed = result.is_some() || !actions.is_empty();
        if let Some(res) = result {
            self.result = Some(res);
        }
        self.actions.extend(actions);
        if changed {
            self.decided(out);
        }
        match next {
            Some(n) => self.enter(&n, now_ms, out),
            None => self.finish(out),
        }
    }

    /// The outcome so far, as decided (the result set so far, every action so far).
    fn decided(&self, out: &mut Vec<Command>) {
        out.push(Command::Decided(Outcome {
            result: self
                .result
                .clone()
                .unwrap_or_else(|| system_result::NOT_LISTENED.to_string()),
            actions: self.actions.clone(),
            captured: self.captured.clone(),
        }));
    }

    fn finish(&mut self, out: &mut Vec<Command>) {
        self.phase = Phase::Finished;
        let result = self
            .result
            .clone()
            .unwrap_or_else(|| system_result::NOT_LISTENED.to_string());
        out.push(Command::Finish(Outcome {
            result,
            actions: std::mem::take(&mut self.actions),
            captured: self.captured.clone(),
        }));
    }
}

fn strip_leading_zeros(d: &str) -> String {
    let t = d.trim_start_matches('0');
    if t.is_empty() && !d.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
#[path = "interp_tests.rs"]
mod tests;
