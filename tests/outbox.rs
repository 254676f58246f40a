//! Acting on results, end to end (docs/actions.md): `serve` on the sim carrier with SMSC
//! pointed at a local fake of its HTTP API (tests/common/smsc.rs) and a local webhook receiver.
//! People pressing 1 get an SMS with their name and account filled in, are copied into a
//! callback project and trigger a webhook; people pressing 2 opt out — their number goes on the
//! stop list and no project calls it again; every call's webhook is signed and verifies. Then
//! the bad days: SMSC down (queued, then sent once), a wrong password (stopped and reported,
//! nothing lost, sent after a restart with the right one), no money, a number SMSC refuses, a
//! connection closed after SMSC took the message and a 500 (each message exactly once), a
//! webhook receiver that does not answer in time (retried with the same Idempotency-Key), and
//! what activation and saving refuse.
#[path = "common/http.rs"]
mod http;
#[path = "common/server.rs"]
mod server;
#[path = "common/smsc.rs"]
mod smsc;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::{root, start, Server};
use sha2::Sha256;
use smsc::{FakeSmsc, Mode};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LOGIN: &str = "robot";
const PASSWORD: &str = "smsc-password-1";
const SECRET: &str = "webhook-secret-0123456789";

/// What the webhook receiver got: headers (lowercased names) and body, in order.
type Hooks = Arc<Mutex<Vec<(HashMap<String, String>, Vec<u8>)>>>;

/// A webhook receiver on 127.0.0.1: answers 200, or (while `slow` > 0) takes 3 s per request.
async fn receiver(slow: Arc<Mutex<u32>>) -> (SocketAddr, Hooks) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got: Hooks = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                continue;
            };
            let (g, slow) = (g.clone(), slow.clone());
            tokio::spawn(async move {
                let Some(r) = smsc::read_request(&mut sock).await else {
                    return;
                };
                let delay = {
                    let mut s = slow.lock().unwrap();
                    let d = *s > 0;
                    *s = s.saturating_sub(1);
                    d
                };
                g.lock().unwrap().push((r.headers, r.body));
                if delay {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                smsc::answer(&mut sock, "200 OK", "{}").await;
            });
        }
    });
    (addr, got)
}

/// The scenario: key 1 — an SMS with the name and account, a copy into «Перезвон», a webhook;
/// key 2 — opt-out.
fn scenario(hook: SocketAddr) -> String {
    format!(
        r#"name = "Согласие на SMS"
results = ["Согласен", "Отказ"]
fields = ["Лицевой счет"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = {{ dtmf = true, wait_s = 10 }}
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Согласен"
actions = [{{ sms = "{{name}}, спасибо! Лицевой счёт {{Лицевой счет}}." }}, {{ add_to_project = "Перезвон" }}, {{ webhook = "http://{hook}/agreed" }}]
next = "thanks"

[[steps.question.on]]
dtmf = "2"
result = "Отказ"
actions = [{{ stop_list = true }}]
next = "thanks"

[steps.thanks]
play = ["thanks.wav"]
"#
    )
}

async fn ok(a: http::Answer, what: &str) -> Value {
    assert!(a.status < 300, "{what}: {} {}", a.status, a.text());
    a.json()
}

async fn prompts(s: &Server) {
    let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
    for name in ["question.wav", "thanks.wav"] {
        ok(
            s.call("PUT", &format!("/api/v1/prompts/{name}"), None, &wav)
                .await,
            "prompt",
        )
        .await;
    }
}

async fn save_scenario(s: &Server, src: &str) -> i64 {
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            src.as_bytes(),
        )
        .await;
    ok(r, "scenario").await["id"].as_i64().unwrap()
}

