//! The database away (issue 20 §3): PostgreSQL stopped for 10 s while a campaign dials on the
//! real `autoinformer serve` (a child process on the sim carrier, `AUTOINFORMER_DATABASE_URL`
//! naming a server of this test's own, `scripts/pg.sh`). The dialer pauses while the database
//! is away (no call starts) and resumes when it is back; the calls that ended meanwhile keep
//! their results (their writes are tried again until the database answers); the process lives
//! through it and says what happened; the campaign ends with every call accounted for.
//!
//! It runs the server as the `postgres` user, which needs root (as CI has).
#[path = "common/child.rs"]
mod child;
#[path = "common/http.rs"]
mod http;

use child::{free_addr, root, unix_ms, wait_healthy, Serve};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "faults-pg-test-token-0123456789";
/// How long the database is away.
const OUTAGE: Duration = Duration::from_secs(10);

/// A PostgreSQL server of this test's own (`scripts/pg.sh start`), stopped and removed when
/// dropped (a failing test leaves nothing behind, halted or not).
struct PgServer {
    dir: PathBuf,
    url: String,
}

impl PgServer {
    fn start(dir: &Path) -> Self {
        let out = pg_sh("start", dir);
        assert!(
            out.status.success(),
            "scripts/pg.sh start failed (this test runs its own PostgreSQL as the postgres \
             user: it needs PostgreSQL installed and root, as CI has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(url.starts_with("postgres://"), "pg.sh printed {url:?}");
        Self {
            dir: dir.to_path_buf(),
            url,
        }
    }

    /// Stops the server, keeping its data: the outage begins.
    fn halt(&self) {
        let out = pg_sh("halt", &self.dir);
        assert!(
            out.status.success(),
            "pg.sh halt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it again on the same port: the outage ends.
    fn resume(&self) {
        let out = pg_sh("resume", &self.dir);
        assert!(
            out.status.success(),
            "pg.sh resume: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = pg_sh("stop", &self.dir);
    }
}

fn pg_sh(cmd: &str, dir: &Path) -> std::process::Output {
    Command::new(root().join("scripts/pg.sh"))
        .arg(cmd)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/pg.sh")
}

/// `serve` on the database at `url` (`AUTOINFORMER_DATABASE_URL`), its log at `info` appended
/// to `log`.
fn start_serve(data: &Path, addr: SocketAddr, config: &Path, url: &str, log: &Path) -> Serve {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the log file opens");
    let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(addr.to_string())
        .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
        .env("AUTOINFORMER_DATABASE_URL", url)
        .env("AUTOINFORMER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .expect("serve starts");
    Serve(child)
}

/// Waits until the project has finished (every contact in a final status, no call up).
async fn wait_finished(addr: SocketAddr, p: i64, limit: Duration) -> Value {
    let t = Instant::now();
    loop {
        let a = http::request(
            addr,
            "GET",
            &format!("/api/v1/projects/{p}/stats"),
            Some(TOKEN),
            None,
            b"",
        )
        .await;
        if a.status == 200 {
            let s = a.json();
            if s["status"] == "finished" {
                return s;
            }
            assert!(t.elapsed() < limit, "not finished in {limit:?}: {s}");
        } else {
            assert!(
                t.elapsed() < limit,
                "not finished in {limit:?}: {} {}",
                a.status,
                a.text()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The test's own view of the database (re-made connections after the restart).
async fn db(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(true)
        .connect(url)
        .await
        .expect("the database opens")
}

/// One call as the database has it.
#[derive(Debug, Clone)]
struct CallRow {
    contact_id: i64,
    number: String,
    state: String,
    result: Option<String>,
    started_at: i64,
    dialed_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    end_reason: Option<String>,
}

impl CallRow {
    /// When the call began, in unix ms (its dial time, else its start's second).
    fn began_ms(&self) -> i64 {
        self.dialed_at_ms.unwrap_or(self.started_at * 1000)
    }
}

async fn calls(pool: &PgPool, p: i64) -> Vec<CallRow> {
    sqlx::query(
        "SELECT contact_id, number, state, result, started_at, dialed_at_ms, ended_at_ms, \
         end_reason FROM calls WHERE project_id = $1 ORDER BY id",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| CallRow {
        contact_id: r.get(0),
        number: r.get(1),
        state: r.get(2),
        result: r.get(3),
        started_at: r.get(4),
        dialed_at_ms: r.get(5),
        ended_at_ms: r.get(6),
        end_reason: r.get(7),
    })
    .collect()
}

/// Every call closed with a result; no number in two calls at once; no contact over `cap`.
fn assert_accounted(calls: &[CallRow], cap: usize) {
    let mut by_number: HashMap<&str, Vec<&CallRow>> = HashMap::new();
    let mut by_contact: HashMap<i64, usize> = HashMap::new();
    for c in calls {
        assert_eq!(c.state, "done", "a call left open: {c:?}");
        assert!(c.result.is_some(), "a call without a result: {c:?}");
        assert!(
            c.ended_at_ms.is_some(),
            "a closed call without its end: {c:?}"
        );
        by_number.entry(&c.number).or_default().push(c);
        *by_contact.entry(c.contact_id).or_default() += 1;
    }
    for (number, cs) in &mut by_number {
        cs.sort_by_key(|c| c.began_ms());
        for w in cs.windows(2) {
            let (a, b) = (w[0], w[1]);
            let ended = a.ended_at_ms.expect("a closed call has its end");
            assert!(
                b.began_ms() >= ended && b.started_at * 1000 >= a.started_at * 1000,
                "{number} dialed again while a call was up: {a:?} then {b:?}"
            );
        }
    }
    for (contact, n) in &by_contact {
        assert!(*n <= cap, "contact {contact} has {n} calls (cap {cap})");
    }
}

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {:?}\nmodel = {:?}\n\
             [calls]\nring_timeout_s = 8\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 5\n\
             [trunk.sim]\nring_min_s = 0.3\nring_max_s = 1.0\n",
            root().join("prompts"),
            dir.join("no-model"),
        ),
    )
    .unwrap();
    path
}

async fn count(pool: &PgPool, sql: &str, p: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_10_s_pauses_the_dialer_which_resumes_and_every_call_is_accounted_for()
{
    let test_began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pg = PgServer::start(&dir.path().join("pg"));
    let pg_took = test_began.elapsed();
    let data = dir.path().join("data");
    let config = config(dir.path());
    let log = dir.path().join("serve.log");
    let addr = free_addr();
    let mut serve = start_serve(&data, addr, &config, &pg.url, &log);
    wait_healthy(addr).await;
    let p = child::survey_project(addr, TOKEN, "Сбой базы", 100).await;
    // People who stay silent (~21 s calls), who press 1, who press 2 (an action: the outbox
    // copies them into the callback project), numbers that ring out and busy ones.
    let numbers: Vec<String> = (0..300)
        .map(|i| {
            let last = [8, 5, 6, 0, 1][i % 5];
            format!("+7999{i:06}{last}")
        })
        .collect();
    child::import_and_activate(addr, TOKEN, p, &numbers).await;
    let pool = db(&pg.url).await;

    // Calls up, then the database goes away.
    let t = Instant::now();
    let up = loop {
        let up = count(
            &pool,
            "SELECT COUNT(*) FROM calls WHERE project_id = $1 AND state = 'dialing'",
            p,
        )
        .await;
        if up >= 80 {
            break up;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "only {up} calls up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    pool.close().await;
    let halt_from = unix_ms();
    pg.halt();
    let halted = unix_ms();
    // The API while the database is away: it may answer late or with an error, never die.
    let during = tokio::spawn(async move {
        let t = Instant::now();
        let a = http::request(
            addr,
            "GET",
            &format!("/api/v1/projects/{p}/stats"),
            Some(TOKEN),
            None,
            b"",
        )
        .await;
        (a.status, t.elapsed())
    });
    tokio::time::sleep(OUTAGE).await;
    assert!(
        serve.0.try_wait().unwrap().is_none(),
        "serve died while the database was away; its log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let resume_from = unix_ms();
    pg.resume();
    let resumed = unix_ms();
    let (api_status, api_took) = during.await.unwrap();

    let stats = wait_finished(addr, p, Duration::from_secs(120)).await;
    let finished = unix_ms();
    assert!(
        serve.0.try_wait().unwrap().is_none(),
        "serve died after the outage; its log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let pool = db(&pg.url).await;
    let all = calls(&pool, p).await;
    let open = count(
        &pool,
        "SELECT COUNT(*) FROM contacts WHERE project_id = $1 \
         AND status NOT IN ('reached', 'not_reached')",
        p,
    )
    .await;
    // The outbox carries the calls' actions out (it may trail the campaign's end a little).
    let t = Instant::now();
    let pending_actions = loop {
        let n = count(
            &pool,
            "SELECT COUNT(*) FROM actions WHERE project_id = $1 \
             AND status IN ('queued', 'sending')",
            p,
        )
        .await;
        if n == 0 || t.elapsed() > Duration::from_secs(15) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let copied = count(
        &pool,
        "SELECT COUNT(*) FROM contacts c JOIN projects q ON q.id = c.project_id \
         WHERE q.name = 'Перезвон: жалобы' AND $1 > 0",
        p,
    )
    .await;
    serve.terminate();
    let log_text = std::fs::read_to_string(&log).unwrap();

    // Every call accounted for.
    assert_accounted(&all, 2);
    assert_eq!(open, 0, "every contact final: {stats}");
    assert_eq!(
        stats["calls"],
        all.len(),
        "the stats count every call: {stats}"
    );
    let contacts: std::collections::HashSet<i64> = all.iter().map(|c| c.contact_id).collect();
    assert_eq!(contacts.len(), numbers.len(), "every contact was called");

    // The dialer paused: nothing began while the database was away; and it resumed.
    let before = all.iter().filter(|c| c.began_ms() < halted).count();
    let in_outage: Vec<&CallRow> = all
        .iter()
        .filter(|c| c.began_ms() >= halted && c.began_ms() < resume_from)
        .collect();
    let started_in_outage: Vec<&CallRow> = all
        .iter()
        .filter(|c| c.started_at * 1000 > halted + 999 && c.started_at * 1000 < resume_from - 999)
        .collect();
    assert!(
        in_outage.is_empty() && started_in_outage.is_empty(),
        "calls began while the database was away ({halted}..{resume_from}): \
         {in_outage:?} {started_in_outage:?}"
    );
    let after: Vec<&CallRow> = all.iter().filter(|c| c.began_ms() >= resumed).collect();
    assert!(!after.is_empty(), "the dialer resumed");
    let first_after = after.iter().map(|c| c.began_ms()).min().unwrap() - resumed;
    // Within seconds: the pool's connect backoff (up to a fifth of its acquire timeout) is
    // the wait, not the dialer.
    assert!(
        first_after < 15_000,
        "the first call came {first_after} ms after the database was back"
    );
    // The calls up at the halt that ended while the database was away kept their results.
    let ended_in_outage: Vec<&CallRow> = all
        .iter()
        .filter(|c| {
            c.ended_at_ms
                .is_some_and(|e| (halted..resume_from).contains(&e))
        })
        .collect();
    let interrupted = all
        .iter()
        .filter(|c| {
            c.end_reason
                .as_deref()
                .is_some_and(|w| w.contains("interrupted"))
        })
        .count();
    assert!(
        !ended_in_outage.is_empty(),
        "calls up at the halt ended during the outage"
    );
    for c in &ended_in_outage {
        assert_ne!(
            c.result.as_deref(),
            Some("system"),
            "a call that ended while the database was away lost its result: {c:?}"
        );
    }
    // The log says what happened, naming the database.
    let db_name = pg.url.rsplit_once('@').map_or(&*pg.url, |(_, h)| h);
    let warned: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains(db_name))
        .collect();
    assert!(
        !warned.is_empty(),
        "no warning names the database ({db_name}):\n{log_text}"
    );
    assert!(
        log_text
            .lines()
            .any(|l| l.contains("dialing resumes") && l.contains(db_name)),
        "the log says when the database is back:\n{log_text}"
    );
    assert!(
        !log_text.contains("panicked"),
        "a task panicked:\n{log_text}"
    );
    assert_eq!(pending_actions, 0, "the outbox carried every action out");
    let complaints = all
        .iter()
        .filter(|c| c.result.as_deref() == Some("Недоволен"))
        .count() as i64;
    assert!(complaints > 0, "people pressed 2");
    assert_eq!(copied, complaints, "every complaint copied, once");

    // What else the log said (the pool's own slow-acquire warnings counted, not listed).
    let slow_acquires = log_text
        .lines()
        .filter(|l| l.contains("time to acquire exceeded slow threshold"))
        .count();
    let others: Vec<&str> = log_text
        .lines()
        .filter(|l| {
            (l.contains(" WARN ") || l.contains(" ERROR "))
                && !l.contains("time to acquire exceeded slow threshold")
        })
        .collect();
    println!(
        "the log's warnings and errors: {} (and {slow_acquires} slow acquires of the pool)\n{}",
        others.len(),
        others.join("\n")
    );
    println!(
        "{up} calls up at the halt; calls begun before the outage {before}, during it {}, \
         after it {} (the first {first_after} ms after the resume); {} ended during the \
         outage and kept their results; {interrupted} closed as interrupted; {} calls in \
         all, every contact final, the campaign finished {} s after the resume; \
         PostgreSQL started in {pg_took:?}, halt took {} ms, resume {} ms; the API asked during the \
         outage answered {api_status} after {api_took:?}; {} warnings name the database, \
         the first: {}",
        in_outage.len(),
        after.len(),
        ended_in_outage.len(),
        all.len(),
        (finished - resumed) / 1000,
        halted - halt_from,
        resumed - resume_from,
        warned.len(),
        warned[0],
    );
}
