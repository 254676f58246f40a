//! Three robot nodes on one PostgreSQL (issue 20 §2), shared by `tests/multinode.rs` (CI size)
//! and `benches/multinode.rs` (any size): three `autoinformer serve` children — distinct data
//! directories, ports and node names, one `AUTOINFORMER_DATABASE_URL` naming a server of this
//! run's own (`scripts/pg.sh`) — on the built-in sim carrier with short rings, a short lease so
//! that take-overs happen within the run. One campaign is made through node A's API: people
//! who press 1 get an SMS (a local fake of SMSC's HTTP API that counts every message per our
//! id) and trigger a webhook; every call's final JSON goes to the project's webhook (a local
//! receiver that counts every delivery per `webhook-id`). Midway node A is killed (SIGKILL)
//! and never comes back, later node B is stopped (SIGTERM) and started again, then the
//! database is stopped for a few seconds and started again. When the campaign has finished
//! and the outbox is drained, everything is read back from the database and checked:
//! - every call closed with a result, every contact final;
//! - no number in two calls at once (across all nodes' calls), no contact over its call cap;
//! - every call the kill cut closed as interrupted by another node; no call of a live node
//!   closed as interrupted (that would be a result lost);
//! - the project's stats count every call row;
//! - each SMS taken at most once by SMSC, every SMS the database calls sent taken by it;
//! - every webhook the database calls done received at least once, none failed; every call
//!   has its webhook row; no action left `queued` or `sending`.
//!
//! The calls run in real time (the sim carrier paces their audio in 20 ms frames: `serve`
//! has no virtual clock); rings, prompts and retry intervals are made short so that many calls
//! fit in little time.
//!
//! Include next to `#[path = ".../tests/common/http.rs"] mod http;`, `.../child.rs` `mod
//! child;` and `.../smsc.rs` `mod smsc;` at the crate's root.
#![allow(dead_code)]
#[path = "multinode_watch.rs"]
mod watch;

use crate::child::{free_addr, root, tone_wav, wait_healthy, Serve};
use crate::smsc::FakeSmsc;
use serde_json::{json, Value};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "multinode-test-token-0123456789";
const LOGIN: &str = "robot";
const PASSWORD: &str = "smsc-password-multinode";
const SECRET: &str = "multinode-webhook-secret-0123456789";
const AGREED: &str = "Согласен";
const REFUSED: &str = "Отказ";

/// The callees by the last digit of their number (the sim carrier's defaults,
/// docs/telephony.md), ten in turn: 40 % press 1 (an SMS and two webhooks), 20 % press 2
/// (RFC 4733), 30 % busy or declined (short rings; tried twice: the call cap), 10 % never
/// answer (the ring timeout; tried twice).
const MIX: [u8; 10] = [5, 1, 5, 2, 6, 5, 0, 1, 5, 6];

/// Calls per contact the mix comes to: 1 for who answers, 2 for the rest.
pub fn calls_per_contact() -> f64 {
    let calls: u32 = MIX
        .iter()
        .map(|d| if matches!(d, 5 | 6) { 1 } else { 2 })
        .sum();
    f64::from(calls) / MIX.len() as f64
}

/// The size of a run and when its faults come.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Contacts in the campaign.
    pub contacts: usize,
    /// Lines per node: the project's `lines` are three times this (counted across nodes).
    pub lines_per_node: u32,
    /// `[store] node_lease_s`.
    pub lease_s: u64,
    /// The faults, as fractions of the calls expected: node A killed, node B restarted, the
    /// database stopped (for `halt_for`).
    pub kill_at: f64,
    pub restart_at: f64,
    pub halt_at: f64,
    pub halt_for: Duration,
    /// How long the campaign may take from its activation, and the outbox after it at most
    /// (it is given up sooner when its backlog stops shrinking).
    pub finish_within: Duration,
    pub drain_within: Duration,
    /// The nodes' log level (`AUTOINFORMER_LOG`).
    pub log_level: String,
}

