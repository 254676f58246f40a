//! The call's ear for learned greetings (docs/amd.md, "Learned greetings"): the callee's
//! audio from the answer is fingerprinted, frame by frame, and matched against the greetings
//! the robot has met; a sure match of one that decides makes AMD say `machine`. What was heard
//! goes back to the caller at the end, to be learned (`GreetingBook::learn` at the edge).
//!
//! While the robot talks (and for `ECHO_TAIL_MS` after) the callee's line may carry its
//! prompt back as echo: the same audio on every call, which must never become a greeting.
//! Those stretches are still matched — a greeting already learned is known through the
//! robot's prompt too — but none of their landmarks is kept for learning.
//!
//! The book is shared by every call; a call only ever tries to read it (`try_read`): when a
//! writer holds it, the frame's landmarks wait for the next frame, so the 20 ms tick never
//! blocks on it.
use crate::media::fingerprint::{Fingerprinter, Landmark, COLUMN_MS, WINDOW};
use crate::media::greetings::{Label, Learned, Library, Match, LISTEN_MS};
use crate::media::{Frame, FRAME_MS, SAMPLE_RATE};
use std::sync::{Arc, RwLock};

/// The robot's audio is heard back as echo this long after it stops: masked that long.
pub const ECHO_TAIL_MS: u64 = 200;
/// What a call keeps of the callee's audio for a greeting's sample: its first 4 seconds
/// (64 KB a call while it lasts; the fingerprint goes on to `LISTEN_MS`).
pub const SAMPLE_MS: u64 = 4_000;

/// The greetings every call matches against.
#[derive(Debug, Default)]
pub struct GreetingBook {
    pub library: RwLock<Library>,
}

impl GreetingBook {
    pub fn new(library: Library) -> Arc<Self> {
        Arc::new(Self {
            library: RwLock::new(library),
        })
    }

    /// What to learn from a call (read only; the caller stores it, then `add`s or `seen`s).
    pub fn learn(&self, heard: &HeardGreeting) -> Learned {
        match self.library.read() {
            Ok(l) => l.learn(&heard.landmarks, heard.matched, heard.person),
            Err(_) => Learned::Nothing,
        }
    }
}

/// What a call heard, for learning.
#[derive(Debug, Clone, PartialEq)]
pub struct HeardGreeting {
    /// The number's key (`greetings::number_key`).
    pub number: u64,
    pub landmarks: Vec<Landmark>,
    /// The greeting it matched, sure or the best close one.
    pub matched: Option<Match>,
    /// The callee showed to be a person (a key, an answer the scenario heard).
    pub person: bool,
    /// The callee's first `SAMPLE_MS` of audio (8 kHz), for a new greeting's sample.
    pub sample: Vec<i16>,
}

impl HeardGreeting {
    /// What hearing its matched greeting again adds to it: its landmarks at the match's offset.
    pub fn grow(&self) -> Option<(&[Landmark], i32)> {
        self.matched.map(|m| (self.landmarks.as_slice(), m.offset))
    }
}

/// One call's fingerprinting and matching.
pub struct GreetingEar {
    book: Arc<GreetingBook>,
    number: u64,
    fp: Fingerprinter,
    matcher: crate::media::greetings::Matcher,
    landmarks: Vec<Landmark>,
    /// Landmarks not yet matched (the book was busy).
    pending: usize,
    sample: Vec<i16>,
    /// Where the robot talked (ms since the answer, its echo tail included), oldest first:
    /// landmarks touching them are matched but never learned.
    robot: Vec<(u64, u64)>,
    decided: Option<Match>,
    done: bool,
}

impl GreetingEar {
    pub fn new(book: Arc<GreetingBook>, number: u64) -> Self {
        Self {
            book,
            number,
            fp: Fingerprinter::new(),
            matcher: Default::default(),
            landmarks: Vec::with_capacity(1024),
            pending: 0,
            sample: Vec::with_capacity((SAMPLE_MS * u64::from(SAMPLE_RATE) / 1000) as usize),
            robot: Vec::new(),
            decided: None,
            done: false,
        }
    }

    /// One callee frame at `at_ms`; `robot_talked`: the robot's previous frame was not
    /// silent; `voiced`: the VAD heard a voice in it (line noise, a codec's comfort noise and
    /// silence give no landmarks: they are alike on every call). Answers a greeting that
    /// decides `machine`, once: `Some(label)`.
    pub fn hear(
        &mut self,
        callee: &Frame,
        robot_talked: bool,
        voiced: bool,
        at_ms: u64,
    ) -> Option<Option<Label>> {
        if self.done || at_ms >= LISTEN_MS {
            self.finish();
            return None;
        }
        if robot_talked {
            // The previous frame was the robot's: its echo may come back until the tail ends.
            let (from, to) = (at_ms.saturating_sub(FRAME_MS), at_ms + ECHO_TAIL_MS);
            match self.robot.last_mut() {
                Some(last) if last.1 >= from => last.1 = to,
                _ => self.robot.push((from, to)),
            }
        }
        if at_ms < SAMPLE_MS {
            self.sample.extend_from_slice(callee);
        }
        self.fp.push(callee, !voiced, &mut self.landmarks);
        self.pending_match()
    }

    /// Whether column `t`'s window (`WINDOW` samples from `t` hops) overlaps the robot's talk.
    fn robot_column(&self, t: u32) -> bool {
        let from = u64::from(t) * COLUMN_MS;
        let to = from + WINDOW as u64 * 1000 / u64::from(SAMPLE_RATE);
        self.robot.iter().any(|&(a, b)| from < b && to > a)
    }

    /// The landmarks that may be learned: both peaks outside the robot's talk.
    fn learnable(&self) -> Vec<Landmark> {
        self.landmarks
            .iter()
            .filter(|l| {
                let (anchor, target) = l.columns();
                !self.robot_column(anchor) && !self.robot_column(target)
            })
            .copied()
            .collect()
    }

    fn pending_match(&mut self) -> Option<Option<Label>> {
        let new = self.landmarks.len() - self.pending;
        if new == 0 || self.decided.is_some() {
            return None;
        }
        let Ok(library) = self.book.library.try_read() else {
            return None;
        };
        self.matcher
            .add(&library.index, &self.landmarks[self.pending..]);
        self.pending = self.landmarks.len();
        let m = self.matcher.sure(&library.index)?;
        let g = library.deciding(&m, self.number)?;
        self.decided = Some(m);
        Some(g.label)
    }

    /// Whether it has stopped listening (`hear` does nothing more).
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.fp.finish(&mut self.landmarks);
        }
    }

    /// What the call heard, at its end. `person`: the callee pressed a key or answered.
    pub fn heard(mut self, person: bool) -> HeardGreeting {
        self.finish();
        let matched = match self.book.library.read() {
            Ok(library) => {
                self.matcher
                    .add(&library.index, &self.landmarks[self.pending..]);
                self.decided.or_else(|| self.matcher.sure(&library.index))
            }
            Err(_) => self.decided,
        };
        HeardGreeting {
            number: self.number,
            landmarks: self.learnable(),
            matched,
            person,
            sample: self.sample,
        }
    }
}
