//! The admin pages over HTTP (docs/users.md): the import page streams a file with bad rows —
//! its progress readable while it streams, then the refused values listed and all of them in
//! the CSV — and refuses a file too large with a message; the stop list (add a pasted list,
//! search by the start of a number, remove); users (create, change the role) and API tokens
//! (made in /account, shown once, working as a Bearer token, revoked → 401); each role sees
//! only its pages, forged CSRF is refused on every form; names like `<script>` are escaped on
//! every page; the agents page and the settings page (SMSC's balance from a fake SMSC).
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/smsc.rs"]
mod smsc;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::{start, Server};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use web::{csrf_field, page, post_form, project, sign_in};

const PASSWORD: &str = "пароль-админа-1";
const EVIL: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";

const BOUNDARY: &str = "----autoinformer-test-boundary";

/// A multipart form: the session's token, then the file.
fn multipart(csrf: &str, file: &[u8]) -> (Vec<u8>, usize) {
    let mut b = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"база.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    let file_at = b.len();
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (b, file_at)
}

/// Sends an import form announcing `length` bytes (htmx's request when `htmx`).
async fn post_multipart(
    s: &Server,
    action: &str,
    session: &str,
    body: &[u8],
    length: usize,
    htmx: bool,
) -> http::Answer {
    let cookie = format!("Cookie: ai_session={session}");
    let ctype = format!("Content-Type: multipart/form-data; boundary={BOUNDARY}");
    let length = format!("Content-Length: {length}");
    let mut headers = vec![cookie.as_str(), ctype.as_str(), length.as_str()];
    if htmx {
        headers.push("HX-Request: true");
    }
    s.raw("POST", action, &headers, body).await
}

/// The import form's address (`/projects/{id}/import?upload=KEY`) and its CSRF token.
async fn import_form(s: &Server, p: i64, session: &str) -> (String, String) {
    let html = page(s, &format!("/projects/{p}/import"), session).await;
    assert_eq!(html.status, 200, "{}", html.text());
    let html = html.text();
    let at = html.find("action=\"/projects/").expect("the form's action") + 8;
    let action = html[at..].split('"').next().unwrap().to_string();
    (action, csrf_field(&html))
}

