//! Agents in the API (docs/agents.md): create, list, change, remove; set an agent's state
//! (available, a break, offline); each answer shows the agent's live state beside what is
//! stored.
use super::error::{ApiError, ApiResult};
use super::present;
use super::schemas::ErrorBody;
use super::{parse_json, parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::agents::pool::{AgentInfo, AgentLive, Manual, ManualError};
use crate::store::{AgentChange, AgentKind, AgentRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// How stored agents are reached: simulated ones by their simulated phone; agents who
/// register by their registration (none until the registrar has one); fixed URIs are not
/// dialed by this version.
pub struct AgentLines {
    pub sim: crate::agents::sim::SimAgentsConfig,
    pub sim_voice: std::sync::Arc<[i16]>,
    /// The SIP listener agents register to (`trunk.kind = "sip"`).
    pub sip: Option<std::sync::Arc<crate::telephony::sip::SipTrunk>>,
    /// Who may register, as the registrar asks.
    pub directory: std::sync::Arc<StoreDirectory>,
}

/// The registrar's view of the stored agents: SIP user → (agent, HA1), kept in step with
/// the store by the API; a registration makes the agent reachable in the live pool.
pub struct StoreDirectory {
    creds: std::sync::RwLock<std::collections::HashMap<String, (i64, String)>>,
    agents: std::sync::Arc<crate::agents::service::Agents>,
    sip: Option<std::sync::Arc<crate::telephony::sip::SipTrunk>>,
}

impl StoreDirectory {
    pub fn new(
        agents: std::sync::Arc<crate::agents::service::Agents>,
        sip: Option<std::sync::Arc<crate::telephony::sip::SipTrunk>>,
    ) -> Self {
        Self {
            creds: Default::default(),
            agents,
            sip,
        }
    }

    /// Takes an agent's current credentials (or drops them: not a registering agent, or
    /// disabled).
    pub fn note(&self, a: &AgentRow) {
        if let Ok(mut g) = self.creds.write() {
            g.retain(|_, (id, _)| *id != a.id);
            if let (AgentKind::Sip, true, Some(ha1)) = (a.kind, a.enabled, &a.ha1) {
                g.insert(a.sip_user.clone(), (a.id, ha1.clone()));
            }
        }
    }

    pub fn forget(&self, id: i64) {
        if let Ok(mut g) = self.creds.write() {
            g.retain(|_, (a, _)| *a != id);
        }
    }
}

impl crate::telephony::registrar::AgentDirectory for StoreDirectory {
    fn credentials(&self, user: &str) -> Option<(i64, String)> {
        self.creds.read().ok()?.get(user).cloned()
    }

    fn binding(&self, agent: i64, user: &str, contact: Option<String>) {
        let line = match (&self.sip, contact) {
            (Some(trunk), Some(_)) => Some(std::sync::Arc::new(crate::agents::sip::SipAgentLine {
                trunk: trunk.clone(),
                user: user.to_string(),
            })
                as std::sync::Arc<dyn crate::agents::service::AgentLine>),
            _ => None,
        };
        self.agents.set_registered(agent, line);
    }
}

impl AgentLines {
    pub fn line_of(
        &self,
        a: &AgentRow,
    ) -> Option<std::sync::Arc<dyn crate::agents::service::AgentLine>> {
        match a.kind {
            AgentKind::Sim => {
                let n: u64 = a.sip_user.trim_start_matches("sim-").parse().unwrap_or(0);
                Some(std::sync::Arc::new(crate::agents::sim::SimAgentLine::new(
                    self.sim.clone(),
                    self.sim_voice.clone(),
                    n,
                )))
            }
            AgentKind::Sip => {
                let trunk = self.sip.as_ref()?;
                trunk.agent_contact(&a.sip_user)?;
                Some(std::sync::Arc::new(crate::agents::sip::SipAgentLine {
                    trunk: trunk.clone(),
                    user: a.sip_user.clone(),
                }))
            }
            AgentKind::Uri => {
                let (trunk, uri) = (self.sip.as_ref()?, a.uri.clone()?);
                Some(std::sync::Arc::new(crate::agents::sip::SipUriLine {
                    trunk: trunk.clone(),
                    uri,
                }))
            }
        }
    }

    /// An agent was stored (created or changed): the registrar and the pool follow.
    pub fn stored(&self, agents: &crate::agents::service::Agents, a: &AgentRow) {
        self.directory.note(a);
        agents.upsert(self.info_of(a), self.line_of(a));
    }

    /// The pool's view of a stored agent.
    pub fn info_of(&self, a: &AgentRow) -> AgentInfo {
        AgentInfo {
            id: a.id,
            name: a.name.clone(),
            projects: (!a.all_projects).then(|| a.projects.iter().copied().collect()),
            enabled: a.enabled,
            // A registering agent is reachable once registered; the others at once.
            always_reachable: a.kind != AgentKind::Sip,
            missed_pause_ms: (a.kind == AgentKind::Sim)
                .then_some((self.sim.missed_pause_s * 1000.0) as i64),
        }
    }
}

fn view(a: &AgentRow, live: Option<AgentLive>) -> Value {
    let mut v = json!(a);
    if let Some(l) = live {
        v["state"] = json!(l.state);
        v["state_since_ms"] = json!(l.since_ms);
        v["state_reason"] = json!(l.reason);
        v["calls_today"] = json!(l.calls_today);
        v["talk_s_today"] = json!(l.talk_ms_today / 1000);
    } else {
        v["state"] = json!("offline");
        v["state_since_ms"] = Value::Null;
        v["state_reason"] = Value::Null;
        v["calls_today"] = json!(0);
        v["talk_s_today"] = json!(0);
    }
    v
}

/// An agent as written to `POST /agents` and `PATCH /agents/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Shown to managers and in reports.
    #[schema(min_length = 1)]
    pub name: Option<String>,
    /// The SIP user the softphone registers as.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_.!~*'()&=+$,;?/-]+$"
    )]
    pub sip_user: Option<String>,
    /// Write-only: only its digest (HA1) is kept.
    #[schema(min_length = 1, write_only)]
    pub password: Option<String>,
    /// A fixed SIP URI to reach the agent at instead of a registration (`null` removes it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 256, pattern = "^[sS][iI][pP]:\\S+$")]
    pub uri: Option<Option<String>>,
    /// The projects the agent serves, by id.
    pub projects: Option<Vec<i64>>,
    pub enabled: Option<bool>,
}

