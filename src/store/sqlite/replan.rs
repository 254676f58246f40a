//! Planning a project's open contacts again after an edit of its settings (docs/campaigns.md,
//! "Editing a running project"): each contact not in a call gets the gate, order key, next
//! number and time its plan has under the new schedule, windows, retry rules and ordering —
//! as if the project had always had them. Walked in contact-id order in batches of
//! `REPLAN_BATCH`, each one transaction that reads, plans and writes under the write lock (so
//! no other writer can slip in between; the lock is let go between batches, long enough for a
//! waiting writer to take it), the place reached
//! kept in `projects.replan_after` so that a stop part-way through resumes when the store opens
//! again. Contacts in a call are planned when their call ends (`replan_one`).
use super::contact_rows::{due_contact, log, quarantine, write_plan, Guard, IN_FLIGHT_NEXT_AT};
use super::{json, SqliteStore};
use crate::store::shared::campaigns::{
    numbers_of, open_row, replan_contact, replan_done_reason, replan_joined, replan_joined_within,
    replan_lock, replan_pause, OpenRow, REPLAN_ONE_REASON,
};
use crate::store::{ProjectRow, StoreError};
use sqlx::{Row, SqliteConnection};
use std::collections::HashSet;
use std::sync::Arc;

pub(super) use crate::store::shared::campaigns::REPLAN_BATCH;

/// Open contacts not in a call, as the planner reads them (the array `contact_rows::due_contact`
/// parses: no name or fields, which planning does not need), with whether they are held back
/// by an import still running: the next batch of project `?1` after contact `?2` in id order
/// (`?4` of them), or (`one`) contact `?2` alone. `?3` is the in-a-call mark.
fn open_contacts_sql(one: bool) -> String {
    let (index, which) = if one {
        ("", "c.id = ?2")
    } else {
        ("INDEXED BY contacts_project_order", "c.id > ?2")
    };
    format!(
        "SELECT json_array(c.id, c.seq, c.priority, c.attempts, c.next_idx, NULL, json('{{}}'), \
             json((SELECT json_group_array(json_array(n.e164, n.time_zone, n.kind) \
                   ORDER BY n.idx) FROM contact_numbers n WHERE n.contact_id = c.id)), \
             c.version), \
             c.ready = 0 AND c.next_at IS NULL \
         FROM contacts c {index} \
         WHERE c.project_id = ?1 AND {which} \
           AND c.status IN ('not_called', 'retry') AND c.removed_at IS NULL \
           AND (c.next_at IS NULL OR c.next_at <> ?3) \
         ORDER BY c.id LIMIT ?4"
    )
}

impl SqliteStore {
    /// The lock that lets one re-plan of project `id` run at a time in this process.
    fn replan_lock(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        replan_lock(&self.replans, id)
    }

    /// Plans the open contacts of project `id` again, from where `replan_after` says, until
    /// none is left. Runs as a task of its own (a caller that goes away does not cut it
    /// short); answers how many contacts were planned.
    pub(super) async fn replan_project(&self, id: i64) -> Result<u64, StoreError> {
        replan_joined(id, self.spawn_replan(id)).await
    }

    /// As `replan_project`, waiting for it at most `limit`: a re-plan not done by then goes
    /// on in the background (its end is in the decision log). Answers whether it was done.
    pub(super) async fn replan_project_within(
        &self,
        id: i64,
        limit: std::time::Duration,
    ) -> Result<bool, StoreError> {
        replan_joined_within(id, limit, self.spawn_replan(id)).await
    }

    /// The re-plan of project `id` as a task of its own, after any other of the same project.
    fn spawn_replan(&self, id: i64) -> tokio::task::JoinHandle<Result<u64, StoreError>> {
        let lock = self.replan_lock(id);
        let store = self.clone();
        tokio::spawn(async move {
            let _one_at_a_time = lock.lock().await;
            store.replan_pending(id).await
        })
    }

    /// Resumes the re-plans a stop cut short (in the background).
    pub(super) async fn resume_replans(&self) -> Result<(), StoreError> {
        let pending: Vec<i64> =
            sqlx::query("SELECT id FROM projects WHERE replan_after IS NOT NULL")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        for id in pending {
            let store = self.clone();
            tracing::info!(
                project_id = id,
                "resuming the re-plan of an edited project's contacts"
            );
            tokio::spawn(async move {
                if let Err(e) = store.replan_project(id).await {
                    tracing::error!(project_id = id, error = %e, "re-planning an edited project's contacts failed");
                }
            });
        }
        Ok(())
    }

