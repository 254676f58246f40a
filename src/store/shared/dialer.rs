//! The dialer's rows and decisions, written once for both backends: the project and contact
//! rows it reads, a call in flight, when a call's action is due, the stop list's re-plan and
//! the plan given to contacts of an older version (`sqlite/` and `postgres/` `dialer.rs`,
//! `call_actions.rs`, `plans.rs` hold only their SQL and transactions).
use super::Cols;
use crate::phone::registry::Registry;
use crate::rules::attempts::{AttemptRules, ContactAttempts, ContactStatus};
use crate::rules::decide::OrderBy;
use crate::rules::plan::{pick_key, plan, Plan};
use crate::store::{
    ActionKind, ContactNumber, DecidedInFlight, DueContact, InFlight, Mode, NewAction, ProjectRow,
    StoreError,
};
use std::collections::HashSet;

/// The columns `project_row` reads, in order (`p` the project, `s` its scenario).
pub const PROJECT_ROW_COLUMNS: &str = "p.id, p.name, s.source, p.time_zone, p.schedule, p.lines, \
     p.max_calls_per_number, p.retry_rules, p.ordering, p.tariff, p.starts_at, p.ends_at, \
     p.type_windows, p.webhook_url, p.transfer_settings, \
     (SELECT c.name FROM projects c WHERE c.id = p.callback_project_id), \
     p.settings_version, p.mode, p.pacing_settings";

/// One project row for the dialer, or which stored value does not parse.
pub fn project_row(r: &impl Cols) -> Result<ProjectRow, String> {
    fn parse<T: serde::de::DeserializeOwned>(
        r: &impl Cols,
        i: usize,
        what: &str,
    ) -> Result<T, String> {
        let text: String = r.try_get(i).map_err(|e| format!("{what}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("its {what} does not parse: {e}"))
    }
    let max: i64 = r.get(6);
    Ok(ProjectRow {
        id: r.get(0),
        name: r.get(1),
        scenario_source: r.get(2),
        time_zone: r.get(3),
        schedule: parse(r, 4, "schedule")?,
        lines: r.get::<i64>(5).max(0) as u32,
        rules: AttemptRules::new(max.clamp(0, 9) as u32, parse(r, 7, "retry_rules")?)
            .map_err(|e| format!("its rules: {e}"))?,
        ordering: parse(r, 8, "ordering")?,
        // Projects made before tariffs were stored hold `{}`: the defaults.
        tariff: parse(r, 9, "tariff")?,
        starts_at: r.get(10),
        ends_at: r.get(11),
        type_windows: parse(r, 12, "type_windows")?,
        webhook_url: r.get(13),
        transfer: parse(r, 14, "transfer settings")?,
        callback_project: r.get(15),
        settings_version: r.get(16),
        mode: Mode::parse(&r.get::<String>(17)).ok_or("its pacing mode is unknown")?,
        pacing: parse(r, 18, "pacing settings")?,
    })
}

/// A contact's status column: open (`not_called`, `retry`) — the dialer may still call it.
pub fn is_open(status: &str) -> bool {
    status == "not_called" || status == "retry"
}

/// An open contact's status as the planner names it (`retry`, anything else `not_called`).
pub fn open_status(status: &str) -> ContactStatus {
    if status == "retry" {
        ContactStatus::Retry
    } else {
        ContactStatus::NotCalled
    }
}

/// `start_call`'s answer for a contact that could not be parked.
pub fn not_ready(contact_id: i64) -> StoreError {
    StoreError::Conflict(format!(
        "contact {contact_id} is not ready (in a call, waiting or closed)"
    ))
}

/// The contacts of a next-callable walk, and those set aside: `(id, why)`.
pub type DueSplit = (Vec<DueContact>, Vec<(i64, String)>);

/// The next-callable walk's JSON array (one element per contact, see the backends'
/// `NEXT_CALLABLE_SQL`) read with `due_contact`: the contacts, and those whose row does not
/// parse with why (each is set aside alone, the others are dialed).
pub fn split_due(
    project_id: i64,
    json: &str,
    due_contact: impl Fn(serde_json::Value) -> Result<DueContact, (Option<i64>, String)>,
) -> Result<DueSplit, StoreError> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| StoreError::Db(format!("next contacts of project {project_id}: {e}")))?;
    let mut due = Vec::with_capacity(rows.len());
    let mut damaged = Vec::new();
    for row in rows {
        match due_contact(row) {
            Ok(c) => due.push(c),
            Err((Some(id), why)) => damaged.push((id, why)),
            Err((None, why)) => {
                return Err(StoreError::Db(format!(
                    "next contacts of project {project_id}: a row without an id: {why}"
                )))
            }
        }
    }
    Ok((due, damaged))
}

