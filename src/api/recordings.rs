//! A call's recording (`GET /calls/{id}/recording`): the stereo WAV streamed to callers with
//! the token, with range requests (a player seeks; a download resumes). The calls' views name
//! this route, never the file's place on the server.
use super::error::{ApiError, ApiResult};
use super::schemas::{Binary, ErrorBody};
use super::{ApiPath, AppState};
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

/// A call's recording
///
/// The stereo WAV (callee left, robot right), with `Range` requests answered `206`.
#[utoipa::path(
    get,
    path = "/calls/{id}/recording",
    operation_id = "callRecording",
    tag = "reports",
    params(("id" = i64, Path, description = "The call's id.")),
    responses(
        (status = 200, description = "The recording.", content_type = "audio/wav", body = Binary),
        (status = 206, description = "The part of it the `Range` header asked for.", content_type = "audio/wav", body = Binary),
        (status = 400, description = "The id is not a number (`bad_request`).", body = ErrorBody),
        (status = 404, description = "No such call, or it has no recording (not answered, recording off, or the file is gone; `not_found`).", body = ErrorBody),
        (status = 416, description = "The `Range` is outside the recording (`range_not_satisfiable`).", body = ErrorBody),
    )
)]
pub async fn recording(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    req: Request,
) -> ApiResult<Response> {
    serve(&s, id, req).await
}

/// Call `id`'s recording as an answer to `req` (its `Range` honoured): the API's route and
/// the web UI's (`/calls/{id}/recording`, for a signed-in user) both answer with this.
pub(crate) async fn serve(s: &AppState, id: i64, req: Request) -> ApiResult<Response> {
    let path = s
        .reports
        .recording_path(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("call {id} has no recording")))?;
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(ApiError::not_found(format!(
            "call {id}'s recording is no longer on the server"
        )));
    }
    let served = tower_http::services::ServeFile::new_with_mime(
        &path,
        &"audio/wav".parse().expect("a valid mime type"),
    )
    .oneshot(req)
    .await
    .map_err(|e| ApiError::internal(format!("reading the recording: {e}")))?;
    if served.status() == axum::http::StatusCode::RANGE_NOT_SATISFIABLE {
        return Err(ApiError::new(
            axum::http::StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            "the range asked for is outside the recording",
        ));
    }
    let mut r = served.into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        format!("inline; filename=\"call-{id}.wav\"")
            .parse()
            .expect("an ASCII header value"),
    );
    Ok(r)
}
