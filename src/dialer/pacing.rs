//! Pacing: how many calls a project may have in flight now, by its mode (docs/pacing.md).
//! These are the decisions; `super::floor` keeps one project's pacer fed with what its agents
//! and transfer queue do, for the dialer and the shift simulation alike. Pure: the caller
//! hands over the floor —
//! its agents and the transfer queue — and the injected clock's `now`; the pacer answers a
//! number of calls and why, and learns from the transfers' outcomes. Nothing here reads a
//! clock, a socket or the store.
//!
//! - `robot`: the project's lines. With transfers in the scenario the lines are a ceiling: the
//!   robot lowers its effective lines while a new caller's expected wait in the transfer queue
//!   passes `queue_target_ms`, and raises them again as agents free up.
//! - `progressive`: a call only for an agent free now (calls in flight ≤ free agents ×
//!   `calls_per_agent`), so nobody answered waits.
//! - `predictive` (the UIS rule): at start `calls_per_agent` × free agents; then calls for the
//!   agents expected to be free when a new call is answered — an agent on a call counts once
//!   its call has lasted the predicted talk time + wrap-up − the time a new call takes to be
//!   answered. Once talks and answers are measured, by the odds: the callers coming and the
//!   agents freeing up are sums of chances, and it places the most calls whose expected
//!   callers left without an agent stay within `abandon_target` × an adaptive dial level,
//!   which keeps the share of abandoned transfers under the target. Below `MIN_PREDICTIVE_AGENTS` agents online it dials as progressive
//!   (CWSL: prediction needs more than about ten agents to average over).
//! - `preview`: no call of its own; each is placed on an agent's press.
use std::collections::VecDeque;

pub use crate::store::Mode;

/// Fewer agents online than this, and `predictive` dials as `progressive`.
pub const MIN_PREDICTIVE_AGENTS: usize = 10;
/// Samples a measured mean needs before it replaces the configured figure.
pub const MIN_MEASURED: u64 = 20;
/// The predictive dial level's bounds. The level scales the callers predictive lets go
/// without an agent: 1.0 dials until the expected ones are the abandon target's share of the
/// callers expected.
pub const LEVEL_MIN: f64 = 0.05;
pub const LEVEL_MAX: f64 = 3.0;
/// Where the level starts (a lower start only lost occupancy on the shift simulation: the
/// outcomes bring it down within minutes).
pub const LEVEL_START: f64 = 1.0;
/// How far one transfer's outcome moves the level, and the abandoned share it aims at, as a
/// part of the target (a margin for the share's noise).
pub const LEVEL_STEP: f64 = 0.05;
pub const AIM: f64 = 0.8;
/// `BURST_ABANDONS` abandons within `BURST_MS`, over twice the target's share of that
/// minute's transfers, are a burst: the level is cut by `BURST_CUT` at once, at most once a
/// `BURST_MS`.
pub const BURST_MS: i64 = 60_000;
pub const BURST_ABANDONS: usize = 3;
pub const BURST_CUT: f64 = 0.7;
/// Transfer outcomes kept for the abandon share.
pub const ABANDON_WINDOW_MS: i64 = 15 * 60_000;
/// The robot's effective lines change at most this often.
pub const LINES_STEP_MS: i64 = 5_000;

/// A project's pacing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    /// The project's lines: the ceiling in every mode.
    pub lines: u32,
    /// Calls per free agent until the share of calls that reach an agent is measured.
    pub calls_per_agent: f64,
    /// `robot` with transfers: the longest expected wait in the transfer queue.
    pub queue_target_ms: u64,
    /// `predictive`: the share of abandoned transfers to stay under.
    pub abandon_target: f64,
    /// Predicted until measured: an agent's talk time, wrap-up, and the time from dialing to
    /// the callee asking for an agent.
    pub talk_ms: u64,
    pub wrap_ms: u64,
    pub answer_ms: u64,
    /// A callee who waits longer than this for an agent counts as abandoned.
    pub max_wait_ms: u64,
}

