//! Answering-machine detection from the moment of answer. Pure: analysed frames in, decisions
//! out. Cues: the shape of the greeting (a short "Алло?" then silence vs a long continuous
//! greeting with sentence pauses), the voicemail beep, SIT, carrier phrases when a speech model
//! hears them, and what the callee does once the robot talks (a machine keeps talking, then
//! beeps). A first decision comes within ~1–3.5 s; it may be revised to `machine` while the
//! robot's prompt plays (a beep, or a long monologue after "Алло."), never from machine back.
//! A wrong "machine" hangs up on a person, so every rule leans to `human`/`unknown` when unsure.
use super::tones::ToneEvent;
use super::{FrameFeatures, FRAME_MS};
use serde::Serialize;

/// Speech must stand this far above the noise floor (noisy rooms, babble).
pub const SPEECH_OVER_NOISE_DB: f32 = 10.0;
/// The first moments after answer: talk heard throughout them is background (babble), since
/// people and machines alike start a little after the answer.
pub const BACKGROUND_PROBE_MS: u64 = 300;
/// The callee's speech must stand this far above such background talk.
pub const SPEECH_OVER_BACKGROUND_DB: f32 = 6.0;
/// The noise floor is the quietest frame of this many recent frames (3 s): words have gaps,
/// so during speech it stays low; in steady noise it sits at the noise.
pub const NOISE_WINDOW_FRAMES: usize = 150;
/// Silence after the greeting that shows a person waiting for an answer.
pub const AFTER_GREETING_SILENCE_MS: u64 = 650;
/// A greeting this short ("Алло?", "Да") needs less silence after it to tell a person waiting.
pub const SHORT_GREETING_MS: u64 = 1_000;
/// Silence after such a short greeting that shows a person waiting.
pub const AFTER_SHORT_GREETING_SILENCE_MS: u64 = 450;
/// Most speech a person says before waiting ("Алло, здравствуйте, слушаю вас" ≈ 2.5 s).
pub const HUMAN_MAX_SPEECH_MS: u64 = 2_700;
/// Continuous greeting (pauses shorter than `AFTER_GREETING_SILENCE_MS`) that marks a machine.
pub const MACHINE_SPEECH_MS: u64 = 2_800;
/// Share of the time since the first word that must be talk for the long-greeting rule.
pub const MIN_TALK_DENSITY_PCT: u64 = 60;
/// No speech at all by then: undecided (`unknown`: the robot talks anyway).
pub const NO_SPEECH_MS: u64 = 6_000;
/// Give up on a first decision by then.
pub const TOTAL_MS: u64 = 8_000;
/// Keep listening for revisions (beep, monologue) until then.
pub const REVISE_UNTIL_MS: u64 = 15_000;
/// Talking this long (gaps < 700 ms) after a first `human` decision revises it to machine.
pub const REVISE_SPEECH_MS: u64 = 2_600;
/// A gap inside one stretch of talk for the revision rule.
pub const REVISE_GAP_MS: u64 = 700;
/// Phrases of carrier voicemail and "secretaries" (normalised, matched as phrases).
pub const CARRIER_PHRASES: &[&str] = &[
    "абонент",
    "не может ответить",
    "оставьте сообщение",
    "после сигнала",
    "после звукового сигнала",
    "вне зоны действия",
    "выключен",
    "недоступен",
    "голосовой почты",
    "автоответчик",
    "секретарь",
    "представьтесь",
    "что передать",
];

/// Who answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Human,
    Machine,
    Unknown,
}

impl Verdict {
    /// The code stored and shown in the API: `human`, `machine`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Human => "human",
            Verdict::Machine => "machine",
            Verdict::Unknown => "unknown",
        }
    }

    /// For people, in Russian and English: «человек / person».
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Human => "человек / person",
            Verdict::Machine => "автоответчик / answering machine",
            Verdict::Unknown => "не определено / undecided",
        }
    }
}

/// Why a decision was taken. `as_str` is the code in JSON and the API (docs/api.md, `amd`);
/// `describe` says it in words for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdReason {
    /// A short greeting ("Алло?"), then the silence of someone waiting.
    ShortGreetingThenSilence,
    /// A long continuous greeting.
    LongGreeting,
    /// Nothing said by `NO_SPEECH_MS`.
    Silence,
    /// No rule settled it by `TOTAL_MS`.
    Undecided,
    /// A voicemail beep before any decision.
    Beep,
    /// A beep after a first decision (the greeting was a machine's).
    BeepAfterGreeting,
    /// Special information tones.
    Sit,
    /// Long talk after a first `human` decision.
    LongSpeechAfterGreeting,
    /// A carrier voicemail phrase was recognised.
    CarrierPhrase,
    /// A key was pressed (machines press none).
    Dtmf,
    /// The call ended before any decision.
    NoDecision,
    /// The call was never answered.
    NotAnswered,
}

