//! What a contact does next, decided once whenever its state changes (imported, a call ended,
//! a number went on the stop list) and stored with it, so that the store can answer "the next
//! N callable contacts now, in the project's order" by walking one index — never by reading a
//! window of contacts and filtering it (docs/campaigns.md, "How the dialer picks").
//!
//! Pure: the contact's attempts, facts about its numbers (callee zone, stop list), the
//! project's rules, schedule and ordering, and the time are passed in; the answer is a
//! [`Plan`]: the status, which number is next, from when, the gate it waits behind (the
//! callee's zone) and the ordering key ([`pick_key`]), plus the notes for the decision log.
use super::attempts::{AttemptRules, ContactAttempts, ContactStatus, Outcome, StopReason};
use super::decide::OrderBy;
use super::gate::Gate;
use super::schedule::{Schedule, TypeWindows};
use crate::phone::NumberKind;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// What the planner needs to know about one of a contact's numbers.
#[derive(Debug, Clone, Copy)]
pub struct NumberFacts<'a> {
    pub e164: &'a str,
    /// The callee's zone where known.
    pub zone: Option<Tz>,
    /// What the number is for (its windows may differ).
    pub kind: NumberKind,
    pub stop_listed: bool,
}

/// The number a contact is dialed on next, and from when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextNumber {
    /// Index among the contact's numbers.
    pub idx: usize,
    /// Unix seconds before which it is not dialed (retry interval, the callee's window).
    pub not_before: i64,
    /// The gate it waits behind (`Gate::key`: the callee's zone and the number's type).
    /// Contacts of a gate whose windows close are held together until they open again.
    pub gate: String,
}

/// A contact's next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub status: ContactStatus,
    /// `None` once the contact is closed (reached or not reached).
    pub next: Option<NextNumber>,
    /// Where the contact stands in its project's order among the callable ones.
    pub pick_key: Vec<u8>,
    /// Lines for the decision log: `(decision, reason)`.
    pub notes: Vec<(&'static str, String)>,
}

/// The project-side facts of planning.
#[derive(Debug, Clone, Copy)]
pub struct ProjectFacts<'a> {
    pub rules: &'a AttemptRules,
    /// `None`: no callee window is applied (the schedule does not parse; logged elsewhere).
    pub schedule: Option<&'a Schedule>,
    /// Windows per number type, when the project gives any.
    pub types: Option<&'a TypeWindows>,
    pub ordering: &'a [OrderBy],
}

/// The contact-side facts that order contacts.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts {
    pub seq: i64,
    pub priority: i32,
}

