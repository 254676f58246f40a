//! The agent desk (docs/users.md, "The agent desk"): the agent's state, since when and why,
//! today's calls and talk time (refreshed every 2 s), and the buttons that set it available,
//! on a break (with a reason) or offline — the same rules as the API's
//! `POST /agents/{id}/state`.
use super::pages::{forbidden, form_user, render};
use super::{Page, WebState};
use crate::agents::pool::{AgentLive, AgentState};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

pub struct AgentCard {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    page: Page,
    agent: Option<AgentCard>,
    state: &'static str,
    state_label: &'static str,
    since: String,
    reason: Option<String>,
    calls_today: u32,
    talk_today: String,
}

#[derive(Template)]
#[template(path = "desk_state.html")]
struct DeskState {
    state: &'static str,
    state_label: &'static str,
    since: String,
    reason: Option<String>,
    calls_today: u32,
    talk_today: String,
}

fn label(s: AgentState) -> &'static str {
    match s {
        AgentState::Offline => "Не в сети",
        AgentState::Available => "Готов",
        AgentState::Ringing => "Звонок",
        AgentState::Talking => "Разговор",
        AgentState::WrapUp => "После звонка",
        AgentState::Paused => "Перерыв",
    }
}

/// `HH:MM:SS` of a unix-ms moment in Moscow time (the product's default zone; users have no
/// zone of their own in this version).
fn clock_text(ms: i64) -> String {
    use chrono::TimeZone;
    chrono_tz::Europe::Moscow
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn state_of(live: Option<AgentLive>) -> DeskState {
    let l = live.unwrap_or(AgentLive {
        state: AgentState::Offline,
        since_ms: 0,
        reason: None,
        calls_today: 0,
        talk_ms_today: 0,
        last_call_end_ms: None,
    });
    DeskState {
        state: l.state.as_str(),
        state_label: label(l.state),
        since: clock_text(l.since_ms),
        reason: l.reason,
        calls_today: l.calls_today,
        talk_today: duration_text(l.talk_ms_today),
    }
}

/// `GET /desk`.
pub async fn desk(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(id) = v.user.agent_id else {
        if v.user.role.reads() {
            return Redirect::to("/").into_response();
        }
        let st = state_of(None);
        return render(
            &DeskPage {
                page: Page::new(Some(&v), "/desk"),
                agent: None,
                state: st.state,
                state_label: st.state_label,
                since: st.since,
                reason: st.reason,
                calls_today: st.calls_today,
                talk_today: st.talk_today,
            },
            StatusCode::OK,
        );
    };
    let name = match s.app.agent_store.agent(id).await {
        Ok(a) => a.name,
        Err(_) => format!("№ {id}"),
    };
    let st = state_of(s.app.agents.live(id));
    render(
        &DeskPage {
            page: Page::new(Some(&v), "/desk"),
            agent: Some(AgentCard { id, name }),
            state: st.state,
            state_label: st.state_label,
            since: st.since,
            reason: st.reason,
            calls_today: st.calls_today,
            talk_today: st.talk_today,
        },
        StatusCode::OK,
    )
}

/// `GET /desk/state`: the state card alone (the page polls it).
pub async fn state(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    render(&state_of(s.app.agents.live(id)), StatusCode::OK)
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /desk/state`.
pub async fn set_state(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<StateForm>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, |_| true).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    match crate::api::set_agent_state(&s.app, id, &f.state, f.reason).await {
        Ok(_) => Redirect::to("/desk").into_response(),
        Err(e) => (e.status, e.message).into_response(),
    }
}
