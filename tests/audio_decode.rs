//! Prompt and callee audio decoding across formats, rates and channel counts (files made by sox),
//! and bad input: every failure names the file and never panics.
use autoinformer::media::audio::{decode_bytes_8k, decode_file_8k};
use autoinformer::media::goertzel::block_power;
use autoinformer::media::level::dbm0;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A 1 kHz sine of 1 s at −10 dBFS written by sox with the given output options.
fn make(dir: &Path, name: &str, opts: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let st = Command::new("sox")
        .args(["-D", "-n"])
        .args(opts)
        .arg(&p)
        .args(["synth", "1", "sine", "1000", "gain", "-10"])
        .status()
        .expect("sox runs");
    assert!(st.success(), "sox could not write {name}");
    p
}

fn check_tone(samples: &[i16], what: &str) {
    // Within a frame; MP3 keeps its encoder delay and padding (~50 ms) when no gapless tag says.
    let tolerance = if what.ends_with(".mp3") { 600 } else { 160 };
    assert!(
        (samples.len() as i64 - 8000).abs() <= tolerance,
        "{what}: {} samples",
        samples.len()
    );
    let mid: Vec<f32> = samples[1000..7000].iter().map(|&s| f32::from(s)).collect();
    let on = block_power(&mid, 1000.0, 8000.0);
    let off = block_power(&mid, 1250.0, 8000.0);
    assert!(on > 1000.0 * off, "{what}: not a 1 kHz tone");
    // −10 dBFS sine ≈ −6.9 dBm0 (full-scale sine is +3.14 dBm0); lossy codecs within 1.5 dB.
    let l = dbm0(&samples[1000..7000]);
    assert!((l + 6.86).abs() < 1.5, "{what}: level {l}");
}

#[test]
fn every_supported_format_decodes_to_8k_mono() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("s16_8k.wav", &["-r", "8000", "-b", "16", "-c", "1"]),
        (
            "s16_44k_stereo.wav",
            &["-r", "44100", "-b", "16", "-c", "2"],
        ),
        ("s24_48k.wav", &["-r", "48000", "-b", "24", "-c", "1"]),
        ("s32_22k.wav", &["-r", "22050", "-b", "32", "-c", "1"]),
        ("u8_11k.wav", &["-r", "11025", "-b", "8", "-c", "1"]),
        (
            "f32_16k.wav",
            &["-r", "16000", "-e", "floating-point", "-b", "32", "-c", "1"],
        ),
        ("ulaw_8k.wav", &["-r", "8000", "-e", "u-law", "-c", "1"]),
        ("alaw_8k.wav", &["-r", "8000", "-e", "a-law", "-c", "1"]),
        ("flac_44k.flac", &["-r", "44100", "-c", "2"]),
        ("vorbis_48k.ogg", &["-r", "48000", "-c", "1"]),
        ("mp3_44k.mp3", &["-r", "44100", "-c", "2"]),
        ("odd_rate.wav", &["-r", "12345", "-b", "16", "-c", "1"]),
    ];
    for (name, opts) in cases {
        let p = make(dir.path(), name, opts);
        let s = decode_file_8k(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_tone(&s, name);
    }
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "это не звук, а текст").unwrap();
    let good = make(
        dir.path(),
        "good.wav",
        &["-r", "8000", "-b", "16", "-c", "1"],
    );
    let bytes = std::fs::read(&good).unwrap();
    let trunc_header = dir.path().join("trunc_header.wav");
    std::fs::write(&trunc_header, &bytes[..30]).unwrap();
    let trunc_data = dir.path().join("trunc_data.wav");
    std::fs::write(&trunc_data, &bytes[..bytes.len() / 2]).unwrap();
    for (p, want) in [
        (&empty, "empty"),
        (&text, ""),
        (&trunc_header, ""),
        (&trunc_data, "truncated"),
    ] {
        let e = decode_file_8k(p)
            .err()
            .unwrap_or_else(|| panic!("{} decoded", p.display()))
            .to_string();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        assert!(e.contains(&name) && e.contains(want), "{e}");
    }
    let e = decode_file_8k(&dir.path().join("missing.wav"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.wav"), "{e}");
    let e = decode_file_8k(dir.path()).err().unwrap().to_string();
    assert!(e.contains("directory"), "{e}");
}

#[test]
fn mutated_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<(Vec<u8>, &str)> = [
        ("a.wav", "wav"),
        ("a.flac", "flac"),
        ("a.ogg", "ogg"),
        ("a.mp3", "mp3"),
    ]
    .iter()
    .map(|(n, h)| {
        (
            std::fs::read(make(dir.path(), n, &["-r", "8000", "-c", "1"])).unwrap(),
            *h,
        )
    })
    .collect();
    let mut rng = StdRng::seed_from_u64(7);
    for i in 0..1200 {
        let (base, hint) = &seeds[i % seeds.len()];
        let mut b = base.clone();
        match rng.gen_range(0..3) {
            0 => {
                for _ in 0..rng.gen_range(1..20) {
                    let k = rng.gen_range(0..b.len());
                    b[k] ^= 1 << rng.gen_range(0..8);
                }
            }
            1 => b.truncate(rng.gen_range(0..b.len())),
            _ => {
                let k = rng.gen_range(0..b.len());
                let junk: Vec<u8> = (0..rng.gen_range(1..200)).map(|_| rng.gen()).collect();
                b.splice(k..k, junk);
            }
        }
        let r = std::panic::catch_unwind(|| decode_bytes_8k(&b, Some(hint), "mutated"));
        assert!(r.is_ok(), "mutation {i} of the {hint} file panicked");
    }
}

#[test]
fn an_absurd_sample_rate_is_an_error_not_an_out_of_memory() {
    // Found by the audio_reader fuzz target: a WAV header with a huge odd rate made the FFT
    // resampler plan a block the size of the rate.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 4_000_037,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&p, spec).unwrap();
    for i in 0..1000 {
        w.write_sample((i % 100) as i16).unwrap();
    }
    w.finalize().unwrap();
    let e = decode_file_8k(&p).expect_err("rejected").to_string();
    assert!(e.contains("odd.wav") && e.contains("4000037"), "{e}");
}
