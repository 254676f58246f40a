//! SMSC's limit of 15 requests at once per login holds across robot nodes (issue 20 §2): two
//! nodes on one PostgreSQL database, each sending with the same login and its own worker
//! limit of 15, send through a slow SMSC (the local fake of its documented answers, over
//! HTTP) — together they never have more than 15 requests open at SMSC, every message is
//! taken once, and a slot a stopped node held is taken again once its lease ran out.
#[path = "common/pg.rs"]
mod pg;
#[path = "common/smsc.rs"]
mod smsc;

use autoinformer::actions::smsc::{Sent, SmscClient};
use autoinformer::config::{Secret, SmscConfig};
use autoinformer::store::postgres::{PgPoolSize, PgStore};
use autoinformer::store::{Backend, SmscSlots};
use smsc::{FakeSmsc, Mode};
use std::sync::Arc;
use std::time::Duration;

async fn node(url: &str, name: &str) -> PgStore {
    PgStore::open_node(
        url,
        PgPoolSize { connections: 20 },
        autoinformer::clock::Clock::System,
        name,
        Duration::from_secs(3),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_login_never_have_more_than_15_requests_at_smsc() {
    let url = pg::fresh_database().await;
    let smsc = FakeSmsc::start("login", "password").await;
    smsc.set_mode(Mode::Slow(Duration::from_millis(150)));
    let cfg = SmscConfig {
        url: smsc.url(),
        login: "login".into(),
        password: Secret("password".into()),
        max_parallel: 15,
        timeout_s: 10,
        ..Default::default()
    };
    let mut clients = Vec::new();
    for name in ["a", "b"] {
        let store = node(&url, name).await;
        let slots = store
            .shared_smsc_slots()
            .expect("a node shares SMSC's slots");
        clients.push(Arc::new(
            SmscClient::new(cfg.clone())
                .unwrap()
                .with_shared_slots(slots),
        ));
    }
    // 15 at once from each node: 30 wanting in, 15 let through.
    let mut tasks = tokio::task::JoinSet::new();
    for (n, client) in clients.iter().enumerate() {
        for i in 0..60 {
            let client = client.clone();
            tasks.spawn(async move {
                let id = format!("node{n}-{}", n * 1000 + i);
                client.send(&id, &format!("+7999{n}{i:06}"), "Привет").await
            });
        }
    }
    let mut sent = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Sent::Accepted { .. } => sent += 1,
            other => panic!("a send did not go through: {other:?}"),
        }
    }
    println!(
        "sent {sent}, SMSC's most requests open at once {} (limit 15), duplicates {}",
        smsc.max_in_flight(),
        smsc.duplicates().len()
    );
    assert_eq!(sent, 120);
    assert!(
        smsc.max_in_flight() <= 15,
        "{} at once",
        smsc.max_in_flight()
    );
    assert!(
        smsc.max_in_flight() >= 10,
        "the slots were shared out, not serialised: {} at once",
        smsc.max_in_flight()
    );
    assert!(smsc.duplicates().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_a_stopped_node_held_is_free_again_after_its_lease() {
    let url = pg::fresh_database().await;
    let a = node(&url, "a").await;
    let b = node(&url, "b").await;
    // Node a takes all 15 (for 1.5 s each) and stops without giving them back.
    for _ in 0..15 {
        assert!(a.take_smsc_slot(1_500).await.unwrap().is_some());
    }
    drop(a);
    assert_eq!(b.take_smsc_slot(10_000).await.unwrap(), None, "all 15 held");
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    let slot = b
        .take_smsc_slot(10_000)
        .await
        .unwrap()
        .expect("a lapsed slot");
    b.give_smsc_slot(slot).await.unwrap();
    assert_eq!(
        b.take_smsc_slot(10_000).await.unwrap(),
        Some(slot),
        "given back"
    );
}
