//! The API against its own OpenAPI document (docs/api.md, "The OpenAPI document"), on the
//! real server (port 0, the sim carrier, the demo campaign dialing so calls, decisions and
//! last results hold real rows):
//! - every documented operation is routed (its handler answers, not the router's 404 or
//!   405), and every method a documented path does not list is 405 — together with the
//!   document being generated from the same `routes!` lines as the router, the document and
//!   the routes are the same set;
//! - schemathesis (installed by `scripts/setup.sh --test`) runs generated requests, valid
//!   and invalid by the document, against the served document and the live server, with every
//!   check (statuses documented, response schemas and content types, invalid data refused,
//!   valid data accepted, auth enforced, undocumented methods refused), a fixed seed and a
//!   bounded number of examples. Settings: tests/contract/schemathesis.toml.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use serde_json::json;
use server::{error_code, root, start, Server, TOKEN};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The pinned schemathesis (scripts/setup.sh installs this version).
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The schemathesis command: `$SCHEMATHESIS`, the one `scripts/setup.sh --test` installs
/// under `.vendor/`, or one on the `PATH`.
fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("SCHEMATHESIS") {
        return p.into();
    }
    let vendored = root().join(".vendor/schemathesis/bin/schemathesis");
    if vendored.exists() {
        return vendored;
    }
    let on_path = std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return "schemathesis".into();
    }
    panic!(
        "schemathesis is not installed: run `scripts/setup.sh --test` (it installs \
         schemathesis=={SCHEMATHESIS_VERSION} into .vendor/schemathesis), or set SCHEMATHESIS \
         to its path"
    );
}

/// The demo campaign's server, once a few calls have ended (so reports have rows).
async fn seeded(dir: &std::path::Path) -> Server {
    let s = start(dir, |cfg| cfg.demo = true).await;
    let t = Instant::now();
    loop {
        let calls = s.get("/api/v1/calls?limit=5000").await.json();
        let done = calls["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["state"] == "done")
            .count();
        if done >= 3 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the demo campaign ended no calls: {calls}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = s
        .post_json(
            "/api/v1/stop-list",
            json!({"numbers": ["+7 916 123-45-67"], "reason": "просил не звонить"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    s
}

/// A request that reaches the handler of `method path` (the path's parameters filled with
/// values that exist or are at least well-formed), with a body the handler reads and refuses
/// if need be: nothing a probe sends changes the campaign.
async fn probe(s: &Server, method: &str, path: &str) -> http::Answer {
    let path = path
        .replace("{id}", "999999")
        .replace("{name}", "probe.wav");
    let path = if path.ends_with("/export") {
        format!("{path}?report=calls")
    } else {
        path
    };
    // An empty body: refused by every handler that reads one (400 or 422).
    s.call(method, &path, None, b"").await
}

/// Whether an answer is the router's own (no such route, or not that method).
fn from_router(a: &http::Answer) -> bool {
    let code = error_code(a);
    a.status == 405
        || code == "method_not_allowed"
        || (a.status == 404 && a.text().contains("no such route"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_routes_are_the_same_set() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let doc = s.get("/api/v1/openapi.json").await.json();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(m).is_some() {
                documented.push((m.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    assert_eq!(documented.len(), 53, "{documented:?}");
    for (method, path) in &documented {
        let a = probe(&s, method, path).await;
        assert!(
            !from_router(&a),
            "{method} {path} is documented but not routed: {} {}",
            a.status,
            a.text()
        );
        // The handler answered with a status the document lists for it.
        let responses = &doc["paths"][path][method.to_ascii_lowercase()]["responses"];
        assert!(
            responses.get(a.status.to_string()).is_some(),
            "{method} {path} answered {} ({}), which its document does not list",
            a.status,
            a.text()
        );
    }
    // Every method a documented path does not list is refused by the router: no route takes
    // a method the document does not show.
    for path in doc["paths"].as_object().unwrap().keys() {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if documented.iter().any(|(m, p)| m == method && p == path) {
                continue;
            }
            let a = probe(&s, method, path).await;
            assert_eq!(
                (a.status, error_code(&a).as_str()),
                (405, "method_not_allowed"),
                "{method} {path}: {}",
                a.text()
            );
            assert!(
                a.header("allow").is_some(),
                "{method} {path}: no Allow header"
            );
        }
    }
    // Paths outside the document are the router's 404.
    for path in [
        "/api/v1",
        "/api/v1/nothing",
        "/api/v2/projects",
        "/api/v1/projects/1/x",
    ] {
        let a = s.get(path).await;
        assert!(
            from_router(&a) && a.status == 404,
            "{path}: {} {}",
            a.status,
            a.text()
        );
    }
    // `/healthz` needs no token; everything else does.
    for (method, path) in &documented {
        let path = path.replace("{id}", "1").replace("{name}", "x.wav");
        let a = http::request(s.addr, method, &path, None, None, b"").await;
        if path == "/healthz" {
            assert_eq!(a.status, 200);
        } else {
            assert_eq!(
                a.status,
                401,
                "{method} {path} without a token: {}",
                a.text()
            );
        }
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_the_answers_the_document_promises() {
    let st = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path()).await;
    let url = format!("http://{}/api/v1/openapi.json", s.addr);
    let out_path = dir.path().join("schemathesis.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = std::process::Command::new(&st)
        .arg("--config-file")
        .arg(root().join("tests/contract/schemathesis.toml"))
        .arg("--no-color")
        .args(["run", &url])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--checks", "all"])
        .args(["--seed", "1"])
        .args(["--max-examples", "50"])
        // One worker: with two, CPython 3.11's `ast.parse` (which hypothesis calls to describe
        // its filters) races between threads and fails the run with "AST constructor recursion
        // depth mismatch" — a tool error, not a finding.
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120")
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh --test)", st.display()));
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let report = std::fs::read_to_string(&out_path).unwrap_or_default();
    println!("{report}");
    s.stop().await;
    let status = status.expect("schemathesis ran for more than 5 minutes (report above)");
    assert!(
        status.success(),
        "schemathesis found requests whose answers the document does not promise ({status}); \
         its report is above"
    );
    // It ran every operation it selected, and selected them all (a document it could not
    // read would test none).
    let field = |name: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let selected = field("Selected: ");
    let (chosen, all) = selected.split_once('/').unwrap_or(("", "?"));
    assert_eq!(chosen, all, "operations selected (report above)");
    assert_eq!(
        field("Tested: "),
        chosen,
        "operations tested (report above)"
    );
    assert!(chosen.parse::<u32>().is_ok_and(|n| n >= 20), "{selected}");
}
