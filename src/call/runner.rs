//! The per-call state machine shared by replayed and live calls. Everything it plays was
//! decoded when the scenario was loaded: a frame only copies samples.
use super::greetings::{GreetingBook, GreetingEar};
use super::outcome::{AmdSummary, CallEvent, CallOutcome, EndedBy, PlayedPrompt};
use super::playback::Playback;
use crate::asr::{Recognizer, SpeechModel, UtteranceFeed};
use crate::media::amd::{Amd, AmdDecision, AmdReason, Verdict};
use crate::media::dtmf::{DtmfDigit, DtmfReceiver};
use crate::media::greetings::{number_key, Label};
use crate::media::vad::VadEvent;
use crate::media::{Frame, FrameAnalyzer, FrameFeatures, FRAME_MS, FRAME_SAMPLES};
use crate::scenario::interp::{Command, Input, Interpreter, Outcome, PlayItem};
use crate::scenario::{say_number, system_result, Action, Scenario};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

/// Longest the robot waits after answer for AMD before it starts talking anyway (AMD goes on),
/// at the first pause in the callee's talk (docs/amd.md, "What the callee hears").
pub const MAX_SILENT_WAIT_MS: u64 = 4_000;
/// … and if the callee talks on without a pause, it starts by then regardless.
pub const MAX_GREETING_WAIT_MS: u64 = 7_000;
/// Audio kept from before the VAD confirmed speech, so the recogniser hears the word onset.
pub const SPEECH_PREROLL_FRAMES: usize = 20;

/// Errors that end a call as a system failure.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Read-back needs a number word the scenario was loaded without (a scenario not built by
    /// `scenario::load`).
    #[error("number word \"{0}\" was not prepared with the scenario")]
    NumberWord(String),
    #[error("speech recognition: {0}")]
    Asr(#[from] crate::asr::AsrError),
}

/// Where the runner finds its shared parts.
#[derive(Clone)]
pub struct CallConfig {
    /// The prompts folder (config `prompts`): scenarios loaded for these calls look in it
    /// after their own folder, before the bundled prompts. The runner itself reads nothing.
    pub prompts_dir: PathBuf,
    /// The speech model, when one is configured.
    pub speech: Option<Arc<dyn SpeechModel>>,
    /// Run answering-machine detection (on by default).
    pub amd: bool,
    /// The learned greetings calls match and learn (docs/amd.md); none: not used.
    pub greetings: Option<Arc<GreetingBook>>,
}

/// What the caller of `on_frame` should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    Continue,
    /// The robot hangs up: send this last frame, then end the call.
    Hangup,
}

/// Phase of the call after answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Listening to the greeting while AMD decides.
    Greeting,
    /// The scenario runs.
    Scenario,
    Finished,
}

/// One call's state.
pub struct CallRunner {
    cfg: CallConfig,
    scenario: Arc<Scenario>,
    interp: Interpreter,
    amd: Option<Amd>,
    amd_decision: Option<AmdDecision>,
    /// Fingerprints the greeting and matches the learned ones (`listen_for_greetings`).
    ear: Option<GreetingEar>,
    analyzer: FrameAnalyzer,
    /// The robot's frame of the previous period (what the line may echo back now).
    last_out: Frame,
    dtmf: DtmfReceiver,
    playback: Playback,
    recognizer: Option<Box<dyn Recognizer>>,
    asr: UtteranceFeed,
    listen_voice: bool,
    in_speech: bool,
    utterance_start_ms: u64,
    preroll: VecDeque<Frame>,
    frames: u64,
    phase: Phase,
    events: Vec<CallEvent>,
    /// The prompts played so far (the timeline's; written per `Play`, never per frame).
    played: Vec<PlayedPrompt>,
    /// When the result was last set, and when a transfer began (ms since the answer).
    result_at_ms: Option<u64>,
    transfer_at_ms: Option<u64>,
    result: Option<(Outcome, EndedBy)>,
    /// What the scenario decided and the call has not handed out yet (`take_decision`).
    decision: Option<Decision>,
    error: Option<CallError>,
}

