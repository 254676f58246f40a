//! Copying contacts into another project: one (the `add_to_project` action, the transfer's
//! call-back) or every contact of a status (`POST /projects/{id}/contacts/copy`, the way to
//! dial the unreached again from another project). A copy is a new contact, not yet called,
//! with the numbers the target does not have and the stop list does not hold.
use super::contact_rows::{log, status_text};
use super::SqliteStore;
use crate::rules::attempts::{ContactAttempts, ContactStatus};
use crate::rules::gate::Gate;
use crate::rules::plan::pick_key;
use crate::store::{CopyCount, ProjectRow, StoreError};
use sqlx::{Row, SqliteConnection};

/// Where a copy comes from, for its decision-log line and its columns.
pub(super) struct Source<'a> {
    pub project_id: i64,
    pub project_name: &'a str,
    /// The call that set it off (an action), if any.
    pub call_id: Option<i64>,
    /// The number to put first (the one that reached the person), if any.
    pub first_number: Option<&'a str>,
    /// Not dialed before this (unix s): a call back an agent asked for.
    pub not_before: Option<i64>,
}

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
    let (name, fields, priority): (Option<String>, String, i32) =
        (source.get(0), source.get(1), source.get(2));
    // The number that reached the person first, then the others in their order; numbers on
    // the stop list or already in the target stay behind.
    let mut numbers: Vec<(String, Option<String>, String)> = sqlx::query(
        "SELECT n.e164, n.time_zone, n.kind FROM contact_numbers n WHERE n.contact_id = ? \
         AND n.e164 NOT IN (SELECT e164 FROM stop_list) \
         AND n.e164 NOT IN (SELECT e164 FROM contact_numbers WHERE project_id = ?) \
         ORDER BY n.e164 <> ?, n.idx",
    )
    .bind(contact_id)
    .bind(target.id)
    .bind(from.first_number.unwrap_or(""))
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    numbers.dedup_by(|x, y| x.0 == y.0);
    let Some(first) = numbers.first().cloned() else {
        return Ok(None);
    };
    let seq: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM contacts WHERE project_id = ?")
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    let gate = Gate {
        zone: first.1.as_deref().and_then(|z| z.parse().ok()),
        kind: first.2.parse().unwrap_or(crate::phone::NumberKind::Other),
    };
    let key = pick_key(&target.ordering, ContactStatus::NotCalled, priority, seq, 0);
    // A call back waits for its time (`promote_due` makes it ready then); a copy is ready now.
    let wait_until = from.not_before.filter(|t| *t > now);
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
    .bind(gate.key())
    .bind(&key)
    .bind(i64::from(wait_until.is_none()))
    .bind(wait_until.unwrap_or(0))
    .bind(now)
    .bind(from.project_id)
    .bind(from.call_id)
    // The wait lives in the attempts too, so a re-plan (an edit of the target project) keeps it.
    .bind(wait_until.map(|t| super::json(&ContactAttempts::waiting(numbers.len(), t))))
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
    let mut reason = match from.call_id {
        Some(call) => format!("added from project {:?}, call {call}", from.project_name),
        None => format!("copied from project {:?}", from.project_name),
    };
    if let Some(t) = wait_until {
        let tz: chrono_tz::Tz = target
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Europe::Moscow);
        let at = chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .with_timezone(&tz);
        reason.push_str(&format!(
            "; call back not before {} {}",
            at.format("%d.%m %H:%M"),
            tz.name()
        ));
    }
    log(
        tx,
        (now, target.id),
        Some(id),
        Some(&first.0),
        "added",
        &reason,
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
