//! Working schedules (docs/campaigns.md "Status and schedule"): days of week × time intervals in
//! the project's time zone, intervals may cross midnight; the callee's own local time must be
//! inside the same window where their time zone is known. Pure: the time is passed in.
use crate::phone::NumberKind;
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One interval on some days: `start`–`end` as minutes after midnight; `end <= start` crosses
/// midnight (the part after midnight belongs to the day it started on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Monday first.
    pub days: [bool; 7],
    pub start_min: u16,
    pub end_min: u16,
}

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("time zone {0:?} is not an IANA zone (e.g. Europe/Moscow)")]
    Zone(String),
    #[error("interval {0:?}: expected HH:MM-HH:MM")]
    Interval(String),
    #[error("days {0:?}: expected e.g. mon-fri, sat, sun")]
    Days(String),
    #[error("number type {0:?}: one of mobile, work, home, other")]
    NumberType(String),
    #[error("number type {0:?} has no windows: give it at least one or leave it out")]
    NoTypeWindows(String),
    #[error("the schedule has no windows: the project could never dial (give e.g. \"mon-fri 09:00-21:00\")")]
    NoWindows,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Window {
    /// Parses `"mon-fri 09:00-21:00"`, `"sat,sun 10:00-18:00"`, `"daily 22:00-02:00"`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let (days_s, times) = s
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| ScheduleError::Interval(s.to_string()))?;
        let mut days = [false; 7];
        if days_s.eq_ignore_ascii_case("daily") {
            days = [true; 7];
        } else {
            for part in days_s.split(',') {
                let idx = |d: &str| {
                    DAYS.iter()
                        .position(|x| x.eq_ignore_ascii_case(d.trim()))
                        .ok_or_else(|| ScheduleError::Days(days_s.to_string()))
                };
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (idx(a)?, idx(b)?);
                        let mut i = a;
                        loop {
                            days[i] = true;
                            if i == b {
                                break;
                            }
                            i = (i + 1) % 7;
                        }
                    }
                    None => days[idx(part)?] = true,
                }
            }
        }
        let bad = || ScheduleError::Interval(times.to_string());
        let (a, b) = times.trim().split_once('-').ok_or_else(bad)?;
        let hm = |t: &str| -> Result<u16, ScheduleError> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        Ok(Window {
            days,
            start_min: hm(a)?,
            end_min: hm(b)? % (24 * 60),
        })
    }

    /// Whether local time (weekday Monday = 0, minute of day) is inside.
    fn contains(&self, weekday: usize, minute: u16) -> bool {
        if self.start_min < self.end_min {
            self.days[weekday] && (self.start_min..self.end_min).contains(&minute)
        } else {
            // Crosses midnight (or spans the whole day when start == end).
            let yesterday = (weekday + 6) % 7;
            (self.days[weekday] && minute >= self.start_min)
                || (self.days[yesterday] && minute < self.end_min)
        }
    }
}

/// A project's working schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub tz: Tz,
    pub windows: Vec<Window>,
}

impl Schedule {
    /// A schedule in `tz` (IANA name) from window texts.
    pub fn new(tz: &str, windows: &[&str]) -> Result<Self, ScheduleError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| ScheduleError::Zone(tz.to_string()))?;
        if windows.is_empty() {
            return Err(ScheduleError::NoWindows);
        }
        let windows = windows
            .iter()
            .map(|w| Window::parse(w))
            .collect::<Result<_, _>>()?;
        Ok(Self { tz, windows })
    }

    /// Whether `now` is inside the schedule in the project's zone.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.is_open_in(now, self.tz)
    }

    /// Whether `now`, read in `tz`, is inside one of the windows.
    pub fn is_open_in(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        windows_open(&self.windows, now, tz)
    }

    /// The first moment at or after `from` when the windows, read in `tz`, are open; `None`
    /// when they never open in the next `LOOKAHEAD_DAYS` (a schedule without windows).
    pub fn next_open_in(&self, from: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        first_open(from, &[(&self.windows, tz)])
    }

    /// The first moment at or after `from` when the schedule is open in its own zone and, if
    /// given, in the callee's zone too; `None` when the two never overlap in the next
    /// `LOOKAHEAD_DAYS` (e.g. a one-hour window and a callee seven hours away).
    pub fn next_open_both(&self, from: DateTime<Utc>, callee: Option<Tz>) -> Option<DateTime<Utc>> {
        let mut all = vec![(&self.windows[..], self.tz)];
        all.extend(callee.map(|tz| (&self.windows[..], tz)));
        first_open(from, &all)
    }
}

