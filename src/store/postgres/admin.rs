//! `AdminStore` in PostgreSQL: imports with their progress and refused values, the stop list by
//! the start of a number, the server's counts, the last SMS outcomes — the SQLite store's
//! `admin.rs` in PostgreSQL's SQL. Reads only, through the read pool. The column lists of an
//! import and of the counts are valid in both databases and shared with the row mappers
//! (`shared::users`).
//!
//! Where the SQL differs from SQLite's, and why:
//! - `$n` parameters. `COUNT(*)`, `MAX(seq)` and the BIGINT columns read as 64-bit integers as
//!   they are: no cast is needed.
//! - The stop list's search by the start of a number is a range from the prefix to the prefix
//!   followed by U+FFFF (`prefix_end`), which holds only in byte order: SQLite's BINARY
//!   collation. `stop_list.e164` is `COLLATE "C"` in the schema; the comparisons and the ORDER
//!   BY say `COLLATE "C"` again so that the range and the pages (`after`, the last number of
//!   the previous page) keep byte order even if the column's collation were ever changed —
//!   the key's index (also "C") still serves them.
//! - PostgreSQL's TEXT cannot hold a NUL character (a query binding one fails); `after` comes
//!   from the page's URL. No number holds one, so a NUL in `after` is cut off with what
//!   follows it — in byte order every listed number after `x\0…` is after `x` and the other
//!   way round, the answer SQLite gives — and a prefix holding one matches nothing, as in
//!   SQLite.
use super::PgStore;
use crate::store::admin::{AdminStore, ImportStatus, RejectRow, ServerCounts, SmsOutcome};
use crate::store::shared::users::{
    import_status, prefix_end, reject_row, server_counts, sms_outcome, stop_list_row,
    COUNTS_SELECT, IMPORT_SELECT,
};
use crate::store::StoreError;
use async_trait::async_trait;

#[async_trait]
impl AdminStore for PgStore {
    async fn import_status(&self, id: i64) -> Result<Option<ImportStatus>, StoreError> {
        Ok(sqlx::query(&format!("{IMPORT_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| import_status(&r)))
    }

    async fn latest_import(&self, project_id: i64) -> Result<Option<ImportStatus>, StoreError> {
        Ok(sqlx::query(&format!(
            "{IMPORT_SELECT} WHERE project_id = $1 ORDER BY id DESC LIMIT 1"
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
             WHERE import_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
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
        if prefix.contains('\0') {
            return Ok(Vec::new());
        }
        let after = after.split('\0').next().unwrap_or_default();
        let end = prefix_end(prefix);
        Ok(sqlx::query(
            "SELECT e164, reason, added_at FROM stop_list \
             WHERE e164 >= $1 COLLATE \"C\" AND e164 < $2 COLLATE \"C\" \
             AND e164 > $3 COLLATE \"C\" \
             ORDER BY e164 COLLATE \"C\" LIMIT $4",
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
             FROM actions WHERE kind = 'sms' ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(sms_outcome)
        .collect())
    }
}
