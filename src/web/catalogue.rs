//! The prompts the server can play, as the prompts page lists them (docs/users.md, "Prompts"):
//! stored ones (uploaded, written under the data directory), the prompts folder's, and the
//! ones bundled in the binary — each name once, from where scenarios find it (stored first,
//! then the folder, then the bundle). Each file's duration and level are measured once per
//! version (its path, size and modification time) and kept in memory; measuring runs in the
//! background, so a page of a few hundred prompts never waits for a decode. Never writes a
//! file.
use crate::media::audio::decode_file_8k;
use crate::media::{bundled, level};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Audio file endings looked for in the prompts folder.
const AUDIO_ENDINGS: [&str; 6] = ["wav", "mp3", "ogg", "oga", "flac", "opus"];
/// How deep the prompts folder is looked into (`numbers/5.wav` is one level down).
const MAX_DEPTH: usize = 4;
/// Most files listed from the prompts folder.
const MAX_FOLDER_FILES: usize = 5_000;
/// Measurements kept (far more than any page lists; the cache is cleared past this).
const MAX_MEASURED: usize = 20_000;
/// Longest prompt name with its folders (`numbers/тысяча.wav`).
const MAX_NAME_CHARS: usize = 512;

/// Where the prompt of a name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Uploaded through the UI or the API.
    Stored,
    /// A file of the prompts folder.
    Folder,
    /// Bundled in the binary.
    Bundled,
}

impl Origin {
    pub fn label_ru(self) -> &'static str {
        match self {
            Origin::Stored => "загружен",
            Origin::Folder => "папка подсказок",
            Origin::Bundled => "встроен",
        }
    }
}

/// One version of a prompt's audio: what its measurement is kept by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    what: String,
    size: u64,
    modified_ns: u128,
}

/// A prompt the server can play.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub origin: Origin,
    /// The file's size (0 for bundled prompts).
    pub bytes: u64,
    /// The file (`None`: bundled).
    pub path: Option<PathBuf>,
    key: Key,
}

/// Duration and level of a prompt as callers hear it (8 kHz).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub duration_ms: u64,
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    Ready(Level),
    /// It does not decode: why.
    Failed(String),
}

/// Whether `name` may name a prompt below a folder: segments of letters, digits, `_`, `-` and
/// `.`, none starting with a dot (so no `..`), no absolute path.
pub fn playable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .split('/')
            .all(|seg| crate::api::valid_prompt_name(seg).is_ok())
}

fn key_of(path: &Path, meta: &std::fs::Metadata) -> Key {
    Key {
        what: path.display().to_string(),
        size: meta.len(),
        modified_ns: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos()),
    }
}

fn file_entry(name: String, origin: Origin, path: PathBuf) -> Option<Entry> {
    let meta = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
    Some(Entry {
        name,
        origin,
        bytes: meta.len(),
        key: key_of(&path, &meta),
        path: Some(path),
    })
}

fn bundled_entry(name: &'static str) -> Entry {
    Entry {
        name: name.to_string(),
        origin: Origin::Bundled,
        bytes: 0,
        path: None,
        key: Key {
            what: format!("bundled:{name}"),
            size: 0,
            modified_ns: 0,
        },
    }
}

/// The prompt scenarios find under `name`: the stored file, the prompts folder's, or the
/// bundled one. Blocking (file metadata).
pub fn find(name: &str, stored: &Path, folder: &Path) -> Option<Entry> {
    if !playable_name(name) {
        return None;
    }
    file_entry(name.to_string(), Origin::Stored, stored.join(name))
        .or_else(|| file_entry(name.to_string(), Origin::Folder, folder.join(name)))
        .or_else(|| bundled::canonical_name(name).map(bundled_entry))
}

