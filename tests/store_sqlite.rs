//! The SQLite store on a real database file: migrations at open, project validation, CSV import
//! with good and bad rows and merging of duplicates, the five-active rule (also under concurrent
//! activations), pause, stats.
use autoinformer::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use autoinformer::store::{NewProject, StoreError};
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
    let dynstore: &dyn ReportStore = s.as_ref();
    assert!(dynstore.stats(ids[1]).await.is_ok());
}

fn csv(text: String) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(text.into_bytes())
}

/// `n` rows with one distinct mobile number each, from `from`.
fn rows(from: u64, n: u64) -> String {
    (from..from + n)
        .map(|i| format!("Абонент {i};+7 (916) {:07}\n", i))
        .collect()
}

#[tokio::test]
async fn big_imports_merge_numbers_the_project_has_across_batches_and_report_the_same() {
    let (_d, s) = store().await;
    let p = project(&s, "Большой").await;
    // 3,000 even numbers and one more first.
    let evens: String = (0..6_000u64)
        .filter(|i| i % 2 == 0)
        .map(|i| format!("Абонент {i};+7 (916) {i:07}\n"))
        .collect();
    let first = format!("ФИО;Телефон\n{evens}Особый;8 918 000 00 00\n");
    let r = s
        .import_csv(p, csv(first), ImportLimits::default())
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates, r.rejected.len()), (3_001, 0, 0));
    // Then 12,000 rows (several batches): the 3,000 evens merge, a row with an old and a new
    // number is new, bad values are reported by row, a number twice in the file merges.
    let mut text = format!("ФИО;Телефон\n{}", rows(0, 12_000));
    text.push_str("Старый и новый;+79180000000, +79170000001\n");
    text.push_str("Мусор;не номер\n");
    text.push_str("Повтор;8 916 000 00 01\n");
    let r = s
        .import_csv(p, csv(text), ImportLimits::default())
        .await
        .unwrap();
    assert_eq!(
        (r.imported, r.duplicates),
        (9_001, 3_001),
        "{:?}",
        r.rejected
    );
    let bad: Vec<(u64, &str)> = r
        .rejected
        .iter()
        .map(|x| (x.row, x.value.as_str()))
        .collect();
    assert_eq!(bad, [(12_003, "не номер")]);
    assert_eq!(s.stats(p).await.unwrap().contacts["not_called"], 12_002);
    // The contact with an old and a new number keeps only the new one.
    let due = s.next_callable(p, 20_000).await.unwrap();
    assert_eq!(due.len(), 12_002);
    let mixed = due
        .iter()
        .find(|c| c.numbers[0].e164 == "+79170000001")
        .unwrap();
    assert_eq!(mixed.numbers.len(), 1);
}

