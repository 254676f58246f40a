//! What the dialer asks of the SQLite store. Every open contact carries its plan (`ready`,
//! `next_idx`, `gate`, `pick_key`, `next_at`: see `migrations/0005_ready_contacts.sql` and
//! `dialer::plan`), so each question is one short index walk over the whole project, whatever
//! its size and whatever sits at the head of its order:
//! - `promote_due`: contacts whose time has come become ready (oldest first, a bounded batch);
//! - `ready_gates` / `hold_gate`: the callee zones present among ready contacts, and holding
//!   one zone's contacts (with one decision-log line each) until its window opens;
//! - `next_callable`: the first N ready contacts in the project's order;
//! - `start_calls`: parks the contacts and records the calls (and the dial decisions) in one
//!   transaction;
//! - `call_answered`: what an answered call knows at once (time, recording), so a crash keeps
//!   it; `finish_call`: the result, the contact's new plan and the decisions, in one transaction.
//!
//! Row mappers and what is not SQL are shared with the PostgreSQL store (`shared::dialer`).
use super::call_actions::{
    drop_transfer_callbacks, release_held_webhooks, release_transfer_callbacks, write_actions,
};
use super::contact_rows::{
    contact_number, due_contact, log, parse_attempts, quarantine, write_plan, Guard,
    IN_FLIGHT_NEXT_AT,
};
use super::{json, SqliteStore};
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

/// The first `?2` ready contacts of project `?1` in its order, with their numbers, as one row
/// holding a JSON array (one hand-over to the database thread and back, whatever N).
/// A row's `fields` that is not valid JSON travels as its text, so that one damaged row is set
/// aside by itself instead of failing the query for the whole project.
const NEXT_CALLABLE_SQL: &str = "\
    SELECT json_group_array(json_array(p.id, p.seq, p.priority, p.attempts, p.next_idx, p.name, \
        CASE WHEN json_valid(p.fields) THEN json(p.fields) ELSE p.fields END, \
        json((SELECT json_group_array(json_array(n.e164, n.time_zone, n.kind) ORDER BY n.idx) \
              FROM contact_numbers n WHERE n.contact_id = p.id)), p.version) \
        ORDER BY p.pick_key) \
    FROM (SELECT id, seq, priority, attempts, next_idx, name, fields, pick_key, version \
          FROM contacts INDEXED BY contacts_ready \
          WHERE project_id = ?1 AND ready = 1 ORDER BY pick_key LIMIT ?2) p";

/// The distinct gates among a project's ready contacts: a skip-scan of `contacts_ready_gate`
/// (one seek per gate, however many contacts each holds).
const READY_GATES_SQL: &str = "\
    WITH RECURSIVE g(gate) AS ( \
        SELECT (SELECT MIN(gate) FROM contacts INDEXED BY contacts_ready_gate \
                WHERE project_id = ?1 AND ready = 1) \
        UNION ALL \
        SELECT (SELECT MIN(c.gate) FROM contacts c INDEXED BY contacts_ready_gate \
                WHERE c.project_id = ?1 AND c.ready = 1 AND c.gate > g.gate) \
        FROM g WHERE g.gate IS NOT NULL) \
    SELECT gate FROM g WHERE gate IS NOT NULL";

