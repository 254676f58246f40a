//! The agent desk (docs/users.md, "The agent desk"): the agent's state, since when and why,
//! today's calls and talk time, the buttons that set it available, on a break (with a reason)
//! or offline — the same rules as the API's `POST /agents/{id}/state` — and the card of the
//! call transferred to the agent: who the caller is, what the robot heard, and after the answer
//! the wrap-up form (`POST /agents/{id}/wrap-up`'s rules). State and card are pushed over
//! server-sent events (`/desk/live`) the moment the agents service announces a change.
use super::pages::{forbidden, form_user, render};
use super::{Page, WebState};
use crate::agents::card::DeskCall;
use crate::agents::pool::{AgentLive, AgentState};
use crate::api::{wrap_up_call, WrapUpInput, WrapUpRefused};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::VecDeque;

pub struct AgentCard {
    pub id: i64,
    pub name: String,
}

/// The agent's state as the desk shows it.
pub struct StateView {
    pub state: &'static str,
    pub state_label: &'static str,
    pub since: String,
    pub reason: Option<String>,
    pub calls_today: u32,
    pub talk_today: String,
}

/// The transferred call's card.
pub struct CardView {
    pub call_id: Option<i64>,
    /// When the agent's phone began to ring (unix ms).
    pub rang_at_ms: i64,
    pub project_name: String,
    pub name: String,
    pub number: String,
    pub fields: Vec<(String, String)>,
    pub result_label: String,
    pub keys: String,
    pub said: Vec<String>,
    pub captured: Vec<(String, String)>,
    /// The wrap-up form is open (the agent answered and has not written it yet).
    pub form_open: bool,
    pub wrapped_up: Option<String>,
    pub dispositions: Vec<String>,
    pub can_call_back: bool,
    pub time_zone: String,
}

/// What the wrap-up form was filled with, and what was wrong with it.
#[derive(Default)]
pub struct FormView {
    pub disposition: String,
    pub note: String,
    pub callback_at: String,
    pub err_disposition: Option<String>,
    pub err_note: Option<String>,
    pub err_callback_at: Option<String>,
    /// A refusal that is no field's (not this agent's call, written already).
    pub error: Option<String>,
}

/// The card's part of the page, with the session's form token.
pub struct CardBox {
    pub card: Option<CardView>,
    pub csrf: String,
    pub form: FormView,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    page: Page,
    agent: Option<AgentCard>,
    s: StateView,
    c: CardBox,
    /// Preview dialing (docs/pacing.md): the next contact's card while no call is on the
    /// desk, and what the last press did.
    preview: Option<crate::dialer::preview::PreviewCard>,
    preview_note: Option<String>,
}

#[derive(Template)]
#[template(path = "desk_state.html")]
struct DeskState {
    s: StateView,
}

#[derive(Template)]
#[template(path = "desk_card.html")]
struct DeskCard {
    c: CardBox,
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

fn state_of(live: Option<AgentLive>) -> StateView {
    let l = live.unwrap_or(AgentLive {
        state: AgentState::Offline,
        since_ms: 0,
        reason: None,
        calls_today: 0,
        talk_ms_today: 0,
        last_call_end_ms: None,
    });
    StateView {
        state: l.state.as_str(),
        state_label: label(l.state),
        since: clock_text(l.since_ms),
        reason: l.reason,
        calls_today: l.calls_today,
        talk_today: duration_text(l.talk_ms_today),
    }
}

fn card_of(d: DeskCall) -> CardView {
    let c = &d.card;
    CardView {
        call_id: c.call_id,
        rang_at_ms: d.rang_at_ms,
        project_name: c.project_name.clone(),
        name: c
            .contact_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Без имени".into()),
        number: c.number.clone(),
        fields: c.fields.clone(),
        result_label: crate::store::result_label(&c.result),
        keys: c.keys.clone(),
        said: c.said.clone(),
        captured: c.captured.clone(),
        form_open: d.answered && d.wrapped_up.is_none() && c.call_id.is_some(),
        wrapped_up: d.wrapped_up.clone(),
        dispositions: c.dispositions.clone(),
        can_call_back: c.callback_project.is_some(),
        time_zone: c.time_zone.clone(),
    }
}

fn card_box(s: &WebState, agent: i64, csrf: &str, form: FormView) -> CardBox {
    CardBox {
        card: s.app.agents.desk_call(agent).map(card_of),
        csrf: csrf.to_string(),
        form,
    }
}

/// `GET /desk`.
pub async fn desk(
    State(s): State<WebState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<super::desk_preview::DeskQuery>,
) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(id) = v.user.agent_id else {
        if v.user.role.reads() {
            return Redirect::to("/").into_response();
        }
        return render(
            &DeskPage {
                page: Page::new(Some(&v), "/desk"),
                agent: None,
                s: state_of(None),
                c: CardBox {
                    card: None,
                    csrf: v.csrf.clone(),
                    form: FormView::default(),
                },
                preview: None,
                preview_note: None,
            },
            StatusCode::OK,
        );
    };
    let note = super::desk_preview::note_of(&q.preview);
    page_with(&s, &v, id, FormView::default(), StatusCode::OK, note).await
}

