//! Pacing through the real dialer (docs/pacing.md): a real SQLite file, the simulated
//! carrier, simulated agents, callers who all ask for an agent. Progressive places calls only
//! for free agents and nobody waits; a mode change of a running project takes effect at the
//! next pass; preview places a call only when the agent presses «call», and a skip is logged
//! with its reason.
use autoinformer::dialer::preview::PreviewRequest;
use autoinformer::store::{CampaignStore, Mode, PacingOptions, ProjectEdit, ReportStore};
use std::time::Duration;

#[path = "common/transfer_campaign.rs"]
mod transfer_campaign;
use transfer_campaign::*;

fn edit(v: serde_json::Value) -> ProjectEdit {
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progressive_places_calls_only_for_free_agents_and_nobody_waits() {
    let mut c = campaign_with(SCENARIO, 24, 0, &[0.0, 0.0, 0.0], 30, |p, _| {
        p.mode = Mode::Progressive;
        p.lines = 30;
    })
    .await;
    let started = std::time::Instant::now();
    let mut most_up = 0;
    loop {
        c.dialer.pass().await.unwrap();
        most_up = most_up.max(c.dialer.calls_up());
        let st = c.store.stats(c.p).await.unwrap();
        let open = ["not_called", "retry", "in_call"]
            .iter()
            .map(|k| st.contacts.get(*k).copied().unwrap_or(0))
            .sum::<u64>();
        if open == 0 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.dialer.drain().await;
    c.stop.cancel();
    // Each agent has at most one call: on its way to them, or with them.
    assert!(most_up <= 3, "{most_up} calls up for 3 agents");
    let st = c.store.stats(c.p).await.unwrap();
    assert_eq!(st.transfers.transfers, 24, "{st:?}");
    assert_eq!(st.transfers.answered, 24, "nobody abandoned: {st:?}");
    assert_eq!(st.transfers.abandoned + st.transfers.timed_out, 0, "{st:?}");
    let board = c.dialer.pacing_board();
    let v = board.lock().unwrap().get(&c.p).cloned();
    // The last pass saw the project (it finished after, or is finishing).
    if let Some(v) = v {
        assert_eq!(v.mode, Mode::Progressive);
        assert!(v.transfers_today >= 1, "{v:?}");
        assert_eq!(v.abandoned_today, 0, "{v:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mode_change_of_a_running_project_takes_effect_at_the_next_pass() {
    let mut c = campaign_with(SCENARIO, 30, 0, &[0.0, 0.0], 4, |p, _| {
        p.mode = Mode::Progressive;
        p.lines = 12;
    })
    .await;
    // Two free agents: two calls, and no more while they are on their way.
    let r = c.dialer.pass().await.unwrap();
    assert_eq!(r.started, 2, "{r:?}");
    let r = c.dialer.pass().await.unwrap();
    assert_eq!(r.started, 0, "{r:?}");
    let why = c.dialer.pacing_board().lock().unwrap()[&c.p].why.clone();
    assert!(why.starts_with("progressive"), "{why}");
    // Robot: the project's lines at once.
    c.store
        .edit_project(c.p, &edit(serde_json::json!({"mode": "robot"})))
        .await
        .unwrap();
    let r = c.dialer.pass().await.unwrap();
    assert_eq!(r.started, 10, "{r:?}");
    assert_eq!(c.dialer.calls_up(), 12);
    // Back to progressive: nothing more while 12 calls are up for 2 agents.
    c.store
        .edit_project(
            c.p,
            &edit(serde_json::json!({"mode": "progressive", "pacing": {"calls_per_agent": 2}})),
        )
        .await
        .unwrap();
    let r = c.dialer.pass().await.unwrap();
    assert_eq!(r.started, 0, "{r:?}");
    let v = c.dialer.pacing_board().lock().unwrap()[&c.p].clone();
    assert_eq!((v.mode, v.lines), (Mode::Progressive, 12));
    assert_eq!(
        c.store.project(c.p).await.unwrap().pacing,
        PacingOptions {
            calls_per_agent: Some(2.0),
            ..Default::default()
        }
    );
    c.store.pause(c.p).await.unwrap();
    c.dialer.drain().await;
    c.stop.cancel();
}

/// Asks the dialer and lets a pass answer.
async fn ask<T>(
    c: &mut Campaign,
    make: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, String>>) -> PreviewRequest,
) -> Result<T, String> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    c.dialer.preview_sender().send(make(reply)).unwrap();
    c.dialer.pass().await.unwrap();
    answer.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_dials_only_on_the_agents_press_and_connects_that_agent() {
    let mut c = campaign_with(SCENARIO, 5, 0, &[0.0, 0.0], 30, |p, _| {
        p.mode = Mode::Preview;
    })
    .await;
    for _ in 0..3 {
        let r = c.dialer.pass().await.unwrap();
        assert_eq!(r.started, 0, "preview dials nothing by itself: {r:?}");
    }
    let first = ask(&mut c, |reply| PreviewRequest::Next { agent: 2, reply })
        .await
        .unwrap()
        .expect("a card");
    assert_eq!(first.name.as_deref(), Some("Абонент 0"), "{first:?}");
    // Another agent is shown the next contact, not the same one.
    let other = ask(&mut c, |reply| PreviewRequest::Next { agent: 1, reply })
        .await
        .unwrap()
        .expect("a card");
    assert_ne!(other.contact_id, first.contact_id);
    // Agent 1 cannot call agent 2's card.
    let refused = ask(&mut c, |reply| PreviewRequest::Call {
        agent: 1,
        contact_id: first.contact_id,
        reply,
    })
    .await;
    assert!(refused.is_err(), "{refused:?}");
    // Agent 1 skips theirs, with a reason.
    ask(&mut c, |reply| PreviewRequest::Skip {
        agent: 1,
        contact_id: other.contact_id,
        reason: "уже клиент".into(),
        reply,
    })
    .await
    .unwrap();
    let call_id = ask(&mut c, |reply| PreviewRequest::Call {
        agent: 2,
        contact_id: first.contact_id,
        reply,
    })
    .await
    .unwrap();
    assert_eq!(c.dialer.calls_up(), 1);
    // The call reaches agent 2, however free agent 1 is.
    let started = std::time::Instant::now();
    while c.dialer.calls_up() > 0 && started.elapsed() < Duration::from_secs(60) {
        let r = c.dialer.pass().await.unwrap();
        assert_eq!(r.started, 0, "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.dialer.drain().await;
    let call = c.store.call(call_id).await.unwrap();
    let t = call.transfer.expect("transferred");
    assert_eq!(t["agent_id"], 2, "{t}");
    assert_eq!(t["answered"], true, "{t}");
    // Only that contact was called.
    let st = c.store.stats(c.p).await.unwrap();
    assert_eq!(st.calls, 1, "{st:?}");
    let log = c
        .store
        .decisions_of(c.p, Some(other.contact_id), None, 50)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|d| d.decision == "skip" && d.reason.contains("уже клиент")),
        "{log:?}"
    );
    c.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_never_breaks_the_campaign_rules() {
    // Twelve agents: predictive proper. One call per number, a line cap of 16, and the first
    // twenty numbers in the order put on the stop list after the import.
    let mut c = campaign_with(SCENARIO, 90, 0, &[0.0; 12], 30, |p, _| {
        p.mode = Mode::Predictive;
        p.lines = 16;
        p.max_calls_per_number = 1;
        p.pacing.calls_per_agent = Some(3.0);
    })
    .await;
    let listed: Vec<String> = (0..20).map(|i| format!("+7999300{i:04}")).collect();
    for n in &listed {
        c.store.add_to_stop_list(n, "opt-out").await.unwrap();
    }
    let started = std::time::Instant::now();
    let mut most_up = 0;
    let mut predictive_seen = false;
    loop {
        c.dialer.pass().await.unwrap();
        most_up = most_up.max(c.dialer.calls_up());
        if let Some(v) = c.dialer.pacing_board().lock().unwrap().get(&c.p) {
            predictive_seen |= v.acting_mode == Mode::Predictive;
        }
        let st = c.store.stats(c.p).await.unwrap();
        let open = ["not_called", "retry", "in_call"]
            .iter()
            .map(|k| st.contacts.get(*k).copied().unwrap_or(0))
            .sum::<u64>();
        if open == 0 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.dialer.drain().await;
    c.stop.cancel();
    assert!(predictive_seen, "twelve agents online: predictive decided");
    assert!(most_up <= 16, "{most_up} calls up over 16 lines");
    let calls = c
        .store
        .list_calls(&autoinformer::store::CallFilter {
            project_id: Some(c.p),
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(calls.len(), 70, "every callable contact once");
    let mut seen = std::collections::BTreeSet::new();
    for call in &calls {
        assert!(
            !listed.contains(&call.number),
            "stop-listed {} dialed",
            call.number
        );
        assert!(
            seen.insert(call.number.clone()),
            "{} called twice",
            call.number
        );
    }
}
