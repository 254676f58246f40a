//! `AdminStore` in SQLite: imports with their progress and refused values, the stop list by
//! the start of a number, the server's counts, the last SMS outcomes. Reads only, through the
//! read pool.
use super::SqliteStore;
use crate::store::admin::{AdminStore, ImportStatus, RejectRow, ServerCounts, SmsOutcome};
use crate::store::StoreError;
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

const IMPORT_SELECT: &str = "SELECT id, project_id, state, started_at, finished_at, rows_read, \
     COALESCE(imported, 0), COALESCE(duplicates, 0), COALESCE(rejected, 0), bytes_read, \
     bytes_total, error, \
     (SELECT COALESCE(MAX(seq), 0) FROM import_rejects r WHERE r.import_id = imports.id) \
     FROM imports";

fn count(r: &SqliteRow, i: usize) -> u64 {
    r.get::<i64, _>(i).max(0) as u64
}

fn import_status(r: &SqliteRow) -> ImportStatus {
    ImportStatus {
        id: r.get(0),
        project_id: r.get(1),
        state: r.get(2),
        started_at: r.get(3),
        finished_at: r.get(4),
        rows_read: count(r, 5),
        imported: count(r, 6),
        duplicates: count(r, 7),
        rejected: count(r, 8),
        bytes_read: count(r, 9),
        bytes_total: r.get::<Option<i64>, _>(10).map(|n| n.max(0) as u64),
        error: r.get(11),
        rejects_kept: count(r, 12),
    }
}

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
        .map(|r| RejectRow {
            seq: r.get(0),
            row: count(r, 1),
            value: r.get(2),
            kind: r.get(3),
            reason: r.get(4),
        })
        .collect())
    }

    async fn stop_list_find(
        &self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        // Every text starting with `prefix` sorts from it to it followed by U+FFFF (BINARY
        // collation compares the UTF-8 bytes): a range the key's index serves.
        let end = format!("{prefix}\u{ffff}");
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
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
    }

    async fn counts(&self) -> Result<ServerCounts, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM projects), (SELECT COUNT(*) FROM contacts), \
             (SELECT COUNT(*) FROM calls), (SELECT COUNT(*) FROM users), \
             (SELECT COUNT(*) FROM agents), (SELECT COUNT(*) FROM stop_list)",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(ServerCounts {
            projects: r.get(0),
            contacts: r.get(1),
            calls: r.get(2),
            users: r.get(3),
            agents: r.get(4),
            stop_list: r.get(5),
        })
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
        .map(|r| SmsOutcome {
            id: r.get(0),
            project_id: r.get(1),
            status: r.get(2),
            last_error: r.get(3),
            at: r.get(4),
        })
        .collect())
    }
}
