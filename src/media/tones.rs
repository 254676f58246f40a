//! Call-progress and special tones: SIT, voicemail beeps, 425 Hz busy/congestion/ringback.
//! (interface fixed by the skeleton; implementation owned by the tones work)
use super::Frame;

/// A tone pattern recognised on the callee's audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToneEvent {
    /// A special information tone sequence (950/1400/1800 Hz or Bellcore variants) ended.
    Sit { start_ms: u64, end_ms: u64 },
    /// A single steady tone 440–2000 Hz of at least ~200 ms (voicemail beep) ended.
    Beep {
        freq_hz: f32,
        start_ms: u64,
        end_ms: u64,
    },
    /// 425 Hz busy cadence (0.35–0.4 s on/off) confirmed.
    Busy { at_ms: u64 },
    /// 425 Hz congestion cadence (0.175–0.2 s on/off) confirmed.
    Congestion { at_ms: u64 },
    /// 425 Hz ringback cadence (0.8–1 s on, 3.2–4 s off) confirmed.
    Ringback { at_ms: u64 },
}

/// Runs every tone detector over 20 ms frames.
#[derive(Debug, Default)]
pub struct ToneDetector {
    frames: u64,
}

impl ToneDetector {
    /// A detector for a new call leg.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one frame starting at `at_ms`; returns an event completed on this frame.
    pub fn process_frame(&mut self, _frame: &Frame, _at_ms: u64) -> Option<ToneEvent> {
        self.frames += 1;
        None
    }
}