impl Settings {
    /// A project's settings: its mode, lines and pacing options (`transfer_wrap_up_s`: its
    /// transfer settings' wrap-up, the predicted one when pacing gives none).
    pub fn of(
        mode: Mode,
        lines: u32,
        o: &crate::store::PacingOptions,
        transfer_wrap_up_s: Option<u32>,
    ) -> Self {
        Self {
            mode,
            lines,
            calls_per_agent: o.calls_per_agent(),
            queue_target_ms: u64::from(o.queue_target_s()) * 1000,
            abandon_target: o.abandon_target(),
            talk_ms: u64::from(o.talk_s()) * 1000,
            wrap_ms: u64::from(o.wrap_s(transfer_wrap_up_s)) * 1000,
            answer_ms: u64::from(o.answer_s()) * 1000,
            max_wait_ms: u64::from(o.max_wait_s()) * 1000,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Robot,
            lines: 10,
            calls_per_agent: 1.0,
            queue_target_ms: 20_000,
            abandon_target: 0.03,
            talk_ms: 60_000,
            wrap_ms: 10_000,
            answer_ms: 20_000,
            max_wait_ms: 10_000,
        }
    }
}

/// One agent as pacing sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Available,
    Talking { since_ms: i64 },
    WrapUp { since_ms: i64 },
    Offline,
}

/// The project's floor now.
#[derive(Debug, Clone, Copy)]
pub struct Floor<'a> {
    pub now_ms: i64,
    pub agents: &'a [Agent],
    /// Callers waiting in the transfer queue.
    pub queue: u32,
    /// Whether the scenario transfers to agents.
    pub transfers: bool,
    /// Calls on their way to the agents (dialing, ringing, in the robot's part), and those of
    /// them answered already (each far likelier to reach the queue than one still ringing).
    pub on_the_way: u32,
    pub answered: u32,
    /// How long each call on its way and not yet answered has rung (ms), and how long each
    /// answered one has been in the robot's part.
    pub ringing_ms: &'a [f64],
    pub answered_ms: &'a [f64],
}

/// A running mean that stands in for a configured figure once it has `MIN_MEASURED` samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean {
    sum: f64,
    n: u64,
}

impl Mean {
    pub fn add(&mut self, x: f64) {
        self.sum += x;
        self.n += 1;
    }

    /// The measured mean, if it has enough samples.
    pub fn measured(&self) -> Option<f64> {
        (self.n >= MIN_MEASURED).then(|| self.sum / self.n as f64)
    }

    /// The measured mean, else `configured`.
    pub fn or(&self, configured: f64) -> f64 {
        self.measured().unwrap_or(configured)
    }

    /// The samples so far, and their mean (shown before it is used).
    pub fn count(&self) -> u64 {
        self.n
    }
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Recent talk times kept for the chance that a call ends soon.
pub const TALKS_KEPT: usize = 400;

/// What the project measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub talk_ms: Mean,
    pub wrap_ms: Mean,
    pub answer_ms: Mean,
    /// Of the calls placed, the share that reached the transfer queue (1 or 0 per call).
    pub reach: Mean,
    /// Of the calls answered, the share that reached the transfer queue.
    pub answered_reach: Mean,
    /// Of the calls placed, the share answered; and the last `TALKS_KEPT` ring times of the
    /// answered ones.
    pub answer_share: Mean,
    pub rings: VecDeque<f64>,
    /// The last `TALKS_KEPT` talk times, oldest first.
    pub talks: VecDeque<f64>,
    /// The last `TALKS_KEPT` robot's parts of answered calls: how long from the answer to the
    /// queue, or to the end for a call that reached nobody (a machine, a callee who wanted no
    /// agent), and which.
    pub robot: VecDeque<(f64, bool)>,
}

impl Measured {
    /// A talk ended after `ms`.
    pub fn talked(&mut self, ms: f64) {
        self.talk_ms.add(ms);
        if self.talks.len() == TALKS_KEPT {
            self.talks.pop_front();
        }
        self.talks.push_back(ms);
    }

    /// An answered call reached the queue (`reached`) or ended without, `ms` after the answer.
    pub fn robot_part(&mut self, ms: f64, reached: bool) {
        if self.robot.len() == TALKS_KEPT {
            self.robot.pop_front();
        }
        self.robot.push_back((ms, reached));
    }

