//! One dialed call from the dialer's side, and the calls a stop interrupted.
//!
//! A call task runs the live call and, beside it, writes what the call learns the moment it
//! learns it (the answer's time and the recording's path: `Store::call_answered`), so that
//! nothing on the call's own timing path ever waits for the database. When the call has ended,
//! its line is freed at once; the result, the contact's new plan (`dialer::plan`) and the
//! decisions are then written in one transaction.
//!
//! Closing the calls a stop, a failed task or a lost task left in progress is `recover`'s.
use crate::call::live::{run_call_watched, CallWatch, LiveReport, LiveSettings, NO_MEDIA_REASON};
use crate::call::Decision;
use crate::call::{CallConfig, CallEvent};
use crate::rules::attempts::Outcome;
use crate::rules::plan::{plan, Plan};
use crate::scenario::{system_result, Scenario};
use crate::store::{CallDecision, DialerStore, DueContact, FinishedCall, ProjectRow, StoreError};
use crate::telephony::trunk::{DialRequest, Trunk};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What every call task of one dialer shares.
pub struct CallContext {
    pub store: Arc<dyn DialerStore>,
    pub trunk: Arc<dyn Trunk>,
    pub call_cfg: CallConfig,
    pub live: LiveSettings,
    pub clock: crate::clock::Clock,
    pub lines: Lines,
    pub registry: Option<Arc<crate::phone::registry::Registry>>,
    pub media: MediaWatch,
    /// How long the outbox keeps trying a call's actions.
    pub actions_give_up: Duration,
    /// The agents transfers go to (docs/agents.md); `None`: transfers are not carried out.
    pub transfers: Option<TransferBase>,
    /// The learned greetings (docs/amd.md); `None`: none are learned.
    pub greetings: Option<Arc<super::greetings::GreetingKeeper>>,
    /// Calls answered and still up (pacing weighs an answered call on its way to the agents
    /// apart from one still ringing; docs/pacing.md).
    pub answered: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// Whether the trunk answers calls at all (`trunk_watch`): a dead trunk holds the dialer.
    pub trunk_watch: std::sync::Mutex<super::trunk_watch::TrunkWatch>,
    /// Whether the database answers (`db_watch`): the log says when it does not.
    pub db_watch: super::db_watch::DbWatch,
}

/// What every transfer of this dialer shares.
#[derive(Clone)]
pub struct TransferBase {
    pub agents: Arc<crate::agents::service::Agents>,
    /// The server's `[agents]` settings, which a project's own settings override.
    pub settings: crate::call::transfer::TransferSettings,
}

impl TransferBase {
    /// A project's transfer settings: its own where it sets them, the server's elsewhere.
    /// Its hold music is a prompt found in `folders` (then among the bundled ones), decoded
    /// once per process; one that cannot be found or played keeps the server's, logged.
    pub fn for_project(
        &self,
        project: &str,
        own: &crate::store::TransferOptions,
        folders: &[&std::path::Path],
    ) -> crate::call::transfer::TransferSettings {
        let mut s = self.settings.clone();
        let secs = |v: u32| Duration::from_secs(u64::from(v));
        if let Some(v) = own.wrap_up_s {
            s.wrap_up = secs(v);
        }
        if let Some(v) = own.agent_ring_s {
            s.agent_ring = secs(v.max(1));
        }
        if let Some(v) = own.queue_max_wait_s {
            s.queue_max_wait = secs(v.max(1));
        }
        if let Some(v) = own.queue_announce_s {
            s.queue_announce = (v > 0).then(|| secs(v));
        }
        if let Some(name) = &own.hold_music {
            match crate::media::prompt::Prompt::find(name, folders) {
                Ok(Some(p)) => s.audio.hold = p.samples(),
                Ok(None) => tracing::warn!(
                    project,
                    hold_music = %name,
                    "the project's hold music is not among the stored or bundled prompts: \
                     the server's plays"
                ),
                Err(e) => tracing::warn!(
                    project,
                    hold_music = %name,
                    error = %e,
                    "the project's hold music cannot be played: the server's plays"
                ),
            }
        }
        s
    }
}

