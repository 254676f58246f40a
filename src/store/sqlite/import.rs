//! The SQLite store's contact import writer: the parser's contacts packed into batches on its
//! own thread, each batch written in one transaction with multi-row statements, numbers the
//! project already has merged, and the import registered while it runs so that a failure, a
//! cancelled request or a crash removes what it wrote (its contacts are never dialed before it
//! has finished).
use super::contact_rows::status_text;
use super::import_watch::{BatchSink, Counted, Progress, PROGRESS_EVERY};
use super::SqliteStore;
use crate::import::{read_contacts, ImportLimits, ImportReport, ImportedContact, RowProblem};
use crate::phone::registry::Registry;
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::{plan, NumberFacts, OrderFacts, ProjectFacts};
use crate::store::{ImportWatch, ProjectRow, StoreError};
use chrono_tz::Tz;
use sqlx::{Connection, Row, SqliteConnection};
use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

/// Contacts written per transaction during an import: enough to amortise a transaction's fixed
/// work (the write lock, the commit, the check of existing numbers), few enough that the write
/// lock is held for tens of milliseconds (the dialer's writes wait for it) and that the batches
/// in memory (one filling, one queued, one being written) stay about a MB each.
const IMPORT_BATCH: usize = 5_000;

/// Rows per multi-row INSERT (SQLite allows 32,766 bound values per statement): contacts bind
/// 10 values a row, numbers 5.
const CONTACT_ROWS_PER_INSERT: usize = 1_000;
const NUMBER_ROWS_PER_INSERT: usize = 1_000;

/// A batch is also sent once its text reaches this (rows may be long: up to
/// `ImportLimits::max_row_bytes` each), so the batches in memory stay a few MB each.
const IMPORT_BATCH_BYTES: usize = 4 << 20;

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
        let input = Box::new(Counted::new(input, progress.clone()));
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
        // The parser fills whole batches on its own thread while the previous one is written.
        // Each contact is packed into the batch and dropped at once, on the thread that
        // allocated it (the system allocator is slow at freeing another thread's memory in
        // bulk); written batches come back to be reused, so a batch costs no allocation.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Packed>(1);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Packed>();
        let parser_progress = progress.clone();
        let parser = tokio::task::spawn_blocking(move || {
            let mut sink = BatchSink {
                batch: Packed::default(),
                back: back_rx,
                tx,
                open: true,
                progress: parser_progress,
                kept: 0,
            };
            let report = read_contacts(input, limits, &mut sink);
            if sink.open && report.is_ok() && !sink.batch.is_empty() {
                // A closed channel here means the writer failed; its error is what is returned.
                let _ = sink.tx.blocking_send(std::mem::take(&mut sink.batch));
            }
            report
        });
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
        // Contacts are created when their import starts.
        let created_at = self.now();
        // Each contact is planned as it is written (its first number that is not on the stop
        // list, its gate, its place in the project's order); see `dialer::plan`.
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
            created_at,
            project: &project,
            registry: self.registry.as_deref(),
        };
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                b = rx.recv() => match b {
                    Some(b) => b,
                    None => break,
                },
                _ = tick.tick() => {
                    progress.write(&mut conn, import.id, merged).await?;
                    continue;
                }
            };
            let written = write_batch(&mut conn, &ctx, seq, &batch).await?;
            seq += batch.len() as i64;
            merged += written.merged;
            if let Some(range) = written.ids {
                import.ranges.push(range);
            }
            // The parser may have finished already; then the batch is dropped here.
            let _ = back_tx.send(batch);
        }
        drop(conn);
        let mut report = parser
            .await
            .map_err(|e| StoreError::Db(format!("import task: {e}")))?
            .map_err(|e| match e {
                crate::import::ImportError::TooLarge(n) => StoreError::TooLarge(n),
                other => StoreError::Invalid(other.to_string()),
            })?;
        report.imported -= merged;
        report.duplicates += merged;
        Ok(report)
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

