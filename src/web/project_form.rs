//! Creating and editing a project in the browser (docs/users.md, "Creating and editing a
//! project"): `/projects/new` and `/projects/{id}/edit`, one form for both, for managers and
//! admins. The form is read into the API's own values and goes through the API's own checks
//! (`store::check_settings`, then `api::create_project` / `api::edit_project`): a refusal is
//! shown at its field, in Russian, with what was entered kept. An edit sends only what changed,
//! so changing the lines of a running project does not plan its contacts again.
use super::pages::{form_user, render};
use super::{Page, Refused, Viewer, WebState};
use crate::api::error::ApiError;
use crate::rules::attempts::{RetryRule, RETRYABLE};
use crate::rules::decide::OrderBy;
use crate::store::{check_settings, NewProject, ProjectEdit, StoreError, TransferOptions};
use crate::users::Role;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use std::collections::BTreeMap;

/// The ordering options, with their Russian names.
const ORDERINGS: [(OrderBy, &str, &str); 6] = [
    (
        OrderBy::NewFirst,
        "new_first",
        "сначала новые (ещё не звонили)",
    ),
    (
        OrderBy::RetriesFirst,
        "retries_first",
        "сначала повторные звонки",
    ),
    (
        OrderBy::Priority,
        "priority",
        "по приоритету (выше — раньше)",
    ),
    (OrderBy::OldestFirst, "oldest_first", "в порядке загрузки"),
    (
        OrderBy::NewestFirst,
        "newest_first",
        "сначала загруженные последними",
    ),
    (
        OrderBy::FewestAttempts,
        "fewest_attempts",
        "меньше звонков — раньше",
    ),
];

/// The number types with windows of their own.
const TYPES: [(&str, &str); 4] = [
    ("mobile", "мобильные"),
    ("work", "рабочие"),
    ("home", "домашние"),
    ("other", "другие"),
];

/// The transfer settings' fields: (form name, label, hint).
const TRANSFER: [(&str, &str, &str); 4] = [
    ("wrap_up_s", "После звонка, с", "0–3600"),
    ("agent_ring_s", "Звонок оператору, с", "1–300"),
    ("queue_max_wait_s", "Ожидание в очереди, с", "1–3600"),
    (
        "queue_announce_s",
        "Объявление «вы в очереди», с",
        "0 — никогда; до 3600",
    ),
];

/// The form as text: as entered, or as stored.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub name: String,
    pub scenario_id: String,
    pub time_zone: String,
    pub schedule: String,
    pub starts_at: String,
    pub ends_at: String,
    /// Windows per number type, one per line.
    pub types: BTreeMap<String, String>,
    /// Per retryable result: (attempts, interval in minutes).
    pub retry: BTreeMap<String, (String, String)>,
    pub max_calls: String,
    pub lines: String,
    pub ordering: Vec<String>,
    pub callback: String,
    pub tariff: [String; 4],
    pub webhook_url: String,
    /// A new secret (the stored one is never shown).
    pub webhook_secret: String,
    pub clear_secret: bool,
    pub transfer: BTreeMap<String, String>,
    pub hold_music: String,
    /// The agent desk's dispositions, one per line (empty: the defaults).
    pub dispositions: String,
    pub agents: Vec<i64>,
    /// Pacing (docs/pacing.md): the mode and its settings.
    pub mode: String,
    pub pacing: BTreeMap<String, String>,
}

/// Minutes as the form shows them (`1.5` when not whole).
fn minutes(seconds: u64) -> String {
    if seconds.is_multiple_of(60) {
        (seconds / 60).to_string()
    } else {
        format!("{:.2}", seconds as f64 / 60.0)
            .trim_end_matches('0')
            .to_string()
    }
}

