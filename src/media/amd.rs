//! Answering-machine detection from the moment of answer. Pure: analysed frames in, decisions
//! out. People first (docs/amd.md): a wrong "machine" hangs up on a person, so the length of
//! a greeting alone is evidence, never a verdict. What decides:
//! - a voicemail beep or SIT → machine, at any time;
//! - a carrier phrase, when a speech model hears one → machine;
//! - the greeting ending in the silence of someone waiting for an answer → person (the longer
//!   the greeting, the longer that silence: 0.4 s after «Алло?», 1.2 s after a long one);
//! - a greeting going on past `MONOLOGUE_MS` with only sentence pauses → machine; one that
//!   starts over the robot's prompt and goes on past `OVER_PROMPT_MS` → machine.
//!
//! The first decision lets the robot talk; it may be revised to `machine` while the prompt
//! plays (until `REVISE_UNTIL_MS`), never from machine back.
use super::tones::ToneEvent;
use super::{FrameFeatures, FRAME_MS};
use serde::Serialize;

/// Speech must stand this far above the noise floor (noisy rooms, babble).
pub const SPEECH_OVER_NOISE_DB: f32 = 10.0;
/// The first moments after answer: talk heard throughout them is background (babble), since
/// people and machines alike start a little after the answer.
pub const BACKGROUND_PROBE_MS: u64 = 300;
/// No background talk measured.
const NO_BACKGROUND_DBM0: f32 = -200.0;
/// Background talk that falls silent this long was the callee's greeting from the answer on.
pub const BACKGROUND_GONE_MS: u64 = 300;
/// The callee's speech must stand this far above such background talk.
pub const SPEECH_OVER_BACKGROUND_DB: f32 = 6.0;
/// Talk shorter than this is not a word (app_amd's minimum word length).
pub const MIN_WORD_MS: u64 = 100;
/// Gaps this short inside talk belong to the word (between syllables, a weak consonant).
pub const WORD_GAP_MS: u64 = 60;
/// Talk this far below the loudest of the callee's own talk is someone else's (the room).
pub const SPEECH_UNDER_PEAK_DB: f32 = 13.0;
/// The noise floor is the quietest frame of this many recent frames (3 s): words have gaps,
/// so during speech it stays low; in steady noise it sits at the noise.
pub const NOISE_WINDOW_FRAMES: usize = 150;
/// A greeting this short ("Алло?", "Да") needs only a short silence after it to tell a person
/// waiting.
pub const SHORT_GREETING_MS: u64 = 1_000;
/// Silence after such a short greeting that shows a person waiting.
pub const AFTER_SHORT_GREETING_SILENCE_MS: u64 = 400;
/// A greeting up to this much talk ("Алло, здравствуйте, слушаю вас" ≈ 2.5 s) needs
/// `AFTER_GREETING_SILENCE_MS` after it.
pub const GREETING_MS: u64 = 2_700;
/// Silence after such a greeting that shows a person waiting for an answer.
pub const AFTER_GREETING_SILENCE_MS: u64 = 600;
/// Silence after a longer greeting that shows a person waiting: longer than the pauses
/// between a recorded greeting's sentences (0.6–0.9 s, heard as up to 1.0 s) and than its
/// pause before the beep, so a machine that goes on or beeps is still heard as one.
pub const AFTER_LONG_GREETING_SILENCE_MS: u64 = 1_200;
/// A greeting going on this long from its first word without the silence of someone waiting
/// (only pauses shorter than `AFTER_LONG_GREETING_SILENCE_MS`) is a recording: people who
/// greet at length in one breath ("алло, здравствуйте, добрый день, я вас слушаю, говорите,
/// кто звонит?") stop within ~6 s and wait.
pub const MONOLOGUE_MS: u64 = 6_500;
/// Share of that time that must be words for the greeting rules (a room's voices taken for
/// talk are sparse; a recording talks densely).
pub const MIN_TALK_DENSITY_PCT: u64 = 30;
/// No speech at all by then: undecided (`unknown`: the robot talks anyway).
pub const NO_SPEECH_MS: u64 = 6_000;
/// Give up on a first decision by then.
pub const TOTAL_MS: u64 = 10_000;
/// Keep listening for revisions (beep, monologue, carrier phrase) until then.
pub const REVISE_UNTIL_MS: u64 = 15_000;
/// A greeting that starts after the first decision, over the robot's prompt, and goes on
/// this long: a recording goes on talking after «Алло.»; a person stops for the robot.
pub const OVER_PROMPT_MS: u64 = 3_500;
/// … with at least this share of it words (the room's voices behind a person who stopped
/// talking are sparser than that).
pub const OVER_PROMPT_DENSITY_PCT: u64 = 40;
/// After a first `human` decision the greeting rules (monologue, over the prompt) apply to
/// the greeting then going on or starting within this time: a recording that said «Алло.»
/// and goes on. Talk that starts later is the person answering the robot's prompt, which no
/// length makes a machine (a beep or a carrier phrase still does).
pub const REVISE_ONSET_MS: u64 = 1_500;
/// A pause in the callee's talk at least this long lets the robot start its prompt when no
/// decision has come by `call::runner::MAX_SILENT_WAIT_MS`.
pub const TALK_PAUSE_MS: u64 = 400;
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
    /// A greeting that went on past `MONOLOGUE_MS` without waiting for an answer.
    LongGreeting,
    /// A long greeting, then the silence of someone waiting.
    LongGreetingThenSilence,
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
    /// A recorded greeting heard before on calls to other numbers (docs/amd.md, "Learned
    /// greetings").
    KnownGreeting,
    /// Such a greeting labelled a voice assistant's.
    Assistant,
    /// A key was pressed (machines press none).
    Dtmf,
    /// The call ended before any decision.
    NoDecision,
    /// The call was never answered.
    NotAnswered,
}

