//! The waveforms of a call's page: the min/max envelope of each channel of a recording (16-bit
//! PCM WAV; ours are stereo, callee left, robot right), one pair per pixel column. Reads the
//! file, so it runs in a blocking task, never on the async workers or the media tick; a long
//! call reads at most `MAX_FRAMES_PER_COLUMN` sample frames per column (the start of each
//! column's span), so the work is bounded whatever the call's length.
use std::path::Path;

/// Sample frames read per column at most (0.25 s at 8 kHz): a 10-minute call reads ~4 MB of
/// its 19 MB.
pub const MAX_FRAMES_PER_COLUMN: u32 = 2_000;

/// Why a recording cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum WaveError {
    #[error("reading the recording: {0}")]
    Read(#[from] hound::Error),
    #[error("the recording is not 16-bit PCM")]
    Unsupported,
}

/// The envelope of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Per channel (at most two), per column: the lowest and highest sample.
    pub channels: Vec<Vec<(i16, i16)>>,
    /// The recording's length.
    pub duration_ms: u64,
}

/// The envelope of the WAV at `path` in `columns` columns (fewer for a recording shorter
/// than that many frames).
pub fn envelope(path: &Path, columns: usize) -> Result<Envelope, WaveError> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(WaveError::Unsupported);
    }
    let ch = usize::from(spec.channels.max(1));
    let frames = r.duration();
    let duration_ms = u64::from(frames) * 1000 / u64::from(spec.sample_rate.max(1));
    let cols = columns.min(frames as usize);
    let mut channels = vec![vec![(0i16, 0i16); cols]; ch.min(2)];
    for c in 0..cols {
        let start = (c as u64 * u64::from(frames) / cols as u64) as u32;
        let end = ((c as u64 + 1) * u64::from(frames) / cols as u64) as u32;
        let take = (end - start).clamp(1, MAX_FRAMES_PER_COLUMN) as usize;
        r.seek(start).map_err(hound::Error::IoError)?;
        let mut lo = [i16::MAX; 2];
        let mut hi = [i16::MIN; 2];
        for (i, s) in r.samples::<i16>().take(take * ch).enumerate() {
            let k = i % ch;
            if k < 2 {
                let s = s?;
                lo[k] = lo[k].min(s);
                hi[k] = hi[k].max(s);
            }
        }
        for (k, env) in channels.iter_mut().enumerate() {
            env[c] = if lo[k] <= hi[k] {
                (lo[k], hi[k])
            } else {
                (0, 0)
            };
        }
    }
    Ok(Envelope {
        channels,
        duration_ms,
    })
}

/// An SVG path of one channel's envelope: a vertical stroke per column around `mid`, `half`
/// pixels for the channel's loudest sample (quiet audio is not blown up: below a floor the
/// scale stays put). Column `i` is at `x0 + i * width / columns`.
pub fn path(env: &[(i16, i16)], x0: f64, width: f64, mid: f64, half: f64) -> String {
    const FLOOR: i32 = 2_000;
    let peak = env
        .iter()
        .map(|&(lo, hi)| i32::from(lo).abs().max(i32::from(hi).abs()))
        .max()
        .unwrap_or(0)
        .max(FLOOR) as f64;
    let step = width / env.len().max(1) as f64;
    let mut d = String::with_capacity(env.len() * 24);
    for (i, &(lo, hi)) in env.iter().enumerate() {
        let x = x0 + (i as f64 + 0.5) * step;
        // At least a hairline, so silence still reads as a line.
        let top = mid - (f64::from(hi) / peak * half).max(0.5);
        let bottom = mid - (f64::from(lo) / peak * half).min(-0.5);
        d.push_str(&format!("M{x:.1} {top:.1}V{bottom:.1}"));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, frames: &[(i16, i16)]) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &(l, r) in frames {
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn each_column_holds_its_span_min_and_max_per_channel() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        // 1 s: the callee loud in the first half, the robot in the second.
        let frames: Vec<(i16, i16)> = (0..8000)
            .map(|i| {
                let s = if i % 2 == 0 { 1000 } else { -1000 };
                if i < 4000 {
                    (s * 10, 0)
                } else {
                    (0, s * 20)
                }
            })
            .collect();
        write(&p, &frames);
        let e = envelope(&p, 10).unwrap();
        assert_eq!(e.duration_ms, 1000);
        assert_eq!(e.channels.len(), 2);
        assert_eq!(e.channels[0][0], (-10_000, 10_000));
        assert_eq!(e.channels[1][0], (0, 0));
        assert_eq!(e.channels[0][9], (0, 0));
        assert_eq!(e.channels[1][9], (-20_000, 20_000));
        let d = path(&e.channels[0], 100.0, 1000.0, 50.0, 30.0);
        assert!(d.starts_with("M150.0 20.0V80.0"), "{d}");
        assert_eq!(d.matches('M').count(), 10);
    }

    #[test]
    fn a_long_call_reads_a_bounded_part_of_each_column_and_short_ones_fewer_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long.wav");
        // 20 s, a click at the start of every second (inside the part each column reads).
        let frames: Vec<(i16, i16)> = (0..160_000)
            .map(|i| if i % 8000 == 0 { (9000, 0) } else { (10, 10) })
            .collect();
        write(&p, &frames);
        let e = envelope(&p, 20).unwrap();
        assert_eq!(e.duration_ms, 20_000);
        assert!(e.channels[0].iter().all(|&(_, hi)| hi == 9000));
        let short = dir.path().join("short.wav");
        write(&short, &[(1, 2), (3, 4), (5, 6)]);
        let e = envelope(&short, 1000).unwrap();
        assert_eq!(e.channels[0].len(), 3);
        assert_eq!(e.channels[1][2], (6, 6));
        let empty = dir.path().join("empty.wav");
        write(&empty, &[]);
        assert!(envelope(&empty, 1000).unwrap().channels[0].is_empty());
        std::fs::write(dir.path().join("bad.wav"), b"not a wav").unwrap();
        assert!(envelope(&dir.path().join("bad.wav"), 10).is_err());
    }
}
