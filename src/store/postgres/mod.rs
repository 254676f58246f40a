//! The PostgreSQL store (`database_url = "postgres://…"`): the same traits as the SQLite
//! store, over one PostgreSQL database that several robot nodes may share (docs/operations.md
//! "PostgreSQL"). Migrations from `migrations/postgres/` run at open. The SQL is
//! PostgreSQL's own (`$n` parameters, `ON CONFLICT`, `RETURNING`, `= ANY($1)` over arrays,
//! `json_agg`); what is not SQL — row mappers, planning, re-plans — is shared with the SQLite
//! store (`store::shared`).
//!
//! Concurrency: PostgreSQL runs transactions side by side (READ COMMITTED), where SQLite
//! serialises writers. Where the SQLite store relies on its one writer (a read, then a write
//! that depends on it), this store takes a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`) on what the decision is about — one key for the five-active rule,
//! one per project for its contacts' bookkeeping — or locks the rows it reads
//! (`SELECT … FOR UPDATE`). The keys are `lock_key`'s.
use super::{ProjectRow, StoreError};
use crate::store::shared::dialer::{project_row, PROJECT_ROW_COLUMNS};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

pub(super) use crate::store::shared::json;
pub use campaigns::check_webhook_secret;
pub use settings::Installation;

/// A store in one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    /// Every query (PostgreSQL has no single writer: reads and writes share one pool).
    pub(super) pool: PgPool,
    /// Reads for reports (the same pool, or a handle's own: `own_connections`).
    pub(super) read: PgPool,
    opts: PgConnectOptions,
    /// Callee zones of numbers the built-in geographic table does not place.
    pub(super) registry: Option<std::sync::Arc<crate::phone::registry::Registry>>,
    /// What "now" is for every time the store writes or compares (the dialer's clock).
    pub(super) clock: crate::clock::Clock,
    /// One re-plan of an edited project's contacts at a time, per project, in this process
    /// (`replan`; across nodes the per-project advisory lock orders them).
    replans: ReplanLocks,
    /// This process as a robot node sharing the database (`register_node`): what it claims
    /// carries its id and a lease. Without one the store works alone, as SQLite's does.
    pub(super) node: Option<std::sync::Arc<nodes::Node>>,
}

/// The per-project locks of `replan`, shared by every handle on the store.
type ReplanLocks = std::sync::Arc<
    std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
>;

/// Advisory lock keys (`pg_advisory_xact_lock(key)`): what a transaction serialises on.
pub(super) mod lock_key {
    /// The five-active rule: every activation takes it, so two cannot both see four.
    pub const ACTIVATION: i64 = 1;
    /// One project's contacts and calls (a start, a finish, a re-plan, an import's end):
    /// `PROJECT_BASE + project id`.
    pub const PROJECT_BASE: i64 = 1 << 32;
}

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
pub mod nodes;
mod outbox;
mod pins;
mod plans;
mod project_edit;
mod replan;
mod reports;
mod settings;
mod smsc_slots;
mod users;

/// How many connections a store opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgPoolSize {
    /// Connections for every query.
    pub connections: u32,
}

impl Default for PgPoolSize {
    fn default() -> Self {
        Self { connections: 8 }
    }
}

/// How long a query waits for a free connection of the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