pub(super) async fn page_with(
    s: &WebState,
    v: &super::Viewer,
    id: i64,
    form: FormView,
    status: StatusCode,
    preview_note: Option<String>,
) -> Response {
    let name = match s.app.agent_store.agent(id).await {
        Ok(a) => a.name,
        Err(_) => format!("№ {id}"),
    };
    let c = card_box(s, id, &v.csrf, form);
    // The next preview card while the agent is free (none without a dialer here).
    let free = s
        .app
        .agents
        .live(id)
        .is_some_and(|l| l.state == AgentState::Available);
    let preview = if free {
        crate::api::next_card(&s.app, id).await.ok().flatten()
    } else {
        None
    };
    render(
        &DeskPage {
            page: Page::new(Some(v), "/desk"),
            agent: Some(AgentCard { id, name }),
            s: state_of(s.app.agents.live(id)),
            c,
            preview,
            preview_note,
        },
        status,
    )
}

/// `GET /desk/state`: the state card alone.
pub async fn state(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    render(
        &DeskState {
            s: state_of(s.app.agents.live(id)),
        },
        StatusCode::OK,
    )
}

/// `GET /desk/live`: the state (`state`) and the call's card (`card`) as server-sent events,
/// each sent when it changed — the agents service wakes the stream on every change, so a
/// transferred call's card arrives as the agent's phone starts ringing.
pub async fn live(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    struct Live {
        s: WebState,
        changes: tokio::sync::watch::Receiver<u64>,
        csrf: String,
        state: String,
        card: String,
        first: bool,
        out: VecDeque<Event>,
    }
    let start = Live {
        changes: s.app.agents.subscribe(),
        s,
        csrf: v.csrf,
        state: String::new(),
        card: String::new(),
        first: true,
        out: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(start, move |mut l| async move {
        loop {
            if let Some(ev) = l.out.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(ev), l));
            }
            if !l.first && l.changes.changed().await.is_err() {
                return None;
            }
            l.first = false;
            let state = DeskState {
                s: state_of(l.s.app.agents.live(id)),
            }
            .render()
            .unwrap_or_default();
            let card = DeskCard {
                c: card_box(&l.s, id, &l.csrf, FormView::default()),
            }
            .render()
            .unwrap_or_default();
            if !state.is_empty() && state != l.state {
                l.out
                    .push_back(Event::default().event("state").data(state.clone()));
                l.state = state;
            }
            if !card.is_empty() && card != l.card {
                l.out
                    .push_back(Event::default().event("card").data(card.clone()));
                l.card = card;
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
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

#[derive(Deserialize)]
pub struct WrapUpFormBody {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    call_id: String,
    #[serde(default)]
    disposition: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    callback_at: String,
}

/// `POST /desk/wrap-up`: the wrap-up form. From htmx (`HX-Request`) the answer is the card
/// (written, or the form with each problem beside its field); from a plain form post, the
/// desk again or the page with the problems (422).
pub async fn wrap_up(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<WrapUpFormBody>,
) -> Response {
    let v = match form_user(&s, &headers, &f.csrf, |_| true).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(id) = v.user.agent_id else {
        return forbidden(&v);
    };
    let htmx = headers.contains_key("hx-request");
    let mut form = FormView {
        disposition: f.disposition.trim().to_string(),
        note: f.note.clone(),
        callback_at: f.callback_at.trim().to_string(),
        ..Default::default()
    };
    let result = match f.call_id.trim().parse::<i64>() {
        Ok(call_id) => {
            let input = WrapUpInput {
                call_id,
                disposition: f.disposition,
                note: f.note,
                callback_at: f.callback_at,
            };
            wrap_up_call(&s.app, id, &input).await
        }
        Err(_) => Err(WrapUpRefused::Api(crate::api::error::ApiError::invalid(
            "call_id: not a number",
        ))),
    };
    let status = match result {
        Ok(_) if htmx => {
            return render(
                &DeskCard {
                    c: card_box(&s, id, &v.csrf, FormView::default()),
                },
                StatusCode::OK,
            )
        }
        Ok(_) => return Redirect::to("/desk").into_response(),
        Err(WrapUpRefused::Problems(problems)) => {
            for p in problems {
                let slot = match p.field() {
                    "disposition" => &mut form.err_disposition,
                    "note" => &mut form.err_note,
                    _ => &mut form.err_callback_at,
                };
                slot.get_or_insert(p.ru());
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(WrapUpRefused::Api(e)) => {
            if e.status.is_server_error() {
                tracing::error!(error = %e.message, "writing a wrap-up failed");
                form.error =
                    Some("Не удалось записать итог; подробности в журнале сервера.".into());
            } else {
                form.error = Some(match e.status {
                    StatusCode::NOT_FOUND => "Итог не записан: такого звонка нет.".into(),
                    StatusCode::CONFLICT => "Итог не записан: он уже записан, или этот звонок \
                                             принимали не вы."
                        .into(),
                    _ => format!("Итог не записан: {}", e.message),
                });
            }
            e.status
        }
    };
    if htmx {
        // htmx swaps 2xx answers only: the form with its problems comes back as 200.
        render(
            &DeskCard {
                c: card_box(&s, id, &v.csrf, form),
            },
            StatusCode::OK,
        )
    } else {
        page_with(&s, &v, id, form, status, None).await
    }
}