impl AmdReason {
    /// Every reason.
    pub const ALL: [AmdReason; 12] = [
        AmdReason::ShortGreetingThenSilence,
        AmdReason::LongGreeting,
        AmdReason::Silence,
        AmdReason::Undecided,
        AmdReason::Beep,
        AmdReason::BeepAfterGreeting,
        AmdReason::Sit,
        AmdReason::LongSpeechAfterGreeting,
        AmdReason::CarrierPhrase,
        AmdReason::Dtmf,
        AmdReason::NoDecision,
        AmdReason::NotAnswered,
    ];

    /// The code: `short_greeting_then_silence`, `beep`, `sit`, …
    pub fn as_str(self) -> &'static str {
        match self {
            AmdReason::ShortGreetingThenSilence => "short_greeting_then_silence",
            AmdReason::LongGreeting => "long_greeting",
            AmdReason::Silence => "silence",
            AmdReason::Undecided => "undecided",
            AmdReason::Beep => "beep",
            AmdReason::BeepAfterGreeting => "beep_after_greeting",
            AmdReason::Sit => "sit",
            AmdReason::LongSpeechAfterGreeting => "long_speech_after_greeting",
            AmdReason::CarrierPhrase => "carrier_phrase",
            AmdReason::Dtmf => "dtmf",
            AmdReason::NoDecision => "no_decision",
            AmdReason::NotAnswered => "not_answered",
        }
    }

    /// The reason of a code, if it is one.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }

    /// In words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            AmdReason::ShortGreetingThenSilence => "short greeting, then silence",
            AmdReason::LongGreeting => "a long greeting, as a recorded one is",
            AmdReason::Silence => "nothing was said",
            AmdReason::Undecided => "no clear sign either way",
            AmdReason::Beep => "a voicemail beep",
            AmdReason::BeepAfterGreeting => "a beep after the greeting",
            AmdReason::Sit => "special information tones (a network announcement)",
            AmdReason::LongSpeechAfterGreeting => "kept talking after the greeting",
            AmdReason::CarrierPhrase => "a voicemail phrase was heard",
            AmdReason::Dtmf => "a key was pressed",
            AmdReason::NoDecision => "the call ended before a decision",
            AmdReason::NotAnswered => "the call was not answered",
        }
    }
}

impl std::fmt::Display for AmdReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A (possibly revised) decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmdDecision {
    pub verdict: Verdict,
    /// Time from answer when this decision was made.
    pub decided_at_ms: u64,
    /// Why.
    pub reason: AmdReason,
}

/// The detector state for one call.
#[derive(Debug)]
pub struct Amd {
    current: Option<AmdDecision>,
    finished: bool,
    levels: [f32; NOISE_WINDOW_FRAMES],
    probe_frames: u32,
    probe_active: u32,
    probe_level_sum: f32,
    background_dbm0: f32,
    frames: usize,
    /// Speech so far (ms) and the current run of non-speech.
    speech_ms: u64,
    silence_run_ms: u64,
    first_speech_ms: Option<u64>,
    /// The stretch of talk after the first decision (for revisions).
    stretch_ms: u64,
    stretch_gap_ms: u64,
}

impl Default for Amd {
    fn default() -> Self {
        Self::new()
    }
}

impl Amd {
    /// A detector with default parameters.
    pub fn new() -> Self {
        Self {
            current: None,
            finished: false,
            levels: [0.0; NOISE_WINDOW_FRAMES],
            probe_frames: 0,
            probe_active: 0,
            probe_level_sum: 0.0,
            background_dbm0: -200.0,
            frames: 0,
            speech_ms: 0,
            silence_run_ms: 0,
            first_speech_ms: None,
            stretch_ms: 0,
            stretch_gap_ms: 0,
        }
    }

    /// The latest decision, if any.
    pub fn decision(&self) -> Option<&AmdDecision> {
        self.current.as_ref()
    }

