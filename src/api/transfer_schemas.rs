//! The transfer parts of the API's bodies (docs/agents.md): a project's own transfer settings
//! and its transfer figures, as OpenAPI schemas (re-exported by `schemas`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A project's own transfer settings (docs/agents.md, "Per project"); each one left out
/// follows the server's `[agents]` section.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOptions {
    /// After-call work before the agent's next call, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 3600)]
    pub wrap_up_s: Option<u32>,
    /// An agent whose phone rings this long is paused and the next one tried, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 300)]
    pub agent_ring_s: Option<u32>,
    /// The longest wait in the queue, then the result `queue_timeout`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3600)]
    pub queue_max_wait_s: Option<u32>,
    /// How often «вы в очереди» interrupts the music, seconds; 0: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 3600)]
    pub queue_announce_s: Option<u32>,
    /// The hold music: a stored prompt (`PUT /prompts/{name}`) or a bundled one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, example = "hold.wav")]
    pub hold_music: Option<String>,
    /// What an agent picks from in the agent desk's wrap-up form (and `POST
    /// /agents/{id}/wrap-up`): 1 … 50 names of 1 … 100 characters, no two alike; left out:
    /// «Договорились», «Перезвонить», «Отказ», «Не целевой».
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 50, example = json!(["Договорились", "Перезвонить", "Отказ", "Не целевой"]))]
    pub dispositions: Option<Vec<String>>,
}

/// A project's transfers (`store::TransferStats`).
#[derive(Serialize, ToSchema)]
pub struct TransferTotals {
    /// Calls that were transferred (to agents or a number).
    pub transfers: u64,
    /// Answered by an agent (or the external number).
    pub answered: u64,
    /// Callers who hung up before an agent answered (`queue_abandoned`).
    pub abandoned: u64,
    /// Callers who waited as long as allowed (`queue_timeout`).
    pub timed_out: u64,
    /// Seconds from the transfer to the answer (or the caller leaving), mean.
    pub queue_avg_s: f64,
    /// The same, 90th percentile.
    pub queue_p90_s: f64,
    /// Seconds talked with agents.
    pub talk_s: u64,
}

/// How a project places its calls (docs/pacing.md).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PacingMode {
    /// Its lines; with transfers to agents a ceiling the robot lowers while the queue's
    /// expected wait passes `pacing.queue_target_s`.
    Robot,
    /// A call only for an agent free now: nobody answered waits.
    Progressive,
    /// Calls for the agents expected free when they are answered, keeping the abandon share
    /// under `pacing.abandon_target` (below 10 agents online: as progressive).
    Predictive,
    /// A call only when an agent presses «call» on the next contact's card.
    Preview,
}

/// A project's pacing settings (docs/pacing.md); each one left out takes its default.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PacingOptions {
    /// Calls per free agent until the share that reaches an agent is measured (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10)]
    pub calls_per_agent: Option<f64>,
    /// `robot` with transfers: the longest expected queue wait before the robot lowers its
    /// lines, seconds (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 5, maximum = 600)]
    pub queue_target_s: Option<u32>,
    /// `predictive`: the share of abandoned transfers to stay under (default 0.03).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.005, maximum = 0.2)]
    pub abandon_target: Option<f64>,
    /// A callee who waits longer for an agent counts as abandoned, seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 600)]
    pub max_wait_s: Option<u32>,
    /// Predicted talk time until measured, seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3600)]
    pub talk_s: Option<u32>,
    /// Predicted after-call work until measured, seconds (default: `transfer.wrap_up_s`, else
    /// 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3600)]
    pub wrap_s: Option<u32>,
    /// Predicted time from dialing to the callee waiting for an agent until measured, seconds
    /// (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3600)]
    pub answer_s: Option<u32>,
}

/// A project's pacing now (`dialer::floor::PacingView`, docs/pacing.md).
#[derive(Serialize, ToSchema)]
pub struct Pacing {
    pub mode: PacingMode,
    /// The mode that decided now: `predictive` with fewer than 10 agents online dials as
    /// `progressive`.
    pub acting_mode: PacingMode,
    /// Why the dialer places what it places now.
    pub why: String,
    /// The predictive dial level (1.0: the expected callers left without an agent are the
    /// abandon target's share of those expected; 0.05 … 3.0).
    pub dial_level: f64,
    pub lines: u32,
    /// `robot`: the lines in use as a ceiling now (lower than `lines` while agents cannot
    /// keep up); the agents' modes: the calls on their way to the agents allowed now.
    pub allowed: u32,
    /// Calls up now, and those of them not yet waiting for or talking to an agent.
    pub in_flight: u32,
    pub on_the_way: u32,
    /// Callers waiting for an agent now.
    pub queue: u32,
    /// The project's agents by state (`available`, `ringing`, `talking`, `wrap_up`, `paused`,
    /// `offline`).
    pub agents: std::collections::BTreeMap<String, u32>,
    /// Transfers today (the project's zone) and those abandoned: left the queue, or waited
    /// longer than `pacing.max_wait_s`.
    pub transfers_today: u32,
    pub abandoned_today: u32,
    #[schema(required = true)]
    pub abandon_share_today: Option<f64>,
    /// Over the last 15 minutes.
    #[schema(required = true)]
    pub abandon_share_15min: Option<f64>,
    /// Measured averages, seconds (used once 20 calls are measured; the configured figures
    /// until then).
    #[schema(required = true)]
    pub talk_s: Option<f64>,
    #[schema(required = true)]
    pub wrap_up_s: Option<f64>,
    #[schema(required = true)]
    pub answer_s: Option<f64>,
    /// Talks measured.
    pub samples: u64,
    /// Of the calls placed, the share that reached the queue.
    #[schema(required = true)]
    pub reach: Option<f64>,
}