/// What the scenario decided during the call, at `at_ms` after the answer: the outcome so
/// far and the callee's reactions up to then. The live call hands it to the dialer, which
/// writes it at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub at_ms: u64,
    pub outcome: Outcome,
    /// The callee's keys and utterances so far.
    pub events: Vec<CallEvent>,
}

impl CallRunner {
    /// A call that has just been answered.
    pub fn new(scenario: Arc<Scenario>, cfg: CallConfig) -> Self {
        let amd = cfg.amd.then(Amd::new);
        Self {
            cfg,
            interp: Interpreter::new(scenario.clone()),
            scenario,
            amd,
            amd_decision: None,
            ear: None,
            analyzer: FrameAnalyzer::new(),
            last_out: crate::media::SILENT_FRAME,
            dtmf: DtmfReceiver::new(),
            playback: Playback::default(),
            recognizer: None,
            asr: UtteranceFeed::new(),
            listen_voice: false,
            in_speech: false,
            utterance_start_ms: 0,
            preroll: VecDeque::with_capacity(SPEECH_PREROLL_FRAMES + 1),
            frames: 0,
            phase: Phase::Greeting,
            events: Vec::new(),
            played: Vec::new(),
            result_at_ms: None,
            transfer_at_ms: None,
            result: None,
            decision: None,
            error: None,
        }
    }

    /// What the scenario decided since the last call of this, if anything (the latest
    /// decision stands for the earlier ones: it holds the result so far and every action so
    /// far). Called by the live call after each frame; cheap when nothing was decided.
    pub fn take_decision(&mut self) -> Option<Decision> {
        self.decision.take()
    }

    /// The transfer the finished scenario asks for (the last one decided), if any.
    pub fn transfer(&self) -> Option<&Action> {
        let (o, _) = self.result.as_ref()?;
        o.actions
            .iter()
            .rev()
            .find(|a| matches!(a, Action::Transfer { .. } | Action::TransferExternal { .. }))
    }

    /// The keys and utterances heard so far, in order.
    pub fn events(&self) -> &[CallEvent] {
        &self.events
    }

    /// The finished call's result and what the scenario captured.
    pub fn finished(&self) -> Option<&Outcome> {
        self.result.as_ref().map(|(o, _)| o)
    }

    /// A transfer's end amends the finished call: `result` replaces its result (the caller
    /// left the queue: `queue_abandoned`), `ended_by` says who hung up, and the transfer's time
    /// counts in the duration. A changed result is handed out as a decision, written at once.
    pub fn amend(&mut self, result: Option<&str>, ended_by: EndedBy, transfer_ms: u64) {
        self.transfer_at_ms = Some(self.now_ms());
        self.frames += transfer_ms / FRAME_MS;
        let at_ms = self.now_ms();
        let Some((outcome, by)) = self.result.as_mut() else {
            return;
        };
        *by = ended_by;
        if let Some(r) = result {
            outcome.result = r.to_string();
            self.result_at_ms = Some(at_ms);
            self.decision = Some(Decision {
                at_ms,
                outcome: outcome.clone(),
                events: self.events.clone(),
            });
        }
    }

    /// Milliseconds since answer at the start of the next frame.
    pub fn now_ms(&self) -> u64 {
        self.frames * FRAME_MS
    }

