//! An import's progress and its refused values (the PostgreSQL twin of
//! `sqlite/import_watch.rs`): the figures the parser and the reader keep
//! (`store::shared::import::Progress`, a few relaxed increments per row), written to the
//! import's row about once a second by the import's writer; and the refused values written
//! with each batch, in the batch's transaction. Nothing here is done per row in the database.
//!
//! Where the SQL differs from SQLite's: `$n` parameters; a batch's refused values go in one
//! statement over arrays (`UNNEST`), where SQLite writes multi-row VALUES a thousand rows at a
//! time (its limit on bound values). Reading the import's last `seq` and appending after it
//! needs no lock: only the import's own batches, one after another, write its list.
use super::PgStore;
use crate::import::RowProblem;
use crate::store::shared::import::Progress;
use crate::store::StoreError;
use sqlx::PgConnection;

/// Older lists removed per statement when a new import begins (each its own short write).
const REJECTS_PER_DELETE: i64 = 20_000;

/// Writes the figures to the running import's row; `merged` contacts merged in the store so
/// far count as duplicates, not imported.
pub(super) async fn write_progress(
    conn: &mut PgConnection,
    progress: &Progress,
    import_id: i64,
    merged: u64,
) -> Result<(), StoreError> {
    let f = progress.figures(merged);
    sqlx::query(
        "UPDATE imports SET rows_read = $1, bytes_read = $2, imported = $3, duplicates = $4, \
         rejected = $5 WHERE id = $6 AND state = 'running'",
    )
    .bind(f.rows_read)
    .bind(f.bytes_read)
    .bind(f.imported)
    .bind(f.duplicates)
    .bind(f.rejected)
    .bind(import_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Keeps a batch's refused values, after the import's earlier ones (inside the batch's
/// transaction).
pub(super) async fn keep_rejects(
    tx: &mut PgConnection,
    import_id: i64,
    problems: &[RowProblem],
) -> Result<(), StoreError> {
    if problems.is_empty() {
        return Ok(());
    }
    let last: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM import_rejects WHERE import_id = $1")
            .bind(import_id)
            .fetch_one(&mut *tx)
            .await?;
    let n = problems.len();
    let (mut rows, mut values, mut kinds, mut reasons) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for p in problems {
        rows.push(p.row as i64);
        values.push(p.value.as_str());
        kinds.push(p.kind);
        reasons.push(p.reason.as_str());
    }
    // File order: the k-th value of the batch (ordinality k, from 1) follows the list's last.
    sqlx::query(
        "INSERT INTO import_rejects (import_id, seq, row, value, kind, reason) \
         SELECT $1, $2 + u.k, u.r, u.v, u.kind, u.why \
         FROM UNNEST($3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) \
              WITH ORDINALITY AS u(r, v, kind, why, k)",
    )
    .bind(import_id)
    .bind(last)
    .bind(&rows)
    .bind(&values)
    .bind(&kinds)
    .bind(&reasons)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Removes the lists of refused values of a project's imports older than `newest`, a bounded
/// number per statement (each its own short write).
pub(super) async fn drop_older_rejects(
    store: &PgStore,
    project_id: i64,
    newest: i64,
) -> Result<(), StoreError> {
    loop {
        let gone = sqlx::query(
            "DELETE FROM import_rejects WHERE (import_id, seq) IN \
             (SELECT import_id, seq FROM import_rejects WHERE import_id IN \
              (SELECT id FROM imports WHERE project_id = $1 AND id < $2) LIMIT $3)",
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