/// Calls up per project. A line is taken as a guard and given back when the guard drops, so
/// a call task that panics or is cancelled frees its line all the same.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<HashMap<i64, u32>>>);

/// One line in use; dropping it frees the line.
pub struct LineGuard {
    lines: Lines,
    project: i64,
}

impl Lines {
    fn map(&self) -> MutexGuard<'_, HashMap<i64, u32>> {
        // A panic while the map was locked cannot leave it half-updated (single operations
        // on integers), so a poisoned lock's data is still right.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a line of `project`.
    pub fn take(&self, project: i64) -> LineGuard {
        *self.map().entry(project).or_insert(0) += 1;
        LineGuard {
            lines: self.clone(),
            project,
        }
    }

    /// Calls up per project.
    pub fn snapshot(&self) -> HashMap<i64, u32> {
        self.map().clone()
    }

    pub fn total(&self) -> u32 {
        self.map().values().sum()
    }
}

impl Drop for LineGuard {
    fn drop(&mut self) {
        let mut m = self.lines.map();
        if let Some(n) = m.get_mut(&self.project) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.project);
            }
        }
    }
}

/// Answered calls per project that had no audio at all, over the last `MEDIA_WINDOW`: when
/// most of them do, the trunk's media path is misconfigured and the log says so.
#[derive(Default)]
pub struct MediaWatch(Mutex<HashMap<i64, MediaWindow>>);

/// One project's last answered calls (true: no audio) and when it was last warned about.
type MediaWindow = (VecDeque<bool>, Option<std::time::Instant>);

/// Answered calls looked at per project.
const MEDIA_WINDOW: usize = 20;
/// From this many calls without audio among them, warn.
const MEDIA_WARN_AT: usize = 5;
/// At most one warning per project this often.
const MEDIA_WARN_EVERY: Duration = Duration::from_secs(60);

impl MediaWatch {
    fn note(&self, project: &ProjectRow, no_media: bool) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (window, warned) = m.entry(project.id).or_default();
        window.push_back(no_media);
        if window.len() > MEDIA_WINDOW {
            window.pop_front();
        }
        let bad = window.iter().filter(|b| **b).count();
        if no_media
            && bad >= MEDIA_WARN_AT
            && warned.is_none_or(|w| w.elapsed() >= MEDIA_WARN_EVERY)
        {
            *warned = Some(std::time::Instant::now());
            tracing::warn!(
                project = %project.name,
                calls = window.len(),
                without_audio = bad,
                "answered calls get no audio from the callee: the media path is broken — check \
                 trunk.sip.rtp_ip (AUTOINFORMER_TRUNK_SIP_RTP_IP), NAT and the firewall for the \
                 RTP ports (trunk.sip.rtp_port_min..rtp_port_max)"
            );
        }
    }
}

/// Tells the trunk watch what this call's end says of the trunk, and logs a change.
fn watch_trunk(ctx: &CallContext, call_id: i64, r: &LiveReport) {
    use super::trunk_watch::{Change, TrunkSaid};
    let said = if r.answered || r.sip_status.is_some() {
        TrunkSaid::Answered
    } else if r
        .reason
        .as_deref()
        .is_some_and(|w| w.starts_with(crate::telephony::trunk::NO_RESPONSE))
    {
        TrunkSaid::Silent
    } else {
        // Given up on early media, a line or port not to be had: nothing about the trunk.
        return;
    };
    let now_ms = ctx.clock.now_ms();
    let change = ctx
        .trunk_watch
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ended(call_id, said, now_ms);
    let in_s = |at: i64| (at - now_ms).max(0) / 1000;
    match change {
        Some(Change::Held { probe_at_ms }) => {
            metrics::gauge!("autoinformer_trunk_held").set(1.0);
            tracing::warn!(
                calls = super::trunk_watch::SILENT_IN_A_ROW,
                probe_in_s = in_s(probe_at_ms),
                "the trunk answered none of the last calls: dialing held, one probe call at a \
                 time until it answers — check trunk.sip.server and the network to it"
            );
        }
        Some(Change::ProbeFailed { probe_at_ms }) => tracing::warn!(
            probe_in_s = in_s(probe_at_ms),
            "the trunk did not answer the probe call either: dialing stays held"
        ),
        Some(Change::Back { held_ms }) => {
            metrics::gauge!("autoinformer_trunk_held").set(0.0);
            tracing::info!(
                held_s = held_ms / 1000,
                "the trunk answers again: dialing resumes"
            );
        }
        None => {}
    }
}

