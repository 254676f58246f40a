//! A contact row as the dialer reads and writes it (the PostgreSQL twin of
//! `sqlite/contact_rows.rs`): a row of the next-callable walk read one by one (a row that does
//! not parse is set aside alone: `quarantine`), its plan's columns, and the plan write that is
//! compare-and-set on what the plan was made from (`Guard`). Reading the rows and the plan's
//! columns is `store::shared::import::rows`'s; here are the writes.
//!
//! Where the SQL differs from SQLite's: `$n` parameters; the `ready` flag is bound as the
//! BIGINT 0/1 the schema holds (the shared `plan_columns` gives it so to both). Each write is
//! one conditional statement (compare-and-set), so it needs no lock of its own. `lock_project`
//! (not in the SQLite file, whose writer is alone) takes a project's advisory lock on a
//! connection already in a transaction, for the import's batches and the copies.
use super::json;
use super::lock_key;
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::Plan;
use crate::store::shared::import::rows::plan_columns;
use crate::store::StoreError;
use sqlx::{PgConnection, Row};

pub use crate::store::shared::import::rows::DAMAGED_ROW;
pub(crate) use crate::store::shared::import::rows::{
    contact_number, due_contact, parse_attempts, status_text, Guard, IN_FLIGHT_NEXT_AT,
};

/// Writes a contact's attempts and plan, if the row is still as `guard` says (compare-and-set):
/// answers whether it was. A contact parked for a call is never written but by that call's end.
pub(crate) async fn write_plan(
    conn: &mut PgConnection,
    contact_id: i64,
    guard: Guard,
    attempts: &ContactAttempts,
    plan: &Plan,
    now: i64,
) -> Result<bool, StoreError> {
    let (status, next_idx, gate, pick_key, next_at, ready) = plan_columns(plan, now);
    let cond = match guard {
        Guard::Version(_) => "version = $9 AND (next_at IS NULL OR next_at <> $10)",
        Guard::InCall => "next_at = $9",
    };
    let sql = format!(
        "UPDATE contacts SET status = $1, attempts = $2, next_idx = $3, gate = $4, \
         pick_key = $5, next_at = $6, ready = $7, version = version + 1 WHERE id = $8 AND {cond}"
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
    conn: &mut PgConnection,
    contact_id: i64,
    why: &str,
    at: i64,
) -> Result<(), StoreError> {
    let project: Option<i64> = sqlx::query(
        "UPDATE contacts SET status = 'not_reached', ready = 0, next_at = NULL, damaged = $1, \
         damaged_at = $2, version = version + 1 WHERE id = $3 AND damaged IS NULL \
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

/// Appends one line to the decision log, in the caller's transaction: `at` is (unix s, project).
pub(crate) async fn log(
    conn: &mut PgConnection,
    at: (i64, i64),
    contact_id: Option<i64>,
    number: Option<&str>,
    decision: &str,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
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

/// Takes project `project_id`'s advisory lock (`lock_key::PROJECT_BASE` + id) in the
/// transaction `conn` is in, until it ends: `super::lock` for a connection rather than a pool's
/// transaction (an import's batches run on one connection; a copy runs in its caller's
/// transaction). What it serialises: who adds contacts and numbers to the project (a batch's
/// check of the numbers the project has stays true until it commits) with the project's other
/// bookkeeping.
pub(super) async fn lock_project(
    conn: &mut PgConnection,
    project_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock_key::PROJECT_BASE + project_id)
        .execute(conn)
        .await?;
    Ok(())
}
