//! The HTTP API (docs/api.md), one file per resource: prompts, scenarios, projects (with their
//! contacts, activation, stats, last results and exports), calls, the stop list, metrics.
//! Thin: parse and check the request, call the store, shape the answer; no campaign rule
//! lives here. Every route but `/healthz` needs `Authorization: Bearer TOKEN`; errors are
//! `{"error": {"code", "message", "details"}}` (`error.rs`).
pub mod error;
mod exports;
pub mod limit;
mod projects;
mod prompts;
mod scenarios;
mod upload;

pub use prompts::write_atomically as write_prompt_file;

use crate::asr::SpeechModel;
use crate::media::prompt::PromptCache;
use crate::store::{AuthStore, CampaignStore, ReportStore};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use error::{ApiError, ApiResult};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    pub metrics: Arc<HttpMetrics>,
    /// Bounded concurrency (`api.max_in_flight`).
    pub limit: Arc<limit::RequestLimit>,
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
}

/// Request counters for `/metrics`, by status class.
#[derive(Default)]
pub struct HttpMetrics {
    by_class: [AtomicU64; 5],
}

impl HttpMetrics {
    fn count(&self, status: StatusCode) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Largest prompt file accepted by `PUT /prompts/{name}`.
pub const MAX_PROMPT_BYTES: usize = 64 << 20;
/// Largest scenario (TOML or JSON) or project body.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Largest stop-list body (a bulk list of numbers).
pub const MAX_STOP_LIST_BYTES: usize = 16 << 20;

/// The whole API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/prompts", get(prompts::list))
        .route("/prompts/{name}", put(prompts::put))
        .route("/scenarios", post(scenarios::create))
        .route("/scenarios/{id}", get(scenarios::get))
        .route("/projects", post(projects::create).get(projects::list))
        .route("/projects/{id}", get(projects::get))
        .route("/projects/{id}/contacts", post(upload::import_contacts))
        .route("/projects/{id}/activate", post(projects::activate))
        .route("/projects/{id}/pause", post(projects::pause))
        .route("/projects/{id}/stats", get(projects::stats))
        .route("/projects/{id}/last-results", get(projects::last_results))
        .route("/projects/{id}/decisions", get(projects::decisions))
        .route("/projects/{id}/export", get(exports::export))
        .route("/calls", get(projects::calls))
        .route("/calls/{id}", get(projects::call))
        .route(
            "/stop-list",
            get(projects::stop_list)
                .post(projects::add_to_stop_list)
                .delete(projects::remove_from_stop_list),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method; see /api/v1/openapi.json",
            )
        })
        // Contacts files stream past the default body limit (the import has its own).
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20));
    Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(metrics))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit::limit,
        ))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(|| async { ApiError::not_found("no such route; see /api/v1/openapi.json") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
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
        Ok(Some(_)) => next.run(req).await,
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

async fn count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    s.metrics.count(r.status());
    r
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

/// Prometheus text format.
async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    use std::fmt::Write;
    let totals = s.reports.call_totals().await?;
    let (up, by_result) = (totals.up, &totals.by_result);
    let projects = s.campaigns.list_projects().await?;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP autoinformer_calls_up Calls in progress now.");
    let _ = writeln!(out, "# TYPE autoinformer_calls_up gauge");
    let _ = writeln!(out, "autoinformer_calls_up {up}");
    let _ = writeln!(
        out,
        "# HELP autoinformer_calls_total Finished calls by result."
    );
    let _ = writeln!(out, "# TYPE autoinformer_calls_total counter");
    for (result, n) in by_result {
        let _ = writeln!(
            out,
            "autoinformer_calls_total{{result=\"{}\"}} {n}",
            prom_escape(result)
        );
    }
    let _ = writeln!(
        out,
        "# HELP autoinformer_calls_without_audio_total Answered calls that got no audio from the callee (a broken media path: check NAT and trunk.sip.rtp_ip)."
    );
    let _ = writeln!(out, "# TYPE autoinformer_calls_without_audio_total counter");
    let _ = writeln!(
        out,
        "autoinformer_calls_without_audio_total {}",
        totals.without_audio
    );
    let _ = writeln!(out, "# HELP autoinformer_projects Projects by status.");
    let _ = writeln!(out, "# TYPE autoinformer_projects gauge");
    for status in ["draft", "active", "paused", "finished"] {
        let n = projects.iter().filter(|p| p.status == status).count();
        let _ = writeln!(out, "autoinformer_projects{{status=\"{status}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP autoinformer_http_requests_total HTTP requests answered."
    );
    let _ = writeln!(out, "# TYPE autoinformer_http_requests_total counter");
    for (i, c) in s.metrics.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "autoinformer_http_requests_total{{class=\"{}xx\"}} {}",
            i + 1,
            c.load(Ordering::Relaxed)
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

fn prom_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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
