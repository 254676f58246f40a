//! Stereo call recordings (callee left, robot right), written as the call goes: the WAV header
//! is brought up to date every half second, so a crash leaves a playable file.
use crate::media::{Frame, SAMPLE_RATE};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Frames between header updates (0.5 s).
pub const FLUSH_EVERY_FRAMES: u32 = 25;

/// An open recording.
pub struct Recording {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    since_flush: u32,
}

impl Recording {
    /// Creates `path` (and its folder).
    pub fn create(path: &Path) -> Result<Self, hound::Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(Self {
            path: path.to_path_buf(),
            writer: hound::WavWriter::create(path, spec)?,
            since_flush: 0,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one 20 ms frame pair.
    pub fn write(&mut self, callee: &Frame, robot: &Frame) -> Result<(), hound::Error> {
        for (l, r) in callee.iter().zip(robot) {
            self.writer.write_sample(*l)?;
            self.writer.write_sample(*r)?;
        }
        self.since_flush += 1;
        if self.since_flush >= FLUSH_EVERY_FRAMES {
            self.since_flush = 0;
            // Rewrites the header's lengths and flushes: the file is valid from here on.
            self.writer.flush()?;
        }
        Ok(())
    }

    /// Closes the file with its final header.
    pub fn finish(self) -> Result<PathBuf, hound::Error> {
        self.writer.finalize()?;
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::FRAME_SAMPLES;

    #[test]
    fn an_unfinished_recording_is_already_a_playable_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls/1.wav");
        let mut r = Recording::create(&path).unwrap();
        for i in 0..60 {
            r.write(&[i as i16; FRAME_SAMPLES], &[-(i as i16); FRAME_SAMPLES])
                .unwrap();
        }
        // Simulate a crash: the writer is leaked, never finalised.
        std::mem::forget(r);
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        // At least the 50 frames before the last header update are there.
        assert!(
            reader.duration() >= 50 * FRAME_SAMPLES as u32,
            "{}",
            reader.duration()
        );
        let s: Vec<i16> = reader.into_samples().map(|s| s.unwrap()).collect();
        assert_eq!((s[2 * 160 * 7], s[2 * 160 * 7 + 1]), (7, -7));
    }
}
