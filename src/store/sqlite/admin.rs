//! `AdminStore` in SQLite: imports with their progress and refused values, the stop list by
//! the start of a number, the server's counts, the last SMS outcomes. Reads only, through the
//! read pool. The row mappers are shared with the PostgreSQL store (`shared::users`).
use super::SqliteStore;
use crate::store::admin::{AdminStore, ImportStatus, RejectRow, ServerCounts, SmsOutcome};
use crate::store::shared::users::{
    import_status, prefix_end, reject_row, server_counts, sms_outcome, stop_list_row,
    COUNTS_SELECT, IMPORT_SELECT,
};
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl AdminStore for SqliteStore {
    async fn import_status(&self, id: i64) -> Result<Option<ImportStatus>, StoreError> {
        Ok(sqlx::query(&format!("{IMPORT_SELECT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| import_status(&r)))
    }

    async fn latest_import(&self, project_id: i64) -> Result<Option<ImportStatus>, StoreError> {
        Ok(sqlx::query(&format!(
            "{IMPORT_SELECT} WHERE project_id = ? ORDER BY id DESC LIMIT 1"
        ))
        .bind(project_id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| import_status(&r)))
    }

    async fn import_rejects(
        &self,
        import_id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<RejectRow>, StoreError> {
        Ok(sqlx::query(
            "SELECT seq, row, value, kind, reason FROM import_rejects \
             WHERE import_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(import_id)
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(reject_row)
        .collect())
    }

    async fn stop_list_find(
        &self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        // BINARY collation compares the UTF-8 bytes: see `prefix_end`.
        let end = prefix_end(prefix);
        Ok(sqlx::query(
            "SELECT e164, reason, added_at FROM stop_list \
             WHERE e164 >= ? AND e164 < ? AND e164 > ? ORDER BY e164 LIMIT ?",
        )
        .bind(prefix)
        .bind(&end)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(stop_list_row)
        .collect())
    }

    async fn counts(&self) -> Result<ServerCounts, StoreError> {
        Ok(server_counts(
            &sqlx::query(COUNTS_SELECT).fetch_one(&self.read).await?,
        ))
    }

    async fn last_sms(&self, limit: u32) -> Result<Vec<SmsOutcome>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, project_id, status, last_error, \
             COALESCE(done_at, delivered_at, sent_at, created_at) \
             FROM actions WHERE kind = 'sms' ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(sms_outcome)
        .collect())
    }
}