    /// Whether the call has ended.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Processes one 20 ms callee frame and fills the robot's next outgoing frame.
    pub fn on_frame(&mut self, callee: &Frame, out: &mut Frame) -> FrameStatus {
        if self.phase == Phase::Finished {
            out.fill(0);
            return FrameStatus::Hangup;
        }
        let at_ms = self.now_ms();
        self.frames += 1;

        // Analysis, once per frame.
        let mut digits: [Option<DtmfDigit>; 4] = [None; 4];
        let mut n = 0;
        self.dtmf.process(callee, |d| {
            if n < digits.len() {
                digits[n] = Some(d);
                n += 1;
            }
        });
        // VAD, echo guard, tones and level feed only AMD, the learned-greeting ear and the
        // recogniser: once none of them can read them again, they are no longer computed.
        let analysed = self
            .analysis_needed()
            .then(|| self.analyzer.analyze_live(callee, &self.last_out, at_ms));
        if let Some((features, _, _)) = &analysed {
            self.run_amd(features);
            self.run_ear(callee, features.voiced, at_ms);
        }
        if self.phase == Phase::Greeting && at_ms + FRAME_MS >= MAX_SILENT_WAIT_MS {
            let talking = self.amd.as_ref().is_some_and(Amd::callee_talking);
            if !talking || at_ms + FRAME_MS >= MAX_GREETING_WAIT_MS {
                self.start_scenario(at_ms);
            }
        }
        for d in digits.iter().flatten() {
            let digit_ms = d.start_sample * 1000 / u64::from(crate::media::SAMPLE_RATE);
            self.on_digit(d.digit, digit_ms, at_ms);
        }
        if let Some((_, vad_event, _)) = analysed {
            self.on_speech_audio(callee, vad_event, at_ms);
        }
        if self.phase == Phase::Scenario {
            if let Some(deadline) = self.interp.next_deadline() {
                if deadline <= at_ms {
                    self.apply_input(Input::Tick, at_ms);
                }
            }
        }

        if self.phase == Phase::Finished {
            out.fill(0);
            return FrameStatus::Hangup;
        }
        let prompts_done = self.playback.next_frame(out);
        self.last_out = *out;
        if prompts_done && self.phase == Phase::Scenario {
            self.apply_input(Input::PromptsFinished, at_ms + FRAME_MS);
        }
        if self.phase == Phase::Finished {
            FrameStatus::Hangup
        } else {
            FrameStatus::Continue
        }
    }

    /// Whether anything may still read the per-frame analysis: AMD until it is final, the
    /// learned-greeting ear until it is done, the recogniser (which a speech model makes
    /// possible at any step). Once false it stays false for the rest of the call, so skipping
    /// the analysis from then on changes no result.
    fn analysis_needed(&self) -> bool {
        self.cfg.speech.is_some()
            || self.amd.as_ref().is_some_and(|a| !a.is_final())
            || self.ear.as_ref().is_some_and(|e| !e.is_done())
    }

    /// A digit that arrived out of band (RFC 4733) on a live call.
    pub fn on_event_digit(&mut self, digit: char) {
        let at_ms = self.now_ms();
        self.on_digit(digit, at_ms, at_ms);
    }

    /// The callee hung up (end of the replayed file, or BYE on a live call).
    pub fn on_callee_hangup(&mut self) {
        if self.phase == Phase::Finished {
            return;
        }
        let at_ms = self.now_ms();
        if self.in_speech {
            self.end_utterance(self.utterance_start_ms, at_ms);
        }
        if self.phase == Phase::Finished {
            return;
        }
        if self.phase == Phase::Greeting {
            // Nobody ever heard the message.
            if matches!(
                self.amd_decision.as_ref().map(|d| d.verdict),
                Some(Verdict::Machine)
            ) {
                self.finish_system(system_result::ANSWERING_MACHINE, EndedBy::Callee);
            } else {
                self.finish_system(system_result::NOT_LISTENED, EndedBy::Callee);
            }
            return;
        }
        let cmds = self.interp.handle(Input::CalleeHungUp, at_ms);
        self.apply_commands(cmds, at_ms);
        if self.phase != Phase::Finished {
            self.finish_system(system_result::NOT_LISTENED, EndedBy::Callee);
        } else if let Some((_, by)) = self.result.as_mut() {
            *by = EndedBy::Callee;
        }
    }

