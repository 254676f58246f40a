//! The Q.24 conformance sweep of the DTMF receiver (docs/telephony.md, «Keys (DTMF)»), on linear, A-law
//! and µ-law audio, with random tone phases and random block alignment. Prints the table.
use autoinformer::media::dtmf::{key_frequencies, DtmfReceiver, COLS, ROWS};
use autoinformer::media::g711::{alaw_round_trip, ulaw_round_trip};
use autoinformer::media::level::sine_peak_for_dbm0;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

const KEYS: &str = "123A456B789C*0#D";

#[derive(Clone, Copy, Debug)]
enum Codec {
    Linear,
    ALaw,
    MuLaw,
}

struct Tone {
    lo: f64,
    hi: f64,
    lo_dbm0: f64,
    hi_dbm0: f64,
    ms: f64,
}

/// Builds a signal: random leading offset (block alignment), tones with random phases.
fn signal(rng: &mut StdRng, parts: &[(Option<Tone>, f64)]) -> Vec<f64> {
    let mut out = vec![0.0; rng.gen_range(0..102)];
    for (tone, gap_ms) in parts {
        if let Some(t) = tone {
            let (pl, ph) = (rng.gen_range(0.0..2.0 * PI), rng.gen_range(0.0..2.0 * PI));
            let (al, ah) = (sine_peak_for_dbm0(t.lo_dbm0), sine_peak_for_dbm0(t.hi_dbm0));
            for i in 0..(t.ms * 8.0).round() as usize {
                let x = i as f64 / 8000.0;
                out.push(
                    al * (2.0 * PI * t.lo * x + pl).sin() + ah * (2.0 * PI * t.hi * x + ph).sin(),
                );
            }
        }
        out.extend(std::iter::repeat_n(0.0, (gap_ms * 8.0).round() as usize));
    }
    out
}

fn key_tone(k: char, dbm0: f64, ms: f64) -> Tone {
    let (lo, hi) = key_frequencies(k).expect("key");
    Tone {
        lo: lo as f64,
        hi: hi as f64,
        lo_dbm0: dbm0,
        hi_dbm0: dbm0,
        ms,
    }
}

fn encode(x: &[f64], codec: Codec) -> Vec<i16> {
    x.iter()
        .map(|&v| {
            let s = v.round().clamp(-32768.0, 32767.0) as i16;
            match codec {
                Codec::Linear => s,
                Codec::ALaw => alaw_round_trip(s),
                Codec::MuLaw => ulaw_round_trip(s),
            }
        })
        .collect()
}

fn detect(x: &[f64], codec: Codec) -> String {
    let mut rx = DtmfReceiver::new();
    let mut out = String::new();
    rx.process(&encode(x, codec), |d| out.push(d.digit));
    out
}

fn gauss(rng: &mut StdRng) -> f64 {
    let (u1, u2): (f64, f64) = (rng.gen_range(1e-12..1.0), rng.gen_range(0.0..1.0));
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

struct Table {
    rows: Vec<(String, String, String, bool)>,
}

impl Table {
    fn row(&mut self, name: &str, target: &str, measured: String, pass: bool) {
        self.rows.push((name.into(), target.into(), measured, pass));
    }
}

/// Fraction of trials where `f(rng)` holds.
fn rate(trials: usize, seed: u64, mut f: impl FnMut(&mut StdRng) -> bool) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..trials).filter(|_| f(&mut rng)).count() as f64 / trials as f64
}

