//! The web UI over HTTP (docs/users.md): pages need a session; the login form's CSRF cookie,
//! wrong passwords, the throttle, the session cookie's flags, logout; forms without their
//! session's CSRF token are refused; the security headers; what users typed is escaped; each
//! role sees what it may. A real browser drives the same pages in `tests/web_browser.rs`.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::{start, Server};
use web::{cookie_of, csrf_field, form, page, post_form};

const PASSWORD: &str = "пароль-админа-1";

/// Signs in; answers the session cookie. The login form's hidden field carries its cookie's
/// CSRF token.
async fn sign_in(s: &Server, user: &str, password: &str) -> Result<String, http::Answer> {
    let page = s.raw("GET", "/login", &[], b"").await;
    let csrf = cookie_of(&page, "ai_login_csrf").expect("a login csrf cookie");
    assert_eq!(csrf_field(&page.text()), csrf);
    web::try_sign_in(s, user, password).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_csrf_throttle_headers_escaping_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;

    // No session: every page goes to the login form.
    let a = s.raw("GET", "/", &[], b"").await;
    assert_eq!(a.status, 303, "{}", a.text());
    assert_eq!(a.header("location"), Some("/login"));
    let login = s.raw("GET", "/login", &[], b"").await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("referrer-policy"), Some("same-origin"));
    assert!(!login.text().contains("<script>"), "no inline script");
    // The page's files are served with their integrity and a year's cache.
    let html = login.text();
    let css = html
        .split("href=\"/static/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let f = s.raw("GET", &format!("/static/{css}"), &[], b"").await;
    assert_eq!(f.status, 200);
    assert!(f
        .header("cache-control")
        .unwrap_or_default()
        .contains("immutable"));
    assert!(html.contains("integrity=\"sha384-"), "{html}");

    // A login without the form's own token is refused; a wrong password is 401.
    let body = form(&[
        ("username", "admin"),
        ("password", PASSWORD),
        ("csrf", "forged"),
    ]);
    let a = s
        .raw(
            "POST",
            "/login",
            &[
                "Cookie: ai_login_csrf=other",
                "Content-Type: application/x-www-form-urlencoded",
                &format!("Content-Length: {}", body.len()),
            ],
            &body,
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.text());
    let a = sign_in(&s, "admin", "not the password").await.unwrap_err();
    assert_eq!(a.status, 401, "{}", a.text());
    assert!(a.text().contains("Неверное имя пользователя или пароль"));

    // The right password: a session cookie, HttpOnly and SameSite=Lax.
    let session = sign_in(&s, "admin", PASSWORD).await.expect("signed in");
    let page_ = page(&s, "/", &session).await;
    assert_eq!(page_.status, 200, "{}", page_.text());
    assert!(page_.text().contains("Проекты"));

    // What users type is escaped: a project named like a script.
    let scenario = "name = \"<b>Опрос</b>\"\nresults = [\"Прослушал\"]\nstart = \"m\"\n\
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
    let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let r = s
        .post_json("/api/v1/projects", json!({"name": evil, "scenario_id": sc}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    let html = page(&s, "/", &session).await.text();
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );

    // A form without the session's token is refused and changes nothing.
    let a = post_form(
        &s,
        &format!("/projects/{p}/activate"),
        &session,
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    let a = post_form(&s, &format!("/projects/{p}/activate"), &session, &[]).await;
    assert_eq!(a.status, 403, "{}", a.text());
    // With it: a project without contacts cannot start, and the page says why.
    let csrf = csrf_field(&html);
    let a = post_form(
        &s,
        &format!("/projects/{p}/activate"),
        &session,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(a.text().contains("class=\"alert\""), "{}", a.text());

    // A viewer reads the projects page without the buttons and is refused a change.
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "Вера", "password": "вера-пароль", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let viewer = sign_in(&s, "вера", "вера-пароль")
        .await
        .expect("the viewer signs in");
    let html = page(&s, "/", &viewer).await.text();
    assert!(
        html.contains("наблюдатель") && !html.contains("Запустить"),
        "{html}"
    );
    let vcsrf = csrf_field(&html);
    let a = post_form(
        &s,
        &format!("/projects/{p}/pause"),
        &viewer,
        &[("csrf", &vcsrf)],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    assert!(a.text().contains("Нет доступа"), "{}", a.text());

    // Logout ends the session: the cookie no longer opens a page.
    let a = post_form(&s, "/logout", &session, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, 303);
    let a = page(&s, "/", &session).await;
    assert_eq!(a.status, 303, "the old session is gone");

    // Five failures a minute for a user (one above, four here), then even the right password
    // waits.
    for _ in 0..4 {
        let a = sign_in(&s, "admin", "wrong-wrong").await.unwrap_err();
        assert_eq!(a.status, 401);
    }
    let a = sign_in(&s, "admin", PASSWORD).await.unwrap_err();
    assert_eq!(a.status, 429, "{}", a.text());
    assert!(a.text().contains("Слишком много"), "{}", a.text());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_makes_admin_with_a_password_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    // No admin_password: one is generated; the given one works instead when set.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = autoinformer::config::Config {
        data: dir.path().to_path_buf(),
        prompts: server::root().join("prompts"),
        model: dir.path().join("no-model"),
        demo: false,
        admin_token: Secret(server::TOKEN.into()),
        ..Default::default()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(autoinformer::server::run(
        cfg.clone(),
        listener,
        stop.clone(),
        move |s| {
            let _ = tx.send(s.generated_password.clone());
        },
    ));
    let generated = rx.await.unwrap().expect("a generated password");
    assert!(generated.len() >= 16, "{generated}");
    stop.cancel();
    task.await.unwrap().unwrap();
    // The second start prints nothing: the user exists.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(autoinformer::server::run(
        cfg,
        listener,
        stop.clone(),
        move |s| {
            let _ = tx.send(s.generated_password.clone());
        },
    ));
    assert_eq!(rx.await.unwrap(), None);
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_an_agent_user_at_a_simulated_agents_desk() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.demo = true;
        c.admin_password = Secret(PASSWORD.into());
    })
    .await;
    let password = s
        .started
        .demo_desk_password
        .clone()
        .expect("the demo's agent user and its password, shown once");
    let users = s.get("/api/v1/users").await.json();
    let operator = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == autoinformer::server::DEMO_DESK_USER)
        .cloned()
        .unwrap_or_else(|| panic!("{users}"));
    assert_eq!(operator["role"], "agent", "{operator}");
    let agent = operator["agent_id"].as_i64().expect("bound to an agent");
    let a = s.get(&format!("/api/v1/agents/{agent}")).await.json();
    assert_eq!(a["kind"], "sim", "{a}");
    let session = sign_in(&s, autoinformer::server::DEMO_DESK_USER, &password)
        .await
        .unwrap_or_else(|a| panic!("signing in: {}", a.text()));
    let desk = page(&s, "/desk", &session).await;
    assert_eq!(desk.status, 200, "{}", desk.text());
    assert!(
        desk.text().contains("Оператор-симулятор 1"),
        "{}",
        desk.text()
    );
    assert_eq!(
        page(&s, "/", &session).await.status,
        303,
        "an agent's home is the desk"
    );
    s.stop().await;
    // A restart makes no second user and shows no password.
    let s = start(dir.path(), |c| {
        c.demo = true;
        c.admin_password = Secret(PASSWORD.into());
    })
    .await;
    assert_eq!(s.started.demo_desk_password, None);
    s.stop().await;
}