async fn project(s: &Server, name: &str, scenario: i64, extra: Value) -> i64 {
    let quick = json!({"attempts": 2, "interval_s": 1});
    let mut body = json!({
        "name": name, "scenario_id": scenario, "schedule": ["daily 00:00-24:00"], "lines": 10,
        "retry_rules": {"no_answer": quick, "busy": quick, "system": quick},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    ok(s.post_json("/api/v1/projects", body).await, "project").await["id"]
        .as_i64()
        .unwrap()
}

async fn import(s: &Server, p: i64, csv: &str) -> Value {
    ok(
        s.call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await,
        "import",
    )
    .await
}

async fn activate(s: &Server, p: i64) -> http::Answer {
    s.call("POST", &format!("/api/v1/projects/{p}/activate"), None, b"")
        .await
}

/// Waits until `check` on the project's stats holds (or panics after `limit`).
async fn wait_stats(
    s: &Server,
    p: i64,
    limit: Duration,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let t = Instant::now();
    loop {
        let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
        if check(&st) {
            return st;
        }
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}: {st}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn smsc_config(fake: &FakeSmsc, password: &str) -> impl FnOnce(&mut autoinformer::config::Config) {
    let url = fake.url();
    let password = password.to_string();
    move |c| {
        c.sms.smsc.url = url;
        c.sms.smsc.login = LOGIN.into();
        c.sms.smsc.password = autoinformer::config::Secret(password);
        c.sms.smsc.sender = "Robot".into();
        c.sms.smsc.timeout_s = 2;
        c.webhooks.allow_private = true;
        c.webhooks.timeout_s = 1;
        c.calls.ring_timeout_s = 3;
    }
}

fn hmac_hex(secret: &str, t: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(t.as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Ten people press 1, five press 2, three never answer.
fn people() -> String {
    let mut csv = String::from("ФИО;Телефон;Лицевой счет\n");
    for i in 0..10 {
        csv.push_str(&format!("Согласный {i};+7999300{i:02}05;{}\n", 7000 + i));
    }
    for i in 0..5 {
        csv.push_str(&format!("Отказник {i};+7999400{i:02}06;{}\n", 8000 + i));
    }
    for i in 0..3 {
        csv.push_str(&format!("Молчун {i};+7999500{i:02}00;{}\n", 9000 + i));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_1_sends_an_sms_with_the_name_pressing_2_opts_out_and_webhooks_verify() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmsc::start(LOGIN, PASSWORD).await;
    let (hook, hooks) = receiver(Arc::default()).await;
    let s = start(dir.path(), smsc_config(&fake, PASSWORD)).await;
    prompts(&s).await;
    let sc = save_scenario(&s, &scenario(hook)).await;
    // The callback project must exist before the campaign may start.
    let p = project(
        &s,
        "SMS-кампания",
        sc,
        json!({"webhook_url": format!("http://{hook}/calls"), "webhook_secret": SECRET}),
    )
    .await;
    import(&s, p, &people()).await;
    let r = activate(&s, p).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("«Перезвон»"), "{}", r.text());
    let survey = save_scenario(
        &s,
        &std::fs::read_to_string(root().join("examples/survey/scenario.toml")).unwrap(),
    )
    .await;
    let back = project(&s, "Перезвон", survey, json!({})).await;
    ok(activate(&s, p).await, "activate").await;

    // Every call ends, every action is final: 10 SMS delivered, 10 copies, 5 opt-outs.
    let st = wait_stats(
        &s,
        p,
        Duration::from_secs(120),
        "the campaign's actions",
        |st| {
            st["contacts"]["not_called"] == 0
                && st["contacts"]["retry"] == 0
                && st["contacts"]["in_call"] == 0
                && st["actions"]["sms"]["delivered"] == 10
                && st["actions"]["opted_out"] == 5
                && st["actions"]["added_to_projects"] == 10
                && st["actions"]["webhooks"]["queued"] == 0
        },
    )
    .await;
    assert_eq!(st["actions"]["sms"]["failed"], 0, "{st}");
    assert_eq!(st["sms_service"], "running", "{st}");
    let cost = st["actions"]["sms"]["cost"].as_f64().unwrap();
    // «Согласный N, спасибо! Лицевой счёт 700N.» is one UCS-2 part at 3.45 ₽.
    assert!((cost - 34.5).abs() < 1e-6, "{st}");

    // SMSC got each SMS once, with the name and the account filled in, from our sender.
    let msgs = fake.messages();
    assert_eq!(msgs.len(), 10, "{msgs:?}");
    assert!(fake.duplicates().is_empty());
    for i in 0..10 {
        let phone = format!("+7999300{i:02}05");
        let m = msgs
            .iter()
            .find(|m| m.phone == phone)
            .expect("an SMS per person");
        assert_eq!(
            m.text,
            format!("Согласный {i}, спасибо! Лицевой счёт {}.", 7000 + i)
        );
        assert_eq!(m.sender.as_deref(), Some("Robot"));
    }
    let log = fake.log();
    let (_, first) = log.iter().find(|(k, _)| k == "send.php").unwrap();
    for (k, v) in [("charset", "utf-8"), ("fmt", "3"), ("cost", "3")] {
        assert_eq!(first.get(k).map(String::as_str), Some(v), "{first:?}");
    }

    // The actions list: every SMS with SMSC's id, its cost and its log.
    let a = s
        .get(&format!(
            "/api/v1/projects/{p}/actions?kind=sms&status=delivered"
        ))
        .await
        .json();
    let items = a["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "{a}");
    for x in items {
        assert!(x["external_id"].as_str().is_some(), "{x}");
        assert_eq!(x["parts"], 1);
        let outcomes: Vec<&str> = x["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes.first(), Some(&"sent"), "{x}");
        assert_eq!(outcomes.last(), Some(&"delivered"), "{x}");
        // Our id on SMSC is the action's id.
        assert_eq!(fake.counts().get(&x["id"].to_string()), Some(&1), "{x}");
    }
    // A call shows its actions.
    let call_id = items[0]["call_id"].as_i64().unwrap();
    let c = s.get(&format!("/api/v1/calls/{call_id}")).await.json();
    let kinds: Vec<(&str, &str)> = c["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["kind"].as_str().unwrap(), x["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("sms", "delivered"),
            ("add_to_project", "done"),
            ("webhook", "done"),
            ("webhook", "done")
        ],
        "{c}"
    );

    // The callback project has the ten, once each, with where they came from.
    let last = s
        .get(&format!("/api/v1/projects/{back}/last-results?limit=100"))
        .await
        .json();
    let names: Vec<&str> = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10, "{last}");
    assert!(
        names.iter().all(|n| n.starts_with("Согласный")),
        "{names:?}"
    );

    // Opt-outs: on the stop list with the reason, and another project never calls them.
    let stop = s.get("/api/v1/stop-list?limit=100").await.json();
    let listed: Vec<(&str, &str)> = stop["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["number"].as_str().unwrap(), x["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(listed.len(), 5, "{stop}");
    for (n, why) in &listed {
        assert!(n.starts_with("+7999400"), "{listed:?}");
        assert!(
            why.starts_with("opt-out: key 2, project \"SMS-кампания\", call "),
            "{why}"
        );
    }
    project(&s, "Перезвон: жалобы", survey, json!({})).await;
    let other = project(&s, "Другая кампания", survey, json!({})).await;
    let rep = import(&s, other, &people()).await;
    assert_eq!(rep["imported"], 18, "{rep}");
    ok(activate(&s, other).await, "activate the other").await;
    wait_stats(
        &s,
        other,
        Duration::from_secs(60),
        "the other campaign",
        |st| {
            st["contacts"]["not_called"] == 0
                && st["contacts"]["retry"] == 0
                && st["contacts"]["in_call"] == 0
        },
    )
    .await;
    let calls = s
        .get(&format!("/api/v1/calls?project_id={other}&limit=1000"))
        .await
        .json();
    let dialed: Vec<&str> = calls["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["number"].as_str().unwrap())
        .collect();
    assert!(!dialed.is_empty());
    assert!(
        dialed.iter().all(|n| !n.starts_with("+7999400")),
        "an opted-out number was called again: {dialed:?}"
    );

    // Webhooks: the project's for every call, the action's for each agreement; all signed.
    let got = hooks.lock().unwrap().clone();
    let calls_done = st["calls"].as_u64().unwrap() as usize;
    let from_campaign: Vec<_> = got
        .iter()
        .filter(|(_, b)| serde_json::from_slice::<Value>(b).unwrap()["project"]["id"] == p)
        .collect();
    assert_eq!(
        from_campaign.len(),
        calls_done + 10,
        "one per call plus one per agreement"
    );
    let now = chrono::Utc::now().timestamp();
    let mut keys = std::collections::HashSet::new();
    for (h, body) in &from_campaign {
        let sig = &h["x-autoinformer-signature"];
        let (t, v1) = sig
            .split_once(',')
            .map(|(t, v)| (t.trim_start_matches("t="), v.trim_start_matches("v1=")))
            .unwrap();
        assert_eq!(v1, hmac_hex(SECRET, t, body), "the signature verifies");
        assert!((now - t.parse::<i64>().unwrap()).abs() < 300);
        assert!(
            keys.insert(h["idempotency-key"].clone()),
            "one key per webhook"
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert!(v["result"].is_string() && v["number"].is_string(), "{v}");
    }
    let agreed = got
        .iter()
        .find(|(_, b)| serde_json::from_slice::<Value>(b).unwrap()["result"] == "Согласен")
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .unwrap();
    assert_eq!(
        agreed["contact"]["fields"]["Лицевой счет"]
            .as_str()
            .map(|s| s.len()),
        Some(4)
    );
    assert_eq!(agreed["reaction"], "1", "{agreed}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smsc_down_a_wrong_password_and_refusals_lose_nothing_and_send_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSmsc::start(LOGIN, PASSWORD).await;
    let (hook, _) = receiver(Arc::default()).await;
    // A wrong password first: SMS stop, the stats say why, nothing is lost.
    let s = start(dir.path(), smsc_config(&fake, "wrong-password")).await;
    prompts(&s).await;
    let sc = save_scenario(&s, &scenario(hook)).await;
    let survey = save_scenario(
        &s,
        &std::fs::read_to_string(root().join("examples/survey/scenario.toml")).unwrap(),
    )
    .await;
    project(&s, "Перезвон", survey, json!({})).await;
    let p = project(&s, "Плохие дни", sc, json!({})).await;
    let mut csv = String::from("ФИО;Телефон;Лицевой счет\n");
    for i in 0..6 {
        csv.push_str(&format!("Абонент {i};+7999600{i:02}05;{}\n", 100 + i));
    }
    import(&s, p, &csv).await;
    ok(activate(&s, p).await, "activate").await;
    let st = wait_stats(
        &s,
        p,
        Duration::from_secs(60),
        "stopped on the login",
        |st| st["sms_service"] == "stopped" && st["contacts"]["not_called"] == 0,
    )
    .await;
    assert!(
        st["sms_service_note"].as_str().unwrap().contains("error 2"),
        "{st}"
    );
    wait_stats(&s, p, Duration::from_secs(60), "all six calls", |st| {
        st["actions"]["sms"]["queued"] == 6
    })
    .await;
    assert!(fake.messages().is_empty());
    s.stop().await;

    // SMSC down: with the right password now, the SMS wait while nothing listens.
    fake.down().await;
    let s = start(dir.path(), smsc_config(&fake, PASSWORD)).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    assert_eq!(st["actions"]["sms"]["queued"], 6, "{st}");
    let a = s
        .get(&format!("/api/v1/projects/{p}/actions?kind=sms"))
        .await
        .json();
    let errors: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["last_error"].as_str())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("cannot connect")),
        "{errors:?}"
    );
    // Back up: each is sent once.
    fake.up().await;
    wait_stats(
        &s,
        p,
        Duration::from_secs(90),
        "sent after SMSC came back",
        |st| st["actions"]["sms"]["sent"] == 6,
    )
    .await;
    assert_eq!(fake.messages().len(), 6);
    assert!(fake.duplicates().is_empty());

    // Each bad answer in turn, on a new call each: no money holds, a bad number fails for
    // good, a closed connection after the message was taken and a 500 send exactly once.
    let mut next = 0;
    let mut one_more = |phone_tail: &str| {
        next += 1;
        format!("ФИО;Телефон;Лицевой счет\nЕщё {next};+7999700{next:02}{phone_tail};{next}\n")
    };
    for (mode, want) in [
        (Mode::CloseAfterRead, "sent"),
        (Mode::Http500, "sent"),
        (Mode::Slow(Duration::from_secs(4)), "sent"),
        (Mode::Error(8), "failed"),
    ] {
        fake.set_mode(mode.clone());
        let before = fake.messages().len();
        let sends_before = fake.sends();
        let q = project(&s, &format!("Режим {mode:?}"), sc, json!({})).await;
        import(&s, q, &one_more("05")).await;
        ok(activate(&s, q).await, "activate").await;
        // The 500 is answered until the mode changes back, so the retry can succeed.
        if mode == Mode::Http500 {
            wait_stats(&s, q, Duration::from_secs(30), "a 500", |_| {
                fake.sends() > sends_before
            })
            .await;
            fake.set_mode(Mode::Normal);
        }
        let st = wait_stats(&s, q, Duration::from_secs(90), &format!("{mode:?}"), |st| {
            st["actions"]["sms"][want] == 1
        })
        .await;
        fake.set_mode(Mode::Normal);
        let taken = fake.messages().len() - before;
        assert_eq!(taken, usize::from(want == "sent"), "{mode:?}: {st}");
        assert!(fake.duplicates().is_empty(), "{mode:?}");
        if want == "failed" {
            let a = s
                .get(&format!("/api/v1/projects/{q}/actions?kind=sms"))
                .await
                .json();
            let e = a["items"][0]["last_error"].as_str().unwrap().to_string();
            assert!(
                e.contains("refused it for good") && e.contains("error 8"),
                "{e}"
            );
        }
    }
    // No money: every SMS is held, the stats say so, nothing is lost.
    fake.set_mode(Mode::Error(3));
    let q = project(&s, "Нет денег", sc, json!({})).await;
    import(&s, q, &one_more("05")).await;
    ok(activate(&s, q).await, "activate").await;
    let st = wait_stats(&s, q, Duration::from_secs(60), "held for money", |st| {
        st["sms_service"] == "held"
    })
    .await;
    assert_eq!(st["actions"]["sms"]["queued"], 1, "{st}");
    assert!(st["sms_service_note"].as_str().unwrap().contains("error 3"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_receiver_that_does_not_answer_in_time_gets_it_again_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let slow = Arc::new(Mutex::new(2));
    let (hook, hooks) = receiver(slow).await;
    let s = start(dir.path(), |c| {
        c.webhooks.allow_private = true;
        c.webhooks.timeout_s = 1;
    })
    .await;
    prompts(&s).await;
    let survey = save_scenario(
        &s,
        &std::fs::read_to_string(root().join("examples/survey/scenario.toml")).unwrap(),
    )
    .await;
    let p = project(
        &s,
        "Вебхук",
        survey,
        json!({"webhook_url": format!("http://{hook}/slow"), "webhook_secret": SECRET}),
    )
    .await;
    project(&s, "Перезвон: жалобы", survey, json!({})).await;
    import(&s, p, "ФИО;Телефон\nОдин;+79998000015\n").await;
    ok(activate(&s, p).await, "activate").await;
    let st = wait_stats(
        &s,
        p,
        Duration::from_secs(90),
        "delivered in the end",
        |st| st["actions"]["webhooks"]["delivered"] == 1,
    )
    .await;
    assert_eq!(st["actions"]["webhooks"]["failed"], 0);
    let got = hooks.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "two timeouts, then an answer");
    let keys: std::collections::HashSet<_> = got
        .iter()
        .map(|(h, _)| h["idempotency-key"].clone())
        .collect();
    assert_eq!(keys.len(), 1, "the same Idempotency-Key every time");
    assert!(got.windows(2).all(|w| w[0].1 == w[1].1), "the same body");
    let a = s
        .get(&format!("/api/v1/projects/{p}/actions?kind=webhook"))
        .await
        .json();
    let log = a["items"][0]["log"].as_array().unwrap().clone();
    let outcomes: Vec<&str> = log.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["retry", "retry", "done"], "{a}");
    assert!(log[0]["error"]
        .as_str()
        .unwrap()
        .contains("did not answer in time"));
    assert_eq!(log[2]["http_status"], 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_and_activation_refuse_what_actions_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    // No SMSC configured.
    let s = start(dir.path(), |_| {}).await;
    prompts(&s).await;
    let hook: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let bad = scenario(hook).replace("{name}, спасибо", "{имя}, спасибо");
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            bad.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let problem = &r.json()["error"]["details"]["problems"][0];
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("unknown variable {имя}"),
        "{problem}"
    );
    assert_eq!(problem["line"], 14, "{problem}");
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            scenario(hook).as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert!(
        created["notes"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("SMS: at least 1 part(s)"),
        "{created}"
    );
    let sc = created["id"].as_i64().unwrap();
    let p = project(&s, "Без SMSC", sc, json!({})).await;
    import(&s, p, "ФИО;Телефон\nОдин;+79998000015\n").await;
    let r = activate(&s, p).await;
    assert_eq!(r.status, 422);
    let missing: Vec<String> = r.json()["error"]["details"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(missing.len(), 4, "{missing:?}");
    assert!(
        missing[0].contains("AUTOINFORMER_SMS_SMSC_LOGIN"),
        "{missing:?}"
    );
    assert!(missing[1].contains("«Перезвон»"), "{missing:?}");
    // The scenario's webhook goes to a private address this server does not allow.
    assert!(
        missing[2].contains("http://127.0.0.1:9/agreed") && missing[2].contains("private"),
        "{missing:?}"
    );
    assert!(missing[3].contains("«Лицевой счет»"), "{missing:?}");
    let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    assert_eq!(st["sms_service"], "off");
    // A project's webhook address is checked when it is saved: a private one is refused then,
    // not discovered after the calls (this server allows none).
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "w", "scenario_id": sc, "webhook_url": "http://127.0.0.1:9/x"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("webhook_url") && r.text().contains("private"),
        "{}",
        r.text()
    );
    // A secret too short to sign with is refused; without one, the server's own secret signs.
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "w", "scenario_id": sc, "webhook_url": "http://93.184.216.34/x",
                   "webhook_secret": "short"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("webhook_secret"), "{}", r.text());
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "w", "scenario_id": sc, "webhook_url": "http://93.184.216.34/x"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let view = s.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(view["webhook_url"], "http://93.184.216.34/x");
    assert!(view["webhook_secret"].is_null(), "{view}");
    s.stop().await;
}