/// The columns `contact_row` reads, in order (of `contacts`).
pub const CONTACT_COLUMNS: &str = "id, seq, priority, attempts, next_idx, name, fields, version";

/// One contact (`CONTACT_COLUMNS`) with its numbers; `parse_attempts` reads its attempts
/// column (id, text, how many numbers). Its fields are read first: a row damaged in both
/// says so of its fields.
pub fn contact_row(
    r: &impl Cols,
    numbers: Vec<ContactNumber>,
    parse_attempts: impl FnOnce(i64, Option<&str>, usize) -> Result<ContactAttempts, StoreError>,
) -> Result<DueContact, StoreError> {
    let id: i64 = r.get(0);
    let fields = serde_json::from_str(&r.get::<String>(6))
        .map_err(|e| StoreError::Db(format!("contact {id}: fields does not parse: {e}")))?;
    Ok(DueContact {
        attempts: parse_attempts(id, r.get::<Option<String>>(3).as_deref(), numbers.len())?,
        id,
        seq: r.get(1),
        priority: priority(r.get(2)),
        next_idx: r.get::<i64>(4).max(0) as usize,
        numbers,
        name: r.get(5),
        fields,
        version: r.get(7),
    })
}

/// A priority column (BIGINT / INTEGER) as the planner's `i32`, saturated: imports store
/// small priorities, and a value out of range then still sorts at its end instead of failing
/// the read (sqlx's own `i32` read of it would panic in `Row::get`).
pub fn priority(stored: i64) -> i32 {
    stored.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The columns `in_flight_row` reads, in order (of `calls`).
pub const IN_FLIGHT_COLUMNS: &str = "id, project_id, contact_id, number, dialed_at_ms, \
     answered_at_ms, recording, decided_at_ms, result, reaction, transcript, captured";

/// A call that was in progress when the process stopped (`IN_FLIGHT_COLUMNS`).
pub fn in_flight_row(r: &impl Cols) -> InFlight {
    InFlight {
        call_id: r.get(0),
        project_id: r.get(1),
        contact_id: r.get(2),
        number: r.get(3),
        dialed_at_ms: r.get(4),
        answered_at_ms: r.get(5),
        recording: r.get(6),
        decided: r
            .get::<Option<i64>>(7)
            .zip(r.get::<Option<String>>(8))
            .map(|(at_ms, result)| DecidedInFlight {
                result,
                reaction: r.get(9),
                transcript: r.get(10),
                captured: r.get::<Option<String>>(11).unwrap_or_else(|| "{}".into()),
                at_ms,
            }),
    }
}

/// A webhook written when the scenario decided it waits here until the call has ended: it
/// then carries the call's final JSON (`finish_call` releases it).
pub const HELD_UNTIL_CALL_ENDS: i64 = i64::MAX;

/// A transfer's callback waits here until the caller has reached an agent (it is removed) or
/// the call ended without one (it is released).
pub const HELD_FOR_TRANSFER: i64 = i64::MAX - 1;

/// When a call's action written at `at_ms` is due: a transfer's callback is held for the
/// transfer, a webhook written before the call's end (`held`) for that end, the rest at once.
pub fn action_next_at(action: &NewAction, held: bool, at_ms: i64) -> i64 {
    let webhook = action.payload.kind() == ActionKind::Webhook;
    if action.transfer_callback {
        HELD_FOR_TRANSFER
    } else if webhook && held {
        HELD_UNTIL_CALL_ENDS
    } else {
        at_ms
    }
}

/// A held webhook's stored payload with the call's final JSON as its `call` (what SQLite's
/// `json_set(payload, '$.call', json(?))` makes); a payload that is not a JSON object fails
/// as SQLite's `json_set` does on malformed JSON.
pub fn with_final_call(
    action_id: i64,
    payload: &str,
    call: &serde_json::Value,
) -> Result<String, StoreError> {
    let mut v: serde_json::Value = serde_json::from_str(payload)
        .map_err(|e| StoreError::Db(format!("action {action_id} payload: {e}")))?;
    let Some(obj) = v.as_object_mut() else {
        return Err(StoreError::Db(format!(
            "action {action_id} payload: not a JSON object"
        )));
    };
    obj.insert("call".into(), call.clone());
    Ok(v.to_string())
}

/// Contacts re-planned per transaction when an older database is brought up to date.
pub const UPGRADE_BATCH: i64 = 5_000;

/// A stop-list re-plan that lost a race with another writer reads the contact again, at most
/// this many times (each loss means someone else just planned it).
pub const REPLAN_TRIES: usize = 5;

/// What one try at a re-plan came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replan {
    Written,
    /// In a call, closed or gone: not this re-plan's to write.
    Untouchable,
    /// Changed since it was read: read it again.
    Changed,
}

