//! The dialer's bookkeeping raced on three PostgreSQL handles (test 3 of `store_pg.rs`'s list:
//! the file says what each guards and how each was shown to fail).
#[path = "common/pg.rs"]
mod pg;
#[path = "common/store_pg_rig.rs"]
mod rig;

use rig::*;

use autoinformer::import::ImportLimits;
use autoinformer::rules::plan::plan;
use autoinformer::store::postgres::PgStore;
use autoinformer::store::{
    CampaignStore, DialerStore, NewProject, ProjectRow, ReportStore, StartCall, StoreError,
};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
