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
