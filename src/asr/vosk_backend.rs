//! The Vosk backend: a model loaded once per process and shared by every call; one recogniser
//! per call step, restricted to the step's phrases (a grammar), fed 8 kHz audio of VAD speech
//! only. Words outside the model's vocabulary are left out of the grammar (Vosk would drop them
//! with a warning anyway); scenario validation reports them first.
use super::{AsrError, Recognition, Recognizer, SpeechModel, Word};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The recogniser's sample rate.
pub const SAMPLE_RATE_HZ: f32 = 8000.0;

/// A loaded Vosk model.
pub struct VoskModel {
    /// `vosk::Model::find_word` takes `&mut`; the C call only reads, the lock is short.
    model: Arc<Mutex<vosk::Model>>,
    path: String,
}

impl VoskModel {
    /// Loads a model folder (am/, conf/, graph/, ivector/).
    pub fn load(path: &Path) -> Result<Self, AsrError> {
        let p = path.display().to_string();
        if !path.join("am").is_dir() || !path.join("conf").is_dir() {
            return Err(AsrError::Model {
                path: p,
                reason: "not a Vosk model folder (am/ and conf/ missing); run scripts/fetch-model.sh to download vosk-model-small-ru-0.22 into models/ (needs internet)".into(),
            });
        }
        vosk::set_log_level(vosk::LogLevel::Error);
        let model = vosk::Model::new(p.clone()).ok_or_else(|| AsrError::Model {
            path: p.clone(),
            reason: "Vosk could not load the model (see its log above)".into(),
        })?;
        Ok(Self {
            model: Arc::new(Mutex::new(model)),
            path: p,
        })
    }

    /// Where the model was loaded from.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, vosk::Model>, AsrError> {
        self.model
            .lock()
            .map_err(|_| AsrError::Recognizer("model lock poisoned".into()))
    }
}

impl SpeechModel for VoskModel {
    fn recognizer(&self, phrases: &[String]) -> Result<Box<dyn Recognizer>, AsrError> {
        let grammar = super::grammar::build(self, phrases).grammar;
        let model = self.lock()?;
        let mut rec = if grammar.is_empty() {
            vosk::Recognizer::new(&model, SAMPLE_RATE_HZ)
        } else {
            vosk::Recognizer::new_with_grammar(&model, SAMPLE_RATE_HZ, &grammar)
        }
        .ok_or_else(|| AsrError::Recognizer(format!("Vosk refused the grammar {grammar:?}")))?;
        rec.set_words(true);
        Ok(Box::new(VoskRecognizer {
            rec,
            done: Vec::new(),
        }))
    }

    fn knows_word(&self, word: &str) -> bool {
        self.lock()
            .map(|mut m| m.find_word(word).is_some())
            .unwrap_or(false)
    }
}

/// One call's recogniser.
struct VoskRecognizer {
    rec: vosk::Recognizer,
    /// Words of parts Vosk already finalised inside this utterance (it ends a part at its own
    /// endpoints, e.g. a pause in a dictated number); `result()` must be read then or they are lost.
    done: Vec<Word>,
}

fn words_of(r: vosk::CompleteResult<'_>) -> Vec<Word> {
    r.single()
        .map(|s| {
            s.result
                .iter()
                .filter(|w| w.word != "[unk]")
                .map(|w| Word {
                    word: w.word.to_string(),
                    conf: w.conf,
                    start_ms: (w.start * 1000.0) as u64,
                    end_ms: (w.end * 1000.0) as u64,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Recognizer for VoskRecognizer {
    fn accept(&mut self, samples: &[i16]) -> Result<(), AsrError> {
        match self.rec.accept_waveform(samples) {
            Ok(vosk::DecodingState::Finalized) => {
                let words = words_of(self.rec.result());
                self.done.extend(words);
                Ok(())
            }
            Ok(vosk::DecodingState::Running) => Ok(()),
            Ok(vosk::DecodingState::Failed) => Err(AsrError::Recognizer(
                "Vosk failed to decode the audio".into(),
            )),
            Err(e) => Err(AsrError::Recognizer(format!("{e:?}"))),
        }
    }

    fn finish(&mut self) -> Result<Recognition, AsrError> {
        let mut words = std::mem::take(&mut self.done);
        words.extend(words_of(self.rec.final_result()));
        let text = words
            .iter()
            .map(|w| w.word.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Recognition { text, words })
    }
}
