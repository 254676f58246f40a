//! Money, exact: kopecks as integers. Call costs, SMS prices and every sum of them are kept
//! and added as whole kopecks, never as binary fractions of roubles (which printed
//! `1.3599999999999999`); the API shows them as roubles with at most two decimals (`1.36`),
//! CSV exports as `1,36`. Pure.
use serde::{Serialize, Serializer};

/// An amount of money in kopecks (1/100 rouble).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kopecks(pub i64);

impl Kopecks {
    pub const ZERO: Kopecks = Kopecks(0);

    /// Roubles given as a float (a tariff's price times a count), rounded to the kopeck.
    pub fn from_rubles(r: f64) -> Self {
        if r.is_finite() {
            Kopecks((r * 100.0).round() as i64)
        } else {
            Kopecks(0)
        }
    }

    /// Roubles written as a decimal (`"4.1"`, `"4,10"`, `"12"`, `"-0.5"`), read exactly;
    /// fractions of a kopeck are rounded half away from zero. `None` when it is not a number.
    pub fn parse_rubles(text: &str) -> Option<Self> {
        let t = text.trim().replace(',', ".");
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, t),
        };
        let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let rub: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut digits = frac.chars().map(|c| i64::from(c as u8 - b'0'));
        let tens = digits.next().unwrap_or(0);
        let ones = digits.next().unwrap_or(0);
        let round_up = digits.next().is_some_and(|d| d >= 5);
        let kop = rub
            .checked_mul(100)?
            .checked_add(tens * 10 + ones + i64::from(round_up))?;
        Some(Kopecks(if neg { -kop } else { kop }))
    }

    /// In roubles, for JSON and spreadsheets: the nearest double to the exact decimal, which
    /// prints as that decimal (`136` kopecks → `1.36`).
    pub fn rubles(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// `1.36`, `12.00`, `-0.05`.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl std::ops::Add for Kopecks {
    type Output = Kopecks;
    fn add(self, o: Kopecks) -> Kopecks {
        Kopecks(self.0.saturating_add(o.0))
    }
}

impl std::ops::AddAssign for Kopecks {
    fn add_assign(&mut self, o: Kopecks) {
        *self = *self + o;
    }
}

impl std::iter::Sum for Kopecks {
    fn sum<I: Iterator<Item = Kopecks>>(it: I) -> Kopecks {
        it.fold(Kopecks::ZERO, |a, b| a + b)
    }
}

impl std::fmt::Display for Kopecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.decimal())
    }
}

/// As a JSON number of roubles (`1.36`).
impl Serialize for Kopecks {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.rubles())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_of_kopecks_print_as_the_decimal_they_are() {
        let total: Kopecks = [Kopecks(12), Kopecks(124)].into_iter().sum();
        assert_eq!(serde_json::to_string(&total).unwrap(), "1.36");
        // The float way printed 1.3599999999999999 for the same two call costs.
        assert_eq!(format!("{}", 0.12_f64 + 1.24_f64), "1.3599999999999999");
        let many: Kopecks = (0..1000).map(|_| Kopecks(4)).sum();
        assert_eq!(serde_json::to_string(&many).unwrap(), "40.0");
        assert_eq!(many.decimal(), "40.00");
        assert_eq!(Kopecks(-5).decimal(), "-0.05");
    }

    #[test]
    fn roubles_in_text_are_read_exactly() {
        assert_eq!(Kopecks::parse_rubles("4.1"), Some(Kopecks(410)));
        assert_eq!(Kopecks::parse_rubles(" 4,10 "), Some(Kopecks(410)));
        assert_eq!(Kopecks::parse_rubles("12"), Some(Kopecks(1200)));
        assert_eq!(Kopecks::parse_rubles("0.035"), Some(Kopecks(4)));
        assert_eq!(Kopecks::parse_rubles("0.034"), Some(Kopecks(3)));
        assert_eq!(Kopecks::parse_rubles("-0.5"), Some(Kopecks(-50)));
        assert_eq!(Kopecks::parse_rubles(".5"), Some(Kopecks(50)));
        for bad in ["", "abc", "1.2.3", "1e3", "-", "."] {
            assert_eq!(Kopecks::parse_rubles(bad), None, "{bad:?}");
        }
        assert_eq!(Kopecks::from_rubles(0.04 * 11.0), Kopecks(44));
    }
}
