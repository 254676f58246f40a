//! The SQLite store's contact import writer: the parser's contacts packed into batches on its
//! own thread, each batch written in one transaction with multi-row statements, numbers the
//! project already has merged, and the import registered while it runs so that a failure, a
//! cancelled request or a crash removes what it wrote (its contacts are never dialed before it
//! has finished). What is not SQL — the batches, the parser's thread, the planning of a
//! batch's contacts — is `store::shared::import`'s.
use super::import_watch::{drop_older_rejects, keep_rejects, write_progress};
use super::SqliteStore;
use crate::import::{ImportLimits, ImportReport};
use crate::store::shared::import::{
    plan_batch, spawn_parser, BatchContext, Packed, Progress, WrittenBatch, PROGRESS_EVERY,
};
use crate::store::{ImportWatch, StoreError};
use sqlx::{Connection, Row, SqliteConnection};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

/// Rows per multi-row INSERT (SQLite allows 32,766 bound values per statement): contacts bind
/// 10 values a row, numbers 5.
const CONTACT_ROWS_PER_INSERT: usize = 1_000;
const NUMBER_ROWS_PER_INSERT: usize = 1_000;

/// Numbers looked up per statement when checking which the project has already.
const NUMBERS_PER_CHECK: usize = 5_000;

impl SqliteStore {
    /// `CampaignStore::import_contacts` for any reader (tests, benchmarks, the demo).
    pub async fn import_csv(
        &self,
        project_id: i64,
        input: impl Read + Send + 'static,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        // Boxed here, so the import below is compiled once rather than for every reader type.
        self.run_import(project_id, Box::new(input), limits, ImportWatch::default())
            .await
    }

    /// Imports contacts into a project: good rows are stored in batches, bad values
    /// reported by row; numbers already in the project merge (counted as duplicates). The
    /// import is all or nothing for whole-file failures (a limit hit while streaming, an I/O
    /// or database error): the contacts it added are removed again and the error returned.
    /// Its contacts are dialed only once it has finished. One import at a time per project
    /// (a second one meanwhile is a conflict). While it runs, its figures are written to its
    /// row about once a second (`import_watch`); every refused value is kept with the batches.
    pub(super) async fn run_import(
        &self,
        project_id: i64,
        input: Box<dyn Read + Send>,
        limits: ImportLimits,
        watch: ImportWatch,
    ) -> Result<ImportReport, StoreError> {
        let name = self.project_name(project_id).await?;
        let mut import = PendingImport::begin(self, project_id, &name, watch.size).await?;
        if let Some(tx) = watch.begun {
            let _ = tx.send(import.id);
        }
        let progress = Arc::new(Progress::default());
        let result = match self
            .write_import(project_id, &mut import, input, limits, &progress)
            .await
        {
            Ok(report) => self
                .finish_import(import.id, &report, &import.ranges, &progress)
                .await
                .map(|()| report),
            Err(e) => Err(e),
        };
        import.finished();
        if let Err(e) = &result {
            let why = e.to_string();
            if let Err(undo) = self
                .discard_import(import.id, Some((&import.ranges, import.floor)), &why)
                .await
            {
                // Its contacts stay hidden from the dialer; the next open removes them.
                tracing::error!(import = import.id, error = %undo, "removing a failed import");
            }
        }
        result
    }

