//! Audio fingerprints of what the callee plays, to know a recording when it comes again
//! (docs/amd.md, "Learned greetings"). Landmarks in the spirit of Shazam (Wang, 2003) made for
//! 8 kHz telephone audio: a spectrogram of 32 ms windows every 10 ms over 250–3,500 Hz, its
//! local peaks (a peak is the loudest point of its neighbourhood of ±`PEAK_BINS` bins and
//! ±`PEAK_COLUMNS` columns, and stands `PEAK_OVER_MEDIAN_DB` over its column), and pairs of
//! peaks near each other in time, each pair hashed from its two frequencies and the time
//! between them. A pair's hash does not depend on the level, survives noise and codecs that
//! keep the strongest parts of the spectrum (µ-law, A-law, AMR-NB), and its time says where in
//! the recording it is, so a match is many hashes agreeing on one offset.
//!
//! Pure and incremental: frames in, landmarks out, about one real FFT of 256 points per 10 ms;
//! nothing allocates per frame once warmed up. A pair comes out as soon as its second peak is
//! known (`PEAK_COLUMNS` after it), not when its first peak's pairing window closes: a match
//! is not kept waiting 0.4 s for pairs already heard.
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::collections::VecDeque;
use std::sync::Arc;

/// Samples per analysis window (32 ms).
pub const WINDOW: usize = 256;
/// Samples between windows (10 ms): one column of the spectrogram.
pub const HOP: usize = 80;
/// Milliseconds per column.
pub const COLUMN_MS: u64 = 10;
/// The bins used: 250 Hz to 3,500 Hz (31.25 Hz a bin), what every telephone codec keeps.
pub const LOW_BIN: usize = 8;
pub const HIGH_BIN: usize = 112;
/// Bins in a column.
pub const BINS: usize = HIGH_BIN - LOW_BIN;
/// A peak is the loudest point within this many bins…
pub const PEAK_BINS: usize = 4;
/// … and this many columns either side.
pub const PEAK_COLUMNS: usize = 3;
/// A peak stands this far over its column's median (a formant or a strong harmonic, not the
/// noise between them).
pub const PEAK_OVER_MEDIAN_DB: f32 = 9.0;
/// Columns quieter than the loudest column heard so far by this much carry no peaks
/// (pauses, line noise, comfort noise).
pub const COLUMN_UNDER_LOUDEST_DB: f32 = 35.0;
/// Columns below this level (dB of the squared spectrum's sum) carry no peaks: silence.
pub const SILENT_COLUMN_DB: f32 = 40.0;
/// A column whose strongest bin stands this far over its median…
pub const TONE_OVER_MEDIAN_DB: f32 = 25.0;
/// … at the same frequency (±1 bin) for this many columns is a tone (a beep, ringback, SIT):
/// tones are the tone detectors' business and the same on every voicemail, never learned.
pub const TONE_COLUMNS: u32 = 25;
/// Each peak is paired with up to this many later peaks…
pub const FAN_OUT: usize = 8;
/// … from this many columns after it…
pub const PAIR_MIN_DT: u32 = 2;
/// … to this many.
pub const PAIR_MAX_DT: u32 = 40;
/// … within this many bins of it.
pub const PAIR_MAX_DF: i32 = 31;

/// One pair of peaks: its hash and the column of its first peak.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Landmark {
    pub hash: u32,
    /// Columns (10 ms) from the start of what was fingerprinted.
    pub t: u32,
}

impl Landmark {
    /// The columns of its two peaks: the anchor's and the paired peak's.
    pub fn columns(&self) -> (u32, u32) {
        (self.t, self.t + (self.hash & 0x3f))
    }
}

#[derive(Debug, Clone, Copy)]
struct Peak {
    t: u32,
    bin: u16,
}

/// A peak that later peaks may still pair with: how many it has.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    peak: Peak,
    paired: u8,
}

