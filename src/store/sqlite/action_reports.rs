//! The outbox as reports see it (docs/actions.md): a project's actions page by page with their
//! delivery logs, each call's actions in short, and a project's action totals. Read-only, on the
//! readers' pool; `outbox.rs` is the worker's side. The row mappers and totals are
//! `store::shared::reports`'s.
use super::outbox::{action_view, ACTION_VIEW_COLUMNS};
use super::StoreError;
use crate::store::shared::reports as shared;
use crate::store::{ActionFilter, ActionStats, ActionView, CallView};
use sqlx::SqlitePool;

/// Fills in each call's actions (one query for the page).
pub(super) async fn attach_briefs(
    pool: &SqlitePool,
    calls: &mut [CallView],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let marks = vec!["?"; calls.len()].join(",");
    let sql = format!(
        "SELECT call_id, id, kind, status, attempts, last_error, cost_kop FROM actions \
         WHERE call_id IN ({marks}) ORDER BY call_id, idx"
    );
    let mut q = sqlx::query(&sql);
    for c in calls.iter() {
        q = q.bind(c.id);
    }
    shared::fill_briefs(calls, &q.fetch_all(pool).await?);
    Ok(())
}

/// A project's actions, newest first, one page, each with its delivery log.
pub(super) async fn list(
    pool: &SqlitePool,
    f: &ActionFilter,
) -> Result<Vec<ActionView>, StoreError> {
    let mut sql = format!("SELECT {ACTION_VIEW_COLUMNS} FROM actions WHERE project_id = ?");
    if f.kind.is_some() {
        sql.push_str(" AND kind = ?");
    }
    if f.status.is_some() {
        sql.push_str(" AND status = ?");
    }
    if f.before_id.is_some() {
        sql.push_str(" AND id < ?");
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
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
    pool: &SqlitePool,
    actions: &mut [ActionView],
) -> Result<(), StoreError> {
    if actions.is_empty() {
        return Ok(());
    }
    let marks = vec!["?"; actions.len()].join(",");
    let sql = format!(
        "SELECT action_id, at, outcome, http_status, error, duration_ms FROM action_attempts \
         WHERE action_id IN ({marks}) ORDER BY action_id, id"
    );
    let mut q = sqlx::query(&sql);
    for a in actions.iter() {
        q = q.bind(a.id);
    }
    shared::fill_logs(actions, &q.fetch_all(pool).await?);
    Ok(())
}

/// A project's action totals (its stats).
pub(super) async fn stats(pool: &SqlitePool, project_id: i64) -> Result<ActionStats, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, status, COUNT(*), COALESCE(SUM(cost_kop), 0), COUNT(external_id) \
         FROM actions INDEXED BY actions_project_kind WHERE project_id = ? GROUP BY kind, status",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    Ok(shared::action_stats(&rows))
}
