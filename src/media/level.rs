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

#[cfg(test)]
mod tests {
    use super::*;

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
