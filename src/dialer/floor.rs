//! One project's pacing kept fed (docs/pacing.md): the calls it placed, what its agents and
//! transfer queue did (`FloorEvent`s from the agents' pool), the measured averages and the
//! abandon counts, and the figures the API, the project page and `/metrics` show. The dialer
//! keeps one per project; the shift simulation (`super::shift`) drives the same code on
//! virtual time. Pure: times come in as unix ms from the caller's clock.
use super::pacing::{Agent, Decision, Floor, Mode, Pacer, Settings};
use crate::agents::pool::{AgentState, FloorEvent};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const DAY_MS: i64 = 86_400_000;

/// One project's pacer and what it has seen.
#[derive(Debug, Default)]
pub struct ProjectPacing {
    pub pacer: Pacer,
    /// Calls placed and not ended.
    placed: HashMap<String, Placed>,
    /// Calls in the order placed, and the fates known of them: the shares of calls answered
    /// and reaching the queue count a call only once every call placed before it is settled
    /// (fast failures — machines, quick refusals, short rings — would otherwise be counted
    /// before the slow successes, and the first minutes' shares would be far too low).
    order: VecDeque<String>,
    fates: HashMap<String, Fate>,
    /// Transfers today (the day the caller names): served, abandoned.
    today: (i64, u32, u32),
    last: Option<Decision>,
}

/// A call placed and not ended: when, whether the callee reached the queue, and when it was
/// answered (the robot's part began).
#[derive(Debug, Clone, Copy)]
struct Placed {
    at_ms: i64,
    queued: bool,
    answered_ms: Option<i64>,
    /// Still in `order` (false once it went unsettled past `SETTLE_MS`: its fate, when known,
    /// is not kept).
    in_order: bool,
}

/// A call's fate once known.
#[derive(Debug, Clone, Copy)]
struct Fate {
    answered: bool,
    reached: bool,
}

/// A call still unsettled this long after it was placed leaves the ordered count uncounted.
const SETTLE_MS: i64 = 120_000;

/// What the pacing of a project shows (`GET /projects/{id}/stats` → `pacing`, the project
/// page, `/metrics`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PacingView {
    /// The project's mode, and the mode that decided now (`predictive` below its minimum of
    /// agents dials as `progressive`).
    pub mode: Mode,
    pub acting_mode: Mode,
    /// Why the dialer places what it places now, in words.
    pub why: String,
    /// The predictive dial level (docs/pacing.md#predictive).
    pub dial_level: f64,
    pub lines: u32,
    /// `robot`: the lines in use as a ceiling now; the agents' modes: the calls on their way
    /// to the agents allowed now.
    pub allowed: u32,
    /// Calls up now, and those of them on their way to the agents.
    pub in_flight: u32,
    pub on_the_way: u32,
    /// Callers waiting for an agent now.
    pub queue: u32,
    /// The project's agents by state.
    pub agents: BTreeMap<&'static str, u32>,
    /// Transfers today and abandoned today; the abandon share today and over the last 15 min.
    pub transfers_today: u32,
    pub abandoned_today: u32,
    pub abandon_share_today: Option<f64>,
    pub abandon_share_15min: Option<f64>,
    /// Measured averages (seconds) and their sample counts; the configured figures are used
    /// until a measure has `MIN_MEASURED` samples.
    pub talk_s: Option<f64>,
    pub wrap_up_s: Option<f64>,
    pub answer_s: Option<f64>,
    pub samples: u64,
    /// Of the calls placed, the share that reached the queue.
    pub reach: Option<f64>,
}

/// The pacing of every project the dialer paces, for the API and `/metrics`.
pub type PacingBoard = Arc<Mutex<BTreeMap<i64, PacingView>>>;

