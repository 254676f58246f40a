//! A call's rows in the outbox as the dialer writes them, on PostgreSQL: each action once per
//! call, webhooks held until the call has ended (then they carry its final JSON), a transfer's
//! callback held until the caller reached an agent (it goes) or did not (it is carried out).
//! When an action is due and the held markers are shared (`shared::dialer`).
//!
//! Where the SQL differs from SQLite's:
//! - `write_actions` writes all of a call's actions in one statement over arrays
//!   (`UNNEST`) instead of one INSERT each; `ON CONFLICT (call_id, idx) DO NOTHING` keeps the
//!   first of each `idx`, as the SQLite loop does.
//! - `release_held_webhooks` puts the call's JSON into each held payload in Rust
//!   (`shared::dialer::with_final_call`), not with SQLite's `json_set`: PostgreSQL's
//!   `jsonb_set` would fail the whole call's end on a `\u0000` in a transcript (jsonb refuses
//!   it) and has no `json` counterpart. The rows are read `FOR UPDATE`, so no one changes them
//!   between the read and the write. The stored text differs only in key order (every reader
//!   parses it).
use super::json;
use crate::store::shared::dialer::{
    action_next_at, with_final_call, HELD_FOR_TRANSFER, HELD_UNTIL_CALL_ENDS,
};
use crate::store::StoreError;
use sqlx::Row;

/// At a call's end, a transfer's callback still held is carried out: the caller never
/// reached an agent (or the process died while they waited).
pub(super) async fn release_transfer_callbacks(
    conn: &mut sqlx::PgConnection,
    call_id: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE actions SET next_at = $1 WHERE call_id = $2 AND status = 'queued' \
         AND next_at = $3",
    )
    .bind(at_ms)
    .bind(call_id)
    .bind(HELD_FOR_TRANSFER)
    .execute(conn)
    .await?;
    Ok(())
}

/// An agent answered: the transfer's callback is not needed and goes.
pub(super) async fn drop_transfer_callbacks(
    conn: &mut sqlx::PgConnection,
    call_id: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM actions WHERE call_id = $1 AND status = 'queued' AND next_at = $2 \
         AND attempts = 0",
    )
    .bind(call_id)
    .bind(HELD_FOR_TRANSFER)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Writes a call's actions into the outbox, each once (`(call, idx)` is unique: an action
/// written when the scenario decided it stays as it was). Before the call's end (`held`)
/// webhooks wait for it (`release_held_webhooks`).
pub(super) async fn write_actions(
    conn: &mut sqlx::PgConnection,
    (call_id, project_id, contact_id): (i64, i64, i64),
    actions: &[crate::store::NewAction],
    at_ms: i64,
    give_up_at: i64,
    held: bool,
) -> Result<(), StoreError> {
    if actions.is_empty() {
        return Ok(());
    }
    let idx: Vec<i64> = actions.iter().map(|a| i64::from(a.idx)).collect();
    let kind: Vec<&str> = actions.iter().map(|a| a.payload.kind().as_str()).collect();
    let payload: Vec<String> = actions.iter().map(|a| json(&a.payload)).collect();
    let next_at: Vec<i64> = actions
        .iter()
        .map(|a| action_next_at(a, held, at_ms))
        .collect();
    // WITH ORDINALITY + ORDER BY: rows go in the slice's order, so of two actions with one
    // `idx` the first is kept (as SQLite's loop keeps it).
    sqlx::query(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, next_at, \
         give_up_at, created_at) \
         SELECT $1, a.idx, $2, $3, a.kind, a.payload, a.next_at, $4, $5 \
         FROM UNNEST($6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[]) \
              WITH ORDINALITY AS a(idx, kind, payload, next_at, n) \
         ORDER BY a.n \
         ON CONFLICT (call_id, idx) DO NOTHING",
    )
    .bind(call_id)
    .bind(project_id)
    .bind(contact_id)
    .bind(give_up_at)
    .bind(at_ms)
    .bind(&idx)
    .bind(&kind)
    .bind(&payload)
    .bind(&next_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// At a call's end, its webhooks written at the decision are released, carrying the call's
/// final JSON.
pub(super) async fn release_held_webhooks(
    conn: &mut sqlx::PgConnection,
    call_id: i64,
    call_json: &serde_json::Value,
    at_ms: i64,
) -> Result<(), StoreError> {
    let held = sqlx::query(
        "SELECT id, payload FROM actions \
         WHERE call_id = $1 AND kind = 'webhook' AND status = 'queued' AND next_at = $2 \
         ORDER BY id FOR UPDATE",
    )
    .bind(call_id)
    .bind(HELD_UNTIL_CALL_ENDS)
    .fetch_all(&mut *conn)
    .await?;
    for r in held {
        let id: i64 = r.get(0);
        let payload = with_final_call(id, r.get::<&str, _>(1), call_json)?;
        sqlx::query(
            "UPDATE actions SET next_at = $1, payload = $2 \
             WHERE id = $3 AND status = 'queued' AND next_at = $4",
        )
        .bind(at_ms)
        .bind(payload)
        .bind(id)
        .bind(HELD_UNTIL_CALL_ENDS)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
