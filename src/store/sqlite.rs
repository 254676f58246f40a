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
use super::{NewProject, ProjectStats, StoreError};
use crate::dialer::attempts::AttemptRules;
use crate::dialer::decide::MAX_ACTIVE_PROJECTS;
use crate::dialer::schedule::Schedule;
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
    pub(super) registry: Option<std::sync::Arc<crate::store::registry::Registry>>,
}

mod dialer;
mod import;
mod plans;

pub use dialer::{DueContact, FinishedCall, InFlight, StartCall};

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
        sqlx::migrate!("./migrations")
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
        registry: std::sync::Arc<crate::store::registry::Registry>,
    ) -> Self {
        self.registry = Some(registry);
        self
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
        let (contacts, open): (i64, i64) = {
            let r = sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1), \
                 EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1 \
                         AND status IN ('not_called', 'retry'))",
            )
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
            (r.get(0), r.get(1))
        };
        if contacts == 0 {
            return Err(StoreError::Invalid(format!(
                "project {name:?} has no contacts to call"
            )));
        }
        if open == 0 {
            return Err(StoreError::Invalid(format!(
                "project {name:?} has no contacts left to call: import new contacts to run it again"
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

    /// Marks an active project `finished` when nothing is left to call and no call of it is up
    /// (nor an import running): it frees its active slot. Answers whether it did.
    pub async fn finish_if_done(&self, id: i64, at: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE projects SET status = 'finished', finished_at = ?2 WHERE id = ?1 \
             AND status = 'active' \
             AND NOT EXISTS (SELECT 1 FROM contacts WHERE project_id = ?1 \
                             AND status IN ('not_called', 'retry')) \
             AND NOT EXISTS (SELECT 1 FROM calls WHERE state = 'dialing' AND project_id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM imports WHERE state = 'running' AND project_id = ?1)",
        )
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let done = r.rows_affected() > 0;
        if done {
            sqlx::query(
                "INSERT INTO decisions (at, project_id, decision, reason) \
                 VALUES (?, ?, 'finished', 'every contact is closed and no call is up: the \
                 project is finished and frees its active slot')",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
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

/// A value as JSON for a TEXT column.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
