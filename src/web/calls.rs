//! The calls page (docs/users.md, "Calls"): all calls, newest first, and a project's last
//! results (one row per contact with its newest call), filtered by a GET form — dates,
//! project, result, the contact's status, a number — and paged by keyset cursors as the API
//! pages (`before` / `after`), never by an offset. Each call links to its timeline.
use super::pages::render;
use super::{Page, Refused, WebState};
use crate::scenario::system_result;
use crate::store::{CallSearch, CallView, LastFilter, ProjectView};
use crate::users::Role;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone};
use serde::Deserialize;

/// Rows per page.
pub const PAGE_ROWS: u32 = 50;

/// The statuses a contact can have, with their labels.
pub const CONTACT_STATUSES: [(&str, &str); 4] = [
    ("not_called", "не звонили"),
    ("retry", "повтор"),
    ("reached", "дозвонились"),
    ("not_reached", "не дозвонились"),
];

/// The form as sent: every field text, checked here (a bad value is shown at its field).
#[derive(Debug, Default, Deserialize)]
pub struct CallsQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
}

/// Problems with the form, by field.
#[derive(Debug, Default)]
pub struct FieldErrors {
    pub from: Option<String>,
    pub to: Option<String>,
    pub project: Option<String>,
    pub status: Option<String>,
    pub number: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.from.is_some()
            || self.to.is_some()
            || self.project.is_some()
            || self.status.is_some()
            || self.number.is_some()
    }
}

/// One call of the list.
pub struct CallLine {
    pub id: i64,
    pub at: String,
    pub project_id: i64,
    pub project: String,
    pub contact: String,
    pub number: String,
    pub talk: String,
    pub result: String,
    pub live: bool,
    pub actions: String,
    pub recording: bool,
}

/// One contact of the last results.
pub struct LastLine {
    pub contact_id: i64,
    pub name: String,
    pub numbers: String,
    pub status: String,
    pub status_label: String,
    pub calls: i64,
    pub call_id: Option<i64>,
    pub at: String,
    pub result: String,
}

#[derive(Template)]
#[template(path = "calls.html")]
struct CallsPage {
    page: Page,
    last_tab: bool,
    /// The form's values as sent (shown back in it).
    from: String,
    to: String,
    project: Option<i64>,
    result: String,
    status: String,
    number: String,
    errors: FieldErrors,
    /// (id, name, chosen).
    projects: Vec<(i64, String, bool)>,
    results: Vec<(String, String)>,
    statuses: [(&'static str, &'static str); 4],
    zone: String,
    calls: Vec<CallLine>,
    last: Vec<LastLine>,
    /// Links to the next page and back to the first.
    next: Option<String>,
    first: Option<String>,
    /// The search stopped at its window: the next page searches on.
    window_ended: bool,
    /// The last-results tab needs a project.
    pick_project: bool,
}

/// A date typed in the form (`2026-05-20` from a date field, or `20.05.2026`).
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}

/// Midnight of `d` in `tz`, as unix s.
fn midnight(d: NaiveDate, tz: chrono_tz::Tz) -> Option<i64> {
    let t = d.and_hms_opt(0, 0, 0)?;
    tz.from_local_datetime(&t).earliest().map(|t| t.timestamp())
}

