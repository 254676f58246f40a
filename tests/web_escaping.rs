//! Text from users and callers stays text on every page of the web UI (docs/users.md, "The web
//! UI"). Markup like `<script>alert(N)</script>` and `"><img src=x onerror=alert(N)>` goes into
//! every field a user or a caller can fill — scenario name, result and step names, project and
//! callback project names, the dispositions, contact names and fields, an agent's name and SIP
//! user, a user name, a stop-list reason, a token's name, a transcript, an agent's note — then
//! calls are made on the sim carrier, and a crawler signed in as the admin follows every link
//! and htmx request of the UI from its first page. No page may hold the markup raw, and every
//! planted text must be found, escaped, on some page (so the crawl reached them all). Forms
//! shown again with their errors escape what was typed, and a scenario's problems escape the
//! names they quote.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use serde_json::json;
use server::{start, Server};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};
use web::{csrf_field, page, post_form, sign_in};

const PASSWORD: &str = "пароль-админа-1";

/// The markup planted in field `n`: a script and an attribute break-out.
fn evil(n: u32) -> String {
    format!("<script>alert({n})</script>\"><img src=x onerror=alert({n})>")
}

/// Markup that must never reach a page raw.
const RAW: [&str; 4] = ["<script>alert", "<img src=x", "\"><img", "'onmouseover"];

/// Links and htmx requests of a page that stay on the server, unescaped.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "hx-get=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let Some(v) = part.split('"').next() else {
                continue;
            };
            let v = v
                .replace("&amp;", "&")
                .replace("&#38;", "&")
                .replace("&#x2f;", "/")
                .replace("&#47;", "/")
                .replace("&#x3d;", "=")
                .replace("&#61;", "=");
            if v.starts_with('/') && !v.starts_with("//") {
                out.push(v);
            }
        }
    }
    out
}

/// Whether the crawler leaves `path` alone: streams, media, files and the assets.
fn skipped(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or(path);
    p.ends_with("/live")
        || p.ends_with("/recording")
        || p.ends_with("/export")
        || p.starts_with("/static/")
        || p.starts_with("/prompts/audio")
        || p.starts_with("/api/")
        || p.ends_with(".csv")
}

/// Every page reachable from `/` as `session`: path → HTML, for answers that are HTML.
async fn crawl(s: &Server, session: &str, extra: &[String]) -> BTreeMap<String, String> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from(vec!["/".to_string()]);
    queue.extend(extra.iter().cloned());
    let mut pages = BTreeMap::new();
    while let Some(path) = queue.pop_front() {
        if skipped(&path) || !seen.insert(path.clone()) {
            continue;
        }
        assert!(seen.len() < 600, "the crawl goes on forever: {seen:?}");
        let a = page(s, &path, session).await;
        assert!(
            a.status == 200 || a.status == 404,
            "{path}: {} {}",
            a.status,
            a.text()
        );
        let html_type = a
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/html"));
        if a.status != 200 || !html_type {
            continue;
        }
        let html = a.text();
        queue.extend(links(&html));
        pages.insert(path, html);
    }
    pages
}

