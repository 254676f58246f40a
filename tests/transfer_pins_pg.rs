//! A project whose callers are transferred to agents is dialed by one node at a time (issue 20
//! §2; docs/operations.md "Several nodes"): the agents' phones, the bridge and the project's
//! queue live in one process, so the project is pinned to the node its agents use.
//!
//! 1. The pin's rules on the store, two nodes: the first to ask holds it, the other is refused
//!    while the holder renews; the project follows its agents (a holder with none present
//!    loses it to a node with one); a silent holder loses it after a lease — and not to a node
//!    whose own heartbeats have not been steady for a lease; a node without the pin starts no
//!    call of the project (the fence in `start_calls`); two nodes asking at once for projects
//!    nobody holds: each project is held by exactly one.
//! 2. Two `serve` nodes on one database and the sim carrier, simulated agents on both: a
//!    project with transfers is dialed by one node only while a project without them is dialed
//!    by both; the holder is killed (SIGKILL) midway and the other node takes the project on
//!    after the lease, its agents taking the transfers; every contact is final at the end and
//!    no call of the project was placed by a node that did not hold it.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;
#[path = "common/pg.rs"]
mod pg;

use autoinformer::clock::Clock;
use autoinformer::store::postgres::{PgPoolSize, PgStore};
use autoinformer::store::{CampaignStore, DialerStore, NewProject, StartCall};
use child::{free_addr, root, tone_wav, wait_healthy, Serve};
use serde_json::json;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "pins-admin-token";

async fn node(url: &str, name: &str, lease: Duration) -> PgStore {
    PgStore::open_node(url, PgPoolSize::default(), Clock::System, name, lease)
        .await
        .expect("opening the PostgreSQL store as a node")
}

async fn raw(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("connecting to the test database")
}

