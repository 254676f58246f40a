//! The dialer end to end: a real SQLite file, the simulated carrier answering in every way
//! (fast rings), a short survey, default retry rules; the dialer's clock is moved by hand
//! between rounds (retry intervals are minutes), the calls run in real time. Every contact's
//! status, the results and the attempt counts are what docs/campaigns.md says. And crash recovery.
use autoinformer::call::live::LiveSettings;
use autoinformer::call::CallConfig;
use autoinformer::dialer::run::{Clock, Dialer};
use autoinformer::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::NewProject;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use chrono::TimeZone;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn setup(dir: &Path, csv: &str) -> (SqliteStore, i64, Dialer, Clock) {
    let prompts = dir.join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    // A short question (the 3 s thanks prompt) and a 3 s wait keep each call under ~8 s.
    for (from, to) in [("thanks.wav", "question.wav"), ("thanks.wav", "thanks.wav")] {
        std::fs::copy(root().join("examples/survey").join(from), prompts.join(to)).unwrap();
    }
    let clock = Clock::manual(chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    let store = SqliteStore::open(&dir.join("db/autoinformer.db"))
        .await
        .unwrap()
        .with_clock(clock.clone());
    let source = std::fs::read_to_string(root().join("examples/survey/scenario.toml"))
        .unwrap()
        .replace("wait_s = 10", "wait_s = 3");
    let sc = store.create_scenario("Опрос", &source).await.unwrap();
    let p = store
        .create_project(&NewProject {
            name: "Опрос жильцов".into(),
            scenario_id: sc,
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 20,
            ..Default::default()
        })
        .await
        .unwrap();
    let r = store
        .import_csv(
            p,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert!(r.rejected.is_empty(), "{r:?}");
    store.activate(p).await.unwrap();
    let sim = SimConfig {
        ring_min_s: 0.2,
        ring_max_s: 0.6,
        ..Default::default()
    };
    let trunk = Arc::new(SimTrunk::new(sim, &root().join("prompts/sim")).unwrap());
    let cfg = CallConfig {
        prompts_dir: prompts,
        speech: None,
        amd: true,
        greetings: None,
    };
    let live = LiveSettings {
        ring_timeout: Duration::from_secs(3),
        ..Default::default()
    };
    let dialer = Dialer::new(Arc::new(store.clone()), trunk, cfg, live, clock.clone());
    (store, p, dialer, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sim_behaviour_ends_in_the_status_and_attempts_the_rules_give() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("Имя;Телефон;Телефон 2\n");
    for d in 0..10 {
        csv.push_str(&format!("Абонент {d};+7999100000{d};\n"));
    }
    // Two numbers: the first is busy, the second presses 1.
    csv.push_str("Два номера;+79992000001;+79992000005\n");
    let (store, p, mut dialer, clock) = setup(dir.path(), &csv).await;
    // Rounds: dial what is due, let the calls finish, move the clock past the longest retry
    // interval (60 min). Nothing may be dialed between rounds before its interval.
    let mut rounds = 0;
    loop {
        let r = dialer.pass().await.unwrap();
        dialer.drain().await;
        clock.advance(Duration::from_secs(5 * 60));
        let early = dialer.pass().await.unwrap();
        assert_eq!(
            early.started, 0,
            "nothing is due 5 minutes after its call (busy waits 10)"
        );
        dialer.drain().await;
        clock.advance(Duration::from_secs(56 * 60));
        rounds += 1;
        if r.started == 0 || rounds > 6 {
            break;
        }
    }
    let st = store.stats(p).await.unwrap();
    assert_eq!(st.contacts["reached"], 6, "{st:?}");
    assert_eq!(st.contacts["not_reached"], 5, "{st:?}");
    assert_eq!(
        st.contacts["retry"] + st.contacts["not_called"] + st.contacts["in_call"],
        0,
        "{st:?}"
    );
    let r = |k: &str| st.results.get(k).copied().unwrap_or(0);
    // no_answer ×2 (max calls), busy ×2 + 1 (two-number contact), rejected ×1 (its limit),
    // system ×2 (SIT), answering_machine ×2, keys → scenario results, the rest not_listened.
    assert_eq!(r("no_answer"), 2, "{st:?}");
    assert_eq!(r("busy"), 3, "{st:?}");
    assert_eq!(r("rejected"), 1, "{st:?}");
    assert_eq!(r("system"), 2, "{st:?}");
    assert_eq!(r("answering_machine"), 2, "{st:?}");
    assert_eq!(r("Доволен"), 2, "{st:?}");
    assert_eq!(r("Недоволен"), 1, "{st:?}");
    assert_eq!(r("not_listened"), 3, "{st:?}");
    assert_eq!(st.calls, 16);
    assert!(st.cost > autoinformer::rules::money::Kopecks(0));
}

#[tokio::test]
async fn a_call_interrupted_by_a_crash_is_closed_as_system_and_retried_never_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let (store, p, dialer, _clock) = setup(dir.path(), "phone\n+79991000005\n").await;
    let due = store.next_callable(p, 10).await.unwrap();
    let c = due[0].id;
    // The process "dies" after starting the call.
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .unwrap()
        .timestamp();
    store.start_call(p, c, "+79991000005", now).await.unwrap();
    // While in flight the contact is not callable and cannot be started twice.
    assert_eq!(store.promote_due(p, now + 10_000, 100).await.unwrap(), 0);
    assert!(store.next_callable(p, 10).await.unwrap().is_empty());
    assert!(store.start_call(p, c, "+79991000005", now).await.is_err());
    // Restart: recovery closes it as system and schedules the retry (30 min by default).
    assert_eq!(dialer.recover().await.unwrap(), 1);
    assert!(store.in_flight().await.unwrap().is_empty());
    let st = store.stats(p).await.unwrap();
    assert_eq!(
        (st.results.get("system").copied(), st.contacts["retry"]),
        (Some(1), 1)
    );
    // On the dialer's clock (still at `now`), never the wall clock.
    assert_eq!(store.promote_due(p, now + 60, 100).await.unwrap(), 0);
    assert!(store.next_callable(p, 10).await.unwrap().is_empty());
    assert_eq!(store.promote_due(p, now + 31 * 60, 100).await.unwrap(), 1);
    assert_eq!(store.next_callable(p, 10).await.unwrap().len(), 1);
    assert_eq!(
        dialer.recover().await.unwrap(),
        0,
        "nothing left to recover"
    );
}
