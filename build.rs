//! Links `libvosk.so`, which ships inside the PyPI `vosk` wheel and is unpacked by
//! `scripts/setup.sh` into `.vendor/vosk/`. The folder can be overridden with
//! `AUTOINFORMER_VOSK_LIB_DIR`. An rpath is embedded so binaries and tests run without
//! `LD_LIBRARY_PATH`.
use std::path::PathBuf;

fn main() {
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
