//! Bounded API concurrency: at most `max_in_flight` requests are served at once; a request
//! that finds them all taken waits up to `queue_timeout` for one, then gets `503` with
//! `Retry-After` and the API's error body. However many clients read reports at once, the
//! server's own work (the dialer, the calls) keeps its share of the machine, and a client is
//! told plainly to come back instead of timing out (docs/api.md, "Load").
use super::error::ApiError;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The limit and its queue.
pub struct RequestLimit {
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Seconds a refused client is asked to wait.
    retry_after_s: u64,
}

impl RequestLimit {
    pub fn new(max_in_flight: usize, queue_timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            queue_timeout,
            retry_after_s: queue_timeout.as_secs().clamp(1, 30),
        }
    }
}

/// The middleware (wraps every route but `/healthz`).
pub async fn limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let l = &s.limit;
    let permit = match l.permits.clone().try_acquire_owned() {
        Ok(p) => Some(p),
        Err(_) => tokio::time::timeout(l.queue_timeout, l.permits.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok),
    };
    match permit {
        Some(_permit) => next.run(req).await,
        None => {
            let mut r = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!(
                    "the server is answering as many requests as it is allowed to (api.max_in_flight); \
                     try again in {} s",
                    l.retry_after_s
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&l.retry_after_s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}