/// Plans a contact's next call at `now` (unix s): skips (and stops) numbers on the stop list,
/// closes the contact when no number is left or when the schedule never meets the callee's
/// window, and delays the next call to the opening of the callee's window.
pub fn plan(
    attempts: &mut ContactAttempts,
    numbers: &[NumberFacts<'_>],
    project: ProjectFacts<'_>,
    order: OrderFacts,
    now: i64,
) -> Plan {
    let mut notes = Vec::new();
    let next = loop {
        let Some(n) = attempts.next(project.rules) else {
            break None;
        };
        let Some(facts) = numbers.get(n.number) else {
            // The state names a number the contact does not have: nothing to dial.
            attempts.status = ContactStatus::NotReached;
            notes.push((
                "close",
                "not reached: the contact has no such number".into(),
            ));
            break None;
        };
        if facts.stop_listed {
            let outcome = attempts.block(n.number);
            notes.push(match outcome {
                Some(Outcome::NotReached { .. }) => (
                    "close",
                    format!(
                        "not reached: {} is on the stop list and no number is left",
                        facts.e164
                    ),
                ),
                _ => (
                    "skip",
                    format!(
                        "{} is on the stop list: its other numbers go on",
                        facts.e164
                    ),
                ),
            });
            continue;
        }
        let mut not_before = n.not_before.max(0);
        let gate = Gate {
            zone: facts.zone,
            kind: facts.kind,
        };
        if let Some(schedule) = project.schedule {
            let types = project.types;
            if !gate.always_open(schedule, types) {
                let from = at(not_before.max(now));
                if !gate.ever_open_with_project(from, schedule, types) {
                    // Dialing this number could never happen: it stops, and the contact's
                    // other numbers go on (closed when none is left).
                    let why = match (facts.zone, types.and_then(|t| t.of(facts.kind))) {
                        (Some(tz), None) => {
                            StopReason::NeverInWindow(tz.name().to_string()).to_string()
                        }
                        _ => gate.never_reason(schedule),
                    };
                    let reason = StopReason::NeverInWindow(
                        facts
                            .zone
                            .map_or_else(|| "?".into(), |z| z.name().to_string()),
                    );
                    match attempts.stop_number(n.number, reason) {
                        Some(Outcome::NumberDone { .. }) => {
                            notes.push((
                                "skip",
                                format!("{}: {why}; its other numbers go on", facts.e164),
                            ));
                            continue;
                        }
                        _ => {
                            attempts.status = ContactStatus::NotReached;
                            notes.push(("close", format!("not reached: {why}")));
                            break None;
                        }
                    }
                }
                if let Some(open) = gate.next_open(from, schedule, types) {
                    if open > from {
                        not_before = open.timestamp();
                        notes.push(("hold", gate.held_until(open, schedule, types)));
                    }
                }
            }
        }
        break Some(NextNumber {
            idx: n.number,
            not_before,
            gate: gate.key(),
        });
    };
    if next.is_none() && !matches!(attempts.status, ContactStatus::Reached) {
        attempts.status = ContactStatus::NotReached;
    }
    Plan {
        status: attempts.status,
        pick_key: pick_key(
            project.ordering,
            attempts.status,
            order.priority,
            order.seq,
            attempts.calls(),
        ),
        next,
        notes,
    }
}

/// The plan of a contact closed for `why` (a decision-log line with it).
pub fn closed(
    attempts: &ContactAttempts,
    project: ProjectFacts<'_>,
    order: OrderFacts,
    why: &str,
) -> Plan {
    Plan {
        status: attempts.status,
        next: None,
        pick_key: pick_key(
            project.ordering,
            attempts.status,
            order.priority,
            order.seq,
            attempts.calls(),
        ),
        notes: vec![("close", why.to_string())],
    }
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// The ordering key of a contact: byte strings that sort (as SQLite sorts BLOBs, bytewise)
/// exactly as `decide::order` sorts candidates for the same ordering list, the import order
/// breaking ties. Each option adds a fixed-width, order-preserving big-endian field.
pub fn pick_key(
    ordering: &[OrderBy],
    status: ContactStatus,
    priority: i32,
    seq: i64,
    attempts: u32,
) -> Vec<u8> {
    let mut k = Vec::with_capacity(ordering.len() * 8 + 8);
    let retry = status == ContactStatus::Retry;
    for o in ordering {
        match o {
            OrderBy::NewFirst => k.push(u8::from(retry)),
            OrderBy::RetriesFirst => k.push(u8::from(!retry)),
            // Higher first: the complement of the sign-flipped value.
            OrderBy::Priority => k.extend((!((priority as u32) ^ 0x8000_0000)).to_be_bytes()),
            OrderBy::OldestFirst => k.extend(ordered_i64(seq).to_be_bytes()),
            OrderBy::NewestFirst => k.extend((!ordered_i64(seq)).to_be_bytes()),
            OrderBy::FewestAttempts => k.extend(attempts.to_be_bytes()),
        }
    }
    k.extend(ordered_i64(seq).to_be_bytes());
    k
}

/// An i64 as a u64 that sorts the same way.
fn ordered_i64(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::decide::{order, Candidate};
    use chrono::TimeZone;

    #[test]
    fn the_key_sorts_exactly_as_the_ordering_rules_do() {
        let statuses = [ContactStatus::NotCalled, ContactStatus::Retry];
        let mut cands = Vec::new();
        let mut seed = 7u64;
        for i in 0..300 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            cands.push(Candidate {
                contact: i,
                status: statuses[(seed >> 60) as usize % 2],
                priority: ((seed >> 20) % 7) as i32 - 3
                    + if i % 50 == 0 { i32::MIN / 2 } else { 0 },
                seq: ((seed >> 33) % 1000) as i64 * 1000 + i,
                attempts: ((seed >> 45) % 4) as u32,
            });
        }
        use OrderBy::*;
        let orderings: [&[OrderBy]; 8] = [
            &[NewFirst, Priority, OldestFirst],
            &[RetriesFirst, Priority],
            &[Priority],
            &[NewestFirst],
            &[OldestFirst],
            &[FewestAttempts, Priority],
            &[RetriesFirst, FewestAttempts, NewestFirst],
            &[],
        ];
        for by in orderings {
            let mut want = cands.clone();
            order(&mut want, by);
            let mut got = cands.clone();
            got.sort_by_key(|c| pick_key(by, c.status, c.priority, c.seq, c.attempts));
            let ids = |v: &[Candidate]| v.iter().map(|c| c.contact).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "{by:?}");
        }
    }

    fn rules() -> AttemptRules {
        AttemptRules::default()
    }

    fn msk(h: u32, m: u32) -> i64 {
        chrono_tz::Europe::Moscow
            .with_ymd_and_hms(2026, 12, 1, h, m, 0)
            .unwrap()
            .timestamp()
    }

    #[test]
    fn a_far_callee_is_held_until_their_window_opens() {
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-21:00"]).unwrap();
        let vlk: Tz = "Asia/Vladivostok".parse().unwrap();
        let r = rules();
        let project = ProjectFacts {
            rules: &r,
            schedule: Some(&s),
            types: None,
            ordering: &[OrderBy::NewFirst],
        };
        let numbers = [NumberFacts {
            e164: "+74232340000",
            zone: Some(vlk),
            kind: NumberKind::Other,
            stop_listed: false,
        }];
        let mut a = ContactAttempts::new(1);
        // 15:00 Moscow is 22:00 in Vladivostok: held until 09:00 there (02:00 Moscow).
        let p = plan(
            &mut a,
            &numbers,
            project,
            OrderFacts {
                seq: 1,
                priority: 0,
            },
            msk(15, 0),
        );
        let next = p.next.unwrap();
        assert_eq!(next.not_before, msk(2, 0) + 24 * 3600);
        assert_eq!(next.gate, "Asia/Vladivostok|other");
        assert_eq!(
            p.notes,
            [(
                "hold",
                "held until 02.12 09:00 Asia/Vladivostok: outside the window in the callee's zone"
                    .to_string()
            )]
        );
        // 10:00 Moscow is 17:00 there: callable at once, no note.
        let mut a = ContactAttempts::new(1);
        let p = plan(
            &mut a,
            &numbers,
            project,
            OrderFacts {
                seq: 1,
                priority: 0,
            },
            msk(10, 0),
        );
        assert_eq!(p.next.unwrap().not_before, 0);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn stop_listed_numbers_are_passed_over_and_a_contact_without_numbers_is_closed() {
        let r = rules();
        let project = ProjectFacts {
            rules: &r,
            schedule: None,
            types: None,
            ordering: &[OrderBy::NewFirst],
        };
        let n = |e164, stop_listed| NumberFacts {
            e164,
            zone: None,
            kind: NumberKind::Mobile,
            stop_listed,
        };
        let mut a = ContactAttempts::new(2);
        let p = plan(
            &mut a,
            &[n("+79160000001", true), n("+79160000002", false)],
            project,
            OrderFacts {
                seq: 1,
                priority: 0,
            },
            0,
        );
        assert_eq!(p.status, ContactStatus::NotCalled);
        assert_eq!(p.next.as_ref().map(|n| n.idx), Some(1));
        assert_eq!(p.notes[0].0, "skip");
        let mut a = ContactAttempts::new(2);
        let p = plan(
            &mut a,
            &[n("+79160000001", true), n("+79160000002", true)],
            project,
            OrderFacts {
                seq: 1,
                priority: 0,
            },
            0,
        );
        assert_eq!(
            (p.status, p.next.is_none()),
            (ContactStatus::NotReached, true)
        );
        assert!(
            p.notes.last().unwrap().1.contains("stop list"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn a_callee_the_schedule_never_meets_is_closed_with_the_reason() {
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-10:00"]).unwrap();
        let r = rules();
        let project = ProjectFacts {
            rules: &r,
            schedule: Some(&s),
            types: None,
            ordering: &[],
        };
        let mut a = ContactAttempts::new(1);
        let p = plan(
            &mut a,
            &[NumberFacts {
                e164: "+74232340000",
                zone: Some("Asia/Vladivostok".parse().unwrap()),
                kind: NumberKind::Other,
                stop_listed: false,
            }],
            project,
            OrderFacts {
                seq: 1,
                priority: 0,
            },
            msk(9, 30),
        );
        assert_eq!(p.status, ContactStatus::NotReached);
        assert!(p.notes[0].1.contains("never open"), "{:?}", p.notes);
    }

    #[test]
    fn a_number_the_schedule_never_meets_gives_way_to_the_contacts_other_numbers() {
        let s = Schedule::new("Europe/Moscow", &["daily 09:00-10:00"]).unwrap();
        let r = rules();
        let project = ProjectFacts {
            rules: &r,
            schedule: Some(&s),
            types: None,
            ordering: &[],
        };
        let far = NumberFacts {
            e164: "+74232340000",
            zone: Some("Asia/Vladivostok".parse().unwrap()),
            kind: NumberKind::Other,
            stop_listed: false,
        };
        let near = NumberFacts {
            e164: "+74951234567",
            zone: Some("Europe/Moscow".parse().unwrap()),
            kind: NumberKind::Other,
            stop_listed: false,
        };
        let order = OrderFacts {
            seq: 1,
            priority: 0,
        };
        let mut a = ContactAttempts::new(2);
        let p = plan(&mut a, &[far, near], project, order, msk(9, 30));
        assert_eq!(p.status, ContactStatus::NotCalled);
        assert_eq!(p.next.as_ref().map(|n| n.idx), Some(1), "{p:?}");
        assert!(
            p.notes[0].0 == "skip" && p.notes[0].1.contains("its other numbers go on"),
            "{:?}",
            p.notes
        );
        // Planned again later, the far number stays stopped and is not tried again.
        let p = plan(&mut a, &[far, near], project, order, msk(9, 40));
        assert_eq!(p.next.as_ref().map(|n| n.idx), Some(1));
        // With no other number, the contact is closed as before.
        let mut a = ContactAttempts::new(1);
        let p = plan(&mut a, &[far], project, order, msk(9, 30));
        assert_eq!(p.status, ContactStatus::NotReached);
    }
}
