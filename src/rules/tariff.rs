//! A project's tariff (docs/api.md), pure: what an answered call costs from its talk time and the
//! answers recognised on it. Defaults are the reference's: 0.04 ₽ per second from pickup,
//! speech recognition 0.40 ₽ per answer up to 15 s and 0.80 ₽ for 16–30 s, transfers to
//! agents free (SMS are priced by SMSC and added by the outbox).
use super::money::Kopecks;
use serde::{Deserialize, Serialize};

/// Prices in roubles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tariff {
    /// Per second from pickup (a started second counts whole).
    pub per_second: f64,
    /// Per recognised answer of at most `asr_short_s` seconds.
    pub asr_short: f64,
    /// Per recognised answer longer than that (answers are capped at 30 s).
    pub asr_long: f64,
    pub asr_short_s: u64,
}

impl Default for Tariff {
    fn default() -> Self {
        Self {
            per_second: 0.04,
            asr_short: 0.40,
            asr_long: 0.80,
            asr_short_s: 15,
        }
    }
}

impl Tariff {
    /// Checks the prices (422 in the API when wrong).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("per_second", self.per_second),
            ("asr_short", self.asr_short),
            ("asr_long", self.asr_long),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("tariff.{name} must be a price ≥ 0, not {v}"));
            }
        }
        Ok(())
    }

    /// The cost of an answered call of `talk_ms` with recognised answers of these lengths;
    /// a call that was never answered costs nothing. Rounded to the kopeck once per call.
    pub fn call_cost(&self, answered: bool, talk_ms: u64, answers_ms: &[u64]) -> Kopecks {
        if !answered {
            return Kopecks::ZERO;
        }
        let seconds = talk_ms.div_ceil(1000) as f64;
        let asr: f64 = answers_ms
            .iter()
            .map(|&ms| {
                if ms <= self.asr_short_s * 1000 {
                    self.asr_short
                } else {
                    self.asr_long
                }
            })
            .sum();
        Kopecks::from_rubles(seconds * self.per_second + asr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_is_charged_per_started_second_and_answers_by_length() {
        let t = Tariff::default();
        assert_eq!(t.call_cost(false, 30_000, &[]), Kopecks(0));
        assert_eq!(t.call_cost(true, 10_000, &[]), Kopecks(40));
        assert_eq!(t.call_cost(true, 10_001, &[]), Kopecks(44));
        assert_eq!(
            t.call_cost(true, 20_000, &[3_000, 15_000, 16_000]),
            Kopecks(240),
            "20 s talk 0.80 + two short answers 0.80 + one long 0.80"
        );
    }

    #[test]
    fn negative_or_absurd_prices_are_refused() {
        let t = Tariff {
            per_second: -1.0,
            ..Default::default()
        };
        assert!(t.validate().unwrap_err().contains("per_second"));
        assert!(Tariff::default().validate().is_ok());
    }
}
