//! Read side of the store for the API and exports (docs/api.md): projects as the API shows
//! them, all calls (newest first, keyset-paginated, filtered), last results (one row per
//! contact with its newest call), contacts by status, stored prompts and scenarios, and the
//! API tokens (kept as SHA-256 only). Pages walk indexes in order and stop at their size, so a
//! page costs the same with 1M calls as with ten; exports page through the same queries. The row
//! mappers and totals are `store::shared::reports`'s (the PostgreSQL store uses them too).
use super::SqliteStore;
use super::StoreError;
use crate::rules::money::Kopecks;
use crate::store::*;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::BTreeMap;

use crate::store::shared::reports as shared;
pub(super) use crate::store::shared::reports::{
    call_view, project_view, CALL_COLUMNS, PROJECT_SELECT,
};

/// A project's transfers, from its calls' `transfer` (a partial index holds only those).
async fn transfer_stats(pool: &sqlx::SqlitePool, id: i64) -> Result<TransferStats, StoreError> {
    let rows = sqlx::query(
        "SELECT result, json_extract(transfer, '$.answered'), \
         json_extract(transfer, '$.queue_ms'), json_extract(transfer, '$.talk_ms') \
         FROM calls INDEXED BY calls_transfer WHERE project_id = ? AND transfer IS NOT NULL \
         AND state = 'done'",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(shared::transfer_stats(&rows))
}

pub use crate::store::shared::token_hash;

#[async_trait]
impl ReportStore for SqliteStore {
    async fn stats(&self, id: i64) -> Result<ProjectStats, StoreError> {
        // One read transaction: the status, the contacts and the calls from one snapshot (read
        // one by one, a call closed between the reads showed its contact still in a call while
        // its result was already counted).
        let mut tx = self.read.begin().await?;
        let head = sqlx::query("SELECT status, status_reason FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(format!("project {id}")))?;
        // Kept by triggers (migration 0013): a few rows, whatever the project's size. A
        // contact in a call right now is counted there, not as still to call; one
        // deleted but kept for its calls' history is counted apart and not shown.
        let contacts = sqlx::query(
            "SELECT status, n FROM contact_tallies \
             WHERE project_id = ? AND n > 0 AND status <> 'removed'",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let calls = sqlx::query(
            "SELECT result, n, cost_kop FROM call_tallies WHERE project_id = ? AND n > 0",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut s = shared::project_stats(&head, &contacts, &calls);
        s.actions = super::action_reports::stats(&self.read, id).await?;
        s.transfers = transfer_stats(&self.pool, id).await?;
        Ok(s)
    }

    async fn list_calls(&self, f: &CallFilter) -> Result<Vec<CallView>, StoreError> {
        let mut sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE 1"
        );
        if f.project_id.is_some() {
            sql.push_str(" AND k.project_id = ?");
        }
        if f.contact_id.is_some() {
            sql.push_str(" AND k.contact_id = ?");
        }
        if f.result.is_some() {
            sql.push_str(" AND k.result = ?");
        }
        if f.contact_status.is_some() {
            sql.push_str(" AND c.status = ? AND c.removed_at IS NULL");
        }
        if f.before_id.is_some() {
            sql.push_str(" AND k.id < ?");
        }
        sql.push_str(" ORDER BY k.id DESC LIMIT ?");
        let mut q = sqlx::query(&sql);
        if let Some(p) = f.project_id {
            q = q.bind(p);
        }
        if let Some(c) = f.contact_id {
            q = q.bind(c);
        }
        if let Some(r) = &f.result {
            q = q.bind(r.clone());
        }
        if let Some(st) = &f.contact_status {
            q = q.bind(st.clone());
        }
        if let Some(b) = f.before_id {
            q = q.bind(b);
        }
        q = q.bind(i64::from(shared::page_size(f.limit)));
        let rows = q.fetch_all(&self.read).await?;
        let mut calls: Vec<CallView> = rows.iter().map(|r| call_view(r, 0)).collect();
        super::action_reports::attach_briefs(&self.read, &mut calls).await?;
        Ok(calls)
    }

    async fn call(&self, id: i64) -> Result<CallView, StoreError> {
        let call = sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE k.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .map(|r| call_view(&r, 0))
        .ok_or(StoreError::NotFound(format!("call {id}")))?;
        let mut one = [call];
        super::action_reports::attach_briefs(&self.read, &mut one).await?;
        let [call] = one;
        Ok(call)
    }

    async fn search_calls(&self, f: &CallSearch) -> Result<CallPage, StoreError> {
        self.find_calls(f).await
    }

    async fn call_timeline(&self, id: i64) -> Result<Option<String>, StoreError> {
        self.timeline_of(id).await
    }

    async fn contact_fields(
        &self,
        contact_id: i64,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        self.fields_of(contact_id).await
    }

    async fn calls_since(&self, project_id: i64, since: i64) -> Result<(u64, Kopecks), StoreError> {
        self.calls_started_since(project_id, since).await
    }

    async fn list_actions(&self, f: &ActionFilter) -> Result<Vec<ActionView>, StoreError> {
        self.project_name(f.project_id).await?;
        super::action_reports::list(&self.read, f).await
    }

    async fn last_results_where(
        &self,
        project_id: i64,
        f: &LastFilter,
    ) -> Result<Vec<LastResult>, StoreError> {
        self.project(project_id).await?;
        let status = f.status.as_deref();
        let sql = format!(
            "SELECT c.id, c.name, c.status, c.fields, c.priority, \
             (SELECT group_concat(e164 || ':' || kind, ' ') FROM \
                 (SELECT e164, kind FROM contact_numbers WHERE contact_id = c.id ORDER BY idx)), \
             (SELECT COUNT(*) FROM calls WHERE contact_id = c.id), c.damaged, c.damaged_at, \
             {CALL_COLUMNS} \
             FROM contacts c {index} LEFT JOIN calls k ON k.id = \
                 (SELECT MAX(id) FROM calls WHERE contact_id = c.id) \
             WHERE c.project_id = ? AND {status_filter} {result_filter} c.removed_at IS NULL \
             AND c.id > ? \
             ORDER BY c.id LIMIT ?",
            // Pinned: each page walks its index from the cursor and stops at the page size.
            index = if status.is_some() {
                "INDEXED BY contacts_status_order"
            } else {
                "INDEXED BY contacts_project_order"
            },
            status_filter = if status.is_some() {
                "c.status = ? AND"
            } else {
                ""
            },
            result_filter = if f.result.is_some() {
                "k.result = ? AND"
            } else {
                ""
            },
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        if let Some(st) = status {
            q = q.bind(st);
        }
        if let Some(r) = &f.result {
            q = q.bind(r);
        }
        let rows = q
            .bind(f.after)
            .bind(i64::from(f.limit.clamp(1, MAX_PAGE)))
            .fetch_all(&self.read)
            .await?;
        let mut out: Vec<LastResult> = rows
            .iter()
            .map(|r| shared::last_result(r, project_id, super::contact_rows::DAMAGED_ROW))
            .collect();
        // Every view of a call shows its actions.
        let mut calls = shared::take_last_calls(&mut out);
        super::action_reports::attach_briefs(&self.read, &mut calls).await?;
        shared::put_last_calls(&mut out, calls);
        Ok(out)
    }

    async fn field_names(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT fields FROM contacts WHERE project_id = ? AND fields <> '{}' \
             AND removed_at IS NULL ORDER BY id LIMIT 1000",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        Ok(shared::field_names(&rows))
    }

    async fn decisions_of(
        &self,
        project_id: i64,
        contact_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        // One contact's lines walk its own index (`decisions_contact`); a project's, the
        // project's (`decisions_project`).
        let sql = if contact_id.is_some() {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             INDEXED BY decisions_contact \
             WHERE contact_id = ?2 AND project_id = ?1 AND id < ?3 ORDER BY id DESC LIMIT ?4"
        } else {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             INDEXED BY decisions_project \
             WHERE project_id = ?1 AND ?2 IS NULL AND id < ?3 ORDER BY id DESC LIMIT ?4"
        };
        Ok(sqlx::query(sql)
            .bind(project_id)
            .bind(contact_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(i64::from(limit.clamp(1, MAX_PAGE)))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(shared::decision)
            .collect())
    }

    async fn recording_path(&self, call_id: i64) -> Result<Option<std::path::PathBuf>, StoreError> {
        sqlx::query("SELECT recording FROM calls WHERE id = ?")
            .bind(call_id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<String>, _>(0).map(std::path::PathBuf::from))
            .ok_or(StoreError::NotFound(format!("call {call_id}")))
    }

    async fn call_totals(&self) -> Result<CallTotals, StoreError> {
        let up: i64 = sqlx::query("SELECT COUNT(*) FROM calls WHERE state = 'dialing'")
            .fetch_one(&self.read)
            .await?
            .get(0);
        let rows = sqlx::query(
            "SELECT result, COUNT(*), COALESCE(SUM(end_reason = ?), 0) FROM calls \
             WHERE state = 'done' GROUP BY result",
        )
        .bind(crate::call::live::NO_MEDIA_REASON)
        .fetch_all(&self.read)
        .await?;
        Ok(shared::call_totals(up, &rows))
    }

    async fn calls_by_hour(
        &self,
        project_id: i64,
        from: i64,
        hours: u32,
    ) -> Result<Vec<HourCalls>, StoreError> {
        // One range of the covering index: no table lookups.
        let rows = sqlx::query(
            "SELECT (started_at - ?2) / 3600, COUNT(*), COUNT(answered_at) \
             FROM calls INDEXED BY calls_project_day \
             WHERE project_id = ?1 AND started_at >= ?2 AND started_at < ?3 GROUP BY 1",
        )
        .bind(project_id)
        .bind(from)
        .bind(from + i64::from(hours) * 3600)
        .fetch_all(&self.read)
        .await?;
        Ok(shared::calls_by_hour(&rows, hours))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_results_get_russian_labels_and_scenario_results_keep_their_names() {
        assert_eq!(result_label("busy"), "Занято");
        assert_eq!(
            result_label("answering_machine"),
            "Обнаружен автоответчик (системный)"
        );
        assert_eq!(result_label("Доволен"), "Доволен");
        assert_eq!(status_label("not_reached"), "Не дозвонились");
    }

    #[test]
    fn tokens_are_kept_as_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
