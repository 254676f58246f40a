//! Keeping contacts' plans true when something other than a call changes them, on PostgreSQL:
//! a number put on the stop list (its contacts in every project skip it, or close as not
//! reached when no number is left), and contacts without a plan (none on a database this
//! version made; the pass at open is kept so both stores open alike). Also the benchmarks'
//! helpers that shape a base. The planning itself is shared (`shared::dialer`).
//!
//! Where it differs from SQLite's (`sqlite/plans.rs`):
//! - each stop-list re-plan's write takes its project's advisory lock (`lock_key::
//!   PROJECT_BASE + id`, as every contact write of the dialer does: `dialer.rs`) and stays
//!   compare-and-set on the contact's version;
//! - planning contacts without a plan reads each batch in its write transaction and locks it
//!   (`FOR UPDATE`, in id order), and writes only rows still without a plan: another node
//!   opening the same database at the same time plans each contact once, SQLite's one writer
//!   needed neither; the batch is written with one UPDATE over arrays (`UNNEST`);
//! - releasing a finished import's held contacts takes the project's lock (many contact rows
//!   in one statement);
//! - the benchmarks' helpers write each batch with one UPDATE over arrays.
use super::contact_rows::{log, parse_attempts, write_plan, Guard, IN_FLIGHT_NEXT_AT};
use super::{lock, lock_key, PgStore};
use crate::rules::plan::pick_key;
use crate::store::shared::dialer::{
    bench_retry, bench_retry_attempts, is_open, legacy_plan, open_status, priority, stop_list_plan,
    Replan, REPLAN_TRIES, UPGRADE_BATCH,
};
use crate::store::StoreError;
use crate::store::{DialerStore, ProjectRow};
use sqlx::Row;
use std::collections::HashMap;

