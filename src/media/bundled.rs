//! The prompts bundled in the binary: every file under the repository's `prompts/` (the number
//! words read-back uses, `numbers/*.wav`, and the simulated carrier's audio, `sim/*.wav`),
//! embedded at build time by `build.rs`. Each is decoded and resampled to 8 kHz the first time
//! it is asked for, once per process. A configured prompts folder is looked in before these
//! (docs/configuration.md, "Where files are found"); this module only knows the bundle.
use super::audio::{decode_bytes_8k, AudioError};
use std::sync::{Arc, OnceLock};

/// `(name, file bytes)`, sorted by name; names are paths below `prompts/` with `/`.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/bundled_prompts.rs"));

/// The names of every bundled prompt (`numbers/5.wav`, `sim/da.wav`, …), sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(n, _)| *n)
}

/// The bundled name a prompt name stands for: `./numbers/5.wav` and `numbers//5.wav` are
/// `numbers/5.wav`; `None` for names that leave the bundle (`..`, absolute paths).
fn normalize(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!name.starts_with('/') && !parts.is_empty()).then(|| parts.join("/"))
}

/// The index of a bundled prompt by name.
fn index(name: &str) -> Option<usize> {
    let name = normalize(name)?;
    FILES
        .binary_search_by(|(n, _)| (*n).cmp(name.as_str()))
        .ok()
}

/// Whether a prompt of this name is bundled.
pub fn contains(name: &str) -> bool {
    index(name).is_some()
}

/// The bundle's own name of a prompt (`./sim/da.wav` → `sim/da.wav`), if it is bundled.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    index(name).map(|i| FILES[i].0)
}

/// One bundled prompt once decoded: its samples, or why it does not decode.
type Decoded = OnceLock<Result<Arc<[i16]>, String>>;

/// The 8 kHz samples of a bundled prompt, decoded on first use; `None` when not bundled.
pub fn samples(name: &str) -> Option<Result<Arc<[i16]>, AudioError>> {
    static DECODED: OnceLock<Vec<Decoded>> = OnceLock::new();
    let i = index(name)?;
    let slots = DECODED.get_or_init(|| FILES.iter().map(|_| OnceLock::new()).collect());
    let (label, bytes) = FILES[i];
    let decoded = slots.get(i)?.get_or_init(|| {
        let hint = label.rsplit('.').next();
        decode_bytes_8k(bytes, hint, &format!("bundled prompt {label}"))
            .map(Arc::from)
            .map_err(|e| e.to_string())
    });
    Some(match decoded {
        Ok(s) => Ok(s.clone()),
        Err(reason) => Err(AudioError::Decode {
            path: label.into(),
            reason: reason.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_prompt_decodes_to_audio() {
        let names: Vec<&str> = names().collect();
        assert!(names.contains(&"sim/da.wav") && names.contains(&"numbers/5.wav"));
        for n in names {
            let s = samples(n)
                .expect("bundled")
                .unwrap_or_else(|e| panic!("{n}: {e}"));
            assert!(s.len() > 800, "{n}: {} samples", s.len());
        }
    }

    #[test]
    fn every_number_word_read_back_can_say_is_bundled() {
        for n in crate::scenario::say_number::all_prompt_names() {
            assert!(contains(&format!("numbers/{n}.wav")), "{n}");
        }
    }

    #[test]
    fn bundled_names_are_found_however_the_path_is_spelt_but_never_outside_the_bundle() {
        assert_eq!(canonical_name("./sim//da.wav"), Some("sim/da.wav"));
        assert!(contains("numbers/тысяча.wav"));
        assert!(!contains("../prompts/sim/da.wav"));
        assert!(!contains("/sim/da.wav"));
        assert!(!contains("sim"));
        assert!(samples("nothing.wav").is_none());
    }

    #[test]
    fn a_bundled_prompt_is_decoded_once_and_shared() {
        let a = samples("sim/allo.wav").and_then(Result::ok).expect("allo");
        let b = samples("sim/allo.wav").and_then(Result::ok).expect("allo");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
