//! The Vosk backend. (interface fixed by the skeleton)
use super::{AsrError, Recognizer, SpeechModel};
use std::path::Path;

/// A loaded Vosk model.
pub struct VoskModel {
    _priv: (),
}

impl VoskModel {
    /// Loads a model folder (am/, conf/, graph/, ivector/).
    pub fn load(path: &Path) -> Result<Self, AsrError> {
        Err(AsrError::Model {
            path: path.display().to_string(),
            reason: "not implemented yet".into(),
        })
    }
}

impl SpeechModel for VoskModel {
    fn recognizer(&self, _phrases: &[String]) -> Result<Box<dyn Recognizer>, AsrError> {
        Err(AsrError::Recognizer("not implemented yet".into()))
    }
    fn knows_word(&self, _word: &str) -> bool {
        false
    }
}
