//! One call: drives media analysis (DTMF, tones, VAD), answering-machine detection, speech
//! recognition and the scenario interpreter over any source of callee frames, and produces the
//! robot's outgoing frames and the outcome. The frame count is the clock: replay feeds frames
//! as fast as the CPU allows, a live call feeds them every 20 ms — the same code runs both.
//! The runner never opens sockets or reads the wall clock; `live` is the real-time edge that
//! dials through a trunk and feeds it every 20 ms.

pub mod early;
pub mod greetings;
pub mod live;
pub mod outcome;
pub mod playback;
pub mod recording;
pub mod replay;
mod runner;
pub mod transfer;

pub use outcome::{AmdSummary, CallEvent, CallOutcome, EndedBy, PlayedPrompt, Timeline};
pub use runner::{CallConfig, CallError, CallRunner, Decision, FrameStatus};
