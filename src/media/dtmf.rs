//! In-band DTMF receiver (ITU-T Q.24). Pure and allocation-free: samples in, digits out.
//!
//! Shape: blocks of 102 samples (12.75 ms), each split in two halves of 51 samples with a
//! complex Goertzel filter per DTMF frequency per half. Per block, the strongest row and column
//! tones must pass every check:
//! - level: each tone above `MIN_TONE_DBM0`;
//! - twist: low group at most `MAX_REVERSE_TWIST_DB` louder, high group at most
//!   `MAX_FORWARD_TWIST_DB` louder;
//! - purity: each tone `MIN_GROUP_MARGIN_DB` above the other tones of its group, and the pair
//!   carries at least `MIN_PAIR_ENERGY_FRACTION` of the block's energy (talk-off, noise);
//! - steadiness: both halves carry similar power (a block the tone only partly covers fails,
//!   which makes the 20 ms reject and the 40 ms pause exact);
//! - frequency: the phase advance between the two halves measures each tone's frequency to
//!   about 1 Hz, so the ±1.5 % accept / ±3.5 % reject limits are met on every tone (a
//!   magnitude-only Goertzel cannot tell 2 % from 4 % at this block length).
//!
//! A digit starts after `CONFIRM_BLOCKS` agreeing blocks and ends after `END_MISSES` blocks
//! without it, which bridges dropouts of up to 10 ms and still sees 40 ms pauses.
use super::level::sine_peak_for_dbm0;
use std::f32::consts::PI;

/// Samples per half block.
pub const HALF: usize = 51;
/// Samples per analysis block (12.75 ms).
pub const BLOCK: usize = 2 * HALF;
/// Row (low group) frequencies.
pub const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high group) frequencies.
pub const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Weakest tone accepted (per tone). Q.24 asks for operation down to −25 dBm0 and never below
/// −55; −40 keeps a wide margin both ways.
pub const MIN_TONE_DBM0: f64 = -40.0;
/// Low group louder than the high group by at most this ("reverse twist": Q.24 accepts 8 dB).
/// The limit sits above 8 dB because the strong tone's leakage lowers the weak tone's measured
/// power with this short rectangular window (the measured twist reads up to ~2 dB high); the
/// sweep accepts 8 dB and rejects 9 dB on every codec.
pub const MAX_REVERSE_TWIST_DB: f32 = 10.0;
/// High group louder than the low group by at most this ("standard twist": Q.24 accepts 4 dB;
/// the sweep accepts 4 dB and rejects 5 dB).
pub const MAX_FORWARD_TWIST_DB: f32 = 5.5;
/// Each tone must exceed the other tones of its group by this much (spandsp uses 8 dB; the
/// phase-based frequency check does the fine rejection here).
pub const MIN_GROUP_MARGIN_DB: f32 = 6.0;
/// Share of the block's energy the two tones must carry: speech and music spread theirs.
pub const MIN_PAIR_ENERGY_FRACTION: f32 = 0.70;
/// Largest frequency deviation accepted, relative: between the 1.5 % that must be accepted and
/// the 3.5 % that must be rejected, nearer the accept edge: music holds pairs of notes 2–3 % off
/// a DTMF pair (G♯5 + G♯6 vs 852 + 1633 Hz), which the talk-off test caught at 2.5 %.
pub const MAX_FREQ_DEVIATION: f32 = 0.021;
/// Widening of the weaker tone's frequency limit per dB of twist beyond 4 dB (0.1 %/dB: at most
/// 2.5 % + 0.55 % = 3.05 % at the largest accepted twist).
pub const TWIST_FREQ_ALLOWANCE: f32 = 0.001;
/// Largest power difference between the two halves of a block.
pub const MAX_HALF_IMBALANCE_DB: f32 = 3.0;
/// The same for the weaker tone, whose half-block bins also catch the stronger tone's leakage.
pub const MAX_HALF_IMBALANCE_WEAK_DB: f32 = 8.0;
/// Agreeing blocks that confirm a digit (2 blocks = 25.5 ms: a 40 ms tone always holds two
/// whole blocks, a 20 ms tone never does).
pub const CONFIRM_BLOCKS: u8 = 2;
/// Blocks without the digit that end it (a ≤ 10 ms dropout spoils at most 2 blocks).
pub const END_MISSES: u8 = 3;

