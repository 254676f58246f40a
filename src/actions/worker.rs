//! The outbox worker (docs/actions.md): claims due actions and carries them out, each attempt
//! written with its outcome; temporary failures are retried with backoff and jitter until the
//! action's give-up time, then it fails with the reason.
//!
//! Exactly once, across crashes:
//! - copying a contact and listing numbers commit together with the action's `done` mark;
//! - an SMS is claimed (`sending`, committed) before its request leaves; when a send's outcome
//!   is unknown (a timeout, a reset after the request went out, a 5xx) — or the process died
//!   while it was `sending` — SMSC's status.php is asked about our id first, and the SMS is sent
//!   again only when SMSC answers "not found";
//! - a webhook may be delivered more than once (at least once), always with the same
//!   `Idempotency-Key`.
//!
//! SMSC's login refused (code 2) stops SMS until the server is restarted with a working one;
//! no money (code 3) holds every SMS for `HOLD_NO_MONEY` and tries again; nothing is lost.
use super::smsc::SmscClient;
use super::webhook::{Delivery, Signed, WebhookSender};
use super::{retry_delay_ms, ActionKind, Payload};

mod sms;
#[cfg(test)]
mod strand_tests;
use crate::store::{
    ActionRow, ActionStatus, ActionUpdate, AttemptLog, CopyOutcome, OutboxStore, StoreError,
};
use rand::Rng;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How often the worker looks for due actions.
pub const TICK: Duration = Duration::from_millis(200);
/// Database actions (copy, list) claimed per tick.
const DB_BATCH: u32 = 200;
/// With no money on the account, every SMS waits this long before the next try.
pub const HOLD_NO_MONEY: Duration = Duration::from_secs(10 * 60);
/// A send whose outcome is unknown is looked up after this long (SMSC may still be at it).
pub const UNKNOWN_LOOKUP_AFTER: Duration = Duration::from_secs(3);
/// Unresolved sends are looked up again this often.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);
/// A webhook the receiver refuses with a 4xx (other than 408, 409, 425, 429) is given up
/// after this many attempts.
pub const CLIENT_ERROR_TRIES: i64 = 3;
/// The first delivery poll; later ones wait a quarter of the SMS's age, up to `POLL_MAX`.
pub const POLL_FIRST: Duration = Duration::from_secs(20);
pub const POLL_MAX: Duration = Duration::from_secs(3600);

/// The SMS lane's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SmsState {
    /// SMSC is not configured: SMS actions wait (activation refuses them).
    #[default]
    Off,
    Running,
    /// No money: nothing is sent before this time (unix ms).
    HeldUntil(i64, String),
    /// The login was refused: nothing is sent until a restart.
    Stopped(String),
}

/// A handle on the SMS lane's state, for those who show it (the API's stats).
#[derive(Clone, Default)]
pub struct SmsLane(Arc<Mutex<SmsState>>);

impl SmsLane {
    pub fn get(&self) -> SmsState {
        self.0.lock().map(|s| s.clone()).unwrap_or(SmsState::Off)
    }

    fn set(&self, s: SmsState) {
        let now = s.name();
        for state in ["off", "running", "held", "stopped"] {
            metrics::gauge!("autoinformer_sms_service", "state" => state).set(if state == now {
                1.0
            } else {
                0.0
            });
        }
        if let Ok(mut g) = self.0.lock() {
            *g = s;
        }
    }
}

impl SmsState {
    /// Every state's name.
    pub const NAMES: [&'static str; 4] = ["off", "running", "held", "stopped"];

    /// `off`, `running`, `held`, `stopped`.
    pub fn name(&self) -> &'static str {
        match self {
            SmsState::Off => "off",
            SmsState::Running => "running",
            SmsState::HeldUntil(..) => "held",
            SmsState::Stopped(_) => "stopped",
        }
    }
}

