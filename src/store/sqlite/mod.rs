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
    /// What "now" is for every time the store writes or compares (the dialer's clock).
    pub(super) clock: crate::clock::Clock,
    /// One re-plan of an edited project's contacts at a time, per project (`replan`).
    replans: ReplanLocks,
}

/// The per-project locks of `replan`, shared by every handle on the store.
type ReplanLocks = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
>;

mod action_admin;
mod action_reports;
mod admin;
mod agents;
mod auth;
mod call_actions;
mod call_search;
mod campaigns;
mod contact_copy;
mod contact_rows;
mod dialer;
mod greetings;
mod import;
mod import_watch;
mod outbox;
mod plans;
mod project_edit;
mod replan;
mod reports;
mod settings;
mod users;

pub use campaigns::check_webhook_secret;
pub use settings::Installation;

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
        Self::open_with_clock(path, sizes, crate::clock::Clock::System).await
    }

    /// As `open_with`, reading "now" from `clock` from the start (plans made at open for
    /// contacts of an older version follow it too).
    pub async fn open_with_clock(
        path: &Path,
        sizes: PoolSizes,
        clock: crate::clock::Clock,
    ) -> Result<Self, StoreError> {
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
            clock,
            replans: Default::default(),
        };
        // One process owns the file (single node): an import still marked running was cut
        // off by a stop. A failure here leaves its contacts hidden; opening still succeeds.
        if let Err(e) = store.discard_interrupted_imports().await {
            tracing::error!(error = %e, "removing interrupted imports");
        }
        if let Err(e) = store.bring_plans_up_to_date().await {
            tracing::error!(error = %e, "planning contacts stored by an older version");
        }
        if let Err(e) = store.resume_replans().await {
            tracing::error!(error = %e, "resuming the re-plans of edited projects");
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
            clock: self.clock.clone(),
            replans: self.replans.clone(),
        })
    }

    /// Reads "now" from `clock` (tests give the dialer's manual clock; `serve` the wall
    /// clock): a project's end, imports, re-plans and every stored time follow it.
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A write transaction that takes SQLite's write lock at its start (`BEGIN IMMEDIATE`):
    /// the busy timeout then covers the wait for it. A deferred transaction that reads and
    /// then writes fails at once (SQLITE_BUSY / BUSY_SNAPSHOT) when another writer commits
    /// in between, whatever the timeout.
    pub(super) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A transaction whose first statement writes: SQLite takes the write lock at that
    /// statement, waiting for it with the busy timeout, so nothing can fail the way a read
    /// followed by a write does (`write_tx`) — and it costs less than `BEGIN IMMEDIATE`
    /// (measured: the outbox drained 1,700 SMS/s with IMMEDIATE, 2,700 without). A
    /// transaction that reads first must use `write_tx`.
    pub(super) async fn write_first_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Now, in unix seconds, by the store's clock.
    pub(super) fn now(&self) -> i64 {
        self.clock.now_s()
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

    /// Projects (active ones only, or all) with everything the dialer needs; a row whose
    /// stored values do not parse comes back apart, `(id, name, why)`, so that one damaged
    /// project never stops the others.
    pub(super) async fn projects_where(
        &self,
        active_only: bool,
    ) -> Result<(Vec<ProjectRow>, Vec<(i64, String, String)>), StoreError> {
        self.projects_of(active_only, None).await
    }

    /// As `projects_where`, of project `only` alone when given (active or not).
    pub(super) async fn projects_of(
        &self,
        active_only: bool,
        only: Option<i64>,
    ) -> Result<(Vec<ProjectRow>, Vec<(i64, String, String)>), StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_ROW_COLUMNS} \
             FROM projects p JOIN scenarios s ON s.id = p.scenario_id \
             WHERE (p.status = 'active' OR ?1) AND (?2 IS NULL OR p.id = ?2) ORDER BY p.id"
        ))
        .bind(!active_only)
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            let name: String = r.get(1);
            match project_row(&r) {
                Ok(p) => out.push(p),
                Err(why) => bad.push((id, name, why)),
            }
        }
        Ok((out, bad))
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

use crate::store::shared::dialer::{project_row, PROJECT_ROW_COLUMNS};
pub(super) use crate::store::shared::json;
