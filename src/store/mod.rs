//! The store: projects, scenarios, contacts and their numbers, calls, the decision log and the
//! stop list, behind the `Store` trait so that a PostgreSQL implementation can be added without
//! touching its users. `sqlite` is the single-node default (sqlx, migrations in `migrations/`).
//! Pure parts: phone number normalisation (`phone`) and the streaming CSV reader (`import`).

pub mod export;
pub mod import;
pub mod phone;
pub mod spreadsheet;
pub mod sqlite;

use crate::dialer::attempts::RetryRule;
use crate::dialer::decide::OrderBy;
use crate::telephony::trunk::BoxFuture;
use import::{ImportLimits, ImportReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a store operation failed; each maps to one HTTP status in the API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Bad input (422).
    #[error("{0}")]
    Invalid(String),
    /// No such thing (404).
    #[error("{0} not found")]
    NotFound(String),
    /// A clash with existing data (409).
    #[error("{0}")]
    Conflict(String),
    /// Five projects are active already (409), named.
    #[error("five projects are active already: {}", .0.join(", "))]
    TooManyActive(Vec<String>),
    /// The database itself (500).
    #[error("database: {0}")]
    Db(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// A project to create: everything but the name and scenario has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NewProject {
    pub name: String,
    pub scenario_id: i64,
    pub time_zone: String,
    /// Window texts: `"mon-fri 09:00-21:00"`.
    pub schedule: Vec<String>,
    pub lines: u32,
    pub max_calls_per_number: u32,
    /// Per retryable result; the rest take the defaults.
    pub retry_rules: BTreeMap<String, RetryRule>,
    pub ordering: Vec<OrderBy>,
}

impl Default for NewProject {
    fn default() -> Self {
        Self {
            name: String::new(),
            scenario_id: 0,
            time_zone: "Europe/Moscow".into(),
            schedule: vec!["mon-fri 09:00-21:00".into(), "sat,sun 10:00-20:00".into()],
            lines: 10,
            max_calls_per_number: 2,
            retry_rules: BTreeMap::new(),
            ordering: vec![OrderBy::NewFirst, OrderBy::Priority, OrderBy::OldestFirst],
        }
    }
}

/// `GET /projects/{id}/stats` (spec §10).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProjectStats {
    pub contacts: BTreeMap<String, u64>,
    pub calls: u64,
    pub results: BTreeMap<String, u64>,
    pub cost: f64,
}

/// The store as its users see it. Implementations: `sqlite::SqliteStore`.
pub trait Store: Send + Sync {
    fn create_scenario<'a>(
        &'a self,
        name: &'a str,
        source: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;
    fn create_project<'a>(&'a self, p: &'a NewProject) -> BoxFuture<'a, Result<i64, StoreError>>;
    fn import_csv(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
    ) -> BoxFuture<'_, Result<ImportReport, StoreError>>;
    fn activate(&self, project_id: i64) -> BoxFuture<'_, Result<(), StoreError>>;
    fn pause(&self, project_id: i64) -> BoxFuture<'_, Result<(), StoreError>>;
    fn stats(&self, project_id: i64) -> BoxFuture<'_, Result<ProjectStats, StoreError>>;
}

impl Store for sqlite::SqliteStore {
    fn create_scenario<'a>(
        &'a self,
        name: &'a str,
        source: &'a str,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(sqlite::SqliteStore::create_scenario(self, name, source))
    }
    fn create_project<'a>(&'a self, p: &'a NewProject) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(sqlite::SqliteStore::create_project(self, p))
    }
    fn import_csv(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
    ) -> BoxFuture<'_, Result<ImportReport, StoreError>> {
        Box::pin(sqlite::SqliteStore::import_csv(
            self, project_id, input, limits,
        ))
    }
    fn activate(&self, project_id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::activate(self, project_id))
    }
    fn pause(&self, project_id: i64) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::pause(self, project_id))
    }
    fn stats(&self, project_id: i64) -> BoxFuture<'_, Result<ProjectStats, StoreError>> {
        Box::pin(sqlite::SqliteStore::stats(self, project_id))
    }
}
