//! Editing a project in PostgreSQL: its settings as stored (the webhook secret in full), an
//! edit checked as a creation is (`store::check_settings`) and written in one transaction,
//! after which the project's open contacts are planned again under the new settings
//! (`replan`); and deleting a project's contacts by status, never one in a call, keeping the
//! calls' history. The row mapper and the edit's checks are shared with the SQLite store
//! (`shared::campaigns`).
//!
//! Where the SQL differs from SQLite's, and why:
//! - The edit's transaction takes the project's advisory lock (`PROJECT_BASE + id`) first.
//!   SQLite's one writer keeps an edit out of a re-plan batch, which reads the settings'
//!   version and then writes where it reached (`replan_after`); here a batch takes the same
//!   lock, so an edit's "start again from the first contact" (`replan_after = 0`) is never
//!   overwritten by a batch that read the settings before it.
//! - A deletion batch takes the project's advisory lock, then locks the contacts it chose
//!   (`FOR UPDATE OF c`). SQLite's one writer keeps the dialer from parking one of them for a
//!   call between the read and the delete; here the row locks do (a contact parked meanwhile
//!   is read again under the lock and no longer matches), and the advisory lock orders the
//!   batch with the project's other bookkeeping (a call's start and end, a re-plan).
//! - `INDEXED BY` is dropped (the planner chooses); `EXISTS` is a BOOLEAN; the re-plan's flag
//!   in the edit's UPDATE is a BOOLEAN parameter (SQLite: 0/1).
use super::contact_rows::{log, status_text, IN_FLIGHT_NEXT_AT};
use super::{json, lock, lock_key, PgStore};
use crate::rules::attempts::ContactStatus;
use crate::store::shared::campaigns::{
    deleted_reason, edited, name_taken, settings_row, Edited, DELETE_BATCH, EDIT_WAIT,
    SETTINGS_COLUMNS,
};
use crate::store::*;
use sqlx::Row;

/// `stored_settings`' query.
fn settings_sql() -> String {
    format!("SELECT {SETTINGS_COLUMNS} FROM projects WHERE id = $1")
}

