//! The API's bodies as OpenAPI schemas (docs/api.md). The handlers answer the store's own rows
//! (`store::model`, `import::report`), which know nothing of OpenAPI; the types here mirror
//! them field for field, with the constraints and enums the JSON has on the wire. The tests at
//! the bottom build each store row and check that it serializes to exactly the properties its
//! schema names, so a field added to a row without its schema fails here, not in a client.
#![allow(dead_code)] // Mirror types: read by the schema generator, never built.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub use super::transfer_schemas::{
    Pacing, PacingMode, PacingOptions, TransferOptions, TransferTotals,
};

pub use super::action_schemas::*;

/// What every failed request answers, whatever the route (docs/api.md, "Errors").
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// `null`, or an object with more: a scenario's `problems`, the `active` projects, the
    /// `valid` values of a field.
    #[schema(value_type = Option<Object>, required = true)]
    pub details: Option<serde_json::Value>,
}

/// The error's kind, for programs; each goes with one status: `bad_request` 400,
/// `unauthorized` 401, `forbidden` 403, `not_found` 404, `method_not_allowed` 405, `conflict` and
/// `too_many_active` 409, `too_large` 413, `invalid` 422, `internal` 500, `busy` 503.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed.
    BadRequest,
    /// 401: no valid bearer token.
    Unauthorized,
    /// 403: the token's role may not do this (docs/users.md, "Roles").
    Forbidden,
    /// 404: no such resource, or no such route.
    NotFound,
    /// 405: the route does not take that method.
    MethodNotAllowed,
    /// 409: the name is taken, or an import into the project is running.
    Conflict,
    /// 409: activating a sixth project.
    TooManyActive,
    /// 413: the body is over the route's limit.
    TooLarge,
    /// 416: a `Range` outside the recording.
    RangeNotSatisfiable,
    /// 422: well-formed but wrong.
    Invalid,
    /// 500: the database or the disk failed.
    Internal,
    /// 503: the server serves as many requests as it may; see `Retry-After`.
    Busy,
}

/// A body the server reads as bytes (audio, spreadsheets).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(Vec<u8>);

/// A stored prompt.
#[derive(Serialize, ToSchema)]
pub struct PromptStored {
    pub name: String,
    /// The file's size as stored.
    pub bytes: u64,
    /// Its length when played (8 kHz).
    pub duration_ms: u64,
}

/// One stored prompt in the list.
#[derive(Serialize, ToSchema)]
pub struct PromptInfo {
    pub name: String,
    pub bytes: u64,
}

/// `GET /prompts`: every stored prompt, by name.
#[derive(Serialize, ToSchema)]
pub struct PromptList {
    pub items: Vec<PromptInfo>,
}

/// A scenario sent as JSON: the TOML structure (docs/scenarios.md, "The same in JSON").
#[derive(Deserialize, ToSchema)]
pub struct ScenarioJson {
    pub name: String,
    /// The scenario's own results.
    pub results: Vec<String>,
    /// The first step's name.
    pub start: String,
    /// The steps by name (docs/scenarios.md, "A step").
    #[schema(value_type = BTreeMap<String, Object>)]
    pub steps: BTreeMap<String, serde_json::Value>,
}

/// A stored scenario.
#[derive(Serialize, ToSchema)]
pub struct ScenarioCreated {
    pub id: i64,
    pub name: String,
    /// The results it declares, in order.
    pub results: Vec<String>,
    /// What validation noticed without refusing it: each SMS template's parts (a `warning:`
    /// above three parts).
    pub notes: Vec<Placed>,
}

/// A problem or a note of a scenario, with its place.
#[derive(Serialize, ToSchema)]
pub struct Placed {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub step: Option<String>,
    pub field: Option<String>,
    pub message: String,
    /// The whole, as `check-scenario` prints it (`12:5: step `offer`: …`).
    pub text: String,
}

/// A stored scenario's text.
#[derive(Serialize, ToSchema)]
pub struct ScenarioSource {
    pub id: i64,
    pub name: String,
    /// The TOML source (a scenario sent as JSON is kept as its TOML equivalent).
    pub source: String,
}

