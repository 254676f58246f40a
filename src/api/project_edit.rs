//! Creating and changing a project's settings (`POST /projects`, `PATCH /projects/{id}`), the
//! same for the API and the web UI's forms: every setting checked as at creation
//! (`store::check_settings`, then what needs the world — where its webhooks would go, its hold
//! music, its scenario and callback project), each refusal a 422 naming its field in
//! `details.field`; an edit of a running project takes effect at once (docs/campaigns.md,
//! "Editing a running project").
use super::error::{ApiError, ApiResult};
use super::schemas::{
    ErrorBody, OrderBy, Project, RetryRulesIn, TariffIn, TransferOptions as TransferSchema,
    TypeWindows,
};
use super::{parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::store::{check_settings, NewProject, ProjectEdit, ProjectView, StoreError};
use crate::store::{AgentChange, TransferOptions, MAX_PROJECT_NAME};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// What `PATCH /projects/{id}` may change: any setting of `POST /projects`, and the agents who
/// serve the project. Every field is optional; those left out stay as they are.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProjectChange {
    /// Unique; at most 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S", nullable = false)]
    name: Option<String>,
    /// A stored scenario: calls placed after the change play it.
    #[schema(nullable = false)]
    scenario_id: Option<i64>,
    #[schema(
        nullable = false,
        min_length = 1,
        pattern = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
    )]
    time_zone: Option<String>,
    #[schema(nullable = false, min_items = 1)]
    schedule: Option<Vec<String>>,
    #[schema(nullable = false, minimum = 1, maximum = 100000)]
    lines: Option<u32>,
    #[schema(nullable = false, minimum = 1, maximum = 2)]
    max_calls_per_number: Option<u32>,
    /// The results given get these rules; the others keep theirs.
    #[schema(nullable = false)]
    retry_rules: Option<RetryRulesIn>,
    #[schema(nullable = false)]
    ordering: Option<Vec<OrderBy>>,
    /// Another existing project; `null` removes it.
    callback_project_id: Option<i64>,
    /// Replaces the tariff (prices not given take the defaults).
    #[schema(nullable = false)]
    tariff: Option<TariffIn>,
    /// A local date-time in the project's zone; `null` removes it.
    starts_at: Option<String>,
    ends_at: Option<String>,
    /// Replaces the windows per number type (`{}`: none).
    #[schema(nullable = false)]
    type_windows: Option<TypeWindows>,
    /// Checked as at creation; `null` removes it.
    #[schema(min_length = 8, pattern = "^https?://[^/?#\\s]+")]
    webhook_url: Option<String>,
    /// A new secret, or the new and the old space-separated while receivers move to the new
    /// one; `null` goes back to the server's secret.
    #[schema(min_length = 16)]
    webhook_secret: Option<String>,
    /// Replaces the project's transfer settings (`{}`: the server's).
    #[schema(nullable = false)]
    transfer: Option<TransferSchema>,
    /// Another pacing mode: the dialer follows it from its next pass (docs/pacing.md).
    #[schema(nullable = false)]
    mode: Option<super::schemas::PacingMode>,
    /// Replaces the pacing settings (`{}`: the defaults).
    #[schema(nullable = false)]
    pacing: Option<super::schemas::PacingOptions>,
    /// The agents (ids) who serve the project, replacing those who did.
    #[schema(nullable = false)]
    agents: Option<Vec<i64>>,
}

/// Change a project
///
/// Any setting of `POST /projects` (and `agents`, who serve it); those left out stay. Checked
/// as at creation. On a running project the change takes effect at once: its open contacts
/// are planned again under the new schedule, windows, retry rules and ordering (in batches;
/// the answer comes when they are, or after 20 s), the next calls use the new lines, scenario
/// and transfer settings; calls in progress finish as they began and their contacts follow the
/// new rules.
#[utoipa::path(
    patch,
    path = "/projects/{id}",
    operation_id = "changeProject",
    tag = "projects",
    params(("id" = i64, Path, description = "The project's id.")),
    request_body(content = ProjectChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The project as it is now.", body = Project),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such project (`not_found`).", body = ErrorBody),
        (status = 409, description = "Another project has that name (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "An unknown field, `null` for a setting that cannot be empty, or a bad value: the message and `details.field` name it (`invalid`).", body = ErrorBody),
    )
)]
pub async fn change(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let e: ProjectEdit = parse_object(&body, "a JSON object of the settings to change")?;
    Ok(Json(json!(edit_project(&s, id, &e).await?)))
}

/// Creates a project after every check (the API's route and the web UI's form).
pub(crate) async fn create_project(s: &AppState, p: &NewProject) -> ApiResult<i64> {
    check_project(s, p, None, None).await?;
    Ok(s.campaigns.create_project(p).await?)
}

/// Changes a project after every check (the API's route and the web UI's form); answers it
/// as it is now.
pub(crate) async fn edit_project(s: &AppState, id: i64, e: &ProjectEdit) -> ApiResult<ProjectView> {
    let current = s.campaigns.project_settings(id).await?;
    if e.fields().is_empty() {
        return Ok(s.campaigns.project(id).await?);
    }
    check_project(s, &e.apply(current), Some(id), Some(e)).await?;
    if let Some(agents) = &e.agents {
        check_agents(s, agents).await?;
    }
    let p = s.campaigns.edit_project(id, e).await?;
    if let Some(agents) = &e.agents {
        set_agents(s, id, agents).await?;
    }
    Ok(p)
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(message).with_details(json!({ "field": field }))
}

