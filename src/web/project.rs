//! A project's page (docs/users.md, "The project page"): its live figures — calls up now, calls,
//! answered, machines, transfers and callers waiting, cost, contacts by status, the results as
//! a chart, calls and their answer rate by hour — pushed to the page every 2 s over
//! server-sent events, the exports, and the dialer's decision log.
use super::pages::{forbidden, form_user, render, status_label};
use super::{Page, Refused, WebState};
use crate::scenario::system_result;
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::time::Duration;

/// One bar of the results chart.
pub struct ResultBar {
    pub label: String,
    /// `scenario`, `system`, `machine`, `queue`: its colour.
    pub kind: &'static str,
    pub count: u64,
    pub y: u32,
    pub width: u32,
}

pub struct ContactLine {
    pub class: &'static str,
    pub label: &'static str,
    pub count: u64,
}

/// The live part of the page.
pub struct Figures {
    pub in_call: u64,
    pub calls: u64,
    pub answered: u64,
    pub machines: u64,
    pub transfers: u64,
    pub waiting: usize,
    pub cost: String,
    pub contacts: Vec<ContactLine>,
    pub results: Vec<ResultBar>,
    pub chart_height: u32,
    /// Calls and answer rate by hour, the last 24 hours.
    pub hours: super::hours::HourChart,
    /// What the project's pacing decided at the dialer's last pass (docs/pacing.md).
    pub pacing: Option<PacingLine>,
}

/// The pacing block of the project page.
pub struct PacingLine {
    /// Whether agents figure in the pacing (an agents' mode, or transfers under way): else
    /// only the mode, the decision and the lines are shown.
    pub with_agents: bool,
    pub mode: &'static str,
    pub acting: &'static str,
    pub why: String,
    pub dial_level: String,
    pub allowed: u32,
    pub lines: u32,
    pub in_flight: u32,
    pub queue: u32,
    pub agents: String,
    pub abandon_today: String,
    pub abandon_15min: String,
    pub measured: String,
}

fn pacing_line(v: &crate::dialer::floor::PacingView) -> PacingLine {
    let share = |x: Option<f64>| {
        x.map(|x| format!("{:.1} %", x * 100.0).replace('.', ","))
            .unwrap_or_else(|| "—".into())
    };
    let secs = |x: Option<f64>| x.map(|x| format!("{x:.0} с")).unwrap_or_else(|| "—".into());
    PacingLine {
        with_agents: v.mode != crate::store::Mode::Robot || v.transfers_today > 0 || v.queue > 0,
        mode: v.mode.label_ru(),
        acting: v.acting_mode.label_ru(),
        why: v.why.clone(),
        dial_level: format!("{:.2}", v.dial_level).replace('.', ","),
        allowed: v.allowed,
        lines: v.lines,
        in_flight: v.in_flight,
        queue: v.queue,
        agents: v
            .agents
            .iter()
            .map(|(st, n)| format!("{} {n}", super::agents::state_label_of(st)))
            .collect::<Vec<_>>()
            .join(", "),
        abandon_today: format!(
            "{} ({} из {})",
            share(v.abandon_share_today),
            v.abandoned_today,
            v.transfers_today
        ),
        abandon_15min: share(v.abandon_share_15min),
        measured: format!(
            "разговор {}, после звонка {}, до очереди {} (замеров: {})",
            secs(v.talk_s),
            secs(v.wrap_up_s),
            secs(v.answer_s),
            v.samples
        ),
    }
}

#[derive(Template)]
#[template(path = "project_figures.html")]
struct FiguresPart {
    f: Figures,
}

pub struct DecisionLine {
    pub at: String,
    pub number: String,
    pub decision: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    page: Page,
    id: i64,
    name: String,
    status: String,
    status_label: &'static str,
    status_reason: Option<String>,
    lines: i64,
    time_zone: String,
    schedule: String,
    can_run: bool,
    f: Figures,
    decisions: Vec<DecisionLine>,
    /// The other projects contacts may be copied into: (id, name).
    targets: Vec<(i64, String)>,
    /// What the last copy, deletion or edit did.
    notice: Option<String>,
    /// The statuses whose contacts may be deleted, with how many there are now.
    deletable: Vec<ContactLine>,
}

