//! Helpers shared by integration tests: generated audio (espeak-ng + sox) and WAV writing.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod baresip;

pub const RATE: usize = 8000;

/// Speaks `text` with espeak-ng (`voice` e.g. "ru", "ko") into an 8 kHz mono WAV and returns it.
pub fn speech(dir: &Path, name: &str, voice: &str, text: &str) -> Vec<i16> {
    let raw = dir.join(format!("{name}.22k.wav"));
    let out = dir.join(format!("{name}.wav"));
    let st = Command::new("espeak-ng")
        .args(["-v", voice, "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng runs (scripts/setup.sh installs it)");
    assert!(st.success());
    let st = Command::new("sox")
        .arg("-D")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["gain", "-n", "-12"])
        .status()
        .expect("sox runs");
    assert!(st.success());
    read_wav(&out)
}

pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).expect("wav");
    r.samples::<i16>().map(|s| s.expect("sample")).collect()
}

pub fn write_wav(path: &Path, samples: &[i16]) -> PathBuf {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
    path.to_path_buf()
}

pub fn silence(seconds: f64) -> Vec<i16> {
    vec![0; (seconds * RATE as f64) as usize]
}

/// A DTMF key as two sines at `dbm0` per tone.
pub fn dtmf(key: char, ms: usize, dbm0: f64) -> Vec<i16> {
    let (lo, hi) = match key {
        '1' => (697.0, 1209.0),
        '2' => (697.0, 1336.0),
        '3' => (697.0, 1477.0),
        '4' => (770.0, 1209.0),
        '5' => (770.0, 1336.0),
        '6' => (770.0, 1477.0),
        '7' => (852.0, 1209.0),
        '8' => (852.0, 1336.0),
        '9' => (852.0, 1477.0),
        '*' => (941.0, 1209.0),
        '0' => (941.0, 1336.0),
        '#' => (941.0, 1477.0),
        _ => panic!("key {key}"),
    };
    let peak = autoinformer::media::level::sine_peak_for_dbm0(dbm0);
    (0..ms * 8)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (peak
                * ((2.0 * std::f64::consts::PI * lo * t).sin()
                    + (2.0 * std::f64::consts::PI * hi * t).sin())) as i16
        })
        .collect()
}

/// Keys with 100 ms tones and 100 ms pauses.
pub fn keys(s: &str) -> Vec<i16> {
    let mut v = Vec::new();
    for k in s.chars() {
        v.extend(dtmf(k, 100, -10.0));
        v.extend(silence(0.1));
    }
    v
}

/// A steady beep.
pub fn beep(freq: f64, ms: usize, dbm0: f64) -> Vec<i16> {
    let peak = autoinformer::media::level::sine_peak_for_dbm0(dbm0);
    (0..ms * 8)
        .map(|i| (peak * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

pub fn concat(parts: &[&[i16]]) -> Vec<i16> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// A WAV made once and kept under `target/<cache>/`, named by a hash of `key` (everything that
/// shapes it; rebuildable: delete the folder). `make(dir, stem, tmp)` writes it to `tmp`; it is
/// renamed into place only when whole.
pub fn cached_wav(
    cache: &str,
    key: impl std::hash::Hash,
    make: impl FnOnce(&Path, &str, &Path),
) -> Vec<i16> {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let stem = format!("{:016x}", h.finish());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(cache);
    std::fs::create_dir_all(&dir).expect("cache dir");
    let out = dir.join(format!("{stem}.wav"));
    if !out.exists() {
        // Test binaries run side by side: each makes its own, and the last rename wins.
        let tmp = dir.join(format!("{stem}.{}.tmp.wav", std::process::id()));
        make(&dir, &stem, &tmp);
        std::fs::rename(&tmp, &out).expect("rename");
    }
    read_wav(&out)
}

/// Runs sox with these arguments; whether it succeeded. Without dither (`-D`): sox dithers
/// with a new random seed on every run, so a cached file made on another machine differed in
/// its last bit everywhere, and a test's outcome with it.
pub fn sox(args: &[&std::ffi::OsStr]) -> bool {
    Command::new("sox")
        .arg("-D")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// espeak-ng speech at 8 kHz mono 16-bit, cached under `target/<cache>/` (`cached_wav`).
/// `effects` are sox effects applied after resampling (e.g. trimming and gain).
pub fn cached_speech(
    cache: &str,
    text: &str,
    voice: &str,
    speed: u32,
    pitch: u32,
    effects: &[&str],
) -> Vec<i16> {
    cached_wav(
        cache,
        (text, voice, speed, pitch, effects),
        |dir, stem, tmp| {
            let raw = dir.join(format!("{stem}.{}.raw.wav", std::process::id()));
            let ok = Command::new("espeak-ng")
                .args([
                    "-v",
                    voice,
                    "-s",
                    &speed.to_string(),
                    "-p",
                    &pitch.to_string(),
                    "-w",
                ])
                .arg(&raw)
                .arg(text)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "espeak-ng failed (scripts/setup.sh installs it)");
            let mut args: Vec<&std::ffi::OsStr> = vec![raw.as_os_str()];
            args.extend(["-r", "8000", "-c", "1", "-b", "16"].map(std::ffi::OsStr::new));
            args.push(tmp.as_os_str());
            args.extend(effects.iter().map(std::ffi::OsStr::new));
            assert!(sox(&args), "sox failed");
            let _ = std::fs::remove_file(raw);
        },
    )
}

/// Highest normalised cross-correlation of `needle` anywhere in `haystack` (1.0 = identical
/// shape). Used to check that a recording holds what a peer sent.
pub fn best_correlation(haystack: &[i16], needle: &[i16]) -> f64 {
    let n = needle.len();
    if n == 0 || haystack.len() < n {
        return 0.0;
    }
    let nn: f64 = needle.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let mut best = 0.0f64;
    for start in 0..=haystack.len() - n {
        let w = &haystack[start..start + n];
        let (mut dot, mut ww) = (0.0f64, 0.0f64);
        for (a, b) in w.iter().zip(needle) {
            dot += f64::from(*a) * f64::from(*b);
            ww += f64::from(*a) * f64::from(*a);
        }
        if ww > 0.0 && nn > 0.0 {
            best = best.max(dot / (ww * nn).sqrt());
        }
    }
    best
}

/// The loudest `len` samples of `s` (a window around its peak energy), for correlation needles.
pub fn loud_part(s: &[i16], len: usize) -> &[i16] {
    if s.len() <= len {
        return s;
    }
    let step = 80;
    let mut best = (0usize, 0f64);
    let mut start = 0;
    while start + len <= s.len() {
        let e: f64 = s[start..start + len]
            .iter()
            .map(|&x| f64::from(x).abs())
            .sum();
        if e > best.1 {
            best = (start, e);
        }
        start += step;
    }
    &s[best.0..best.0 + len]
}

/// Splits interleaved stereo samples into (left, right).
pub fn split_stereo(s: &[i16]) -> (Vec<i16>, Vec<i16>) {
    (
        s.iter().step_by(2).copied().collect(),
        s.iter().skip(1).step_by(2).copied().collect(),
    )
}

/// The keys a live call heard, in order.
pub fn digits(r: &autoinformer::call::live::LiveReport) -> String {
    r.outcome
        .events
        .iter()
        .filter_map(|e| match e {
            autoinformer::call::CallEvent::Dtmf { digit, .. } => Some(*digit),
            _ => None,
        })
        .collect()
}
