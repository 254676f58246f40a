//! Editing a project in SQLite: its settings as stored (the webhook secret in full), an edit
//! checked as a creation is (`store::check_settings`) and written in one transaction, after
//! which the project's open contacts are planned again under the new settings (`replan`); and
//! deleting a project's contacts by status, never one in a call, keeping the calls' history.
use super::contact_rows::{log, status_text, IN_FLIGHT_NEXT_AT};
use super::{json, SqliteStore};
use crate::rules::attempts::ContactStatus;
use crate::store::*;
use sqlx::Row;

/// Contacts deleted per transaction: the write lock is let go between batches.
const DELETE_BATCH: i64 = 500;
/// How long an edit waits for its project's open contacts to be planned again before it
/// answers (a larger base goes on in the background: a browser or a client would give up).
const EDIT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The columns `stored_settings` reads.
const SETTINGS_SELECT: &str = "SELECT name, scenario_id, time_zone, schedule, lines, \
     max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, starts_at, \
     ends_at, type_windows, webhook_url, webhook_secret, transfer_settings, mode, \
     pacing_settings FROM projects WHERE id = ?";

/// A JSON column of a project row, `None` (and its field noted as damaged) when it does not
/// parse.
fn column<T: serde::de::DeserializeOwned>(
    r: &sqlx::sqlite::SqliteRow,
    i: usize,
    field: &'static str,
    damaged: &mut Vec<&'static str>,
) -> Option<T> {
    let v = r
        .try_get::<&str, _>(i)
        .ok()
        .and_then(|t| serde_json::from_str(t).ok());
    if v.is_none() {
        damaged.push(field);
    }
    v
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
        let r = sqlx::query(SETTINGS_SELECT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(format!("project {id}")))?;
        let mut damaged = Vec::new();
        let d = NewProject::default();
        let schedule = column(&r, 3, "schedule", &mut damaged);
        let retry = column(&r, 6, "retry_rules", &mut damaged);
        let ordering = column(&r, 7, "ordering", &mut damaged);
        let tariff = column(&r, 9, "tariff", &mut damaged);
        let types = column(&r, 12, "type_windows", &mut damaged);
        let transfer = column(&r, 15, "transfer", &mut damaged);
        let pacing = column(&r, 17, "pacing", &mut damaged);
        let time_zone: String = r.get(2);
        let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
        let local = |t: Option<i64>| t.map(|t| local_datetime(t, tz));
        let p = NewProject {
            name: r.get(0),
            scenario_id: r.get(1),
            time_zone,
            schedule: schedule.unwrap_or(d.schedule),
            lines: r.get::<i64, _>(4).clamp(0, i64::from(u32::MAX)) as u32,
            max_calls_per_number: r.get::<i64, _>(5).clamp(0, 9) as u32,
            retry_rules: retry.unwrap_or_default(),
            ordering: ordering.unwrap_or(d.ordering),
            callback_project_id: r.get(8),
            tariff: tariff.unwrap_or_default(),
            starts_at: local(r.get(10)),
            ends_at: local(r.get(11)),
            type_windows: types.unwrap_or_default(),
            webhook_url: r.get(13),
            webhook_secret: r.get(14),
            transfer: transfer.unwrap_or_default(),
            mode: Mode::parse(r.get(16)).unwrap_or_default(),
            pacing: pacing.unwrap_or_default(),
        };
        Ok((p, damaged))
    }

    /// `CampaignStore::edit_project`.
    pub(super) async fn edit_project_now(
        &self,
        id: i64,
        edit: &ProjectEdit,
    ) -> Result<ProjectView, StoreError> {
        let (current, damaged) = self.stored_settings(id).await?;
        let given = edit.fields();
        if let Some(field) = damaged.iter().find(|f| !given.contains(f)) {
            return Err(StoreError::Invalid(format!(
                "{field}: the stored value is damaged; give a new one with this change"
            )));
        }
        let next = edit.apply(current);
        let checked = check_settings(&next)?;
        self.check_references(&next, Some(id)).await?;
        let replans = edit.replans() || !damaged.is_empty();
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
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(format!("a project named {:?} exists", next.name.trim()))
            }
            other => other.into(),
        })?;
        if let Some(Some(u)) = &edit.webhook_url {
            // A new address is delivered to again even if it once answered 410 Gone.
            sqlx::query("DELETE FROM webhook_gone WHERE url = ?")
                .bind(u.trim())
                .execute(&mut *tx)
                .await?;
        }
        let what = if replans {
            "; its open contacts are planned again under them"
        } else {
            ""
        };
        let reason = format!("settings changed: {}{what}", given.join(", "));
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
            let reason = format!(
                "deleted {} contacts of status {} ({} of them kept hidden for their calls' \
                 history)",
                count.deleted,
                status_text(status),
                count.kept_for_history
            );
            let mut conn = self.pool.acquire().await?;
            log(&mut conn, (self.now(), id), None, None, "delete", &reason).await?;
        }
        Ok(count)
    }
}