impl Plan {
    /// Calls the mix comes to.
    pub fn expected_calls(&self) -> f64 {
        self.contacts as f64 * calls_per_contact()
    }
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub contacts: usize,
    /// The project's lines (all nodes together).
    pub lines: u32,
    pub calls: usize,
    /// Calls each node placed, by node name (a restarted node's runs together).
    pub calls_by_node: BTreeMap<String, usize>,
    /// Calls up on node A when it was killed, and how many of them other nodes closed.
    pub cut_by_kill: usize,
    pub taken_over: usize,
    /// Calls up on node B when its graceful stop ended (its grace ran out).
    pub cut_by_stop: usize,
    pub stop_took: Duration,
    /// Calls closed as interrupted in all.
    pub interrupted: usize,
    /// Numbers in two calls at once; contacts over their cap; results lost.
    pub overlaps: usize,
    pub over_cap: usize,
    pub results_lost: usize,
    pub sms_actions: usize,
    /// Messages SMSC took (distinct ids) and ids it took more than once.
    pub sms_sent: usize,
    pub sms_twice: usize,
    pub webhook_actions: usize,
    pub webhooks_done: usize,
    /// Distinct webhooks the receiver got, deliveries beyond the first, done ones never got.
    pub webhooks_received: usize,
    pub webhooks_redelivered: usize,
    pub webhooks_lost: usize,
    /// Outbox rows a stopped node left `sending`, settled by another: SMS looked up at SMSC
    /// (found there: not sent again; not found: sent), others carried out again.
    pub sms_found_at_smsc: i64,
    pub sms_not_found: i64,
    pub actions_redone: i64,
    /// Actions left `queued` or `sending` after the drain.
    pub actions_pending: usize,
    pub stats_calls: i64,
    /// The calls' mean length (dial to end) and the lines they kept busy on average.
    pub mean_call: Duration,
    pub mean_lines_busy: f64,
    /// Calls placed when each fault came.
    pub calls_at_kill: i64,
    pub calls_at_restart: i64,
    pub calls_at_halt: i64,
    /// When each fault came, from the activation.
    pub kill_after: Duration,
    pub restart_after: Duration,
    pub halt_after: Duration,
    pub halt_took: Duration,
    /// From the activation to `finished`, and to the outbox drained.
    pub campaign_time: Duration,
    pub drain_time: Duration,
    pub total_time: Duration,
    /// Every invariant that did not hold, in words.
    pub problems: Vec<String>,
}

impl Figures {
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.campaign_time.as_secs_f64().max(1e-9)
    }

    /// The figures as the run prints them.
    pub fn report(&self) -> String {
        let by_node: Vec<String> = self
            .calls_by_node
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        format!(
            "3 nodes on one PostgreSQL, sim carrier: {contacts} contacts, {calls} calls \
             ({cps:.1} calls/s, {cpm:.0} calls/min over {campaign:.1} s of campaign)\n\
             calls per node (as placed): {by_node}\n\
             mean call {mean_call:.2} s (dial to end), lines busy on average {busy:.0} of \
             {lines}\n\
             node A killed (SIGKILL) at {kill_s:.1} s, {at_kill} calls: {cut} calls up, {taken} \
             closed as interrupted by another node\n\
             node B restarted (SIGTERM, start) at {restart_s:.1} s, {at_restart} calls: its \
             stop took {stop:.1} s, {cut_stop} calls cut by it\n\
             database stopped at {halt_s:.1} s, {at_halt} calls, for {halt:.1} s (halt, \
             wait, resume)\n\
             calls closed as interrupted: {interrupted}; results lost: {lost}\n\
             numbers dialed twice at once: {overlaps}; contacts over their call cap: {over}\n\
             stats count {stats} calls for {calls} rows\n\
             SMS: {sms_actions} actions, {sms_sent} taken by SMSC, sent twice: {twice}\n\
             webhooks: {wh} actions, {wh_done} done, {wh_got} received ({redelivered} \
             deliveries again with the same id), lost: {wh_lost}\n\
             outbox rows a stopped node left sending: {found} SMS found at SMSC (not sent \
             again), {not_found} not found (sent), {redone} webhooks carried out again\n\
             actions left queued or sending: {pending}\n\
             time: campaign {campaign:.1} s, outbox drained {drain:.1} s after it, run \
             {total:.1} s\n\
             problems: {problems}",
            contacts = self.contacts,
            calls = self.calls,
            cps = self.calls_per_second(),
            cpm = self.calls_per_second() * 60.0,
            campaign = self.campaign_time.as_secs_f64(),
            by_node = by_node.join(", "),
            mean_call = self.mean_call.as_secs_f64(),
            busy = self.mean_lines_busy,
            lines = self.lines,
            at_kill = self.calls_at_kill,
            kill_s = self.kill_after.as_secs_f64(),
            restart_s = self.restart_after.as_secs_f64(),
            halt_s = self.halt_after.as_secs_f64(),
            cut = self.cut_by_kill,
            taken = self.taken_over,
            at_restart = self.calls_at_restart,
            stop = self.stop_took.as_secs_f64(),
            cut_stop = self.cut_by_stop,
            at_halt = self.calls_at_halt,
            halt = self.halt_took.as_secs_f64(),
            interrupted = self.interrupted,
            lost = self.results_lost,
            overlaps = self.overlaps,
            over = self.over_cap,
            stats = self.stats_calls,
            sms_actions = self.sms_actions,
            sms_sent = self.sms_sent,
            twice = self.sms_twice,
            wh = self.webhook_actions,
            wh_done = self.webhooks_done,
            wh_got = self.webhooks_received,
            redelivered = self.webhooks_redelivered,
            wh_lost = self.webhooks_lost,
            found = self.sms_found_at_smsc,
            not_found = self.sms_not_found,
            redone = self.actions_redone,
            pending = self.actions_pending,
            drain = self.drain_time.as_secs_f64(),
            total = self.total_time.as_secs_f64(),
            problems = if self.problems.is_empty() {
                "none".to_string()
            } else {
                // The first 30 and the last (where the logs are kept): a stalled outbox
                // names thousands of rows.
                let shown: Vec<&str> = self
                    .problems
                    .iter()
                    .take(30)
                    .chain(self.problems.iter().skip(30).last())
                    .map(String::as_str)
                    .collect();
                format!("{}\n  {}", self.problems.len(), shown.join("\n  "))
            },
        )
    }
}

