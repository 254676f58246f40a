//! Decoding audio files (WAV in any PCM/float/G.711 encoding, MP3, OGG/Vorbis, FLAC) to 8 kHz
//! mono i16: symphonia decodes, channels are averaged, rubato resamples (FFT-based, anti-aliased).
//! Owns no state; never panics on any input: every failure is an `AudioError` naming the file.
//!
//! A stream that fails part-way (truncated or corrupt data after good packets) is an error
//! ("truncated or corrupt after N ms"): a prompt that silently stops half-way is worse than a
//! scenario that refuses to load.
use super::SAMPLE_RATE;
use rubato::{
    FftFixedIn, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};
use std::path::{Path, PathBuf};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Most decoded samples accepted from one file (about 35 min at 48 kHz, 3.5 h at 8 kHz): bounds
/// memory even for a tiny compressed file that expands to hours of silence.
pub const MAX_DECODED_SAMPLES: usize = 100_000_000;
/// Input block of the resampler, in input frames.
const RESAMPLE_CHUNK: usize = 1024;

/// Why a file could not be used as audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Decode { path: PathBuf, reason: String },
}

impl AudioError {
    /// What is wrong, without the file's path (for messages to a client of the server, whose
    /// folders are not its business).
    pub fn reason(&self) -> String {
        match self {
            AudioError::Io { source, .. } => format!("cannot read: {source}"),
            AudioError::Decode { reason, .. } => reason.clone(),
        }
    }
}

fn err(label: &Path, reason: impl Into<String>) -> AudioError {
    AudioError::Decode {
        path: label.to_path_buf(),
        reason: reason.into(),
    }
}

/// Decodes a whole file to 8 kHz mono 16-bit samples.
pub fn decode_file_8k(path: &Path) -> Result<Vec<i16>, AudioError> {
    if path.is_dir() {
        return Err(err(path, "is a directory, not an audio file"));
    }
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hint = path.extension().and_then(|e| e.to_str());
    decode_bytes_8k(&bytes, hint, &path.display().to_string())
}

/// Decodes in-memory bytes (format sniffed from content; `hint` is an extension like "wav")
/// to 8 kHz mono. `label` names the source in errors.
pub fn decode_bytes_8k(
    bytes: &[u8],
    hint: Option<&str>,
    label: &str,
) -> Result<Vec<i16>, AudioError> {
    let label = Path::new(label);
    if bytes.is_empty() {
        return Err(err(label, "empty file"));
    }
    if let Some(why) = wav_header_problem(bytes) {
        return Err(err(label, why));
    }
    // A decoder that panics on a damaged file (a dependency's bug) is a damaged file, not a
    // dead thread.
    let (mono, rate) = std::panic::catch_unwind(|| decode_mono(bytes, hint, label))
        .map_err(|_| err(label, "the file is damaged: its audio cannot be decoded"))??;
    if mono.is_empty() {
        return Err(err(label, "no audio samples in the file"));
    }
    let resampled = resample_to_8k(&mono, rate).map_err(|r| err(label, r))?;
    Ok(resampled.iter().map(|&x| to_i16(x)).collect())
}

/// What is impossible in a WAV file's `fmt ` chunk (no channels, 0 Hz, a zero block size),
/// which the decoder would not survive; `None` for anything else (other formats included).
fn wav_header_problem(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        let body = &bytes[at + 8..bytes.len().min(at + 8 + size)];
        if id == b"fmt " {
            if body.len() < 16 {
                return Some(
                    "the WAV header is cut short (its fmt chunk has under 16 bytes)".into(),
                );
            }
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            let block = u16::from_le_bytes([body[12], body[13]]);
            return match (channels, rate, block) {
                (0, _, _) => Some("the WAV header says the file has no channels".into()),
                (_, 0, _) => Some("the WAV header says its sample rate is 0 Hz".into()),
                (_, _, 0) => Some("the WAV header says its samples take 0 bytes".into()),
                _ => None,
            };
        }
        // Chunks are padded to an even length.
        at = at
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size & 1);
    }
    None
}

fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Decodes to mono f32 at the file's own rate.
fn decode_mono(
    bytes: &[u8],
    hint: Option<&str>,
    label: &Path,
) -> Result<(Vec<f32>, u32), AudioError> {
    let cursor = std::io::Cursor::new(bytes.to_vec());
    let mss = MediaSourceStream::new(Box::new(cursor), MediaSourceStreamOptions::default());
    let mut h = Hint::new();
    if let Some(ext) = hint {
        h.with_extension(ext);
    }
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&h, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| {
            err(
                label,
                format!(
                    "not a supported audio format (WAV, MP3, OGG/Vorbis, FLAC): {}",
                    describe(&e)
                ),
            )
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| err(label, "no audio track"))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| {
            err(
                label,
                format!("unsupported audio encoding: {}", describe(&e)),
            )
        })?;
    let mut rate = params.sample_rate.unwrap_or(0);
    let expected_frames = params.n_frames;
    let mut mono: Vec<f32> = Vec::new();
    let mut buf: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(truncated(label, &mono, rate, &e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(_)) if !mono.is_empty() => continue, // a damaged packet in a lossy stream
            Err(e) => return Err(truncated(label, &mono, rate, &e)),
        };
        let spec = *decoded.spec();
        rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let needed = decoded.capacity() as u64;
        let sb = match &mut buf {
            Some(b) if b.capacity() as u64 >= needed * channels as u64 => b,
            _ => buf.insert(SampleBuffer::new(needed, spec)),
        };
        sb.copy_interleaved_ref(decoded);
        for frame in sb.samples().chunks(channels) {
            let sum: f32 = frame.iter().sum();
            mono.push(sum / channels as f32);
        }
        if mono.len() > MAX_DECODED_SAMPLES {
            return Err(err(
                label,
                format!("too long: more than {MAX_DECODED_SAMPLES} samples"),
            ));
        }
    }
    if rate == 0 {
        return Err(err(label, "unknown sample rate"));
    }
    if let Some(n) = expected_frames {
        // A WAV whose header promises more data than the file holds was cut short.
        if (mono.len() as u64) + u64::from(rate / 100) < n && hint_is_pcm(&params) {
            return Err(err(
                label,
                format!(
                    "truncated: header says {} ms, file holds {} ms",
                    n * 1000 / u64::from(rate),
                    mono.len() as u64 * 1000 / u64::from(rate)
                ),
            ));
        }
    }
    Ok((mono, rate))
}

fn hint_is_pcm(params: &symphonia::core::codecs::CodecParameters) -> bool {
    use symphonia::core::codecs::*;
    matches!(
        params.codec,
        CODEC_TYPE_PCM_S8
            | CODEC_TYPE_PCM_U8
            | CODEC_TYPE_PCM_S16LE
            | CODEC_TYPE_PCM_S24LE
            | CODEC_TYPE_PCM_S32LE
            | CODEC_TYPE_PCM_F32LE
            | CODEC_TYPE_PCM_F64LE
            | CODEC_TYPE_PCM_MULAW
            | CODEC_TYPE_PCM_ALAW
    )
}

fn truncated(label: &Path, mono: &[f32], rate: u32, e: &SymError) -> AudioError {
    if mono.is_empty() {
        err(label, format!("cannot decode: {}", describe(e)))
    } else {
        let ms = mono.len() as u64 * 1000 / u64::from(rate.max(1));
        err(
            label,
            format!("truncated or corrupt after {ms} ms: {}", describe(e)),
        )
    }
}

fn describe(e: &SymError) -> String {
    match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file".into()
        }
        SymError::Unsupported(what) => format!("unsupported {what}"),
        other => other.to_string(),
    }
}

/// Sample rates accepted in files.
pub const MIN_RATE_HZ: u32 = 1_000;
pub const MAX_RATE_HZ: u32 = 384_000;
/// Largest FFT block (input rate / gcd with 8000) for the FFT resampler; odd rates beyond it
/// (e.g. 44 101 Hz) use the sinc resampler, whose memory does not grow with the ratio's terms.
const MAX_FFT_BLOCK: u32 = 4_096;

/// Resamples mono audio to 8 kHz (pass-through at 8 kHz).
pub fn resample_to_8k(input: &[f32], rate: u32) -> Result<Vec<f32>, String> {
    if rate == SAMPLE_RATE {
        return Ok(input.to_vec());
    }
    if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate) {
        return Err(format!(
            "sample rate {rate} Hz is outside {MIN_RATE_HZ}–{MAX_RATE_HZ} Hz"
        ));
    }
    let expected = (input.len() as u64 * u64::from(SAMPLE_RATE)).div_ceil(u64::from(rate)) as usize;
    if rate / gcd(rate, SAMPLE_RATE) <= MAX_FFT_BLOCK {
        let rs = FftFixedIn::<f32>::new(rate as usize, SAMPLE_RATE as usize, RESAMPLE_CHUNK, 2, 1)
            .map_err(|e| format!("cannot resample from {rate} Hz: {e}"))?;
        run_resampler(rs, input, expected)
    } else {
        let params = SincInterpolationParameters {
            sinc_len: 128,
            f_cutoff: 0.95,
            interpolation: SincInterpolationType::Linear,
            oversampling_factor: 128,
            window: WindowFunction::BlackmanHarris2,
        };
        let rs = SincFixedIn::<f32>::new(
            f64::from(SAMPLE_RATE) / f64::from(rate),
            1.0,
            params,
            RESAMPLE_CHUNK,
            1,
        )
        .map_err(|e| format!("cannot resample from {rate} Hz: {e}"))?;
        run_resampler(rs, input, expected)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn run_resampler<R: Resampler<f32>>(
    mut rs: R,
    input: &[f32],
    expected: usize,
) -> Result<Vec<f32>, String> {
    let delay = rs.output_delay();
    let mut out = Vec::with_capacity(expected + delay + RESAMPLE_CHUNK);
    let mut pos = 0;
    while pos + RESAMPLE_CHUNK <= input.len() {
        let o = rs
            .process(&[&input[pos..pos + RESAMPLE_CHUNK]], None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&o[0]);
        pos += RESAMPLE_CHUNK;
    }
    if pos < input.len() {
        let o = rs
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&o[0]);
    }
    // Flush the resampler's delay line with silence (bounded: a few blocks at most).
    let mut flushes = 0;
    while out.len() < expected + delay && flushes < 64 {
        let o = rs
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&o[0]);
        flushes += 1;
    }
    let end = (delay + expected).min(out.len());
    Ok(out.get(delay..end).map(<[f32]>::to_vec).unwrap_or_default())
}

