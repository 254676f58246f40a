//! The HTTP API (docs/api.md), one file per resource: prompts, scenarios, projects (with their
//! contacts, activation, stats, last results and exports), calls, the stop list, metrics.
//! Thin: parse and check the request, call the store, shape the answer; no campaign rule
//! lives here. Every route but `/healthz` needs `Authorization: Bearer TOKEN`; errors are
//! `{"error": {"code", "message", "details"}}` (`error.rs`).
mod action_schemas;
pub(crate) mod actions;
pub mod agents;
pub(crate) mod contacts;
pub mod error;
mod exports;
mod greetings;
pub mod limit;
pub mod metrics;
pub mod openapi;
mod paging;
mod preview;
mod project_edit;
mod projects;
mod prompts;
pub mod recordings;
mod scenarios;
pub mod schemas;
mod transfer_schemas;
pub(crate) mod upload;
pub(crate) mod users;
mod wrap_up;

pub(crate) use agents::{change_agent, create_agent, set_agent_state};
pub(crate) use exports::{export_for, SharedBuf};
pub(crate) use preview::{call_card, next_card, skip_card};
pub(crate) use project_edit::{create_project, edit_project};
pub(crate) use projects::{activate_project, add_numbers as add_to_stop_list};
pub use prompts::write_atomically as write_prompt_file;
pub(crate) use prompts::{store_prompt, valid_name as valid_prompt_name};
pub(crate) use scenarios::validate as validate_scenario;
pub(crate) use wrap_up::{wrap_up_call, WrapUpInput, WrapUpRefused};

