//! The calls a stop, a failed task or a lost task left in progress (docs/campaigns.md, "When
//! the robot stops mid-call"). Each is closed keeping what was known — an answered call keeps
//! its answer time, its recording (repaired from the file's length) and its cost up to the
//! recording's length. A call whose scenario had decided keeps that result and its reaction
//! (its actions are in the outbox already); the others close as `system` and are retried by
//! that rule (its interval protects the person from an immediate second call). One call that
//! cannot be closed is logged and the others go on; a contact whose row cannot be read is set
//! aside and its call closed alone.
use super::calls::{final_call_json, next_plan, outcome_words, CallContext};
use crate::scenario::system_result;
use crate::store::{FinishedCall, ProjectRow, StoreError};
use std::collections::{BTreeMap, HashMap};

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

/// Closes calls a crash left in progress, keeping what was known of them (see the file's
/// notes), and plans their contacts by the rules. Answers how many were closed.
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

/// Closes calls in progress that no task runs any more (the dialer's sweep).
pub async fn close_lost(
    ctx: &CallContext,
    left: &[crate::store::InFlight],
) -> Result<usize, StoreError> {
    close_interrupted(ctx, left, "the loss of its task").await
}

/// Closes calls left in progress, keeping what was known of them; `by` says what interrupted
/// them ("a stop"). A call whose scenario had decided keeps that result (its actions are in
/// the outbox already); the others close as `system`. One call that cannot be closed is
/// logged and the others go on.
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
    let mut closed = 0;
    for c in left {
        match close_one(ctx, projects.get(&c.project_id), c, by).await {
            Ok(()) => closed += 1,
            Err(e) => {
                tracing::error!(call = c.call_id, contact = c.contact_id, error = %e, "cannot close an interrupted call")
            }
        }
    }
    Ok(closed)
}

async fn close_one(
    ctx: &CallContext,
    p: Option<&ProjectRow>,
    c: &crate::store::InFlight,
    by: &str,
) -> Result<(), StoreError> {
    let now_ms = ctx.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let Some(p) = p else {
        ctx.store
            .close_call_only(
                c.call_id,
                &format!("interrupted by {by}; its project's row is damaged"),
                now_ms,
            )
            .await?;
        return Ok(());
    };
    let mut contact = match ctx.store.contact(c.contact_id).await {
        Ok(contact) => contact,
        Err(StoreError::Db(why)) if why.starts_with(&format!("contact {}:", c.contact_id)) => {
            ctx.store
                .quarantine_contact(c.contact_id, &why, now)
                .await?;
            ctx.store
                .close_call_only(c.call_id, &format!("interrupted by {by}; {why}"), now_ms)
                .await?;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
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
    // length, is when it began (the file's age, taken on the wall clock, placed on the
    // dialer's clock).
    let answered_at_ms = c.answered_at_ms.or_else(|| {
        let began = recording
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok()?.modified().ok())
            .map(|m| m.elapsed().unwrap_or_default().as_millis() as i64)
            .map(|age| now_ms - age - talk_ms.unwrap_or(0));
        answered.then(|| began.or(c.dialed_at_ms).unwrap_or(now_ms))
    });
    let (result, end_reason) = match &c.decided {
        Some(d) => (
            d.result.as_str(),
            format!(
                "interrupted by {by} after the scenario decided «{}»",
                d.result
            ),
        ),
        None if answered => (
            system_result::SYSTEM,
            format!("interrupted by {by} after the answer"),
        ),
        None => (
            system_result::SYSTEM,
            format!("interrupted by {by} before the answer"),
        ),
    };
    let idx = contact.next_idx;
    let (outcome, new) = next_plan(ctx, p, &mut contact, idx, result, now).await?;
    tracing::warn!(
        call = c.call_id,
        contact = c.contact_id,
        answered,
        result,
        ?outcome,
        by,
        "closing an interrupted call"
    );
    let mut log = vec![
        ("close".to_string(), format!("{end_reason}: {result}")),
        (
            "result".to_string(),
            format!("{result}: {}", outcome_words(p, &outcome)),
        ),
    ];
    log.extend(new.notes.iter().map(|(d, w)| (d.to_string(), w.clone())));
    let talk = talk_ms.unwrap_or(0).max(0) as u64;
    let decided = c.decided.as_ref();
    let mut finished = FinishedCall {
        call_id: c.call_id,
        project_id: c.project_id,
        contact_id: c.contact_id,
        number: &c.number,
        result,
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
        reaction: Some(
            decided
                .and_then(|d| d.reaction.clone())
                .unwrap_or_else(|| "interrupted".into()),
        ),
        transcript: decided.and_then(|d| d.transcript.clone()),
        captured: decided.map_or_else(|| "{}".into(), |d| d.captured.clone()),
        amd: None,
        recording: recording.map(|p| p.display().to_string()),
        recording_error: None,
        cost: p.tariff.call_cost(answered, talk, &[]),
        attempts: &contact.attempts,
        plan: &new,
        log,
        actions: Vec::new(),
        actions_give_up_at: now_ms + ctx.actions_give_up.as_millis() as i64,
        call_json: serde_json::Value::Null,
        transfer: None,
        // What happened inside the interrupted call died with the process.
        timeline: None,
    };
    // The scenario's actions, if it decided any, are in the outbox already; the project's
    // webhook hears of the call's end.
    let captured: BTreeMap<String, String> = decided
        .and_then(|d| serde_json::from_str(&d.captured).ok())
        .unwrap_or_default();
    let call_json = final_call_json(&finished, p, &contact, &captured);
    let numbers = contact.e164s();
    let facts = crate::actions::CallFacts {
        call_id: c.call_id,
        project_id: p.id,
        project_name: &p.name,
        callback_project: p.callback_project.as_deref(),
        contact_name: contact.name.as_deref(),
        fields: &contact.fields,
        number: &c.number,
        numbers: &numbers,
        reaction: None,
        captured: &captured,
        call_json: &call_json,
    };
    finished.actions = crate::actions::actions_for(&[], p.webhook_url.as_deref(), &facts);
    finished.call_json = call_json.clone();
    ctx.store.finish_call(&finished).await
}
