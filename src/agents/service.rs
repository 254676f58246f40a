//! The agents at run time: the pure `Pool` behind a lock, fed by calls (a caller waits, an
//! agent answered, missed, ended), registrations and the API, on an injected clock. Each
//! change hands the pool's assignments to the waiting calls (`Ticket`), which dial the agent
//! through its `AgentLine` (SIP or simulated: the transfer code does not know which). Each
//! ringing agent gets the waiting caller's card (`card`), which the agent desk shows; every
//! change is announced on a `watch` the desks subscribe to (no polling).
use super::card::{CallCard, DeskCall, DeskCalls};
use super::pool::{
    AgentId, AgentInfo, AgentLive, AgentState, Assignment, Manual, ManualError, Miss, Pool,
};
use crate::telephony::trunk::{Leg, TrunkError};
use crate::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

/// Every agent state, as `/metrics` labels them.
const STATES: [&str; 6] = [
    "offline",
    "available",
    "ringing",
    "talking",
    "wrap_up",
    "paused",
];

/// Now, in unix ms (the injected clock).
pub type NowMs = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A transferred call as the agent's phone is to show it.
#[derive(Debug, Clone, Default)]
pub struct AgentDial {
    /// Our id of the agent's leg (logs, SIP Call-ID).
    pub call_id: String,
    /// The From display name: the contact's name and the result («Иванов Иван — Хочу
    /// записаться»).
    pub display: String,
    /// The contact's fields and what the robot heard (`X-Autoinformer-*`).
    pub headers: Vec<(String, String)>,
}

/// How an agent is reached.
pub trait AgentLine: Send + Sync {
    /// Places the call to the agent; the leg behaves as a trunk's does.
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>>;
}

/// An agent given to a waiting call: the call dials it.
#[derive(Clone)]
pub struct Offer {
    pub agent: AgentId,
    pub name: String,
    pub line: Arc<dyn AgentLine>,
}

struct Inner {
    pool: Pool,
    lines: BTreeMap<AgentId, Arc<dyn AgentLine>>,
    names: BTreeMap<AgentId, String>,
    waiters: HashMap<String, mpsc::UnboundedSender<Offer>>,
    /// The waiting callers' cards, by call.
    cards: HashMap<String, Arc<CallCard>>,
    /// Each agent's current or last transferred call (the agent desk).
    desk: DeskCalls,
}

/// The agents of this process.
pub struct Agents {
    inner: Mutex<Inner>,
    now: NowMs,
    wake: Notify,
    /// Counts changes of any agent's state or call: the agent desks wait on it.
    changes: watch::Sender<u64>,
}

