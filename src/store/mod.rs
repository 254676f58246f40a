//! The store: projects, scenarios, contacts and their numbers, calls, the decision log and the
//! stop list, behind the `Store` trait so that a PostgreSQL implementation can be added without
//! touching its users. `sqlite` is the single-node default (sqlx, migrations in `migrations/`).
//! Pure parts: phone number normalisation (`phone`), the streaming contacts reader (`import`:
//! CSV, and XLSX/XLS/ODS through `spreadsheet`), report writers (`export`: CSV, XLSX),
//! the numbering-plan registry (`registry`: callee zones of mobile ranges). `reports` is the
//! read side for the API and exports.

pub mod export;
pub mod import;
pub mod phone;
pub mod registry;
pub mod reports;
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
    /// The upload is larger than the configured limit (413); nothing of it was kept.
    #[error("the file is larger than the limit of {0} bytes; nothing was imported")]
    TooLarge(u64),
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
#[serde(default, deny_unknown_fields)]
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
    /// Where `transfer` actions put contacts that hang up before an agent answers.
    pub callback_project_id: Option<i64>,
    pub tariff: crate::dialer::tariff::Tariff,
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
            callback_project_id: None,
            tariff: Default::default(),
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

    // What the dialer needs (it sees the store only through these).
    /// Active projects with everything the dialer needs.
    fn dialing_projects(&self) -> BoxFuture<'_, Result<Vec<ProjectRow>, StoreError>>;
    /// Every project (recovery needs the rules of paused ones too).
    fn all_projects(&self) -> BoxFuture<'_, Result<Vec<ProjectRow>, StoreError>>;
    /// Contacts due at `now`, up to `limit`.
    fn due_contacts(
        &self,
        project_id: i64,
        now: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<DueContact>, StoreError>>;
    /// Records a call as started and parks its contact, atomically; `Conflict` when the
    /// contact is no longer due (never dialed twice).
    fn start_call<'a>(
        &'a self,
        project_id: i64,
        contact_id: i64,
        number: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<i64, StoreError>>;
    /// Writes a call's result with its contact's new state, atomically.
    fn finish_call<'a, 'b: 'a>(
        &'a self,
        f: &'a FinishedCall<'b>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Calls left in progress by a stop.
    fn in_flight(&self) -> BoxFuture<'_, Result<Vec<InFlight>, StoreError>>;
    /// One contact's numbers and attempt state.
    fn contact(&self, id: i64) -> BoxFuture<'_, Result<DueContact, StoreError>>;
    /// Appends to the decision log.
    #[allow(clippy::too_many_arguments)]
    fn log_decision<'a>(
        &'a self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&'a str>,
        decision: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether a number is on the stop list.
    fn stop_listed<'a>(&'a self, e164: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
}

pub use sqlite::{DueContact, FinishedCall, InFlight, ProjectRow};

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
    fn dialing_projects(&self) -> BoxFuture<'_, Result<Vec<ProjectRow>, StoreError>> {
        Box::pin(sqlite::SqliteStore::dialing_projects(self))
    }
    fn all_projects(&self) -> BoxFuture<'_, Result<Vec<ProjectRow>, StoreError>> {
        Box::pin(sqlite::SqliteStore::all_projects(self))
    }
    fn due_contacts(
        &self,
        project_id: i64,
        now: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<DueContact>, StoreError>> {
        Box::pin(sqlite::SqliteStore::due_contacts(
            self, project_id, now, limit,
        ))
    }
    fn start_call<'a>(
        &'a self,
        project_id: i64,
        contact_id: i64,
        number: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<i64, StoreError>> {
        Box::pin(sqlite::SqliteStore::start_call(
            self, project_id, contact_id, number, now,
        ))
    }
    fn finish_call<'a, 'b: 'a>(
        &'a self,
        f: &'a FinishedCall<'b>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::finish_call(self, f))
    }
    fn in_flight(&self) -> BoxFuture<'_, Result<Vec<InFlight>, StoreError>> {
        Box::pin(sqlite::SqliteStore::in_flight(self))
    }
    fn contact(&self, id: i64) -> BoxFuture<'_, Result<DueContact, StoreError>> {
        Box::pin(sqlite::SqliteStore::contact(self, id))
    }
    fn log_decision<'a>(
        &'a self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&'a str>,
        decision: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::log_decision(
            self, at, project_id, contact_id, number, decision, reason,
        ))
    }
    fn stop_listed<'a>(&'a self, e164: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(sqlite::SqliteStore::stop_listed(self, e164))
    }
}
