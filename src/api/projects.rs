//! Projects (`POST/GET /projects`, `GET /projects/{id}`, `/activate`, `/pause`, `/stats`,
//! `/last-results`; the settings' checks and `PATCH /projects/{id}` are `project_edit`'s), calls (`GET /calls`, `GET /calls/{id}`) and the stop list. Activation
//! re-validates the project's scenario against today's prompts and model: a scenario that no
//! longer loads never starts.
use super::error::{ApiError, ApiResult};
use super::paging::page_size;
use super::scenarios::{problems_error, validate};
use super::schemas::{
    Call as CallSchema, CallPage, ContactStatus, Created, DecisionPage, ErrorBody, LastResultPage,
    NewProject as NewProjectSchema, Project, ProjectList, ProjectState, Stats, StopAdded,
    StopChange, StopPage, StopRemoved,
};
use super::{
    parse_json, ApiBody, ApiPath, ApiQuery, AppState, MAX_DOCUMENT_BYTES, MAX_STOP_LIST_BYTES,
};
use crate::phone::normalize_ru;
use crate::scenario::load::declared_results;
use crate::scenario::{system_result, Format};
use crate::store::NewProject;
use crate::store::{CallFilter, LastFilter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use utoipa::IntoParams;

/// Create a project
///
/// A new project is a `draft`. Only `name` and `scenario_id` are needed; the rules the
/// settings drive are in docs/campaigns.md. Every setting can be changed later
/// (`PATCH /projects/{id}`).
#[utoipa::path(
    post,
    path = "/projects",
    operation_id = "createProject",
    tag = "projects",
    request_body(content = NewProjectSchema, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = Created),
        (status = 400, description = "The body is not JSON (the message names line and column; `bad_request`).", body = ErrorBody),
        (status = 409, description = "A project with that name exists (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "An unknown field or a bad value, named in the message: a schedule window, a time zone, a retry rule, a missing scenario, a `webhook_url` webhooks may not go to (private, not resolving, not http(s)), a `webhook_secret` too short… (`invalid`).", body = ErrorBody),
    )
)]
pub async fn create(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p: NewProject = parse_json(&body)?;
    let id = super::project_edit::create_project(&s, &p).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// All projects, oldest first.
#[utoipa::path(
    get,
    path = "/projects",
    operation_id = "listProjects",
    tag = "projects",
    responses((status = 200, description = "Every project.", body = ProjectList))
)]
pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.campaigns.list_projects().await? })))
}

/// One project.
#[utoipa::path(
    get,
    path = "/projects/{id}",
    operation_id = "getProject",
    tag = "projects",
    params(("id" = i64, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project.", body = Project),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.campaigns.project(id).await?)))
}

/// Activate a project
///
/// The project dials inside its schedule. The scenario is checked again against today's
/// prompts and model; at most five projects are active at once.
#[utoipa::path(
    post,
    path = "/projects/{id}/activate",
    operation_id = "activateProject",
    tag = "projects",
    params(("id" = i64, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "Active.", body = ProjectState),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 409, description = "Five projects are active already; `details.active` names them (`too_many_active`). Nothing changed.", body = ErrorBody),
        (status = 422, description = "No contacts (left) to call, the scenario no longer loads (`details.problems`), or its actions lack what they need: SMSC for SMS, a target project, a contact field (`details.missing`; `invalid`).", body = ErrorBody),
    )
)]
pub async fn activate(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    activate_project(&s, id).await?;
    Ok(Json(json!({ "id": id, "status": "active" })))
}

/// Activates project `id` after checking its scenario again and what its actions need (the
/// API's route and the web UI's button).
pub(crate) async fn activate_project(s: &AppState, id: i64) -> ApiResult<()> {
    let project = s.campaigns.project(id).await?;
    let (_, source) = s.campaigns.scenario(project.scenario_id).await?;
    let state = s.clone();
    let scenario = tokio::task::spawn_blocking(move || validate(&state, &source, Format::Toml))
        .await
        .map_err(|e| ApiError::internal(format!("validation task: {e}")))?
        .map_err(|p| problems_error(&p))?;
    super::actions::check_actions(s, id, &scenario).await?;
    s.campaigns.activate(id).await?;
    Ok(())
}