fn sweep(codec: Codec, t: &mut Table) {
    let c = format!("{codec:?}");
    let trials = 20;
    // Frequency: every tone shifted, with each partner of its group.
    let (mut acc, mut rej) = (1.0f64, 0.0f64);
    for dev_sign in [-1.0, 1.0] {
        for (shift_low, f_idx) in (0..4).map(|i| (true, i)).chain((0..4).map(|i| (false, i))) {
            let key = if shift_low {
                KEYS.chars().nth(f_idx * 4 + 1)
            } else {
                KEYS.chars().nth(4 + f_idx)
            }
            .expect("key");
            for (dev, store) in [(0.015, 0), (0.035, 1)] {
                let r = rate(trials, 7 + f_idx as u64, |rng| {
                    let mut tone = key_tone(key, -10.0, 60.0);
                    if shift_low {
                        tone.lo *= 1.0 + dev_sign * dev;
                    } else {
                        tone.hi *= 1.0 + dev_sign * dev;
                    }
                    detect(&signal(rng, &[(Some(tone), 100.0)]), codec) == key.to_string()
                });
                if store == 0 {
                    acc = acc.min(r);
                } else {
                    rej = rej.max(r);
                }
            }
        }
    }
    t.row(
        &format!("frequency ±1.5 % accept, 8 tones [{c}]"),
        "100 %",
        format!("{:.0} %", acc * 100.0),
        acc == 1.0,
    );
    t.row(
        &format!("frequency ±3.5 % reject, 8 tones [{c}]"),
        "0 % detected",
        format!("{:.0} %", rej * 100.0),
        rej == 0.0,
    );

    // Twist.
    let twist = |lo_db: f64, hi_db: f64, seed| {
        rate(trials * 4, seed, |rng| {
            let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
            let mut tone = key_tone(k, -10.0, 60.0);
            tone.lo_dbm0 = -10.0 + lo_db;
            tone.hi_dbm0 = -10.0 + hi_db;
            detect(&signal(rng, &[(Some(tone), 100.0)]), codec) == k.to_string()
        })
    };
    let (a1, a2, r1, r2) = (
        twist(0.0, -8.0, 1),
        twist(-4.0, 0.0, 2),
        twist(0.0, -11.0, 3),
        twist(-7.0, 0.0, 4),
    );
    t.row(
        &format!("twist: low louder 8 dB / high louder 4 dB accept [{c}]"),
        "100 %",
        format!("{:.0} % / {:.0} %", a1 * 100.0, a2 * 100.0),
        a1 == 1.0 && a2 == 1.0,
    );
    t.row(
        &format!("twist: low louder 9 dB / high louder 5 dB reject [{c}]"),
        "0 %",
        format!("{:.0} % / {:.0} %", r1 * 100.0, r2 * 100.0),
        r1 == 0.0 && r2 == 0.0,
    );

    // Level.
    let mut lowest = 0.0;
    for l in (3..=60).map(|x| -(x as f64)) {
        let r = rate(trials, 11, |rng| {
            let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
            detect(&signal(rng, &[(Some(key_tone(k, l, 60.0)), 100.0)]), codec) == k.to_string()
        });
        if r == 1.0 {
            lowest = l;
        }
        if r == 0.0 && l < -45.0 {
            break;
        }
    }
    let at55 = rate(trials, 12, |rng| {
        !detect(
            &signal(rng, &[(Some(key_tone('5', -55.0, 60.0)), 100.0)]),
            codec,
        )
        .is_empty()
    });
    t.row(
        &format!("level: lowest fully detected per tone [{c}]"),
        "≤ −25 dBm0 (aim −36)",
        format!("{lowest:.0} dBm0"),
        lowest <= -25.0,
    );
    t.row(
        &format!("level: −55 dBm0 never [{c}]"),
        "0 %",
        format!("{:.0} %", at55 * 100.0),
        at55 == 0.0,
    );

    // Duration.
    let dur = |ms: f64, seed| {
        rate(trials * 4, seed, |rng| {
            let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
            detect(
                &signal(rng, &[(Some(key_tone(k, -10.0, ms)), 100.0)]),
                codec,
            ) == k.to_string()
        })
    };
    let (d40, d20) = (dur(40.0, 21), dur(20.0, 22));
    t.row(
        &format!("duration 40 ms detected / 20 ms never [{c}]"),
        "100 % / 0 %",
        format!("{:.0} % / {:.0} %", d40 * 100.0, d20 * 100.0),
        d40 == 1.0 && d20 == 0.0,
    );

    // Pause: the same key four times with 40 ms pauses.
    let p40 = rate(trials * 2, 31, |rng| {
        let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
        let parts: Vec<_> = (0..4)
            .map(|_| (Some(key_tone(k, -10.0, 50.0)), 40.0))
            .collect();
        detect(&signal(rng, &parts), codec) == k.to_string().repeat(4)
    });
    t.row(
        &format!("pause 40 ms between equal keys seen [{c}]"),
        "100 %",
        format!("{:.0} %", p40 * 100.0),
        p40 == 1.0,
    );

    // Dropout: a 100 ms key with a 1–10 ms hole anywhere.
    let drop = rate(trials * 8, 41, |rng| {
        let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
        let first = rng.gen_range(25.0..65.0);
        let hole = rng.gen_range(1.0..=10.0);
        let parts = [
            (Some(key_tone(k, -10.0, first)), hole),
            (Some(key_tone(k, -10.0, 100.0 - first)), 100.0),
        ];
        detect(&signal(rng, &parts), codec) == k.to_string()
    });
    t.row(
        &format!("dropout ≤ 10 ms bridged (one digit) [{c}]"),
        "100 %",
        format!("{:.0} %", drop * 100.0),
        drop == 1.0,
    );

    // Rate: all 16 keys at 93 ms per digit (48 ms on, 45 ms off).
    let r93 = rate(trials, 51, |rng| {
        let parts: Vec<_> = KEYS
            .chars()
            .map(|k| (Some(key_tone(k, -10.0, 48.0)), 45.0))
            .collect();
        detect(&signal(rng, &parts), codec) == KEYS
    });
    t.row(
        &format!("rate 93 ms/digit, 16 keys [{c}]"),
        "100 %",
        format!("{:.0} %", r93 * 100.0),
        r93 == 1.0,
    );

    // Noise: white Gaussian noise at 15 dB per-tone S/N (noise power over the whole band).
    let noisy = |snr: f64, seed| {
        rate(trials * 4, seed, |rng| {
            let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
            let mut x = signal(
                rng,
                &[(None, 50.0), (Some(key_tone(k, -20.0, 60.0)), 100.0)],
            );
            let sigma = sine_peak_for_dbm0(-20.0 - snr) / 2f64.sqrt();
            for v in x.iter_mut() {
                *v += sigma * gauss(rng);
            }
            detect(&x, codec) == k.to_string()
        })
    };
    let (n15, n12) = (noisy(15.0, 61), noisy(12.0, 62));
    t.row(
        &format!("noise: per-tone S/N 15 dB (12 dB) [{c}]"),
        "100 % at 15 dB",
        format!("{:.0} % ({:.0} %)", n15 * 100.0, n12 * 100.0),
        n15 == 1.0,
    );

    // Dial tone 11 dB below the digits: 350+440 Hz and 425 Hz.
    let dial = |freqs: &'static [f64], seed| {
        rate(trials * 2, seed, |rng| {
            let k = KEYS.chars().nth(rng.gen_range(0..16)).expect("key");
            let mut x = signal(
                rng,
                &[
                    (None, 30.0),
                    (Some(key_tone(k, -15.0, 60.0)), 60.0),
                    (Some(key_tone(k, -15.0, 60.0)), 60.0),
                ],
            );
            let a = sine_peak_for_dbm0(-26.0);
            let ph: Vec<f64> = freqs.iter().map(|_| rng.gen_range(0.0..2.0 * PI)).collect();
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / 8000.0;
                *v += freqs
                    .iter()
                    .zip(&ph)
                    .map(|(f, p)| a * (2.0 * PI * f * t + p).sin())
                    .sum::<f64>();
            }
            detect(&x, codec) == k.to_string().repeat(2)
        })
    };
    let (d1, d2) = (dial(&[350.0, 440.0], 71), dial(&[425.0], 72));
    t.row(
        &format!("dial tone 11 dB below: 350+440 / 425 Hz [{c}]"),
        "100 %",
        format!("{:.0} % / {:.0} %", d1 * 100.0, d2 * 100.0),
        d1 == 1.0 && d2 == 1.0,
    );
}

#[test]
fn q24_conformance_sweep() {
    assert_eq!(ROWS.len() + COLS.len(), 8);
    let mut t = Table { rows: vec![] };
    for codec in [Codec::Linear, Codec::ALaw, Codec::MuLaw] {
        sweep(codec, &mut t);
    }
    println!("\nDTMF receiver conformance (Q.24 / dsp-notes.md):");
    println!("{:<62} {:<22} {:<16} pass", "row", "target", "measured");
    for (name, target, measured, pass) in &t.rows {
        println!(
            "{name:<62} {target:<22} {measured:<16} {}",
            if *pass { "yes" } else { "NO" }
        );
    }
    let failed: Vec<_> = t
        .rows
        .iter()
        .filter(|r| !r.3)
        .map(|r| r.0.clone())
        .collect();
    assert!(failed.is_empty(), "failed rows: {failed:?}");
}
