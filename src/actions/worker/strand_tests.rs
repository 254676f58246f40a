//! A database action claimed just before the database went away: its outcome cannot be
//! written, and it is queued again (then carried out) once the database answers, not left
//! `sending` until a restart.
use super::*;
use crate::actions::webhook::Destinations;
use crate::store::sqlite::SqliteStore;
use crate::store::{ActionView, CampaignStore, NewProject, OutboxStore as Outbox, StoreError as E};
use async_trait::async_trait;
use sqlx::Row;
use std::sync::atomic::{AtomicBool, Ordering};

/// The SQLite store, whose database "goes away" right after a claim (every write fails)
/// until `back` is set.
struct GoesAway {
    inner: SqliteStore,
    after_claim: AtomicBool,
    away: AtomicBool,
    /// The next claim commits and its answer is lost (the connection broke after the commit).
    lose_answer: AtomicBool,
}

impl GoesAway {
    fn check(&self) -> Result<(), E> {
        if self.away.load(Ordering::SeqCst) {
            return Err(E::Db(
                "error communicating with database: Connection reset by peer".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Outbox for GoesAway {
    async fn claim_actions(
        &self,
        kinds: &[ActionKind],
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<ActionRow>, E> {
        self.check()?;
        let r = self.inner.claim_actions(kinds, now_ms, limit).await;
        if r.is_ok() && self.lose_answer.swap(false, Ordering::SeqCst) {
            return Err(E::Db(
                "error communicating with database: expected to read 5 bytes, got 0 bytes at EOF"
                    .into(),
            ));
        }
        if r.as_ref().is_ok_and(|v| !v.is_empty()) && self.after_claim.swap(false, Ordering::SeqCst)
        {
            self.away.store(true, Ordering::SeqCst);
        }
        r
    }
    async fn claim_polls(&self, now: i64, next: i64, limit: u32) -> Result<Vec<ActionRow>, E> {
        self.check()?;
        self.inner.claim_polls(now, next, limit).await
    }
    async fn sending_actions(&self) -> Result<Vec<ActionRow>, E> {
        self.check()?;
        self.inner.sending_actions().await
    }
    async fn update_action(
        &self,
        id: i64,
        from: ActionStatus,
        u: &ActionUpdate,
    ) -> Result<bool, E> {
        self.check()?;
        self.inner.update_action(id, from, u).await
    }
    async fn log_attempt(&self, id: i64, a: &AttemptLog) -> Result<(), E> {
        self.check()?;
        self.inner.log_attempt(id, a).await
    }
    async fn copy_contact(
        &self,
        a: &ActionRow,
        project: &str,
        first_number: &str,
        not_before: Option<i64>,
        now_ms: i64,
    ) -> Result<CopyOutcome, E> {
        self.check()?;
        self.inner
            .copy_contact(a, project, first_number, not_before, now_ms)
            .await
    }
    async fn opt_out(
        &self,
        a: &ActionRow,
        numbers: &[String],
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, E> {
        self.check()?;
        self.inner.opt_out(a, numbers, reason, now_ms).await
    }
    async fn webhook_secret(&self, project_id: i64) -> Result<Option<String>, E> {
        self.check()?;
        self.inner.webhook_secret(project_id).await
    }
    async fn fix_webhook_body(&self, id: i64, body: &str) -> Result<String, E> {
        self.check()?;
        self.inner.fix_webhook_body(id, body).await
    }
    async fn webhook_gone(&self, url: &str) -> Result<Option<i64>, E> {
        self.check()?;
        self.inner.webhook_gone(url).await
    }
    async fn mark_webhook_gone(&self, url: &str, action_id: i64, at_ms: i64) -> Result<(), E> {
        self.check()?;
        self.inner.mark_webhook_gone(url, action_id, at_ms).await
    }
    async fn note_sms_hold(&self, since_ms: i64) -> Result<(), E> {
        self.check()?;
        self.inner.note_sms_hold(since_ms).await
    }
    async fn end_sms_hold(&self, now_ms: i64) -> Result<Option<i64>, E> {
        self.check()?;
        self.inner.end_sms_hold(now_ms).await
    }
    async fn call_actions(&self, call_id: i64) -> Result<Vec<ActionView>, E> {
        self.check()?;
        self.inner.call_actions(call_id).await
    }
}

/// A SQLite store with one project of the bundled survey and `csv`'s contacts, and a pool of
/// the test's own on its file.
async fn store_with(csv: &'static [u8]) -> (tempfile::TempDir, SqliteStore, sqlx::SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let source = include_str!("../../../examples/survey/scenario.toml");
    let scenario = store.create_scenario("s", source).await.unwrap();
    let p = store
        .create_project(&NewProject {
            name: "p".into(),
            scenario_id: scenario,
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .import_contacts(
            p,
            Box::new(std::io::Cursor::new(csv.to_vec())),
            Default::default(),
        )
        .await
        .unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    (dir, store, raw)
}

#[tokio::test]
async fn an_action_claimed_as_the_database_went_away_is_carried_out_once_it_is_back() {
    let (_dir, store, raw) = store_with(b"Name;Phone\nA;+79990000001\n").await;
    let row = |sql: &'static str| {
        let raw = raw.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&raw)
                .await
                .unwrap()
                .get::<String, _>(0)
        }
    };
    sqlx::query(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at) \
         SELECT project_id, id, '+79990000001', 'done', 0 FROM contacts",
    )
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, \
                              attempts, next_at, give_up_at, created_at) \
         SELECT id, 0, project_id, contact_id, 'stop_list', \
                '{\"kind\":\"stop_list\",\"numbers\":[\"+79990000001\"],\"reason\":\"asked\"}', \
                'queued', 0, 0, 9000000000000, 0 FROM calls",
    )
    .execute(&raw)
    .await
    .unwrap();
    let flaky = Arc::new(GoesAway {
        inner: store,
        after_claim: AtomicBool::new(true),
        away: AtomicBool::new(false),
        lose_answer: AtomicBool::new(false),
    });
    let worker = Worker::new(
        flaky.clone(),
        None,
        WebhookSender::new(Duration::from_secs(5), Destinations::default()).unwrap(),
        WorkerSettings {
            sms_parallel: 1,
            webhook_parallel: 1,
            installation: "t".into(),
            webhook_secret: "whsec_c2VydmVyLXNlY3JldC1vZi0yNC1ieXRlcw==".into(),
        },
        Arc::new(|| 1_000),
    );
    // Claimed, then the database went away: neither the listing nor its retry is written.
    assert!(worker.step_db(1_000).await.is_err());
    assert_eq!(row("SELECT status FROM actions").await, "sending");
    // Still away: the pass fails again, the action waits.
    assert!(worker.step_db(1_000).await.is_err());
    // Back: queued again and carried out, once.
    flaky.away.store(false, Ordering::SeqCst);
    worker.step_db(1_000).await.unwrap();
    assert_eq!(row("SELECT status FROM actions").await, "done");
    assert_eq!(row("SELECT e164 FROM stop_list").await, "+79990000001");
    assert!(worker
        .stranded
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty());
}

#[tokio::test]
async fn webhooks_whose_claim_answer_was_lost_are_queued_again_by_the_recheck_and_busy_ones_are_not(
) {
    let (_dir, store, raw) = store_with(b"Name;Phone\nA;+79990000001\nB;+79990000002\n").await;
    sqlx::query(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at) \
         SELECT project_id, id, '+7999000000' || id, 'done', 0 FROM contacts",
    )
    .execute(&raw)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, \
                              attempts, next_at, give_up_at, created_at) \
         SELECT id, 0, project_id, contact_id, 'webhook', \
                '{\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:9/hook\",\"secret_from\":' \
                || project_id || ',\"call\":{}}', \
                'queued', 0, 0, 9000000000000, 0 FROM calls ORDER BY id",
    )
    .execute(&raw)
    .await
    .unwrap();
    let flaky = Arc::new(GoesAway {
        inner: store,
        after_claim: AtomicBool::new(false),
        away: AtomicBool::new(false),
        lose_answer: AtomicBool::new(true),
    });
    let worker = Worker::new(
        flaky.clone(),
        None,
        WebhookSender::new(Duration::from_secs(5), Destinations::default()).unwrap(),
        WorkerSettings {
            sms_parallel: 1,
            webhook_parallel: 2,
            installation: "t".into(),
            webhook_secret: "whsec_c2VydmVyLXNlY3JldC1vZi0yNC1ieXRlcw==".into(),
        },
        Arc::new(|| 1_000),
    );
    let statuses = || {
        let raw = raw.clone();
        async move {
            sqlx::query("SELECT status, COALESCE(last_error, '') FROM actions ORDER BY id")
                .fetch_all(&raw)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
                .collect::<Vec<_>>()
        }
    };
    // Both claimed; the claim's answer is lost: the worker has neither.
    assert!(worker.step_webhooks(1_000).await.is_err());
    let s = statuses().await;
    assert!(s.iter().all(|(st, _)| st == "sending"), "{s:?}");
    // The second one is being delivered by a task (as a row claimed at the same moment would
    // be): the re-check leaves it; the first, which no task has, is queued again.
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM actions ORDER BY id")
        .fetch_all(&raw)
        .await
        .unwrap();
    assert!(worker.claim_busy(ids[1]));
    worker.recheck_unresolved().await.unwrap();
    let s = statuses().await;
    assert_eq!(s[0].0, "queued", "{s:?}");
    assert!(s[0].1.contains("answer was lost"), "{s:?}");
    assert_eq!(s[1].0, "sending", "{s:?}");
    // Once its task is done (here: it never was), the next re-check settles it too.
    worker.release_busy(ids[1]);
    worker.recheck_unresolved().await.unwrap();
    assert_eq!(statuses().await[1].0, "queued");
}
