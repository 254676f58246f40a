//! Faults on one node (issue 20 §3), each on the real `autoinformer serve` (a child process on
//! the sim carrier or a SIP trunk) and each ending with every call accounted for:
//! - SIGKILL while 200 calls are up, then a restart: the calls the kill cut are closed as
//!   interrupted, no number is dialed twice at once, no contact over its call cap, the campaign
//!   ends with every contact in a final status;
//! - the recordings disk full (a small tmpfs mounted over the recordings folder): the calls go
//!   on unrecorded, each says why (`recording_error`), the log says it as it happens;
//! - the trunk unreachable (a SIP server address where nobody answers): every call ends as
//!   `system` with the reason, nothing is left dialing.
//!
//! The SMSC failing is `tests/outbox.rs` (`smsc_down_…`) and `tests/outbox_worker.rs`.
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;

use child::{free_addr, root, start, start_logged, unix_ms, wait_healthy, Serve};
use serde_json::Value;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::Row;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "faults-test-token-0123456789";

async fn call(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    child::call(addr, TOKEN, method, path, ct, body).await
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    call(addr, "GET", path, None, b"").await
}

/// Waits until the project has finished (every contact in a final status, no call up).
async fn wait_finished(addr: SocketAddr, p: i64, limit: Duration) -> Value {
    let t = Instant::now();
    loop {
        let s = get(addr, &format!("/api/v1/projects/{p}/stats")).await;
        if s["status"] == "finished" {
            return s;
        }
        assert!(t.elapsed() < limit, "not finished in {limit:?}: {s}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The server's database, opened read-only beside it.
async fn db(data: &Path) -> sqlx::SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "sqlite://{}?mode=ro",
            data.join("autoinformer.db").display()
        ))
        .await
        .expect("the database opens")
}

/// One call as the database has it.
#[derive(Debug, Clone)]
struct Row_ {
    id: i64,
    contact_id: i64,
    number: String,
    state: String,
    result: Option<String>,
    dialed_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    end_reason: Option<String>,
    recording: Option<String>,
    recording_error: Option<String>,
    reaction: Option<String>,
}

async fn calls(pool: &sqlx::SqlitePool, p: i64) -> Vec<Row_> {
    sqlx::query(
        "SELECT id, contact_id, number, state, result, dialed_at_ms, ended_at_ms, end_reason, \
         recording, recording_error, reaction FROM calls WHERE project_id = ? ORDER BY id",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| Row_ {
        id: r.get(0),
        contact_id: r.get(1),
        number: r.get(2),
        state: r.get(3),
        result: r.get(4),
        dialed_at_ms: r.get(5),
        ended_at_ms: r.get(6),
        end_reason: r.get(7),
        recording: r.get(8),
        recording_error: r.get(9),
        reaction: r.get(10),
    })
    .collect()
}

/// Every call closed with a result; no number in two calls at once; no contact over `cap`.
fn assert_accounted(calls: &[Row_], cap: usize) {
    let mut by_number: HashMap<&str, Vec<&Row_>> = HashMap::new();
    let mut by_contact: HashMap<i64, usize> = HashMap::new();
    for c in calls {
        assert_eq!(c.state, "done", "a call left open: {c:?}");
        assert!(c.result.is_some(), "a call without a result: {c:?}");
        by_number.entry(&c.number).or_default().push(c);
        *by_contact.entry(c.contact_id).or_default() += 1;
    }
    for (number, cs) in &by_number {
        for w in cs.windows(2) {
            let (a, b) = (w[0], w[1]);
            let ended = a.ended_at_ms.expect("a closed call has its end");
            let dialed = b.dialed_at_ms.expect("a call has its dial time");
            assert!(
                dialed >= ended,
                "{number} dialed again while a call was up: {a:?} then {b:?}"
            );
        }
    }
    for (contact, n) in &by_contact {
        assert!(*n <= cap, "contact {contact} has {n} calls (cap {cap})");
    }
}

fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n{extra}",
            root().join("prompts"),
            dir.join("no-model"),
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_200_calls_up_then_a_restart_accounts_for_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = config(
        dir.path(),
        "[calls]\nring_timeout_s = 8\n\
         [dialer]\npass_ms = 200\nshutdown_grace_s = 5\n\
         [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.0\n",
    );
    let addr = free_addr();
    let mut serve = start(&data, addr, &config, TOKEN);
    wait_healthy(addr).await;
    let p = child::survey_project(addr, TOKEN, "Сбои", 200).await;
    // People who stay silent (~15 s calls), who press 1, numbers that ring out and busy ones.
    let numbers: Vec<String> = (0..500)
        .map(|i| {
            let last = [8, 8, 5, 0, 1][i % 5];
            format!("+7999{i:06}{last}")
        })
        .collect();
    child::import_and_activate(addr, TOKEN, p, &numbers).await;
    let pool = db(&data).await;
    // Wait for 200 calls up at once, then kill.
    let t = Instant::now();
    let up = loop {
        let up: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls WHERE project_id = ? AND state = 'dialing'",
        )
        .bind(p)
        .fetch_one(&pool)
        .await
        .unwrap();
        if up >= 200 {
            break up;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "only {up} calls up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let killed_at = unix_ms();
    serve.kill();
    let cut: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM calls WHERE project_id = ? AND state = 'dialing' ORDER BY id",
    )
    .bind(p)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(cut.len() >= 200, "{} calls up at the kill", cut.len());

    let mut serve: Serve = start(&data, addr, &config, TOKEN);
    wait_healthy(addr).await;
    let stats = wait_finished(addr, p, Duration::from_secs(240)).await;
    serve.terminate();

    let all = calls(&pool, p).await;
    assert_accounted(&all, 2);
    let by_id: HashMap<i64, &Row_> = all.iter().map(|c| (c.id, c)).collect();
    for id in &cut {
        let c = by_id[id];
        let why = c.end_reason.as_deref().unwrap_or("");
        assert!(why.contains("interrupted"), "call {id} the kill cut: {c:?}");
        assert!(
            c.ended_at_ms.is_some_and(|e| e <= killed_at + 60_000),
            "call {id} closed at its end, not later: {c:?}"
        );
    }
    // Every contact closed; the stats count every call the database has.
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contacts WHERE project_id = ? \
         AND status NOT IN ('reached', 'not_reached')",
    )
    .bind(p)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(open, 0, "{stats}");
    assert_eq!(stats["calls"], all.len(), "{stats}");
    println!(
        "{up} calls up at the kill, {} cut and closed as interrupted; {} calls in all, \
         every contact final",
        cut.len(),
        all.len()
    );
}

/// A tmpfs mounted over a folder for the test's length.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill (it needs root, as CI has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_recordings_disk_stops_recording_not_the_calls_and_each_call_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // 96 KiB: three seconds of one stereo call fill it.
    let _disk = Tmpfs::mount(&data.join("recordings"), "96k");
    let config = config(
        dir.path(),
        "[calls]\nring_timeout_s = 8\nrecord = true\n\
         [dialer]\npass_ms = 200\n\
         [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.0\n",
    );
    let log = dir.path().join("serve.log");
    let addr = free_addr();
    let mut serve = start_logged(&data, addr, &config, TOKEN, "warn", &log);
    wait_healthy(addr).await;
    let p = child::survey_project(addr, TOKEN, "Сбои", 6).await;
    // Each presses 1 after the question (5) or stays silent (8).
    let numbers: Vec<String> = (0..12)
        .map(|i| format!("+7999{i:06}{}", if i % 2 == 0 { 5 } else { 8 }))
        .collect();
    child::import_and_activate(addr, TOKEN, p, &numbers).await;
    wait_finished(addr, p, Duration::from_secs(180)).await;
    let pool = db(&data).await;
    let all = calls(&pool, p).await;
    // The API says it as the database does.
    for c in &all {
        let v = get(addr, &format!("/api/v1/calls/{}", c.id)).await;
        assert_eq!(
            v["recording_error"].as_str(),
            c.recording_error.as_deref(),
            "{v}"
        );
    }
    serve.terminate();
    assert_accounted(&all, 2);
    assert_eq!(all.len(), numbers.len(), "one call each: {all:?}");
    let mut partial = 0;
    let mut none = 0;
    for c in &all {
        // The scenario ran to its end as if nothing had happened.
        assert_ne!(c.result.as_deref(), Some("system"), "{c:?}");
        if c.number.ends_with('5') {
            assert_eq!(c.reaction.as_deref(), Some("1"), "{c:?}");
        }
        let error = c
            .recording_error
            .as_deref()
            .unwrap_or_else(|| panic!("a full disk, and no word of it: {c:?}"));
        assert!(error.contains("No space left on device"), "{c:?}");
        match &c.recording {
            // What was written before the disk filled is kept, a valid WAV.
            Some(path) => {
                let r = hound::WavReader::open(path).expect("a partial recording opens");
                assert_eq!(r.spec().channels, 2);
                partial += 1;
            }
            None => none += 1,
        }
    }
    assert!(partial >= 1, "the first calls keep what fitted: {all:?}");
    assert!(none >= 1, "later calls had no room at all: {all:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    let lines = log
        .lines()
        .filter(|l| l.contains("the recording") && l.contains("No space left on device"))
        .count();
    assert!(lines >= all.len(), "one warning per call at least:\n{log}");
    println!(
        "{} calls, {partial} partial recordings, {none} none; {lines} warnings",
        all.len()
    );
}

