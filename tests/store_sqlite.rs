//! The SQLite store on a real database file: migrations at open, project validation, CSV import
//! with good and bad rows and merging of duplicates, the five-active rule (also under concurrent
//! activations), pause, stats.
use autoinformer::store::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::{NewProject, Store, StoreError};
use std::sync::Arc;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("data/autoinformer.db"))
        .await
        .expect("open");
    (dir, s)
}

async fn project(s: &SqliteStore, name: &str) -> i64 {
    let sc = s
        .create_scenario("Опрос", "name = \"Опрос\"")
        .await
        .unwrap();
    s.create_project(&NewProject {
        name: name.into(),
        scenario_id: sc,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn invalid_projects_are_refused_with_the_reason() {
    let (_d, s) = store().await;
    let sc = s.create_scenario("x", "x").await.unwrap();
    let bad = |f: fn(&mut NewProject)| {
        let mut p = NewProject {
            name: "P".into(),
            scenario_id: sc,
            ..Default::default()
        };
        f(&mut p);
        p
    };
    for (p, needle) in [
        (bad(|p| p.max_calls_per_number = 3), "1 or 2"),
        (bad(|p| p.time_zone = "Moon/Base".into()), "Moon/Base"),
        (bad(|p| p.schedule = vec!["someday 9-5".into()]), "someday"),
        (bad(|p| p.scenario_id = 999), "scenario 999"),
        (bad(|p| p.lines = 0), "lines"),
    ] {
        match s.create_project(&p).await {
            Err(StoreError::Invalid(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{needle}: {other:?}"),
        }
    }
    project(&s, "P").await;
    assert!(matches!(
        s.create_project(&bad(|_| {})).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn import_keeps_good_rows_reports_bad_ones_and_merges_duplicates() {
    let (_d, s) = store().await;
    let p = project(&s, "Показания").await;
    let csv = "ФИО;Телефон;Лицевой счет\n\
               Иванов;8 (912) 345-67-89;1001\n\
               Казахстан;+7 701 234 5678;1002\n\
               Без номера;;1003\n\
               Петров;+7 495 123-45-67, 8 916 000 11 22;1004\n";
    let r = s
        .import_csv(
            p,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (2, 0), "{r:?}");
    let rows: Vec<u64> = r.rejected.iter().map(|x| x.row).collect();
    assert_eq!(rows, [3, 4]);
    // A row whose numbers are all in the project already merges; a new number is a new contact.
    let again = "phone\n+79123456789\n+79990001122\n";
    let r = s
        .import_csv(
            p,
            std::io::Cursor::new(again.as_bytes().to_vec()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (1, 1), "{r:?}");
    let st = s.stats(p).await.unwrap();
    assert_eq!(st.contacts["not_called"], 3);
    assert_eq!(st.calls, 0);
}

#[tokio::test]
async fn a_project_without_contacts_cannot_be_activated() {
    let (_d, s) = store().await;
    let p = project(&s, "Пустой").await;
    match s.activate(p).await {
        Err(StoreError::Invalid(m)) => assert!(m.contains("no contacts"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.activate(999).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_sixth_active_project_is_refused_naming_the_five_even_when_racing() {
    let (_d, s) = store().await;
    let s = Arc::new(s);
    let mut ids = Vec::new();
    for i in 1..=7 {
        let id = project(&s, &format!("Кампания {i}")).await;
        s.import_csv(
            id,
            std::io::Cursor::new(format!("phone\n+7912000000{i}\n").into_bytes()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // Seven activations at once: exactly five win.
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let s = s.clone();
            tokio::spawn(async move { s.activate(id).await })
        })
        .collect();
    let mut refused = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            refused.push(e);
        }
    }
    assert_eq!(refused.len(), 2, "{refused:?}");
    let active = s.active_projects().await.unwrap();
    assert_eq!(active.len(), 5);
    match &refused[0] {
        StoreError::TooManyActive(names) => assert_eq!(names, &active),
        other => panic!("{other:?}"),
    }
    // Re-activating an active project is fine; pausing one frees a place for a refused one.
    let name_of = |id: i64| {
        format!(
            "Кампания {}",
            ids.iter().position(|x| *x == id).unwrap() + 1
        )
    };
    let on = *ids
        .iter()
        .find(|id| active.contains(&name_of(**id)))
        .unwrap();
    let off = *ids
        .iter()
        .find(|id| !active.contains(&name_of(**id)))
        .unwrap();
    s.activate(on).await.unwrap();
    assert!(matches!(
        s.activate(off).await,
        Err(StoreError::TooManyActive(_))
    ));
    s.pause(on).await.unwrap();
    s.activate(off).await.unwrap();
    let now_active = s.active_projects().await.unwrap();
    assert_eq!(now_active.len(), 5);
    assert!(now_active.contains(&name_of(off)) && !now_active.contains(&name_of(on)));
    // Through the trait as well.
    let dynstore: &dyn Store = s.as_ref();
    assert!(dynstore.stats(ids[1]).await.is_ok());
}
