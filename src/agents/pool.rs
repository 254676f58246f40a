//! The agents and the transfer queue as a pure state machine over an injected clock (unix ms
//! passed in): who is free, who is the most idle, which waiting caller gets which agent.
//! Nothing here waits, reads a clock or touches a socket: the service (`super::service`) feeds
//! it events and carries out its assignments. docs/agents.md describes the rules.
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub type AgentId = i64;

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Not registered, switched off, or disabled.
    Offline,
    /// Free for the next transfer.
    Available,
    /// A transferred call is ringing on their phone.
    Ringing,
    /// On a call.
    Talking,
    /// After-call work: available again when it ends.
    WrapUp,
    /// On a break (the reason says why; "missed a call" when set by the robot).
    Paused,
}

impl AgentState {
    pub const NAMES: [&'static str; 6] = [
        "offline",
        "available",
        "ringing",
        "talking",
        "wrap_up",
        "paused",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Offline => "offline",
            AgentState::Available => "available",
            AgentState::Ringing => "ringing",
            AgentState::Talking => "talking",
            AgentState::WrapUp => "wrap_up",
            AgentState::Paused => "paused",
        }
    }
}

/// The reason the robot gives an agent it pauses after an unanswered transfer.
pub const MISSED_A_CALL: &str = "missed a call";
/// The reason of an agent held for the preview call they placed (docs/pacing.md): offered no
/// other caller until it reaches them or ends.
pub const PREVIEW_CALL: &str = "preview call";

/// An agent as configured (from the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: AgentId,
    pub name: String,
    /// The projects the agent serves; `None`: every project (simulated agents).
    pub projects: Option<BTreeSet<i64>>,
    pub enabled: bool,
    /// Whether the agent can be reached without registering (a fixed SIP URI, a simulated
    /// agent): such an agent starts `available`; a registering one starts `offline`.
    pub always_reachable: bool,
    /// A pause for a missed call ends by itself after this long (simulated agents: nobody
    /// is there to come back from it); `None`: the agent comes back through the API.
    pub missed_pause_ms: Option<i64>,
}

/// An agent's live state, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentLive {
    pub state: AgentState,
    /// When the state began (unix ms).
    pub since_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Calls answered today (UTC day of the clock).
    pub calls_today: u32,
    /// Talk time today, ms.
    pub talk_ms_today: u64,
    /// When the agent's last call ended (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_call_end_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct Agent {
    info: AgentInfo,
    live: AgentLive,
    /// Registered now (for registering agents).
    registered: bool,
    /// When wrap-up (or a missed call's timed pause) ends.
    wrap_until_ms: Option<i64>,
    /// When the current call was answered.
    talk_from_ms: Option<i64>,
    /// The project of the call the agent is on or wrapping up (pacing's measurements).
    serving: Option<i64>,
    /// The UTC day the `_today` counters are of.
    day: i64,
}

/// A caller waiting for an agent.
#[derive(Debug, Clone)]
struct Waiting {
    call: String,
    project: i64,
    since_ms: i64,
    /// The agent ringing for this caller now.
    ringing: Option<AgentId>,
    /// Agents already tried for this caller (each missed it).
    tried: BTreeSet<AgentId>,
    /// A preview call's caller goes to this agent alone.
    only: Option<AgentId>,
}

/// What pacing learns from the floor (docs/pacing.md), in order; the dialer takes them each
/// pass (`Pool::take_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloorEvent {
    /// A caller of `project` started waiting for an agent.
    Queued {
        project: i64,
        call: String,
        at_ms: i64,
    },
    /// An agent answered a caller who had waited `wait_ms`.
    Served {
        project: i64,
        wait_ms: i64,
        at_ms: i64,
    },
    /// A caller left the queue without an agent (hung up, or waited the longest allowed).
    Left {
        project: i64,
        wait_ms: i64,
        at_ms: i64,
    },
    /// An agent's call ended after `ms` of talk.
    Talked { project: i64, ms: i64 },
    /// An agent's after-call work ended after `ms` (0: written during the call).
    Wrapped { project: i64, ms: i64 },
}