impl PgStore {
    /// What a project's settings point at, checked: a scenario that exists, and a callback
    /// project that exists and is another project.
    pub(super) async fn check_references(
        &self,
        p: &NewProject,
        itself: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Some(cb) = p.callback_project_id {
            if Some(cb) == itself {
                return Err(StoreError::Invalid(format!(
                    "callback_project_id {cb}: the project itself; name another project"
                )));
            }
            self.project_name(cb).await.map_err(|_| {
                StoreError::Invalid(format!("callback_project_id {cb}: no such project"))
            })?;
        }
        let exists = sqlx::query("SELECT 1 FROM scenarios WHERE id = $1")
            .bind(p.scenario_id)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::Invalid(format!(
                "scenario {} does not exist",
                p.scenario_id
            )));
        }
        Ok(())
    }

    /// A project's settings as stored, as a creation gives them (start and end as local
    /// date-times in its zone), and the fields whose stored value does not parse (their
    /// defaults stand in: an edit must give them).
    pub(super) async fn stored_settings(
        &self,
        id: i64,
    ) -> Result<(NewProject, Vec<&'static str>), StoreError> {
        let r = sqlx::query(&settings_sql())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(format!("project {id}")))?;
        Ok(settings_row(&r))
    }

    /// `CampaignStore::edit_project`.
    pub(super) async fn edit_project_now(
        &self,
        id: i64,
        edit: &ProjectEdit,
    ) -> Result<ProjectView, StoreError> {
        let (current, damaged) = self.stored_settings(id).await?;
        let Edited {
            next,
            checked,
            replans,
            reason,
        } = edited(current, &damaged, edit)?;
        self.check_references(&next, Some(id)).await?;
        let at = self.now();
        let mut tx = self.write_tx().await?;
        // A re-plan batch in progress finishes first (see the module's comment).
        lock(&mut tx, lock_key::PROJECT_BASE + id).await?;
        sqlx::query(
            "UPDATE projects SET name = $1, scenario_id = $2, time_zone = $3, schedule = $4, \
             lines = $5, max_calls_per_number = $6, retry_rules = $7, ordering = $8, \
             callback_project_id = $9, tariff = $10, starts_at = $11, ends_at = $12, \
             type_windows = $13, webhook_url = $14, webhook_secret = $15, \
             transfer_settings = $16, mode = $17, pacing_settings = $18, \
             settings_version = settings_version + 1, \
             replan_after = CASE WHEN $19::BOOLEAN THEN 0 ELSE replan_after END WHERE id = $20",
        )
        .bind(next.name.trim())
        .bind(next.scenario_id)
        .bind(&next.time_zone)
        .bind(json(&next.schedule))
        .bind(i64::from(next.lines))
        .bind(i64::from(checked.rules.max_calls_per_number))
        .bind(json(&checked.rules.per_result))
        .bind(json(&next.ordering))
        .bind(next.callback_project_id)
        .bind(json(&next.tariff))
        .bind(checked.starts_at)
        .bind(checked.ends_at)
        .bind(json(&next.type_windows))
        .bind(next.webhook_url.as_deref().map(str::trim))
        .bind(&next.webhook_secret)
        .bind(json(&next.transfer))
        .bind(next.mode.as_str())
        .bind(json(&next.pacing))
        .bind(replans)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| name_taken(e, &next.name))?;
        if let Some(Some(u)) = &edit.webhook_url {
            // A new address is delivered to again even if it once answered 410 Gone.
            sqlx::query("DELETE FROM webhook_gone WHERE url = $1")
                .bind(u.trim())
                .execute(&mut *tx)
                .await?;
        }
        log(&mut tx, (at, id), None, None, "edit", &reason).await?;
        tx.commit().await?;
        if replans {
            self.replan_project_within(id, EDIT_WAIT).await?;
        }
        self.project(id).await
    }

    /// `CampaignStore::delete_contacts`: in batches of `DELETE_BATCH`, each its own transaction.
    pub(super) async fn delete_by_status(
        &self,
        id: i64,
        status: ContactStatus,
    ) -> Result<DeleteCount, StoreError> {
        self.project_name(id).await?;
        let mut count = DeleteCount::default();
        let mut after = 0i64;
        loop {
            let mut tx = self.write_tx().await?;
            lock(&mut tx, lock_key::PROJECT_BASE + id).await?;
            // The contacts chosen stay as read until the batch commits: none can be parked
            // for a call meanwhile (see the module's comment).
            let rows = sqlx::query(
                "SELECT c.id, EXISTS (SELECT 1 FROM calls k WHERE k.contact_id = c.id) \
                 FROM contacts c \
                 WHERE c.project_id = $1 AND c.status = $2 AND c.id > $3 \
                 AND c.removed_at IS NULL AND (c.next_at IS NULL OR c.next_at <> $4) \
                 ORDER BY c.id LIMIT $5 FOR UPDATE OF c",
            )
            .bind(id)
            .bind(status_text(status))
            .bind(after)
            .bind(IN_FLIGHT_NEXT_AT)
            .bind(DELETE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                break;
            };
            after = last.get(0);
            let now = self.now();
            for r in &rows {
                let (contact, has_calls): (i64, bool) = (r.get(0), r.get(1));
                if has_calls {
                    // Calls refer to it: it stays for them, closed and without its numbers.
                    sqlx::query(
                        "UPDATE contacts SET removed_at = $1, ready = 0, next_at = NULL, \
                         status = CASE WHEN status IN ('not_called', 'retry') \
                                       THEN 'not_reached' ELSE status END, \
                         version = version + 1 WHERE id = $2",
                    )
                    .bind(now)
                    .bind(contact)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM contact_numbers WHERE contact_id = $1")
                        .bind(contact)
                        .execute(&mut *tx)
                        .await?;
                    count.kept_for_history += 1;
                } else {
                    sqlx::query("DELETE FROM contacts WHERE id = $1")
                        .bind(contact)
                        .execute(&mut *tx)
                        .await?;
                }
                count.deleted += 1;
            }
            tx.commit().await?;
        }
        if count.deleted > 0 {
            let reason = deleted_reason(&count, status_text(status));
            let mut conn = self.pool.acquire().await?;
            log(&mut conn, (self.now(), id), None, None, "delete", &reason).await?;
        }
        Ok(count)
    }
}