/// Pause a project
///
/// No new calls from now on; calls in progress finish normally.
#[utoipa::path(
    post,
    path = "/projects/{id}/pause",
    operation_id = "pauseProject",
    tag = "projects",
    params(("id" = i64, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "Paused.", body = ProjectState),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
    )
)]
pub async fn pause(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    s.campaigns.pause(id).await?;
    Ok(Json(json!({ "id": id, "status": "paused" })))
}

/// Contacts by status, finished calls, results and cost, what the actions came to and the
/// SMS service's state.
#[utoipa::path(
    get,
    path = "/projects/{id}/stats",
    operation_id = "projectStats",
    tag = "reports",
    params(("id" = i64, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project's figures.", body = Stats),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
    )
)]
pub async fn stats(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let mut v = json!(s.reports.stats(id).await?);
    let (service, note) = super::actions::sms_service(&s.sms_lane.get());
    v["sms_service"] = json!(service);
    // Why SMS are not running matters only to a project whose scenario sends them.
    let project = s.campaigns.project(id).await?;
    let (_, source) = s.campaigns.scenario(project.scenario_id).await?;
    let sends = crate::scenario::load::sends_sms(&source);
    v["sms_service_note"] = json!(note.filter(|_| sends));
    let pacing = s
        .pacing
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned();
    v["pacing"] = json!(pacing);
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LastQuery {
    /// Contact id cursor: the previous page's `next`.
    after: Option<i64>,
    /// Rows per page.
    #[param(minimum = 1, maximum = 5000, default = 100)]
    limit: Option<u32>,
    /// Only the contacts of this status.
    #[param(value_type = Option<ContactStatus>, inline)]
    status: Option<String>,
    /// Only the contacts whose newest call has this result (a system code or a result of the
    /// project's scenario).
    #[param(min_length = 1)]
    result: Option<String>,
}

/// One row per contact, in import order, with its newest call.
#[utoipa::path(
    get,
    path = "/projects/{id}/last-results",
    operation_id = "lastResults",
    tag = "reports",
    params(("id" = i64, Path, description = "The project's id."), LastQuery),
    responses(
        (status = 200, description = "A page of contacts.", body = LastResultPage),
        (status = 400, description = "The id is not a number, or an unknown or ill-typed query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 422, description = "`limit` out of 1 to 5000, or an unknown `status` (`invalid`).", body = ErrorBody),
    )
)]
pub async fn last_results(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    if let Some(st) = &q.status {
        check_status(st)?;
    }
    s.campaigns.project(id).await?;
    if let Some(r) = &q.result {
        check_result(&s, Some(id), r).await?;
    }
    let items = s
        .reports
        .last_results_where(
            id,
            &LastFilter {
                status: q.status,
                result: q.result,
                after: q.after.unwrap_or(0),
                limit,
            },
        )
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|i| i.contact_id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    /// Only the lines about this contact.
    contact_id: Option<i64>,
    /// Decision id cursor: the previous page's `next`.
    before: Option<i64>,
    /// Rows per page.
    #[param(minimum = 1, maximum = 5000, default = 100)]
    limit: Option<u32>,
}

/// The dialer's decision log
///
/// Every call placed, every contact skipped or held, every result and what it meant, the
/// project finishing — each with its reason, newest first.
#[utoipa::path(
    get,
    path = "/projects/{id}/decisions",
    operation_id = "decisions",
    tag = "reports",
    params(("id" = i64, Path, description = "The project's id."), DecisionsQuery),
    responses(
        (status = 200, description = "A page of decisions.", body = DecisionPage),
        (status = 400, description = "The id is not a number, or an unknown or ill-typed query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 422, description = "`limit` out of 1 to 5000 (`invalid`).", body = ErrorBody),
    )
)]
pub async fn decisions(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DecisionsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    s.campaigns.project(id).await?;
    let items = s
        .reports
        .decisions_of(id, q.contact_id, q.before, limit)
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    /// Only this project's calls.
    project_id: Option<i64>,
    /// Only this contact's calls.
    contact_id: Option<i64>,
    /// Only calls with this result: a system code (`busy`, `no_answer`, …) or a result of the
    /// project's scenario (of any project's scenario without `project_id`).
    #[param(min_length = 1)]
    result: Option<String>,
    /// Call id cursor: the previous page's `next`.
    before: Option<i64>,
    /// Rows per page.
    #[param(minimum = 1, maximum = 5000, default = 100)]
    limit: Option<u32>,
}

