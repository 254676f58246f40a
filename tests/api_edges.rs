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

/// Asserts the API's error shape with `status` and `code`.
fn assert_error(r: &http::Answer, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{what}: {}",
        r.text()
    );
    assert_eq!(error_code(r), code, "{what}: {}", r.text());
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!msg.is_empty(), "{what}: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_a_body_answers_oversize_and_malformed_bodies_as_api_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let sc = store_scenario(&s, SCENARIO).await;
    let p = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Края", "scenario_id": sc}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.text());
    let p = p.json()["id"].as_i64().unwrap();
    let auth = format!("Authorization: Bearer {TOKEN}");
    let contacts = format!("/api/v1/projects/{p}/contacts");
    // (method, path, limit, content type, a malformed body, its status and code)
    type Route<'a> = (&'a str, &'a str, usize, &'a str, &'a [u8], u16, &'a str);
    let routes: [Route; 6] = [
        (
            "PUT",
            "/api/v1/prompts/big.wav",
            64 << 20,
            "audio/wav",
            b"RI",
            422,
            "invalid",
        ),
        (
            "POST",
            "/api/v1/scenarios",
            1 << 20,
            "application/toml",
            b"\xff\xfe",
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/projects",
            1 << 20,
            "application/json",
            b"{\"name\":",
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/stop-list",
            16 << 20,
            "application/json",
            b"{\"numbers\": [",
            400,
            "bad_request",
        ),
        (
            "DELETE",
            "/api/v1/stop-list",
            16 << 20,
            "application/json",
            b"{\"numbers\": 5}",
            422,
            "invalid",
        ),
        // The contacts import has its own limit (`import.max_bytes`, 64 KiB here).
        (
            "POST",
            &contacts,
            64 << 10,
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nbroken",
            400,
            "bad_request",
        ),
    ];
    for (method, path, limit, ctype, bad, status, code) in routes {
        let what = format!("{method} {path}");
        let mut big = b"phone\n".to_vec();
        big.resize(limit + 1, b'7');
        let ct = if ctype.starts_with("multipart") {
            "Content-Type: text/csv".to_string()
        } else {
            format!("Content-Type: {ctype}")
        };
        // Announced by Content-Length.
        let len = format!("Content-Length: {}", big.len());
        let r = s.raw(method, path, &[&auth, &ct, &len], &big).await;
        assert_error(&r, 413, "too_large", &format!("{what}, oversize"));
        // Found while reading a chunked body.
        let mut chunked = format!("{:x}\r\n", big.len()).into_bytes();
        chunked.extend_from_slice(&big);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let r = s
            .raw(
                method,
                path,
                &[&auth, &ct, "Transfer-Encoding: chunked"],
                &chunked,
            )
            .await;
        assert_error(&r, 413, "too_large", &format!("{what}, oversize, chunked"));
        let r = s.call(method, path, Some(ctype), bad).await;
        assert_error(&r, status, code, &format!("{what}, malformed"));
    }
    // A method a route does not take.
    let r = s.call("PATCH", "/api/v1/projects", None, b"").await;
    assert_error(&r, 405, "method_not_allowed", "PATCH /projects");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_prompt_is_reported_without_server_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.replace("question.wav", "absent.wav").as_bytes(),
        )
        .await;
    assert_eq!((r.status, error_code(&r).as_str()), (422, "invalid"));
    let text = r.text();
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("\"absent.wav\" is not among the stored or bundled prompts"),
        "{text}"
    );
    for server_path in [
        dir.path().display().to_string(),
        root().join("prompts").display().to_string(),
    ] {
        assert!(!text.contains(&server_path), "{server_path} in {text}");
    }
    let problem = &r.json()["error"]["details"]["problems"][0];
    assert_eq!(
        (problem["step"].as_str(), problem["field"].as_str()),
        (Some("question"), Some("play"))
    );
    assert_eq!(problem["line"], 7, "{problem}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_that_could_never_dial_or_with_an_overlong_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let sc = store_scenario(&s, SCENARIO).await;
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Никогда", "scenario_id": sc, "schedule": []}),
        )
        .await;
    assert_eq!((r.status, error_code(&r).as_str()), (422, "invalid"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the schedule has no windows: the project could never dial"),
        "{}",
        r.text()
    );
    let long = "Я".repeat(30_000);
    let r = s
        .post_json("/api/v1/projects", json!({"name": long, "scenario_id": sc}))
        .await;
    assert_eq!((r.status, error_code(&r).as_str()), (422, "invalid"));
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("at most 200"), "{message}");
    assert!(message.len() < 200, "the name is not echoed: {message}");
    // 200 characters are fine; nothing was created by the refused ones.
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Я".repeat(200), "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let list = s.get("/api/v1/projects").await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    s.stop().await;
}

