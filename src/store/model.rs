//! The store's rows as its users see them: what a project, a call, a contact and a decision
//! look like to the API, the exports and the dialer. Plain data, no SQL: every backend answers
//! with these (see the traits in `store`).
use crate::phone::NumberKind;
use crate::rules::attempts::{AttemptRules, ContactAttempts, ContactStatus, RetryRule};
use crate::rules::decide::OrderBy;
use crate::rules::money::Kopecks;
use crate::rules::plan::{NumberFacts, OrderFacts, Plan, ProjectFacts};
use crate::rules::schedule::{Schedule, TypeWindows};
use crate::scenario::system_result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::pacing_options::{Mode, PacingOptions};
pub use super::transfer_options::*;

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
    pub tariff: crate::rules::tariff::Tariff,
    /// Nothing dials before this local date-time (`2026-12-01 09:00`, the project's zone).
    pub starts_at: Option<String>,
    /// At this local date-time the project stops dialing and becomes finished.
    pub ends_at: Option<String>,
    /// Windows per number type (`{"work": ["mon-fri 09:00-12:00", "mon-fri 14:00-18:00"]}`),
    /// read in the callee's local time, inside the schedule.
    pub type_windows: BTreeMap<String, Vec<String>>,
    /// Every call's final JSON is posted here, signed with `webhook_secret` (docs/actions.md).
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// The project's own transfer settings; the ones not set follow the server's `[agents]`.
    pub transfer: TransferOptions,
    /// How calls are placed (docs/pacing.md).
    pub mode: Mode,
    /// The mode's settings; those not set take the defaults.
    pub pacing: PacingOptions,
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
            starts_at: None,
            ends_at: None,
            type_windows: BTreeMap::new(),
            webhook_url: None,
            webhook_secret: None,
            transfer: TransferOptions::default(),
            mode: Mode::Robot,
            pacing: PacingOptions::default(),
        }
    }
}

/// `GET /projects/{id}/stats` (docs/api.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProjectStats {
    /// The project's status (`draft`, `active`, `paused`, `finished`).
    pub status: String,
    /// Why, when the robot put it there (see `ProjectView::status_reason`).
    pub status_reason: Option<String>,
    /// Contacts by status, with those in a call right now as `in_call`.
    pub contacts: BTreeMap<String, u64>,
    pub calls: u64,
    pub results: BTreeMap<String, u64>,
    /// Roubles, exact to the kopeck.
    pub cost: Kopecks,
    /// What the calls' actions came to.
    pub actions: ActionStats,
    /// Transfers to agents and numbers (docs/agents.md).
    pub transfers: TransferStats,
}

/// A project's transfers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TransferStats {
    /// Calls that were transferred (to agents or a number).
    pub transfers: u64,
    /// Answered by an agent (or the external number).
    pub answered: u64,
    /// Callers who hung up before an agent answered (`queue_abandoned`).
    pub abandoned: u64,
    /// Callers who waited as long as allowed (`queue_timeout`).
    pub timed_out: u64,
    /// Seconds from the transfer to the agent's answer (or the caller leaving): mean, 90th
    /// percentile.
    pub queue_avg_s: f64,
    pub queue_p90_s: f64,
    /// Seconds talked with agents.
    pub talk_s: u64,
}

/// The API route that streams call `id`'s recording (what every view of a call shows as its
/// `recording`, instead of the file's place on the server).
pub fn recording_url(id: i64) -> String {
    format!("/api/v1/calls/{id}/recording")
}

/// The most rows one page may ask for.
pub const MAX_PAGE: u32 = 5_000;

/// A project as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub scenario_id: i64,
    pub status: String,
    pub time_zone: String,
    pub schedule: serde_json::Value,
    pub lines: i64,
    pub max_calls_per_number: i64,
    pub retry_rules: serde_json::Value,
    pub ordering: serde_json::Value,
    pub callback_project_id: Option<i64>,
    pub tariff: serde_json::Value,
    /// Local date-times in the project's zone (`2026-12-01 09:00`), when set.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub type_windows: serde_json::Value,
    pub created_at: i64,
    /// When it became `finished` (unix s).
    pub finished_at: Option<i64>,
    /// Why it is in its status, when the robot put it there (a paused project whose scenario
    /// no longer loads, whose stored settings are damaged).
    pub status_reason: Option<String>,
    /// Where every call's final JSON is posted, if anywhere.
    pub webhook_url: Option<String>,
    /// The webhook secret, masked (`whsec_…Ab3d`): whether one is set, never what it is.
    pub webhook_secret: Option<String>,
    /// The project's own transfer settings (those set).
    pub transfer: TransferOptions,
    /// How calls are placed (docs/pacing.md).
    pub mode: Mode,
    /// The pacing settings it sets.
    pub pacing: PacingOptions,
}

