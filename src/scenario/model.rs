//! The validated scenario, as the interpreter sees it. Built only by `load`, with every prompt
//! it plays already decoded (`media::prompt`).
pub use crate::media::prompt::Prompt;
use serde::Serialize;
use std::collections::BTreeMap;

/// Spec §4 system result codes.
pub mod system_result {
    pub const NO_ANSWER: &str = "no_answer";
    pub const BUSY: &str = "busy";
    pub const REJECTED: &str = "rejected";
    pub const SYSTEM: &str = "system";
    pub const ANSWERING_MACHINE: &str = "answering_machine";
    pub const NOT_LISTENED: &str = "not_listened";
    pub const QUEUE_ABANDONED: &str = "queue_abandoned";
    /// The caller waited for an agent as long as the project allows (`queue_max_wait_s`).
    pub const QUEUE_TIMEOUT: &str = "queue_timeout";
    /// Every system result code.
    pub const ALL: [&str; 8] = [
        NO_ANSWER,
        BUSY,
        REJECTED,
        SYSTEM,
        ANSWERING_MACHINE,
        NOT_LISTENED,
        QUEUE_ABANDONED,
        QUEUE_TIMEOUT,
    ];

    /// The Russian label of a system result (UI, exports); `None` for scenario results,
    /// whose names are their own labels.
    pub fn label_ru(code: &str) -> Option<&'static str> {
        Some(match code {
            NO_ANSWER => "Нет ответа",
            BUSY => "Занято",
            REJECTED => "Отклонен",
            SYSTEM => "Системный (ошибка сети/номера)",
            ANSWERING_MACHINE => "Обнаружен автоответчик (системный)",
            NOT_LISTENED => "Не дослушал до конца",
            QUEUE_ABANDONED => "Не дождался оператора",
            QUEUE_TIMEOUT => "Оператор не освободился",
            _ => return None,
        })
    }

    /// The English label of a system result (command-line output, next to the Russian one).
    pub fn label_en(code: &str) -> Option<&'static str> {
        Some(match code {
            NO_ANSWER => "no answer",
            BUSY => "busy",
            REJECTED => "rejected",
            SYSTEM => "system (network or number error)",
            ANSWERING_MACHINE => "answering machine (system)",
            NOT_LISTENED => "did not listen to the end",
            QUEUE_ABANDONED => "did not wait for an operator",
            QUEUE_TIMEOUT => "no operator in time",
            _ => return None,
        })
    }
}

/// A loaded, valid scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    pub name: String,
    /// Declared scenario results.
    pub results: Vec<String>,
    pub start: String,
    pub steps: BTreeMap<String, Step>,
    /// The contact fields (import columns) its SMS templates use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// What a transfer plays first (docs/scenarios.md#transfers).
    #[serde(skip_serializing_if = "OwnPrompt::is_default")]
    pub transfer_prompt: OwnPrompt,
    /// What a caller waiting in the queue hears now and then.
    #[serde(skip_serializing_if = "OwnPrompt::is_default")]
    pub queue_prompt: OwnPrompt,
    /// The step a voice assistant's recorded greeting leads to (docs/amd.md, "Voice
    /// assistants"); none: such a call ends as `answering_machine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_assistant: Option<String>,
    /// What validation noticed without refusing it (an SMS of more than three parts), with
    /// its place; `check-scenario` and the API show them.
    #[serde(skip)]
    pub notes: Vec<super::Problem>,
    /// The number words read-back plays, by `say_number` name (`"5"`, `"тысяча"`); empty when
    /// the scenario reads nothing back.
    #[serde(skip)]
    pub number_words: BTreeMap<String, Prompt>,
}

impl Scenario {
    /// Every action of every step and reaction (what activation checks: SMS needs SMSC, a
    /// target project must exist).
    pub fn all_actions(&self) -> impl Iterator<Item = &Action> {
        self.steps
            .values()
            .flat_map(|s| s.actions.iter().chain(s.on.iter().flat_map(|r| &r.actions)))
    }
}

/// A prompt the scenario may set for itself, else the server's own is played.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnPrompt {
    /// Not set: the server's (bundled) prompt.
    #[default]
    Default,
    /// Set to `""`: nothing is played.
    Silent,
    /// The scenario's own.
    Prompt(Prompt),
}

impl OwnPrompt {
    pub fn is_default(&self) -> bool {
        matches!(self, OwnPrompt::Default)
    }

    /// The samples to play: the scenario's, none, or `default`.
    pub fn samples_or(&self, default: &std::sync::Arc<[i16]>) -> std::sync::Arc<[i16]> {
        match self {
            OwnPrompt::Default => default.clone(),
            OwnPrompt::Silent => std::sync::Arc::from(Vec::new()),
            OwnPrompt::Prompt(p) => p.samples(),
        }
    }
}

/// One step of the graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// What to play, in order.
    pub play: Vec<PlayRef>,
    /// What the step waits for after (or, with barge-in, during) its prompts.
    pub listen: Listen,
    /// A reaction during the message counts.
    pub barge_in: bool,
    pub on: Vec<Reaction>,
    pub capture: Option<Capture>,
    /// Set on reaching this step (e.g. after a capture), with the step's own actions.
    pub result: Option<String>,
    pub actions: Vec<Action>,
    /// Where to go when the step is done (after its capture, or after its prompts).
    pub next: Option<String>,
}

/// A prompt reference, resolved and decoded at load time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PlayRef {
    /// A prompt: a file found at load time, or a bundled one.
    Prompt(Prompt),
    /// `"{var}"`: a captured value read back as a number (or digit by digit).
    Var(String),
}

/// What a step listens for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Listen {
    pub dtmf: bool,
    pub voice: bool,
    /// Listening window after the prompts end (spec: 10 s for keys by default).
    pub wait_s: u32,
}

/// One `[[steps.X.on]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reaction {
    pub dtmf: Option<char>,
    /// Phrases; any one matching the recognised text triggers the reaction.
    pub voice: Vec<String>,
    /// `timeout = true`: taken when nothing came in the window.
    pub timeout: bool,
    pub result: Option<String>,
    pub actions: Vec<Action>,
    pub next: Option<String>,
}

/// Data capture for surveys and meter readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capture {
    pub var: String,
    pub kind: CaptureKind,
    pub max_digits: u32,
    /// Key that ends the input (not part of the value).
    pub end: Option<char>,
    /// Silence after the last digit that ends the input (default 5 s).
    pub timeout_s: u32,
}

/// How a capture's value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureKind {
    /// A string of digits, leading zeros kept.
    Digits,
    /// A number, kept as digits.
    Number,
}

/// What to do after a reaction (docs/scenarios.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Transfer {
        to: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        callback_project: Option<String>,
    },
    TransferExternal {
        to: String,
    },
    Sms {
        template: String,
    },
    AddToProject {
        project: String,
    },
    Hangup,
    Webhook {
        url: String,
    },
    /// Opt-out: the reached number goes on the stop list (all the contact's numbers with
    /// `add_all_numbers`).
    StopList {
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        add_all_numbers: bool,
    },
}
