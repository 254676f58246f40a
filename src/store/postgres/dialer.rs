//! What the dialer asks of the PostgreSQL store: the same questions and writes as the SQLite
//! store's (`sqlite/dialer.rs`, which says what each is for), over the same plan columns and
//! indexes. Row mappers and what is not SQL are shared (`shared::dialer`).
//!
//! Locking. SQLite has one writer, so each of its transactions is alone; PostgreSQL runs them
//! side by side (READ COMMITTED), possibly from several nodes. The dialer's guarantees (a
//! contact is never in two calls at once, never called past its cap, no result lost) rest on
//! compare-and-set writes that hold on either database: a contact is parked only while it is
//! ready at the version it was picked at, a call is closed only while it is `dialing`, a plan
//! is written only while its contact is parked for that call or at the version it was planned
//! from (PostgreSQL re-checks such a WHERE on the newest row after waiting for its lock). On
//! top of that, every transaction here that changes a project's contacts (a start, a finish,
//! a hold, a promotion, a re-plan, setting a row aside) first takes that project's advisory lock
//! (`lock_key::PROJECT_BASE + project id`): they then run one at a time per project, as under
//! SQLite, and never deadlock — their contact rows and the tally rows the triggers update
//! would otherwise be locked in different orders by two of them. A read-then-write on a call
//! (`call_actions_now`) locks the call's row instead (`FOR UPDATE`).
//!
//! Where the SQL differs from SQLite's:
//! - `$n` parameters; no `INDEXED BY` (the planner picks `contacts_ready`, `contacts_waiting`,
//!   `contacts_ready_gate` from the same WHERE and ORDER BY);
//! - the next-callable walk builds its JSON with `json_build_array` / `json_agg`; a `fields`
//!   that is not valid JSON travels as a JSON string (`to_json`), as with SQLite. Its order is
//!   `pick_key` ascending as the index has it: a ready contact always has a key (imports and
//!   copies write one, `bring_plans_up_to_date` gives one at open), so SQLite's NULLs-first
//!   never comes into play, and asking for it would cost the index walk;
//! - the gates come back sorted in byte order (`COLLATE "C"`), SQLite's, whatever the
//!   database's collation (the skip-scan itself walks the index in its own order);
//! - `promote_due` repeats its conditions outside its sub-select, so a contact changed by
//!   another writer since the sub-select read it is re-checked, not made ready blindly;
//! - `hold_gate` locks the contacts it reads (`FOR UPDATE`): the log lines name exactly the
//!   contacts held. Which contacts of a gate make one batch is the index's order (SQLite: id
//!   order); every batch's log lines are in id order;
//! - `start_calls` takes the new call's id with `RETURNING id`;
//! - numbers against the stop list: `= ANY($1)` over a text array.
use super::call_actions::{
    drop_transfer_callbacks, release_held_webhooks, release_transfer_callbacks, write_actions,
};
use super::contact_rows::{
    contact_number, due_contact, log, parse_attempts, quarantine, write_plan, Guard,
    IN_FLIGHT_NEXT_AT,
};
use super::{lock, lock_key, PgStore};
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::Plan;
use crate::store::shared::dialer::{
    contact_row, in_flight_row, not_ready, split_due, CONTACT_COLUMNS, IN_FLIGHT_COLUMNS,
};
use crate::store::StoreError;
use crate::store::{
    CallDecision, ContactNumber, DialerStore, DueContact, FinishedCall, InFlight, ProjectRow,
    StartCall,
};
use async_trait::async_trait;
use sqlx::Row;

/// The first `$2` ready contacts of project `$1` in its order, with their numbers, as one row
/// holding a JSON array (the same elements as SQLite's, read by the same `due_contact`).
/// A row's `fields` that is not valid JSON travels as its text, so that one damaged row is set
/// aside by itself instead of failing the query for the whole project.
const NEXT_CALLABLE_SQL: &str = "\
    SELECT COALESCE(json_agg(json_build_array(p.id, p.seq, p.priority, p.attempts, p.next_idx, \
        p.name, \
        CASE WHEN json_valid(p.fields) THEN p.fields::json ELSE to_json(p.fields) END, \
        (SELECT COALESCE(json_agg(json_build_array(n.e164, n.time_zone, n.kind) ORDER BY n.idx), \
                         '[]'::json) \
         FROM contact_numbers n WHERE n.contact_id = p.id), \
        p.version) ORDER BY p.pick_key), '[]'::json)::TEXT \
    FROM (SELECT id, seq, priority, attempts, next_idx, name, fields, pick_key, version \
          FROM contacts \
          WHERE project_id = $1 AND ready = 1 ORDER BY pick_key LIMIT $2) p";

