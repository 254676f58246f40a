//! A crash loses no action and does none twice (docs/actions.md, "Crash safety"). The real
//! `autoinformer serve` (a child process on the sim carrier, SMSC pointed at the local fake of
//! tests/common/smsc.rs, webhooks to a local receiver) is killed with SIGKILL at random moments:
//! first while SMSC is down, so results are committed with their actions and nothing has been
//! sent yet; then while every send is in flight (SMSC takes each message and answers 2 s
//! later). After the last start, with SMSC answering normally, every SMS has reached SMSC
//! exactly once (the fake counts our ids), none is lost, every webhook arrived at least once
//! under one Idempotency-Key, and every contact was copied into the callback project once.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;
#[path = "common/smsc.rs"]
mod smsc;

use child::{free_addr, next, root, start, wait_healthy, Serve};
use serde_json::{json, Value};
use smsc::{FakeSmsc, Mode};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "outbox-crash-token-0123456789";
const SECRET: &str = "outbox-crash-secret-0123";
/// Kills while SMSC is down, then while sends are in flight.
const KILLS_DOWN: usize = 3;
const KILLS_IN_FLIGHT: usize = 4;
const PEOPLE: usize = 150;

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    call(addr, "GET", path, None, b"").await
}

/// Webhook deliveries by Idempotency-Key.
type Received = Arc<Mutex<HashMap<String, usize>>>;

async fn receiver() -> (SocketAddr, Received) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got: Received = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                continue;
            };
            let g = g.clone();
            tokio::spawn(async move {
                if let Some(r) = smsc::read_request(&mut sock).await {
                    let key = r
                        .headers
                        .get("idempotency-key")
                        .cloned()
                        .unwrap_or_default();
                    *g.lock().unwrap().entry(key).or_insert(0) += 1;
                    smsc::answer(&mut sock, "200 OK", "{}").await;
                }
            });
        }
    });
    (addr, got)
}

fn config(dir: &Path, fake: &FakeSmsc) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 5\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 5\n\
             [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.0\n\
             [sms.smsc]\nurl = {:?}\nlogin = \"robot\"\npassword = \"pw-0123456789\"\ntimeout_s = 5\n\
             [webhooks]\nallow_private = true\ntimeout_s = 2\n",
            root().join("prompts"),
            dir.join("no-model"),
            fake.url(),
        ),
    )
    .unwrap();
    path
}

