//! The OpenAPI document (docs/api.md, "The OpenAPI document"), generated: each handler carries
//! its `#[utoipa::path]` (parameters with their constraints, bodies with their schemas, every
//! status it answers), `super::routes` registers handlers and document entries together
//! (`utoipa_axum::routes!`), and `document` adds what the middlewares answer on every route
//! they wrap: `401` (auth), `503` with `Retry-After` (the load limit) and `500`.
use super::schemas::ErrorBody;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use std::sync::LazyLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "autoinformer API",
        version = "1",
        description = "Voice robot for outbound call campaigns (docs/api.md). Every route but \
            `/healthz` needs `Authorization: Bearer TOKEN`. Every error answers \
            `{\"error\": {\"code\", \"message\", \"details\"}}`; every route that takes the \
            token may answer `401`, `503` (with `Retry-After`) and `500` besides the statuses \
            it lists.",
        license(name = "MIT OR Apache-2.0")
    ),
    security(("bearer" = [])),
    modifiers(&Bearer),
    components(schemas(ErrorBody)),
    tags(
        (name = "prompts", description = "Recorded prompts the scenarios play"),
        (name = "scenarios", description = "What the robot says and listens for (docs/scenarios.md)"),
        (name = "projects", description = "Campaigns: settings, contacts, activation"),
        (name = "reports", description = "Stats, last results, decisions, calls, exports"),
        (name = "actions", description = "The outbox: trying a failed action again, cancelling a waiting one"),
        (name = "stop-list", description = "The global do-not-call list"),
        (name = "agents", description = "Live agents transferred calls go to (docs/agents.md)"),
        (name = "greetings", description = "Recorded greetings learned from calls: answering machines known in a second (docs/amd.md)"),
        (name = "users", description = "People who sign in and their API tokens, the admin's (docs/users.md)"),
        (name = "server", description = "Health, metrics and this document")
    )
)]
pub struct ApiDoc;

/// The bearer scheme every route but `/healthz` takes.
struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The answers of the middlewares, added to every operation that needs the token.
fn middleware_answers() -> [(&'static str, Value); 4] {
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    [
        (
            "401",
            json!({
                "description": "No `Authorization: Bearer TOKEN` header, or a token that is not valid (`unauthorized`).",
                "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
                "content": error,
            }),
        ),
        (
            "403",
            json!({
                "description": "The token's role may not do this (`forbidden`): reading needs `viewer`, changes `manager`, users `admin` (docs/users.md).",
                "content": error,
            }),
        ),
        (
            "500",
            json!({
                "description": "The database or the disk failed (`internal`); logged on the server.",
                "content": error,
            }),
        ),
        (
            "503",
            json!({
                "description": "The server is serving as many requests as it may (`busy`, `api.max_in_flight`): try again after `Retry-After` seconds.",
                "headers": {"Retry-After": {"description": "Seconds to wait (1 to 30).", "schema": {"type": "integer", "minimum": 1, "maximum": 30}}},
                "content": error,
            }),
        ),
    ]
}

/// Whether an operation overrides the global bearer requirement with "none".
fn is_public(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| {
        s.iter()
            .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The whole document, as served.
pub fn document() -> Value {
    let (_, doc) = super::routes().split_for_parts();
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serializes");
    let answers = middleware_answers();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for m in METHODS {
                let Some(op) = item.get_mut(m) else { continue };
                if is_public(op) {
                    // An empty requirement object means "optional"; none at all means "none".
                    op["security"] = json!([]);
                    continue;
                }
                let responses = op["responses"]
                    .as_object_mut()
                    .expect("every operation lists its responses");
                for (status, answer) in &answers {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| answer.clone());
                }
            }
        }
    }
    doc
}

/// Every documented `(METHOD, path)`, e.g. `("GET", "/api/v1/projects/{id}")`.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "server",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json", body = Object))
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// Liveness: no token, outside the load limit.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "server",
    security(()),
    responses((status = 200, description = "`ok`: the process answers.", content_type = "text/plain", body = String, example = "ok\n"))
)]
pub async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_error_answers_and_all_but_healthz_the_token() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        for (method, path) in operations(&doc) {
            let op = &doc["paths"][&path][method.to_ascii_lowercase()];
            let responses = op["responses"].as_object().unwrap();
            if path == "/healthz" {
                assert_eq!(op["security"], json!([]));
                continue;
            }
            for s in ["401", "500", "503"] {
                assert!(responses.contains_key(s), "{method} {path}: no {s}");
            }
            for (status, r) in responses {
                if status.starts_with(['4', '5']) {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
            assert!(op["operationId"].is_string(), "{method} {path}");
        }
        let mut ids: Vec<&str> = operations(&doc)
            .iter()
            .map(|(m, p)| {
                doc["paths"][p][m.to_ascii_lowercase()]["operationId"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids are unique");
    }
}
