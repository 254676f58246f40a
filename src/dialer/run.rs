//! The dialer task: applies the pure decisions to the store and places calls through the trunk.
//! Each pass (every second) takes the active projects inside their schedules, shares the free
//! lines fairly, picks due contacts in the project's order, checks each number (stop list,
//! the callee's zone, the retry interval), logs every dial/skip with its reason, parks the
//! contact and records the call as started in one transaction, and runs the live call; the
//! result and the contact's new state are written in one transaction. On start, calls left
//! in progress by a crash are closed as `system` (interrupted) and retried by the rules, so no
//! result is lost and nobody is dialed twice at once.
use super::attempts::Outcome;
use super::decide::{self, Candidate, Demand, ProjectStatus};
use super::schedule::Schedule;
use crate::call::live::{run_call, LiveSettings};
use crate::call::{CallConfig, CallEvent};
use crate::scenario::{load_str, Format, LoadOptions, Scenario};
use crate::store::{FinishedCall, ProjectRow, Store, StoreError};
use crate::telephony::trunk::{DialRequest, Trunk};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the dialer's "now" comes from: the wall clock, or a manual one that tests move
/// (calls themselves always run in real time).
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    /// A manual clock reading `base`.
    pub fn manual(base: DateTime<Utc>) -> Self {
        Clock::Manual(Arc::new(std::sync::atomic::AtomicI64::new(
            base.timestamp_millis(),
        )))
    }

    /// Moves a manual clock forward.
    pub fn advance(&self, d: Duration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(d.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(ms) => {
                DateTime::from_timestamp_millis(ms.load(std::sync::atomic::Ordering::SeqCst))
                    .unwrap_or_default()
            }
        }
    }
}

/// What one pass did (logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub started: u32,
    pub skipped: u32,
}

/// The dialer.
pub struct Dialer {
    store: Arc<dyn Store>,
    trunk: Arc<dyn Trunk>,
    call_cfg: CallConfig,
    live: LiveSettings,
    clock: Clock,
    in_flight: Arc<Mutex<HashMap<i64, u32>>>,
    scenarios: HashMap<i64, Arc<Scenario>>,
    /// Where prompts stored through the API are (looked up before the prompts directory).
    uploaded_prompts: Option<std::path::PathBuf>,
    /// Callee zones of numbers the built-in geographic table does not place (mobile ranges).
    registry: Option<Arc<crate::store::registry::Registry>>,
    tasks: tokio::task::JoinSet<()>,
}

