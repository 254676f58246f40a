//! Imports' contact ids and the stats snapshot raced on PostgreSQL (tests 4 and 5 of
//! `store_pg.rs`'s list: the file says what each guards and how each was shown to fail).
#[path = "common/pg.rs"]
mod pg;
#[path = "common/store_pg_rig.rs"]
mod rig;

use rig::*;

use autoinformer::import::ImportLimits;
use autoinformer::rules::attempts::ContactStatus;
use autoinformer::store::{
    CampaignStore, DialerStore, DueContact, NewProject, ReportStore, StartCall, StoreError,
};
use sqlx::postgres::PgPool;
use sqlx::Row;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