fn assert_no_raw(path: &str, html: &str) {
    for raw in RAW {
        if let Some(at) = html.find(raw) {
            let from = html[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            let to = (at + 200).min(html.len());
            let to = (to..html.len())
                .find(|&i| html.is_char_boundary(i))
                .unwrap_or(html.len());
            panic!("{path} holds {raw:?} raw: …{}…", &html[from..to]);
        }
    }
}

async fn scenario(s: &Server) -> i64 {
    let toml = format!(
        "name = {name:?}\nresults = [{result:?}, \"Недоволен\"]\nstart = {step:?}\n\
         [steps.{step:?}]\nplay = [\"transfer/connecting.wav\"]\nlisten = {{ dtmf = true, wait_s = 4 }}\n\
         [[steps.{step:?}.on]]\ndtmf = \"1\"\nresult = {result:?}\n\
         [[steps.{step:?}.on]]\ndtmf = \"2\"\nresult = \"Недоволен\"\n",
        name = evil(1),
        result = evil(2),
        step = evil(3),
    );
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            toml.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_every_field_stays_text_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| c.admin_password = Secret(PASSWORD.into())).await;
    let sc = scenario(&s).await;
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": evil(4), "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let callback = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({
                "name": evil(5), "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 5,
                "callback_project_id": callback,
                "transfer": {"dispositions": [evil(6), "Отказ"]},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    // Twelve contacts, by the sim carrier's last digit (docs/telephony.md): some press 1, some
    // 2, some say «да» or nothing, some are busy or off; none rings out (a quick test).
    let mut csv = String::from("ФИО;Телефон;Комментарий\n");
    for (i, digit) in [5, 6, 7, 8, 9, 1, 2, 3, 5, 6, 5, 9].into_iter().enumerate() {
        let field = evil(8).replace('"', "\"\"");
        csv += &format!(
            "\"{} {i}\";+799941{i:04}{digit};\"{field}\"\n",
            evil(7).replace('"', "\"\"")
        );
    }
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["imported"], 12, "{}", r.text());

    let r = s
        .post_json(
            "/api/v1/agents",
            json!({"name": evil(9), "sip_user": "a'onmouseover=alert(10)'", "password": "секрет-агента"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": evil(11), "password": "пароль-зрителя", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let viewer = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            &format!("/api/v1/users/{viewer}/tokens"),
            json!({"name": evil(12)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .post_json(
            "/api/v1/stop-list",
            json!({"numbers": ["+79994109999"], "reason": evil(13)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The campaign runs to its end on the sim carrier.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = Instant::now();
    let calls = loop {
        let v = s.get(&format!("/api/v1/calls?project_id={p}")).await.json();
        let items = v["items"].as_array().cloned().unwrap_or_default();
        // Every contact's first call ended (retries wait for their interval).
        if items.len() >= 12 && items.iter().all(|c| c["state"] == "done") {
            break items;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the calls did not end: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        calls.iter().any(|c| c["result"] == evil(2)),
        "someone pressed 1: {calls:?}"
    );

    // What a caller said and what an agent wrote, as the store keeps them after a call.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("autoinformer.db").display()
    ))
    .await
    .unwrap();
    let call = calls[0]["id"].as_i64().unwrap();
    sqlx::query(
        "UPDATE calls SET transcript = ?, disposition = ?, note = ?, wrapped_up_at_ms = 1 WHERE id = ?",
    )
    .bind(evil(14))
    .bind(evil(6))
    .bind(evil(15))
    .bind(call)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;

    let admin = sign_in(&s, "admin", PASSWORD).await;
    let pages = crawl(&s, &admin, &[format!("/calls/{call}")]).await;
    for want in [
        "/",
        "/calls",
        "/scenarios",
        "/prompts",
        "/agents",
        "/users",
        "/stop-list",
        "/account",
        "/settings",
    ] {
        assert!(
            pages.contains_key(want),
            "the crawl reached {want}: {:?}",
            pages.keys()
        );
    }
    assert!(pages.len() > 25, "{:?}", pages.keys());
    eprintln!("{} pages crawled", pages.len());
    for (path, html) in &pages {
        assert_no_raw(path, html);
    }
    // Every planted text shows somewhere, escaped (the SIP user's quote included).
    for n in (1..=15).filter(|&n| n != 10) {
        let shown = pages.values().any(|h| h.contains(&format!("alert({n})")));
        assert!(shown, "field {n} ({}) is on no page", evil(n));
    }
    assert!(
        pages
            .values()
            .any(|h| h.contains("a&#39;onmouseover=alert(10)&#39;")),
        "the SIP user on the agents page"
    );

    // A form shown again with its errors escapes what was typed.
    let form = page(&s, "/projects/new", &admin).await.text();
    let csrf = csrf_field(&form);
    let r = post_form(
        &s,
        "/projects/new",
        &admin,
        &[
            ("csrf", &csrf),
            ("name", &evil(16)),
            ("scenario_id", &sc.to_string()),
            ("lines", "0"),
        ],
    )
    .await;
    let html = r.text();
    assert!(html.contains("alert(16)"), "{} {html}", r.status);
    assert_no_raw("/projects/new (errors)", &html);

    // A scenario's problems quote the names it got wrong: escaped.
    let form = page(&s, "/scenarios/new", &admin).await.text();
    let csrf = csrf_field(&form);
    let bad = format!(
        "name = \"Плохой\"\nresults = [\"Да\"]\nstart = {:?}\n[steps.a]\nplay = [\"transfer/connecting.wav\"]\nresult = \"Да\"\n",
        evil(17)
    );
    let r = post_form(
        &s,
        "/scenarios",
        &admin,
        &[("csrf", &csrf), ("source", &bad)],
    )
    .await;
    let html = r.text();
    assert!(html.contains("alert(17)"), "{} {html}", r.status);
    assert_no_raw("/scenarios (problems)", &html);

    s.stop().await;
}
