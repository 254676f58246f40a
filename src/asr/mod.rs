//! Speech recognition: the `Recognizer`/`SpeechModel` traits, the Vosk backend, grammars built
//! from a scenario's phrases, tolerant phrase matching and Russian number words, and loading
//! the configured model (`load_speech`).

pub mod grammar;
pub mod numbers;
pub mod phrase;
pub mod vosk_backend;

/// One recognised word.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    pub word: String,
    /// 0.0–1.0
    pub conf: f32,
    /// Offsets within the utterance audio.
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The result of one utterance.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Recognition {
    pub text: String,
    pub words: Vec<Word>,
}

/// ASR failures.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("speech model at {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("recognizer: {0}")]
    Recognizer(String),
}

/// One utterance-at-a-time recogniser (one per call; not shared).
pub trait Recognizer: Send {
    /// Feeds 8 kHz mono samples of the current utterance.
    fn accept(&mut self, samples: &[i16]) -> Result<(), AsrError>;
    /// Ends the utterance and returns what was said; the recogniser is ready for the next one.
    fn finish(&mut self) -> Result<Recognition, AsrError>;
}

/// A loaded model, shared by all calls of the process.
pub trait SpeechModel: Send + Sync {
    /// A recogniser restricted to `phrases` (words outside the vocabulary are dropped).
    fn recognizer(&self, phrases: &[String]) -> Result<Box<dyn Recognizer>, AsrError>;
    /// Whether the model's vocabulary has this word.
    fn knows_word(&self, word: &str) -> bool;
}

/// Loads the speech model when its folder exists; a missing folder means "no model" (DTMF-only
/// scenarios still run; voice ones fail validation saying how to get one).
pub fn load_speech(
    dir: &std::path::Path,
) -> Result<Option<std::sync::Arc<dyn SpeechModel>>, AsrError> {
    if !dir.exists() {
        tracing::info!(model = %dir.display(), "no speech model folder; voice scenarios are unavailable");
        return Ok(None);
    }
    let model = vosk_backend::VoskModel::load(dir)?;
    Ok(Some(std::sync::Arc::new(model)))
}
