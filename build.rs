//! Links `libvosk.so`, which ships inside the PyPI `vosk` wheel and is unpacked by
//! `scripts/setup.sh` into `.vendor/vosk/`. The folder can be overridden with
//! `AUTOINFORMER_VOSK_LIB_DIR`. An rpath is embedded so binaries and tests run without
//! `LD_LIBRARY_PATH`.
//!
//! It also writes the table of bundled prompts (every file under `prompts/`, embedded with
//! `include_bytes!`) that `src/media/bundled.rs` includes: the binary needs no files around it
//! (docs/configuration.md, "Where files are found").
use std::path::{Path, PathBuf};

fn main() {
    bundle_prompts();
    println!("cargo:rerun-if-env-changed=AUTOINFORMER_VOSK_LIB_DIR");
    let dir = match std::env::var_os("AUTOINFORMER_VOSK_LIB_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_default();
            manifest.join(".vendor").join("vosk")
        }
    };
    let lib = dir.join("libvosk.so");
    println!("cargo:rerun-if-changed={}", lib.display());
    if !lib.exists() {
        panic!(
            "libvosk.so not found in {}: run `scripts/setup.sh` (it unpacks it from the PyPI `vosk` wheel) \
             or point AUTOINFORMER_VOSK_LIB_DIR at the folder holding libvosk.so",
            dir.display()
        );
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}

/// Writes `$OUT_DIR/bundled_prompts.rs`: `[(name, bytes)]` for every file under `prompts/`,
/// named by its path below it with `/` (`numbers/5.wav`), sorted by name.
fn bundle_prompts() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest.join("prompts");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for (name, path) in &files {
        out.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("]\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("bundled_prompts.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("writing {}: {e}", dest.display());
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => panic!("reading the bundled prompts in {}: {e}", dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "wav") {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path.display().to_string()));
        }
    }
}
