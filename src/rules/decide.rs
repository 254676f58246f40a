//! The dialer's other decisions (docs/campaigns.md), pure: whether a project may dial now, whether
//! a number may be dialed now, how free lines are shared between projects, the five-active-
//! projects rule, and the order contacts are taken in. Every "no" carries its reason for the
//! decision log.
use super::attempts::ContactStatus;
use super::schedule::Schedule;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// At most this many projects may be active at once.
pub const MAX_ACTIVE_PROJECTS: usize = 5;

/// A project's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Draft,
    Active,
    Paused,
    Finished,
}

/// Why something is not dialed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The project is not active (paused, draft, finished).
    NotActive(ProjectStatus),
    /// Outside the project's schedule.
    OutsideSchedule,
    /// Outside the window in the callee's own time zone.
    OutsideCalleeWindow(Tz),
    /// On the stop list.
    StopListed,
    /// Not before this time (retry interval).
    NotDue(i64),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::NotActive(s) => write!(f, "project is {s:?}, not active"),
            Skip::OutsideSchedule => write!(f, "outside the project's schedule"),
            Skip::OutsideCalleeWindow(tz) => {
                write!(f, "outside the window in the callee's zone {tz}")
            }
            Skip::StopListed => write!(f, "number is on the stop list"),
            Skip::NotDue(t) => write!(f, "retry interval: not before {t}"),
        }
    }
}

/// Whether a project dials at all now: active AND inside its schedule.
pub fn project_may_dial(
    status: ProjectStatus,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), Skip> {
    if status != ProjectStatus::Active {
        return Err(Skip::NotActive(status));
    }
    if !schedule.is_open(now) {
        return Err(Skip::OutsideSchedule);
    }
    Ok(())
}

/// Whether one number may be dialed now (the project already may dial).
pub fn number_may_dial(
    schedule: &Schedule,
    callee_tz: Option<Tz>,
    stop_listed: bool,
    not_before: i64,
    now: DateTime<Utc>,
) -> Result<(), Skip> {
    if stop_listed {
        return Err(Skip::StopListed);
    }
    if now.timestamp() < not_before {
        return Err(Skip::NotDue(not_before));
    }
    if let Some(tz) = callee_tz {
        if !schedule.is_open_in(now, tz) {
            return Err(Skip::OutsideCalleeWindow(tz));
        }
    }
    Ok(())
}

/// Activating `name` while `active` are active: refused with the five names when full.
pub fn check_activation(active: &[String], name: &str) -> Result<(), Vec<String>> {
    if active.iter().any(|a| a == name) || active.len() < MAX_ACTIVE_PROJECTS {
        Ok(())
    } else {
        Err(active.to_vec())
    }
}

/// One project's demand for lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    pub project: i64,
    /// The project's own line limit.
    pub lines: u32,
    /// Its calls up now.
    pub active: u32,
    /// Contacts due now that it could dial.
    pub due: u32,
}

/// Shares `trunk_free` lines between projects fairly: one line at a time to the project with
/// the fewest calls up (then the lowest id), never above a project's limit or its due count.
pub fn allocate(demands: &[Demand], trunk_free: u32) -> Vec<(i64, u32)> {
    let mut given: Vec<u32> = vec![0; demands.len()];
    for _ in 0..trunk_free {
        let pick = demands
            .iter()
            .enumerate()
            .filter(|(i, d)| d.active + given[*i] < d.lines && given[*i] < d.due)
            .min_by_key(|(i, d)| (d.active + given[*i], d.project));
        match pick {
            Some((i, _)) => given[i] += 1,
            None => break,
        }
    }
    demands
        .iter()
        .zip(given)
        .filter(|(_, g)| *g > 0)
        .map(|(d, g)| (d.project, g))
        .collect()
}

/// Ways to order the contacts due (a project's list, applied in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    NewFirst,
    RetriesFirst,
    Priority,
    OldestFirst,
    NewestFirst,
    FewestAttempts,
}

/// What ordering looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub contact: i64,
    pub status: ContactStatus,
    /// Higher first.
    pub priority: i32,
    /// Import order.
    pub seq: i64,
    pub attempts: u32,
}