/// A pool state as pacing sees it: a ringing agent is about to talk.
pub fn agent(state: AgentState, since_ms: i64, now_ms: i64) -> Agent {
    match state {
        AgentState::Available => Agent::Available,
        AgentState::Ringing => Agent::Talking { since_ms: now_ms },
        AgentState::Talking => Agent::Talking { since_ms },
        AgentState::WrapUp => Agent::WrapUp { since_ms },
        AgentState::Paused | AgentState::Offline => Agent::Offline,
    }
}

/// The floor of a project now, as the agents' pool gives it.
pub struct FloorNow<'a> {
    pub now_ms: i64,
    /// The project's agents: (state, since when).
    pub agents: &'a [(AgentState, i64)],
    /// Its agents talking to its callers now.
    pub talking: u32,
    /// Its callers waiting for an agent.
    pub queue: u32,
    /// Its calls up.
    pub active: u32,
    /// Whether its scenario transfers to agents.
    pub transfers: bool,
}

impl ProjectPacing {
    /// A call was placed.
    pub fn placed(&mut self, call: String, now_ms: i64) {
        self.order.push_back(call.clone());
        self.placed.insert(
            call,
            Placed {
                at_ms: now_ms,
                queued: false,
                answered_ms: None,
                in_order: true,
            },
        );
    }

    /// A call placed was answered (by a person or a machine: the robot's part begins) by
    /// `now_ms`.
    pub fn answered(&mut self, call: &str, now_ms: i64) {
        if let Some(c) = self.placed.get_mut(call) {
            if c.answered_ms.is_none() {
                c.answered_ms = Some(now_ms);
                self.pacer.measured.rang((now_ms - c.at_ms).max(0) as f64);
            }
        }
    }

    /// A call ended at `now_ms`: one that never reached the queue counts toward the share of
    /// calls that reach an agent (one that did counted when it did), and, if answered, toward
    /// how long the robot's part of calls that reach nobody lasts.
    pub fn ended(&mut self, call: &str, now_ms: i64) {
        let Some(c) = self.placed.remove(call) else {
            return;
        };
        if c.queued {
            return;
        }
        if let Some(t) = c.answered_ms {
            self.pacer
                .measured
                .robot_part((now_ms - t).max(0) as f64, false);
        }
        if c.in_order {
            let fate = Fate {
                answered: c.answered_ms.is_some(),
                reached: false,
            };
            self.fates.insert(call.to_string(), fate);
        }
        self.settle(now_ms);
    }

    /// Counts the fates of the oldest calls, in the order placed, up to the first unsettled.
    fn settle(&mut self, now_ms: i64) {
        let m = &mut self.pacer.measured;
        while let Some(front) = self.order.front() {
            if let Some(f) = self.fates.remove(front) {
                m.reach.add(f64::from(u8::from(f.reached)));
                m.answer_share.add(f64::from(u8::from(f.answered)));
                if f.answered {
                    m.answered_reach.add(f64::from(u8::from(f.reached)));
                }
            } else if let Some(c) = self.placed.get_mut(front) {
                if now_ms - c.at_ms <= SETTLE_MS {
                    break;
                }
                c.in_order = false;
            }
            self.order.pop_front();
        }
    }

    /// What the floor did; `day` is the current day's number (for "today").
    pub fn observe(&mut self, s: &Settings, e: &FloorEvent, day: i64) {
        let m = &mut self.pacer.measured;
        match e {
            FloorEvent::Queued { call, at_ms, .. } => {
                if let Some(c) = self.placed.get_mut(call) {
                    if !c.queued {
                        c.queued = true;
                        m.answer_ms.add((at_ms - c.at_ms).max(0) as f64);
                        // A call that reached the queue was answered, whether or not the
                        // answer was told.
                        match c.answered_ms {
                            Some(t) => m.robot_part((at_ms - t).max(0) as f64, true),
                            None => c.answered_ms = Some(*at_ms),
                        }
                        if c.in_order {
                            let fate = Fate {
                                answered: true,
                                reached: true,
                            };
                            self.fates.insert(call.clone(), fate);
                        }
                        self.settle(*at_ms);
                    }
                }
            }
            FloorEvent::Talked { ms, .. } => m.talked(*ms as f64),
            FloorEvent::Wrapped { ms, .. } => m.wrap_ms.add(*ms as f64),
            FloorEvent::Served { wait_ms, at_ms, .. } => {
                let abandoned = *wait_ms as u64 > s.max_wait_ms;
                self.transfer(s, *at_ms, abandoned, day);
            }
            FloorEvent::Left { at_ms, .. } => self.transfer(s, *at_ms, true, day),
        }
    }