/// Milliseconds as `m:ss`.
pub fn mm_ss(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A call's start in `tz`.
pub fn local_time(t: i64, tz: chrono_tz::Tz) -> String {
    tz.timestamp_opt(t, 0)
        .single()
        .map(|t| t.format("%d.%m.%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// An action's kind and state in Russian.
pub fn action_words(kind: &str, status: &str) -> String {
    let kind = match kind {
        "sms" => "SMS",
        "add_to_project" => "в проект",
        "stop_list" => "в стоп-лист",
        "webhook" => "вебхук",
        k => k,
    };
    let status = match status {
        "queued" => "в очереди",
        "sending" => "отправляется",
        "sent" => "отправлено",
        "delivered" => "доставлено",
        "done" => "выполнено",
        "failed" => "не удалось",
        s => s,
    };
    format!("{kind}: {status}")
}

/// The results a call can have: the system's, then each project's scenario's.
async fn known_results(s: &WebState, projects: &[ProjectView]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = system_result::ALL
        .iter()
        .map(|r| (r.to_string(), crate::store::result_label(r)))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for p in projects {
        if !seen.insert(p.scenario_id) {
            continue;
        }
        if let Ok((_, source)) = s.app.campaigns.scenario(p.scenario_id).await {
            for r in crate::scenario::load::declared_results(&source) {
                if !out.iter().any(|(k, _)| *k == r) {
                    out.push((r.clone(), r));
                }
            }
        }
    }
    out
}

fn call_line(c: &CallView, names: &[(i64, String)], tz: chrono_tz::Tz) -> CallLine {
    CallLine {
        id: c.id,
        at: local_time(c.started_at, tz),
        project_id: c.project_id,
        project: names
            .iter()
            .find(|(id, _)| *id == c.project_id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        contact: c.contact_name.clone().unwrap_or_default(),
        number: c.number.clone(),
        talk: c.talk_ms.map(mm_ss).unwrap_or_default(),
        result: c.result_label.clone().unwrap_or_default(),
        live: c.state == "dialing",
        actions: c
            .actions
            .iter()
            .map(|a| action_words(&a.kind, &a.status))
            .collect::<Vec<_>>()
            .join(", "),
        recording: c.recording.is_some(),
    }
}

/// The query string of the filters (the paging links carry them on).
fn filters_query(q: &CallsQuery, extra: Option<(&str, i64)>) -> String {
    let mut f: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("tab", &q.tab),
        ("from", &q.from),
        ("to", &q.to),
        ("project", &q.project),
        ("result", &q.result),
        ("status", &q.status),
        ("number", &q.number),
    ] {
        if !v.trim().is_empty() {
            f.push((k, v.trim().to_string()));
        }
    }
    if let Some((k, v)) = extra {
        f.push((k, v.to_string()));
    }
    let parts: Vec<String> = f
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    format!("/calls?{}", parts.join("&"))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn percent(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /calls`: the calls, or (`tab=last`) a project's last results.
pub async fn page(
    State(s): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<CallsQuery>,
) -> Response {
    let v = match s.viewer_who(&headers, Role::reads).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let fail = |e: crate::store::StoreError| Refused::Failed(e.to_string()).into_response();
    let projects = match s.app.campaigns.list_projects().await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut errors = FieldErrors::default();
    let project = match q.project.trim() {
        "" => None,
        p => match p.parse::<i64>() {
            Ok(id) if projects.iter().any(|x| x.id == id) => Some(id),
            _ => {
                errors.project = Some("Нет такого проекта.".into());
                None
            }
        },
    };
    let chosen: Vec<ProjectView> = projects
        .iter()
        .filter(|p| project.is_none_or(|id| p.id == id))
        .cloned()
        .collect();
    let tz: chrono_tz::Tz = project
        .and_then(|id| projects.iter().find(|p| p.id == id))
        .and_then(|p| p.time_zone.parse().ok())
        .unwrap_or(chrono_tz::Europe::Moscow);
    let date = |raw: &str, slot: &mut Option<String>| -> Option<NaiveDate> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let d = parse_date(raw);
        if d.is_none() {
            *slot = Some("Дата в виде ДД.ММ.ГГГГ.".into());
        }
        d
    };
    let from = date(&q.from, &mut errors.from);
    let to = date(&q.to, &mut errors.to);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.to = Some("Конец раньше начала.".into());
        }
    }
    let status = q.status.trim();
    if !status.is_empty() && !CONTACT_STATUSES.iter().any(|(k, _)| *k == status) {
        errors.status = Some("Нет такого статуса.".into());
    }
    let number = match q.number.trim() {
        "" => None,
        n => match crate::phone::normalize_ru(n) {
            Ok(n) => Some(n.e164),
            Err(e) => {
                errors.number = Some(format!("Не номер телефона: {}.", ru_phone_error(&e)));
                None
            }
        },
    };
    let last_tab = q.tab == "last";
    let names: Vec<(i64, String)> = projects.iter().map(|p| (p.id, p.name.clone())).collect();
    let mut calls = Vec::new();
    let mut last = Vec::new();
    let mut next = None;
    let mut window_ended = false;
    let first = (!q.before.is_empty() || !q.after.is_empty()).then(|| filters_query(&q, None));
    let pick_project = last_tab && project.is_none();
    if !errors.any() && !last_tab {
        let f = CallSearch {
            project_id: project,
            result: Some(q.result.trim().to_string()).filter(|r| !r.is_empty()),
            contact_status: Some(status.to_string()).filter(|s| !s.is_empty()),
            number,
            from: from.and_then(|d| midnight(d, tz)),
            to: to.and_then(|d| d.succ_opt()).and_then(|d| midnight(d, tz)),
            before_id: q.before.trim().parse().ok(),
            limit: PAGE_ROWS,
        };
        let found = match s.app.reports.search_calls(&f).await {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        calls = found
            .calls
            .iter()
            .map(|c| call_line(c, &names, tz))
            .collect();
        window_ended = found.window_ended;
        next = found.next.map(|n| filters_query(&q, Some(("before", n))));
    } else if !errors.any() {
        if let Some(p) = project {
            let f = LastFilter {
                status: Some(status.to_string()).filter(|s| !s.is_empty()),
                result: Some(q.result.trim().to_string()).filter(|r| !r.is_empty()),
                after: q.after.trim().parse().unwrap_or(0),
                limit: PAGE_ROWS,
            };
            let rows = match s.app.reports.last_results_where(p, &f).await {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            if rows.len() as u32 == PAGE_ROWS {
                next = rows
                    .last()
                    .map(|r| filters_query(&q, Some(("after", r.contact_id))));
            }
            last = rows
                .into_iter()
                .map(|r| LastLine {
                    contact_id: r.contact_id,
                    name: r.name.unwrap_or_default(),
                    numbers: r.numbers.join(", "),
                    status: r.status,
                    status_label: r.status_label,
                    calls: r.calls,
                    call_id: r.last_call.as_ref().map(|c| c.id).filter(|id| *id > 0),
                    at: r
                        .last_call
                        .as_ref()
                        .map(|c| local_time(c.started_at, tz))
                        .unwrap_or_default(),
                    result: r.last_call.and_then(|c| c.result_label).unwrap_or_default(),
                })
                .collect();
        }
    }
    let results = known_results(&s, &chosen).await;
    let status_code = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        &CallsPage {
            page: Page::new(Some(&v), "/calls"),
            last_tab,
            from: q.from.trim().to_string(),
            to: q.to.trim().to_string(),
            project,
            result: q.result.trim().to_string(),
            status: status.to_string(),
            number: q.number.trim().to_string(),
            errors,
            projects: names
                .into_iter()
                .map(|(id, n)| (id, n, project == Some(id)))
                .collect(),
            results,
            statuses: CONTACT_STATUSES,
            zone: tz.name().to_string(),
            calls,
            last,
            next,
            first,
            window_ended,
            pick_project,
        },
        status_code,
    )
}

/// Why a typed number is not one, in Russian.
fn ru_phone_error(e: &crate::phone::PhoneError) -> &'static str {
    use crate::phone::PhoneError as P;
    match e {
        P::Empty => "пусто",
        P::Garbage => "это не номер",
        P::Invalid => "неверная длина или несуществующий код",
        P::Kazakhstan => "номер Казахстана",
        P::OtherCountry(_) => "номер другой страны",
        P::PremiumRate => "платный номер 8-803/8-809",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_paging_links_read_as_people_write_them() {
        assert_eq!(
            parse_date("2026-05-20"),
            NaiveDate::from_ymd_opt(2026, 5, 20)
        );
        assert_eq!(
            parse_date("20.05.2026"),
            NaiveDate::from_ymd_opt(2026, 5, 20)
        );
        assert_eq!(parse_date("вчера"), None);
        let d = NaiveDate::from_ymd_opt(2026, 5, 20).unwrap();
        // Midnight in Moscow is 21:00 UTC the day before.
        assert_eq!(midnight(d, chrono_tz::Europe::Moscow), Some(1_779_224_400));
        assert_eq!(mm_ss(65_400), "1:05");
        let q = CallsQuery {
            project: "3".into(),
            number: "+7 912 <x>".into(),
            ..Default::default()
        };
        assert_eq!(
            filters_query(&q, Some(("before", 41))),
            "/calls?project=3&number=%2B7%20912%20%3Cx%3E&before=41"
        );
        assert_eq!(action_words("sms", "delivered"), "SMS: доставлено");
    }
}
