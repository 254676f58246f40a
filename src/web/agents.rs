//! The agents page (docs/users.md, "Agents"; managers and admins): every agent with its live
//! state, since when and why, today's calls and talk time (the table refreshed every 2 s by
//! htmx), the transfer queue of each project (callers waiting, the longest wait, agents who
//! serve it), a form to add an agent and one to change each. The forms go through the API's
//! own code (`api::create_agent`, `api::change_agent`: the store checks every value); its
//! refusals are shown next to their fields, in Russian.
use super::admin::{duration_text, field_of, FieldErrors};
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use crate::agents::pool::{AgentLive, AgentState};
use crate::store::{AgentChange, AgentKind, AgentRow, StoreError};
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::{BTreeMap, HashMap};

pub struct AgentLine {
    pub id: i64,
    pub name: String,
    pub sip_user: String,
    pub kind: &'static str,
    pub projects: String,
    pub enabled: bool,
    pub state: &'static str,
    pub state_label: &'static str,
    pub since: String,
    pub reason: Option<String>,
    pub calls_today: u32,
    pub talk_today: String,
}

pub struct QueueLine {
    pub id: i64,
    pub name: String,
    pub waiting: usize,
    pub longest: String,
    pub serving: usize,
}

/// The values of an agent form, as typed.
#[derive(Default)]
pub struct AgentForm {
    pub name: String,
    pub sip_user: String,
    pub uri: String,
    pub enabled: bool,
    /// (id, name, ticked)
    pub projects: Vec<(i64, String, bool)>,
    pub all_projects: bool,
    pub simulated: bool,
}

#[derive(Template)]
#[template(path = "agents_table.html")]
struct AgentsTable {
    agents: Vec<AgentLine>,
    queues: Vec<QueueLine>,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    page: Page,
    agents: Vec<AgentLine>,
    queues: Vec<QueueLine>,
    form: AgentForm,
    errors: FieldErrors,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "agent_edit.html")]
struct AgentEditPage {
    page: Page,
    id: i64,
    form: AgentForm,
    errors: FieldErrors,
}

fn state_label(s: AgentState) -> &'static str {
    match s {
        AgentState::Offline => "не в сети",
        AgentState::Available => "готов",
        AgentState::Ringing => "звонок",
        AgentState::Talking => "разговор",
        AgentState::WrapUp => "после звонка",
        AgentState::Paused => "перерыв",
    }
}

/// The label of a state given by its name (`available`).
pub(super) fn state_label_of(name: &str) -> &'static str {
    [
        AgentState::Offline,
        AgentState::Available,
        AgentState::Ringing,
        AgentState::Talking,
        AgentState::WrapUp,
        AgentState::Paused,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
    .map_or("?", state_label)
}

fn kind_label(k: AgentKind) -> &'static str {
    match k {
        AgentKind::Sip => "регистрируется (SIP)",
        AgentKind::Uri => "постоянный SIP-адрес",
        AgentKind::Sim => "симулятор",
    }
}

