//! Prompt cache: each prompt file decoded and resampled once, shared afterwards.
//! (interface fixed by the skeleton)
use super::audio::{decode_file_8k, AudioError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Decoded prompts by canonical path.
#[derive(Debug, Default, Clone)]
pub struct PromptCache {
    inner: Arc<Mutex<HashMap<PathBuf, Arc<[i16]>>>>,
}

impl PromptCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The 8 kHz samples of `path`, decoded on first use.
    pub fn get(&self, path: &Path) -> Result<Arc<[i16]>, AudioError> {
        let key = path.to_path_buf();
        if let Some(s) = self.inner.lock().map_err(|_| poisoned(path))?.get(&key) {
            return Ok(s.clone());
        }
        let samples: Arc<[i16]> = decode_file_8k(path)?.into();
        self.inner
            .lock()
            .map_err(|_| poisoned(path))?
            .insert(key, samples.clone());
        Ok(samples)
    }
}

impl PromptCache {
    /// Drops a prompt's decoded samples (its file was replaced): the next use decodes it anew.
    pub fn invalidate(&self, path: &Path) {
        if let Ok(mut m) = self.inner.lock() {
            m.remove(path);
        }
    }
}

fn poisoned(path: &Path) -> AudioError {
    AudioError::Decode {
        path: path.to_path_buf(),
        reason: "prompt cache lock poisoned".into(),
    }
}