    /// The chance that a call answered `ms` ago and still in the robot's part reaches the
    /// queue: of the recent robot's parts longer than that, the share that reached it. `None`
    /// until `MIN_MEASURED` are known.
    pub fn reaches_yet(&self, ms: f64) -> Option<f64> {
        if (self.robot.len() as u64) < MIN_MEASURED {
            return None;
        }
        let (mut longer, mut reached) = (0usize, 0usize);
        for (t, r) in &self.robot {
            if *t > ms {
                longer += 1;
                reached += usize::from(*r);
            }
        }
        // Longer than every one seen: as likely as any answered call.
        Some(if longer == 0 {
            reached_share(&self.robot)
        } else {
            reached as f64 / longer as f64
        })
    }

    /// A call placed was answered after ringing `ms`.
    pub fn rang(&mut self, ms: f64) {
        if self.rings.len() == TALKS_KEPT {
            self.rings.pop_front();
        }
        self.rings.push_back(ms);
    }

    /// The chance that a call still ringing after `ms` is answered yet: of the calls answered,
    /// the share that rang longer, against the share never answered. `None` until
    /// `MIN_MEASURED` answers are known.
    pub fn answered_yet(&self, ms: f64) -> Option<f64> {
        let p = self.answer_share.measured()?;
        if (self.rings.len() as u64) < MIN_MEASURED {
            return None;
        }
        let later = self.rings.iter().filter(|r| **r > ms).count() as f64 / self.rings.len() as f64;
        let yet = p * later;
        Some(if yet + (1.0 - p) > 0.0 {
            yet / (yet + (1.0 - p))
        } else {
            0.0
        })
    }

    /// The chance that a call which has lasted `elapsed` ms ends within `within` ms: of the
    /// recent talks longer than `elapsed`, the share that ended by `elapsed + within`. `None`
    /// until `MIN_MEASURED` talks are known (the rule of thumb decides until then).
    pub fn ends_within(&self, elapsed: f64, within: f64) -> Option<f64> {
        if (self.talks.len() as u64) < MIN_MEASURED {
            return None;
        }
        if within < 0.0 {
            return Some(0.0);
        }
        let longer = self.talks.iter().filter(|t| **t > elapsed).count();
        if longer == 0 {
            // Longer than every call seen: it can only end soon.
            return Some(1.0);
        }
        let ended = self
            .talks
            .iter()
            .filter(|t| **t > elapsed && **t <= elapsed + within)
            .count();
        Some(ended as f64 / longer as f64)
    }
}

/// How many calls may be in flight now, the mode that decided it, and why, in words. In
/// `robot` mode `allowed` counts every call up; in the agents' modes it counts the calls on
/// their way to the agents (dialing, ringing, in the robot's part), not those already waiting
/// in the queue or talking to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: u32,
    pub mode: Mode,
    pub why: String,
}

impl Decision {
    /// Calls to place now, given the project's calls up (`active`), those of them on their
    /// way to the agents, and its lines (always the ceiling).
    pub fn place(&self, active: u32, on_the_way: u32, lines: u32) -> u32 {
        let room = lines.saturating_sub(active);
        match self.mode {
            Mode::Robot => self.allowed.saturating_sub(active).min(room),
            _ => self.allowed.saturating_sub(on_the_way).min(room),
        }
    }
}

/// A project's pacing state: the predictive dial level, the robot's effective lines, the
/// transfers' recent outcomes and the measured means.
#[derive(Debug, Clone)]
pub struct Pacer {
    level: f64,
    effective_lines: Option<u32>,
    lines_changed_ms: Option<i64>,
    /// When a burst of abandons last cut the level.
    burst_ms: Option<i64>,
    /// Transfer outcomes: (at, abandoned), oldest first, within `ABANDON_WINDOW_MS`.
    outcomes: VecDeque<(i64, bool)>,
    pub measured: Measured,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    pub fn new() -> Self {
        Self {
            level: LEVEL_START,
            effective_lines: None,
            lines_changed_ms: None,
            burst_ms: None,
            outcomes: VecDeque::new(),
            measured: Measured::default(),
        }
    }

