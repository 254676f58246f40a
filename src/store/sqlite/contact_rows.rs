//! A contact row as the dialer reads and writes it: a row of the next-callable walk read one by
//! one (a row that does not parse is set aside alone: `quarantine`), its plan's columns, and
//! the plan write that is compare-and-set on what the plan was made from (`Guard`).
use super::json;
use crate::rules::attempts::{ContactAttempts, ContactStatus};
use crate::rules::plan::Plan;
use crate::store::{ContactNumber, DueContact, StoreError};
use sqlx::Row;
use std::collections::BTreeMap;

/// One row of `NEXT_CALLABLE_SQL`'s array.
type DueJson = (
    i64,
    i64,
    i32,
    Option<String>,
    i64,
    Option<String>,
    BTreeMap<String, String>,
    Vec<(String, Option<String>, String)>,
    i64,
);

/// One row of `NEXT_CALLABLE_SQL`'s array as a contact, or why it cannot be read.
pub(crate) fn due_contact(row: serde_json::Value) -> Result<DueContact, (Option<i64>, String)> {
    let id = row.get(0).and_then(serde_json::Value::as_i64);
    let (id, seq, priority, attempts, next_idx, name, fields, numbers, version): DueJson =
        serde_json::from_value(row).map_err(|e| {
            let who = id.map_or_else(|| "a contact".to_string(), |i| format!("contact {i}"));
            (
                id,
                format!("{who}: its fields or numbers do not parse: {e}"),
            )
        })?;
    Ok(DueContact {
        attempts: parse_attempts(id, attempts.as_deref(), numbers.len())
            .map_err(|e| (Some(id), e.to_string()))?,
        id,
        seq,
        priority,
        next_idx: next_idx.max(0) as usize,
        numbers: numbers
            .into_iter()
            .map(|(e164, zone, kind)| contact_number(e164, zone, &kind))
            .collect(),
        name,
        fields,
        version,
    })
}

/// The contact columns a plan sets: status, next_idx, gate, pick_key, next_at, ready.
fn plan_columns(plan: &Plan, now: i64) -> (&'static str, i64, &str, &[u8], Option<i64>, bool) {
    let status = status_text(plan.status);
    match &plan.next {
        Some(n) => (
            status,
            n.idx as i64,
            n.gate.as_str(),
            &plan.pick_key,
            Some(n.not_before),
            n.not_before <= now,
        ),
        None => (status, 0, "", &plan.pick_key, None, false),
    }
}

pub(crate) fn status_text(s: ContactStatus) -> &'static str {
    match s {
        ContactStatus::NotCalled => "not_called",
        ContactStatus::Retry => "retry",
        ContactStatus::Reached => "reached",
        ContactStatus::NotReached => "not_reached",
    }
}

/// A number row: its type stored as text (`other` if unreadable).
pub(crate) fn contact_number(e164: String, zone: Option<String>, kind: &str) -> ContactNumber {
    ContactNumber {
        e164,
        zone,
        kind: kind.parse().unwrap_or(crate::phone::NumberKind::Other),
    }
}

/// A contact's attempts column (NULL: never called, one fresh state per number).
pub(crate) fn parse_attempts(
    id: i64,
    text: Option<&str>,
    numbers: usize,
) -> Result<ContactAttempts, StoreError> {
    match text {
        Some(j) => serde_json::from_str(j)
            .map_err(|e| StoreError::Db(format!("contact {id}: attempts does not parse: {e}"))),
        None => Ok(ContactAttempts::new(numbers)),
    }
}

/// What a plan write is guarded by: the state the plan was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The contact is still at this version and not in a call.
    Version(i64),
    /// The contact is parked for the call that is ending (only that call's end writes it).
    InCall,
}

/// Writes a contact's attempts and plan, if the row is still as `guard` says (compare-and-set):
/// answers whether it was. A contact parked for a call is never written but by that call's end.
pub(crate) async fn write_plan(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    guard: Guard,
    attempts: &ContactAttempts,
    plan: &Plan,
    now: i64,
) -> Result<bool, StoreError> {
    let (status, next_idx, gate, pick_key, next_at, ready) = plan_columns(plan, now);
    let cond = match guard {
        Guard::Version(_) => "version = ? AND (next_at IS NULL OR next_at <> ?)",
        Guard::InCall => "next_at = ?",
    };
    let sql = format!(
        "UPDATE contacts SET status = ?, attempts = ?, next_idx = ?, gate = ?, pick_key = ?, \
         next_at = ?, ready = ?, version = version + 1 WHERE id = ? AND {cond}"
    );
    let mut q = sqlx::query(&sql)
        .bind(status)
        .bind(json(attempts))
        .bind(next_idx)
        .bind(gate)
        .bind(pick_key)
        .bind(next_at)
        .bind(ready)
        .bind(contact_id);
    if let Guard::Version(v) = guard {
        q = q.bind(v);
    }
    let r = q.bind(IN_FLIGHT_NEXT_AT).execute(conn).await?;
    Ok(r.rows_affected() == 1)
}

/// Closes a contact whose row cannot be read (its attempts or fields are not valid JSON) and
/// sets it aside with the reason, with a decision-log line: the dialer goes on with the rest.
pub(crate) async fn quarantine(
    conn: &mut sqlx::SqliteConnection,
    contact_id: i64,
    why: &str,
    at: i64,
) -> Result<(), StoreError> {
    let project: Option<i64> = sqlx::query(
        "UPDATE contacts SET status = 'not_reached', ready = 0, next_at = NULL, damaged = ?, \
         damaged_at = ?, version = version + 1 WHERE id = ? AND damaged IS NULL \
         RETURNING project_id",
    )
    .bind(why)
    .bind(at)
    .bind(contact_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| r.get(0));
    if let Some(project) = project {
        tracing::error!(
            contact = contact_id,
            project,
            reason = %why,
            "a damaged contact row was set aside (closed as not reached): fix or re-import it"
        );
        log(
            conn,
            (at, project),
            Some(contact_id),
            None,
            "close",
            &format!("{DAMAGED_ROW}: {why}"),
        )
        .await?;
    }
    Ok(())
}

/// How reports name a contact set aside because its row could not be read.
pub const DAMAGED_ROW: &str = "damaged row";

/// A contact in flight is parked here so no pass can pick it again.
pub(crate) const IN_FLIGHT_NEXT_AT: i64 = i64::MAX;

/// Appends one line to the decision log, in the caller's transaction: `at` is (unix s, project).
pub(crate) async fn log(
    conn: &mut sqlx::SqliteConnection,
    at: (i64, i64),
    contact_id: Option<i64>,
    number: Option<&str>,
    decision: &str,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(at.0)
    .bind(at.1)
    .bind(contact_id)
    .bind(number)
    .bind(decision)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}