/// `%`-encodes a query value (UTF-8 bytes).
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_filter_names_a_result_calls_can_have() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let sc = store_scenario(&s, SCENARIO).await;
    let other = store_scenario(
        &s,
        &SCENARIO
            .replace(
                "\"Доволен\", \"Недоволен\"",
                "\"Перезвонить\", \"Недоволен\"",
            )
            .replace("result = \"Доволен\"", "result = \"Перезвонить\""),
    )
    .await;
    let mut projects = Vec::new();
    for (name, scenario) in [("Первый", sc), ("Второй", other)] {
        let r = s
            .post_json(
                "/api/v1/projects",
                json!({"name": name, "scenario_id": scenario}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        projects.push(r.json()["id"].as_i64().unwrap());
    }
    let p = projects[0];
    let r = s.get("/api/v1/calls?result=garbage").await;
    assert_eq!((r.status, error_code(&r).as_str()), (422, "invalid"));
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    for valid in [
        "no_answer",
        "busy",
        "rejected",
        "system",
        "answering_machine",
        "not_listened",
        "queue_abandoned",
        "Доволен",
        "Перезвонить",
    ] {
        assert!(message.contains(valid), "{valid} in {message}");
    }
    assert!(r.json()["error"]["details"]["valid"]
        .as_array()
        .unwrap()
        .contains(&json!("Перезвонить")));
    // Only the project's own scenario results with a project.
    let r = s
        .get(&format!(
            "/api/v1/calls?project_id={p}&result={}",
            enc("Перезвонить")
        ))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s.get("/api/v1/calls?project_id=999&result=busy").await;
    assert_eq!((r.status, error_code(&r).as_str()), (404, "not_found"));
    for ok in [
        format!("/api/v1/calls?result={}", enc("Перезвонить")),
        format!("/api/v1/calls?project_id={p}&result={}", enc("Доволен")),
        format!("/api/v1/calls?project_id={p}&result=busy"),
        "/api/v1/calls?result=queue_abandoned".to_string(),
        "/api/v1/calls".to_string(),
    ] {
        let r = s.get(&ok).await;
        assert_eq!(r.status, 200, "{ok}: {}", r.text());
        assert_eq!(r.json()["items"], json!([]), "{ok}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_has_every_route_and_the_decisions_as_answered() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let doc = s.get("/api/v1/openapi.json").await.json();
    // Every route of `api::router`.
    for (method, path) in [
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/prompts"),
        ("put", "/api/v1/prompts/{name}"),
        ("post", "/api/v1/scenarios"),
        ("get", "/api/v1/scenarios/{id}"),
        ("post", "/api/v1/projects"),
        ("get", "/api/v1/projects"),
        ("get", "/api/v1/projects/{id}"),
        ("post", "/api/v1/projects/{id}/contacts"),
        ("post", "/api/v1/projects/{id}/activate"),
        ("post", "/api/v1/projects/{id}/pause"),
        ("get", "/api/v1/projects/{id}/stats"),
        ("get", "/api/v1/projects/{id}/last-results"),
        ("get", "/api/v1/projects/{id}/decisions"),
        ("get", "/api/v1/projects/{id}/export"),
        ("get", "/api/v1/calls"),
        ("get", "/api/v1/calls/{id}"),
        ("get", "/api/v1/stop-list"),
        ("post", "/api/v1/stop-list"),
        ("delete", "/api/v1/stop-list"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
    }
    let op = &doc["paths"]["/api/v1/projects/{id}/decisions"]["get"];
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["id", "contact_id", "before", "limit"]);
    let page = &op["responses"]["200"]["content"]["application/json"]["schema"];
    // The page is a named schema (the document is generated: docs/api.md).
    let page = match page["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => page,
    };
    let fields = |schema: &Value| -> Vec<String> {
        let mut v: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        page["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Decision"
    );
    let decision = &doc["components"]["schemas"]["Decision"];
    // The real answer has exactly the documented fields: one dial decision of an open project.
    let sc = store_scenario(&s, SCENARIO).await;
    let p = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Решения", "scenario_id": sc, "schedule": ["daily 00:00-24:00"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            b"phone\n+79990000001\n",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let answer = loop {
        let a = s
            .get(&format!("/api/v1/projects/{p}/decisions"))
            .await
            .json();
        if !a["items"].as_array().unwrap().is_empty() {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "no decision: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let mut top: Vec<String> = answer.as_object().unwrap().keys().cloned().collect();
    top.sort();
    assert_eq!(top, fields(page));
    let mut item: Vec<String> = answer["items"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    item.sort();
    assert_eq!(item, fields(decision), "{answer}");
    s.stop().await;
}

#[test]
fn an_undecodable_prompt_is_one_info_line_never_an_error_from_a_decoder() {
    use std::io::{BufRead, Read};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_DEMO", "false")
        .env("AUTOINFORMER_PROMPTS", root().join("prompts"))
        .env("AUTOINFORMER_MODEL", "/nonexistent-model")
        .env("AUTOINFORMER_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let addr: std::net::SocketAddr = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "serve exited early");
        if let Some(a) = line
            .trim()
            .strip_prefix("autoinformer: listening on http://")
        {
            break a.parse().unwrap();
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(http::request(
        addr,
        "PUT",
        "/api/v1/prompts/tiny.wav",
        Some(TOKEN),
        None,
        // Two bytes that start no known format: the decoder's probe reads to the end.
        b"zz",
    ));
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (422, "invalid"),
        "{}",
        r.text()
    );
    // Let the log line be written, then stop the server and read everything it logged.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        !err.contains("ERROR"),
        "an ERROR line for a client's bad file:\n{err}"
    );
    let refused: Vec<&str> = err.lines().filter(|l| l.contains("tiny.wav")).collect();
    assert_eq!(
        refused.len(),
        1,
        "one line about the refused prompt:\n{err}"
    );
    assert!(refused[0].contains("INFO"), "{}", refused[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_scenario_reports_every_type_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let src = r#"{
  "name": "Опрос",
  "results": ["Доволен", 5],
  "start": "offer",
  "steps": {
    "offer": {
      "play": ["question.wav"],
      "listen": {"dtmf": "yes", "wait_s": "5"},
      "on": [{"dtmf": 1, "result": "Доволен"}],
      "colour": "red"
    }
  }
}"#;
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/json"),
            src.as_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (422, "invalid"),
        "{}",
        r.text()
    );
    let e = r.json();
    let got: Vec<(i64, i64, Value, Value)> = e["error"]["details"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_i64().unwrap(),
                p["column"].as_i64().unwrap(),
                p["step"].clone(),
                p["field"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, 26, Value::Null, json!("results[1]")),
            (8, 26, json!("offer"), json!("listen.dtmf")),
            (8, 43, json!("offer"), json!("listen.wait_s")),
            (9, 23, json!("offer"), json!("on[0].dtmf")),
            (10, 7, json!("offer"), Value::Null),
        ],
        "{e}"
    );
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("5 problem(s)"), "{message}");
    assert!(message.contains("unknown field `colour`"), "{message}");
    s.stop().await;
}
