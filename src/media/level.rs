//! Levels in dBm0 for 16-bit linear samples that represent G.711 audio.
//! Convention (ITU-T G.711): a full-scale sine wave (peak 32767 in our 16-bit scale) is
//! +3.14 dBm0, so a 0 dBm0 sine has a peak of about 22 803.

/// Level of a full-scale sine in dBm0.
#[allow(clippy::approx_constant)] // G.711's +3.14 dBm0, not π
pub const FULL_SCALE_SINE_DBM0: f64 = 3.14;

/// Peak amplitude (16-bit scale) of a sine at `dbm0`.
pub fn sine_peak_for_dbm0(dbm0: f64) -> f64 {
    32767.0 * 10f64.powf((dbm0 - FULL_SCALE_SINE_DBM0) / 20.0)
}

/// Mean power (sum of squares / n) of a 16-bit sine at 0 dBm0: (peak² / 2).
pub fn power_of_0dbm0() -> f64 {
    let p = sine_peak_for_dbm0(0.0);
    p * p / 2.0
}

/// Level of a block of samples in dBm0, clamped at −100 for silence.
pub fn dbm0(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return -100.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let mean = sum / samples.len() as f64;
    if mean <= 0.0 {
        return -100.0;
    }
    let db = 10.0 * (mean / power_of_0dbm0()).log10();
    (db as f32).max(-100.0)
}

/// RMS and peak level in dBFS (0 dBFS: the 16-bit full scale, 32767; a full-scale sine is
/// about −3 dBFS RMS), each clamped at −100 for silence.
pub fn dbfs(samples: &[i16]) -> (f32, f32) {
    if samples.is_empty() {
        return (-100.0, -100.0);
    }
    let full = 32767.0f64;
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    let peak = samples
        .iter()
        .map(|&s| f64::from(s).abs())
        .fold(0.0, f64::max);
    let db = |v: f64| {
        if v <= 0.0 {
            -100.0
        } else {
            ((20.0 * (v / full).log10()) as f32).max(-100.0)
        }
    };
    (db(rms), db(peak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_is_minus_3_dbfs_rms_and_0_peak() {
        let s: Vec<i16> = (0..8000)
            .map(|i| {
                (32767.0 * (2.0 * std::f64::consts::PI * 1004.0 * i as f64 / 8000.0).sin()).round()
                    as i16
            })
            .collect();
        let (rms, peak) = dbfs(&s);
        assert!((rms + 3.01).abs() < 0.05, "{rms}");
        assert!(peak.abs() < 0.01, "{peak}");
        assert_eq!(dbfs(&[0; 80]), (-100.0, -100.0));
        let (rms, peak) = dbfs(&[3277, -3277]);
        assert!((rms + 20.0).abs() < 0.01 && (peak + 20.0).abs() < 0.01);
    }

    #[test]
    fn zero_dbm0_sine_measures_zero() {
        let peak = sine_peak_for_dbm0(0.0);
        let s: Vec<i16> = (0..8000)
            .map(|i| {
                (peak * (2.0 * std::f64::consts::PI * 1004.0 * i as f64 / 8000.0).sin()).round()
                    as i16
            })
            .collect();
        assert!((dbm0(&s) - 0.0).abs() < 0.05, "{}", dbm0(&s));
    }

    #[test]
    fn silence_is_minus_100() {
        assert_eq!(dbm0(&[0; 160]), -100.0);
        assert_eq!(dbm0(&[]), -100.0);
    }
}