/// A new agent (`POST /agents`): `AgentBody` with a name and a SIP user.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NewAgentBody {
    /// Shown to managers and in reports.
    #[schema(min_length = 1)]
    pub name: String,
    /// The SIP user the softphone registers as.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_.!~*'()&=+$,;?/-]+$"
    )]
    pub sip_user: String,
    /// Write-only: only its digest (HA1) is kept. Needed unless `uri` is given.
    #[schema(min_length = 1, write_only)]
    pub password: Option<String>,
    /// A fixed SIP URI to reach the agent at instead of a registration.
    #[schema(max_length = 256, pattern = "^[sS][iI][pP]:\\S+$")]
    pub uri: Option<String>,
    /// The projects the agent serves, by id.
    pub projects: Option<Vec<i64>>,
    pub enabled: Option<bool>,
}

fn body_of(body: &[u8]) -> ApiResult<AgentChange> {
    let b: AgentBody = parse_object(body, "a JSON object")?;
    if b.password.as_deref().is_some_and(str::is_empty) {
        return Err(ApiError::invalid(
            "password: empty (leave it out to keep the current one)",
        ));
    }
    Ok(AgentChange {
        name: b.name,
        sip_user: b.sip_user,
        password: b.password,
        uri: b.uri,
        projects: b.projects,
        enabled: b.enabled,
    })
}

/// Create an agent
///
/// A softphone that registers with `sip_user` and `password`, or a fixed `uri`.
#[utoipa::path(
    post,
    path = "/agents",
    operation_id = "createAgent",
    tag = "agents",
    request_body(content = NewAgentBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The agent, with its live state.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 409, description = "Another agent has this `sip_user` (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "No name, a bad `sip_user` or `uri`, no password for an agent who registers, an unknown project (`invalid`).", body = ErrorBody),
    )
)]
pub async fn create(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = body_of(&body)?;
    let a = create_agent(&s, &c).await?;
    Ok((StatusCode::CREATED, Json(view(&a, s.agents.live(a.id)))))
}

/// Creates an agent (the store checks it) and makes it known to the registrar and the pool:
/// the API's route and the agents page.
pub(crate) async fn create_agent(s: &AppState, c: &AgentChange) -> ApiResult<AgentRow> {
    let a = s.agent_store.create_agent(c).await?;
    s.agent_lines.stored(&s.agents, &a);
    Ok(a)
}

/// List agents
///
/// Every agent with its live state (since when, why), calls and talk time today.
#[utoipa::path(
    get,
    path = "/agents",
    operation_id = "listAgents",
    tag = "agents",
    responses((status = 200, description = "`items`: the agents, by id.", body = Object))
)]
pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let rows = s.agent_store.agents().await?;
    let live = s.agents.all_live();
    let items: Vec<Value> = rows
        .iter()
        .map(|a| view(a, live.get(&a.id).cloned()))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// One agent
