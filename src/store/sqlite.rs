//! The SQLite store (the single-node default): one file, WAL, foreign keys, migrations from
//! `migrations/` run at open. Every multi-row change is one transaction; the five-active rule
//! is one conditional UPDATE, so concurrent activations cannot exceed it.
use super::import::{read_csv, ImportLimits, ImportReport, ImportedContact};
use super::{NewProject, ProjectStats, StoreError};
use crate::dialer::attempts::AttemptRules;
use crate::dialer::decide::MAX_ACTIVE_PROJECTS;
use crate::dialer::schedule::Schedule;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// Contacts written per transaction during an import.
const IMPORT_BATCH: usize = 2_000;

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

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
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(format!("migrations: {e}")))?;
        Ok(Self { pool })
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
             max_calls_per_number, retry_rules, ordering, tariff, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)",
        )
        .bind(p.name.trim())
        .bind(p.scenario_id)
        .bind(&p.time_zone)
        .bind(json(&p.schedule))
        .bind(i64::from(p.lines))
        .bind(i64::from(rules.max_calls_per_number))
        .bind(json(&rules.per_result))
        .bind(json(&p.ordering))
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

    /// Imports contacts from CSV into a project: good rows are stored in batches, bad values
    /// reported by row; numbers already in the project merge (counted as duplicates).
    pub async fn import_csv(
        &self,
        project_id: i64,
        input: impl Read + Send + 'static,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError> {
        self.project_name(project_id).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ImportedContact>(IMPORT_BATCH);
        let parser = tokio::task::spawn_blocking(move || {
            read_csv(input, limits, |c| {
                // The writer below decides new vs merged; a closed channel ends the read.
                tx.blocking_send(c).is_ok()
            })
        });
        let mut seq: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM contacts WHERE project_id = ?")
                .bind(project_id)
                .fetch_one(&self.pool)
                .await?
                .get(0);
        let mut merged = 0u64;
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        loop {
            let more = rx.recv_many(&mut batch, IMPORT_BATCH).await;
            if more == 0 {
                break;
            }
            merged += self.write_batch(project_id, &mut seq, &batch).await?;
            batch.clear();
        }
        let mut report = parser
            .await
            .map_err(|e| StoreError::Db(format!("import task: {e}")))?
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        report.imported -= merged;
        report.duplicates += merged;
        Ok(report)
    }

    /// Writes contacts in one transaction; answers how many merged into existing ones.
    async fn write_batch(
        &self,
        project_id: i64,
        seq: &mut i64,
        batch: &[ImportedContact],
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut merged = 0;
        let t = now();
        for c in batch {
            *seq += 1;
            let fields = serde_json::to_string(&c.fields).unwrap_or_else(|_| "{}".into());
            let id = sqlx::query(
                "INSERT INTO contacts (project_id, seq, name, fields, priority, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(project_id)
            .bind(*seq)
            .bind(&c.name)
            .bind(fields)
            .bind(c.priority)
            .bind(t)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            let mut added = 0;
            for n in &c.numbers {
                let r = sqlx::query(
                    "INSERT OR IGNORE INTO contact_numbers (contact_id, project_id, idx, e164, time_zone) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(project_id)
                .bind(added)
                .bind(&n.e164)
                .bind(n.tz.map(|z| z.name().to_string()))
                .execute(&mut *tx)
                .await?;
                added += r.rows_affected() as i64;
            }
            if added == 0 {
                // Every number is already in the project: the contact merges into that one.
                sqlx::query("DELETE FROM contacts WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                merged += 1;
            }
        }
        tx.commit().await?;
        Ok(merged)
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
            "SELECT result, COUNT(*), COALESCE(SUM(cost), 0) FROM calls \
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

/// A value as JSON for a TEXT column.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
