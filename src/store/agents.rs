//! Agents as stored (docs/agents.md): who they are, how they are reached, which projects they
//! serve. Their live state (available, talking, …) is not stored: it lives in
//! `agents::service` and starts again with the process.
use super::StoreError;
use async_trait::async_trait;
use serde::Serialize;

pub use crate::telephony::registrar::ha1;

/// How an agent is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Registers to the robot with its SIP user and password.
    Sip,
    /// Reached at a fixed SIP URI (a desk phone, another PBX's queue).
    Uri,
    /// Simulated (`[agents.sim]`).
    Sim,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Sip => "sip",
            AgentKind::Uri => "uri",
            AgentKind::Sim => "sim",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sip" => AgentKind::Sip,
            "uri" => AgentKind::Uri,
            "sim" => AgentKind::Sim,
            _ => return None,
        })
    }
}

/// An agent as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRow {
    pub id: i64,
    pub name: String,
    pub sip_user: String,
    pub kind: AgentKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub enabled: bool,
    /// Serves every project (simulated agents).
    pub all_projects: bool,
    /// The projects served, by id.
    pub projects: Vec<i64>,
    /// Whether a password is set (the password itself is never shown, nor kept).
    pub has_password: bool,
    /// HA1 of digest authentication (never shown).
    #[serde(skip)]
    pub ha1: Option<String>,
    pub created_at: i64,
}

/// A new agent, or the fields of a change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct AgentChange {
    pub name: Option<String>,
    pub sip_user: Option<String>,
    /// The clear password: only its HA1 is stored.
    pub password: Option<String>,
    /// `Some(None)` removes the URI.
    pub uri: Option<Option<String>>,
    pub projects: Option<Vec<i64>>,
    pub enabled: Option<bool>,
}

/// A transferred call's wrap-up, to keep with the call (the agent desk, `POST
/// /agents/{id}/wrap-up`).
#[derive(Debug, Clone)]
pub struct WrapUpRecord {
    pub call_id: i64,
    pub agent_id: i64,
    pub disposition: String,
    pub note: String,
    /// The call back asked for (unix s).
    pub callback_at: Option<i64>,
    /// The outbox row that copies the contact into the callback project (with the call, its
    /// place makes it unique: written once).
    pub callback: Option<super::NewAction>,
    /// Now (unix ms).
    pub at_ms: i64,
    /// Until when the outbox tries the copy (unix ms).
    pub give_up_at_ms: i64,
}

/// Agents in the store.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Creates an agent (checked: a name, a unique SIP user, known projects); answers it.
    async fn create_agent(&self, a: &AgentChange) -> Result<AgentRow, StoreError>;
    /// Changes an agent; answers it as it is now.
    async fn change_agent(&self, id: i64, a: &AgentChange) -> Result<AgentRow, StoreError>;
    /// Removes an agent (404 when there is none).
    async fn delete_agent(&self, id: i64) -> Result<(), StoreError>;
    async fn agent(&self, id: i64) -> Result<AgentRow, StoreError>;
    /// Every agent, by id.
    async fn agents(&self) -> Result<Vec<AgentRow>, StoreError>;
    /// Makes the simulated agents `sim-1` … `sim-N` exist and be enabled, and disables the
    /// simulated agents beyond `count`. Answers every simulated agent.
    async fn ensure_sim_agents(&self, count: u32) -> Result<Vec<AgentRow>, StoreError>;
    /// Enabled agents who serve `project` (member or all projects).
    async fn project_agents(&self, project: i64) -> Result<usize, StoreError>;
    /// Keeps a call's wrap-up with it and queues its call back, in one transaction, once:
    /// `NotFound` without the call, `Conflict` when it was wrapped up already.
    async fn wrap_up_call(&self, w: &WrapUpRecord) -> Result<(), StoreError>;
}