impl AmdReason {
    /// Every reason.
    pub const ALL: [AmdReason; 15] = [
        AmdReason::ShortGreetingThenSilence,
        AmdReason::LongGreeting,
        AmdReason::LongGreetingThenSilence,
        AmdReason::Silence,
        AmdReason::Undecided,
        AmdReason::Beep,
        AmdReason::BeepAfterGreeting,
        AmdReason::Sit,
        AmdReason::LongSpeechAfterGreeting,
        AmdReason::CarrierPhrase,
        AmdReason::KnownGreeting,
        AmdReason::Assistant,
        AmdReason::Dtmf,
        AmdReason::NoDecision,
        AmdReason::NotAnswered,
    ];

    /// The code: `short_greeting_then_silence`, `beep`, `sit`, …
    pub fn as_str(self) -> &'static str {
        match self {
            AmdReason::ShortGreetingThenSilence => "short_greeting_then_silence",
            AmdReason::LongGreeting => "long_greeting",
            AmdReason::LongGreetingThenSilence => "long_greeting_then_silence",
            AmdReason::Silence => "silence",
            AmdReason::Undecided => "undecided",
            AmdReason::Beep => "beep",
            AmdReason::BeepAfterGreeting => "beep_after_greeting",
            AmdReason::Sit => "sit",
            AmdReason::LongSpeechAfterGreeting => "long_speech_after_greeting",
            AmdReason::CarrierPhrase => "carrier_phrase",
            AmdReason::KnownGreeting => "known_greeting",
            AmdReason::Assistant => "assistant",
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
            AmdReason::LongGreeting => {
                "talked on without waiting for an answer, as a recording does"
            }
            AmdReason::LongGreetingThenSilence => "a long greeting, then silence",
            AmdReason::Silence => "nothing was said",
            AmdReason::Undecided => "no clear sign either way",
            AmdReason::Beep => "a voicemail beep",
            AmdReason::BeepAfterGreeting => "a beep after the greeting",
            AmdReason::Sit => "special information tones (a network announcement)",
            AmdReason::LongSpeechAfterGreeting => "kept talking after the greeting",
            AmdReason::CarrierPhrase => "a voicemail phrase was heard",
            AmdReason::KnownGreeting => "a recorded greeting heard before on other numbers",
            AmdReason::Assistant => "a voice assistant's recorded greeting",
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
    /// While that background is held: its talk so far and where it last was.
    probe_talk_ms: u64,
    probe_talk_end_ms: u64,
    frames: usize,
    /// The frame level smoothed over ~100 ms, and the loudest it has been in the callee's talk.
    smoothed_dbm0: f32,
    talk_peak_dbm0: f32,
    /// Talk not yet a word (under `MIN_WORD_MS`) and where it began.
    burst_ms: u64,
    burst_start_ms: u64,
    /// Inside a word, and the run of non-talk frames since its last talk frame.
    in_word: bool,
    gap_ms: u64,
    /// The current run of non-talk.
    silence_run_ms: u64,
    /// Whether anything was said yet.
    spoke: bool,
    /// The greeting now going on or last heard: talk with no pause as long as
    /// `AFTER_LONG_GREETING_SILENCE_MS` in it.
    greeting: Greeting,
}

/// One greeting: from its first word to its last, pauses shorter than a person's waiting.
#[derive(Debug, Default, Clone, Copy)]
struct Greeting {
    start_ms: u64,
    end_ms: u64,
    talk_ms: u64,
    /// It started after the first decision, while the robot's prompt plays.
    after_decision: bool,
    /// The greeting rules may still decide on it (false for an answer to the robot).
    open: bool,
}

impl Greeting {
    fn span(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms).max(1)
    }