/// Which contacts `last_results` lists.
#[derive(Debug, Clone, Default)]
pub struct LastFilter {
    /// Only contacts of this status.
    pub status: Option<String>,
    /// Only contacts whose newest call has this result.
    pub result: Option<String>,
    /// Contact id cursor.
    pub after: i64,
    pub limit: u32,
}

/// Which calls to list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub project_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub result: Option<String>,
    /// Only calls of contacts that have this status now.
    pub contact_status: Option<String>,
    /// Keyset cursor: only calls with a smaller id (the previous page's `next`).
    pub before_id: Option<i64>,
    /// Page size; 0 means the largest page (`MAX_PAGE`).
    pub limit: u32,
}

/// The answering-machine verdict of an answered call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AmdView {
    pub verdict: String,
    pub reason: Option<String>,
    pub decided_at_ms: Option<i64>,
}

/// One call as the API and exports show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallView {
    pub id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub contact_name: Option<String>,
    pub number: String,
    /// What the number is for: `mobile`, `work`, `home`, `other`.
    pub number_type: Option<String>,
    /// `dialing` while the call is up, `done` after.
    pub state: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// Seconds from start to end.
    pub duration_s: Option<i64>,
    /// Seconds from answer to end (what the tariff charges).
    pub talk_s: Option<i64>,
    /// Milliseconds from dialing to the answer (or to the end of an unanswered call).
    pub ring_ms: Option<i64>,
    /// Milliseconds from the answer to the end.
    pub talk_ms: Option<i64>,
    /// Why the call ended as it did, in words ("ring timeout", "no audio from the callee",
    /// "interrupted by a stop after the answer", ...), where there is more to say than the result.
    pub end_reason: Option<String>,
    pub sip_status: Option<i64>,
    pub result: Option<String>,
    /// Russian label: a system result's, or the scenario result's own name.
    pub result_label: Option<String>,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: serde_json::Value,
    pub amd: Option<AmdView>,
    pub recording: Option<String>,
    /// Why the recording stopped early or is missing (a write failed: the disk full); the
    /// call itself went on. Absent when the recording is whole or recording is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_error: Option<String>,
    pub cost: Kopecks,
    /// What the call's actions came to, in order (docs/actions.md).
    pub actions: Vec<ActionBrief>,
    /// The transfer to agents or to a number (docs/agents.md), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<serde_json::Value>,
    /// What the agent wrote after a transferred call (the agent desk's wrap-up), once written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up: Option<WrapUpView>,
}

/// A call's wrap-up by the agent who talked to the caller.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WrapUpView {
    /// One of the project's dispositions.
    pub disposition: String,
    /// The agent's note ('' when none).
    pub note: String,
    /// The call back asked for (unix s): the contact is copied into the callback project and
    /// not dialed before then.
    pub callback_at: Option<i64>,
    pub agent_id: Option<i64>,
    /// When it was written (unix ms).
    pub at_ms: i64,
}

/// One action of a call, in short (`GET /calls/{id}`, the calls export).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionBrief {
    pub id: i64,
    /// `sms`, `add_to_project`, `stop_list`, `webhook`.
    pub kind: String,
    /// `queued`, `sending`, `sent`, `delivered`, `done`, `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Roubles (an SMS, as SMSC billed it).
    pub cost: Option<Kopecks>,
}

/// One contact with its newest call (`GET /projects/{id}/last-results`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LastResult {
    pub contact_id: i64,
    pub name: Option<String>,
    pub status: String,
    pub status_label: String,
    pub numbers: Vec<String>,
    /// Each number's type, in the same order.
    pub number_types: Vec<String>,
    pub fields: BTreeMap<String, String>,
    pub priority: i64,
    pub calls: i64,
    pub last_call: Option<CallView>,
}

