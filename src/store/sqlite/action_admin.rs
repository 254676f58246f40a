//! What a user does to one action through the API (docs/actions.md, "Retry and cancel"):
//! read it, try a failed one again, cancel one still waiting. Each change is compare-and-set
//! on the state read, in one transaction with its log line.
use super::action_reports::attach_logs;
use super::outbox::{action_view, ACTION_VIEW_COLUMNS};
use super::SqliteStore;
use crate::store::shared::outbox::{check_cancel, retry};
use crate::store::{ActionView, StoreError};
use sqlx::Row;

impl SqliteStore {
    /// One action with its delivery log.
    pub(super) async fn action_by_id(&self, id: i64) -> Result<ActionView, StoreError> {
        let mut a = vec![sqlx::query(&format!(
            "SELECT {ACTION_VIEW_COLUMNS} FROM actions WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| action_view(&r))
        .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?];
        attach_logs(&self.read, &mut a).await?;
        Ok(a.remove(0))
    }

    /// A failed action tried again from now, with a new give-up time. An SMS is looked up at
    /// SMSC before it is sent (its earlier try may have gone out): it becomes `sending`, which
    /// the worker settles by asking SMSC first. A webhook's address that answered 410 Gone is
    /// opened again.
    pub(super) async fn retry_action_now(
        &self,
        id: i64,
        now_ms: i64,
        give_up_at: i64,
    ) -> Result<ActionView, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT status, kind, payload FROM actions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        let (status, kind, payload): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let plan = retry(id, &status, &kind, &payload)?;
        sqlx::query(
            "UPDATE actions SET status = ?, next_at = ?, give_up_at = ?, last_error = NULL \
             WHERE id = ? AND status = 'failed'",
        )
        .bind(plan.to)
        .bind(now_ms)
        .bind(give_up_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(url) = plan.reopen_url {
            sqlx::query("DELETE FROM webhook_gone WHERE url = ?")
                .bind(url)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO action_attempts (action_id, at, outcome, error) VALUES (?, ?, 'retry', ?)",
        )
        .bind(id)
        .bind(now_ms)
        .bind(plan.note)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.action_by_id(id).await
    }

    /// An action still waiting (`queued`) cancelled: it fails with the reason and is never
    /// carried out. One being carried out, sent or finished cannot be cancelled.
    pub(super) async fn cancel_action_now(
        &self,
        id: i64,
        now_ms: i64,
    ) -> Result<ActionView, StoreError> {
        let mut tx = self.write_tx().await?;
        let status: String = sqlx::query("SELECT status FROM actions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::NotFound(format!("action {id}")))?;
        check_cancel(id, &status)?;
        sqlx::query(
            "UPDATE actions SET status = 'failed', last_error = 'cancelled through the API' \
             WHERE id = ? AND status = 'queued'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO action_attempts (action_id, at, outcome, error) \
             VALUES (?, ?, 'cancelled', 'cancelled through the API')",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.action_by_id(id).await
    }
}