/// Writes 8 kHz mono 16-bit PCM WAV.
pub fn write_wav_8k(path: &Path, samples: &[i16]) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io = |e: hound::Error| match e {
        hound::Error::IoError(source) => AudioError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => err(path, other.to_string()),
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(io)?;
    for &s in samples {
        w.write_sample(s).map_err(io)?;
    }
    w.finalize().map_err(io)
}

/// 8 kHz mono 16-bit PCM as a WAV file in memory.
pub fn wav_8k(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes()); // bytes a second
    out.extend_from_slice(&2u16.to_le_bytes()); // block
    out.extend_from_slice(&16u16.to_le_bytes()); // bits
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::goertzel::block_power;

    fn sine(freq: f64, rate: u32, seconds: f64, amp: f32) -> Vec<f32> {
        (0..(seconds * rate as f64) as usize)
            .map(|i| {
                amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32
            })
            .collect()
    }

    /// A µ-law WAV header with these fields, and silence after it (the fuzzer's find: 0 Hz
    /// made the WAV reader panic).
    fn wav_with(channels: u16, rate: u32, block: u16) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.extend_from_slice(&18u32.to_le_bytes());
        v.extend_from_slice(&7u16.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        v.extend_from_slice(&block.to_le_bytes());
        v.extend_from_slice(&8u16.to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&800u32.to_le_bytes());
        v.extend(std::iter::repeat_n(0xffu8, 800));
        let riff = (v.len() - 8) as u32;
        v[4..8].copy_from_slice(&riff.to_le_bytes());
        v
    }

    #[test]
    fn impossible_wav_headers_are_errors_saying_what_not_panics() {
        for (bytes, want) in [
            (wav_with(1, 0, 1), "sample rate is 0 Hz"),
            (wav_with(0, 8000, 1), "no channels"),
            (wav_with(1, 8000, 0), "0 bytes"),
        ] {
            for hint in [Some("wav"), None] {
                let e = decode_bytes_8k(&bytes, hint, "x.wav")
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(want), "{e}");
            }
        }
        assert_eq!(
            decode_bytes_8k(&wav_with(1, 8000, 1), None, "x.wav")
                .unwrap()
                .len(),
            800
        );
    }

    #[test]
    fn resampling_keeps_length_level_and_frequency() {
        for rate in [11025u32, 16000, 22050, 44100, 48000, 12345, 44101, 96001] {
            let x = sine(1000.0, rate, 1.0, 0.5);
            let y = resample_to_8k(&x, rate).unwrap();
            assert!((y.len() as i64 - 8000).abs() <= 1, "{rate}: {}", y.len());
            let mid = &y[1000..7000];
            let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
            assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.01, "{rate}: rms {rms}");
            let on = block_power(mid, 1000.0, 8000.0);
            let off = block_power(mid, 1300.0, 8000.0);
            assert!(on > off * 1000.0, "{rate}");
        }
    }

    #[test]
    fn resampling_removes_what_8k_cannot_carry() {
        let x = sine(6000.0, 44100, 1.0, 0.5);
        let y = resample_to_8k(&x, 44100).unwrap();
        let rms = (y[500..7500].iter().map(|v| v * v).sum::<f32>() / 7000.0).sqrt();
        assert!(
            20.0 * (rms / 0.354).log10() < -40.0,
            "6 kHz leaked at rms {rms}"
        );
    }

    #[test]
    fn absurd_rates_are_errors_not_huge_allocations() {
        assert!(resample_to_8k(&[0.0; 100], 4_000_037)
            .unwrap_err()
            .contains("outside"));
        assert!(resample_to_8k(&[0.0; 100], 3).is_err());
    }

    #[test]
    fn empty_and_garbage_input_are_errors_naming_the_source() {
        let e = decode_bytes_8k(&[], None, "x.wav").unwrap_err().to_string();
        assert!(e.contains("x.wav") && e.contains("empty"), "{e}");
        let e = decode_bytes_8k(b"hello, this is not audio at all", Some("wav"), "y.wav")
            .unwrap_err()
            .to_string();
        assert!(e.contains("y.wav"), "{e}");
    }
}
