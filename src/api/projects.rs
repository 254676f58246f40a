//! Projects (`POST/GET /projects`, `GET /projects/{id}`, `/activate`, `/pause`, `/stats`,
//! `/last-results`), calls (`GET /calls`, `GET /calls/{id}`) and the stop list. Activation
//! re-validates the project's scenario against today's prompts and model: a scenario that no
//! longer loads never starts.
use super::error::{ApiError, ApiResult};
use super::scenarios::{problems_error, validate};
use super::{
    parse_json, ApiBody, ApiPath, ApiQuery, AppState, MAX_DOCUMENT_BYTES, MAX_STOP_LIST_BYTES,
};
use crate::phone::normalize_ru;
use crate::scenario::load::declared_results;
use crate::scenario::{system_result, Format};
use crate::store::NewProject;
use crate::store::{CallFilter, MAX_PAGE};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Rows per page unless asked otherwise.
const DEFAULT_PAGE: u32 = 100;
/// Longest project name, in characters (it heads reports and export file names).
pub const MAX_PROJECT_NAME: usize = 200;

pub async fn create(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let p: NewProject = parse_json(&body)?;
    let name_chars = p.name.trim().chars().count();
    if name_chars > MAX_PROJECT_NAME {
        return Err(ApiError::invalid(format!(
            "name: {name_chars} characters; a project name has at most {MAX_PROJECT_NAME}"
        ))
        .with_details(json!({ "field": "name", "max_chars": MAX_PROJECT_NAME })));
    }
    let id = s.campaigns.create_project(&p).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.campaigns.list_projects().await? })))
}

pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.campaigns.project(id).await?)))
}

pub async fn activate(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let project = s.campaigns.project(id).await?;
    let (_, source) = s.campaigns.scenario(project.scenario_id).await?;
    let state = s.clone();
    tokio::task::spawn_blocking(move || validate(&state, &source, Format::Toml))
        .await
        .map_err(|e| ApiError::internal(format!("validation task: {e}")))?
        .map_err(|p| problems_error(&p))?;
    s.campaigns.activate(id).await?;
    Ok(Json(json!({ "id": id, "status": "active" })))
}

pub async fn pause(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    s.campaigns.pause(id).await?;
    Ok(Json(json!({ "id": id, "status": "paused" })))
}

pub async fn stats(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.reports.stats(id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastQuery {
    /// Contact id cursor: the previous page's `next`.
    after: Option<i64>,
    limit: Option<u32>,
    status: Option<String>,
}

pub async fn last_results(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    if let Some(st) = &q.status {
        check_status(st)?;
    }
    let items = s
        .reports
        .last_results(id, q.status.as_deref(), q.after.unwrap_or(0), limit)
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|i| i.contact_id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionsQuery {
    /// Decision id cursor: the previous page's `next`.
    before: Option<i64>,
    limit: Option<u32>,
}

/// The dialer's decisions for a project (dial, skip, result, close), each with its reason.
pub async fn decisions(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DecisionsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    s.campaigns.project(id).await?;
    let items = s.reports.decisions(id, q.before, limit).await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    project_id: Option<i64>,
    contact_id: Option<i64>,
    result: Option<String>,
    /// Call id cursor: the previous page's `next`.
    before: Option<i64>,
    limit: Option<u32>,
}

pub async fn calls(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> ApiResult<Json<Value>> {
    let limit = page_size(q.limit)?;
    if let Some(r) = &q.result {
        let known = known_results(&s, q.project_id).await?;
        if !known.iter().any(|k| k == r) {
            let scope = match q.project_id {
                Some(id) => format!("project {id}'s scenario"),
                None => "the projects' scenarios".to_string(),
            };
            return Err(ApiError::invalid(format!(
                "result {r:?} is not a result calls can have: one of the system results ({}) \
                 or of {scope} ({})",
                system_result::ALL.join(", "),
                known[system_result::ALL.len()..].join(", ")
            ))
            .with_details(json!({ "field": "result", "valid": known })));
        }
    }
    let items = s
        .reports
        .list_calls(&CallFilter {
            project_id: q.project_id,
            contact_id: q.contact_id,
            result: q.result,
            before_id: q.before,
            limit,
        })
        .await?;
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|c| c.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next": next })))
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

pub async fn call(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.reports.call(id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopQuery {
    after: Option<String>,
    limit: Option<u32>,
}

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

/// Adds numbers (any usual spelling); the ones that are not Russian numbers are reported.
pub async fn add_to_stop_list(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_STOP_LIST_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: StopBody = parse_json(&body)?;
    let reason = b.reason.unwrap_or_else(|| "added through the API".into());
    let mut added = Vec::new();
    let mut rejected = Vec::new();
    for raw in &b.numbers {
        match normalize_ru(raw) {
            Ok(n) => {
                s.campaigns.add_to_stop_list(&n.e164, &reason).await?;
                added.push(n.e164);
            }
            Err(e) => rejected.push(json!({ "value": raw, "reason": e.to_string() })),
        }
    }
    Ok(Json(json!({ "added": added, "rejected": rejected })))
}

pub async fn remove_from_stop_list(
    State(s): State<AppState>,
    ApiBody(body): ApiBody<MAX_STOP_LIST_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: StopBody = parse_json(&body)?;
    let mut removed = Vec::new();
    for raw in &b.numbers {
        let n = normalize_ru(raw).map_err(|e| ApiError::invalid(format!("{raw:?}: {e}")))?;
        if s.campaigns.remove_from_stop_list(&n.e164).await? {
            removed.push(n.e164);
        }
    }
    Ok(Json(json!({ "removed": removed })))
}

/// A page size from the query: 1..=MAX_PAGE.
pub fn page_size(asked: Option<u32>) -> ApiResult<u32> {
    match asked {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(format!(
            "limit {n}: a page has 1 to {MAX_PAGE} rows"
        ))),
    }
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