/// The id of what was created.
#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// How to order the contacts due (docs/campaigns.md), applied in turn.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    NewFirst,
    RetriesFirst,
    Priority,
    OldestFirst,
    NewestFirst,
    FewestAttempts,
}

/// One retryable result's rule.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    /// Stop calling a number after this result came this many times in a row on it.
    #[schema(minimum = 1, maximum = 4294967295_u64)]
    pub attempts: u32,
    /// Wait this long after this result before the contact's next call.
    pub interval_s: u64,
}

/// Retry rules to set: the results not given keep their defaults (docs/campaigns.md).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRulesIn {
    #[serde(default)]
    pub no_answer: RetryRule,
    #[serde(default)]
    pub busy: RetryRule,
    #[serde(default)]
    pub rejected: RetryRule,
    #[serde(default)]
    pub system: RetryRule,
    #[serde(default)]
    pub answering_machine: RetryRule,
}

/// A project's retry rules, every retryable result with its rule.
#[derive(Serialize, ToSchema)]
pub struct RetryRules {
    pub no_answer: RetryRule,
    pub busy: RetryRule,
    pub rejected: RetryRule,
    pub system: RetryRule,
    pub answering_machine: RetryRule,
}

/// Prices in roubles (docs/campaigns.md, "Costs").
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    /// Per second from pickup (a started second counts whole).
    #[schema(minimum = 0, default = 0.04)]
    pub per_second: f64,
    /// Per recognised answer of at most `asr_short_s` seconds.
    #[schema(minimum = 0, default = 0.40)]
    pub asr_short: f64,
    /// Per recognised answer longer than that.
    #[schema(minimum = 0, default = 0.80)]
    pub asr_long: f64,
    #[schema(default = 15)]
    pub asr_short_s: u64,
}

/// A project to create: only `name` and `scenario_id` are needed (docs/api.md, "Projects").
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Unique; at most 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// A stored scenario.
    pub scenario_id: i64,
    /// An IANA zone; the schedule is read in it.
    #[serde(default)]
    #[schema(
        default = "Europe/Moscow",
        example = "Europe/Moscow",
        min_length = 1,
        pattern = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
    )]
    pub time_zone: String,
    /// Windows `DAYS HH:MM-HH:MM` (`mon`…`sun`, ranges, lists, `daily`); at least one.
    #[serde(default)]
    #[schema(min_items = 1, default = json!(["mon-fri 09:00-21:00", "sat,sun 10:00-20:00"]))]
    pub schedule: Vec<String>,
    /// Calls of this project up at once.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000, default = 10)]
    pub lines: u32,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2, default = 2)]
    pub max_calls_per_number: u32,
    #[serde(default)]
    pub retry_rules: RetryRulesIn,
    #[serde(default)]
    #[schema(default = json!(["new_first", "priority", "oldest_first"]))]
    pub ordering: Vec<OrderBy>,
    /// An existing project: where a transfer's caller who never reached an agent is added
    /// when the scenario's `transfer` names no `callback_project` (docs/agents.md).
    #[serde(default)]
    pub callback_project_id: Option<i64>,
    #[serde(default)]
    pub tariff: TariffIn,
    /// Nothing dials before this local date-time: `2026-12-01 09:00` in the project's zone,
    /// or with an offset (`2026-12-01T09:00:00+03:00`; docs/campaigns.md, "Start and end").
    #[serde(default)]
    pub starts_at: Option<String>,
    /// At this date-time the project stops dialing and becomes `finished`; later than
    /// `starts_at`.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Windows per number type, read in the callee's local time, inside the schedule.
    #[serde(default)]
    pub type_windows: TypeWindows,
    /// Every call's final JSON is posted here (Standard Webhooks, docs/actions.md). Checked
    /// when the project is saved: an http(s) address webhooks may go to.
    #[serde(default)]
    #[schema(min_length = 8, pattern = "^https?://[^/?#\\s]+")]
    pub webhook_url: Option<String>,
    /// Signs this project's webhooks: `whsec_<base64>` (Standard Webhooks; its decoded bytes
    /// sign) or any text of 16+ characters; several space-separated, new first, while one is
    /// rotated. Without one, the server's own secret signs.
    #[serde(default)]
    #[schema(min_length = 16)]
    pub webhook_secret: Option<String>,
    /// The project's own transfer settings; those not given follow the server's `[agents]`.
    #[serde(default)]
    pub transfer: TransferOptions,
    /// How calls are placed (docs/pacing.md); default `robot`.
    #[serde(default)]
    #[schema(nullable = false)]
    pub mode: Option<PacingMode>,
    /// The mode's settings; those not given take their defaults.
    #[serde(default)]
    pub pacing: PacingOptions,
}

