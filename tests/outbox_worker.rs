//! The outbox worker over long stretches of time, on a manual clock (docs/actions.md,
//! "Retries and giving up"): the real worker, the real SQLite store and the real SMSC client
//! against the local fake of SMSC (tests/common/smsc.rs), with "now" moved by the test. SMSC
//! down for ten minutes: every SMS waits with a growing backoff, none fails, none is sent; when
//! SMSC is back each goes out once. Down past the give-up time: each fails saying why. And the
//! answers that must never make an SMS go out twice or be lost (issue 15 §3): error 9 (maybe a
//! duplicate) is looked up before any new send; time held for money does not count toward the
//! give-up time; a send whose outcome stays unknown fails at its give-up time saying so, never
//! sent blind; a send found by a look-up keeps SMSC's price and parts; the ids given to SMSC
//! carry the installation, so a reset database never takes an old message for a new one.
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
/// The SMS lane's slots (requests at once).
const SLOTS: usize = 15;

struct Rig {
    worker: Worker,
    raw: sqlx::SqlitePool,
    clock: Arc<AtomicI64>,
    fake: Arc<FakeSmsc>,
    _dir: tempfile::TempDir,
}

async fn rig(give_up_at_ms: i64) -> Rig {
    rig_on(give_up_at_ms, "worker1", None).await
}

