//! The shift simulation (docs/pacing.md, "How the modes compare"): the dialer's pacing
//! decisions (`super::floor`, `super::pacing`) and the agents' real pool and queue
//! (`crate::agents::pool`) drive a simulated population on virtual time, deterministic by
//! seed. Calls are placed once a second, as the dialer's pass does. The benchmark
//! `pacing_shift` prints the figures per mode; tests run short shifts.
use super::floor::{FloorNow, ProjectPacing};
use super::pacing::{Mode, Settings};
use crate::agents::pool::{AgentInfo, FloorEvent, Pool};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

const PROJECT: i64 = 1;
/// The dialer's pass.
const PASS_MS: i64 = 1_000;

/// Who is called and how they behave.
#[derive(Debug, Clone)]
pub struct Population {
    /// Share of calls answered (by a person or a machine).
    pub answer_rate: f64,
    /// Share of answered calls that a machine answers.
    pub machine_share: f64,
    /// Ring time before an answer (uniform, ms), and before giving up on an unanswered call.
    pub ring_ms: (i64, i64),
    pub no_answer_ms: i64,
    /// The robot's part before the transfer (uniform, ms); a machine's call ends after its
    /// own part.
    pub robot_ms: (i64, i64),
    pub machine_ms: (i64, i64),
    /// Share of people who ask for an agent (the rest end with the robot).
    pub wants_agent: f64,
    /// Agents' talk time: log-normal with this mean and coefficient of variation.
    pub talk_mean_ms: f64,
    pub talk_cv: f64,
    /// How long a caller waits for an agent before hanging up: at least `patience_min_ms`
    /// («соединяю с оператором» is still playing), then exponential with this mean.
    pub patience_min_ms: i64,
    pub patience_mean_ms: f64,
    /// A stretch of the shift where people answer more and talk less (a burst of short
    /// calls): from, to (ms into the shift), its answer rate and mean talk time.
    pub burst: Option<Burst>,
}

/// A burst of short calls.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    pub from_ms: i64,
    pub to_ms: i64,
    pub answer_rate: f64,
    pub talk_mean_ms: f64,
}

impl Default for Population {
    fn default() -> Self {
        Self {
            answer_rate: 0.45,
            machine_share: 0.25,
            ring_ms: (4_000, 15_000),
            no_answer_ms: 30_000,
            robot_ms: (3_000, 6_000),
            machine_ms: (2_000, 5_000),
            wants_agent: 0.8,
            talk_mean_ms: 90_000.0,
            talk_cv: 0.7,
            patience_min_ms: 5_000,
            patience_mean_ms: 35_000.0,
            burst: None,
        }
    }
}

/// How the simulated project paces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// `robot` with fixed lines (as before pacing existed).
    Fixed,
    /// `robot` with lines that follow the transfer queue.
    RobotAuto,
    Progressive,
    /// `predictive` at this abandon target.
    Predictive(f64),
}

impl Pacing {
    pub fn label(self) -> String {
        match self {
            Pacing::Fixed => "fixed lines".into(),
            Pacing::RobotAuto => "robot, auto lines".into(),
            Pacing::Progressive => "progressive".into(),
            Pacing::Predictive(t) => format!("predictive {:.0} %", t * 100.0),
        }
    }
}

/// One shift.
#[derive(Debug, Clone)]
pub struct Shift {
    pub seed: u64,
    pub agents: usize,
    pub length_ms: i64,
    pub pacing: Pacing,
    /// The project's lines (the ceiling in every mode).
    pub lines: u32,
    pub wrap_ms: i64,
    /// An agent's phone rings this long before they answer.
    pub agent_ring_ms: i64,
    /// The queue's longest wait (`queue_max_wait_s`).
    pub queue_max_wait_ms: i64,
    /// Pacing's own settings (mode, lines and target are set from the fields above).
    pub settings: Settings,
    pub population: Population,
    /// Stop placing calls after this many (0: no limit).
    pub max_calls: u64,
}

impl Shift {
    pub fn new(agents: usize, pacing: Pacing, seed: u64) -> Self {
        Self {
            seed,
            agents,
            length_ms: 8 * 3_600_000,
            pacing,
            lines: (agents as u32 * 4).max(4),
            wrap_ms: 10_000,
            agent_ring_ms: 2_000,
            queue_max_wait_ms: 120_000,
            settings: Settings::default(),
            population: Population::default(),
            max_calls: 0,
        }
    }
}

/// What a shift gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub calls: u64,
    /// Callers who reached the queue; served by an agent within `max_wait`, and abandoned
    /// (left without an agent, or served after more than `max_wait`).
    pub transfers: u64,
    pub served: u64,
    pub abandoned: u64,
    /// Callers who left the queue without an agent.
    pub left: u64,
    /// Busy (ringing, talking, wrap-up) over staffed time.
    pub occupancy: f64,
    pub mean_wait_ms: f64,
    pub p95_wait_ms: f64,
    pub served_per_agent_hour: f64,
    /// People reached (a final result: talked to an agent, or ended with the robot).
    pub people_reached: u64,
    /// The most calls up at once.
    pub peak_calls: u32,
    /// The predictive dial level: its mean over the passes, and its lowest and highest.
    pub level_mean: f64,
    pub level_min: f64,
    pub level_max: f64,
}