/// What a phone number is for: from the import's header (`Телефон рабочий`) or the number.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Mobile,
    Work,
    Home,
    Other,
}

/// Windows per number type (docs/campaigns.md, "Windows per number type"): the types not given
/// follow the schedule alone.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeWindows {
    #[serde(default)]
    #[schema(min_items = 1, example = json!(["mon-fri 09:00-21:00"]))]
    pub mobile: Vec<String>,
    #[serde(default)]
    #[schema(min_items = 1, example = json!(["mon-fri 09:00-12:00", "mon-fri 14:00-18:00"]))]
    pub work: Vec<String>,
    #[serde(default)]
    #[schema(min_items = 1, example = json!(["daily 20:00-21:30"]))]
    pub home: Vec<String>,
    #[serde(default)]
    #[schema(min_items = 1)]
    pub other: Vec<String>,
}

/// Prices to set; the ones not given keep their defaults.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TariffIn {
    #[serde(default)]
    #[schema(minimum = 0, default = 0.04)]
    pub per_second: f64,
    #[serde(default)]
    #[schema(minimum = 0, default = 0.40)]
    pub asr_short: f64,
    #[serde(default)]
    #[schema(minimum = 0, default = 0.80)]
    pub asr_long: f64,
    #[serde(default)]
    #[schema(default = 15)]
    pub asr_short_s: u64,
}

/// A project's status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Draft,
    Active,
    Paused,
    Finished,
}

/// A project as the API shows it (`store::ProjectView`).
#[derive(Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub scenario_id: i64,
    pub status: ProjectStatus,
    pub time_zone: String,
    pub schedule: Vec<String>,
    pub lines: i64,
    pub max_calls_per_number: i64,
    pub retry_rules: RetryRules,
    pub ordering: Vec<OrderBy>,
    #[schema(required = true)]
    pub callback_project_id: Option<i64>,
    pub tariff: Tariff,
    /// Local date-times in the project's zone (`2026-12-01 09:00`), when set.
    #[schema(required = true)]
    pub starts_at: Option<String>,
    #[schema(required = true)]
    pub ends_at: Option<String>,
    pub type_windows: TypeWindows,
    /// Unix seconds.
    pub created_at: i64,
    /// When it became `finished` (unix seconds).
    #[schema(required = true)]
    pub finished_at: Option<i64>,
    /// Why it is in its status when the robot put it there: a project whose scenario no
    /// longer loads or whose stored settings are damaged is paused with the reason (activating
    /// it again clears it).
    #[schema(required = true)]
    pub status_reason: Option<String>,
    /// Where every call's final JSON is posted (docs/actions.md, "Webhooks").
    #[schema(required = true)]
    pub webhook_url: Option<String>,
    /// The webhook secret, masked (`whsec_…Ab3d`): whether one is set, never its value.
    #[schema(required = true)]
    pub webhook_secret: Option<String>,
    /// The project's own transfer settings (only those it sets).
    pub transfer: TransferOptions,
    /// How calls are placed (docs/pacing.md).
    pub mode: PacingMode,
    /// The pacing settings it sets.
    pub pacing: PacingOptions,
}

/// `GET /projects`: every project, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ProjectList {
    pub items: Vec<Project>,
}