/// One entry of the dialer's decision log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Decision {
    pub id: i64,
    pub at: i64,
    pub contact_id: Option<i64>,
    pub number: Option<String>,
    /// `dial`, `skip`, `result` or `close`.
    pub decision: String,
    pub reason: String,
}

/// The label of a result code.
pub fn result_label(code: &str) -> String {
    system_result::label_ru(code)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// The Russian label of a stored contact status.
pub fn status_label(status: &str) -> String {
    serde_json::from_value::<ContactStatus>(serde_json::Value::String(status.to_string()))
        .map(|s| s.label_ru().to_string())
        .unwrap_or_else(|_| status.to_string())
}

/// What `/metrics` shows of calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTotals {
    pub up: i64,
    pub by_result: BTreeMap<String, i64>,
    /// Answered calls ended because no audio came from the callee (a broken media path).
    pub without_audio: i64,
}

/// A contact that may be called, with its numbers and attempt state.
#[derive(Debug, Clone)]
pub struct DueContact {
    pub id: i64,
    pub seq: i64,
    pub priority: i32,
    pub attempts: ContactAttempts,
    /// The number planned next.
    pub next_idx: usize,
    /// Its numbers in the contact's order.
    pub numbers: Vec<ContactNumber>,
    pub name: Option<String>,
    /// The import's other columns.
    pub fields: BTreeMap<String, String>,
    /// The row's version when it was read: a plan made from it is written only while the row
    /// is still at it (compare-and-set), so no other writer's change is ever overwritten.
    pub version: i64,
}

/// One of a contact's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactNumber {
    /// E.164.
    pub e164: String,
    /// The callee's zone (IANA name) where known.
    pub zone: Option<String>,
    pub kind: NumberKind,
}

/// A call the process was in when it stopped, with what it knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub call_id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub number: String,
    pub dialed_at_ms: Option<i64>,
    pub answered_at_ms: Option<i64>,
    pub recording: Option<String>,
    /// What the scenario had decided when the process stopped, if anything (kept: the
    /// call closes with it, its actions are in the outbox already).
    pub decided: Option<DecidedInFlight>,
}

/// A decision written while the call was up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedInFlight {
    pub result: String,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    /// JSON.
    pub captured: String,
    pub at_ms: i64,
}

/// What the scenario decided during a call, written at once (docs/actions.md): the result
/// so far, the reaction, the captured values and the call's actions so far (each written
/// once: an action already in the outbox is left as it is).
#[derive(Debug, Clone)]
pub struct CallDecision<'a> {
    pub call_id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub result: &'a str,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: String,
    pub at_ms: i64,
    pub actions: Vec<super::NewAction>,
    pub actions_give_up_at: i64,
}

/// One call to start.
#[derive(Debug, Clone)]
pub struct StartCall<'a> {
    pub contact_id: i64,
    /// The contact's version when it was picked: a contact changed since is not dialed.
    pub version: i64,
    pub number: &'a str,
    /// The dial decision's reason for the log.
    pub reason: String,
}

