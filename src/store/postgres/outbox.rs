//! The outbox in PostgreSQL (docs/actions.md): the same as the SQLite store's — actions are
//! claimed by the worker (`sending`, one more attempt), each attempt's outcome is written with
//! a line in the delivery log, and the actions that touch only the database (copying a
//! contact, listing numbers) commit together with their `done` mark. The row mappers and the
//! states written are shared (`shared::outbox`).
//!
//! Where the SQL differs from SQLite's, and why:
//! - Claims (`claim_actions`, `claim_polls`). SQLite has one writer, so its `UPDATE … WHERE id
//!   IN (SELECT … LIMIT n)` can never hand a row to two workers. PostgreSQL runs claims side by
//!   side — two workers of one process, or two nodes on one database — so the SELECT of due
//!   rows locks what it picks `FOR UPDATE SKIP LOCKED`: a row another claim holds is passed
//!   over (not waited for), and a row another claim took meanwhile fails the re-check of
//!   `status` on its newest version. Each due row is therefore taken by exactly one claim,
//!   with one more attempt: no SMS is claimed twice. That SELECT is a `MATERIALIZED` CTE, run
//!   once: written inline in the IN, PostgreSQL may run it again for every row of the outer
//!   scan (a nested loop), and each run passes the rows the UPDATE has just changed and locks
//!   `n` more — tried on PostgreSQL 15, a claim of 3 took 4 — so a claim could take more than
//!   the worker's free slots. The outer `AND status = …` repeats the state the claim moves
//!   from, so the UPDATE only ever moves a row out of that state. The node leases of
//!   `0002_nodes.sql` (owner_node, lease_until, lease_id) are left NULL here; they become one
//!   more SET clause of each claim. `INDEXED BY` is dropped: the planner picks the partial
//!   indexes `actions_queued` / `actions_sent` by itself. The kinds come as a TEXT[]
//!   (`= ANY($2)`), not a JSON array.
//! - Take-overs (several nodes). A node that stopped (killed, cut off) leaves its claims
//!   `sending`; once their lease ran out another node settles them as the SQLite store's
//!   restart does: an SMS is taken over by `sending_actions` and looked up at SMSC (sent again
//!   only if SMSC does not have it); a webhook, a copy or an opt-out is claimed again by
//!   `claim_actions` beside the due rows, one more attempt under a new token (the webhook
//!   with the same Idempotency-Key; a copy or an opt-out commits with its `done` mark, so one
//!   left `sending` never happened).
//! - Claimed rows come back in id order (a CTE over the UPDATE orders them): RETURNING has no
//!   order in either database, and SQLite's, scanning the table, gives id order.
//! - Reading a claim's state and acting on it (`copy_contact`, `opt_out`): SQLite's
//!   `BEGIN IMMEDIATE` kept anyone else from changing the action between the check that it is
//!   still `sending` and the `done` mark. Here the check locks the row (`FOR NO KEY UPDATE`,
//!   the lock an UPDATE of non-key columns takes, so inserting its log lines elsewhere does
//!   not wait), so a retry, a cancel or the worker's own compare-and-set waits for the copy to
//!   commit. A copy also takes the target project's advisory lock (`PROJECT_BASE + id`,
//!   before the row lock: advisory keys first) — the copy reads the project's numbers and
//!   sequence before it adds a contact, like every other writer of a project's contacts.
//! - `INSERT OR IGNORE` → `ON CONFLICT DO NOTHING`; the stop list's numbers go in as one
//!   statement over an array.
use super::contact_copy::{copy_one, Source};
use super::{lock, lock_key, PgStore};
use crate::store::shared::outbox::{
    action_row, done, no_such_project, nothing_copied, ACTION_COLUMNS,
};
use crate::store::ActionKind;
use crate::store::{
    ActionRow, ActionStatus, ActionUpdate, ActionView, AttemptLog, CopyOutcome, OutboxStore,
    ProjectRow, StoreError,
};
use async_trait::async_trait;
use sqlx::{PgConnection, Row};

/// The action view's columns and mapper (shared with the SQLite store): `action_reports` and
/// `action_admin` read actions by these paths.
pub(super) use crate::store::shared::outbox::{action_view, ACTION_VIEW_COLUMNS};

/// The log line and `last_error` of an action a stopped node left `sending`, claimed again by
/// another node (`claim_actions`).
const TAKEN_OVER: &str =
    "interrupted by a stop of the node carrying it out: carried out again by another node";

