//! One call: drives media analysis (DTMF, tones, VAD), answering-machine detection, speech
//! recognition and the scenario interpreter over any source of callee frames, and produces the
//! robot's outgoing frames and the outcome. The frame count is the clock: replay feeds frames
//! as fast as the CPU allows, a live call feeds them every 20 ms — the same code runs both.
//! Never opens sockets or reads the wall clock.

pub mod outcome;
pub mod playback;
pub mod replay;
mod runner;

pub use outcome::{AmdSummary, CallEvent, CallOutcome, EndedBy};
pub use runner::{CallConfig, CallError, CallRunner, FrameStatus};