/// A PostgreSQL server of this run's own (`scripts/pg.sh start`), stopped and removed when
/// dropped (a failing run leaves nothing behind, halted or not).
pub struct PgServer {
    dir: PathBuf,
    pub url: String,
}

fn pg_sh(cmd: &str, dir: &Path) -> std::process::Output {
    Command::new(root().join("scripts/pg.sh"))
        .arg(cmd)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/pg.sh")
}

impl PgServer {
    pub fn start(dir: &Path) -> Self {
        let out = pg_sh("start", dir);
        assert!(
            out.status.success(),
            "scripts/pg.sh start failed (this runs its own PostgreSQL as the postgres user: it \
             needs PostgreSQL installed and root, as CI has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(url.starts_with("postgres://"), "pg.sh printed {url:?}");
        Self {
            dir: dir.to_path_buf(),
            url,
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = pg_sh("stop", &self.dir);
    }
}

/// One robot node: a `serve` child with its own data directory, port and name.
struct Node {
    name: String,
    data: PathBuf,
    addr: SocketAddr,
    log: PathBuf,
    child: Option<Serve>,
}

impl Node {
    fn new(dir: &Path, name: &str) -> Self {
        Self {
            name: name.to_string(),
            data: dir.join(format!("data-{name}")),
            addr: free_addr(),
            log: dir.join(format!("{name}.log")),
            child: None,
        }
    }

    fn start(&mut self, config: &Path, url: &str, level: &str) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the log file opens");
        let child = Command::new(env!("CARGO_BIN_EXE_autoinformer"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data")
            .arg(&self.data)
            .arg("--listen")
            .arg(self.addr.to_string())
            .env("AUTOINFORMER_ADMIN_TOKEN", TOKEN)
            .env("AUTOINFORMER_DATABASE_URL", url)
            .env("AUTOINFORMER_STORE_NODE_NAME", &self.name)
            .env("AUTOINFORMER_LOG", level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("serve starts");
        self.child = Some(Serve(child));
    }

    fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.0.try_wait().ok().flatten().is_none())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// What the webhook receiver got: deliveries per `webhook-id`.
type Hooks = Arc<Mutex<HashMap<String, usize>>>;

/// How long the webhook receiver and SMSC take to answer.
const RECEIVER_DELAY: Duration = Duration::from_millis(150);

/// A webhook receiver on 127.0.0.1 that answers 200 to everything and counts.
async fn receiver() -> (SocketAddr, Hooks) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got: Hooks = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                continue;
            };
            let g = g.clone();
            tokio::spawn(async move {
                let Some(r) = crate::smsc::read_request(&mut sock).await else {
                    return;
                };
                let id = r.headers.get("webhook-id").cloned().unwrap_or_default();
                *g.lock().unwrap().entry(id).or_default() += 1;
                // A receiver that takes a moment: webhooks are in flight (`sending`) when a
                // node is killed.
                tokio::time::sleep(RECEIVER_DELAY).await;
                crate::smsc::answer(&mut sock, "200 OK", "{}").await;
            });
        }
    });
    (addr, got)
}