impl Dialer {
    pub fn new(
        store: Arc<dyn Store>,
        trunk: Arc<dyn Trunk>,
        call_cfg: CallConfig,
        live: LiveSettings,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            trunk,
            call_cfg,
            live,
            clock,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            scenarios: HashMap::new(),
            uploaded_prompts: None,
            registry: None,
            tasks: tokio::task::JoinSet::new(),
        }
    }

    /// Numbers whose zone the import did not know take it from the numbering-plan registry
    /// (looked up at dial time, so a registry loaded later applies to contacts already there).
    pub fn with_registry(mut self, registry: Arc<crate::store::registry::Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Scenarios look up prompts in `dir` first (prompts stored through the API), then in the
    /// prompts directory.
    pub fn with_uploaded_prompts(mut self, dir: std::path::PathBuf) -> Self {
        self.uploaded_prompts = Some(dir);
        self
    }

    /// Closes calls a crash left in progress as `system` (interrupted) and reschedules their
    /// contacts by the rules. Answers how many were closed.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let left = self.store.in_flight().await?;
        let rules: HashMap<i64, ProjectRow> = self
            .store
            .all_projects()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let now = self.clock.now().timestamp();
        for c in &left {
            let mut contact = self.store.contact(c.contact_id).await?;
            let idx = contact
                .numbers
                .iter()
                .position(|(n, _)| *n == c.number)
                .unwrap_or(0);
            let Some(p) = rules.get(&c.project_id) else {
                continue;
            };
            let outcome =
                contact
                    .attempts
                    .record(idx, crate::scenario::system_result::SYSTEM, now, &p.rules);
            let next_at = next_at(&contact.attempts, &p.rules);
            tracing::warn!(
                call = c.call_id,
                contact = c.contact_id,
                ?outcome,
                "closing a call interrupted by a restart"
            );
            self.store
                .finish_call(&FinishedCall {
                    call_id: c.call_id,
                    contact_id: c.contact_id,
                    result: crate::scenario::system_result::SYSTEM,
                    sip_status: None,
                    answered_at: None,
                    ended_at: now,
                    reaction: Some("interrupted".into()),
                    transcript: None,
                    captured: "{}".into(),
                    amd: None,
                    recording: None,
                    cost: 0.0,
                    attempts: &contact.attempts,
                    next_at,
                })
                .await?;
            self.store
                .log_decision(
                    now,
                    c.project_id,
                    Some(c.contact_id),
                    Some(&c.number),
                    "close",
                    "interrupted by a restart: system",
                )
                .await?;
        }
        Ok(left.len())
    }

    /// Calls up now.
    pub fn calls_up(&self) -> u32 {
        self.in_flight.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    /// One pass over the active projects.
    pub async fn pass(&mut self) -> Result<PassReport, StoreError> {
        while self.tasks.try_join_next().is_some() {}
        let now = self.clock.now();
        let mut report = PassReport::default();
        let projects = self.store.dialing_projects().await?;
        let mut open = Vec::new();
        for p in projects {
            let windows: Vec<&str> = p.schedule.iter().map(String::as_str).collect();
            let Ok(schedule) = Schedule::new(&p.time_zone, &windows) else {
                continue;
            };
            if decide::project_may_dial(ProjectStatus::Active, &schedule, now).is_ok() {
                open.push((p, schedule));
            }
        }
        let up = self.in_flight.lock().map(|m| m.clone()).unwrap_or_default();
        let trunk_free = (self.trunk.max_calls() as u32).saturating_sub(up.values().sum());
        let mut demands = Vec::new();
        let mut due_by_project = HashMap::new();
        for (p, _) in &open {
            let active = up.get(&p.id).copied().unwrap_or(0);
            let room = p.lines.saturating_sub(active);
            if room == 0 {
                continue;
            }
            let due = self
                .store
                .due_contacts(p.id, now.timestamp(), room * 4)
                .await?;
            demands.push(Demand {
                project: p.id,
                lines: p.lines,
                active,
                due: due.len() as u32,
            });
            due_by_project.insert(p.id, due);
        }
        let shares: HashMap<i64, u32> =
            decide::allocate(&demands, trunk_free).into_iter().collect();
        for (p, schedule) in &open {
            let Some(&share) = shares.get(&p.id) else {
                continue;
            };
            let Some(mut due) = due_by_project.remove(&p.id) else {
                continue;
            };
            let mut cands: Vec<Candidate> = due
                .iter()
                .map(|c| Candidate {
                    contact: c.id,
                    status: c.attempts.status,
                    priority: c.priority,
                    seq: c.seq,
                    attempts: c.attempts.calls(),
                })
                .collect();
            decide::order(&mut cands, &p.ordering);
            let scenario = match self.scenario(p) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(project = %p.name, error = %e, "scenario does not load; not dialing");
                    continue;
                }
            };
            let mut started = 0;
            for cand in cands {
                if started >= share {
                    break;
                }
                let Some(pos) = due.iter().position(|c| c.id == cand.contact) else {
                    continue;
                };
                let contact = due.swap_remove(pos);
                let Some(next) = contact.attempts.next(&p.rules) else {
                    continue;
                };
                let Some((number, tz)) = contact.numbers.get(next.number).cloned() else {
                    continue;
                };
                let callee_tz = tz
                    .and_then(|z| z.parse().ok())
                    .or_else(|| self.registry.as_ref().and_then(|r| r.zone(&number)));
                let listed = self.store.stop_listed(&number).await?;
                if let Err(skip) =
                    decide::number_may_dial(schedule, callee_tz, listed, next.not_before, now)
                {
                    report.skipped += 1;
                    self.store
                        .log_decision(
                            now.timestamp(),
                            p.id,
                            Some(contact.id),
                            Some(&number),
                            "skip",
                            &skip.to_string(),
                        )
                        .await?;
                    continue;
                }
                let call_id = match self
                    .store
                    .start_call(p.id, contact.id, &number, now.timestamp())
                    .await
                {
                    Ok(id) => id,
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e),
                };
                self.store
                    .log_decision(
                        now.timestamp(),
                        p.id,
                        Some(contact.id),
                        Some(&number),
                        "dial",
                        &format!("number {} of {}", next.number + 1, contact.numbers.len()),
                    )
                    .await?;
                started += 1;
                report.started += 1;
                self.spawn_call(
                    p.clone(),
                    scenario.clone(),
                    contact,
                    next.number,
                    number,
                    call_id,
                );
            }
        }
        Ok(report)
    }

    fn scenario(&mut self, p: &ProjectRow) -> Result<Arc<Scenario>, String> {
        if let Some(s) = self.scenarios.get(&p.id) {
            return Ok(s.clone());
        }
        let opts = LoadOptions {
            prompts_dir: self.call_cfg.prompts_dir.clone(),
            speech: self.call_cfg.speech.as_deref(),
        };
        let s = load_str(
            &p.scenario_source,
            Format::Toml,
            &p.name,
            Some(
                self.uploaded_prompts
                    .as_deref()
                    .unwrap_or(&self.call_cfg.prompts_dir),
            ),
            &opts,
        )
        .map_err(|e| e.to_string())?;
        let s = Arc::new(s);
        self.scenarios.insert(p.id, s.clone());
        Ok(s)
    }

    fn spawn_call(
        &mut self,
        p: ProjectRow,
        scenario: Arc<Scenario>,
        mut contact: crate::store::DueContact,
        idx: usize,
        number: String,
        call_id: i64,
    ) {
        let store = self.store.clone();
        let trunk = self.trunk.clone();
        let cfg = self.call_cfg.clone();
        let live = self.live.clone();
        let clock = self.clock.clone();
        let in_flight = self.in_flight.clone();
        if let Ok(mut m) = in_flight.lock() {
            *m.entry(p.id).or_insert(0) += 1;
        }
        self.tasks.spawn(async move {
            let req = DialRequest {
                call_id: format!("c{call_id}"),
                number: number.clone(),
                caller_id: None,
            };
            let started = clock.now().timestamp();
            let r = run_call(trunk.as_ref(), req, scenario, cfg, &live, None).await;
            let ended = clock.now().timestamp();
            let outcome = contact
                .attempts
                .record(idx, &r.outcome.result, ended, &p.rules);
            let next_at = next_at(&contact.attempts, &p.rules);
            // The reaction: the first key or utterance heard.
            let reaction = r.outcome.events.first().map(|e| match e {
                CallEvent::Dtmf { digit, .. } => digit.to_string(),
                CallEvent::Speech { text, .. } => text.clone(),
            });
            let transcript: Vec<String> = r
                .outcome
                .events
                .iter()
                .filter_map(|e| match e {
                    CallEvent::Speech { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect();
            let answers_ms: Vec<u64> = r
                .outcome
                .events
                .iter()
                .filter_map(|e| match e {
                    CallEvent::Speech { at_ms, end_ms, .. } => Some(end_ms.saturating_sub(*at_ms)),
                    _ => None,
                })
                .collect();
            let finished = FinishedCall {
                call_id,
                contact_id: contact.id,
                result: &r.outcome.result,
                sip_status: r.sip_status,
                answered_at: r.answered.then_some(started + (r.ring_ms / 1000) as i64),
                ended_at: ended,
                reaction,
                transcript: (!transcript.is_empty()).then(|| transcript.join(" | ")),
                captured: serde_json::to_string(&r.outcome.captured)
                    .unwrap_or_else(|_| "{}".into()),
                amd: r.answered.then(|| {
                    (
                        format!("{:?}", r.outcome.amd.verdict).to_lowercase(),
                        r.outcome.amd.reason.clone(),
                        r.outcome.amd.decided_at_ms as i64,
                    )
                }),
                recording: r.recording.clone(),
                cost: p
                    .tariff
                    .call_cost(r.answered, r.outcome.duration_ms, &answers_ms),
                attempts: &contact.attempts,
                next_at,
            };
            if let Err(e) = store.finish_call(&finished).await {
                tracing::error!(call = call_id, error = %e, "cannot write the call's result");
            }
            let why = match &outcome {
                Outcome::Reached => "reached".to_string(),
                Outcome::Retry { not_before } => format!("retry not before {not_before}"),
                Outcome::NumberDone { reason } => format!("number done: {reason}"),
                Outcome::NotReached { reason } => format!("not reached: {reason}"),
            };
            let _ = store
                .log_decision(
                    ended,
                    p.id,
                    Some(contact.id),
                    Some(&number),
                    "result",
                    &format!("{}: {why}", r.outcome.result),
                )
                .await;
            if let Ok(mut m) = in_flight.lock() {
                if let Some(n) = m.get_mut(&p.id) {
                    *n = n.saturating_sub(1);
                }
            }
        });
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
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.pass().await {
                        tracing::error!(error = %e, "dialer pass failed");
                    }
                }
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
        while self.tasks.join_next().await.is_some() {}
    }
}

/// When the contact's next call may happen (`None` when it is closed).
fn next_at(
    a: &super::attempts::ContactAttempts,
    rules: &super::attempts::AttemptRules,
) -> Option<i64> {
    a.next(rules).map(|n| n.not_before.max(0))
}
