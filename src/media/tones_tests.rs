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
