//! One dialed call from the dialer's side, and the calls a stop interrupted.
//!
//! A call task runs the live call and, beside it, writes what the call learns the moment it
//! learns it (the answer's time and the recording's path: `Store::call_answered`), so that
//! nothing on the call's own timing path ever waits for the database. When the call has ended,
//! its line is freed at once; the result, the contact's new plan (`dialer::plan`) and the
//! decisions are then written in one transaction.
//!
//! Recovery, at start: every call still marked in progress was cut by a stop. It is closed as
//! `system` and keeps what was known — an answered call keeps its answer time, its recording
//! (repaired from the file's length) and its cost up to the recording's length. An interrupted
//! call does not count as reaching the person even when it was answered: the message was cut
//! off and no reaction was heard, so the contact is retried by the `system` rule (its retry
//! interval protects the person from an immediate second call); docs/campaigns.md says so.
use crate::call::live::{run_call_watched, unix_ms, LiveReport, LiveSettings, NO_MEDIA_REASON};
use crate::call::{CallConfig, CallEvent};
use crate::rules::attempts::Outcome;
use crate::rules::plan::{plan, Plan};
use crate::scenario::{system_result, Scenario};
use crate::store::{DialerStore, DueContact, FinishedCall, ProjectRow, StoreError};
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
    pub clock: super::clock::Clock,
    pub lines: Lines,
    pub registry: Option<Arc<crate::phone::registry::Registry>>,
    pub media: MediaWatch,
    /// How long the outbox keeps trying a call's actions.
    pub actions_give_up: Duration,
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

/// One call: dials, writes the answer at once, frees the line when it ends, then writes the
/// result and the contact's next step.
pub async fn run(
    ctx: Arc<CallContext>,
    p: Arc<ProjectRow>,
    scenario: Arc<Scenario>,
    contact: DueContact,
    call_id: i64,
    line: LineGuard,
) {
    let number = contact.numbers[contact.next_idx].e164.clone();
    let req = DialRequest {
        call_id: format!("c{call_id}"),
        number: number.clone(),
        caller_id: None,
    };
    let dialed_at_ms = ctx.clock.now().timestamp_millis();
    let (tell, answered) = tokio::sync::oneshot::channel::<crate::call::live::Answered>();
    let store = ctx.store.clone();
    let answer_writer = tokio::spawn(async move {
        if let Ok(a) = answered.await {
            if let Err(e) = store
                .call_answered(call_id, a.at_ms, a.recording.as_deref())
                .await
            {
                tracing::error!(call = call_id, error = %e, "cannot record the answer");
            }
        }
    });
    let r = run_call_watched(
        ctx.trunk.as_ref(),
        req,
        scenario,
        ctx.call_cfg.clone(),
        &ctx.live,
        None,
        Some(tell),
    )
    .await;
    // The line is free the moment the call is over; the bookkeeping follows.
    drop(line);
    let _ = answer_writer.await;
    if r.answered {
        ctx.media
            .note(&p, r.reason.as_deref() == Some(NO_MEDIA_REASON));
    }
    if let Err(e) = finish(&ctx, &p, contact, call_id, &number, dialed_at_ms, &r).await {
        tracing::error!(call = call_id, error = %e, "cannot write the call's result");
    }
}