/// Writes an attempt's line and the action's new state — only while the action is in state
/// `from`, when one is given (compare-and-set): answers whether it was written. A single
/// conditional UPDATE: PostgreSQL re-checks `status` on the newest version of a row another
/// transaction changed meanwhile, so no lock is taken first.
///
/// Fencing (several nodes): a `sending` row is written only by the node that holds its claim
/// (`owner`, this node): once another node took it over (its lease ran out: nodes.rs), the
/// first one's late outcome changes nothing.
async fn write_update_from(
    conn: &mut PgConnection,
    id: i64,
    from: Option<ActionStatus>,
    owner: Option<i64>,
    u: &ActionUpdate,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE actions SET status = $1, next_at = COALESCE($2, next_at), last_error = $3, \
         cost_kop = COALESCE($4, cost_kop), parts = COALESCE($5, parts), \
         external_id = COALESCE($6, external_id), sent_at = COALESCE($7, sent_at), \
         delivered_at = COALESCE($8, delivered_at), done_at = COALESCE($9, done_at) \
         WHERE id = $10 AND ($11::TEXT IS NULL OR status = $11::TEXT) \
         AND ($12::BIGINT IS NULL OR status <> 'sending' OR owner_node = $12)",
    )
    .bind(u.status.as_str())
    .bind(u.next_at)
    .bind(&u.last_error)
    .bind(u.cost.map(|k| k.0))
    .bind(u.parts)
    .bind(&u.external_id)
    .bind(u.sent_at)
    .bind(u.delivered_at)
    .bind(u.done_at)
    .bind(id)
    .bind(from.map(ActionStatus::as_str))
    .bind(owner)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if changed {
        write_attempt(conn, id, &u.attempt).await?;
    }
    Ok(changed)
}

/// Writes an attempt's line and the action's new state (the caller holds the row: it checked
/// the action is still claimed, in the same transaction, and locked it).
async fn write_update(
    conn: &mut PgConnection,
    id: i64,
    u: &ActionUpdate,
) -> Result<(), StoreError> {
    write_update_from(conn, id, None, None, u).await.map(|_| ())
}