/// Every prompt, each name once as `find` would take it: stored ones first, then the rest by
/// name. Blocking (reads two folders).
pub fn entries(stored: &Path, folder: &Path) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut own: Vec<Entry> = std::fs::read_dir(stored)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| {
            let name = d.file_name().to_str()?.to_string();
            // `.part`: a prompt being written.
            if !playable_name(&name) || name.ends_with(".part") {
                return None;
            }
            file_entry(name, Origin::Stored, d.path())
        })
        .collect();
    own.sort_by(|a, b| a.name.cmp(&b.name));
    for e in own {
        seen.insert(e.name.clone());
        out.push(e);
    }
    let mut rest: Vec<Entry> = Vec::new();
    let mut files = Vec::new();
    walk(folder, "", 0, &mut files);
    for (name, path) in files {
        if seen.insert(name.clone()) {
            if let Some(e) = file_entry(name, Origin::Folder, path) {
                rest.push(e);
            }
        }
    }
    for name in bundled::names() {
        if seen.insert(name.to_string()) {
            rest.push(bundled_entry(name));
        }
    }
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(rest);
    out
}

/// Audio files below `dir`, named by their path from the prompts folder with `/`.
fn walk(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FOLDER_FILES {
        return;
    }
    let Ok(list) = std::fs::read_dir(dir) else {
        return;
    };
    let mut list: Vec<_> = list.flatten().collect();
    list.sort_by_key(|d| d.file_name());
    for d in list {
        let Some(file) = d.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let name = format!("{prefix}{file}");
        if !playable_name(&name) {
            continue;
        }
        let Ok(kind) = d.file_type() else { continue };
        if kind.is_dir() {
            walk(&d.path(), &format!("{name}/"), depth + 1, out);
        } else if kind.is_file()
            && file
                .rsplit_once('.')
                .is_some_and(|(_, ext)| AUDIO_ENDINGS.contains(&ext.to_ascii_lowercase().as_str()))
        {
            out.push((name, d.path()));
            if out.len() >= MAX_FOLDER_FILES {
                return;
            }
        }
    }
}

fn cache() -> std::sync::MutexGuard<'static, HashMap<Key, Measured>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Measured>>> = OnceLock::new();
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The measurement of a prompt, if it is done.
pub fn measured(e: &Entry) -> Option<Measured> {
    cache().get(&e.key).cloned()
}

/// Duration and level of 8 kHz samples.
pub fn level_of(samples: &[i16]) -> Level {
    let (rms_dbfs, peak_dbfs) = level::dbfs(samples);
    Level {
        duration_ms: samples.len() as u64 / 8,
        rms_dbfs,
        peak_dbfs,
    }
}

/// Keeps the measurement of a prompt just decoded (an upload).
pub fn remember(e: &Entry, samples: &[i16]) {
    let mut c = cache();
    if c.len() >= MAX_MEASURED {
        c.clear();
    }
    c.insert(e.key.clone(), Measured::Ready(level_of(samples)));
}

/// The 8 kHz samples of a prompt (what calls play). Blocking: decodes a file.
pub fn samples(e: &Entry) -> Result<Vec<i16>, String> {
    match &e.path {
        Some(p) => decode_file_8k(p).map_err(|err| err.reason()),
        None => match bundled::samples(&e.name) {
            Some(Ok(s)) => Ok(s.to_vec()),
            Some(Err(err)) => Err(err.reason()),
            None => Err("not bundled".into()),
        },
    }
}

/// Starts measuring the prompts not measured yet, in the background (one job at a time);
/// answers whether some are still to be measured.
pub fn measure_missing(list: &[Entry]) -> bool {
    static BUSY: AtomicBool = AtomicBool::new(false);
    let missing: Vec<Entry> = {
        let c = cache();
        list.iter()
            .filter(|e| !c.contains_key(&e.key))
            .cloned()
            .collect()
    };
    if missing.is_empty() {
        return false;
    }
    if BUSY
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        let job = move || {
            // Free for the next job however this one ends.
            struct Done;
            impl Drop for Done {
                fn drop(&mut self) {
                    BUSY.store(false, Ordering::Release);
                }
            }
            let _done = Done;
            for e in missing {
                let m = match samples(&e) {
                    Ok(s) => Measured::Ready(level_of(&s)),
                    Err(why) => Measured::Failed(why),
                };
                let mut c = cache();
                if c.len() >= MAX_MEASURED {
                    c.clear();
                }
                c.insert(e.key, m);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(job)),
            Err(_) => job(),
        }
    }
    true
}

