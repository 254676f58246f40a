//! Preview dialing through the API (docs/pacing.md, "Preview"; docs/api.md, "Preview"): an
//! agent's next card, «call» and «skip». The dialer answers each (`dialer::preview`): it alone
//! reads the order and places calls, so a card is never two agents' and a press never dials
//! a contact the rules hold.
use super::error::{ApiError, ApiResult};
use super::schemas::ErrorBody;
use super::{parse_object, ApiBody, ApiPath, AppState, MAX_DOCUMENT_BYTES};
use crate::dialer::preview::{PreviewCard, PreviewRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::sync::oneshot;
use utoipa::ToSchema;

/// The next contact of a preview project (`dialer::preview::PreviewCard`).
#[derive(Serialize, ToSchema)]
pub struct Card {
    pub project_id: i64,
    pub project: String,
    pub contact_id: i64,
    #[schema(required = true)]
    pub name: Option<String>,
    /// The import's other columns.
    pub fields: BTreeMap<String, String>,
    /// The number «call» dials.
    pub number: String,
    pub numbers: Vec<String>,
    /// Calls made to the contact so far.
    pub calls: u32,
}

/// `GET /agents/{id}/preview`.
#[derive(Serialize, ToSchema)]
pub struct NextCard {
    /// `null`: nothing to show now (none of the agent's preview projects is dialing, or
    /// nothing is left to call in them now).
    #[schema(required = true)]
    pub card: Option<Card>,
}

/// `POST /agents/{id}/preview/call`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    /// The card's contact (`card.contact_id` of the agent's last `GET …/preview`).
    pub contact_id: i64,
}

/// `POST /agents/{id}/preview/skip`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipBody {
    pub contact_id: i64,
    /// Why (kept in the project's decision log).
    #[schema(min_length = 1, max_length = 200, example = "не целевой клиент")]
    pub reason: String,
}

/// Sends a request to the dialer and waits for its answer.
async fn ask<T>(
    s: &AppState,
    agent: i64,
    make: impl FnOnce(oneshot::Sender<Result<T, String>>) -> PreviewRequest,
) -> ApiResult<T> {
    s.agent_store.agent(agent).await?;
    let Some(tx) = s.preview.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the dialer is not running in this process",
        ));
    };
    let (reply, answer) = oneshot::channel();
    tx.send(make(reply)).map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the dialer has stopped",
        )
    })?;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), answer)
        .await
        .map_err(|_| ApiError::internal("the dialer did not answer within 20 s"))?
        .map_err(|_| ApiError::internal("the dialer dropped the request"))?;
    answer.map_err(|why| ApiError::new(StatusCode::CONFLICT, "conflict", why))
}

/// The next card of one agent (the agent desk and the API).
pub(crate) async fn next_card(s: &AppState, agent: i64) -> ApiResult<Option<PreviewCard>> {
    ask(s, agent, |reply| PreviewRequest::Next { agent, reply }).await
}

/// An agent's press of «call» (the agent desk and the API): the call's id.
pub(crate) async fn call_card(s: &AppState, agent: i64, contact_id: i64) -> ApiResult<i64> {
    ask(s, agent, |reply| PreviewRequest::Call {
        agent,
        contact_id,
        reply,
    })
    .await
}

/// An agent's press of «skip» with a reason (the agent desk and the API).
pub(crate) async fn skip_card(
    s: &AppState,
    agent: i64,
    contact_id: i64,
    reason: String,
) -> ApiResult<()> {
    ask(s, agent, |reply| PreviewRequest::Skip {
        agent,
        contact_id,
        reason,
        reply,
    })
    .await
}

/// An agent's next preview card
///
/// The next contact to call in the agent's projects in `preview` mode that are dialing now
/// (active, inside their schedule). The card is the agent's alone for 5 minutes: other agents
/// are shown the next ones.
#[utoipa::path(
    get,
    path = "/agents/{id}/preview",
    operation_id = "previewNext",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    responses(
        (status = 200, description = "The card, or `null`.", body = NextCard),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
        (status = 503, description = "The dialer does not run in this process (`unavailable`).", body = ErrorBody),
    )
)]
pub async fn next(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let card = next_card(&s, id).await?;
    Ok(Json(json!({ "card": card })))
}

/// Call the card's contact
///
/// The robot dials the card's contact at once (its lines and the campaign rules permitting);
/// the agent is held for this call — no other caller is offered to them — and is connected
/// when the callee answers and the scenario transfers; a call that never reaches the agent
/// lets them go.
#[utoipa::path(
    post,
    path = "/agents/{id}/preview/call",
    operation_id = "previewCall",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    request_body(content = CallBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Dialing: `{\"call_id\": N}`.", body = Value),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
        (status = 409, description = "Not the agent's card, no longer callable (called, held, stop-listed since), no free line, the agent not available, the project not dialing (`conflict`); the message says which.", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "The body is not an object with `contact_id` (`invalid`).", body = ErrorBody),
        (status = 503, description = "The dialer does not run in this process (`unavailable`).", body = ErrorBody),
    )
)]
pub async fn call(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b: CallBody = parse_object(&body, "a JSON object")?;
    let call_id = call_card(&s, id, b.contact_id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "call_id": call_id }))))
}

/// Skip the card's contact
///
/// Not called now; the reason goes to the project's decision log and the contact is not shown
/// again for an hour (the campaign rules keep planning it).
#[utoipa::path(
    post,
    path = "/agents/{id}/preview/skip",
    operation_id = "previewSkip",
    tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    request_body(content = SkipBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Skipped: `{\"skipped\": true}`.", body = Value),
        (status = 400, description = "The body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such agent (`not_found`).", body = ErrorBody),
        (status = 409, description = "Not the agent's card, or a reason that is empty or over 200 characters (`conflict`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "The body is not an object with `contact_id` and a `reason` of 1 … 200 characters (`invalid`).", body = ErrorBody),
        (status = 503, description = "The dialer does not run in this process (`unavailable`).", body = ErrorBody),
    )
)]
pub async fn skip(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let b: SkipBody = parse_object(&body, "a JSON object")?;
    if b.reason.trim().is_empty() || b.reason.trim().chars().count() > 200 {
        return Err(ApiError::invalid("reason: 1 … 200 characters")
            .with_details(json!({"field": "reason"})));
    }
    skip_card(&s, id, b.contact_id, b.reason).await?;
    Ok(Json(json!({ "skipped": true })))
}
