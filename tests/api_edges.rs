//! The API at its edges, through the real server on port 0 (in-process, sim carrier): the
//! `Authorization` scheme in any case, bodies over a route's limit and malformed bodies on
//! every route that takes one (always the `{"error": …}` shape), values the API refuses with
//! 422 (an empty schedule, an overlong name, an unknown `result` filter, JSON scenario type
//! errors with their paths, prompts missing without server paths), the OpenAPI document, and
//! that a client's undecodable prompt never makes the binary log an ERROR.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::{json, Value};
use server::{error_code, root, start, Server, TOKEN};

const SCENARIO: &str = r#"
name = "Опрос"
results = ["Доволен", "Недоволен"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 3 }

[[steps.question.on]]
dtmf = "1"
result = "Доволен"

[[steps.question.on]]
dtmf = "2"
result = "Недоволен"
"#;

/// Stores the prompt and the scenario; answers the scenario's id.
async fn store_scenario(s: &Server, source: &str) -> i64 {
    let wav = std::fs::read(root().join("examples/survey/question.wav")).unwrap();
    let r = s
        .call("PUT", "/api/v1/prompts/question.wav", None, &wav)
        .await;
    assert!(r.status == 201 || r.status == 200, "{}", r.text());
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            source.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_accepted_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = format!("Authorization: {scheme} {TOKEN}");
        let r = s.raw("GET", "/api/v1/projects", &[&auth], b"").await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.text());
    }
    let r = s
        .raw(
            "GET",
            "/api/v1/projects",
            &[&format!("Authorization: Basic {TOKEN}")],
            b"",
        )
        .await;
    assert_eq!((r.status, error_code(&r).as_str()), (401, "unauthorized"));
    s.stop().await;
}
