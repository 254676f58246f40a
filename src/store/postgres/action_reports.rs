//! The outbox as reports see it (docs/actions.md), on PostgreSQL — the twin of
//! `sqlite/action_reports.rs`: a project's actions page by page with their delivery logs, each
//! call's actions in short, and a project's action totals. Read-only, on the readers' pool;
//! `outbox.rs` is the worker's side. The row mappers and totals are `shared::reports`'s.
//!
//! Where the SQL differs from SQLite's, and why: a page's calls or actions are one array
//! parameter (`= ANY($1)`, a `BIGINT[]`) instead of one `?` per id; `SUM(cost_kop)` is NUMERIC
//! on PostgreSQL (cast `::BIGINT`); `INDEXED BY actions_project_kind` is dropped (the planner
//! chooses; the index is there, same name). Parameters are `$n`.
use super::outbox::{action_view, ACTION_VIEW_COLUMNS};
use super::StoreError;
use crate::store::shared::reports as shared;
use crate::store::{ActionFilter, ActionStats, ActionView, CallView};
use sqlx::PgPool;

/// Fills in each call's actions (one query for the page).
pub(super) async fn attach_briefs(pool: &PgPool, calls: &mut [CallView]) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = calls.iter().map(|c| c.id).collect();
    let rows = sqlx::query(
        "SELECT call_id, id, kind, status, attempts, last_error, cost_kop FROM actions \
         WHERE call_id = ANY($1) ORDER BY call_id, idx",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    shared::fill_briefs(calls, &rows);
    Ok(())
}

/// A project's actions, newest first, one page, each with its delivery log.
pub(super) async fn list(pool: &PgPool, f: &ActionFilter) -> Result<Vec<ActionView>, StoreError> {
    let mut sql = format!("SELECT {ACTION_VIEW_COLUMNS} FROM actions WHERE project_id = $1");
    let mut n = 1;
    for (on, cond) in [
        (f.kind.is_some(), " AND kind = "),
        (f.status.is_some(), " AND status = "),
        (f.before_id.is_some(), " AND id < "),
    ] {
        if on {
            n += 1;
            sql.push_str(&format!("{cond}${n}"));
        }
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    let mut q = sqlx::query(&sql).bind(f.project_id);
    if let Some(k) = f.kind {
        q = q.bind(k.as_str());
    }
    if let Some(s) = f.status {
        q = q.bind(s.as_str());
    }
    if let Some(b) = f.before_id {
        q = q.bind(b);
    }
    let mut out: Vec<ActionView> = q
        .bind(i64::from(shared::page_size(f.limit)))
        .fetch_all(pool)
        .await?
        .iter()
        .map(action_view)
        .collect();
    attach_logs(pool, &mut out).await?;
    Ok(out)
}

/// Fills in each action's delivery log (one query for the page).
pub(super) async fn attach_logs(
    pool: &PgPool,
    actions: &mut [ActionView],
) -> Result<(), StoreError> {
    if actions.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = actions.iter().map(|a| a.id).collect();
    let rows = sqlx::query(
        "SELECT action_id, at, outcome, http_status, error, duration_ms FROM action_attempts \
         WHERE action_id = ANY($1) ORDER BY action_id, id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    shared::fill_logs(actions, &rows);
    Ok(())
}

/// A project's action totals (its stats).
pub(super) async fn stats(pool: &PgPool, project_id: i64) -> Result<ActionStats, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, status, COUNT(*), COALESCE(SUM(cost_kop), 0)::BIGINT, COUNT(external_id) \
         FROM actions WHERE project_id = $1 GROUP BY kind, status",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(shared::action_stats(&rows))
}
