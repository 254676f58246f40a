//! Learned greetings (docs/amd.md, "Learned greetings"; docs/api.md, "Greetings"): list them
//! with their samples, label one or mark it "not a machine", upload a known one, forget one.
use super::error::{ApiError, ApiResult};
use super::present;
use super::schemas::{Binary, ErrorBody};
use super::{parse_object, ApiBody, ApiPath, ApiQuery, AppState, MAX_DOCUMENT_BYTES};
use crate::dialer::greetings::GreetingKeeper;
use crate::media::audio::decode_bytes_8k;
use crate::media::greetings::Label;
use crate::store::{GreetingEdit, GreetingView};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Largest uploaded greeting (a minute of WAV is under 1 MiB; MP3s are smaller).
pub const MAX_GREETING_BYTES: usize = 16 * 1024 * 1024;
/// Longest name.
pub const MAX_NAME: usize = 200;

fn keeper(s: &AppState) -> ApiResult<&Arc<GreetingKeeper>> {
    s.greetings.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "learned greetings are off on this server (calls.learn_greetings, calls.amd)",
        )
    })
}

fn item(v: &GreetingView) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or_default();
    j["sample"] = if v.has_sample {
        json!(format!("/api/v1/greetings/{}/sample", v.id))
    } else {
        Value::Null
    };
    j
}

fn label_of(text: &str) -> ApiResult<Label> {
    Label::parse(text).ok_or_else(|| {
        ApiError::invalid(format!(
            "label: {text:?} is not one of carrier_voicemail, assistant, ivr"
        ))
        .with_details(json!({ "field": "label" }))
    })
}

/// List learned greetings
///
/// Those that decide or were labelled first, then the most heard (at most 1,000).
#[utoipa::path(
    get,
    path = "/greetings",
    operation_id = "listGreetings",
    tag = "greetings",
    responses(
        (status = 200, description = "`items`: each greeting with `id`, `name`, `label`, `not_machine`, `uploaded`, `numbers_seen`, `times_seen`, `first_seen`, `last_seen`, `landmarks`, `decides` and its `sample` (a path, or null); `learn_after_numbers`.", body = Object),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
    )
)]
pub async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let k = keeper(&s)?;
    let n = k.min_numbers();
    let items: Vec<Value> = k
        .store()
        .list_greetings(n)
        .await?
        .iter()
        .map(item)
        .collect();
    Ok(Json(json!({ "items": items, "learn_after_numbers": n })))
}

/// One learned greeting
#[utoipa::path(
    get,
    path = "/greetings/{id}",
    operation_id = "getGreeting",
    tag = "greetings",
    params(("id" = i64, Path, description = "The greeting's id.")),
    responses(
        (status = 200, description = "The greeting.", body = Object),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such greeting (`not_found`).", body = ErrorBody),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
    )
)]
pub async fn get(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<Value>> {
    let k = keeper(&s)?;
    Ok(Json(item(&k.store().greeting(id, k.min_numbers()).await?)))
}

/// A label's name (docs/amd.md, "Learned greetings").
#[derive(ToSchema)]
#[schema(as = GreetingLabel)]
#[allow(dead_code)] // the schema of the `label` strings
#[serde(rename_all = "snake_case")]
enum LabelName {
    CarrierVoicemail,
    Assistant,
    Ivr,
}

/// What to change of a greeting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GreetingChange {
    /// `carrier_voicemail`, `assistant`, `ivr`, or null for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LabelName>, nullable)]
    pub label: Option<Option<String>>,
    /// `true`: not a machine — it never decides again.
    #[serde(default)]
    pub not_machine: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

/// Label a greeting, or mark it "not a machine"
#[utoipa::path(
    patch,
    path = "/greetings/{id}",
    operation_id = "changeGreeting",
    tag = "greetings",
    params(("id" = i64, Path, description = "The greeting's id.")),
    request_body(content = GreetingChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The greeting.", body = Object),
        (status = 400, description = "The id is not a number, the body is not JSON (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such greeting (`not_found`).", body = ErrorBody),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
        (status = 422, description = "An unknown label, a name over 200 characters (`invalid`).", body = ErrorBody),
    )
)]
pub async fn change(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiBody(body): ApiBody<MAX_DOCUMENT_BYTES>,
) -> ApiResult<Json<Value>> {
    let k = keeper(&s)?;
    let c: GreetingChange = parse_object(&body, "a JSON object")?;
    let label = match c.label {
        Some(Some(l)) => Some(Some(label_of(&l)?)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(n) = &c.name {
        check_name(n)?;
    }
    let edit = GreetingEdit {
        label,
        not_machine: c.not_machine,
        name: c.name.map(|n| n.trim().to_string()),
    };
    k.edit(id, &edit).await?;
    Ok(Json(item(&k.store().greeting(id, k.min_numbers()).await?)))
}

fn check_name(n: &str) -> ApiResult<()> {
    if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "name: at most {MAX_NAME} characters, no control characters"
        ))
        .with_details(json!({ "field": "name" })));
    }
    Ok(())
}

