//! The PostgreSQL store's concurrency guarantees, raced for real (issue 20); tests 1–2 here,
//! 3 in `store_pg_dialer.rs`, 4–5 in `store_pg_imports.rs`, their rig in `common/store_pg_rig.rs`. PostgreSQL runs
//! transactions side by side (READ COMMITTED) where SQLite has one writer, so the port takes
//! advisory locks (`store::postgres::lock_key`) and claims rows `FOR UPDATE SKIP LOCKED`. Every
//! test here runs several `PgStore` handles on one database — each opened on its own, with a
//! pool of its own, as separate nodes have them (registered as robot nodes, `open_node`, where
//! the work is a node's own: outbox claims, calls) — at once on a multi-thread runtime, at the
//! scale users have, and then checks the rows themselves:
//!
//! 1. the five-active rule: twenty activations at once, then rounds of pauses, re-activations
//!    and activations racing: never more than five active, each refusal `TooManyActive`;
//! 2. the outbox: thousands of actions claimed by twelve workers on six handles in small
//!    batches, then their delivery polls the same way: each taken exactly once;
//! 3. the dialer's bookkeeping on three handles (next_callable → start_calls → finish_call),
//!    with an import and a stop-list addition in the middle: no contact in two calls at once,
//!    none over its cap, every attempt counted, no listed number dialed after its listing, no
//!    contact of a running import dialed, never more calls up than the project's lines, the
//!    tallies equal to counting the rows;
//! 4. imports on two handles into two projects at once, a third into one of them (a
//!    conflict), copies and inserts numbered by the identity meanwhile: no contact id collides;
//! 5. `stats` is one snapshot while calls end around it.
//!
//! Each would fail were its guard taken away; tried on a copy of the store with the guard
//! removed: the five-active rule without `lock_key::ACTIVATION` (6 to 9 active), the claims
//! without `FOR UPDATE SKIP LOCKED` and the re-check of the state (claims deadlock), parks
//! without their compare-and-set on the version (a contact started while in a call), import
//! ids as `MAX(id) + 1` (duplicate keys), `stats` in READ COMMITTED (torn reads).
//!
//! The database: `pg::fresh_database` (a server of this process's own unless
//! `AUTOINFORMER_TEST_PG` names one).
#[path = "common/pg.rs"]
mod pg;
#[path = "common/store_pg_rig.rs"]
mod rig;

use rig::*;

