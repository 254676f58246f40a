//! Voice activity detection: webrtc-vad per frame, plus named gating thresholds that turn raw
//! decisions into speech start/end events. (interface fixed by the skeleton)
use super::Frame;

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

/// Segmenter over webrtc-vad; one per call (webrtc-vad is not `Send`).
pub struct Vad {
    _priv: (),
}

impl Vad {
    /// A VAD with the default thresholds.
    pub fn new() -> Self {
        Self { _priv: () }
    }

    /// Feeds one frame starting at `at_ms`. Returns the raw voiced decision and a segment event.
    pub fn process_frame(&mut self, _frame: &Frame, _at_ms: u64) -> (bool, Option<VadEvent>) {
        (false, None)
    }
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}
