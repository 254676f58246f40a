//! The dialer picks from the whole base, whatever sits at the head of its order: far callee
//! zones and stop-listed contacts ahead of callable ones, bases larger than any batch, every
//! ordering option beyond the first lines' worth of contacts, shares between projects from
//! what each can call now, the decision log written once per hold, and projects that finish.
//! A real SQLite file, the sim carrier, the dialer's clock set by hand.
#[path = "common/dialer.rs"]
mod rig;

use autoinformer::rules::decide::OrderBy;
use autoinformer::store::NewProject;
use autoinformer::store::StoreError;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use rig::*;
use sqlx::Row;
use std::time::Duration;

/// `n` Vladivostok numbers (never answered when dialed): +7 423 2xx xxx0.
fn vladivostok(n: u32, from: u32) -> String {
    (from..from + n)
        .map(|i| format!("Приморье {i};+74232{:05}0\n", i))
        .collect()
}

/// `n` Moscow numbers: +7 495 1xx xxx0.
fn moscow(n: u32, from: u32) -> String {
    (from..from + n)
        .map(|i| format!("Москва {i};+74951{:05}0\n", i))
        .collect()
}

async fn count(s: &Setup, sql: &str, p: i64) -> i64 {
    let path = s.store_path();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap();
    let n = sqlx::query(sql)
        .bind(p)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_zones_at_the_head_are_held_and_the_callable_contacts_dial_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // 15:00 in Moscow is 22:00 in Vladivostok.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 15, 0)).await;
    // 25,000 Vladivostok contacts first (more than any batch of the dialer), then 5 Moscow ones.
    let csv = format!("Имя;Телефон\n{}{}", vladivostok(25_000, 0), moscow(5, 0));
    let p = project(&s, "Зоны", &["daily 09:00-21:00"], 10, &csv).await;
    let r = s.dialer.pass().await.unwrap();
    assert_eq!((r.started, r.held), (5, 25_000), "{r:?}");
    let numbers = dialed(&s, p).await;
    assert!(
        numbers.iter().all(|n| n.starts_with("+7495")),
        "{numbers:?}"
    );
    s.dialer.drain().await;
    // Later passes this evening: nothing to dial, nothing more written to the log.
    for _ in 0..3 {
        assert_eq!(s.dialer.pass().await.unwrap(), Default::default());
    }
    let holds = count(
        &s,
        "SELECT COUNT(*) FROM decisions WHERE project_id = ? AND decision = 'hold'",
        p,
    )
    .await;
    assert_eq!(holds, 25_000, "one hold line per contact, once");
    let log = s.store.decisions(p, None, 10).await.unwrap();
    assert!(
        log.iter().all(|d| d.decision != "skip"),
        "no skip rows: {log:?}"
    );
    // Next morning, 09:00 Moscow (16:00 there): Vladivostok contacts are callable again.
    s.clock.advance(Duration::from_secs(18 * 3600));
    let r = s.dialer.pass().await.unwrap();
    s.dialer.drain().await;
    assert_eq!(r.started, 10, "{r:?}");
    let numbers = dialed(&s, p).await;
    assert!(
        numbers[5..].iter().any(|n| n.starts_with("+74232")),
        "{numbers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_listed_contacts_close_at_once_never_block_the_rest_and_the_campaign_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    for i in 0..200 {
        s.store
            .add_to_stop_list(&format!("+79990{i:05}0"), "просил не звонить")
            .await
            .unwrap();
    }
    s.store
        .add_to_stop_list("+79990999990", "просил не звонить")
        .await
        .unwrap();
    let mut csv = String::from("Имя;Телефон;Телефон 2\n");
    for i in 0..200 {
        csv.push_str(&format!("Стоп {i};+79990{i:05}0;\n"));
    }
    for i in 0..5 {
        csv.push_str(&format!("Абонент {i};+79991{i:05}0;\n"));
    }
    // First number on the stop list, the second not: dialed on the second.
    csv.push_str("Два номера;+79990999990;+79992000000\n");
    let p = project_with(
        &s,
        NewProject {
            name: "Стоп-лист".into(),
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 10,
            ..Default::default()
        },
        &csv,
    )
    .await;
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(st.contacts["not_reached"], 200, "closed at import: {st:?}");
    let r = s.dialer.pass().await.unwrap();
    assert_eq!(r.started, 6, "{r:?}");
    assert!(dialed(&s, p).await.contains(&"+79992000000".to_string()));
    s.dialer.drain().await;
    let closed = s.store.decisions(p, None, 5_000).await.unwrap();
    assert_eq!(
        closed
            .iter()
            .filter(|d| d.decision == "close" && d.reason.contains("stop list"))
            .count(),
        200
    );
    // Stop-listed while waiting for its retry: closed at once.
    s.store
        .add_to_stop_list("+79991000000", "просил не звонить")
        .await
        .unwrap();
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(
        (st.contacts["not_reached"], st.contacts["retry"]),
        (201, 5),
        "{st:?}"
    );
    // The retries (no answer, 30 min) are the last calls: then the project is finished.
    s.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(s.dialer.pass().await.unwrap().started, 5);
    s.dialer.drain().await;
    let r = s.dialer.pass().await.unwrap();
    assert_eq!(r.finished, 1, "{r:?}");
    assert_eq!(s.store.project(p).await.unwrap().status, "finished");
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(st.contacts["not_reached"], 206, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_go_to_the_projects_that_can_call_now() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 12, msk(2026, 12, 1, 15, 0)).await;
    // A: only Vladivostok contacts (their window is closed); B: Moscow ones.
    let a = project(
        &s,
        "A",
        &["daily 09:00-21:00"],
        10,
        &format!("Имя;Телефон\n{}", vladivostok(50, 0)),
    )
    .await;
    let b = project(
        &s,
        "B",
        &["daily 09:00-21:00"],
        20,
        &format!("Имя;Телефон\n{}", moscow(50, 0)),
    )
    .await;
    let r = s.dialer.pass().await.unwrap();
    assert_eq!(r.started, 12, "the whole trunk is used: {r:?}");
    assert!(dialed(&s, a).await.is_empty());
    assert_eq!(dialed(&s, b).await.len(), 12);
    s.dialer.drain().await;
}

