//! Shared by the benchmarks: espeak-ng speech resampled to 8 kHz mono 16-bit.
use std::path::Path;
use std::process::Command;

/// Speaks `text` with `voice` into `dir/<name>.wav` at 8 kHz and returns the samples.
pub fn espeak_8k(dir: &Path, name: &str, voice: &str, text: &str) -> Vec<i16> {
    let raw = dir.join(format!("{name}.raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && Command::new("sox")
            .arg("-D")
            .arg(&raw)
            .args(["-r", "8000", "-c", "1", "-b", "16"])
            .arg(&out)
            .args(["gain", "-n", "-12"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    assert!(
        ok,
        "espeak-ng and sox are needed (scripts/setup.sh installs them)"
    );
    let mut r = hound::WavReader::open(&out).expect("generated wav");
    r.samples::<i16>().map(|s| s.expect("sample")).collect()
}
