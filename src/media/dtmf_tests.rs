//! Unit tests of the receiver; the full Q.24 sweep lives in tests/dtmf_conformance.rs.
use super::*;

fn tone(key: char, ms: f32, dbm0: f64) -> Vec<i16> {
    let (lo, hi) = key_frequencies(key).unwrap();
    let a = sine_peak_for_dbm0(dbm0) as f32;
    (0..(ms * 8.0) as usize)
        .map(|i| {
            let t = i as f32 / 8000.0;
            (a * ((2.0 * PI * lo * t).sin() + (2.0 * PI * hi * t).sin())) as i16
        })
        .collect()
}

fn detect(samples: &[i16]) -> String {
    let mut rx = DtmfReceiver::new();
    let mut out = String::new();
    rx.process(samples, |d| out.push(d.digit));
    out
}

#[test]
fn all_sixteen_keys_decode() {
    let mut s = vec![];
    for k in "123A456B789C*0#D".chars() {
        s.extend(tone(k, 60.0, -10.0));
        s.extend(vec![0i16; 480]);
    }
    assert_eq!(detect(&s), "123A456B789C*0#D");
}

#[test]
fn start_sample_points_at_the_tone() {
    let mut s = vec![0i16; 1000];
    s.extend(tone('5', 80.0, -10.0));
    let mut rx = DtmfReceiver::new();
    let mut got = vec![];
    rx.process(&s, |d| got.push(d));
    assert_eq!(got.len(), 1);
    assert!(
        (got[0].start_sample as i64 - 1000).abs() <= BLOCK as i64,
        "{got:?}"
    );
}

#[test]
fn streaming_in_odd_chunks_gives_the_same_digits() {
    let mut s = vec![];
    for k in "90210".chars() {
        s.extend(tone(k, 50.0, -15.0));
        s.extend(vec![0i16; 400]);
    }
    let mut rx = DtmfReceiver::new();
    let mut out = String::new();
    for c in s.chunks(37) {
        rx.process(c, |d| out.push(d.digit));
    }
    assert_eq!(out, "90210");
}

#[test]
fn silence_gives_nothing() {
    assert_eq!(detect(&vec![0i16; 80_000]), "");
}