    fn transfer(&mut self, s: &Settings, at_ms: i64, abandoned: bool, day: i64) {
        if self.today.0 != day {
            self.today = (day, 0, 0);
        }
        self.today.1 += 1;
        self.today.2 += u32::from(abandoned);
        self.pacer.transfer_ended(s, at_ms, abandoned);
    }

    /// The decision now and the calls to place.
    pub fn decide(&mut self, s: &Settings, f: &FloorNow) -> (Decision, u32) {
        let agents: Vec<Agent> = f
            .agents
            .iter()
            .map(|(st, since)| agent(*st, *since, f.now_ms))
            .collect();
        let not_queued = self.placed.values().filter(|c| !c.queued);
        let answered_ms: Vec<f64> = not_queued
            .clone()
            .filter_map(|c| c.answered_ms)
            .map(|t| (f.now_ms - t).max(0) as f64)
            .collect();
        let ringing_ms: Vec<f64> = not_queued
            .filter(|c| c.answered_ms.is_none())
            .map(|c| (f.now_ms - c.at_ms).max(0) as f64)
            .collect();
        let answered = answered_ms.len() as u32;
        let d = self.pacer.allowed(
            s,
            &Floor {
                now_ms: f.now_ms,
                agents: &agents,
                queue: f.queue,
                transfers: f.transfers,
                on_the_way: on_the_way(f),
                answered: answered.min(on_the_way(f)),
                ringing_ms: &ringing_ms,
                answered_ms: &answered_ms,
            },
        );
        let place = d.place(f.active, on_the_way(f), s.lines);
        self.last = Some(d.clone());
        (d, place)
    }

    /// The figures to show after a decision.
    pub fn view(&self, s: &Settings, f: &FloorNow, day: i64) -> PacingView {
        let mut agents = BTreeMap::new();
        for (st, _) in f.agents {
            *agents.entry(st.as_str()).or_insert(0) += 1;
        }
        let (served, abandoned) = if self.today.0 == day {
            (self.today.1, self.today.2)
        } else {
            (0, 0)
        };
        let m = &self.pacer.measured;
        let secs = |x: Option<f64>| x.map(|ms| (ms / 100.0).round() / 10.0);
        let (acting, why, allowed) = match &self.last {
            Some(d) => (d.mode, d.why.clone(), d.allowed),
            None => (s.mode, String::new(), 0),
        };
        PacingView {
            mode: s.mode,
            acting_mode: acting,
            why,
            dial_level: (self.pacer.level() * 100.0).round() / 100.0,
            lines: s.lines,
            allowed,
            in_flight: f.active,
            on_the_way: on_the_way(f),
            queue: f.queue,
            agents,
            transfers_today: served,
            abandoned_today: abandoned,
            abandon_share_today: (served > 0).then(|| f64::from(abandoned) / f64::from(served)),
            abandon_share_15min: self.pacer.abandon_share(),
            talk_s: secs(m.talk_ms.mean()),
            wrap_up_s: secs(m.wrap_ms.mean()),
            answer_s: secs(m.answer_ms.mean()),
            samples: m.talk_ms.count(),
            reach: m.reach.mean().map(|r| (r * 1000.0).round() / 1000.0),
        }
    }
}

/// The day number of a unix-ms time in a zone offset (seconds east of UTC).
pub fn day_of(now_ms: i64, offset_s: i64) -> i64 {
    (now_ms + offset_s * 1000).div_euclid(DAY_MS)
}

