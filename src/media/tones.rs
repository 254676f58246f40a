//! Call-progress and special tones: SIT, voicemail beeps, 425 Hz busy/congestion/ringback.
//! Pure and allocation-free: 20 ms frames in, events out.
//!
//! Each frame gets a single-tone estimate: a sinusoid obeys x[n−1] + x[n+1] = 2·cos(ω)·x[n],
//! so a least-squares fit gives its frequency and the fit's residual its purity (speech, music
//! and DTMF pairs leave a large residual). Pure frames of steady frequency and level form tone
//! segments — a segment goes on through frames line noise made impure while most of their
//! energy stays at its frequency — and patterns over segments give the events.
use super::goertzel::{GoertzelCoeff, GoertzelState};
use super::{level, Frame, FRAME_MS};

/// Quietest frame considered for tones.
pub const MIN_TONE_DBM0: f32 = -42.0;
/// Largest fit residual relative to the frame's energy for a "pure" frame.
pub const MAX_RESIDUAL_DB: f32 = -14.0;
/// A tone already sounding goes on through frames that line noise made impure (residual up to
/// this) while this share of their energy is still at its frequency: a beep 15 dB over pink
/// noise gives frames on both sides of `MAX_RESIDUAL_DB`, and broke into pieces too short for
/// a beep. Speech never keeps this much of its energy at one frequency.
pub const NOISY_RESIDUAL_DB: f32 = -4.0;
pub const MIN_TONE_SHARE: f32 = 0.85;
/// Frequency drift allowed within one segment.
pub const MAX_FREQ_DRIFT: f32 = 0.02;
/// Level drift allowed within one segment.
pub const MAX_LEVEL_DRIFT_DB: f32 = 4.0;
/// Shortest segment kept (60 ms).
pub const MIN_SEGMENT_MS: u64 = 60;
/// Voicemail beep: frequency range (440–2000 Hz widened by the estimate's spread) and shortest
/// duration. Through G.711 a segment's mean frequency is within ~1 Hz of the tone; AMR-NB's
/// coding noise moves it by up to ~0.3 % (a 2000 Hz beep measured 1998.8–2004.5 Hz over all
/// eight modes), so the top edge sits at 2015 Hz: exactly 2000.0 lost about one 2 kHz beep in
/// two on mobile legs. A fax answer tone (2100 Hz) stays out.
pub const BEEP_MIN_HZ: f32 = 437.5;
pub const BEEP_MAX_HZ: f32 = 2015.0;
pub const BEEP_MIN_MS: u64 = 180;
/// SIT tones (ITU 950/1400/1800 ±50, Bellcore 913.8/985.2, 1370.6/1428.5, 1776.7).
pub const SIT_BANDS: [(f32, f32); 3] = [(890.0, 1010.0), (1340.0, 1460.0), (1740.0, 1860.0)];
/// SIT tone durations accepted (274–380 ms nominal, ±70 ms).
pub const SIT_MIN_MS: u64 = 200;
pub const SIT_MAX_MS: u64 = 460;
/// Largest gap between SIT tones (30 ms nominal plus a frame of edge).
pub const SIT_MAX_GAP_MS: u64 = 60;
/// The Russian call-progress tone.
pub const CP_HZ: f32 = 425.0;
pub const CP_TOLERANCE_HZ: f32 = 12.0;

/// A tone pattern recognised on the callee's audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ToneEvent {
    /// A special information tone sequence ended.
    Sit { start_ms: u64, end_ms: u64 },
    /// A single steady tone 440–2000 Hz of at least ~200 ms (voicemail beep) ended.
    Beep {
        freq_hz: f32,
        start_ms: u64,
        end_ms: u64,
    },
    /// 425 Hz busy cadence (0.35–0.4 s on/off) confirmed.
    Busy { at_ms: u64 },
    /// 425 Hz congestion cadence (0.175–0.2 s on/off) confirmed.
    Congestion { at_ms: u64 },
    /// 425 Hz ringback cadence (0.8–1 s on, 3.2–4 s off) confirmed.
    Ringback { at_ms: u64 },
}