/// The fingerprint of a stream of 8 kHz samples, built as they come.
pub struct Fingerprinter {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// The last `WINDOW` samples.
    ring: VecDeque<f32>,
    /// Samples since the last column.
    since_column: usize,
    /// Recent columns (log magnitude per bin, and its median; `None` for a column that
    /// carries no peaks),
    /// `2 * PEAK_COLUMNS + 1` of them, the newest last.
    columns: VecDeque<Option<([f32; BINS], f32)>>,
    /// The index of the next column.
    next_t: u32,
    /// The loudest column heard so far (dB).
    loudest_db: f32,
    /// Peaks still open to pairs with the peaks that follow them, oldest first.
    anchors: VecDeque<Anchor>,
    /// Peaks in the bin of a steady strongest bin that may yet prove a tone: neither paired
    /// nor anchors until it breaks off (then they are) or proves one (then they are dropped).
    held: Vec<Peak>,
    /// Columns that are masked (the robot's echo, tones): no peaks there.
    masked: VecDeque<bool>,
    /// A steady strongest bin: which, since which column, for how many columns.
    tone_bin: Option<usize>,
    tone_since: u32,
    tone_run: u32,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprinter {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(WINDOW);
        let window = (0..WINDOW)
            .map(|i| {
                let x = std::f32::consts::PI * 2.0 * i as f32 / WINDOW as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        Self {
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            ring: VecDeque::with_capacity(WINDOW + HOP),
            since_column: 0,
            columns: VecDeque::with_capacity(2 * PEAK_COLUMNS + 2),
            next_t: 0,
            loudest_db: f32::MIN,
            anchors: VecDeque::with_capacity(64),
            held: Vec::with_capacity(64),
            masked: VecDeque::with_capacity(2 * PEAK_COLUMNS + 2),
            tone_bin: None,
            tone_since: 0,
            tone_run: 0,
        }
    }

    /// The column the next sample falls into.
    pub fn columns_seen(&self) -> u32 {
        self.next_t
    }

    /// Feeds samples; appends the landmarks they complete to `out`. `masked`: these samples
    /// are not the callee's own audio (echo of the robot, a tone): they give no peaks.
    pub fn push(&mut self, samples: &[i16], masked: bool, out: &mut Vec<Landmark>) {
        for &s in samples {
            if self.ring.len() == WINDOW {
                self.ring.pop_front();
            }
            self.ring.push_back(f32::from(s));
            self.since_column += 1;
            if self.since_column >= HOP && self.ring.len() == WINDOW {
                self.since_column = 0;
                self.column(masked, out);
            }
        }
    }

    /// Ends the stream: the last columns' peaks and their pairs.
    pub fn finish(&mut self, out: &mut Vec<Landmark>) {
        for _ in 0..PEAK_COLUMNS {
            self.push_column(None, true, out);
        }
        self.release(out);
    }

    fn column(&mut self, masked: bool, out: &mut Vec<Landmark>) {
        for (i, (x, w)) in self.ring.iter().zip(&self.window).enumerate() {
            self.input[i] = x * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .is_err()
        {
            self.push_column(None, masked, out);
            return;
        }
        let mut col = [0f32; BINS];
        let mut power = 0f32;
        for (i, c) in self.output[LOW_BIN..HIGH_BIN].iter().enumerate() {
            let p = c.norm_sqr();
            power += p;
            col[i] = 10.0 * (p + 1.0).log10();
        }
        let db = 10.0 * (power + 1.0).log10();
        self.loudest_db = self.loudest_db.max(db);
        let quiet = db < SILENT_COLUMN_DB || db < self.loudest_db - COLUMN_UNDER_LOUDEST_DB;
        if quiet {
            self.push_column(None, masked, out);
            return;
        }
        // The column's median, once: the tone follower and the peak search both stand on it.
        let mut scratch = col;
        let median = *scratch.select_nth_unstable_by(BINS / 2, f32::total_cmp).1;
        let tone = self.tone(&col, median, out);
        self.push_column(Some((col, median)), masked || tone, out);
    }

    /// Follows the column's strongest bin: whether a tone is sounding. When one is found, its
    /// peaks held back are dropped; when a steady bin breaks off short of a tone, they are
    /// paired after all.
    fn tone(&mut self, col: &[f32; BINS], median: f32, out: &mut Vec<Landmark>) -> bool {
        let t = self.next_t;
        let (strongest, top) =
            col.iter().enumerate().fold(
                (0, f32::MIN),
                |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) },
            );
        let dominant = top - median >= TONE_OVER_MEDIAN_DB;
        match self.tone_bin {
            Some(b) if dominant && b.abs_diff(strongest) <= 1 => self.tone_run += 1,
            _ if dominant => {
                self.release(out);
                self.tone_bin = Some(strongest);
                self.tone_since = t;
                self.tone_run = 1;
            }
            _ => {
                self.release(out);
                self.tone_bin = None;
                self.tone_run = 0;
            }
        }
        if self.tone_run < TONE_COLUMNS {
            return false;
        }
        if self.tone_run == TONE_COLUMNS {
            // Every peak held is in the tone's bin since it began: the tone's, never paired.
            self.held.clear();
            // Columns heard but not yet searched for peaks are the tone's too.
            self.masked.iter_mut().for_each(|m| *m = true);
        }
        true
    }

    fn push_column(
        &mut self,
        col: Option<([f32; BINS], f32)>,
        masked: bool,
        out: &mut Vec<Landmark>,
    ) {
        self.columns.push_back(col);
        self.masked.push_back(masked);
        self.next_t += 1;
        let span = 2 * PEAK_COLUMNS + 1;
        if self.columns.len() > span {
            self.columns.pop_front();
            self.masked.pop_front();
        }
        if self.columns.len() == span {
            // The middle column has all its neighbours now.
            let t = self.next_t - 1 - PEAK_COLUMNS as u32;
            self.find_peaks(t, out);
        }
    }

    fn find_peaks(&mut self, t: u32, out: &mut Vec<Landmark>) {
        let mid = PEAK_COLUMNS;
        if self.masked[mid] {
            return;
        }
        let Some((col, median)) = self.columns[mid] else {
            return;
        };
        // A bin at the band's edge is the loudest of its clipped neighbourhood whenever the
        // spectrum slopes there: only bins with whole neighbourhoods can be peaks.
        for (b, &v) in col
            .iter()
            .enumerate()
            .take(BINS - PEAK_BINS)
            .skip(PEAK_BINS)
        {
            if v < median + PEAK_OVER_MEDIAN_DB {
                continue;
            }
            let lo = b.saturating_sub(PEAK_BINS);
            let hi = (b + PEAK_BINS + 1).min(BINS);
            let is_peak = self.columns.iter().enumerate().all(|(ci, c)| match c {
                None => true,
                Some((c, _)) => c[lo..hi].iter().enumerate().all(|(k, &w)| {
                    let same = ci == mid && lo + k == b;
                    // Ties go to the earliest column and lowest bin.
                    same || w < v || (w == v && (ci, lo + k) > (mid, b))
                }),
            });
            if is_peak {
                let p = Peak { t, bin: b as u16 };
                // In the bin of a steady strongest bin that began by now: maybe a tone's.
                let tone_like = self
                    .tone_bin
                    .is_some_and(|tb| t >= self.tone_since && tb.abs_diff(b) <= 2);
                if tone_like {
                    self.held.push(p);
                } else {
                    self.accept(p, out);
                }
            }
        }
    }

    /// Pairs a new peak with the anchors before it that still take pairs (each takes the first
    /// `FAN_OUT` peaks from `PAIR_MIN_DT` to `PAIR_MAX_DT` columns after it within
    /// `PAIR_MAX_DF` bins), then opens it as an anchor.
    fn accept(&mut self, p: Peak, out: &mut Vec<Landmark>) {
        while self
            .anchors
            .front()
            .is_some_and(|a| a.peak.t + PAIR_MAX_DT < p.t || usize::from(a.paired) == FAN_OUT)
        {
            self.anchors.pop_front();
        }
        for a in self.anchors.iter_mut() {
            if p.t < a.peak.t + PAIR_MIN_DT || usize::from(a.paired) == FAN_OUT {
                continue;
            }
            let df = i32::from(p.bin) - i32::from(a.peak.bin);
            if df.abs() > PAIR_MAX_DF || p.t > a.peak.t + PAIR_MAX_DT {
                continue;
            }
            out.push(Landmark {
                hash: hash(a.peak.bin, df, p.t - a.peak.t),
                t: a.peak.t,
            });
            a.paired += 1;
        }
        self.anchors.push_back(Anchor { peak: p, paired: 0 });
    }

    /// Pairs the peaks held back for a steady bin that proved no tone.
    fn release(&mut self, out: &mut Vec<Landmark>) {
        let mut held = std::mem::take(&mut self.held);
        for p in held.drain(..) {
            self.accept(p, out);
        }
        self.held = held;
    }
}

/// A pair's hash: the anchor's bin (7 bits), the difference of bins (6 bits) and the time
/// between them (6 bits).
fn hash(bin: u16, df: i32, dt: u32) -> u32 {
    (u32::from(bin) & 0x7f) << 12 | ((df + PAIR_MAX_DF) as u32 & 0x3f) << 6 | (dt & 0x3f)
}

/// The hashes of a pair whose two peaks each moved by up to a bin (a codec that rebuilds the
/// excitation moves a harmonic that far): what a query looks up. The pair itself first.
pub fn probes(hash: u32) -> impl Iterator<Item = u32> {
    let bin = (hash >> 12) as i32;
    let df = ((hash >> 6) & 0x3f) as i32;
    let dt = hash & 0x3f;
    [
        (0, 0),
        (-1, 0),
        (1, 0),
        (0, -1),
        (0, 1),
        (-1, -1),
        (1, 1),
        (-1, 1),
        (1, -1),
    ]
    .into_iter()
    .filter_map(move |(a, b)| {
        let (nb, ndf) = (bin + a, df + b - a);
        (nb >= 0 && (0..=2 * PAIR_MAX_DF).contains(&ndf))
            .then_some((nb as u32) << 12 | (ndf as u32) << 6 | dt)
    })
}

/// The landmarks of a whole recording.
pub fn fingerprint(samples: &[i16]) -> Vec<Landmark> {
    let mut f = Fingerprinter::new();
    let mut out = Vec::new();
    f.push(samples, false, &mut out);
    f.finish(&mut out);
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// A voice-like signal: syllables of harmonics over a gliding pitch, each under its own
    /// two formants, with short pauses between them.
    fn voice(seed: u64, ms: u64) -> Vec<i16> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity((ms * 8) as usize);
        let mut phase = [0f64; 40];
        while (out.len() as u64) < ms * 8 {
            let len = rng.gen_range(800..1_600);
            let (f0a, f0b) = (rng.gen_range(95.0..230.0), rng.gen_range(95.0..230.0));
            let (f1, f2) = (rng.gen_range(300.0..900.0), rng.gen_range(900.0..2_600.0));
            for i in 0..len {
                let f0 = f0a + (f0b - f0a) * i as f64 / len as f64;
                let mut v = 0.0;
                for (h, ph) in phase.iter_mut().enumerate() {
                    let f = f0 * (h + 1) as f64;
                    if f > 3_600.0 {
                        break;
                    }
                    *ph += std::f64::consts::TAU * f / 8000.0;
                    let env = (-((f - f1) / 150.0).powi(2)).exp()
                        + 0.6 * (-((f - f2) / 200.0).powi(2)).exp()
                        + 0.02;
                    v += env * ph.sin();
                }
                out.push((v * 3_000.0).clamp(-32_768.0, 32_767.0) as i16);
            }
            out.extend(std::iter::repeat_n(0, rng.gen_range(400..1_200)));
        }
        out
    }

