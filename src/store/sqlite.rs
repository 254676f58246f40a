//! The SQLite store (the single-node default): one file, WAL, foreign keys, migrations from
//! `migrations/` run at open. Every multi-row change is one transaction; the five-active rule
//! is one conditional UPDATE, so concurrent activations cannot exceed it. An import is written
//! in batches (multi-row statements) and registered while it runs, so that a failure removes
//! what it wrote and the dialer never calls its contacts before it has finished. One process
//! owns the file: what an interrupted import left is removed at open.
use super::import::{read_contacts, ImportLimits, ImportReport, ImportedContact};
use super::{NewProject, ProjectStats, StoreError};
use crate::dialer::attempts::{AttemptRules, ContactAttempts};
use crate::dialer::decide::MAX_ACTIVE_PROJECTS;
use crate::dialer::schedule::Schedule;
use chrono_tz::Tz;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};
use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

/// Contacts written per transaction during an import: enough to amortise a transaction's fixed
/// work (the write lock, the commit, the check of existing numbers), few enough that the write
/// lock is held for tens of milliseconds (the dialer's writes wait for it) and that the batches
/// in memory (one filling, one queued, one being written) stay about a MB each.
const IMPORT_BATCH: usize = 5_000;

/// Rows per multi-row INSERT (SQLite allows 32,766 bound values per statement): contacts bind
/// 5 values a row, numbers 4.
const CONTACT_ROWS_PER_INSERT: usize = 1_000;
const NUMBER_ROWS_PER_INSERT: usize = 1_000;

