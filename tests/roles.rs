//! Every API route × every role (docs/users.md, "Roles"): a token made for a user acts with
//! the user's role, and each route answers 403 exactly to the roles that may not use it —
//! read by the route list of the served OpenAPI document, so a new route is covered the day it
//! is added. Ids in paths name nothing (404s are fine): nothing is changed by the sweep.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;

use autoinformer::users::role::api_allows;
use autoinformer::users::Role;
use serde_json::json;
use server::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_its_rules_say() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |_| {}).await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let r = s
            .post_json(
                "/api/v1/users",
                json!({"username": format!("u-{role}"), "password": "пароль-для-теста", "role": role.as_str()}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_i64().unwrap();
        let r = s
            .post_json(
                &format!("/api/v1/users/{id}/tokens"),
                json!({"name": "sweep"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["role"], role.as_str());
        tokens.push((role, r.json()["token"].as_str().unwrap().to_string()));
    }
    let doc = s.get("/api/v1/openapi.json").await.json();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if ops.get(method).is_none() || path == "/healthz" {
                continue;
            }
            // Ids that name nothing; names that are harmless.
            let concrete = path
                .replace("{id}", "987654")
                .replace("{token_id}", "987654")
                .replace("{name}", "sweep-nothing.wav")
                .replace("{number}", "+79990000000");
            let m = method.to_uppercase();
            for (role, token) in &tokens {
                let body: &[u8] = if m == "GET" || m == "DELETE" {
                    b""
                } else {
                    b"{}"
                };
                let ctype = (!body.is_empty()).then_some("application/json");
                let a = http::request(s.addr, &m, &concrete, Some(token), ctype, body).await;
                let allowed = api_allows(*role, &m, path);
                if allowed {
                    assert!(
                        a.status != 403 && a.status != 401,
                        "{role} {m} {path}: {} {}",
                        a.status,
                        a.text()
                    );
                } else {
                    assert_eq!(a.status, 403, "{role} {m} {path}: {}", a.text());
                    assert_eq!(server::error_code(&a), "forbidden");
                }
                checked += 1;
            }
        }
    }
    println!("{checked} route × role answers checked");
    assert!(checked >= 4 * 30, "{checked}");
    // A disabled user's token stops at once.
    let users = s.get("/api/v1/users").await.json();
    let viewer = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "viewer")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{viewer}"),
            Some("application/json"),
            br#"{"disabled": true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let vt = &tokens.iter().find(|(r, _)| *r == Role::Viewer).unwrap().1;
    let a = http::request(s.addr, "GET", "/api/v1/projects", Some(vt), None, b"").await;
    assert_eq!(a.status, 401, "{}", a.text());
    s.stop().await;
}