    fn tone(f: f64, ms: u64) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| (8_000.0 * (std::f64::consts::TAU * f * i as f64 / 8000.0).sin()) as i16)
            .collect()
    }

    #[test]
    fn landmarks_do_not_depend_on_how_the_audio_is_cut() {
        let x = voice(1, 3_000);
        let whole = fingerprint(&x);
        assert!(whole.len() > 100, "{} landmarks", whole.len());
        for chunk in [1, 160, 333] {
            let mut f = Fingerprinter::new();
            let mut out = Vec::new();
            for c in x.chunks(chunk) {
                f.push(c, false, &mut out);
            }
            f.finish(&mut out);
            out.sort_unstable();
            out.dedup();
            assert_eq!(out, whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_pair_comes_out_a_few_columns_after_its_second_peak() {
        // Not when its first peak's pairing window (0.4 s) closes: the matcher gets each pair
        // as soon as it can be known.
        let x = voice(2, 4_000);
        let mut f = Fingerprinter::new();
        let mut out = Vec::new();
        let mut lags = Vec::new();
        for c in x.chunks(160) {
            let before = out.len();
            f.push(c, false, &mut out);
            let now = f.columns_seen();
            lags.extend(out[before..].iter().map(|l| now - l.columns().1));
        }
        lags.sort_unstable();
        let median = lags[lags.len() / 2];
        let p90 = lags[lags.len() * 9 / 10];
        // The peak search needs PEAK_COLUMNS after a column, and a frame brings two columns.
        assert!(
            median <= PEAK_COLUMNS as u32 + 2,
            "median lag {median} columns"
        );
        assert!(p90 <= PEAK_COLUMNS as u32 + 12, "p90 lag {p90} columns");
    }

    #[test]
    fn a_steady_tone_gives_no_landmarks_of_its_own() {
        assert!(fingerprint(&tone(1_000.0, 1_500)).is_empty());
        // A voice, then a beep: no pair touches the beep's columns.
        let mut x = voice(3, 2_000);
        let beep_from = (x.len() / HOP) as u32;
        x.extend(tone(1_400.0, 600));
        let beep_to = (x.len() / HOP) as u32;
        x.extend(std::iter::repeat_n(0, 4_000));
        let lm = fingerprint(&x);
        assert!(!lm.is_empty());
        let touching: Vec<_> = lm
            .iter()
            .filter(|l| {
                let (a, b) = l.columns();
                (beep_from + 2..beep_to).contains(&a) || (beep_from + 2..beep_to).contains(&b)
            })
            .collect();
        assert!(touching.is_empty(), "{touching:?}");
    }
}
