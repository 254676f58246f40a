//! An outbox filled directly in SQLite, for the worker's tests and the outbox benchmark: one
//! project, contact and call, and as many SMS actions as asked in one statement (a million in a
//! few seconds). Include it with `#[path = "common/outbox_db.rs"] mod outbox_db;`.
#![allow(dead_code)]
use autoinformer::store::sqlite::SqliteStore;
use autoinformer::store::{CampaignStore, NewProject};
use sqlx::Row;

/// A store with one project, contact and call that the actions belong to; a raw pool on its
/// file; the call's id.
pub async fn store_with_a_call(dir: &std::path::Path) -> (SqliteStore, sqlx::SqlitePool, i64) {
    let store = SqliteStore::open(&dir.join("bench.db")).await.unwrap();
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/survey/scenario.toml"),
    )
    .unwrap();
    let scenario = store.create_scenario("bench", &source).await.unwrap();
    let p = store
        .create_project(&NewProject {
            name: "bench".into(),
            scenario_id: scenario,
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .import_contacts(
            p,
            Box::new(std::io::Cursor::new(
                b"Name;Phone\nA;+79990000001\n".to_vec(),
            )),
            Default::default(),
        )
        .await
        .unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("bench.db").display()))
        .await
        .unwrap();
    let contact: i64 = sqlx::query("SELECT id FROM contacts")
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    let call = sqlx::query(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at) \
         VALUES (?, ?, '+79990000001', 'done', 0) RETURNING id",
    )
    .bind(p)
    .bind(contact)
    .fetch_one(&raw)
    .await
    .unwrap()
    .get::<i64, _>(0);
    (store, raw, call)
}

/// Inserts `n` actions of the call in one statement: `status_sql` and `next_sql` are SQL
/// expressions of the row number `i`.
pub async fn insert_actions(
    raw: &sqlx::SqlitePool,
    call: i64,
    n: usize,
    status_sql: &str,
    next_sql: &str,
) {
    sqlx::query(&format!(
        "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ?2 - 1) \
         INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, \
                              attempts, next_at, give_up_at, created_at) \
         SELECT c.id, i, c.project_id, c.contact_id, 'sms', \
                json_object('kind', 'sms', 'phone', printf('+7999%07d', i), \
                            'text', 'Спасибо за ответ! Ваш номер ' || i), \
                {status_sql}, 0, {next_sql}, 9000000000000, 0 \
         FROM k, calls c WHERE c.id = ?1"
    ))
    .bind(call)
    .bind(n as i64)
    .execute(raw)
    .await
    .unwrap();
}