/// A digit heard on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    /// '0'..='9', '*', '#', 'A'..='D'.
    pub digit: char,
    /// Sample index (since the receiver was created) where the tone began.
    pub start_sample: u64,
}

/// Precomputed per-frequency constants.
#[derive(Debug, Clone, Copy)]
struct Bank {
    coeff: [f32; 8],
    cos: [f32; 8],
    sin: [f32; 8],
    /// Expected phase advance over one half block, as a unit complex (re, im).
    adv: [(f32, f32); 8],
    freq: [f32; 8],
}

impl Bank {
    fn new() -> Self {
        let mut b = Bank {
            coeff: [0.0; 8],
            cos: [0.0; 8],
            sin: [0.0; 8],
            adv: [(0.0, 0.0); 8],
            freq: [0.0; 8],
        };
        for (i, &f) in ROWS.iter().chain(COLS.iter()).enumerate() {
            let w = 2.0 * PI * f / 8000.0;
            b.coeff[i] = 2.0 * w.cos();
            b.cos[i] = w.cos();
            b.sin[i] = w.sin();
            let a = (w as f64 * HALF as f64) % (2.0 * std::f64::consts::PI);
            b.adv[i] = (a.cos() as f32, a.sin() as f32);
            b.freq[i] = f;
        }
        b
    }
}

