//! The outbox as reports see it (docs/actions.md): a project's actions page by page with their
//! delivery logs, each call's actions in short, and a project's action totals. Read-only, on the
//! readers' pool; `outbox.rs` is the worker's side.
use super::outbox::{action_view, ACTION_VIEW_COLUMNS};
use super::StoreError;
use crate::store::{
    ActionBrief, ActionFilter, ActionStats, ActionView, AttemptLog, CallView, MAX_PAGE,
};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;

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
    let mut by_call: HashMap<i64, Vec<ActionBrief>> = HashMap::new();
    for r in q.fetch_all(pool).await? {
        by_call.entry(r.get(0)).or_default().push(ActionBrief {
            id: r.get(1),
            kind: r.get(2),
            status: r.get(3),
            attempts: r.get(4),
            last_error: r.get(5),
            cost: r.get::<Option<i64>, _>(6).map(crate::rules::money::Kopecks),
        });
    }
    for c in calls.iter_mut() {
        c.actions = by_call.remove(&c.id).unwrap_or_default();
    }
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
    let limit = if f.limit == 0 {
        MAX_PAGE
    } else {
        f.limit.min(MAX_PAGE)
    };
    let mut out: Vec<ActionView> = q
        .bind(i64::from(limit))
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
    let mut by_action: HashMap<i64, Vec<AttemptLog>> = HashMap::new();
    for r in q.fetch_all(pool).await? {
        by_action.entry(r.get(0)).or_default().push(AttemptLog {
            at: r.get(1),
            outcome: r.get(2),
            http_status: r.get(3),
            error: r.get(4),
            duration_ms: r.get(5),
        });
    }
    for a in actions.iter_mut() {
        a.log = by_action.remove(&a.id).unwrap_or_default();
    }
    Ok(())
}

/// A project's action totals (its stats).
pub(super) async fn stats(pool: &SqlitePool, project_id: i64) -> Result<ActionStats, StoreError> {
    let mut s = ActionStats::default();
    let rows = sqlx::query(
        "SELECT kind, status, COUNT(*), COALESCE(SUM(cost_kop), 0), COUNT(external_id) \
         FROM actions INDEXED BY actions_project_kind WHERE project_id = ? GROUP BY kind, status",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await?;
    for r in rows {
        let (kind, status): (String, String) = (r.get(0), r.get(1));
        let n = r.get::<i64, _>(2) as u64;
        let cost = crate::rules::money::Kopecks(r.get(3));
        let with_id = r.get::<i64, _>(4) as u64;
        match (kind.as_str(), status.as_str()) {
            ("sms", st) => {
                s.sms.cost += cost;
                match st {
                    "queued" | "sending" => s.sms.queued += n,
                    "sent" => s.sms.sent += n,
                    "delivered" => {
                        s.sms.sent += n;
                        s.sms.delivered += n;
                    }
                    "failed" => s.sms.failed += n,
                    _ => {}
                }
            }
            ("webhook", "done") => s.webhooks.delivered += n,
            ("webhook", "failed") => s.webhooks.failed += n,
            ("webhook", _) => s.webhooks.queued += n,
            // A copy whose contact was already there (or all of whose numbers are on the stop
            // list) is done without a new contact's id.
            ("add_to_project", "done") => s.added_to_projects += with_id,
            ("stop_list", "done") => s.opted_out += n,
            _ => {}
        }
    }
    Ok(s)
}