fn scenario(hook: SocketAddr) -> String {
    format!(
        r#"name = "Несколько узлов"
results = ["{AGREED}", "{REFUSED}"]
start = "question"

[steps.question]
play = ["mn_question.wav"]
listen = {{ dtmf = true, wait_s = 4 }}
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "{AGREED}"
actions = [{{ sms = "{{name}}, спасибо за согласие!" }}, {{ webhook = "http://{hook}/agreed" }}]
next = "thanks"

[[steps.question.on]]
dtmf = "2"
result = "{REFUSED}"
next = "thanks"

[steps.thanks]
play = ["mn_thanks.wav"]
"#
    )
}

fn config(dir: &Path, plan: &Plan, smsc: &FakeSmsc) -> PathBuf {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "demo = false\nprompts = {prompts:?}\nmodel = {model:?}\n\
             [calls]\nring_timeout_s = 2\nrecord = false\namd = false\n\
             learn_greetings = false\n\
             [dialer]\npass_ms = 200\nshutdown_grace_s = 20\n\
             [store]\nnode_lease_s = {lease}\ndialer_connections = 4\n\
             [trunk.sim]\nring_min_s = 0.0\nring_max_s = 0.3\n\
             [sms.smsc]\nurl = {url:?}\nlogin = {LOGIN:?}\npassword = {PASSWORD:?}\n\
             sender = \"Robot\"\nmax_parallel = 4\ntimeout_s = 3\n\
             [webhooks]\nallow_private = true\ntimeout_s = 3\n",
            prompts = root().join("prompts"),
            model = dir.join("no-model"),
            lease = plan.lease_s,
            url = smsc.url(),
        ),
    )
    .unwrap();
    path
}

async fn api(addr: SocketAddr, method: &str, path: &str, ct: Option<&str>, body: &[u8]) -> Value {
    crate::child::call(addr, TOKEN, method, path, ct, body).await
}

/// The run's own view of the database: connections made again after the outage.
async fn db(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(true)
        .connect(url)
        .await
        .expect("the database opens")
}

async fn scalar(pool: &PgPool, sql: &str) -> Option<i64> {
    sqlx::query_scalar(sql).fetch_one(pool).await.ok()
}

