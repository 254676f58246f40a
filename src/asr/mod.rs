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

/// Feeds one call's recognisers frame by frame. A frame the recogniser rejects spoils the
/// utterance, which then counts as no recognition instead of failing the call; the first
/// failure of the call is logged, later ones are not (one line per frame would flood the log).
#[derive(Debug, Default)]
pub struct UtteranceFeed {
    spoiled: bool,
    logged: bool,
}

impl UtteranceFeed {
    /// A feed for a new call.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new recogniser took over: nothing of the old utterance is left to spoil it.
    pub fn restart(&mut self) {
        self.spoiled = false;
    }

    /// Feeds samples of the current utterance.
    pub fn accept(&mut self, rec: &mut dyn Recognizer, samples: &[i16]) {
        if self.spoiled {
            return;
        }
        if let Err(e) = rec.accept(samples) {
            self.spoiled = true;
            self.log_once(&e);
        }
    }

    /// Ends the utterance: what was said, or `None` when nothing was recognised (the
    /// recogniser failed, or rejected part of it). The recogniser is ready for the next one.
    pub fn finish(&mut self, rec: &mut dyn Recognizer) -> Option<Recognition> {
        let spoiled = std::mem::take(&mut self.spoiled);
        match rec.finish() {
            Ok(r) if !spoiled => Some(r),
            Ok(_) => None,
            Err(e) => {
                self.log_once(&e);
                None
            }
        }
    }

    /// Whether a failure has been logged on this call.
    pub fn failed(&self) -> bool {
        self.logged
    }

    fn log_once(&mut self, e: &AsrError) {
        if !self.logged {
            self.logged = true;
            tracing::warn!(error = %e, "speech recognition failed; this utterance counts as not recognised (further failures on this call are not logged)");
        }
    }
}

/// A loaded model, shared by all calls of the process.
pub trait SpeechModel: Send + Sync {
    /// A recogniser restricted to `phrases` (words outside the vocabulary are dropped).
    fn recognizer(&self, phrases: &[String]) -> Result<Box<dyn Recognizer>, AsrError>;
    /// Whether the model's vocabulary has this word.
    fn knows_word(&self, word: &str) -> bool;
}

/// Loads the speech model from the first of `folders` that exists (`config::model_folders`);
/// none existing means "no model" (DTMF-only scenarios still run; voice ones fail validation
/// saying how to get one). A folder that exists but is no model is an error naming it.
pub fn load_speech(
    folders: &[std::path::PathBuf],
) -> Result<Option<std::sync::Arc<dyn SpeechModel>>, AsrError> {
    let Some(dir) = folders.iter().find(|d| d.exists()) else {
        let looked: Vec<String> = folders.iter().map(|d| d.display().to_string()).collect();
        tracing::info!(looked_in = %looked.join(", "), "no speech model folder; voice scenarios are unavailable");
        return Ok(None);
    };
    tracing::info!(model = %dir.display(), "loading the speech model");
    let model = vosk_backend::VoskModel::load(dir)?;
    Ok(Some(std::sync::Arc::new(model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rejects every `n`-th frame it is fed; answers "да".
    struct Flaky {
        fed: usize,
        every: usize,
    }

    impl Recognizer for Flaky {
        fn accept(&mut self, _: &[i16]) -> Result<(), AsrError> {
            self.fed += 1;
            if self.every > 0 && self.fed.is_multiple_of(self.every) {
                return Err(AsrError::Recognizer("rejected".into()));
            }
            Ok(())
        }
        fn finish(&mut self) -> Result<Recognition, AsrError> {
            Ok(Recognition {
                text: "да".into(),
                words: vec![],
            })
        }
    }

    #[test]
    fn a_rejected_frame_makes_the_utterance_unrecognised_and_the_next_one_counts_again() {
        let mut rec = Flaky { fed: 0, every: 3 };
        let mut feed = UtteranceFeed::new();
        for _ in 0..5 {
            feed.accept(&mut rec, &[0; 160]);
        }
        assert_eq!(rec.fed, 3, "nothing is fed after the rejection");
        assert!(feed.finish(&mut rec).is_none());
        assert!(feed.failed());
        rec.every = 0;
        feed.accept(&mut rec, &[0; 160]);
        assert_eq!(feed.finish(&mut rec).map(|r| r.text), Some("да".into()));
    }
}