/// What a finished call writes.
#[derive(Debug, Clone)]
pub struct FinishedCall<'a> {
    pub call_id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub number: &'a str,
    pub result: &'a str,
    pub sip_status: Option<u16>,
    pub dialed_at_ms: Option<i64>,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    pub ring_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub reaction: Option<String>,
    pub transcript: Option<String>,
    pub captured: String,
    /// Verdict, reason, decided at (ms).
    pub amd: Option<(String, String, i64)>,
    pub recording: Option<String>,
    /// Why the recording stopped early or is missing, when a write failed.
    pub recording_error: Option<String>,
    pub cost: Kopecks,
    pub attempts: &'a ContactAttempts,
    pub plan: &'a Plan,
    /// Decision-log lines written with it: `(decision, reason)`.
    pub log: Vec<(String, String)>,
    /// Its actions, each one outbox row, written in the same transaction.
    pub actions: Vec<super::NewAction>,
    /// When the outbox gives its actions up (unix ms).
    pub actions_give_up_at: i64,
    /// The call's final JSON (webhooks written at the decision are sent with it).
    pub call_json: serde_json::Value,
    /// The call's transfer (docs/agents.md), when there was one.
    pub transfer: Option<serde_json::Value>,
    /// What happened when, for the call's timeline page (`call::Timeline` as JSON); answered
    /// calls only.
    pub timeline: Option<String>,
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
    pub ordering: Vec<crate::rules::decide::OrderBy>,
    pub tariff: crate::rules::tariff::Tariff,
    /// Unix s: nothing dials before.
    pub starts_at: Option<i64>,
    /// Unix s: the project finishes then.
    pub ends_at: Option<i64>,
    /// Window texts per number type.
    pub type_windows: BTreeMap<String, Vec<String>>,
    /// Where every call's final JSON is posted, if anywhere.
    pub webhook_url: Option<String>,
    /// Where a transfer's caller who never reached an agent goes when the scenario's transfer
    /// names no `callback_project` (the project's `callback_project_id`, by name).
    pub callback_project: Option<String>,
    /// The project's own transfer settings.
    pub transfer: TransferOptions,
    /// How calls are placed, and the mode's settings (docs/pacing.md).
    pub mode: Mode,
    pub pacing: PacingOptions,
    /// How many times its settings were edited: a call planned under an older version plans
    /// its contact again when it ends (docs/campaigns.md, "Editing a running project").
    pub settings_version: i64,
}

impl ProjectRow {
    /// The project's schedule, `None` when its stored text does not parse (logged by the
    /// dialer, which then does not dial the project).
    pub fn schedule(&self) -> Option<Schedule> {
        let windows: Vec<&str> = self.schedule.iter().map(String::as_str).collect();
        Schedule::new(&self.time_zone, &windows).ok()
    }

    /// The windows per number type, `None` when it gives none (or its texts do not parse,
    /// which creation refuses).
    pub fn types(&self) -> Option<TypeWindows> {
        if self.type_windows.is_empty() {
            return None;
        }
        TypeWindows::parse(&self.type_windows).ok()
    }
}

impl ProjectRow {
    /// The project's side of planning (`schedule` and `types` as parsed by the caller).
    pub fn facts<'a>(
        &'a self,
        schedule: Option<&'a Schedule>,
        types: Option<&'a TypeWindows>,
    ) -> ProjectFacts<'a> {
        ProjectFacts {
            rules: &self.rules,
            schedule,
            types,
            ordering: &self.ordering,
        }
    }
}

impl DueContact {
    /// What the planner needs of each number: the stop list (`listed`), the callee's zone
    /// (from the import, else the numbering-plan registry) and the type.
    pub fn number_facts<'a>(
        &'a self,
        listed: &std::collections::HashSet<String>,
        registry: Option<&crate::phone::registry::Registry>,
    ) -> Vec<NumberFacts<'a>> {
        self.numbers
            .iter()
            .map(|n| NumberFacts {
                e164: &n.e164,
                zone: n
                    .zone
                    .as_deref()
                    .and_then(|z| z.parse().ok())
                    .or_else(|| registry.and_then(|r| r.zone(&n.e164))),
                kind: n.kind,
                stop_listed: listed.contains(&n.e164),
            })
            .collect()
    }

    /// The contact's place in the order.
    pub fn order_facts(&self) -> OrderFacts {
        OrderFacts {
            seq: self.seq,
            priority: self.priority,
        }
    }

    /// Its numbers' E.164 texts.
    pub fn e164s(&self) -> Vec<String> {
        self.numbers.iter().map(|n| n.e164.clone()).collect()
    }
}

/// Parses a project's local date-time (`2026-12-01 09:00`, `2026-12-01T09:00:00`, or RFC 3339
/// with an offset) into unix seconds, reading a local one in `tz`.
pub fn parse_local_datetime(text: &str, tz: chrono_tz::Tz) -> Result<i64, String> {
    use chrono::TimeZone;
    let t = text.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(d.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return tz
                .from_local_datetime(&n)
                .earliest()
                .map(|d| d.timestamp())
                .ok_or_else(|| format!("{t:?} does not exist in {tz} (a clock change)"));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(n) = d.and_hms_opt(0, 0, 0) {
            if let Some(l) = tz.from_local_datetime(&n).earliest() {
                return Ok(l.timestamp());
            }
        }
    }
    Err(format!(
        "{t:?} is not a date-time: write it as 2026-12-01 09:00 (the project's zone) or with an offset, 2026-12-01T09:00:00+03:00"
    ))
}

