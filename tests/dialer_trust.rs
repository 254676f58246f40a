//! What one bad thing must not do to the rest (issue 15 §2), on a real SQLite file with the
//! dialer's clock set by hand: a contact row that cannot be read is set aside (closed, shown
//! as `system` «damaged row») and every other contact of every project goes on; a project
//! whose stored settings are damaged, whose schedule no longer parses or whose scenario no
//! longer loads is paused with the reason and frees its active slot; a plan naming a number
//! the contact does not have closes the contact instead of being skipped at every pass; a call
//! recorded as in progress that no task runs is closed by the sweep; and writers hammering the
//! database while gates are held never make a pass fail.
#[path = "common/dialer.rs"]
mod rig;

use autoinformer::import::ImportLimits;
use autoinformer::store::NewProject;
#[allow(unused_imports)]
use autoinformer::store::{AuthStore, CampaignStore, DialerStore, ReportStore};
use rig::*;
use sqlx::Row;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn raw(s: &Setup) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", s.store_path().display()))
        .await
        .unwrap()
}

async fn status_of(raw: &sqlx::SqlitePool, contact: i64) -> (String, Option<String>) {
    let r = sqlx::query("SELECT status, damaged FROM contacts WHERE id = ?")
        .bind(contact)
        .fetch_one(raw)
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_contact_row_is_set_aside_and_every_other_contact_keeps_dialing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let a = project(
        &s,
        "А",
        &["daily 00:00-24:00"],
        5,
        &no_answer_contacts(10, "+7999101"),
    )
    .await;
    let b = project(
        &s,
        "Б",
        &["daily 00:00-24:00"],
        5,
        &no_answer_contacts(10, "+7999102"),
    )
    .await;
    let db = raw(&s).await;
    // In the project's order (the rig's contacts carry rising priorities: highest first).
    let ids: Vec<i64> =
        sqlx::query("SELECT id FROM contacts WHERE project_id = ? ORDER BY priority DESC, seq")
            .bind(a)
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    // The first two in A's order: attempts that are not JSON, fields that are not JSON.
    sqlx::query("UPDATE contacts SET attempts = 'garbage' WHERE id = ?")
        .bind(ids[0])
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE contacts SET fields = '{not json' WHERE id = ?")
        .bind(ids[1])
        .execute(&db)
        .await
        .unwrap();
    let r = s.dialer.pass().await.unwrap();
    // A's five lines took its first five contacts: the two damaged are set aside, the other
    // three dialed; B dials as if nothing happened.
    assert_eq!(r.started, 8, "both projects dial: {r:?}");
    for id in &ids[..2] {
        let (status, damaged) = status_of(&db, *id).await;
        assert_eq!(status, "not_reached");
        assert!(damaged.is_some_and(|d| d.contains(&format!("contact {id}"))));
    }
    s.dialer.drain().await;
    // One line each in the decision log, however many passes come.
    for _ in 0..3 {
        s.dialer.pass().await.unwrap();
        s.dialer.drain().await;
    }
    let log = s.store.decisions(a, None, 1000).await.unwrap();
    let damaged: Vec<_> = log
        .iter()
        .filter(|d| d.reason.starts_with("damaged row"))
        .collect();
    assert_eq!(damaged.len(), 2, "{damaged:?}");
    // Reports show it as system «damaged row».
    let last = s.store.last_results(a, None, 0, 100).await.unwrap();
    let row = last.iter().find(|l| l.contact_id == ids[0]).unwrap();
    let k = row.last_call.as_ref().expect("shown as a result");
    assert_eq!(k.result.as_deref(), Some("system"));
    assert!(k.end_reason.as_deref().unwrap().starts_with("damaged row"));
    // B never noticed.
    assert!(s.store.stats(b).await.unwrap().calls >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_that_cannot_run_is_paused_with_the_reason_and_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let db = raw(&s).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let csv = no_answer_contacts(3, &format!("+799920{i}"));
        ids.push(project(&s, &format!("П{i}"), &["daily 00:00-24:00"], 2, &csv).await);
    }
    // 0: settings that are not JSON; 1: a schedule that no longer parses; 2: a scenario that
    // no longer loads (its prompt is gone).
    sqlx::query("UPDATE projects SET retry_rules = 'oops' WHERE id = ?")
        .bind(ids[0])
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE projects SET schedule = '[\"someday 25:00-26:00\"]' WHERE id = ?")
        .bind(ids[1])
        .execute(&db)
        .await
        .unwrap();
    let broken = s
        .store
        .create_scenario(
            "Сломанный",
            "name = \"x\"\nstart = \"a\"\n[steps.a]\nplay = [\"gone.wav\"]\n",
        )
        .await
        .unwrap();
    sqlx::query("UPDATE projects SET scenario_id = ? WHERE id = ?")
        .bind(broken)
        .bind(ids[2])
        .execute(&db)
        .await
        .unwrap();
    let r = s.dialer.pass().await.unwrap();
    assert_eq!(r.started, 4, "the two good projects dial: {r:?}");
    for (i, words) in [(0, "retry_rules"), (1, "schedule"), (2, "scenario")] {
        let v = s.store.project(ids[i]).await.unwrap();
        assert_eq!(v.status, "paused", "{v:?}");
        let why = v.status_reason.unwrap_or_default();
        assert!(why.contains(words), "{i}: {why}");
    }
    // Three slots are free again: a sixth project can be activated.
    let sixth = s
        .store
        .create_project(&NewProject {
            name: "Шестой".into(),
            scenario_id: s.scenario,
            schedule: vec!["daily 00:00-24:00".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    s.store
        .import_contacts(
            sixth,
            Box::new(std::io::Cursor::new(
                no_answer_contacts(2, "+7999209").into_bytes(),
            )),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    s.store.activate(sixth).await.unwrap();
    // Activating it again (once fixed) clears the reason.
    sqlx::query("UPDATE projects SET schedule = '[\"daily 00:00-24:00\"]' WHERE id = ?")
        .bind(ids[1])
        .execute(&db)
        .await
        .unwrap();
    s.store.activate(ids[1]).await.unwrap();
    assert_eq!(s.store.project(ids[1]).await.unwrap().status_reason, None);
    s.dialer.drain().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_naming_a_number_the_contact_lacks_closes_it_instead_of_skipping_it_forever() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let p = project(
        &s,
        "Номер",
        &["daily 00:00-24:00"],
        5,
        &no_answer_contacts(1, "+7999301"),
    )
    .await;
    let db = raw(&s).await;
    // Attempts for two numbers, the first done: its plan names number 2, which it lacks.
    sqlx::query(
        "UPDATE contacts SET next_idx = 1, attempts = '{\"numbers\": [{\"calls\": 2, \
         \"last_result\": \"busy\", \"in_row\": 2, \"done\": true}, {\"calls\": 0, \
         \"last_result\": null, \"in_row\": 0, \"done\": false}], \"status\": \"retry\", \
         \"last_call\": null}', status = 'retry' WHERE project_id = ?",
    )
    .bind(p)
    .execute(&db)
    .await
    .unwrap();
    let r = s.dialer.pass().await.unwrap();
    assert_eq!((r.started, r.skipped), (0, 1), "{r:?}");
    let st = s.store.stats(p).await.unwrap();
    assert_eq!(st.contacts["not_reached"], 1, "{st:?}");
    let log = s.store.decisions(p, None, 10).await.unwrap();
    assert!(
        log.iter().any(|d| d.reason.contains("no such number")),
        "{log:?}"
    );
    assert_eq!(
        s.dialer.pass().await.unwrap().skipped,
        0,
        "not skipped again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_progress_that_no_task_runs_is_closed_by_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let p = project(
        &s,
        "Потерянный",
        &["daily 00:00-24:00"],
        5,
        &no_answer_contacts(1, "+7999401"),
    )
    .await;
    let due = s.store.next_callable(p, 10).await.unwrap();
    let now = s.clock.now().timestamp();
    // A call recorded as started, whose task is gone (a finish that failed for good).
    let call = s
        .store
        .start_calls(
            p,
            &[autoinformer::store::StartCall {
                contact_id: due[0].id,
                version: due[0].version,
                number: &due[0].numbers[0].e164,
                reason: "started by hand".into(),
            }],
            now * 1000,
        )
        .await
        .unwrap()[0]
        .expect("the contact is ready");
    assert_eq!(s.dialer.sweep().await.unwrap(), 1);
    let c = s.store.call(call).await.unwrap();
    assert_eq!(
        (c.state.as_str(), c.result.as_deref()),
        ("done", Some("system"))
    );
    assert!(c.end_reason.unwrap().contains("the loss of its task"));
    assert_eq!(s.store.stats(p).await.unwrap().contacts["retry"], 1);
    // The dialer's own calls are never swept.
    s.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(s.dialer.pass().await.unwrap().started, 1);
    assert_eq!(s.dialer.sweep().await.unwrap(), 0);
    s.dialer.drain().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_hammering_the_database_while_gates_are_held_never_fail_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    // 12:00 in Moscow is 19:00 in Vladivostok: inside the 10:00–20:00 window of both.
    let mut s = setup(dir.path(), 100, msk(2026, 12, 1, 12, 0)).await;
    let window = ["daily 10:00-20:00"];
    let mut far = String::from("Имя;Телефон\n");
    for i in 0..3000 {
        far.push_str(&format!("Далёкий {i};+7423{i:06}0\n"));
    }
    let held = project(&s, "Далеко", &window, 5, &far).await;
    let near = project(
        &s,
        "Рядом",
        &window,
        5,
        &no_answer_contacts(200, "+7999501"),
    )
    .await;
    let writer_project = s
        .store
        .create_project(&NewProject {
            name: "Импорт".into(),
            scenario_id: s.scenario,
            ..Default::default()
        })
        .await
        .unwrap();
    // 13:05 in Moscow, 20:05 in Vladivostok: the far gate closes; passes hold its contacts.
    s.clock.advance(Duration::from_secs(65 * 60));
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..2u64 {
        let (store, stop, writes) = (s.store.clone(), stop.clone(), writes.clone());
        let csv = no_answer_contacts(999, &format!("+799960{w}"));
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                if w == 0 {
                    // Imports: large transactions one after another (the second and later
                    // merge into the first's numbers, writing all the same).
                    store
                        .import_contacts(
                            writer_project,
                            Box::new(std::io::Cursor::new(csv.clone().into_bytes())),
                            ImportLimits::default(),
                        )
                        .await
                        .unwrap();
                } else {
                    store
                        .add_to_stop_list(&format!("+7999777{:04}", i % 10_000), "hammer")
                        .await
                        .unwrap();
                }
                writes.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut starts = Vec::new();
    let mut held_total = 0;
    for _ in 0..20 {
        let r = s.dialer.pass().await.expect("a pass never fails");
        starts.push(r.started);
        held_total += r.held;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    s.dialer.drain().await;
    let total: u32 = starts.iter().sum();
    println!(
        "contention: {} writes beside 20 passes, {held_total} contacts held; call starts per \
         pass {starts:?}",
        writes.load(Ordering::Relaxed)
    );
    assert!(
        writes.load(Ordering::Relaxed) > 20,
        "the writers barely ran"
    );
    assert_eq!(held_total, 3000, "the far gate's contacts were held");
    assert!(total >= 10, "the near project dialed {total} in 20 passes");
    let st = s.store.stats(near).await.unwrap();
    assert!(st.calls > 0, "{st:?}");
    let far_dialed = s.store.stats(held).await.unwrap().calls;
    assert_eq!(far_dialed, 0, "a held contact was dialed");
}