/// Numbers looked up per statement when checking which the project has already.
const NUMBERS_PER_CHECK: usize = 5_000;

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Db(format!("{}: {e}", dir.display())))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Under WAL, NORMAL syncs at checkpoints instead of at every commit: a commit is in
            // the WAL before it returns, so a crash of the process (what "a crash mid-campaign
            // loses no result" means) loses nothing; only a power cut or an OS crash could undo
            // the last commits. FULL cost an fsync per transaction.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file cannot hang up: no ping before every use (a round trip to the
            // connection's thread per query), and connections (with their prepared
            // statements and page cache) are kept rather than recycled.
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(format!("migrations: {e}")))?;
        let store = Self { pool };
        // One process owns the file (single node): an import still marked running was cut
        // off by a stop. A failure here leaves its contacts hidden; opening still succeeds.
        if let Err(e) = store.discard_interrupted_imports().await {
            tracing::error!(error = %e, "removing interrupted imports");
        }
        Ok(store)
    }

    /// Stores a scenario (already validated by the caller) and returns its id.
    pub async fn create_scenario(&self, name: &str, source: &str) -> Result<i64, StoreError> {
        let r = sqlx::query("INSERT INTO scenarios (name, source, created_at) VALUES (?, ?, ?)")
            .bind(name)
            .bind(source)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(r.last_insert_rowid())
    }

    /// Creates a project after checking every value; answers its id.
    pub async fn create_project(&self, p: &NewProject) -> Result<i64, StoreError> {
        let windows: Vec<&str> = p.schedule.iter().map(String::as_str).collect();
        Schedule::new(&p.time_zone, &windows).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let rules = AttemptRules::new(p.max_calls_per_number, p.retry_rules.clone())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if p.lines == 0 {
            return Err(StoreError::Invalid("lines must be at least 1".into()));
        }
        if p.name.trim().is_empty() {
            return Err(StoreError::Invalid("name is empty".into()));
        }
        p.tariff.validate().map_err(StoreError::Invalid)?;
        if let Some(cb) = p.callback_project_id {
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
        let r = sqlx::query(
            "INSERT INTO projects (name, scenario_id, time_zone, schedule, lines, \
             max_calls_per_number, retry_rules, ordering, callback_project_id, tariff, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.name.trim())
        .bind(p.scenario_id)
        .bind(&p.time_zone)
        .bind(json(&p.schedule))
        .bind(i64::from(p.lines))
        .bind(i64::from(rules.max_calls_per_number))
        .bind(json(&rules.per_result))
        .bind(json(&p.ordering))
        .bind(p.callback_project_id)
        .bind(json(&p.tariff))
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(format!("a project named {:?} exists", p.name.trim()))
            }
            other => other.into(),
        })?;
        Ok(r.last_insert_rowid())
    }

    /// Imports contacts from CSV into a project: good rows are stored in batches, bad values
    /// reported by row; numbers already in the project merge (counted as duplicates). The
    /// import is all or nothing for whole-file failures (the size limit hit while streaming,
    /// an I/O or database error): the contacts it added are removed again and the error
    /// returned. Its contacts are dialed only once it has finished. One import at a time per
    /// project (a second one meanwhile is a conflict).
    pub async fn import_csv(
        &self,
        project_id: i64,
        input: impl Read + Send + 'static,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        let name = self.project_name(project_id).await?;
        let mut import = PendingImport::begin(self, project_id, &name).await?;
        let result = match self
            .write_import(project_id, &mut import, input, limits)
            .await
        {
            Ok(report) => self
                .finish_import(import.id, &report)
                .await
                .map(|()| report),
            Err(e) => Err(e),
        };
        import.finished();
        if result.is_err() {
            if let Err(undo) = self.discard_import(import.id, Some(&import.ranges)).await {
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
        input: impl Read + Send + 'static,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        // The parser fills whole batches on its own thread while the previous one is written.
        // Each contact is packed into the batch and dropped at once, on the thread that
        // allocated it (the system allocator is slow at freeing another thread's memory in
        // bulk); written batches come back to be reused, so a batch costs no allocation.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Packed>(1);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Packed>();
        let parser = tokio::task::spawn_blocking(move || {
            let fresh = || match back_rx.try_recv() {
                Ok(mut used) => {
                    used.clear();
                    used
                }
                Err(_) => Packed::default(),
            };
            let mut batch = fresh();
            let mut open = true;
            let report = read_contacts(input, limits, |c| {
                // The writer decides new vs merged. Once it has stopped (an error) the rest of
                // the file is still read by `read_contacts`, but nothing more is kept.
                if open {
                    batch.push(&c);
                    if batch.len() == IMPORT_BATCH {
                        let full = std::mem::replace(&mut batch, fresh());
                        open = tx.blocking_send(full).is_ok();
                    }
                }
                true
            });
            if open && report.is_ok() && !batch.is_empty() {
                // A closed channel here means the writer failed; its error is what is returned.
                let _ = tx.blocking_send(batch);
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
        let created_at = now();
        while let Some(batch) = rx.recv().await {
            let written =
                write_batch(&mut conn, project_id, import.id, seq, created_at, &batch).await?;
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
                super::import::ImportError::TooLarge(n) => StoreError::TooLarge(n),
                other => StoreError::Invalid(other.to_string()),
            })?;
        report.imported -= merged;
        report.duplicates += merged;
        Ok(report)
    }

    /// Marks an import done with its report: its contacts may be dialed from now on.
    async fn finish_import(&self, import_id: i64, r: &ImportReport) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE imports SET state = 'done', finished_at = ?, imported = ?, duplicates = ?, \
             rejected = ? WHERE id = ?",
        )
        .bind(now())
        .bind(r.imported as i64)
        .bind(r.duplicates as i64)
        .bind(r.rejected.len() as i64)
        .bind(import_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes every contact an unfinished import added (with their numbers) and marks it
    /// failed. `ranges` are the id ranges its batches used, if known (each removed in its own
    /// transaction, so the write lock is never held long); unknown (after a crash), the
    /// table is searched. The last removal and the mark are one transaction: the import's
    /// contacts never become dialable.
    async fn discard_import(
        &self,
        import_id: i64,
        ranges: Option<&[(i64, i64)]>,
    ) -> Result<(), StoreError> {
        // Numbers go with their contact (ON DELETE CASCADE).
        let delete_range = "DELETE FROM contacts WHERE id BETWEEN ? AND ? AND import_id = ?";
        let (last, earlier) = match ranges {
            Some([earlier @ .., last]) => (Some(*last), earlier),
            _ => (None, &[][..]),
        };
        for &(lo, hi) in earlier {
            sqlx::query(delete_range)
                .bind(lo)
                .bind(hi)
                .bind(import_id)
                .execute(&self.pool)
                .await?;
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        match (ranges, last) {
            (_, Some((lo, hi))) => {
                sqlx::query(delete_range)
                    .bind(lo)
                    .bind(hi)
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
            (None, None) => {
                sqlx::query("DELETE FROM contacts WHERE import_id = ?")
                    .bind(import_id)
                    .execute(&mut *tx)
                    .await?;
            }
            (Some(_), None) => {}
        }
        sqlx::query("UPDATE imports SET state = 'failed', finished_at = ? WHERE id = ?")
            .bind(now())
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes imports a crash interrupted (at open: no import of this process runs yet).
    async fn discard_interrupted_imports(&self) -> Result<(), StoreError> {
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
            self.discard_import(id, None).await?;
        }
        Ok(())
    }

    async fn project_name(&self, id: i64) -> Result<String, StoreError> {
        sqlx::query("SELECT name FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("project {id}")))
    }

    /// Activates a project: refused without contacts, or when five others are active (the
    /// error names them); one conditional UPDATE, so it holds under concurrent activations.
    pub async fn activate(&self, id: i64) -> Result<(), StoreError> {
        let name = self.project_name(id).await?;
        let contacts: i64 = sqlx::query("SELECT COUNT(*) FROM contacts WHERE project_id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        if contacts == 0 {
            return Err(StoreError::Invalid(format!(
                "project {name:?} has no contacts to call"
            )));
        }
        let r = sqlx::query(
            "UPDATE projects SET status = 'active' WHERE id = ? AND (status = 'active' OR \
             (SELECT COUNT(*) FROM projects WHERE status = 'active') < ?)",
        )
        .bind(id)
        .bind(MAX_ACTIVE_PROJECTS as i64)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            let active: Vec<String> =
                sqlx::query("SELECT name FROM projects WHERE status = 'active' ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            return Err(StoreError::TooManyActive(active));
        }
        Ok(())
    }

    /// Pauses a project (the dialer stops starting calls for it at once).
    pub async fn pause(&self, id: i64) -> Result<(), StoreError> {
        self.project_name(id).await?;
        sqlx::query("UPDATE projects SET status = 'paused' WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Contacts by status, calls, results and cost of a project.
    pub async fn stats(&self, id: i64) -> Result<ProjectStats, StoreError> {
        self.project_name(id).await?;
        let mut s = ProjectStats::default();
        for r in sqlx::query(
            "SELECT status, COUNT(*) FROM contacts WHERE project_id = ? GROUP BY status",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let (status, n): (String, i64) = (r.get(0), r.get(1));
            s.contacts.insert(status, n as u64);
        }
        for k in ["not_called", "retry", "reached", "not_reached"] {
            s.contacts.entry(k.to_string()).or_insert(0);
        }
        for r in sqlx::query(
            "SELECT result, COUNT(*), COALESCE(SUM(cost), 0) FROM calls INDEXED BY calls_stats \
             WHERE project_id = ? AND state = 'done' GROUP BY result",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let (result, n, cost): (Option<String>, i64, f64) = (r.get(0), r.get(1), r.get(2));
            s.calls += n as u64;
            s.cost += cost;
            s.results.insert(result.unwrap_or_default(), n as u64);
        }
        Ok(s)
    }

    /// Names of the active projects.
    pub async fn active_projects(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query("SELECT name FROM projects WHERE status = 'active' ORDER BY id")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        )
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
async fn write_batch(
    conn: &mut SqliteConnection,
    project_id: i64,
    import_id: i64,
    seq_before: i64,
    created_at: i64,
    batch: &Packed,
) -> Result<WrittenBatch, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let all: Vec<&str> = batch.numbers.iter().map(|n| batch.text(&n.e164)).collect();
    let mut existing: HashSet<String> = HashSet::new();
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
        tx.commit().await?;
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
    for (k, chunk) in kept.chunks(CONTACT_ROWS_PER_INSERT).enumerate() {
        let sql = format!(
            "INSERT INTO contacts (id, project_id, seq, name, fields, priority, created_at, \
             import_id) VALUES {}",
            marks(chunk.len(), |_| format!(
                "(?, {project_id}, ?, ?, ?, ?, {created_at}, {import_id})"
            ))
        );
        let mut q = sqlx::query(&sql);
        for (j, (seq, c)) in chunk.iter().enumerate() {
            q = q
                .bind(first_id + (k * CONTACT_ROWS_PER_INSERT + j) as i64)
                .bind(*seq)
                .bind(c.name.as_ref().map(|r| batch.text(r)))
                .bind(batch.text(&c.fields))
                .bind(c.priority);
        }
        q.persistent(chunk.len() == CONTACT_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    for chunk in numbers.chunks(NUMBER_ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO contact_numbers (contact_id, project_id, idx, e164, time_zone) \
             VALUES {}",
            marks(chunk.len(), |_| format!("(?, {project_id}, ?, ?, ?)"))
        );
        let mut q = sqlx::query(&sql);
        for (j, idx, n) in chunk {
            q = q
                .bind(first_id + *j as i64)
                .bind(*idx)
                .bind(batch.text(&n.e164))
                .bind(n.tz.map(|z| z.name()));
        }
        q.persistent(chunk.len() == NUMBER_ROWS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(WrittenBatch {
        merged,
        ids: Some((first_id, first_id + kept.len() as i64 - 1)),
    })
}

/// Parsed contacts packed for writing: their text (names, fields as JSON, numbers) in one
/// buffer, so a batch is a few allocations however many contacts it holds.
#[derive(Default)]
struct Packed {
    buf: String,
    contacts: Vec<PackedContact>,
    numbers: Vec<PackedNumber>,
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
    e164: Range<usize>,
    tz: Option<Tz>,
}

impl Packed {
    fn push(&mut self, c: &ImportedContact) {
        let name = c.name.as_deref().map(|n| self.add(n));
        let json = serde_json::to_string(&c.fields).unwrap_or_else(|_| "{}".into());
        let fields = self.add(&json);
        let first = self.numbers.len();
        for n in &c.numbers {
            let e164 = self.add(&n.e164);
            self.numbers.push(PackedNumber { e164, tz: n.tz });
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

    fn len(&self) -> usize {
        self.contacts.len()
    }

    fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.contacts.clear();
        self.numbers.clear();
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
    done: bool,
}

impl PendingImport {
    /// Registers an import into a project; refused while another one runs there.
    async fn begin(store: &SqliteStore, project_id: i64, name: &str) -> Result<Self, StoreError> {
        let r = sqlx::query("INSERT INTO imports (project_id, started_at) VALUES (?, ?)")
            .bind(project_id)
            .bind(now())
            .execute(&store.pool)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(
                    format!("an import into project {name:?} is running; try again when it ends"),
                ),
                other => other.into(),
            })?;
        Ok(Self {
            store: store.clone(),
            id: r.last_insert_rowid(),
            ranges: Vec::new(),
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
            let (store, id, ranges) = (
                self.store.clone(),
                self.id,
                std::mem::take(&mut self.ranges),
            );
            rt.spawn(async move {
                if let Err(e) = store.discard_import(id, Some(&ranges)).await {
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

/// An active project as the dialer needs it.
#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub scenario_source: String,
    pub time_zone: String,
    pub schedule: Vec<String>,
    pub lines: u32,
    pub rules: AttemptRules,
    pub ordering: Vec<crate::dialer::decide::OrderBy>,
    pub tariff: crate::dialer::tariff::Tariff,
}

/// A contact that may be due, with its numbers and attempt state.
#[derive(Debug, Clone)]
pub struct DueContact {
    pub id: i64,
    pub seq: i64,
    pub priority: i32,
    pub attempts: ContactAttempts,
    /// (E.164, callee zone) in the contact's order.
    pub numbers: Vec<(String, Option<String>)>,
}

/// A call the process was in when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub call_id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub number: String,
}

/// What a finished call writes.
#[derive(Debug, Clone)]
pub struct FinishedCall<'a> {
    pub call_id: i64,
    pub contact_id: i64,
    pub result: &'a str,
    pub sip_status: Option<u16>,
    pub answered_at: Option<i64>,
    pub ended_at: i64,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: String,
    pub amd: Option<(String, String, i64)>,
    pub recording: Option<String>,
    pub cost: f64,
    pub attempts: &'a ContactAttempts,
    pub next_at: Option<i64>,
}

/// Due contacts of a project (?1) at a time (?2), at most ?3, with their numbers: see
/// `due_contacts`. Ties in the order are broken by id, as the index walk did. The answer is
/// one row, a JSON array of `DueJson` (aggregate ORDER BY: SQLite 3.44+, sqlx bundles 3.46).
const DUE_CONTACTS_SQL: &str = "\
    WITH picked AS ( \
        SELECT * FROM ( \
            SELECT 0 AS rank, id, seq, priority, attempts \
            FROM contacts INDEXED BY contacts_pick \
            WHERE project_id = ?1 AND status = 'not_called' \
              AND (next_at IS NULL OR next_at <= ?2) \
              AND (import_id IS NULL OR import_id NOT IN \
                   (SELECT id FROM imports WHERE state = 'running')) \
            ORDER BY priority DESC, seq LIMIT ?3) \
        UNION ALL \
        SELECT * FROM ( \
            SELECT 1 AS rank, id, seq, priority, attempts \
            FROM contacts INDEXED BY contacts_pick \
            WHERE project_id = ?1 AND status = 'retry' \
              AND (next_at IS NULL OR next_at <= ?2) \
              AND (import_id IS NULL OR import_id NOT IN \
                   (SELECT id FROM imports WHERE state = 'running')) \
            ORDER BY priority DESC, seq LIMIT ?3) \
        LIMIT ?3) \
    SELECT json_group_array(json_array(p.id, p.seq, p.priority, p.attempts, \
        json((SELECT json_group_array(json_array(n.e164, n.time_zone) ORDER BY n.idx) \
              FROM contact_numbers n WHERE n.contact_id = p.id))) \
        ORDER BY p.rank, p.priority DESC, p.seq, p.id) \
    FROM picked p";

/// One due contact as `DUE_CONTACTS_SQL` writes it: id, seq, priority, attempts (JSON text),
/// numbers (E.164, callee zone).
type DueJson = (i64, i64, i32, Option<String>, Vec<(String, Option<String>)>);

/// A contact in flight is parked here so no pass can pick it again.
const IN_FLIGHT_NEXT_AT: i64 = i64::MAX;

impl SqliteStore {
    /// Active projects with everything the dialer needs.
    pub async fn dialing_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        self.projects_where(true).await
    }

    /// Every project (recovery needs the rules of paused ones too).
    pub async fn all_projects(&self) -> Result<Vec<ProjectRow>, StoreError> {
        self.projects_where(false).await
    }

    async fn projects_where(&self, active_only: bool) -> Result<Vec<ProjectRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, s.source, p.time_zone, p.schedule, p.lines, \
             p.max_calls_per_number, p.retry_rules, p.ordering, p.tariff \
             FROM projects p JOIN scenarios s ON s.id = p.scenario_id \
             WHERE (p.status = 'active' OR ?) ORDER BY p.id",
        )
        .bind(!active_only)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let bad = |what: &str, e: String| StoreError::Db(format!("project {what}: {e}"));
            let max: i64 = r.get(6);
            let per_result = serde_json::from_str(r.get::<&str, _>(7))
                .map_err(|e| bad("retry_rules", e.to_string()))?;
            out.push(ProjectRow {
                id: r.get(0),
                name: r.get(1),
                scenario_source: r.get(2),
                time_zone: r.get(3),
                schedule: serde_json::from_str(r.get::<&str, _>(4))
                    .map_err(|e| bad("schedule", e.to_string()))?,
                lines: r.get::<i64, _>(5).max(0) as u32,
                rules: AttemptRules::new(max.clamp(0, 9) as u32, per_result)
                    .map_err(|e| bad("rules", e.to_string()))?,
                ordering: serde_json::from_str(r.get::<&str, _>(8))
                    .map_err(|e| bad("ordering", e.to_string()))?,
                // Projects made before tariffs were stored hold `{}`: the defaults.
                tariff: serde_json::from_str(r.get::<&str, _>(9))
                    .map_err(|e| bad("tariff", e.to_string()))?,
            });
        }
        Ok(out)
    }

    /// Contacts of a project that are due at `now` (not closed, not in flight, not from an
    /// import still running), up to `limit`, new and high-priority ones first (the project's
    /// ordering is applied by the dialer).
    pub async fn due_contacts(
        &self,
        project_id: i64,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueContact>, StoreError> {
        // One statement answering one row: the query and its answer cross to the database
        // thread and back once. A row per contact would be a hand-over (and, on a busy
        // machine, a wait to be scheduled) per row. New contacts come first, then retries,
        // each walking the `contacts_pick` index in order and stopping at the limit (retries
        // are not read at all when new contacts fill it), with their numbers in order.
        let json: String = sqlx::query(DUE_CONTACTS_SQL)
            .bind(project_id)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let rows: Vec<DueJson> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Db(format!("due contacts of project {project_id}: {e}")))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, seq, priority, attempts, numbers) in rows {
            let attempts = match attempts {
                Some(j) => serde_json::from_str(&j)
                    .map_err(|e| StoreError::Db(format!("contact {id} attempts: {e}")))?,
                None => ContactAttempts::new(numbers.len()),
            };
            out.push(DueContact {
                id,
                seq,
                priority,
                attempts,
                numbers,
            });
        }
        Ok(out)
    }

    /// Records that a call starts, parking its contact, in one transaction; answers the call id.
    pub async fn start_call(
        &self,
        project_id: i64,
        contact_id: i64,
        number: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let parked = sqlx::query(
            "UPDATE contacts SET next_at = ? WHERE id = ? AND status IN ('not_called', 'retry') \
             AND (next_at IS NULL OR next_at <= ?) AND (import_id IS NULL OR import_id NOT IN \
             (SELECT id FROM imports WHERE state = 'running'))",
        )
        .bind(IN_FLIGHT_NEXT_AT)
        .bind(contact_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if parked.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "contact {contact_id} is not due (already in a call or closed)"
            )));
        }
        let id = sqlx::query(
            "INSERT INTO calls (project_id, contact_id, number, started_at) VALUES (?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(contact_id)
        .bind(number)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(id)
    }

    /// Writes a call's result together with its contact's new state, in one transaction.
    pub async fn finish_call(&self, f: &FinishedCall<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE calls SET state = 'done', result = ?, sip_status = ?, answered_at = ?, \
             ended_at = ?, reaction = ?, transcript = ?, captured = ?, amd_verdict = ?, \
             amd_reason = ?, amd_ms = ?, recording = ?, cost = ? WHERE id = ? AND state = 'dialing'",
        )
        .bind(f.result)
        .bind(f.sip_status.map(i64::from))
        .bind(f.answered_at)
        .bind(f.ended_at)
        .bind(&f.reaction)
        .bind(&f.transcript)
        .bind(&f.captured)
        .bind(f.amd.as_ref().map(|a| a.0.clone()))
        .bind(f.amd.as_ref().map(|a| a.1.clone()))
        .bind(f.amd.as_ref().map(|a| a.2))
        .bind(&f.recording)
        .bind(f.cost)
        .bind(f.call_id)
        .execute(&mut *tx)
        .await?;
        let status = serde_json::to_value(f.attempts.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "retry".into());
        sqlx::query("UPDATE contacts SET status = ?, attempts = ?, next_at = ? WHERE id = ?")
            .bind(status)
            .bind(json(f.attempts))
            .bind(f.next_at)
            .bind(f.contact_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Calls that were in progress when the process stopped.
    pub async fn in_flight(&self) -> Result<Vec<InFlight>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, project_id, contact_id, number FROM calls WHERE state = 'dialing' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| InFlight {
            call_id: r.get(0),
            project_id: r.get(1),
            contact_id: r.get(2),
            number: r.get(3),
        })
        .collect())
    }

    /// The attempt state and numbers of one contact.
    pub async fn contact(&self, id: i64) -> Result<DueContact, StoreError> {
        let r = sqlx::query("SELECT id, seq, priority, attempts FROM contacts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(format!("contact {id}")))?;
        let numbers: Vec<(String, Option<String>)> = sqlx::query(
            "SELECT e164, time_zone FROM contact_numbers WHERE contact_id = ? ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|n| (n.get(0), n.get(1)))
        .collect();
        let attempts = match r.get::<Option<&str>, _>(3) {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| StoreError::Db(format!("contact {id} attempts: {e}")))?,
            None => ContactAttempts::new(numbers.len()),
        };
        Ok(DueContact {
            id,
            seq: r.get(1),
            priority: r.get(2),
            attempts,
            numbers,
        })
    }

    /// Appends to the decision log.
    pub async fn log_decision(
        &self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&str>,
        decision: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(at)
        .bind(project_id)
        .bind(contact_id)
        .bind(number)
        .bind(decision)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a number is on the global stop list.
    pub async fn stop_listed(&self, e164: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 FROM stop_list WHERE e164 = ?")
            .bind(e164)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Adds a number to the stop list.
    pub async fn add_to_stop_list(&self, e164: &str, reason: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO stop_list (e164, reason, added_at) VALUES (?, ?, ?)")
            .bind(e164)
            .bind(reason)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Benchmarks only: one finished call per contact of a project, results spread over the
    /// retryable results and two scenario results.
    #[doc(hidden)]
    pub async fn bench_fill_calls(&self, project_id: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "INSERT INTO calls (project_id, contact_id, number, state, started_at, ended_at, result, cost) \
             SELECT c.project_id, c.id, n.e164, 'done', 0, 30, \
             CASE c.id % 7 WHEN 0 THEN 'no_answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'rejected' \
             WHEN 3 THEN 'system' WHEN 4 THEN 'answering_machine' WHEN 5 THEN 'Да' ELSE 'Нет' END, \
             (c.id % 30) * 0.04 \
             FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = 0 \
             WHERE c.project_id = ?",
        )
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Benchmarks only: every contact of a project called once and waiting for its retry, one
    /// in `due_every` due at `now`, the others half an hour later.
    #[doc(hidden)]
    pub async fn bench_spread_retries(
        &self,
        project_id: i64,
        now: i64,
        due_every: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE contacts SET status = 'retry', \
             next_at = CASE WHEN id % ? = 0 THEN ? - 60 ELSE ? + 1800 END WHERE project_id = ?",
        )
        .bind(due_every.max(1))
        .bind(now)
        .bind(now)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Calls of a contact, oldest first: (number, result).
    pub async fn calls_of(
        &self,
        contact_id: i64,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        Ok(
            sqlx::query("SELECT number, result FROM calls WHERE contact_id = ? ORDER BY id")
                .bind(contact_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    }
}

/// A value as JSON for a TEXT column.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
