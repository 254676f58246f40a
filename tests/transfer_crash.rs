//! Callers waiting for an agent when the process dies still get their callback, once
//! (issue 16 §3, docs/agents.md). The real `serve` (a child process, the sim carrier, one
//! simulated agent who talks for a minute) transfers 8 callers: one talks to the agent, the
//! others wait in the queue. It is killed with SIGKILL while they wait, started again (its
//! recovery closes those calls and releases their held callbacks), killed once more and
//! started again. Every caller who was waiting is in the callback project exactly once; the
//! one who reached the agent is not.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;

use child::{free_addr, root, start, wait_healthy};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "transfer-crash-token-0123456789";
const CALLERS: usize = 8;

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

fn number(i: usize) -> String {
    format!("+7999600{i:04}")
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    let mut numbers = String::new();
    for i in 0..CALLERS {
        numbers.push_str(&format!("\"{}\" = \"keys:1\"\n", number(i)));
    }
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 5\n\
             [dialer]\npass_ms = 100\nshutdown_grace_s = 5\n\
             [agents]\nqueue_max_wait_s = 600\nqueue_announce_s = 0\n\
             [agents.sim]\ncount = 1\nanswer_min_s = 0.2\nanswer_max_s = 0.3\n\
             talk_min_s = 60.0\ntalk_max_s = 60.0\n\
             [trunk.sim]\nring_min_s = 0.2\nring_max_s = 0.5\nmax_call_s = 600\n\
             [trunk.sim.numbers]\n{numbers}",
            root().join("prompts"),
            dir.join("no-model"),
        ),
    )
    .unwrap();
    path
}

const SCENARIO: &str = r#"name = "Оператор"
results = ["Оператор"]
start = "ask"

[steps.ask]
play = ["transfer/connecting.wav"]
listen = { dtmf = true, wait_s = 5 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents", callback_project = "Перезвон" }]
"#;

/// Calls up now whose callback is held (their callers wait for an agent or talk to one).
async fn waiting(db: &sqlx::SqlitePool) -> Vec<i64> {
    sqlx::query(
        "SELECT k.contact_id FROM calls k JOIN actions a ON a.call_id = k.id \
         WHERE k.state = 'dialing' AND a.next_at = 9223372036854775806",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_when_serve_is_killed_get_their_callback_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = config(dir.path());
    let addr = free_addr();
    let start_again = || start(&data, addr, &cfg, TOKEN);
    let mut serve = start_again();
    wait_healthy(addr).await;
    let sc = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        SCENARIO.as_bytes(),
    )
    .await["id"]
        .clone();
    let cb = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({"name": "Перезвон", "scenario_id": sc})
            .to_string()
            .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let p = call(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({"name": "Очередь", "scenario_id": sc, "schedule": ["daily 00:00-24:00"], "lines": 10})
            .to_string()
            .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..CALLERS {
        csv.push_str(&format!("Абонент {i};{}\n", number(i)));
    }
    let contacts = format!("/api/v1/projects/{p}/contacts");
    call(addr, "POST", &contacts, Some("text/csv"), csv.as_bytes()).await;
    let r = call(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;
    assert_eq!(r["status"], "active", "{r}");

    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        data.join("autoinformer.db").display()
    ))
    .await
    .unwrap();
    // Every caller pressed 1: one talks to the agent (its callback removed), the rest wait.
    let t = Instant::now();
    let waiting_at_kill = loop {
        let w = waiting(&db).await;
        let agents = call(addr, "GET", "/api/v1/agents", None, b"").await;
        let talking = agents["items"][0]["state"] == "talking";
        if w.len() == CALLERS - 1 && talking {
            break w;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "callers never queued: {w:?} {agents}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    serve.kill();
    serve = start_again();
    wait_healthy(addr).await;
    // Killed again soon after the restart's recovery, then started once more.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    serve.kill();
    serve = start_again();
    wait_healthy(addr).await;

    // The callbacks are carried out: the waiting callers are in «Перезвон», once each.
    let t = Instant::now();
    let copied: BTreeMap<String, i64> = loop {
        let rows = sqlx::query(
            "SELECT n.e164, COUNT(*) FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id \
             WHERE c.project_id = ? GROUP BY n.e164",
        )
        .bind(cb)
        .fetch_all(&db)
        .await
        .unwrap();
        let m: BTreeMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM actions WHERE kind = 'add_to_project' AND status NOT IN ('done', 'failed')",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if m.len() >= waiting_at_kill.len() && pending == 0 {
            break m;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "callbacks never done: {m:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    serve.terminate();
    let actions: Vec<(i64, String)> =
        sqlx::query("SELECT contact_id, status FROM actions WHERE kind = 'add_to_project'")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    println!(
        "transfer crash: {} callers waiting at the kill, {} in the callback project, {} callback \
         rows ({:?})",
        waiting_at_kill.len(),
        copied.len(),
        actions.len(),
        actions.iter().map(|a| a.1.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(copied.len(), CALLERS - 1, "{copied:?}");
    assert!(
        copied.values().all(|n| *n == 1),
        "a caller copied twice: {copied:?}"
    );
    assert_eq!(
        actions.len(),
        CALLERS - 1,
        "one callback row per waiting caller: {actions:?}"
    );
    assert!(actions.iter().all(|a| a.1 == "done"), "{actions:?}");
    let waited: std::collections::BTreeSet<i64> = waiting_at_kill.into_iter().collect();
    assert!(
        actions.iter().all(|a| waited.contains(&a.0)),
        "only the callers who waited are called back"
    );
}
