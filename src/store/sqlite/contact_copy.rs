//! Copying contacts into another project: one (the `add_to_project` action, the transfer's
//! call-back) or every contact of a status (`POST /projects/{id}/contacts/copy`, the way to
//! dial the unreached again from another project). A copy is a new contact, not yet called,
//! with the numbers the target does not have and the stop list does not hold. What the copy
//! becomes (its gate, `pick_key`, wait, decision-log line) is
//! `store::shared::import::copy`'s.
use super::contact_rows::{log, status_text};
use super::SqliteStore;
use crate::rules::attempts::ContactStatus;
use crate::store::shared::import::copy::{copy_numbers, plan_copy, source_row};
use crate::store::{CopyCount, ProjectRow, StoreError};
use sqlx::{Row, SqliteConnection};

pub(super) use crate::store::shared::import::copy::Source;

/// Copies contact `contact_id` into `target`; `None` when none of its numbers could go (in
/// the target already, or stop-listed).
pub(super) async fn copy_one(
    tx: &mut SqliteConnection,
    contact_id: i64,
    target: &ProjectRow,
    from: &Source<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let source = sqlx::query("SELECT name, fields, priority FROM contacts WHERE id = ?")
        .bind(contact_id)
        .fetch_one(&mut *tx)
        .await?;
    let (name, fields, priority) = source_row(&source);
    // The number that reached the person first, then the others in their order; numbers on
    // the stop list or already in the target stay behind.
    let numbers = copy_numbers(
        &sqlx::query(
            "SELECT n.e164, n.time_zone, n.kind FROM contact_numbers n WHERE n.contact_id = ? \
             AND n.e164 NOT IN (SELECT e164 FROM stop_list) \
             AND n.e164 NOT IN (SELECT e164 FROM contact_numbers WHERE project_id = ?) \
             ORDER BY n.e164 <> ?, n.idx",
        )
        .bind(contact_id)
        .bind(target.id)
        .bind(from.first_number.unwrap_or(""))
        .fetch_all(&mut *tx)
        .await?,
    );
    let Some(first) = numbers.first() else {
        return Ok(None);
    };
    let seq: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM contacts WHERE project_id = ?")
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    let plan = plan_copy(target, from, priority, seq, &numbers, now);
    let id = sqlx::query(
        "INSERT INTO contacts (project_id, seq, name, fields, priority, status, next_idx, gate, \
         pick_key, ready, next_at, created_at, source_project_id, source_call_id, attempts) \
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(target.id)
    .bind(seq)
    .bind(&name)
    .bind(&fields)
    .bind(priority)
    .bind(status_text(ContactStatus::NotCalled))
    .bind(&plan.gate)
    .bind(&plan.pick_key)
    .bind(plan.ready)
    .bind(plan.next_at)
    .bind(now)
    .bind(from.project_id)
    .bind(from.call_id)
    .bind(plan.attempts.as_deref())
    .execute(&mut *tx)
    .await?
    .last_insert_rowid();
    for (i, (e164, zone, kind)) in numbers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone, kind) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(target.id)
        .bind(i as i64)
        .bind(e164)
        .bind(zone)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    }
    log(
        tx,
        (now, target.id),
        Some(id),
        Some(&first.0),
        "added",
        &plan.reason,
    )
    .await?;
    Ok(Some(id))
}

/// Contacts copied per transaction: the write lock is let go between batches, so a copy of a
/// big base never holds the dialer up for long.
const BATCH: usize = 500;

impl SqliteStore {
    /// Copies every contact of `status` of project `from` into project `to`, in batches.
    pub(super) async fn copy_by_status(
        &self,
        from: i64,
        status: ContactStatus,
        to: i64,
    ) -> Result<CopyCount, StoreError> {
        if from == to {
            return Err(StoreError::Invalid(
                "to_project_id: the project itself; copy into another one".into(),
            ));
        }
        let (projects, _) = self.projects_where(false).await?;
        let source = projects
            .iter()
            .find(|p| p.id == from)
            .ok_or_else(|| StoreError::NotFound(format!("project {from}")))?;
        let target = projects
            .iter()
            .find(|p| p.id == to)
            .ok_or_else(|| StoreError::Invalid(format!("to_project_id {to}: no such project")))?;
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM contacts WHERE project_id = ? AND status = ? \
                 AND removed_at IS NULL ORDER BY id",
        )
        .bind(from)
        .bind(status_text(status))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let mut count = CopyCount {
            matched: ids.len() as u64,
            ..Default::default()
        };
        let src = Source {
            project_id: from,
            project_name: &source.name,
            call_id: None,
            first_number: None,
            not_before: None,
        };
        for batch in ids.chunks(BATCH) {
            let mut tx = self.write_tx().await?;
            let now = self.now();
            for id in batch {
                match copy_one(&mut tx, *id, target, &src, now).await? {
                    Some(_) => count.copied += 1,
                    None => count.skipped += 1,
                }
            }
            tx.commit().await?;
        }
        Ok(count)
    }
}