#[utoipa::path(
    get,
    path = "/agents/{id}",
    operation_id = "getAgent",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    responses(
        (status = 200, description = "The agent, with its live state.", body = Object),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let a = s.agent_store.agent(id).await?;
    Ok(Json(view(&a, s.agents.live(id))))
}

/// Change an agent
///
/// Any of the fields; `projects` replaces the membership. A new `sip_user` needs the password
/// again (the stored digest covers both).
#[utoipa::path(
    patch,
    path = "/agents/{id}",
    operation_id = "changeAgent",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    request_body(content = AgentBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The agent as it is now.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
        (status = 409, description = "Another agent has this `sip_user` (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "A bad value, named (`invalid`).", body = ErrorBody),
    )
)]
pub async fn change(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let c = body_of(&body)?;
    let a = change_agent(&s, id, &c).await?;
    Ok(Json(view(&a, s.agents.live(id))))
}

/// Changes an agent (the store checks it); a new SIP user or a disabling ends its old
/// registration. The API's route and the agents page.
pub(crate) async fn change_agent(s: &AppState, id: i64, c: &AgentChange) -> ApiResult<AgentRow> {
    let before = s.agent_store.agent(id).await?;
    let a = s.agent_store.change_agent(id, c).await?;
    // A new SIP user (or a disabled agent) ends the old registration.
    if before.sip_user != a.sip_user || !a.enabled {
        if let Some(t) = &s.agent_lines.sip {
            t.forget_agent(&before.sip_user);
        }
    }
    s.agent_lines.stored(&s.agents, &a);
    Ok(a)
}

/// Remove an agent
///
/// Its calls keep their record; a call it is on goes on.
#[utoipa::path(
    delete,
    path = "/agents/{id}",
    operation_id = "deleteAgent",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
    )
)]
pub async fn delete(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    let a = s.agent_store.agent(id).await?;
    s.agent_store.delete_agent(id).await?;
    s.agents.remove(id);
    s.agent_lines.directory.forget(id);
    if let Some(t) = &s.agent_lines.sip {
        t.forget_agent(&a.sip_user);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A state an agent sets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateBody {
    /// `available`, `paused` or `offline`.
    #[schema(pattern = "^(available|paused|offline)$")]
    pub state: String,
    /// Why (a break's reason).
    pub reason: Option<String>,
}

/// Set an agent's state
///
/// Back to work (`available`), a break (`paused`, with a reason) or `offline`. Refused while
/// the agent's phone rings or they talk.
#[utoipa::path(
    post,
    path = "/agents/{id}/state",
    operation_id = "setAgentState",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    request_body(content = StateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The agent as it is now.", body = Object),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
        (status = 409, description = "The agent is on a call, or not registered, or disabled (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "An unknown state (`invalid`).", body = ErrorBody),
    )
)]
pub async fn set_state(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let v: Value = parse_json(&body)?;
    let b: StateBody =
        serde_json::from_value(v).map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
    let a = set_agent_state(&s, id, &b.state, b.reason).await?;
    Ok(Json(view(&a, s.agents.live(id))))
}

/// Sets agent `id` available, paused (with a reason) or offline: the API's route and the
/// agent desk's buttons. Answers the stored agent.
pub(crate) async fn set_agent_state(
    s: &AppState,
    id: i64,
    state: &str,
    reason: Option<String>,
) -> ApiResult<AgentRow> {
    let a = s.agent_store.agent(id).await?;
    let to = match state {
        "available" => Manual::Available,
        "paused" => Manual::Paused(
            reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "break".into()),
        ),
        "offline" => Manual::Offline,
        other => {
            return Err(
                ApiError::invalid(format!("state {other:?}: available, paused or offline"))
                    .with_details(json!({ "valid": ["available", "paused", "offline"] })),
            )
        }
    };
    let conflict = |m: String| ApiError::new(StatusCode::CONFLICT, "conflict", m);
    match s.agents.set_manual(id, to) {
        Ok(()) => {}
        Err(ManualError::NoSuchAgent) => {
            // Stored but not in the pool (e.g. created by another process): add it now.
            s.agent_lines.stored(&s.agents, &a);
        }
        Err(ManualError::OnACall(st)) => {
            return Err(conflict(format!(
                "agent {id} is {}: the state can change when the call ends",
                st.as_str()
            )))
        }
        Err(ManualError::Disabled) => {
            return Err(conflict(format!(
                "agent {id} is disabled: enable it first (PATCH /api/v1/agents/{id} {{\"enabled\": true}})"
            )))
        }
        Err(ManualError::NotRegistered) => {
            return Err(conflict(format!(
                "agent {id} ({}) is not registered: its softphone must register first (docs/agents.md)",
                a.sip_user
            )))
        }
    }
    Ok(a)
}