/// How a call's transfer goes: the project's transfer settings (`None`: the server's), and
/// for a preview call the agent who pressed «call» (docs/pacing.md), the only one it reaches.
#[derive(Clone, Default)]
pub struct CallTransfer {
    pub settings: Option<crate::call::transfer::TransferSettings>,
    pub preview_agent: Option<crate::agents::pool::AgentId>,
}

/// One call: dials, writes the answer at once and each decision of the scenario at once,
/// frees the line when it ends, then writes the result and the contact's next step (tried
/// again with a backoff if the database fails; the sweep closes the call if it never can).
pub async fn run(
    ctx: Arc<CallContext>,
    p: Arc<ProjectRow>,
    scenario: Arc<Scenario>,
    contact: DueContact,
    call_id: i64,
    line: LineGuard,
    how: CallTransfer,
) {
    let number = contact.numbers[contact.next_idx].e164.clone();
    let req = DialRequest {
        call_id: format!("c{call_id}"),
        number: number.clone(),
        caller_id: None,
    };
    let dialed_at_ms = ctx.clock.now_ms();
    let (tell, answered) = tokio::sync::oneshot::channel::<crate::call::live::Answered>();
    let store = ctx.store.clone();
    let told = ctx.clone();
    let answer_writer = tokio::spawn(async move {
        if let Ok(a) = answered.await {
            told.answered
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(call_id);
            // On the dialer's clock, like the call's other times.
            let at_ms = dialed_at_ms + a.ring_ms as i64;
            let write = || store.call_answered(call_id, at_ms, a.recording.as_deref());
            if let Err(e) = retrying(store.as_ref(), call_id, "the answer", write).await {
                tracing::error!(call = call_id, error = %e, "cannot record the answer");
            }
        }
    });
    let (on_decided, decisions) = tokio::sync::mpsc::unbounded_channel::<Decision>();
    let decision_writer = tokio::spawn(write_decisions(
        ctx.clone(),
        p.clone(),
        contact.clone(),
        call_id,
        number.clone(),
        decisions,
    ));
    let transfer = ctx
        .transfers
        .as_ref()
        .map(|b| crate::call::transfer::TransferContext {
            agents: b.agents.clone(),
            trunk: Some(ctx.trunk.clone()),
            project: p.id,
            settings: how.settings.clone().unwrap_or_else(|| b.settings.clone()),
            card: crate::agents::card::CallCard {
                call_id: Some(call_id),
                project_id: p.id,
                project_name: p.name.clone(),
                time_zone: p.time_zone.clone(),
                contact_name: contact.name.clone(),
                fields: contact
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                number: number.clone(),
                dispositions: p.transfer.dispositions_or_default(),
                callback_project: p.callback_project.clone(),
                preview_agent: how.preview_agent,
                ..Default::default()
            },
        });
    // A transfer began: the project's webhook hears it at once (a CRM opens the card); no
    // task waits for it in a project without a webhook.
    let (tell_started, started_writer) =
        match p.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(_) => {
                let (tell, started) = tokio::sync::oneshot::channel();
                let writer = tokio::spawn(post_transfer_started(
                    ctx.clone(),
                    p.clone(),
                    contact.clone(),
                    call_id,
                    number.clone(),
                    started,
                ));
                (Some(tell), Some(writer))
            }
            None => (None, None),
        };
    // An agent answered: the transfer's held callback goes at once.
    let (tell_transfer, transfer_answered) = tokio::sync::oneshot::channel::<()>();
    let store = ctx.store.clone();
    let transfer_writer = tokio::spawn(async move {
        if transfer_answered.await.is_ok() {
            let write = || store.transfer_answered(call_id);
            if let Err(e) = retrying(store.as_ref(), call_id, "the transfer's answer", write).await
            {
                tracing::error!(call = call_id, error = %e, "cannot record the agent's answer");
            }
        }
    });
    let watch = CallWatch {
        on_answer: Some(tell),
        on_decided: Some(on_decided),
        transfer,
        on_transfer_answered: Some(tell_transfer),
        on_transfer_started: tell_started,
    };
    let r = run_call_watched(
        ctx.trunk.as_ref(),
        req,
        scenario,
        ctx.call_cfg.clone(),
        &ctx.live,
        None,
        watch,
    )
    .await;
    // The line is free the moment the call is over; the bookkeeping follows. A preview call
    // that never reached its agent lets the agent go.
    drop(line);
    ctx.answered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&call_id);
    if let (Some(agent), Some(b)) = (how.preview_agent, ctx.transfers.as_ref()) {
        b.agents.release_preview(agent);
    }
    let _ = answer_writer.await;
    let _ = decision_writer.await;
    let _ = transfer_writer.await;
    if let Some(w) = started_writer {
        let _ = w.await;
    }
    if r.answered {
        ctx.media
            .note(&p, r.reason.as_deref() == Some(NO_MEDIA_REASON));
    }
    watch_trunk(&ctx, call_id, &r);
    let write = || {
        finish(
            &ctx,
            &p,
            contact.clone(),
            call_id,
            &number,
            dialed_at_ms,
            &r,
        )
    };
    match retrying(ctx.store.as_ref(), call_id, "the call's result", write).await {
        Ok(()) => {}
        // Closed already: most likely by an earlier try of this very write whose answer was
        // lost (the connection cut at its commit) — this dialer's sweep never closes a call
        // whose task runs. Its contact was planned with it; nothing is written twice.
        Err(e @ StoreError::Conflict(_)) => {
            tracing::warn!(call = call_id, error = %e, "the call was closed already (by an earlier try of its result whose answer was lost, or by a take-over)")
        }
        Err(e) => {
            tracing::error!(call = call_id, error = %e, "cannot write the call's result; the sweep closes it");
            return;
        }
    }
    if let Err(e) = replan_if_edited(&ctx, &p, contact.id).await {
        tracing::error!(call = call_id, error = %e, "cannot plan the contact under the project's edited settings");
    }
    if let (Some(keeper), Some(heard)) = (&ctx.greetings, r.outcome.greeting.as_ref()) {
        let now = ctx.clock.now().timestamp();
        if let Err(e) = keeper.learn(heard, now).await {
            tracing::warn!(call = call_id, error = %e, "cannot keep what the call taught of greetings");
        }
    }
}

