//! Editing a project in SQLite: its settings as stored (the webhook secret in full), an edit
//! checked as a creation is (`store::check_settings`) and written in one transaction, after
//! which the project's open contacts are planned again under the new settings (`replan`); and
//! deleting a project's contacts by status, never one in a call, keeping the calls' history.
use super::contact_rows::{log, status_text, IN_FLIGHT_NEXT_AT};
use super::{json, SqliteStore};
use crate::rules::attempts::ContactStatus;
use crate::store::shared::campaigns::{
    deleted_reason, edited, name_taken, settings_row, Edited, DELETE_BATCH, EDIT_WAIT,
    SETTINGS_COLUMNS,
};
use crate::store::*;
use sqlx::Row;

/// `stored_settings`' query.
fn settings_sql() -> String {
    format!("SELECT {SETTINGS_COLUMNS} FROM projects WHERE id = ?")
}

impl SqliteStore {
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
        let exists = sqlx::query("SELECT 1 FROM scenarios WHERE id = ?")
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
        sqlx::query(
            "UPDATE projects SET name = ?, scenario_id = ?, time_zone = ?, schedule = ?, \
             lines = ?, max_calls_per_number = ?, retry_rules = ?, ordering = ?, \
             callback_project_id = ?, tariff = ?, starts_at = ?, ends_at = ?, type_windows = ?, \
             webhook_url = ?, webhook_secret = ?, transfer_settings = ?, mode = ?, \
             pacing_settings = ?, settings_version = settings_version + 1, \
             replan_after = CASE WHEN ? THEN 0 ELSE replan_after END WHERE id = ?",
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
            sqlx::query("DELETE FROM webhook_gone WHERE url = ?")
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
            let rows = sqlx::query(
                "SELECT c.id, EXISTS (SELECT 1 FROM calls k WHERE k.contact_id = c.id) \
                 FROM contacts c INDEXED BY contacts_status_order \
                 WHERE c.project_id = ? AND c.status = ? AND c.id > ? AND c.removed_at IS NULL \
                 AND (c.next_at IS NULL OR c.next_at <> ?) ORDER BY c.id LIMIT ?",
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
                        "UPDATE contacts SET removed_at = ?, ready = 0, next_at = NULL, \
                         status = CASE WHEN status IN ('not_called', 'retry') \
                                       THEN 'not_reached' ELSE status END, \
                         version = version + 1 WHERE id = ?",
                    )
                    .bind(now)
                    .bind(contact)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM contact_numbers WHERE contact_id = ?")
                        .bind(contact)
                        .execute(&mut *tx)
                        .await?;
                    count.kept_for_history += 1;
                } else {
                    sqlx::query("DELETE FROM contacts WHERE id = ?")
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
