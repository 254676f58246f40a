//! Stereo call recordings (callee left, robot right, 8 kHz 16-bit PCM WAV), written off the
//! media tick: a call appends its frames to a small buffer and hands it every
//! `FLUSH_EVERY_FRAMES` to one writer thread shared by all calls, which appends it to the file
//! and rewrites the header's two sizes. The file is a valid WAV from its first write (the
//! header goes first, for an empty recording) and after every hand-over, so a process that dies
//! mid-call leaves a playable file missing at most the last hand-over's audio; `repair` sets
//! the sizes from the file's length after a crash (the server runs it for every call a stop
//! interrupted). The tick itself never touches a file.
//!
//! A write that fails (the disk full, the folder gone) stops that recording, not the call: the
//! writer logs it at once (a `warn` line naming the file and the error), keeps what was
//! written before as a valid WAV, and the call ends with `Finished::error` set — the call's
//! `recording_error` in the store and the API (docs/operations.md, "Recordings").
use crate::media::{Frame, SAMPLE_RATE};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use std::time::Duration;

/// Frames a call buffers before handing them to the writer (0.2 s): what a crash may lose.
pub const FLUSH_EVERY_FRAMES: u32 = 10;
/// Bytes of the WAV header we write (RIFF, fmt, data).
pub const HEADER_LEN: u64 = 44;
/// Bytes per stereo 16-bit sample pair.
const BLOCK_ALIGN: u64 = 4;

/// One open recording, owned by its call.
pub struct Recording {
    id: u64,
    path: PathBuf,
    tx: Sender<Cmd>,
    buf: Vec<u8>,
    frames: u32,
}

enum Cmd {
    Open {
        id: u64,
        path: PathBuf,
    },
    Append {
        id: u64,
        bytes: Vec<u8>,
    },
    Close {
        id: u64,
        done: tokio::sync::oneshot::Sender<Finished>,
    },
}

/// A recording's end: the file (if any audio, or at least a header, is on disk) and why it
/// is incomplete or missing, when a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The recording on disk: complete, or what was written before a write failed.
    pub path: Option<PathBuf>,
    /// Why the recording stopped early or was never written (e.g. "No space left on device").
    pub error: Option<String>,
}

/// One recording in the writer: the open file and its audio length, or the failure that
/// stopped it (with the file, when what was written before is kept).
enum Slot {
    Open(File, u64),
    Failed { kept: bool, error: String },
}