async fn write_attempt(conn: &mut PgConnection, id: i64, a: &AttemptLog) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO action_attempts (action_id, at, outcome, http_status, error, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(a.at)
    .bind(&a.outcome)
    .bind(a.http_status)
    .bind(&a.error)
    .bind(a.duration_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether action `id` is still being carried out (claimed, not finished meanwhile); when it
/// is, its row stays locked until the transaction ends, so nothing else finishes it first.
async fn still_claimed(
    conn: &mut PgConnection,
    id: i64,
    owner: Option<i64>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT id FROM actions WHERE id = $1 AND status = 'sending' \
             AND ($2::BIGINT IS NULL OR owner_node = $2) FOR NO KEY UPDATE",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(conn)
    .await?
    .is_some())
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn claim_actions(
        &self,
        kinds: &[ActionKind],
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.as_str().to_string()).collect();
        // The claim is this node's, under a lease its heartbeat renews (nodes.rs).
        let (node, lease_ms, may_take_over) = self.lease_binds();
        // Besides due rows, a node that is steady (nodes.rs) claims again the webhooks, copies
        // and opt-outs a node that stopped left `sending` (their lease ran out): carried out
        // again, as the SQLite store's restart does (`Worker::recover`) — a webhook with the
        // same Idempotency-Key, a copy or an opt-out whose transaction never committed. An
        // SMS is never claimed this way: it is looked up at SMSC first (`sending_actions`).
        // The interrupted attempt gets its line in the log. Those come first, within `limit`.
        let take_over = node.is_some() && may_take_over;
        let rows = sqlx::query(&format!(
            "WITH stale AS MATERIALIZED ( \
                 SELECT id FROM actions \
                 WHERE status = 'sending' AND $6 AND kind = ANY($2::TEXT[]) AND kind <> 'sms' \
                 AND owner_node IS DISTINCT FROM $4 \
                 AND (owner_node IS NULL OR lease_until < db_now_ms()) \
                 ORDER BY lease_until LIMIT $3 \
                 FOR UPDATE SKIP LOCKED), \
             due AS MATERIALIZED ( \
                 SELECT id FROM actions \
                 WHERE status = 'queued' AND next_at <= $1 AND kind = ANY($2::TEXT[]) \
                 ORDER BY next_at LIMIT GREATEST($3 - (SELECT count(*) FROM stale), 0) \
                 FOR UPDATE SKIP LOCKED), \
             claimed AS ( \
                 UPDATE actions SET status = 'sending', attempts = attempts + 1, \
                        owner_node = $4, \
                        lease_until = CASE WHEN $4::BIGINT IS NULL THEN NULL \
                                           ELSE db_now_ms() + $5 END, \
                        lease_id = CASE WHEN $4::BIGINT IS NULL THEN NULL \
                                        ELSE nextval('lease_ids') END, \
                        last_error = CASE WHEN status = 'sending' THEN $7 ELSE last_error END \
                 WHERE (id IN (SELECT id FROM due) AND status = 'queued') \
                    OR (id IN (SELECT id FROM stale) AND status = 'sending') \
                 RETURNING {ACTION_COLUMNS}), \
             logged AS ( \
                 INSERT INTO action_attempts (action_id, at, outcome, error) \
                 SELECT id, $1, 'retry', $7 FROM stale) \
             SELECT {ACTION_COLUMNS} FROM claimed ORDER BY id"
        ))
        .bind(now_ms)
        .bind(kinds)
        .bind(i64::from(limit))
        .bind(node)
        .bind(lease_ms)
        .bind(take_over)
        .bind(TAKEN_OVER)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(action_row).collect()
    }

    async fn claim_polls(
        &self,
        now_ms: i64,
        next_poll_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "WITH due AS MATERIALIZED ( \
                 SELECT id FROM actions \
                 WHERE status = 'sent' AND next_at <= $1 \
                 ORDER BY next_at LIMIT $3 \
                 FOR UPDATE SKIP LOCKED), \
             claimed AS ( \
                 UPDATE actions SET next_at = $2 \
                 WHERE id IN (SELECT id FROM due) AND status = 'sent' \
                 RETURNING {ACTION_COLUMNS}) \
             SELECT {ACTION_COLUMNS} FROM claimed ORDER BY id"
        ))
        .bind(now_ms)
        .bind(next_poll_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(action_row).collect()
    }

    async fn sending_actions(&self) -> Result<Vec<ActionRow>, StoreError> {
        let (node, lease_ms, may_take_over) = self.lease_binds();
        // Alone (no node): every `sending` row. A node: its own, and — once it is steady
        // (nodes.rs) — the SMS of nodes whose lease ran out, taken over with a new token so
        // that the first node's late outcome is fenced off (`write_update_from`); the worker
        // looks each up at SMSC. Another live node's rows in flight are not this node's to
        // settle. Other kinds a stopped node left `sending` are claimed again by
        // `claim_actions` (one more attempt under a new token). This node's own rows no task
        // of it works on — a claim whose answer the connection lost — are settled by the
        // worker's periodic re-check (SMS looked up, the rest queued again).
        let rows = sqlx::query(&format!(
            "WITH taken AS ( \
                 UPDATE actions SET owner_node = $1, lease_until = db_now_ms() + $2, \
                        lease_id = nextval('lease_ids') \
                 WHERE id IN (SELECT id FROM actions WHERE status = 'sending' \
                              AND kind = 'sms' AND $1::BIGINT IS NOT NULL AND $3 \
                              AND owner_node IS DISTINCT FROM $1 \
                              AND (owner_node IS NULL OR lease_until < db_now_ms()) \
                              FOR UPDATE SKIP LOCKED) \
                 RETURNING id) \
             SELECT {ACTION_COLUMNS} FROM actions \
             WHERE status = 'sending' \
             AND ($1::BIGINT IS NULL OR owner_node = $1 OR id IN (SELECT id FROM taken)) \
             ORDER BY id"
        ))
        .bind(node)
        .bind(lease_ms)
        .bind(may_take_over)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(action_row).collect()
    }

    async fn update_action(
        &self,
        id: i64,
        from: ActionStatus,
        u: &ActionUpdate,
    ) -> Result<bool, StoreError> {
        // Its first statement writes (the guarded UPDATE).
        let mut tx = self.write_first_tx().await?;
        let written = write_update_from(&mut tx, id, Some(from), self.lease_binds().0, u).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn log_attempt(&self, id: i64, a: &AttemptLog) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        write_attempt(&mut conn, id, a).await
    }

    async fn copy_contact(
        &self,
        a: &ActionRow,
        project: &str,
        first_number: &str,
        not_before: Option<i64>,
        now_ms: i64,
    ) -> Result<CopyOutcome, StoreError> {
        let target: Option<ProjectRow> = self
            .projects_where(false)
            .await?
            .0
            .into_iter()
            .find(|p| p.name == project);
        let mut tx = self.write_tx().await?;
        // The target's contacts are read (numbers present, the next sequence) and added to:
        // its advisory lock first, then the action's row.
        if let Some(t) = &target {
            lock(&mut tx, lock_key::PROJECT_BASE + t.id).await?;
        }
        if !still_claimed(&mut tx, a.id, self.lease_binds().0).await? {
            return Ok(CopyOutcome::NotClaimed);
        }
        let Some(target) = target else {
            let (why, u) = no_such_project(now_ms, project);
            write_update(&mut tx, a.id, &u).await?;
            tx.commit().await?;
            return Ok(CopyOutcome::NoSuchProject(why));
        };
        let from_project: String = sqlx::query("SELECT name FROM projects WHERE id = $1")
            .bind(a.project_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        let from = Source {
            project_id: a.project_id,
            project_name: &from_project,
            call_id: Some(a.call_id),
            first_number: Some(first_number),
            not_before,
        };
        let Some(id) = copy_one(
            &mut tx,
            a.contact_id,
            &target,
            &from,
            now_ms.div_euclid(1000),
        )
        .await?
        else {
            let note = nothing_copied(project);
            write_update(
                &mut tx,
                a.id,
                &done(now_ms, "done", None, Some(note.clone())),
            )
            .await?;
            tx.commit().await?;
            return Ok(CopyOutcome::NothingToCopy(note));
        };
        write_update(
            &mut tx,
            a.id,
            &done(now_ms, "done", Some(id.to_string()), None),
        )
        .await?;
        tx.commit().await?;
        Ok(CopyOutcome::Copied(id))
    }

    async fn opt_out(
        &self,
        a: &ActionRow,
        numbers: &[String],
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        if !still_claimed(&mut tx, a.id, self.lease_binds().0).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO stop_list (e164, reason, added_at) \
             SELECT n, $2::TEXT, $3::BIGINT FROM unnest($1::TEXT[]) AS n \
             ON CONFLICT DO NOTHING",
        )
        .bind(numbers)
        .bind(reason)
        .bind(now_ms.div_euclid(1000))
        .execute(&mut *tx)
        .await?;
        write_update(&mut tx, a.id, &done(now_ms, "done", None, None)).await?;
        tx.commit().await?;
        // Every contact with these numbers, in every project, is planned anew (a crash before
        // this is caught when one comes to be dialed: the dialer checks the list then too).
        for n in numbers {
            self.apply_stop_list(n).await?;
        }
        Ok(true)
    }

    async fn call_actions(&self, call_id: i64) -> Result<Vec<ActionView>, StoreError> {
        Ok(sqlx::query(&format!(
            "SELECT {ACTION_VIEW_COLUMNS} FROM actions WHERE call_id = $1 ORDER BY idx"
        ))
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(action_view)
        .collect())
    }

    async fn fix_webhook_body(&self, id: i64, body: &str) -> Result<String, StoreError> {
        // One UPDATE: two attempts at once both keep the first body (the second re-reads the
        // row the first wrote before it applies COALESCE).
        Ok(
            sqlx::query(
                "UPDATE actions SET body = COALESCE(body, $1) WHERE id = $2 RETURNING body",
            )
            .bind(body)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .and_then(|r| r.get::<Option<String>, _>(0))
            .unwrap_or_else(|| body.to_string()),
        )
    }

    async fn webhook_gone(&self, url: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query("SELECT at FROM webhook_gone WHERE url = $1")
            .bind(url)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    async fn mark_webhook_gone(
        &self,
        url: &str,
        action_id: i64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_gone (url, at, action_id) VALUES ($1, $2, $3) \
             ON CONFLICT (url) DO UPDATE SET at = EXCLUDED.at, action_id = EXCLUDED.action_id",
        )
        .bind(url)
        .bind(at_ms)
        .bind(action_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn note_sms_hold(&self, since_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('sms_held_since', $1) \
             ON CONFLICT DO NOTHING",
        )
        .bind(since_ms.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_sms_hold(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        // The DELETE … RETURNING takes the note: of two ends at once (two nodes), the second
        // waits for the first and then finds none, so the time held is given back once.
        let mut tx = self.write_first_tx().await?;
        let since: Option<i64> =
            sqlx::query("DELETE FROM settings WHERE key = 'sms_held_since' RETURNING value")
                .fetch_optional(&mut *tx)
                .await?
                .and_then(|r| r.get::<String, _>(0).parse().ok());
        let Some(since) = since else {
            return Ok(None);
        };
        let held = (now_ms - since).max(0);
        sqlx::query(
            "UPDATE actions SET give_up_at = give_up_at + $1 \
             WHERE kind = 'sms' AND status IN ('queued', 'sending', 'sent')",
        )
        .bind(held)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(held))
    }

    async fn webhook_secret(&self, project_id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT webhook_secret FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?
                .and_then(|r| r.get(0)),
        )
    }
}