/// The current node row (the newest run) of a node name.
async fn node_id(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM nodes WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn dialing_of(pool: &PgPool, node: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM calls WHERE state = 'dialing' AND owner_node = $1")
        .bind(node)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// One call as the database has it.
#[derive(Debug, Clone)]
struct CallRow {
    id: i64,
    contact_id: i64,
    number: String,
    state: String,
    result: Option<String>,
    started_at: i64,
    dialed_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    end_reason: Option<String>,
    owner: Option<String>,
}

impl CallRow {
    /// When the call began, in unix ms (its dial time, else its start's second).
    fn began_ms(&self) -> i64 {
        self.dialed_at_ms.unwrap_or(self.started_at * 1000)
    }

    fn interrupted(&self) -> bool {
        self.end_reason
            .as_deref()
            .is_some_and(|w| w.contains("interrupted"))
    }
}

async fn calls(pool: &PgPool, p: i64) -> Vec<CallRow> {
    sqlx::query(
        "SELECT c.id, c.contact_id, c.number, c.state, c.result, c.started_at, c.dialed_at_ms, \
         c.ended_at_ms, c.end_reason, n.name FROM calls c \
         LEFT JOIN nodes n ON n.id = c.owner_node WHERE c.project_id = $1 ORDER BY c.id",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| CallRow {
        id: r.get(0),
        contact_id: r.get(1),
        number: r.get(2),
        state: r.get(3),
        result: r.get(4),
        started_at: r.get(5),
        dialed_at_ms: r.get(6),
        ended_at_ms: r.get(7),
        end_reason: r.get(8),
        owner: r.get(9),
    })
    .collect()
}

/// Runs the whole scenario; panics only when it cannot run (a server that does not start),
/// and answers every invariant that does not hold in `problems`.
pub async fn run(plan: &Plan) -> Figures {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pg = PgServer::start(&dir.path().join("pg"));
    let smsc = FakeSmsc::start(LOGIN, PASSWORD).await;
    // SMSC takes a moment too: SMS are in flight when a node is killed (the node that takes
    // its work over looks them up at SMSC instead of sending them again).
    smsc.set_mode(crate::smsc::Mode::Slow(RECEIVER_DELAY));
    let (hook, hooks) = receiver().await;
    let config = config(dir.path(), plan, &smsc);
    let mut nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
        .iter()
        .map(|n| Node::new(dir.path(), n))
        .collect();
    // Node A first: it creates the schema; then the other two on it.
    nodes[0].start(&config, &pg.url, &plan.log_level);
    wait_healthy(nodes[0].addr).await;
    for n in &mut nodes[1..] {
        n.start(&config, &pg.url, &plan.log_level);
    }
    for n in &nodes[1..] {
        wait_healthy(n.addr).await;
    }
    // The prompts through every node's API (each keeps the files it plays in its own data
    // directory; a restarted node gets them back from the database).
    for n in &nodes {
        for (name, ms, hz) in [
            ("mn_question.wav", 1000, 440.0),
            ("mn_thanks.wav", 400, 660.0),
        ] {
            api(
                n.addr,
                "PUT",
                &format!("/api/v1/prompts/{name}"),
                None,
                &tone_wav(ms, hz),
            )
            .await;
        }
    }
    let a = nodes[0].addr;
    let sc = api(
        a,
        "POST",
        "/api/v1/scenarios",
        Some("application/toml"),
        scenario(hook).as_bytes(),
    )
    .await["id"]
        .clone();
    let quick = json!({"attempts": 2, "interval_s": 1});
    let p = api(
        a,
        "POST",
        "/api/v1/projects",
        Some("application/json"),
        json!({
            "name": "Несколько узлов", "scenario_id": sc, "schedule": ["daily 00:00-24:00"],
            "lines": plan.lines_per_node * 3, "max_calls_per_number": 2,
            "retry_rules": {"system": quick, "no_answer": quick, "busy": quick,
                            "rejected": quick},
            "webhook_url": format!("http://{hook}/calls"), "webhook_secret": SECRET,
        })
        .to_string()
        .as_bytes(),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("ФИО;Телефон\n");
    for i in 0..plan.contacts {
        csv.push_str(&format!("Абонент {i};+7999{i:06}{}\n", MIX[i % MIX.len()]));
    }
    let r = api(
        a,
        "POST",
        &format!("/api/v1/projects/{p}/contacts"),
        Some("text/csv"),
        csv.as_bytes(),
    )
    .await;
    assert_eq!(r["imported"], plan.contacts, "{r}");
    drop(csv);
    let pool = db(&pg.url).await;
    let node_a = node_id(&pool, "node-a").await;
    api(
        a,
        "POST",
        &format!("/api/v1/projects/{p}/activate"),
        None,
        b"",
    )
    .await;
    let activated = Instant::now();

    let mut f = Figures {
        contacts: plan.contacts,
        lines: plan.lines_per_node * 3,
        ..Default::default()
    };
    let expected = plan.expected_calls();
    let count_sql = format!("SELECT count(*) FROM calls WHERE project_id = {p}");
    let status_sql = format!(
        "SELECT CASE WHEN status = 'finished' THEN 1 ELSE 0 END::BIGINT FROM projects WHERE id = {p}"
    );
    let mut cut_by_kill: HashSet<i64> = HashSet::new();
    let mut cut_by_stop: HashSet<i64> = HashSet::new();
    let (mut killed, mut restarted, mut halted) = (false, false, false);
    let mut pool = pool;
    let mut shown = Instant::now();
    loop {
        watch::progress(&pool, p, activated, &mut shown, "campaign").await;
        let placed = scalar(&pool, &count_sql).await;
        let finished = scalar(&pool, &status_sql).await == Some(1);
        let n = placed.unwrap_or(0);
        if !killed && (n as f64 >= plan.kill_at * expected || finished) {
            killed = true;
            f.calls_at_kill = n;
            f.kill_after = activated.elapsed();
            if let Some(c) = nodes[0].child.as_mut() {
                c.kill();
            }
            cut_by_kill = dialing_of(&pool, node_a).await.into_iter().collect();
        } else if killed && !restarted && (n as f64 >= plan.restart_at * expected || finished) {
            restarted = true;
            f.calls_at_restart = n;
            f.restart_after = activated.elapsed();
            let node_b = node_id(&pool, "node-b").await;
            let mut child = nodes[1].child.take().expect("node B runs");
            let t = Instant::now();
            let child = tokio::task::spawn_blocking(move || {
                child.terminate();
                child
            })
            .await
            .unwrap();
            f.stop_took = t.elapsed();
            drop(child);
            cut_by_stop = dialing_of(&pool, node_b).await.into_iter().collect();
            nodes[1].start(&config, &pg.url, &plan.log_level);
            wait_healthy(nodes[1].addr).await;
        } else if restarted && !halted && (n as f64 >= plan.halt_at * expected || finished) {
            halted = true;
            f.calls_at_halt = n;
            f.halt_after = activated.elapsed();
            pool.close().await;
            let t = Instant::now();
            let (pg_dir, halt_for) = (pg.dir.clone(), plan.halt_for);
            tokio::task::spawn_blocking(move || {
                let out = pg_sh("halt", &pg_dir);
                assert!(out.status.success(), "pg.sh halt: {out:?}");
                std::thread::sleep(halt_for);
                let out = pg_sh("resume", &pg_dir);
                assert!(out.status.success(), "pg.sh resume: {out:?}");
            })
            .await
            .unwrap();
            f.halt_took = t.elapsed();
            pool = db(&pg.url).await;
        } else if finished && halted {
            break;
        }
        for n in &mut nodes[1..] {
            if n.child.is_some() && !n.alive() {
                panic!("{} died; its log:\n{}", n.name, tail(&n.log_text(), 60));
            }
        }
        if activated.elapsed() > plan.finish_within {
            let open = scalar(
                &pool,
                &format!("SELECT count(*) FROM calls WHERE project_id = {p} AND state = 'dialing'"),
            )
            .await;
            let why: Vec<String> = sqlx::query(&format!(
                "SELECT 'project ' || status || ' ' || COALESCE(status_reason, '') \
                   FROM projects WHERE id = {p} \
                 UNION ALL SELECT 'contacts ' || status || ': ' || count(*) FROM contacts \
                   WHERE project_id = {p} GROUP BY status \
                 UNION ALL SELECT 'import ' || id || ' ' || state FROM imports \
                   WHERE project_id = {p} \
                 UNION ALL SELECT 'last call ended ' || (db_now_ms() - max(ended_at_ms)) || \
                   ' ms ago' FROM calls WHERE project_id = {p}"
            ))
            .fetch_all(&pool)
            .await
            .map(|rows| rows.iter().map(|r| r.get::<String, _>(0)).collect())
            .unwrap_or_default();
            f.problems.push(format!(
                "the campaign did not finish within {:?}: {n} calls placed, {open:?} up; {}",
                plan.finish_within,
                why.join("; ")
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    f.campaign_time = activated.elapsed();

    // The outbox drains (it trails the campaign a little).
    let drained = Instant::now();
    let pending_sql = format!(
        "SELECT count(*) FROM actions WHERE project_id = {p} AND status IN ('queued', 'sending')"
    );
    // A backlog the campaign built up (the outbox trails the dialer when the machine is
    // busy) drains as long as it shrinks: the run waits while it does, up to `drain_within`,
    // and gives up after `DRAIN_STALL` without progress.
    let (mut least, mut least_at) = (i64::MAX, Instant::now());
    loop {
        watch::progress(&pool, p, activated, &mut shown, "outbox").await;
        let left = scalar(&pool, &pending_sql).await.unwrap_or(-1);
        if left >= 0 && left < least {
            (least, least_at) = (left, Instant::now());
        }
        if left == 0
            || drained.elapsed() > plan.drain_within
            || least_at.elapsed() > watch::DRAIN_STALL
        {
            f.actions_pending = left.max(0) as usize;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    f.drain_time = drained.elapsed();
    if f.actions_pending > 0 {
        let rows: Vec<String> = sqlx::query(&format!(
            "SELECT a.id, a.kind, a.status, a.attempts, a.last_error, n.name, a.call_id \
             FROM actions a LEFT JOIN nodes n ON n.id = a.owner_node \
             WHERE a.project_id = {p} AND a.status IN ('queued', 'sending') ORDER BY a.id \
             LIMIT 20"
        ))
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "action {} ({}, call {}) {} after {} attempts, owner {:?}, last error {:?}",
                r.get::<i64, _>(0),
                r.get::<String, _>(1),
                r.get::<i64, _>(6),
                r.get::<String, _>(2),
                r.get::<i64, _>(3),
                r.get::<Option<String>, _>(5),
                r.get::<Option<String>, _>(4),
            )
        })
        .collect();
        f.problems.push(format!(
            "{} actions left queued or sending {:?} after the campaign: {}",
            f.actions_pending,
            plan.drain_within,
            rows.join("; ")
        ));
    }
    let stats = api(
        nodes[2].addr,
        "GET",
        &format!("/api/v1/projects/{p}/stats"),
        None,
        b"",
    )
    .await;
    f.stats_calls = stats["calls"].as_i64().unwrap_or(-1);

    check(&pool, p, node_a, &cut_by_kill, &cut_by_stop, &mut f).await;
    check_outbox(&pool, p, &smsc, &hooks, &mut f).await;
    for n in &nodes {
        let log = n.log_text();
        if log.contains("panicked") {
            f.problems
                .push(format!("{} logged a panic:\n{}", n.name, tail(&log, 40)));
        }
    }
    for n in &mut nodes[1..] {
        if let Some(mut c) = n.child.take() {
            tokio::task::spawn_blocking(move || c.terminate())
                .await
                .unwrap();
        }
    }
    if !f.problems.is_empty() {
        let logs: Vec<PathBuf> = nodes.iter().map(|n| n.log.clone()).collect();
        let kept = watch::keep_logs(&root(), &logs);
        f.problems
            .push(format!("the nodes' logs are kept in {}", kept.display()));
    }
    pool.close().await;
    drop(pg);
    f.total_time = began.elapsed();
    f
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The calls' invariants.
async fn check(
    pool: &PgPool,
    p: i64,
    node_a: i64,
    cut_by_kill: &HashSet<i64>,
    cut_by_stop: &HashSet<i64>,
    f: &mut Figures,
) {
    let all = calls(pool, p).await;
    f.calls = all.len();
    f.cut_by_kill = cut_by_kill.len();
    f.cut_by_stop = cut_by_stop.len();
    if f.stats_calls != all.len() as i64 {
        f.problems.push(format!(
            "the stats count {} calls, the database has {}",
            f.stats_calls,
            all.len()
        ));
    }
    let mut by_number: HashMap<&str, Vec<&CallRow>> = HashMap::new();
    let mut by_contact: HashMap<i64, usize> = HashMap::new();
    for c in &all {
        if c.state != "done" || c.result.is_none() || c.ended_at_ms.is_none() {
            f.problems.push(format!("a call left open: {c:?}"));
        }
        by_number.entry(&c.number).or_default().push(c);
        *by_contact.entry(c.contact_id).or_default() += 1;
        // Who placed it: its owner, unless a fault cut it (then another node closed it).
        let placed_by = if cut_by_kill.contains(&c.id) {
            "node-a".to_string()
        } else if cut_by_stop.contains(&c.id) {
            "node-b".to_string()
        } else {
            c.owner.clone().unwrap_or_else(|| "(none)".into())
        };
        *f.calls_by_node.entry(placed_by).or_default() += 1;
        if c.interrupted() {
            f.interrupted += 1;
            if !cut_by_kill.contains(&c.id) && !cut_by_stop.contains(&c.id) {
                f.results_lost += 1;
                if f.results_lost <= 10 {
                    f.problems.push(format!(
                        "a call of a live node closed as interrupted (its result lost): {c:?}"
                    ));
                }
            }
        }
    }
    for id in cut_by_kill {
        let Some(c) = all.iter().find(|c| c.id == *id) else {
            continue;
        };
        let by_other = c.owner.as_deref().is_some_and(|o| o != "node-a");
        if c.state == "done" && c.interrupted() && by_other {
            f.taken_over += 1;
        } else {
            f.problems.push(format!(
                "a call the kill of node A (node {node_a}) cut was not closed as interrupted \
                 by another node: {c:?}"
            ));
        }
    }
    let talk_ms: i64 = all
        .iter()
        .filter_map(|c| c.ended_at_ms.map(|e| (e - c.began_ms()).max(0)))
        .sum();
    f.mean_call = Duration::from_millis((talk_ms / all.len().max(1) as i64) as u64);
    f.mean_lines_busy = talk_ms as f64 / 1000.0 / f.campaign_time.as_secs_f64().max(1e-9);
    for (number, cs) in &mut by_number {
        cs.sort_by_key(|c| (c.began_ms(), c.id));
        for w in cs.windows(2) {
            let (a, b) = (w[0], w[1]);
            let overlap = match a.ended_at_ms {
                Some(end) => b.began_ms() < end,
                None => true,
            };
            if overlap {
                f.overlaps += 1;
                if f.overlaps <= 10 {
                    f.problems.push(format!(
                        "{number} dialed again while a call was up: {a:?} then {b:?}"
                    ));
                }
            }
        }
    }
    for (contact, n) in &by_contact {
        if *n > 2 {
            f.over_cap += 1;
            if f.over_cap <= 10 {
                f.problems
                    .push(format!("contact {contact} has {n} calls (cap 2)"));
            }
        }
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM contacts WHERE project_id = $1 \
         AND status NOT IN ('reached', 'not_reached')",
    )
    .bind(p)
    .fetch_one(pool)
    .await
    .unwrap();
    if open > 0 {
        f.problems
            .push(format!("{open} contacts not in a final status"));
    }
    let uncalled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM contacts t WHERE t.project_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.contact_id = t.id)",
    )
    .bind(p)
    .fetch_one(pool)
    .await
    .unwrap();
    if uncalled > 0 {
        f.problems.push(format!("{uncalled} contacts never called"));
    }
    // Each node dialed its part: node A (killed) a tenth at least of the calls placed while it
    // was up, B and C a tenth at least of all (a fair share is a third).
    let placed = |n: &str| f.calls_by_node.get(n).copied().unwrap_or(0) as f64;
    if placed("node-a") < 0.1 * f.calls_at_kill as f64
        || placed("node-b") < 0.1 * all.len() as f64
        || placed("node-c") < 0.1 * all.len() as f64
    {
        f.problems.push(format!(
            "the calls were not spread over the three nodes: {:?} ({} placed before node A \
             was killed)",
            f.calls_by_node, f.calls_at_kill
        ));
    }
}

/// The outbox's invariants: SMS at most once, webhooks at least once, nothing lost.
async fn check_outbox(pool: &PgPool, p: i64, smsc: &FakeSmsc, hooks: &Hooks, f: &mut Figures) {
    let rows = sqlx::query(
        "SELECT id, call_id, idx, kind, status, payload::json->>'url' FROM actions \
         WHERE project_id = $1 ORDER BY id",
    )
    .bind(p)
    .fetch_all(pool)
    .await
    .unwrap();
    let counts = smsc.counts();
    let got = hooks.lock().unwrap().clone();
    f.sms_sent = counts.len();
    f.sms_twice = smsc.duplicates().len();
    if f.sms_twice > 0 {
        f.problems.push(format!(
            "SMS taken more than once by SMSC (outbox rows): {:?}",
            smsc.duplicates().iter().take(20).collect::<Vec<_>>()
        ));
    }
    let mut sms_rows = HashSet::new();
    for r in &rows {
        let (id, call, idx): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
        let (kind, status): (String, String) = (r.get(3), r.get(4));
        match kind.as_str() {
            "sms" => {
                f.sms_actions += 1;
                sms_rows.insert(id.to_string());
                let taken = counts.get(&id.to_string()).copied().unwrap_or(0);
                match status.as_str() {
                    "sent" | "delivered" if taken == 1 => {}
                    "failed" => f.problems.push(format!("SMS action {id} failed")),
                    _ => f.problems.push(format!(
                        "SMS action {id} is {status}, SMSC took it {taken} times"
                    )),
                }
            }
            "webhook" => {
                f.webhook_actions += 1;
                let key = format!("call-{call}-action-{idx}");
                let n = got.get(&key).copied().unwrap_or(0);
                if n > 0 {
                    f.webhooks_received += 1;
                    f.webhooks_redelivered += n - 1;
                }
                match status.as_str() {
                    "done" => {
                        f.webhooks_done += 1;
                        if n == 0 {
                            f.webhooks_lost += 1;
                            f.problems.push(format!(
                                "webhook {key} (action {id}) is done and was never received"
                            ));
                        }
                    }
                    _ => {
                        f.webhooks_lost += 1;
                        f.problems
                            .push(format!("webhook {key} (action {id}) is {status}"));
                    }
                }
            }
            _ => {}
        }
    }
    for row in counts.keys() {
        if !sms_rows.contains(row) {
            f.problems
                .push(format!("SMSC took a message of no SMS action: row {row}"));
        }
    }
    // Every call has the project's webhook; every agreement its SMS.
    let no_hook: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls c WHERE c.project_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM actions a WHERE a.call_id = c.id AND a.kind = 'webhook' \
          AND a.payload::json->>'url' LIKE '%/calls')",
    )
    .bind(p)
    .fetch_one(pool)
    .await
    .unwrap();
    if no_hook > 0 {
        f.webhooks_lost += no_hook as usize;
        f.problems
            .push(format!("{no_hook} calls without their webhook"));
    }
    let notes = |like: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(DISTINCT t.action_id) FROM action_attempts t \
             JOIN actions a ON a.id = t.action_id WHERE a.project_id = $1 AND t.error LIKE $2",
        )
        .bind(p)
        .bind(like)
        .fetch_one(pool)
    };
    f.sms_found_at_smsc = notes("%SMSC has it: not sent again%").await.unwrap();
    f.sms_not_found = notes("%SMSC does not have it%").await.unwrap();
    f.actions_redone = notes("interrupted%carried out again%").await.unwrap();
    let no_sms: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls c WHERE c.project_id = $1 AND c.result = $2 \
         AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.call_id = c.id AND a.kind = 'sms')",
    )
    .bind(p)
    .bind(AGREED)
    .fetch_one(pool)
    .await
    .unwrap();
    if no_sms > 0 {
        f.problems
            .push(format!("{no_sms} agreements without their SMS"));
    }
}
