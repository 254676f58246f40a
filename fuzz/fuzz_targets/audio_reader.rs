//! Fuzz target: the audio decoder (WAV and the other formats, sniffed) must never panic.
#![no_main]
use autoinformer::media::audio::decode_bytes_8k;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_bytes_8k(data, Some("wav"), "fuzz");
    let _ = decode_bytes_8k(data, None, "fuzz");
});
