//! Goertzel single-bin DFT, the building block of the DTMF receiver and tone detectors.
//! Pure arithmetic on f32; allocation-free.

/// Coefficients of one Goertzel filter for a target frequency at 8 kHz.
#[derive(Debug, Clone, Copy)]
pub struct GoertzelCoeff {
    /// 2·cos(2π f / fs)
    pub coeff: f32,
}

impl GoertzelCoeff {
    /// Filter for `freq_hz` at `sample_rate`.
    pub fn new(freq_hz: f32, sample_rate: f32) -> Self {
        Self {
            coeff: 2.0 * (2.0 * std::f32::consts::PI * freq_hz / sample_rate).cos(),
        }
    }
}

/// Running Goertzel state for one filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoertzelState {
    s1: f32,
    s2: f32,
}

impl GoertzelState {
    /// Feeds one sample.
    #[inline]
    pub fn push(&mut self, c: GoertzelCoeff, x: f32) {
        let s0 = x + c.coeff * self.s1 - self.s2;
        self.s2 = self.s1;
        self.s1 = s0;
    }

    /// Squared magnitude of the bin so far (not normalised by block length).
    #[inline]
    pub fn power(&self, c: GoertzelCoeff) -> f32 {
        self.s1 * self.s1 + self.s2 * self.s2 - c.coeff * self.s1 * self.s2
    }

    /// Clears the state for a new block.
    #[inline]
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Squared magnitude of `freq_hz` over a whole block (convenience for tests and slow paths).
pub fn block_power(samples: &[f32], freq_hz: f32, sample_rate: f32) -> f32 {
    let c = GoertzelCoeff::new(freq_hz, sample_rate);
    let mut st = GoertzelState::default();
    for &x in samples {
        st.push(c, x);
    }
    st.power(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_dft_magnitude() {
        let n = 205;
        let f = 770.0f32;
        let x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / 8000.0).sin() * 1000.0)
            .collect();
        let g = block_power(&x, f, 8000.0);
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * f as f64 * i as f64 / 8000.0;
            re += v as f64 * w.cos();
            im -= v as f64 * w.sin();
        }
        let naive = (re * re + im * im) as f32;
        assert!((g - naive).abs() / naive < 1e-3, "{g} vs {naive}");
    }
}