/// Two contacts called once (no answer) whose retries are due 7 s ago, behind 60 new ones.
async fn retries_behind_new_contacts(ordering: Vec<OrderBy>, retry_priority: i32) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let p = project_with(
        &s,
        NewProject {
            name: "Порядок".into(),
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 2,
            ordering,
            ..Default::default()
        },
        &format!(
            "Имя;Телефон;Приоритет\nперезвон 1;+79993000010;{retry_priority}\nперезвон 2;+79993000020;{retry_priority}\n"
        ),
    )
    .await;
    assert_eq!(s.dialer.pass().await.unwrap().started, 2);
    s.dialer.drain().await;
    let mut csv = String::from("Имя;Телефон;Приоритет\n");
    for i in 0..60 {
        csv.push_str(&format!("новый {i};+79994{i:05}0;0\n"));
    }
    import(&s, p, &csv).await;
    s.clock.advance(Duration::from_secs(30 * 60 + 7));
    assert_eq!(s.dialer.pass().await.unwrap().started, 2);
    s.dialer.drain().await;
    dialed(&s, p).await[2..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_retries_come_first_by_retries_first_or_by_their_priority() {
    let want = ["+79993000010", "+79993000020"];
    assert_eq!(
        retries_behind_new_contacts(vec![OrderBy::RetriesFirst, OrderBy::OldestFirst], 0).await,
        want
    );
    assert_eq!(
        retries_behind_new_contacts(vec![OrderBy::Priority, OrderBy::OldestFirst], 9).await,
        want
    );
    // And new first takes the new contacts.
    let got = retries_behind_new_contacts(vec![OrderBy::NewFirst, OrderBy::OldestFirst], 9).await;
    assert_eq!(got, ["+79994000000", "+79994000010"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_walks_the_whole_base_from_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let mut csv = String::from("Имя;Телефон\n");
    for i in 1..=60 {
        csv.push_str(&format!("Абонент {i};+79995{i:05}0\n"));
    }
    let p = project_with(
        &s,
        NewProject {
            name: "С конца".into(),
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 3,
            ordering: vec![OrderBy::NewestFirst],
            ..Default::default()
        },
        &csv,
    )
    .await;
    for _ in 0..2 {
        assert_eq!(s.dialer.pass().await.unwrap().started, 3);
        s.dialer.drain().await;
    }
    let seq: Vec<u32> = dialed(&s, p)
        .await
        .iter()
        .map(|n| n[7..11].parse().unwrap())
        .collect();
    assert_eq!(seq, [60, 59, 58, 57, 56, 55]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_project_frees_its_slot_and_new_contacts_let_it_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let one_call = |name: &str| NewProject {
        name: name.into(),
        schedule: vec!["daily 00:00-24:00".into()],
        max_calls_per_number: 1,
        ..Default::default()
    };
    let mut ids = Vec::new();
    for i in 0..5 {
        let csv = format!("Имя;Телефон\nА;+79996{i:05}0\n");
        ids.push(project_with(&s, one_call(&format!("P{i}")), &csv).await);
    }
    let sixth = s
        .store
        .create_project(&{
            let mut np = one_call("P5");
            np.scenario_id = s.scenario;
            np
        })
        .await
        .unwrap();
    import(&s, sixth, "Имя;Телефон\nБ;+79997000000\n").await;
    assert!(matches!(
        s.store.activate(sixth).await,
        Err(StoreError::TooManyActive(_))
    ));
    // One call each (no answer, one call per number): every contact is closed.
    assert_eq!(s.dialer.pass().await.unwrap().started, 5);
    s.dialer.drain().await;
    assert_eq!(s.dialer.pass().await.unwrap().finished, 5);
    let log = s.store.decisions(ids[0], None, 10).await.unwrap();
    assert_eq!(log[0].decision, "finished", "{log:?}");
    // The five slots are free; a finished project needs new contacts to run again.
    s.store.activate(sixth).await.unwrap();
    match s.store.activate(ids[0]).await {
        Err(StoreError::Invalid(m)) => assert!(m.contains("no contacts left"), "{m}"),
        other => panic!("{other:?}"),
    }
    import(&s, ids[0], "Имя;Телефон\nВ;+79998000000\n").await;
    s.store.activate(ids[0]).await.unwrap();
    assert_eq!(s.store.project(ids[0]).await.unwrap().status, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_call_with_no_audio_is_a_system_failure_retried_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = autoinformer::telephony::sim::SimConfig {
        ring_min_s: 0.2,
        ring_max_s: 0.4,
        ..Default::default()
    };
    sim.numbers.insert("+79990000018".into(), "no_media".into());
    let live = autoinformer::call::live::LiveSettings {
        ring_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let mut s = setup_with(dir.path(), msk(2026, 12, 1, 12, 0), sim, live).await;
    let p = project(
        &s,
        "Без звука",
        &["daily 00:00-24:00"],
        2,
        "Имя;Телефон\nТишина;+79990000018\n",
    )
    .await;
    assert_eq!(s.dialer.pass().await.unwrap().started, 1);
    s.dialer.drain().await;
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.result.as_deref(), Some("system"), "{c:?}");
    assert_eq!(c.end_reason.as_deref(), Some("no audio from the callee"));
    assert!(c.answered_at.is_some());
    let talk = c.talk_ms.unwrap();
    assert!(
        (5_000..6_500).contains(&talk),
        "cut 5 s after the answer: {talk} ms"
    );
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(
        st.contacts["retry"], 1,
        "not reached: retried by the system rule"
    );
    assert_eq!(s.store.call_totals().await.unwrap().without_audio, 1);
}

/// A trunk with a bug: placing a call panics.
struct Broken;

impl autoinformer::telephony::trunk::Trunk for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn dial(
        &self,
        _req: autoinformer::telephony::trunk::DialRequest,
    ) -> autoinformer::BoxFuture<
        '_,
        Result<autoinformer::telephony::trunk::Leg, autoinformer::telephony::trunk::TrunkError>,
    > {
        Box::pin(async { panic!("a bug in the trunk") })
    }
    fn max_calls(&self) -> usize {
        10
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_task_that_panics_frees_its_line_and_its_call_is_closed_as_system() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let p = project(
        &s,
        "Сбой",
        &["daily 00:00-24:00"],
        3,
        "Имя;Телефон\nА;+79990000010\nБ;+79990000020\n",
    )
    .await;
    let mut d = dialer_with(&s, std::sync::Arc::new(Broken));
    assert_eq!(d.pass().await.unwrap().started, 2);
    d.drain().await;
    assert_eq!(d.calls_up(), 0, "the lines are free");
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    assert_eq!(calls.len(), 2);
    for c in &calls {
        assert_eq!(
            (c.state.as_str(), c.result.as_deref()),
            ("done", Some("system"))
        );
        assert_eq!(
            c.end_reason.as_deref(),
            Some("interrupted by a failure of its task before the answer")
        );
    }
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(
        st.contacts["retry"], 2,
        "retried by the system rule: {st:?}"
    );
}