/// A unix time as the project's local date-time, as `parse_local_datetime` reads it back.
pub fn local_datetime(t: i64, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Where an outbox action stands (docs/actions.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Done,
    Failed,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Queued => "queued",
            ActionStatus::Sending => "sending",
            ActionStatus::Sent => "sent",
            ActionStatus::Delivered => "delivered",
            ActionStatus::Done => "done",
            ActionStatus::Failed => "failed",
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ActionStatus::Delivered | ActionStatus::Done | ActionStatus::Failed
        )
    }
}

impl std::str::FromStr for ActionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(ActionStatus::Queued),
            "sending" => Ok(ActionStatus::Sending),
            "sent" => Ok(ActionStatus::Sent),
            "delivered" => Ok(ActionStatus::Delivered),
            "done" => Ok(ActionStatus::Done),
            "failed" => Ok(ActionStatus::Failed),
            other => Err(format!(
                "{other:?}: one of queued, sending, sent, delivered, done, failed"
            )),
        }
    }
}

/// An outbox row as the worker takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRow {
    pub id: i64,
    pub call_id: i64,
    pub idx: i64,
    pub project_id: i64,
    pub contact_id: i64,
    pub payload: super::Payload,
    pub status: ActionStatus,
    pub attempts: i64,
    pub give_up_at: i64,
    pub created_at: i64,
    /// SMSC's id once sent (delivery polls ask by it).
    pub external_id: Option<String>,
    /// A webhook's body, once its first attempt fixed it.
    pub body: Option<String>,
}

impl ActionRow {
    /// The key a receiver may deduplicate by: the call and the action's place in it.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(self.call_id, self.idx)
    }
}

/// What one attempt at an action came to, and the action's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionUpdate {
    pub status: ActionStatus,
    /// The next attempt or poll (unix ms), for `queued` and `sent`.
    pub next_at: Option<i64>,
    pub last_error: Option<String>,
    pub cost: Option<Kopecks>,
    pub parts: Option<i64>,
    pub external_id: Option<String>,
    /// Unix ms, when the state says so.
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub done_at: Option<i64>,
    pub attempt: AttemptLog,
}

/// One line of an action's delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptLog {
    pub at: i64,
    /// `sent`, `delivered`, `done`, `retry`, `failed`, `held`, `checked`.
    pub outcome: String,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

/// An action as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionView {
    pub id: i64,
    pub call_id: i64,
    pub contact_id: i64,
    pub kind: String,
    pub status: String,
    pub payload: serde_json::Value,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub cost: Option<Kopecks>,
    pub parts: Option<i64>,
    pub external_id: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub done_at: Option<i64>,
    /// The same on every attempt: a webhook's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptLog>,
}

/// An action's idempotency key: its call and its place among the call's actions (webhooks
/// send it as `Idempotency-Key`).
pub fn idempotency_key(call_id: i64, idx: i64) -> String {
    format!("call-{call_id}-action-{idx}")
}

/// Which actions to list.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub project_id: i64,
    pub status: Option<ActionStatus>,
    pub kind: Option<super::ActionKind>,
    /// Keyset cursor: only actions with a smaller id.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A project's actions in its stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActionStats {
    pub sms: SmsStats,
    pub added_to_projects: u64,
    pub opted_out: u64,
    pub webhooks: WebhookStats,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SmsStats {
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Roubles, as SMSC billed.
    pub cost: Kopecks,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WebhookStats {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// What copying a contact came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The new contact's id in the target.
    Copied(i64),
    /// Nothing to copy: every number is in the target already or on the stop list.
    NothingToCopy(String),
    /// No project has that name (a failure for good).
    NoSuchProject(String),
    /// The action was not being carried out any more (done or given up meanwhile).
    NotClaimed,
}

/// What a copy by status did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CopyCount {
    /// Contacts of that status in the source.
    pub matched: u64,
    pub copied: u64,
    /// Left behind: every number of theirs in the target already or on the stop list.
    pub skipped: u64,
}
