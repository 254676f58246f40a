//! Two campaign rules on a real SQLite file with the dialer's clock set by hand: a project's
//! start and end date-time (nothing dials before the start; at the end it stops dialing and
//! becomes finished, calls in progress ending normally), and windows per number type (the
//! type from the import's column headers or from the number; each type's own intervals, read
//! in the callee's local time, inside the schedule). Calls go to the sim carrier and are cut
//! by a 1 s ring timeout.
#[path = "common/dialer.rs"]
mod rig;

#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use autoinformer::store::{NewProject, StoreError};
use rig::*;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_dials_before_the_start_and_at_the_end_the_project_finishes() {
    let dir = tempfile::tempdir().unwrap();
    // Tuesday 1 December 2026, 12:00 Moscow; the project runs on the 2nd from 10:00 to 11:00.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..10 {
        csv.push_str(&format!("Абонент {i};+79990{i:05}0\n"));
    }
    let p = project_with(
        &s,
        NewProject {
            name: "По датам".into(),
            schedule: vec!["daily 00:00-24:00".into()],
            lines: 2,
            starts_at: Some("2026-12-02 10:00".into()),
            ends_at: Some("2026-12-02 11:00".into()),
            ..Default::default()
        },
        &csv,
    )
    .await;
    let view = s.store.project(p).await.unwrap();
    assert_eq!(view.starts_at.as_deref(), Some("2026-12-02 10:00"));
    for _ in 0..3 {
        assert_eq!(
            s.dialer.pass().await.unwrap().started,
            0,
            "before the start"
        );
    }
    let log = s.store.decisions(p, None, 10).await.unwrap();
    assert_eq!(log.len(), 1, "logged once: {log:?}");
    assert_eq!(
        log[0].reason,
        "waiting for the project's start at 2026-12-02 10:00 Europe/Moscow"
    );
    // 10:00 on the 2nd: it dials.
    s.clock.advance(Duration::from_secs(22 * 3600));
    assert_eq!(s.dialer.pass().await.unwrap().started, 2);
    s.dialer.drain().await;
    // A call is up when the end comes: no new call, the call ends normally, the project finishes.
    s.clock.advance(Duration::from_secs(59 * 60 + 59));
    assert_eq!(s.dialer.pass().await.unwrap().started, 2, "10:59:59");
    s.clock.advance(Duration::from_secs(1));
    let r = s.dialer.pass().await.unwrap();
    assert_eq!((r.started, r.finished), (0, 1), "{r:?}");
    s.dialer.drain().await;
    assert_eq!(s.store.project(p).await.unwrap().status, "finished");
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    assert_eq!(calls.len(), 4);
    assert!(calls
        .iter()
        .all(|c| c.state == "done" && c.result.is_some()));
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(
        st.contacts["not_called"], 6,
        "never dialed after the end: {st:?}"
    );
    assert_eq!(s.dialer.pass().await.unwrap().started, 0);
    // Bad dates are refused; a project whose end has passed cannot run again.
    let bad = s
        .store
        .create_project(&NewProject {
            name: "Кривые даты".into(),
            scenario_id: s.scenario,
            starts_at: Some("2026-12-02 11:00".into()),
            ends_at: Some("2026-12-02 10:00".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(m)) if m.contains("later than")));
    let bad = s
        .store
        .create_project(&NewProject {
            name: "Не дата".into(),
            scenario_id: s.scenario,
            starts_at: Some("завтра".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(m)) if m.contains("starts_at")));
    let old = s
        .store
        .create_project(&NewProject {
            name: "Прошлое".into(),
            scenario_id: s.scenario,
            ends_at: Some("2025-01-01 00:00".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    import(&s, old, "Имя;Телефон\nА;+79998000000\n").await;
    assert!(
        matches!(s.store.activate(old).await, Err(StoreError::Invalid(m)) if m.contains("ended at"))
    );
}

fn type_windows() -> BTreeMap<String, Vec<String>> {
    let mut t = BTreeMap::new();
    // Work: 09:00–18:00 except 12:00–14:00; home: evenings.
    t.insert(
        "work".to_string(),
        vec!["mon-fri 09:00-12:00".into(), "mon-fri 14:00-18:00".into()],
    );
    t.insert("home".to_string(), vec!["daily 20:00-21:30".into()]);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_number_type_is_called_inside_its_own_windows() {
    let dir = tempfile::tempdir().unwrap();
    // Tuesday 12:30 Moscow: lunch for work numbers, too early for home ones.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 30)).await;
    let csv = "ФИО;Телефон рабочий;Телефон домашний;Телефон сотовый;Телефон\n\
               Работа;+74951110000;;;\n\
               Дом;;+74951120000;;\n\
               Сотовый;;;+79991130000;\n\
               Просто;;;;+79991140000\n\
               Городской;;;;+74951150000\n";
    let p = project_with(
        &s,
        NewProject {
            name: "Типы номеров".into(),
            schedule: vec!["daily 08:00-22:00".into()],
            lines: 10,
            type_windows: type_windows(),
            ..Default::default()
        },
        csv,
    )
    .await;
    let kinds: BTreeMap<String, String> = s
        .store
        .last_results(p, None, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name.unwrap_or_default(), r.number_types.join(",")))
        .collect();
    assert_eq!(kinds["Работа"], "work");
    assert_eq!(kinds["Дом"], "home");
    assert_eq!(kinds["Сотовый"], "mobile");
    assert_eq!(kinds["Просто"], "mobile", "from the number");
    assert_eq!(kinds["Городской"], "other", "from the number");
    let r = s.dialer.pass().await.unwrap();
    assert_eq!((r.started, r.held), (3, 2), "{r:?}");
    s.dialer.drain().await;
    let dialed_now = dialed(&s, p).await;
    assert!(!dialed_now.contains(&"+74951110000".to_string()));
    let log = s.store.decisions(p, None, 50).await.unwrap();
    let hold = |n: &str| {
        log.iter()
            .find(|d| d.decision == "hold" && d.number.as_deref() == Some(n))
            .map(|d| d.reason.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        hold("+74951110000"),
        "held until 01.12 14:00 Europe/Moscow: outside the windows for work numbers"
    );
    assert_eq!(
        hold("+74951120000"),
        "held until 01.12 20:00 Europe/Moscow: outside the windows for home numbers"
    );
    // 14:00: the work number (and the first three's retries, due since 13:00); the home
    // number still waits.
    s.clock.advance(Duration::from_secs(90 * 60));
    let r = s.dialer.pass().await.unwrap();
    s.dialer.drain().await;
    assert_eq!(r.started, 4, "{r:?}");
    let at_two = dialed(&s, p).await;
    assert!(at_two.contains(&"+74951110000".to_string()));
    assert!(!at_two.contains(&"+74951120000".to_string()));
    // 20:00: the home number; the work number's retry waits for tomorrow's 09:00.
    s.clock.advance(Duration::from_secs(6 * 3600));
    let r = s.dialer.pass().await.unwrap();
    s.dialer.drain().await;
    let at_eight = dialed(&s, p).await;
    assert_eq!(
        &at_eight[at_two.len()..],
        ["+74951120000"],
        "only the home number: {r:?}"
    );
    let calls = s.store.list_calls(&Default::default()).await.unwrap();
    let work_call = calls.iter().find(|c| c.number == "+74951110000").unwrap();
    assert_eq!(work_call.number_type.as_deref(), Some("work"));
    // Unknown types and windowless types are refused at creation.
    let mut bad = type_windows();
    bad.insert("pager".into(), vec!["daily 09:00-10:00".into()]);
    let r = s
        .store
        .create_project(&NewProject {
            name: "Пейджер".into(),
            scenario_id: s.scenario,
            type_windows: bad,
            ..Default::default()
        })
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(m)) if m.contains("pager")));
}
