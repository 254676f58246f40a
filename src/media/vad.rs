//! Voice activity detection: webrtc-vad per 20 ms frame, gated by an energy floor, plus named
//! thresholds that turn raw decisions into speech start/end events. One per call (webrtc-vad
//! is not `Send`). Pure: frames in, events out.
use super::{level, Frame, FRAME_MS};
use webrtc_vad::{SampleRate, VadMode};

/// Frames in the start window (200 ms).
pub const START_WINDOW_FRAMES: u32 = 10;
/// Voiced frames within the start window that confirm speech (~160 ms of the last 200 ms):
/// a click or a short noise burst does not start speech.
pub const START_MIN_VOICED: u32 = 8;
/// Silence that ends an utterance (the usual range is 500–800 ms).
pub const END_SILENCE_MS: u64 = 700;
/// Longest answer; longer speech is cut into capped segments.
pub const MAX_UTTERANCE_MS: u64 = 30_000;
/// Frames below this level never count as voiced: line noise webrtc-vad may call speech.
pub const ENERGY_FLOOR_DBM0: f32 = -50.0;
/// webrtc-vad aggressiveness: Aggressive suits telephone audio (fewer noise false alarms than
/// Quality, keeps soft word onsets better than VeryAggressive).
pub const MODE: VadMode = VadMode::Aggressive;

/// A speech segment boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech confirmed; `start_ms` is where it began (before confirmation).
    SpeechStarted { start_ms: u64 },
    /// Speech ended after enough silence, or was capped.
    SpeechEnded {
        start_ms: u64,
        end_ms: u64,
        capped: bool,
    },
}

/// Segmenter over webrtc-vad; one per call.
pub struct Vad {
    inner: webrtc_vad::Vad,
    /// Voiced flags of the last frames, newest in bit 0.
    history: u32,
    in_speech: bool,
    start_ms: u64,
    silent_since: Option<u64>,
}

// SAFETY: `webrtc_vad::Vad` owns a heap-allocated libfvad instance (plain C state, no thread
// affinity, no shared globals); `Vad` owns it exclusively and only `&mut self` methods touch it,
// so moving it to another thread between frames is sound. It stays `!Sync`.
unsafe impl Send for Vad {}

impl Vad {
    /// A VAD with the default thresholds.
    pub fn new() -> Self {
        Self {
            inner: webrtc_vad::Vad::new_with_rate_and_mode(SampleRate::Rate8kHz, MODE),
            history: 0,
            in_speech: false,
            start_ms: 0,
            silent_since: None,
        }
    }

    /// The raw (energy-gated) voiced decision for one frame.
    pub fn is_voiced(&mut self, frame: &Frame) -> bool {
        level::dbm0(frame) > ENERGY_FLOOR_DBM0
            && self.inner.is_voice_segment(frame).unwrap_or(false)
    }

    /// Feeds one frame starting at `at_ms`. Returns the raw voiced decision and a segment event.
    pub fn process_frame(&mut self, frame: &Frame, at_ms: u64) -> (bool, Option<VadEvent>) {
        let voiced = self.is_voiced(frame);
        (voiced, self.update(voiced, at_ms))
    }

    /// The segmentation state machine over raw decisions (separate for testing).
    pub fn update(&mut self, voiced: bool, at_ms: u64) -> Option<VadEvent> {
        let mask = (1u32 << START_WINDOW_FRAMES) - 1;
        self.history = ((self.history << 1) | u32::from(voiced)) & mask;
        if !self.in_speech {
            if voiced && self.history.count_ones() >= START_MIN_VOICED {
                // Start at the oldest voiced frame in the window.
                let oldest = 31 - self.history.leading_zeros();
                self.in_speech = true;
                self.start_ms = at_ms.saturating_sub(u64::from(oldest) * FRAME_MS);
                self.silent_since = None;
                return Some(VadEvent::SpeechStarted {
                    start_ms: self.start_ms,
                });
            }
            return None;
        }
        if voiced {
            self.silent_since = None;
        } else if self.silent_since.is_none() {
            self.silent_since = Some(at_ms);
        }
        if let Some(since) = self.silent_since {
            if at_ms + FRAME_MS - since >= END_SILENCE_MS {
                self.in_speech = false;
                self.history = 0;
                return Some(VadEvent::SpeechEnded {
                    start_ms: self.start_ms,
                    end_ms: since,
                    capped: false,
                });
            }
        }
        if at_ms + FRAME_MS - self.start_ms >= MAX_UTTERANCE_MS {
            self.in_speech = false;
            self.history = 0;
            return Some(VadEvent::SpeechEnded {
                start_ms: self.start_ms,
                end_ms: at_ms + FRAME_MS,
                capped: true,
            });
        }
        None
    }

    /// Whether an utterance is in progress.
    pub fn in_speech(&self) -> bool {
        self.in_speech
    }
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pattern: &[(bool, u64)]) -> Vec<VadEvent> {
        let mut v = Vad::new();
        let mut t = 0;
        let mut out = vec![];
        for &(voiced, ms) in pattern {
            for _ in 0..ms / FRAME_MS {
                out.extend(v.update(voiced, t));
                t += FRAME_MS;
            }
        }
        out
    }

    #[test]
    fn speech_starts_after_about_200_ms_and_ends_after_700_ms_of_silence() {
        let e = run(&[(false, 1000), (true, 1500), (false, 2000)]);
        assert_eq!(
            e,
            vec![
                VadEvent::SpeechStarted { start_ms: 1000 },
                VadEvent::SpeechEnded {
                    start_ms: 1000,
                    end_ms: 2500,
                    capped: false
                }
            ]
        );
    }

    #[test]
    fn a_click_does_not_start_speech() {
        assert!(run(&[
            (false, 500),
            (true, 60),
            (false, 500),
            (true, 100),
            (false, 1000)
        ])
        .is_empty());
    }

    #[test]
    fn short_pauses_inside_speech_do_not_split_it() {
        let e = run(&[(true, 800), (false, 400), (true, 800), (false, 1000)]);
        assert_eq!(e.len(), 2);
        assert!(matches!(e[1], VadEvent::SpeechEnded { end_ms: 2000, .. }));
    }

    #[test]
    fn answers_are_capped_at_30_s() {
        let e = run(&[(true, 31_000)]);
        assert!(
            matches!(
                e[1],
                VadEvent::SpeechEnded {
                    start_ms: 0,
                    end_ms: 30_000,
                    capped: true
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn digital_silence_and_low_noise_are_not_voiced() {
        let mut v = Vad::new();
        assert!(!v.is_voiced(&[0; 160]));
        let mut seed = 1u32;
        let noise: Vec<i16> = (0..160)
            .map(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                ((seed >> 16) as i16) >> 10
            })
            .collect();
        let f: Frame = noise.try_into().unwrap();
        assert!(!v.is_voiced(&f));
    }
}
