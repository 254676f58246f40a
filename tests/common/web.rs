//! Signing in and using the web UI's pages over plain HTTP, for the web tests: the login form
//! with its CSRF cookie, pages with the session cookie, forms with their fields, the hidden
//! `csrf` field of a page, a project to show. Include it after `http` and `server`:
//! `#[path = "common/web.rs"] mod web;`.
#![allow(dead_code)]
use crate::http;
use crate::server::Server;
use serde_json::json;

pub fn cookie_of(a: &http::Answer, name: &str) -> Option<String> {
    a.cookie(name)
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap_or_default().to_string()
}

pub fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        f.append_pair(k, v);
    }
    f.finish().into_bytes()
}

pub async fn sign_in(s: &Server, user: &str, password: &str) -> String {
    match try_sign_in(s, user, password).await {
        Ok(session) => session,
        Err(a) => panic!("signing in as {user}: {} {}", a.status, a.text()),
    }
}

/// Signs in through the login form: the session cookie, or the answer that refused it.
pub async fn try_sign_in(s: &Server, user: &str, password: &str) -> Result<String, http::Answer> {
    let page = s.raw("GET", "/login", &[], b"").await;
    let csrf = cookie_of(&page, "ai_login_csrf").expect("a login csrf cookie");
    let body = form(&[("username", user), ("password", password), ("csrf", &csrf)]);
    let a = s
        .raw(
            "POST",
            "/login",
            &[
                &format!("Cookie: ai_login_csrf={csrf}"),
                "Content-Type: application/x-www-form-urlencoded",
                &format!("Content-Length: {}", body.len()),
            ],
            &body,
        )
        .await;
    match cookie_of(&a, "ai_session") {
        Some(c) if a.status == 303 => Ok(c),
        _ => Err(a),
    }
}

pub async fn page(s: &Server, path: &str, session: &str) -> http::Answer {
    s.raw(
        "GET",
        path,
        &[&format!("Cookie: ai_session={session}")],
        b"",
    )
    .await
}

pub async fn post_form(
    s: &Server,
    path: &str,
    session: &str,
    fields: &[(&str, &str)],
) -> http::Answer {
    let body = form(fields);
    s.raw(
        "POST",
        path,
        &[
            &format!("Cookie: ai_session={session}"),
            "Content-Type: application/x-www-form-urlencoded",
            &format!("Content-Length: {}", body.len()),
        ],
        &body,
    )
    .await
}

/// A scenario and a project named `name`; answers the project's id.
pub async fn project(s: &Server, name: &str) -> i64 {
    let scenario = "name = \"Опрос\"\nresults = [\"Прослушал\"]\nstart = \"m\"\n\
                    [steps.m]\nplay = [\"transfer/connecting.wav\"]\nresult = \"Прослушал\"\n";
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            scenario.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sc = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json("/api/v1/projects", json!({"name": name, "scenario_id": sc}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}
