//! The outbox's throughput and its claim cost (issue 11, docs/actions.md).
//!
//! 1. Drain: 10,000 SMS queued in the store (`SMS=N`) are sent by the real worker through the
//!    real SMSC client to the local fake of SMSC's HTTP API (tests/common/smsc.rs) with
//!    `max_parallel = 15`: messages per second, p50/p99 of one send (request to answer, as the
//!    worker logs it), the most requests SMSC saw at once, duplicates. The peer, measured in
//!    the same run against a fresh fake: the same client sending the same 10,000 from 15 tasks
//!    with no outbox at all (no claim, no write) — what the outbox's durability costs.
//! 2. Claim cost at 1,000,000 rows (`ROWS=N`): 2 % queued and due, 2 % sent (delivery polls),
//!    the rest final. p50/p99 of one claim of 15 SMS and of one poll claim, walking the partial
//!    indexes; the peer is the same claim's SELECT made to scan the table (`NOT INDEXED`).
#[path = "../tests/common/outbox_db.rs"]
mod outbox_db;
#[path = "../tests/common/smsc.rs"]
mod smsc;

use autoinformer::actions::smsc::SmscClient;
use autoinformer::actions::webhook::WebhookSender;
use autoinformer::actions::worker::{clock_ms, Worker, WorkerSettings};
use autoinformer::config::{Secret, SmscConfig};
use autoinformer::store::{ActionKind, OutboxStore};
use outbox_db::{insert_actions, store_with_a_call};
use smsc::FakeSmsc;
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const PARALLEL: usize = 15;
const LOGIN: &str = "bench";
const PASSWORD: &str = "bench-password";

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn smsc_config(fake: &FakeSmsc) -> SmscConfig {
    SmscConfig {
        url: fake.url(),
        login: LOGIN.into(),
        password: Secret(PASSWORD.into()),
        max_parallel: PARALLEL,
        timeout_s: 10,
        ..Default::default()
    }
}

async fn drain(n: usize, latency: Duration) -> (f64, f64, f64, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, call) = store_with_a_call(dir.path()).await;
    insert_actions(&raw, call, n, "'queued'", "0").await;
    let fake = FakeSmsc::start(LOGIN, PASSWORD).await;
    // No delivery poll during the drain: the figure is the sending.
    fake.set_delivered_after(Duration::from_secs(3600));
    if !latency.is_zero() {
        fake.set_mode(smsc::Mode::Slow(latency));
    }
    let worker = Worker::new(
        Arc::new(store),
        Some(SmscClient::new(smsc_config(&fake)).unwrap()),
        WebhookSender::new(
            Duration::from_secs(5),
            autoinformer::actions::webhook::Destinations {
                allow_private: true,
                ..Default::default()
            },
        )
        .unwrap(),
        WorkerSettings {
            sms_parallel: PARALLEL,
            webhook_parallel: 1,
            installation: "bench".into(),
            webhook_secret: "whsec_c2VydmVyLXNlY3JldC1vZi0yNC1ieXRlcw==".into(),
        },
        clock_ms(Default::default()),
    );
    let stop = CancellationToken::new();
    let t = Instant::now();
    let task = tokio::spawn(worker.run(stop.clone()));
    loop {
        let sent: i64 = sqlx::query("SELECT COUNT(*) FROM actions WHERE status = 'sent'")
            .fetch_one(&raw)
            .await
            .unwrap()
            .get(0);
        if sent as usize >= n {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "the drain stalled at {sent}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    stop.cancel();
    let _ = task.await;
    let mut took: Vec<f64> = sqlx::query(
        "SELECT duration_ms FROM action_attempts WHERE outcome = 'sent' AND duration_ms IS NOT NULL",
    )
    .fetch_all(&raw)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<i64, _>(0) as f64)
    .collect();
    let p50 = pct(&mut took, 0.5);
    let p99 = pct(&mut took, 0.99);
    (
        n as f64 / secs,
        p50,
        p99,
        fake.max_in_flight(),
        fake.duplicates().len() + (fake.messages().len().saturating_sub(n)),
    )
}