async fn pool(opts: PgConnectOptions, n: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(n.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A server can restart or drop a connection: check one before handing it out.
        .test_before_acquire(true)
        // While the database is away every waiting statement acquires slowly: the dialer's
        // watch says so once (dialer/db_watch.rs) instead of a warning per statement.
        .acquire_slow_level(log::LevelFilter::Debug)
        .connect_with(opts)
        .await
}

/// The URL without its password (in the authority or as a `password=` parameter), for
/// messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "postgres://…".into();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    // The host follows the LAST `@` (a password may hold an unescaped one).
    let authority = match rest.rsplit_once('@') {
        Some((user_pass, host)) => {
            let user = user_pass.split(':').next().unwrap_or("");
            let hidden = if user_pass.contains(':') { ":***" } else { "" };
            format!("{user}{hidden}@{host}")
        }
        None => rest.to_string(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}://{authority}?{q}"),
        None => format!("{scheme}://{authority}"),
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_clock(url, PgPoolSize::default(), crate::clock::Clock::System).await
    }

    /// As `open`, with `sizes` connections, reading "now" from `clock` from the start; the
    /// store works alone on the database (no node: see `open_node`).
    pub async fn open_with_clock(
        url: &str,
        sizes: PgPoolSize,
        clock: crate::clock::Clock,
    ) -> Result<Self, StoreError> {
        let store = Self::connect(url, sizes, clock).await?;
        store.after_open().await;
        Ok(store)
    }

    /// As `open_with_clock`, as a robot node named `name` whose leases last `lease`
    /// (`nodes.rs`): registered before anything is recovered, so that the start-up
    /// recovery touches only what dead nodes left.
    pub async fn open_node(
        url: &str,
        sizes: PgPoolSize,
        clock: crate::clock::Clock,
        name: &str,
        lease: Duration,
    ) -> Result<Self, StoreError> {
        let store = Self::connect(url, sizes, clock)
            .await?
            .register_node(name, lease)
            .await?;
        store.after_open().await;
        Ok(store)
    }

    /// The pool, with the schema brought up to date.
    async fn connect(
        url: &str,
        sizes: PgPoolSize,
        clock: crate::clock::Clock,
    ) -> Result<Self, StoreError> {
        let at = |e: sqlx::Error| StoreError::Db(format!("{}: {e}", redacted(url)));
        // A lock wait or a statement that never ends must not stall the dialer for good
        // (SQLite's busy timeout did the same): the statement fails, is logged, and the next
        // pass tries again.
        let opts = PgConnectOptions::from_str(url).map_err(at)?.options([
            ("lock_timeout", "10s"),
            ("idle_in_transaction_session_timeout", "60s"),
        ]);
        let writer = pool(opts.clone(), sizes.connections).await.map_err(at)?;
        // Two nodes starting at once: PostgreSQL's migrator takes an advisory lock of its
        // own, so one migrates and the other waits and finds the schema up to date.
        sqlx::migrate!("./migrations/postgres")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Db(format!("migrations: {e}")))?;
        Ok(Self {
            read: writer.clone(),
            pool: writer,
            opts,
            registry: None,
            clock,
            replans: Default::default(),
            node: None,
        })
    }

    /// What a start recovers: imports a stop cut off, plans of contacts stored by an older
    /// version, re-plans an edit began. A failure is logged; opening still succeeds.
    async fn after_open(&self) {
        if let Err(e) = self.discard_interrupted_imports().await {
            tracing::error!(error = %e, "removing interrupted imports");
        }
        if let Err(e) = self.bring_plans_up_to_date().await {
            tracing::error!(error = %e, "planning contacts stored by an older version");
        }
        if let Err(e) = self.resume_replans().await {
            tracing::error!(error = %e, "resuming the re-plans of edited projects");
        }
    }

    /// Another handle on the same database with `n` connections of its own: the dialer and
    /// its calls use one, so their bookkeeping never queues behind API work.
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
            node: self.node.clone(),
        })
    }

    /// Reads "now" from `clock`.
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
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

    /// A write transaction. Where the SQLite store's `write_tx` relies on SQLite's one
    /// writer, the caller takes the advisory lock of what it decides on (`lock`) first.
    pub(super) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction whose first statement writes (the SQLite store's `write_first_tx`).
    pub(super) async fn write_first_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Now, in unix seconds, by the store's clock.
    pub(super) fn now(&self) -> i64 {
        self.clock.now_s()
    }

    async fn project_name(&self, id: i64) -> Result<String, StoreError> {
        sqlx::query("SELECT name FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound(format!("project {id}")))
    }

    /// Projects (active ones only, or all) with everything the dialer needs; a row whose
    /// stored values do not parse comes back apart, `(id, name, why)`.
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
             WHERE (p.status = 'active' OR $1::BOOLEAN) AND ($2::BIGINT IS NULL OR p.id = $2) ORDER BY p.id"
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

/// Takes the transaction-scoped advisory lock `key` (released at commit or rollback).
pub(super) async fn lock(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    key: i64,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_url_is_logged_without_its_password() {
        assert_eq!(
            redacted("postgres://ai:s3cret@db:5432/x"),
            "postgres://ai:***@db:5432/x"
        );
        assert_eq!(
            redacted("postgres://ai:p@ss@db/x"),
            "postgres://ai:***@db/x"
        );
        assert_eq!(
            redacted("postgres://ai@db/x?sslmode=require&password=s3cret"),
            "postgres://ai@db/x?sslmode=require&password=***"
        );
        assert_eq!(redacted("postgres://db/x"), "postgres://db/x");
        assert!(!redacted("not a url s3cret").contains("s3cret"));
    }
}