/// Whether `now`, read in `tz`, is inside one of `windows`.
pub fn windows_open(windows: &[Window], now: DateTime<Utc>, tz: Tz) -> bool {
    let local = now.with_timezone(&tz);
    let weekday = local.weekday().num_days_from_monday() as usize;
    let minute = (local.hour() * 60 + local.minute()) as u16;
    windows.iter().any(|w| w.contains(weekday, minute))
}

/// The earliest moment ≥ `from` at which every constraint (a set of windows read in a zone)
/// is open; `None` when that never happens in the next `LOOKAHEAD_DAYS`. Windows open on whole
/// minutes of their zone, and an intersection of windows opens where one of them starts, so
/// the candidates are `from` and every window start of every constraint.
pub fn first_open(from: DateTime<Utc>, all: &[(&[Window], Tz)]) -> Option<DateTime<Utc>> {
    let open = |t: DateTime<Utc>| all.iter().all(|(w, tz)| windows_open(w, t, *tz));
    if open(from) {
        return Some(from);
    }
    let mut candidates = Vec::new();
    for (windows, tz) in all {
        let first_day = from.with_timezone(tz).date_naive() - chrono::Days::new(1);
        for offset in 0..=LOOKAHEAD_DAYS + 1 {
            let day = first_day + chrono::Days::new(offset);
            let weekday = day.weekday().num_days_from_monday() as usize;
            for w in windows.iter().filter(|w| w.days[weekday]) {
                let Some(naive) =
                    day.and_hms_opt(u32::from(w.start_min / 60), u32::from(w.start_min % 60), 0)
                else {
                    continue;
                };
                // A start inside a daylight-saving gap opens when the gap ends.
                let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
                    tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                        .earliest()
                });
                if let Some(t) = local.map(|l| l.with_timezone(&Utc)) {
                    if t > from {
                        candidates.push(t);
                    }
                }
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    candidates.into_iter().find(|&t| open(t))
}

/// Windows per number type (docs/campaigns.md, "Windows per number type"): for each type the
/// project names, the intervals its numbers may be called in, read in the callee's local time
/// (the project's zone when the callee's is unknown); inside the project's schedule as well.
/// Types the project does not name follow the schedule alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeWindows(pub std::collections::BTreeMap<NumberKind, Vec<Window>>);

impl TypeWindows {
    /// From the project's texts: `{"work": ["mon-fri 09:00-12:00", "mon-fri 14:00-18:00"]}`.
    pub fn parse(
        texts: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Result<Self, ScheduleError> {
        let mut out = std::collections::BTreeMap::new();
        for (kind, windows) in texts {
            let k: NumberKind = kind
                .parse()
                .map_err(|_| ScheduleError::NumberType(kind.clone()))?;
            if windows.is_empty() {
                return Err(ScheduleError::NoTypeWindows(kind.clone()));
            }
            let ws = windows
                .iter()
                .map(|w| Window::parse(w))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(k, ws);
        }
        Ok(Self(out))
    }

    /// The windows of one type, if the project gives it any.
    pub fn of(&self, kind: NumberKind) -> Option<&[Window]> {
        self.0.get(&kind).map(Vec::as_slice)
    }
}

/// How far ahead openings are looked for: every weekly schedule opens within a week.
pub const LOOKAHEAD_DAYS: u64 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn windows_in_the_project_zone() {
        let s = Schedule::new("Europe/Moscow", &["mon-fri 09:00-21:00"]).unwrap();
        // 2026-11-30 is a Monday. 06:00 UTC = 09:00 MSK.
        assert!(s.is_open(utc(2026, 11, 30, 6, 0)));
        assert!(!s.is_open(utc(2026, 11, 30, 5, 59)));
        assert!(!s.is_open(utc(2026, 11, 30, 18, 0)), "21:00 MSK is closed");
        // Saturday.
        assert!(!s.is_open(utc(2026, 11, 28, 10, 0)));
    }

    #[test]
    fn a_window_crossing_midnight_belongs_to_the_day_it_starts() {
        let s = Schedule::new("Europe/Moscow", &["fri 22:00-02:00"]).unwrap();
        // Friday 2026-12-04 23:00 MSK = 20:00 UTC; Saturday 01:30 MSK = Fri 22:30 UTC.
        assert!(s.is_open(utc(2026, 12, 4, 20, 0)));
        assert!(s.is_open(utc(2026, 12, 4, 22, 30)));
        // Saturday 02:00 MSK closed; Thursday night 23:00 not in (starts Friday).
        assert!(!s.is_open(utc(2026, 12, 4, 23, 0)));
        assert!(!s.is_open(utc(2026, 12, 3, 20, 0)));
    }

    #[test]
    fn the_callees_local_time_is_read_in_their_zone() {
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-21:00"]).unwrap();
        let vladivostok: Tz = "Asia/Vladivostok".parse().unwrap();
        // 10:00 MSK = 17:00 in Vladivostok: both open. 15:00 MSK = 22:00 there: callee closed.
        assert!(s.is_open_in(utc(2026, 11, 30, 7, 0), vladivostok));
        assert!(s.is_open(utc(2026, 11, 30, 12, 0)));
        assert!(!s.is_open_in(utc(2026, 11, 30, 12, 0), vladivostok));
    }

    /// The reference the fast search is held to: every minute from `from` on.
    fn minute_scan(
        from: DateTime<Utc>,
        open: impl Fn(DateTime<Utc>) -> bool,
    ) -> Option<DateTime<Utc>> {
        if open(from) {
            return Some(from);
        }
        let start = from.timestamp() / 60 * 60 + 60;
        (0..(LOOKAHEAD_DAYS as i64) * 24 * 60)
            .map(|m| DateTime::from_timestamp(start + m * 60, 0).unwrap())
            .find(|&t| open(t))
    }

    #[test]
    fn openings_are_the_first_open_minute_the_minute_scan_finds() {
        let vlk: Tz = "Asia/Vladivostok".parse().unwrap();
        let kgd: Tz = "Europe/Kaliningrad".parse().unwrap();
        let schedules = [
            Schedule::new(
                "Europe/Moscow",
                &["mon-fri 09:00-21:00", "sat,sun 10:00-20:00"],
            )
            .unwrap(),
            Schedule::new("Europe/Moscow", &["fri 22:00-02:00"]).unwrap(),
            Schedule::new("Asia/Yekaterinburg", &["daily 00:00-24:00"]).unwrap(),
            Schedule::new("Europe/Moscow", &["mon 09:00-10:00"]).unwrap(),
        ];
        // Every 97 minutes over two weeks, for each schedule and callee zone.
        for s in &schedules {
            for step in 0..210 {
                let from = utc(2026, 11, 28, 0, 7) + chrono::Duration::minutes(97 * step);
                for tz in [vlk, kgd, s.tz] {
                    assert_eq!(
                        s.next_open_in(from, tz),
                        minute_scan(from, |t| s.is_open_in(t, tz)),
                        "{s:?} in {tz} from {from}"
                    );
                    assert_eq!(
                        s.next_open_both(from, Some(tz)),
                        minute_scan(from, |t| s.is_open(t) && s.is_open_in(t, tz)),
                        "{s:?} both with {tz} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_callee_whose_window_never_meets_the_schedule_has_no_opening() {
        // 09:00-10:00 Moscow is 16:00-17:00 in Vladivostok: closed there.
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-10:00"]).unwrap();
        let vlk: Tz = "Asia/Vladivostok".parse().unwrap();
        let from = utc(2026, 12, 1, 12, 0);
        assert_eq!(s.next_open_both(from, Some(vlk)), None);
        // The callee's own window alone opens at 09:00 there (02:00 Moscow, 23:00 UTC).
        assert_eq!(s.next_open_in(from, vlk), Some(utc(2026, 12, 1, 23, 0)));
        assert_eq!(s.next_open_both(from, None), Some(utc(2026, 12, 2, 6, 0)));
    }

    #[test]
    fn bad_texts_say_what_is_wrong() {
        assert!(matches!(
            Schedule::new("Mars/Base", &[]),
            Err(ScheduleError::Zone(_))
        ));
        assert!(matches!(
            Window::parse("mon-fry 09:00-10:00"),
            Err(ScheduleError::Days(_))
        ));
        assert!(matches!(
            Window::parse("mon 9-10"),
            Err(ScheduleError::Interval(_))
        ));
        assert!(matches!(
            Window::parse("mon 25:00-10:00"),
            Err(ScheduleError::Interval(_))
        ));
        let w = Window::parse("sat-mon 10:00-24:00").unwrap();
        assert_eq!(w.days, [true, false, false, false, false, true, true]);
        assert_eq!((w.start_min, w.end_min), (600, 0));
    }
}
