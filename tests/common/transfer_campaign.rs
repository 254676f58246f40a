//! A transfer campaign on the simulated carrier with simulated agents (tests/transfers_sim.rs,
//! tests/pacing_live.rs): a real SQLite file, the dialer with transfers on, callers who press 1
//! for an agent.
#![allow(dead_code)]
use autoinformer::agents::pool::AgentInfo;
use autoinformer::agents::service::Agents;
use autoinformer::agents::sim::{SimAgentLine, SimAgentsConfig};
use autoinformer::call::live::LiveSettings;
use autoinformer::call::transfer::{TransferAudio, TransferSettings};
use autoinformer::call::CallConfig;
use autoinformer::dialer::calls::TransferBase;
use autoinformer::dialer::run::{Clock, Dialer};
use autoinformer::import::ImportLimits;
use autoinformer::store::sqlite::SqliteStore;
#[allow(unused_imports)]
use autoinformer::store::{CampaignStore, DialerStore, NewProject, ReportStore};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use chrono::TimeZone;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const SCENARIO: &str = r#"
name = "Соединение с оператором"
results = ["Оператор"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 5 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents", callback_project = "Перезвон" }]
"#;

/// A campaign of `callers` who all press 1 (every `patient_every`-th one hangs up 3 s later),
/// `agents` simulated agents (`no_answer[i]`: agent i+1's share of calls never answered),
/// the dialer at 40 lines with transfers on.
pub struct Campaign {
    pub store: SqliteStore,
    pub p: i64,
    pub dialer: Dialer,
    pub agents: Arc<Agents>,
    pub stop: tokio_util::sync::CancellationToken,
    pub _dir: tempfile::TempDir,
}

pub async fn campaign(
    callers: usize,
    give_up_every: usize,
    no_answer: &[f64],
    queue_max_wait_s: u64,
) -> Campaign {
    campaign_with(
        SCENARIO,
        callers,
        give_up_every,
        no_answer,
        queue_max_wait_s,
        |_, _| {},
    )
    .await
}

/// As `campaign`, with another scenario and the project changed by `tweak` (given the
/// callback project's id) before it is created.
pub async fn campaign_with(
    scenario: &str,
    callers: usize,
    give_up_every: usize,
    no_answer: &[f64],
    queue_max_wait_s: u64,
    tweak: impl FnOnce(&mut NewProject, i64),
) -> Campaign {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::copy(
        root().join("examples/survey/thanks.wav"),
        prompts.join("question.wav"),
    )
    .unwrap();
    let clock = Clock::manual(chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    let store = SqliteStore::open(&dir.path().join("db/autoinformer.db"))
        .await
        .unwrap()
        .with_clock(clock.clone());
    let sc = store.create_scenario("Оператор", scenario).await.unwrap();
    let callback = store
        .create_project(&NewProject {
            name: "Перезвон".into(),
            scenario_id: sc,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut project = NewProject {
        name: "Соединение".into(),
        scenario_id: sc,
        schedule: vec!["daily 00:00-24:00".into()],
        lines: 40,
        ..Default::default()
    };
    tweak(&mut project, callback);
    let p = store.create_project(&project).await.unwrap();
    // 200 callers; every fifth hangs up 3 s after pressing 1.
    let mut csv = String::from("Имя;Телефон;Лицевой счет\n");
    let mut numbers = BTreeMap::new();
    for i in 0..callers {
        let n = format!("+7999300{i:04}");
        csv.push_str(&format!("Абонент {i};{n};{}\n", 5000 + i));
        let b = if give_up_every > 0 && i % give_up_every == 0 {
            "keys:1/3"
        } else {
            "keys:1"
        };
        // The external number of `transfer_external` answers and stays silent.
        numbers.insert("+79993999999".into(), "silent".into());
        numbers.insert(n, b.to_string());
    }
    let r = store
        .import_csv(
            p,
            std::io::Cursor::new(csv.into_bytes()),
            ImportLimits::default(),
        )
        .await
        .unwrap();
    assert!(r.rejected.is_empty(), "{r:?}");
    store.activate(p).await.unwrap();
    let sim = SimConfig {
        ring_min_s: 0.2,
        ring_max_s: 0.5,
        numbers,
        max_call_s: 120,
        ..Default::default()
    };
    let trunk = Arc::new(SimTrunk::new(sim, &root().join("prompts/sim")).unwrap());
    let wall = Clock::System;
    let agents = Agents::new(Arc::new(move || wall.now_ms()));
    let voice = SimAgentLine::bundled_voice().unwrap();
    for (i, share) in no_answer.iter().enumerate() {
        let n = i as i64 + 1;
        let sim_agents = SimAgentsConfig {
            count: 3,
            answer_min_s: 0.2,
            answer_max_s: 0.6,
            talk_min_s: 1.0,
            talk_max_s: 3.0,
            no_answer_share: *share,
            missed_pause_s: 2.0,
        };
        agents.upsert(
            AgentInfo {
                id: n,
                name: format!("sim-{n}"),
                projects: None,
                enabled: true,
                always_reachable: true,
                missed_pause_ms: Some(2_000),
            },
            Some(Arc::new(SimAgentLine::new(
                sim_agents.clone(),
                voice.clone(),
                n as u64,
            ))),
        );
    }
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(agents.clone().run(stop.clone()));
    let settings = TransferSettings {
        wrap_up: Duration::from_millis(300),
        agent_ring: Duration::from_secs(2),
        queue_max_wait: Duration::from_secs(queue_max_wait_s),
        queue_announce: Some(Duration::from_secs(5)),
        audio: TransferAudio::bundled().unwrap(),
    };
    let cfg = CallConfig {
        prompts_dir: prompts,
        speech: None,
        amd: true,
        greetings: None,
    };
    let live = LiveSettings {
        ring_timeout: Duration::from_secs(3),
        ..Default::default()
    };
    let dialer = Dialer::new(Arc::new(store.clone()), trunk, cfg, live, clock.clone())
        .with_uploaded_prompts(dir.path().join("stored"))
        .with_transfers(TransferBase {
            agents: agents.clone(),
            settings,
        });
    Campaign {
        store,
        p,
        dialer,
        agents,
        stop,
        _dir: dir,
    }
}

pub async fn run_to_the_end(c: &mut Campaign) -> f64 {
    let started = std::time::Instant::now();
    loop {
        c.dialer.pass().await.unwrap();
        let st = c.store.stats(c.p).await.unwrap();
        let open = st.contacts.get("not_called").copied().unwrap_or(0)
            + st.contacts.get("retry").copied().unwrap_or(0)
            + st.contacts.get("in_call").copied().unwrap_or(0);
        if open == 0 || started.elapsed() > Duration::from_secs(400) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.dialer.drain().await;
    started.elapsed().as_secs_f64()
}