/// Forget a greeting
#[utoipa::path(
    delete,
    path = "/greetings/{id}",
    operation_id = "deleteGreeting",
    tag = "greetings",
    params(("id" = i64, Path, description = "The greeting's id.")),
    responses(
        (status = 204, description = "Forgotten: heard again, it is learned anew."),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such greeting (`not_found`).", body = ErrorBody),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
    )
)]
pub async fn delete(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<StatusCode> {
    keeper(&s)?.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A greeting's sample
#[utoipa::path(
    get,
    path = "/greetings/{id}/sample",
    operation_id = "greetingSample",
    tag = "greetings",
    params(("id" = i64, Path, description = "The greeting's id.")),
    responses(
        (status = 200, description = "Its first seconds, as heard or uploaded (8 kHz WAV).", content_type = "audio/wav", body = Binary),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such greeting, or it has no sample yet (one is kept once it is heard on enough numbers; `not_found`).", body = ErrorBody),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
    )
)]
pub async fn sample(State(s): State<AppState>, ApiPath(id): ApiPath<i64>) -> ApiResult<Response> {
    let k = keeper(&s)?;
    let wav = k
        .store()
        .greeting_sample(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("a sample of greeting {id}")))?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], wav).into_response())
}

/// An uploaded greeting's name and label.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// What it is (`Теле2: голосовая почта`).
    #[serde(default)]
    #[param(max_length = 200)]
    pub name: Option<String>,
    /// `carrier_voicemail`, `assistant` or `ivr`.
    #[serde(default)]
    #[param(value_type = Option<LabelName>, inline)]
    pub label: Option<String>,
}

/// Upload a known greeting
///
/// A recording of a greeting (a carrier's voicemail, a voice assistant's opening phrase) is
/// known before the first call: it decides `machine` from the first call that plays it.
#[utoipa::path(
    post,
    path = "/greetings",
    operation_id = "uploadGreeting",
    tag = "greetings",
    params(UploadQuery),
    request_body(description = "The audio (WAV, MP3, OGG/Vorbis, FLAC); its first seconds count.", content(
        (Binary = "application/octet-stream"),
        (Binary = "audio/wav"),
        (Binary = "audio/mpeg"),
    )),
    responses(
        (status = 201, description = "The greeting.", body = Object),
        (status = 400, description = "An unknown query parameter (`bad_request`).", body = ErrorBody),
        (status = 409, description = "Learned greetings are off (`conflict`).", body = ErrorBody),
        (status = 413, description = "Over 16 MiB (`too_large`).", body = ErrorBody),
        (status = 422, description = "Audio that does not decode, too little speech to know it again, an unknown label (`invalid`).", body = ErrorBody),
    )
)]
pub async fn upload(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    ApiBody(body): ApiBody<MAX_GREETING_BYTES>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let k = keeper(&s)?;
    let label = q.label.as_deref().map(label_of).transpose()?;
    let name = q.name.unwrap_or_default();
    check_name(&name)?;
    let samples = tokio::task::spawn_blocking(move || decode_bytes_8k(&body, None, "greeting"))
        .await
        .map_err(|e| ApiError::internal(format!("decoder task: {e}")))?
        .map_err(|e| ApiError::invalid(format!("cannot decode the audio: {e}")))?;
    let id = k
        .upload(&samples, name.trim(), label)
        .await?
        .map_err(ApiError::invalid)?;
    let v = k.store().greeting(id, k.min_numbers()).await?;
    Ok((StatusCode::CREATED, Json(item(&v))))
}