    /// The predictive dial level now.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Calls in flight allowed now (the dialer places `allowed` − in flight).
    pub fn allowed(&mut self, s: &Settings, f: &Floor) -> Decision {
        let online = f.agents.iter().filter(|a| **a != Agent::Offline).count();
        let free = f.agents.iter().filter(|a| **a == Agent::Available).count();
        match s.mode {
            Mode::Preview => Decision {
                allowed: 0,
                mode: Mode::Preview,
                why: "preview: each call is placed when an agent presses «call»".into(),
            },
            Mode::Robot if !f.transfers => Decision {
                allowed: s.lines,
                mode: Mode::Robot,
                why: format!("robot: {} lines", s.lines),
            },
            Mode::Robot => self.robot_lines(s, f, online, free),
            Mode::Progressive => progressive(s, free, f.queue, "progressive"),
            Mode::Predictive if online < MIN_PREDICTIVE_AGENTS => progressive(
                s,
                free,
                f.queue,
                &format!(
                    "predictive needs {MIN_PREDICTIVE_AGENTS} agents online, {online} now: \
                     dialing as progressive"
                ),
            ),
            Mode::Predictive => self.predictive(s, f, free),
        }
    }

    fn per_agent(&self, s: &Settings) -> f64 {
        match self.measured.reach.measured() {
            Some(r) if r > 0.0 => (1.0 / r).clamp(1.0, 20.0),
            _ => s.calls_per_agent.max(1.0),
        }
    }

    /// Whether the floor is measured well enough to dial by the odds (else the UIS rule).
    fn learned(&self) -> bool {
        self.measured.reach.measured().is_some() && self.measured.talks.len() as u64 >= MIN_MEASURED
    }

    fn predictive(&mut self, s: &Settings, f: &Floor, free: usize) -> Decision {
        if self.learned() {
            return self.by_odds(s, f, free);
        }
        let talk = self.measured.talk_ms.or(s.talk_ms as f64);
        let wrap = self.measured.wrap_ms.or(s.wrap_ms as f64);
        let answer = self.measured.answer_ms.or(s.answer_ms as f64);
        // The UIS rule until the floor is measured: free when a call placed now is answered —
        // free now, or its call has lasted talk + wrap-up − answer.
        let soon: f64 = f
            .agents
            .iter()
            .map(|a| match *a {
                Agent::Talking { since_ms }
                    if (f.now_ms - since_ms) as f64 >= talk + wrap - answer =>
                {
                    1.0
                }
                Agent::WrapUp { since_ms } if (f.now_ms - since_ms) as f64 >= wrap - answer => 1.0,
                _ => 0.0,
            })
            .sum();
        let need = (free as f64 + soon - f64::from(f.queue)).max(0.0);
        let per_agent = self.per_agent(s);
        let reach = 1.0 / per_agent;
        let coming = f64::from(f.on_the_way) * reach;
        let more = ((need - coming) / reach).round().max(0.0) as u32;
        let want = f.on_the_way + more;
        Decision {
            allowed: want.min(s.lines),
            mode: Mode::Predictive,
            why: format!(
                "predictive, until talks and answers are measured: {free} agents free and \
                 {soon:.0} expected free within {:.0} s, {} waiting, {} calls on their way; \
                 {per_agent:.1} calls per agent",
                answer / 1000.0,
                f.queue,
                f.on_the_way,
            ),
        }
    }

