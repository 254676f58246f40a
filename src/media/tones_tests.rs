//! Tone detector tests on generated signals.
use super::*;
use crate::media::level::sine_peak_for_dbm0;
use crate::media::FRAME_SAMPLES;

fn sine(f: f64, ms: u64, dbm0: f64, phase: f64) -> Vec<i16> {
    let a = sine_peak_for_dbm0(dbm0);
    (0..ms * 8)
        .map(|i| (a * (2.0 * std::f64::consts::PI * f * i as f64 / 8000.0 + phase).sin()) as i16)
        .collect()
}

fn silence(ms: u64) -> Vec<i16> {
    vec![0; (ms * 8) as usize]
}

fn events(x: &[i16]) -> Vec<ToneEvent> {
    let mut d = ToneDetector::new();
    let mut out = vec![];
    for (i, c) in x.chunks(FRAME_SAMPLES).enumerate() {
        let mut f = [0i16; FRAME_SAMPLES];
        f[..c.len()].copy_from_slice(c);
        out.extend(d.process_frame(&f, i as u64 * FRAME_MS));
    }
    out
}

#[test]
fn single_tone_estimate_is_accurate() {
    for f in [425.0, 950.0, 1400.0, 1800.0, 2000.0] {
        let (est, res) = single_tone(&sine(f, 20, -20.0, 0.3)).unwrap();
        assert!((est as f64 - f).abs() < 2.0, "{f}: {est}");
        assert!(res < -40.0, "{f}: residual {res}");
    }
}

#[test]
fn beeps_of_many_frequencies_and_levels_are_found() {
    for f in [440.0, 600.0, 1000.0, 1200.0, 1700.0, 2000.0] {
        for lvl in [-10.0, -25.0, -35.0] {
            let mut x = silence(300);
            x.extend(sine(f, 400, lvl, 1.0));
            x.extend(silence(500));
            let e = events(&x);
            assert!(
                matches!(e.as_slice(), [ToneEvent::Beep { freq_hz, .. }] if (*freq_hz as f64 - f).abs() < 10.0),
                "{f} Hz {lvl} dBm0: {e:?}"
            );
        }
    }
}

#[test]
fn a_beep_at_the_band_edge_is_found_as_a_mobile_codec_detunes_it_and_a_fax_tone_is_not() {
    // AMR-NB moves a 2000 Hz beep's measured frequency to 1998.8–2004.5 Hz (and 440 Hz to
    // 440–452 Hz): the band's edges must hold them. CED (2100 Hz) is no voicemail beep.
    for (f, beep) in [
        (2004.5, true),
        (2012.0, true),
        (439.0, true),
        (2100.0, false),
    ] {
        let mut x = silence(300);
        x.extend(sine(f, 400, -20.0, 0.4));
        x.extend(silence(500));
        let e = events(&x);
        assert_eq!(
            matches!(e.as_slice(), [ToneEvent::Beep { .. }]),
            beep,
            "{f} Hz: {e:?}"
        );
    }
}

/// Pink-ish noise (Voss-McCartney, 8 rows) scaled to `dbm0`, deterministic for `seed`.
fn pink(seed: u64, n: usize, dbm0: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut white = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let mut rows = [0f64; 8];
    let mut x: Vec<f64> = (0..n)
        .map(|i| {
            let k = (i + 1).trailing_zeros() as usize;
            if k < rows.len() {
                rows[k] = white();
            }
            rows.iter().sum::<f64>() + white()
        })
        .collect();
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
    let want = sine_peak_for_dbm0(dbm0) / 2f64.sqrt();
    x.iter_mut().for_each(|v| *v *= want / rms);
    x
}

#[test]
fn a_beep_in_line_noise_15_db_under_it_is_still_one_beep() {
    // Pink noise 15 dB under the beep leaves about half its frames impure by the fit: the
    // segment must go on through them (measured at its frequency), or the beep breaks into
    // pieces too short to count. 18 dB under it, every beep.
    let mut found = [0; 2];
    let mut total = 0;
    for (k, f) in [440.0, 600.0, 850.0, 1000.0, 1200.0, 1400.0, 1700.0, 2000.0]
        .into_iter()
        .enumerate()
    {
        for take in 0..4u64 {
            total += 1;
            for (i, snr) in [18.0, 15.0].into_iter().enumerate() {
                let mut x = silence(250);
                x.extend(sine(f, 300 + 150 * take, -18.0, 0.3 * take as f64));
                x.extend(silence(250));
                let noise = pink(k as u64 * 10 + take, x.len(), -18.0 - snr);
                let x: Vec<i16> = x
                    .iter()
                    .zip(noise)
                    .map(|(&v, n)| (f64::from(v) + n).round().clamp(-32768.0, 32767.0) as i16)
                    .collect();
                let e = events(&x);
                if e.iter().any(|ev| matches!(ev, ToneEvent::Beep { .. })) {
                    found[i] += 1;
                }
            }
        }
    }
    assert_eq!(found[0], total, "18 dB: {} of {total}", found[0]);
    assert!(found[1] * 10 >= total * 8, "15 dB: {} of {total}", found[1]);
}

#[test]
fn sit_is_one_event_not_three_beeps() {
    for (f1, f2, f3, ms) in [
        (950.0, 1400.0, 1800.0, 330),
        (913.8, 1370.6, 1776.7, 274),
        (985.2, 1428.5, 1776.7, 380),
    ] {
        let mut x = silence(200);
        x.extend(sine(f1, ms, -24.0, 0.0));
        x.extend(sine(f2, ms, -24.0, 0.5));
        x.extend(sine(f3, ms, -24.0, 1.0));
        x.extend(silence(1000));
        let e = events(&x);
        assert!(
            matches!(e.as_slice(), [ToneEvent::Sit { .. }]),
            "{f1}: {e:?}"
        );
    }
}

#[test]
fn busy_congestion_and_ringback_cadences() {
    let cadence = |on: u64, off: u64, n: usize| {
        let mut x = vec![];
        for _ in 0..n {
            x.extend(sine(425.0, on, -15.0, 0.0));
            x.extend(silence(off));
        }
        events(&x)
    };
    assert!(matches!(
        cadence(380, 380, 3).first(),
        Some(ToneEvent::Busy { .. })
    ));
    assert!(matches!(
        cadence(190, 190, 4).first(),
        Some(ToneEvent::Congestion { .. })
    ));
    assert!(matches!(
        cadence(1000, 3500, 2).first(),
        Some(ToneEvent::Ringback { .. })
    ));
}

#[test]
fn dtmf_pairs_and_short_tones_are_not_beeps() {
    let mut x = silence(100);
    for _ in 0..5 {
        let a = sine(770.0, 300, -10.0, 0.0);
        let b = sine(1336.0, 300, -10.0, 0.7);
        x.extend(a.iter().zip(&b).map(|(p, q)| p.saturating_add(*q)));
        x.extend(silence(200));
    }
    x.extend(sine(1000.0, 100, -10.0, 0.0));
    x.extend(silence(500));
    assert!(events(&x).is_empty());
}