/// A steady pure tone.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    freq: f32,
    start_ms: u64,
    end_ms: u64,
}

impl Segment {
    fn dur(&self) -> u64 {
        self.end_ms - self.start_ms
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Open {
    freq_sum: f32,
    level_sum: f32,
    frames: u32,
    start_ms: u64,
}

/// Runs every tone detector over 20 ms frames.
#[derive(Debug, Default)]
pub struct ToneDetector {
    open: Option<Open>,
    /// The last segments, newest last.
    recent: [Option<Segment>; 4],
    /// A beep that might still turn out to be the first tone of a SIT.
    pending_beep: Option<Segment>,
}

/// The share of the frame's energy at `freq_hz` (1.0 for a pure tone at that frequency).
pub fn tone_share(samples: &[i16], freq_hz: f32) -> f32 {
    let c = GoertzelCoeff::new(freq_hz, 8000.0);
    let mut g = GoertzelState::default();
    let mut energy = 0f32;
    for &x in samples {
        let x = f32::from(x);
        g.push(c, x);
        energy += x * x;
    }
    if energy <= 0.0 {
        return 0.0;
    }
    2.0 * g.power(c) / (samples.len() as f32 * energy)
}

/// Frequency (Hz) and fit residual (dB relative to energy) of the dominant single tone.
pub fn single_tone(samples: &[i16]) -> Option<(f32, f32)> {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for w in samples.windows(3) {
        let (a, b, c) = (f64::from(w[0]), f64::from(w[1]), f64::from(w[2]));
        num += b * (a + c);
        den += b * b;
    }
    if den <= 0.0 {
        return None;
    }
    let cosw = (num / (2.0 * den)).clamp(-1.0, 1.0);
    let mut res = 0.0f64;
    for w in samples.windows(3) {
        let (a, b, c) = (f64::from(w[0]), f64::from(w[1]), f64::from(w[2]));
        let e = a + c - 2.0 * cosw * b;
        res += e * e;
    }
    let freq = cosw.acos() * 8000.0 / (2.0 * std::f64::consts::PI);
    Some((freq as f32, (10.0 * (res.max(1e-9) / den).log10()) as f32))
}

impl ToneDetector {
    /// A detector for a new call leg.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one frame starting at `at_ms`; returns an event completed on this frame.
    pub fn process_frame(&mut self, frame: &Frame, at_ms: u64) -> Option<ToneEvent> {
        let lvl = level::dbm0(frame);
        let tone = if lvl >= MIN_TONE_DBM0 {
            match single_tone(frame) {
                Some((f, r)) if r <= MAX_RESIDUAL_DB => Some((f, r)),
                // Impure, but maybe the open tone in line noise: measured at its frequency.
                Some((_, r)) if r <= NOISY_RESIDUAL_DB => self.open.and_then(|o| {
                    let f = o.freq_sum / o.frames as f32;
                    (tone_share(frame, f) >= MIN_TONE_SHARE).then_some((f, r))
                }),
                _ => None,
            }
        } else {
            None
        };
        let mut closed = None;
        match (tone, self.open.as_mut()) {
            (Some((f, _)), Some(o)) if matches_open(o, f, lvl) => {
                o.freq_sum += f;
                o.level_sum += lvl;
                o.frames += 1;
            }
            (t, _) => {
                closed = self.open.take().map(|o| Segment {
                    freq: o.freq_sum / o.frames as f32,
                    start_ms: o.start_ms,
                    end_ms: at_ms,
                });
                self.open = t.map(|(f, _)| Open {
                    freq_sum: f,
                    level_sum: lvl,
                    frames: 1,
                    start_ms: at_ms,
                });
            }
        }
        let mut event = None;
        if let Some(seg) = closed.filter(|s| s.dur() >= MIN_SEGMENT_MS) {
            event = self.on_segment(seg);
        }
        // A pending beep becomes a beep once no SIT tone follows it in time.
        if event.is_none() {
            if let Some(b) = self.pending_beep {
                let continued = self.open.is_some_and(|o| {
                    at_ms.saturating_sub(b.end_ms) <= SIT_MAX_GAP_MS && o.start_ms >= b.end_ms
                });
                if !continued && at_ms >= b.end_ms + SIT_MAX_GAP_MS {
                    self.pending_beep = None;
                    event = Some(ToneEvent::Beep {
                        freq_hz: b.freq,
                        start_ms: b.start_ms,
                        end_ms: b.end_ms,
                    });
                } else if continued && at_ms >= b.end_ms + SIT_MAX_GAP_MS {
                    self.pending_beep = None;
                }
            }
        }
        event
    }

    fn on_segment(&mut self, seg: Segment) -> Option<ToneEvent> {
        self.recent.rotate_left(1);
        self.recent[3] = Some(seg);
        if let [.., Some(a), Some(b), Some(c)] = self.recent {
            let in_band = |s: &Segment, i: usize| {
                s.freq >= SIT_BANDS[i].0
                    && s.freq <= SIT_BANDS[i].1
                    && (SIT_MIN_MS..=SIT_MAX_MS).contains(&s.dur())
            };
            if in_band(&a, 0)
                && in_band(&b, 1)
                && in_band(&c, 2)
                && b.start_ms - a.end_ms <= SIT_MAX_GAP_MS
                && c.start_ms - b.end_ms <= SIT_MAX_GAP_MS
            {
                self.recent = [None; 4];
                self.pending_beep = None;
                return Some(ToneEvent::Sit {
                    start_ms: a.start_ms,
                    end_ms: c.end_ms,
                });
            }
        }
        if (seg.freq - CP_HZ).abs() <= CP_TOLERANCE_HZ {
            return self.cadence();
        }
        if (BEEP_MIN_HZ..=BEEP_MAX_HZ).contains(&seg.freq) && seg.dur() >= BEEP_MIN_MS {
            let could_be_sit = SIT_BANDS[..2]
                .iter()
                .any(|&(lo, hi)| seg.freq >= lo && seg.freq <= hi)
                && seg.dur() <= SIT_MAX_MS;
            if could_be_sit {
                self.pending_beep = Some(seg);
                return None;
            }
            return Some(ToneEvent::Beep {
                freq_hz: seg.freq,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
            });
        }
        None
    }

    /// 425 Hz cadences from the last two 425 Hz segments and the gap between them.
    fn cadence(&mut self) -> Option<ToneEvent> {
        let [.., Some(a), Some(b)] = self.recent else {
            return None;
        };
        let is_cp = |s: &Segment| (s.freq - CP_HZ).abs() <= CP_TOLERANCE_HZ;
        if !is_cp(&a) || !is_cp(&b) {
            return None;
        }
        let (on1, on2, off) = (a.dur(), b.dur(), b.start_ms - a.end_ms);
        let near = |x: u64, lo: u64, hi: u64| x + FRAME_MS >= lo && x <= hi + FRAME_MS;
        if near(on1, 300, 450) && near(on2, 300, 450) && near(off, 300, 450) {
            return Some(ToneEvent::Busy { at_ms: b.end_ms });
        }
        if near(on1, 150, 230) && near(on2, 150, 230) && near(off, 150, 230) {
            return Some(ToneEvent::Congestion { at_ms: b.end_ms });
        }
        if near(on1, 700, 1150) && near(off, 2900, 4300) {
            return Some(ToneEvent::Ringback { at_ms: b.end_ms });
        }
        None
    }
}

fn matches_open(o: &Open, f: f32, lvl: f32) -> bool {
    let mean_f = o.freq_sum / o.frames as f32;
    let mean_l = o.level_sum / o.frames as f32;
    (f - mean_f).abs() <= MAX_FREQ_DRIFT * mean_f && (lvl - mean_l).abs() <= MAX_LEVEL_DRIFT_DB
}

#[cfg(test)]
#[path = "tones_tests.rs"]
mod tests;
