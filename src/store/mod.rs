//! The store: the only place with SQL. Its users see it through traits split by what they
//! need — `CampaignStore` (the API's writes: scenarios, projects, imports, the stop list,
//! prompts), `ReportStore` (stats, calls, last results, the decision log), `AuthStore` (API
//! tokens) and `DialerStore` (the dialer and its calls) — and its rows (`model`). `sqlite` is
//! the single-node default (sqlx, migrations in `migrations/sqlite/`); another backend
//! implements the same traits beside it. The file formats (reading contact files, writing
//! reports) live outside, in `import` and `export`: nothing here parses a file.
pub mod action;
pub mod admin;
pub mod agents;
pub mod greetings;
pub mod model;
pub mod pacing_options;
pub mod postgres;
pub mod project_edit;
pub mod search;
pub mod shared;
pub mod sqlite;
pub mod transfer_options;
pub mod users;

pub use action::{ActionKind, NewAction, Payload};
pub use admin::{AdminStore, ImportStatus, ImportWatch, RejectRow, ServerCounts, SmsOutcome};
pub use agents::{AgentChange, AgentKind, AgentRow, AgentStore, WrapUpRecord};
pub use greetings::{GreetingEdit, GreetingStore, GreetingView};
pub use model::*;
pub use project_edit::{
    check_settings, DeleteCount, ProjectEdit, SettingError, MAX_LINES, MAX_PROJECT_NAME,
};
pub use search::{CallPage, CallSearch, SEARCH_WINDOW};
pub use users::{SessionRow, TokenOwner, TokenRow, UserEdit, UserRow, UserStore};

use crate::import::{ImportLimits, ImportReport};
use crate::rules::attempts::ContactAttempts;
use crate::rules::plan::Plan;
use async_trait::async_trait;

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

