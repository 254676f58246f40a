//! The PostgreSQL store's concurrency guarantees, raced for real (issue 20). PostgreSQL runs
//! transactions side by side (READ COMMITTED) where SQLite has one writer, so the port takes
//! advisory locks (`store::postgres::lock_key`) and claims rows `FOR UPDATE SKIP LOCKED`. Every
//! test here runs several `PgStore` handles on one database — each opened on its own, with a
//! pool of its own, as separate nodes have them (registered as robot nodes, `open_node`, where
//! the work is a node's own: outbox claims, calls) — at once on a multi-thread runtime, at the
//! scale users have, and then checks the rows themselves:
//!
//! 1. the five-active rule: twenty activations at once, then rounds of pauses, re-activations
//!    and activations racing: never more than five active, each refusal `TooManyActive`;
//! 2. the outbox: thousands of actions claimed by twelve workers on six handles in small
//!    batches, then their delivery polls the same way: each taken exactly once;
//! 3. the dialer's bookkeeping on three handles (next_callable → start_calls → finish_call),
//!    with an import and a stop-list addition in the middle: no contact in two calls at once,
//!    none over its cap, every attempt counted, no listed number dialed after its listing, no
//!    contact of a running import dialed, never more calls up than the project's lines, the
//!    tallies equal to counting the rows;
//! 4. imports on two handles into two projects at once, a third into one of them (a
//!    conflict), copies and inserts numbered by the identity meanwhile: no contact id collides;
//! 5. `stats` is one snapshot while calls end around it.
//!
//! Each would fail were its guard taken away; tried on a copy of the store with the guard
//! removed: the five-active rule without `lock_key::ACTIVATION` (6 to 9 active), the claims
//! without `FOR UPDATE SKIP LOCKED` and the re-check of the state (claims deadlock), parks
//! without their compare-and-set on the version (a contact started while in a call), import
//! ids as `MAX(id) + 1` (duplicate keys), `stats` in READ COMMITTED (torn reads).
//!
//! The database: `pg::fresh_database` (a server of this process's own unless
//! `AUTOINFORMER_TEST_PG` names one).
#[path = "common/pg.rs"]
mod pg;

use autoinformer::clock::Clock;
use autoinformer::import::ImportLimits;
use autoinformer::rules::attempts::{ContactStatus, RetryRule};
use autoinformer::rules::money::Kopecks;
use autoinformer::rules::plan::plan;
use autoinformer::store::postgres::{PgPoolSize, PgStore};
use autoinformer::store::{
    ActionKind, CampaignStore, DialerStore, DueContact, FinishedCall, NewProject, OutboxStore,
    ProjectRow, ReportStore, StartCall, StoreError,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A handle on the database at `url` with a pool of its own (one node's).
async fn open(url: &str) -> PgStore {
    PgStore::open_with_clock(url, PgPoolSize::default(), Clock::System)
        .await
        .expect("opening the PostgreSQL store")
}

/// `n` handles on one database, each opened on its own (separate pools, as separate nodes).
async fn nodes(url: &str, n: usize) -> Vec<PgStore> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(open(url).await);
    }
    v
}

/// `n` handles as `n` robot nodes (`PgStore::open_node`, as `serve` opens them): what each
/// claims or starts is its own, under a lease.
async fn robot_nodes(url: &str, n: usize) -> Vec<PgStore> {
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
fn node_id(s: &PgStore) -> i64 {
    s.node().expect("a registered node").id
}

/// A pool of the test's own on the database, to look at the rows.
async fn raw(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .expect("connecting to the test database")
}

async fn scenario(s: &PgStore) -> i64 {
    s.create_scenario("Опрос", "name = \"Опрос\"")
        .await
        .unwrap()
}

fn csv(text: String) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(text.into_bytes())
}

/// `n` rows with one distinct mobile number each, `+7 (area) i`, from `from`.
fn rows(area: u32, from: u64, n: u64) -> String {
    (from..from + n)
        .map(|i| format!("Абонент {i};+7 ({area}) {i:07}\n"))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A project that dials at any hour, with retryable results retried at once (up to the cap).
fn always_open(name: &str, scenario_id: i64) -> NewProject {
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

async fn project_row(s: &PgStore, id: i64) -> ProjectRow {
    s.all_projects()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == id)
        .expect("the project's row")
}

/// A result for call `call`, spread by its id: no answer (6 in 10), busy (1), a person (3).
fn result_of(call: i64) -> &'static str {
    match (call as u64).wrapping_mul(2_654_435_761) % 10 {
        0..=5 => "no_answer",
        6 => "busy",
        _ => "Да",
    }
}