async fn projects(s: &PgStore, prefix: &str, n: usize) -> Vec<i64> {
    let sc = s
        .create_scenario(&format!("Опрос {prefix}"), "name = \"Опрос\"")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let p = NewProject {
            name: format!("{prefix} {i}"),
            scenario_id: sc,
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 10,
            max_calls_per_number: 2,
            ..Default::default()
        };
        ids.push(s.create_project(&p).await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_projects_transfer_pin_is_held_by_one_node_follows_its_agents_and_moves_after_a_lease() {
    let url = pg::fresh_database().await;
    let lease = Duration::from_secs(2);
    let a = node(&url, "узел A", lease).await;
    let b = node(&url, "узел B", lease).await;
    let ids = projects(&a, "Проект", 21).await;
    let p = ids[0];

    // The first to ask holds it; the other is refused while the holder renews, whatever its
    // agents, as long as the holder has agents of its own.
    assert_eq!(a.hold_transfer_pins(&[(p, 1)]).await.unwrap(), vec![p]);
    assert!(b.hold_transfer_pins(&[(p, 3)]).await.unwrap().is_empty());
    assert_eq!(a.hold_transfer_pins(&[(p, 1)]).await.unwrap(), vec![p]);
    // Neither has agents: it stays with the holder.
    assert_eq!(a.hold_transfer_pins(&[(p, 0)]).await.unwrap(), vec![p]);
    assert!(b.hold_transfer_pins(&[(p, 0)]).await.unwrap().is_empty());
    // The holder has none present, B has one: it follows the agents.
    assert_eq!(b.hold_transfer_pins(&[(p, 1)]).await.unwrap(), vec![p]);
    assert!(a.hold_transfer_pins(&[(p, 0)]).await.unwrap().is_empty());
    assert!(a.hold_transfer_pins(&[(p, 5)]).await.unwrap().is_empty());
    assert_eq!(b.hold_transfer_pins(&[(p, 1)]).await.unwrap(), vec![p]);

    // B goes silent. Within its lease A is refused; after it, A — steady for a lease since it
    // registered — takes the project, with or without agents.
    tokio::time::sleep(lease / 2).await;
    assert!(a.hold_transfer_pins(&[(p, 0)]).await.unwrap().is_empty());
    tokio::time::sleep(lease).await;
    a.heartbeat().await.unwrap();
    assert_eq!(a.hold_transfer_pins(&[(p, 0)]).await.unwrap(), vec![p]);

    // A node that only just registered has not been steady for a lease: it does not take a
    // silent holder's project yet (after a database outage the live holder renews first).
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    let c = node(&url, "узел C", lease).await;
    assert!(c.hold_transfer_pins(&[(p, 0)]).await.unwrap().is_empty());
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    c.heartbeat().await.unwrap();
    assert_eq!(c.hold_transfer_pins(&[(p, 0)]).await.unwrap(), vec![p]);

    // A deleted project is not an error, nor held.
    let gone = ids[20];
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(gone)
        .execute(&raw(&url).await)
        .await
        .unwrap();
    assert!(c.hold_transfer_pins(&[(gone, 1)]).await.unwrap().is_empty());

    // The fence: calls of a project pinned to another node are not started here, whatever
    // this node's dialer believes. C holds `q`; D, a node that never asked, starts nothing;
    // C starts its calls.
    let q = ids[1];
    let d = node(&url, "узел D", lease).await;
    let text: String = (0..4)
        .map(|i| format!("Абонент {i};+7916{i:07}\n"))
        .collect();
    let r = c
        .import_csv(
            q,
            std::io::Cursor::new(format!("ФИО;Телефон\n{text}").into_bytes()),
            autoinformer::import::ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, 4, "{r:?}");
    c.activate(q).await.unwrap();
    assert_eq!(c.hold_transfer_pins(&[(q, 1)]).await.unwrap(), vec![q]);
    let ready = d.next_callable(q, 4).await.unwrap();
    assert_eq!(ready.len(), 4);
    let starts: Vec<StartCall> = ready
        .iter()
        .map(|x| StartCall {
            contact_id: x.id,
            version: x.version,
            number: &x.numbers[x.next_idx].e164,
            reason: "pins".into(),
        })
        .collect();
    let now = chrono::Utc::now().timestamp_millis();
    let by_d = d.start_calls(q, &starts, now).await.unwrap();
    assert!(
        by_d.iter().all(Option::is_none),
        "a node without the pin started {by_d:?}"
    );
    let by_c = c.start_calls(q, &starts, now).await.unwrap();
    assert!(
        by_c.iter().all(Option::is_some),
        "the holder started {by_c:?}"
    );

    // Two nodes asking at once for projects nobody holds yet, twenty at a time, both with
    // agents or both without: each is held by exactly one of them. (Were only the second to
    // have agents, it would take the project from the first at once: the project follows its
    // agents, and the fence above stops the first from starting calls.)
    let (e, f) = (
        Arc::new(node(&url, "узел E", lease).await),
        Arc::new(node(&url, "узел F", lease).await),
    );
    let fresh = projects(&a, "Гонка", 400).await;
    let (mut by_e, mut by_f) = (0usize, 0usize);
    for (round, batch) in fresh.chunks(20).enumerate() {
        let ask =
            |agents: u32| -> Vec<(i64, u32)> { batch.iter().map(|&id| (id, agents)).collect() };
        let agents = (round % 2) as u32;
        let (we, wf) = (ask(agents), ask(agents));
        let (he, hf) = tokio::join!(
            {
                let e = e.clone();
                async move { e.hold_transfer_pins(&we).await.unwrap() }
            },
            {
                let f = f.clone();
                async move { f.hold_transfer_pins(&wf).await.unwrap() }
            }
        );
        let (he, hf): (HashSet<i64>, HashSet<i64>) =
            (he.into_iter().collect(), hf.into_iter().collect());
        for id in batch {
            assert!(
                he.contains(id) != hf.contains(id),
                "round {round}: project {id} held by {}",
                match (he.contains(id), hf.contains(id)) {
                    (true, true) => "both",
                    _ => "neither",
                }
            );
        }
        by_e += he.len();
        by_f += hf.len();
    }
    println!(
        "transfer pins: 400 projects asked for by two nodes at once, 20 at a time: each held by \
         exactly one ({by_e} / {by_f}); a node without the pin started 0 of 4 calls"
    );
}

// ---------------------------------------------------------------------------------------------
// Two `serve` nodes.

const TRANSFER: &str = r#"name = "Оператор"
results = ["Оператор", "Нет"]
start = "ask"

[steps.ask]
play = ["pin_ask.wav"]
listen = { dtmf = true, wait_s = 4 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents" }]

[[steps.ask.on]]
dtmf = "2"
result = "Нет"
"#;

const PLAIN: &str = r#"name = "Информирование"
results = ["Да", "Нет"]
start = "ask"

[steps.ask]
play = ["pin_ask.wav"]
listen = { dtmf = true, wait_s = 4 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Да"

[[steps.ask.on]]
dtmf = "2"
result = "Нет"
"#;

fn config(dir: &Path, lease_s: u64) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {prompts:?}\nmodel = {model:?}\n\
             [calls]\nring_timeout_s = 3\nrecord = false\namd = false\nlearn_greetings = false\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 5\n\
             [store]\nnode_lease_s = {lease_s}\n\
             [trunk.sim]\nring_min_s = 0.0\nring_max_s = 0.3\n\
             [agents]\nwrap_up_s = 0\n\
             [agents.sim]\ncount = 3\nanswer_min_s = 0.2\nanswer_max_s = 0.4\n\
             talk_min_s = 0.5\ntalk_max_s = 1.0\n",
            prompts = root().join("prompts"),
            model = dir.join("no-model"),
        ),
    )
    .unwrap();
    path
}

fn start(dir: &Path, name: &str, addr: SocketAddr, config: &Path, url: &str) -> Serve {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(dir.join(format!("data-{name}")))
        .arg("--listen")
        .arg(addr.to_string())
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_DATABASE_URL", url)
        .env("AUTOINFORMER_STORE_NODE_NAME", name)
        .env("AUTOINFORMER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("serve starts");
    Serve(child)
}

async fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: &[u8],
) -> serde_json::Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

/// A project of `scenario` with `n` contacts (their numbers end in 5: the sim carrier's person
/// who presses 1 and stays on the line), activated.
async fn campaign(
    addr: SocketAddr,
    name: &str,
    scenario: &str,
    lines: u32,
    area: u32,
    n: usize,
) -> i64 {
    let sc = api(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        scenario.as_bytes(),
    )
    .await["id"]
        .clone();
    let p = api(
        addr,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({"name": name, "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
               "lines": lines, "max_calls_per_number": 1})
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..n {
        csv.push_str(&format!("Абонент {i};+7{area}{i:06}5\n"));
    }
    let r = api(
        addr,
        "POST",
        &format!("/api/v1/projects/{p}/contacts"),
        Some("text/csv"),
        csv.as_bytes(),
    )
    .await;
    assert_eq!(r["imported"], n, "{r}");
    p
}

/// Calls of project `p` that their own node ended: (owner node name, started at unix ms,
/// result, agent answered). A call a killed node left up is closed by the node that took it
/// over, which becomes its owner: those are left out.
async fn calls(pool: &PgPool, p: i64) -> Vec<(String, i64, Option<String>, bool)> {
    sqlx::query(
        "SELECT n.name, COALESCE(c.dialed_at_ms, c.started_at * 1000), c.result, \
                (c.transfer IS NOT NULL AND c.transfer::jsonb ->> 'agent_id' IS NOT NULL) FROM calls c JOIN nodes n ON n.id = c.owner_node \
         WHERE c.project_id = $1 AND COALESCE(c.end_reason, '') NOT LIKE '%interrupted%' \
         ORDER BY c.id",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

async fn count(pool: &PgPool, sql: &str, p: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_dial_a_transfer_project_from_one_node_which_hands_it_on_when_killed() {
    const LEASE_S: u64 = 3;
    let url = pg::fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), LEASE_S);
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let mut a = start(dir.path(), "node-a", addr_a, &config, &url);
    wait_healthy(addr_a).await;
    let mut b = start(dir.path(), "node-b", addr_b, &config, &url);
    wait_healthy(addr_b).await;
    for addr in [addr_a, addr_b] {
        api(
            addr,
            "PUT",
            "/api/v1/prompts/pin_ask.wav",
            None,
            &tone_wav(600, 440.0),
        )
        .await;
    }
    let t = campaign(addr_a, "С оператором", TRANSFER, 4, 916, 30).await;
    let plain = campaign(addr_a, "Без оператора", PLAIN, 8, 926, 80).await;
    let pool = raw(&url).await;
    for p in [t, plain] {
        api(
            addr_a,
            "POST",
            &format!("/api/v1/projects/{p}/activate"),
            None,
            b"",
        )
        .await;
    }

    // Until a third of the transfer project's calls are placed.
    let began = Instant::now();
    let placed = "SELECT count(*) FROM calls WHERE project_id = $1";
    while count(&pool, placed, t).await < 10 {
        assert!(
            began.elapsed() < Duration::from_secs(90),
            "the transfer project does not dial"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = calls(&pool, t).await;
    let holders: HashSet<&str> = before.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        holders.len(),
        1,
        "the transfer project was dialed by {holders:?}"
    );
    let holder = before[0].0.clone();
    let (victim, survivor) = if holder == "node-a" {
        (&mut a, "node-b")
    } else {
        (&mut b, "node-a")
    };
    victim.kill();
    let killed_at = child::unix_ms();
    println!(
        "{holder} dialed the transfer project ({} calls); killed",
        before.len()
    );

    // The survivor finishes both projects.
    let finished = "SELECT count(*) FROM projects WHERE id = $1 AND status = 'finished'";
    while count(&pool, finished, t).await == 0 || count(&pool, finished, plain).await == 0 {
        assert!(
            began.elapsed() < Duration::from_secs(240),
            "the campaign did not finish; {survivor}'s log:\n{}",
            std::fs::read_to_string(dir.path().join(format!("{survivor}.log"))).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let all = calls(&pool, t).await;
    let after: Vec<_> = all.iter().filter(|c| c.1 >= killed_at).collect();
    let by_holder_after = after.iter().filter(|c| c.0 == holder).count();
    assert_eq!(
        by_holder_after, 0,
        "the killed node placed calls after its kill"
    );
    // Every call of the transfer project that the survivor placed began after the kill plus
    // (about) the lease: it did not dial the project while the holder lived.
    let early: Vec<_> = all
        .iter()
        .filter(|c| c.0 == survivor && c.1 < killed_at)
        .collect();
    assert!(
        early.is_empty(),
        "{survivor} dialed the pinned project while {holder} held it: {early:?}"
    );
    let first_after = after
        .iter()
        .map(|c| c.1)
        .min()
        .expect("calls after the kill");
    assert!(
        first_after - killed_at >= (LEASE_S as i64 - 1) * 1000,
        "{survivor} took the project {} ms after the kill, within the lease",
        first_after - killed_at
    );
    let transferred = |who: &str| all.iter().filter(|c| c.0 == who && c.3).count();
    assert!(
        transferred(&holder) > 0 && transferred(survivor) > 0,
        "agents took no transfers on one node: {all:?}"
    );
    let plain_calls = calls(&pool, plain).await;
    let plain_nodes: HashSet<&str> = plain_calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        plain_nodes.len(),
        2,
        "the project without transfers was dialed by {plain_nodes:?} only"
    );
    let open = count(
        &pool,
        "SELECT count(*) FROM contacts WHERE project_id = $1 AND status IN ('not_called', 'retry')",
        t,
    )
    .await;
    assert_eq!(open, 0, "contacts of the transfer project left unfinished");
    let log =
        std::fs::read_to_string(dir.path().join(format!("{survivor}.log"))).unwrap_or_default();
    assert!(
        log.contains("pinned to another node"),
        "{survivor} never said it left the project"
    );
    assert!(
        log.contains("pinned here"),
        "{survivor} never said it took the project"
    );
    println!(
        "transfer pins on two serve nodes: {} calls of the transfer project ({} by {holder} \
         before its kill, {} by {survivor} from {:.1} s after it), {} transferred to agents; \
         the project without transfers on both nodes ({} calls)",
        all.len(),
        before.len(),
        after.len(),
        (first_after - killed_at) as f64 / 1000.0,
        all.iter().filter(|c| c.3).count(),
        plain_calls.len()
    );
}
