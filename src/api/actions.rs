//! Actions in the API (docs/actions.md): a project's actions (`GET /projects/{id}/actions`),
//! what activation demands of a scenario's actions, the SMS service's state in the stats.
use super::error::{ApiError, ApiResult};
use super::paging::page_size;
use super::schemas::{
    Action as ActionSchema, ActionKind as KindSchema, ActionPage, ActionStatus as StatusSchema,
    ErrorBody,
};
use super::{ApiPath, ApiQuery, AppState};
use crate::actions::worker::SmsState;
use crate::config::SmscConfig;
use crate::scenario::{Action, Scenario};
use crate::store::{ActionFilter, ActionKind, ActionStatus};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// Only actions in this state.
    #[param(inline, value_type = Option<StatusSchema>)]
    status: Option<String>,
    /// Only actions of this kind.
    #[param(inline, value_type = Option<KindSchema>)]
    kind: Option<String>,
    /// Action id cursor: the previous page's `next`.
    before: Option<i64>,
    /// Rows per page.
    #[param(minimum = 1, maximum = 5000, default = 100)]
    limit: Option<u32>,
}

/// A project's actions
///
/// Every SMS, copy to another project, opt-out and webhook its calls produced, newest first,
/// each with what it carries, its state and every attempt (time, outcome, HTTP status, error).
#[utoipa::path(
    get,
    path = "/projects/{id}/actions",
    operation_id = "projectActions",
    tag = "reports",
    params(("id" = i64, Path, description = "The project's id."), ActionsQuery),
    responses(
        (status = 200, description = "One page of actions.", body = ActionPage),
        (status = 400, description = "The id is not a number, or an unknown query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 422, description = "An unknown `status` or `kind`, or `limit` outside 1–5000 (`invalid`; `details.valid` lists the values).", body = ErrorBody),
    )
)]
pub async fn list(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ActionsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(x) => Some(x.parse::<ActionStatus>().map_err(|_| {
            ApiError::invalid(format!("status {x:?}: unknown")).with_details(json!({
                "valid": ["queued", "sending", "sent", "delivered", "done", "failed"]
            }))
        })?),
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some(x) => Some(x.parse::<ActionKind>().map_err(|e| {
            ApiError::invalid(format!("kind {e}")).with_details(json!({
                "valid": ["sms", "add_to_project", "stop_list", "webhook"]
            }))
        })?),
    };
    let items = s
        .reports
        .list_actions(&ActionFilter {
            project_id: id,
            status,
            kind,
            before_id: q.before,
            limit,
        })
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|a| a.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

/// One action
///
/// With what it carries, its state and every attempt.
#[utoipa::path(
    get,
    path = "/actions/{id}",
    operation_id = "getAction",
    tag = "reports",
    params(("id" = i64, Path, description = "The action's id.")),
    responses(
        (status = 200, description = "The action.", body = ActionSchema),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such action (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.campaigns.action(id).await?)))
}

/// Try a failed action again
///
/// From now, with a new give-up time (`actions.give_up_after_h`). An SMS is looked up at SMSC
/// first and sent only if SMSC does not have it; a webhook address that answered 410 Gone is
/// opened again.
#[utoipa::path(
    post,
    path = "/actions/{id}/retry",
    operation_id = "retryAction",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id.")),
    responses(
        (status = 200, description = "Queued again.", body = ActionSchema),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such action (`not_found`).", body = ErrorBody),
        (status = 409, description = "The action has not failed: only a failed action is tried again (`conflict`).", body = ErrorBody),
    )
)]
pub async fn retry(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let now = crate::clock::Clock::System.now_ms();
    let give_up = now + s.settings.actions_give_up.as_millis() as i64;
    Ok(Json(json!(
        s.campaigns.retry_action(id, now, give_up).await?
    )))
}

/// Cancel a waiting action
///
/// A `queued` action fails with «cancelled through the API» and is never carried out. One
/// being carried out, sent or finished cannot be cancelled.
#[utoipa::path(
    post,
    path = "/actions/{id}/cancel",
    operation_id = "cancelAction",
    tag = "actions",
    params(("id" = i64, Path, description = "The action's id.")),
    responses(
        (status = 200, description = "Cancelled.", body = ActionSchema),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such action (`not_found`).", body = ErrorBody),
        (status = 409, description = "The action is being carried out or finished (`conflict`).", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let now = crate::clock::Clock::System.now_ms();
    Ok(Json(json!(s.campaigns.cancel_action(id, now).await?)))
}

/// The SMS service's state for the stats: its name and, when it is not running, why.
pub fn sms_service(s: &SmsState) -> (&'static str, Option<String>) {
    match s {
        SmsState::Off => ("off", Some(SmscConfig::MISSING.to_string())),
        SmsState::Running => ("running", None),
        SmsState::HeldUntil(_, why) => ("held", Some(why.clone())),
        SmsState::Stopped(why) => ("stopped", Some(why.clone())),
    }
}

/// What the scenario's actions need before its calls may start: SMSC for SMS, each target
/// project, the contact fields its SMS use (docs/actions.md). Every missing one is named.
pub async fn check_actions(s: &AppState, id: i64, scenario: &Scenario) -> ApiResult<()> {
    let mut missing = Vec::new();
    if !s.settings.sms_configured
        && scenario
            .all_actions()
            .any(|a| matches!(a, Action::Sms { .. }))
    {
        missing.push(SmscConfig::MISSING.to_string());
    }
    if scenario
        .all_actions()
        .any(|a| matches!(a, Action::Transfer { .. }))
        && s.agent_store.project_agents(id).await? == 0
    {
        missing.push(format!(
            "the scenario transfers to agents and no enabled agent serves this project: add \
             one (POST /api/v1/agents with \"projects\": [{id}], or PATCH an agent's \
             projects), or run simulated agents ([agents.sim] count = N; docs/agents.md)"
        ));
    }
    let mut targets = BTreeSet::new();
    for a in scenario.all_actions() {
        let target = match a {
            Action::AddToProject { project } => project,
            Action::Transfer {
                callback_project: Some(project),
                ..
            } => project,
            _ => continue,
        };
        if targets.insert(target.clone()) {
            match s.campaigns.project_id_by_name(target).await? {
                None => missing.push(format!(
                    "the scenario adds contacts to the project «{target}», and there is no \
                     project of that name: create it first"
                )),
                Some(t) if t == id => missing.push(format!(
                    "the scenario adds contacts to «{target}», which is this project itself"
                )),
                Some(_) => {}
            }
        }
    }
    let mut urls = BTreeSet::new();
    for a in scenario.all_actions() {
        if let Action::Webhook { url } = a {
            if urls.insert(url.clone()) {
                if let Err(why) = s.settings.webhooks.check(url).await {
                    missing.push(format!("the scenario's webhook {url}: {why}"));
                }
            }
        }
    }
    if !scenario.fields.is_empty() {
        let have = s.reports.field_names(id).await?;
        let lacking: Vec<&String> = scenario
            .fields
            .iter()
            .filter(|f| !have.contains(f))
            .collect();
        if !lacking.is_empty() {
            missing.push(format!(
                "the scenario's SMS use the contact field(s) {} that the project's contacts do \
                 not have (their fields: {})",
                lacking
                    .iter()
                    .map(|f| format!("«{f}»"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(
            ApiError::invalid(format!("the project cannot start: {}", missing.join("; ")))
                .with_details(json!({ "missing": missing })),
        )
    }
}
