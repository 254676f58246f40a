//! The dialer and the stop list racing on the same contacts (issue 15 §2). 300 contacts with
//! two numbers each — the first on the stop list, so the second is dialed — run on 50 lines
//! in real time on the sim carrier (every call a 1 s no-answer, retried once), while the API's
//! side re-posts the stop-listed first numbers of the contacts about to be dialed and just
//! dialed, as fast as it can. Re-posting replans those contacts; a replan that read a contact
//! just before the dialer parked it for a call must not make it ready again (the same number
//! would be dialed a second time while the first call is up). A watcher looks for a number
//! in two calls at once every 10 ms; at the end every contact's attempts count its calls.
#[path = "common/dialer.rs"]
mod rig;

use autoinformer::call::live::LiveSettings;
use autoinformer::clock::Clock;
use autoinformer::dialer::run::Dialer;
use autoinformer::import::ImportLimits;
use autoinformer::rules::attempts::RetryRule;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::{CampaignStore, NewProject, ReportStore};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const CONTACTS: usize = 300;
const LINES: u32 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn re_posting_stop_listed_numbers_never_dials_a_number_twice_at_once_nor_loses_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("autoinformer.db");
    let api = SqliteStore::open(&db).await.unwrap();
    let source =
        std::fs::read_to_string(rig::root().join("examples/survey/scenario.toml")).unwrap();
    let sc = api.create_scenario("Опрос", &source).await.unwrap();
    let once_more = RetryRule {
        attempts: 2,
        interval_s: 1,
    };
    let p = api
        .create_project(&NewProject {
            name: "Гонка".into(),
            scenario_id: sc,
            schedule: vec!["daily 00:00-24:00".into()],
            lines: LINES,
            retry_rules: BTreeMap::from([("no_answer".to_string(), once_more)]),
            ..Default::default()
        })
        .await
        .unwrap();
    // First numbers end in 1 (busy, never dialed: stop-listed), second in 0 (no answer).
    let mut csv = String::from("Имя;Телефон;Телефон 2\n");
    let mut first = Vec::new();
    for i in 0..CONTACTS {
        let a = format!("+79997{i:05}1");
        csv.push_str(&format!("Абонент {i};{a};+79996{i:05}0\n"));
        first.push(a);
    }
    for a in &first {
        api.add_to_stop_list(a, "test").await.unwrap();
    }
    let r = api
        .import_csv(
            p,
            std::io::Cursor::new(csv.into_bytes()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, CONTACTS as u64, "{r:?}");
    api.activate(p).await.unwrap();

    // The dialer on connections of its own, as `serve` has it, in real time.
    let dialer_store = api.own_connections(4).await.unwrap();
    let sim = SimConfig {
        ring_min_s: 5.0,
        ring_max_s: 5.0,
        max_calls: 200,
        ..Default::default()
    };
    let trunk = Arc::new(SimTrunk::new(sim, &rig::root().join("prompts/sim")).unwrap());
    let dialer = Dialer::new(
        Arc::new(dialer_store),
        trunk,
        rig::call_config(),
        LiveSettings {
            ring_timeout: Duration::from_secs(1),
            ..Default::default()
        },
        Clock::System,
    );
    let stop = CancellationToken::new();
    let dialing = tokio::spawn(dialer.run(
        Duration::from_millis(50),
        stop.clone(),
        Duration::from_secs(5),
    ));

    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let contact_of: HashMap<String, i64> = sqlx::query(
        "SELECT n.e164, n.contact_id FROM contact_numbers n WHERE n.project_id = ? AND n.idx = 0",
    )
    .bind(p)
    .fetch_all(&raw)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let first_of: HashMap<i64, String> = contact_of.iter().map(|(n, c)| (*c, n.clone())).collect();

    // The watcher: a number in two calls at once.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (raw, done) = (raw.clone(), done.clone());
        tokio::spawn(async move {
            let mut twice = HashSet::new();
            while !done.load(Ordering::SeqCst) {
                for r in sqlx::query(
                    "SELECT number FROM calls WHERE state = 'dialing' \
                     GROUP BY number HAVING COUNT(*) > 1",
                )
                .fetch_all(&raw)
                .await
                .unwrap()
                {
                    twice.insert(r.get::<String, _>(0));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            twice
        })
    };
    // The API's side: re-posts the first numbers of the contacts at the head of the order and
    // of the latest calls, again and again.
    let replans = Arc::new(AtomicU64::new(0));
    let reposts = Arc::new(AtomicU64::new(0));
    let poster = {
        let (api, raw, done, replans, reposts) = (
            api.clone(),
            raw.clone(),
            done.clone(),
            replans.clone(),
            reposts.clone(),
        );
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let ids: Vec<i64> = sqlx::query(
                    "SELECT id FROM (SELECT id FROM contacts WHERE project_id = ?1 AND ready = 1 \
                     ORDER BY pick_key LIMIT 60) \
                     UNION SELECT contact_id FROM (SELECT contact_id FROM calls \
                     WHERE project_id = ?1 ORDER BY id DESC LIMIT 60)",
                )
                .bind(p)
                .fetch_all(&raw)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
                for id in ids {
                    if let Some(a) = first_of.get(&id) {
                        let n = api.add_to_stop_list(a, "re-posted").await.unwrap();
                        replans.fetch_add(n, Ordering::Relaxed);
                        reposts.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::task::yield_now().await;
            }
        })
    };

    let t = Instant::now();
    loop {
        let st = api.stats(p).await.unwrap();
        let open = st.contacts["not_called"] + st.contacts["retry"] + st.contacts["in_call"];
        let up: i64 = sqlx::query("SELECT COUNT(*) FROM calls WHERE state = 'dialing'")
            .fetch_one(&raw)
            .await
            .unwrap()
            .get(0);
        if open == 0 && up == 0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "the campaign never finished: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done.store(true, Ordering::SeqCst);
    let twice = watcher.await.unwrap();
    poster.await.unwrap();
    stop.cancel();
    dialing.await.unwrap();

    // Every contact's attempts count exactly its calls.
    let mut lost = Vec::new();
    let mut calls_total = 0;
    for r in sqlx::query(
        "SELECT c.id, c.attempts, (SELECT COUNT(*) FROM calls k WHERE k.contact_id = c.id) \
         FROM contacts c WHERE c.project_id = ?",
    )
    .bind(p)
    .fetch_all(&raw)
    .await
    .unwrap()
    {
        let (id, attempts, calls): (i64, Option<String>, i64) = (r.get(0), r.get(1), r.get(2));
        let counted: i64 = attempts
            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
            .and_then(|a| {
                a["numbers"]
                    .as_array()
                    .map(|ns| ns.iter().filter_map(|n| n["calls"].as_i64()).sum())
            })
            .unwrap_or(0);
        calls_total += calls;
        if counted != calls {
            lost.push(format!(
                "contact {id}: {calls} calls, attempts count {counted}"
            ));
        }
    }
    let first_dialed: i64 = sqlx::query("SELECT COUNT(*) FROM calls WHERE number LIKE '+79997%'")
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    println!(
        "stop-list race: {CONTACTS} contacts, lines {LINES}, {calls_total} calls in {:.1} s; \
         {} re-posts replanned {} contacts meanwhile; numbers in two calls at once: {}; \
         lost attempt counts: {}; stop-listed numbers dialed: {first_dialed}",
        t.elapsed().as_secs_f64(),
        reposts.load(Ordering::Relaxed),
        replans.load(Ordering::Relaxed),
        twice.len(),
        lost.len()
    );
    assert!(
        replans.load(Ordering::Relaxed) > 100,
        "the re-posts replanned too few contacts to race the dialer"
    );
    assert!(twice.is_empty(), "numbers in two calls at once: {twice:?}");
    assert!(lost.is_empty(), "{}", lost.join("\n"));
    assert_eq!(first_dialed, 0, "a stop-listed number was dialed");
    assert_eq!(calls_total, 2 * CONTACTS as i64, "each second number twice");
}
