//! `POST /scenarios` (TOML or JSON body): validated against the stored and bundled prompts and
//! the speech model before it is stored; 422 lists every problem with its place. JSON
//! scenarios are stored as their TOML text, so every stored scenario loads one way.
//! `GET /scenarios/{id}` answers the stored TOML and what it declares.
use super::error::{ApiError, ApiResult};
use super::schemas::{ErrorBody, Placed, ScenarioCreated, ScenarioJson, ScenarioSource};
use super::{ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::scenario::{
    load::json_to_toml, load_str, Format, LoadOptions, Problem, Problems, Scenario,
};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

/// Validates a stored or submitted scenario the way the dialer will load it.
pub fn validate(s: &AppState, source: &str, format: Format) -> Result<Scenario, Problems> {
    let opts = LoadOptions {
        prompts_dir: s.settings.prompts_dir.clone(),
        speech: s.settings.speech.as_deref(),
    };
    load_str(
        source,
        format,
        "scenario",
        Some(&s.settings.uploaded_prompts),
        &opts,
    )
}

/// Problems or notes with their places, as the API shows them.
pub fn placed(list: &[Problem]) -> Vec<Value> {
    list.iter()
        .map(|x| {
            json!(Placed {
                line: x.line,
                column: x.column,
                step: x.step.clone(),
                field: x.field.clone(),
                message: x.message.clone(),
                text: x.to_string(),
            })
        })
        .collect()
}

/// The 422 for a scenario's problems: each with its place.
pub fn problems_error(p: &Problems) -> ApiError {
    let details = placed(&p.problems);
    ApiError::invalid(format!(
        "the scenario has {} problem(s): {}",
        p.problems.len(),
        p.problems
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    ))
    .with_details(json!({ "problems": details }))
}

/// Validate and store a scenario
///
/// The format is docs/scenarios.md. It is checked against the stored and
/// bundled prompts and the server's speech model; nothing is stored unless it is valid. The
/// body is TOML, or JSON when the `Content-Type` contains `json` or the body starts with `{`.
#[utoipa::path(
    post,
    path = "/scenarios",
    operation_id = "createScenario",
    tag = "scenarios",
    request_body(description = "The scenario, as TOML or as JSON of the same structure.", content(
        (String = "application/toml"),
        (String = "text/plain"),
        (ScenarioJson = "application/json"),
    )),
    responses(
        (status = 201, description = "Stored.", body = ScenarioCreated),
        (status = 400, description = "The body is not UTF-8 text, or could not be read (`bad_request`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "Empty, or a scenario with problems: `details.problems` lists each with its `line`, `column`, `step` and `field` (`invalid`).", body = ErrorBody),
    )
)]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("the scenario is not UTF-8 text: {e}")))?;
    if text.trim().is_empty() {
        return Err(ApiError::invalid("the scenario is empty"));
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let format = if json_type || text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Toml
    };
    let state = s.clone();
    let src = text.to_string();
    let checked = tokio::task::spawn_blocking(move || validate(&state, &src, format))
        .await
        .map_err(|e| ApiError::internal(format!("validation task: {e}")))?;
    let scenario = checked.map_err(|p| problems_error(&p))?;
    let toml_src = match format {
        Format::Toml => text.to_string(),
        Format::Json => json_to_toml(text).map_err(|p| ApiError::invalid(p.to_string()))?,
    };
    let id = s
        .campaigns
        .create_scenario(&scenario.name, &toml_src)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id, "name": scenario.name, "results": scenario.results,
            "notes": placed(&scenario.notes),
        })),
    ))
}

/// A stored scenario and its TOML source.
#[utoipa::path(
    get,
    path = "/scenarios/{id}",
    operation_id = "getScenario",
    tag = "scenarios",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 200, description = "The scenario.", body = ScenarioSource),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such scenario (`not_found`).", body = ErrorBody),
    )
)]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let (name, source) = s.campaigns.scenario(id).await?;
    Ok(Json(json!({ "id": id, "name": name, "source": source })))
}