impl PgStore {
    /// Re-plans the open contacts (not in a call) that have `e164`. Each plan is written only
    /// while its contact is as it was read (compare-and-set on its version): a contact the
    /// dialer parks for a call meanwhile is left alone (its call's end plans it, with the stop
    /// list of then), one changed otherwise is read and planned again.
    pub(super) async fn apply_stop_list(&self, e164: &str) -> Result<u64, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.project_id \
             FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id \
             WHERE n.e164 = $1 AND c.status IN ('not_called', 'retry') \
               AND (c.next_at IS NULL OR c.next_at < $2)",
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
            sqlx::query("SELECT ready, next_at, status, version FROM contacts WHERE id = $1")
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
        let pending = state.get::<i64, _>(0) == 0 && next_at.is_none();
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
        let mut tx = self.write_tx().await?;
        // Compare-and-set on the version read; the project's lock orders the write with the
        // project's starts, ends and re-plans (postgres/dialer.rs: no deadlock over its contact
        // and tally rows), and with an import's end that would release a pending contact.
        lock(&mut tx, lock_key::PROJECT_BASE + p.id).await?;
        if !write_plan(&mut tx, id, Guard::Version(c.version), &attempts, &new, at).await? {
            return Ok(Replan::Changed);
        }
        if pending && new.next.is_some() {
            sqlx::query("UPDATE contacts SET ready = 0, next_at = NULL WHERE id = $1")
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
            let mut tx = self.write_tx().await?;
            // Read and locked in the transaction that writes them (id order: two nodes
            // opening at once wait for each other instead of deadlocking), so each contact
            // is planned from what it is.
            let rows = sqlx::query(
                "SELECT c.id, c.project_id, c.seq, c.priority, c.status, c.attempts, c.next_at, \
                 (SELECT COUNT(*) FROM contact_numbers n WHERE n.contact_id = c.id) \
                 FROM contacts c WHERE c.pick_key IS NULL ORDER BY c.id LIMIT $1 FOR UPDATE OF c",
            )
            .bind(UPGRADE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            tracing::info!(
                contacts = rows.len(),
                "planning contacts stored by an older version"
            );
            let n = rows.len();
            let (mut ids, mut keys) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let (mut next_idx, mut next_at, mut ready) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for r in &rows {
                let (id, project_id): (i64, i64) = (r.get(0), r.get(1));
                let status: String = r.get(4);
                let numbers = r.get::<i64, _>(7).max(0) as usize;
                let attempts = parse_attempts(id, r.get(5), numbers)?;
                let at_was: Option<i64> = r.get(6);
                let new = legacy_plan(
                    projects.get(&project_id),
                    &status,
                    (priority(r.get(3)), r.get(2)),
                    &attempts,
                    (at_was, at_was == Some(IN_FLIGHT_NEXT_AT)),
                    at,
                );
                ids.push(id);
                keys.push(new.pick_key);
                next_idx.push(new.next_idx);
                next_at.push(new.next_at);
                ready.push(i64::from(new.ready));
            }
            sqlx::query(
                "UPDATE contacts c SET pick_key = u.pick_key, next_idx = u.next_idx, \
                 next_at = u.next_at, ready = u.ready, \
                 gate = COALESCE((SELECT n.time_zone FROM contact_numbers n \
                                  WHERE n.contact_id = c.id AND n.idx = u.next_idx), '') \
                 FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BIGINT[], $4::BIGINT[], \
                             $5::BIGINT[]) AS u(id, pick_key, next_idx, next_at, ready) \
                 WHERE c.id = u.id AND c.pick_key IS NULL",
            )
            .bind(&ids)
            .bind(&keys)
            .bind(&next_idx)
            .bind(&next_at)
            .bind(&ready)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        // Contacts of a finished import still held back: a stop came while they were released.
        for p in projects.keys() {
            let mut tx = self.write_tx().await?;
            // Many contact rows of one project: under its lock (postgres/dialer.rs).
            lock(&mut tx, lock_key::PROJECT_BASE + p).await?;
            let r = sqlx::query(
                "UPDATE contacts SET ready = 1, next_at = 0, version = version + 1 \
                 WHERE project_id = $1 \
                 AND status = 'not_called' AND ready = 0 AND next_at IS NULL \
                 AND import_id IN (SELECT id FROM imports WHERE state = 'done')",
            )
            .bind(p)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
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
            "INSERT INTO calls (project_id, contact_id, number, state, started_at, ended_at, \
             result, cost_kop) \
             SELECT c.project_id, c.id, n.e164, 'done', 0, 30, \
             CASE c.id % 7 WHEN 0 THEN 'no_answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'rejected' \
             WHEN 3 THEN 'system' WHEN 4 THEN 'answering_machine' WHEN 5 THEN 'Да' ELSE 'Нет' END, \
             (c.id % 30) * 4 \
             FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = 0 \
             WHERE c.project_id = $1",
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
        let attempts = bench_retry_attempts(now);
        let mut after = 0i64;
        let mut done = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, seq, priority FROM contacts WHERE project_id = $1 AND id > $2 \
                 AND status IN ('not_called', 'retry') ORDER BY id LIMIT 20000",
            )
            .bind(project_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            let n = rows.len();
            let (mut ids, mut next_at) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let (mut ready, mut keys) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for r in &rows {
                let id: i64 = r.get(0);
                let (at, due, key) = bench_retry(
                    &ordering,
                    (id, r.get(1), priority(r.get(2))),
                    now,
                    due_every,
                );
                ids.push(id);
                next_at.push(at);
                ready.push(i64::from(due));
                keys.push(key);
            }
            sqlx::query(
                "UPDATE contacts c SET status = 'retry', next_at = u.next_at, ready = u.ready, \
                 pick_key = u.pick_key, attempts = $5 \
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BYTEA[]) \
                      AS u(id, next_at, ready, pick_key) \
                 WHERE c.id = u.id",
            )
            .bind(&ids)
            .bind(&next_at)
            .bind(&ready)
            .bind(&keys)
            .bind(&attempts)
            .execute(&self.pool)
            .await?;
            done += n as u64;
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
        sqlx::query("UPDATE projects SET ordering = $1 WHERE id = $2")
            .bind(super::json(ordering))
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, seq, priority, status, attempts FROM contacts \
                 WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT 20000",
            )
            .bind(project_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            let mut ids = Vec::with_capacity(rows.len());
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.get(0);
                let status = open_status(r.get::<&str, _>(3));
                let calls = parse_attempts(id, r.get(4), 1)?.calls();
                ids.push(id);
                keys.push(pick_key(
                    ordering,
                    status,
                    priority(r.get(2)),
                    r.get(1),
                    calls,
                ));
            }
            sqlx::query(
                "UPDATE contacts c SET pick_key = u.pick_key \
                 FROM UNNEST($1::BIGINT[], $2::BYTEA[]) AS u(id, pick_key) WHERE c.id = u.id",
            )
            .bind(&ids)
            .bind(&keys)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}