fn scenario(hook: SocketAddr) -> String {
    format!(
        r#"name = "SMS после согласия"
results = ["Согласен", "Отказ"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = {{ dtmf = true, wait_s = 10 }}
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Согласен"
actions = [{{ sms = "{{name}}, спасибо за ответ!" }}, {{ add_to_project = "Перезвон" }}, {{ webhook = "http://{hook}/agreed" }}]
next = "thanks"

[[steps.question.on]]
dtmf = "2"
result = "Отказ"
next = "thanks"

[steps.thanks]
play = ["thanks.wav"]
"#
    )
}

/// Runs for a random while, then SIGKILLs and starts again.
async fn kill_at_random(
    serve: &mut Serve,
    seed: &mut u64,
    (min_ms, spread_ms): (u64, u64),
    start_again: &impl Fn() -> Serve,
    addr: SocketAddr,
) {
    tokio::time::sleep(Duration::from_millis(min_ms + next(seed) % spread_ms)).await;
    serve.kill();
    *serve = start_again();
    wait_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_commit_and_the_send_and_mid_send_every_sms_goes_out_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fake = FakeSmsc::start("robot", "pw-0123456789").await;
    let (hook, received) = receiver().await;
    let cfg = config(dir.path(), &fake);
    let addr = free_addr();
    let start_again = || start(&data, addr, &cfg, TOKEN);
    let mut serve = start_again();
    wait_healthy(addr).await;
    for name in ["question.wav", "thanks.wav"] {
        let wav = std::fs::read(root().join("examples/survey/thanks.wav")).unwrap();
        call(addr, "PUT", &format!("/api/v1/prompts/{name}"), None, &wav).await;
    }
    let toml = Some("application/toml");
    let sc = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        toml,
        scenario(hook).as_bytes(),
    )
    .await["id"]
        .clone();
    let survey = std::fs::read(root().join("examples/survey/scenario.toml")).unwrap();
    let survey = call(addr, "POST", "/api/v1/scenarios", toml, &survey).await["id"].clone();
    let js = Some("application/json");
    let back = call(
        addr,
        "POST",
        "/api/v1/projects",
        js,
        json!({"name": "Перезвон", "scenario_id": survey})
            .to_string()
            .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let quick = json!({"attempts": 3, "interval_s": 1});
    let p = call(
        addr,
        "POST",
        "/api/v1/projects",
        js,
        json!({
            "name": "Краш SMS", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 30,
            "retry_rules": {"system": quick, "no_answer": quick, "busy": quick},
            "webhook_url": format!("http://{hook}/calls"), "webhook_secret": SECRET,
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("Абонент {i};+79998{i:05}5\n"));
    }
    let contacts = format!("/api/v1/projects/{p}/contacts");
    call(addr, "POST", &contacts, Some("text/csv"), csv.as_bytes()).await;

    // SMSC down: results and their actions are committed, nothing can be sent.
    fake.down().await;
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;
    let mut seed = 0x0b0c_u64;
    for _ in 0..KILLS_DOWN {
        kill_at_random(&mut serve, &mut seed, (6_000, 5_000), &start_again, addr).await;
    }
    let queued = get(addr, &format!("/api/v1/projects/{p}/stats")).await["actions"]["sms"]
        ["queued"]
        .as_u64()
        .unwrap();
    assert!(
        queued > 0,
        "the kills while SMSC was down caught no queued SMS"
    );
    // SMSC up and slow: every send is in flight for 2 s, and the kills land mid-send.
    fake.set_mode(Mode::Slow(Duration::from_secs(2)));
    fake.up().await;
    for _ in 0..KILLS_IN_FLIGHT {
        kill_at_random(&mut serve, &mut seed, (1_500, 3_000), &start_again, addr).await;
    }
    let in_flight_at_kills = fake.messages().len();
    fake.set_mode(Mode::Normal);

    // The last run: every contact done, every action final.
    let t = Instant::now();
    let st = loop {
        let st = get(addr, &format!("/api/v1/projects/{p}/stats")).await;
        let a = &st["actions"];
        let done = st["contacts"]["not_called"] == 0
            && st["contacts"]["retry"] == 0
            && st["contacts"]["in_call"] == 0
            && a["sms"]["queued"] == 0
            && a["sms"]["sent"] == a["sms"]["delivered"]
            && a["webhooks"]["queued"] == 0;
        if done {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "actions never settled: {st}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let agreed = st["results"]["Согласен"].as_u64().unwrap() as usize;
    let sms = get(
        addr,
        &format!("/api/v1/projects/{p}/actions?kind=sms&limit=5000"),
    )
    .await;
    let sms = sms["items"].as_array().unwrap().clone();
    let hooks = get(
        addr,
        &format!("/api/v1/projects/{p}/actions?kind=webhook&limit=5000"),
    )
    .await;
    let hooks = hooks["items"].as_array().unwrap().clone();
    let copies = get(
        addr,
        &format!("/api/v1/projects/{back}/last-results?limit=5000"),
    )
    .await;
    let copies = copies["items"].as_array().unwrap().clone();
    serve.terminate();

    let counts = fake.counts();
    // SMS whose send a kill cut: looked up at SMSC after the restart, found, not sent again.
    let found_after_kill = sms
        .iter()
        .filter(|a| {
            a["log"].as_array().unwrap().iter().any(|l| {
                l["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("SMSC has it: not sent again"))
            })
        })
        .count();
    let mut problems = Vec::new();
    let mut lost = 0;
    for a in &sms {
        let id = a["id"].to_string();
        match counts.get(&id) {
            Some(1) => {}
            Some(n) => problems.push(format!("SMS action {id} reached SMSC {n} times")),
            None => {
                lost += 1;
                problems.push(format!("SMS action {id} never reached SMSC: {a}"));
            }
        }
        if a["status"] != "delivered" {
            problems.push(format!("SMS action {id} ended {}: {a}", a["status"]));
        }
    }
    let phones: Vec<String> = fake.messages().iter().map(|m| m.phone.clone()).collect();
    let distinct: HashSet<&String> = phones.iter().collect();
    let duplicates = phones.len() - distinct.len();
    let got = received.lock().unwrap().clone();
    let mut redelivered = 0;
    for a in &hooks {
        if a["status"] != "done" {
            problems.push(format!("webhook action {} ended {}", a["id"], a["status"]));
        }
        let key = a["idempotency_key"].as_str().unwrap();
        if got.get(key).copied().unwrap_or(0) == 0 {
            problems.push(format!("webhook action {} never arrived", a["id"]));
        }
    }
    for n in got.values() {
        redelivered += n.saturating_sub(1);
    }
    let copied: Vec<&str> = copies
        .iter()
        .flat_map(|c| c["numbers"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap())
        .collect();
    let copied_distinct: HashSet<&&str> = copied.iter().collect();
    println!(
        "outbox kill test: {} kills ({KILLS_DOWN} with SMSC down, {KILLS_IN_FLIGHT} mid-send; \
         {in_flight_at_kills} messages taken by then), {agreed} agreements: SMS actions {}, \
         sent {}, duplicates {duplicates}, lost {lost}, {found_after_kill} cut mid-send and found \
         at SMSC after the restart; webhooks {} actions, {} keys received, \
         {redelivered} redelivered; copies {} ({} distinct numbers)",
        KILLS_DOWN + KILLS_IN_FLIGHT,
        sms.len(),
        fake.messages().len(),
        hooks.len(),
        got.len(),
        copied.len(),
        copied_distinct.len()
    );
    assert!(
        found_after_kill > 0,
        "no kill cut a send: the test shows nothing of it"
    );
    assert_eq!(sms.len(), agreed, "one SMS action per agreement");
    assert_eq!(
        fake.messages().len(),
        agreed,
        "one SMS per agreement at SMSC"
    );
    assert_eq!(duplicates, 0);
    assert_eq!(lost, 0);
    assert!(fake.duplicates().is_empty(), "{:?}", fake.duplicates());
    // One per agreement (the action's) plus one per call (the project's).
    assert_eq!(hooks.len(), agreed + st["calls"].as_u64().unwrap() as usize);
    assert_eq!(copied.len(), agreed, "each agreeing contact copied once");
    assert_eq!(copied_distinct.len(), agreed);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
