//! The outbox worker over long stretches of time, on a manual clock (docs/actions.md,
//! "Retries and giving up"): the real worker, the real SQLite store and the real SMSC client
//! against the local fake of SMSC (tests/common/smsc.rs), with "now" moved by the test. SMSC
//! down for ten minutes: every SMS waits with a growing backoff, none fails, none is sent; when
//! SMSC is back each goes out once. Down past the give-up time: each fails saying why.
#[path = "common/outbox_db.rs"]
mod outbox_db;
#[path = "common/smsc.rs"]
mod smsc;

use autoinformer::actions::smsc::SmscClient;
use autoinformer::actions::webhook::WebhookSender;
use autoinformer::actions::worker::{Now, Worker, WorkerSettings};
use autoinformer::config::{Secret, SmscConfig};
use outbox_db::{insert_actions, store_with_a_call};
use smsc::FakeSmsc;
use sqlx::Row;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SMS: usize = 20;

struct Rig {
    worker: Worker,
    raw: sqlx::SqlitePool,
    clock: Arc<AtomicI64>,
    fake: Arc<FakeSmsc>,
    _dir: tempfile::TempDir,
}

async fn rig(give_up_at_ms: i64) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, call) = store_with_a_call(dir.path()).await;
    insert_actions(&raw, call, SMS, "'queued'", "0").await;
    sqlx::query("UPDATE actions SET give_up_at = ?")
        .bind(give_up_at_ms)
        .execute(&raw)
        .await
        .unwrap();
    let fake = FakeSmsc::start("worker", "worker-password").await;
    let clock = Arc::new(AtomicI64::new(0));
    let c = clock.clone();
    let now: Now = Arc::new(move || c.load(Ordering::SeqCst));
    let worker = Worker::new(
        Arc::new(store),
        Some(
            SmscClient::new(SmscConfig {
                url: fake.url(),
                login: "worker".into(),
                password: Secret("worker-password".into()),
                max_parallel: 15,
                timeout_s: 5,
                ..Default::default()
            })
            .unwrap(),
        ),
        WebhookSender::new(Duration::from_secs(5), true).unwrap(),
        WorkerSettings {
            sms_parallel: 15,
            webhook_parallel: 1,
        },
        now,
    );
    Rig {
        worker,
        raw,
        clock,
        fake,
        _dir: dir,
    }
}

impl Rig {
    /// One pass at `at_ms`, then waits until no SMS is being sent.
    async fn pass(&self, at_ms: i64) {
        self.clock.store(at_ms, Ordering::SeqCst);
        self.worker.step(at_ms).await.unwrap();
        let t = Instant::now();
        while self.count("status = 'sending'").await > 0 {
            assert!(t.elapsed() < Duration::from_secs(20), "sends never settled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn count(&self, cond: &str) -> i64 {
        sqlx::query(&format!("SELECT COUNT(*) FROM actions WHERE {cond}"))
            .fetch_one(&self.raw)
            .await
            .unwrap()
            .get(0)
    }

    async fn min_attempts(&self) -> i64 {
        sqlx::query("SELECT MIN(attempts) FROM actions")
            .fetch_one(&self.raw)
            .await
            .unwrap()
            .get(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smsc_down_for_ten_minutes_holds_every_sms_then_sends_each_once() {
    let r = rig(24 * 3_600_000).await;
    r.fake.down().await;
    let mut t = 0;
    while t <= 10 * 60_000 {
        r.pass(t).await;
        t += 5_000;
    }
    assert_eq!(
        r.count("status = 'queued'").await,
        SMS as i64,
        "all still queued"
    );
    assert_eq!(r.count("status = 'failed'").await, 0);
    assert!(r.fake.messages().is_empty());
    // 5 s, 10 s, 20 s, … doubling: about seven tries each in ten minutes, not one per pass.
    let tries = r.min_attempts().await;
    assert!((5..=9).contains(&tries), "{tries} tries in ten minutes");
    let last_error: String = sqlx::query("SELECT last_error FROM actions LIMIT 1")
        .fetch_one(&r.raw)
        .await
        .unwrap()
        .get(0);
    assert!(last_error.contains("cannot connect"), "{last_error}");
    // SMSC back: within the longest backoff (30 min) every SMS is sent, once (a slow machine
    // may cost a try to error 9, "too many at once": the loop allows for two).
    r.fake.up().await;
    // Sent, or already delivered: the worker polls delivery as the clock moves on.
    while r.count("status IN ('sent', 'delivered')").await < SMS as i64 {
        t += 5_000;
        if t >= 120 * 60_000 {
            let rows: Vec<(String, i64, i64, Option<String>)> =
                sqlx::query_as("SELECT status, attempts, next_at, last_error FROM actions LIMIT 3")
                    .fetch_all(&r.raw)
                    .await
                    .unwrap();
            panic!("not all sent after SMSC came back (t = {t}): {rows:?}");
        }
        r.pass(t).await;
    }
    assert_eq!(r.fake.messages().len(), SMS);
    assert!(r.fake.duplicates().is_empty());
    println!(
        "SMSC down 10 min: {tries} tries per SMS, 0 failed, 0 sent; back up: {SMS} sent once \
         each within {:.1} min",
        (t - 10 * 60_000) as f64 / 60_000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_not_sent_by_its_give_up_time_fails_saying_why() {
    let r = rig(3 * 60_000).await;
    r.fake.down().await;
    let mut t = 0;
    while t <= 10 * 60_000 {
        r.pass(t).await;
        t += 5_000;
    }
    assert_eq!(r.count("status = 'failed'").await, SMS as i64);
    let e: String = sqlx::query("SELECT last_error FROM actions LIMIT 1")
        .fetch_one(&r.raw)
        .await
        .unwrap()
        .get(0);
    assert!(e.starts_with("given up after"), "{e}");
    assert!(e.contains("cannot connect"), "{e}");
    r.fake.up().await;
    r.pass(t + 60_000).await;
    assert!(r.fake.messages().is_empty(), "a given-up SMS is never sent");
}