/// A price as the form shows it.
fn price(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Values {
    /// A project's settings as the form shows them.
    pub fn of(p: &NewProject, agents: Vec<i64>) -> Self {
        let rules = crate::rules::attempts::AttemptRules::new(
            p.max_calls_per_number.clamp(1, 2),
            p.retry_rules.clone(),
        )
        .map(|r| r.per_result)
        .unwrap_or_default();
        let t = &p.transfer;
        let n = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            name: p.name.clone(),
            scenario_id: p.scenario_id.to_string(),
            time_zone: p.time_zone.clone(),
            schedule: p.schedule.join("\n"),
            starts_at: p.starts_at.clone().unwrap_or_default(),
            ends_at: p.ends_at.clone().unwrap_or_default(),
            types: p
                .type_windows
                .iter()
                .map(|(k, w)| (k.clone(), w.join("\n")))
                .collect(),
            retry: rules
                .iter()
                .map(|(k, r)| (k.clone(), (r.attempts.to_string(), minutes(r.interval_s))))
                .collect(),
            max_calls: p.max_calls_per_number.to_string(),
            lines: p.lines.to_string(),
            ordering: p
                .ordering
                .iter()
                .filter_map(|o| {
                    ORDERINGS
                        .iter()
                        .find(|x| x.0 == *o)
                        .map(|x| x.1.to_string())
                })
                .collect(),
            callback: p
                .callback_project_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            tariff: [
                price(p.tariff.per_second),
                price(p.tariff.asr_short),
                price(p.tariff.asr_long),
                p.tariff.asr_short_s.to_string(),
            ],
            webhook_url: p.webhook_url.clone().unwrap_or_default(),
            webhook_secret: String::new(),
            clear_secret: false,
            transfer: [
                ("wrap_up_s", n(t.wrap_up_s)),
                ("agent_ring_s", n(t.agent_ring_s)),
                ("queue_max_wait_s", n(t.queue_max_wait_s)),
                ("queue_announce_s", n(t.queue_announce_s)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            hold_music: t.hold_music.clone().unwrap_or_default(),
            dispositions: t.dispositions.clone().unwrap_or_default().join("\n"),
            agents,
            mode: p.mode.as_str().to_string(),
            pacing: super::project_pacing::values_of(&p.pacing),
        }
    }

    /// The form's fields (repeated ones — `order`, `agent` — in their order).
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let one = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let all = |k: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(n, v)| n == k && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect()
        };
        Self {
            name: one("name"),
            scenario_id: one("scenario_id"),
            time_zone: one("time_zone"),
            schedule: one("schedule"),
            starts_at: one("starts_at"),
            ends_at: one("ends_at"),
            types: TYPES
                .iter()
                .map(|(k, _)| (k.to_string(), one(&format!("types_{k}"))))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
            retry: RETRYABLE
                .iter()
                .map(|r| {
                    (
                        r.to_string(),
                        (
                            one(&format!("retry_{r}_attempts")),
                            one(&format!("retry_{r}_minutes")),
                        ),
                    )
                })
                .collect(),
            max_calls: one("max_calls_per_number"),
            lines: one("lines"),
            ordering: all("order"),
            callback: one("callback_project_id"),
            tariff: [
                one("per_second"),
                one("asr_short"),
                one("asr_long"),
                one("asr_short_s"),
            ],
            webhook_url: one("webhook_url"),
            webhook_secret: one("webhook_secret"),
            clear_secret: !one("clear_secret").is_empty(),
            transfer: TRANSFER
                .iter()
                .map(|(k, _, _)| (k.to_string(), one(k)))
                .collect(),
            hold_music: one("hold_music"),
            dispositions: one("dispositions"),
            agents: all("agent").iter().filter_map(|a| a.parse().ok()).collect(),
            mode: one("mode"),
            pacing: super::project_pacing::from_form(one),
        }
    }

    /// The settings the form gives, or the first field that is not even a value (a number
    /// that is not one), with its message.
    pub fn settings(&self) -> Result<NewProject, (&'static str, String)> {
        let lines_of = |t: &str| -> Vec<String> {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        let whole = |field: &'static str, t: &str| -> Result<u32, (&'static str, String)> {
            t.parse::<u32>()
                .map_err(|_| (field, format!("«{t}» — не целое число.")))
        };
        let real = |t: &str| -> Result<f64, (&'static str, String)> {
            t.replace(',', ".")
                .parse::<f64>()
                .map_err(|_| ("tariff", format!("«{t}» — не число.")))
        };
        let optional = |field: &'static str, t: &str| -> Result<Option<u32>, _> {
            if t.is_empty() {
                Ok(None)
            } else {
                whole(field, t).map(Some)
            }
        };
        let scenario_id = self
            .scenario_id
            .parse()
            .map_err(|_| ("scenario_id", "Выберите сценарий.".to_string()))?;
        let mut retry_rules = BTreeMap::new();
        for (r, (attempts, mins)) in &self.retry {
            let minutes = mins
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && *m >= 0.0)
                .ok_or(("retry_rules", format!("«{mins}» — не число минут.")))?;
            retry_rules.insert(
                r.clone(),
                RetryRule {
                    attempts: whole("retry_rules", attempts)?,
                    interval_s: (minutes * 60.0).round() as u64,
                },
            );
        }
        let mut ordering = Vec::new();
        for o in &self.ordering {
            let Some(x) = ORDERINGS.iter().find(|x| x.1 == o) else {
                return Err(("ordering", format!("«{o}» — не способ упорядочить.")));
            };
            if !ordering.contains(&x.0) {
                ordering.push(x.0);
            }
        }
        let callback_project_id = match self.callback.as_str() {
            "" => None,
            c => Some(
                c.parse()
                    .map_err(|_| ("callback_project_id", "Выберите проект.".to_string()))?,
            ),
        };
        let text = |t: &str| (!t.is_empty()).then(|| t.to_string());
        let transfer = |k: &str| self.transfer.get(k).map(String::as_str).unwrap_or("");
        Ok(NewProject {
            name: self.name.clone(),
            scenario_id,
            time_zone: self.time_zone.clone(),
            schedule: lines_of(&self.schedule),
            lines: whole("lines", &self.lines)?,
            max_calls_per_number: whole("max_calls_per_number", &self.max_calls)?,
            retry_rules,
            ordering,
            callback_project_id,
            tariff: crate::rules::tariff::Tariff {
                per_second: real(&self.tariff[0])?,
                asr_short: real(&self.tariff[1])?,
                asr_long: real(&self.tariff[2])?,
                asr_short_s: whole("tariff", &self.tariff[3])?.into(),
            },
            starts_at: text(&self.starts_at),
            ends_at: text(&self.ends_at),
            type_windows: self
                .types
                .iter()
                .map(|(k, v)| (k.clone(), lines_of(v)))
                .collect(),
            webhook_url: text(&self.webhook_url),
            webhook_secret: text(&self.webhook_secret),
            transfer: TransferOptions {
                wrap_up_s: optional("transfer", transfer("wrap_up_s"))?,
                agent_ring_s: optional("transfer", transfer("agent_ring_s"))?,
                queue_max_wait_s: optional("transfer", transfer("queue_max_wait_s"))?,
                queue_announce_s: optional("transfer", transfer("queue_announce_s"))?,
                hold_music: text(&self.hold_music),
                dispositions: {
                    let list: Vec<String> = lines_of(&self.dispositions);
                    (!list.is_empty()).then_some(list)
                },
            },
            mode: crate::store::Mode::parse(&self.mode).unwrap_or_default(),
            pacing: super::project_pacing::options(&self.pacing)?,
        })
    }
}

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// An agent who may serve the project.
pub struct AgentChoice {
    pub id: i64,
    pub name: String,
    pub checked: bool,
    /// Serves every project (a simulated agent): not chosen here.
    pub all: bool,
}

