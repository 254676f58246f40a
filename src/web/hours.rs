//! The project page's chart of calls and answer rate by hour (docs/users.md, "The project
//! page"): the last 24 hours in the project's time zone, bars for the calls started in each
//! hour, a line with points for the share of them answered. Geometry only, drawn by the
//! `project_figures.html` template (which escapes every text); pure: the hours and the time
//! come in. `HourCache` keeps the hours that are over, so that each update of an open page
//! reads only the hours still open from the store.
use crate::store::HourCalls;
use chrono::TimeZone;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Hours the chart shows.
pub const HOURS: u32 = 24;

/// The plot inside the SVG's `0 0 700 210` box (`project_figures.html`).
const LEFT: f64 = 44.0;
const RIGHT: f64 = 648.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 176.0;
const BAR_SHARE: f64 = 0.7;

/// One hour's bar and point.
pub struct HourBar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// The hour's label under the axis (every other hour), and where.
    pub label: Option<String>,
    pub label_x: String,
    /// The tooltip: «14:00–15:00: звонков 12, ответили 8 (67 %)».
    pub tip: String,
    /// The answer rate's point, for hours with calls.
    pub point: Option<(String, String)>,
}

/// The chart, ready to draw.
pub struct HourChart {
    pub bars: Vec<HourBar>,
    /// The answer-rate line (`x,y x,y …`).
    pub line: String,
    /// The calls axis' top value.
    pub max_calls: u64,
    pub calls: u64,
    pub answered: u64,
    pub zone: String,
}

/// The unix second the chart starts at: the start of the local hour 23 hours before the
/// current one (the current hour is the last bar).
pub fn start(now: i64, zone: &str) -> i64 {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let into_hour = tz
        .timestamp_opt(now, 0)
        .single()
        .map(|t| {
            use chrono::Timelike;
            i64::from(t.minute()) * 60 + i64::from(t.second())
        })
        .unwrap_or_else(|| now.rem_euclid(3600));
    now - into_hour - i64::from(HOURS - 1) * 3600
}

/// An hour's counts are final this long after it ended: a call started in it is answered
/// within the ring timeout, and its answer written at once.
const SETTLE_S: i64 = 600;

/// The counts of hours that are over, per project (one server's: its pages share it).
#[derive(Default)]
pub struct HourCache(Mutex<HashMap<i64, BTreeMap<i64, HourCalls>>>);

impl HourCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i64, BTreeMap<i64, HourCalls>>> {
        // Whole values are inserted and removed: a panic elsewhere cannot leave one half-made.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first hour from `from` whose counts are not kept: the store is asked from there.
    pub fn first_missing(&self, project: i64, from: i64) -> i64 {
        let m = self.map();
        let mut h = from;
        if let Some(kept) = m.get(&project) {
            while h < from + i64::from(HOURS) * 3600 && kept.contains_key(&h) {
                h += 3600;
            }
        }
        h
    }