/// Contact `c` of project `p` planned anew under the stop list `listed` (its numbers that are
/// on it): its attempts and its plan at `at`.
pub fn stop_list_plan(
    p: &ProjectRow,
    c: &DueContact,
    listed: &HashSet<String>,
    registry: Option<&Registry>,
    at: i64,
) -> (ContactAttempts, Plan) {
    let mut attempts = c.attempts.clone();
    let (schedule, types) = (p.schedule(), p.types());
    let new = plan(
        &mut attempts,
        &c.number_facts(listed, registry),
        p.facts(schedule.as_ref(), types.as_ref()),
        c.order_facts(),
        at,
    );
    (attempts, new)
}

/// The plan a contact stored by a version without plans gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyPlan {
    pub pick_key: Vec<u8>,
    pub next_idx: i64,
    pub next_at: Option<i64>,
    pub ready: bool,
}

/// A legacy contact's plan: its key in its project's order (`p`, `None` when the project is
/// gone or damaged: the default order), the number its attempts give next, and when it is
/// due — open and not in a call (`in_call`), it waits for its `next_at` (NULL meant "now").
pub fn legacy_plan(
    p: Option<&ProjectRow>,
    status: &str,
    (priority, seq): (i32, i64),
    attempts: &ContactAttempts,
    (next_at, in_call): (Option<i64>, bool),
    at: i64,
) -> LegacyPlan {
    let ordering = p.map(|p| p.ordering.clone()).unwrap_or_default();
    let pick_key = pick_key(
        &ordering,
        open_status(status),
        priority,
        seq,
        attempts.calls(),
    );
    let next_idx = p
        .and_then(|p| attempts.next(&p.rules))
        .map_or(0, |n| n.number as i64);
    let (next_at, ready) = match next_at {
        _ if !is_open(status) => (None, false),
        t if in_call => (t, false),
        t => {
            let t = t.unwrap_or(0);
            (Some(t), t <= at)
        }
    };
    LegacyPlan {
        pick_key,
        next_idx,
        next_at,
        ready,
    }
}

/// Benchmarks only: a contact made a retry after one busy call, due at `now` (one in
/// `due_every`) or half an hour later: its `next_at`, whether it is ready, its key.
pub fn bench_retry(
    ordering: &[OrderBy],
    (id, seq, priority): (i64, i64, i32),
    now: i64,
    due_every: i64,
) -> (i64, bool, Vec<u8>) {
    let due = id % due_every.max(1) == 0;
    let next_at = if due { now - 60 } else { now + 1800 };
    let key = pick_key(ordering, ContactStatus::Retry, priority, seq, 1);
    (next_at, due, key)
}

/// Benchmarks only: the attempts of a contact called once (busy, 700 s before `now`).
pub fn bench_retry_attempts(now: i64) -> String {
    super::json(&serde_json::json!({
        "numbers": [{"calls": 1, "last_result": "busy", "in_row": 1, "done": false}],
        "status": "retry",
        "last_call": [0, now - 700, "busy"]
    }))
}
