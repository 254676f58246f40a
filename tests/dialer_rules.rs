//! The dialer's gates (docs/campaigns.md) against a real SQLite file, each rule its own test, with the
//! dialer's clock set by hand (no waiting for schedules): status × schedule, pausing, the
//! callee's own zone, the stop list, lines per project with fair sharing under the trunk's
//! limit, and ordering — every dial and skip logged with its reason. Calls go to the sim
//! carrier's "no answer" numbers and are cut by a 1 s ring timeout.
#[path = "common/dialer.rs"]
mod rig;

use autoinformer::import::ImportLimits;
use autoinformer::store::NewProject;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use rig::*;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_schedule_nothing_dials_and_pausing_stops_new_calls_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Saturday 2026-12-05 12:00 in Moscow: outside a weekday schedule.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 5, 12, 0)).await;
    let p = project(
        &s,
        "Будни",
        &["mon-fri 09:00-18:00"],
        2,
        &no_answer_contacts(6, "+7999400"),
    )
    .await;
    assert_eq!(s.dialer.pass().await.unwrap().started, 0, "Saturday");
    // Monday 08:59 Moscow: still closed; 09:00: open, two lines.
    s.clock.advance(Duration::from_secs(44 * 3600 + 59 * 60));
    assert_eq!(s.dialer.pass().await.unwrap().started, 0, "Monday 08:59");
    s.clock.advance(Duration::from_secs(60));
    assert_eq!(s.dialer.pass().await.unwrap().started, 2, "Monday 09:00");
    // Lines are full: nothing more while those two are up.
    assert_eq!(s.dialer.pass().await.unwrap().started, 0);
    s.dialer.drain().await;
    // Paused: nothing new, however due.
    s.store.pause(p).await.unwrap();
    assert_eq!(s.dialer.pass().await.unwrap().started, 0, "paused");
    s.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        s.dialer.pass().await.unwrap().started,
        0,
        "paused an hour later"
    );
    s.store.activate(p).await.unwrap();
    assert_eq!(s.dialer.pass().await.unwrap().started, 2, "active again");
    s.dialer.drain().await;
    // A window across midnight belongs to its start day: Monday 23:00–02:00 is open at
    // Tuesday 01:00 and closed at Tuesday 23:30.
    let night = project(
        &s,
        "Ночь",
        &["mon 23:00-02:00"],
        1,
        &no_answer_contacts(3, "+7999500"),
    )
    .await;
    s.store.pause(p).await.unwrap();
    s.clock.advance(Duration::from_secs(15 * 3600)); // Tuesday 01:00
    assert_eq!(s.dialer.pass().await.unwrap().started, 1, "Tuesday 01:00");
    s.dialer.drain().await;
    s.clock.advance(Duration::from_secs(22 * 3600 + 30 * 60)); // Tuesday 23:30
    assert_eq!(s.dialer.pass().await.unwrap().started, 0, "Tuesday 23:30");
    let _ = night;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callees_own_zone_holds_a_number_and_the_stop_list_closes_a_contact_with_the_reasons_logged(
) {
    let dir = tempfile::tempdir().unwrap();
    // 20:30 in Moscow is 03:30 in Vladivostok.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 20, 30)).await;
    let csv = "Имя;Телефон\nМосква;+74951230000\nВладивосток;+74232340000\nСтоп;+74951230010\n";
    let p = project(&s, "Зоны", &["daily 09:00-21:00"], 10, csv).await;
    s.store
        .add_to_stop_list("+74951230010", "asked not to call")
        .await
        .unwrap();
    let r = s.dialer.pass().await.unwrap();
    assert_eq!((r.started, r.held), (1, 1), "{r:?}");
    s.dialer.drain().await;
    // Nothing more this evening, and no more log lines: the hold was written once.
    for _ in 0..3 {
        assert_eq!(s.dialer.pass().await.unwrap(), Default::default());
    }
    let log = s.store.decisions(p, None, 100).await.unwrap();
    // One hold each: Vladivostok now; the Moscow number's retry (21:00) falls after its window.
    let holds = |n: &str| {
        log.iter()
            .filter(|d| d.decision == "hold" && d.number.as_deref() == Some(n))
            .count()
    };
    assert_eq!(
        (holds("+74232340000"), holds("+74951230000")),
        (1, 1),
        "{log:?}"
    );
    let reason = |n: &str, d: &str| {
        log.iter()
            .find(|x| x.number.as_deref() == Some(n) && x.decision == d)
            .map(|x| x.reason.clone())
            .unwrap_or_else(|| panic!("no {d} for {n}: {log:?}"))
    };
    assert!(reason("+74951230000", "dial").contains("number 1 of 1"));
    assert_eq!(
        reason("+74232340000", "hold"),
        "held until 02.12 09:00 Asia/Vladivostok: outside the window in the callee's zone"
    );
    assert_eq!(
        reason("+74951230010", "close"),
        "not reached: +74951230010 is on the stop list and no number is left"
    );
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(
        st.contacts["not_reached"], 1,
        "the stop-listed contact is closed: {st:?}"
    );
    assert!(reason("+74951230000", "result").starts_with("no_answer"));
    // 02:00 next day in Moscow is 09:00 in Vladivostok: the project is closed then; at
    // 09:00 Moscow (16:00 there) both windows are open and the Vladivostok number dials.
    s.clock.advance(Duration::from_secs(12 * 3600 + 30 * 60));
    let r = s.dialer.pass().await.unwrap();
    s.dialer.drain().await;
    assert_eq!(r.started, 2, "Moscow (retry due) and Vladivostok: {r:?}");
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    assert!(
        calls.iter().all(|c| c.number != "+74951230010"),
        "never dialed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_cap_each_project_and_the_trunks_free_lines_are_shared_fairly() {
    let dir = tempfile::tempdir().unwrap();
    // The trunk takes 8 calls at once; project A may use 3 lines, B 10, C 10.
    let mut s = setup(dir.path(), 8, msk(2026, 12, 1, 12, 0)).await;
    let a = project(
        &s,
        "A",
        &["daily 00:00-24:00"],
        3,
        &no_answer_contacts(20, "+7999601"),
    )
    .await;
    let b = project(
        &s,
        "B",
        &["daily 00:00-24:00"],
        10,
        &no_answer_contacts(20, "+7999602"),
    )
    .await;
    let c = project(
        &s,
        "C",
        &["daily 00:00-24:00"],
        10,
        &no_answer_contacts(20, "+7999603"),
    )
    .await;
    let r = s.dialer.pass().await.unwrap();
    assert_eq!(r.started, 8, "the trunk's limit");
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    let up = |p: i64| calls.iter().filter(|k| k.project_id == p).count();
    // One line at a time to the project with the fewest calls up: A stops at its 3.
    assert_eq!((up(a), up(b), up(c)), (3, 3, 2), "{calls:?}");
    assert_eq!(s.dialer.pass().await.unwrap().started, 0, "trunk full");
    s.dialer.drain().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_taken_by_priority_then_import_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let csv = "Имя;Телефон;Приоритет\nпервый;+79997000010;0\nважный;+79997000020;5\nвторой;+79997000030;0\nсрочный;+79997000040;9\n";
    let p = project(&s, "Порядок", &["daily 00:00-24:00"], 1, csv).await;
    let mut order = Vec::new();
    for _ in 0..4 {
        assert_eq!(s.dialer.pass().await.unwrap().started, 1);
        s.dialer.drain().await;
    }
    for d in s.store.decisions(p, None, 100).await.unwrap().iter().rev() {
        if d.decision == "dial" {
            order.push(d.number.clone().unwrap());
        }
    }
    assert_eq!(
        order,
        [
            "+79997000040",
            "+79997000020",
            "+79997000010",
            "+79997000030"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mobile_number_takes_its_zone_from_the_loaded_numbering_registry() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), 100, msk(2026, 12, 1, 20, 30)).await;
    let registry = "АВС/ DEF;От;До;Емкость;Оператор;Регион\n\
                    924;0000000;0999999;1000000;ПАО \"МегаФон\";Приморский край\n";
    let (reg, problems) =
        autoinformer::phone::registry::Registry::parse(registry.as_bytes()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut dialer = s.dialer.with_registry(Arc::new(reg));
    let csv = "Имя;Телефон\nПриморье;+79240000010\nМосква моб.;+79250000010\n";
    let p = s
        .store
        .create_project(&NewProject {
            name: "Реестр".into(),
            scenario_id: s.scenario,
            schedule: vec!["daily 09:00-21:00".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    s.store
        .import_contacts(
            p,
            Box::new(std::io::Cursor::new(csv.as_bytes().to_vec())),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    s.store.activate(p).await.unwrap();
    let r = dialer.pass().await.unwrap();
    dialer.drain().await;
    assert_eq!((r.started, r.skipped), (1, 1), "{r:?}");
    let log = s.store.decisions(p, None, 100).await.unwrap();
    assert!(
        log.iter()
            .any(|d| d.number.as_deref() == Some("+79240000010")
                && d.decision == "hold"
                && d.reason
                    .starts_with("held until 02.12 09:00 Asia/Vladivostok")),
        "{log:?}"
    );
}