/// Plans a contact's next step after `result` on its number `idx`, with the stop list and the
/// callee zones of today.
async fn next_plan(
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
fn outcome_words(p: &ProjectRow, o: &Outcome) -> String {
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
    let reaction = r.outcome.events.first().map(|e| match e {
        CallEvent::Dtmf { digit, .. } => digit.to_string(),
        CallEvent::Speech { text, .. } => text.clone(),
    });
    let transcript: Vec<&str> = r
        .outcome
        .events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Speech { text, .. } => Some(text.as_str()),
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
    let mut log = vec![(
        "result".to_string(),
        format!("{}: {}", r.outcome.result, outcome_words(p, &outcome)),
    )];
    log.extend(new.notes.iter().map(|(d, w)| (d.to_string(), w.clone())));
    let cost = p
        .tariff
        .call_cost(r.answered, r.outcome.duration_ms, &answers_ms);
    let amd = r.answered.then(|| {
        (
            r.outcome.amd.verdict.as_str().to_string(),
            r.outcome.amd.reason.clone(),
            r.outcome.amd.decided_at_ms as i64,
        )
    });
    let transcript = (!transcript.is_empty()).then(|| transcript.join(" | "));
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
        cost,
        attempts: &contact.attempts,
        plan: &new,
        log,
        actions: Vec::new(),
        actions_give_up_at: ended_at_ms + ctx.actions_give_up.as_millis() as i64,
    };
    let call_json = final_call_json(&finished, p, &contact, &r.outcome.captured);
    let numbers = contact.e164s();
    let first = r.outcome.events.first();
    let facts = crate::actions::CallFacts {
        call_id,
        project_id: p.id,
        project_name: &p.name,
        contact_name: contact.name.as_deref(),
        fields: &contact.fields,
        number,
        numbers: &numbers,
        reaction: first.map(|e| match e {
            CallEvent::Dtmf { digit, .. } => crate::actions::Reaction::Key(*digit),
            CallEvent::Speech { text, .. } => crate::actions::Reaction::Said(text),
        }),
        captured: &r.outcome.captured,
        call_json: &call_json,
    };
    finished.actions =
        crate::actions::actions_for(&r.outcome.actions, p.webhook_url.as_deref(), &facts);
    ctx.store.finish_call(&finished).await
}

/// A finished call as its webhooks post it (docs/actions.md, "Webhooks").
fn final_call_json(
    f: &FinishedCall<'_>,
    p: &ProjectRow,
    contact: &DueContact,
    captured: &BTreeMap<String, String>,
) -> serde_json::Value {
    serde_json::json!({
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
        "recording": f.recording,
        "started_at_ms": f.dialed_at_ms,
        "ended_at_ms": f.ended_at_ms,
    })
}

/// Where a call's recording is, if anywhere: the path the database names, else the one the
/// call would have used under the recordings folder.
fn recording_of(
    ctx: &CallContext,
    call_id: i64,
    named: Option<&str>,
) -> Option<std::path::PathBuf> {
    named
        .map(std::path::PathBuf::from)
        .or_else(|| {
            ctx.live
                .recordings
                .as_ref()
                .map(|d| d.join(format!("c{call_id}.wav")))
        })
        .filter(|p| p.exists())
}

/// Closes calls a crash left in progress as `system`, keeping what was known of them (see the
/// file's notes), and plans their contacts by the rules. Answers how many were closed.
pub async fn recover(ctx: &CallContext) -> Result<usize, StoreError> {
    let left = ctx.store.in_flight().await?;
    close_interrupted(ctx, &left, "a stop").await
}

/// Closes one call whose task failed (a panic): the same as recovery does for a call a stop
/// cut, at once, so its contact goes on by the rules.
pub async fn close_failed(ctx: &CallContext, call_id: i64) -> Result<(), StoreError> {
    let left: Vec<_> = ctx
        .store
        .in_flight()
        .await?
        .into_iter()
        .filter(|c| c.call_id == call_id)
        .collect();
    close_interrupted(ctx, &left, "a failure of its task").await?;
    Ok(())
}

