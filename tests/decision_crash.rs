//! A result is kept the moment the scenario decides it (issue 15 §1, docs/actions.md). The
//! real `autoinformer serve` (a child process on the sim carrier, SMSC pointed at the local
//! fake) runs a survey where pressing 1 decides «Согласен» with an SMS and then plays a long
//! thank-you; it is killed with SIGKILL at random moments after keys were pressed, while those
//! people are still hearing the thanks, and started again. At the end every call whose result
//! had been decided before a kill keeps that result and its reaction (not `system`), and every
//! agreement has exactly one SMS action, which reached SMSC exactly once.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;
#[path = "common/smsc.rs"]
mod smsc;

use child::{free_addr, next, root, start, wait_healthy};
use serde_json::{json, Value};
use smsc::FakeSmsc;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "decision-crash-token-0123456789";
const KILLS: usize = 4;
const PEOPLE: usize = 60;

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

fn config(dir: &Path, fake: &FakeSmsc) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 5\n\
             [dialer]\npass_ms = 100\nshutdown_grace_s = 5\n\
             [trunk.sim]\nring_min_s = 0.2\nring_max_s = 0.8\n\
             [sms.smsc]\nurl = {:?}\nlogin = \"robot\"\npassword = \"pw-0123456789\"\ntimeout_s = 5\n",
            root().join("prompts"),
            dir.join("no-model"),
            fake.url(),
        ),
    )
    .unwrap();
    path
}

const SCENARIO: &str = r#"name = "Согласие с SMS"
results = ["Согласен"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 10 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Согласен"
actions = [{ sms = "{name}, спасибо за согласие!" }]
next = "thanks"

[steps.thanks]
play = ["thanks.wav"]
"#;

/// Calls decided and still up now: (call id, result).
async fn decided_and_up(db: &sqlx::SqlitePool) -> BTreeMap<i64, String> {
    sqlx::query(
        "SELECT id, result FROM calls WHERE state = 'dialing' AND decided_at_ms IS NOT NULL",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_key_every_decided_result_survives_with_its_sms_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fake = FakeSmsc::start("robot", "pw-0123456789").await;
    let cfg = config(dir.path(), &fake);
    let addr = free_addr();
    let start_again = || start(&data, addr, &cfg, TOKEN);
    let mut serve = start_again();
    wait_healthy(addr).await;
    // A long thank-you (the sim's 15 s voicemail greeting): people hear it after their key.
    let question = std::fs::read(root().join("examples/survey/question.wav")).unwrap();
    let long = std::fs::read(root().join("prompts/sim/voicemail.wav")).unwrap();
    call(addr, "PUT", "/api/v1/prompts/question.wav", None, &question).await;
    call(addr, "PUT", "/api/v1/prompts/thanks.wav", None, &long).await;
    let sc = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        SCENARIO.as_bytes(),
    )
    .await["id"]
        .clone();
    let quick = json!({"attempts": 3, "interval_s": 1});
    let p = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({
            "name": "Краш после решения", "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
            "lines": 20, "retry_rules": {"system": quick, "no_answer": quick, "busy": quick},
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // Everyone presses 1 after the question (the sim's numbers ending in 5).
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..PEOPLE {
        csv.push_str(&format!("Абонент {i};+79995{i:05}5\n"));
    }
    let contacts = format!("/api/v1/projects/{p}/contacts");
    call(addr, "POST", &contacts, Some("text/csv"), csv.as_bytes()).await;
    call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;

    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        data.join("autoinformer.db").display()
    ))
    .await
    .unwrap();
    // Kill at a random moment after keys were pressed, while those people hear the thanks.
    let mut seed = 0xdec1_u64;
    let mut seen: BTreeMap<i64, String> = BTreeMap::new();
    for _ in 0..KILLS {
        let t = Instant::now();
        loop {
            if !decided_and_up(&db).await.is_empty() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "no call got to its key"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(next(&mut seed) % 3_000)).await;
        let before = decided_and_up(&db).await;
        serve.kill();
        seen.extend(before);
        serve = start_again();
        wait_healthy(addr).await;
    }

    // The last run: every contact done, every SMS final.
    let t = Instant::now();
    loop {
        let st = call(
            addr,
            "GET",
            &format!("/api/v1/projects/{p}/stats"),
            None,
            b"",
        )
        .await;
        let sms = &st["actions"]["sms"];
        if st["contacts"]["not_called"] == 0
            && st["contacts"]["retry"] == 0
            && st["contacts"]["in_call"] == 0
            && sms["queued"] == 0
            && sms["sent"] == sms["delivered"]
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "never settled: {st}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    serve.terminate();

    let rows: HashMap<i64, (String, Option<String>, Option<String>, String)> =
        sqlx::query("SELECT id, state, result, reaction, COALESCE(end_reason, '') FROM calls")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
            .collect();
    let sms_per_call: HashMap<i64, (i64, Vec<i64>)> = {
        let mut m: HashMap<i64, (i64, Vec<i64>)> = HashMap::new();
        for r in sqlx::query("SELECT call_id, id FROM actions WHERE kind = 'sms'")
            .fetch_all(&db)
            .await
            .unwrap()
        {
            let e = m.entry(r.get(0)).or_default();
            e.0 += 1;
            e.1.push(r.get(1));
        }
        m
    };
    let counts = fake.counts();
    let mut problems = Vec::new();
    let mut cut_after_decision = 0;
    for (id, want) in &seen {
        let Some((state, result, reaction, why)) = rows.get(id) else {
            problems.push(format!("call {id} is gone"));
            continue;
        };
        if state != "done" || result.as_deref() != Some(want) || reaction.as_deref() != Some("1") {
            problems.push(format!(
                "call {id} decided «{want}» before a kill, ended {state} {result:?} {reaction:?} ({why})"
            ));
        }
        cut_after_decision += usize::from(why.contains("after the scenario decided"));
    }
    let agreed: Vec<i64> = rows
        .iter()
        .filter(|(_, r)| r.1.as_deref() == Some("Согласен"))
        .map(|(id, _)| *id)
        .collect();
    for id in &agreed {
        match sms_per_call.get(id) {
            Some((1, rows)) => {
                let n = counts.get(&rows[0].to_string()).copied().unwrap_or(0);
                if n != 1 {
                    problems.push(format!("call {id}: its SMS reached SMSC {n} times"));
                }
            }
            other => problems.push(format!("call {id}: SMS actions {other:?}")),
        }
    }
    println!(
        "kill after the decision: {KILLS} kills, {} calls decided and up at a kill, {} of them \
         closed by recovery with their decision, {} kept their result; {} agreements, {} SMS \
         actions, {} SMS at SMSC, duplicates {}",
        seen.len(),
        cut_after_decision,
        seen.len()
            - problems
                .iter()
                .filter(|p| p.contains("before a kill"))
                .count(),
        agreed.len(),
        sms_per_call.values().map(|v| v.0).sum::<i64>(),
        fake.messages().len(),
        fake.duplicates().len()
    );
    assert!(
        cut_after_decision > 0,
        "no kill landed between a decision and the call's end"
    );
    assert_eq!(fake.messages().len(), agreed.len(), "one SMS per agreement");
    assert!(fake.duplicates().is_empty(), "{:?}", fake.duplicates());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