pub use crate::media::audio::wav_8k as wav;

/// `name` for a URL's query (every byte but unreserved ones and `/` percent-encoded).
pub fn url_part(name: &str) -> String {
    let mut o = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The URL that plays a prompt in the page.
pub fn audio_url(name: &str) -> String {
    format!("/prompts/audio?name={}", url_part(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::prompt::write_test_wav;

    #[test]
    fn names_stay_below_their_folder() {
        assert!(playable_name("offer.wav") && playable_name("numbers/тысяча.wav"));
        for bad in [
            "",
            "/etc/passwd",
            "../x.wav",
            "a/../b.wav",
            "a//b.wav",
            ".hidden",
            "a b.wav",
        ] {
            assert!(!playable_name(bad), "{bad}");
        }
    }

    #[test]
    fn each_name_once_stored_first_then_the_folder_then_the_bundle() {
        let (stored, folder) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_test_wav(&stored.path().join("z.wav"), 100);
        std::fs::write(stored.path().join("y.wav.part"), b"half").unwrap();
        std::fs::create_dir(folder.path().join("sim")).unwrap();
        write_test_wav(&folder.path().join("sim/da.wav"), 50);
        write_test_wav(&folder.path().join("z.wav"), 50);
        std::fs::write(folder.path().join("README.txt"), b"not audio").unwrap();
        let list = entries(stored.path(), folder.path());
        assert_eq!(list[0].name, "z.wav");
        assert_eq!(list[0].origin, Origin::Stored);
        assert_eq!(list.iter().filter(|e| e.name == "z.wav").count(), 1);
        let da = list.iter().find(|e| e.name == "sim/da.wav").unwrap();
        assert_eq!(
            da.origin,
            Origin::Folder,
            "the folder's overrides the bundled one"
        );
        assert!(list
            .iter()
            .any(|e| e.name == "numbers/5.wav" && e.origin == Origin::Bundled));
        assert!(!list
            .iter()
            .any(|e| e.name.contains("README") || e.name.contains("part")));
        assert_eq!(
            find("z.wav", stored.path(), folder.path()).unwrap().origin,
            Origin::Stored
        );
        assert!(find("../z.wav", stored.path(), folder.path()).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn levels_are_measured_in_the_background_once_per_version() {
        let (stored, folder) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_test_wav(&stored.path().join("p.wav"), 500);
        std::fs::write(stored.path().join("bad.wav"), b"not audio at all").unwrap();
        let list: Vec<Entry> = entries(stored.path(), folder.path())
            .into_iter()
            .filter(|e| e.origin == Origin::Stored)
            .collect();
        let t = std::time::Instant::now();
        while measure_missing(&list) {
            assert!(t.elapsed().as_secs() < 20, "never measured");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let p = list.iter().find(|e| e.name == "p.wav").unwrap();
        let Some(Measured::Ready(l)) = measured(p) else {
            panic!("{:?}", measured(p))
        };
        assert_eq!(l.duration_ms, 500);
        assert!(l.rms_dbfs < l.peak_dbfs && l.peak_dbfs < 0.0, "{l:?}");
        let bad = list.iter().find(|e| e.name == "bad.wav").unwrap();
        assert!(matches!(measured(bad), Some(Measured::Failed(_))));
        // A new version of the file is a new key: measured anew.
        write_test_wav(&stored.path().join("p.wav"), 900);
        let again = find("p.wav", stored.path(), folder.path()).unwrap();
        assert!(measured(&again).is_none());
    }

    #[test]
    fn samples_become_a_playable_wav_and_names_a_url() {
        let w = wav(&[1, -1, 300]);
        let r = hound::WavReader::new(std::io::Cursor::new(w)).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(
            r.into_samples::<i16>()
                .map(|s| s.unwrap())
                .collect::<Vec<_>>(),
            vec![1, -1, 300]
        );
        assert_eq!(
            audio_url("numbers/тысяча.wav"),
            "/prompts/audio?name=numbers/%D1%82%D1%8B%D1%81%D1%8F%D1%87%D0%B0.wav"
        );
    }
}