    /// Predictive once measured: the callers that the calls on their way and `k` new ones
    /// will bring, and the agents free by the time they have waited `max_wait`, are sums of
    /// chances (each ringing call by how long it has rung, each talking agent by how long
    /// the recent talks of that length went on); place the most calls whose expected callers
    /// left without an agent stay within the abandon target × the dial level of the callers
    /// expected.
    fn by_odds(&mut self, s: &Settings, f: &Floor, free: usize) -> Decision {
        let wrap = self.measured.wrap_ms.or(s.wrap_ms as f64);
        let answer = self.measured.answer_ms.or(s.answer_ms as f64);
        let horizon = answer;
        let mut supply = vec![1.0];
        let mut sure_free = free;
        for a in f.agents {
            match *a {
                Agent::Talking { since_ms } => {
                    let elapsed = (f.now_ms - since_ms) as f64;
                    let q = self
                        .measured
                        .ends_within(elapsed, horizon - wrap)
                        .unwrap_or(0.0);
                    add_trial(&mut supply, q);
                }
                Agent::WrapUp { since_ms } if wrap - (f.now_ms - since_ms) as f64 <= horizon => {
                    sure_free += 1;
                }
                _ => {}
            }
        }
        let per_agent = self.per_agent(s);
        let reach = 1.0 / per_agent;
        let answered_reach = self.measured.answered_reach.or(reach).max(reach);
        let mut demand = vec![1.0];
        let mut expected = f64::from(f.queue);
        let mut chance = |p: f64, demand: &mut Vec<f64>| {
            expected += p;
            add_trial(demand, p);
        };
        for i in 0..f.answered as usize {
            let p = f
                .answered_ms
                .get(i)
                .and_then(|ms| self.measured.reaches_yet(*ms))
                .unwrap_or(answered_reach);
            chance(p, &mut demand);
        }
        let ringing = f.on_the_way.saturating_sub(f.answered);
        for ms in f.ringing_ms.iter().take(ringing as usize) {
            let p = self
                .measured
                .answered_yet(*ms)
                .map_or(reach, |p| p * answered_reach);
            chance(p, &mut demand);
        }
        for _ in f.ringing_ms.len() as u32..ringing {
            chance(reach, &mut demand);
        }
        // Callers beyond the agents: E[(queue + demand − sure free − supply)+].
        let offset = i64::from(f.queue) - sure_free as i64;
        let room = s.lines.saturating_sub(f.on_the_way);
        let mut more = 0u32;
        let mut over = overflow(&demand, &supply, offset);
        while more < room {
            let mut next = demand.clone();
            add_trial(&mut next, reach);
            let over_next = overflow(&next, &supply, offset);
            if over_next > self.level * s.abandon_target * (expected + reach) {
                break;
            }
            demand = next;
            over = over_next;
            expected += reach;
            more += 1;
        }
        let freeing: f64 = supply.iter().enumerate().map(|(i, p)| i as f64 * p).sum();
        Decision {
            allowed: (f.on_the_way + more).min(s.lines),
            mode: Mode::Predictive,
            why: format!(
                "predictive: {free} agents free, {:.1} more expected free within {:.0} s; \
                 {} waiting and {:.1} callers expected from {} calls on their way and {more} \
                 new; {over:.2} expected left without an agent at level {:.2}",
                sure_free as f64 - free as f64 + freeing,
                horizon / 1000.0,
                f.queue,
                expected - f64::from(f.queue),
                f.on_the_way,
                self.level
            ),
        }
    }

    fn robot_lines(&mut self, s: &Settings, f: &Floor, online: usize, free: usize) -> Decision {
        let talk = self.measured.talk_ms.or(s.talk_ms as f64);
        let wrap = self.measured.wrap_ms.or(s.wrap_ms as f64);
        // A new caller waits for the callers ahead — those in the queue and those answered
        // and on their way to it, by the measured share that gets there — and then for the
        // first agent to free up.
        let reach = 1.0 / self.per_agent(s);
        let ahead = f64::from(f.queue)
            + f64::from(f.answered) * self.measured.answered_reach.or(reach).max(reach);
        let wait_ms = if free as f64 > ahead {
            0.0
        } else if online == 0 {
            // Nobody to wait for: lower the lines only once callers do wait.
            if f.queue == 0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (ahead - free as f64 + 1.0) * (talk + wrap) / online as f64
        };
        let mut eff = self.effective_lines.unwrap_or(s.lines).min(s.lines);
        let may_change = self
            .lines_changed_ms
            .is_none_or(|t| f.now_ms - t >= LINES_STEP_MS);
        let target = s.queue_target_ms as f64;
        if may_change && wait_ms > target && eff > 1 {
            eff -= (eff / 5).max(1);
            self.lines_changed_ms = Some(f.now_ms);
        } else if may_change && wait_ms <= target / 2.0 && eff < s.lines {
            eff += 1;
            self.lines_changed_ms = Some(f.now_ms);
        }
        self.effective_lines = Some(eff);
        let why = if eff < s.lines {
            format!(
                "robot: {eff} of {} lines, the transfer queue's expected wait {:.0} s against \
                 a target of {:.0} s",
                s.lines,
                wait_ms.min(99_999_000.0) / 1000.0,
                target / 1000.0
            )
        } else {
            format!("robot: {} lines, agents keep up", s.lines)
        };
        Decision {
            allowed: eff,
            mode: Mode::Robot,
            why,
        }
    }

