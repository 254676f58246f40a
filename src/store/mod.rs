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

use crate::dialer::attempts::ContactAttempts;
use crate::dialer::attempts::RetryRule;
use crate::dialer::decide::OrderBy;
use crate::dialer::plan::Plan;
use crate::telephony::trunk::BoxFuture;
use import::{ImportLimits, ImportReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

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
    /// Makes up to `max` waiting contacts whose time has come ready.
    fn promote_due(
        &self,
        project_id: i64,
        now: i64,
        max: u32,
    ) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// The gates (callee zones, `""` unknown) present among a project's ready contacts.
    fn ready_gates(&self, project_id: i64) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
    /// Holds up to `max` ready contacts of a gate until `until`, logging `reason` for each.
    #[allow(clippy::too_many_arguments)]
    fn hold_gate<'a>(
        &'a self,
        project_id: i64,
        gate: &'a str,
        until: i64,
        reason: &'a str,
        at: i64,
        max: u32,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The first `limit` ready contacts of a project in its order.
    fn next_callable(
        &self,
        project_id: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<DueContact>, StoreError>>;
    /// Parks the contacts and records their calls and dial decisions, atomically; `None` for
    /// a contact no longer ready (never dialed twice).
    fn start_calls<'a>(
        &'a self,
        project_id: i64,
        calls: &'a [StartCall<'a>],
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<Option<i64>>, StoreError>>;
    /// Records an answer as soon as it happens (time, recording path).
    fn call_answered<'a>(
        &'a self,
        call_id: i64,
        answered_at_ms: i64,
        recording: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Writes a call's result with its contact's new plan and the decisions, atomically.
    fn finish_call<'a, 'b: 'a>(
        &'a self,
        f: &'a FinishedCall<'b>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Writes a new plan for a contact not in a call, with its notes in the decision log.
    fn replan_contact<'a>(
        &'a self,
        project_id: i64,
        contact_id: i64,
        number: &'a str,
        attempts: &'a ContactAttempts,
        plan: &'a Plan,
        at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Records a callee zone learnt for a number (numbering-plan registry).
    fn set_number_zone<'a>(
        &'a self,
        e164: &'a str,
        zone: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Marks a project finished when nothing is left to call and no call is up.
    fn finish_if_done(&self, project_id: i64, at: i64) -> BoxFuture<'_, Result<bool, StoreError>>;
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
    /// Which of `numbers` are on the stop list.
    fn stop_listed_among<'a>(
        &'a self,
        numbers: &'a [String],
    ) -> BoxFuture<'a, Result<HashSet<String>, StoreError>>;
}

pub use sqlite::{DueContact, FinishedCall, InFlight, ProjectRow, StartCall};

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
    fn promote_due(
        &self,
        project_id: i64,
        now: i64,
        max: u32,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(sqlite::SqliteStore::promote_due(self, project_id, now, max))
    }
    fn ready_gates(&self, project_id: i64) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(sqlite::SqliteStore::ready_gates(self, project_id))
    }
    fn hold_gate<'a>(
        &'a self,
        project_id: i64,
        gate: &'a str,
        until: i64,
        reason: &'a str,
        at: i64,
        max: u32,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(sqlite::SqliteStore::hold_gate(
            self, project_id, gate, until, reason, at, max,
        ))
    }
    fn next_callable(
        &self,
        project_id: i64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<DueContact>, StoreError>> {
        Box::pin(sqlite::SqliteStore::next_callable(self, project_id, limit))
    }
    fn start_calls<'a>(
        &'a self,
        project_id: i64,
        calls: &'a [StartCall<'a>],
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<Option<i64>>, StoreError>> {
        Box::pin(sqlite::SqliteStore::start_calls(
            self, project_id, calls, now_ms,
        ))
    }
    fn call_answered<'a>(
        &'a self,
        call_id: i64,
        answered_at_ms: i64,
        recording: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::call_answered(
            self,
            call_id,
            answered_at_ms,
            recording,
        ))
    }
    fn finish_call<'a, 'b: 'a>(
        &'a self,
        f: &'a FinishedCall<'b>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::finish_call(self, f))
    }
    fn replan_contact<'a>(
        &'a self,
        project_id: i64,
        contact_id: i64,
        number: &'a str,
        attempts: &'a ContactAttempts,
        plan: &'a Plan,
        at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::replan_contact(
            self, project_id, contact_id, number, attempts, plan, at,
        ))
    }
    fn set_number_zone<'a>(
        &'a self,
        e164: &'a str,
        zone: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(sqlite::SqliteStore::set_number_zone(self, e164, zone))
    }
    fn finish_if_done(&self, project_id: i64, at: i64) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(sqlite::SqliteStore::finish_if_done(self, project_id, at))
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
    fn stop_listed_among<'a>(
        &'a self,
        numbers: &'a [String],
    ) -> BoxFuture<'a, Result<HashSet<String>, StoreError>> {
        Box::pin(sqlite::SqliteStore::stop_listed_among(self, numbers))
    }
}
