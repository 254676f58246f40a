//! Working schedules (spec §2 "Status and schedule"): days of week × time intervals in the
//! project's time zone, intervals may cross midnight; the callee's own local time must be
//! inside the same window where their time zone is known. Pure: the time is passed in.
use chrono::{DateTime, Datelike, Timelike, Utc};
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
        let local = now.with_timezone(&tz);
        let weekday = local.weekday().num_days_from_monday() as usize;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.windows.iter().any(|w| w.contains(weekday, minute))
    }
}

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
