//! The SQLite store (the single-node default): one file, WAL, foreign keys, migrations from
//! `migrations/` run at open. Every multi-row change is one transaction; the five-active rule
//! is one conditional UPDATE, so concurrent activations cannot exceed it. An import is written
//! in batches (multi-row statements) and registered while it runs, so that a failure removes
//! what it wrote and the dialer never calls its contacts before it has finished. One process
//! owns the file: what an interrupted import left is removed at open.
use super::{NewProject, ProjectStats, StoreError};
use crate::dialer::attempts::{AttemptRules, ContactAttempts};
use crate::dialer::decide::MAX_ACTIVE_PROJECTS;
use crate::dialer::schedule::Schedule;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

mod import;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file cannot hang up: no ping before every use (a round trip to the
            // connection's thread per query), and connections (with their prepared
            // statements and page cache) are kept rather than recycled.
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(format!("migrations: {e}")))?;
        let store = Self { pool };
        // One process owns the file (single node): an import still marked running was cut
        // off by a stop. A failure here leaves its contacts hidden; opening still succeeds.
        if let Err(e) = store.discard_interrupted_imports().await {
            tracing::error!(error = %e, "removing interrupted imports");
        }
        Ok(store)
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
        let contacts: i64 = sqlx::query("SELECT COUNT(*) FROM contacts WHERE project_id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        if contacts == 0 {
            return Err(StoreError::Invalid(format!(
                "project {name:?} has no contacts to call"
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

/// A contact that may be due, with its numbers and attempt state.
#[derive(Debug, Clone)]
pub struct DueContact {
    pub id: i64,
    pub seq: i64,
    pub priority: i32,
    pub attempts: ContactAttempts,
    /// (E.164, callee zone) in the contact's order.
    pub numbers: Vec<(String, Option<String>)>,
}

/// A call the process was in when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub call_id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub number: String,
}

/// What a finished call writes.
#[derive(Debug, Clone)]
pub struct FinishedCall<'a> {
    pub call_id: i64,
    pub contact_id: i64,
    pub result: &'a str,
    pub sip_status: Option<u16>,
    pub answered_at: Option<i64>,
    pub ended_at: i64,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: String,
    pub amd: Option<(String, String, i64)>,
    pub recording: Option<String>,
    pub cost: f64,
    pub attempts: &'a ContactAttempts,
    pub next_at: Option<i64>,
}

/// Due contacts of a project (?1) at a time (?2), at most ?3, with their numbers: see
/// `due_contacts`. Ties in the order are broken by id, as the index walk did. The answer is
/// one row, a JSON array of `DueJson` (aggregate ORDER BY: SQLite 3.44+, sqlx bundles 3.46).
const DUE_CONTACTS_SQL: &str = "\
    WITH picked AS ( \
        SELECT * FROM ( \
            SELECT 0 AS rank, id, seq, priority, attempts \
            FROM contacts INDEXED BY contacts_pick \
            WHERE project_id = ?1 AND status = 'not_called' \
              AND (next_at IS NULL OR next_at <= ?2) \
              AND (import_id IS NULL OR import_id NOT IN \
                   (SELECT id FROM imports WHERE state = 'running')) \
            ORDER BY priority DESC, seq LIMIT ?3) \
        UNION ALL \
        SELECT * FROM ( \
            SELECT 1 AS rank, id, seq, priority, attempts \
            FROM contacts INDEXED BY contacts_pick \
            WHERE project_id = ?1 AND status = 'retry' \
              AND (next_at IS NULL OR next_at <= ?2) \
              AND (import_id IS NULL OR import_id NOT IN \
                   (SELECT id FROM imports WHERE state = 'running')) \
            ORDER BY priority DESC, seq LIMIT ?3) \
        LIMIT ?3) \
    SELECT json_group_array(json_array(p.id, p.seq, p.priority, p.attempts, \
        json((SELECT json_group_array(json_array(n.e164, n.time_zone) ORDER BY n.idx) \
              FROM contact_numbers n WHERE n.contact_id = p.id))) \
        ORDER BY p.rank, p.priority DESC, p.seq, p.id) \
    FROM picked p";

/// One due contact as `DUE_CONTACTS_SQL` writes it: id, seq, priority, attempts (JSON text),
/// numbers (E.164, callee zone).
type DueJson = (i64, i64, i32, Option<String>, Vec<(String, Option<String>)>);

/// A contact in flight is parked here so no pass can pick it again.
const IN_FLIGHT_NEXT_AT: i64 = i64::MAX;

impl SqliteStore {
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

    /// Contacts of a project that are due at `now` (not closed, not in flight, not from an
    /// import still running), up to `limit`, new and high-priority ones first (the project's
    /// ordering is applied by the dialer).
    pub async fn due_contacts(
        &self,
        project_id: i64,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DueContact>, StoreError> {
        // One statement answering one row: the query and its answer cross to the database
        // thread and back once. A row per contact would be a hand-over (and, on a busy
        // machine, a wait to be scheduled) per row. New contacts come first, then retries,
        // each walking the `contacts_pick` index in order and stopping at the limit (retries
        // are not read at all when new contacts fill it), with their numbers in order.
        let json: String = sqlx::query(DUE_CONTACTS_SQL)
            .bind(project_id)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_one(&self.pool)
            .await?
            .get(0);
        let rows: Vec<DueJson> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Db(format!("due contacts of project {project_id}: {e}")))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, seq, priority, attempts, numbers) in rows {
            let attempts = match attempts {
                Some(j) => serde_json::from_str(&j)
                    .map_err(|e| StoreError::Db(format!("contact {id} attempts: {e}")))?,
                None => ContactAttempts::new(numbers.len()),
            };
            out.push(DueContact {
                id,
                seq,
                priority,
                attempts,
                numbers,
            });
        }
        Ok(out)
    }

    /// Records that a call starts, parking its contact, in one transaction; answers the call id.
    pub async fn start_call(
        &self,
        project_id: i64,
        contact_id: i64,
        number: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let parked = sqlx::query(
            "UPDATE contacts SET next_at = ? WHERE id = ? AND status IN ('not_called', 'retry') \
             AND (next_at IS NULL OR next_at <= ?) AND (import_id IS NULL OR import_id NOT IN \
             (SELECT id FROM imports WHERE state = 'running'))",
        )
        .bind(IN_FLIGHT_NEXT_AT)
        .bind(contact_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if parked.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "contact {contact_id} is not due (already in a call or closed)"
            )));
        }
        let id = sqlx::query(
            "INSERT INTO calls (project_id, contact_id, number, started_at) VALUES (?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(contact_id)
        .bind(number)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(id)
    }

    /// Writes a call's result together with its contact's new state, in one transaction.
    pub async fn finish_call(&self, f: &FinishedCall<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE calls SET state = 'done', result = ?, sip_status = ?, answered_at = ?, \
             ended_at = ?, reaction = ?, transcript = ?, captured = ?, amd_verdict = ?, \
             amd_reason = ?, amd_ms = ?, recording = ?, cost = ? WHERE id = ? AND state = 'dialing'",
        )
        .bind(f.result)
        .bind(f.sip_status.map(i64::from))
        .bind(f.answered_at)
        .bind(f.ended_at)
        .bind(&f.reaction)
        .bind(&f.transcript)
        .bind(&f.captured)
        .bind(f.amd.as_ref().map(|a| a.0.clone()))
        .bind(f.amd.as_ref().map(|a| a.1.clone()))
        .bind(f.amd.as_ref().map(|a| a.2))
        .bind(&f.recording)
        .bind(f.cost)
        .bind(f.call_id)
        .execute(&mut *tx)
        .await?;
        let status = serde_json::to_value(f.attempts.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "retry".into());
        sqlx::query("UPDATE contacts SET status = ?, attempts = ?, next_at = ? WHERE id = ?")
            .bind(status)
            .bind(json(f.attempts))
            .bind(f.next_at)
            .bind(f.contact_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Calls that were in progress when the process stopped.
    pub async fn in_flight(&self) -> Result<Vec<InFlight>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, project_id, contact_id, number FROM calls WHERE state = 'dialing' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| InFlight {
            call_id: r.get(0),
            project_id: r.get(1),
            contact_id: r.get(2),
            number: r.get(3),
        })
        .collect())
    }

    /// The attempt state and numbers of one contact.
    pub async fn contact(&self, id: i64) -> Result<DueContact, StoreError> {
        let r = sqlx::query("SELECT id, seq, priority, attempts FROM contacts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(format!("contact {id}")))?;
        let numbers: Vec<(String, Option<String>)> = sqlx::query(
            "SELECT e164, time_zone FROM contact_numbers WHERE contact_id = ? ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|n| (n.get(0), n.get(1)))
        .collect();
        let attempts = match r.get::<Option<&str>, _>(3) {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| StoreError::Db(format!("contact {id} attempts: {e}")))?,
            None => ContactAttempts::new(numbers.len()),
        };
        Ok(DueContact {
            id,
            seq: r.get(1),
            priority: r.get(2),
            attempts,
            numbers,
        })
    }

    /// Appends to the decision log.
    pub async fn log_decision(
        &self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&str>,
        decision: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO decisions (at, project_id, contact_id, number, decision, reason) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(at)
        .bind(project_id)
        .bind(contact_id)
        .bind(number)
        .bind(decision)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a number is on the global stop list.
    pub async fn stop_listed(&self, e164: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 FROM stop_list WHERE e164 = ?")
            .bind(e164)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Adds a number to the stop list.
    pub async fn add_to_stop_list(&self, e164: &str, reason: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO stop_list (e164, reason, added_at) VALUES (?, ?, ?)")
            .bind(e164)
            .bind(reason)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Benchmarks only: one finished call per contact of a project, results spread over the
    /// retryable results and two scenario results.
    #[doc(hidden)]
    pub async fn bench_fill_calls(&self, project_id: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "INSERT INTO calls (project_id, contact_id, number, state, started_at, ended_at, result, cost) \
             SELECT c.project_id, c.id, n.e164, 'done', 0, 30, \
             CASE c.id % 7 WHEN 0 THEN 'no_answer' WHEN 1 THEN 'busy' WHEN 2 THEN 'rejected' \
             WHEN 3 THEN 'system' WHEN 4 THEN 'answering_machine' WHEN 5 THEN 'Да' ELSE 'Нет' END, \
             (c.id % 30) * 0.04 \
             FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id AND n.idx = 0 \
             WHERE c.project_id = ?",
        )
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Benchmarks only: every contact of a project called once and waiting for its retry, one
    /// in `due_every` due at `now`, the others half an hour later.
    #[doc(hidden)]
    pub async fn bench_spread_retries(
        &self,
        project_id: i64,
        now: i64,
        due_every: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE contacts SET status = 'retry', \
             next_at = CASE WHEN id % ? = 0 THEN ? - 60 ELSE ? + 1800 END WHERE project_id = ?",
        )
        .bind(due_every.max(1))
        .bind(now)
        .bind(now)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Calls of a contact, oldest first: (number, result).
    pub async fn calls_of(
        &self,
        contact_id: i64,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        Ok(
            sqlx::query("SELECT number, result FROM calls WHERE contact_id = ? ORDER BY id")
                .bind(contact_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        )
    }
}

/// A value as JSON for a TEXT column.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