use autoinformer::import::ImportLimits;
use autoinformer::store::postgres::PgStore;
use autoinformer::store::{ActionKind, CampaignStore, NewProject, OutboxStore, StoreError};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_more_than_five_projects_are_active_when_activations_race_on_four_handles() {
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    let mut ids = Vec::new();
    let mut name_of = HashMap::new();
    for i in 0..20u64 {
        let name = format!("Кампания {i:02}");
        let id = api
            .create_project(&NewProject {
                name: name.clone(),
                scenario_id: sc,
                ..Default::default()
            })
            .await
            .unwrap();
        let r = api
            .import_csv(
                id,
                csv(format!("ФИО;Телефон\n{}", rows(916, i * 10, 3))),
                ImportLimits::default(),
            )
            .await
            .unwrap();
        assert_eq!(r.imported, 3, "{r:?}");
        ids.push(id);
        name_of.insert(id, name);
    }
    let nodes = Arc::new(nodes(&url, 4).await);
    // Each handle's pool opens its connections now, so the activations below meet at the
    // database instead of queueing behind new connections.
    let mut warm = tokio::task::JoinSet::new();
    for s in nodes.iter() {
        for _ in 0..6 {
            let s = s.clone();
            warm.spawn(async move { s.project_count().await.unwrap() });
        }
    }
    while let Some(r) = warm.join_next().await {
        r.unwrap();
    }
    let raw = raw(&url).await;
    let names =
        |active: &[i64]| -> Vec<String> { active.iter().map(|id| name_of[id].clone()).collect() };

    // Round 0: all twenty at once: exactly five win, fifteen are refused naming those five.
    let ops: Vec<Op> = ids.iter().map(|&id| Op::Activate(id)).collect();
    let (out, most) = burst(&nodes, &raw, &ops).await;
    let active = active_ids(&raw).await;
    let won: Vec<i64> = out
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(op, _)| match op {
            Op::Activate(id) | Op::Pause(id) => *id,
        })
        .collect();
    let mut refused = 0;
    for (op, r) in &out {
        match r {
            Ok(()) => {}
            Err(StoreError::TooManyActive(named)) => {
                refused += 1;
                assert_eq!(named, &names(&active), "{op:?}: the refusal names the five");
            }
            Err(e) => panic!("{op:?}: {e}"),
        }
    }
    assert_eq!((won.len(), refused), (5, 15), "{out:?}");
    let mut won_sorted = won.clone();
    won_sorted.sort_unstable();
    assert_eq!(won_sorted, active, "the five that won are the five active");
    assert_eq!(most, 5, "the watcher saw {most} active");

    // Rounds: pause one to three of the five, re-activate one that stays, and activate eight
    // inactive ones, all at once; then activate every inactive one at once to fill up again.
    let mut rounds = Vec::new();
    for round in 1..=8usize {
        let before = active_ids(&raw).await;
        let inactive: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !before.contains(id))
            .collect();
        let k = 1 + round % 3;
        let paused: Vec<i64> = (0..k).map(|j| before[(round + j) % 5]).collect();
        let kept: Vec<i64> = before
            .iter()
            .copied()
            .filter(|id| !paused.contains(id))
            .collect();
        let again = kept[round % kept.len()];
        let tried: Vec<i64> = (0..8)
            .map(|j| inactive[(round * 3 + j) % inactive.len()])
            .collect();
        let mut ops: Vec<Op> = paused.iter().map(|&id| Op::Pause(id)).collect();
        ops.push(Op::Activate(again));
        ops.extend(tried.iter().map(|&id| Op::Activate(id)));
        let (out, most) = burst(&nodes, &raw, &ops).await;
        let after = active_ids(&raw).await;
        let mut expect: Vec<i64> = kept.clone();
        for (op, r) in &out {
            match (op, r) {
                (Op::Pause(_), Ok(())) => {}
                (Op::Activate(id), Ok(())) if *id == again => {}
                (Op::Activate(id), Ok(())) => expect.push(*id),
                (Op::Activate(id), Err(StoreError::TooManyActive(_))) if *id != again => {}
                (op, Err(e)) => panic!("round {round}: {op:?}: {e}"),
            }
        }
        expect.sort_unstable();
        assert!(most <= 5, "round {round}: the watcher saw {most} active");
        assert_eq!(
            after, expect,
            "round {round}: the active projects are those kept and those whose activation succeeded"
        );
        let mixed_won = expect.len() - kept.len();

        // Fill up: pause two to four more, then activate every inactive project at once;
        // exactly the free places are taken.
        for id in after.iter().take(2 + round % 3) {
            nodes[round % 4].pause(*id).await.unwrap();
        }
        let after = active_ids(&raw).await;
        let inactive: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !after.contains(id))
            .collect();
        let free = 5 - after.len();
        let ops: Vec<Op> = inactive.iter().map(|&id| Op::Activate(id)).collect();
        let (out, most) = burst(&nodes, &raw, &ops).await;
        let full = active_ids(&raw).await;
        let won = out.iter().filter(|(_, r)| r.is_ok()).count();
        for (op, r) in &out {
            match r {
                Ok(()) => {}
                Err(StoreError::TooManyActive(named)) => {
                    assert_eq!(named, &names(&full), "round {round}: {op:?}")
                }
                Err(e) => panic!("round {round}: {op:?}: {e}"),
            }
        }
        assert_eq!(
            won, free,
            "round {round}: {free} free places, {won} activations won"
        );
        assert_eq!(full.len(), 5, "round {round}");
        assert!(most <= 5, "round {round}: the watcher saw {most} active");
        rounds.push(format!("{k} paused/{mixed_won} won/{free} filled"));
    }
    println!(
        "five-active rule on PostgreSQL: 20 projects, 4 handles; 20 activations at once: 5 won, \
         15 refused; then rounds ({}): never more than 5 active",
        rounds.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The outbox.

const ACTIONS: i64 = 6_000;
const CLAIMERS_PER_NODE: usize = 2;

/// Claims from every handle at once (`CLAIMERS_PER_NODE` workers each, batches of 1 to 6,
/// different kinds) until nothing is left; answers every id each worker got, with the node
/// of the worker's handle.
async fn drain(nodes: &Arc<Vec<PgStore>>, polls: bool) -> (Vec<(i64, i64)>, Vec<String>, u64) {
    let n = nodes.len() * CLAIMERS_PER_NODE;
    let go = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|w| {
            let (nodes, go) = (nodes.clone(), go.clone());
            tokio::spawn(async move {
                let s = &nodes[w % nodes.len()];
                let kinds: &[ActionKind] = match w % 3 {
                    0 => &[ActionKind::Sms],
                    1 => &[ActionKind::Webhook],
                    _ => &[ActionKind::Sms, ActionKind::Webhook],
                };
                let (mut got, mut wrong) = (Vec::new(), Vec::new());
                let (mut empty, mut claims) = (0, 0u64);
                go.wait().await;
                for i in 0usize.. {
                    let limit = 1 + ((i * 7 + w) % 6) as u32;
                    let rows = if polls {
                        s.claim_polls(1_000, 1_000_000_000_000, limit)
                            .await
                            .unwrap()
                    } else {
                        s.claim_actions(kinds, 1_000, limit).await.unwrap()
                    };
                    if rows.len() > limit as usize {
                        wrong.push(format!("a claim of {limit} took {}", rows.len()));
                    }
                    for a in &rows {
                        let bad = if polls {
                            a.status != autoinformer::store::ActionStatus::Sent || a.attempts != 1
                        } else {
                            a.status != autoinformer::store::ActionStatus::Sending
                                || a.attempts != 1
                                || !kinds.contains(&a.payload.kind())
                        };
                        if bad {
                            wrong.push(format!(
                                "action {}: {:?}, {} attempts",
                                a.id, a.status, a.attempts
                            ));
                        }
                        got.push((a.id, node_id(s)));
                    }
                    if rows.is_empty() {
                        // Rows locked by another claim are passed over: look again a few
                        // times before calling it done.
                        empty += 1;
                        if empty == 3 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    } else {
                        empty = 0;
                        claims += 1;
                    }
                }
                (got, wrong, claims)
            })
        })
        .collect();
    let (mut all, mut wrong, mut claims) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (got, w, n) = t.await.unwrap();
        claims += n;
        all.extend(got);
        wrong.extend(w);
    }
    (all, wrong, claims)
}

