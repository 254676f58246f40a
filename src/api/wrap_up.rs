//! A transferred call's wrap-up (docs/agents.md, "Wrap-up"): `POST /agents/{id}/wrap-up` and
//! the agent desk's form both come here. The agent who answered the call picks a disposition
//! from the project's list, may write a note and ask for a call back (the contact is copied
//! into the callback project through the outbox, once, not dialed before then); the wrap-up is
//! kept with the call and ends the agent's after-call work at once.
use super::error::{ApiError, ApiResult};
use super::schemas::{Call as CallSchema, ErrorBody};
use super::{parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::agents::wrap_up::{check, Problem, WrapUpForm, WrapUpRules};
use crate::store::{CallView, WrapUpRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A wrap-up as `POST /agents/{id}/wrap-up` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapUpBody {
    /// The transferred call the agent answered.
    pub call_id: i64,
    /// One of the call's project's `transfer.dispositions`.
    #[schema(min_length = 1, max_length = 100, example = "Перезвонить")]
    pub disposition: String,
    /// The agent's note.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    /// Call the contact back then: RFC 3339 (`2026-12-01T14:30:00+03:00`), or a local
    /// `YYYY-MM-DD HH:MM` in the project's time zone; within a year. Needs the project's
    /// callback project.
    #[schema(example = "2026-12-01 14:30")]
    pub callback_at: Option<String>,
}

/// What a wrap-up was sent with.
pub(crate) struct WrapUpInput {
    pub call_id: i64,
    pub disposition: String,
    pub note: String,
    /// Empty: no call back.
    pub callback_at: String,
}

/// Why a wrap-up was not written.
pub(crate) enum WrapUpRefused {
    /// What was sent is wrong, field by field (422).
    Problems(Vec<Problem>),
    /// No such agent or call, not the agent's call, written already, the store failed.
    Api(ApiError),
}

impl From<ApiError> for WrapUpRefused {
    fn from(e: ApiError) -> Self {
        WrapUpRefused::Api(e)
    }
}

impl From<crate::store::StoreError> for WrapUpRefused {
    fn from(e: crate::store::StoreError) -> Self {
        WrapUpRefused::Api(e.into())
    }
}

impl From<WrapUpRefused> for ApiError {
    fn from(r: WrapUpRefused) -> Self {
        match r {
            WrapUpRefused::Api(e) => e,
            WrapUpRefused::Problems(p) => {
                let message = p.iter().map(Problem::en).collect::<Vec<_>>().join("; ");
                let fields: Vec<&str> = p.iter().map(Problem::field).collect();
                ApiError::invalid(message).with_details(json!({ "fields": fields }))
            }
        }
    }
}

/// Writes agent `agent_id`'s wrap-up of a call they answered, queues its call back, and ends
/// the agent's after-call work. Answers the call as it is now.
pub(crate) async fn wrap_up_call(
    s: &AppState,
    agent_id: i64,
    input: &WrapUpInput,
) -> Result<CallView, WrapUpRefused> {
    s.agent_store.agent(agent_id).await?;
    let call = s.reports.call(input.call_id).await?;
    let live = s.agents.desk_call(agent_id);
    let answered_live = s.agents.answered_by(agent_id, input.call_id);
    let answered_stored =
        call.transfer.as_ref().and_then(|t| t["agent_id"].as_i64()) == Some(agent_id);
    if !answered_live && !answered_stored {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "call {} was not answered by agent {agent_id}: only the agent who talked to the \
                 caller wraps the call up",
                input.call_id
            ),
        )
        .into());
    }
    let project = s.campaigns.project(call.project_id).await?;
    let dispositions = project.transfer.dispositions_or_default();
    // Where a call back goes: the one the scenario's transfer named (the desk's card knows
    // it), else the project's callback project.
    let named = live
        .filter(|d| d.card.call_id == Some(input.call_id))
        .and_then(|d| d.card.callback_project.clone());
    let callback_project = match named {
        Some(n) => s.campaigns.project_id_by_name(&n).await?.map(|_| n),
        None => match project.callback_project_id {
            Some(id) => Some(s.campaigns.project(id).await?.name),
            None => None,
        },
    };
    let now_ms = s.agents.now_ms();
    let w = check(
        &WrapUpForm {
            disposition: &input.disposition,
            note: &input.note,
            callback_at: &input.callback_at,
        },
        &WrapUpRules {
            dispositions: &dispositions,
            callback_project: callback_project.as_deref(),
            time_zone: &project.time_zone,
            now: now_ms.div_euclid(1000),
        },
    )
    .map_err(WrapUpRefused::Problems)?;
    let callback = w
        .callback_at
        .zip(callback_project.as_deref())
        .map(|(at, p)| crate::actions::wrap_up_callback(p, &call.number, at));
    s.agent_store
        .wrap_up_call(&WrapUpRecord {
            call_id: input.call_id,
            agent_id,
            disposition: w.disposition.clone(),
            note: w.note.clone(),
            callback_at: w.callback_at,
            callback,
            at_ms: now_ms,
            give_up_at_ms: now_ms + s.settings.actions_give_up.as_millis() as i64,
        })
        .await?;
    let ended = s.agents.wrapped_up(agent_id, input.call_id, &w.disposition);
    tracing::info!(
        agent_id,
        call = input.call_id,
        disposition = %w.disposition,
        call_back = w.callback_at.is_some(),
        wrap_up_ended = ended,
        "wrap-up written"
    );
    Ok(s.reports.call(input.call_id).await?)
}

/// Wrap a transferred call up
///
/// What the agent who talked to the caller concluded: a disposition from the project's
/// `transfer.dispositions`, a note, and a call back at a time to come (the contact is copied
/// into the callback project, not dialed before then). Written once per call; ends the agent's
/// after-call work at once (`wrap_up` → `available`).
#[utoipa::path(
    post,
    path = "/agents/{id}/wrap-up",
    operation_id = "wrapUpCall",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    request_body(content = WrapUpBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The call with its `wrap_up`.", body = CallSchema),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent or call (`not_found`).", body = ErrorBody),
        (status = 409, description = "The agent did not answer this call, or it was wrapped up already (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "A disposition not in the project's list, a note over 2000 characters, a call-back time that is not a date-time, past or over a year ahead, or a call back in a project without a callback project; `details.fields` names them (`invalid`).", body = ErrorBody),
    )
)]
pub async fn wrap_up(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: WrapUpBody = parse_object(&body, "a JSON object")?;
    let input = WrapUpInput {
        call_id: b.call_id,
        disposition: b.disposition,
        note: b.note.unwrap_or_default(),
        callback_at: b.callback_at.unwrap_or_default(),
    };
    Ok(Json(json!(wrap_up_call(&s, id, &input).await?)))
}
