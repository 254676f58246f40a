//! Read side of the PostgreSQL store for the API and exports (docs/api.md): the twin of
//! `sqlite/reports.rs` — a project's stats, all calls (newest first, keyset-paginated,
//! filtered), last results (one row per contact with its newest call), decisions, metrics.
//! The row mappers (`call_view`, `project_view`, last results, stats…) are
//! `store::shared::reports`'s, re-exported here under the SQLite file's names.
//!
//! Where the SQL differs from SQLite's, and why:
//! - `stats` reads the status and both tallies in a `REPEATABLE READ READ ONLY` transaction:
//!   under PostgreSQL's default READ COMMITTED each statement sees its own snapshot, where a
//!   SQLite read transaction sees one (a call closed between two reads would show its contact
//!   still in a call while its result was already counted).
//! - Transfers: `json_extract(transfer, '$.x')` becomes `transfer::jsonb -> 'x'`; `answered`
//!   (a JSON boolean, which SQLite reads as 1/0) is compared in SQL and comes back as a BIGINT
//!   1/0, the waits as `::BIGINT`.
//! - Last results: `group_concat` over an ordered subquery becomes `string_agg(… ORDER BY
//!   idx)`; the pages order by `c.id`, an integer, so no collation or NULL order is involved.
//! - `call_totals`: `SUM(end_reason = ?)` becomes `COUNT(*) FILTER (WHERE …)` (a BIGINT);
//!   the groups come `ORDER BY result NULLS FIRST` — the order SQLite's sorted GROUP BY gives
//!   them, where PostgreSQL's hash aggregate has none — so that of a NULL and a '' result
//!   (both shown as '') the same one wins.
//! - `INDEXED BY` is dropped (the planner chooses); `WHERE 1` is `WHERE TRUE`; a parameter
//!   that only keeps its place (`?2 IS NULL`) is cast, `$2::BIGINT`.
use super::PgStore;
use super::StoreError;
use crate::rules::money::Kopecks;
use crate::store::shared::reports as shared;
use crate::store::*;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::BTreeMap;

pub(super) use crate::store::shared::reports::{
    call_view, project_view, CALL_COLUMNS, PROJECT_SELECT,
};
pub use crate::store::shared::token_hash;

/// A project's transfers, from its finished calls' `transfer` (a partial index holds only
/// those).
async fn transfer_stats(pool: &sqlx::PgPool, id: i64) -> Result<TransferStats, StoreError> {
    let rows = sqlx::query(
        "SELECT result, \
         (CASE WHEN j -> 'answered' IN ('true'::jsonb, '1'::jsonb) THEN 1 ELSE 0 END)::BIGINT, \
         (j ->> 'queue_ms')::BIGINT, (j ->> 'talk_ms')::BIGINT \
         FROM (SELECT result, transfer::jsonb AS j FROM calls \
               WHERE project_id = $1 AND transfer IS NOT NULL AND state = 'done') t",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(shared::transfer_stats(&rows))
}

/// Numbers the parameters of a query built piece by piece: `$1`, `$2`, … in the order asked.
#[derive(Default)]
struct Params(usize);

impl Params {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

#[async_trait]
impl ReportStore for PgStore {
    async fn stats(&self, id: i64) -> Result<ProjectStats, StoreError> {
        // One snapshot for the status, the contacts and the calls (see the module's comment).
        let mut tx = self
            .read
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let head = sqlx::query("SELECT status, status_reason FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(format!("project {id}")))?;
        // Kept by triggers: a few rows, whatever the project's size. A contact in a call right
        // now is counted there, not as still to call; one deleted but kept for its calls'
        // history is counted apart and not shown.
        let contacts = sqlx::query(
            "SELECT status, n FROM contact_tallies \
             WHERE project_id = $1 AND n > 0 AND status <> 'removed'",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let calls = sqlx::query(
            "SELECT result, n, cost_kop FROM call_tallies WHERE project_id = $1 AND n > 0",
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
        let mut p = Params::default();
        let mut sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id WHERE TRUE"
        );
        if f.project_id.is_some() {
            sql.push_str(&format!(" AND k.project_id = {}", p.next()));
        }
        if f.contact_id.is_some() {
            sql.push_str(&format!(" AND k.contact_id = {}", p.next()));
        }
        if f.result.is_some() {
            sql.push_str(&format!(" AND k.result = {}", p.next()));
        }
        if f.contact_status.is_some() {
            sql.push_str(&format!(
                " AND c.status = {} AND c.removed_at IS NULL",
                p.next()
            ));
        }
        if f.before_id.is_some() {
            sql.push_str(&format!(" AND k.id < {}", p.next()));
        }
        sql.push_str(&format!(" ORDER BY k.id DESC LIMIT {}", p.next()));
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
            "SELECT {CALL_COLUMNS} FROM calls k JOIN contacts c ON c.id = k.contact_id \
             WHERE k.id = $1"
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
        let mut p = Params::default();
        let project = p.next();
        let status_filter = match status {
            Some(_) => format!("c.status = {} AND", p.next()),
            None => String::new(),
        };
        let result_filter = match &f.result {
            Some(_) => format!("k.result = {} AND", p.next()),
            None => String::new(),
        };
        let (after, limit) = (p.next(), p.next());
        // The columns `shared::last_result` reads: the contact's, then its newest call's.
        let sql = format!(
            "SELECT c.id, c.name, c.status, c.fields, c.priority, \
             (SELECT string_agg(e164 || ':' || kind, ' ' ORDER BY idx) FROM contact_numbers \
                 WHERE contact_id = c.id), \
             (SELECT COUNT(*) FROM calls WHERE contact_id = c.id), c.damaged, c.damaged_at, \
             {CALL_COLUMNS} \
             FROM contacts c LEFT JOIN calls k ON k.id = \
                 (SELECT MAX(id) FROM calls WHERE contact_id = c.id) \
             WHERE c.project_id = {project} AND {status_filter} {result_filter} \
             c.removed_at IS NULL AND c.id > {after} \
             ORDER BY c.id LIMIT {limit}"
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
            "SELECT fields FROM contacts WHERE project_id = $1 AND fields <> '{}' \
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
        // Both bind all four values; the project's form names $2 only so that it is used.
        let sql = if contact_id.is_some() {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             WHERE contact_id = $2 AND project_id = $1 AND id < $3 ORDER BY id DESC LIMIT $4"
        } else {
            "SELECT id, at, contact_id, number, decision, reason FROM decisions \
             WHERE project_id = $1 AND $2::BIGINT IS NULL AND id < $3 ORDER BY id DESC LIMIT $4"
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
        sqlx::query("SELECT recording FROM calls WHERE id = $1")
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
            "SELECT result, COUNT(*), COUNT(*) FILTER (WHERE end_reason = $1) FROM calls \
             WHERE state = 'done' GROUP BY result ORDER BY result NULLS FIRST",
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
        // One range of the covering index `calls_project_day`.
        let rows = sqlx::query(
            "SELECT (started_at - $2) / 3600, COUNT(*), COUNT(answered_at) \
             FROM calls \
             WHERE project_id = $1 AND started_at >= $2 AND started_at < $3 GROUP BY 1",
        )
        .bind(project_id)
        .bind(from)
        .bind(from + i64::from(hours) * 3600)
        .fetch_all(&self.read)
        .await?;
        Ok(shared::calls_by_hour(&rows, hours))
    }
}