    /// A transfer ended at `at_ms`: served by an agent, or abandoned (no agent within the
    /// wait, or the caller hung up in the queue). Moves the predictive dial level: down hard
    /// on a burst of abandons, down on one over the target, slowly up while under it.
    pub fn transfer_ended(&mut self, s: &Settings, at_ms: i64, abandoned: bool) {
        self.outcomes.push_back((at_ms, abandoned));
        while self
            .outcomes
            .front()
            .is_some_and(|(t, _)| at_ms - t > ABANDON_WINDOW_MS)
        {
            self.outcomes.pop_front();
        }
        // Each outcome moves the level by exp(LEVEL_STEP × (aim − outcome)): up a little per
        // served call, down more per abandon, so the level settles where the abandoned
        // share is the aim (a stochastic approximation; a fixed step never settles).
        let aim = s.abandon_target * AIM;
        let outcome = if abandoned { 1.0 } else { 0.0 };
        self.level *= (LEVEL_STEP * (aim - outcome)).exp();
        if abandoned {
            // A burst: at least `BURST_ABANDONS` abandons within a minute, over twice the
            // target's share of that minute's transfers — cut once per minute.
            let (mut ended, mut lost) = (0usize, 0usize);
            for (_, a) in self.outcomes.iter().filter(|(t, _)| at_ms - t <= BURST_MS) {
                ended += 1;
                lost += usize::from(*a);
            }
            let cooled = self.burst_ms.is_none_or(|t| at_ms - t > BURST_MS);
            if cooled
                && lost >= BURST_ABANDONS
                && lost as f64 > 2.0 * s.abandon_target * ended as f64
            {
                self.level *= BURST_CUT;
                self.burst_ms = Some(at_ms);
            }
        }
        self.level = self.level.clamp(LEVEL_MIN, LEVEL_MAX);
    }

    /// The share of abandoned transfers over the last `ABANDON_WINDOW_MS`, if any ended.
    pub fn abandon_share(&self) -> Option<f64> {
        if self.outcomes.is_empty() {
            return None;
        }
        let abandoned = self.outcomes.iter().filter(|(_, a)| *a).count();
        Some(abandoned as f64 / self.outcomes.len() as f64)
    }
}

fn reached_share(robot: &VecDeque<(f64, bool)>) -> f64 {
    let reached = robot.iter().filter(|(_, r)| *r).count();
    reached as f64 / robot.len().max(1) as f64
}

/// Adds an independent trial of chance `p` to the distribution of a count.
fn add_trial(dist: &mut Vec<f64>, p: f64) {
    let p = p.clamp(0.0, 1.0);
    dist.push(0.0);
    for i in (1..dist.len()).rev() {
        dist[i] = dist[i] * (1.0 - p) + dist[i - 1] * p;
    }
    dist[0] *= 1.0 - p;
}

/// E[(offset + X − Y)+] for independent counts X (`demand`) and Y (`supply`).
fn overflow(demand: &[f64], supply: &[f64], offset: i64) -> f64 {
    // g(n) = E[(n − Y)+]; g(n + 1) = g(n) + P(Y ≤ n).
    let mut total = 0.0;
    for (x, px) in demand.iter().enumerate() {
        if *px < 1e-12 {
            continue;
        }
        let n = offset + x as i64;
        if n <= 0 {
            continue;
        }
        let g: f64 = supply
            .iter()
            .enumerate()
            .map(|(y, py)| py * (n - y as i64).max(0) as f64)
            .sum();
        total += px * g;
    }
    total
}

fn progressive(s: &Settings, free: usize, queue: u32, why: &str) -> Decision {
    let free = free.saturating_sub(queue as usize);
    let allowed = ((free as f64) * s.calls_per_agent.max(1.0)).floor() as u32;
    Decision {
        allowed: allowed.min(s.lines),
        mode: Mode::Progressive,
        why: format!("{why}: {free} agents free"),
    }
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