/// The project's settings were edited while the call was up (its contact, parked for the
/// call, was left out of the edit's re-plan, and the call's end planned it under the settings
/// the call began with): plans the contact again under the settings of now. Read after the
/// call's end is written, so an edit either is seen here or re-plans the contact itself.
async fn replan_if_edited(
    ctx: &CallContext,
    p: &ProjectRow,
    contact_id: i64,
) -> Result<(), StoreError> {
    if ctx.store.settings_version(p.id).await? != p.settings_version {
        ctx.store.replan_one(p.id, contact_id).await?;
    }
    Ok(())
}

/// How long a write of a call's bookkeeping is tried again after the database failed while it
/// answers, at most (the first retry after `RETRY_FIRST`, doubling up to `RETRY_MAX` apart).
/// While the database does not answer at all the write waits for it however long that takes:
/// a call's result is never given up because the database was away.
const RETRY_FOR: Duration = Duration::from_secs(10 * 60);
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs `write` until it succeeds, retrying database failures with a backoff (see `RETRY_FOR`:
/// `store` is asked whether the database answers before one is given up); a conflict (the
/// call closed already) is final.
async fn retrying<F, Fut, T>(
    store: &dyn DialerStore,
    call_id: i64,
    what: &str,
    write: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let away = || async { super::db_watch::answers(store).await.is_err() };
    retrying_while(call_id, what, write, away).await
}

/// `retrying` with `away` answering whether the database is away: while it is, the write is
/// tried on past `RETRY_FOR`, which counts again from the database's return.
async fn retrying_while<F, Fut, T, A, AFut>(
    call_id: i64,
    what: &str,
    mut write: F,
    away: A,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
    A: Fn() -> AFut,
    AFut: std::future::Future<Output = bool>,
{
    let mut started = tokio::time::Instant::now();
    let mut wait = RETRY_FIRST;
    let mut failed = false;
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(e @ StoreError::Db(_)) => {
                if started.elapsed() + wait >= RETRY_FOR {
                    if !away().await {
                        return Err(e);
                    }
                    started = tokio::time::Instant::now();
                }
                failed = true;
                tracing::warn!(call = call_id, error = %e, retry_in_ms = wait.as_millis() as u64, "writing {what} failed; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(e @ StoreError::Conflict(_)) if failed => {
                tracing::info!(call = call_id, error = %e, "writing {what}: closed meanwhile, most likely by an earlier try whose answer was lost; nothing is written twice");
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes each decision of the scenario the moment it comes (a newer one that came meanwhile
/// stands for the older: it holds the result so far and every action so far).
async fn write_decisions(
    ctx: Arc<CallContext>,
    p: Arc<ProjectRow>,
    contact: DueContact,
    call_id: i64,
    number: String,
    mut decisions: tokio::sync::mpsc::UnboundedReceiver<Decision>,
) {
    while let Some(mut d) = decisions.recv().await {
        while let Ok(newer) = decisions.try_recv() {
            d = newer;
        }
        let at_ms = ctx.clock.now_ms();
        let numbers = contact.e164s();
        let none = serde_json::Value::Null;
        let first = d.events.first();
        let facts = crate::actions::CallFacts {
            call_id,
            project_id: p.id,
            project_name: &p.name,
            callback_project: p.callback_project.as_deref(),
            contact_name: contact.name.as_deref(),
            fields: &contact.fields,
            number: &number,
            numbers: &numbers,
            reaction: first.map(reaction_of),
            captured: &d.outcome.captured,
            // Webhooks wait for the call's end and carry its final JSON (`finish_call`).
            call_json: &none,
        };
        let decision = CallDecision {
            call_id,
            project_id: p.id,
            contact_id: contact.id,
            result: &d.outcome.result,
            reaction: first.map(reaction_text),
            transcript: transcript_of(&d.events),
            captured: serde_json::to_string(&d.outcome.captured).unwrap_or_else(|_| "{}".into()),
            at_ms,
            actions: crate::actions::actions_for(&d.outcome.actions, None, &facts),
            actions_give_up_at: at_ms + ctx.actions_give_up.as_millis() as i64,
        };
        match retrying(
            ctx.store.as_ref(),
            call_id,
            "the scenario's decision",
            || ctx.store.decide_call(&decision),
        )
        .await
        {
            Ok(true) => {
                tracing::info!(call = call_id, result = %d.outcome.result, actions = decision.actions.len(), "decision kept")
            }
            Ok(false) => tracing::warn!(
                call = call_id,
                "the call was closed before its decision could be kept"
            ),
            Err(e) => {
                tracing::error!(call = call_id, error = %e, "cannot keep the scenario's decision; it is written with the call's end")
            }
        }
    }
}

fn reaction_of(e: &CallEvent) -> crate::actions::Reaction<'_> {
    match e {
        CallEvent::Dtmf { digit, .. } => crate::actions::Reaction::Key(*digit),
        CallEvent::Speech { text, .. } => crate::actions::Reaction::Said(text),
    }
}

fn reaction_text(e: &CallEvent) -> String {
    match e {
        CallEvent::Dtmf { digit, .. } => digit.to_string(),
        CallEvent::Speech { text, .. } => text.clone(),
    }
}

/// The utterances heard, joined (`None` when there were none).
fn transcript_of(events: &[CallEvent]) -> Option<String> {
    let said: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Speech { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    (!said.is_empty()).then(|| said.join(" | "))
}

/// Plans a contact's next step after `result` on its number `idx`, with the stop list and the
/// callee zones of today.
pub(super) async fn next_plan(
    ctx: &CallContext,
    p: &ProjectRow,
    contact: &mut DueContact,
    idx: usize,
    result: &str,
    ended: i64,
) -> Result<(Outcome, Plan), StoreError> {
    let outcome = contact.attempts.record(idx, result, ended, &p.rules);
    let listed = ctx.store.stop_listed_among(&contact.e164s()).await?;
    let (schedule, types) = (p.schedule(), p.types());
    let new = {
        let facts = contact.number_facts(&listed, ctx.registry.as_deref());
        let order = contact.order_facts();
        let mut attempts = contact.attempts.clone();
        let new = plan(
            &mut attempts,
            &facts,
            p.facts(schedule.as_ref(), types.as_ref()),
            order,
            ended,
        );
        drop(facts);
        contact.attempts = attempts;
        new
    };
    Ok((outcome, new))
}

/// The decision-log words for what a result did.
pub(super) fn outcome_words(p: &ProjectRow, o: &Outcome) -> String {
    match o {
        Outcome::Reached => "reached".to_string(),
        Outcome::Retry { not_before } => {
            let tz: chrono_tz::Tz = p.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
            let at = chrono::DateTime::from_timestamp(*not_before, 0)
                .unwrap_or_default()
                .with_timezone(&tz);
            format!(
                "retry not before {} {}",
                at.format("%d.%m %H:%M"),
                tz.name()
            )
        }
        Outcome::NumberDone { reason } => format!("number done: {reason}"),
        Outcome::NotReached { reason } => format!("not reached: {reason}"),
    }
}

async fn finish(
    ctx: &CallContext,
    p: &ProjectRow,
    mut contact: DueContact,
    call_id: i64,
    number: &str,
    dialed_at_ms: i64,
    r: &LiveReport,
) -> Result<(), StoreError> {
    let ended_at_ms = ctx.clock.now().timestamp_millis();
    let ended = ended_at_ms.div_euclid(1000);
    let idx = contact.next_idx;
    let (outcome, new) = next_plan(ctx, p, &mut contact, idx, &r.outcome.result, ended).await?;
    let reaction = r.outcome.events.first().map(reaction_text);
    let answers_ms: Vec<u64> = r
        .outcome
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Speech { at_ms, end_ms, .. } => Some(end_ms.saturating_sub(*at_ms)),
            _ => None,
        })
        .collect();
    let mut log = vec![(
        "result".to_string(),
        format!("{}: {}", r.outcome.result, outcome_words(p, &outcome)),
    )];
    log.extend(new.notes.iter().map(|(d, w)| (d.to_string(), w.clone())));
    let mut cost = p
        .tariff
        .call_cost(r.answered, r.outcome.duration_ms, &answers_ms);
    // An external transfer's second leg is an outgoing call of its own, priced by the tariff
    // from its pickup (transfers to agents cost nothing more).
    let mut transfer = r
        .transfer
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok());
    if let (Some(t), Some(v)) = (r.transfer.as_ref(), transfer.as_mut()) {
        if t.to != "agents" {
            let leg = p.tariff.call_cost(t.answered, t.talk_ms, &[]);
            cost += leg;
            v["cost"] = serde_json::json!(leg);
        }
    }
    let amd = r.answered.then(|| {
        (
            r.outcome.amd.verdict.as_str().to_string(),
            r.outcome.amd.reason.clone(),
            r.outcome.amd.decided_at_ms as i64,
        )
    });
    let transcript = transcript_of(&r.outcome.events);
    let mut finished = FinishedCall {
        call_id,
        project_id: p.id,
        contact_id: contact.id,
        number,
        result: &r.outcome.result,
        sip_status: r.sip_status,
        dialed_at_ms: Some(dialed_at_ms),
        answered_at_ms: r.answered.then_some(dialed_at_ms + r.ring_ms as i64),
        ended_at_ms,
        ring_ms: Some(r.ring_ms as i64),
        talk_ms: r.answered.then_some(r.outcome.duration_ms as i64),
        end_reason: r.reason.clone(),
        reaction,
        transcript,
        captured: serde_json::to_string(&r.outcome.captured).unwrap_or_else(|_| "{}".into()),
        amd,
        recording: r.recording.clone(),
        recording_error: r.recording_error.clone(),
        cost,
        attempts: &contact.attempts,
        plan: &new,
        log,
        actions: Vec::new(),
        actions_give_up_at: ended_at_ms + ctx.actions_give_up.as_millis() as i64,
        call_json: serde_json::Value::Null,
        transfer,
        timeline: r
            .answered
            .then(|| serde_json::to_string(&crate::call::Timeline::of(&r.outcome)).ok())
            .flatten(),
    };
    let call_json = final_call_json(&finished, p, &contact, &r.outcome.captured);
    let numbers = contact.e164s();
    let first = r.outcome.events.first();
    let facts = crate::actions::CallFacts {
        call_id,
        project_id: p.id,
        project_name: &p.name,
        callback_project: p.callback_project.as_deref(),
        contact_name: contact.name.as_deref(),
        fields: &contact.fields,
        number,
        numbers: &numbers,
        reaction: first.map(reaction_of),
        captured: &r.outcome.captured,
        call_json: &call_json,
    };
    finished.actions =
        crate::actions::actions_for(&r.outcome.actions, p.webhook_url.as_deref(), &facts);
    finished.call_json = call_json.clone();
    ctx.store.finish_call(&finished).await
}

/// Posts `transfer.started` to the project's webhook (docs/actions.md, "Webhooks") when a
/// transfer begins: written to the outbox at once, so it goes while the caller waits.
async fn post_transfer_started(
    ctx: Arc<CallContext>,
    p: Arc<ProjectRow>,
    contact: DueContact,
    call_id: i64,
    number: String,
    started: tokio::sync::oneshot::Receiver<crate::call::live::TransferStarted>,
) {
    let Ok(t) = started.await else { return };
    let at_ms = ctx.clock.now_ms();
    let body = serde_json::json!({
        "type": "transfer.started",
        "call_id": call_id,
        "project": {"id": p.id, "name": p.name},
        "contact": {"id": contact.id, "name": contact.name, "fields": contact.fields},
        "number": number,
        "result": t.result,
        "result_label": system_result::label_ru(&t.result).unwrap_or(&t.result),
        "captured": t.captured,
        "transfer": {"to": t.to},
        "at_ms": at_ms,
    });
    let Some(action) = crate::actions::transfer_started(p.webhook_url.as_deref(), p.id, body)
    else {
        return;
    };
    let give_up = at_ms + ctx.actions_give_up.as_millis() as i64;
    let actions = [action];
    let write = || {
        ctx.store
            .call_actions_now((call_id, p.id, contact.id), &actions, at_ms, give_up)
    };
    if let Err(e) = retrying(
        ctx.store.as_ref(),
        call_id,
        "the transfer.started webhook",
        write,
    )
    .await
    {
        tracing::error!(call = call_id, error = %e, "cannot queue the transfer.started webhook");
    }
}

/// A finished call as its webhooks post it (docs/actions.md, "Webhooks").
pub(super) fn final_call_json(
    f: &FinishedCall<'_>,
    p: &ProjectRow,
    contact: &DueContact,
    captured: &BTreeMap<String, String>,
) -> serde_json::Value {
    serde_json::json!({
        "type": "call.finished",
        "call_id": f.call_id,
        "project": {"id": p.id, "name": p.name},
        "contact": {"id": contact.id, "name": contact.name, "fields": contact.fields},
        "number": f.number,
        "result": f.result,
        "result_label": system_result::label_ru(f.result).unwrap_or(f.result),
        "reaction": f.reaction,
        "transcript": f.transcript,
        "captured": captured,
        "amd": f.amd.as_ref().map(|(v, why, ms)| serde_json::json!({"verdict": v, "reason": why, "decided_at_ms": ms})),
        "answered": f.answered_at_ms.is_some(),
        "sip_status": f.sip_status,
        "ring_ms": f.ring_ms,
        "talk_ms": f.talk_ms,
        "end_reason": f.end_reason,
        "cost": f.cost,
        "recording": f.recording.as_ref().map(|_| crate::store::recording_url(f.call_id)),
        "recording_error": f.recording_error,
        "transfer": f.transfer,
        "started_at_ms": f.dialed_at_ms,
        "ended_at_ms": f.ended_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_tried_again_with_a_backoff_and_a_conflict_ends_it() {
        // The database fails twice, then the write goes through.
        let tries = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let answers = || async { false };
        let r = retrying_while(
            7,
            "the result",
            || async {
                match tries.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err(StoreError::Db("database is locked".into())),
                    _ => Ok(42),
                }
            },
            answers,
        )
        .await;
        assert_eq!(r.unwrap(), 42);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
        assert_eq!(started.elapsed(), RETRY_FIRST * 3, "200 ms, then 400 ms");
        // A conflict (the call closed already) is final at once.
        let tries = AtomicU32::new(0);
        let r: Result<(), _> = retrying_while(
            7,
            "the result",
            || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Conflict("closed".into()))
            },
            answers,
        )
        .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))));
        assert_eq!(tries.load(Ordering::SeqCst), 1);
        // A write the database keeps failing while it answers is given up after `RETRY_FOR`,
        // not tried forever.
        let started = tokio::time::Instant::now();
        let r: Result<(), _> = retrying_while(
            7,
            "the result",
            || async { Err(StoreError::Db("disk I/O error".into())) },
            answers,
        )
        .await;
        assert!(r.is_err());
        assert!(started.elapsed() <= RETRY_FOR, "{:?}", started.elapsed());
        assert!(started.elapsed() >= RETRY_FOR - RETRY_MAX * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_for_a_database_away_longer_than_the_retries_and_goes_through() {
        // The database is away for three times `RETRY_FOR`: the write is not given up.
        let started = tokio::time::Instant::now();
        let back = started + RETRY_FOR * 3;
        let away = || async move { tokio::time::Instant::now() < back };
        let tries = AtomicU32::new(0);
        let r = retrying_while(
            7,
            "the result",
            || async {
                tries.fetch_add(1, Ordering::SeqCst);
                if tokio::time::Instant::now() < back {
                    Err(StoreError::Db("pool timed out".into()))
                } else {
                    Ok(42)
                }
            },
            away,
        )
        .await;
        assert_eq!(r.unwrap(), 42);
        assert!(started.elapsed() >= RETRY_FOR * 3);
        assert!(
            started.elapsed() <= RETRY_FOR * 3 + RETRY_MAX,
            "{:?}",
            started.elapsed()
        );
        // A conflict after a failed try (that try went through after all) stays final.
        let tries = AtomicU32::new(0);
        let r: Result<(), _> = retrying_while(
            7,
            "the result",
            || async {
                match tries.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(StoreError::Db("connection reset".into())),
                    _ => Err(StoreError::Conflict("closed".into())),
                }
            },
            || async { false },
        )
        .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))));
        assert_eq!(tries.load(Ordering::SeqCst), 2);
    }
}