/// One outcome of an action (`autoinformer_actions_total{kind, outcome}`, docs/operations.md).
fn count(kind: &'static str, outcome: &str) {
    metrics::counter!("autoinformer_actions_total", "kind" => kind, "outcome" => outcome.to_string())
        .increment(1);
}

/// The worker's lanes of outside requests, each with its own slots.
#[derive(Debug, Clone, Copy)]
enum Lane {
    Sms,
    Webhooks,
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub sms_parallel: usize,
    pub webhook_parallel: usize,
    /// The installation's id: every SMS id given to SMSC is `<installation>-<outbox row>`, so
    /// a reset database or another install on the same SMSC login never looks up (and takes
    /// for its own) a message it did not send.
    pub installation: String,
    /// Signs the webhooks of projects without a secret of their own.
    pub webhook_secret: String,
}

/// Where "now" comes from (tests move it; in production the wall clock).
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A unix-ms time for a log line (UTC).
fn at_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// `clock`'s now in unix ms.
pub fn clock_ms(clock: crate::clock::Clock) -> Now {
    Arc::new(move || clock.now_ms())
}

/// The worker.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn OutboxStore>,
    sms: Option<Arc<SmscClient>>,
    webhooks: Arc<WebhookSender>,
    sms_slots: Arc<Semaphore>,
    webhook_slots: Arc<Semaphore>,
    state: SmsLane,
    /// Rows a task of this process is working on — SMS and webhooks (the rest of `sending`
    /// are unresolved).
    busy: Arc<Mutex<HashSet<i64>>>,
    /// Held while SMS and webhook rows are claimed and marked busy, and while the unresolved
    /// ones are listed: a row a lane has just claimed is never taken for an unresolved one.
    claiming: Arc<tokio::sync::Mutex<()>>,
    /// Claimed database actions and webhooks whose outcome could not be written (the database
    /// failed meanwhile): queued again once it answers (`settle_stranded`), not left `sending`
    /// until a restart. SMS have their own lookup (`recheck_unresolved`).
    stranded: Arc<Mutex<Vec<ActionRow>>>,
    installation: Arc<str>,
    server_secret: Arc<str>,
    now: Now,
}

fn update(status: ActionStatus, at: i64, outcome: &str) -> ActionUpdate {
    ActionUpdate {
        status,
        next_at: None,
        last_error: None,
        cost: None,
        parts: None,
        external_id: None,
        sent_at: None,
        delivered_at: None,
        done_at: None,
        attempt: AttemptLog {
            at,
            outcome: outcome.to_string(),
            http_status: None,
            error: None,
            duration_ms: None,
        },
    }
}

fn with_error(mut u: ActionUpdate, error: impl Into<String>) -> ActionUpdate {
    let e = error.into();
    u.last_error = Some(e.clone());
    u.attempt.error = Some(e);
    u
}