use crate::asr::SpeechModel;
use crate::media::prompt::PromptCache;
use crate::store::{AuthStore, CampaignStore, ReportStore};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use error::{ApiError, ApiResult};
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<T>` field: a field
/// that is there gives `Some` (with `T = Option<U>`, `null` gives `Some(None)`), one that is
/// absent stays `None` — "unchanged" and "cleared" told apart.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The API's writes: scenarios, projects, imports, the stop list, prompts.
    pub campaigns: Arc<dyn CampaignStore>,
    /// Reads for reports and exports.
    pub reports: Arc<dyn ReportStore>,
    /// API tokens.
    pub auth: Arc<dyn AuthStore>,
    pub settings: Arc<ApiSettings>,
    /// Bounded concurrency (`api.max_in_flight`).
    pub limit: Arc<limit::RequestLimit>,
    /// The outbox's SMS lane (running, held for money, stopped on a refused login): stats
    /// show it.
    pub sms_lane: crate::actions::worker::SmsLane,
    /// Agents as stored.
    pub agent_store: Arc<dyn crate::store::AgentStore>,
    /// Agents live (states, the transfer queue).
    pub agents: Arc<crate::agents::service::Agents>,
    /// How stored agents are reached.
    pub agent_lines: Arc<agents::AgentLines>,
    /// Users of the web UI and the makers of API tokens.
    pub users: Arc<dyn crate::store::UserStore>,
    /// The learned greetings (docs/amd.md); `None` when they are off.
    pub greetings: Option<Arc<crate::dialer::greetings::GreetingKeeper>>,
    /// What each dialing project's pacing decided last (docs/pacing.md).
    pub pacing: crate::dialer::floor::PacingBoard,
    /// Preview dialing's requests to the dialer (`None`: no dialer in this process).
    pub preview: Option<tokio::sync::mpsc::UnboundedSender<crate::dialer::preview::PreviewRequest>>,
}

/// Fixed settings of the API.
pub struct ApiSettings {
    /// The bundled prompts directory (second place prompts are looked up).
    pub prompts_dir: PathBuf,
    /// Where prompts stored through the API are written (first place prompts are looked up).
    pub uploaded_prompts: PathBuf,
    /// Decoded prompts, shared with the dialer (a replaced prompt is decoded anew).
    pub prompt_cache: PromptCache,
    /// The speech model, when configured (voice scenarios need one).
    pub speech: Option<Arc<dyn SpeechModel>>,
    /// The limits of a contacts import (`[import]`).
    pub import_limits: crate::import::ImportLimits,
    /// SMSC is configured (`[sms.smsc]`): projects with SMS actions may start.
    pub sms_configured: bool,
    /// Where webhooks may go (`[webhooks]`): a project's `webhook_url` is checked when saved.
    pub webhooks: crate::actions::webhook::Destinations,
    /// How long an action is tried (`actions.give_up_after_h`): a retry through the API gets
    /// this long again.
    pub actions_give_up: std::time::Duration,
}

/// Largest prompt file accepted by `PUT /prompts/{name}`.
pub const MAX_PROMPT_BYTES: usize = 64 << 20;
/// Largest scenario (TOML or JSON) or project body.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Largest stop-list body (a bulk list of numbers).
pub const MAX_STOP_LIST_BYTES: usize = 16 << 20;

/// The route label of answers no route matched (`/metrics`).
const UNMATCHED: &str = "unmatched";

/// The routes behind the token and the load limit, each with its OpenAPI entry: a handler is
/// routed and documented by the same `routes!` line, so the document cannot miss a route.
fn protected_routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(openapi::openapi))
        .routes(routes!(prompts::list))
        .routes(routes!(prompts::put))
        .routes(routes!(scenarios::create))
        .routes(routes!(scenarios::get))
        .routes(routes!(projects::create, projects::list))
        .routes(routes!(projects::get, project_edit::change))
        .routes(routes!(upload::import_contacts, contacts::delete))
        .routes(routes!(contacts::copy))
        .routes(routes!(projects::activate))
        .routes(routes!(projects::pause))
        .routes(routes!(projects::stats))
        .routes(routes!(projects::last_results))
        .routes(routes!(projects::decisions))
        .routes(routes!(exports::export))
        .routes(routes!(projects::calls))
        .routes(routes!(projects::call))
        .routes(routes!(recordings::recording))
        .routes(routes!(actions::list))
        .routes(routes!(actions::get))
        .routes(routes!(actions::retry))
        .routes(routes!(actions::cancel))
        .routes(routes!(agents::create, agents::list))
        .routes(routes!(agents::get, agents::change, agents::delete))
        .routes(routes!(agents::set_state))
        .routes(routes!(wrap_up::wrap_up))
        .routes(routes!(preview::next))
        .routes(routes!(preview::call))
        .routes(routes!(preview::skip))
        .routes(routes!(greetings::list, greetings::upload))
        .routes(routes!(
            greetings::get,
            greetings::change,
            greetings::delete
        ))
        .routes(routes!(greetings::sample))
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::change, users::delete))
        .routes(routes!(users::create_token, users::list_tokens))
        .routes(routes!(users::revoke_token))
        .routes(routes!(
            projects::stop_list,
            projects::add_to_stop_list,
            projects::remove_from_stop_list
        ));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .routes(routes!(metrics::metrics))
}

/// The routes outside the token and the limit.
fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi::healthz))
}

/// Every route with its OpenAPI entry (`openapi::document` makes the document of it).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    protected_routes().merge(public_routes())
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    metrics::exporter();
    let (protected, _) = protected_routes().split_for_parts();
    let (public, _) = public_routes().split_for_parts();
    let protected = protected
        .method_not_allowed_fallback(method_not_allowed)
        // Contacts files stream past the default body limit (the import has its own).
        .layer(axum::extract::DefaultBodyLimit::max(upload::MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::limit,
        ));
    protected
        .merge(public.method_not_allowed_fallback(method_not_allowed))
        .fallback(|| async { ApiError::not_found("no such route; see /api/v1/openapi.json") })
        .layer(axum::middleware::from_fn(count))
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see /api/v1/openapi.json",
    )
}

/// Checks the bearer token (every route this layer wraps).
async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let Some(token) = token else {
        return ApiError::unauthorized("an `Authorization: Bearer TOKEN` header is required")
            .into_response();
    };
    match s.auth.check_token(token).await {
        Ok(Some(owner)) => {
            let path = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| req.uri().path().to_string());
            if !crate::users::role::api_allows(owner.role, req.method().as_str(), &path) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "the token acts as a {} ({}), who may not {} {path}",
                        owner.role,
                        owner.role.label_ru(),
                        req.method()
                    ),
                )
                .into_response();
            }
            next.run(req).await
        }
        Ok(None) => ApiError::unauthorized("the token is not valid").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The token of an `Authorization` value with the `Bearer` scheme, the scheme in any case
/// (RFC 7235: auth schemes are case-insensitive); `None` for another scheme or no token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Counts every answer by route template (`/api/v1/projects/{id}`, never the path with its
/// ids) and status, for `/metrics`.
async fn count(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let r = next.run(req).await;
    metrics::http_answer(
        route.as_ref().map_or(UNMATCHED, |m| m.as_str()),
        r.status().as_u16(),
    );
    r
}

/// `Path` with rejections in the API's error format.
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// `Query` with rejections in the API's error format.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A whole request body of at most `MAX` bytes, read with rejections in the API's error format:
/// 413 `too_large` naming the limit (announced by `Content-Length` or found while reading),
/// 400 `bad_request` when the body cannot be read. Handlers take this instead of axum's
/// `Bytes`, whose rejections are plain text.
pub struct ApiBody<const MAX: usize>(pub axum::body::Bytes);

impl<S: Send + Sync, const MAX: usize> axum::extract::FromRequest<S> for ApiBody<MAX> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        use futures_util::StreamExt;
        let too_large = || {
            ApiError::too_large(format!(
                "the request body is larger than this route's limit of {}",
                byte_size(MAX)
            ))
        };
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > MAX as u64) {
            return Err(too_large());
        }
        let mut data = Vec::with_capacity(announced.map_or(0, |n| n as usize));
        let mut stream = req.into_body().into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(format!("the request body could not be read: {e}"))
            })?;
            if data.len() + chunk.len() > MAX {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        Ok(ApiBody(data.into()))
    }
}

/// A byte count for messages: `1 MiB`, `64 KiB`, `1000 bytes`.
fn byte_size(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A JSON body parsed with errors in the API's own format (line and column named).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        let status_invalid = matches!(e.classify(), serde_json::error::Category::Data);
        let msg = format!("request body, line {} column {}: {e}", e.line(), e.column());
        if status_invalid {
            ApiError::invalid(msg)
        } else {
            ApiError::bad_request(msg)
        }
    })
}

/// A request body that must be one JSON object of `T`'s fields (serde would also take an
/// array for a struct): 400 for broken JSON, 422 for another shape, naming `expected`.
pub(crate) fn parse_object<T: serde::de::DeserializeOwned>(
    body: &[u8],
    expected: &str,
) -> ApiResult<T> {
    let v: serde_json::Value = parse_json(body)?;
    if !v.is_object() {
        return Err(ApiError::invalid(format!("request body: {expected}")));
    }
    serde_json::from_value(v).map_err(|e| ApiError::invalid(format!("request body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::{bearer_token, byte_size};

    #[test]
    fn limits_read_as_sizes() {
        assert_eq!(byte_size(1 << 20), "1 MiB");
        assert_eq!(byte_size(64 << 10), "64 KiB");
        assert_eq!(byte_size(1000), "1000 bytes");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for v in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "bEaReR   abc ",
            "Bearer\tabc",
        ] {
            assert_eq!(bearer_token(v), Some("abc"), "{v:?}");
        }
        for v in ["Basic abc", "Bearer", "Bearer   ", "Bearerabc", "", "abc"] {
            assert_eq!(bearer_token(v), None, "{v:?}");
        }
    }
}