/// The writer thread, started on first use.
fn writer() -> &'static Sender<Cmd> {
    static WRITER: OnceLock<Sender<Cmd>> = OnceLock::new();
    WRITER.get_or_init(|| {
        let (tx, rx) = channel::<Cmd>();
        let spawned = std::thread::Builder::new()
            .name("recordings".into())
            .spawn(move || {
                let mut open: HashMap<u64, (PathBuf, Slot)> = HashMap::new();
                while let Ok(cmd) = rx.recv() {
                    match cmd {
                        Cmd::Open { id, path } => {
                            let slot = match create(&path) {
                                Ok(f) => Slot::Open(f, 0),
                                Err(e) => {
                                    failed(&path, &e, "cannot be created");
                                    // A header half-written on a full disk is no recording.
                                    let _ = std::fs::remove_file(&path);
                                    Slot::Failed {
                                        kept: false,
                                        error: e.to_string(),
                                    }
                                }
                            };
                            open.insert(id, (path, slot));
                        }
                        Cmd::Append { id, bytes } => {
                            if let Some((path, slot)) = open.get_mut(&id) {
                                if let Slot::Open(file, len) = slot {
                                    match append(file, *len, &bytes) {
                                        Ok(()) => *len += bytes.len() as u64,
                                        Err(e) => {
                                            failed(
                                                path,
                                                &e,
                                                "stopped: the call goes on unrecorded",
                                            );
                                            // The header still holds the last good length.
                                            let _ = file.set_len(HEADER_LEN + *len);
                                            *slot = Slot::Failed {
                                                kept: true,
                                                error: e.to_string(),
                                            };
                                        }
                                    }
                                }
                            }
                        }
                        Cmd::Close { id, done } => {
                            let r = match open.remove(&id) {
                                Some((path, Slot::Open(file, _))) => match file.sync_data() {
                                    Ok(()) => Finished {
                                        path: Some(path),
                                        error: None,
                                    },
                                    Err(e) => {
                                        failed(&path, &e, "could not be completed");
                                        Finished {
                                            path: Some(path),
                                            error: Some(e.to_string()),
                                        }
                                    }
                                },
                                Some((path, Slot::Failed { kept, error })) => Finished {
                                    path: kept.then_some(path),
                                    error: Some(error),
                                },
                                None => Finished {
                                    path: None,
                                    error: Some("the recording was never opened".into()),
                                },
                            };
                            let _ = done.send(r);
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the recordings writer; calls go unrecorded");
        }
        tx
    })
}

/// Creates the file with the header of an empty recording, written at once.
fn create(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(path)?;
    f.write_all(&header(0))?;
    Ok(f)
}

/// Appends audio after `len` bytes of it, then brings the header's sizes up to date.
fn append(file: &File, len: u64, bytes: &[u8]) -> io::Result<()> {
    file.write_all_at(bytes, HEADER_LEN + len)?;
    write_sizes(file, len + bytes.len() as u64)
}

fn write_sizes(file: &File, data_len: u64) -> io::Result<()> {
    let data = u32::try_from(data_len).unwrap_or(u32::MAX);
    file.write_all_at(&(data.saturating_add(36)).to_le_bytes(), 4)?;
    file.write_all_at(&data.to_le_bytes(), 40)
}

/// The 44-byte header of a stereo 16-bit 8 kHz PCM WAV holding `data_len` bytes of audio.
pub fn header(data_len: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let rate = SAMPLE_RATE;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&2u16.to_le_bytes()); // channels
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * BLOCK_ALIGN as u32).to_le_bytes());
    h[32..34].copy_from_slice(&(BLOCK_ALIGN as u16).to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Recording {
    /// Starts a recording at `path` (its folder is created). The file is created by the
    /// writer thread; a failure shows when the recording is finished.
    pub fn create(path: &Path) -> Self {
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tx = writer().clone();
        let _ = tx.send(Cmd::Open {
            id,
            path: path.to_path_buf(),
        });
        Self {
            id,
            path: path.to_path_buf(),
            tx,
            buf: Vec::with_capacity(buffer_bytes()),
            frames: 0,
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one 20 ms frame pair (no I/O here: every `FLUSH_EVERY_FRAMES` the buffer is
    /// handed to the writer thread).
    pub fn write(&mut self, callee: &Frame, robot: &Frame) {
        for (l, r) in callee.iter().zip(robot) {
            self.buf.extend_from_slice(&l.to_le_bytes());
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.frames += 1;
        if self.frames >= FLUSH_EVERY_FRAMES {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        self.frames = 0;
        if self.buf.is_empty() {
            return;
        }
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(buffer_bytes()));
        let _ = self.tx.send(Cmd::Append { id: self.id, bytes });
    }

    /// Writes the rest and closes the file; answers once it is complete on disk, with why it
    /// is not when a write failed.
    pub async fn finish(mut self) -> Finished {
        self.hand_over();
        let (done, wait) = tokio::sync::oneshot::channel();
        let stopped = || Finished {
            path: None,
            error: Some("the recordings writer has stopped".into()),
        };
        if self.tx.send(Cmd::Close { id: self.id, done }).is_err() {
            return stopped();
        }
        wait.await.unwrap_or_else(|_| stopped())
    }
}

/// The one log line of a recording that failed, as it fails.
fn failed(path: &Path, e: &io::Error, what: &str) {
    metrics::counter!("autoinformer_recording_failures_total").increment(1);
    tracing::warn!(path = %path.display(), error = %e, "the recording {what}");
}

fn buffer_bytes() -> usize {
    FLUSH_EVERY_FRAMES as usize * crate::media::FRAME_SAMPLES * BLOCK_ALIGN as usize
}

/// Makes a recording a process left behind valid again: the sizes in its header are set from
/// the file's length (a torn last sample pair is cut off; a file shorter than a header gets an
/// empty recording's header). Answers the audio's length.
pub fn repair(path: &Path) -> io::Result<Duration> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let data = len.saturating_sub(HEADER_LEN) / BLOCK_ALIGN * BLOCK_ALIGN;
    let data = data.min(u64::from(u32::MAX - 36) / BLOCK_ALIGN * BLOCK_ALIGN);
    file.write_all_at(&header(data as u32), 0)?;
    file.set_len(HEADER_LEN + data)?;
    file.sync_data()?;
    Ok(Duration::from_millis(
        data / BLOCK_ALIGN * 1000 / u64::from(SAMPLE_RATE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::FRAME_SAMPLES;

    #[tokio::test]
    async fn a_recording_is_a_valid_wav_after_every_hand_over_and_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls/1.wav");
        let mut r = Recording::create(&path);
        for i in 0..(FLUSH_EVERY_FRAMES * 3) {
            r.write(&[i as i16; FRAME_SAMPLES], &[-(i as i16); FRAME_SAMPLES]);
        }
        // Three hand-overs are on their way; wait until the writer has them.
        let mut seen = 0;
        for _ in 0..200 {
            if let Ok(reader) = hound::WavReader::open(&path) {
                seen = reader.duration();
                if seen == 3 * FLUSH_EVERY_FRAMES * FRAME_SAMPLES as u32 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(seen, 3 * FLUSH_EVERY_FRAMES * FRAME_SAMPLES as u32);
        r.write(&[100; FRAME_SAMPLES], &[-100; FRAME_SAMPLES]);
        let done = r.finish().await;
        assert_eq!((done.path, done.error), (Some(path.clone()), None));
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        assert_eq!(
            reader.duration(),
            (3 * FLUSH_EVERY_FRAMES + 1) * FRAME_SAMPLES as u32
        );
        let s: Vec<i16> = reader.into_samples().map(|s| s.unwrap()).collect();
        assert_eq!((s[2 * 160 * 7], s[2 * 160 * 7 + 1]), (7, -7));
    }

    #[test]
    fn repair_sets_the_sizes_from_the_length_and_cuts_a_torn_sample() {
        let dir = tempfile::tempdir().unwrap();
        // A header claiming nothing, then 1.5 s of audio and a torn pair (a crash mid-write).
        let path = dir.path().join("c1.wav");
        let mut bytes = header(0).to_vec();
        bytes.extend(std::iter::repeat_n(1u8, 12_000 * 4 + 3));
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(repair(&path).unwrap(), Duration::from_millis(1500));
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.duration(), 12_000);
        // An empty file (a crash before the header) becomes an empty recording.
        let empty = dir.path().join("c2.wav");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(repair(&empty).unwrap(), Duration::ZERO);
        assert_eq!(hound::WavReader::open(&empty).unwrap().duration(), 0);
    }

    #[tokio::test]
    async fn a_folder_that_cannot_be_written_fails_at_finish_not_in_the_tick() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let mut r = Recording::create(&blocker.join("sub/1.wav"));
        r.write(&[0; FRAME_SAMPLES], &[0; FRAME_SAMPLES]);
        let done = r.finish().await;
        assert_eq!(done.path, None);
        assert!(done.error.is_some());
    }

    #[tokio::test]
    async fn a_full_disk_leaves_no_recording_and_says_why() {
        // /dev/full answers every write with ENOSPC, as a full disk does.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.wav");
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        let mut r = Recording::create(&path);
        for _ in 0..(FLUSH_EVERY_FRAMES * 2) {
            r.write(&[5; FRAME_SAMPLES], &[-5; FRAME_SAMPLES]);
        }
        let done = r.finish().await;
        assert_eq!(done.path, None);
        let error = done.error.unwrap();
        assert!(error.contains("No space left on device"), "{error}");
        // The failed file is not left behind for the recordings listing.
        assert!(std::fs::symlink_metadata(&path).is_err());
    }
}