    /// The outcome; valid once the call has ended (a call still running is reported as if the
    /// callee hung up now).
    pub fn into_outcome(mut self) -> Result<CallOutcome, CallError> {
        if self.phase != Phase::Finished {
            self.on_callee_hangup();
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let duration_ms = self.now_ms();
        let (outcome, ended_by) = self.result.take().unwrap_or_else(|| {
            (
                Outcome {
                    result: system_result::SYSTEM.into(),
                    actions: vec![],
                    captured: Default::default(),
                },
                EndedBy::Robot,
            )
        });
        let amd = match &self.amd_decision {
            Some(d) => AmdSummary::from(d),
            None => AmdSummary::without_decision(AmdReason::NoDecision, duration_ms),
        };
        self.cut_prompts(duration_ms);
        // A key pressed is a person: their greeting is never learned.
        let person = self
            .events
            .iter()
            .any(|e| matches!(e, CallEvent::Dtmf { .. }));
        let greeting = self.ear.take().map(|e| e.heard(person));
        Ok(CallOutcome {
            result: outcome.result,
            amd,
            events: self.events,
            prompts: self.played,
            result_at_ms: self.result_at_ms,
            transfer_at_ms: self.transfer_at_ms,
            actions: outcome.actions,
            captured: outcome.captured,
            ended_by,
            duration_ms,
            greeting,
        })
    }

    /// Matches the greeting against the learned ones; a recording heard before decides.
    fn run_ear(&mut self, callee: &Frame, voiced: bool, at_ms: u64) {
        let Some(ear) = self.ear.as_mut() else {
            return;
        };
        let robot_talked = self.last_out.iter().any(|&s| s != 0);
        let Some(label) = ear.hear(callee, robot_talked, voiced, at_ms) else {
            return;
        };
        let now = at_ms + FRAME_MS;
        let assistant = label == Some(Label::Assistant);
        tracing::info!(at_ms = now, assistant, "a learned greeting");
        if let Some(d) = self
            .amd
            .as_mut()
            .and_then(|a| a.note_known_greeting(assistant, now))
        {
            self.on_amd_decision(d, now);
        }
    }

    /// Fingerprints this call's greeting for the learned greetings, on a call to `number`.
    pub fn listen_for_greetings(&mut self, number: &str) {
        if let (Some(book), true) = (&self.cfg.greetings, self.cfg.amd) {
            self.ear = Some(GreetingEar::new(book.clone(), number_key(number)));
        }
    }

    fn run_amd(&mut self, features: &FrameFeatures) {
        let decision = self.amd.as_mut().and_then(|amd| amd.process(features));
        if let Some(d) = decision {
            self.on_amd_decision(d, features.at_ms + FRAME_MS);
        }
    }

    fn on_amd_decision(&mut self, decision: AmdDecision, now_ms: u64) {
        let verdict = decision.verdict;
        tracing::debug!(verdict = ?verdict, at_ms = decision.decided_at_ms, reason = decision.reason.as_str(), "amd decision");
        let sit = decision.reason == AmdReason::Sit;
        self.amd_decision = Some(decision);
        let assistant = self.amd_decision.as_ref().map(|d| d.reason) == Some(AmdReason::Assistant);
        match verdict {
            Verdict::Machine if assistant && self.scenario.on_assistant.is_some() => {
                // A voice assistant: the scenario's own step for it (a short message, a
                // result, actions), from the start or from wherever it was.
                self.amd = None;
                self.playback.stop();
                self.cut_prompts(now_ms);
                self.phase = Phase::Scenario;
                self.apply_input(Input::Assistant, now_ms);
            }
            Verdict::Machine => {
                self.amd = None;
                self.playback.stop();
                self.cut_prompts(now_ms);
                // SIT on an answered call is the network's announcement, not a voicemail.
                let code = if sit {
                    system_result::SYSTEM
                } else {
                    system_result::ANSWERING_MACHINE
                };
                self.finish_system(code, EndedBy::Robot);
            }
            Verdict::Human | Verdict::Unknown => {
                if self.phase == Phase::Greeting {
                    self.start_scenario(now_ms);
                }
            }
        }
    }

    fn start_scenario(&mut self, at_ms: u64) {
        if self.phase != Phase::Greeting {
            return;
        }
        self.phase = Phase::Scenario;
        self.apply_input(Input::Answered, at_ms);
    }

    fn on_digit(&mut self, digit: char, digit_ms: u64, now_ms: u64) {
        if self.phase == Phase::Finished {
            return;
        }
        self.events.push(CallEvent::Dtmf {
            at_ms: digit_ms,
            digit,
        });
        // A machine does not press keys: a digit settles AMD as human.
        if self.amd.take().is_some()
            && self
                .amd_decision
                .as_ref()
                .is_none_or(|d| d.verdict != Verdict::Human)
        {
            self.amd_decision = Some(AmdDecision {
                verdict: Verdict::Human,
                decided_at_ms: now_ms,
                reason: AmdReason::Dtmf,
            });
        }
        if self.phase == Phase::Greeting {
            self.start_scenario(now_ms);
        }
        self.apply_input(Input::Dtmf(digit), now_ms);
    }

    fn on_speech_audio(&mut self, frame: &Frame, event: Option<VadEvent>, at_ms: u64) {
        match event {
            Some(VadEvent::SpeechStarted { start_ms }) => {
                self.in_speech = true;
                self.utterance_start_ms = start_ms;
                if self.phase == Phase::Scenario {
                    self.apply_input(Input::SpeechStarted, at_ms);
                }
                if let Some(rec) = self.recognizer.as_mut() {
                    for f in &self.preroll {
                        self.asr.accept(rec.as_mut(), f);
                    }
                }
                self.preroll.clear();
            }
            Some(VadEvent::SpeechEnded {
                start_ms, end_ms, ..
            }) => {
                if let Some(rec) = self.recognizer.as_mut() {
                    self.asr.accept(rec.as_mut(), frame);
                }
                self.end_utterance(start_ms, end_ms);
                return;
            }
            None => {}
        }
        if self.in_speech {
            if let Some(rec) = self.recognizer.as_mut() {
                self.asr.accept(rec.as_mut(), frame);
            }
        } else {
            if self.preroll.len() == SPEECH_PREROLL_FRAMES {
                self.preroll.pop_front();
            }
            self.preroll.push_back(*frame);
        }
    }

    fn end_utterance(&mut self, start_ms: u64, end_ms: u64) {
        self.in_speech = false;
        let Some(rec) = self.recognizer.as_mut() else {
            return;
        };
        let Some(text) = self.asr.finish(rec.as_mut()).map(|r| r.text) else {
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        self.events.push(CallEvent::Speech {
            at_ms: start_ms,
            text: text.clone(),
            end_ms,
        });
        if let Some(d) = self
            .amd
            .as_mut()
            .and_then(|amd| amd.note_transcript(&text, end_ms))
        {
            self.on_amd_decision(d, self.now_ms());
            if self.phase == Phase::Finished {
                return;
            }
        }
        if self.phase == Phase::Scenario && self.listen_voice {
            self.apply_input(Input::Speech { text: &text }, end_ms.max(self.now_ms()));
        }
    }

    fn apply_input(&mut self, input: Input<'_>, at_ms: u64) {
        if self.phase != Phase::Scenario {
            return;
        }
        let cmds = self.interp.handle(input, at_ms);
        self.apply_commands(cmds, at_ms);
    }

    fn apply_commands(&mut self, cmds: Vec<Command>, at_ms: u64) {
        for cmd in cmds {
            if self.phase == Phase::Finished {
                return;
            }
            match cmd {
                Command::Play(items) => match self.load_items(&items) {
                    Ok(loaded) => {
                        self.cut_prompts(at_ms);
                        self.note_played(loaded.played, at_ms);
                        self.playback.start(loaded.samples);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot play prompt; ending the call");
                        self.error = Some(e);
                        self.finish_system(system_result::SYSTEM, EndedBy::Robot);
                    }
                },
                Command::StopPlayback => {
                    self.playback.stop();
                    self.cut_prompts(at_ms);
                }
                Command::Listen { voice, phrases, .. } => {
                    self.listen_voice = voice;
                    self.recognizer = None;
                    self.asr.restart();
                    if voice {
                        if let Some(model) = &self.cfg.speech {
                            match model.recognizer(&phrases) {
                                Ok(r) => self.recognizer = Some(r),
                                Err(e) => tracing::warn!(error = %e, "no recogniser for this step"),
                            }
                        }
                    }
                }
                Command::Decided(outcome) => {
                    tracing::debug!(result = %outcome.result, at_ms, "scenario decided");
                    // A transfer or `hangup` ends the robot's part of the call at once: the
                    // live call then carries the transfer out (docs/agents.md).
                    let ends = outcome.actions.iter().any(|a| {
                        matches!(
                            a,
                            Action::Hangup
                                | Action::Transfer { .. }
                                | Action::TransferExternal { .. }
                        )
                    });
                    self.decision = Some(Decision {
                        at_ms,
                        outcome: outcome.clone(),
                        events: self.events.clone(),
                    });
                    self.result_at_ms = Some(at_ms);
                    if ends {
                        self.playback.stop();
                        self.cut_prompts(at_ms);
                        self.result = Some((outcome, EndedBy::Robot));
                        self.phase = Phase::Finished;
                    }
                }
                Command::Finish(outcome) => {
                    tracing::debug!(result = %outcome.result, at_ms, "scenario finished");
                    self.playback.stop();
                    self.cut_prompts(at_ms);
                    self.result_at_ms = Some(at_ms);
                    self.result = Some((outcome, EndedBy::Robot));
                    self.phase = Phase::Finished;
                }
            }
        }
    }

    /// The samples of what to play, as loaded with the scenario (no file is read here), and
    /// each item's name and length in ms for the timeline.
    fn load_items(&self, items: &[PlayItem]) -> Result<Loaded, CallError> {
        let mut out = Vec::with_capacity(items.len());
        let mut played = Vec::with_capacity(items.len());
        let ms = |samples: usize| samples as u64 * 1000 / u64::from(crate::media::SAMPLE_RATE);
        for item in items {
            match item {
                PlayItem::Prompt(p) => {
                    let samples = p.samples();
                    played.push((prompt_name(p.source()), ms(samples.len())));
                    out.push(samples);
                }
                PlayItem::Number(digits) => {
                    let mut len = 0;
                    for name in say_number::number_prompts(digits) {
                        let word = self
                            .scenario
                            .number_words
                            .get(&name)
                            .ok_or(CallError::NumberWord(name))?;
                        let samples = word.samples();
                        len += samples.len();
                        out.push(samples);
                    }
                    played.push((format!("число {digits}"), ms(len)));
                }
            }
        }
        Ok(Loaded {
            samples: out,
            played,
        })
    }

    /// Notes prompts that start playing at `at_ms`, back to back.
    fn note_played(&mut self, items: Vec<NamedLength>, at_ms: u64) {
        let mut t = at_ms;
        for (name, len) in items {
            if len > 0 {
                self.played.push(PlayedPrompt {
                    at_ms: t,
                    end_ms: t + len,
                    name,
                });
            }
            t += len;
        }
    }

    /// Playback stopped at `at_ms`: prompts queued after it never played, the one playing ends
    /// there.
    fn cut_prompts(&mut self, at_ms: u64) {
        self.played.retain(|p| p.at_ms < at_ms);
        for p in &mut self.played {
            p.end_ms = p.end_ms.min(at_ms);
        }
    }

    fn finish_system(&mut self, code: &str, by: EndedBy) {
        if self.phase == Phase::Finished {
            return;
        }
        let captured = Default::default();
        let now = self.now_ms();
        self.cut_prompts(now);
        self.result_at_ms = Some(now);
        self.result = Some((
            Outcome {
                result: code.to_string(),
                actions: vec![],
                captured,
            },
            by,
        ));
        self.phase = Phase::Finished;
    }
}

/// A played item's name and length in ms.
type NamedLength = (String, u64);

/// What a `Play` loads: the samples to send, and each item's name and length.
struct Loaded {
    samples: Vec<Arc<[i16]>>,
    played: Vec<NamedLength>,
}

/// A prompt's name on the timeline: its file name, or its bundled name.
fn prompt_name(source: &crate::media::prompt::PromptSource) -> String {
    match source {
        crate::media::prompt::PromptSource::File(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string()),
        crate::media::prompt::PromptSource::Bundled(n) => (*n).to_string(),
    }
}

/// Splits a sample buffer into 20 ms frames, zero-padding the last one.
pub fn frames_of(samples: &[i16]) -> impl Iterator<Item = Frame> + '_ {
    samples.chunks(FRAME_SAMPLES).map(|c| {
        let mut f = [0i16; FRAME_SAMPLES];
        f[..c.len()].copy_from_slice(c);
        f
    })
}
