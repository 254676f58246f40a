//! The dialer task: applies the pure decisions to the store and places calls through the trunk.
//! Each pass (every second), for every active project:
//! - a project with nothing left to call and no call up becomes `finished` (its slot frees);
//! - outside its schedule nothing else happens;
//! - waiting contacts whose time has come become ready, and the ready contacts of a callee
//!   zone whose window has closed are held until it opens (one decision-log line each);
//! - the free lines are shared between projects by what each can call now, and each project's
//!   share is taken from the head of its order over the whole base (`Store::next_callable`);
//! - the picked contacts are parked and their calls recorded in one transaction, then dialed.
//!
//! The call lifecycle (writing the answer at once, the result and the contact's new plan after,
//! recovery of calls a crash interrupted) is in `calls`. The dialer's clock is injected; calls
//! themselves run in real time.
use super::calls::{self, CallContext, Lines};
use crate::call::live::LiveSettings;
use crate::call::transfer::TransferSettings;
use crate::call::CallConfig;
use crate::rules::decide::{self, Demand};
use crate::rules::gate::Gate;
use crate::rules::plan::plan;
use crate::rules::schedule::Schedule;
use crate::scenario::{load_str, Format, LoadOptions, Scenario};
use crate::store::{DialerStore, DueContact, ProjectRow, StartCall, StoreError};
use crate::telephony::trunk::Trunk;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long the outbox keeps trying a call's actions unless configured (`actions.give_up_after_h`).
pub const DEFAULT_ACTIONS_GIVE_UP: Duration = Duration::from_secs(24 * 3600);

/// Waiting contacts made ready per project and pass, at most (a bounded write).
pub const PROMOTE_BATCH: u32 = 20_000;
/// Contacts of one closed gate held per transaction.
pub const HOLD_BATCH: u32 = 10_000;
/// Contacts of one closed gate held per pass, at most (the rest next pass).
pub const HOLD_PER_PASS: u64 = 200_000;
/// How often the dialer closes calls recorded as in progress that no task runs.
pub const SWEEP_EVERY_S: i64 = 30;

/// One project's step failed this pass: one ERROR line naming the project and the step.
fn step_failed(p: &ProjectRow, step: &str, e: &StoreError) {
    tracing::error!(project = %p.name, project_id = p.id, step, error = %e, "dialer step failed; the project waits for the next pass");
}

pub use crate::clock::Clock;

#[path = "run_pacing.rs"]
mod run_pacing;
#[path = "run_pins.rs"]
mod run_pins;
#[path = "run_preview.rs"]
mod run_preview;
pub use run_pacing::transfers_to_agents;

/// What one pass did (logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub started: u32,
    /// Contacts found not callable at the last moment (a number stop-listed or a callee's
    /// window closed since they were planned) and planned anew.
    pub skipped: u32,
    /// Contacts held because their callee's window closed.
    pub held: u64,
    /// Projects that became finished.
    pub finished: u32,
}

/// The dialer.
pub struct Dialer {
    store: Arc<dyn DialerStore>,
    trunk: Arc<dyn Trunk>,
    ctx: Arc<CallContext>,
    clock: Clock,
    /// Each project's scenario, loaded once per source: an edit that gives the project another
    /// scenario (or a scenario changed in place) loads the new one for the next call.
    scenarios: HashMap<i64, (String, Arc<Scenario>)>,
    /// Each project's transfer settings, for the name and own settings they were made from
    /// (an edit of either makes them again).
    transfer_settings: HashMap<i64, (String, crate::store::TransferOptions, TransferSettings)>,
    /// When calls without a task were last swept (unix s, dialer clock).
    last_sweep: Option<i64>,
    /// Projects waiting for their start date-time (and which): logged once per start.
    waiting_start: HashMap<i64, i64>,
    /// Where prompts stored through the API are (looked up before the prompts directory).
    uploaded_prompts: Option<std::path::PathBuf>,
    tasks: tokio::task::JoinSet<()>,
    /// The call each task runs, to close it if the task fails.
    running: HashMap<tokio::task::Id, i64>,
    /// The project of each call a task runs (pacing counts the calls that end).
    call_project: HashMap<i64, i64>,
    /// Each project's pacing (docs/pacing.md), and what it decided, for the API.
    paced: HashMap<i64, run_pacing::Paced>,
    board: super::floor::PacingBoard,
    /// Preview dialing: the API's requests, and the cards agents hold.
    preview_tx: tokio::sync::mpsc::UnboundedSender<super::preview::PreviewRequest>,
    preview_rx: tokio::sync::mpsc::UnboundedReceiver<super::preview::PreviewRequest>,
    book: super::preview::Book,
    /// Whether this node held each project with transfers at the last pass (`run_pins`).
    pins: HashMap<i64, bool>,
}

