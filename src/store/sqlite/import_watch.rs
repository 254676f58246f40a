//! An import's progress and its refused values (migrations/sqlite/0014_import_progress.sql):
//! the figures the parser and the reader keep (`store::shared::import::Progress`, a few
//! relaxed increments per row), written to the import's row about once a second by the
//! import's writer; and the refused values written with each batch, in the batch's
//! transaction. Nothing here is done per row in the database.
use super::SqliteStore;
use crate::import::RowProblem;
use crate::store::shared::import::Progress;
use crate::store::StoreError;
use sqlx::SqliteConnection;

/// Refused values per multi-row INSERT (6 values a row, one of them in the statement).
const REJECTS_PER_INSERT: usize = 1_000;

/// Older lists removed per statement when a new import begins (each its own short write).
const REJECTS_PER_DELETE: i64 = 20_000;

/// Writes the figures to the running import's row; `merged` contacts merged in the store so
/// far count as duplicates, not imported.
pub(super) async fn write_progress(
    conn: &mut SqliteConnection,
    progress: &Progress,
    import_id: i64,
    merged: u64,
) -> Result<(), StoreError> {
    let f = progress.figures(merged);
    sqlx::query(
        "UPDATE imports SET rows_read = ?, bytes_read = ?, imported = ?, duplicates = ?, \
         rejected = ? WHERE id = ? AND state = 'running'",
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
