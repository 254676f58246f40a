//! Keeping contacts' plans true when something other than a call changes them: a number put on
//! the stop list (its contacts in every project skip it, or close as not reached when no number
//! is left), and databases written by an older version (contacts without a plan get one when
//! the store opens). Also the benchmarks' helpers that shape a base. The planning itself is
//! shared with the PostgreSQL store (`shared::dialer`).
use super::contact_rows::{log, IN_FLIGHT_NEXT_AT};
use super::contact_rows::{parse_attempts, write_plan, Guard};
use super::{json, SqliteStore};
use crate::rules::plan::pick_key;
use crate::store::shared::dialer::{
    bench_retry, bench_retry_attempts, is_open, legacy_plan, open_status, priority, stop_list_plan,
    Replan, REPLAN_TRIES, UPGRADE_BATCH,
};
use crate::store::StoreError;
use crate::store::{DialerStore, ProjectRow};
use sqlx::Row;
use std::collections::HashMap;

impl SqliteStore {
    /// Re-plans the open contacts (not in a call) that have `e164`. Each plan is written only
    /// while its contact is as it was read (compare-and-set on its version): a contact the
    /// dialer parks for a call meanwhile is left alone (its call's end plans it, with the stop
    /// list of then), one changed otherwise is read and planned again.
    pub(super) async fn apply_stop_list(&self, e164: &str) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.project_id \
             FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id \
             WHERE n.e164 = ? AND c.status IN ('not_called', 'retry') \
               AND (c.next_at IS NULL OR c.next_at < ?)",
        )
        .bind(e164)
        .bind(IN_FLIGHT_NEXT_AT)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let projects: HashMap<i64, ProjectRow> = self
            .projects_where(false)
            .await?
            .0
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let at = self.now();
        let mut changed = 0;
        for r in rows {
            let (id, project_id): (i64, i64) = (r.get(0), r.get(1));
            let Some(p) = projects.get(&project_id) else {
                continue;
            };
            for _ in 0..REPLAN_TRIES {
                match self.replan_for_stop_list(p, id, e164, at).await? {
                    Replan::Written => {
                        changed += 1;
                        break;
                    }
                    Replan::Untouchable => break,
                    Replan::Changed => continue,
                }
            }
        }
        Ok(changed)
    }

    /// One try at re-planning contact `id` for the stop list.
    async fn replan_for_stop_list(
        &self,
        p: &ProjectRow,
        id: i64,
        e164: &str,
        at: i64,
    ) -> Result<Replan, StoreError> {
        let state =
            sqlx::query("SELECT ready, next_at, status, version FROM contacts WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(state) = state else {
            return Ok(Replan::Untouchable);
        };
        let next_at: Option<i64> = state.get(1);
        let status: String = state.get(2);
        if next_at == Some(IN_FLIGHT_NEXT_AT) || !is_open(&status) {
            return Ok(Replan::Untouchable);
        }
        // An import still running keeps its contacts back until it has finished.
        let pending = !state.get::<bool, _>(0) && next_at.is_none();
        let c = match self.contact(id).await {
            Ok(c) => c,
            Err(StoreError::Db(why)) if why.starts_with(&format!("contact {id}:")) => {
                self.quarantine_contact(id, &why, at).await?;
                return Ok(Replan::Untouchable);
            }
            Err(e) => return Err(e),
        };
        // The state above and the contact are two reads: a change between them (an import's
        // end releasing the contact) would leave `pending` stale, so they must be of one
        // version.
        if c.version != state.get::<i64, _>(3) {
            return Ok(Replan::Changed);
        }
        let listed = self.stop_listed_among(&c.e164s()).await?;
        let (attempts, new) = stop_list_plan(p, &c, &listed, self.registry.as_deref(), at);
        let mut tx = self.write_first_tx().await?;
        if !write_plan(&mut tx, id, Guard::Version(c.version), &attempts, &new, at).await? {
            return Ok(Replan::Changed);
        }
        if pending && new.next.is_some() {
            sqlx::query("UPDATE contacts SET ready = 0, next_at = NULL WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (decision, reason) in &new.notes {
            log(&mut tx, (at, p.id), Some(id), Some(e164), decision, reason).await?;
        }
        tx.commit().await?;
        Ok(Replan::Written)
    }

    /// Gives a plan to contacts stored by a version without plans, and makes ready the
    /// contacts of imports that finished while a stop cut their release short.
    pub(super) async fn bring_plans_up_to_date(&self) -> Result<(), StoreError> {
        let projects: HashMap<i64, ProjectRow> = self
            .projects_where(false)
            .await?
            .0
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let at = self.now();
        loop {
            let rows = sqlx::query(
                "SELECT c.id, c.project_id, c.seq, c.priority, c.status, c.attempts, c.next_at, \
                 (SELECT COUNT(*) FROM contact_numbers n WHERE n.contact_id = c.id) \
                 FROM contacts c WHERE c.pick_key IS NULL LIMIT ?",
            )
            .bind(UPGRADE_BATCH)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            tracing::info!(
                contacts = rows.len(),
                "planning contacts stored by an older version"
            );
            let mut tx = self.write_first_tx().await?;
            for r in &rows {
                let (id, project_id): (i64, i64) = (r.get(0), r.get(1));
                let status: String = r.get(4);
                let numbers = r.get::<i64, _>(7).max(0) as usize;
                let attempts = parse_attempts(id, r.get(5), numbers)?;
                let next_at: Option<i64> = r.get(6);
                let new = legacy_plan(
                    projects.get(&project_id),
                    &status,
                    (priority(r.get(3)), r.get(2)),
                    &attempts,
                    (next_at, next_at == Some(IN_FLIGHT_NEXT_AT)),
                    at,
                );
                sqlx::query(
                    "UPDATE contacts SET pick_key = ?, next_idx = ?, next_at = ?, ready = ?, \
                     gate = COALESCE((SELECT time_zone FROM contact_numbers \
                                      WHERE contact_id = contacts.id AND idx = ?), '') \
                     WHERE id = ?",
                )
                .bind(new.pick_key)
                .bind(new.next_idx)
                .bind(new.next_at)
                .bind(new.ready)
                .bind(new.next_idx)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        // Contacts of a finished import still held back: a stop came while they were released.
        for p in projects.keys() {
            let r = sqlx::query(
                "UPDATE contacts SET ready = 1, next_at = 0, version = version + 1 \
                 WHERE project_id = ? \
                 AND status = 'not_called' AND ready = 0 AND next_at IS NULL \
                 AND import_id IN (SELECT id FROM imports WHERE state = 'done')",
            )
            .bind(p)
            .execute(&self.pool)
            .await?;
            if r.rows_affected() > 0 {
                tracing::info!(
                    project = p,
                    contacts = r.rows_affected(),
                    "released the rest of a finished import"
                );
            }
        }
        Ok(())
    }

    /// Benchmarks only: one finished call per contact of a project, results spread over the
    /// retryable results and two scenario results.
    #[doc(hidden)]
    pub async fn bench_fill_calls(&self, project_id: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "INSERT INTO calls (project_id, contact_id, number, state, started_at, ended_at, result, cost_kop) \
             SELECT c.project_id, c.id, n.e164, 'done', 0, 30, \
             CASE c.id % 7 WHEN 0 THEN 'no_answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'rejected' \
             WHEN 3 THEN 'system' WHEN 4 THEN 'answering_machine' WHEN 5 THEN 'Да' ELSE 'Нет' END, \
             (c.id % 30) * 4 \
             FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = 0 \
             WHERE c.project_id = ?",
        )
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Benchmarks only: every open contact of a project called once (busy) and waiting for its
    /// retry, one in `due_every` due at `now`, the others half an hour later; their keys as a
    /// retry with one call has them.
    #[doc(hidden)]
    pub async fn bench_spread_retries(
        &self,
        project_id: i64,
        now: i64,
        due_every: i64,
    ) -> Result<u64, StoreError> {
        let ordering = self
            .projects_where(false)
            .await?
            .0
            .into_iter()
            .find(|p| p.id == project_id)
            .map(|p| p.ordering)
            .unwrap_or_default();
        let mut after = 0i64;
        let mut done = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, seq, priority FROM contacts WHERE project_id = ? AND id > ? \
                 AND status IN ('not_called', 'retry') ORDER BY id LIMIT 20000",
            )
            .bind(project_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            let mut tx = self.write_first_tx().await?;
            for r in &rows {
                let id: i64 = r.get(0);
                let (next_at, due, key) = bench_retry(
                    &ordering,
                    (id, r.get(1), priority(r.get(2))),
                    now,
                    due_every,
                );
                sqlx::query(
                    "UPDATE contacts SET status = 'retry', next_at = ?, ready = ?, pick_key = ?, \
                     attempts = ? WHERE id = ?",
                )
                .bind(next_at)
                .bind(due)
                .bind(key)
                .bind(bench_retry_attempts(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                done += 1;
            }
            tx.commit().await?;
        }
        Ok(done)
    }

    /// Benchmarks only: gives a project another ordering and every contact its key under it.
    #[doc(hidden)]
    pub async fn bench_set_ordering(
        &self,
        project_id: i64,
        ordering: &[crate::rules::decide::OrderBy],
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE projects SET ordering = ? WHERE id = ?")
            .bind(json(ordering))
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, seq, priority, status, attempts FROM contacts \
                 WHERE project_id = ? AND id > ? ORDER BY id LIMIT 20000",
            )
            .bind(project_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            let mut tx = self.write_first_tx().await?;
            for r in &rows {
                let id: i64 = r.get(0);
                let status = open_status(r.get::<&str, _>(3));
                let calls = parse_attempts(id, r.get(4), 1)?.calls();
                let key = pick_key(ordering, status, priority(r.get(2)), r.get(1), calls);
                sqlx::query("UPDATE contacts SET pick_key = ? WHERE id = ?")
                    .bind(key)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