impl Worker {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        sms: Option<SmscClient>,
        webhooks: WebhookSender,
        settings: WorkerSettings,
        now: Now,
    ) -> Self {
        let state = if sms.is_some() {
            SmsState::Running
        } else {
            SmsState::Off
        };
        Self {
            store,
            sms: sms.map(Arc::new),
            webhooks: Arc::new(webhooks),
            sms_slots: Arc::new(Semaphore::new(settings.sms_parallel.max(1))),
            webhook_slots: Arc::new(Semaphore::new(settings.webhook_parallel.max(1))),
            state: {
                let lane = SmsLane::default();
                lane.set(state);
                lane
            },
            busy: Arc::default(),
            claiming: Arc::default(),
            stranded: Arc::default(),
            installation: settings.installation.into(),
            server_secret: settings.webhook_secret.into(),
            now,
        }
    }

    /// The id SMSC knows an outbox row's SMS by.
    pub fn sms_id(&self, row: i64) -> String {
        format!("{}-{row}", self.installation)
    }

    /// The SMS lane's state now (the API shows it).
    pub fn sms_state(&self) -> SmsState {
        self.state.get()
    }

    /// A handle on the SMS lane's state that outlives the worker's task.
    pub fn sms_lane(&self) -> SmsLane {
        self.state.clone()
    }

    fn set_state(&self, s: SmsState) {
        self.state.set(s);
    }

    fn jitter() -> f64 {
        rand::thread_rng().gen()
    }

    /// Runs until `stop`: first settles what a stop left `sending`, then works the queue.
    pub async fn run(self, stop: CancellationToken) {
        if let Err(e) = self.recover().await {
            tracing::error!(error = %e, "outbox: recovering interrupted actions failed");
        }
        let sms = tokio::spawn(self.clone().run_lane(Lane::Sms, stop.clone()));
        let hooks = tokio::spawn(self.clone().run_lane(Lane::Webhooks, stop.clone()));
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_recheck = 0i64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            let now = (self.now)();
            if let Err(e) = self.step_db(now).await {
                tracing::error!(error = %e, "outbox pass failed");
            }
            if now - last_recheck >= RECHECK_EVERY.as_millis() as i64 {
                last_recheck = now;
                if let Err(e) = self.recheck_unresolved().await {
                    tracing::warn!(error = %e, "outbox: settling unresolved actions failed");
                }
            }
        }
        let _ = sms.await;
        let _ = hooks.await;
        tracing::info!("outbox stopped");
    }

    /// A lane (SMS, webhooks): while there is work it keeps every slot busy (a finished
    /// request makes room for the next at once, without waiting for a tick); idle, it looks
    /// again every `TICK`.
    async fn run_lane(self, lane: Lane, stop: CancellationToken) {
        let slots = match lane {
            Lane::Sms => self.sms_slots.clone(),
            Lane::Webhooks => self.webhook_slots.clone(),
        };
        loop {
            let slot = tokio::select! {
                p = slots.clone().acquire_owned() => p,
                _ = stop.cancelled() => break,
            };
            // The pass takes the free slots itself.
            drop(slot);
            let now = (self.now)();
            let taken = match lane {
                Lane::Sms => self.step_sms(now).await,
                Lane::Webhooks => self.step_webhooks(now).await,
            };
            let taken = taken.unwrap_or_else(|e| {
                tracing::error!(error = %e, ?lane, "outbox: a pass failed");
                0
            });
            if taken == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    _ = stop.cancelled() => break,
                }
            }
        }
    }

    /// Settles actions a stop left `sending`: an SMS is looked up at SMSC (sent again only if
    /// SMSC does not have it), anything else is queued again. A hold of the SMS lane that a
    /// stop cut short (a refused login stops SMS until a restart) ends here: its time is given
    /// back to every SMS.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let now = (self.now)();
        self.end_hold(now).await?;
        let left = self.store.sending_actions().await?;
        for a in &left {
            match &a.payload {
                Payload::Sms { .. } => {}
                _ => {
                    let u = with_error(
                        update(ActionStatus::Queued, now, "retry"),
                        "interrupted by a stop: carried out again",
                    );
                    let mut u = u;
                    u.next_at = Some(now);
                    self.write(a, &u).await?;
                }
            }
        }
        self.recheck_unresolved().await?;
        Ok(left.len())
    }

    /// Settles every `sending` row of this process no task of it is working on: an SMS is
    /// looked up at SMSC, anything else is queued again. Such a row is a claim whose answer
    /// never reached the worker — the claim committed and the connection broke before its
    /// rows came back (a database restart) — which nothing else would carry out: its lease is
    /// this live node's, renewed by its heartbeat. A webhook may go twice, with the same
    /// `Idempotency-Key` (at least once, see the top).
    async fn recheck_unresolved(&self) -> Result<(), StoreError> {
        let (sms, others) = {
            let _claiming = self.claiming.lock().await;
            let left = self.store.sending_actions().await?;
            // Rows whose outcome could not be written are queued again by `settle_stranded`.
            let stranded: HashSet<i64> = self
                .stranded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|a| a.id)
                .collect();
            let mut sms = Vec::new();
            let mut others = Vec::new();
            for a in left.into_iter().filter(|a| !stranded.contains(&a.id)) {
                if matches!(a.payload, Payload::Sms { .. }) {
                    if self.sms.is_some() && self.claim_busy(a.id) {
                        sms.push(a);
                    }
                } else if !self.is_busy(a.id) {
                    others.push(a);
                }
            }
            (sms, others)
        };
        if !others.is_empty() {
            let now = (self.now)();
            let ids: Vec<i64> = others.iter().map(|a| a.id).collect();
            tracing::warn!(actions = ?ids, "outbox: claimed actions no task carries out (the claim's answer was lost with the database connection): queued again");
            for a in &others {
                let why = "claimed, and the claim's answer was lost: carried out again";
                self.requeue(a, now, now, why).await?;
            }
        }
        for a in sms {
            let w = self.clone();
            let permit = self.sms_slots.clone().acquire_owned().await;
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = w
                    .resolve_unknown(&a, "the outcome of an earlier send is unknown")
                    .await
                {
                    tracing::warn!(action = a.id, error = %e, "outbox: SMS lookup failed");
                }
                w.release_busy(a.id);
            });
        }
        Ok(())
    }

    /// The SMS lane is held from `now` (no money, a refused login): noted, so the time held
    /// does not count toward any SMS's give-up time.
    async fn begin_hold(&self, now: i64) -> Result<(), StoreError> {
        self.store.note_sms_hold(now).await
    }

    /// The hold ended: every SMS not final gets the time held back.
    async fn end_hold(&self, now: i64) -> Result<(), StoreError> {
        if let Some(held) = self.store.end_sms_hold(now).await? {
            tracing::info!(
                held_s = held / 1000,
                "SMS lane released: the time held does not count toward giving SMS up"
            );
        }
        Ok(())
    }

    fn claim_busy(&self, id: i64) -> bool {
        self.busy.lock().map(|mut b| b.insert(id)).unwrap_or(false)
    }

    fn is_busy(&self, id: i64) -> bool {
        self.busy.lock().map(|b| b.contains(&id)).unwrap_or(true)
    }

    fn release_busy(&self, id: i64) {
        if let Ok(mut b) = self.busy.lock() {
            b.remove(&id);
        }
    }

    /// One pass at `now` over everything: database actions inline, webhooks and SMS into their
    /// lanes (`run` drives the SMS lane on its own; tests with a manual clock call this).
    pub async fn step(&self, now: i64) -> Result<(), StoreError> {
        self.step_db(now).await?;
        self.step_webhooks(now).await?;
        self.step_sms(now).await.map(|_| ())
    }

    /// Copies and opt-outs, carried out inline (each commits with its `done` mark).
    async fn step_db(&self, now: i64) -> Result<(), StoreError> {
        self.settle_stranded(now).await?;
        let mut taken = self
            .store
            .claim_actions(
                &[ActionKind::AddToProject, ActionKind::StopList],
                now,
                DB_BATCH,
            )
            .await?
            .into_iter();
        while let Some(a) = taken.next() {
            if let Err(e) = self.run_db(&a, now).await {
                // This one and the rest of the batch are claimed: queued again later.
                self.strand(std::iter::once(a).chain(taken), &e);
                return Err(e);
            }
        }
        Ok(())
    }

    /// The database failed while these claimed rows were carried out: each is queued again
    /// once it answers (`settle_stranded`).
    fn strand(&self, rows: impl IntoIterator<Item = ActionRow>, error: &StoreError) {
        let rows: Vec<ActionRow> = rows.into_iter().collect();
        if rows.is_empty() {
            return;
        }
        let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
        tracing::warn!(actions = ?ids, error = %error, "outbox: the database failed while actions were carried out; they are queued again once it answers");
        self.stranded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(rows);
    }

    /// Queues the stranded rows again (see `strand`). Compare-and-set on `sending`: a row
    /// whose outcome was written after all is left as it is; a copy or a listing committed
    /// with its `done` mark, so one still `sending` was not carried out; a webhook may go
    /// twice, with the same `Idempotency-Key` (at least once, see the top).
    async fn settle_stranded(&self, now: i64) -> Result<(), StoreError> {
        let rows = std::mem::take(&mut *self.stranded.lock().unwrap_or_else(|e| e.into_inner()));
        let n = rows.len();
        let mut rows = rows.into_iter();
        while let Some(a) = rows.next() {
            let why = "the database failed while it was carried out: carried out again";
            if let Err(e) = self.requeue(&a, now, now, why).await {
                self.stranded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(std::iter::once(a).chain(rows));
                return Err(e);
            }
        }
        if n > 0 {
            tracing::info!(
                actions = n,
                "outbox: the database answers again; the actions it failed are queued again"
            );
        }
        Ok(())
    }

    /// Claims as many due webhooks as there are free slots and starts them; answers how many.
    async fn step_webhooks(&self, now: i64) -> Result<usize, StoreError> {
        let free = self.webhook_slots.available_permits() as u32;
        if free == 0 {
            return Ok(0);
        }
        // Claimed and marked busy under one lock: the 30 s re-check never takes a row whose
        // delivery is just starting for one whose claim was lost.
        let claiming = self.claiming.lock().await;
        let taken = self
            .store
            .claim_actions(&[ActionKind::Webhook], now, free)
            .await?;
        for a in &taken {
            self.claim_busy(a.id);
        }
        drop(claiming);
        let started = taken.len();
        let mut taken = taken.into_iter();
        while let Some(a) = taken.next() {
            let Ok(permit) = self.webhook_slots.clone().try_acquire_owned() else {
                let id = a.id;
                if let Err(e) = self.requeue(&a, now, now, "no free webhook slot").await {
                    let rest: Vec<ActionRow> = std::iter::once(a).chain(taken).collect();
                    for r in &rest {
                        self.release_busy(r.id);
                    }
                    self.strand(rest, &e);
                    return Err(e);
                }
                self.release_busy(id);
                continue;
            };
            let w = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let id = a.id;
                if let Err(e) = w.run_webhook(&a).await {
                    tracing::error!(action = a.id, error = %e, "outbox: writing a webhook's outcome failed");
                    w.strand([a], &e);
                }
                w.release_busy(id);
            });
        }
        Ok(started)
    }

    /// Claims as many due SMS (and delivery polls) as there are free slots and starts them;
    /// answers how many it started.
    async fn step_sms(&self, now: i64) -> Result<usize, StoreError> {
        let Some(client) = self.sms.clone() else {
            return Ok(0);
        };
        match self.sms_state() {
            SmsState::Off | SmsState::Stopped(_) => return Ok(0),
            SmsState::HeldUntil(t, _) if now < t => return Ok(0),
            SmsState::HeldUntil(..) => {
                self.end_hold(now).await?;
                self.set_state(SmsState::Running)
            }
            SmsState::Running => {}
        }
        let free = self.sms_slots.available_permits() as u32;
        if free == 0 {
            return Ok(0);
        }
        // Claimed and marked busy under one lock: the 30 s re-check of unresolved SMS never
        // takes a row whose send is just starting.
        let claiming = self.claiming.lock().await;
        let mut taken = self
            .store
            .claim_actions(&[ActionKind::Sms], now, free)
            .await?;
        let polls_room = free.saturating_sub(taken.len() as u32);
        if polls_room > 0 {
            let next = now + POLL_FIRST.as_millis() as i64;
            let mut polls = self.store.claim_polls(now, next, polls_room).await?;
            taken.append(&mut polls);
        }
        for a in &taken {
            self.claim_busy(a.id);
        }
        drop(claiming);
        let started = taken.len();
        for a in taken {
            let Ok(permit) = self.sms_slots.clone().try_acquire_owned() else {
                if a.status == ActionStatus::Sending {
                    self.requeue(&a, now, now, "no free SMS slot").await?;
                }
                self.release_busy(a.id);
                continue;
            };
            let (w, client) = (self.clone(), client.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let r = if a.status == ActionStatus::Sent {
                    w.poll(&client, &a).await
                } else {
                    w.send_sms(&client, &a).await
                };
                if let Err(e) = r {
                    tracing::error!(action = a.id, error = %e, "outbox: writing an SMS outcome failed");
                }
                w.release_busy(a.id);
            });
        }
        Ok(started)
    }

    /// Writes an attempt's outcome, and counts it (`autoinformer_actions_total`).
    /// Writes an attempt's outcome if the action is still as the attempt found it
    /// (compare-and-set on its state), and counts it (`autoinformer_actions_total`).
    async fn write(&self, a: &ActionRow, u: &ActionUpdate) -> Result<(), StoreError> {
        if self.store.update_action(a.id, a.status, u).await? {
            count(a.payload.kind().as_str(), &u.attempt.outcome);
            if u.status == ActionStatus::Failed && u.attempt.outcome == "failed" {
                self.gave_up(a, u);
            }
        } else {
            tracing::debug!(
                action = a.id,
                from = a.status.as_str(),
                to = u.status.as_str(),
                "outbox: the action changed meanwhile; this outcome is not written"
            );
        }
        Ok(())
    }

    /// An action failed for good: one WARN line and a count by kind and reason.
    fn gave_up(&self, a: &ActionRow, u: &ActionUpdate) {
        let kind = a.payload.kind().as_str();
        let why = u.last_error.as_deref().unwrap_or("failed");
        let reason = if why.starts_with("given up") {
            "give_up_time"
        } else if why.contains("410 Gone") {
            "gone"
        } else if why.contains("the receiver refused") {
            "client_error"
        } else if why.contains("outcome unknown") {
            "unknown_outcome"
        } else if why.contains("private") || why.contains("not an http") {
            "refused_address"
        } else {
            "refused"
        };
        tracing::warn!(action = a.id, call = a.call_id, kind, reason, error = %why, "outbox: an action was given up");
        metrics::counter!("autoinformer_actions_given_up_total", "kind" => kind, "reason" => reason)
            .increment(1);
    }

    /// Queues an action again for `at`, noting why.
    async fn requeue(&self, a: &ActionRow, now: i64, at: i64, why: &str) -> Result<(), StoreError> {
        let mut u = with_error(update(ActionStatus::Queued, now, "retry"), why);
        u.next_at = Some(at);
        self.write(a, &u).await
    }

    /// A temporary failure: again after the backoff, or given up past the action's time.
    async fn retry_or_give_up(
        &self,
        a: &ActionRow,
        now: i64,
        why: &str,
        http_status: Option<i64>,
    ) -> Result<(), StoreError> {
        let at = now + retry_delay_ms(a.attempts.max(1) as u32, Self::jitter());
        let mut u = if at > a.give_up_at {
            with_error(
                update(ActionStatus::Failed, now, "failed"),
                format!("given up after {} attempts: {why}", a.attempts),
            )
        } else {
            let mut u = with_error(update(ActionStatus::Queued, now, "retry"), why);
            u.next_at = Some(at);
            u
        };
        u.attempt.http_status = http_status;
        self.write(a, &u).await
    }

    async fn run_db(&self, a: &ActionRow, now: i64) -> Result<(), StoreError> {
        let r = match &a.payload {
            Payload::AddToProject {
                project,
                first_number,
                not_before,
            } => self
                .store
                .copy_contact(a, project, first_number, *not_before, now)
                .await
                .map(|o| match &o {
                    CopyOutcome::NoSuchProject(why) => {
                        tracing::warn!(action = a.id, "add to project: {why}");
                        count("add_to_project", "failed");
                    }
                    CopyOutcome::Copied(_) | CopyOutcome::NothingToCopy(_) => {
                        count("add_to_project", "done")
                    }
                    CopyOutcome::NotClaimed => {}
                }),
            Payload::StopList { numbers, reason } => self
                .store
                .opt_out(a, numbers, reason, now)
                .await
                .map(|done| {
                    if done {
                        count("stop_list", "done");
                    }
                }),
            _ => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(action = a.id, error = %e, "outbox: a database action failed; trying again");
            self.retry_or_give_up(a, now, &e.to_string(), None).await?;
        }
        Ok(())
    }

    async fn run_webhook(&self, a: &ActionRow) -> Result<(), StoreError> {
        let Payload::Webhook {
            url,
            secret_from,
            call,
        } = &a.payload
        else {
            return Ok(());
        };
        let now = (self.now)();
        if let Some(at) = self.store.webhook_gone(url).await? {
            let u = with_error(
                update(ActionStatus::Failed, now, "failed"),
                format!(
                    "the receiver answered 410 Gone at {}: no more deliveries to {url} (a retry \
                     through the API, or a new webhook_url, opens it again)",
                    at_text(at)
                ),
            );
            return self.write(a, &u).await;
        }
        let own = self.store.webhook_secret(*secret_from).await?;
        let stored = own.as_deref().unwrap_or(&self.server_secret);
        let secrets = super::webhook::secrets_of(stored);
        // The body is fixed at the first attempt: every retry sends the same bytes.
        let body = match &a.body {
            Some(b) => b.clone(),
            None => {
                let mut body = call.clone();
                // What became of the call's other actions by the first attempt (a webhook at
                // the call's end; `transfer.started` goes while they are still to come).
                let at_end = body["type"] != "transfer.started";
                if let Some(others) = match at_end {
                    true => self.store.call_actions(a.call_id).await.ok(),
                    false => None,
                } {
                    body["actions"] = serde_json::json!(others
                        .iter()
                        .filter(|o| o.id != a.id)
                        .map(|o| serde_json::json!({"kind": o.kind, "status": o.status}))
                        .collect::<Vec<_>>());
                }
                let text = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
                self.store.fix_webhook_body(a.id, &text).await?
            }
        };
        let key = a.idempotency_key();
        let sign = Signed {
            secrets: &secrets,
            msg_id: &key,
            t: now.div_euclid(1000),
        };
        let started = std::time::Instant::now();
        let d = self.webhooks.deliver(url, sign, body.as_bytes()).await;
        let took = started.elapsed().as_millis() as i64;
        match d {
            Delivery::Delivered(code) => {
                let mut u = update(ActionStatus::Done, now, "done");
                u.done_at = Some(now);
                u.external_id = Some(code.to_string());
                u.attempt.http_status = Some(i64::from(code));
                u.attempt.duration_ms = Some(took);
                self.write(a, &u).await
            }
            Delivery::Retry { status, error } => {
                self.retry_or_give_up(a, now, &error, status.map(i64::from))
                    .await
            }
            Delivery::Gone => {
                self.store.mark_webhook_gone(url, a.id, now).await?;
                let mut u = with_error(
                    update(ActionStatus::Failed, now, "failed"),
                    format!(
                        "the receiver answered 410 Gone: no more deliveries to {url} (a retry \
                         through the API, or a new webhook_url, opens it again)"
                    ),
                );
                u.attempt.http_status = Some(410);
                self.write(a, &u).await
            }
            Delivery::ClientError { status, error } if a.attempts >= CLIENT_ERROR_TRIES => {
                let mut u = with_error(
                    update(ActionStatus::Failed, now, "failed"),
                    format!(
                        "the receiver refused it {} times: {error}; fix the receiver, then \
                         POST /api/v1/actions/{}/retry",
                        a.attempts, a.id
                    ),
                );
                u.attempt.http_status = Some(i64::from(status));
                self.write(a, &u).await
            }
            Delivery::ClientError { status, error } => {
                self.retry_or_give_up(a, now, &error, Some(i64::from(status)))
                    .await
            }
            Delivery::Refused(why) => {
                let u = with_error(update(ActionStatus::Failed, now, "failed"), why);
                self.write(a, &u).await
            }
        }
    }
}