/// The distinct gates among a project's ready contacts: a skip-scan of `contacts_ready_gate`
/// (one seek per gate, however many contacts each holds; PostgreSQL has no skip-scan of its
/// own), answered in byte order as SQLite's.
const READY_GATES_SQL: &str = "\
    WITH RECURSIVE g(gate) AS ( \
        SELECT (SELECT MIN(gate) FROM contacts WHERE project_id = $1 AND ready = 1) \
        UNION ALL \
        SELECT (SELECT MIN(c.gate) FROM contacts c \
                WHERE c.project_id = $1 AND c.ready = 1 AND c.gate > g.gate) \
        FROM g WHERE g.gate IS NOT NULL) \
    SELECT gate FROM g WHERE gate IS NOT NULL ORDER BY gate COLLATE \"C\"";

/// The advisory lock key of project `id`'s contacts and calls.
fn project_key(id: i64) -> i64 {
    lock_key::PROJECT_BASE + id
}

impl PgStore {
    /// Starts one call (see `start_calls`); `Conflict` when the contact is not ready.
    pub async fn start_call(
        &self,
        project_id: i64,
        contact_id: i64,
        number: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let version: i64 = sqlx::query("SELECT version FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::NotFound(format!("contact {contact_id}")))?;
        let call = StartCall {
            contact_id,
            version,
            number,
            reason: "started by hand".into(),
        };
        self.start_calls(
            project_id,
            std::slice::from_ref(&call),
            now.saturating_mul(1000),
        )
        .await?
        .first()
        .copied()
        .flatten()
        .ok_or_else(|| not_ready(contact_id))
    }

    /// Whether a number is on the global stop list.
    pub async fn stop_listed(&self, e164: &str) -> Result<bool, StoreError> {
        Ok(self
            .stop_listed_among(&[e164.to_string()])
            .await?
            .contains(e164))
    }

    /// Calls of a contact, oldest first: (number, result).
    pub async fn calls_of(
        &self,
        contact_id: i64,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        Ok(
            sqlx::query("SELECT number, result FROM calls WHERE contact_id = $1 ORDER BY id")
                .bind(contact_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    }
}

#[async_trait]
impl DialerStore for PgStore {
    async fn finish_at_end(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        // One conditional UPDATE of the project's own row: no lock needed.
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'finished', finished_at = $2 WHERE id = $1 \
             AND status = 'active' AND ends_at IS NOT NULL AND ends_at <= $2",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, decision, reason) VALUES ($1, $2, \
                 'finished', 'the project''s end date-time has come: no new calls, calls in \
                 progress end normally; the project is finished and frees its active slot')",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn finish_if_done(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        // The UPDATE decides on other rows (no open contact, no call up, no import running):
        // under the project's lock, no start, finish or import end of this project commits
        // between what its snapshot saw and its write (SQLite: its one writer).
        lock(&mut tx, project_key(id)).await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'finished', finished_at = $2 WHERE id = $1 \
             AND status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM contacts WHERE project_id = $1 \
                             AND status IN ('not_called', 'retry')) \
             AND NOT EXISTS (SELECT 1 FROM calls WHERE state = 'dialing' AND project_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM imports WHERE state = 'running' AND project_id = $1)",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, decision, reason) \
                 VALUES ($1, $2, 'finished', 'every contact is closed and no call is up: the \
                 project is finished and frees its active slot')",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn dialing_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        let (good, bad) = self.projects_where(true).await?;
        for (id, name, why) in bad {
            let reason = format!("the project's stored settings are damaged: {why}");
            if self.set_aside_project(id, &reason, self.now()).await? {
                tracing::error!(project = %name, project_id = id, reason = %reason, "project set aside (paused)");
            }
        }
        Ok(good)
    }

    async fn all_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        let (good, bad) = self.projects_where(false).await?;
        for (id, name, why) in bad {
            tracing::error!(project = %name, project_id = id, reason = %why, "a project row is damaged: its calls cannot be closed by its rules");
        }
        Ok(good)
    }

    async fn promote_due(&self, project_id: i64, now: i64, max: u32) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        // Many contact rows in one statement: under the project's lock, in the same order as
        // every other writer of them (no deadlock). The outer conditions are the inner ones
        // again, so a row another writer changed after the sub-select read it is re-checked
        // on its newest version.
        lock(&mut tx, project_key(project_id)).await?;
        let r = sqlx::query(
            "UPDATE contacts SET ready = 1, version = version + 1 WHERE id IN ( \
                 SELECT id FROM contacts \
                 WHERE project_id = $1 AND ready = 0 AND next_at IS NOT NULL AND next_at <= $2 \
                 ORDER BY next_at LIMIT $3) \
             AND project_id = $1 AND ready = 0 AND next_at IS NOT NULL AND next_at <= $2",
        )
        .bind(project_id)
        .bind(now)
        .bind(i64::from(max))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    async fn ready_gates(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query(READY_GATES_SQL)
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn hold_gate(
        &self,
        project_id: i64,
        gate: &str,
        until: i64,
        reason: &str,
        at: i64,
        max: u32,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        // A read, then writes that depend on it (SQLite: BEGIN IMMEDIATE): the project's lock
        // orders it with the starts and re-plans of the project, and the rows read are locked
        // so that each log line names a contact that is held.
        lock(&mut tx, project_key(project_id)).await?;
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM contacts WHERE project_id = $1 AND ready = 1 AND gate = $2 \
             LIMIT $3 FOR UPDATE",
        )
        .bind(project_id)
        .bind(gate)
        .bind(i64::from(max))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
             SELECT $1, c.project_id, c.id, n.e164, 'hold', $2 \
             FROM contacts c \
             LEFT JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = c.next_idx \
             WHERE c.id = ANY($3) ORDER BY c.id",
        )
        .bind(at)
        .bind(reason)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE contacts SET ready = 0, next_at = $1, version = version + 1 \
             WHERE id = ANY($2) AND ready = 1",
        )
        .bind(until)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn next_callable(
        &self,
        project_id: i64,
        limit: u32,
    ) -> Result<Vec<DueContact>, StoreError> {
        let json: String = sqlx::query(NEXT_CALLABLE_SQL)
            .bind(project_id)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let (due, damaged) = split_due(project_id, &json, due_contact)?;
        if !damaged.is_empty() {
            let at = self.now();
            let mut tx = self.write_tx().await?;
            // Closing contacts changes the project's tallies: under its lock (see the top).
            lock(&mut tx, project_key(project_id)).await?;
            for (id, why) in &damaged {
                quarantine(&mut tx, *id, why, at).await?;
            }
            tx.commit().await?;
        }
        Ok(due)
    }

    async fn start_calls(
        &self,
        project_id: i64,
        calls: &[StartCall<'_>],
        now_ms: i64,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let now = now_ms.div_euclid(1000);
        let mut tx = self.write_tx().await?;
        // Each park is compare-and-set on the contact's version and readiness, so no contact
        // is parked (and dialed) twice even without a lock; the project's lock orders the
        // starts with its finishes, holds and re-plans as SQLite's one writer did (see the
        // top: no deadlock over contact and tally rows).
        lock(&mut tx, project_key(project_id)).await?;
        // The project's lines hold across nodes: each node's dialer shares out its own calls,
        // and the calls up of every node are counted here, under the project's lock.
        // A project pinned to another node for its transfers (pins.rs), by a pin renewed
        // within a lease, has no lines here: the node that lost the pin a moment ago starts
        // nothing more.
        let (node, lease_ms, _) = self.lease_binds();
        let mut free: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM transfer_pins t WHERE t.project_id = p.id \
                                      AND t.node_id <> $2 \
                                      AND t.renewed_at >= db_now_ms() - $3) THEN 0 \
                    ELSE p.lines - (SELECT count(*) FROM calls k \
                                    WHERE k.project_id = p.id AND k.state = 'dialing') END \
             FROM projects p WHERE p.id = $1",
        )
        .bind(project_id)
        .bind(node)
        .bind(lease_ms)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(0);
        let mut ids = Vec::with_capacity(calls.len());
        for c in calls {
            if free <= 0 {
                ids.push(None);
                continue;
            }
            let parked = sqlx::query(
                "UPDATE contacts SET ready = 0, next_at = $1, version = version + 1 \
                 WHERE id = $2 AND project_id = $3 AND version = $4 \
                 AND ready = 1 AND status IN ('not_called', 'retry')",
            )
            .bind(IN_FLIGHT_NEXT_AT)
            .bind(c.contact_id)
            .bind(project_id)
            .bind(c.version)
            .execute(&mut *tx)
            .await?;
            if parked.rows_affected() == 0 {
                ids.push(None);
                continue;
            }
            // The call is this node's, under a lease its heartbeat renews (nodes.rs).
            let id: i64 = sqlx::query(
                "INSERT INTO calls (project_id, contact_id, number, started_at, dialed_at_ms, \
                 owner_node, lease_until, lease_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, \
                 CASE WHEN $6::BIGINT IS NULL THEN NULL ELSE db_now_ms() + $7 END, \
                 CASE WHEN $6::BIGINT IS NULL THEN NULL ELSE nextval('lease_ids') END) \
                 RETURNING id",
            )
            .bind(project_id)
            .bind(c.contact_id)
            .bind(c.number)
            .bind(now)
            .bind(now_ms)
            .bind(node)
            .bind(lease_ms)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
            free -= 1;
            sqlx::query(
                "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
                 VALUES ($1, $2, $3, $4, 'dial', $5)",
            )
            .bind(now)
            .bind(project_id)
            .bind(c.contact_id)
            .bind(c.number)
            .bind(&c.reason)
            .execute(&mut *tx)
            .await?;
            ids.push(Some(id));
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn call_answered(
        &self,
        call_id: i64,
        answered_at_ms: i64,
        recording: Option<&str>,
    ) -> Result<(), StoreError> {
        // One conditional UPDATE of the call's row: no lock needed.
        sqlx::query(
            "UPDATE calls SET answered_at = $1, answered_at_ms = $2, sip_status = 200, \
             recording = $3 WHERE id = $4 AND state = 'dialing'",
        )
        .bind(answered_at_ms.div_euclid(1000))
        .bind(answered_at_ms)
        .bind(recording)
        .bind(call_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn finish_call(&self, f: &FinishedCall<'_>) -> Result<(), StoreError> {
        let ended = f.ended_at_ms.div_euclid(1000);
        let mut tx = self.write_tx().await?;
        // The call's close and the contact's plan are compare-and-set (`state = 'dialing'`,
        // the contact parked); the project's lock orders this end with the project's starts
        // and re-plans (see the top).
        lock(&mut tx, project_key(f.project_id)).await?;
        let closed = sqlx::query(
            "UPDATE calls SET state = 'done', result = $1, sip_status = $2, \
             answered_at = $3, answered_at_ms = $4, ended_at = $5, ended_at_ms = $6, \
             dialed_at_ms = COALESCE($7, dialed_at_ms), ring_ms = $8, talk_ms = $9, \
             end_reason = $10, reaction = $11, transcript = $12, captured = $13, \
             amd_verdict = $14, amd_reason = $15, amd_ms = $16, recording = $17, \
             recording_error = $18, cost_kop = $19, transfer = $20, timeline = $21 \
             WHERE id = $22 AND state = 'dialing'",
        )
        .bind(f.result)
        .bind(f.sip_status.map(i64::from))
        .bind(f.answered_at_ms.map(|t| t.div_euclid(1000)))
        .bind(f.answered_at_ms)
        .bind(ended)
        .bind(f.ended_at_ms)
        .bind(f.dialed_at_ms)
        .bind(f.ring_ms)
        .bind(f.talk_ms)
        .bind(&f.end_reason)
        .bind(&f.reaction)
        .bind(&f.transcript)
        .bind(&f.captured)
        .bind(f.amd.as_ref().map(|a| a.0.clone()))
        .bind(f.amd.as_ref().map(|a| a.1.clone()))
        .bind(f.amd.as_ref().map(|a| a.2))
        .bind(&f.recording)
        .bind(&f.recording_error)
        .bind(f.cost.0)
        .bind(f.transfer.as_ref().map(|t| t.to_string()))
        .bind(&f.timeline)
        .bind(f.call_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if closed != 1 {
            // Closed already (by the sweep, or by an earlier try of this very write whose
            // answer was lost): nothing is written twice.
            return Err(StoreError::Conflict(format!(
                "call {} is not in progress any more: its end was written already",
                f.call_id
            )));
        }
        if !write_plan(
            &mut tx,
            f.contact_id,
            Guard::InCall,
            f.attempts,
            f.plan,
            ended,
        )
        .await?
        {
            // Only this call's end may move a parked contact: if it is not parked, someone
            // else's plan stands and is not overwritten.
            tracing::error!(
                call = f.call_id,
                contact = f.contact_id,
                "the contact was not parked for this call: its plan is left as it is"
            );
        }
        for (decision, reason) in &f.log {
            let at = (ended, f.project_id);
            log(
                &mut tx,
                at,
                Some(f.contact_id),
                Some(f.number),
                decision,
                reason,
            )
            .await?;
        }
        // The call's actions, one outbox row each, with its result (docs/actions.md); those
        // written when the scenario decided them stay as they are, and its webhooks, held
        // until the end, now carry the call's final JSON.
        write_actions(
            &mut tx,
            (f.call_id, f.project_id, f.contact_id),
            &f.actions,
            f.ended_at_ms,
            f.actions_give_up_at,
            false,
        )
        .await?;
        release_held_webhooks(&mut tx, f.call_id, &f.call_json, f.ended_at_ms).await?;
        let reached_an_agent = f
            .transfer
            .as_ref()
            .is_some_and(|t| t["answered"] == serde_json::Value::Bool(true));
        if reached_an_agent {
            drop_transfer_callbacks(&mut tx, f.call_id).await?;
        } else {
            release_transfer_callbacks(&mut tx, f.call_id, f.ended_at_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn decide_call(&self, d: &CallDecision<'_>) -> Result<bool, StoreError> {
        // The conditional UPDATE locks the call's row until commit: an end of the call waits
        // for these actions (and then releases them) or comes first (and this writes nothing).
        let mut tx = self.write_first_tx().await?;
        let up = sqlx::query(
            "UPDATE calls SET result = $1, reaction = $2, transcript = $3, captured = $4, \
             decided_at_ms = $5 WHERE id = $6 AND state = 'dialing'",
        )
        .bind(d.result)
        .bind(&d.reaction)
        .bind(&d.transcript)
        .bind(&d.captured)
        .bind(d.at_ms)
        .bind(d.call_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if up != 1 {
            return Ok(false);
        }
        write_actions(
            &mut tx,
            (d.call_id, d.project_id, d.contact_id),
            &d.actions,
            d.at_ms,
            d.actions_give_up_at,
            true,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn replan_contact(
        &self,
        project_id: i64,
        c: &DueContact,
        number: Option<&str>,
        attempts: &ContactAttempts,
        plan: &Plan,
        at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        // The write is compare-and-set on the version; the project's lock orders it with the
        // project's other contact writes (see the top).
        lock(&mut tx, project_key(project_id)).await?;
        if !write_plan(&mut tx, c.id, Guard::Version(c.version), attempts, plan, at).await? {
            return Ok(false);
        }
        for (decision, reason) in &plan.notes {
            let when = (at, project_id);
            log(&mut tx, when, Some(c.id), number, decision, reason).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn set_aside_project(&self, id: i64, reason: &str, at: i64) -> Result<bool, StoreError> {
        // One conditional UPDATE of the project's own row: no lock needed.
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'paused', status_reason = $1 \
             WHERE id = $2 AND status = 'active'",
        )
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            log(
                &mut tx,
                (at, id),
                None,
                None,
                "pause",
                &format!("paused by the robot, freeing its active slot: {reason}"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn quarantine_contact(&self, id: i64, why: &str, at: i64) -> Result<(), StoreError> {
        // A contact's project never changes: read it to take the project's lock (see the
        // top). A contact that is gone has nothing to set aside (SQLite's UPDATE would find
        // no row either).
        let project: Option<i64> = sqlx::query("SELECT project_id FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0));
        let Some(project) = project else {
            return Ok(());
        };
        let mut tx = self.write_tx().await?;
        lock(&mut tx, project_key(project)).await?;
        quarantine(&mut tx, id, why, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close_call_only(
        &self,
        call_id: i64,
        why: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        // A conditional UPDATE of the call alone (its contact is not touched), then its held
        // callbacks: the UPDATE's row lock orders it with every other write of the call.
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE calls SET state = 'done', result = COALESCE(result, 'system'), \
             end_reason = $1, ended_at = $2, ended_at_ms = $3 \
             WHERE id = $4 AND state = 'dialing'",
        )
        .bind(why)
        .bind(at_ms.div_euclid(1000))
        .bind(at_ms)
        .bind(call_id)
        .execute(&mut *tx)
        .await?;
        let closed = r.rows_affected() == 1;
        if closed {
            release_transfer_callbacks(&mut tx, call_id, at_ms).await?;
        }
        tx.commit().await?;
        Ok(closed)
    }

    async fn call_actions_now(
        &self,
        call: (i64, i64, i64),
        actions: &[crate::store::NewAction],
        at_ms: i64,
        give_up_at: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        // A read, then writes that depend on it (SQLite: BEGIN IMMEDIATE): the call's row is
        // locked, so its end cannot commit in between — a transfer's callback written after
        // the end had released the callbacks would stay held for ever.
        let open =
            sqlx::query("SELECT 1 FROM calls WHERE id = $1 AND state = 'dialing' FOR UPDATE")
                .bind(call.0)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if open {
            write_actions(&mut tx, call, actions, at_ms, give_up_at, false).await?;
        }
        tx.commit().await?;
        Ok(open)
    }

    async fn transfer_answered(&self, call_id: i64) -> Result<u64, StoreError> {
        let mut tx = self.write_first_tx().await?;
        let n = drop_transfer_callbacks(&mut tx, call_id).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn set_number_zone(&self, e164: &str, zone: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE contact_numbers SET time_zone = $1 WHERE e164 = $2 AND time_zone IS NULL",
        )
        .bind(zone)
        .bind(e164)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn settings_version(&self, project_id: i64) -> Result<i64, StoreError> {
        sqlx::query("SELECT settings_version FROM projects WHERE id = $1")
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("project {project_id}")))
    }

    async fn replan_one(&self, project_id: i64, contact_id: i64) -> Result<bool, StoreError> {
        self.replan_contact_now(project_id, contact_id).await
    }

    async fn in_flight(&self) -> Result<Vec<InFlight>, StoreError> {
        let (node, lease_ms, may_take_over) = self.lease_binds();
        let Some(node) = node else {
            // Alone on the database: every call up is this process's.
            return Ok(sqlx::query(&format!(
                "SELECT {IN_FLIGHT_COLUMNS} FROM calls WHERE state = 'dialing' ORDER BY id"
            ))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(in_flight_row)
            .collect());
        };
        // This node's calls up, and — once this node is steady (nodes.rs) — the calls of nodes
        // whose lease ran out, taken over with a new fencing token so that two nodes never
        // both close one; the dialer closes those it runs no task for as interrupted. The
        // calls of live nodes are not this node's business.
        Ok(sqlx::query(&format!(
            "WITH taken AS ( \
                 UPDATE calls SET owner_node = $1, lease_until = db_now_ms() + $2, \
                        lease_id = nextval('lease_ids') \
                 WHERE id IN (SELECT id FROM calls WHERE state = 'dialing' AND $3 \
                              AND owner_node IS DISTINCT FROM $1 \
                              AND (owner_node IS NULL OR lease_until < db_now_ms()) \
                              FOR UPDATE SKIP LOCKED) \
                 RETURNING id) \
             SELECT {IN_FLIGHT_COLUMNS} FROM calls \
             WHERE state = 'dialing' AND (owner_node = $1 OR id IN (SELECT id FROM taken)) \
             ORDER BY id"
        ))
        .bind(node)
        .bind(lease_ms)
        .bind(may_take_over)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(in_flight_row)
        .collect())
    }

    async fn contact(&self, id: i64) -> Result<DueContact, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(format!("contact {id}")))?;
        let numbers: Vec<ContactNumber> = sqlx::query(
            "SELECT e164, time_zone, kind FROM contact_numbers WHERE contact_id = $1 \
             ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|n| contact_number(n.get(0), n.get(1), n.get::<&str, _>(2)))
        .collect();
        contact_row(&r, numbers, parse_attempts)
    }

    async fn log_decision(
        &self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&str>,
        decision: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        log(
            &mut conn,
            (at, project_id),
            contact_id,
            number,
            decision,
            reason,
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn hold_transfer_pins(&self, projects: &[(i64, u32)]) -> Result<Vec<i64>, StoreError> {
        self.hold_pins(projects).await
    }

    async fn stop_listed_among(
        &self,
        numbers: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if numbers.is_empty() {
            return Ok(Default::default());
        }
        Ok(
            sqlx::query("SELECT e164 FROM stop_list WHERE e164 = ANY($1)")
                .bind(numbers)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        )
    }
}