/// All calls, newest first, optionally of one project, contact or result.
#[utoipa::path(
    get,
    path = "/calls",
    operation_id = "listCalls",
    tag = "reports",
    params(CallsQuery),
    responses(
        (status = 200, description = "A page of calls.", body = CallPage),
        (status = 400, description = "An unknown or ill-typed query parameter (`bad_request`).", body = ErrorBody),
        (status = 404, description = "`result` given with a `project_id` that does not exist (`not_found`).", body = ErrorBody),
        (status = 422, description = "`limit` out of 1 to 5000, or a `result` calls cannot have; `details.valid` lists the ones they can (`invalid`).", body = ErrorBody),
    )
)]
pub async fn calls(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    if let Some(r) = &q.result {
        check_result(&s, q.project_id, r).await?;
    }
    let items = s
        .reports
        .list_calls(&CallFilter {
            project_id: q.project_id,
            contact_id: q.contact_id,
            result: q.result,
            before_id: q.before,
            limit,
            ..Default::default()
        })
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

/// A `result` filter must name a result calls can have (422 listing them otherwise; an
/// unknown project is 404).
pub(super) async fn check_result(s: &AppState, project_id: Option<i64>, r: &str) -> ApiResult<()> {
    let known = known_results(s, project_id).await?;
    if known.iter().any(|k| k == r) {
        return Ok(());
    }
    let scope = match project_id {
        Some(id) => format!("project {id}'s scenario"),
        None => "the projects' scenarios".to_string(),
    };
    Err(ApiError::invalid(format!(
        "result {r:?} is not a result calls can have: one of the system results ({}) or of \
         {scope} ({})",
        system_result::ALL.join(", "),
        known[system_result::ALL.len()..].join(", ")
    ))
    .with_details(json!({ "field": "result", "valid": known })))
}

/// The results a `result` filter may name: the system codes, then the results declared by the
/// project's scenario (without a project: by any project's scenario — calls are only made by
/// projects). Unknown project: 404.
async fn known_results(s: &AppState, project_id: Option<i64>) -> ApiResult<Vec<String>> {
    let scenarios: BTreeSet<i64> = match project_id {
        Some(id) => BTreeSet::from([s.campaigns.project(id).await?.scenario_id]),
        None => s
            .campaigns
            .list_projects()
            .await?
            .iter()
            .map(|p| p.scenario_id)
            .collect(),
    };
    let mut known: Vec<String> = system_result::ALL.iter().map(|r| r.to_string()).collect();
    for id in scenarios {
        let (_, source) = s.campaigns.scenario(id).await?;
        for r in declared_results(&source) {
            if !known.contains(&r) {
                known.push(r);
            }
        }
    }
    Ok(known)
}

/// One call.
#[utoipa::path(
    get,
    path = "/calls/{id}",
    operation_id = "getCall",
    tag = "reports",
    params(("id" = i64, Path, description = "The call's id.")),
    responses(
        (status = 200, description = "The call.", body = CallSchema),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such call (`not_found`).", body = ErrorBody),
    )
)]
pub async fn call(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.reports.call(id).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StopQuery {
    /// Number cursor (E.164): the previous page's `next`.
    after: Option<String>,
    /// Rows per page.
    #[param(minimum = 1, maximum = 5000, default = 100)]
    limit: Option<u32>,
}

/// The stop list, by number.
#[utoipa::path(
    get,
    path = "/stop-list",
    operation_id = "stopList",
    tag = "stop-list",
    params(StopQuery),
    responses(
        (status = 200, description = "A page of listed numbers.", body = StopPage),
        (status = 400, description = "An unknown or ill-typed query parameter (`bad_request`).", body = ErrorBody),
        (status = 422, description = "`limit` out of 1 to 5000 (`invalid`).", body = ErrorBody),
    )
)]
pub async fn stop_list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<StopQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    let items: Vec<Value> = s
        .campaigns
        .stop_list(q.after.as_deref().unwrap_or(""), limit)
        .await?
        .into_iter()
        .map(|(n, reason, at)| json!({ "number": n, "reason": reason, "added_at": at }))
        .collect();
    let next = (items.len() as u32 == limit)
        .then(|| {
            items
                .last()
                .and_then(|i| i["number"].as_str().map(str::to_string))
        })
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopBody {
    numbers: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Add numbers to the stop list
///
/// Numbers in any usual spelling; the values that are not Russian numbers are reported, not
/// refused. Every contact with a listed number is re-planned at once.
#[utoipa::path(
    post,
    path = "/stop-list",
    operation_id = "addToStopList",
    tag = "stop-list",
    request_body(content = StopChange, content_type = "application/json"),
    responses(
        (status = 200, description = "What was listed and what was not a number.", body = StopAdded),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 413, description = "The body is over 16 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "JSON of another shape: an unknown field, `numbers` missing, empty or not a list of strings (`invalid`).", body = ErrorBody),
    )
)]
pub async fn add_to_stop_list(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_STOP_LIST_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: StopBody = parse_json(&body)?;
    if b.numbers.is_empty() {
        return Err(ApiError::invalid("numbers: give at least one number")
            .with_details(json!({ "field": "numbers" })));
    }
    let reason = b.reason.unwrap_or_else(|| "added through the API".into());
    let (added, rejected) = add_numbers(&s, &b.numbers, &reason).await?;
    let rejected: Vec<Value> = rejected
        .iter()
        .map(|(raw, e)| json!({ "value": raw, "reason": e.to_string() }))
        .collect();
    Ok(Json(json!({ "added": added, "rejected": rejected })))
}