impl SqliteStore {
    /// Starts one call (see `start_calls`); `Conflict` when the contact is not ready.
    pub async fn start_call(
        &self,
        project_id: i64,
        contact_id: i64,
        number: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let version: i64 = sqlx::query("SELECT version FROM contacts WHERE id = ?")
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
            sqlx::query("SELECT number, result FROM calls WHERE contact_id = ? ORDER BY id")
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
impl DialerStore for SqliteStore {
    async fn finish_at_end(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'finished', finished_at = ?2 WHERE id = ?1 \
             AND status = 'active' AND ends_at IS NOT NULL AND ends_at <= ?2",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, decision, reason) VALUES (?, ?, 'finished', \
                 'the project''s end date-time has come: no new calls, calls in progress end \
                 normally; the project is finished and frees its active slot')",
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
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'finished', finished_at = ?2 WHERE id = ?1 \
             AND status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1 \
                             AND status IN ('not_called', 'retry')) \
             AND NOT EXISTS (SELECT 1 FROM calls WHERE state = 'dialing' AND project_id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM imports WHERE state = 'running' AND project_id = ?1)",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, decision, reason) \
                 VALUES (?, ?, 'finished', 'every contact is closed and no call is up: the \
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
        let r = sqlx::query(
            "UPDATE contacts SET ready = 1, version = version + 1 WHERE id IN ( \
                 SELECT id FROM contacts INDEXED BY contacts_waiting \
                 WHERE project_id = ?1 AND ready = 0 AND next_at IS NOT NULL AND next_at <= ?2 \
                 ORDER BY next_at LIMIT ?3)",
        )
        .bind(project_id)
        .bind(now)
        .bind(i64::from(max))
        .execute(&self.pool)
        .await?;
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
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM contacts INDEXED BY contacts_ready_gate \
             WHERE project_id = ? AND ready = 1 AND gate = ? LIMIT ?",
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
        let ids_json = json(&ids);
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
             SELECT ?1, c.project_id, c.id, n.e164, 'hold', ?2 \
             FROM json_each(?3) j JOIN contacts c ON c.id = j.value \
             LEFT JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = c.next_idx",
        )
        .bind(at)
        .bind(reason)
        .bind(&ids_json)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE contacts SET ready = 0, next_at = ?1, version = version + 1 \
             WHERE id IN (SELECT value FROM json_each(?2)) AND ready = 1",
        )
        .bind(until)
        .bind(&ids_json)
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
            let mut tx = self.write_first_tx().await?;
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
        let mut tx = self.write_first_tx().await?;
        let mut ids = Vec::with_capacity(calls.len());
        for c in calls {
            let parked = sqlx::query(
                "UPDATE contacts SET ready = 0, next_at = ?, version = version + 1 \
                 WHERE id = ? AND project_id = ? AND version = ? \
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
            let id = sqlx::query(
                "INSERT INTO calls (project_id, contact_id, number, started_at, dialed_at_ms) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(project_id)
            .bind(c.contact_id)
            .bind(c.number)
            .bind(now)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            sqlx::query(
                "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
                 VALUES (?, ?, ?, ?, 'dial', ?)",
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
        sqlx::query(
            "UPDATE calls SET answered_at = ?, answered_at_ms = ?, sip_status = 200, \
             recording = ? WHERE id = ? AND state = 'dialing'",
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
        let mut tx = self.write_first_tx().await?;
        let closed = sqlx::query(
            "UPDATE calls SET state = 'done', result = ?, sip_status = ?, \
             answered_at = ?, answered_at_ms = ?, ended_at = ?, ended_at_ms = ?, \
             dialed_at_ms = COALESCE(?, dialed_at_ms), ring_ms = ?, talk_ms = ?, end_reason = ?, \
             reaction = ?, transcript = ?, captured = ?, amd_verdict = ?, amd_reason = ?, \
             amd_ms = ?, recording = ?, recording_error = ?, cost_kop = ?, transfer = ?, \
             timeline = ? WHERE id = ? AND state = 'dialing'",
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
        let mut tx = self.write_first_tx().await?;
        let up = sqlx::query(
            "UPDATE calls SET result = ?, reaction = ?, transcript = ?, captured = ?, \
             decided_at_ms = ? WHERE id = ? AND state = 'dialing'",
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
        let mut tx = self.write_first_tx().await?;
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
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'paused', status_reason = ? \
             WHERE id = ? AND status = 'active'",
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
        let mut tx = self.write_first_tx().await?;
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
        let mut tx = self.write_first_tx().await?;
        let r = sqlx::query(
            "UPDATE calls SET state = 'done', result = COALESCE(result, 'system'), \
             end_reason = ?, ended_at = ?, ended_at_ms = ? WHERE id = ? AND state = 'dialing'",
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
        let open = sqlx::query("SELECT 1 FROM calls WHERE id = ? AND state = 'dialing'")
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
            "UPDATE contact_numbers SET time_zone = ? WHERE e164 = ? AND time_zone IS NULL",
        )
        .bind(zone)
        .bind(e164)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn settings_version(&self, project_id: i64) -> Result<i64, StoreError> {
        sqlx::query("SELECT settings_version FROM projects WHERE id = ?")
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
        Ok(sqlx::query(&format!(
            "SELECT {IN_FLIGHT_COLUMNS} FROM calls WHERE state = 'dialing' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(in_flight_row)
        .collect())
    }

    async fn contact(&self, id: i64) -> Result<DueContact, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(format!("contact {id}")))?;
        let numbers: Vec<ContactNumber> = sqlx::query(
            "SELECT e164, time_zone, kind FROM contact_numbers WHERE contact_id = ? ORDER BY idx",
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

    async fn stop_listed_among(
        &self,
        numbers: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if numbers.is_empty() {
            return Ok(Default::default());
        }
        Ok(
            sqlx::query(
                "SELECT e164 FROM stop_list WHERE e164 IN (SELECT value FROM json_each(?))",
            )
            .bind(json(numbers))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        )
    }
}