    /// A recording's greeting: one that went on past what a person says before waiting
    /// (`MONOLOGUE_MS`), or, started over the robot's prompt, past `OVER_PROMPT_MS`.
    fn is_a_recording(&self) -> bool {
        let span = self.span();
        let (limit, density) = if self.after_decision {
            (OVER_PROMPT_MS, OVER_PROMPT_DENSITY_PCT)
        } else {
            (MONOLOGUE_MS, MIN_TALK_DENSITY_PCT)
        };
        self.open && span >= limit && self.talk_ms * 100 >= span * density
    }
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
            background_dbm0: NO_BACKGROUND_DBM0,
            probe_talk_ms: 0,
            probe_talk_end_ms: 0,
            frames: 0,
            smoothed_dbm0: -100.0,
            talk_peak_dbm0: -200.0,
            burst_ms: 0,
            burst_start_ms: 0,
            in_word: false,
            gap_ms: 0,
            silence_run_ms: 0,
            spoke: false,
            greeting: Greeting::default(),
        }
    }

    /// Whether the callee is talking now (a word under way, or less than `TALK_PAUSE_MS`
    /// since the last one): the robot does not start its prompt over a greeting.
    pub fn callee_talking(&self) -> bool {
        self.in_word || self.burst_ms > 0 || (self.spoke && self.silence_run_ms < TALK_PAUSE_MS)
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
                self.spoke = false;
                self.greeting = Greeting::default();
                self.probe_talk_ms = self.probe_active as u64 * FRAME_MS;
                self.probe_talk_end_ms = now;
            }
        } else if self.background_dbm0 > NO_BACKGROUND_DBM0 && !self.spoke {
            // What sounded like the room may have been the callee, greeting from the first
            // moment: room talk goes on, a greeting stops. Once that "background" has been
            // silent for `BACKGROUND_GONE_MS`, it was a greeting starting at the answer.
            if active && f.level_dbm0 >= self.background_dbm0 - SPEECH_UNDER_PEAK_DB {
                self.probe_talk_ms += FRAME_MS;
                self.probe_talk_end_ms = now;
            } else if now - self.probe_talk_end_ms >= BACKGROUND_GONE_MS {
                // Its level was the callee's voice.
                self.talk_peak_dbm0 = self.talk_peak_dbm0.max(self.background_dbm0);
                self.background_dbm0 = NO_BACKGROUND_DBM0;
                self.spoke = true;
                self.greeting = Greeting {
                    start_ms: 0,
                    end_ms: self.probe_talk_end_ms,
                    talk_ms: self.probe_talk_ms,
                    after_decision: false,
                    open: true,
                };
            }
        }
        // The callee's own voice sets the level of talk; talk far below it is the room behind
        // (voices of others, a television), which would otherwise never let a pause be heard.
        self.smoothed_dbm0 += (f.level_dbm0 - self.smoothed_dbm0) * 0.4;
        let loud = active && f.level_dbm0 >= self.background_dbm0 + SPEECH_OVER_BACKGROUND_DB;
        if loud {
            self.talk_peak_dbm0 = self.talk_peak_dbm0.max(self.smoothed_dbm0);
        }
        let talk = loud && self.smoothed_dbm0 >= self.talk_peak_dbm0 - SPEECH_UNDER_PEAK_DB;
        // Talk counts once it lasts a word (`MIN_WORD_MS` of talk, gaps inside it up to
        // `WORD_GAP_MS`); shorter bursts (a clatter, the room's voices peaking) leave a
        // silence running.
        let mut added = 0;
        if talk {
            self.gap_ms = 0;
            if self.in_word {
                added = FRAME_MS;
            } else {
                if self.burst_ms == 0 {
                    self.burst_start_ms = now - FRAME_MS;
                }
                self.burst_ms += FRAME_MS;
                if self.burst_ms >= MIN_WORD_MS {
                    self.in_word = true;
                    added = self.burst_ms;
                    self.burst_ms = 0;
                }
            }
        } else {
            self.gap_ms += FRAME_MS;
            if self.gap_ms > WORD_GAP_MS {
                self.in_word = false;
                self.burst_ms = 0;
            }
        }
        if added > 0 {
            let word_start = if added > FRAME_MS {
                self.burst_start_ms
            } else {
                now - FRAME_MS
            };
            let pause = word_start.saturating_sub(self.greeting.end_ms);
            if !self.spoke || pause >= AFTER_LONG_GREETING_SILENCE_MS {
                // A new greeting (or, after the first decision, perhaps an answer).
                let decided_at = self.current.as_ref().map(|d| d.decided_at_ms);
                self.greeting = Greeting {
                    start_ms: word_start,
                    after_decision: decided_at.is_some(),
                    open: decided_at.is_none_or(|at| word_start <= at + REVISE_ONSET_MS),
                    ..Greeting::default()
                };
            }
            self.spoke = true;
            self.greeting.end_ms = now;
            self.greeting.talk_ms += added;
        }
        self.silence_run_ms = if self.spoke {
            now - self.greeting.end_ms
        } else {
            now
        };
        if self.current.is_some() && now >= REVISE_UNTIL_MS {
            self.finished = true;
            return None;
        }
        if added > 0 && self.greeting.is_a_recording() {
            let reason = if self.current.is_some() {
                AmdReason::LongSpeechAfterGreeting
            } else {
                AmdReason::LongGreeting
            };
            return self.decide(Verdict::Machine, now, reason);
        }
        if self.current.is_none() {
            return self.first_decision(now);
        }
        None
    }

    /// A first decision from the greeting's end: the silence of someone waiting, or none.
    fn first_decision(&mut self, now: u64) -> Option<AmdDecision> {
        if !self.spoke {
            if now >= NO_SPEECH_MS {
                return self.decide(Verdict::Unknown, now, AmdReason::Silence);
            }
            return None;
        }
        // The greeting ended in the silence of someone waiting for an answer: a person. The
        // longer the greeting, the longer that silence must be.
        let talk = self.greeting.talk_ms;
        let (needed, reason) = if talk <= SHORT_GREETING_MS {
            (
                AFTER_SHORT_GREETING_SILENCE_MS,
                AmdReason::ShortGreetingThenSilence,
            )
        } else if talk <= GREETING_MS {
            (
                AFTER_GREETING_SILENCE_MS,
                AmdReason::ShortGreetingThenSilence,
            )
        } else {
            (
                AFTER_LONG_GREETING_SILENCE_MS,
                AmdReason::LongGreetingThenSilence,
            )
        };
        // Not while something that may be the next word is starting.
        if self.silence_run_ms >= needed && self.burst_ms == 0 {
            return self.decide(Verdict::Human, now, reason);
        }
        if now >= TOTAL_MS {
            return self.decide(Verdict::Unknown, now, AmdReason::Undecided);
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

    /// Tells the detector that a learned greeting was heard (`assistant`: one labelled a
    /// voice assistant's). A recording is a machine, at first or as a revision.
    pub fn note_known_greeting(&mut self, assistant: bool, at_ms: u64) -> Option<AmdDecision> {
        if self.finished || at_ms >= REVISE_UNTIL_MS {
            return None;
        }
        let reason = if assistant {
            AmdReason::Assistant
        } else {
            AmdReason::KnownGreeting
        };
        self.decide(Verdict::Machine, at_ms, reason)
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

    /// Talk as people and recordings do: words of 400 ms with 100 ms between them.
    fn talk(ms: u64) -> Vec<(bool, u64)> {
        let mut v = vec![];
        let mut left = ms;
        while left > 0 {
            let w = left.min(400);
            v.push((true, w));
            left -= w;
            if left > 0 {
                let g = left.min(100);
                v.push((false, g));
                left -= g;
            }
        }
        v
    }

    #[test]
    fn short_greeting_then_silence_is_a_person() {
        let d = run(&[(false, 400), (true, 600), (false, 5000)]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].verdict, Verdict::Human);
        assert_eq!(d[0].decided_at_ms, 1400, "600 ms greeting + 400 ms silence");
    }

    #[test]
    fn a_greeting_going_on_with_sentence_pauses_is_a_machine() {
        let d = run(&[
            vec![(false, 300)],
            talk(2000),
            vec![(false, 700)],
            talk(2000),
            vec![(false, 800)],
            talk(2500),
            vec![(false, 3000)],
        ]
        .concat());
        // The 700 ms pause after 2 s of talk lets the robot start («a person», for now); the
        // greeting going on past `MONOLOGUE_MS` from its first word revises that.
        let last = d.last().expect("a decision");
        assert_eq!(last.verdict, Verdict::Machine, "{d:?}");
        assert_eq!(last.reason, AmdReason::LongSpeechAfterGreeting);
        assert!(last.decided_at_ms <= 300 + MONOLOGUE_MS + 200, "{d:?}");
        let d = run(&[vec![(false, 300)], talk(8000), vec![(false, 3000)]].concat());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].reason, AmdReason::LongGreeting);
    }

    #[test]
    fn a_long_greeting_in_one_breath_then_waiting_is_a_person() {
        for greeting_ms in [4_000, 5_000, 6_000] {
            let d = run(&[vec![(false, 400)], talk(greeting_ms), vec![(false, 6000)]].concat());
            assert_eq!(d.len(), 1, "{greeting_ms} ms: {d:?}");
            assert_eq!(d[0].verdict, Verdict::Human);
            assert_eq!(d[0].reason, AmdReason::LongGreetingThenSilence);
            let end = 400 + greeting_ms;
            assert!(
                (end + AFTER_LONG_GREETING_SILENCE_MS - 100
                    ..end + AFTER_LONG_GREETING_SILENCE_MS + 100)
                    .contains(&d[0].decided_at_ms),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_greeting_from_the_moment_of_answer_is_not_taken_for_the_room() {
        // Talk throughout the first 300 ms looks like a room's; it stops, so it was a person.
        let d = run(&[talk(1200), vec![(false, 5000)]].concat());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].verdict, Verdict::Human);
        assert!(d[0].decided_at_ms <= 1200 + 700, "{d:?}");
    }

    #[test]
    fn silence_is_unknown_not_machine() {
        let d = run(&[(false, 9000)]);
        assert_eq!(d[0].verdict, Verdict::Unknown);
    }

    #[test]
    fn personal_machine_is_revised_when_it_keeps_talking() {
        let d = run(&[
            vec![(false, 300), (true, 500), (false, 1300)],
            talk(4000),
            vec![(false, 2000)],
        ]
        .concat());
        assert_eq!(
            d.iter().map(|d| d.verdict).collect::<Vec<_>>(),
            vec![Verdict::Human, Verdict::Machine]
        );
        assert_eq!(d[1].reason, AmdReason::LongSpeechAfterGreeting);
        assert!(d[1].decided_at_ms <= 2100 + OVER_PROMPT_MS + 200, "{d:?}");
    }

    #[test]
    fn an_answer_to_the_robot_is_never_a_machine_by_its_length() {
        // «Алло?», the robot's prompt starts, the person waits 2 s and then talks at length.
        let d = run(&[
            vec![(false, 300), (true, 500), (false, 2500)],
            talk(6000),
            vec![(false, 1300)],
            talk(7000),
        ]
        .concat());
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].verdict, Verdict::Human);
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