#[tokio::test]
async fn a_file_over_the_limit_after_many_good_rows_leaves_the_project_unchanged() {
    let (_d, s) = store().await;
    let p = project(&s, "Лимит").await;
    s.import_csv(
        p,
        csv(format!("ФИО;Телефон\n{}", rows(0, 10))),
        ImportLimits::default(),
    )
    .await
    .unwrap();
    let before = s.stats(p).await.unwrap();
    let due_before: Vec<i64> = s
        .next_callable(p, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    // 30,000 good rows (several committed batches), then the size limit.
    let text = format!("ФИО;Телефон\n{}", rows(5, 30_000));
    let max_bytes = text.len() as u64 - 100;
    match s
        .import_csv(
            p,
            csv(text),
            ImportLimits {
                max_bytes,
                ..Default::default()
            },
        )
        .await
    {
        Err(StoreError::TooLarge(n)) => assert_eq!(n, max_bytes),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.stats(p).await.unwrap(), before);
    let due_after: Vec<i64> = s
        .next_callable(p, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(due_after, due_before);
    // Its numbers are gone too: importing them again makes new contacts, not duplicates.
    let r = s
        .import_csv(
            p,
            csv(format!("ФИО;Телефон\n{}", rows(5, 30_000))),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (29_995, 5));
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

async fn contacts_of(s: &SqliteStore, p: i64) -> u64 {
    s.stats(p).await.unwrap().contacts.values().sum()
}

/// Waits until the project has at least `n` contacts (an import's batches commit meanwhile).
async fn wait_for_contacts(s: &SqliteStore, p: i64, n: u64) {
    for _ in 0..1_000 {
        if contacts_of(s, p).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_of_a_running_import_are_not_dialed_and_a_second_import_waits() {
    let (_d, s) = store().await;
    let p = project(&s, "Идёт импорт").await;
    let (reader, go) = gated(
        format!("ФИО;Телефон\n{}", rows(0, 12_000)),
        rows(12_000, 10),
    );
    let running = {
        let s = s.clone();
        tokio::spawn(async move { s.import_csv(p, reader, ImportLimits::default()).await })
    };
    wait_for_contacts(&s, p, 10_000).await;
    assert!(s.next_callable(p, 10).await.unwrap().is_empty());
    match s
        .import_csv(
            p,
            csv(format!("ФИО;Телефон\n{}", rows(50_000, 1))),
            ImportLimits::default(),
        )
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("is running"), "{m}"),
        other => panic!("{other:?}"),
    }
    go.send(()).unwrap();
    let r = running.await.unwrap().unwrap();
    assert_eq!(r.imported, 12_010);
    assert_eq!(s.next_callable(p, 10).await.unwrap().len(), 10);
    // Once it is done, the next import may run.
    let r = s
        .import_csv(
            p,
            csv(format!("ФИО;Телефон\n{}", rows(50_000, 1))),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.imported, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_import_is_removed_again() {
    let (_d, s) = store().await;
    let p = project(&s, "Отмена").await;
    let (reader, go) = gated(format!("ФИО;Телефон\n{}", rows(0, 12_000)), String::new());
    let running = {
        let s = s.clone();
        tokio::spawn(async move { s.import_csv(p, reader, ImportLimits::default()).await })
    };
    wait_for_contacts(&s, p, 10_000).await;
    // The request goes away (the future is dropped): what it wrote is removed.
    running.abort();
    let _ = running.await;
    for _ in 0..1_000 {
        if contacts_of(&s, p).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(contacts_of(&s, p).await, 0);
    drop(go);
    let r = s
        .import_csv(
            p,
            csv(format!("ФИО;Телефон\n{}", rows(0, 3))),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (3, 0));
}

#[tokio::test]
async fn an_import_cut_off_by_a_crash_is_removed_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let p = project(&s, "Сбой").await;
    s.import_csv(
        p,
        csv(format!("ФИО;Телефон\n{}", rows(0, 5))),
        ImportLimits::default(),
    )
    .await
    .unwrap();
    drop(s);
    // What a process stopped midway leaves: an import still running, with a contact.
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let import = sqlx::query("INSERT INTO imports (project_id, started_at) VALUES (?, 0)")
            .bind(p)
            .execute(&pool)
            .await
            .unwrap()
            .last_insert_rowid();
        let c = sqlx::query(
            "INSERT INTO contacts (project_id, seq, created_at, import_id) VALUES (?, 6, 0, ?)",
        )
        .bind(p)
        .bind(import)
        .execute(&pool)
        .await
        .unwrap()
        .last_insert_rowid();
        sqlx::query(
            "INSERT INTO contact_numbers (contact_id, project_id, idx, e164) VALUES (?, ?, 0, ?)",
        )
        .bind(c)
        .bind(p)
        .bind("+79160000099")
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(contacts_of(&s, p).await, 5);
    let r = s
        .import_csv(
            p,
            csv("phone\n+79160000099\n".into()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert_eq!((r.imported, r.duplicates), (1, 0));
}

#[tokio::test]
async fn callable_contacts_come_new_first_by_priority_then_import_order_with_their_numbers() {
    let (_d, s) = store().await;
    let p = project(&s, "Порядок").await;
    let text = "ФИО;Телефон;Телефон 2;Приоритет\n\
                A;+79160000001;;0\n\
                B;+79160000002;+74951234567;5\n\
                C;+79160000003;;0\n\
                D;+79160000004;;5\n";
    s.import_csv(p, csv(text.into()), ImportLimits::default())
        .await
        .unwrap();
    let due = s.next_callable(p, 10).await.unwrap();
    let firsts: Vec<&str> = due.iter().map(|c| c.numbers[0].e164.as_str()).collect();
    assert_eq!(
        firsts,
        [
            "+79160000002",
            "+79160000004",
            "+79160000001",
            "+79160000003"
        ]
    );
    use autoinformer::phone::NumberKind;
    use autoinformer::store::ContactNumber;
    assert_eq!(
        due[0].numbers,
        [
            ContactNumber {
                e164: "+79160000002".into(),
                zone: None,
                kind: NumberKind::Mobile
            },
            ContactNumber {
                e164: "+74951234567".into(),
                zone: Some("Europe/Moscow".into()),
                kind: NumberKind::Other
            }
        ]
    );
    assert_eq!(due[0].attempts.calls(), 0);
    assert_eq!(s.next_callable(p, 3).await.unwrap().len(), 3);
    // A contact in a call is not due; the others still come in order.
    s.start_call(p, due[0].id, "+79160000002", 0).await.unwrap();
    let ids: Vec<i64> = s
        .next_callable(p, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, [due[1].id, due[2].id, due[3].id]);
}

#[tokio::test]
async fn contacts_stored_by_an_older_version_get_their_plan_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/autoinformer.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let p = project(&s, "Старая база").await;
    let text = "ФИО;Телефон;Приоритет\nA;+79160000001;0\nB;+79160000002;5\nC;+79160000003;9\n";
    s.import_csv(p, csv(text.into()), ImportLimits::default())
        .await
        .unwrap();
    drop(s);
    // What the previous version left: no plan; "new" contacts with next_at NULL, and C waiting
    // for a retry ten minutes from now.
    let now = chrono::Utc::now().timestamp();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET pick_key = NULL, ready = 0, next_at = NULL")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET status = 'retry', next_at = ? WHERE name = 'C'")
        .bind(now + 600)
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let s = SqliteStore::open(&path).await.unwrap();
    let ready: Vec<String> = s
        .next_callable(p, 10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.numbers[0].e164.clone())
        .collect();
    assert_eq!(
        ready,
        ["+79160000002", "+79160000001"],
        "by priority, C waits"
    );
    assert_eq!(s.promote_due(p, now + 601, 100).await.unwrap(), 1);
    assert_eq!(s.next_callable(p, 10).await.unwrap().len(), 3);
}
