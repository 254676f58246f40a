//! The outbox and the agents, as both backends read and decide them: the action rows and
//! their API view, the state an attempt writes, what a retry or a cancel through the API
//! may do, and the agents' rows and checks. `sqlite/` and `postgres/` (`outbox.rs`,
//! `action_admin.rs`, `agents.rs`) keep only their SQL and transactions around these.
use super::Cols;
use crate::rules::money::Kopecks;
use crate::store::agents::{ha1, AgentChange, AgentKind, AgentRow};
use crate::store::StoreError;
use crate::store::{ActionRow, ActionStatus, ActionUpdate, ActionView, AttemptLog, Payload};

// --- Actions ---------------------------------------------------------------------------------

/// The columns `action_row` reads (valid SQL in both backends).
pub const ACTION_COLUMNS: &str =
    "id, call_id, idx, project_id, contact_id, payload, status, attempts, give_up_at, created_at, \
     external_id, body";

/// An action as the worker carries it out; a payload or status that does not parse is an
/// error (the worker cannot act on it).
pub fn action_row(r: &impl Cols) -> Result<ActionRow, StoreError> {
    let id: i64 = r.get(0);
    let payload: Payload = serde_json::from_str(&r.get::<String>(5))
        .map_err(|e| StoreError::Db(format!("action {id} payload: {e}")))?;
    let status: ActionStatus = r
        .get::<String>(6)
        .parse()
        .map_err(|e| StoreError::Db(format!("action {id} status: {e}")))?;
    Ok(ActionRow {
        id,
        call_id: r.get(1),
        idx: r.get(2),
        project_id: r.get(3),
        contact_id: r.get(4),
        payload,
        status,
        attempts: r.get(7),
        give_up_at: r.get(8),
        created_at: r.get(9),
        external_id: r.get(10),
        body: r.get(11),
    })
}

/// The columns `action_view` reads (valid SQL in both backends).
pub const ACTION_VIEW_COLUMNS: &str = "id, call_id, contact_id, kind, status, payload, attempts, \
     last_error, cost_kop, parts, external_id, created_at, sent_at, delivered_at, done_at, idx";

/// An action as the API shows it (its log is attached apart).
pub fn action_view(r: &impl Cols) -> ActionView {
    ActionView {
        id: r.get(0),
        call_id: r.get(1),
        contact_id: r.get(2),
        kind: r.get(3),
        status: r.get(4),
        payload: serde_json::from_str(&r.get::<String>(5)).unwrap_or(serde_json::Value::Null),
        attempts: r.get(6),
        last_error: r.get(7),
        cost: r.get::<Option<i64>>(8).map(Kopecks),
        parts: r.get(9),
        external_id: r.get(10),
        created_at: r.get(11),
        sent_at: r.get(12),
        delivered_at: r.get(13),
        done_at: r.get(14),
        idempotency_key: crate::store::idempotency_key(r.get(1), r.get(15)),
        log: Vec::new(),
    }
}

/// An action finished at `at` (unix ms): `done`, with its log line's outcome, the id it made
/// (a copied contact's) and a note.
pub fn done(
    at: i64,
    outcome: &str,
    external_id: Option<String>,
    note: Option<String>,
) -> ActionUpdate {
    ActionUpdate {
        status: ActionStatus::Done,
        next_at: None,
        last_error: note.clone(),
        cost: None,
        parts: None,
        external_id,
        sent_at: None,
        delivered_at: None,
        done_at: Some(at),
        attempt: AttemptLog {
            at,
            outcome: outcome.to_string(),
            http_status: None,
            error: note,
            duration_ms: None,
        },
    }
}

/// A copy into a project that does not exist: it fails for good (no retry brings the
/// project). Answers why, and the update to write.
pub fn no_such_project(at: i64, project: &str) -> (String, ActionUpdate) {
    let why = format!("no project is named {project:?}");
    let mut u = done(at, "failed", None, Some(why.clone()));
    u.status = ActionStatus::Failed;
    u.done_at = None;
    (why, u)
}

/// Why a copy made nothing: the contact's every number is in the target or stop-listed.
pub fn nothing_copied(project: &str) -> String {
    format!(
        "nothing copied to {project:?}: every number of the contact is there already or on the stop list"
    )
}