/// sipp, killed when dropped.
struct Sipp(std::process::Child);

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn calls_placed(pool: &sqlx::SqlitePool, p: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE project_id = ?")
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_trunk_holds_the_dialer_after_five_silent_calls_and_it_resumes_when_the_trunk_answers(
) {
    // The trunk's address: a socket that takes every INVITE and answers none (no ICMP either).
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = config(
        dir.path(),
        &format!(
            "[calls]\nring_timeout_s = 2\n\
             [dialer]\npass_ms = 200\n\
             [trunk]\nkind = \"sip\"\n\
             [trunk.sip]\nserver = \"127.0.0.1:{port}\"\nlisten = \"127.0.0.1:0\"\n\
             rtp_port_min = 41000\nrtp_port_max = 41999\n"
        ),
    );
    let log = dir.path().join("serve.log");
    let addr = free_addr();
    let mut serve = start_logged(&data, addr, &config, TOKEN, "info", &log);
    wait_healthy(addr).await;
    let p = child::survey_project(addr, TOKEN, "Сбои", 8).await;
    let numbers: Vec<String> = (0..40).map(|i| format!("+7999{i:06}1")).collect();
    child::import_and_activate(addr, TOKEN, p, &numbers).await;
    let pool = db(&data).await;

    // The first 8 go out at once and end unanswered after the ring timeout; then the dialer
    // holds: one probe after 5 s, the next 10 s after that one ends.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let held = calls_placed(&pool, p).await;
    assert!(
        (8..=8 + 2).contains(&held),
        "{held} calls placed in 20 s on a dead trunk (8 lines)"
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("dialing held"), "{log_text}");
    let silent_results: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM calls WHERE project_id = ? AND state = 'done' AND result = 'system' \
         AND end_reason LIKE 'no response from the trunk%'",
    )
    .bind(p)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(silent_results >= 8, "{silent_results}");

    // The trunk comes back, answering every INVITE with 486 Busy Here.
    drop(silent);
    let sipp = std::process::Command::new("sipp")
        .arg("-sf")
        .arg(root().join("tests/peers/sipp/busy486.xml"))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1000", "-timeout", "120s", "-nostdin", "-t", "u1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sipp is installed by scripts/setup.sh --test");
    let _sipp = Sipp(sipp);
    let stats = wait_finished(addr, p, Duration::from_secs(120)).await;
    let all = calls(&pool, p).await;
    serve.terminate();
    assert_accounted(&all, 2);
    let busy = all
        .iter()
        .filter(|c| c.result.as_deref() == Some("busy"))
        .count();
    let system = all
        .iter()
        .filter(|c| c.result.as_deref() == Some("system"))
        .count();
    assert_eq!(busy + system, all.len(), "{all:?}");
    // Every contact not dialed while the trunk was down kept both attempts for the trunk's
    // return: each is busy twice. Only the ones dialed into the dead trunk have a `system`.
    // (A probe placed just before the trunk came back may end busy instead.)
    assert!((8..=held).contains(&(system as i64)), "{all:?}");
    let mut per_contact: HashMap<i64, Vec<&str>> = HashMap::new();
    for c in &all {
        per_contact
            .entry(c.contact_id)
            .or_default()
            .push(c.result.as_deref().unwrap_or(""));
    }
    assert_eq!(per_contact.len(), numbers.len());
    let both_busy = per_contact
        .values()
        .filter(|r| r.as_slice() == ["busy", "busy"])
        .count();
    assert!(
        both_busy as i64 >= numbers.len() as i64 - held,
        "{both_busy} contacts kept both attempts for the trunk's return: {per_contact:?}"
    );
    assert_eq!(stats["calls"], all.len(), "{stats}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("dialing resumes"), "{log_text}");
    println!(
        "dead trunk: {held} calls in 20 s (8 lines), then held; back: {busy} busy, {} calls in all",
        all.len()
    );
}
