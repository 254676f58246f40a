//! The outbox in SQLite (docs/actions.md): actions are claimed by the worker in time order
//! (`sending`, one more attempt), and each attempt's outcome is written with a line in the
//! delivery log. The actions that touch only the database — copying a contact into another
//! project, listing numbers — commit together with their `done` mark, so a crash can never do
//! them twice; the ones that leave the process (SMS, webhooks) are the worker's to make safe.
use super::contact_copy::{copy_one, Source};
use super::{json, SqliteStore};
use crate::store::shared::outbox::{
    action_row, done, no_such_project, nothing_copied, ACTION_COLUMNS,
};
use crate::store::ActionKind;
use crate::store::{
    ActionRow, ActionStatus, ActionUpdate, ActionView, AttemptLog, CopyOutcome, OutboxStore,
    ProjectRow, StoreError,
};
use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};

/// The action view's columns and mapper, shared with the PostgreSQL store (`action_reports` and
/// `action_admin` read actions by these paths).
pub(super) use crate::store::shared::outbox::{action_view, ACTION_VIEW_COLUMNS};

/// Writes an attempt's line and the action's new state — only while the action is in state
/// `from`, when one is given (compare-and-set): answers whether it was written.
async fn write_update_from(
    conn: &mut SqliteConnection,
    id: i64,
    from: Option<ActionStatus>,
    u: &ActionUpdate,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE actions SET status = ?, next_at = COALESCE(?, next_at), last_error = ?, \
         cost_kop = COALESCE(?, cost_kop), parts = COALESCE(?, parts), \
         external_id = COALESCE(?, external_id), sent_at = COALESCE(?, sent_at), \
         delivered_at = COALESCE(?, delivered_at), done_at = COALESCE(?, done_at) \
         WHERE id = ? AND (? IS NULL OR status = ?)",
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
    .bind(from.map(ActionStatus::as_str))
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
/// the action is still claimed, in the same transaction).
async fn write_update(
    conn: &mut SqliteConnection,
    id: i64,
    u: &ActionUpdate,
) -> Result<(), StoreError> {
    write_update_from(conn, id, None, u).await.map(|_| ())
}

async fn write_attempt(
    conn: &mut SqliteConnection,
    id: i64,
    a: &AttemptLog,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO action_attempts (action_id, at, outcome, http_status, error, duration_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
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

/// Whether action `id` is still being carried out (claimed, not finished meanwhile).
async fn still_claimed(conn: &mut SqliteConnection, id: i64) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM actions WHERE id = ? AND status = 'sending'")
            .bind(id)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_actions(
        &self,
        kinds: &[ActionKind],
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let rows = sqlx::query(&format!(
            "UPDATE actions SET status = 'sending', attempts = attempts + 1 WHERE id IN ( \
                 SELECT id FROM actions INDEXED BY actions_queued \
                 WHERE status = 'queued' AND next_at <= ?1 \
                   AND kind IN (SELECT value FROM json_each(?2)) \
                 ORDER BY next_at LIMIT ?3) \
             RETURNING {ACTION_COLUMNS}"
        ))
        .bind(now_ms)
        .bind(json(&kinds))
        .bind(i64::from(limit))
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
            "UPDATE actions SET next_at = ?2 WHERE id IN ( \
                 SELECT id FROM actions INDEXED BY actions_sent \
                 WHERE status = 'sent' AND next_at <= ?1 ORDER BY next_at LIMIT ?3) \
             RETURNING {ACTION_COLUMNS}"
        ))
        .bind(now_ms)
        .bind(next_poll_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(action_row).collect()
    }

    async fn sending_actions(&self) -> Result<Vec<ActionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM actions INDEXED BY actions_sending \
             WHERE status = 'sending' ORDER BY id"
        ))
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
        let written = write_update_from(&mut tx, id, Some(from), u).await?;
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
        if !still_claimed(&mut tx, a.id).await? {
            return Ok(CopyOutcome::NotClaimed);
        }
        let Some(target) = target else {
            let (why, u) = no_such_project(now_ms, project);
            write_update(&mut tx, a.id, &u).await?;
            tx.commit().await?;
            return Ok(CopyOutcome::NoSuchProject(why));
        };
        let from_project: String = sqlx::query("SELECT name FROM projects WHERE id = ?")
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
        if !still_claimed(&mut tx, a.id).await? {
            return Ok(false);
        }
        for n in numbers {
            sqlx::query(
                "INSERT OR IGNORE INTO stop_list (e164, reason, added_at) VALUES (?, ?, ?)",
            )
            .bind(n)
            .bind(reason)
            .bind(now_ms.div_euclid(1000))
            .execute(&mut *tx)
            .await?;
        }
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
            "SELECT {ACTION_VIEW_COLUMNS} FROM actions WHERE call_id = ? ORDER BY idx"
        ))
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(action_view)
        .collect())
    }

    async fn fix_webhook_body(&self, id: i64, body: &str) -> Result<String, StoreError> {
        Ok(
            sqlx::query("UPDATE actions SET body = COALESCE(body, ?) WHERE id = ? RETURNING body")
                .bind(body)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .and_then(|r| r.get::<Option<String>, _>(0))
                .unwrap_or_else(|| body.to_string()),
        )
    }

    async fn webhook_gone(&self, url: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query("SELECT at FROM webhook_gone WHERE url = ?")
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
            "INSERT INTO webhook_gone (url, at, action_id) VALUES (?, ?, ?) \
             ON CONFLICT (url) DO UPDATE SET at = excluded.at, action_id = excluded.action_id",
        )
        .bind(url)
        .bind(at_ms)
        .bind(action_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn note_sms_hold(&self, since_ms: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO settings (key, value) VALUES ('sms_held_since', ?)")
            .bind(since_ms.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_sms_hold(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
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
            "UPDATE actions SET give_up_at = give_up_at + ? \
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
            sqlx::query("SELECT webhook_secret FROM projects WHERE id = ?")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?
                .and_then(|r| r.get(0)),
        )
    }
}
