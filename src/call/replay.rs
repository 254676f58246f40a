//! `replay`: one answered call offline, the callee's side taken from a WAV file, as fast as the
//! CPU allows. The callee hangs up when the file ends. Optionally records the call as stereo WAV
//! (callee left, robot right).
use super::runner::{frames_of, CallConfig, CallError, CallRunner, FrameStatus};
use super::CallOutcome;
use crate::media::{Frame, FRAME_SAMPLES, SAMPLE_RATE};
use crate::scenario::Scenario;
use std::path::Path;
use std::sync::Arc;

/// Receives every (callee, robot) frame pair of a call.
pub type Recorder<'a> = dyn FnMut(&Frame, &Frame) + 'a;

/// Runs the scenario against `callee` samples (8 kHz mono); `record` receives every frame pair.
pub fn run(
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    callee: &[i16],
    mut record: Option<&mut Recorder<'_>>,
) -> Result<CallOutcome, CallError> {
    let call_id = next_call_id();
    let span = tracing::info_span!("call", call_id, mode = "replay");
    let _guard = span.enter();
    let mut runner = CallRunner::new(scenario, cfg);
    let mut out = [0i16; FRAME_SAMPLES];
    for frame in frames_of(callee) {
        let status = runner.on_frame(&frame, &mut out);
        if let Some(rec) = record.as_mut() {
            rec(&frame, &out);
        }
        if status == FrameStatus::Hangup {
            break;
        }
    }
    runner.on_callee_hangup();
    runner.into_outcome()
}

/// Writes a stereo recording (callee left, robot right) incrementally.
pub fn record_to_wav(
    path: &Path,
) -> Result<hound::WavWriter<std::io::BufWriter<std::fs::File>>, hound::Error> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(path, spec)
}

fn next_call_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