    /// The chart's hours from `from`: the kept ones, then `fresh` (read from `first`); keeps
    /// the fresh hours that are over by now and forgets those before `from`.
    pub fn merge(
        &self,
        project: i64,
        from: i64,
        first: i64,
        fresh: &[HourCalls],
        now: i64,
    ) -> Vec<HourCalls> {
        let mut m = self.map();
        let kept = m.entry(project).or_default();
        kept.retain(|h, _| *h >= from);
        for (i, h) in fresh.iter().enumerate() {
            let start = first + i as i64 * 3600;
            if start + 3600 + SETTLE_S <= now {
                kept.insert(start, *h);
            }
        }
        (0..i64::from(HOURS))
            .map(|i| {
                let start = from + i * 3600;
                if start >= first {
                    fresh
                        .get(((start - first) / 3600) as usize)
                        .copied()
                        .unwrap_or_default()
                } else {
                    kept.get(&start).copied().unwrap_or_default()
                }
            })
            .collect()
    }
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// Lays `hours` (from `from`, one per hour) out as bars and a line.
pub fn chart(hours: &[HourCalls], from: i64, zone: &str) -> HourChart {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let max = hours.iter().map(|h| h.calls).max().unwrap_or(0).max(1);
    // A round top for the axis: 1, 2, 5, 10, 20, 50 …
    let mut top = 1u64;
    while top < max {
        top = match top.to_string().as_bytes()[0] {
            b'1' => top * 2,
            b'2' => top / 2 * 5,
            _ => top * 2,
        };
    }
    let slot = (RIGHT - LEFT) / hours.len().max(1) as f64;
    let plot_h = BOTTOM - TOP;
    let mut line = Vec::new();
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let at = tz.timestamp_opt(from + i as i64 * 3600, 0).single();
            let hour = at.map(|t| t.format("%H").to_string()).unwrap_or_default();
            let left = LEFT + slot * i as f64;
            let height = plot_h * h.calls as f64 / top as f64;
            let rate = (h.calls > 0).then(|| h.answered as f64 / h.calls as f64);
            let cx = left + slot / 2.0;
            let point = rate.map(|r| (num(cx), num(BOTTOM - plot_h * r)));
            if let Some((x, y)) = &point {
                line.push(format!("{x},{y}"));
            }
            HourBar {
                x: num(left + slot * (1.0 - BAR_SHARE) / 2.0),
                y: num(BOTTOM - height),
                width: num(slot * BAR_SHARE),
                height: num(height),
                label: (i % 2 == 0).then(|| hour.clone()),
                label_x: num(cx),
                tip: match rate {
                    Some(r) => format!(
                        "{hour}:00: звонков {}, ответили {} ({:.0} %)",
                        h.calls,
                        h.answered,
                        r * 100.0
                    ),
                    None => format!("{hour}:00: звонков нет"),
                },
                point,
            }
        })
        .collect();
    HourChart {
        bars,
        line: line.join(" "),
        max_calls: top,
        calls: hours.iter().map(|h| h.calls).sum(),
        answered: hours.iter().map(|h| h.answered).sum(),
        zone: tz.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_ends_with_the_current_local_hour() {
        // 2026-12-01 09:40:05 in Moscow (06:40:05 UTC).
        let now = 1_796_104_800 + 40 * 60 + 5;
        let from = start(now, "Europe/Moscow");
        assert_eq!(from, 1_796_104_800 - 23 * 3600, "10:00 the day before");
        // India is +05:30: local hours start at :30 UTC.
        let from = start(now, "Asia/Kolkata");
        assert_eq!((from - 1800).rem_euclid(3600), 0, "{from}");
    }

    #[test]
    fn hours_that_are_over_are_read_once_and_the_open_ones_each_time() {
        let c = HourCache::default();
        let from = 1_796_104_800 - 23 * 3600;
        let now = 1_796_104_800 + 120; // 2 min into the last hour
        assert_eq!(c.first_missing(7, from), from, "nothing kept yet");
        let all: Vec<HourCalls> = (0..24)
            .map(|i| HourCalls {
                calls: i,
                answered: 0,
            })
            .collect();
        let got = c.merge(7, from, from, &all, now);
        assert_eq!(got, all);
        // The last two hours are not settled yet (the previous one ended 2 min ago).
        assert_eq!(c.first_missing(7, from), from + 22 * 3600);
        assert_eq!(c.first_missing(8, from), from, "per project");
        // The next read brings the two open hours only.
        let fresh = [
            HourCalls {
                calls: 100,
                answered: 50,
            },
            HourCalls {
                calls: 5,
                answered: 1,
            },
        ];
        let got = c.merge(7, from, from + 22 * 3600, &fresh, now + 600);
        assert_eq!(got[21].calls, 21);
        assert_eq!(got[22], fresh[0]);
        assert_eq!(got[23], fresh[1]);
        // An hour later the chart starts an hour later: the oldest kept hour goes.
        let later = from + 3600;
        assert_eq!(
            c.first_missing(7, later),
            later + 22 * 3600,
            "hour 22 settled"
        );
        let got = c.merge(
            7,
            later,
            later + 22 * 3600,
            &[HourCalls::default(); 2],
            now + 3600,
        );
        assert_eq!(got[0].calls, 1);
        assert_eq!(got.len(), 24);
    }

    #[test]
    fn bars_scale_to_a_round_top_and_the_line_joins_the_hours_with_calls() {
        let mut hours = vec![HourCalls::default(); 24];
        hours[0] = HourCalls {
            calls: 7,
            answered: 7,
        };
        hours[23] = HourCalls {
            calls: 14,
            answered: 7,
        };
        let from = 1_796_104_800 - 23 * 3600;
        let c = chart(&hours, from, "Europe/Moscow");
        assert_eq!(c.max_calls, 20);
        assert_eq!((c.calls, c.answered), (21, 14));
        assert_eq!(c.bars.len(), 24);
        assert_eq!(c.bars[0].label.as_deref(), Some("10"));
        assert_eq!(c.bars[1].label, None);
        assert_eq!(c.bars[23].tip, "09:00: звонков 14, ответили 7 (50 %)");
        assert_eq!(c.bars[5].tip, "15:00: звонков нет");
        assert!(c.bars[5].point.is_none());
        // 100 % at the top of the plot, 50 % halfway.
        assert_eq!(c.bars[0].point.as_ref().map(|p| p.1.as_str()), Some("16.0"));
        assert_eq!(
            c.bars[23].point.as_ref().map(|p| p.1.as_str()),
            Some("96.0")
        );
        assert_eq!(c.line.split(' ').count(), 2);
        assert_eq!(c.bars[23].height, "112.0", "14 of 20 of 160 px");
        // No calls at all: an axis of 1 and no line.
        let c = chart(&vec![HourCalls::default(); 24], from, "Europe/Moscow");
        assert_eq!(c.max_calls, 1);
        assert!(c.line.is_empty());
    }
}