impl Report {
    pub fn abandon_share(&self) -> f64 {
        if self.transfers == 0 {
            0.0
        } else {
            self.abandoned as f64 / self.transfers as f64
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Pass,
    /// The callee answered (or the call gave up ringing).
    Answer(u64),
    /// The robot's part is over: a person asks for an agent or ends; a machine ends.
    RobotDone(u64),
    AgentAnswers(u64, i64),
    TalkEnds(u64, i64),
    Patience(u64),
    Wake,
}

#[derive(Debug, Clone, Copy)]
enum Callee {
    NoAnswer,
    Machine,
    Person {
        wants: bool,
        talk_ms: i64,
        patience_ms: i64,
    },
}

/// Runs a shift.
pub fn run(sh: &Shift) -> Report {
    let mut rng = SmallRng::seed_from_u64(sh.seed);
    let mut pool = Pool::new();
    for id in 0..sh.agents as i64 {
        pool.upsert(
            AgentInfo {
                id,
                name: format!("agent {id}"),
                projects: None,
                enabled: true,
                always_reachable: true,
                missed_pause_ms: None,
            },
            0,
        );
    }
    let mut s = sh.settings.clone();
    s.lines = sh.lines;
    s.mode = match sh.pacing {
        Pacing::Fixed | Pacing::RobotAuto => Mode::Robot,
        Pacing::Progressive => Mode::Progressive,
        Pacing::Predictive(t) => {
            s.abandon_target = t;
            Mode::Predictive
        }
    };
    let transfers = sh.pacing != Pacing::Fixed;
    let mut pacing = ProjectPacing::default();
    let mut heap: BinaryHeap<Reverse<(i64, u64, Event)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, at: i64, e: Event| {
        seq += 1;
        heap.push(Reverse((at, seq, e)));
    };
    push(&mut heap, 0, Event::Pass);
    let mut callees: Vec<Callee> = Vec::new();
    let mut waiting: HashSet<u64> = HashSet::new();
    let mut ringing: HashSet<(u64, i64)> = HashSet::new();
    let mut active = 0u32;
    let mut r = Report::default();
    let mut waits: Vec<i64> = Vec::new();
    let (mut busy_ms, mut wake_at) = (0i64, None::<i64>);
    let mut levels = (0.0f64, 0u64);
    while let Some(Reverse((now, _, e))) = heap.pop() {
        if now > sh.length_ms {
            break;
        }
        let end_call = |active: &mut u32, pacing: &mut ProjectPacing, call: u64| {
            *active -= 1;
            pacing.ended(&call.to_string(), now);
        };
        match e {
            Event::Pass => {
                push(&mut heap, now + PASS_MS, Event::Pass);
                for ev in pool.take_events() {
                    match &ev {
                        FloorEvent::Served { wait_ms, .. } => {
                            waits.push(*wait_ms);
                            r.transfers += 1;
                            if *wait_ms as u64 > s.max_wait_ms {
                                r.abandoned += 1;
                            } else {
                                r.served += 1;
                            }
                        }
                        FloorEvent::Left { wait_ms, .. } => {
                            waits.push(*wait_ms);
                            r.transfers += 1;
                            r.abandoned += 1;
                            r.left += 1;
                        }
                        FloorEvent::Talked { ms, .. } | FloorEvent::Wrapped { ms, .. } => {
                            busy_ms += ms
                        }
                        FloorEvent::Queued { .. } => {}
                    }
                    pacing.observe(&s, &ev, 0);
                }
                let (agents, talking) = pool.floor(PROJECT);
                let f = FloorNow {
                    now_ms: now,
                    agents: &agents,
                    talking: talking as u32,
                    queue: waiting.len() as u32,
                    active,
                    transfers,
                };
                let (_, place) = pacing.decide(&s, &f);
                let level = pacing.pacer.level();
                levels.0 += level;
                levels.1 += 1;
                r.level_min = if levels.1 == 1 {
                    level
                } else {
                    r.level_min.min(level)
                };
                r.level_max = r.level_max.max(level);
                for _ in 0..place {
                    if sh.max_calls > 0 && r.calls >= sh.max_calls {
                        break;
                    }
                    let call = callees.len() as u64;
                    let p = &sh.population;
                    let (answer_rate, talk_mean_ms) = match p.burst {
                        Some(b) if (b.from_ms..b.to_ms).contains(&now) => {
                            (b.answer_rate, b.talk_mean_ms)
                        }
                        _ => (p.answer_rate, p.talk_mean_ms),
                    };
                    let callee = if !rng.gen_bool(answer_rate) {
                        Callee::NoAnswer
                    } else if rng.gen_bool(p.machine_share) {
                        Callee::Machine
                    } else {
                        Callee::Person {
                            wants: rng.gen_bool(p.wants_agent),
                            talk_ms: lognormal(&mut rng, talk_mean_ms, p.talk_cv) as i64,
                            patience_ms: p.patience_min_ms
                                + (-p.patience_mean_ms * (1.0 - rng.gen::<f64>()).ln()) as i64,
                        }
                    };
                    callees.push(callee);
                    r.calls += 1;
                    active += 1;
                    r.peak_calls = r.peak_calls.max(active);
                    pacing.placed(call.to_string(), now);
                    let ring = match callee {
                        Callee::NoAnswer => p.no_answer_ms,
                        _ => rng.gen_range(p.ring_ms.0..=p.ring_ms.1),
                    };
                    push(&mut heap, now + ring, Event::Answer(call));
                }
            }
            Event::Answer(call) => {
                let p = &sh.population;
                if !matches!(callees[call as usize], Callee::NoAnswer) {
                    pacing.answered(&call.to_string(), now);
                }
                match callees[call as usize] {
                    Callee::NoAnswer => end_call(&mut active, &mut pacing, call),
                    Callee::Machine => {
                        let t = rng.gen_range(p.machine_ms.0..=p.machine_ms.1);
                        push(&mut heap, now + t, Event::RobotDone(call));
                    }
                    Callee::Person { .. } => {
                        let t = rng.gen_range(p.robot_ms.0..=p.robot_ms.1);
                        push(&mut heap, now + t, Event::RobotDone(call));
                    }
                }
            }
            Event::RobotDone(call) => match callees[call as usize] {
                Callee::Person {
                    wants: true,
                    patience_ms,
                    ..
                } => {
                    r.people_reached += 1;
                    pool.enqueue(&call.to_string(), PROJECT, now);
                    waiting.insert(call);
                    let give_up = patience_ms.min(sh.queue_max_wait_ms);
                    push(&mut heap, now + give_up, Event::Patience(call));
                }
                Callee::Person { .. } => {
                    r.people_reached += 1;
                    end_call(&mut active, &mut pacing, call);
                }
                _ => end_call(&mut active, &mut pacing, call),
            },
            Event::Patience(call) => {
                if waiting.remove(&call) {
                    if let Some(agent) = pool.leave(&call.to_string(), now) {
                        ringing.remove(&(call, agent));
                    }
                    end_call(&mut active, &mut pacing, call);
                }
            }
            Event::AgentAnswers(call, agent) => {
                if ringing.remove(&(call, agent)) && waiting.remove(&call) {
                    busy_ms += sh.agent_ring_ms;
                    pool.answered(&call.to_string(), agent, now);
                    if let Callee::Person { talk_ms, .. } = callees[call as usize] {
                        push(&mut heap, now + talk_ms, Event::TalkEnds(call, agent));
                    }
                }
            }
            Event::TalkEnds(call, agent) => {
                pool.ended(agent, sh.wrap_ms, now);
                end_call(&mut active, &mut pacing, call);
            }
            Event::Wake => {
                wake_at = None;
                pool.tick(now);
            }
        }
        for a in pool.assign(now) {
            if let Ok(call) = a.call.parse::<u64>() {
                ringing.insert((call, a.agent));
                push(
                    &mut heap,
                    now + sh.agent_ring_ms,
                    Event::AgentAnswers(call, a.agent),
                );
            }
        }
        if let Some(t) = pool.next_wake() {
            if wake_at.is_none_or(|w| t < w) {
                wake_at = Some(t);
                push(&mut heap, t.max(now), Event::Wake);
            }
        }
    }
    let staffed = sh.agents as f64 * sh.length_ms as f64;
    r.occupancy = (busy_ms as f64 / staffed).min(1.0);
    if !waits.is_empty() {
        waits.sort_unstable();
        r.mean_wait_ms = waits.iter().sum::<i64>() as f64 / waits.len() as f64;
        r.p95_wait_ms = waits[(waits.len() * 95 / 100).min(waits.len() - 1)] as f64;
    }
    r.served_per_agent_hour = r.served as f64 / (staffed / 3_600_000.0);
    r.level_mean = levels.0 / levels.1.max(1) as f64;
    r
}

/// A log-normal sample with this mean and coefficient of variation.
fn lognormal(rng: &mut SmallRng, mean: f64, cv: f64) -> f64 {
    let sigma2 = (1.0 + cv * cv).ln();
    let mu = mean.ln() - sigma2 / 2.0;
    // Box–Muller.
    let (u1, u2): (f64, f64) = (1.0 - rng.gen::<f64>(), rng.gen());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (mu + sigma2.sqrt() * z).exp()
}
