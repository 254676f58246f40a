//! What an outbox action is (docs/actions.md): its kind and the payload it carries, resolved
//! when the call ended and written with its result. Pure data; `actions` resolves and carries
//! them out.
use serde::{Deserialize, Serialize};

/// The kinds of outbox actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Sms,
    AddToProject,
    StopList,
    Webhook,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Sms => "sms",
            ActionKind::AddToProject => "add_to_project",
            ActionKind::StopList => "stop_list",
            ActionKind::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sms" => Ok(ActionKind::Sms),
            "add_to_project" => Ok(ActionKind::AddToProject),
            "stop_list" => Ok(ActionKind::StopList),
            "webhook" => Ok(ActionKind::Webhook),
            other => Err(format!(
                "{other:?}: one of sms, add_to_project, stop_list, webhook"
            )),
        }
    }
}

/// What an action carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// One SMS to the number the call reached.
    Sms { phone: String, text: String },
    /// Copy the contact into the project of this name, the reached number first (not
    /// dialed before `not_before`, unix s, when set: a call back an agent asked for).
    AddToProject {
        project: String,
        first_number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_before: Option<i64>,
    },
    /// Put these numbers on the stop list with this reason.
    StopList {
        numbers: Vec<String>,
        reason: String,
    },
    /// POST the call's final JSON to this address (`secret_from` names the project whose
    /// secret signs it: the secret itself is not copied into the outbox).
    Webhook {
        url: String,
        secret_from: i64,
        call: serde_json::Value,
    },
}

impl Payload {
    pub fn kind(&self) -> ActionKind {
        match self {
            Payload::Sms { .. } => ActionKind::Sms,
            Payload::AddToProject { .. } => ActionKind::AddToProject,
            Payload::StopList { .. } => ActionKind::StopList,
            Payload::Webhook { .. } => ActionKind::Webhook,
        }
    }
}

/// An action to write with its call's result.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    /// Its place among the call's actions (with the call, its idempotency key).
    pub idx: u32,
    pub payload: Payload,
    /// A transfer's callback: held while the caller may still reach an agent, carried out if
    /// they never do (hung up in the queue, waited too long, or the process died meanwhile),
    /// removed the moment an agent answers (docs/agents.md).
    pub transfer_callback: bool,
}
