//! Pure DSP: frames in, events out. Owns audio formats (G.711, prompt decoding), the prompts
//! bundled in the binary, the DTMF receiver, tone detectors, the VAD wrapper,
//! answering-machine detection and the fingerprints of learned greetings. Never touches
//! sockets or clocks; the only file access is decoding a named prompt (`prompt`, which steps
//! off an async worker while it decodes).

pub mod amd;
pub mod audio;
pub mod bundled;
pub mod dtmf;
pub mod echo;
pub mod fingerprint;
pub mod g711;
pub mod goertzel;
pub mod greetings;
pub mod level;
pub mod prompt;
pub mod tones;
pub mod vad;

/// Sample rate of everything inside the engine.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Length of one frame in milliseconds.
pub const FRAME_MS: u64 = 20;
/// One 20 ms frame of 16-bit linear audio at 8 kHz.
pub type Frame = [i16; FRAME_SAMPLES];
/// A frame of silence.
pub const SILENT_FRAME: Frame = [0; FRAME_SAMPLES];

/// What the per-frame analysis found in one callee frame; computed once per frame by the call
/// runner and handed to AMD (and anything else) so no detector runs twice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameFeatures {
    /// Time of the frame's start, from the answer, in ms.
    pub at_ms: u64,
    /// Frame level in dBm0 (−∞ clamped to −100 for digital silence).
    pub level_dbm0: f32,
    /// The raw webrtc-vad decision for this frame.
    pub voiced: bool,
    /// A tone event completed on this frame, if any.
    pub tone: Option<tones::ToneEvent>,
}

/// The per-frame analysis shared by the call runner and the AMD corpus: VAD and tone detectors
/// run once per callee frame, giving `FrameFeatures` and the VAD's segment event.
pub struct FrameAnalyzer {
    vad: vad::Vad,
    tones: tones::ToneDetector,
    echo: echo::EchoGuard,
}

impl FrameAnalyzer {
    /// Fresh detectors for one call leg.
    pub fn new() -> Self {
        Self {
            vad: vad::Vad::new(),
            tones: tones::ToneDetector::new(),
            echo: echo::EchoGuard::new(),
        }
    }

    /// Analyses one frame starting at `at_ms` (ms since answer).
    pub fn analyze(&mut self, frame: &Frame, at_ms: u64) -> (FrameFeatures, Option<vad::VadEvent>) {
        self.analyze_plain(frame, at_ms)
    }

    /// As `analyze` on a call where the robot talks: `robot` is the robot's frame of the
    /// previous period. A voiced frame the echo guard finds to be only the robot's own echo
    /// counts as unvoiced (so VAD, AMD and the recogniser ignore it; tones are still detected).
    /// The third value says whether the frame was echo.
    pub fn analyze_live(
        &mut self,
        frame: &Frame,
        robot: &Frame,
        at_ms: u64,
    ) -> (FrameFeatures, Option<vad::VadEvent>, bool) {
        self.echo.push(robot, frame);
        let raw = self.vad.is_voiced(frame);
        let echo = raw && self.echo.is_echo();
        let voiced = raw && !echo;
        let event = self.vad.update(voiced, at_ms);
        let tone = self.tones.process_frame(frame, at_ms);
        (
            FrameFeatures {
                at_ms,
                level_dbm0: level::dbm0(frame),
                voiced,
                tone,
            },
            event,
            echo,
        )
    }

    /// `analyze` for a call where the robot is silent (the AMD corpus, tests).
    fn analyze_plain(
        &mut self,
        frame: &Frame,
        at_ms: u64,
    ) -> (FrameFeatures, Option<vad::VadEvent>) {
        let (voiced, event) = self.vad.process_frame(frame, at_ms);
        let tone = self.tones.process_frame(frame, at_ms);
        (
            FrameFeatures {
                at_ms,
                level_dbm0: level::dbm0(frame),
                voiced,
                tone,
            },
            event,
        )
    }
}

impl Default for FrameAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}
