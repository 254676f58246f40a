//! Copying contacts into another project (the PostgreSQL twin of `sqlite/contact_copy.rs`): one
//! (the `add_to_project` action, the transfer's call-back) or every contact of a status
//! (`POST /projects/{id}/contacts/copy`, the way to dial the unreached again from another
//! project). A copy is a new contact, not yet called, with the numbers the target does not
//! have and the stop list does not hold. What the copy becomes (its gate, `pick_key`, wait,
//! decision-log line) is `store::shared::import::copy`'s.
//!
//! Where the SQL differs from SQLite's:
//! - `copy_one` first takes the target project's advisory lock (`contact_rows::lock_project`):
//!   it reads the target's numbers (to leave out those it has) and its highest `seq`, then
//!   inserts. SQLite's one writer keeps that read true until the commit; here two copies (or a
//!   copy and an import batch) into one project could otherwise both decide a number is free,
//!   and the second would fail on `UNIQUE (project_id, e164)`, or both take the same `seq`;
//! - the new contact's id comes back with `RETURNING id` (SQLite: `last_insert_rowid`); its
//!   numbers go in one statement over arrays (`UNNEST`) rather than one INSERT per number;
//! - the numbers that may go are found with `NOT EXISTS` (an index probe per number of the
//!   contact) where SQLite says `NOT IN (SELECT …)`: PostgreSQL runs that `NOT IN` as a hash
//!   of every number of the target built again for each contact copied, seconds per batch on
//!   a big target while the target's lock is held. The columns are NOT NULL, so the two mean
//!   the same;
//! - `priority` is read as the BIGINT it is (the shared `source_row` narrows it to i32).
use super::contact_rows::{lock_project, log, status_text};
use super::PgStore;
use crate::rules::attempts::ContactStatus;
use crate::store::shared::import::copy::{copy_numbers, plan_copy, source_row};
use crate::store::{CopyCount, ProjectRow, StoreError};
use sqlx::{PgConnection, Row};

pub(super) use crate::store::shared::import::copy::Source;

/// Copies contact `contact_id` into `target`; `None` when none of its numbers could go (in
/// the target already, or stop-listed). Holds the target's advisory lock until the caller's
/// transaction ends.
pub(super) async fn copy_one(
    tx: &mut PgConnection,
    contact_id: i64,
    target: &ProjectRow,
    from: &Source<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    lock_project(&mut *tx, target.id).await?;
    let source = sqlx::query("SELECT name, fields, priority FROM contacts WHERE id = $1")
        .bind(contact_id)
        .fetch_one(&mut *tx)
        .await?;
    let (name, fields, priority) = source_row(&source);
    // The number that reached the person first, then the others in their order; numbers on
    // the stop list or already in the target stay behind.
    let numbers = copy_numbers(
        &sqlx::query(
            "SELECT n.e164, n.time_zone, n.kind FROM contact_numbers n WHERE n.contact_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM stop_list s WHERE s.e164 = n.e164) \
             AND NOT EXISTS (SELECT 1 FROM contact_numbers t \
                             WHERE t.project_id = $2 AND t.e164 = n.e164) \
             ORDER BY n.e164 <> $3, n.idx",
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
        sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM contacts WHERE project_id = $1")
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    let plan = plan_copy(target, from, priority, seq, &numbers, now);
    let id: i64 = sqlx::query(
        "INSERT INTO contacts (project_id, seq, name, fields, priority, status, next_idx, gate, \
         pick_key, ready, next_at, created_at, source_project_id, source_call_id, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(target.id)
    .bind(seq)
    .bind(&name)
    .bind(&fields)
    .bind(i64::from(priority))
    .bind(status_text(ContactStatus::NotCalled))
    .bind(&plan.gate)
    .bind(&plan.pick_key)
    .bind(plan.ready)
    .bind(plan.next_at)
    .bind(now)
    .bind(from.project_id)
    .bind(from.call_id)
    .bind(plan.attempts.as_deref())
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    let (e164s, zones, kinds): (Vec<&str>, Vec<Option<&str>>, Vec<&str>) = numbers
        .iter()
        .map(|(e164, zone, kind)| (e164.as_str(), zone.as_deref(), kind.as_str()))
        .collect();
    sqlx::query(
        "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone, kind) \
         SELECT $1, $2, u.i - 1, u.e164, u.zone, u.kind \
         FROM UNNEST($3::TEXT[], $4::TEXT[], $5::TEXT[]) WITH ORDINALITY AS u(e164, zone, kind, i) \
         ORDER BY u.i",
    )
    .bind(id)
    .bind(target.id)
    .bind(&e164s)
    .bind(&zones)
    .bind(&kinds)
    .execute(&mut *tx)
    .await?;
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

/// Contacts copied per transaction: the target's lock is let go between batches, so a copy of
/// a big base never holds the project's dialer up for long.
const BATCH: usize = 500;

impl PgStore {
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
            "SELECT id FROM contacts WHERE project_id = $1 AND status = $2 \
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
