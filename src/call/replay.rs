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
    record: Option<&mut Recorder<'_>>,
) -> Result<CallOutcome, CallError> {
    run_to(scenario, cfg, None, callee, record)
}

/// As `run`, for a call to `number`: with `cfg.greetings`, the greeting is matched against
/// the learned ones and what was heard comes back in the outcome, to be learned.
pub fn run_to(
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    number: Option<&str>,
    callee: &[i16],
    mut record: Option<&mut Recorder<'_>>,
) -> Result<CallOutcome, CallError> {
    let call_id = next_call_id();
    let span = tracing::info_span!("call", call_id, mode = "replay");
    let _guard = span.enter();
    let mut runner = CallRunner::new(scenario, cfg);
    if let Some(n) = number {
        runner.listen_for_greetings(n);
    }
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

/// The learned greetings of `replay --greetings FILE` (JSON): read before the call, written
/// back after it, so a campaign can be simulated offline call after call.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct GreetingsFile {
    pub greetings: Vec<crate::media::greetings::Greeting>,
}

impl GreetingsFile {
    /// The file's greetings; none when it does not exist yet.
    pub fn read(path: &Path) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not a greetings file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes through a temporary file and a rename.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, json)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The library of these greetings.
    pub fn library(self, min_numbers: usize) -> crate::media::greetings::Library {
        let mut l = crate::media::greetings::Library::new(min_numbers);
        for g in self.greetings {
            l.add(g);
        }
        l
    }

    /// Learns what a call heard at `now` (unix s); answers what changed, in words.
    pub fn learn(
        library: &mut crate::media::greetings::Library,
        heard: &super::greetings::HeardGreeting,
        now: i64,
    ) -> String {
        use crate::media::greetings::{Greeting, Learned};
        match library.learn(&heard.landmarks, heard.matched, heard.person) {
            Learned::Nothing => "nothing learned".into(),
            Learned::Again { id } => match library.seen(id, heard.number, now, heard.grow()) {
                Some(g) => format!(
                    "greeting {id} heard again: {} numbers, {} calls",
                    g.numbers_seen, g.times_seen
                ),
                None => "nothing learned".into(),
            },
            Learned::New { landmarks } => {
                let id = library.greetings.keys().max().copied().unwrap_or(0) + 1;
                let n = landmarks.len();
                library.add(Greeting::heard_once(id, landmarks, heard.number, now));
                format!("new greeting {id} ({n} landmarks)")
            }
        }
    }
}

impl GreetingsFile {
    /// The greetings of a library, in id order.
    pub fn of(library: &crate::media::greetings::Library) -> Self {
        let mut greetings: Vec<_> = library.greetings.values().cloned().collect();
        greetings.sort_by_key(|g| g.id);
        Self { greetings }
    }
}