    /// Whether the detector has stopped listening (machine found, or revision window over).
    pub fn is_final(&self) -> bool {
        self.finished
    }

    fn decide(&mut self, verdict: Verdict, at_ms: u64, reason: AmdReason) -> Option<AmdDecision> {
        let d = AmdDecision {
            verdict,
            decided_at_ms: at_ms,
            reason,
        };
        if verdict == Verdict::Machine {
            self.finished = true;
        }
        self.current = Some(d.clone());
        Some(d)
    }

    /// Feeds one analysed callee frame; returns a new or revised decision when it changes.
    pub fn process(&mut self, f: &FrameFeatures) -> Option<AmdDecision> {
        if self.finished {
            return None;
        }
        let now = f.at_ms + FRAME_MS;
        // Tones first: they are the strongest cues.
        match f.tone {
            Some(ToneEvent::Beep { .. }) => {
                let reason = if self.current.is_some() {
                    AmdReason::BeepAfterGreeting
                } else {
                    AmdReason::Beep
                };
                return self.decide(Verdict::Machine, now, reason);
            }
            Some(ToneEvent::Sit { .. }) => {
                return self.decide(Verdict::Machine, now, AmdReason::Sit)
            }
            _ => {}
        }
        self.levels[self.frames % NOISE_WINDOW_FRAMES] = f.level_dbm0;
        self.frames += 1;
        let window = &self.levels[..self.frames.min(NOISE_WINDOW_FRAMES)];
        let floor = window.iter().copied().fold(f32::MAX, f32::min);
        let active = f.voiced && f.level_dbm0 >= floor + SPEECH_OVER_NOISE_DB;
        // Talk already there at the moment of answer is the room behind the callee: measure
        // it, and count as the callee's speech only what stands above it.
        if f.at_ms < BACKGROUND_PROBE_MS {
            self.probe_frames += 1;
            if f.voiced {
                self.probe_active += 1;
                self.probe_level_sum += f.level_dbm0;
            }
            if f.at_ms + FRAME_MS >= BACKGROUND_PROBE_MS
                && self.probe_active * 5 >= self.probe_frames * 4
            {
                self.background_dbm0 = self.probe_level_sum / self.probe_active as f32;
                self.speech_ms = 0;
                self.first_speech_ms = None;
            }
        }
        let speech = active && f.level_dbm0 >= self.background_dbm0 + SPEECH_OVER_BACKGROUND_DB;
        if speech {
            self.first_speech_ms.get_or_insert(f.at_ms);
            self.speech_ms += FRAME_MS;
            self.silence_run_ms = 0;
        } else {
            self.silence_run_ms += FRAME_MS;
        }

        match self.current.as_ref().map(|d| d.verdict) {
            None => self.first_decision(speech, now),
            Some(_) => self.revise(speech, now),
        }
    }

    fn first_decision(&mut self, speech: bool, now: u64) -> Option<AmdDecision> {
        if self.first_speech_ms.is_some() {
            let needed = if self.speech_ms <= SHORT_GREETING_MS {
                AFTER_SHORT_GREETING_SILENCE_MS
            } else {
                AFTER_GREETING_SILENCE_MS
            };
            if !speech && self.silence_run_ms >= needed {
                return if self.speech_ms <= HUMAN_MAX_SPEECH_MS {
                    self.decide(Verdict::Human, now, AmdReason::ShortGreetingThenSilence)
                } else {
                    self.decide(Verdict::Machine, now, AmdReason::LongGreeting)
                };
            }
            // A machine talks densely; a room's noise counted as talk is sparse.
            let span = now.saturating_sub(self.first_speech_ms.unwrap_or(0)).max(1);
            if self.speech_ms >= MACHINE_SPEECH_MS
                && self.speech_ms * 100 >= span * MIN_TALK_DENSITY_PCT
            {
                return self.decide(Verdict::Machine, now, AmdReason::LongGreeting);
            }
        } else if now >= NO_SPEECH_MS {
            return self.decide(Verdict::Unknown, now, AmdReason::Silence);
        }
        if now >= TOTAL_MS {
            return self.decide(Verdict::Unknown, now, AmdReason::Undecided);
        }
        None
    }