/// Each of the `ACTIONS` ids exactly once among `got`: answers the ids taken twice or more and
/// those never taken.
fn once_each(got: &[(i64, i64)], ids: &HashSet<i64>) -> (Vec<i64>, Vec<i64>) {
    let mut seen: HashMap<i64, u32> = HashMap::new();
    for (id, _) in got {
        *seen.entry(*id).or_default() += 1;
    }
    let twice = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let never = ids
        .iter()
        .filter(|id| !seen.contains_key(id))
        .copied()
        .collect();
    (twice, never)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_queued_action_is_claimed_by_exactly_one_of_twelve_workers_on_six_handles() {
    let url = pg::fresh_database().await;
    let api = open(&url).await;
    let sc = scenario(&api).await;
    let p = api
        .create_project(&NewProject {
            name: "Рассылка".into(),
            scenario_id: sc,
            ..Default::default()
        })
        .await
        .unwrap();
    api.import_csv(
        p,
        csv("ФИО;Телефон\nА;+79160000001\n".into()),
        ImportLimits::default(),
    )
    .await
    .unwrap();
    let raw = raw(&url).await;
    let contact: i64 = sqlx::query("SELECT id FROM contacts WHERE project_id = $1")
        .bind(p)
        .fetch_one(&raw)
        .await
        .unwrap()
        .get(0);
    let call: i64 = sqlx::query(
        "INSERT INTO calls (project_id, contact_id, number, state, started_at) \
         VALUES ($1, $2, '+79160000001', 'done', 0) RETURNING id",
    )
    .bind(p)
    .bind(contact)
    .fetch_one(&raw)
    .await
    .unwrap()
    .get(0);
    // Two SMS for every webhook, due at times spread over the last half second.
    sqlx::query(
        "INSERT INTO actions (call_id, idx, project_id, contact_id, kind, payload, status, \
                              attempts, next_at, give_up_at, created_at) \
         SELECT $1, i, $2, $3, CASE WHEN i % 3 = 2 THEN 'webhook' ELSE 'sms' END, \
                CASE WHEN i % 3 = 2 \
                     THEN json_build_object('kind', 'webhook', 'url', 'http://127.0.0.1:9/hook', \
                                            'secret_from', $2::BIGINT, \
                                            'call', json_build_object('n', i))::TEXT \
                     ELSE json_build_object('kind', 'sms', 'phone', \
                                            '+7999' || lpad(i::TEXT, 7, '0'), \
                                            'text', 'Спасибо за ответ! ' || i)::TEXT END, \
                'queued', 0, i % 500, 9000000000000, 0 \
         FROM generate_series(0, $4 - 1) AS i",
    )
    .bind(call)
    .bind(p)
    .bind(contact)
    .bind(ACTIONS)
    .execute(&raw)
    .await
    .unwrap();
    let ids: HashSet<i64> = sqlx::query("SELECT id FROM actions")
        .fetch_all(&raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len() as i64, ACTIONS);
    let nodes = Arc::new(robot_nodes(&url, 6).await);

    let t = Instant::now();
    let (got, wrong, claims) = drain(&nodes, false).await;
    let claim_s = t.elapsed().as_secs_f64();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (twice, never) = once_each(&got, &ids);
    assert!(twice.is_empty(), "claimed by two workers: {twice:?}");
    assert!(never.is_empty(), "never claimed: {} actions", never.len());
    let (sending, once): (i64, i64) = {
        let r = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE status = 'sending'), \
                    COUNT(*) FILTER (WHERE attempts = 1) FROM actions",
        )
        .fetch_one(&raw)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (sending, once),
        (ACTIONS, ACTIONS),
        "every action sending, one attempt"
    );
    // Each is the claiming node's, under a lease of its own.
    let owners: HashMap<i64, (Option<i64>, Option<i64>)> =
        sqlx::query("SELECT id, owner_node, lease_id FROM actions")
            .fetch_all(&raw)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
    let strays: Vec<_> = got
        .iter()
        .filter(|(id, node)| owners[id].0 != Some(*node))
        .collect();
    assert!(
        strays.is_empty(),
        "claimed by one node, owned by another: {strays:?}"
    );
    let leases: HashSet<Option<i64>> = owners.values().map(|(_, l)| *l).collect();
    assert!(
        leases.len() as i64 == ACTIONS && !leases.contains(&None),
        "one lease per claimed action"
    );

    // Sent, each waiting for its delivery poll: every poll is taken by one worker too.
    sqlx::query("UPDATE actions SET status = 'sent', next_at = id % 500, external_id = 'x-' || id")
        .execute(&raw)
        .await
        .unwrap();
    let t = Instant::now();
    let (polled, wrong, polls) = drain(&nodes, true).await;
    let poll_s = t.elapsed().as_secs_f64();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (twice, never) = once_each(&polled, &ids);
    assert!(twice.is_empty(), "polled by two workers: {twice:?}");
    assert!(never.is_empty(), "never polled: {} actions", never.len());
    let moved = count(
        &raw,
        "SELECT COUNT(*) FROM actions WHERE status = 'sent' AND next_at = 1000000000000 \
         AND project_id = $1",
        p,
    )
    .await;
    assert_eq!(moved, ACTIONS);
    println!(
        "outbox on PostgreSQL: {ACTIONS} actions, 6 handles x {CLAIMERS_PER_NODE} workers, \
         batches of 1-6: claimed once each in {claim_s:.1} s by {claims} claims, polled once \
         each in {poll_s:.1} s by {polls} claims; each owned by the node that claimed it, under \
         a lease of its own"
    );
}