/// Streaming receiver; feed any number of samples at a time.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    bank: Bank,
    s1: [f32; 8],
    s2: [f32; 8],
    /// Complex Goertzel outputs of the first half.
    first: [(f32, f32); 8],
    energy: f32,
    pos: usize,
    samples: u64,
    min_tone_power: f32,
    current: Option<char>,
    misses: u8,
    candidate: Option<(char, u8, u64)>,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfReceiver {
    /// A receiver with default (Q.24) parameters.
    pub fn new() -> Self {
        // Whole-block Goertzel power of a sine of amplitude A is about (A·BLOCK/2)².
        let a = sine_peak_for_dbm0(MIN_TONE_DBM0) as f32;
        let min_tone_power = (a * BLOCK as f32 / 2.0).powi(2);
        Self {
            bank: Bank::new(),
            s1: [0.0; 8],
            s2: [0.0; 8],
            first: [(0.0, 0.0); 8],
            energy: 0.0,
            pos: 0,
            samples: 0,
            min_tone_power,
            current: None,
            misses: 0,
            candidate: None,
        }
    }

    /// Feeds linear samples; calls `on_digit` once per digit, when it is confirmed.
    pub fn process(&mut self, samples: &[i16], mut on_digit: impl FnMut(DtmfDigit)) {
        for &x in samples {
            let x = f32::from(x);
            self.energy += x * x;
            for i in 0..8 {
                let s0 = x + self.bank.coeff[i] * self.s1[i] - self.s2[i];
                self.s2[i] = self.s1[i];
                self.s1[i] = s0;
            }
            self.pos += 1;
            if self.pos == HALF {
                self.first = self.take_half();
            } else if self.pos == BLOCK {
                let second = self.take_half();
                let block_start = self.samples + 1 - BLOCK as u64;
                let r = self.classify(&second);
                self.energy = 0.0;
                self.pos = 0;
                self.on_block(r, block_start, &mut on_digit);
            }
            self.samples += 1;
        }
    }

    /// The complex Goertzel outputs of the half just finished; resets the filters.
    fn take_half(&mut self) -> [(f32, f32); 8] {
        let mut out = [(0.0, 0.0); 8];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (
                self.s1[i] - self.s2[i] * self.bank.cos[i],
                self.s2[i] * self.bank.sin[i],
            );
            self.s1[i] = 0.0;
            self.s2[i] = 0.0;
        }
        out
    }

    fn classify(&self, second: &[(f32, f32); 8]) -> Option<char> {
        // Whole-block power: the second half rotated back by the bin's own advance and added,
        // which gives the 102-sample resolution the group-margin check needs.
        let mut p = [0.0f32; 8];
        for i in 0..8 {
            let (a, b) = (self.first[i], second[i]);
            let (er, ei) = self.bank.adv[i];
            let (re, im) = (a.0 + b.0 * er + b.1 * ei, a.1 + b.1 * er - b.0 * ei);
            p[i] = re * re + im * im;
        }
        let row = argmax(&p[0..4]);
        let col = argmax(&p[4..8]);
        let (pr, pc) = (p[row], p[4 + col]);
        if pr < self.min_tone_power || pc < self.min_tone_power {
            return None;
        }
        let twist = db(pr / pc);
        if twist > MAX_REVERSE_TWIST_DB || -twist > MAX_FORWARD_TWIST_DB {
            return None;
        }
        let margin = 10f32.powf(MIN_GROUP_MARGIN_DB / 10.0);
        for i in 0..4 {
            if (i != row && p[i] * margin > pr) || (i != col && p[4 + i] * margin > pc) {
                return None;
            }
        }
        // Tone energy ≈ 2·P/BLOCK (see `new`): the pair's share of the block's energy.
        if 2.0 * (pr + pc) / (BLOCK as f32) < MIN_PAIR_ENERGY_FRACTION * self.energy {
            return None;
        }
        let strong = if pr >= pc { row } else { 4 + col };
        for i in [row, 4 + col] {
            let (a, b) = (self.first[i], second[i]);
            let (pa, pb) = (a.0 * a.0 + a.1 * a.1, b.0 * b.0 + b.1 * b.1);
            let limit = if i == strong {
                MAX_HALF_IMBALANCE_DB
            } else {
                MAX_HALF_IMBALANCE_WEAK_DB
            };
            if db(pa.max(pb) / pa.min(pb).max(f32::MIN_POSITIVE)) > limit {
                return None;
            }
            // b · conj(a) · conj(expected advance): the residual phase over one half block.
            let (re, im) = (b.0 * a.0 + b.1 * a.1, b.1 * a.0 - b.0 * a.1);
            let (er, ei) = self.bank.adv[i];
            let (rr, ri) = (re * er + im * ei, im * er - re * ei);
            let dev_hz = ri.atan2(rr) * 8000.0 / (2.0 * PI * HALF as f32);
            // The weaker tone's phase also carries the stronger tone's leakage: under heavy
            // twist its estimate spreads by up to ~1 %, so its limit widens (still < 3.5 %).
            let tol = if i == strong {
                MAX_FREQ_DEVIATION
            } else {
                MAX_FREQ_DEVIATION + TWIST_FREQ_ALLOWANCE * (twist.abs() - 4.0).max(0.0)
            };
            if dev_hz.abs() > tol * self.bank.freq[i] {
                return None;
            }
        }
        Some(KEYS[row][col])
    }

    fn on_block(
        &mut self,
        r: Option<char>,
        block_start: u64,
        on_digit: &mut impl FnMut(DtmfDigit),
    ) {
        if let Some(d) = self.current {
            if r == Some(d) {
                self.misses = 0;
                return;
            }
            self.misses += 1;
            if self.misses < END_MISSES {
                // Maybe a dropout: a different digit only counts once this one has ended.
                self.candidate = r.map(|x| match self.candidate {
                    Some((c, n, s)) if c == x => (x, n.saturating_add(1), s),
                    _ => (x, 1, block_start),
                });
                return;
            }
            self.current = None;
        }
        match r {
            None => self.candidate = None,
            Some(x) => {
                let (n, start) = match self.candidate {
                    Some((c, n, s)) if c == x => (n.saturating_add(1), s),
                    _ => (1, block_start),
                };
                self.candidate = Some((x, n, start));
                if n >= CONFIRM_BLOCKS {
                    self.current = Some(x);
                    self.misses = 0;
                    self.candidate = None;
                    on_digit(DtmfDigit {
                        digit: x,
                        start_sample: start,
                    });
                }
            }
        }
    }
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}

fn db(ratio: f32) -> f32 {
    10.0 * ratio.log10()
}

/// The (row, column) frequencies of a key, for generators and tests.
pub fn key_frequencies(key: char) -> Option<(f32, f32)> {
    for (r, row) in KEYS.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == key.to_ascii_uppercase() {
                return Some((ROWS[r], COLS[c]));
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "dtmf_tests.rs"]
mod tests;