/// What a retry through the API does to a failed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The state it takes: an SMS is looked up at SMSC before it is sent again (its earlier
    /// try may have gone out), so it becomes `sending`, which the worker settles by asking
    /// SMSC first; anything else is `queued`.
    pub to: &'static str,
    /// A webhook's address to open again (it may have answered 410 Gone).
    pub reopen_url: Option<String>,
    /// The log line's note.
    pub note: &'static str,
}

/// A retry of action `id` as stored (`status`, `kind`, `payload`): only a failed action is
/// tried again.
pub fn retry(id: i64, status: &str, kind: &str, payload: &str) -> Result<Retry, StoreError> {
    if status != "failed" {
        return Err(StoreError::Conflict(format!(
            "action {id} is {status}: only a failed action is tried again"
        )));
    }
    let sms = kind == "sms";
    let reopen_url = if kind == "webhook" {
        serde_json::from_str::<serde_json::Value>(payload)
            .ok()
            .and_then(|p| p["url"].as_str().map(str::to_string))
    } else {
        None
    };
    Ok(Retry {
        to: if sms { "sending" } else { "queued" },
        reopen_url,
        note: if sms {
            "tried again through the API: looked up at SMSC first, sent only if SMSC does not have it"
        } else {
            "tried again through the API"
        },
    })
}

/// Whether action `id` in state `status` may be cancelled: only one still waiting (`queued`).
pub fn check_cancel(id: i64, status: &str) -> Result<(), StoreError> {
    if status == "queued" {
        return Ok(());
    }
    let why = match status {
        "sending" => "it is being carried out right now",
        "sent" => "SMSC has it already",
        _ => "it is finished",
    };
    Err(StoreError::Conflict(format!(
        "action {id} is {status}: {why}; only a waiting (queued) action is cancelled"
    )))
}

// --- Agents ----------------------------------------------------------------------------------

/// An agent's row (columns: id, name, sip_user, kind, uri, enabled, all_projects, ha1,
/// created_at, and its projects' ids joined by commas or NULL).
pub fn agent_row(r: &impl Cols) -> AgentRow {
    let ha1: Option<String> = r.get(7);
    let projects: Option<String> = r.get(9);
    let mut projects: Vec<i64> = projects
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    projects.sort_unstable();
    AgentRow {
        id: r.get(0),
        name: r.get(1),
        sip_user: r.get(2),
        kind: AgentKind::parse(&r.get::<String>(3)).unwrap_or(AgentKind::Sip),
        uri: r.get(4),
        enabled: r.get::<i64>(5) != 0,
        all_projects: r.get::<i64>(6) != 0,
        projects,
        has_password: ha1.is_some(),
        ha1,
        created_at: r.get(8),
    }
}

/// A SIP user as digest authentication and URIs need it.
fn check_sip_user(u: &str) -> Result<(), StoreError> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "sip_user {u:?}: 1–64 characters, letters, digits and - _ . ! ~ * ' ( ) & = + $ , ; ? / \
             (what a SIP URI's user part allows)"
        )))
    }
}

fn check_uri(u: &str) -> Result<(), StoreError> {
    let lower = u.to_ascii_lowercase();
    if (lower.starts_with("sip:") && u.len() > 4 && u.len() <= 256)
        && !u.contains(char::is_whitespace)
    {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "uri {u:?}: a SIP URI such as sip:101@192.0.2.10:5060"
        )))
    }
}

/// An agent's columns to write, checked (a new agent, or one changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentWrite {
    pub name: String,
    pub sip_user: String,
    pub ha1: Option<String>,
    pub kind: AgentKind,
    pub uri: Option<String>,
    pub enabled: bool,
    /// The projects it serves from now on (`None`: unchanged). The caller checks they exist.
    pub projects: Option<Vec<i64>>,
}

const NEEDS_PASSWORD: &str =
    "password: an agent who registers needs a password (or give a fixed `uri`)";