/// Every check of a project's settings: `p` as it would be stored; `edit` the change that made
/// it (what it does not touch is not looked up again: a webhook host or a hold music stored
/// before stays, whatever the world says of it now).
async fn check_project(
    s: &AppState,
    p: &NewProject,
    itself: Option<i64>,
    edit: Option<&ProjectEdit>,
) -> ApiResult<()> {
    check_settings(p).map_err(|e| {
        let mut err = field_error(e.field, e.message);
        if e.field == "name" {
            err.details["max_chars"] = json!(MAX_PROJECT_NAME);
        }
        err
    })?;
    let url_given = edit.is_none_or(|e| e.webhook_url.is_some());
    if let Some(url) = p.webhook_url.as_deref().filter(|u| !u.trim().is_empty()) {
        if url_given {
            // Refused now, not discovered after the calls: the address the webhooks would go to.
            s.settings
                .webhooks
                .check(url.trim())
                .await
                .map_err(|why| field_error("webhook_url", format!("webhook_url: {why}")))?;
        }
    }
    if edit.is_none_or(|e| e.transfer.is_some()) {
        check_transfer(s, &p.transfer)?;
    }
    if edit.is_none_or(|e| e.scenario_id.is_some()) {
        match s.campaigns.scenario(p.scenario_id).await {
            Err(StoreError::NotFound(_)) => {
                return Err(field_error(
                    "scenario_id",
                    format!("scenario {} does not exist", p.scenario_id),
                ))
            }
            other => {
                other?;
            }
        }
    }
    if p.mode.for_agents() && edit.is_none_or(|e| e.mode.is_some() || e.scenario_id.is_some()) {
        if let Ok((name, source)) = s.campaigns.scenario(p.scenario_id).await {
            if !crate::scenario::load::transfers_to_agents(&source) {
                return Err(field_error(
                    "mode",
                    format!(
                        "mode {}: it places calls for agents, and the scenario «{name}» \
                         transfers nobody to them; give the step where the callee asks for an \
                         agent actions = [{{ transfer = \"agents\" }}], or use mode robot \
                         (docs/pacing.md)",
                        p.mode.as_str()
                    ),
                ));
            }
        }
    }
    if let Some(cb) = p.callback_project_id {
        if Some(cb) == itself {
            return Err(field_error(
                "callback_project_id",
                format!("callback_project_id {cb}: the project itself; name another project"),
            ));
        }
        match s.campaigns.project(cb).await {
            Err(StoreError::NotFound(_)) => {
                return Err(field_error(
                    "callback_project_id",
                    format!("callback_project_id {cb}: no such project"),
                ))
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// A project's transfer settings: in range, and hold music that is there and plays (422
/// naming the field otherwise).
pub(super) fn check_transfer(s: &AppState, t: &TransferOptions) -> ApiResult<()> {
    t.validate().map_err(|why| field_error("transfer", why))?;
    if let Some(name) = &t.hold_music {
        let folders = [
            s.settings.uploaded_prompts.as_path(),
            s.settings.prompts_dir.as_path(),
        ];
        let bad =
            |why: String| field_error("transfer.hold_music", format!("transfer.hold_music: {why}"));
        match crate::media::prompt::Prompt::find(name.trim(), &folders) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(bad(format!(
                    "\"{}\" is not among the stored or bundled prompts (store it with \
                     PUT /api/v1/prompts/{{name}})",
                    name.trim()
                )))
            }
            Err(e) => {
                return Err(bad(format!(
                    "\"{}\" cannot be played: {}",
                    name.trim(),
                    e.reason()
                )))
            }
        }
    }
    Ok(())
}

/// The agents named exist.
async fn check_agents(s: &AppState, ids: &[i64]) -> ApiResult<()> {
    let all = s.agent_store.agents().await?;
    if let Some(id) = ids.iter().find(|id| !all.iter().any(|a| a.id == **id)) {
        return Err(field_error(
            "agents",
            format!("agents: agent {id} does not exist"),
        ));
    }
    Ok(())
}

/// Makes exactly the agents `ids` serve project `id` (agents who serve every project stay so);
/// the live pool follows at once.
async fn set_agents(s: &AppState, id: i64, ids: &[i64]) -> ApiResult<()> {
    for a in s.agent_store.agents().await? {
        if a.all_projects || a.projects.contains(&id) == ids.contains(&a.id) {
            continue;
        }
        let mut projects: Vec<i64> = a.projects.iter().copied().filter(|p| *p != id).collect();
        if ids.contains(&a.id) {
            projects.push(id);
        }
        let change = AgentChange {
            projects: Some(projects),
            ..Default::default()
        };
        let stored = s.agent_store.change_agent(a.id, &change).await?;
        s.agent_lines.stored(&s.agents, &stored);
    }
    Ok(())
}
