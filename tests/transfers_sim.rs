//! Transfers to simulated agents end to end: a real SQLite file, the simulated carrier, the
//! dialer at 40 lines, 3 simulated agents (one answer in ten never comes), 200 callers who all
//! press 1 («соединить с оператором»), a fifth of whom give up after 3 s in the queue. Every
//! transfer is accounted for (answered + abandoned + timed out = transfers), each caller who
//! did not get an agent is in the callback project's outbox exactly once, the agents end
//! available with their calls counted, and no agent ever had two calls at once.
use autoinformer::agents::pool::AgentState;
use autoinformer::store::sqlite::SqliteStore;
#[allow(unused_imports)]
use autoinformer::store::{
    ActionFilter, CallFilter, CampaignStore, DialerStore, NewProject, ReportStore,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[path = "common/transfer_campaign.rs"]
mod transfer_campaign;
use transfer_campaign::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_with_three_sim_agents_accounts_for_every_transfer() {
    let mut c = campaign(200, 5, &[0.1, 0.1, 0.1], 8).await;
    let (store, p, agents, stop) = (c.store.clone(), c.p, c.agents.clone(), c.stop.clone());
    // Watch the agents meanwhile: never more than one call each (ringing or talking).
    let watcher = {
        let agents = agents.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut busy_max = 0usize;
            while !stop.is_cancelled() {
                let busy = agents
                    .all_live()
                    .values()
                    .filter(|l| matches!(l.state, AgentState::Ringing | AgentState::Talking))
                    .count();
                busy_max = busy_max.max(busy);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            busy_max
        })
    };
    let seconds = run_to_the_end(&mut c).await;
    stop.cancel();
    let busy_max = watcher.await.unwrap();
    assert!(busy_max <= 3, "{busy_max} agents busy at once out of 3");

    let calls = calls_of(&store, p).await;
    assert_eq!(calls.len(), 200, "one call per contact");
    let mut by_result: BTreeMap<String, usize> = BTreeMap::new();
    let (mut answered, mut transfers, mut misses) = (0, 0, 0);
    let mut agents_used = BTreeSet::new();
    for c in &calls {
        *by_result
            .entry(c.result.clone().unwrap_or_default())
            .or_default() += 1;
        let Some(t) = &c.transfer else { continue };
        if std::env::var("SHOW_TRANSFERS").is_ok() {
            println!("{} {t}", c.result.clone().unwrap_or_default());
        }
        transfers += 1;
        misses += t["misses"].as_array().map_or(0, Vec::len);
        if t["answered"] == true {
            answered += 1;
            assert_eq!(c.result.as_deref(), Some("Оператор"), "{c:?}");
            assert!(t["talk_ms"].as_u64().unwrap_or(0) > 0, "{t}");
            agents_used.insert(t["agent_id"].as_i64().unwrap_or(0));
        }
    }
    let abandoned = by_result.get("queue_abandoned").copied().unwrap_or(0);
    let timeout = by_result.get("queue_timeout").copied().unwrap_or(0);
    println!(
        "transfers: {transfers} = {answered} answered by agents + {abandoned} abandoned + \
         {timeout} timed out; {misses} agent misses; results {by_result:?}; {seconds:.1} s"
    );
    assert_eq!(transfers, 200, "every caller pressed 1: {by_result:?}");
    assert_eq!(answered + abandoned + timeout, transfers, "{by_result:?}");
    assert!(answered >= 20, "the agents took calls: {answered}");
    assert!(abandoned >= 20, "a fifth give up after 3 s: {abandoned}");
    assert_eq!(
        agents_used.len(),
        3,
        "every agent took calls: {agents_used:?}"
    );

    // The callers without an agent are each in the callback project's outbox once.
    let actions = store
        .list_actions(&ActionFilter {
            project_id: p,
            status: None,
            kind: None,
            before_id: None,
            limit: 5000,
        })
        .await
        .unwrap();
    let mut copied: BTreeMap<i64, usize> = BTreeMap::new();
    for a in &actions {
        if a.kind == "add_to_project" {
            assert_eq!(a.payload["project"], "Перезвон", "{a:?}");
            *copied.entry(a.contact_id).or_default() += 1;
        }
    }
    assert!(copied.values().all(|n| *n == 1), "{copied:?}");
    assert_eq!(copied.len(), abandoned + timeout);

    // The agents end free, their calls counted.
    let live = agents.all_live();
    let counted: u32 = live.values().map(|l| l.calls_today).sum();
    assert_eq!(counted as usize, answered);
    for (id, l) in &live {
        assert!(
            matches!(
                l.state,
                AgentState::Available | AgentState::WrapUp | AgentState::Paused
            ),
            "agent {id} is {:?}",
            l.state
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_does_not_answer_is_paused_and_the_next_one_takes_the_call() {
    // Agent 1 never answers; agent 2 always does. One caller.
    let mut c = campaign(1, 0, &[1.0, 0.0], 30).await;
    run_to_the_end(&mut c).await;
    let calls = calls_of(&c.store, c.p).await;
    assert_eq!(calls.len(), 1);
    let t = calls[0].transfer.clone().unwrap();
    assert_eq!(t["answered"], true, "{t}");
    assert_eq!(t["agent_id"], 2, "{t}");
    assert_eq!(t["misses"][0]["agent_id"], 1, "{t}");
    assert_eq!(t["misses"][0]["reason"], "no_answer", "{t}");
    let ring = t["misses"][0]["ring_ms"].as_u64().unwrap();
    assert!(
        (1_900..3_000).contains(&ring),
        "rang {ring} ms against a 2 s limit"
    );
    assert_eq!(calls[0].result.as_deref(), Some("Оператор"));
    let live = c.agents.live(2).unwrap();
    assert_eq!(live.calls_today, 1);
    c.stop.cancel();
}

const NO_CALLBACK_SCENARIO: &str = r#"
name = "Без своего перезвона"
results = ["Оператор"]
start = "question"
transfer_prompt = ""
queue_prompt = "question.wav"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 5 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents" }]
"#;

/// All the project's calls, newest first.
async fn calls_of(store: &SqliteStore, p: i64) -> Vec<autoinformer::store::CallView> {
    store
        .list_calls(&CallFilter {
            project_id: Some(p),
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// All the project's actions.
async fn actions_of(store: &SqliteStore, p: i64) -> Vec<autoinformer::store::ActionView> {
    store
        .list_actions(&ActionFilter {
            project_id: p,
            status: None,
            kind: None,
            before_id: None,
            limit: 5000,
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_own_transfer_settings_callback_project_and_transfer_started_webhook() {
    // The server allows 30 s in the queue; the project 2 s. Its one agent never answers, so
    // every caller times out after 2 s; the scenario's transfer names no callback project, so
    // the project's `callback_project_id` takes them; `transfer.started` is queued while each
    // caller still waits.
    let mut c = campaign_with(NO_CALLBACK_SCENARIO, 12, 0, &[1.0], 30, |p, callback| {
        p.callback_project_id = Some(callback);
        p.webhook_url = Some("http://127.0.0.1:9/hook".into());
        p.transfer = autoinformer::store::TransferOptions {
            queue_max_wait_s: Some(2),
            agent_ring_s: Some(1),
            hold_music: Some("sim/da.wav".into()),
            ..Default::default()
        };
    })
    .await;
    let project = c.store.project(c.p).await.unwrap();
    assert_eq!(project.transfer.queue_max_wait_s, Some(2), "{project:?}");
    // While the callers wait, their transfer.started webhooks are in the outbox already.
    let mut seen_while_waiting = false;
    let t = std::time::Instant::now();
    while !seen_while_waiting && t.elapsed() < Duration::from_secs(30) {
        c.dialer.pass().await.unwrap();
        let calls = calls_of(&c.store, c.p).await;
        let up: BTreeSet<i64> = calls
            .iter()
            .filter(|c| c.state == "dialing")
            .map(|c| c.id)
            .collect();
        seen_while_waiting = actions_of(&c.store, c.p).await.iter().any(|a| {
            a.kind == "webhook"
                && a.payload["call"]["type"] == "transfer.started"
                && up.contains(&a.call_id)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen_while_waiting,
        "no transfer.started while a caller waited"
    );
    run_to_the_end(&mut c).await;
    c.stop.cancel();
    let calls = calls_of(&c.store, c.p).await;
    assert_eq!(calls.len(), 12);
    for call in &calls {
        assert_eq!(call.result.as_deref(), Some("queue_timeout"), "{call:?}");
        let t = call.transfer.clone().unwrap();
        let waited = t["queue_ms"].as_u64().unwrap();
        assert!(
            (1_900..4_000).contains(&waited),
            "waited {waited} ms against the project's 2 s (the server's is 30 s)"
        );
    }
    let actions = actions_of(&c.store, c.p).await;
    let mut copied: BTreeMap<i64, usize> = BTreeMap::new();
    let mut started: BTreeMap<i64, usize> = BTreeMap::new();
    let mut finished = 0;
    for a in &actions {
        match (a.kind.as_str(), a.payload["call"]["type"].as_str()) {
            ("add_to_project", _) => {
                assert_eq!(a.payload["project"], "Перезвон", "{a:?}");
                *copied.entry(a.contact_id).or_default() += 1;
            }
            ("webhook", Some("transfer.started")) => {
                let body = &a.payload["call"];
                assert_eq!(body["transfer"]["to"], "agents", "{body}");
                assert_eq!(body["result"], "Оператор", "{body}");
                assert!(body["contact"]["name"].is_string(), "{body}");
                *started.entry(a.call_id).or_default() += 1;
            }
            ("webhook", Some("call.finished")) => finished += 1,
            other => panic!("unexpected action {other:?}: {a:?}"),
        }
    }
    assert_eq!(
        copied.len(),
        12,
        "each caller in the callback project: {copied:?}"
    );
    assert!(copied.values().all(|n| *n == 1), "{copied:?}");
    assert_eq!(started.len(), 12, "{started:?}");
    assert!(started.values().all(|n| *n == 1), "{started:?}");
    assert_eq!(finished, 12);
}

const EXTERNAL_SCENARIO: &str = r#"
name = "Перевод на номер"
results = ["Оператор"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 5 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer_external = "+79993999999" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_transfer_is_bridged_and_its_leg_priced_from_its_pickup() {
    // Every caller hangs up 3 s after pressing 1, talking to the external number meanwhile.
    let mut c = campaign_with(EXTERNAL_SCENARIO, 4, 1, &[], 30, |_, _| {}).await;
    run_to_the_end(&mut c).await;
    c.stop.cancel();
    let calls = calls_of(&c.store, c.p).await;
    assert_eq!(calls.len(), 4);
    for call in &calls {
        let t = call.transfer.clone().unwrap();
        assert_eq!(t["to"], "+79993999999", "{t}");
        assert_eq!(t["answered"], true, "{t}");
        assert_eq!(t["sip_status"], 200, "{t}");
        let talk = t["talk_ms"].as_u64().unwrap();
        assert!((1_500..4_000).contains(&talk), "{t}");
        // 0.04 ₽ per started second of the external leg, on top of the caller's.
        let leg = (talk.div_ceil(1000) as f64 * 0.04 * 100.0).round() / 100.0;
        assert_eq!(t["cost"].as_f64(), Some(leg), "{t}");
        let total = call.cost.rubles();
        assert!(
            total > leg,
            "the call's cost {total} includes the leg's {leg}"
        );
        assert_eq!(call.result.as_deref(), Some("Оператор"), "{call:?}");
    }
}
