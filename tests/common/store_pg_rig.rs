//! The PostgreSQL store's race tests' rig (`tests/store_pg*.rs`): handles opened as separate
//! nodes have them, a raw pool to count rows, projects always open, calls ended with their
//! plans, the tallies against the rows, an import held open between batches.
#![allow(dead_code)]
#[allow(unused_imports)]
use crate::pg;

use autoinformer::clock::Clock;
use autoinformer::rules::attempts::RetryRule;
use autoinformer::rules::money::Kopecks;
use autoinformer::rules::plan::plan;
use autoinformer::store::postgres::{PgPoolSize, PgStore};
use autoinformer::store::{
    CampaignStore, DialerStore, DueContact, FinishedCall, NewProject, ProjectRow, StoreError,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A handle on the database at `url` with a pool of its own (one node's).
pub async fn open(url: &str) -> PgStore {
    PgStore::open_with_clock(url, PgPoolSize::default(), Clock::System)
        .await
        .expect("opening the PostgreSQL store")
}

/// `n` handles on one database, each opened on its own (separate pools, as separate nodes).
pub async fn nodes(url: &str, n: usize) -> Vec<PgStore> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(open(url).await);
    }
    v
}

/// `n` handles as `n` robot nodes (`PgStore::open_node`, as `serve` opens them): what each
/// claims or starts is its own, under a lease.
pub async fn robot_nodes(url: &str, n: usize) -> Vec<PgStore> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(
            PgStore::open_node(
                url,
                PgPoolSize::default(),
                Clock::System,
                &format!("узел {i}"),
                Duration::from_secs(60),
            )
            .await
            .expect("opening the PostgreSQL store as a node"),
        );
    }
    v
}

/// The node id of a handle opened by `robot_nodes`.
pub fn node_id(s: &PgStore) -> i64 {
    s.node().expect("a registered node").id
}

/// A pool of the test's own on the database, to look at the rows.
pub async fn raw(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .expect("connecting to the test database")
}

pub async fn scenario(s: &PgStore) -> i64 {
    s.create_scenario("Опрос", "name = \"Опрос\"")
        .await
        .unwrap()
}

pub fn csv(text: String) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(text.into_bytes())
}

/// `n` rows with one distinct mobile number each, `+7 (area) i`, from `from`.
pub fn rows(area: u32, from: u64, n: u64) -> String {
    (from..from + n)
        .map(|i| format!("Абонент {i};+7 ({area}) {i:07}\n"))
        .collect()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A project that dials at any hour, with retryable results retried at once (up to the cap).
pub fn always_open(name: &str, scenario_id: i64) -> NewProject {
    let at_once = RetryRule {
        attempts: 2,
        interval_s: 0,
    };
    NewProject {
        name: name.into(),
        scenario_id,
        schedule: vec!["daily 00:00-24:00".into()],
        lines: 50,
        max_calls_per_number: 2,
        retry_rules: BTreeMap::from([
            ("no_answer".to_string(), at_once),
            ("busy".to_string(), at_once),
        ]),
        ..Default::default()
    }
}

pub async fn project_row(s: &PgStore, id: i64) -> ProjectRow {
    s.all_projects()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == id)
        .expect("the project's row")
}

/// A result for call `call`, spread by its id: no answer (6 in 10), busy (1), a person (3).
pub fn result_of(call: i64) -> &'static str {
    match (call as u64).wrapping_mul(2_654_435_761) % 10 {
        0..=5 => "no_answer",
        6 => "busy",
        _ => "Да",
    }
}

/// Writes the end of call `call` as the dialer does (`dialer::calls::finish`): the result
/// recorded on the contact's number, its next plan made with the stop list of now.
pub async fn end_call(
    s: &PgStore,
    p: &ProjectRow,
    mut c: DueContact,
    call: i64,
    result: &str,
) -> Result<(), StoreError> {
    let ended_ms = now_ms();
    let ended = ended_ms.div_euclid(1000);
    let idx = c.next_idx;
    let number = c.numbers[idx].e164.clone();
    c.attempts.record(idx, result, ended, &p.rules);
    let listed = s.stop_listed_among(&c.e164s()).await?;
    let (schedule, types) = (p.schedule(), p.types());
    let mut attempts = c.attempts.clone();
    let next = plan(
        &mut attempts,
        &c.number_facts(&listed, None),
        p.facts(schedule.as_ref(), types.as_ref()),
        c.order_facts(),
        ended,
    );
    let f = FinishedCall {
        call_id: call,
        project_id: p.id,
        contact_id: c.id,
        number: &number,
        result,
        sip_status: None,
        dialed_at_ms: None,
        answered_at_ms: None,
        ended_at_ms: ended_ms,
        ring_ms: None,
        talk_ms: None,
        end_reason: None,
        reaction: None,
        transcript: None,
        captured: "{}".into(),
        amd: None,
        recording: None,
        recording_error: None,
        cost: Kopecks(call % 7),
        attempts: &attempts,
        plan: &next,
        log: vec![("result".into(), result.into())],
        actions: Vec::new(),
        actions_give_up_at: ended_ms + 3_600_000,
        call_json: serde_json::Value::Null,
        transfer: None,
        timeline: None,
    };
    s.finish_call(&f).await
}