impl Dialer {
    pub fn new(
        store: Arc<dyn DialerStore>,
        trunk: Arc<dyn Trunk>,
        call_cfg: CallConfig,
        live: LiveSettings,
        clock: Clock,
    ) -> Self {
        let ctx = CallContext {
            store: store.clone(),
            trunk: trunk.clone(),
            call_cfg,
            live,
            clock: clock.clone(),
            lines: Lines::default(),
            registry: None,
            media: Default::default(),
            actions_give_up: DEFAULT_ACTIONS_GIVE_UP,
            transfers: None,
            greetings: None,
            answered: Default::default(),
            trunk_watch: Default::default(),
            db_watch: Default::default(),
        };
        let (preview_tx, preview_rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            store,
            trunk,
            ctx: Arc::new(ctx),
            clock,
            scenarios: HashMap::new(),
            transfer_settings: HashMap::new(),
            last_sweep: None,
            waiting_start: HashMap::new(),
            uploaded_prompts: None,
            tasks: tokio::task::JoinSet::new(),
            running: HashMap::new(),
            call_project: HashMap::new(),
            paced: HashMap::new(),
            board: Default::default(),
            preview_tx,
            preview_rx,
            book: Default::default(),
            pins: HashMap::new(),
        }
    }

    fn trunk_watch(&self) -> std::sync::MutexGuard<'_, super::trunk_watch::TrunkWatch> {
        self.ctx
            .trunk_watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// What each dialing project's pacing decided last (the API's stats, `/metrics`).
    pub fn pacing_board(&self) -> super::floor::PacingBoard {
        self.board.clone()
    }