/// Results that are not the callee's: system outcomes before a person spoke.
const NOT_ANSWERED: [&str; 4] = [
    system_result::NO_ANSWER,
    system_result::BUSY,
    system_result::REJECTED,
    system_result::SYSTEM,
];

async fn figures(s: &WebState, id: i64, zone: &str) -> Result<Figures, Refused> {
    let st = s
        .app
        .reports
        .stats(id)
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?;
    // Only the hours still open are read: those that are over are kept (`HourCache`).
    let now = (s.now_ms)().div_euclid(1000);
    let from = super::hours::start(now, zone);
    let first = s.hours.first_missing(id, from);
    let open = ((from + i64::from(super::hours::HOURS) * 3600 - first) / 3600) as u32;
    let fresh = s
        .app
        .reports
        .calls_by_hour(id, first, open)
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?;
    let by_hour = s.hours.merge(id, from, first, &fresh, now);
    let count = |k: &str| st.contacts.get(k).copied().unwrap_or(0);
    let contacts = [
        ("not_called", "не звонили"),
        ("in_call", "в звонке"),
        ("retry", "повтор"),
        ("reached", "дозвонились"),
        ("not_reached", "не дозвонились"),
    ]
    .into_iter()
    .map(|(class, label)| ContactLine {
        class,
        label,
        count: count(class),
    })
    .collect();
    let mut results: Vec<(String, u64)> = st.results.iter().map(|(k, v)| (k.clone(), *v)).collect();
    results.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top = results.first().map_or(1, |r| r.1.max(1));
    let bars: Vec<ResultBar> = results
        .iter()
        .enumerate()
        .map(|(i, (code, n))| ResultBar {
            label: crate::store::result_label(code),
            kind: match code.as_str() {
                system_result::ANSWERING_MACHINE => "machine",
                system_result::QUEUE_ABANDONED | system_result::QUEUE_TIMEOUT => "queue",
                c if system_result::label_ru(c).is_some() => "system",
                _ => "scenario",
            },
            count: *n,
            y: i as u32 * 22 + 4,
            width: ((*n as f64 / top as f64) * 300.0).round().max(1.0) as u32,
        })
        .collect();
    let answered = st
        .results
        .iter()
        .filter(|(k, _)| !NOT_ANSWERED.contains(&k.as_str()))
        .map(|(_, v)| v)
        .sum();
    Ok(Figures {
        in_call: count("in_call"),
        calls: st.calls,
        answered,
        machines: st
            .results
            .get(system_result::ANSWERING_MACHINE)
            .copied()
            .unwrap_or(0),
        transfers: st.transfers.transfers,
        waiting: s.app.agents.waiting(id),
        cost: st.cost.decimal().replace('.', ","),
        contacts,
        chart_height: bars.len() as u32 * 22 + 8,
        results: bars,
        hours: super::hours::chart(&by_hour, from, zone),
        pacing: s
            .app
            .pacing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(pacing_line),
    })
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    copied: Option<u64>,
    skipped: Option<u64>,
    deleted: Option<u64>,
    kept: Option<u64>,
    saved: Option<u8>,
}