fn on_the_way(f: &FloorNow) -> u32 {
    f.active.saturating_sub(f.talking).saturating_sub(f.queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor<'a>(
        agents: &'a [(AgentState, i64)],
        active: u32,
        talking: u32,
        queue: u32,
    ) -> FloorNow<'a> {
        FloorNow {
            now_ms: 1_000_000,
            agents,
            talking,
            queue,
            active,
            transfers: true,
        }
    }

    #[test]
    fn progressive_places_for_free_agents_less_the_calls_already_on_their_way() {
        let s = Settings {
            mode: Mode::Progressive,
            lines: 50,
            ..Settings::default()
        };
        let agents = [
            (AgentState::Available, 0),
            (AgentState::Available, 0),
            (AgentState::Available, 0),
            (AgentState::Talking, 0),
            (AgentState::Paused, 0),
        ];
        let mut p = ProjectPacing::default();
        // Three free, one talking to its caller, one call dialing: two more.
        let (d, place) = p.decide(&s, &floor(&agents, 2, 1, 0));
        assert_eq!((d.allowed, place), (3, 2), "{}", d.why);
        // A caller waiting takes a free agent: one free left, and one call dialing for it.
        let (_, place) = p.decide(&s, &floor(&agents, 3, 1, 1));
        assert_eq!(place, 1);
        let v = p.view(&s, &floor(&agents, 3, 1, 1), 0);
        assert_eq!((v.in_flight, v.on_the_way, v.queue), (3, 1, 1));
        assert_eq!(v.agents.get("available"), Some(&3));
    }

    #[test]
    fn shares_count_in_the_order_placed_and_a_call_stuck_past_the_settle_time_stops_them_not() {
        let mut p = ProjectPacing::default();
        p.placed("slow".into(), 0);
        p.placed("fast".into(), 1_000);
        // The second call failed first: it waits for the first to settle.
        p.ended("fast", 5_000);
        assert_eq!(p.pacer.measured.reach.count(), 0);
        // The first never settles: past SETTLE_MS it leaves the count, the second is counted.
        p.placed("next".into(), SETTLE_MS + 1);
        p.ended("next", SETTLE_MS + 2);
        assert_eq!(p.pacer.measured.reach.count(), 2);
        // Its fate, when it comes, is not kept waiting for an order it left.
        p.ended("slow", SETTLE_MS + 3);
        assert!(p.fates.is_empty() && p.order.is_empty());
        assert_eq!(p.pacer.measured.reach.count(), 2);
    }

    #[test]
    fn the_floor_events_feed_the_measures_and_the_abandon_counts() {
        let s = Settings::default();
        let mut p = ProjectPacing::default();
        p.placed("1".into(), 0);
        p.placed("2".into(), 0);
        let q = |call: &str, at_ms| FloorEvent::Queued {
            project: 1,
            call: call.into(),
            at_ms,
        };
        p.observe(&s, &q("1", 15_000), 0);
        p.observe(
            &s,
            &FloorEvent::Served {
                project: 1,
                wait_ms: 2_000,
                at_ms: 17_000,
            },
            0,
        );
        // Served after more than `max_wait_ms`: abandoned all the same.
        p.observe(&s, &q("2", 20_000), 0);
        p.observe(
            &s,
            &FloorEvent::Served {
                project: 1,
                wait_ms: 10_001,
                at_ms: 30_001,
            },
            0,
        );
        p.ended("1", 40_000);
        p.ended("2", 40_000);
        p.ended("3", 40_000);
        let v = p.view(&s, &floor(&[], 0, 0, 0), 0);
        assert_eq!((v.transfers_today, v.abandoned_today), (2, 1));
        assert_eq!(v.abandon_share_today, Some(0.5));
        assert_eq!(v.answer_s, Some(17.5));
        assert_eq!(v.reach, Some(1.0));
        // The next day starts from nothing.
        let v = p.view(&s, &floor(&[], 0, 0, 0), 1);
        assert_eq!((v.transfers_today, v.abandon_share_today), (0, None));
    }
}