/// A stored scenario. Scenarios are never changed once stored: projects refer to them by id.
#[derive(Debug, Clone)]
pub struct ScenarioRow {
    pub id: i64,
    pub name: String,
    /// The scenario as TOML.
    pub source: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// What setting campaigns up needs: scenarios, projects and their status, contact imports,
/// the stop list, stored prompts (the API's write side).
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Stores a scenario (already validated by the caller) and returns its id.
    async fn create_scenario(&self, name: &str, source: &str) -> Result<i64, StoreError>;
    /// Creates a project after checking every value; answers its id.
    async fn create_project(&self, p: &NewProject) -> Result<i64, StoreError>;
    /// Activates a project: refused without contacts, or when five others are active (the
    /// error names them); one conditional UPDATE, so it holds under concurrent activations.
    async fn activate(&self, id: i64) -> Result<(), StoreError>;
    /// Pauses a project (the dialer stops starting calls for it at once).
    async fn pause(&self, id: i64) -> Result<(), StoreError>;
    /// Imports contacts from CSV into a project: good rows are stored in batches, bad values
    /// reported by row; numbers already in the project merge (counted as duplicates). The
    /// import is all or nothing for whole-file failures (the size limit hit while streaming,
    /// an I/O or database error): the contacts it added are removed again and the error
    /// returned. Its contacts are dialed only once it has finished. One import at a time per
    /// project (a second one meanwhile is a conflict).
    async fn import_contacts(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
    ) -> Result<ImportReport, StoreError>;
    /// As `import_contacts`, followed: the import's id as it begins, its progress against the
    /// upload's size, every refused value kept (`AdminStore`). A backend that keeps no progress
    /// imports as `import_contacts` does.
    async fn import_contacts_watched(
        &self,
        project_id: i64,
        input: Box<dyn std::io::Read + Send>,
        limits: ImportLimits,
        _watch: ImportWatch,
    ) -> Result<ImportReport, StoreError> {
        self.import_contacts(project_id, input, limits).await
    }
    /// Adds a number to the stop list, and re-plans every open contact that has it in any
    /// project (those in a call are re-planned when the call ends). Answers how many contacts
    /// changed.
    async fn add_to_stop_list(&self, e164: &str, reason: &str) -> Result<u64, StoreError>;
    /// All projects, oldest first.
    async fn list_projects(&self) -> Result<Vec<ProjectView>, StoreError>;
    /// One project.
    async fn project(&self, id: i64) -> Result<ProjectView, StoreError>;
    /// A project's id by its name (actions name projects).
    async fn project_id_by_name(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// How many projects there are (a fresh data directory has none).
    async fn project_count(&self) -> Result<i64, StoreError>;
    /// Stores (or replaces) a prompt's original bytes.
    async fn put_prompt(&self, name: &str, data: &[u8]) -> Result<bool, StoreError>;
    /// Every stored prompt: (name, bytes) — written out as files at start.
    async fn prompts(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// A stored scenario: (name, TOML source).
    async fn scenario(&self, id: i64) -> Result<(String, String), StoreError>;
    /// Every stored scenario, newest first (the web UI's list; a few hundred at most).
    async fn list_scenarios(&self) -> Result<Vec<ScenarioRow>, StoreError>;
    /// The stop list, one page in number order after `after`: (E.164, reason, added at).
    async fn stop_list(
        &self,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Takes a number off the stop list; answers whether it was there.
    async fn remove_from_stop_list(&self, e164: &str) -> Result<bool, StoreError>;
    /// Changes where a project's webhooks go and what signs them (`Some(None)` removes it,
    /// `None` leaves it): a new address is delivered to again even if the old one answered
    /// 410 Gone; a secret rotates by holding the new and the old, space-separated.
    async fn set_project_webhook(
        &self,
        id: i64,
        url: Option<Option<String>>,
        secret: Option<Option<String>>,
    ) -> Result<ProjectView, StoreError>;
    /// Copies every contact of `status` (`not_called`, `retry`, `reached`, `not_reached`) of
    /// project `from` into project `to`, as new contacts not yet called (numbers the target has
    /// or the stop list holds stay behind).
    async fn copy_contacts(
        &self,
        from: i64,
        status: crate::rules::attempts::ContactStatus,
        to: i64,
    ) -> Result<CopyCount, StoreError>;
    /// Replaces a project's own transfer settings (the dialer's next call follows them).
    async fn set_project_transfer(
        &self,
        id: i64,
        transfer: &TransferOptions,
    ) -> Result<ProjectView, StoreError>;
    /// Changes a project's settings (each given field; checked as at creation) and, when the
    /// edit changes how contacts are planned, plans every open contact again under the new
    /// settings, in batches (contacts in a call are planned when their call ends), waiting for
    /// that up to 20 s (a larger base goes on in the background). Answers the project as it is
    /// now.
    async fn edit_project(&self, id: i64, edit: &ProjectEdit) -> Result<ProjectView, StoreError>;
    /// Deletes the contacts of `status` of a project, never one in a call: those without calls
    /// go; those with calls stay for their calls' history, hidden from every count, list and
    /// export (`DeleteCount::kept_for_history`). In batches.
    async fn delete_contacts(
        &self,
        id: i64,
        status: crate::rules::attempts::ContactStatus,
    ) -> Result<DeleteCount, StoreError>;
    /// A project's settings as a creation gives them, its webhook secret in full (never shown:
    /// the checks of an edit need it).
    async fn project_settings(&self, id: i64) -> Result<NewProject, StoreError>;
    /// Every stored scenario: (id, name), oldest first.
    async fn scenario_list(&self) -> Result<Vec<(i64, String)>, StoreError>;
    /// One action with its delivery log.
    async fn action(&self, id: i64) -> Result<ActionView, StoreError>;
    /// Tries a failed action again from `now_ms` until `give_up_at` (an SMS is looked up at
    /// SMSC first); `Conflict` unless it failed.
    async fn retry_action(
        &self,
        id: i64,
        now_ms: i64,
        give_up_at: i64,
    ) -> Result<ActionView, StoreError>;
    /// Cancels an action still waiting; `Conflict` once it is being carried out or done.
    async fn cancel_action(&self, id: i64, now_ms: i64) -> Result<ActionView, StoreError>;
}

/// What the reports need: stats, calls, last results, the decision log, metrics (read-only).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Contacts by status, calls, results and cost of a project.
    async fn stats(&self, id: i64) -> Result<ProjectStats, StoreError>;
    /// Calls, newest first, one page.
    async fn list_calls(&self, f: &CallFilter) -> Result<Vec<CallView>, StoreError>;
    /// One call, with its actions.
    async fn call(&self, id: i64) -> Result<CallView, StoreError>;
    /// Calls found by the web UI's filters, newest first, one keyset page (`search`).
    async fn search_calls(&self, f: &CallSearch) -> Result<CallPage, StoreError>;
    /// A call's timeline (`call::Timeline` as JSON), if it has one (`NotFound`: no such call).
    async fn call_timeline(&self, id: i64) -> Result<Option<String>, StoreError>;
    /// The import's other columns of a contact (the call page shows them).
    async fn contact_fields(
        &self,
        contact_id: i64,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError>;
    /// A project's calls started at or after `since` (unix s) and their cost (the projects
    /// page's "today").
    async fn calls_since(
        &self,
        project_id: i64,
        since: i64,
    ) -> Result<(u64, crate::rules::money::Kopecks), StoreError>;
    /// A project's actions, newest first, one page, each with its delivery log.
    async fn list_actions(&self, f: &ActionFilter) -> Result<Vec<ActionView>, StoreError>;
    /// One row per contact of a project with its newest call, in import order, one page
    /// after contact id `after` (optionally only contacts of one status).
    async fn last_results(
        &self,
        project_id: i64,
        status: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LastResult>, StoreError> {
        let f = LastFilter {
            status: status.map(str::to_string),
            result: None,
            after,
            limit,
        };
        self.last_results_where(project_id, &f).await
    }
    /// As `last_results`, also only contacts whose newest call has a given result.
    async fn last_results_where(
        &self,
        project_id: i64,
        f: &LastFilter,
    ) -> Result<Vec<LastResult>, StoreError>;
    /// The field names used by a project's contacts (export columns), in first-seen order of
    /// up to the first 1,000 contacts.
    async fn field_names(&self, project_id: i64) -> Result<Vec<String>, StoreError>;
    /// The dialer's decision log of a project, newest first: (at, contact, number, decision,
    /// reason).
    async fn decisions(
        &self,
        project_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError> {
        self.decisions_of(project_id, None, before_id, limit).await
    }
    /// As `decisions`, only those about one contact when `contact_id` is given.
    async fn decisions_of(
        &self,
        project_id: i64,
        contact_id: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Decision>, StoreError>;
    /// Where a call's recording is on the server, if it has one (`NotFound`: no such call).
    async fn recording_path(&self, call_id: i64) -> Result<Option<std::path::PathBuf>, StoreError>;
    /// Calls up now, finished calls by result, and answered calls that got no audio from the
    /// callee, over all projects (metrics).
    async fn call_totals(&self) -> Result<CallTotals, StoreError>;
    /// A project's calls started and answered in each of `hours` hours from `from` (unix s,
    /// 3600 s apart), oldest first: the project page's chart by hour.
    async fn calls_by_hour(
        &self,
        project_id: i64,
        from: i64,
        hours: u32,
    ) -> Result<Vec<HourCalls>, StoreError>;
}

/// One hour of a project's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCalls {
    pub calls: u64,
    /// Of them answered (by a person or a machine).
    pub answered: u64,
}

/// API tokens (only their SHA-256 is kept).
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Stores an API token (its hash only); an existing one is left as is.
    async fn add_token(&self, name: &str, token: &str) -> Result<(), StoreError>;
    /// How many API tokens exist.
    async fn token_count(&self) -> Result<i64, StoreError>;
    /// Who the token acts as, if it is a valid one (a token of a disabled user is not).
    async fn check_token(&self, token: &str) -> Result<Option<TokenOwner>, StoreError>;
}

/// What the dialer and its calls need (they see the store only through this).
#[async_trait]
pub trait DialerStore: Send + Sync {
    /// Marks an active project `finished` when nothing is left to call and no call of it is up
    /// (nor an import running): it frees its active slot. Answers whether it did.
    async fn finish_if_done(&self, id: i64, at: i64) -> Result<bool, StoreError>;
    /// Marks an active project whose end date-time has come `finished` (calls in progress end
    /// normally). Answers whether it did.
    async fn finish_at_end(&self, id: i64, at: i64) -> Result<bool, StoreError>;
    /// Active projects with everything the dialer needs.
    async fn dialing_projects(&self) -> Result<Vec<ProjectRow>, StoreError>;
    /// Every project (recovery needs the rules of paused ones too).
    async fn all_projects(&self) -> Result<Vec<ProjectRow>, StoreError>;
    /// Makes the waiting contacts of a project whose time has come (`next_at <= now`) ready,
    /// at most `max` of them, those waiting longest first. Answers how many.
    async fn promote_due(&self, project_id: i64, now: i64, max: u32) -> Result<u64, StoreError>;
    /// The gates (callee zones, `""` for unknown) present among a project's ready contacts.
    async fn ready_gates(&self, project_id: i64) -> Result<Vec<String>, StoreError>;
    /// Holds up to `max` ready contacts of one gate until `until` (unix s), writing one
    /// `hold` line with `reason` per contact, in one transaction. Answers how many.
    async fn hold_gate(
        &self,
        project_id: i64,
        gate: &str,
        until: i64,
        reason: &str,
        at: i64,
        max: u32,
    ) -> Result<u64, StoreError>;
    /// The first `limit` ready contacts of a project in its order, with their numbers.
    async fn next_callable(
        &self,
        project_id: i64,
        limit: u32,
    ) -> Result<Vec<DueContact>, StoreError>;
    /// Starts calls: parks each contact (so no pass picks it again) and records its call and
    /// the dial decision, all in one transaction. A contact no longer ready (closed, stop
    /// listed or held meanwhile) gets `None` and is not dialed.
    async fn start_calls(
        &self,
        project_id: i64,
        calls: &[StartCall<'_>],
        now_ms: i64,
    ) -> Result<Vec<Option<i64>>, StoreError>;
    /// Records that a call was answered, at once: the time, SIP 200, and where its recording
    /// is being written, so that a crash before its end keeps them.
    async fn call_answered(
        &self,
        call_id: i64,
        answered_at_ms: i64,
        recording: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Writes what the scenario decided while the call is up — the result so far, the
    /// reaction, the captured values and the call's actions (each once) — in one transaction,
    /// so a stop before the call's end loses none of it. `false` when the call is not in
    /// progress any more (nothing written).
    async fn decide_call(&self, d: &CallDecision<'_>) -> Result<bool, StoreError>;
    /// Writes a call's result, its contact's new plan and the decisions, in one transaction.
    /// The call must still be in progress (else `Conflict`, nothing written); the contact's
    /// plan is written only while the contact is parked for the call.
    async fn finish_call(&self, f: &FinishedCall<'_>) -> Result<(), StoreError>;
    /// Writes a new plan for a contact that is not in a call (the dialer found its number
    /// stop-listed or its callee's window closed when it came to dial it), with log lines —
    /// only if the contact is still as it was read (`c.version`); answers whether it was.
    async fn replan_contact(
        &self,
        project_id: i64,
        c: &DueContact,
        number: Option<&str>,
        attempts: &ContactAttempts,
        plan: &Plan,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Pauses an active project the robot cannot run (its scenario does not load, its schedule
    /// does not parse), with the reason shown in the API: it frees its active slot.
    async fn set_aside_project(&self, id: i64, reason: &str, at: i64) -> Result<bool, StoreError>;
    /// Closes a contact whose row cannot be read, setting it aside with the reason (one ERROR
    /// line; reports show it as `system` «damaged row»).
    async fn quarantine_contact(&self, id: i64, why: &str, at: i64) -> Result<(), StoreError>;
    /// An agent answered call `call_id`'s transfer: its held callback (if any) is removed.
    /// Answers how many rows went.
    async fn transfer_answered(&self, call_id: i64) -> Result<u64, StoreError>;
    /// Writes actions of call `call_id` that go at once (the `transfer.started` webhook),
    /// each once (`(call, idx)` is unique); nothing when the call is closed already.
    async fn call_actions_now(
        &self,
        call: (i64, i64, i64),
        actions: &[NewAction],
        at_ms: i64,
        give_up_at: i64,
    ) -> Result<bool, StoreError>;
    /// Closes a call in progress without touching its contact (whose row cannot be read):
    /// `system` with the reason. `false` when it was not in progress.
    async fn close_call_only(
        &self,
        call_id: i64,
        why: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Records a callee zone learnt for a number (from the numbering-plan registry).
    async fn set_number_zone(&self, e164: &str, zone: &str) -> Result<(), StoreError>;
    /// How many times a project's settings were edited (`ProjectRow::settings_version`).
    async fn settings_version(&self, project_id: i64) -> Result<i64, StoreError>;
    /// Plans a contact again under its project's settings of now (a call that ended after an
    /// edit it began before planned it under the old ones); a contact in a call or closed is
    /// left as it is. Answers whether it was planned again.
    async fn replan_one(&self, project_id: i64, contact_id: i64) -> Result<bool, StoreError>;
    /// Calls that were in progress when the process stopped.
    async fn in_flight(&self) -> Result<Vec<InFlight>, StoreError>;
    /// The attempt state and numbers of one contact.
    async fn contact(&self, id: i64) -> Result<DueContact, StoreError>;
    /// Appends to the decision log.
    async fn log_decision(
        &self,
        at: i64,
        project_id: i64,
        contact_id: Option<i64>,
        number: Option<&str>,
        decision: &str,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Whether the database answers (a round trip that reads nothing): the dialer asks when
    /// a pass hangs (`dialer::db_watch`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Of `projects` — (project id, how many of its agents are present on this node) for the
    /// projects whose callers are transferred to agents — those this process may dial now: a
    /// project's transfers are pinned to one node (docs/operations.md "Several nodes"). A
    /// store one process has alone (SQLite) answers all of them.
    async fn hold_transfer_pins(&self, projects: &[(i64, u32)]) -> Result<Vec<i64>, StoreError> {
        Ok(projects.iter().map(|p| p.0).collect())
    }
    /// Which of `numbers` are on the stop list.
    async fn stop_listed_among(
        &self,
        numbers: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError>;
}

/// What the outbox worker needs (docs/actions.md).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` due actions of these kinds (`queued`, `next_at` passed): they
    /// become `sending` with one more attempt.
    async fn claim_actions(
        &self,
        kinds: &[ActionKind],
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, StoreError>;
    /// Takes up to `limit` sent SMS whose delivery poll is due, moving their next poll to
    /// `next_poll_ms` (so no second walk takes them meanwhile).
    async fn claim_polls(
        &self,
        now_ms: i64,
        next_poll_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, StoreError>;
    /// Actions a stop left `sending`.
    async fn sending_actions(&self) -> Result<Vec<ActionRow>, StoreError>;
    /// Writes an attempt's outcome — the action's new state and a line in its log — only if
    /// the action is still in the state `from` that attempt began in (compare-and-set):
    /// answers whether it was. A state changed meanwhile (a retry or cancel through the API,
    /// another path of the worker) is never overwritten.
    async fn update_action(
        &self,
        id: i64,
        from: ActionStatus,
        u: &ActionUpdate,
    ) -> Result<bool, StoreError>;
    /// A line in an action's log without a change of state (a delivery poll).
    async fn log_attempt(&self, id: i64, a: &AttemptLog) -> Result<(), StoreError>;
    /// Copies the action's contact into the project named `project` (the reached number
    /// first, stop-listed and already present numbers left out; not dialed before
    /// `not_before`, unix s, when given) and marks the action done, in one transaction.
    async fn copy_contact(
        &self,
        a: &ActionRow,
        project: &str,
        first_number: &str,
        not_before: Option<i64>,
        now_ms: i64,
    ) -> Result<CopyOutcome, StoreError>;
    /// Puts the numbers on the stop list and marks the action done, in one transaction, then
    /// re-plans every contact that has them. `false` when the action was not claimed any more.
    async fn opt_out(
        &self,
        a: &ActionRow,
        numbers: &[String],
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// The secret a project's webhooks are signed with (none: the server's).
    async fn webhook_secret(&self, project_id: i64) -> Result<Option<String>, StoreError>;
    /// A webhook's body as its first attempt fixed it: `body` is kept if none is yet, and the
    /// kept one is answered (every retry sends the same bytes).
    async fn fix_webhook_body(&self, id: i64, body: &str) -> Result<String, StoreError>;
    /// When a receiver at `url` answered 410 Gone (no more deliveries there), if it did.
    async fn webhook_gone(&self, url: &str) -> Result<Option<i64>, StoreError>;
    /// Notes that the receiver at `url` answered 410 Gone to action `action_id`.
    async fn mark_webhook_gone(
        &self,
        url: &str,
        action_id: i64,
        at_ms: i64,
    ) -> Result<(), StoreError>;
    /// The SMS lane was held (no money, a refused login) since `since_ms`: remembered, so the
    /// time held can be given back to the SMS when the hold ends, even after a restart.
    async fn note_sms_hold(&self, since_ms: i64) -> Result<(), StoreError>;
    /// The hold ended at `now_ms`: every SMS not final gets the time held added to its give-up
    /// time (time held does not count). Answers the time held, if a hold was noted.
    async fn end_sms_hold(&self, now_ms: i64) -> Result<Option<i64>, StoreError>;
    /// A call's actions, in order.
    async fn call_actions(&self, call_id: i64) -> Result<Vec<ActionView>, StoreError>;
}

/// Everything `serve` needs of its database, whichever backend holds it: SQLite (one node,
/// the default) or PostgreSQL (`database_url`, one or several nodes). Both implement every
/// store trait; an `Arc<dyn Backend>` is handed to each part as the trait it uses.
#[async_trait]
pub trait Backend:
    CampaignStore
    + ReportStore
    + AuthStore
    + DialerStore
    + OutboxStore
    + AdminStore
    + AgentStore
    + GreetingStore
    + UserStore
{
    /// Another handle on the same database with `n` connections of its own (the dialer's,
    /// the outbox's), so their bookkeeping never queues behind API work.
    async fn own_connections(&self, n: u32) -> Result<std::sync::Arc<dyn Backend>, StoreError>;
    /// The installation's values, made at the first call and kept from then on.
    async fn installation(&self) -> Result<shared::Installation, StoreError>;
    /// Which database: `"sqlite"` or `"postgres"` (logs, the settings page).
    fn kind(&self) -> &'static str;
    /// SMSC's request slots shared with other nodes, when this store is one of several
    /// (PostgreSQL with a node); `None`: this process alone sends with its login.
    fn shared_smsc_slots(&self) -> Option<std::sync::Arc<dyn SmscSlots>>;
}

/// SMSC's limit of requests at once per login, kept across the nodes that share it.
#[async_trait]
pub trait SmscSlots: Send + Sync {
    /// Takes a free request slot for at most `hold_ms` (then another node may take it), or
    /// `None` when every slot is in use.
    async fn take_smsc_slot(&self, hold_ms: i64) -> Result<Option<i64>, StoreError>;
    /// Gives a slot back.
    async fn give_smsc_slot(&self, slot: i64) -> Result<(), StoreError>;
}

#[async_trait]
impl Backend for sqlite::SqliteStore {
    async fn own_connections(&self, n: u32) -> Result<std::sync::Arc<dyn Backend>, StoreError> {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::own_connections(self, n).await?,
        ))
    }
    async fn installation(&self) -> Result<shared::Installation, StoreError> {
        sqlite::SqliteStore::installation(self).await
    }
    fn kind(&self) -> &'static str {
        "sqlite"
    }
    fn shared_smsc_slots(&self) -> Option<std::sync::Arc<dyn SmscSlots>> {
        None
    }
}

#[async_trait]
impl Backend for postgres::PgStore {
    async fn own_connections(&self, n: u32) -> Result<std::sync::Arc<dyn Backend>, StoreError> {
        Ok(std::sync::Arc::new(
            postgres::PgStore::own_connections(self, n).await?,
        ))
    }
    async fn installation(&self) -> Result<shared::Installation, StoreError> {
        postgres::PgStore::installation(self).await
    }
    fn kind(&self) -> &'static str {
        "postgres"
    }
    fn shared_smsc_slots(&self) -> Option<std::sync::Arc<dyn SmscSlots>> {
        self.node()
            .is_some()
            .then(|| std::sync::Arc::new(self.clone()) as std::sync::Arc<dyn SmscSlots>)
    }
}