/// What the tallies say and what counting the rows says, read in one snapshot:
/// (contacts by tally status, finished calls by result with their cost) twice.
pub type Tallies = (BTreeMap<String, i64>, BTreeMap<String, (i64, i64)>);

pub async fn tallies_and_rows(raw: &PgPool, p: i64) -> (Tallies, Tallies) {
    let mut tx = raw
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .unwrap();
    let mut kept: Tallies = Default::default();
    let mut counted: Tallies = Default::default();
    for r in sqlx::query("SELECT status, n FROM contact_tallies WHERE project_id = $1 AND n <> 0")
        .bind(p)
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    {
        kept.0.insert(r.get(0), r.get(1));
    }
    for r in sqlx::query(
        "SELECT contact_tally_status(removed_at, next_at, status), COUNT(*) FROM contacts \
         WHERE project_id = $1 GROUP BY 1",
    )
    .bind(p)
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    {
        counted.0.insert(r.get(0), r.get(1));
    }
    for r in
        sqlx::query("SELECT result, n, cost_kop FROM call_tallies WHERE project_id = $1 AND n <> 0")
            .bind(p)
            .fetch_all(&mut *tx)
            .await
            .unwrap()
    {
        kept.1.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in sqlx::query(
        "SELECT COALESCE(result, ''), COUNT(*), SUM(cost_kop)::BIGINT FROM calls \
         WHERE project_id = $1 AND state = 'done' GROUP BY 1",
    )
    .bind(p)
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    {
        counted.1.insert(r.get(0), (r.get(1), r.get(2)));
    }
    tx.commit().await.unwrap();
    (kept, counted)
}

/// A reader that hands out `head`, then blocks until told to go on with `tail`.
pub struct Gated {
    pub head: std::io::Cursor<Vec<u8>>,
    pub gate: Option<std::sync::mpsc::Receiver<()>>,
    pub tail: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if let Some(gate) = self.gate.take() {
            // A dropped sender opens the gate as well.
            let _ = gate.recv();
        }
        self.tail.read(buf)
    }
}

pub fn gated(head: String, tail: String) -> (Gated, std::sync::mpsc::Sender<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let r = Gated {
        head: std::io::Cursor::new(head.into_bytes()),
        gate: Some(rx),
        tail: std::io::Cursor::new(tail.into_bytes()),
    };
    (r, tx)
}

pub async fn count(raw: &PgPool, sql: &str, p: i64) -> i64 {
    sqlx::query(sql)
        .bind(p)
        .fetch_one(raw)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

// ---------------------------------------------------------------------------------------------
// 1. The five-active rule.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Activate(i64),
    Pause(i64),
}

/// Runs `ops` at once, one task each, spread over the handles, all released together; a
/// watcher counts the active projects meanwhile. Answers each op's outcome and the most
/// active projects the watcher saw.
pub async fn burst(
    nodes: &Arc<Vec<PgStore>>,
    raw: &PgPool,
    ops: &[Op],
) -> (Vec<(Op, Result<(), StoreError>)>, i64) {
    let go = Arc::new(tokio::sync::Barrier::new(ops.len()));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (raw, stop) = (raw.clone(), stop.clone());
        tokio::spawn(async move {
            // At least one look after the burst, however late this task first runs.
            let mut most = 0;
            loop {
                let last = stop.load(Ordering::SeqCst);
                let n: i64 = sqlx::query("SELECT COUNT(*) FROM projects WHERE status = 'active'")
                    .fetch_one(&raw)
                    .await
                    .unwrap()
                    .get(0);
                most = most.max(n);
                if last {
                    break most;
                }
            }
        })
    };
    let tasks: Vec<_> = ops
        .iter()
        .enumerate()
        .map(|(i, &op)| {
            let (nodes, go) = (nodes.clone(), go.clone());
            tokio::spawn(async move {
                let s = &nodes[i % nodes.len()];
                go.wait().await;
                let r = match op {
                    Op::Activate(id) => s.activate(id).await,
                    Op::Pause(id) => s.pause(id).await,
                };
                (op, r)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(ops.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let most = watcher.await.unwrap();
    (out, most)
}

pub async fn active_ids(raw: &PgPool) -> Vec<i64> {
    sqlx::query("SELECT id FROM projects WHERE status = 'active' ORDER BY id")
        .fetch_all(raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