/// Floor events kept for a dialer that does not take them (a `call` without one): the
/// oldest go first.
const MAX_EVENTS: usize = 10_000;

/// An agent chosen for a waiting caller: the service dials the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub call: String,
    pub agent: AgentId,
}

/// How a ringing agent missed a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Did not answer in time, or rejected it: paused ("missed a call").
    NoAnswer,
    /// Could not be reached (no registration, a network error): offline.
    Unreachable,
    /// The caller left while it rang: not the agent's fault, available again.
    CallerLeft,
}

/// A state an agent (or an admin) sets through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manual {
    Available,
    Paused(String),
    Offline,
}

/// Why a manual state change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualError {
    NoSuchAgent,
    /// The agent is on a call (ringing, talking): the change waits for its end.
    OnACall(AgentState),
    /// Disabled agents stay offline.
    Disabled,
    /// A registering agent that is not registered cannot be made available.
    NotRegistered,
}

const DAY_MS: i64 = 86_400_000;

/// The agents and the queue of callers waiting for one.
#[derive(Debug, Default)]
pub struct Pool {
    agents: BTreeMap<AgentId, Agent>,
    queue: VecDeque<Waiting>,
    events: VecDeque<FloorEvent>,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an agent or updates its configuration (a disabled agent goes offline; an enabled
    /// always-reachable one that was offline becomes available).
    pub fn upsert(&mut self, info: AgentInfo, now: i64) {
        let day = now.div_euclid(DAY_MS);
        let start = if info.enabled && info.always_reachable {
            AgentState::Available
        } else {
            AgentState::Offline
        };
        match self.agents.get_mut(&info.id) {
            Some(a) => {
                let was_enabled = a.info.enabled;
                a.info = info;
                if !a.info.enabled && !a.on_a_call() {
                    a.set(AgentState::Offline, now, Some("disabled".into()));
                } else if a.info.enabled
                    && !was_enabled
                    && (a.info.always_reachable || a.registered)
                {
                    a.set(AgentState::Available, now, None);
                }
            }
            None => {
                self.agents.insert(
                    info.id,
                    Agent {
                        info,
                        live: AgentLive {
                            state: start,
                            since_ms: now,
                            reason: None,
                            calls_today: 0,
                            talk_ms_today: 0,
                            last_call_end_ms: None,
                        },
                        registered: false,
                        wrap_until_ms: None,
                        talk_from_ms: None,
                        serving: None,
                        day,
                    },
                );
            }
        }
    }

    /// Forgets an agent (a call it is on goes on; it is simply not offered again).
    pub fn remove(&mut self, id: AgentId) {
        self.agents.remove(&id);
    }

    /// A registration appeared (`true`) or expired / was removed (`false`).
    pub fn set_registered(&mut self, id: AgentId, registered: bool, now: i64) {
        let Some(a) = self.agents.get_mut(&id) else {
            return;
        };
        a.registered = registered;
        if a.on_a_call() {
            return;
        }
        match (registered, a.live.state) {
            (true, AgentState::Offline) if a.info.enabled => {
                a.set(AgentState::Available, now, None)
            }
            (false, s) if s != AgentState::Offline && !a.info.always_reachable => {
                a.set(AgentState::Offline, now, Some("registration ended".into()))
            }
            _ => {}
        }
    }

    /// Holds an available agent for the preview call they place: paused (`PREVIEW_CALL`), so
    /// no other caller is offered to them; their own caller is.
    pub fn hold_for_preview(&mut self, id: AgentId, now: i64) -> Result<(), ManualError> {
        let a = self.agents.get_mut(&id).ok_or(ManualError::NoSuchAgent)?;
        if !a.info.enabled {
            return Err(ManualError::Disabled);
        }
        if a.live.state != AgentState::Available {
            return Err(ManualError::OnACall(a.live.state));
        }
        a.set(AgentState::Paused, now, Some(PREVIEW_CALL.into()));
        Ok(())
    }

    /// The preview call ended without reaching the agent: available again (if still held).
    pub fn release_preview(&mut self, id: AgentId, now: i64) {
        if let Some(a) = self.agents.get_mut(&id) {
            if a.held_for_preview() {
                a.set_free(now);
            }
        }
    }

    /// An agent's own change of state (a break, back from one, going offline).
    pub fn set_manual(&mut self, id: AgentId, to: Manual, now: i64) -> Result<(), ManualError> {
        let a = self.agents.get_mut(&id).ok_or(ManualError::NoSuchAgent)?;
        if a.on_a_call() {
            return Err(ManualError::OnACall(a.live.state));
        }
        match to {
            Manual::Available => {
                if !a.info.enabled {
                    return Err(ManualError::Disabled);
                }
                if !a.info.always_reachable && !a.registered {
                    return Err(ManualError::NotRegistered);
                }
                a.wrap_until_ms = None;
                a.set(AgentState::Available, now, None);
            }
            Manual::Paused(reason) => {
                a.wrap_until_ms = None;
                a.set(AgentState::Paused, now, Some(reason));
            }
            Manual::Offline => {
                a.wrap_until_ms = None;
                a.set(AgentState::Offline, now, Some("set offline".into()));
            }
        }
        Ok(())
    }

    /// A caller of `project` starts waiting (first come, first served).
    pub fn enqueue(&mut self, call: &str, project: i64, now: i64) {
        self.enqueue_for(call, project, None, now);
    }

    /// As `enqueue`, for one agent alone when `only` names one (a preview call).
    pub fn enqueue_for(&mut self, call: &str, project: i64, only: Option<AgentId>, now: i64) {
        if self.queue.iter().any(|w| w.call == call) {
            return;
        }
        self.queue.push_back(Waiting {
            call: call.to_string(),
            project,
            since_ms: now,
            ringing: None,
            tried: BTreeSet::new(),
            only,
        });
        self.event(FloorEvent::Queued {
            project,
            call: call.to_string(),
            at_ms: now,
        });
    }

    fn event(&mut self, e: FloorEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The floor events since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<FloorEvent> {
        self.events.drain(..).collect()
    }

    /// The agents who serve `project`, as (state, since when), and how many of them are on a
    /// call of this project now (ringing for one of its callers, or talking to one).
    pub fn floor(&self, project: i64) -> (Vec<(AgentState, i64)>, usize) {
        let mut on_its_calls = 0;
        let states = self
            .agents
            .values()
            .filter(|a| a.info.enabled && a.serves(project))
            .map(|a| {
                if a.live.state == AgentState::Talking && a.serving == Some(project) {
                    on_its_calls += 1;
                }
                (a.live.state, a.live.since_ms)
            })
            .collect();
        (states, on_its_calls)
    }

    /// The caller stops waiting (hung up, timed out): answers the agent that was ringing for
    /// them, which is available again.
    pub fn leave(&mut self, call: &str, now: i64) -> Option<AgentId> {
        let pos = self.queue.iter().position(|w| w.call == call)?;
        let w = self.queue.remove(pos)?;
        self.event(FloorEvent::Left {
            project: w.project,
            wait_ms: now - w.since_ms,
            at_ms: now,
        });
        if let Some(agent) = w.ringing {
            self.release(agent, now);
        }
        w.ringing
    }

    /// Chooses agents for waiting callers, oldest caller first: each gets the most idle
    /// available agent who serves its project and has not missed this caller yet. The chosen
    /// agents are `ringing`.
    pub fn assign(&mut self, now: i64) -> Vec<Assignment> {
        self.roll_day(now);
        let mut out = Vec::new();
        for w in self.queue.iter_mut().filter(|w| w.ringing.is_none()) {
            let best = self
                .agents
                .values()
                .filter(|a| {
                    let free = match w.only {
                        None => a.live.state == AgentState::Available,
                        Some(only) => {
                            a.info.id == only
                                && (a.live.state == AgentState::Available || a.held_for_preview())
                        }
                    };
                    free && a.info.enabled && a.serves(w.project) && !w.tried.contains(&a.info.id)
                })
                .min_by_key(|a| (a.idle_since(), a.info.id))
                .map(|a| a.info.id);
            let Some(id) = best else { continue };
            if let Some(a) = self.agents.get_mut(&id) {
                a.set(AgentState::Ringing, now, None);
            }
            w.ringing = Some(id);
            out.push(Assignment {
                call: w.call.clone(),
                agent: id,
            });
        }
        out
    }

    /// The agent ringing for `call` answered: the caller leaves the queue, the agent talks.
    pub fn answered(&mut self, call: &str, agent: AgentId, now: i64) {
        let mut project = None;
        if let Some(pos) = self.queue.iter().position(|w| w.call == call) {
            if let Some(w) = self.queue.remove(pos) {
                project = Some(w.project);
                self.event(FloorEvent::Served {
                    project: w.project,
                    wait_ms: now - w.since_ms,
                    at_ms: now,
                });
            }
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.set(AgentState::Talking, now, None);
            a.talk_from_ms = Some(now);
            a.serving = project;
        }
    }

    /// The agent ringing for `call` missed it: the caller waits on (for the next agent, in
    /// their place in the queue); the agent is paused, offline or available by `how`.
    pub fn missed(&mut self, call: &str, agent: AgentId, how: Miss, now: i64) {
        if let Some(w) = self.queue.iter_mut().find(|w| w.call == call) {
            if w.ringing == Some(agent) {
                w.ringing = None;
            }
            if how != Miss::CallerLeft {
                w.tried.insert(agent);
            }
        }
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        match how {
            Miss::NoAnswer => {
                a.set(AgentState::Paused, now, Some(MISSED_A_CALL.into()));
                a.wrap_until_ms = a.info.missed_pause_ms.map(|d| now + d);
            }
            Miss::Unreachable => a.set(AgentState::Offline, now, Some("unreachable".into())),
            Miss::CallerLeft => a.set_free(now),
        }
    }

    /// The agent's call ended: wrap-up for `wrap_up_ms` (then available), counted in today's
    /// calls and talk time.
    pub fn ended(&mut self, agent: AgentId, wrap_up_ms: i64, now: i64) {
        self.roll_day(now);
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        let mut talked = None;
        if let Some(from) = a.talk_from_ms.take() {
            a.live.calls_today += 1;
            a.live.talk_ms_today += (now - from).max(0) as u64;
            talked = a.serving.map(|project| (project, (now - from).max(0)));
        }
        a.live.last_call_end_ms = Some(now);
        if wrap_up_ms > 0 {
            a.wrap_until_ms = Some(now + wrap_up_ms);
            a.set(AgentState::WrapUp, now, None);
        } else {
            a.serving = None;
            a.set_free(now);
        }
        if let Some((project, ms)) = talked {
            self.event(FloorEvent::Talked { project, ms });
            if wrap_up_ms <= 0 {
                self.event(FloorEvent::Wrapped { project, ms: 0 });
            }
        }
    }

    /// The agent's wrap-up was written (the agent desk): after-call work ends now — available
    /// (or offline, if that is what the agent is now). Answers whether it was in wrap-up.
    pub fn end_wrap_up(&mut self, id: AgentId, now: i64) -> bool {
        let Some(a) = self.agents.get_mut(&id) else {
            return false;
        };
        if a.live.state != AgentState::WrapUp {
            return false;
        }
        let (since, project) = (a.live.since_ms, a.serving.take());
        a.wrap_until_ms = None;
        a.set_free(now);
        if let Some(project) = project {
            self.event(FloorEvent::Wrapped {
                project,
                ms: now - since,
            });
        }
        true
    }

    /// Ends the wrap-ups that are over; answers whether any agent became available.
    pub fn tick(&mut self, now: i64) -> bool {
        self.roll_day(now);
        let mut freed = false;
        let mut wrapped = Vec::new();
        for a in self.agents.values_mut() {
            let timed = matches!(a.live.state, AgentState::WrapUp | AgentState::Paused);
            if timed && a.wrap_until_ms.is_some_and(|t| t <= now) {
                if a.live.state == AgentState::WrapUp {
                    if let Some(project) = a.serving.take() {
                        wrapped.push((project, now - a.live.since_ms));
                    }
                }
                a.wrap_until_ms = None;
                a.set_free(now);
                freed = true;
            }
        }
        for (project, ms) in wrapped {
            self.event(FloorEvent::Wrapped { project, ms });
        }
        freed
    }

    /// The next moment `tick` has something to do.
    pub fn next_wake(&self) -> Option<i64> {
        self.agents.values().filter_map(|a| a.wrap_until_ms).min()
    }

    /// One agent's live state.
    pub fn live(&self, id: AgentId) -> Option<&AgentLive> {
        self.agents.get(&id).map(|a| &a.live)
    }

    /// Callers of `project` waiting now (ringing agents included).
    pub fn waiting(&self, project: i64) -> usize {
        self.queue.iter().filter(|w| w.project == project).count()
    }

    /// Since when the longest-waiting caller of `project` waits (unix ms), if any waits.
    pub fn oldest_wait(&self, project: i64) -> Option<i64> {
        self.queue
            .iter()
            .filter(|w| w.project == project)
            .map(|w| w.since_ms)
            .min()
    }

    /// A caller's place in the queue of its project (1 = next).
    pub fn place(&self, call: &str) -> Option<usize> {
        let w = self.queue.iter().find(|w| w.call == call)?;
        Some(
            self.queue
                .iter()
                .filter(|o| o.project == w.project && o.since_ms <= w.since_ms)
                .position(|o| o.call == call)?
                + 1,
        )
    }

    /// Callers waiting now, all projects.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Whether agent `id` is enabled and serves `project`.
    pub fn serves(&self, id: AgentId, project: i64) -> bool {
        self.agents
            .get(&id)
            .is_some_and(|a| a.info.enabled && a.serves(project))
    }

    /// Agents who serve `project` and are enabled (whatever their state).
    pub fn members(&self, project: i64) -> usize {
        self.agents
            .values()
            .filter(|a| a.info.enabled && a.serves(project))
            .count()
    }

    /// How many agents are in each state.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for a in self.agents.values() {
            *m.entry(a.live.state.as_str()).or_insert(0) += 1;
        }
        m
    }

