//! The agent desk over HTTP (docs/users.md, "The agent desk"): the real server on the sim
//! carrier with one simulated agent, whose user signs in and listens on `/desk/live`. A caller
//! presses 1 and is transferred: the contact's card arrives over server-sent events within a
//! second of the agent's phone ringing, with what the contact file holds escaped (`<script>`
//! and `"><img onerror>` in the name and a field). The simulated agent talks and hangs up; the
//! project's `wrap_up_s` of an hour keeps them in wrap-up until the desk's wrap-up form ends it:
//! bad values come back beside their fields, a good wrap-up with a call back is kept with the
//! call (the API's call and the CSV export show it), the contact is copied into the callback
//! project not to be dialed before the time asked, and the agent is available again at once.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/web.rs"]
mod web;

use autoinformer::config::Secret;
use chrono::TimeZone;
use serde_json::json;
use server::{start, Server};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use web::{csrf_field, form, sign_in};

const CALLER: &str = "+79995550001";
const SCENARIO: &str = r#"
name = "Соединение"
results = ["Оператор"]
start = "q"

[steps.q]
play = ["transfer/connecting.wav"]
listen = { dtmf = true, wait_s = 8 }

[[steps.q.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents" }]
"#;

async fn post_form(
    s: &Server,
    path: &str,
    session: &str,
    extra: &[&str],
    fields: &[(&str, &str)],
) -> http::Answer {
    let body = form(fields);
    let mut headers = vec![
        format!("Cookie: ai_session={session}"),
        "Content-Type: application/x-www-form-urlencoded".to_string(),
        format!("Content-Length: {}", body.len()),
    ];
    headers.extend(extra.iter().map(|h| h.to_string()));
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    s.raw("POST", path, &refs, &body).await
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A server-sent events stream read as it comes: `(event, data, arrived at unix ms)`.
struct Events {
    conn: tokio::net::TcpStream,
    raw: Vec<u8>,
    /// Where the chunked body's next chunk starts in `raw` (after the head).
    at: usize,
    text: String,
    seen: Vec<(String, String, i64)>,
    /// Events before this one are past: the next `until` looks from here.
    from: usize,
}

impl Events {
    async fn open(s: &Server, path: &str, session: &str) -> Events {
        let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: ai_session={session}\r\n\
             Accept: text/event-stream\r\n\r\n",
            s.addr
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        Events {
            conn,
            raw: Vec::new(),
            at: 0,
            text: String::new(),
            seen: Vec::new(),
            from: 0,
        }
    }

    /// Reads until an event `name` whose data passes `want` has come (since the one the last
    /// call answered); answers it.
    async fn until(
        &mut self,
        name: &str,
        want: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> (String, i64) {
        let t = Instant::now();
        let mut checked = self.from;
        loop {
            while checked < self.seen.len() {
                let (n, d, at) = &self.seen[checked];
                if n == name && want(d) {
                    self.from = checked;
                    return (d.clone(), *at);
                }
                checked += 1;
            }
            let left = limit.saturating_sub(t.elapsed());
            assert!(
                !left.is_zero(),
                "no `{name}` event as wanted in {limit:?}; events: {:#?}",
                self.seen
            );
            let mut buf = [0u8; 16384];
            let n = match tokio::time::timeout(left, self.conn.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => n,
                Ok(_) => panic!("the event stream closed; events: {:#?}", self.seen),
                Err(_) => continue,
            };
            let now = unix_ms();
            self.raw.extend_from_slice(&buf[..n]);
            self.take_chunks();
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                    }
                }
                if !data.is_empty() {
                    self.seen.push((event, data.join("\n"), now));
                }
            }
        }
    }

    /// Moves the complete chunks of the chunked body into `text`.
    fn take_chunks(&mut self) {
        if self.at == 0 {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            assert!(head.contains("text/event-stream"), "{head}");
            self.at = end + 4;
        }
        loop {
            let rest = &self.raw[self.at..];
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .expect("a chunk size");
            if rest.len() < eol + 2 + size + 2 {
                return;
            }
            let chunk = &rest[eol + 2..eol + 2 + size];
            self.text.push_str(&String::from_utf8_lossy(chunk));
            self.at += eol + 2 + size + 2;
        }
    }
}

fn attr(html: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[at..].split('"').next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_calls_card_arrives_at_once_and_the_wrap_up_ends_after_call_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), |c| {
        c.admin_password = Secret("пароль-админа-1".into());
        c.agents.sim.count = 1;
        c.agents.sim.answer_min_s = 0.3;
        c.agents.sim.answer_max_s = 0.5;
        c.agents.sim.talk_min_s = 1.0;
        c.agents.sim.talk_max_s = 1.5;
        c.trunk.sim.numbers.insert(CALLER.into(), "keys:1".into());
    })
    .await;
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sc = r.json()["id"].as_i64().unwrap();
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Перезвон", "scenario_id": sc}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let callback = r.json()["id"].as_i64().unwrap();
    // Bad dispositions are refused, naming the field.
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Плохой", "scenario_id": sc, "transfer": {"dispositions": ["Отказ", "Отказ"]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("transfer.dispositions[1]"),
        "{}",
        r.text()
    );
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({
                "name": "Запись на приём",
                "scenario_id": sc,
                "schedule": ["daily 00:00-24:00"],
                "lines": 1,
                "callback_project_id": callback,
                "transfer": {"wrap_up_s": 3600, "dispositions": ["Договорились", "Перезвонить", "Отказ"]},
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        s.get(&format!("/api/v1/projects/{p}")).await.json()["transfer"]["dispositions"],
        json!(["Договорились", "Перезвонить", "Отказ"])
    );
    let csv = format!(
        "ФИО;Телефон;Комментарий\n<script>alert(1)</script> Иванов;{CALLER};\"\"\"><img src=x onerror=alert(2)>\"\n"
    );
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["imported"], 1, "{}", r.text());
    let agents = s.get("/api/v1/agents").await.json();
    let agent = agents["items"][0]["id"]
        .as_i64()
        .expect("the simulated agent");
    let r = s
        .post_json(
            "/api/v1/users",
            json!({"username": "anna", "password": "пароль-анны", "role": "agent", "agent_id": agent}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let session = sign_in(&s, "anna", "пароль-анны").await;

    // The desk listens; nothing is transferred yet.
    let mut ev = Events::open(&s, "/desk/live", &session).await;
    ev.until(
        "state",
        |d| d.contains("data-state=\"available\""),
        Duration::from_secs(5),
    )
    .await;
    ev.until(
        "card",
        |d| d.contains("id=\"no-call\""),
        Duration::from_secs(5),
    )
    .await;

    // The caller presses 1: the card arrives as the agent's phone rings.
    let r = s
        .call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (card, arrived) = ev
        .until(
            "card",
            |d| d.contains("contact-card"),
            Duration::from_secs(30),
        )
        .await;
    let rang_at: i64 = attr(&card, "data-rang-at").parse().unwrap();
    assert!(
        arrived - rang_at < 1_000,
        "the card came {} ms after the agent's phone began to ring",
        arrived - rang_at
    );
    assert!(
        card.contains("Запись на приём") && card.contains(CALLER),
        "{card}"
    );
    assert!(
        card.contains("&#60;script&#62;alert(1)&#60;/script&#62; Иванов"),
        "{card}"
    );
    assert!(
        card.contains("&#34;&#62;&#60;img src=x onerror=alert(2)&#62;"),
        "{card}"
    );
    assert!(
        !card.contains("<script>") && !card.contains("<img") && !card.contains("\"><"),
        "{card}"
    );
    assert!(card.contains("Комментарий"), "the contact's field: {card}");
    assert!(
        card.contains("Клавиши") && card.contains("Оператор"),
        "what the robot heard: {card}"
    );
    let call: i64 = attr(&card, "data-call").parse().unwrap();

    // Answered: the wrap-up form opens; the agent hangs up and stays in wrap-up.
    let (card, _) = ev
        .until(
            "card",
            |d| d.contains("name=\"disposition\""),
            Duration::from_secs(10),
        )
        .await;
    for d in ["Договорились", "Перезвонить", "Отказ"] {
        assert!(card.contains(&format!("<option>{d}</option>")), "{card}");
    }
    assert!(
        card.contains("name=\"callback_at\""),
        "a callback project is set: {card}"
    );
    ev.until(
        "state",
        |d| d.contains("data-state=\"wrap_up\""),
        Duration::from_secs(15),
    )
    .await;
    let a = s.get(&format!("/api/v1/agents/{agent}")).await.json();
    assert_eq!(a["state"], "wrap_up", "{a}");

    // The form: without its token refused; bad values named beside their fields.
    let desk = s
        .raw(
            "GET",
            "/desk",
            &[&format!("Cookie: ai_session={session}")],
            b"",
        )
        .await;
    assert_eq!(desk.status, 200);
    assert!(
        desk.text().contains("contact-card"),
        "the card on the page itself"
    );
    let csrf = csrf_field(&desk.text());
    let call_text = call.to_string();
    let r = post_form(
        &s,
        "/desk/wrap-up",
        &session,
        &[],
        &[("call_id", &call_text), ("disposition", "Отказ")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = post_form(
        &s,
        "/desk/wrap-up",
        &session,
        &["HX-Request: true"],
        &[
            ("csrf", &csrf),
            ("call_id", &call_text),
            ("disposition", "Продал слона"),
            ("callback_at", "завтра"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "htmx swaps the form with its problems");
    let html = r.text();
    assert!(
        html.contains("id=\"err-disposition\"") && html.contains("нет среди итогов"),
        "{html}"
    );
    assert!(
        html.contains("id=\"err-callback\"") && html.contains("не дата и время"),
        "{html}"
    );
    assert!(
        html.contains("value=\"завтра\""),
        "what was typed stays: {html}"
    );
    let r = post_form(
        &s,
        "/desk/wrap-up",
        &session,
        &[],
        &[
            ("csrf", &csrf),
            ("call_id", &call_text),
            ("disposition", ""),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("Выберите итог разговора"), "{}", r.text());
    let a = s.get(&format!("/api/v1/agents/{agent}")).await.json();
    assert_eq!(a["state"], "wrap_up", "nothing written: {a}");

    // A good wrap-up with a call back tomorrow at 10:00 Moscow time.
    let msk = chrono_tz::Europe::Moscow;
    let tomorrow = chrono::Utc::now().with_timezone(&msk).date_naive() + chrono::Days::new(1);
    let at = msk
        .from_local_datetime(&tomorrow.and_hms_opt(10, 0, 0).unwrap())
        .single()
        .unwrap();
    let typed = at.format("%Y-%m-%dT%H:%M").to_string();
    let r = post_form(
        &s,
        "/desk/wrap-up",
        &session,
        &[],
        &[
            ("csrf", &csrf),
            ("call_id", &call_text),
            ("disposition", "Перезвонить"),
            ("note", "<b>просит</b> после обеда"),
            ("callback_at", &typed),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/desk"));
    // The agent is available at once, and the desk hears it.
    ev.until(
        "state",
        |d| d.contains("data-state=\"available\""),
        Duration::from_secs(3),
    )
    .await;
    ev.until(
        "card",
        |d| d.contains("Итог записан: Перезвонить"),
        Duration::from_secs(3),
    )
    .await;
    let a = s.get(&format!("/api/v1/agents/{agent}")).await.json();
    assert_eq!(a["state"], "available", "{a}");
    drop(ev);

    // The call keeps it (once), the export shows it.
    let t = Instant::now();
    let c = loop {
        let c = s.get(&format!("/api/v1/calls/{call}")).await.json();
        if c["state"] == "done" {
            break c;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(c["wrap_up"]["disposition"], "Перезвонить", "{c}");
    assert_eq!(c["wrap_up"]["note"], "<b>просит</b> после обеда", "{c}");
    assert_eq!(c["wrap_up"]["callback_at"], at.timestamp(), "{c}");
    assert_eq!(c["wrap_up"]["agent_id"], agent, "{c}");
    assert_eq!(c["transfer"]["agent_id"], agent, "{c}");
    let again = json!({"call_id": call, "disposition": "Отказ"});
    let r = s
        .post_json(&format!("/api/v1/agents/{agent}/wrap-up"), again)
        .await;
    assert_eq!(r.status, 409, "written once: {}", r.text());
    let r = s
        .post_json(
            &format!("/api/v1/agents/{agent}/wrap-up"),
            json!({"call_id": call, "disposition": "Продал слона", "callback_at": "2020-01-01 10:00"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["error"]["details"]["fields"],
        json!(["disposition", "callback_at"])
    );
    let r = s
        .post_json(
            "/api/v1/agents/987654/wrap-up",
            json!({"call_id": call, "disposition": "Отказ"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let export = s
        .get(&format!(
            "/api/v1/projects/{p}/export?report=calls&format=csv"
        ))
        .await
        .text();
    assert!(
        export.contains("Итог разговора") && export.contains("Перезвонить"),
        "{export}"
    );
    // The call's page shows the wrap-up beside the contact file's columns, escaped.
    let html = web::page(&s, &format!("/calls/{call}"), &session).await;
    assert_eq!(html.status, 403, "an agent does not read calls");
    let admin = sign_in(&s, "admin", "пароль-админа-1").await;
    let html = web::page(&s, &format!("/calls/{call}"), &admin)
        .await
        .text();
    let wrap = &html[html
        .find("id=\"wrap-up\"")
        .expect("the wrap-up on the call page")..];
    for want in [
        "Перезвонить",
        "&#60;b&#62;просит&#60;/b&#62; после обеда",
        &at.format("%d.%m.%Y %H:%M").to_string(),
        "Оператор-симулятор 1",
    ] {
        assert!(wrap.contains(want), "{want}: {wrap}");
    }
    let fields = &html[html
        .find("id=\"contact-fields\"")
        .expect("the contact's columns")..];
    assert!(
        fields.contains("Комментарий") && fields.contains("&#60;img src=x onerror=alert(2)&#62;"),
        "{fields}"
    );

    // The callback project holds the contact, waiting for its time.
    let t = Instant::now();
    loop {
        let items = s
            .get(&format!("/api/v1/projects/{callback}/last-results"))
            .await
            .json();
        if let Some(first) = items["items"].as_array().and_then(|a| a.first()) {
            assert_eq!(first["numbers"], json!([CALLER]), "{items}");
            assert_eq!(first["status"], "not_called", "{items}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no call back: {items}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let log = s
        .get(&format!("/api/v1/projects/{callback}/decisions"))
        .await
        .json();
    assert!(log.to_string().contains("call back not before"), "{log}");

    // An edit of the callback project re-plans its contacts: the call back still waits for its
    // time. Started with a schedule open all day, the project dials no one before then.
    let r = s
        .call(
            "PATCH",
            &format!("/api/v1/projects/{callback}"),
            Some("application/json"),
            json!({"schedule": ["daily 00:00-24:00"], "ordering": ["newest_first"]})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{callback}/activate"),
            None,
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = s
        .get(&format!("/api/v1/calls?project_id={callback}&limit=10"))
        .await
        .json();
    assert_eq!(
        calls["items"].as_array().map(Vec::len),
        Some(0),
        "the call back was dialed before its time after an edit: {calls}"
    );

    // The project page draws the calls by hour, with the answered call.
    let page = s
        .raw(
            "GET",
            &format!("/projects/{p}"),
            &[&format!("Cookie: ai_session={admin}")],
            b"",
        )
        .await
        .text();
    assert!(page.contains("id=\"hours-chart\""), "{page}");
    assert!(page.contains("звонков 1, ответили 1 (100 %)"), "{page}");
    assert!(page.contains("<polyline class=\"rate\""), "{page}");
    s.stop().await;
}