    /// Numbers whose zone the import did not know take it from the numbering-plan registry
    /// when they come to be dialed (contacts imported before the registry was loaded).
    pub fn with_registry(mut self, registry: Arc<crate::phone::registry::Registry>) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.registry = Some(registry);
        }
        self
    }

    /// The outbox gives a call's actions up this long after the call.
    pub fn with_actions_give_up(mut self, d: Duration) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.actions_give_up = d;
        }
        self
    }

    /// Transfers go to these agents (docs/agents.md).
    /// Calls match the learned greetings and teach them (docs/amd.md, "Learned greetings").
    pub fn with_greetings(mut self, k: Arc<super::greetings::GreetingKeeper>) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.call_cfg.greetings = Some(k.book.clone());
            ctx.greetings = Some(k);
        }
        self
    }

    pub fn with_transfers(mut self, t: super::calls::TransferBase) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.transfers = Some(t);
        }
        self
    }

    /// The log names the database as `name` when it does not answer (`db_watch`).
    pub fn with_database(mut self, name: String) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.db_watch = super::db_watch::DbWatch::new(name);
        }
        self
    }

    /// Scenarios look up prompts in `dir` first (prompts stored through the API), then in the
    /// prompts directory.
    pub fn with_uploaded_prompts(mut self, dir: std::path::PathBuf) -> Self {
        self.uploaded_prompts = Some(dir);
        self
    }

    /// Closes calls a crash left in progress (see `calls::recover`). Answers how many.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        super::recover::recover(&self.ctx).await
    }

    /// Calls up now.
    pub fn calls_up(&self) -> u32 {
        self.ctx.lines.total()
    }

    /// One pass over the active projects. A step that fails for one project (a database
    /// error, a damaged row) is logged with the project and the step and that project waits
    /// for the next pass; the others go on. Only a failure to list the projects at all ends
    /// the pass early.
    pub async fn pass(&mut self) -> Result<PassReport, StoreError> {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.reaped(done).await;
        }
        self.floor_events();
        self.previews().await;
        let now = self.clock.now();
        let t = now.timestamp();
        let mut report = PassReport::default();
        let up = self.ctx.lines.snapshot();
        let mut open = Vec::new();
        for p in self.store.dialing_projects().await? {
            match self.prepare(&p, &up, now, &mut report).await {
                Ok(Some(schedule)) => open.push((p, schedule)),
                Ok(None) => {}
                Err((step, e)) => step_failed(&p, step, &e),
            }
        }
        self.keep_pinned(&mut open).await;
        if self.sweep_due(t) {
            if let Err(e) = self.sweep().await {
                tracing::error!(step = "sweeping calls without a task", error = %e, "dialer step failed");
            }
        }
        let mut trunk_free = (self.trunk.max_calls() as u32).saturating_sub(up.values().sum());
        // A trunk that answers no call: none, or one probe (`trunk_watch`).
        if let Some(room) = self.trunk_watch().room(self.clock.now_ms()) {
            trunk_free = trunk_free.min(room);
        }
        let mut demands = Vec::new();
        let mut picks: HashMap<i64, Vec<DueContact>> = HashMap::new();
        self.board_keeps(&open.iter().map(|(p, _)| p.id).collect::<Vec<_>>());
        for (p, _) in &open {
            let active = up.get(&p.id).copied().unwrap_or(0);
            let scenario = self.scenario(p).ok();
            let room = self
                .paced_room(p, scenario.as_deref(), active, now)
                .min(trunk_free);
            if room == 0 {
                continue;
            }
            let ready = match self.store.next_callable(p.id, room).await {
                Ok(r) => r,
                Err(e) => {
                    step_failed(p, "picking the next contacts", &e);
                    continue;
                }
            };
            demands.push(Demand {
                project: p.id,
                lines: p.lines,
                active,
                due: ready.len() as u32,
            });
            picks.insert(p.id, ready);
        }
        let shares: HashMap<i64, u32> =
            decide::allocate(&demands, trunk_free).into_iter().collect();
        for (p, schedule) in &open {
            let (Some(&share), Some(mut ready)) = (shares.get(&p.id), picks.remove(&p.id)) else {
                continue;
            };
            ready.truncate(share as usize);
            let scenario = match self.scenario(p) {
                Ok(s) => s,
                Err(e) => {
                    self.set_aside(p, &format!("its scenario does not load: {e}"), t)
                        .await;
                    continue;
                }
            };
            let p = Arc::new(p.clone());
            let (dial, skipped) = match self.check_at_dial(&p, schedule, ready).await {
                Ok(r) => r,
                Err(e) => {
                    step_failed(&p, "checking the picked contacts before dialing", &e);
                    continue;
                }
            };
            report.skipped += skipped;
            if dial.is_empty() {
                continue;
            }
            let starts: Vec<StartCall> = dial
                .iter()
                .map(|c| StartCall {
                    contact_id: c.id,
                    version: c.version,
                    number: &c.numbers[c.next_idx].e164,
                    reason: format!("number {} of {}", c.next_idx + 1, c.numbers.len()),
                })
                .collect();
            let ids = match self
                .store
                .start_calls(p.id, &starts, self.clock.now_ms())
                .await
            {
                Ok(ids) => ids,
                Err(e) => {
                    step_failed(&p, "starting calls", &e);
                    continue;
                }
            };
            drop(starts);
            let placed: Vec<i64> = ids.iter().flatten().copied().collect();
            self.paced_calls_placed(p.id, &placed);
            if let Some(&first) = placed.first() {
                self.trunk_watch().placed(first);
            }
            for (contact, id) in dial.into_iter().zip(ids) {
                let Some(call_id) = id else { continue };
                report.started += 1;
                self.call_project.insert(call_id, p.id);
                let guard = self.ctx.lines.take(p.id);
                let transfer = calls::CallTransfer {
                    settings: self.transfer_settings(&p),
                    preview_agent: None,
                };
                let task = self.tasks.spawn(calls::run(
                    self.ctx.clone(),
                    p.clone(),
                    scenario.clone(),
                    contact,
                    call_id,
                    guard,
                    transfer,
                ));
                self.running.insert(task.id(), call_id);
            }
        }
        Ok(report)
    }

    /// A project's part of a pass before picking: its end, its start, finishing when done,
    /// its schedule, making due contacts ready and holding closed gates. Answers its schedule
    /// when it may dial now; on failure, the step that failed.
    async fn prepare(
        &mut self,
        p: &ProjectRow,
        up: &HashMap<i64, u32>,
        now: DateTime<Utc>,
        report: &mut PassReport,
    ) -> Result<Option<Schedule>, (&'static str, StoreError)> {
        let t = now.timestamp();
        let Some(schedule) = p.schedule() else {
            let why = format!(
                "its schedule does not parse ({:?} in {}): correct it and activate it again",
                p.schedule, p.time_zone
            );
            self.set_aside(p, &why, t).await;
            return Ok(None);
        };
        if p.ends_at.is_some_and(|e| e <= t) {
            if self
                .store
                .finish_at_end(p.id, t)
                .await
                .map_err(|e| ("finishing at the end date-time", e))?
            {
                tracing::info!(project = %p.name, "the end date-time has come: the project is finished");
                report.finished += 1;
            }
            return Ok(None);
        }
        if let Some(start) = p.starts_at.filter(|s| *s > t) {
            if self.waiting_start.get(&p.id) != Some(&start) {
                let tz = schedule.tz;
                self.store
                    .log_decision(
                        t,
                        p.id,
                        None,
                        None,
                        "skip",
                        &format!(
                            "waiting for the project's start at {} {}",
                            crate::store::local_datetime(start, tz),
                            tz.name()
                        ),
                    )
                    .await
                    .map_err(|e| ("logging the wait for the start", e))?;
                self.waiting_start.insert(p.id, start);
            }
            return Ok(None);
        }
        if up.get(&p.id).copied().unwrap_or(0) == 0
            && self
                .store
                .finish_if_done(p.id, t)
                .await
                .map_err(|e| ("finishing when done", e))?
        {
            tracing::info!(project = %p.name, "nothing left to call: the project is finished");
            report.finished += 1;
            return Ok(None);
        }
        if !schedule.is_open(now) {
            return Ok(None);
        }
        self.store
            .promote_due(p.id, t, PROMOTE_BATCH)
            .await
            .map_err(|e| ("making due contacts ready", e))?;
        report.held += self
            .hold_closed_gates(p, &schedule, now)
            .await
            .map_err(|e| ("holding contacts whose callee's window closed", e))?;
        Ok(Some(schedule))
    }

    /// Pauses a project the robot cannot run, with the reason (shown in the API): it frees
    /// its active slot instead of failing every pass.
    async fn set_aside(&mut self, p: &ProjectRow, why: &str, at: i64) {
        self.scenarios.remove(&p.id);
        match self.store.set_aside_project(p.id, why, at).await {
            Ok(true) => {
                tracing::error!(project = %p.name, project_id = p.id, reason = %why, "project paused: it cannot run")
            }
            Ok(false) => {}
            Err(e) => step_failed(p, "pausing a project that cannot run", &e),
        }
    }

    /// Whether the sweep of calls without a task is due (every `SWEEP_EVERY_S`).
    fn sweep_due(&mut self, t: i64) -> bool {
        if self
            .last_sweep
            .is_some_and(|last| (last..last + SWEEP_EVERY_S).contains(&t))
        {
            return false;
        }
        self.last_sweep = Some(t);
        true
    }

    /// Closes calls recorded as in progress that no task of this dialer runs (a finish that
    /// failed for good, a task lost otherwise): one process owns the database, so such a call
    /// is over. Closed as recovery closes a call a stop cut. Answers how many.
    pub async fn sweep(&mut self) -> Result<usize, StoreError> {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.reaped(done).await;
        }
        let live: HashSet<i64> = self.running.values().copied().collect();
        let lost: Vec<_> = self
            .store
            .in_flight()
            .await?
            .into_iter()
            .filter(|c| !live.contains(&c.call_id))
            .collect();
        if lost.is_empty() {
            return Ok(0);
        }
        tracing::warn!(
            calls = lost.len(),
            "closing calls in progress that no task runs"
        );
        super::recover::close_lost(&self.ctx, &lost).await
    }

    /// Holds the ready contacts of every gate (callee zone and number type) closed now.
    async fn hold_closed_gates(
        &self,
        p: &ProjectRow,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let types = p.types();
        let mut held = 0;
        for key in self.store.ready_gates(p.id).await? {
            let gate = Gate::parse(&key);
            if gate.always_open(schedule, types.as_ref())
                || gate.is_open(now, schedule, types.as_ref())
            {
                continue;
            }
            let Some(opens) = gate.next_open(now, schedule, types.as_ref()) else {
                continue;
            };
            let reason = gate.held_until(opens, schedule, types.as_ref());
            // Bounded transactions (the write lock is never held long), as many as it takes
            // up to a cap per pass, so a gate that closes over a large base is held at once.
            let mut this_gate = 0;
            loop {
                let n = self
                    .store
                    .hold_gate(
                        p.id,
                        &key,
                        opens.timestamp(),
                        &reason,
                        now.timestamp(),
                        HOLD_BATCH,
                    )
                    .await?;
                this_gate += n;
                if n < u64::from(HOLD_BATCH) || this_gate >= HOLD_PER_PASS {
                    break;
                }
            }
            held += this_gate;
        }
        Ok(held)
    }

    /// The last look before dialing: a number put on the stop list, or a gate only the
    /// registry's zone closes, since the contact was planned. Such contacts are planned anew
    /// (and logged); the rest are answered for dialing.
    async fn check_at_dial(
        &self,
        p: &Arc<ProjectRow>,
        schedule: &Schedule,
        ready: Vec<DueContact>,
    ) -> Result<(Vec<DueContact>, u32), StoreError> {
        let now = self.clock.now();
        let types = p.types();
        let numbers: Vec<String> = ready
            .iter()
            .filter_map(|c| c.numbers.get(c.next_idx).map(|n| n.e164.clone()))
            .collect();
        let listed = self.store.stop_listed_among(&numbers).await?;
        let mut dial = Vec::with_capacity(ready.len());
        let mut skipped = 0;
        for mut c in ready {
            let Some(n) = c.numbers.get(c.next_idx).cloned() else {
                // Its plan names a number it does not have: planned anew (closed when no
                // number is left), never skipped at every pass.
                skipped += 1;
                let listed_all = self.store.stop_listed_among(&c.e164s()).await?;
                let mut attempts = c.attempts.clone();
                let mut new = plan(
                    &mut attempts,
                    &c.number_facts(&listed_all, None),
                    p.facts(Some(schedule), types.as_ref()),
                    c.order_facts(),
                    now.timestamp(),
                );
                if new.next.as_ref().is_some_and(|x| x.idx == c.next_idx) {
                    attempts.status = crate::rules::attempts::ContactStatus::NotReached;
                    new = crate::rules::plan::closed(
                        &attempts,
                        p.facts(Some(schedule), types.as_ref()),
                        c.order_facts(),
                        "not reached: the contact has no such number",
                    );
                }
                self.store
                    .replan_contact(p.id, &c, None, &attempts, &new, now.timestamp())
                    .await?;
                continue;
            };
            let mut zone: Option<Tz> = n.zone.as_deref().and_then(|z| z.parse().ok());
            if zone.is_none() {
                if let Some(z) = self.ctx.registry.as_ref().and_then(|r| r.zone(&n.e164)) {
                    self.store.set_number_zone(&n.e164, z.name()).await?;
                    if let Some(m) = c.numbers.get_mut(c.next_idx) {
                        m.zone = Some(z.name().to_string());
                    }
                    zone = Some(z);
                }
            }
            let gate = Gate { zone, kind: n.kind };
            let closed = !gate.is_open(now, schedule, types.as_ref());
            if !listed.contains(&n.e164) && !closed {
                dial.push(c);
                continue;
            }
            skipped += 1;
            let listed_all = self.store.stop_listed_among(&c.e164s()).await?;
            let mut attempts = c.attempts.clone();
            let new = plan(
                &mut attempts,
                &c.number_facts(&listed_all, None),
                p.facts(Some(schedule), types.as_ref()),
                c.order_facts(),
                now.timestamp(),
            );
            // A contact changed since it was picked (a stop-list re-plan) keeps that plan.
            self.store
                .replan_contact(p.id, &c, Some(&n.e164), &attempts, &new, now.timestamp())
                .await?;
        }
        Ok((dial, skipped))
    }

    /// The project's transfer settings (made again only when its own settings change).
    fn transfer_settings(&mut self, p: &ProjectRow) -> Option<TransferSettings> {
        let base = self.ctx.transfers.as_ref()?;
        if let Some((name, own, s)) = self.transfer_settings.get(&p.id) {
            if *own == p.transfer && *name == p.name {
                return Some(s.clone());
            }
        }
        let prompts = &self.ctx.call_cfg.prompts_dir;
        let mut folders: Vec<&std::path::Path> =
            self.uploaded_prompts.iter().map(|d| d.as_path()).collect();
        folders.push(prompts);
        let s = base.for_project(&p.name, &p.transfer, &folders);
        self.transfer_settings
            .insert(p.id, (p.name.clone(), p.transfer.clone(), s.clone()));
        Some(s)
    }

    fn scenario(&mut self, p: &ProjectRow) -> Result<Arc<Scenario>, String> {
        if let Some((source, s)) = self.scenarios.get(&p.id) {
            if *source == p.scenario_source {
                return Ok(s.clone());
            }
        }
        let opts = LoadOptions {
            prompts_dir: self.ctx.call_cfg.prompts_dir.clone(),
            speech: self.ctx.call_cfg.speech.as_deref(),
        };
        let s = load_str(
            &p.scenario_source,
            Format::Toml,
            &p.name,
            Some(
                self.uploaded_prompts
                    .as_deref()
                    .unwrap_or(&self.ctx.call_cfg.prompts_dir),
            ),
            &opts,
        )
        .map_err(|e| e.to_string())?;
        let s = Arc::new(s);
        self.scenarios
            .insert(p.id, (p.scenario_source.clone(), s.clone()));
        Ok(s)
    }

    /// Runs passes every `every` until `stop` fires, then lets the calls in progress finish
    /// for up to `grace`; calls still up after that are dropped (their trunk legs hang up)
    /// and stay recorded as in progress, so the next start closes them as `system`
    /// (interrupted) and retries them by the rules.
    pub async fn run(
        mut self,
        every: Duration,
        stop: tokio_util::sync::CancellationToken,
        grace: Duration,
    ) {
        if let Err(e) = self.recover().await {
            tracing::error!(error = %e, "recovery of interrupted calls failed");
        }
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let started = std::time::Instant::now();
                    // A pass waits for a database that does not answer (no call starts
                    // meanwhile); the watch beside it says so (`db_watch`).
                    let began = tokio::time::Instant::now();
                    let ctx = self.ctx.clone();
                    let r = tokio::select! {
                        r = self.pass() => r,
                        never = ctx.db_watch.beside_pass(ctx.store.as_ref(), began) => match never {},
                    };
                    match r {
                        Ok(_) => ctx.db_watch.pass_done(),
                        Err(e) => {
                            if !ctx.db_watch.pass_failed(ctx.store.as_ref(), began, &e).await {
                                tracing::error!(error = %e, "dialer pass failed");
                            }
                        }
                    }
                    metrics::histogram!("autoinformer_dialer_pass_seconds").record(started.elapsed());
                }
                Some(r) = self.preview_rx.recv() => self.preview(r).await,
                _ = stop.cancelled() => break,
            }
        }
        let up = self.tasks.len();
        tracing::info!(
            calls = up,
            "dialer stopped: no new calls; letting calls in progress finish"
        );
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                calls = self.tasks.len(),
                "calls still up after the shutdown grace: dropped, closed as interrupted on the next start"
            );
            self.tasks.shutdown().await;
        }
    }

    /// Waits until no call is up (tests, shutdown).
    pub async fn drain(&mut self) {
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.reaped(done).await;
        }
    }

    /// A call task has ended. One that failed (panicked) freed its line as it unwound; its
    /// call is closed as `system` at once, as recovery would at the next start.
    async fn reaped(&mut self, done: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let (id, failed) = match done {
            Ok((id, ())) => (id, None),
            Err(e) => (e.id(), Some(e)),
        };
        let call = self.running.remove(&id);
        if let Some(project) = call.and_then(|c| self.call_project.remove(&c)) {
            self.paced_call_ended(project, call.unwrap_or_default());
        }
        if let (Some(e), Some(call)) = (failed, call) {
            if e.is_panic() {
                tracing::error!(call, "the call's task failed; closing the call as system");
                if let Err(e) = super::recover::close_failed(&self.ctx, call).await {
                    tracing::error!(call, error = %e, "cannot close the failed call");
                }
            }
        }
    }
}