/// The peer: the same client, 15 tasks, no outbox.
async fn bare(n: usize, latency: Duration) -> (f64, f64, f64) {
    let fake = FakeSmsc::start(LOGIN, PASSWORD).await;
    if !latency.is_zero() {
        fake.set_mode(smsc::Mode::Slow(latency));
    }
    let client = Arc::new(SmscClient::new(smsc_config(&fake)).unwrap());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..PARALLEL {
        let (client, next) = (client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return took;
                }
                let s = Instant::now();
                let r = client
                    .send(
                        &(i + 1).to_string(),
                        &format!("+7999{i:07}"),
                        &format!("Спасибо за ответ! Ваш номер {i}"),
                    )
                    .await;
                assert!(
                    matches!(r, autoinformer::actions::smsc::Sent::Accepted { .. }),
                    "{r:?}"
                );
                took.push(s.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    let p50 = pct(&mut all, 0.5);
    let p99 = pct(&mut all, 0.99);
    (n as f64 / secs, p50, p99)
}

async fn claims(rows: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw, call) = store_with_a_call(dir.path()).await;
    let t = Instant::now();
    insert_actions(
        &raw,
        call,
        rows,
        "CASE i % 50 WHEN 0 THEN 'queued' WHEN 1 THEN 'sent' WHEN 2 THEN 'failed' ELSE 'delivered' END",
        "CASE i % 50 WHEN 0 THEN i WHEN 1 THEN i ELSE 0 END",
    )
    .await;
    sqlx::query("ANALYZE").execute(&raw).await.unwrap();
    println!(
        "outbox claim: {rows} rows inserted in {:.1} s ({} queued and due, {} sent)",
        t.elapsed().as_secs_f64(),
        rows / 50,
        rows / 50
    );
    let now = rows as i64 + 1;
    let (mut claim, mut poll) = (Vec::new(), Vec::new());
    for _ in 0..1_000 {
        let s = Instant::now();
        let got = store
            .claim_actions(&[ActionKind::Sms], now, PARALLEL as u32)
            .await
            .unwrap();
        claim.push(s.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got.len(), PARALLEL.min(rows / 50));
        let s = Instant::now();
        let got = store
            .claim_polls(now, now + 1_000_000, PARALLEL as u32)
            .await
            .unwrap();
        poll.push(s.elapsed().as_secs_f64() * 1000.0);
        assert!(!got.is_empty() || rows / 50 < 15_000);
    }
    let mut scan = Vec::new();
    for _ in 0..10 {
        let s = Instant::now();
        let n = sqlx::query(
            "SELECT id FROM actions NOT INDEXED WHERE status = 'queued' AND next_at <= ?1 \
             AND kind = 'sms' ORDER BY next_at LIMIT 15",
        )
        .bind(now)
        .fetch_all(&raw)
        .await
        .unwrap()
        .len();
        scan.push(s.elapsed().as_secs_f64() * 1000.0);
        assert!(n > 0);
    }
    let (c50, c99) = (pct(&mut claim, 0.5), pct(&mut claim, 0.99));
    let (p50, p99) = (pct(&mut poll, 0.5), pct(&mut poll, 0.99));
    let s50 = pct(&mut scan, 0.5);
    println!(
        "outbox claim at {rows} rows: claim 15 SMS p50 {c50:.3} ms, p99 {c99:.3} ms; claim 15 polls \
         p50 {p50:.3} ms, p99 {p99:.3} ms; peer (the same SELECT scanning the table) p50 {s50:.1} ms \
         — the partial index is {:.0}x faster",
        s50 / c50.max(1e-6)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = env_n("SMS", 10_000);
        // SMSC answering at once (the outbox's own cost), then in 100 ms as over the internet
        // (the parallel limit's worth: at most 15 × 10 a second).
        for (count, latency) in [(n, Duration::ZERO), (n / 5, Duration::from_millis(100))] {
            let (rate, p50, p99, most, dups) = drain(count, latency).await;
            let (brate, b50, b99) = bare(count, latency).await;
            println!(
                "outbox drain: {count} SMS, SMSC answering in {} ms, max_parallel {PARALLEL}: \
                 {rate:.0} SMS/s, send p50 {p50:.1} ms, p99 {p99:.1} ms, at most {most} requests at \
                 once at SMSC, {dups} duplicates; peer (the bare client, 15 tasks, no outbox) \
                 {brate:.0} SMS/s, p50 {b50:.1} ms, p99 {b99:.1} ms — the outbox sends at {:.0} % \
                 of the bare client's rate",
                latency.as_millis(),
                100.0 * rate / brate
            );
            assert_eq!(dups, 0, "an SMS was sent twice");
            assert!(most <= PARALLEL, "more than {PARALLEL} requests at once");
        }
        claims(env_n("ROWS", 1_000_000)).await;
    });
}