/// A project's status after activating or pausing it.
#[derive(Serialize, ToSchema)]
pub struct ProjectState {
    pub id: i64,
    pub status: ProjectStatus,
}

/// Contacts by status; all four are always present.
#[derive(Serialize, ToSchema)]
pub struct ContactCounts {
    /// Never called yet (and not in a call now).
    pub not_called: u64,
    /// In a call right now.
    pub in_call: u64,
    /// Waiting for another try (and not in a call now).
    pub retry: u64,
    pub reached: u64,
    pub not_reached: u64,
}

/// `GET /projects/{id}/stats` (`store::ProjectStats`).
#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// The project's status.
    pub status: ProjectStatus,
    /// Why the robot paused it, when it did (a scenario that no longer loads, damaged
    /// settings); `null` otherwise.
    #[schema(required = true)]
    pub status_reason: Option<String>,
    pub contacts: ContactCounts,
    /// Finished calls.
    pub calls: u64,
    /// Finished calls by result (system codes and the scenario's results).
    pub results: BTreeMap<String, u64>,
    /// Their cost, roubles, exact to the kopeck (two decimals at most).
    pub cost: f64,
    /// What the calls' actions came to.
    pub actions: ActionTotals,
    /// Transfers to agents and numbers (docs/agents.md).
    pub transfers: TransferTotals,
    /// The SMS service: `off` (SMSC not configured), `running`, `held` (no money on the
    /// account: every SMS waits), `stopped` (SMSC refused the login: nothing is sent until a
    /// restart with a working one); `sms_service_note` says why.
    pub sms_service: SmsService,
    /// Why the SMS service is not running — only for a project whose scenario sends SMS
    /// (`null` otherwise).
    #[schema(required = true)]
    pub sms_service_note: Option<String>,
    /// What the project's pacing decided at the dialer's last pass (docs/pacing.md); `null`
    /// while the project is not dialing (not active, outside its schedule).
    #[schema(required = true)]
    pub pacing: Option<Pacing>,
}

/// The SMS service's state.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsService {
    Off,
    Running,
    Held,
    Stopped,
}

/// A contact's status.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    NotCalled,
    Retry,
    Reached,
    NotReached,
}

/// A call's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Up now (`result` is `null`).
    Dialing,
    Done,
}

/// The answering-machine verdict.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AmdVerdict {
    Human,
    Machine,
    Unknown,
}

/// The answering-machine verdict of an answered call (`store::AmdView`).
#[derive(Serialize, ToSchema)]
pub struct Amd {
    pub verdict: AmdVerdict,
    #[schema(required = true)]
    pub reason: Option<String>,
    /// When it was taken, ms after the answer.
    #[schema(required = true)]
    pub decided_at_ms: Option<i64>,
}

/// One call (`store::CallView`; fields in docs/api.md, "Calls").
#[derive(Serialize, ToSchema)]
pub struct Call {
    pub id: i64,
    pub project_id: i64,
    pub contact_id: i64,
    #[schema(required = true)]
    pub contact_name: Option<String>,
    pub number: String,
    /// What the number is for.
    #[schema(required = true)]
    pub number_type: Option<NumberType>,
    pub state: CallState,
    /// Unix seconds.
    pub started_at: i64,
    #[schema(required = true)]
    pub answered_at: Option<i64>,
    #[schema(required = true)]
    pub ended_at: Option<i64>,
    #[schema(required = true)]
    pub duration_s: Option<i64>,
    #[schema(required = true)]
    pub talk_s: Option<i64>,
    #[schema(required = true)]
    pub ring_ms: Option<i64>,
    #[schema(required = true)]
    pub talk_ms: Option<i64>,
    /// Why the call ended as it did, where there is more to say than the result.
    #[schema(required = true)]
    pub end_reason: Option<String>,
    /// The SIP final status; `null` when none came.
    #[schema(required = true)]
    pub sip_status: Option<i64>,
    #[schema(required = true)]
    pub result: Option<String>,
    #[schema(required = true)]
    pub result_label: Option<String>,
    /// The first key pressed or the first thing said.
    #[schema(required = true)]
    pub reaction: Option<String>,
    #[schema(required = true)]
    pub transcript: Option<String>,
    /// Captured values by name.
    #[schema(value_type = Object)]
    pub captured: serde_json::Value,
    #[schema(required = true)]
    pub amd: Option<Amd>,
    /// The stereo WAV on the server, when recorded.
    #[schema(required = true)]
    pub recording: Option<String>,
    /// Why the recording stopped early or is missing (a write failed: the disk full); the
    /// call went on. Absent when the recording is whole or recording is off.
    pub recording_error: Option<String>,
    /// Roubles, by the project's tariff.
    pub cost: f64,
    /// What the call's actions came to, in order (docs/actions.md).
    pub actions: Vec<ActionBrief>,
    /// The transfer to agents or to a number (docs/agents.md); absent for calls without one.
    pub transfer: Option<Transfer>,
    /// The agent's wrap-up after a transferred call (the agent desk, `POST
    /// /agents/{id}/wrap-up`); absent until written.
    pub wrap_up: Option<WrapUp>,
}