/// Puts numbers in any usual spelling on the stop list: answers those listed (E.164) and the
/// values that are not Russian numbers, with why. The API's route and the stop-list page.
pub(crate) async fn add_numbers(
    s: &AppState,
    numbers: &[String],
    reason: &str,
) -> ApiResult<(Vec<String>, Vec<(String, crate::phone::PhoneError)>)> {
    let mut added = Vec::new();
    let mut rejected = Vec::new();
    for raw in numbers {
        match normalize_ru(raw) {
            Ok(n) => {
                s.campaigns.add_to_stop_list(&n.e164, reason).await?;
                added.push(n.e164);
            }
            Err(e) => rejected.push((raw.clone(), e)),
        }
    }
    Ok((added, rejected))
}

/// Remove numbers from the stop list
///
/// Numbers that were not listed are left out of `removed`; `reason` is not used here.
#[utoipa::path(
    delete,
    path = "/stop-list",
    operation_id = "removeFromStopList",
    tag = "stop-list",
    request_body(content = StopChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The numbers no longer listed.", body = StopRemoved),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 413, description = "The body is over 16 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "JSON of another shape, no numbers, or a value that is not a Russian number (`invalid`; the numbers before it have been removed).", body = ErrorBody),
    )
)]
pub async fn remove_from_stop_list(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_STOP_LIST_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: StopBody = parse_json(&body)?;
    if b.numbers.is_empty() {
        return Err(ApiError::invalid("numbers: give at least one number")
            .with_details(json!({ "field": "numbers" })));
    }
    let mut removed = Vec::new();
    for raw in &b.numbers {
        let n = normalize_ru(raw).map_err(|e| ApiError::invalid(format!("{raw:?}: {e}")))?;
        if s.campaigns.remove_from_stop_list(&n.e164).await? {
            removed.push(n.e164);
        }
    }
    Ok(Json(json!({ "removed": removed })))
}

/// A contact status from the query.
pub fn check_status(st: &str) -> ApiResult<()> {
    if ["not_called", "retry", "reached", "not_reached"].contains(&st) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "status {st:?}: one of not_called, retry, reached, not_reached"
        )))
    }
}