    fn release(&mut self, agent: AgentId, now: i64) {
        if let Some(a) = self.agents.get_mut(&agent) {
            if a.live.state == AgentState::Ringing {
                a.set_free(now);
            }
        }
    }

    fn roll_day(&mut self, now: i64) {
        let day = now.div_euclid(DAY_MS);
        for a in self.agents.values_mut() {
            if a.day != day {
                a.day = day;
                a.live.calls_today = 0;
                a.live.talk_ms_today = 0;
            }
        }
    }
}

impl Agent {
    fn set(&mut self, state: AgentState, now: i64, reason: Option<String>) {
        self.live.state = state;
        self.live.since_ms = now;
        self.live.reason = reason;
    }

    fn held_for_preview(&self) -> bool {
        self.live.state == AgentState::Paused && self.live.reason.as_deref() == Some(PREVIEW_CALL)
    }

    fn on_a_call(&self) -> bool {
        matches!(self.live.state, AgentState::Ringing | AgentState::Talking)
    }

    /// Available, or offline/disabled if that is what it is now.
    fn set_free(&mut self, now: i64) {
        if !self.info.enabled {
            self.set(AgentState::Offline, now, Some("disabled".into()));
        } else if !self.info.always_reachable && !self.registered {
            self.set(AgentState::Offline, now, Some("registration ended".into()));
        } else {
            self.set(AgentState::Available, now, None);
        }
    }

    fn serves(&self, project: i64) -> bool {
        self.info
            .projects
            .as_ref()
            .is_none_or(|p| p.contains(&project))
    }

    /// Most idle = longest since the last call ended (or since they became available).
    fn idle_since(&self) -> i64 {
        self.live.last_call_end_ms.unwrap_or(self.live.since_ms)
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
