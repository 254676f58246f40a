//! Prompts ready to play. A prompt is decoded and resampled to 8 kHz once, when the scenario
//! that plays it is loaded (docs/scenarios.md#prompts) — never during a call: a call only
//! copies the samples it holds.
//!
//! A name is looked up in the given folders in order (a file there overrides the bundled prompt
//! of the same name), then among the prompts bundled in the binary (`media::bundled`). Decoded
//! files are kept once per process, by path, so every scenario that plays a file shares its
//! samples; `PromptCache::invalidate` decodes a replaced file anew, and scenarios already
//! loaded play the new audio in calls started after it returns.
use super::audio::{decode_file_8k, AudioError};
use super::bundled;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// Where a prompt's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptSource {
    /// A file (the path it was found at).
    File(PathBuf),
    /// A prompt bundled in the binary, by its bundled name (`numbers/5.wav`).
    Bundled(&'static str),
}

impl fmt::Display for PromptSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptSource::File(p) => write!(f, "{}", p.display()),
            PromptSource::Bundled(n) => write!(f, "bundled:{n}"),
        }
    }
}

/// The samples of one prompt, shared by every scenario that plays it; replaced in place when
/// its file is.
#[derive(Debug)]
struct Slot(RwLock<Arc<[i16]>>);

impl Slot {
    fn new(samples: Arc<[i16]>) -> Arc<Self> {
        Arc::new(Self(RwLock::new(samples)))
    }

    fn get(&self) -> Arc<[i16]> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, samples: Arc<[i16]>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = samples;
    }
}

/// A decoded prompt: its source and its 8 kHz samples.
#[derive(Clone)]
pub struct Prompt {
    source: PromptSource,
    audio: Arc<Slot>,
}

impl Prompt {
    /// Where the audio comes from.
    pub fn source(&self) -> &PromptSource {
        &self.source
    }

    /// The 8 kHz samples (cheap: shared, never decoded here).
    pub fn samples(&self) -> Arc<[i16]> {
        self.audio.get()
    }

    /// A prompt made from samples already at hand (tests, benchmarks).
    pub fn from_samples(source: PromptSource, samples: Arc<[i16]>) -> Self {
        Self {
            source,
            audio: Slot::new(samples),
        }
    }

    /// The file at `path`, decoded unless this process already has it.
    pub fn file(path: &Path) -> Result<Self, AudioError> {
        let key = store_key(path);
        if let Some(audio) = lock_store().get(&key).cloned() {
            return Ok(Self {
                source: PromptSource::File(path.to_path_buf()),
                audio,
            });
        }
        let samples: Arc<[i16]> = off_the_async_worker(|| decode_file_8k(path))?.into();
        // Two first loads of one file may both decode it; the first one stored wins.
        let audio = lock_store()
            .entry(key)
            .or_insert_with(|| Slot::new(samples))
            .clone();
        Ok(Self {
            source: PromptSource::File(path.to_path_buf()),
            audio,
        })
    }

    /// The bundled prompt of this name, if there is one.
    pub fn bundled(name: &str) -> Option<Result<Self, AudioError>> {
        let canonical = bundled::canonical_name(name)?;
        Some(
            bundled::samples(canonical)?
                .map(|s| Self::from_samples(PromptSource::Bundled(canonical), s)),
        )
    }

    /// Looks `name` up: a file of that name in each folder in turn, then the bundled prompts.
    /// `Ok(None)`: nowhere. An absolute name is only that file.
    pub fn find(name: &str, folders: &[&Path]) -> Result<Option<Self>, AudioError> {
        if name.trim().is_empty() {
            return Ok(None);
        }
        let p = Path::new(name);
        if p.is_absolute() {
            return if p.is_file() {
                Self::file(p).map(Some)
            } else {
                Ok(None)
            };
        }
        for dir in folders {
            let candidate = dir.join(p);
            if candidate.is_file() {
                return Self::file(&candidate).map(Some);
            }
        }
        Self::bundled(name).transpose()
    }
}

impl PartialEq for Prompt {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("source", &self.source)
            .field("samples", &self.samples().len())
            .finish()
    }
}

impl serde::Serialize for Prompt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.source)
    }
}