fn clock_text(ms: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Europe::Moscow
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The agents with their live states, and the queue of each project.
async fn lines(s: &WebState) -> Result<(Vec<AgentLine>, Vec<QueueLine>), Refused> {
    let fail = |e: StoreError| Refused::Failed(e.to_string());
    let rows = s.app.agent_store.agents().await.map_err(fail)?;
    let projects = s.app.campaigns.list_projects().await.map_err(fail)?;
    let names: BTreeMap<i64, String> = projects.iter().map(|p| (p.id, p.name.clone())).collect();
    let live = s.app.agents.all_live();
    let agents = rows
        .iter()
        .map(|a| {
            let l = live.get(&a.id).cloned().unwrap_or(AgentLive {
                state: AgentState::Offline,
                since_ms: 0,
                reason: None,
                calls_today: 0,
                talk_ms_today: 0,
                last_call_end_ms: None,
            });
            AgentLine {
                id: a.id,
                name: a.name.clone(),
                sip_user: a.sip_user.clone(),
                kind: kind_label(a.kind),
                projects: if a.all_projects {
                    "все".into()
                } else if a.projects.is_empty() {
                    "—".into()
                } else {
                    a.projects
                        .iter()
                        .map(|p| names.get(p).cloned().unwrap_or_else(|| format!("№ {p}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                enabled: a.enabled,
                state: l.state.as_str(),
                state_label: state_label(l.state),
                since: if l.since_ms > 0 {
                    clock_text(l.since_ms)
                } else {
                    String::new()
                },
                reason: l.reason,
                calls_today: l.calls_today,
                talk_today: duration_text(l.talk_ms_today),
            }
        })
        .collect();
    let now = s.app.agents.now_ms();
    let mut queues = Vec::new();
    for p in &projects {
        let serving = rows
            .iter()
            .filter(|a| a.enabled && (a.all_projects || a.projects.contains(&p.id)))
            .count();
        let waiting = s.app.agents.waiting(p.id);
        if serving == 0 && waiting == 0 {
            continue;
        }
        queues.push(QueueLine {
            id: p.id,
            name: p.name.clone(),
            waiting,
            longest: s
                .app
                .agents
                .oldest_wait(p.id)
                .map(|since| duration_text((now - since).max(0) as u64))
                .unwrap_or_else(|| "—".into()),
            serving,
        });
    }
    Ok((agents, queues))
}

/// The project checkboxes of a form, `ticked` ticked.
async fn project_boxes(s: &WebState, ticked: &[i64]) -> Result<Vec<(i64, String, bool)>, Refused> {
    Ok(s.app
        .campaigns
        .list_projects()
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?
        .into_iter()
        .map(|p| (p.id, p.name, ticked.contains(&p.id)))
        .collect())
}

async fn agents_page(
    s: &WebState,
    v: &Viewer,
    form: AgentForm,
    errors: FieldErrors,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let (agents, queues) = match lines(s).await {
        Ok(l) => l,
        Err(r) => return r.into_response(),
    };
    let mut page = Page::new(Some(v), "/agents");
    page.error = errors.get("").cloned();
    render(
        &AgentsPage {
            page,
            agents,
            queues,
            form,
            errors,
            notice,
        },
        status,
    )
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    saved: Option<String>,
}

/// `GET /agents`.
pub async fn page(
    State(s): State<WebState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let projects = match project_boxes(&s, &[]).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let form = AgentForm {
        enabled: true,
        projects,
        ..AgentForm::default()
    };
    let notice = q.saved.map(|_| "Оператор сохранён.".to_string());
    agents_page(&s, &v, form, FieldErrors::new(), notice, StatusCode::OK).await
}

/// `GET /agents/table`: the agents and the queues alone (the page polls it).
pub async fn table(State(s): State<WebState>, headers: HeaderMap) -> Response {
    if let Err(r) = s.viewer_who(&headers, Role::runs_campaigns).await {
        return r.into_response();
    }
    match lines(&s).await {
        Ok((agents, queues)) => render(&AgentsTable { agents, queues }, StatusCode::OK),
        Err(r) => r.into_response(),
    }
}

/// A form's field, trimmed.
fn field<'a>(f: &'a HashMap<String, String>, name: &str) -> &'a str {
    f.get(name).map(|v| v.trim()).unwrap_or_default()
}

/// The projects ticked in a form (`p_<id>` boxes).
fn ticked(f: &HashMap<String, String>) -> Vec<i64> {
    let mut ids: Vec<i64> = f
        .keys()
        .filter_map(|k| k.strip_prefix("p_")?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// The API's refusal of an agent form, next to its field, in Russian.
fn refusal(e: &crate::api::error::ApiError, errors: &mut FieldErrors) {
    if e.status == StatusCode::CONFLICT && e.message.contains("sip_user") {
        errors.insert("sip_user", "Оператор с таким SIP-логином уже есть.".into());
        return;
    }
    let (key, text): (&'static str, String) = match field_of(e).as_deref() {
        Some("name") => ("name", "Укажите имя оператора.".into()),
        Some("sip_user") => (
            "sip_user",
            "SIP-логин: от 1 до 64 символов — латинские буквы, цифры и - _ . ! ~ * ' ( ) & = + \
             $ , ; ? /"
                .into(),
        ),
        Some("uri") => ("uri", "SIP-адрес вида sip:101@192.0.2.10:5060.".into()),
        Some("password") if e.message.contains("new sip_user") => {
            ("password", "Новому SIP-логину нужен пароль заново.".into())
        }
        Some("password") => (
            "password",
            "Оператору, который регистрируется сам, нужен пароль (или укажите постоянный \
             SIP-адрес)."
                .into(),
        ),
        Some("projects") => ("projects", "Такого проекта нет.".into()),
        _ => ("", format!("Не сохранено: {}", e.message)),
    };
    errors.insert(key, text);
}

/// `POST /agents`: a new agent.
pub async fn create(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let v = match form_user(&s, &headers, field(&f, "csrf"), Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let chosen = ticked(&f);
    let opt = |k: &str| Some(field(&f, k).to_string()).filter(|x| !x.is_empty());
    let change = AgentChange {
        name: Some(field(&f, "name").to_string()),
        sip_user: Some(field(&f, "sip_user").to_string()),
        password: f.get("password").cloned().filter(|p| !p.is_empty()),
        uri: opt("uri").map(Some),
        projects: Some(chosen.clone()),
        enabled: Some(f.contains_key("enabled")),
    };
    let mut errors = FieldErrors::new();
    if field(&f, "name").is_empty() {
        errors.insert("name", "Укажите имя оператора.".into());
    }
    if errors.is_empty() {
        match crate::api::create_agent(&s.app, &change).await {
            Ok(a) => {
                tracing::info!(user = %v.user.username, agent = a.id, "agent created from the web");
                return Redirect::to("/agents?saved=1").into_response();
            }
            Err(e) => refusal(&e, &mut errors),
        }
    }
    let projects = match project_boxes(&s, &chosen).await {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let form = AgentForm {
        name: field(&f, "name").into(),
        sip_user: field(&f, "sip_user").into(),
        uri: field(&f, "uri").into(),
        enabled: f.contains_key("enabled"),
        projects,
        ..AgentForm::default()
    };
    agents_page(&s, &v, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn form_of(s: &WebState, a: &AgentRow) -> Result<AgentForm, Refused> {
    Ok(AgentForm {
        name: a.name.clone(),
        sip_user: a.sip_user.clone(),
        uri: a.uri.clone().unwrap_or_default(),
        enabled: a.enabled,
        projects: project_boxes(s, &a.projects).await?,
        all_projects: a.all_projects,
        simulated: a.kind == AgentKind::Sim,
    })
}

/// `GET /agents/{id}`: the agent's form.
pub async fn edit_form(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let a = match s.app.agent_store.agent(id).await {
        Ok(a) => a,
        Err(StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого оператора").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    match form_of(&s, &a).await {
        Ok(form) => render(
            &AgentEditPage {
                page: Page::new(Some(&v), "/agents"),
                id,
                form,
                errors: FieldErrors::new(),
            },
            StatusCode::OK,
        ),
        Err(r) => r.into_response(),
    }
}

/// `POST /agents/{id}`: what changed of an agent (an empty password keeps the one it has).
pub async fn change(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let v = match form_user(&s, &headers, field(&f, "csrf"), Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let a = match s.app.agent_store.agent(id).await {
        Ok(a) => a,
        Err(StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого оператора").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let sim = a.kind == AgentKind::Sim;
    let chosen = ticked(&f);
    let user = field(&f, "sip_user");
    let uri = field(&f, "uri");
    let change = AgentChange {
        name: Some(field(&f, "name").to_string()),
        sip_user: (!sim && user != a.sip_user).then(|| user.to_string()),
        password: f.get("password").cloned().filter(|p| !sim && !p.is_empty()),
        uri: match (sim, uri.is_empty(), a.uri.is_some()) {
            (true, _, _) | (false, true, false) => None,
            (false, true, true) => Some(None),
            (false, false, _) => (a.uri.as_deref() != Some(uri)).then(|| Some(uri.to_string())),
        },
        projects: (!a.all_projects).then(|| chosen.clone()),
        enabled: Some(f.contains_key("enabled")),
    };
    let mut errors = FieldErrors::new();
    match crate::api::change_agent(&s.app, id, &change).await {
        Ok(_) => {
            tracing::info!(user = %v.user.username, agent = id, "agent changed from the web");
            return Redirect::to("/agents?saved=1").into_response();
        }
        Err(e) => refusal(&e, &mut errors),
    }
    let mut form = match form_of(&s, &a).await {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    form.name = field(&f, "name").into();
    form.sip_user = user.into();
    form.uri = uri.into();
    form.enabled = f.contains_key("enabled");
    for p in &mut form.projects {
        p.2 = chosen.contains(&p.0);
    }
    let mut page = Page::new(Some(&v), "/agents");
    page.error = errors.get("").cloned();
    render(
        &AgentEditPage {
            page,
            id,
            form,
            errors,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