/// Sorts candidates by the project's ordering (ties: import order).
pub fn order(cands: &mut [Candidate], by: &[OrderBy]) {
    cands.sort_by(|a, b| {
        for o in by {
            let c = match o {
                OrderBy::NewFirst => is_retry(a).cmp(&is_retry(b)),
                OrderBy::RetriesFirst => is_retry(b).cmp(&is_retry(a)),
                OrderBy::Priority => b.priority.cmp(&a.priority),
                OrderBy::OldestFirst => a.seq.cmp(&b.seq),
                OrderBy::NewestFirst => b.seq.cmp(&a.seq),
                OrderBy::FewestAttempts => a.attempts.cmp(&b.attempts),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        a.seq.cmp(&b.seq)
    });
}

fn is_retry(c: &Candidate) -> bool {
    c.status == ContactStatus::Retry
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        // Monday 2026-11-30, h:00 UTC (= h+3 MSK).
        Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0).unwrap()
    }

    #[test]
    fn paused_never_dials_and_outside_the_schedule_nothing_dials() {
        let s = Schedule::new("Europe/Moscow", &["mon-fri 09:00-21:00"]).unwrap();
        assert_eq!(project_may_dial(ProjectStatus::Active, &s, at(8)), Ok(()));
        assert_eq!(
            project_may_dial(ProjectStatus::Paused, &s, at(8)),
            Err(Skip::NotActive(ProjectStatus::Paused))
        );
        assert_eq!(
            project_may_dial(ProjectStatus::Active, &s, at(19)),
            Err(Skip::OutsideSchedule)
        );
        assert_eq!(
            project_may_dial(ProjectStatus::Paused, &s, at(19)),
            Err(Skip::NotActive(ProjectStatus::Paused))
        );
    }

    #[test]
    fn a_number_waits_for_its_zone_its_interval_and_the_stop_list() {
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-21:00"]).unwrap();
        let vlk: Tz = "Asia/Vladivostok".parse().unwrap();
        let now = at(12); // 15:00 MSK, 22:00 in Vladivostok
        assert_eq!(number_may_dial(&s, None, false, 0, now), Ok(()));
        assert_eq!(
            number_may_dial(&s, Some(vlk), false, 0, now),
            Err(Skip::OutsideCalleeWindow(vlk))
        );
        assert_eq!(
            number_may_dial(&s, None, true, 0, now),
            Err(Skip::StopListed)
        );
        let later = now.timestamp() + 60;
        assert_eq!(
            number_may_dial(&s, None, false, later, now),
            Err(Skip::NotDue(later))
        );
    }

    #[test]
    fn the_sixth_active_project_is_refused_with_the_five_names() {
        let five: Vec<String> = (1..=5).map(|i| format!("P{i}")).collect();
        assert_eq!(check_activation(&five[..4], "P5"), Ok(()));
        assert_eq!(check_activation(&five, "P3"), Ok(()), "already active");
        assert_eq!(check_activation(&five, "P6"), Err(five.clone()));
    }

    #[test]
    fn lines_are_shared_fairly_within_each_limit() {
        let d = |project, lines, active, due| Demand {
            project,
            lines,
            active,
            due,
        };
        // 10 free trunk lines, three hungry projects: 4/3/3.
        let a = allocate(&[d(1, 10, 0, 100), d(2, 10, 0, 100), d(3, 10, 0, 100)], 10);
        assert_eq!(a, vec![(1, 4), (2, 3), (3, 3)]);
        // A project already busy gets less; limits and due counts cap.
        let a = allocate(&[d(1, 10, 6, 100), d(2, 2, 0, 100), d(3, 10, 0, 1)], 10);
        assert_eq!(a, vec![(1, 4), (2, 2), (3, 1)]);
        // Trunk full: nothing.
        assert!(allocate(&[d(1, 10, 0, 5)], 0).is_empty());
    }

    #[test]
    fn ordering_options_apply_in_turn() {
        let c = |contact, status, priority, seq, attempts| Candidate {
            contact,
            status,
            priority,
            seq,
            attempts,
        };
        let base = vec![
            c(1, ContactStatus::Retry, 0, 1, 1),
            c(2, ContactStatus::NotCalled, 5, 2, 0),
            c(3, ContactStatus::NotCalled, 0, 3, 0),
            c(4, ContactStatus::Retry, 9, 4, 2),
        ];
        let ids = |by: &[OrderBy]| {
            let mut v = base.clone();
            order(&mut v, by);
            v.iter().map(|c| c.contact).collect::<Vec<_>>()
        };
        assert_eq!(ids(&[OrderBy::NewFirst]), [2, 3, 1, 4]);
        assert_eq!(
            ids(&[OrderBy::RetriesFirst, OrderBy::Priority]),
            [4, 1, 2, 3]
        );
        assert_eq!(ids(&[OrderBy::NewestFirst]), [4, 3, 2, 1]);
        assert_eq!(
            ids(&[OrderBy::FewestAttempts, OrderBy::Priority]),
            [2, 3, 1, 4]
        );
    }
}