/// Writes the end of call `call` as the dialer does (`dialer::calls::finish`): the result
/// recorded on the contact's number, its next plan made with the stop list of now.
async fn end_call(
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
type Tallies = (BTreeMap<String, i64>, BTreeMap<String, (i64, i64)>);

async fn tallies_and_rows(raw: &PgPool, p: i64) -> (Tallies, Tallies) {
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
struct Gated {
    head: std::io::Cursor<Vec<u8>>,
    gate: Option<std::sync::mpsc::Receiver<()>>,
    tail: std::io::Cursor<Vec<u8>>,
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

fn gated(head: String, tail: String) -> (Gated, std::sync::mpsc::Sender<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let r = Gated {
        head: std::io::Cursor::new(head.into_bytes()),
        gate: Some(rx),
        tail: std::io::Cursor::new(tail.into_bytes()),
    };
    (r, tx)
}

async fn count(raw: &PgPool, sql: &str, p: i64) -> i64 {
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
enum Op {
    Activate(i64),
    Pause(i64),
}

/// Runs `ops` at once, one task each, spread over the handles, all released together; a
/// watcher counts the active projects meanwhile. Answers each op's outcome and the most
/// active projects the watcher saw.
async fn burst(
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

async fn active_ids(raw: &PgPool) -> Vec<i64> {
    sqlx::query("SELECT id FROM projects WHERE status = 'active' ORDER BY id")
        .fetch_all(raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_more_than_five_projects_are_active_when_activations_race_on_four_handles() {
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    let mut ids = Vec::new();
    let mut name_of = HashMap::new();
    for i in 0..20u64 {
        let name = format!("Кампания {i:02}");
        let id = api
            .create_project(&NewProject {
                name: name.clone(),
                scenario_id: sc,
                ..Default::default()
            })
            .await
            .unwrap();
        let r = api
            .import_csv(
                id,
                csv(format!("ФИО;Телефон\n{}", rows(916, i * 10, 3))),
                ImportLimits::default(),
            )
            .await
            .unwrap();
        assert_eq!(r.imported, 3, "{r:?}");
        ids.push(id);
        name_of.insert(id, name);
    }
    let nodes = Arc::new(nodes(&url, 4).await);
    // Each handle's pool opens its connections now, so the activations below meet at the
    // database instead of queueing behind new connections.
    let mut warm = tokio::task::JoinSet::new();
    for s in nodes.iter() {
        for _ in 0..6 {
            let s = s.clone();
            warm.spawn(async move { s.project_count().await.unwrap() });
        }
    }
    while let Some(r) = warm.join_next().await {
        r.unwrap();
    }
    let raw = raw(&url).await;
    let names =
        |active: &[i64]| -> Vec<String> { active.iter().map(|id| name_of[id].clone()).collect() };

    // Round 0: all twenty at once: exactly five win, fifteen are refused naming those five.
    let ops: Vec<Op> = ids.iter().map(|&id| Op::Activate(id)).collect();
    let (out, most) = burst(&nodes, &raw, &ops).await;
    let active = active_ids(&raw).await;
    let won: Vec<i64> = out
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(op, _)| match op {
            Op::Activate(id) | Op::Pause(id) => *id,
        })
        .collect();
    let mut refused = 0;
    for (op, r) in &out {
        match r {
            Ok(()) => {}
            Err(StoreError::TooManyActive(named)) => {
                refused += 1;
                assert_eq!(named, &names(&active), "{op:?}: the refusal names the five");
            }
            Err(e) => panic!("{op:?}: {e}"),
        }
    }
    assert_eq!((won.len(), refused), (5, 15), "{out:?}");
    let mut won_sorted = won.clone();
    won_sorted.sort_unstable();
    assert_eq!(won_sorted, active, "the five that won are the five active");
    assert_eq!(most, 5, "the watcher saw {most} active");

    // Rounds: pause one to three of the five, re-activate one that stays, and activate eight
    // inactive ones, all at once; then activate every inactive one at once to fill up again.
    let mut rounds = Vec::new();
    for round in 1..=8usize {
        let before = active_ids(&raw).await;
        let inactive: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !before.contains(id))
            .collect();
        let k = 1 + round % 3;
        let paused: Vec<i64> = (0..k).map(|j| before[(round + j) % 5]).collect();
        let kept: Vec<i64> = before
            .iter()
            .copied()
            .filter(|id| !paused.contains(id))
            .collect();
        let again = kept[round % kept.len()];
        let tried: Vec<i64> = (0..8)
            .map(|j| inactive[(round * 3 + j) % inactive.len()])
            .collect();
        let mut ops: Vec<Op> = paused.iter().map(|&id| Op::Pause(id)).collect();
        ops.push(Op::Activate(again));
        ops.extend(tried.iter().map(|&id| Op::Activate(id)));
        let (out, most) = burst(&nodes, &raw, &ops).await;
        let after = active_ids(&raw).await;
        let mut expect: Vec<i64> = kept.clone();
        for (op, r) in &out {
            match (op, r) {
                (Op::Pause(_), Ok(())) => {}
                (Op::Activate(id), Ok(())) if *id == again => {}
                (Op::Activate(id), Ok(())) => expect.push(*id),
                (Op::Activate(id), Err(StoreError::TooManyActive(_))) if *id != again => {}
                (op, Err(e)) => panic!("round {round}: {op:?}: {e}"),
            }
        }
        expect.sort_unstable();
        assert!(most <= 5, "round {round}: the watcher saw {most} active");
        assert_eq!(
            after, expect,
            "round {round}: the active projects are those kept and those whose activation succeeded"
        );
        let mixed_won = expect.len() - kept.len();

        // Fill up: pause two to four more, then activate every inactive project at once;
        // exactly the free places are taken.
        for id in after.iter().take(2 + round % 3) {
            nodes[round % 4].pause(*id).await.unwrap();
        }
        let after = active_ids(&raw).await;
        let inactive: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !after.contains(id))
            .collect();
        let free = 5 - after.len();
        let ops: Vec<Op> = inactive.iter().map(|&id| Op::Activate(id)).collect();
        let (out, most) = burst(&nodes, &raw, &ops).await;
        let full = active_ids(&raw).await;
        let won = out.iter().filter(|(_, r)| r.is_ok()).count();
        for (op, r) in &out {
            match r {
                Ok(()) => {}
                Err(StoreError::TooManyActive(named)) => {
                    assert_eq!(named, &names(&full), "round {round}: {op:?}")
                }
                Err(e) => panic!("round {round}: {op:?}: {e}"),
            }
        }
        assert_eq!(
            won, free,
            "round {round}: {free} free places, {won} activations won"
        );
        assert_eq!(full.len(), 5, "round {round}");
        assert!(most <= 5, "round {round}: the watcher saw {most} active");
        rounds.push(format!("{k} paused/{mixed_won} won/{free} filled"));
    }
    println!(
        "five-active rule on PostgreSQL: 20 projects, 4 handles; 20 activations at once: 5 won, \
         15 refused; then rounds ({}): never more than 5 active",
        rounds.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The outbox.

const ACTIONS: i64 = 6_000;
const CLAIMERS_PER_NODE: usize = 2;

/// Claims from every handle at once (`CLAIMERS_PER_NODE` workers each, batches of 1 to 6,
/// different kinds) until nothing is left; answers every id each worker got, with the node
/// of the worker's handle.
async fn drain(nodes: &Arc<Vec<PgStore>>, polls: bool) -> (Vec<(i64, i64)>, Vec<String>, u64) {
    let n = nodes.len() * CLAIMERS_PER_NODE;
    let go = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|w| {
            let (nodes, go) = (nodes.clone(), go.clone());
            tokio::spawn(async move {
                let s = &nodes[w % nodes.len()];
                let kinds: &[ActionKind] = match w % 3 {
                    0 => &[ActionKind::Sms],
                    1 => &[ActionKind::Webhook],
                    _ => &[ActionKind::Sms, ActionKind::Webhook],
                };
                let (mut got, mut wrong) = (Vec::new(), Vec::new());
                let (mut empty, mut claims) = (0, 0u64);
                go.wait().await;
                for i in 0usize.. {
                    let limit = 1 + ((i * 7 + w) % 6) as u32;
                    let rows = if polls {
                        s.claim_polls(1_000, 1_000_000_000_000, limit)
                            .await
                            .unwrap()
                    } else {
                        s.claim_actions(kinds, 1_000, limit).await.unwrap()
                    };
                    if rows.len() > limit as usize {
                        wrong.push(format!("a claim of {limit} took {}", rows.len()));
                    }
                    for a in &rows {
                        let bad = if polls {
                            a.status != autoinformer::store::ActionStatus::Sent || a.attempts != 1
                        } else {
                            a.status != autoinformer::store::ActionStatus::Sending
                                || a.attempts != 1
                                || !kinds.contains(&a.payload.kind())
                        };
                        if bad {
                            wrong.push(format!(
                                "action {}: {:?}, {} attempts",
                                a.id, a.status, a.attempts
                            ));
                        }
                        got.push((a.id, node_id(s)));
                    }
                    if rows.is_empty() {
                        // Rows locked by another claim are passed over: look again a few
                        // times before calling it done.
                        empty += 1;
                        if empty == 3 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    } else {
                        empty = 0;
                        claims += 1;
                    }
                }
                (got, wrong, claims)
            })
        })
        .collect();
    let (mut all, mut wrong, mut claims) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (got, w, n) = t.await.unwrap();
        claims += n;
        all.extend(got);
        wrong.extend(w);
    }
    (all, wrong, claims)
}

/// Each of the `ACTIONS` ids exactly once among `got`: answers the ids taken twice or more and
/// those never taken.
fn once_each(got: &[(i64, i64)], ids: &HashSet<i64>) -> (Vec<i64>, Vec<i64>) {
    let mut seen: HashMap<i64, u32> = HashMap::new();
    for (id, _) in got {
        *seen.entry(*id).or_default() += 1;
    }
    let twice = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let never = ids
        .iter()
        .filter(|id| !seen.contains_key(id))
        .copied()
        .collect();
    (twice, never)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_queued_action_is_claimed_by_exactly_one_of_twelve_workers_on_six_handles() {
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    let p = api
        .create_project(&NewProject {
            name: "Рассылка".into(),
            scenario_id: sc,
            ..Default::default()
        })
        .await
        .unwrap();
    api.import_csv(
        p,
        csv("ФИО;Телефон\nА;+79160000001\n".into()),
        ImportLimits::default(),
    )
    .await
    .unwrap();
    let raw = raw(&url).await;
    let contact: i64 = sqlx::query("SELECT id FROM contacts WHERE project_id = $1")
        .bind(p)
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    let call: i64 = sqlx::query(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at) \
         VALUES ($1, $2, '+79160000001', 'done', 0) RETURNING id",
    )
    .bind(p)
    .bind(contact)
    .fetch_one(&raw)
    .await
    .unwrap()
    .get(0);
    // Two SMS for every webhook, due at times spread over the last half second.
    sqlx::query(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, \
                              attempts, next_at, give_up_at, created_at) \
         SELECT $1, i, $2, $3, CASE WHEN i % 3 = 2 THEN 'webhook' ELSE 'sms' END, \
                CASE WHEN i % 3 = 2 \
                     THEN json_build_object('kind', 'webhook', 'url', 'http://127.0.0.1:9/hook', \
                                            'secret_from', $2::BIGINT, \
                                            'call', json_build_object('n', i))::TEXT \
                     ELSE json_build_object('kind', 'sms', 'phone', \
                                            '+7999' || lpad(i::TEXT, 7, '0'), \
                                            'text', 'Спасибо за ответ! ' || i)::TEXT END, \
                'queued', 0, i % 500, 9000000000000, 0 \
         FROM generate_series(0, $4 - 1) AS i",
    )
    .bind(call)
    .bind(p)
    .bind(contact)
    .bind(ACTIONS)
    .execute(&raw)
    .await
    .unwrap();
    let ids: HashSet<i64> = sqlx::query("SELECT id FROM actions")
        .fetch_all(&raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len() as i64, ACTIONS);
    let nodes = Arc::new(robot_nodes(&url, 6).await);

    let t = Instant::now();
    let (got, wrong, claims) = drain(&nodes, false).await;
    let claim_s = t.elapsed().as_secs_f64();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (twice, never) = once_each(&got, &ids);
    assert!(twice.is_empty(), "claimed by two workers: {twice:?}");
    assert!(never.is_empty(), "never claimed: {} actions", never.len());
    let (sending, once): (i64, i64) = {
        let r = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE status = 'sending'), \
                    COUNT(*) FILTER (WHERE attempts = 1) FROM actions",
        )
        .fetch_one(&raw)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (sending, once),
        (ACTIONS, ACTIONS),
        "every action sending, one attempt"
    );
    // Each is the claiming node's, under a lease of its own.
    let owners: HashMap<i64, (Option<i64>, Option<i64>)> =
        sqlx::query("SELECT id, owner_node, lease_id FROM actions")
            .fetch_all(&raw)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
    let strays: Vec<_> = got
        .iter()
        .filter(|(id, node)| owners[id].0 != Some(*node))
        .collect();
    assert!(
        strays.is_empty(),
        "claimed by one node, owned by another: {strays:?}"
    );
    let leases: HashSet<Option<i64>> = owners.values().map(|(_, l)| *l).collect();
    assert!(
        leases.len() as i64 == ACTIONS && !leases.contains(&None),
        "one lease per claimed action"
    );

    // Sent, each waiting for its delivery poll: every poll is taken by one worker too.
    sqlx::query("UPDATE actions SET status = 'sent', next_at = id % 500, external_id = 'x-' || id")
        .execute(&raw)
        .await
        .unwrap();
    let t = Instant::now();
    let (polled, wrong, polls) = drain(&nodes, true).await;
    let poll_s = t.elapsed().as_secs_f64();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (twice, never) = once_each(&polled, &ids);
    assert!(twice.is_empty(), "polled by two workers: {twice:?}");
    assert!(never.is_empty(), "never polled: {} actions", never.len());
    let moved = count(
        &raw,
        "SELECT COUNT(*) FROM actions WHERE status = 'sent' AND next_at = 1000000000000 \
         AND project_id = $1",
        p,
    )
    .await;
    assert_eq!(moved, ACTIONS);
    println!(
        "outbox on PostgreSQL: {ACTIONS} actions, 6 handles x {CLAIMERS_PER_NODE} workers, \
         batches of 1-6: claimed once each in {claim_s:.1} s by {claims} claims, polled once \
         each in {poll_s:.1} s by {polls} claims; each owned by the node that claimed it, under \
         a lease of its own"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The dialer's bookkeeping.

/// Contacts imported before dialing (every fifth with a second number).
const BASE: u64 = 900;
/// The import in the middle: contacts in its first batch (committed while it is held), new
/// contacts after it is let go, rows whose number the project has already.
const LATE: u64 = 150;
const TAIL: u64 = 50;
const DUPS: u64 = 50;
/// Refused rows that fill the import's first batch (`IMPORT_BATCH` of them send a batch).
const BAD: u64 = 5_000;
const DIAL_NODES: usize = 3;
/// Calls up at once per handle.
const LINES_PER_NODE: usize = 16;
/// The project's lines: fewer than the handles would start together, so the count of calls
/// up across handles (start_calls, under the project's lock) is what holds them.
const LINES: u32 = 32;

/// A call a handle placed.
#[derive(Debug, Clone)]
struct Placed {
    call: i64,
    contact: i64,
    number: String,
    /// The tick when its start_calls was invoked.
    invoked: u64,
    /// The node that started it.
    node: i64,
}

/// What the handles' dialing records, as it happens.
#[derive(Default)]
struct Dialing {
    /// Orders events: a start's invocation, a listing's return.
    tick: AtomicU64,
    /// Contacts in a call: from start_calls' answer until just before the call's end is
    /// written (so a second start answered meanwhile is a contact in two calls, for sure).
    up: Mutex<HashMap<i64, i64>>,
    /// Contacts whose start was answered while they were up: (contact, first call, second).
    doubles: Mutex<Vec<(i64, i64, i64)>>,
    /// Every call placed.
    placed: Mutex<Vec<Placed>>,
    errors: Mutex<Vec<String>>,
    /// Contacts a handle re-planned at dial time (their number was listed).
    skipped: AtomicU64,
    /// The most calls in `up` at once (each of them is up in the database).
    most_up: AtomicU64,
    /// Starts start_calls did not make (the contact changed since it was read — another
    /// handle took it — or no line of the project was free).
    refused: AtomicU64,
    done: AtomicBool,
}

impl Dialing {
    fn tick(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::SeqCst)
    }
    fn error(&self, e: String) {
        self.errors.lock().unwrap().push(e);
    }
}

/// One handle's dialer, as `dialer::run` uses the store: promote due contacts, read the head
/// of the order, check the next numbers against the stop list (re-planning those listed),
/// start the calls in one transaction, end each call in a task of its own.
async fn dial(s: PgStore, p: Arc<ProjectRow>, d: Arc<Dialing>) {
    let mut calls = tokio::task::JoinSet::new();
    while !d.done.load(Ordering::SeqCst) {
        while let Some(r) = calls.try_join_next() {
            r.unwrap();
        }
        let room = LINES_PER_NODE.saturating_sub(calls.len()) as u32;
        if room == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let step = async {
            let now = now_ms();
            s.promote_due(p.id, now.div_euclid(1000), 500).await?;
            let ready = s.next_callable(p.id, room).await?;
            if ready.is_empty() {
                return Ok::<_, StoreError>(Vec::new());
            }
            let next: Vec<String> = ready
                .iter()
                .map(|c| c.numbers[c.next_idx].e164.clone())
                .collect();
            let listed = s.stop_listed_among(&next).await?;
            let mut go = Vec::new();
            for c in ready {
                if !listed.contains(&c.numbers[c.next_idx].e164) {
                    go.push(c);
                    continue;
                }
                d.skipped.fetch_add(1, Ordering::Relaxed);
                let all = s.stop_listed_among(&c.e164s()).await?;
                let (schedule, types) = (p.schedule(), p.types());
                let mut attempts = c.attempts.clone();
                let new = plan(
                    &mut attempts,
                    &c.number_facts(&all, None),
                    p.facts(schedule.as_ref(), types.as_ref()),
                    c.order_facts(),
                    now.div_euclid(1000),
                );
                s.replan_contact(p.id, &c, None, &attempts, &new, now.div_euclid(1000))
                    .await?;
            }
            if go.is_empty() {
                return Ok(Vec::new());
            }
            let starts: Vec<StartCall> = go
                .iter()
                .map(|c| StartCall {
                    contact_id: c.id,
                    version: c.version,
                    number: &c.numbers[c.next_idx].e164,
                    reason: "race".into(),
                })
                .collect();
            let invoked = d.tick();
            let ids = s.start_calls(p.id, &starts, now).await?;
            drop(starts);
            let mut placed = Vec::new();
            for (c, id) in go.into_iter().zip(ids) {
                let Some(call) = id else {
                    d.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let number = c.numbers[c.next_idx].e164.clone();
                {
                    let mut up = d.up.lock().unwrap();
                    if let Some(first) = up.insert(c.id, call) {
                        d.doubles.lock().unwrap().push((c.id, first, call));
                    }
                    // Calls in `up` are up in the database: more than the lines is too many.
                    d.most_up.fetch_max(up.len() as u64, Ordering::SeqCst);
                }
                d.placed.lock().unwrap().push(Placed {
                    call,
                    contact: c.id,
                    number,
                    invoked,
                    node: node_id(&s),
                });
                placed.push((call, c));
            }
            Ok(placed)
        };
        let placed = match step.await {
            Ok(placed) => placed,
            Err(e) => {
                d.error(format!("a dialer pass: {e}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        if placed.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        for (call, c) in placed {
            let (s, p, d) = (s.clone(), p.clone(), d.clone());
            calls.spawn(async move {
                // The call is up for 10-30 ms: the lines are full most of the time.
                let ms = 10_000 + (call as u64 * 7_919) % 20_000;
                tokio::time::sleep(Duration::from_micros(ms)).await;
                let contact = c.id;
                if d.up.lock().unwrap().remove(&contact) != Some(call) {
                    d.error(format!(
                        "call {call}: its contact {contact} was not up for it"
                    ));
                }
                if let Err(e) = end_call(&s, &p, c, call, result_of(call)).await {
                    d.error(format!("call {call} of contact {contact}: {e}"));
                }
            });
        }
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_handles_dialing_one_project_never_double_dial_nor_pass_a_cap_and_keep_the_tallies() {
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    let p = api
        .create_project(&NewProject {
            lines: LINES,
            ..always_open("Гонка", sc)
        })
        .await
        .unwrap();
    let mut text = String::from("ФИО;Телефон;Телефон 2\n");
    for i in 0..BASE {
        let second = if i % 5 == 0 {
            format!("+7917{i:07}")
        } else {
            String::new()
        };
        text.push_str(&format!("Абонент {i};+7916{i:07};{second}\n"));
    }
    let r = api
        .import_csv(p, csv(text), ImportLimits::default())
        .await
        .unwrap();
    assert_eq!((r.imported, r.rejected_total), (BASE, 0), "{r:?}");
    api.activate(p).await.unwrap();
    let row = Arc::new(project_row(&api, p).await);
    let raw = raw(&url).await;

    let d = Arc::new(Dialing::default());
    let mut dialers = Vec::new();
    for s in robot_nodes(&url, DIAL_NODES).await {
        dialers.push(tokio::spawn(dial(s, row.clone(), d.clone())));
    }
    // The watcher: a contact in two calls at once, as the database has it; the tallies against
    // the rows, in one snapshot.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (raw, stop) = (raw.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut twice, mut drift, mut looks) = (HashSet::new(), Vec::new(), 0u64);
            let mut most_up = 0i64;
            while !stop.load(Ordering::SeqCst) {
                let r = sqlx::query(
                    "SELECT COUNT(*), ARRAY(SELECT contact_id FROM calls \
                         WHERE project_id = $1 AND state = 'dialing' \
                         GROUP BY contact_id HAVING COUNT(*) > 1) \
                     FROM calls WHERE project_id = $1 AND state = 'dialing'",
                )
                .bind(p)
                .fetch_one(&raw)
                .await
                .unwrap();
                most_up = most_up.max(r.get(0));
                twice.extend(r.get::<Vec<i64>, _>(1));
                looks += 1;
                if looks % 20 == 0 {
                    let (kept, counted) = tallies_and_rows(&raw, p).await;
                    if kept != counted && drift.len() < 5 {
                        drift.push(format!("tallies {kept:?} / rows {counted:?}"));
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (twice, drift, looks, most_up)
        })
    };
    let t = Instant::now();
    let done_calls = || async {
        count(
            &raw,
            "SELECT COUNT(*) FROM calls WHERE project_id = $1 AND state = 'done'",
            p,
        )
        .await
    };
    // Every wait fails at once on a contact started while in a call or a failed store call.
    let wait_for = |what: &'static str| {
        let d = d.clone();
        move |ok: bool| {
            let doubles = d.doubles.lock().unwrap().clone();
            assert!(
                doubles.is_empty(),
                "contacts started while in a call: {doubles:?}"
            );
            let errors = d.errors.lock().unwrap().clone();
            assert!(errors.is_empty(), "{}", errors.join("\n"));
            assert!(
                t.elapsed() < Duration::from_secs(90),
                "waited too long for {what}"
            );
            ok
        }
    };

    // A third of the base's first calls made, an import comes: its first batch (LATE new
    // contacts, BAD refused rows) is written, then it is held.
    let check = wait_for("the first calls");
    while !check(done_calls().await >= (BASE / 3) as i64) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut head = String::from("ФИО;Телефон\n");
    for i in 0..LATE {
        head.push_str(&format!("Поздний {i};+7918{i:07}\n"));
    }
    for i in 0..BAD {
        head.push_str(&format!("Мусор {i};не номер\n"));
    }
    let mut tail = String::new();
    for i in LATE..LATE + TAIL {
        tail.push_str(&format!("Поздний {i};+7918{i:07}\n"));
    }
    for i in 0..DUPS {
        // Numbers of the base: some are in a call right now.
        tail.push_str(&format!("Повтор {i};+7916{:07}\n", i * 7));
    }
    let (reader, gate) = gated(head, tail);
    let importing = {
        let api = api.clone();
        tokio::spawn(async move { api.import_csv(p, reader, ImportLimits::default()).await })
    };
    let import_id = loop {
        let id: Option<i64> = sqlx::query(
            "SELECT i.id FROM imports i WHERE i.project_id = $1 AND i.state = 'running' \
             AND (SELECT COUNT(*) FROM contacts c WHERE c.import_id = i.id) >= $2",
        )
        .bind(p)
        .bind(LATE as i64)
        .fetch_optional(&raw)
        .await
        .unwrap()
        .map(|r| r.get(0));
        if let Some(id) = id {
            break id;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "the import's first batch never came"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    // The stop list, meanwhile: numbers of contacts in a call right now, of contacts at the
    // head of the order, second numbers, and numbers of the held import's contacts.
    let mut listing: Vec<String> = sqlx::query(
        "SELECT number FROM calls WHERE project_id = $1 AND state = 'dialing' LIMIT 20",
    )
    .bind(p)
    .fetch_all(&raw)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let in_call_listed = listing.len();
    for c in api.next_callable(p, 20).await.unwrap() {
        listing.push(c.numbers[c.next_idx].e164.clone());
    }
    for i in (0..BASE).filter(|i| i % 5 == 0).skip(100).take(20) {
        listing.push(format!("+7917{i:07}"));
    }
    for i in (0..LATE).step_by(15) {
        listing.push(format!("+7918{i:07}"));
    }
    let mut listed_at: HashMap<String, u64> = HashMap::new();
    let mut replanned = 0;
    for n in &listing {
        replanned += api.add_to_stop_list(n, "race").await.unwrap();
        listed_at.insert(n.clone(), d.tick());
    }
    // Held, the import's contacts are never dialed, however long the handles dial meanwhile.
    let before = done_calls().await;
    let check = wait_for("calls while the import is held");
    while !check(done_calls().await >= before + 150) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let held_dialed = count(
        &raw,
        "SELECT COUNT(*) FROM calls k JOIN contacts c ON c.id = k.contact_id \
         WHERE c.import_id = $1",
        import_id,
    )
    .await;
    assert_eq!(held_dialed, 0, "contacts of a running import were dialed");
    gate.send(()).unwrap();
    let r = importing.await.unwrap().unwrap();
    assert_eq!(
        (r.imported, r.duplicates, r.rejected_total),
        (LATE + TAIL, DUPS, BAD),
        "the import in the middle"
    );

    // Until every contact is closed and no call is up.
    let check = wait_for("the campaign's end");
    loop {
        let open = count(
            &raw,
            "SELECT COUNT(*) FROM contacts WHERE project_id = $1 \
             AND status IN ('not_called', 'retry')",
            p,
        )
        .await;
        let up = count(
            &raw,
            "SELECT COUNT(*) FROM calls WHERE project_id = $1 AND state = 'dialing'",
            p,
        )
        .await;
        if check(open == 0 && up == 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = t.elapsed().as_secs_f64();
    d.done.store(true, Ordering::SeqCst);
    for t in dialers {
        t.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    let (twice, drift, looks, most_up) = watcher.await.unwrap();

    let errors = d.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let doubles = d.doubles.lock().unwrap().clone();
    assert!(
        doubles.is_empty(),
        "contacts started while in a call: {doubles:?}"
    );
    assert!(twice.is_empty(), "contacts in two calls at once: {twice:?}");
    assert!(drift.is_empty(), "{}", drift.join("\n"));
    assert!(
        most_up <= i64::from(LINES),
        "{most_up} calls up at once on {LINES} lines"
    );
    let most_up_seen = d.most_up.load(Ordering::SeqCst);
    assert!(
        most_up_seen <= u64::from(LINES),
        "{most_up_seen} calls up at once on {LINES} lines (as the handles saw them)"
    );

    // No number over its cap, and every contact's attempts count exactly its calls.
    let mut calls_of: HashMap<(i64, String), u32> = HashMap::new();
    for r in sqlx::query("SELECT contact_id, number FROM calls WHERE project_id = $1")
        .bind(p)
        .fetch_all(&raw)
        .await
        .unwrap()
    {
        *calls_of.entry((r.get(0), r.get(1))).or_default() += 1;
    }
    let total_calls: u32 = calls_of.values().sum();
    let over: Vec<_> = calls_of
        .iter()
        .filter(|(_, n)| **n > row.rules.max_calls_per_number)
        .collect();
    assert!(over.is_empty(), "numbers called past their cap: {over:?}");
    let mut lost = Vec::new();
    let contacts: Vec<(i64, Option<String>, Vec<String>)> = sqlx::query(
        "SELECT c.id, c.attempts, \
         ARRAY(SELECT e164 FROM contact_numbers n WHERE n.contact_id = c.id ORDER BY n.idx) \
         FROM contacts c WHERE c.project_id = $1",
    )
    .bind(p)
    .fetch_all(&raw)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    for (id, attempts, numbers) in &contacts {
        let a: Option<autoinformer::rules::attempts::ContactAttempts> = attempts
            .as_deref()
            .map(|j| serde_json::from_str(j).unwrap());
        for (i, n) in numbers.iter().enumerate() {
            let counted = a.as_ref().map_or(0, |a| a.numbers[i].calls);
            let made = calls_of.get(&(*id, n.clone())).copied().unwrap_or(0);
            if counted != made {
                lost.push(format!(
                    "contact {id}, {n}: {made} calls, attempts count {counted}"
                ));
            }
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("\n"));

    // No call on a number started after its listing had returned.
    let placed = d.placed.lock().unwrap().clone();
    let late_dials: Vec<_> = placed
        .iter()
        .filter(|c| listed_at.get(&c.number).is_some_and(|at| c.invoked > *at))
        .collect();
    assert!(
        late_dials.is_empty(),
        "listed numbers dialed after their listing: {late_dials:?}"
    );
    assert_eq!(
        placed.len() as u32,
        total_calls,
        "every call placed was recorded"
    );
    // Each call row is the call placed: its contact, number, and the node that started it.
    let rows_of: HashMap<i64, (i64, String, Option<i64>)> =
        sqlx::query("SELECT id, contact_id, number, owner_node FROM calls WHERE project_id = $1")
            .bind(p)
            .fetch_all(&raw)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
    let strays: Vec<_> = placed
        .iter()
        .filter(|c| rows_of.get(&c.call) != Some(&(c.contact, c.number.clone(), Some(c.node))))
        .collect();
    assert!(strays.is_empty(), "calls not as placed: {strays:?}");
    assert!(
        d.refused.load(Ordering::Relaxed) > 0,
        "the handles never raced for a contact"
    );

    // The stats are the rows counted.
    let st = api.stats(p).await.unwrap();
    let (_, counted) = tallies_and_rows(&raw, p).await;
    let shown: BTreeMap<String, i64> = st
        .contacts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.clone(), *n as i64))
        .collect();
    assert_eq!(shown, counted.0, "contacts by status");
    let results: BTreeMap<String, (i64, i64)> = st
        .results
        .iter()
        .map(|(k, n)| (k.clone(), (*n as i64, 0)))
        .collect();
    let counted_results: BTreeMap<String, (i64, i64)> = counted
        .1
        .iter()
        .map(|(k, (n, _))| (k.clone(), (*n, 0)))
        .collect();
    assert_eq!(results, counted_results, "calls by result");
    assert_eq!(st.calls, u64::from(total_calls));
    assert_eq!(
        st.cost.0,
        counted.1.values().map(|(_, c)| c).sum::<i64>(),
        "the cost"
    );
    assert_eq!(
        shown.values().sum::<i64>() as u64,
        BASE + LATE + TAIL,
        "every contact counted once"
    );
    println!(
        "dialer bookkeeping on PostgreSQL: {} contacts, {DIAL_NODES} handles x {LINES_PER_NODE} \
         calls on {LINES} lines, {total_calls} calls in {took:.1} s, at most {most_up} up at \
         once; starts not made (the contact taken by another handle first, or no line free): \
         {}; an import of {} contacts and {DUPS} merged numbers in the middle, none dialed \
         while it ran; {} numbers listed meanwhile ({in_call_listed} of calls up), {replanned} \
         contacts re-planned, {} re-planned at dial time, none dialed after its listing; \
         {looks} looks for a contact in two calls: none; tallies equal to the rows throughout",
        BASE + LATE + TAIL,
        d.refused.load(Ordering::Relaxed),
        LATE + TAIL,
        listing.len(),
        d.skipped.load(Ordering::Relaxed),
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Imports on several handles.

/// The lowest and highest contact id of a project.
async fn id_range(raw: &PgPool, p: i64) -> (i64, i64) {
    let r = sqlx::query("SELECT MIN(id), MAX(id) FROM contacts WHERE project_id = $1")
        .bind(p)
        .fetch_one(raw)
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imports_on_two_handles_at_once_never_collide_on_contact_ids_with_each_other_or_the_identity(
) {
    const ROWS: u64 = 8_000;
    const HEAD: u64 = 5_500;
    const SOURCE: u64 = 1_000;
    let url = pg::fresh_database().await;
    let h = nodes(&url, 3).await;
    let sc = scenario(&h[0]).await;
    let mut made = Vec::new();
    for name in ["Импорт А", "Импорт Б", "Источник", "Копии", "Вручную"]
    {
        made.push(
            h[0].create_project(&NewProject {
                name: name.into(),
                scenario_id: sc,
                ..Default::default()
            })
            .await
            .unwrap(),
        );
    }
    let (a, b, source, copies, by_hand) = (made[0], made[1], made[2], made[3], made[4]);
    let r = h[2]
        .import_csv(
            source,
            csv(format!("ФИО;Телефон\n{}", rows(915, 0, SOURCE))),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, SOURCE);
    let raw = raw(&url).await;

    // Two imports at once, into A on one handle and into B on another: 8,000 rows each (two
    // batches), both held after their first batch, then let go together.
    let (ra, gate_a) = gated(
        format!("ФИО;Телефон\n{}", rows(916, 0, HEAD)),
        rows(916, HEAD, ROWS - HEAD),
    );
    let (rb, gate_b) = gated(
        format!("ФИО;Телефон\n{}", rows(917, 0, HEAD)),
        rows(917, HEAD, ROWS - HEAD),
    );
    let go = Arc::new(tokio::sync::Barrier::new(2));
    let ia = {
        let (s, go) = (h[0].clone(), go.clone());
        tokio::spawn(async move {
            go.wait().await;
            s.import_csv(a, ra, ImportLimits::default()).await
        })
    };
    let ib = {
        let (s, go) = (h[1].clone(), go.clone());
        tokio::spawn(async move {
            go.wait().await;
            s.import_csv(b, rb, ImportLimits::default()).await
        })
    };
    // Meanwhile contacts numbered by the identity: copies on the third handle, and single
    // rows inserted without an id.
    let stop = Arc::new(AtomicBool::new(false));
    let copier = {
        let (s, stop) = (h[2].clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            let mut copied = 0;
            while !stop.load(Ordering::SeqCst) || n == 0 {
                // The first round copies the source; later rounds find every number there.
                let c = s
                    .copy_contacts(source, ContactStatus::NotCalled, copies)
                    .await
                    .unwrap();
                copied += c.copied;
                n += 1;
            }
            (n, copied)
        })
    };
    let inserter = {
        let (raw, stop) = (raw.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let id: i64 = sqlx::query(
                    "INSERT INTO contacts (project_id, seq, created_at) VALUES ($1, $2, 0) \
                     RETURNING id",
                )
                .bind(by_hand)
                .bind(ids.len() as i64 + 1)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get(0);
                ids.push(id);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            ids
        })
    };
    let t = Instant::now();
    loop {
        let n = |p| {
            count(
                &raw,
                "SELECT COUNT(*) FROM contacts WHERE project_id = $1",
                p,
            )
        };
        if n(a).await >= 5_000 && n(b).await >= 5_000 {
            break;
        }
        // An import that ended while held at its gate failed: say why.
        if ia.is_finished() {
            panic!("the import into A failed: {:?}", ia.await.unwrap());
        }
        if ib.is_finished() {
            panic!("the import into B failed: {:?}", ib.await.unwrap());
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the first batches never came"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A third import into A while A's runs, on either other handle: a conflict.
    for s in [&h[1], &h[2]] {
        match s
            .import_csv(
                a,
                csv(format!("ФИО;Телефон\n{}", rows(918, 0, 10))),
                ImportLimits::default(),
            )
            .await
        {
            Err(StoreError::Conflict(m)) => assert!(m.contains("is running"), "{m}"),
            other => panic!("a second import into a project: {other:?}"),
        }
    }
    gate_a.send(()).unwrap();
    gate_b.send(()).unwrap();
    let (ra, rb) = (ia.await.unwrap().unwrap(), ib.await.unwrap().unwrap());
    stop.store(true, Ordering::SeqCst);
    let (rounds, copied) = copier.await.unwrap();
    let by_hand_ids = inserter.await.unwrap();
    assert_eq!((ra.imported, ra.duplicates), (ROWS, 0), "{ra:?}");
    assert_eq!((rb.imported, rb.duplicates), (ROWS, 0), "{rb:?}");
    assert_eq!(copied, SOURCE, "the copy");

    // Every contact where it belongs, with its own numbers.
    let per_project = |p| {
        count(
            &raw,
            "SELECT COUNT(*) FROM contacts WHERE project_id = $1",
            p,
        )
    };
    assert_eq!(per_project(a).await, ROWS as i64);
    assert_eq!(per_project(b).await, ROWS as i64);
    assert_eq!(per_project(copies).await, SOURCE as i64);
    assert_eq!(per_project(by_hand).await, by_hand_ids.len() as i64);
    let strays: i64 = sqlx::query(
        "SELECT COUNT(*) FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id \
         WHERE n.project_id <> c.project_id",
    )
    .fetch_one(&raw)
    .await
    .unwrap()
    .get(0);
    assert_eq!(strays, 0, "numbers owned by a contact of another project");
    let numbers = |p| {
        count(
            &raw,
            "SELECT COUNT(*) FROM contact_numbers WHERE project_id = $1",
            p,
        )
    };
    assert_eq!(numbers(a).await, ROWS as i64);
    assert_eq!(numbers(b).await, ROWS as i64);
    // The two imports drew their ids side by side (their ranges overlap: they really raced).
    let (ra_ids, rb_ids) = (id_range(&raw, a).await, id_range(&raw, b).await);
    assert!(
        ra_ids.0 < rb_ids.1 && rb_ids.0 < ra_ids.1,
        "the imports' ids do not interleave: {ra_ids:?} {rb_ids:?}"
    );
    let foreign_in_a = count(
        &raw,
        "SELECT COUNT(*) FROM contacts WHERE project_id <> $1 \
         AND id BETWEEN (SELECT MIN(id) FROM contacts WHERE project_id = $1) \
                    AND (SELECT MAX(id) FROM contacts WHERE project_id = $1)",
        a,
    )
    .await;

    // Rows numbered by the identity from now on do not collide with the imported ones.
    let highest: i64 = sqlx::query("SELECT MAX(id) FROM contacts")
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    for k in 0..100 {
        let id: i64 = sqlx::query(
            "INSERT INTO contacts (project_id, seq, created_at) VALUES ($1, $2, 0) RETURNING id",
        )
        .bind(by_hand)
        .bind(1_000_000 + k as i64)
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
        assert!(
            id > highest,
            "the identity gave {id}, at or below {highest}"
        );
    }
    // And the next import into A, now that its first has finished, merges what A has.
    let r = h[1]
        .import_csv(
            a,
            csv(format!(
                "ФИО;Телефон\n{}{}",
                rows(916, ROWS - 100, 100),
                rows(916, ROWS, 100)
            )),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (100, 100), "{r:?}");
    let r = h[2]
        .copy_contacts(source, ContactStatus::NotCalled, copies)
        .await
        .unwrap();
    assert_eq!((r.copied, r.skipped), (0, SOURCE), "copied twice");
    println!(
        "imports on PostgreSQL: 2 x {ROWS} rows into two projects on two handles at once, \
         {copied} contacts copied in {rounds} rounds and {} inserted by the identity \
         meanwhile; {foreign_in_a} ids of other projects inside A's id range; a third import \
         into A refused while A's ran; no id collided",
        by_hand_ids.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. `stats` is one snapshot.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stats_never_show_a_contact_in_a_call_whose_call_is_already_counted() {
    const N: u64 = 1_500;
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    // As many lines as contacts: every call is up at once.
    let p = api
        .create_project(&NewProject {
            lines: N as u32,
            ..always_open("Срез", sc)
        })
        .await
        .unwrap();
    let r = api
        .import_csv(
            p,
            csv(format!("ФИО;Телефон\n{}", rows(916, 0, N))),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, N);
    let row = Arc::new(project_row(&api, p).await);
    // Every contact in a call.
    let mut up: Vec<(i64, DueContact)> = Vec::new();
    loop {
        let due = api.next_callable(p, 500).await.unwrap();
        if due.is_empty() {
            break;
        }
        let starts: Vec<StartCall> = due
            .iter()
            .map(|c| StartCall {
                contact_id: c.id,
                version: c.version,
                number: &c.numbers[c.next_idx].e164,
                reason: "snapshot".into(),
            })
            .collect();
        let ids = api.start_calls(p, &starts, now_ms()).await.unwrap();
        drop(starts);
        for (c, id) in due.into_iter().zip(ids) {
            up.push((id.expect("a ready contact starts"), c));
        }
    }
    assert_eq!(up.len() as u64, N);
    let st = api.stats(p).await.unwrap();
    assert_eq!((st.contacts["in_call"], st.calls), (N, 0));

    // The calls end from three handles, four tasks each, while two more handles read the
    // stats over and over; a read of the two tallies one statement after the other (as
    // READ COMMITTED gives it) runs beside them, to show the window is there.
    let queue = Arc::new(Mutex::new(up));
    let enders = nodes(&url, 3).await;
    let readers = nodes(&url, 2).await;
    let raw = raw(&url).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut ending = Vec::new();
    for s in &enders {
        for _ in 0..4 {
            let (s, row, queue) = (s.clone(), row.clone(), queue.clone());
            ending.push(tokio::spawn(async move {
                let mut n = 0u64;
                loop {
                    let next = queue.lock().unwrap().pop();
                    let Some((call, c)) = next else { break };
                    end_call(&s, &row, c, call, result_of(call)).await.unwrap();
                    n += 1;
                }
                n
            }));
        }
    }
    let mut reading = Vec::new();
    for s in &readers {
        let (s, done) = (s.clone(), done.clone());
        reading.push(tokio::spawn(async move {
            let (mut reads, mut torn) = (0u64, Vec::new());
            while !done.load(Ordering::SeqCst) {
                let st = s.stats(p).await.unwrap();
                let contacts: u64 = st.contacts.values().sum();
                let in_call = st.contacts["in_call"];
                let results: u64 = st.results.values().sum();
                if in_call + st.calls != N || contacts != N || results != st.calls {
                    torn.push(format!(
                        "in call {in_call}, calls {}, contacts {contacts}, by result {results}",
                        st.calls
                    ));
                }
                reads += 1;
            }
            (reads, torn)
        }));
    }
    let naive = {
        let (raw, done) = (raw.clone(), done.clone());
        tokio::spawn(async move {
            let (mut reads, mut torn) = (0u64, 0u64);
            while !done.load(Ordering::SeqCst) {
                let in_call: i64 = sqlx::query(
                    "SELECT COALESCE(SUM(n), 0)::BIGINT FROM contact_tallies \
                     WHERE project_id = $1 AND status = 'in_call'",
                )
                .bind(p)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get(0);
                let calls: i64 = sqlx::query(
                    "SELECT COALESCE(SUM(n), 0)::BIGINT FROM call_tallies WHERE project_id = $1",
                )
                .bind(p)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get(0);
                reads += 1;
                if in_call + calls != N as i64 {
                    torn += 1;
                }
            }
            (reads, torn)
        })
    };
    let t = Instant::now();
    let mut ended = 0;
    for e in ending {
        ended += e.await.unwrap();
    }
    let took = t.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let (mut reads, mut torn) = (0, Vec::new());
    for r in reading {
        let (n, t) = r.await.unwrap();
        reads += n;
        torn.extend(t);
    }
    let (naive_reads, naive_torn) = naive.await.unwrap();
    assert_eq!(ended, N);
    let st = api.stats(p).await.unwrap();
    assert_eq!((st.contacts["in_call"], st.calls), (0, N));
    println!(
        "stats snapshot on PostgreSQL: {N} calls ended from 3 handles x 4 tasks in {took:.1} s \
         while 2 readers on 2 handles read the stats {reads} times: {} torn; two-statement \
         reads beside them: {naive_torn} of {naive_reads} torn",
        torn.len()
    );
    assert!(
        torn.is_empty(),
        "{} torn stats, e.g. {:?}",
        torn.len(),
        &torn[..torn.len().min(5)]
    );
    assert!(
        naive_torn > 0,
        "no call ended between two statements of a read: the race was not exercised"
    );
}