/// 40,000 rows, every 100th without a number and every 250th not a phone number (HTML in
/// it), every 500th the number of the row before: the file, the refused values and the
/// duplicates.
fn big_csv() -> (Vec<u8>, u64, u64) {
    let mut csv = String::from("ФИО;Телефон;Лицевой счёт\n");
    let (mut bad, mut dups) = (0, 0);
    for i in 0..40_000u32 {
        if i % 250 == 7 {
            csv.push_str(&format!(
                "Абонент {i};<img src=x{i} onerror=alert(1)>;{i}\n"
            ));
            bad += 1;
        } else if i % 100 == 3 {
            csv.push_str(&format!("Абонент {i};;{i}\n"));
            bad += 1;
        } else if i % 500 == 11 {
            csv.push_str(&format!("Повтор {i};+7999{:07};{i}\n", i - 1));
            dups += 1;
        } else {
            csv.push_str(&format!("Абонент {i};+7999{:07};{i}\n", i));
        }
    }
    (csv.into_bytes(), bad, dups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_page_shows_progress_then_every_refused_value_and_refuses_big_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.admin_password = Secret(PASSWORD.into());
        c.import.max_bytes = 8 << 20;
    })
    .await;
    let p = project(&s, "Показания").await;
    let admin = sign_in(&s, "admin", PASSWORD).await;
    let html = page(&s, &format!("/projects/{p}/import"), &admin)
        .await
        .text();
    assert!(html.contains("ещё ничего не импортировали"), "{html}");
    assert!(html.contains("data-max-bytes=\"8388608\""), "{html}");

    // Half the file, then a pause: the page's poll sees the import running with rows read.
    let (action, csrf) = import_form(&s, p, &admin).await;
    let key = action.split("upload=").nth(1).unwrap().to_string();
    let (file, bad, dups) = big_csv();
    let (body, file_at) = multipart(&csrf, &file);
    let half = file_at + file.len() / 2;
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST {action} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: ai_session={admin}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        s.addr,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..half]).await.unwrap();
    let status_path = format!("/projects/{p}/import/status?upload={key}");
    let t = Instant::now();
    let running = loop {
        let st = page(&s, &status_path, &admin).await;
        assert_eq!(st.status, 200, "{}", st.text());
        let text = st.text();
        if text.contains("data-phase=\"running\"") && !text.contains("id=\"import-rows\">0<") {
            break text;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no progress seen while the file streams: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(running.contains("<progress"), "{running}");
    assert!(
        running.contains("hx-trigger=\"load delay:700ms\""),
        "{running}"
    );
    // The rest: the answer is the finished import.
    conn.write_all(&body[half..]).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let done = http::parse(&raw);
    assert_eq!(done.status, 200, "{}", done.text());
    let html = done.text();
    assert!(html.contains("Импорт завершён"), "{html}");
    assert!(html.contains("Отклонённые значения"), "{html}");
    assert!(!html.contains("<img src=x"), "values are escaped: {html}");
    assert!(
        html.contains("&#60;img src=x7 onerror=alert(1)&#62;"),
        "{html}"
    );
    assert!(html.contains("в строке нет номера"), "{html}");
    let listed = html.matches("<tr><td class=\"num\">").count();
    assert_eq!(listed, 100, "the first 100 on the page");
    // The poll now says the same and stops polling.
    let st = page(&s, &status_path, &admin).await.text();
    assert!(st.contains("data-phase=\"done\""), "{st}");
    assert!(!st.contains("hx-trigger"), "{st}");
    let rejected_cell = format!("id=\"import-rejected\">{}<", bad);
    assert!(st.contains(&rejected_cell), "{rejected_cell} in {st}");
    // The whole list as a CSV: every refused value, in file order.
    let href = st
        .split("id=\"import-csv\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the CSV link")
        .to_string();
    let csv = page(&s, &href, &admin).await;
    assert_eq!(csv.status, 200);
    assert!(csv
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(
        lines.len() as u64,
        bad + 1,
        "a header and every refused value"
    );
    assert!(lines[0].contains("Строка;Значение;Причина"), "{}", lines[0]);
    assert!(lines[1].starts_with("5;;"), "{}", lines[1]);
    assert!(
        text.contains("<img src=x7 onerror=alert(1)>"),
        "the CSV keeps the value"
    );
    // The API sees the imported contacts (duplicates merged).
    let stats = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    let not_called = stats["contacts"]["not_called"].as_u64().unwrap();
    assert_eq!(not_called, 40_000 - bad - dups, "{stats}");
    let dup_cell = format!("id=\"import-duplicates\">{dups}<");
    assert!(st.contains(&dup_cell), "{dup_cell} in {st}");

    // A file over the limit: refused before it is read, with a message, on the page and in
    // the poll of its upload.
    let (action, csrf) = import_form(&s, p, &admin).await;
    let key = action.split("upload=").nth(1).unwrap().to_string();
    let (small, _) = multipart(&csrf, b"x");
    let a = post_multipart(&s, &action, &admin, &small, 9 << 20, false).await;
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.text().contains("Файл больше 8 МБ"), "{}", a.text());
    let st = page(
        &s,
        &format!("/projects/{p}/import/status?upload={key}"),
        &admin,
    )
    .await
    .text();
    assert!(st.contains("Файл больше 8 МБ"), "{st}");
    // A file without a phone column: the reason on the page, nothing imported.
    let (action, csrf) = import_form(&s, p, &admin).await;
    let (body, _) = multipart(&csrf, "Имя;Город\nИван;Пермь\n".as_bytes());
    let a = post_multipart(&s, &action, &admin, &body, body.len(), true).await;
    assert_eq!(a.status, 200, "htmx gets the part: {}", a.text());
    assert!(a.text().contains("нет колонки с телефоном"), "{}", a.text());
    // A forged token: refused, nothing read.
    let (action, _) = import_form(&s, p, &admin).await;
    let (body, _) = multipart("forged", b"\xd0\xa2\xd0\xb5\xd0\xbb\n+79991234567\n");
    let a = post_multipart(&s, &action, &admin, &body, body.len(), false).await;
    assert_eq!(a.status, 403, "{}", a.text());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_list_users_tokens_roles_csrf_and_escaping() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.admin_password = Secret(PASSWORD.into());
        c.agents.sim.count = 1;
    })
    .await;
    let p = project(&s, EVIL).await;
    let admin = sign_in(&s, "admin", PASSWORD).await;

    // The stop list: a pasted list, one value not a number.
    let html = page(&s, "/stop-list", &admin).await.text();
    assert!(html.contains("Стоп-лист пуст"), "{html}");
    let csrf = csrf_field(&html);
    let a = post_form(
        &s,
        "/stop-list",
        &admin,
        &[
            ("csrf", &csrf),
            (
                "numbers",
                "8 (912) 345-67-89\n+79123450000, 89991112233\nне номер",
            ),
            ("reason", EVIL),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let html = a.text();
    assert!(html.contains("добавлено номеров: 3"), "{html}");
    assert!(html.contains("не номер телефона"), "{html}");
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    let listed = s.get("/api/v1/stop-list").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    // Found by the start of the number in any spelling.
    let found = page(&s, "/stop-list?q=8912345", &admin).await.text();
    assert!(found.contains("+79123456789") && found.contains("+79123450000"));
    assert!(!found.contains("+79991112233"), "{found}");
    let none = page(&s, "/stop-list?q=8495", &admin).await.text();
    assert!(none.contains("Таких номеров в стоп-листе нет"), "{none}");
    // Removed.
    let a = post_form(
        &s,
        "/stop-list/remove",
        &admin,
        &[("csrf", &csrf), ("number", "+79123450000"), ("q", "8912")],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let back = a.header("location").unwrap_or_default().to_string();
    assert!(
        back.starts_with("/stop-list?removed=%2B79123450000"),
        "{back}"
    );
    let html = page(&s, &back, &admin).await.text();
    assert!(html.contains("убран из стоп-листа") && !html.contains("data-number=\"+79123450000\""));

    // Users: an agent's user needs the agent; a name taken in another case is refused.
    let agents = s.get("/api/v1/agents").await.json();
    let agent_id = agents["items"][0]["id"].as_i64().unwrap().to_string();
    let html = page(&s, "/users", &admin).await.text();
    let csrf = csrf_field(&html);
    let a = post_form(
        &s,
        "/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "anna"),
            ("password", "пароль-анны"),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("Выберите оператора"), "{}", a.text());
    for (name, pw, role, agent) in [
        ("anna", "пароль-анны", "agent", agent_id.as_str()),
        ("vera", "пароль-веры", "viewer", ""),
        ("max", "пароль-макса", "viewer", ""),
        (EVIL, "пароль-злодея", "viewer", ""),
    ] {
        let a = post_form(
            &s,
            "/users",
            &admin,
            &[
                ("csrf", &csrf),
                ("username", name),
                ("password", pw),
                ("role", role),
                ("agent_id", agent),
            ],
        )
        .await;
        assert_eq!(a.status, 303, "{name}: {}", a.text());
    }
    let a = post_form(
        &s,
        "/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "VERA"),
            ("password", "пароль-123"),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("Пользователь с таким именем уже есть"));
    let a = post_form(
        &s,
        "/users",
        &admin,
        &[
            ("csrf", &csrf),
            ("username", "short"),
            ("password", "123"),
            ("role", "viewer"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("не короче 8 символов"), "{}", a.text());
    let users = s.get("/api/v1/users").await.json();
    let id_of = |n: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == n)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let max = id_of("max");
    // max becomes a manager; the last admin cannot stop being one.
    let a = post_form(
        &s,
        &format!("/users/{max}"),
        &admin,
        &[
            ("csrf", &csrf),
            ("role", "manager"),
            ("password", ""),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    // anna works as another agent from now on: the page sets it, her sessions end; a user who
    // stops being an agent keeps none; only an agent user works as one (API).
    let anna = id_of("anna");
    let r = s
        .post_json(
            "/api/v1/agents",
            json!({"name": "Ольга Вторая", "sip_user": "olga2", "password": "секрет-ольги"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let second = r.json()["id"].as_i64().unwrap();
    let anna_session = sign_in(&s, "anna", "пароль-анны").await;
    assert_eq!(page(&s, "/desk", &anna_session).await.status, 200);
    let html = page(&s, &format!("/users/{anna}"), &admin).await.text();
    assert!(
        html.contains(&format!("<option value=\"{agent_id}\" selected>")),
        "{html}"
    );
    let a = post_form(
        &s,
        &format!("/users/{anna}"),
        &admin,
        &[
            ("csrf", &csrf),
            ("role", "agent"),
            ("agent_id", &second.to_string()),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let u = s.get("/api/v1/users").await.json();
    let row = |u: &serde_json::Value, id: i64| {
        u["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&u, anna)["agent_id"], second, "{u}");
    assert_ne!(
        page(&s, "/desk", &anna_session).await.status,
        200,
        "a new agent signs anna out"
    );
    let anna_session = sign_in(&s, "anna", "пароль-анны").await;
    let desk = page(&s, "/desk", &anna_session).await.text();
    assert!(desk.contains("Ольга Вторая"), "{desk}");
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{anna}"),
            Some("application/json"),
            br#"{"agent_id": 987654}"#,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{}", id_of("vera")),
            Some("application/json"),
            format!("{{\"agent_id\": {second}}}").as_bytes(),
        )
        .await;
    assert_eq!(
        r.status,
        422,
        "only an agent user works as an agent: {}",
        r.text()
    );
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{anna}"),
            Some("application/json"),
            br#"{"role": "viewer"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["agent_id"],
        serde_json::Value::Null,
        "{}",
        r.text()
    );
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/users/{anna}"),
            Some("application/json"),
            format!("{{\"role\": \"agent\", \"agent_id\": {agent_id}}}").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["agent_id"].to_string(), agent_id, "{}", r.text());
    let a = post_form(
        &s,
        &format!("/users/{}", id_of("admin")),
        &admin,
        &[("csrf", &csrf), ("role", "viewer"), ("enabled", "on")],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("последний администратор"), "{}", a.text());
    let html = page(&s, "/users", &admin).await.text();
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    assert!(html.contains("&#60;script&#62;alert(1)"), "{html}");

    // Tokens: made in /account, shown once, a Bearer token with the user's role, revoked.
    let manager = sign_in(&s, "max", "пароль-макса").await;
    let html = page(&s, "/account", &manager).await.text();
    assert!(html.contains("Токенов нет"), "{html}");
    let mcsrf = csrf_field(&html);
    let a = post_form(
        &s,
        "/account/tokens",
        &manager,
        &[("csrf", &mcsrf), ("name", EVIL)],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let html = a.text();
    assert!(!html.contains("<script>alert"), "{html}");
    let token = html
        .split("id=\"new-token-value\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the token, once")
        .to_string();
    let again = page(&s, "/account", &manager).await.text();
    assert!(!again.contains(&token), "shown once only");
    let r = http::request(s.addr, "GET", "/api/v1/projects", Some(&token), None, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = http::request(s.addr, "GET", "/api/v1/users", Some(&token), None, b"").await;
    assert_eq!(r.status, 403, "a manager's token: {}", r.text());
    let tid = again
        .split("data-token=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    // Another user cannot revoke it; its owner can.
    let vera = sign_in(&s, "vera", "пароль-веры").await;
    let vcsrf = csrf_field(&page(&s, "/account", &vera).await.text());
    let a = post_form(
        &s,
        &format!("/account/tokens/{tid}/revoke"),
        &vera,
        &[("csrf", &vcsrf)],
    )
    .await;
    assert_eq!(a.status, 404);
    let a = post_form(
        &s,
        &format!("/account/tokens/{tid}/revoke"),
        &manager,
        &[("csrf", &mcsrf)],
    )
    .await;
    assert_eq!(a.status, 303);
    let r = http::request(s.addr, "GET", "/api/v1/projects", Some(&token), None, b"").await;
    assert_eq!(r.status, 401, "revoked: {}", r.text());
    // The admin makes one for vera on her page.
    let a = post_form(
        &s,
        &format!("/users/{}/tokens", id_of("vera")),
        &admin,
        &[("csrf", &csrf), ("name", "отчёты")],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().contains("id=\"new-token-value\""));

    // Roles: the viewer reads the stop list but changes nothing and sees no admin page; the
    // manager has no users or settings; the agent only the desk and the account.
    let agent = sign_in(&s, "anna", "пароль-анны").await;
    let import = format!("/projects/{p}/import");
    for (who, session, path, want) in [
        ("viewer", &vera, "/stop-list", 200),
        ("viewer", &vera, "/agents", 403),
        ("viewer", &vera, import.as_str(), 403),
        ("viewer", &vera, "/users", 403),
        ("viewer", &vera, "/settings", 403),
        ("viewer", &vera, "/account", 200),
        ("manager", &manager, "/agents", 200),
        ("manager", &manager, import.as_str(), 200),
        ("manager", &manager, "/users", 403),
        ("manager", &manager, "/users/1", 403),
        ("manager", &manager, "/settings", 403),
        ("agent", &agent, "/stop-list", 403),
        ("agent", &agent, "/agents", 403),
        ("agent", &agent, import.as_str(), 403),
        ("agent", &agent, "/users", 403),
        ("agent", &agent, "/settings", 403),
        ("agent", &agent, "/account", 200),
    ] {
        let a = page(&s, path, session).await;
        assert_eq!(a.status, want, "{who} {path}: {}", a.text());
    }
    let a = post_form(
        &s,
        "/stop-list",
        &vera,
        &[("csrf", &vcsrf), ("numbers", "89121112233")],
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text());
    let html = page(&s, "/stop-list", &vera).await.text();
    assert!(
        !html.contains("Убрать") && !html.contains("id=\"stop-add\""),
        "{html}"
    );
    let nav = page(&s, "/account", &agent).await.text();
    assert!(
        nav.contains("/desk") && !nav.contains("href=\"/stop-list\""),
        "{nav}"
    );
    let nav = page(&s, "/agents", &manager).await.text();
    assert!(
        nav.contains("href=\"/stop-list\"") && !nav.contains("href=\"/users\""),
        "{nav}"
    );
    // The project's and the user's names on every page that shows them, escaped.
    let evil_user = format!("/users/{}", id_of(EVIL));
    for (path, session) in [
        ("/agents", &manager),
        (import.as_str(), &manager),
        (evil_user.as_str(), &admin),
        ("/stop-list", &vera),
    ] {
        let html = page(&s, path, session).await.text();
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x"),
            "{path}: {html}"
        );
        assert!(html.contains("&#60;script&#62;alert(1)"), "{path}: {html}");
    }
    // No session: the login form.
    let a = s.raw("GET", "/settings", &[], b"").await;
    assert_eq!(a.header("location"), Some("/login"));

    // Forged or missing CSRF on every form of these pages: 403, nothing done.
    for path in [
        "/stop-list".to_string(),
        "/stop-list/remove".into(),
        "/agents".into(),
        "/agents/1".into(),
        "/users".into(),
        format!("/users/{max}"),
        format!("/users/{max}/delete"),
        format!("/users/{max}/tokens"),
        format!("/users/{max}/tokens/1/revoke"),
        "/account/tokens".into(),
        "/account/tokens/1/revoke".into(),
    ] {
        for fields in [
            &[("csrf", "forged"), ("name", "x")][..],
            &[("name", "x")][..],
        ] {
            let a = post_form(&s, &path, &admin, fields).await;
            assert_eq!(a.status, 403, "{path}: {}", a.text());
        }
    }
    let users = s.get("/api/v1/users").await.json();
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        5,
        "nothing changed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_and_settings_pages() {
    let fake = smsc::FakeSmsc::start("robot", "секрет").await;
    let dir = tempfile::tempdir().unwrap();
    let url = fake.url();
    let s = start(dir.path(), move |c| {
        c.admin_password = Secret(PASSWORD.into());
        c.agents.sim.count = 2;
        c.sms.smsc.url = url;
        c.sms.smsc.login = "robot".into();
        c.sms.smsc.password = Secret("секрет".into());
    })
    .await;
    let p = project(&s, "Перезвон").await;
    let admin = sign_in(&s, "admin", PASSWORD).await;

    // The agents with their states; the table part alone for the poll.
    let html = page(&s, "/agents", &admin).await.text();
    assert!(
        html.contains("sim-1") && html.contains("симулятор"),
        "{html}"
    );
    assert!(html.contains("hx-get=\"/agents/table\""), "{html}");
    let part = page(&s, "/agents/table", &admin).await;
    assert_eq!(part.status, 200);
    assert!(!part.text().contains("<html"), "a part");
    let csrf = csrf_field(&html);
    // A new agent: the API's checks, in Russian, next to the field.
    let box_ = format!("p_{p}");
    let a = post_form(
        &s,
        "/agents",
        &admin,
        &[
            ("csrf", &csrf),
            ("name", EVIL),
            ("sip_user", "bad user"),
            ("password", "x"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.text());
    assert!(
        a.text().contains("SIP-логин: от 1 до 64 символов"),
        "{}",
        a.text()
    );
    let a = post_form(
        &s,
        "/agents",
        &admin,
        &[("csrf", &csrf), ("name", EVIL), ("sip_user", "101")],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.text().contains("нужен пароль"), "{}", a.text());
    let a = post_form(
        &s,
        "/agents",
        &admin,
        &[
            ("csrf", &csrf),
            ("name", EVIL),
            ("sip_user", "101"),
            ("password", "sip-пароль"),
            ("enabled", "on"),
            (&box_, "on"),
        ],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let a = post_form(
        &s,
        "/agents",
        &admin,
        &[
            ("csrf", &csrf),
            ("name", "Ещё"),
            ("sip_user", "101"),
            ("password", "sip-пароль"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(
        a.text().contains("с таким SIP-логином уже есть"),
        "{}",
        a.text()
    );
    let agents = s.get("/api/v1/agents").await.json();
    let new = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["sip_user"] == "101")
        .unwrap()
        .clone();
    assert_eq!(new["projects"], json!([p]), "{new}");
    let id = new["id"].as_i64().unwrap();
    let html = page(&s, "/agents", &admin).await.text();
    assert!(
        !html.contains("<script>alert") && !html.contains("<img src=x"),
        "{html}"
    );
    assert!(
        html.contains("Перезвон"),
        "the queue of the project it serves: {html}"
    );
    // Changed: renamed, taken off the project, the password kept.
    let edit = page(&s, &format!("/agents/{id}"), &admin).await.text();
    assert!(!edit.contains("<script>alert"), "{edit}");
    let a = post_form(
        &s,
        &format!("/agents/{id}"),
        &admin,
        &[
            ("csrf", &csrf),
            ("name", "Ольга"),
            ("sip_user", "101"),
            ("password", ""),
            ("uri", ""),
        ],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.text());
    let a = s.get(&format!("/api/v1/agents/{id}")).await.json();
    assert_eq!(a["name"], "Ольга");
    assert_eq!(a["enabled"], false, "the box was not ticked");
    assert_eq!(a["has_password"], true);
    assert_eq!(a["projects"], json!([]));

    // Settings: the sim carrier, SMSC with its balance, no model and how to get one, counts.
    let html = page(&s, "/settings", &admin).await;
    assert_eq!(html.status, 200, "{}", html.text());
    let html = html.text();
    for want in [
        "симулятор оператора",
        "10000,00 ₽",
        "robot",
        "scripts/fetch-model.sh",
        "autoinformer ",
        dir.path().to_str().unwrap(),
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }
    assert!(!html.contains("секрет"), "never the password");
    // Asked once, then kept.
    let _ = page(&s, "/settings", &admin).await;
    let asked = fake
        .log()
        .iter()
        .filter(|(p, _)| p == "balance.php")
        .count();
    assert_eq!(asked, 1, "the balance is kept a while");
    s.stop().await;
}