/// What the agent wrote after a transferred call.
#[derive(Serialize, ToSchema)]
pub struct WrapUp {
    /// One of the project's `transfer.dispositions`.
    pub disposition: String,
    /// The agent's note; '' when none.
    pub note: String,
    /// The call back asked for, unix seconds: the contact was put into the callback project,
    /// not dialed before then.
    #[schema(required = true)]
    pub callback_at: Option<i64>,
    /// The agent who wrote it.
    #[schema(required = true)]
    pub agent_id: Option<i64>,
    /// When it was written, unix ms.
    pub at_ms: i64,
}

/// A call's transfer.
#[derive(Serialize, ToSchema)]
pub struct Transfer {
    /// `agents`, or the number of an external transfer.
    pub to: String,
    /// The agent who answered.
    pub agent_id: Option<i64>,
    /// Milliseconds in the queue until an agent answered (or the caller left).
    pub queue_ms: i64,
    /// How long the answering agent's phone rang, ms.
    pub agent_ring_ms: i64,
    pub answered: bool,
    /// Talk time with the agent, ms.
    pub talk_ms: i64,
    /// Agents who rang and did not take the call.
    pub misses: Vec<TransferMiss>,
    /// From the decision to the first agent's INVITE, ms.
    pub invite_ms: Option<i64>,
    /// From the agent's answer to their first audio relayed to the caller, ms.
    pub first_audio_ms: Option<i64>,
    /// The external leg's final SIP status.
    pub sip_status: Option<i64>,
}

/// An agent who rang and did not take a transferred call.
#[derive(Serialize, ToSchema)]
pub struct TransferMiss {
    pub agent_id: i64,
    /// `no_answer`, `rejected` or `unreachable`.
    pub reason: String,
    pub ring_ms: i64,
}

/// A page of calls, newest first.
#[derive(Serialize, ToSchema)]
pub struct CallPage {
    pub items: Vec<Call>,
    /// `before` for the next page; `null` when this one was not full.
    #[schema(required = true)]
    pub next: Option<i64>,
}

/// One contact with its newest call (`store::LastResult`).
#[derive(Serialize, ToSchema)]
pub struct LastResult {
    pub contact_id: i64,
    #[schema(required = true)]
    pub name: Option<String>,
    pub status: ContactStatus,
    /// Its Russian label.
    pub status_label: String,
    /// E.164, in the contact's order.
    pub numbers: Vec<String>,
    /// Each number's type, in the same order.
    pub number_types: Vec<NumberType>,
    /// The file's other columns.
    pub fields: BTreeMap<String, String>,
    pub priority: i64,
    pub calls: i64,
    /// `null` for a contact not called yet.
    #[schema(required = true)]
    pub last_call: Option<Call>,
}

/// A page of last results, in import order.
#[derive(Serialize, ToSchema)]
pub struct LastResultPage {
    pub items: Vec<LastResult>,
    /// `after` for the next page; `null` when this one was not full.
    #[schema(required = true)]
    pub next: Option<i64>,
}

