//! Robot nodes on one PostgreSQL database (issue 20 §2, docs/operations.md "Several nodes").
//! Each `serve` registers a node at start (a new row per run, so nothing of its previous run
//! is taken for its own) and beats its heart every third of a lease: the heartbeat renews the
//! leases of what it is working on — its calls up, its outbox rows being carried out, its
//! running import. The schema (`migrations/postgres/0002_nodes.sql`) says what a lease is.
//!
//! Taking over. Work whose lease ran out belongs to a node that stopped (killed, cut off):
//! another node closes its calls as interrupted (the dialer's sweep), settles its outbox rows
//! (an SMS looked up at SMSC first) and removes its import. A node takes over only after its
//! own heartbeats have succeeded for a whole lease without a gap: after a database outage
//! every lease may have run out at once, and the nodes that are alive renew theirs within a
//! third of a lease — none of them closes another live node's calls.
//!
//! Times of nodes and leases are the database's (`db_now_ms()`), so the nodes' clocks need not
//! agree; how long this node has been steady is its own monotonic clock.
use super::PgStore;
use crate::store::StoreError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a lease lasts unless renewed, by default (`[store] node_lease_s`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// This process as a node.
#[derive(Debug)]
pub struct Node {
    /// `nodes.id`.
    pub id: i64,
    /// How long a lease lasts unless renewed.
    pub lease: Duration,
    /// Since when the heartbeats have succeeded without a gap (none yet: `None`).
    steady_since: Mutex<Option<Instant>>,
}

impl Node {
    /// The lease in milliseconds, for SQL.
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether this node may take over work whose lease ran out (see the top).
    pub fn may_take_over(&self) -> bool {
        self.steady_since
            .lock()
            .map(|s| s.is_some_and(|t| t.elapsed() >= self.lease))
            .unwrap_or(false)
    }

    fn beat(&self, ok: bool) {
        if let Ok(mut s) = self.steady_since.lock() {
            match (ok, *s) {
                (true, None) => *s = Some(Instant::now()),
                (false, _) => *s = None,
                (true, Some(_)) => {}
            }
        }
    }
}

/// What a heartbeat renewed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Renewed {
    pub calls: u64,
    pub actions: u64,
    pub imports: u64,
}

impl PgStore {
    /// Registers this process as a node named `name` (host name, config) whose leases last
    /// `lease`; every handle made from this one (`own_connections`) works as this node.
    pub async fn register_node(mut self, name: &str, lease: Duration) -> Result<Self, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO nodes (name, started_at, heartbeat_at) \
             VALUES ($1, db_now_ms(), db_now_ms()) RETURNING id",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        let node = Node {
            id,
            lease,
            steady_since: Mutex::new(Some(Instant::now())),
        };
        self.node = Some(std::sync::Arc::new(node));
        Ok(self)
    }

    /// This node, when registered.
    pub fn node(&self) -> Option<&Node> {
        self.node.as_deref()
    }

    /// The heartbeat: this node's row and every lease it holds renewed, in one transaction.
    /// A failure (the database away) is answered and remembered: no take-over until the
    /// heartbeats have been steady for a lease again.
    pub async fn heartbeat(&self) -> Result<Renewed, StoreError> {
        let Some(node) = self.node.as_deref() else {
            return Ok(Renewed::default());
        };
        let began = Instant::now();
        let r = self.renew(node).await;
        // A heartbeat that waited out an outage (the pool retries its connection) and then
        // went through is a gap too: the other nodes' leases may have run out meanwhile, and
        // they must get their own heartbeat in before this node takes anything over.
        if began.elapsed() > node.lease / 3 {
            node.beat(false);
        }
        node.beat(r.is_ok());
        // Imports of nodes that stopped are removed here (calls and outbox rows by the
        // dialer's and the worker's own sweeps).
        if r.is_ok() && node.may_take_over() {
            if let Err(e) = self.discard_interrupted_imports().await {
                tracing::warn!(error = %e, "removing the imports of stopped nodes");
            }
        }
        r
    }

    async fn renew(&self, node: &Node) -> Result<Renewed, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE nodes SET heartbeat_at = db_now_ms() WHERE id = $1")
            .bind(node.id)
            .execute(&mut *tx)
            .await?;
        let mut renewed = Renewed::default();
        for (table, open, n) in [
            ("calls", "state = 'dialing'", &mut renewed.calls),
            ("actions", "status = 'sending'", &mut renewed.actions),
            ("imports", "state = 'running'", &mut renewed.imports),
        ] {
            *n = sqlx::query(&format!(
                "UPDATE {table} SET lease_until = db_now_ms() + $2 \
                 WHERE owner_node = $1 AND {open}"
            ))
            .bind(node.id)
            .bind(node.lease_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(renewed)
    }

    /// The node rows of runs silent for over a day (their work was taken over long ago).
    pub async fn prune_nodes(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM nodes WHERE heartbeat_at < db_now_ms() - 86400000")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// `(node id, lease ms, may take over)` for SQL: `(NULL, 0, true)` without a node, where
    /// the store works alone as the SQLite store does.
    pub(super) fn lease_binds(&self) -> (Option<i64>, i64, bool) {
        match self.node.as_deref() {
            Some(n) => (Some(n.id), n.lease_ms(), n.may_take_over()),
            None => (None, 0, true),
        }
    }
}