/// A rig whose SMS ids carry `installation`, on `fake` (a new fake SMSC when `None`).
async fn rig_on(give_up_at_ms: i64, installation: &str, fake: Option<Arc<FakeSmsc>>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, call) = store_with_a_call(dir.path()).await;
    insert_actions(&raw, call, SMS, "'queued'", "0").await;
    sqlx::query("UPDATE actions SET give_up_at = ?")
        .bind(give_up_at_ms)
        .execute(&raw)
        .await
        .unwrap();
    let fake = match fake {
        Some(f) => f,
        None => FakeSmsc::start("worker", "worker-password").await,
    };
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
        WebhookSender::new(
            Duration::from_secs(5),
            autoinformer::actions::webhook::Destinations {
                allow_private: true,
                ..Default::default()
            },
        )
        .unwrap(),
        WorkerSettings {
            sms_parallel: 15,
            webhook_parallel: 1,
            installation: installation.into(),
            webhook_secret: "whsec_c2VydmVyLXNlY3JldC1vZi0yNC1ieXRlcw==".into(),
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

    /// Keeps the first `n` SMS (one batch of the lane's slots): answers `n`.
    async fn keep(&self, n: usize) -> usize {
        sqlx::query("DELETE FROM actions WHERE idx >= ?")
            .bind(n as i64)
            .execute(&self.raw)
            .await
            .unwrap();
        n
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_9_may_be_a_duplicate_so_each_sms_is_looked_up_before_it_is_sent_again() {
    let r = rig(24 * 3_600_000).await;
    r.fake.set_mode(smsc::Mode::Error(9));
    // 15 slots: two passes send each once.
    r.pass(0).await;
    r.pass(1).await;
    assert_eq!(r.fake.sends(), SMS as u64);
    assert_eq!(
        r.fake.status_requests(),
        SMS as u64,
        "each looked up after its error 9, before anything else"
    );
    assert_eq!(r.count("status = 'queued'").await, SMS as i64);
    let e: String = sqlx::query("SELECT last_error FROM actions LIMIT 1")
        .fetch_one(&r.raw)
        .await
        .unwrap()
        .get(0);
    assert!(
        e.contains("error 9") && e.contains("does not have it"),
        "{e}"
    );
    r.fake.set_mode(smsc::Mode::Normal);
    let mut t = 0;
    while r.count("status IN ('sent', 'delivered')").await < SMS as i64 {
        t += 5_000;
        assert!(t < 3_600_000, "never sent");
        r.pass(t).await;
    }
    assert_eq!(r.fake.messages().len(), SMS);
    assert!(r.fake.duplicates().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_held_for_money_does_not_count_toward_the_give_up_time() {
    // Given up 15 min after the call; no money for 25 min.
    let r = rig(15 * 60_000).await;
    r.fake.set_mode(smsc::Mode::Error(3));
    let mut t = 0;
    while t <= 25 * 60_000 {
        r.pass(t).await;
        t += 30_000;
    }
    assert_eq!(r.count("status = 'failed'").await, 0, "held, not failed");
    assert!(r.fake.messages().is_empty());
    r.fake.set_mode(smsc::Mode::Normal);
    while r.count("status IN ('sent', 'delivered')").await < SMS as i64 {
        assert_eq!(r.count("status = 'failed'").await, 0, "held time counted");
        t += 30_000;
        assert!(t < 120 * 60_000, "never sent");
        r.pass(t).await;
    }
    assert_eq!(r.fake.messages().len(), SMS);
}

/// Moves the clock to `at_ms` and runs passes until SMSC has taken `n` messages.
async fn step_until_taken(r: &Rig, at_ms: i64, n: usize) {
    r.clock.store(at_ms, Ordering::SeqCst);
    let t = Instant::now();
    while r.fake.messages().len() < n {
        r.worker.step(at_ms).await.unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "SMSC never took them"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_that_cannot_be_looked_up_fails_at_the_give_up_time_never_sent_twice() {
    let r = rig(30 * 60_000).await;
    let n = r.keep(SLOTS).await;
    // SMSC takes each message and closes the connection: the outcome is unknown…
    r.fake.set_mode(smsc::Mode::CloseAfterRead);
    step_until_taken(&r, 0, n).await;
    // …and then cannot be asked about.
    r.fake.down().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        r.count("status = 'sending'").await,
        n as i64,
        "left unresolved"
    );
    // Looked up again and again while SMSC is down: still sending, never sent blind.
    for t in [60_000, 20 * 60_000] {
        r.clock.store(t, Ordering::SeqCst);
        r.worker.recover().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(r.count("status = 'sending'").await, n as i64);
    }
    // Past its give-up time: failed, saying the outcome is unknown.
    r.clock.store(31 * 60_000, Ordering::SeqCst);
    r.worker.recover().await.unwrap();
    let t = Instant::now();
    while r.count("status = 'failed'").await < n as i64 {
        assert!(t.elapsed() < Duration::from_secs(20), "never given up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e: String = sqlx::query("SELECT last_error FROM actions LIMIT 1")
        .fetch_one(&r.raw)
        .await
        .unwrap()
        .get(0);
    assert!(e.starts_with("outcome unknown"), "{e}");
    assert_eq!(r.fake.messages().len(), n, "each taken once, none again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_found_by_a_look_up_keeps_smscs_price_parts_and_id() {
    let r = rig(30 * 60_000).await;
    let n = r.keep(SLOTS).await;
    r.fake.set_mode(smsc::Mode::CloseAfterRead);
    step_until_taken(&r, 0, n).await;
    r.fake.set_mode(smsc::Mode::Normal);
    let t = Instant::now();
    while r.count("status IN ('sent', 'delivered')").await < n as i64 {
        assert!(t.elapsed() < Duration::from_secs(20), "never looked up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows: Vec<(Option<i64>, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT cost_kop, parts, external_id FROM actions")
            .fetch_all(&r.raw)
            .await
            .unwrap();
    for (cost, parts, id) in &rows {
        // The fake's price: 3.45 roubles a part, one part each.
        assert_eq!((*cost, *parts), (Some(345), Some(1)), "{rows:?}");
        assert!(
            id.as_deref().is_some_and(|i| i.starts_with("worker1-")),
            "{id:?}"
        );
    }
    assert_eq!(r.fake.messages().len(), n, "found, not sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_database_never_takes_an_old_message_for_a_new_one() {
    // The first installation sends its SMS (outbox rows 1…N).
    let first = rig_on(24 * 3_600_000, "firstinst1", None).await;
    first.pass(0).await;
    first.pass(1).await;
    assert_eq!(first.fake.messages().len(), SMS);
    // A fresh database on the same SMSC login numbers its rows 1…N again; every send's outcome
    // is unknown (HTTP 500) and looked up: SMSC has no message with the new installation's ids,
    // so each is sent, not taken for the old one.
    let second = rig_on(24 * 3_600_000, "secondins2", Some(first.fake.clone())).await;
    // Other texts: SMSC refuses the same text to the same number within a minute (error 9).
    sqlx::query(
        "UPDATE actions SET payload = json_set(payload, '$.text', \
         json_extract(payload, '$.text') || ' (ещё раз)')",
    )
    .execute(&second.raw)
    .await
    .unwrap();
    second.fake.set_mode(smsc::Mode::Http500);
    second.pass(0).await;
    second.fake.set_mode(smsc::Mode::Normal);
    let mut t = 0;
    while second.count("status IN ('sent', 'delivered')").await < SMS as i64 {
        t += 5_000;
        assert!(t < 3_600_000, "never sent");
        second.pass(t).await;
    }
    assert_eq!(
        second.fake.messages().len(),
        2 * SMS,
        "each installation's own"
    );
    assert_eq!(
        second.fake.prefixes().into_iter().collect::<Vec<_>>(),
        vec!["firstinst1".to_string(), "secondins2".to_string()]
    );
}
