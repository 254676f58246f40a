//! Early media (183 before answer): recognises what means the call will not be answered —
//! special information tones, busy/congestion cadences, and, when a speech model is present,
//! the carrier's "аппарат абонента выключен…" announcement — so the robot gives up at once
//! instead of waiting for the ring timeout. Ringback and music are ignored. Pure: frames in.
use crate::asr::{phrase, Recognizer, SpeechModel, UtteranceFeed};
use crate::media::tones::ToneEvent;
use crate::media::vad::VadEvent;
use crate::media::{Frame, FrameAnalyzer, FRAME_MS};
use crate::scenario::system_result;

/// Phrases of "the number cannot be reached" announcements.
pub const UNREACHABLE_PHRASES: &[&str] = &[
    "абонент",
    "выключен",
    "вне зоны действия",
    "недоступен",
    "не существует",
    "набран неправильно",
    "номер не обслуживается",
    "заблокирован",
];

/// Why early media ends the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlyVerdict {
    /// Special information tones.
    Sit { at_ms: u64 },
    /// A 425 Hz busy cadence.
    Busy { at_ms: u64 },
    /// A 425 Hz congestion cadence.
    Congestion { at_ms: u64 },
    /// A recognised carrier announcement.
    Announcement { at_ms: u64, text: String },
}

impl EarlyVerdict {
    /// The system result this verdict gives (docs/telephony.md).
    pub fn result(&self) -> &'static str {
        match self {
            EarlyVerdict::Busy { .. } => system_result::BUSY,
            _ => system_result::SYSTEM,
        }
    }

    /// A short reason for logs and the call record.
    pub fn reason(&self) -> String {
        match self {
            EarlyVerdict::Sit { .. } => "early media: special information tones".into(),
            EarlyVerdict::Busy { .. } => "early media: busy tone".into(),
            EarlyVerdict::Congestion { .. } => "early media: congestion tone".into(),
            EarlyVerdict::Announcement { text, .. } => {
                format!("early media: carrier announcement \"{text}\"")
            }
        }
    }
}

/// The early-media analyser of one call.
pub struct EarlyMedia {
    analyzer: FrameAnalyzer,
    recognizer: Option<Box<dyn Recognizer>>,
    asr: UtteranceFeed,
    in_speech: bool,
    frames: u64,
}

impl EarlyMedia {
    /// A fresh analyser; with a speech model it also listens for announcements.
    pub fn new(speech: Option<&dyn SpeechModel>) -> Self {
        let phrases: Vec<String> = UNREACHABLE_PHRASES.iter().map(|p| p.to_string()).collect();
        let recognizer = speech.and_then(|m| match m.recognizer(&phrases) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "no recogniser for early media; only tones are heard");
                None
            }
        });
        Self {
            analyzer: FrameAnalyzer::new(),
            recognizer,
            asr: UtteranceFeed::new(),
            in_speech: false,
            frames: 0,
        }
    }

    /// Feeds one 20 ms frame of early media.
    pub fn on_frame(&mut self, frame: &Frame) -> Option<EarlyVerdict> {
        let at_ms = self.frames * FRAME_MS;
        self.frames += 1;
        let (features, vad) = self.analyzer.analyze(frame, at_ms);
        match features.tone {
            Some(ToneEvent::Sit { end_ms, .. }) => {
                return Some(EarlyVerdict::Sit { at_ms: end_ms })
            }
            Some(ToneEvent::Busy { at_ms }) => return Some(EarlyVerdict::Busy { at_ms }),
            Some(ToneEvent::Congestion { at_ms }) => {
                return Some(EarlyVerdict::Congestion { at_ms })
            }
            _ => {}
        }
        let rec = self.recognizer.as_mut()?;
        match vad {
            Some(VadEvent::SpeechStarted { .. }) => self.in_speech = true,
            Some(VadEvent::SpeechEnded { end_ms, .. }) => {
                self.in_speech = false;
                self.asr.accept(rec.as_mut(), frame);
                let text = self.asr.finish(rec.as_mut())?.text;
                let hit = UNREACHABLE_PHRASES
                    .iter()
                    .any(|p| phrase::matches(p, &text));
                return hit.then_some(EarlyVerdict::Announcement {
                    at_ms: end_ms,
                    text,
                });
            }
            None => {}
        }
        if self.in_speech {
            self.asr.accept(rec.as_mut(), frame);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::FRAME_SAMPLES;

    fn tone(freqs: &[f32], ms: u64, amp: f32) -> Vec<i16> {
        let n = (ms * 8) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / 8000.0;
                freqs
                    .iter()
                    .map(|f| amp * (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum::<f32>() as i16
            })
            .collect()
    }

    fn feed(e: &mut EarlyMedia, s: &[i16]) -> Option<EarlyVerdict> {
        for c in s.chunks(FRAME_SAMPLES) {
            let mut f = [0i16; FRAME_SAMPLES];
            f[..c.len()].copy_from_slice(c);
            if let Some(v) = e.on_frame(&f) {
                return Some(v);
            }
        }
        None
    }

    #[test]
    fn sit_before_an_announcement_ends_the_attempt_as_system() {
        let mut s = vec![];
        for f in [950.0, 1400.0, 1800.0] {
            s.extend(tone(&[f], 330, 6000.0));
        }
        s.extend(vec![0; 8000]);
        let mut e = EarlyMedia::new(None);
        let v = feed(&mut e, &s).expect("SIT");
        assert!(matches!(v, EarlyVerdict::Sit { .. }), "{v:?}");
        assert_eq!(v.result(), "system");
    }

    #[test]
    fn ringback_is_ignored() {
        let mut s = vec![];
        for _ in 0..4 {
            s.extend(tone(&[425.0], 1000, 5000.0));
            s.extend(vec![0; 8 * 4000]);
        }
        let mut e = EarlyMedia::new(None);
        assert_eq!(feed(&mut e, &s), None);
    }

    #[test]
    fn a_busy_cadence_in_early_media_is_busy() {
        let mut s = vec![];
        for _ in 0..6 {
            s.extend(tone(&[425.0], 380, 5000.0));
            s.extend(vec![0; 8 * 380]);
        }
        let mut e = EarlyMedia::new(None);
        let v = feed(&mut e, &s).expect("busy");
        assert_eq!(v.result(), "busy");
    }
}