    fn revise(&mut self, speech: bool, now: u64) -> Option<AmdDecision> {
        if now >= REVISE_UNTIL_MS {
            self.finished = true;
            return None;
        }
        if speech {
            self.stretch_ms += FRAME_MS;
            self.stretch_gap_ms = 0;
        } else {
            self.stretch_gap_ms += FRAME_MS;
            if self.stretch_gap_ms >= REVISE_GAP_MS {
                self.stretch_ms = 0;
            }
        }
        if self.stretch_ms >= REVISE_SPEECH_MS {
            return self.decide(Verdict::Machine, now, AmdReason::LongSpeechAfterGreeting);
        }
        None
    }

    /// Tells the detector the recognised text of a callee utterance (carrier phrases).
    /// Returns a decision when the text settles it.
    pub fn note_transcript(&mut self, text: &str, at_ms: u64) -> Option<AmdDecision> {
        if self.finished || at_ms >= REVISE_UNTIL_MS {
            return None;
        }
        let hit = CARRIER_PHRASES
            .iter()
            .any(|p| crate::asr::phrase::matches(p, text));
        if hit {
            return self.decide(Verdict::Machine, at_ms, AmdReason::CarrierPhrase);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds (speech?, ms) spans at a fixed level over a quiet line; returns all decisions.
    fn run(spans: &[(bool, u64)]) -> Vec<AmdDecision> {
        let mut a = Amd::new();
        let mut t = 0;
        let mut out = vec![];
        for &(speech, ms) in spans {
            for _ in 0..ms / FRAME_MS {
                let f = FrameFeatures {
                    at_ms: t,
                    level_dbm0: if speech { -20.0 } else { -60.0 },
                    voiced: speech,
                    tone: None,
                };
                out.extend(a.process(&f));
                t += FRAME_MS;
            }
        }
        out
    }

    #[test]
    fn short_greeting_then_silence_is_a_person() {
        let d = run(&[(false, 400), (true, 600), (false, 5000)]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].verdict, Verdict::Human);
        assert_eq!(d[0].decided_at_ms, 1460, "600 ms greeting + 450 ms silence");
    }

    #[test]
    fn long_greeting_with_sentence_pauses_is_a_machine() {
        let d = run(&[
            (false, 300),
            (true, 1500),
            (false, 500),
            (true, 1700),
            (false, 3000),
        ]);
        assert_eq!(d[0].verdict, Verdict::Machine);
        assert_eq!(d[0].reason, AmdReason::LongGreeting);
    }

    #[test]
    fn silence_is_unknown_not_machine() {
        let d = run(&[(false, 9000)]);
        assert_eq!(d[0].verdict, Verdict::Unknown);
    }

    #[test]
    fn personal_machine_is_revised_when_it_keeps_talking() {
        let d = run(&[
            (false, 300),
            (true, 500),
            (false, 1200),
            (true, 3600),
            (false, 2000),
        ]);
        assert_eq!(
            d.iter().map(|d| d.verdict).collect::<Vec<_>>(),
            vec![Verdict::Human, Verdict::Machine]
        );
        assert_eq!(d[1].reason, AmdReason::LongSpeechAfterGreeting);
    }

    #[test]
    fn a_person_answering_the_robot_briefly_stays_a_person() {
        let d = run(&[
            (false, 300),
            (true, 500),
            (false, 3000),
            (true, 1200),
            (false, 600),
            (true, 1000),
            (false, 8000),
        ]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].verdict, Verdict::Human);
    }

    #[test]
    fn beep_decides_machine_at_once_and_carrier_phrase_too() {
        let mut a = Amd::new();
        let f = FrameFeatures {
            at_ms: 2000,
            level_dbm0: -20.0,
            voiced: false,
            tone: Some(ToneEvent::Beep {
                freq_hz: 1000.0,
                start_ms: 1600,
                end_ms: 2000,
            }),
        };
        assert_eq!(a.process(&f).map(|d| d.verdict), Some(Verdict::Machine));
        assert!(a.is_final());
        let mut a = Amd::new();
        assert_eq!(
            a.note_transcript("Абонент не может ответить", 2500)
                .map(|d| d.reason),
            Some(AmdReason::CarrierPhrase)
        );
        let mut a = Amd::new();
        assert_eq!(a.note_transcript("алло да слушаю", 900), None);
    }

    #[test]
    fn every_reason_has_a_code_that_reads_back_and_words_for_people() {
        for r in AmdReason::ALL {
            assert_eq!(AmdReason::from_code(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert!(!r.describe().contains('_'), "{r}");
        }
        assert_eq!(AmdReason::from_code("HANGUP"), None);
    }
}