/// A new agent checked: a name, a valid SIP user, a valid URI or else a password.
pub fn new_agent(a: &AgentChange) -> Result<AgentWrite, StoreError> {
    let name = a.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(StoreError::Invalid("name: an agent needs a name".into()));
    }
    let user = a
        .sip_user
        .as_deref()
        .ok_or_else(|| StoreError::Invalid("sip_user: an agent needs a SIP user".into()))?;
    check_sip_user(user)?;
    let uri = a.uri.clone().flatten();
    if let Some(u) = &uri {
        check_uri(u)?;
    }
    if uri.is_none() && a.password.as_deref().is_none_or(str::is_empty) {
        return Err(StoreError::Invalid(NEEDS_PASSWORD.into()));
    }
    Ok(AgentWrite {
        name: name.to_string(),
        sip_user: user.to_string(),
        ha1: a
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| ha1(user, p)),
        kind: if uri.is_some() {
            AgentKind::Uri
        } else {
            AgentKind::Sip
        },
        uri,
        enabled: a.enabled.unwrap_or(true),
        projects: Some(a.projects.clone().unwrap_or_default()),
    })
}

/// Agent `id`, stored as `now`, with the change `a` applied and checked. A simulated agent
/// keeps its SIP user, password and URI; a new SIP user needs the password again (HA1 covers
/// both).
pub fn changed_agent(id: i64, now: &AgentRow, a: &AgentChange) -> Result<AgentWrite, StoreError> {
    if now.kind == AgentKind::Sim
        && (a.sip_user.is_some() || a.password.is_some() || a.uri.is_some())
    {
        return Err(StoreError::Invalid(format!(
            "agent {id} is simulated ([agents.sim]): only its name, projects and enabled change"
        )));
    }
    let name = match &a.name {
        Some(n) if n.trim().is_empty() => {
            return Err(StoreError::Invalid("name: an agent needs a name".into()))
        }
        Some(n) => n.trim().to_string(),
        None => now.name.clone(),
    };
    let user = a.sip_user.clone().unwrap_or_else(|| now.sip_user.clone());
    check_sip_user(&user)?;
    let uri = match &a.uri {
        Some(u) => u.clone(),
        None => now.uri.clone(),
    };
    if let Some(u) = &uri {
        check_uri(u)?;
    }
    let ha1_now = match (
        &a.password,
        a.sip_user.is_some() && a.sip_user.as_ref() != Some(&now.sip_user),
    ) {
        (Some(p), _) if !p.is_empty() => Some(ha1(&user, p)),
        (_, true) if uri.is_none() => {
            return Err(StoreError::Invalid(
                "password: a new sip_user needs the password again".into(),
            ))
        }
        _ => now.ha1.clone(),
    };
    if now.kind != AgentKind::Sim && uri.is_none() && ha1_now.is_none() {
        return Err(StoreError::Invalid(NEEDS_PASSWORD.into()));
    }
    let kind = match now.kind {
        AgentKind::Sim => AgentKind::Sim,
        _ if uri.is_some() => AgentKind::Uri,
        _ => AgentKind::Sip,
    };
    Ok(AgentWrite {
        name,
        sip_user: user,
        ha1: ha1_now,
        kind,
        uri,
        enabled: a.enabled.unwrap_or(now.enabled),
        projects: a.projects.clone(),
    })
}

/// A write that clashed with another agent's SIP user is a conflict; anything else is the
/// database's error.
pub fn unique_clash(e: sqlx::Error, user: &str) -> StoreError {
    if super::is_unique_violation(&e) {
        StoreError::Conflict(format!("an agent with sip_user {user:?} exists already"))
    } else {
        e.into()
    }
}

/// Simulated agent number `n` (from 1): its name and SIP user.
pub fn sim_agent(n: u32) -> (String, String) {
    (format!("Оператор-симулятор {n}"), format!("sim-{n}"))
}

/// Whether the simulated agent with SIP user `user` is beyond the first `count` (it is
/// switched off, not deleted: its calls keep their agent). A user that is not `sim-N` is
/// beyond any count.
pub fn sim_beyond(user: &str, count: u32) -> bool {
    let n: u32 = user.trim_start_matches("sim-").parse().unwrap_or(u32::MAX);
    n > count
}
