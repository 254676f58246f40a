//! Fuzz target: the scenario loader on arbitrary TOML and JSON text must never panic.
#![no_main]
use autoinformer::scenario::{load_str, Format, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = LoadOptions {
            prompts_dir: "/nonexistent".into(),
            speech: None,
        };
        let _ = load_str(text, Format::Toml, "fuzz", None, &opts);
        let _ = load_str(text, Format::Json, "fuzz", None, &opts);
    }
});
