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

#[tokio::test]
async fn an_action_claimed_as_the_database_went_away_is_carried_out_once_it_is_back() {
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
            Box::new(std::io::Cursor::new(
                b"Name;Phone\nA;+79990000001\n".to_vec(),
            )),
            Default::default(),
        )
        .await
        .unwrap();
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
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
