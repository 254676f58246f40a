//! Decoding audio files (WAV, MP3, OGG/Vorbis, FLAC) to 8 kHz mono i16, with down-mix and
//! resampling. (interface fixed by the skeleton)
use std::path::{Path, PathBuf};

/// Why a file could not be used as audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Decode { path: PathBuf, reason: String },
}

/// Decodes a whole file to 8 kHz mono 16-bit samples.
pub fn decode_file_8k(path: &Path) -> Result<Vec<i16>, AudioError> {
    Err(AudioError::Decode {
        path: path.to_path_buf(),
        reason: "not implemented yet".into(),
    })
}

/// Decodes in-memory bytes (format sniffed; `hint` is an extension like "wav") to 8 kHz mono.
pub fn decode_bytes_8k(
    _bytes: &[u8],
    hint: Option<&str>,
    label: &str,
) -> Result<Vec<i16>, AudioError> {
    let _ = hint;
    Err(AudioError::Decode {
        path: PathBuf::from(label),
        reason: "not implemented yet".into(),
    })
}
