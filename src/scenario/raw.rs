//! The scenario file as written (TOML, or JSON with the same structure), with source spans.
//! Only `load` and `validate` see these types.
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub results: Vec<Spanned<String>>,
    pub start: Spanned<String>,
    /// The contact fields (import columns) the SMS templates use.
    #[serde(default)]
    pub fields: Vec<Spanned<String>>,
    /// Played once when a transfer begins («соединяю с оператором»); `""`: nothing.
    pub transfer_prompt: Option<Spanned<String>>,
    /// Played now and then to a caller waiting for an agent («вы в очереди»); `""`: never.
    pub queue_prompt: Option<Spanned<String>>,
    /// The step a voice assistant's recorded greeting leads to (docs/amd.md); none: the call
    /// ends as `answering_machine`.
    pub on_assistant: Option<Spanned<String>>,
    #[serde(default)]
    pub steps: BTreeMap<String, Spanned<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    #[serde(default)]
    pub play: Vec<Spanned<String>>,
    pub listen: Option<Spanned<RawListen>>,
    pub barge_in: Option<bool>,
    #[serde(default)]
    pub on: Vec<Spanned<RawReaction>>,
    pub capture: Option<Spanned<RawCapture>>,
    pub result: Option<Spanned<String>>,
    #[serde(default)]
    pub actions: Vec<Spanned<RawAction>>,
    pub next: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    #[serde(default)]
    pub dtmf: bool,
    #[serde(default)]
    pub voice: bool,
    pub wait_s: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReaction {
    pub dtmf: Option<Spanned<String>>,
    #[serde(default)]
    pub voice: Vec<Spanned<String>>,
    #[serde(default)]
    pub timeout: bool,
    pub result: Option<Spanned<String>>,
    #[serde(default)]
    pub actions: Vec<Spanned<RawAction>>,
    pub next: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapture {
    pub var: Spanned<String>,
    pub kind: Spanned<String>,
    pub max_digits: Option<Spanned<i64>>,
    pub end: Option<Spanned<String>>,
    pub timeout_s: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub transfer: Option<String>,
    pub callback_project: Option<String>,
    pub transfer_external: Option<String>,
    pub sms: Option<String>,
    pub add_to_project: Option<String>,
    pub hangup: Option<bool>,
    pub webhook: Option<String>,
    pub stop_list: Option<bool>,
    pub add_all_numbers: Option<bool>,
}