impl Agents {
    pub fn new(now: NowMs) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                pool: Pool::new(),
                lines: BTreeMap::new(),
                names: BTreeMap::new(),
                waiters: HashMap::new(),
                cards: HashMap::new(),
                desk: DeskCalls::default(),
            }),
            now,
            wake: Notify::new(),
            changes: watch::channel(0).0,
        })
    }

    /// Changes of the agents (states, calls) from now on: `changed()` wakes after each.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells the subscribers that something changed.
    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the pool as it was between two events.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now by the injected clock.
    pub fn now_ms(&self) -> i64 {
        (self.now)()
    }

    /// Adds or updates an agent; `line` is how it is reached (`None`: not reachable now, e.g.
    /// a registering agent without a registration).
    pub fn upsert(&self, info: AgentInfo, line: Option<Arc<dyn AgentLine>>) {
        let now = self.now_ms();
        let mut g = self.lock();
        let id = info.id;
        g.names.insert(id, info.name.clone());
        match line {
            Some(l) => {
                g.lines.insert(id, l);
            }
            None => {
                g.lines.remove(&id);
            }
        }
        g.pool.upsert(info, now);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
    }

    /// Forgets an agent.
    pub fn remove(&self, id: AgentId) {
        let mut g = self.lock();
        g.pool.remove(id);
        g.lines.remove(&id);
        g.names.remove(&id);
        g.desk.remove(id);
        drop(g);
        self.changed();
    }

    /// A registration of `id` appeared (with the line to reach it) or ended.
    pub fn set_registered(&self, id: AgentId, line: Option<Arc<dyn AgentLine>>) {
        let now = self.now_ms();
        let mut g = self.lock();
        let on = line.is_some();
        match line {
            Some(l) => {
                g.lines.insert(id, l);
            }
            None => {
                g.lines.remove(&id);
            }
        }
        g.pool.set_registered(id, on, now);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
    }

    /// An agent's own change of state.
    pub fn set_manual(&self, id: AgentId, to: Manual) -> Result<(), ManualError> {
        let now = self.now_ms();
        let mut g = self.lock();
        g.pool.set_manual(id, to, now)?;
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
        Ok(())
    }

    /// Agent `id` wrote the wrap-up of stored call `call_id` (the agent desk, the API): its
    /// after-call work ends now. Answers whether it was in wrap-up.
    pub fn wrapped_up(&self, id: AgentId, call_id: i64, disposition: &str) -> bool {
        let now = self.now_ms();
        let mut g = self.lock();
        g.desk.wrapped_up(id, call_id, disposition);
        let ended = g.pool.end_wrap_up(id, now);
        if ended {
            self.dispatch(&mut g, now);
        }
        drop(g);
        self.changed();
        ended
    }

    /// Agent `id`'s current or last transferred call, as the agent desk shows it.
    pub fn desk_call(&self, id: AgentId) -> Option<DeskCall> {
        self.lock().desk.get(id).cloned()
    }

    /// Whether agent `id` answered stored call `call_id` (their current or last call).
    pub fn answered_by(&self, id: AgentId, call_id: i64) -> bool {
        self.lock().desk.answered_by(id, call_id)
    }

    /// One agent's live state.
    pub fn live(&self, id: AgentId) -> Option<AgentLive> {
        self.lock().pool.live(id).cloned()
    }

    /// Callers of `project` waiting for an agent now.
    pub fn waiting(&self, project: i64) -> usize {
        self.lock().pool.waiting(project)
    }

    /// Holds an available agent for the preview call they place (docs/pacing.md).
    pub fn hold_for_preview(&self, id: AgentId) -> Result<(), ManualError> {
        let now = self.now_ms();
        let r = self.lock().pool.hold_for_preview(id, now);
        self.changed();
        r
    }

    /// A preview call ended: its agent, if still held for it, is available again.
    pub fn release_preview(&self, id: AgentId) {
        let now = self.now_ms();
        let mut g = self.lock();
        g.pool.release_preview(id, now);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
    }

    /// Whether agent `id` serves `project` (and is enabled).
    pub fn serves(&self, id: AgentId, project: i64) -> bool {
        let g = self.lock();
        g.pool.serves(id, project)
    }

    /// The floor events since the last call (pacing, docs/pacing.md).
    pub fn take_events(&self) -> Vec<crate::agents::pool::FloorEvent> {
        self.lock().pool.take_events()
    }

    /// The agents serving `project` as (state, since when), how many talk to its callers now,
    /// and how many of its callers wait (ringing agents included).
    pub fn floor(&self, project: i64) -> (Vec<(AgentState, i64)>, usize, usize) {
        let g = self.lock();
        let (states, talking) = g.pool.floor(project);
        (states, talking, g.pool.waiting(project))
    }

    /// Since when the longest-waiting caller of `project` waits (unix ms), if any waits.
    pub fn oldest_wait(&self, project: i64) -> Option<i64> {
        self.lock().pool.oldest_wait(project)
    }

    /// Every agent's live state.
    pub fn all_live(&self) -> BTreeMap<AgentId, AgentLive> {
        let g = self.lock();
        g.names
            .keys()
            .filter_map(|id| g.pool.live(*id).map(|l| (*id, l.clone())))
            .collect()
    }

    /// A caller of `project` starts waiting for an agent; the agent whose phone rings for
    /// them gets `card`. Dropping the ticket leaves the queue (a caller who hung up or waited
    /// too long).
    pub fn wait(self: &Arc<Self>, call: &str, project: i64, card: Arc<CallCard>) -> Ticket {
        let now = self.now_ms();
        let (tx, rx) = mpsc::unbounded_channel();
        let mut g = self.lock();
        g.waiters.insert(call.to_string(), tx);
        let only = card.preview_agent;
        g.cards.insert(call.to_string(), card);
        g.pool.enqueue_for(call, project, only, now);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
        Ticket {
            agents: self.clone(),
            call: call.to_string(),
            offers: rx,
            done: false,
        }
    }

    /// The agent offered to `call` answered.
    pub fn answered(&self, call: &str, agent: AgentId) {
        let now = self.now_ms();
        let mut g = self.lock();
        g.waiters.remove(call);
        g.cards.remove(call);
        g.pool.answered(call, agent, now);
        g.desk.answered(agent, call);
        drop(g);
        self.changed();
    }

    /// The agent offered to `call` missed it; the caller waits on.
    pub fn missed(&self, call: &str, agent: AgentId, how: Miss) {
        let now = self.now_ms();
        let mut g = self.lock();
        g.pool.missed(call, agent, how, now);
        g.desk.gone(agent, call);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
    }

    /// The agent's call ended: wrap-up for `wrap_up`, then available (none when the agent
    /// wrote the wrap-up during the call).
    pub fn ended(&self, agent: AgentId, wrap_up: Duration) {
        let now = self.now_ms();
        let mut g = self.lock();
        let written = g.desk.ended(agent);
        let wrap_up_ms = if written {
            0
        } else {
            wrap_up.as_millis() as i64
        };
        g.pool.ended(agent, wrap_up_ms, now);
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
        self.wake.notify_one();
    }

    fn leave(&self, call: &str) {
        let now = self.now_ms();
        let mut g = self.lock();
        g.waiters.remove(call);
        g.cards.remove(call);
        if let Some(agent) = g.pool.leave(call, now) {
            g.desk.gone(agent, call);
        }
        self.dispatch(&mut g, now);
        drop(g);
        self.changed();
    }

    /// Hands the pool's assignments to the waiting calls. A call that is gone frees its agent
    /// at once.
    fn dispatch(&self, g: &mut Inner, now: i64) {
        loop {
            let assigned: Vec<Assignment> = g.pool.assign(now);
            if assigned.is_empty() {
                return;
            }
            let mut gone = Vec::new();
            for a in assigned {
                let offer = g.lines.get(&a.agent).map(|line| Offer {
                    agent: a.agent,
                    name: g.names.get(&a.agent).cloned().unwrap_or_default(),
                    line: line.clone(),
                });
                let sent = match (offer, g.waiters.get(&a.call)) {
                    (Some(o), Some(tx)) => {
                        let sent = tx.send(o).is_ok();
                        if let Some(card) = g.cards.get(&a.call).filter(|_| sent).cloned() {
                            g.desk.ringing(a.agent, &a.call, card, now);
                        }
                        sent
                    }
                    (None, Some(_)) => {
                        // No way to reach the agent now: offline, the caller waits on.
                        g.pool.missed(&a.call, a.agent, Miss::Unreachable, now);
                        continue;
                    }
                    _ => false,
                };
                if !sent {
                    gone.push(a.call);
                }
            }
            if gone.is_empty() {
                return;
            }
            for call in gone {
                g.waiters.remove(&call);
                g.cards.remove(&call);
                g.pool.leave(&call, now);
            }
        }
    }

    /// Ends wrap-ups on time and offers the freed agents, until `stop`; keeps the agents'
    /// gauges in `/metrics` (agents by state, callers waiting).
    pub async fn run(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        loop {
            let wait = {
                let now = self.now_ms();
                let mut g = self.lock();
                if g.pool.tick(now) {
                    self.dispatch(&mut g, now);
                    self.changed();
                }
                let counts = g.pool.counts();
                for s in STATES {
                    let n = counts.get(s).copied().unwrap_or(0);
                    metrics::gauge!("autoinformer_agents", "state" => s).set(n as f64);
                }
                metrics::gauge!("autoinformer_transfer_queue").set(g.pool.queue_len() as f64);
                g.pool
                    .next_wake()
                    .map(|t| Duration::from_millis((t - now).clamp(1, 1_000) as u64))
                    .unwrap_or(Duration::from_secs(1))
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

/// A caller's place in the queue: the agents offered to it arrive here.
pub struct Ticket {
    agents: Arc<Agents>,
    call: String,
    offers: mpsc::UnboundedReceiver<Offer>,
    done: bool,
}

impl Ticket {
    /// The next agent offered to this caller.
    pub async fn next(&mut self) -> Option<Offer> {
        self.offers.recv().await
    }

    /// The offered agent answered: the caller is out of the queue.
    pub fn answered(&mut self, agent: AgentId) {
        self.done = true;
        self.agents.answered(&self.call, agent);
    }

    /// The offered agent missed the call; the caller waits on.
    pub fn missed(&mut self, agent: AgentId, how: Miss) {
        self.agents.missed(&self.call, agent, how);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            self.agents.leave(&self.call);
        }
    }
}
