//! What the multinode run shows while it runs and keeps when it fails (`multinode.rs`): a line
//! every `PROGRESS_EVERY` with the calls placed and the outbox by kind and state (a lane that
//! stops shows as its `queued` growing while `sending` stays put), and the nodes' logs copied
//! to `target/multinode-logs/` when an invariant did not hold (the run's own directory is
//! removed).
use sqlx::postgres::PgPool;
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);
/// How long the outbox's backlog may stay as it is after the campaign before the run gives
/// up waiting for it.
pub const DRAIN_STALL: Duration = Duration::from_secs(60);

/// Prints one progress line when `PROGRESS_EVERY` has passed since `*last`.
pub async fn progress(pool: &PgPool, p: i64, began: Instant, last: &mut Instant, what: &str) {
    if last.elapsed() < PROGRESS_EVERY {
        return;
    }
    *last = Instant::now();
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE project_id = $1")
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap_or(-1);
    let rows = sqlx::query(
        "SELECT a.kind, a.status, COALESCE(n.name, '-'), count(*) FROM actions a \
         LEFT JOIN nodes n ON n.id = a.owner_node AND a.status = 'sending' \
         WHERE a.project_id = $1 AND a.status IN ('queued', 'sending', 'done', 'sent') \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    let outbox: Vec<String> = rows
        .iter()
        .map(|r| {
            let (kind, status, owner, n): (String, String, String, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            if status == "sending" {
                format!("{kind} sending@{owner} {n}")
            } else {
                format!("{kind} {status} {n}")
            }
        })
        .collect();
    println!(
        "  {:>5.0} s {what}: {calls} calls; {}",
        began.elapsed().as_secs_f64(),
        outbox.join(", ")
    );
}

/// Copies the nodes' logs to `target/multinode-logs/` (replacing an earlier run's); answers
/// where they are.
pub fn keep_logs(root: &Path, logs: &[PathBuf]) -> PathBuf {
    let to = root.join("target/multinode-logs");
    let _ = std::fs::remove_dir_all(&to);
    let _ = std::fs::create_dir_all(&to);
    for l in logs {
        if let Some(name) = l.file_name() {
            let _ = std::fs::copy(l, to.join(name));
        }
    }
    to
}
