//! The SQLite store (the single-node default): one file, WAL, foreign keys, migrations from
//! `migrations/` run at open. Every multi-row change is one transaction; the five-active rule
//! is one conditional UPDATE, so concurrent activations cannot exceed it. An import is written
//! in batches (multi-row statements) and registered while it runs, so that a failure removes
//! what it wrote and the dialer never calls its contacts before it has finished. One process
//! owns the file: what an interrupted import left is removed at open.
//!
//! Connections: each `SqliteStore` has a writer pool and a read-only pool. The API's reports
//! read through the read pool; the dialer and its calls get their own handle on the same file
//! (`own_connections`), so no number of API readers can make a call's bookkeeping wait in
//! their queue (SQLite in WAL mode lets readers and the one writer work side by side).
use super::{ProjectRow, StoreError};
use crate::rules::attempts::AttemptRules;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    /// Writes, and reads that must see them at once.
    pub(super) pool: SqlitePool,
    /// Read-only connections for reports.
    pub(super) read: SqlitePool,
    opts: SqliteConnectOptions,
    /// Callee zones of numbers the built-in geographic table does not place (mobile ranges),
    /// looked up when contacts are imported.
    pub(super) registry: Option<std::sync::Arc<crate::phone::registry::Registry>>,
}

mod action_reports;
mod auth;
mod campaigns;
mod dialer;
mod import;
mod outbox;
mod plans;
mod reports;

/// How many connections a store opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSizes {
    /// Connections that write (SQLite has one writer at a time; more only queue less).
    pub writers: u32,
    /// Read-only connections for reports and exports.
    pub readers: u32,
}

impl Default for PoolSizes {
    fn default() -> Self {
        Self {
            writers: 2,
            readers: 4,
        }
    }
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How long a connection waits for SQLite's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

async fn pool(opts: SqliteConnectOptions, n: u32) -> Result<SqlitePool, sqlx::Error> {
    SqlitePoolOptions::new()
        .max_connections(n.max(1))
        // A local file cannot hang up: no ping before every use (a round trip to the
        // connection's thread per query), and connections (with their prepared
        // statements and page cache) are kept rather than recycled.
        .test_before_acquire(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts)
        .await
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, PoolSizes::default()).await
    }

    /// As `open`, with the given numbers of connections.
    pub async fn open_with(path: &Path, sizes: PoolSizes) -> Result<Self, StoreError> {
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
            .busy_timeout(BUSY_TIMEOUT);
        let at = |e: sqlx::Error| StoreError::Db(format!("{}: {e}", path.display()));
        let writer = pool(opts.clone(), sizes.writers).await.map_err(at)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Db(format!("migrations: {e}")))?;
        let read = pool(opts.clone().read_only(true), sizes.readers)
            .await
            .map_err(at)?;
        let store = Self {
            pool: writer,
            read,
            opts,
            registry: None,
        };
        // One process owns the file (single node): an import still marked running was cut
        // off by a stop. A failure here leaves its contacts hidden; opening still succeeds.
        if let Err(e) = store.discard_interrupted_imports().await {
            tracing::error!(error = %e, "removing interrupted imports");
        }
        if let Err(e) = store.bring_plans_up_to_date().await {
            tracing::error!(error = %e, "planning contacts stored by an older version");
        }
        Ok(store)
    }

    /// Another handle on the same file with `n` connections of its own for reads and writes:
    /// the dialer and its calls use one, so their bookkeeping never queues behind API work.
    pub async fn own_connections(&self, n: u32) -> Result<Self, StoreError> {
        let pool = pool(self.opts.clone(), n)
            .await
            .map_err(|e| StoreError::Db(format!("opening the dialer's connections: {e}")))?;
        Ok(Self {
            read: pool.clone(),
            pool,
            opts: self.opts.clone(),
            registry: self.registry.clone(),
        })
    }

    /// Imports look callee zones up in `registry` for numbers the built-in table does not
    /// place.
    pub fn with_registry(
        mut self,
        registry: std::sync::Arc<crate::phone::registry::Registry>,
    ) -> Self {
        self.registry = Some(registry);
        self
    }

    async fn project_name(&self, id: i64) -> Result<String, StoreError> {
        sqlx::query("SELECT name FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("project {id}")))
    }

    async fn projects_where(&self, active_only: bool) -> Result<Vec<ProjectRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, s.source, p.time_zone, p.schedule, p.lines, \
             p.max_calls_per_number, p.retry_rules, p.ordering, p.tariff, p.starts_at, p.ends_at, \
             p.type_windows, p.webhook_url \
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
                starts_at: r.get(10),
                ends_at: r.get(11),
                type_windows: serde_json::from_str(r.get::<&str, _>(12))
                    .map_err(|e| bad("type_windows", e.to_string()))?,
                webhook_url: r.get(13),
            });
        }
        Ok(out)
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

/// A value as JSON for a TEXT column.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
