//! The gate a contact's next number waits behind: its callee's zone and its type. A gate is
//! open when the callee's local time is inside the project's schedule and, if the project gives
//! the number's type its own windows, inside those too (read in the callee's zone, or the
//! project's when the callee's is unknown). Contacts of a gate that closes are held together
//! until it opens again (docs/campaigns.md). Pure; gates are stored as text (`key`).
use super::schedule::{first_open, windows_open, Schedule, TypeWindows, Window};
use crate::phone::NumberKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A callee zone (if known) and a number type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub zone: Option<Tz>,
    pub kind: NumberKind,
}

impl Gate {
    /// The stored form: `Asia/Vladivostok|mobile`, `|work` for an unknown zone.
    pub fn key(&self) -> String {
        format!(
            "{}|{}",
            self.zone.map(|z| z.name()).unwrap_or(""),
            self.kind.as_str()
        )
    }

    /// Reads a stored gate; a zone alone (older databases) is a number of type `other`.
    pub fn parse(s: &str) -> Self {
        let (zone, kind) = s.split_once('|').unwrap_or((s, "other"));
        Self {
            zone: zone.parse().ok(),
            kind: kind.parse().unwrap_or(NumberKind::Other),
        }
    }

    /// The callee-side constraints: the schedule's windows in the callee's zone (when known),
    /// and the type's windows (when the project gives any).
    fn constraints<'a>(
        &self,
        schedule: &'a Schedule,
        types: Option<&'a TypeWindows>,
    ) -> Vec<(&'a [Window], Tz)> {
        let mut all = Vec::with_capacity(2);
        if let Some(tz) = self.zone {
            all.push((&schedule.windows[..], tz));
        }
        if let Some(w) = types.and_then(|t| t.of(self.kind)) {
            all.push((w, self.zone.unwrap_or(schedule.tz)));
        }
        all
    }

    /// Whether nothing on the callee's side ever holds this gate.
    pub fn always_open(&self, schedule: &Schedule, types: Option<&TypeWindows>) -> bool {
        self.constraints(schedule, types).is_empty()
    }

    /// Whether the callee's side is open at `now`.
    pub fn is_open(
        &self,
        now: DateTime<Utc>,
        schedule: &Schedule,
        types: Option<&TypeWindows>,
    ) -> bool {
        self.constraints(schedule, types)
            .iter()
            .all(|(w, tz)| windows_open(w, now, *tz))
    }

    /// When the callee's side next opens at or after `from` (`None`: never within a week).
    pub fn next_open(
        &self,
        from: DateTime<Utc>,
        schedule: &Schedule,
        types: Option<&TypeWindows>,
    ) -> Option<DateTime<Utc>> {
        first_open(from, &self.constraints(schedule, types))
    }

    /// Whether the callee's side is ever open while the project's schedule is, within a week.
    pub fn ever_open_with_project(
        &self,
        from: DateTime<Utc>,
        schedule: &Schedule,
        types: Option<&TypeWindows>,
    ) -> bool {
        let mut all = self.constraints(schedule, types);
        all.push((&schedule.windows[..], schedule.tz));
        first_open(from, &all).is_some()
    }

    /// The decision log's words for holding this gate until `open`.
    pub fn held_until(
        &self,
        open: DateTime<Utc>,
        schedule: &Schedule,
        types: Option<&TypeWindows>,
    ) -> String {
        let tz = self.zone.unwrap_or(schedule.tz);
        let why = match (self.zone, types.and_then(|t| t.of(self.kind))) {
            (_, Some(_)) => format!("outside the windows for {} numbers", self.kind.as_str()),
            _ => "outside the window in the callee's zone".to_string(),
        };
        format!(
            "held until {} {}: {why}",
            open.with_timezone(&tz).format("%d.%m %H:%M"),
            tz.name()
        )
    }

    /// Why a contact of this gate can never be called.
    pub fn never_reason(&self, schedule: &Schedule) -> String {
        format!(
            "the schedule is never open while the callee's local time ({}) is inside the windows for {} numbers",
            self.zone.unwrap_or(schedule.tz).name(),
            self.kind.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn msk(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Moscow
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn types() -> TypeWindows {
        let mut t = BTreeMap::new();
        t.insert(
            "work".to_string(),
            vec![
                "mon-fri 09:00-12:00".to_string(),
                "mon-fri 14:00-18:00".to_string(),
            ],
        );
        t.insert("home".to_string(), vec!["daily 20:00-21:30".to_string()]);
        TypeWindows::parse(&t).unwrap()
    }

    #[test]
    fn gates_keep_their_zone_and_type_and_older_ones_read_as_other() {
        let g = Gate {
            zone: Some(chrono_tz::Asia::Vladivostok),
            kind: NumberKind::Work,
        };
        assert_eq!(g.key(), "Asia/Vladivostok|work");
        assert_eq!(Gate::parse(&g.key()), g);
        assert_eq!(
            Gate::parse("Asia/Vladivostok"),
            Gate {
                zone: Some(chrono_tz::Asia::Vladivostok),
                kind: NumberKind::Other
            }
        );
        assert_eq!(Gate::parse("").zone, None);
    }

    #[test]
    fn a_work_number_waits_out_the_lunch_break_and_a_home_number_the_evening() {
        let s = Schedule::new("Europe/Moscow", &["daily 08:00-22:00"]).unwrap();
        let t = types();
        let work = Gate {
            zone: None,
            kind: NumberKind::Work,
        };
        // Tuesday 1 December 2026, 12:30 Moscow: the work lunch break.
        assert!(!work.is_open(msk(1, 12, 30), &s, Some(&t)));
        assert_eq!(
            work.next_open(msk(1, 12, 30), &s, Some(&t)),
            Some(msk(1, 14, 0))
        );
        assert!(work.is_open(msk(1, 14, 0), &s, Some(&t)));
        let home = Gate {
            zone: None,
            kind: NumberKind::Home,
        };
        assert_eq!(
            home.next_open(msk(1, 12, 30), &s, Some(&t)),
            Some(msk(1, 20, 0))
        );
        assert_eq!(
            home.held_until(msk(1, 20, 0), &s, Some(&t)),
            "held until 01.12 20:00 Europe/Moscow: outside the windows for home numbers"
        );
        // Mobile numbers have no windows of their own here: only the schedule applies.
        let mobile = Gate {
            zone: None,
            kind: NumberKind::Mobile,
        };
        assert!(mobile.always_open(&s, Some(&t)));
        // Saturday: work numbers wait for Monday 09:00.
        assert_eq!(
            work.next_open(msk(5, 10, 0), &s, Some(&t)),
            Some(msk(7, 9, 0))
        );
    }

    #[test]
    fn type_windows_are_read_in_the_callees_zone() {
        let s = Schedule::new("Europe/Moscow", &["daily 00:00-24:00"]).unwrap();
        let t = types();
        let far_home = Gate {
            zone: Some(chrono_tz::Asia::Vladivostok),
            kind: NumberKind::Home,
        };
        // 20:00 in Vladivostok is 13:00 in Moscow.
        assert!(far_home.is_open(msk(1, 13, 0), &s, Some(&t)));
        assert!(!far_home.is_open(msk(1, 20, 0), &s, Some(&t)));
    }
}