/// `GET /projects/{id}`.
pub async fn page(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let p = match s.app.campaigns.project(id).await {
        Ok(p) => p,
        Err(crate::store::StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого проекта").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let f = match figures(&s, id, &p.time_zone).await {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let decisions = match s.app.reports.decisions(id, None, 30).await {
        Ok(d) => d,
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let tz: chrono_tz::Tz = p.time_zone.parse().unwrap_or(chrono_tz::Europe::Moscow);
    let decisions = decisions
        .into_iter()
        .map(|d| {
            use chrono::TimeZone;
            DecisionLine {
                at: tz
                    .timestamp_opt(d.at, 0)
                    .single()
                    .map(|t| t.format("%d.%m %H:%M:%S").to_string())
                    .unwrap_or_default(),
                number: d.number.unwrap_or_default(),
                decision: d.decision,
                reason: d.reason,
            }
        })
        .collect();
    let targets = match s.app.campaigns.list_projects().await {
        Ok(all) => all
            .into_iter()
            .filter(|o| o.id != id)
            .map(|o| (o.id, o.name))
            .collect(),
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let notice = q
        .copied
        .map(|n| {
            format!(
                "Скопировано контактов: {n}; пропущено (все номера уже там или в стоп-листе): {}.",
                q.skipped.unwrap_or(0)
            )
        })
        .or(q.deleted.map(|n| {
            format!(
                "Удалено контактов: {n} (из них {} остались скрытыми за своими звонками в отчётах).",
                q.kept.unwrap_or(0)
            )
        }))
        .or(q.saved.map(|_| "Настройки проекта сохранены.".to_string()));
    let deletable = f
        .contacts
        .iter()
        .filter(|c| c.class != "in_call")
        .map(|c| ContactLine {
            class: c.class,
            label: c.label,
            count: c.count,
        })
        .collect();
    let schedule = p
        .schedule
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    render(
        &ProjectPage {
            page: Page::new(Some(&v), "/"),
            id,
            status_label: status_label(&p.status),
            status: p.status,
            status_reason: p.status_reason,
            name: p.name,
            lines: p.lines,
            time_zone: p.time_zone,
            schedule,
            can_run: v.user.role.runs_campaigns(),
            f,
            decisions,
            targets,
            notice,
            deletable,
        },
        StatusCode::OK,
    )
}

#[derive(serde::Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    status: crate::rules::attempts::ContactStatus,
}

/// `POST /projects/{id}/contacts/delete`: the API's deletion by status, back to the page with
/// the count.
pub async fn delete(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Err(r) = form_user(&s, &headers, &f.csrf, Role::runs_campaigns).await {
        return *r;
    }
    match s.app.campaigns.delete_contacts(id, f.status).await {
        Ok(n) => Redirect::to(&format!(
            "/projects/{id}?deleted={}&kept={}",
            n.deleted, n.kept_for_history
        ))
        .into_response(),
        Err(e) => {
            let e = crate::api::error::ApiError::from(e);
            (e.status, e.message).into_response()
        }
    }
}

#[derive(serde::Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    csrf: String,
    status: crate::rules::attempts::ContactStatus,
    to_project_id: i64,
}

/// `POST /projects/{id}/contacts/copy`: the API's copy by status, back to the page with the
/// counts.
pub async fn copy(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<CopyForm>,
) -> Response {
    if let Err(r) = form_user(&s, &headers, &f.csrf, Role::runs_campaigns).await {
        return *r;
    }
    match s
        .app
        .campaigns
        .copy_contacts(id, f.status, f.to_project_id)
        .await
    {
        Ok(n) => Redirect::to(&format!(
            "/projects/{id}?copied={}&skipped={}",
            n.copied, n.skipped
        ))
        .into_response(),
        Err(e) => {
            let e = crate::api::error::ApiError::from(e);
            (e.status, e.message).into_response()
        }
    }
}

/// `GET /projects/{id}/live`: the figures, pushed every 2 s as the `figures` event (only when
/// they changed; a comment keeps the connection alive otherwise).
pub async fn live(State(s): State<WebState>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    drop(v);
    let zone = match s.app.campaigns.project(id).await {
        Ok(p) => p.time_zone,
        Err(crate::store::StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого проекта").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let stream = futures_util::stream::unfold((s, String::new(), true), move |(s, last, first)| {
        let zone = zone.clone();
        async move {
            loop {
                if !first {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                let html = match figures(&s, id, &zone).await {
                    Ok(f) => FiguresPart { f }.render().unwrap_or_default(),
                    Err(_) => String::new(),
                };
                if !html.is_empty() && html != last {
                    let ev = Event::default().event("figures").data(html.clone());
                    return Some((Ok::<_, std::convert::Infallible>(ev), (s, html, false)));
                }
                if first {
                    return Some((Ok(Event::default().comment("no change")), (s, last, false)));
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /projects/{id}/export?report=…&format=…`: the API's export, for a signed-in reader.
pub async fn export(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer(&headers).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if !v.user.role.reads() {
        return forbidden(&v);
    }
    crate::api::export_for(&s.app, id, &uri).await
}