/// Decoded prompt files of this process, by canonical path.
fn lock_store() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Arc<Slot>>> {
    static STORE: OnceLock<Mutex<HashMap<PathBuf, Arc<Slot>>>> = OnceLock::new();
    STORE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn store_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Runs a decode. On a worker of a multi-threaded tokio runtime (a scenario loaded by the
/// dialer or the API) the worker first hands its other tasks — calls in progress — to the
/// pool, so a long file never delays their frames.
fn off_the_async_worker<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The process's decoded prompt files, as a handle the API keeps to tell it of a replaced
/// file. Every handle reaches the same store.
#[derive(Debug, Default, Clone)]
pub struct PromptCache {
    _shared: (),
}

impl PromptCache {
    /// A handle to the process's store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file at `path` was replaced: decodes it anew, and every loaded scenario that plays
    /// it plays the new audio from the next call on. A file never loaded is left for the next
    /// load; one that no longer decodes keeps its old audio in loaded scenarios (and is
    /// reported by the next load).
    pub fn invalidate(&self, path: &Path) {
        let key = store_key(path);
        let Some(slot) = lock_store().get(&key).cloned() else {
            return;
        };
        match off_the_async_worker(|| decode_file_8k(path)) {
            Ok(samples) => slot.set(samples.into()),
            Err(e) => {
                tracing::warn!(error = %e, "a replaced prompt no longer decodes; calls keep playing the old audio");
                lock_store().remove(&key);
            }
        }
    }
}

/// Writes a short 16-bit 8 kHz WAV tone: a prompt file for tests.
#[cfg(test)]
pub(crate) fn write_test_wav(path: &Path, ms: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create test wav");
    for i in 0..ms * 8 {
        let v = (f32::sin(i as f32 * 0.3) * 8000.0) as i16;
        w.write_sample(v).expect("write test wav");
    }
    w.finalize().expect("finish test wav");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_folder_overrides_the_bundled_prompt_of_that_name() {
        let dir = tempfile::tempdir().unwrap();
        let bundled = Prompt::find("sim/da.wav", &[dir.path()]).unwrap().unwrap();
        assert_eq!(bundled.source(), &PromptSource::Bundled("sim/da.wav"));
        std::fs::create_dir(dir.path().join("sim")).unwrap();
        write_test_wav(&dir.path().join("sim/da.wav"), 100);
        let own = Prompt::find("sim/da.wav", &[dir.path()]).unwrap().unwrap();
        assert_eq!(
            own.source(),
            &PromptSource::File(dir.path().join("sim/da.wav"))
        );
        assert_eq!(own.samples().len(), 800);
        assert!(Prompt::find("absent.wav", &[dir.path()]).unwrap().is_none());
    }

    #[test]
    fn folders_are_looked_in_in_order_and_a_broken_file_is_an_error_naming_it() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_test_wav(&a.path().join("x.wav"), 40);
        write_test_wav(&b.path().join("x.wav"), 60);
        let p = Prompt::find("x.wav", &[b.path(), a.path()])
            .unwrap()
            .unwrap();
        assert_eq!(p.samples().len(), 480);
        std::fs::write(b.path().join("y.wav"), b"not audio").unwrap();
        let e = Prompt::find("y.wav", &[b.path()]).unwrap_err().to_string();
        assert!(e.contains("y.wav"), "{e}");
    }

    #[test]
    fn a_replaced_file_is_heard_by_prompts_loaded_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offer.wav");
        write_test_wav(&path, 100);
        let loaded = Prompt::file(&path).unwrap();
        let again = Prompt::file(&path).unwrap();
        assert!(
            Arc::ptr_eq(&loaded.samples(), &again.samples()),
            "decoded once"
        );
        write_test_wav(&path, 200);
        assert_eq!(loaded.samples().len(), 800, "nothing changes until told");
        PromptCache::new().invalidate(&path);
        assert_eq!(loaded.samples().len(), 1600);
        // A replacement that does not decode keeps the old audio.
        std::fs::write(&path, b"junk").unwrap();
        PromptCache::new().invalidate(&path);
        assert_eq!(loaded.samples().len(), 1600);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_on_an_async_worker_decodes_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wav");
        write_test_wav(&path, 100);
        assert_eq!(Prompt::file(&path).unwrap().samples().len(), 800);
        let path2 = dir.path().join("q.wav");
        write_test_wav(&path2, 20);
        let n =
            tokio::task::spawn_blocking(move || Prompt::file(&path2).map(|p| p.samples().len()))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(n, 160);
    }

    #[tokio::test]
    async fn a_load_on_a_single_threaded_runtime_decodes_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wav");
        write_test_wav(&path, 40);
        assert_eq!(Prompt::file(&path).unwrap().samples().len(), 320);
    }
}