/// A retry rule's row.
pub struct RetryLine {
    pub code: &'static str,
    pub label: &'static str,
    pub attempts: String,
    pub minutes: String,
}

/// A transfer setting's field.
pub struct TransferField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
}

/// A number type's windows.
pub struct TypeField {
    pub kind: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "project_form.html")]
struct FormPage {
    page: Page,
    /// `None`: a new project.
    id: Option<i64>,
    heading: String,
    running: bool,
    v: Values,
    /// Refusals by field.
    errors: BTreeMap<String, String>,
    scenarios: Vec<Choice>,
    callbacks: Vec<Choice>,
    agents: Vec<AgentChoice>,
    retry: Vec<RetryLine>,
    types: Vec<TypeField>,
    transfer: Vec<TransferField>,
    modes: Vec<Choice>,
    pacing: Vec<TransferField>,
    /// One select per place in the order.
    order_slots: Vec<Vec<Choice>>,
    /// The secret stored, masked (`whsec_…Ab3d`).
    secret_set: Option<String>,
}

impl FormPage {
    /// The refusal at `field`, if any.
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Everything the form page needs besides the values; `id` the project edited.
async fn form_page(
    s: &WebState,
    v: &Viewer,
    id: Option<i64>,
    values: Values,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> Response {
    let fail = |e: StoreError| Refused::Failed(e.to_string()).into_response();
    let scenarios = match s.app.campaigns.scenario_list().await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let projects = match s.app.campaigns.list_projects().await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let agents = match s.app.agent_store.agents().await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let this = id.and_then(|id| projects.iter().find(|p| p.id == id));
    let heading = match this {
        Some(p) => format!("Изменить проект «{}»", p.name),
        None => "Новый проект".to_string(),
    };
    let running = this.is_some_and(|p| p.status == "active");
    let secret_set = this.and_then(|p| p.webhook_secret.clone());
    let choice = |value: String, label: String, selected: bool| Choice {
        value,
        label,
        selected,
    };
    let scenarios = scenarios
        .into_iter()
        .map(|(i, n)| choice(i.to_string(), n, values.scenario_id == i.to_string()))
        .collect();
    let callbacks = projects
        .iter()
        .filter(|p| Some(p.id) != id)
        .map(|p| {
            choice(
                p.id.to_string(),
                p.name.clone(),
                values.callback == p.id.to_string(),
            )
        })
        .collect();
    let agents = agents
        .into_iter()
        .filter(|a| a.enabled || values.agents.contains(&a.id))
        .map(|a| AgentChoice {
            checked: values.agents.contains(&a.id),
            id: a.id,
            name: a.name,
            all: a.all_projects,
        })
        .collect();
    let retry = RETRYABLE
        .iter()
        .map(|r| {
            let (attempts, minutes) = values.retry.get(*r).cloned().unwrap_or_default();
            RetryLine {
                code: r,
                label: crate::scenario::system_result::label_ru(r).unwrap_or(r),
                attempts,
                minutes,
            }
        })
        .collect();
    let types = TYPES
        .iter()
        .map(|(kind, label)| TypeField {
            kind,
            label,
            value: values.types.get(*kind).cloned().unwrap_or_default(),
        })
        .collect();
    let transfer = TRANSFER
        .iter()
        .map(|(name, label, hint)| TransferField {
            name,
            label,
            hint,
            value: values.transfer.get(*name).cloned().unwrap_or_default(),
        })
        .collect();
    let slots = values.ordering.len().max(3) + 1;
    let order_slots = (0..slots.min(ORDERINGS.len()))
        .map(|i| {
            let picked = values.ordering.get(i).map(String::as_str).unwrap_or("");
            let mut options = vec![choice(String::new(), "—".into(), picked.is_empty())];
            options.extend(ORDERINGS.iter().map(|(_, code, label)| {
                choice(code.to_string(), label.to_string(), picked == *code)
            }));
            options
        })
        .collect();
    let mut page = Page::new(Some(v), "/");
    if let Some(e) = errors.get("") {
        page.error = Some(e.clone());
    } else if !errors.is_empty() {
        page.error = Some("Проект не сохранён: исправьте отмеченные поля.".into());
    }
    let modes = super::project_pacing::modes(&values.mode);
    let pacing = super::project_pacing::fields(&values.pacing);
    render(
        &FormPage {
            page,
            id,
            heading,
            running,
            v: values,
            errors,
            scenarios,
            callbacks,
            agents,
            retry,
            types,
            transfer,
            modes,
            pacing,
            order_slots,
            secret_set,
        },
        status,
    )
}

/// A refusal of the API's checks as the form shows it: at its field, in Russian.
fn refusal(e: &ApiError) -> (String, String) {
    let field = e.details["field"].as_str().unwrap_or("").to_string();
    let field = match (e.code, field.as_str()) {
        ("conflict", _) => "name".to_string(),
        (_, "transfer.hold_music") => "transfer".to_string(),
        (_, f) if f.starts_with("transfer.dispositions") => "transfer".to_string(),
        _ => field,
    };
    let ru = match field.as_str() {
        "name" if e.code == "conflict" => {
            "Проект с таким названием уже есть: выберите другое.".into()
        }
        "scenario_id" => "Такого сценария нет: выберите из списка.".into(),
        "callback_project_id" => "Выберите другой существующий проект.".into(),
        "webhook_url" => format!("Вебхуки не могут идти на этот адрес: {}", e.message),
        "transfer" => format!("Музыка ожидания не найдена или не играет: {}", e.message),
        "agents" => "Такого оператора нет.".into(),
        "mode" => "Этот режим набирает номера под операторов, а сценарий никого не переводит \
                   на операторов (действие transfer = \"agents\"): выберите режим «робот» или \
                   другой сценарий."
            .into(),
        "" => format!("Не сохранено: {}", e.message),
        _ => e.message.clone(),
    };
    (field, ru)
}

/// `GET /projects/new`.
pub async fn new_form(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let values = Values::of(&NewProject::default(), Vec::new());
    form_page(&s, &v, None, values, BTreeMap::new(), StatusCode::OK).await
}

/// `POST /projects/new`: the project created, then its page; or the form again with the
/// refusal at its field.
pub async fn create(
    State(s): State<WebState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = match form_user(&s, &headers, &csrf_of(&pairs), Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let values = Values::from_form(&pairs);
    let refused = |field: &str, message: String| BTreeMap::from([(field.to_string(), message)]);
    let p = match values.settings() {
        Ok(p) => p,
        Err((field, why)) => {
            let errors = refused(field, why);
            return form_page(
                &s,
                &v,
                None,
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    if let Err(e) = check_settings(&p) {
        let errors = refused(e.field, e.ru);
        return form_page(
            &s,
            &v,
            None,
            values,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match crate::api::create_project(&s.app, &p).await {
        Ok(id) => {
            if !values.agents.is_empty() {
                let edit = ProjectEdit {
                    agents: Some(values.agents.clone()),
                    ..Default::default()
                };
                if let Err(e) = crate::api::edit_project(&s.app, id, &edit).await {
                    tracing::warn!(project = id, error = %e.message, "the new project's agents were not set");
                }
            }
            Redirect::to(&format!("/projects/{id}?saved=1")).into_response()
        }
        Err(e) => {
            let status = e.status;
            let (field, why) = refusal(&e);
            form_page(&s, &v, None, values, refused(&field, why), status).await
        }
    }
}

/// `GET /projects/{id}/edit`.
pub async fn edit_form(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let v = match s.viewer_who(&headers, Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let current = match s.app.campaigns.project_settings(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого проекта").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let agents = match serving(&s, id).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let values = Values::of(&current, agents);
    form_page(&s, &v, Some(id), values, BTreeMap::new(), StatusCode::OK).await
}

/// The agents who serve project `id` by name (not those who serve every project).
async fn serving(s: &WebState, id: i64) -> Result<Vec<i64>, Refused> {
    Ok(s.app
        .agent_store
        .agents()
        .await
        .map_err(|e| Refused::Failed(e.to_string()))?
        .into_iter()
        .filter(|a| !a.all_projects && a.projects.contains(&id))
        .map(|a| a.id)
        .collect())
}

/// `POST /projects/{id}/edit`: what changed is saved (a running project follows at once),
/// then the project's page; or the form again with the refusal at its field.
pub async fn save(
    State(s): State<WebState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = match form_user(&s, &headers, &csrf_of(&pairs), Role::runs_campaigns).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let current = match s.app.campaigns.project_settings(id).await {
        Ok(p) => p,
        Err(StoreError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, "Нет такого проекта").into_response()
        }
        Err(e) => return Refused::Failed(e.to_string()).into_response(),
    };
    let values = Values::from_form(&pairs);
    let refused = |field: &str, message: String| BTreeMap::from([(field.to_string(), message)]);
    let mut p = match values.settings() {
        Ok(p) => p,
        Err((field, why)) => {
            let errors = refused(field, why);
            return form_page(
                &s,
                &v,
                Some(id),
                values,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    // An empty secret keeps the stored one (never shown), unless it is to be removed.
    if p.webhook_secret.is_none() && !values.clear_secret {
        p.webhook_secret = current.webhook_secret.clone();
    }
    if let Err(e) = check_settings(&p) {
        let errors = refused(e.field, e.ru);
        return form_page(
            &s,
            &v,
            Some(id),
            values,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let before = match serving(&s, id).await {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let mut edit = ProjectEdit {
        name: Some(p.name.trim().to_string()),
        scenario_id: Some(p.scenario_id),
        time_zone: Some(p.time_zone),
        schedule: Some(p.schedule),
        lines: Some(p.lines),
        max_calls_per_number: Some(p.max_calls_per_number),
        retry_rules: Some(p.retry_rules),
        ordering: Some(p.ordering),
        callback_project_id: Some(p.callback_project_id),
        tariff: Some(p.tariff),
        starts_at: Some(p.starts_at),
        ends_at: Some(p.ends_at),
        type_windows: Some(p.type_windows),
        webhook_url: Some(p.webhook_url),
        webhook_secret: Some(p.webhook_secret),
        transfer: Some(p.transfer),
        mode: Some(p.mode),
        pacing: Some(p.pacing),
        agents: None,
    }
    .changes_from(&current);
    let mut chosen = values.agents.clone();
    chosen.sort_unstable();
    let mut had = before;
    had.sort_unstable();
    if chosen != had {
        edit.agents = Some(chosen);
    }
    match crate::api::edit_project(&s.app, id, &edit).await {
        Ok(_) => Redirect::to(&format!("/projects/{id}?saved=1")).into_response(),
        Err(e) => {
            let status = e.status;
            let (field, why) = refusal(&e);
            form_page(&s, &v, Some(id), values, refused(&field, why), status).await
        }
    }
}

/// The form's `csrf` field.
fn csrf_of(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
