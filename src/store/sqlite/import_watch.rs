//! An import's progress and its refused values (migrations/sqlite/0014_import_progress.sql):
//! the figures the parser and the reader keep in atomics (a few relaxed increments per row),
//! written to the import's row about once a second by the import's writer; the parser's sink
//! that packs contacts and refused values into batches; and the refused values written with
//! each batch, in the batch's transaction. Nothing here is done per row in the database.
use super::import::Packed;
use super::SqliteStore;
use crate::import::{ContactSink, ImportReport, ImportedContact, RowProblem};
use crate::store::admin::MAX_KEPT_REJECTS;
use crate::store::StoreError;
use sqlx::SqliteConnection;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a running import's figures are written to its row.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Refused values per multi-row INSERT (6 values a row, one of them in the statement).
const REJECTS_PER_INSERT: usize = 1_000;

/// Older lists removed per statement when a new import begins (each its own short write).
const REJECTS_PER_DELETE: i64 = 20_000;

/// An import's figures so far, shared by the reader, the parser and the writer.
#[derive(Debug, Default)]
pub(super) struct Progress {
    bytes: AtomicU64,
    rows: AtomicU64,
    /// Contacts the parser handed on (some may yet merge in the store).
    accepted: AtomicU64,
    /// Rows merged within the file.
    duplicates: AtomicU64,
    rejected: AtomicU64,
}

impl Progress {
    pub(super) fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    pub(super) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Writes the figures to the running import's row; `merged` contacts merged in the store
    /// so far count as duplicates, not imported.
    pub(super) async fn write(
        &self,
        conn: &mut SqliteConnection,
        import_id: i64,
        merged: u64,
    ) -> Result<(), StoreError> {
        let accepted = self.accepted.load(Ordering::Relaxed);
        sqlx::query(
            "UPDATE imports SET rows_read = ?, bytes_read = ?, imported = ?, duplicates = ?, \
             rejected = ? WHERE id = ? AND state = 'running'",
        )
        .bind(self.rows() as i64)
        .bind(self.bytes() as i64)
        .bind(accepted.saturating_sub(merged) as i64)
        .bind((self.duplicates.load(Ordering::Relaxed) + merged) as i64)
        .bind(self.rejected.load(Ordering::Relaxed) as i64)
        .bind(import_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// A reader that counts the bytes read through it.
pub(super) struct Counted {
    inner: Box<dyn Read + Send>,
    progress: Arc<Progress>,
}

impl Counted {
    pub(super) fn new(inner: Box<dyn Read + Send>, progress: Arc<Progress>) -> Self {
        Self { inner, progress }
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The parser's side of an import: contacts and refused values packed into batches, each
/// batch sent to the writer when full; the figures after each row into `progress`. Once the
/// writer has stopped (an error) nothing more is kept.
pub(super) struct BatchSink {
    pub(super) batch: Packed,
    /// Written batches coming back to be reused.
    pub(super) back: std::sync::mpsc::Receiver<Packed>,
    pub(super) tx: tokio::sync::mpsc::Sender<Packed>,
    pub(super) open: bool,
    pub(super) progress: Arc<Progress>,
    /// Refused values kept so far (at most `MAX_KEPT_REJECTS`).
    pub(super) kept: u64,
}

impl BatchSink {
    fn send_if_full(&mut self) {
        if !self.batch.is_full() {
            return;
        }
        let fresh = match self.back.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Packed::default(),
        };
        let full = std::mem::replace(&mut self.batch, fresh);
        self.open = self.tx.blocking_send(full).is_ok();
    }
}

// On a borrow, so the import keeps the sink (its last batch, its channel) after the read.
impl ContactSink for &mut BatchSink {
    fn contact(&mut self, c: ImportedContact) -> bool {
        // The writer decides new vs merged.
        if self.open {
            self.batch.push(&c);
            self.send_if_full();
        }
        true
    }

    fn wants_every_problem(&self) -> bool {
        true
    }

    fn problem(&mut self, p: RowProblem) {
        if self.open && self.kept < MAX_KEPT_REJECTS {
            self.kept += 1;
            self.batch.problems.push(p);
            self.send_if_full();
        }
    }

    fn row_read(&mut self, rows: u64, report: &ImportReport) {
        let p = &self.progress;
        p.rows.store(rows, Ordering::Relaxed);
        p.accepted.store(report.imported, Ordering::Relaxed);
        p.duplicates.store(report.duplicates, Ordering::Relaxed);
        p.rejected.store(report.rejected_total, Ordering::Relaxed);
    }
}

/// Keeps a batch's refused values, after the import's earlier ones (inside the batch's
/// transaction).
pub(super) async fn keep_rejects(
    tx: &mut SqliteConnection,
    import_id: i64,
    problems: &[RowProblem],
) -> Result<(), StoreError> {
    if problems.is_empty() {
        return Ok(());
    }
    let last: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM import_rejects WHERE import_id = ?")
            .bind(import_id)
            .fetch_one(&mut *tx)
            .await?;
    for (k, chunk) in problems.chunks(REJECTS_PER_INSERT).enumerate() {
        let mut sql = String::from(
            "INSERT INTO import_rejects (import_id, seq, row, value, kind, reason) VALUES ",
        );
        for j in 0..chunk.len() {
            if j > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({import_id}, ?, ?, ?, ?, ?)"));
        }
        let mut q = sqlx::query(&sql);
        for (j, p) in chunk.iter().enumerate() {
            q = q
                .bind(last + 1 + (k * REJECTS_PER_INSERT + j) as i64)
                .bind(p.row as i64)
                .bind(&p.value)
                .bind(p.kind)
                .bind(&p.reason);
        }
        q.persistent(chunk.len() == REJECTS_PER_INSERT)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Removes the lists of refused values of a project's imports older than `newest`, a bounded
/// number per statement (each its own short write).
pub(super) async fn drop_older_rejects(
    store: &SqliteStore,
    project_id: i64,
    newest: i64,
) -> Result<(), StoreError> {
    loop {
        let gone = sqlx::query(
            "DELETE FROM import_rejects WHERE (import_id, seq) IN \
             (SELECT import_id, seq FROM import_rejects WHERE import_id IN \
              (SELECT id FROM imports WHERE project_id = ? AND id < ?) LIMIT ?)",
        )
        .bind(project_id)
        .bind(newest)
        .bind(REJECTS_PER_DELETE)
        .execute(&store.pool)
        .await?
        .rows_affected();
        if gone < REJECTS_PER_DELETE as u64 {
            return Ok(());
        }
    }
}