/// Closes calls left in progress as `system`, keeping what was known of them; `by` says what
/// interrupted them ("a stop").
async fn close_interrupted(
    ctx: &CallContext,
    left: &[crate::store::InFlight],
    by: &str,
) -> Result<usize, StoreError> {
    if left.is_empty() {
        return Ok(0);
    }
    let projects: HashMap<i64, ProjectRow> = ctx
        .store
        .all_projects()
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let now_ms = unix_ms().max(ctx.clock.now().timestamp_millis());
    let now = now_ms.div_euclid(1000);
    for c in left {
        let Some(p) = projects.get(&c.project_id) else {
            continue;
        };
        let mut contact = ctx.store.contact(c.contact_id).await?;
        if let Some(idx) = contact.numbers.iter().position(|n| n.e164 == c.number) {
            contact.next_idx = idx;
        }
        let recording = recording_of(ctx, c.call_id, c.recording.as_deref());
        let talk_ms = match (&recording, c.answered_at_ms) {
            (Some(path), _) => match crate::call::recording::repair(path) {
                Ok(d) => Some(d.as_millis() as i64),
                Err(e) => {
                    tracing::warn!(call = c.call_id, path = %path.display(), error = %e, "cannot repair the recording");
                    None
                }
            },
            (None, Some(_)) => Some(0),
            (None, None) => None,
        };
        let answered = c.answered_at_ms.is_some() || talk_ms.is_some_and(|t| t > 0);
        // A stop between the answer and its write: the recording's last write, less its
        // length, is when it began.
        let answered_at_ms = c.answered_at_ms.or_else(|| {
            let began = recording
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok()?.modified().ok())
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|m| m.as_millis() as i64 - talk_ms.unwrap_or(0));
            answered.then(|| began.or(c.dialed_at_ms).unwrap_or(now_ms))
        });
        let end_reason = if answered {
            format!("interrupted by {by} after the answer")
        } else {
            format!("interrupted by {by} before the answer")
        };
        let idx = contact.next_idx;
        let (outcome, new) =
            next_plan(ctx, p, &mut contact, idx, system_result::SYSTEM, now).await?;
        tracing::warn!(
            call = c.call_id,
            contact = c.contact_id,
            answered,
            ?outcome,
            by,
            "closing an interrupted call"
        );
        let mut log = vec![
            ("close".to_string(), format!("{end_reason}: system")),
            (
                "result".to_string(),
                format!("system: {}", outcome_words(p, &outcome)),
            ),
        ];
        log.extend(new.notes.iter().map(|(d, w)| (d.to_string(), w.clone())));
        let talk = talk_ms.unwrap_or(0).max(0) as u64;
        let mut finished = FinishedCall {
            call_id: c.call_id,
            project_id: c.project_id,
            contact_id: c.contact_id,
            number: &c.number,
            result: system_result::SYSTEM,
            sip_status: answered.then_some(200),
            dialed_at_ms: c.dialed_at_ms,
            answered_at_ms,
            ended_at_ms: answered_at_ms.map_or(now_ms, |a| a + talk as i64),
            ring_ms: c
                .dialed_at_ms
                .zip(answered_at_ms)
                .map(|(d, a)| (a - d).max(0)),
            talk_ms: answered.then_some(talk as i64),
            end_reason: Some(end_reason.clone()),
            reaction: Some("interrupted".into()),
            transcript: None,
            captured: "{}".into(),
            amd: None,
            recording: recording.map(|p| p.display().to_string()),
            cost: p.tariff.call_cost(answered, talk, &[]),
            attempts: &contact.attempts,
            plan: &new,
            log,
            actions: Vec::new(),
            actions_give_up_at: now_ms + ctx.actions_give_up.as_millis() as i64,
        };
        // The scenario never got to its reaction: none of its actions; the project's webhook
        // still hears of the call's end.
        let captured = BTreeMap::new();
        let call_json = final_call_json(&finished, p, &contact, &captured);
        let numbers = contact.e164s();
        let facts = crate::actions::CallFacts {
            call_id: c.call_id,
            project_id: p.id,
            project_name: &p.name,
            contact_name: contact.name.as_deref(),
            fields: &contact.fields,
            number: &c.number,
            numbers: &numbers,
            reaction: None,
            captured: &captured,
            call_json: &call_json,
        };
        finished.actions = crate::actions::actions_for(&[], p.webhook_url.as_deref(), &facts);
        ctx.store.finish_call(&finished).await?;
    }
    Ok(left.len())
}