/// One entry of the dialer's decision log (`store::Decision`).
#[derive(Serialize, ToSchema)]
pub struct Decision {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    #[schema(required = true)]
    pub contact_id: Option<i64>,
    #[schema(required = true)]
    pub number: Option<String>,
    /// `dial`, `skip`, `hold`, `result`, `close` or `finished` (later versions may add kinds).
    pub decision: String,
    pub reason: String,
}

/// A page of decisions, newest first.
#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub items: Vec<Decision>,
    /// `before` for the next page; `null` when this one was not full.
    #[schema(required = true)]
    pub next: Option<i64>,
}

/// A refused value of a contacts file (`import::RowProblem`).
#[derive(Serialize, ToSchema)]
pub struct RowProblem {
    /// The row as a spreadsheet shows it (the header is row 1).
    pub row: u64,
    /// The value as the file has it, cut to 80 characters.
    pub value: String,
    /// `not_a_phone_number`, `invalid_number`, `kazakhstan`, `other_country`, `premium_rate`,
    /// `empty`, `no_phone_number`, `scientific_notation`, `spreadsheet_error`, `bad_priority`,
    /// `unreadable_row` (docs/api.md, "Contacts import").
    pub kind: String,
    pub reason: String,
}

/// The import's answer (`import::ImportReport`).
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    pub imported: u64,
    /// Rows whose numbers were all seen before, merged.
    pub duplicates: u64,
    /// The first problems in file order (at most 100).
    pub rejected: Vec<RowProblem>,
    /// Every problem, listed or not.
    pub rejected_total: u64,
    /// `rejected` lists fewer than `rejected_total`.
    pub rejected_truncated: bool,
    /// Every problem counted by its `kind`.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Numbers imported without the extension typed after them.
    pub extensions: u64,
    /// What to know about the import as a whole, in words.
    pub notes: Vec<String>,
}

/// A multipart form holding a contacts file: the first field that carries a file (or the
/// field named `file`) is read, the fields before it are skipped. Field names are plain tokens
/// (what a form's parser reads; a name with control characters is a broken form, `400`).
pub struct ContactsForm;

impl utoipa::PartialSchema for ContactsForm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A form holding the contacts file in the field `file` (or the first field with a \
                 file name); fields before it are skipped.",
            ))
            .property(
                "file",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                    .description(Some("The contacts file.")),
            )
            .required("file")
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9_.-]{1,64}$")),
            ))
            .into()
    }
}

impl utoipa::ToSchema for ContactsForm {
    fn name() -> std::borrow::Cow<'static, str> {
        "ContactsForm".into()
    }
}

/// Numbers to add to or remove from the stop list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopChange {
    /// In any usual spelling (`8 916 123-45-67`, `+7 (495) 111-22-33`).
    #[schema(min_items = 1)]
    pub numbers: Vec<String>,
    /// Why (when adding; default `added through the API`).
    pub reason: Option<String>,
}

/// A value that is not a Russian phone number.
#[derive(Serialize, ToSchema)]
pub struct StopRejected {
    pub value: String,
    pub reason: String,
}

/// What `POST /stop-list` did.
#[derive(Serialize, ToSchema)]
pub struct StopAdded {
    /// The numbers listed, as E.164.
    pub added: Vec<String>,
    pub rejected: Vec<StopRejected>,
}

/// What `DELETE /stop-list` did.
#[derive(Serialize, ToSchema)]
pub struct StopRemoved {
    /// The numbers that were listed and no longer are, as E.164.
    pub removed: Vec<String>,
}

/// One listed number.
#[derive(Serialize, ToSchema)]
pub struct StopEntry {
    /// E.164.
    pub number: String,
    pub reason: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// A page of the stop list, by number.
#[derive(Serialize, ToSchema)]
pub struct StopPage {
    pub items: Vec<StopEntry>,
    /// `after` for the next page; `null` when this one was not full.
    #[schema(required = true)]
    pub next: Option<String>,
}

#[cfg(test)]
#[path = "schemas_tests.rs"]
mod tests;