    async fn replan_pending(&self, id: i64) -> Result<u64, StoreError> {
        let mut total = 0u64;
        loop {
            let Some(p) = self.projects_of(false, Some(id)).await?.0.pop() else {
                // No such project, or its settings do not parse (the dialer says so).
                return Ok(total);
            };
            let batch_started = std::time::Instant::now();
            let mut tx = self.write_tx().await?;
            let state =
                sqlx::query("SELECT replan_after, settings_version FROM projects WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(state) = state else {
                return Ok(total);
            };
            let (after, version): (Option<i64>, i64) = (state.get(0), state.get(1));
            let Some(after) = after else {
                tx.commit().await?;
                return Ok(total);
            };
            if version != p.settings_version {
                // Edited again since the settings were read: read them again.
                tx.rollback().await?;
                continue;
            }
            let at = self.now();
            let (planned, last) = self.replan_rows(&mut tx, &p, after, None, at).await?;
            match last {
                Some(last) => {
                    sqlx::query("UPDATE projects SET replan_after = ? WHERE id = ?")
                        .bind(last)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    total += planned;
                    tokio::time::sleep(replan_pause(batch_started)).await;
                }
                None => {
                    sqlx::query("UPDATE projects SET replan_after = NULL WHERE id = ?")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let reason = replan_done_reason(total);
                    log(&mut tx, (at, id), None, None, "edit", &reason).await?;
                    tx.commit().await?;
                    tracing::info!(
                        project = %p.name,
                        contacts = total,
                        "an edited project's contacts are planned again"
                    );
                    return Ok(total);
                }
            }
        }
    }

    /// Plans again, under `p`'s settings, the next batch of its open contacts after `after`
    /// (or contact `only`), in the caller's write transaction. Answers how many were planned
    /// and the last contact id read (`None`: none was left).
    async fn replan_rows(
        &self,
        tx: &mut SqliteConnection,
        p: &ProjectRow,
        after: i64,
        only: Option<i64>,
        at: i64,
    ) -> Result<(u64, Option<i64>), StoreError> {
        let rows = sqlx::query(&open_contacts_sql(only.is_some()))
            .bind(p.id)
            .bind(only.unwrap_or(after))
            .bind(IN_FLIGHT_NEXT_AT)
            .bind(REPLAN_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        let mut last = None;
        let mut contacts = Vec::with_capacity(rows.len());
        for r in &rows {
            let held_back: bool = r.get(1);
            match open_row(p.id, r.get::<&str, _>(0), due_contact)? {
                OpenRow::Contact(c) => {
                    last = Some(c.id);
                    contacts.push((c, held_back));
                }
                OpenRow::Damaged(id, why) => {
                    last = Some(id);
                    quarantine(tx, id, &why, at).await?;
                }
            }
        }
        let numbers = numbers_of(&contacts);
        let listed: HashSet<String> = if numbers.is_empty() {
            HashSet::new()
        } else {
            sqlx::query("SELECT e164 FROM stop_list WHERE e164 IN (SELECT value FROM json_each(?))")
                .bind(json(&numbers))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        let (schedule, types) = (p.schedule(), p.types());
        let mut planned = 0;
        for (c, held_back) in &contacts {
            let new = replan_contact(
                p,
                schedule.as_ref(),
                types.as_ref(),
                c,
                &listed,
                self.registry.as_deref(),
                at,
            );
            let written = write_plan(
                tx,
                c.id,
                Guard::Version(c.version),
                &new.attempts,
                &new.plan,
                at,
            )
            .await?;
            if !written {
                continue;
            }
            if new.held_back(*held_back) {
                sqlx::query("UPDATE contacts SET ready = 0, next_at = NULL WHERE id = ?")
                    .bind(c.id)
                    .execute(&mut *tx)
                    .await?;
            }
            for (number, decision, reason) in new.notes(c) {
                log(tx, (at, p.id), Some(c.id), number, decision, reason).await?;
            }
            planned += 1;
        }
        Ok((planned, last))
    }

    /// `DialerStore::replan_one`.
    pub(super) async fn replan_contact_now(
        &self,
        project_id: i64,
        contact_id: i64,
    ) -> Result<bool, StoreError> {
        let Some(p) = self.projects_of(false, Some(project_id)).await?.0.pop() else {
            return Ok(false);
        };
        let at = self.now();
        let mut tx = self.write_tx().await?;
        let (planned, _) = self
            .replan_rows(&mut tx, &p, 0, Some(contact_id), at)
            .await?;
        if planned > 0 {
            log(
                &mut tx,
                (at, project_id),
                Some(contact_id),
                None,
                "edit",
                REPLAN_ONE_REASON,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(planned > 0)
    }
}
