//! A call's rows in the outbox as the dialer writes them: each action once per call, webhooks
//! held until the call has ended (then they carry its final JSON), a transfer's callback held
//! until the caller reached an agent (it goes) or did not (it is carried out). The held
//! markers and when an action is due are shared with the PostgreSQL store (`shared::dialer`).
use super::json;
use crate::store::shared::dialer::{action_next_at, HELD_FOR_TRANSFER, HELD_UNTIL_CALL_ENDS};
use crate::store::StoreError;

/// At a call's end, a transfer's callback still held is carried out: the caller never
/// reached an agent (or the process died while they waited).
pub(super) async fn release_transfer_callbacks(
    conn: &mut sqlx::SqliteConnection,
    call_id: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE actions SET next_at = ? WHERE call_id = ? AND status = 'queued' AND next_at = ?",
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
    conn: &mut sqlx::SqliteConnection,
    call_id: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM actions WHERE call_id = ? AND status = 'queued' AND next_at = ? \
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
    conn: &mut sqlx::SqliteConnection,
    (call_id, project_id, contact_id): (i64, i64, i64),
    actions: &[crate::store::NewAction],
    at_ms: i64,
    give_up_at: i64,
    held: bool,
) -> Result<(), StoreError> {
    for action in actions {
        let next_at = action_next_at(action, held, at_ms);
        sqlx::query(
            "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, next_at, \
             give_up_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (call_id, idx) DO NOTHING",
        )
        .bind(call_id)
        .bind(i64::from(action.idx))
        .bind(project_id)
        .bind(contact_id)
        .bind(action.payload.kind().as_str())
        .bind(json(&action.payload))
        .bind(next_at)
        .bind(give_up_at)
        .bind(at_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// At a call's end, its webhooks written at the decision are released, carrying the call's
/// final JSON.
pub(super) async fn release_held_webhooks(
    conn: &mut sqlx::SqliteConnection,
    call_id: i64,
    call_json: &serde_json::Value,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE actions SET next_at = ?, payload = json_set(payload, '$.call', json(?)) \
         WHERE call_id = ? AND kind = 'webhook' AND status = 'queued' AND next_at = ?",
    )
    .bind(at_ms)
    .bind(call_json.to_string())
    .bind(call_id)
    .bind(HELD_UNTIL_CALL_ENDS)
    .execute(conn)
    .await?;
    Ok(())
}