/// Writes one batch in one transaction, with one statement per many rows.
///
/// Merging is decided exactly as inserting one number at a time with `INSERT OR IGNORE` did:
/// in file order, a number the project already has (or an earlier contact of the batch took)
/// is dropped from the contact, and a contact left without numbers merges into the existing
/// one (counted as a duplicate); the kept numbers are indexed 0, 1, …. The transaction takes
/// the write lock first (`BEGIN IMMEDIATE`), so the check of existing numbers and the ids
/// chosen stay true until it commits.
///
/// The batch's refused values are kept in the same transaction (`import_rejects`).
async fn write_batch(
    conn: &mut SqliteConnection,
    ctx: &BatchContext<'_>,
    seq_before: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let written = if batch.contacts.is_empty() {
        WrittenBatch {
            merged: 0,
            ids: None,
        }
    } else {
        write_contacts(&mut tx, ctx, seq_before, batch).await?
    };
    super::import_watch::keep_rejects(&mut tx, ctx.import_id, &batch.problems).await?;
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
    let all: Vec<&str> = batch.numbers.iter().map(|n| batch.text(&n.e164)).collect();
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
    // Kept contacts (seq, contact) and their kept numbers (index into `kept`, idx, number).
    let mut taken: HashSet<&str> = HashSet::with_capacity(all.len());
    let mut kept: Vec<(i64, &PackedContact)> = Vec::with_capacity(batch.len());
    let mut numbers: Vec<(usize, i64, &PackedNumber)> = Vec::with_capacity(all.len());
    let mut merged = 0;
    for (i, c) in batch.contacts.iter().enumerate() {
        let mut idx = 0;
        for n in &batch.numbers[c.numbers.clone()] {
            let e164 = batch.text(&n.e164);
            if !existing.contains(e164) && taken.insert(e164) {
                numbers.push((kept.len(), idx, n));
                idx += 1;
            }
        }
        if idx == 0 {
            merged += 1;
        } else {
            kept.push((seq_before + 1 + i as i64, c));
        }
    }
    if kept.is_empty() {
        return Ok(WrittenBatch { merged, ids: None });
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
    // Each kept contact's plan, from its kept numbers (in order) and the stop list.
    let zone = |n: &PackedNumber| {
        n.tz.or_else(|| ctx.registry.and_then(|r| r.zone(batch.text(&n.e164))))
    };
    let mut plans: Vec<PlannedContact> = Vec::with_capacity(kept.len());
    {
        let mut numbers_of: Vec<Vec<&PackedNumber>> = vec![Vec::new(); kept.len()];
        for (j, _, n) in &numbers {
            numbers_of[*j].push(n);
        }
        for ((seq, c), nums) in kept.iter().zip(&numbers_of) {
            let facts: Vec<NumberFacts> = nums
                .iter()
                .map(|n| NumberFacts {
                    e164: batch.text(&n.e164),
                    zone: zone(n),
                    kind: n.kind,
                    stop_listed: listed.contains(batch.text(&n.e164)),
                })
                .collect();
            let mut attempts = ContactAttempts::new(facts.len());
            let p = plan(
                &mut attempts,
                &facts,
                ProjectFacts {
                    rules: &ctx.project.rules,
                    schedule: None,
                    types: None,
                    ordering: &ctx.project.ordering,
                },
                OrderFacts {
                    seq: *seq,
                    priority: c.priority,
                },
                created_at,
            );
            let blocked = attempts.numbers.iter().any(|n| n.stop_listed);
            plans.push(PlannedContact {
                attempts: blocked.then(|| super::json(&attempts)),
                plan: p,
            });
        }
    }
    for (k, chunk) in kept.chunks(CONTACT_ROWS_PER_INSERT).enumerate() {
        let sql = format!(
            "INSERT INTO contacts (id, project_id, seq, name, fields, priority, created_at, \
             import_id, status, attempts, next_idx, gate, pick_key) VALUES {}",
            marks(chunk.len(), |_| format!(
                "(?, {project_id}, ?, ?, ?, ?, {created_at}, {import_id}, ?, ?, ?, ?, ?)"
            ))
        );
        let mut q = sqlx::query(&sql);
        for (j, (seq, c)) in chunk.iter().enumerate() {
            let i = k * CONTACT_ROWS_PER_INSERT + j;
            let pc = &plans[i];
            let (idx, gate) = pc
                .plan
                .next
                .as_ref()
                .map_or((0, ""), |n| (n.idx as i64, n.gate.as_str()));
            q = q
                .bind(first_id + i as i64)
                .bind(*seq)
                .bind(c.name.as_ref().map(|r| batch.text(r)))
                .bind(batch.text(&c.fields))
                .bind(c.priority)
                .bind(status_text(pc.plan.status))
                .bind(pc.attempts.as_deref())
                .bind(idx)
                .bind(gate)
                .bind(pc.plan.pick_key.as_slice());
        }
        q.persistent(chunk.len() == CONTACT_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    // Contacts closed at once (every number on the stop list) say so in the decision log.
    for (i, pc) in plans.iter().enumerate() {
        if pc.plan.next.is_some() {
            continue;
        }
        for (decision, reason) in &pc.plan.notes {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, contact_id, decision, reason) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(created_at)
            .bind(project_id)
            .bind(first_id + i as i64)
            .bind(*decision)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
    }
    for chunk in numbers.chunks(NUMBER_ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone, kind) \
             VALUES {}",
            marks(chunk.len(), |_| format!("(?, {project_id}, ?, ?, ?, ?)"))
        );
        let mut q = sqlx::query(&sql);
        for (j, idx, n) in chunk {
            q = q
                .bind(first_id + *j as i64)
                .bind(*idx)
                .bind(batch.text(&n.e164))
                .bind(zone(n).map(|z| z.name()))
                .bind(n.kind.as_str());
        }
        q.persistent(chunk.len() == NUMBER_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    Ok(WrittenBatch {
        merged,
        ids: Some((first_id, first_id + kept.len() as i64 - 1)),
    })
}

/// What every batch of one import shares.
struct BatchContext<'a> {
    project_id: i64,
    import_id: i64,
    created_at: i64,
    project: &'a ProjectRow,
    registry: Option<&'a Registry>,
}

/// A kept contact's plan, and its attempts column when the plan changed them (a number on the
/// stop list); `None` stands for "never called".
struct PlannedContact {
    attempts: Option<String>,
    plan: crate::rules::plan::Plan,
}

/// Parsed contacts packed for writing: their text (names, fields as JSON, numbers) in one
/// buffer, so a batch is a few allocations however many contacts it holds.
#[derive(Default)]
pub(super) struct Packed {
    buf: String,
    contacts: Vec<PackedContact>,
    numbers: Vec<PackedNumber>,
    /// The values refused since the previous batch, to keep (`import_rejects`).
    pub(super) problems: Vec<RowProblem>,
}

/// A contact in a `Packed` batch: ranges of its text and of its numbers.
struct PackedContact {
    name: Option<Range<usize>>,
    /// The other columns as a JSON object (the `fields` column).
    fields: Range<usize>,
    priority: i32,
    numbers: Range<usize>,
}

/// A number in a `Packed` batch.
struct PackedNumber {
    kind: crate::phone::NumberKind,
    e164: Range<usize>,
    tz: Option<Tz>,
}

impl Packed {
    pub(super) fn push(&mut self, c: &ImportedContact) {
        let name = c.name.as_deref().map(|n| self.add(n));
        let json = serde_json::to_string(&c.fields).unwrap_or_else(|_| "{}".into());
        let fields = self.add(&json);
        let first = self.numbers.len();
        for n in &c.numbers {
            let e164 = self.add(&n.e164);
            self.numbers.push(PackedNumber {
                e164,
                tz: n.tz,
                kind: n.kind,
            });
        }
        self.contacts.push(PackedContact {
            name,
            fields,
            priority: c.priority,
            numbers: first..self.numbers.len(),
        });
    }

    fn add(&mut self, s: &str) -> Range<usize> {
        let start = self.buf.len();
        self.buf.push_str(s);
        start..self.buf.len()
    }

    fn text(&self, r: &Range<usize>) -> &str {
        // Ranges come from `add`, on character boundaries of this buffer.
        self.buf.get(r.clone()).unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        self.contacts.len()
    }

    /// No contact and no refused value.
    pub(super) fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.problems.is_empty()
    }

    /// Whether the batch should be written now: enough contacts, text or refused values.
    pub(super) fn is_full(&self) -> bool {
        self.contacts.len() >= IMPORT_BATCH
            || self.buf.len() >= IMPORT_BATCH_BYTES
            || self.problems.len() >= IMPORT_BATCH
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.contacts.clear();
        self.numbers.clear();
        self.problems.clear();
    }
}

/// What a written batch changed.
struct WrittenBatch {
    /// Contacts that merged into existing ones.
    merged: u64,
    /// The ids of the contacts it added (one range), if any.
    ids: Option<(i64, i64)>,
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
        super::import_watch::drop_older_rejects(store, project_id, id).await?;
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