    /// Streams the file into the project batch by batch; answers the report.
    async fn write_import(
        &self,
        project_id: i64,
        import: &mut PendingImport,
        input: Box<dyn Read + Send>,
        limits: ImportLimits,
        progress: &Arc<Progress>,
    ) -> Result<ImportReport, StoreError> {
        let mut parser = spawn_parser(input, limits, progress);
        // One connection for the whole import: its page cache holds the pages the batches
        // append to, and its statement cache the multi-row statements.
        let mut conn = self.pool.acquire().await?;
        // Imports into one project never overlap (`imports_running`), so the import order
        // continues from here without reading it again per batch.
        let mut seq: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM contacts WHERE project_id = ?")
                .bind(project_id)
                .fetch_one(&mut *conn)
                .await?
                .get(0);
        let mut merged = 0u64;
        let project = self
            .projects_where(false)
            .await?
            .0
            .into_iter()
            .find(|p| p.id == project_id)
            .ok_or_else(|| StoreError::NotFound(format!("project {project_id}")))?;
        let ctx = BatchContext {
            project_id,
            import_id: import.id,
            created_at: self.now(),
            project: &project,
            registry: self.registry.as_deref(),
        };
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                b = parser.batches.recv() => match b {
                    Some(b) => b,
                    None => break,
                },
                _ = tick.tick() => {
                    write_progress(&mut conn, progress, import.id, merged).await?;
                    continue;
                }
            };
            let written = write_batch(&mut conn, &ctx, seq, &batch).await?;
            seq += batch.len() as i64;
            merged += written.merged;
            if let Some(range) = written.ids {
                import.ranges.push(range);
            }
            parser.give_back(batch);
        }
        drop(conn);
        parser.report(merged).await
    }

    /// Marks an import done with its report, then releases its contacts to the dialer batch
    /// by batch (each release its own short transaction, so the dialer's writes never wait
    /// long for the write lock). A stop between the two is finished when the store opens.
    async fn finish_import(
        &self,
        import_id: i64,
        r: &ImportReport,
        ranges: &[(i64, i64)],
        progress: &Progress,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE imports SET state = 'done', finished_at = ?, imported = ?, duplicates = ?, \
             rejected = ?, rows_read = ?, bytes_read = ? WHERE id = ?",
        )
        .bind(self.now())
        .bind(r.imported as i64)
        .bind(r.duplicates as i64)
        .bind(r.rejected_total as i64)
        .bind(progress.rows() as i64)
        .bind(progress.bytes() as i64)
        .bind(import_id)
        .execute(&self.pool)
        .await?;
        for &(lo, hi) in ranges {
            sqlx::query(
                "UPDATE contacts SET ready = 1, next_at = 0, version = version + 1 \
                 WHERE id BETWEEN ? AND ? \
                 AND import_id = ? AND status = 'not_called' AND ready = 0 AND next_at IS NULL",
            )
            .bind(lo)
            .bind(hi)
            .bind(import_id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Removes every contact an unfinished import added (with their numbers) and marks it
    /// failed. `known` are the id ranges its batches recorded and the highest contact id
    /// before it began, if known (the ranges are removed each in its own transaction, so the
    /// write lock is never held long); unknown (after a crash), the table is searched. The
    /// last removal sweeps every id above the floor — a batch that committed just as the
    /// import was cancelled, before its range was recorded, goes too — and is one transaction
    /// with the mark: the import's contacts never become dialable.
    async fn discard_import(
        &self,
        import_id: i64,
        known: Option<(&[(i64, i64)], i64)>,
        why: &str,
    ) -> Result<(), StoreError> {
        // Numbers go with their contact (ON DELETE CASCADE).
        // Every range but the last in its own transaction; the last goes with the sweep and the
        // mark, so "no contact of the import left" also means "the import is marked failed".
        if let Some((ranges, _)) = known {
            for &(lo, hi) in ranges.iter().take(ranges.len().saturating_sub(1)) {
                sqlx::query("DELETE FROM contacts WHERE id BETWEEN ? AND ? AND import_id = ?")
                    .bind(lo)
                    .bind(hi)
                    .bind(import_id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        match known {
            Some((_, floor)) => {
                sqlx::query("DELETE FROM contacts WHERE id > ? AND import_id = ?")
                    .bind(floor)
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM contacts WHERE import_id = ?")
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE imports SET state = 'failed', finished_at = ?, error = ? WHERE id = ?")
            .bind(self.now())
            .bind(why)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes imports a crash interrupted (at open: no import of this process runs yet).
    pub(super) async fn discard_interrupted_imports(&self) -> Result<(), StoreError> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM imports WHERE state = 'running'")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for id in ids {
            tracing::warn!(
                import = id,
                "removing the contacts of an import interrupted by a stop"
            );
            self.discard_import(id, None, "interrupted by a stop of the server")
                .await?;
        }
        Ok(())
    }
}

/// Writes one batch in one transaction, with one statement per many rows (`plan_batch`
/// decides what merges and what each new contact holds). The transaction takes the write lock
/// first (`BEGIN IMMEDIATE`), so the check of existing numbers and the ids chosen stay true
/// until it commits.
///
/// The batch's refused values are kept in the same transaction (`import_rejects`).
async fn write_batch(
    conn: &mut SqliteConnection,
    ctx: &BatchContext<'_>,
    seq_before: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let written = if batch.has_contacts() {
        write_contacts(&mut tx, ctx, seq_before, batch).await?
    } else {
        WrittenBatch::default()
    };
    keep_rejects(&mut tx, ctx.import_id, &batch.problems).await?;
    tx.commit().await?;
    Ok(written)
}

/// The contacts of a batch, inside its transaction (`write_batch`).
async fn write_contacts(
    tx: &mut SqliteConnection,
    ctx: &BatchContext<'_>,
    seq_before: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let (project_id, import_id, created_at) = (ctx.project_id, ctx.import_id, ctx.created_at);
    let all = batch.numbers();
    let mut existing: HashSet<String> = HashSet::new();
    let mut listed: HashSet<String> = HashSet::new();
    for chunk in all.chunks(NUMBERS_PER_CHECK) {
        let sql = format!(
            "SELECT e164 FROM contact_numbers WHERE project_id = ? AND e164 IN ({})",
            marks(chunk.len(), |_| "?".into())
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        for e164 in chunk {
            q = q.bind(*e164);
        }
        for r in q
            .persistent(chunk.len() == NUMBERS_PER_CHECK)
            .fetch_all(&mut *tx)
            .await?
        {
            existing.insert(r.get(0));
        }
        let sql = format!(
            "SELECT e164 FROM stop_list WHERE e164 IN ({})",
            marks(chunk.len(), |_| "?".into())
        );
        let mut q = sqlx::query(&sql);
        for e164 in chunk {
            q = q.bind(*e164);
        }
        for r in q
            .persistent(chunk.len() == NUMBERS_PER_CHECK)
            .fetch_all(&mut *tx)
            .await?
        {
            listed.insert(r.get(0));
        }
    }
    let new = plan_batch(ctx, batch, seq_before, &existing, &listed);
    if new.contacts.is_empty() {
        return Ok(WrittenBatch {
            merged: new.merged,
            ids: None,
        });
    }
    // Ids are chosen here (under the write lock) so the numbers can name their contact
    // without reading the ids back, and the batch's ids are one range.
    let first_id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts")
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    // The values shared by every row are written into the statement (integers of ours, not
    // input), so each row binds only its own. Numbered parameters (`?NNN`) would avoid that,
    // but sqlx looks each one's name up per execution, a linear search inside SQLite: quadratic
    // in the parameters of a statement.
    for (k, chunk) in new.contacts.chunks(CONTACT_ROWS_PER_INSERT).enumerate() {
        let sql = format!(
            "INSERT INTO contacts (id, project_id, seq, name, fields, priority, created_at, \
             import_id, status, attempts, next_idx, gate, pick_key) VALUES {}",
            marks(chunk.len(), |_| format!(
                "(?, {project_id}, ?, ?, ?, ?, {created_at}, {import_id}, ?, ?, ?, ?, ?)"
            ))
        );
        let mut q = sqlx::query(&sql);
        for (j, c) in chunk.iter().enumerate() {
            let i = k * CONTACT_ROWS_PER_INSERT + j;
            let (idx, gate) = c.next();
            q = q
                .bind(first_id + i as i64)
                .bind(c.seq)
                .bind(c.name)
                .bind(c.fields)
                .bind(c.priority)
                .bind(c.status())
                .bind(c.attempts.as_deref())
                .bind(idx)
                .bind(gate)
                .bind(c.plan.pick_key.as_slice());
        }
        q.persistent(chunk.len() == CONTACT_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    // Contacts closed at once (every number on the stop list) say so in the decision log.
    for (i, decision, reason) in new.closed_notes() {
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, decision, reason) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(created_at)
        .bind(project_id)
        .bind(first_id + i as i64)
        .bind(decision)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    }
    for chunk in new.numbers.chunks(NUMBER_ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone, kind) \
             VALUES {}",
            marks(chunk.len(), |_| format!("(?, {project_id}, ?, ?, ?, ?)"))
        );
        let mut q = sqlx::query(&sql);
        for n in chunk {
            q = q
                .bind(first_id + n.contact as i64)
                .bind(n.idx)
                .bind(n.e164)
                .bind(n.zone.map(|z| z.name()))
                .bind(n.kind.as_str());
        }
        q.persistent(chunk.len() == NUMBER_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    Ok(WrittenBatch {
        merged: new.merged,
        ids: Some((first_id, first_id + new.contacts.len() as i64 - 1)),
    })
}

/// A registered import while it runs: the id ranges it wrote, and (if it is dropped unfinished,
/// e.g. the request was cancelled) the removal of its contacts.
struct PendingImport {
    store: SqliteStore,
    id: i64,
    ranges: Vec<(i64, i64)>,
    /// The highest contact id when it began: all its contacts lie above.
    floor: i64,
    done: bool,
}

impl PendingImport {
    /// Registers an import into a project; refused while another one runs there.
    async fn begin(
        store: &SqliteStore,
        project_id: i64,
        name: &str,
        size: Option<u64>,
    ) -> Result<Self, StoreError> {
        let r = sqlx::query(
            "INSERT INTO imports (project_id, started_at, bytes_total) VALUES (?, ?, ?)",
        )
        .bind(project_id)
        .bind(store.now())
        .bind(size.map(|n| n as i64))
        .execute(&store.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!(
                "an import into project {name:?} is running; try again when it ends"
            )),
            other => other.into(),
        })?;
        let id = r.last_insert_rowid();
        drop_older_rejects(store, project_id, id).await?;
        let floor: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM contacts")
            .fetch_one(&store.pool)
            .await?
            .get(0);
        Ok(Self {
            store: store.clone(),
            id,
            ranges: Vec::new(),
            floor,
            done: false,
        })
    }

    /// Finished or failed, either way handled by the caller.
    fn finished(&mut self) {
        self.done = true;
    }
}

impl Drop for PendingImport {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Cancelled midway (the future was dropped): remove what it wrote in the background.
        // Without a runtime (shutting down) the next open removes it.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (store, id, ranges, floor) = (
                self.store.clone(),
                self.id,
                std::mem::take(&mut self.ranges),
                self.floor,
            );
            rt.spawn(async move {
                let known = Some((&ranges[..], floor));
                if let Err(e) = store
                    .discard_import(id, known, "cancelled: the upload stopped")
                    .await
                {
                    tracing::error!(import = id, error = %e, "removing a cancelled import");
                }
            });
        }
    }
}

/// The `n` rows (or placeholders) of a multi-row statement, comma-separated.
fn marks(n: usize, row: impl Fn(usize) -> String) -> String {
    let mut s = String::new();
    for j in 0..n {
        if j > 0 {
            s.push_str(", ");
        }
        s.push_str(&row(j));
    }
    s
}
