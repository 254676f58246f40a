//! Transfers under load (issue 16 §4, docs/agents.md): N calls at once (default 200;
//! `CALLS=N`) through the simulated carrier press 1 and are transferred to N simulated agents
//! (no queue), who answer after 0.2–0.3 s and talk for 20 s.
//!
//! Prints, from each call's transfer record: decision → the agent's INVITE (p50/p99; target
//! p99 ≤ 50 ms) and the agent's answer → their first audio relayed to the caller (p50/p99;
//! target ≤ 40 ms; the simulated phone sends its first packet at once). Then the CPU of the
//! whole process over a window while all N calls are bridged, beside the same N calls as
//! plain robot calls (the survey prompt playing, DTMF/VAD/AMD running) measured in the same
//! run. Both figures include the simulated phones running in this process (one per plain
//! call, two per bridged call: caller and agent).
//! Run: `cargo bench --bench transfer_bridge`.
use autoinformer::agents::pool::{AgentInfo, AgentState};
use autoinformer::agents::service::Agents;
use autoinformer::agents::sim::{SimAgentLine, SimAgentsConfig};
use autoinformer::call::live::{run_call_watched, CallWatch, LiveReport, LiveSettings};
use autoinformer::call::transfer::{TransferAudio, TransferContext, TransferSettings};
use autoinformer::call::CallConfig;
use autoinformer::scenario::{load_str, Format, LoadOptions, Scenario};
use autoinformer::telephony::sim::{SimConfig, SimTrunk};
use autoinformer::telephony::trunk::{DialRequest, Trunk};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(8);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn pct(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn scenario(transfer: bool) -> Arc<Scenario> {
    let actions = if transfer {
        "actions = [{ transfer = \"agents\" }]"
    } else {
        ""
    };
    // Plain calls listen to the long prompt (the sim's 15 s voicemail greeting) for the
    // whole window; bridged ones press 1 during the short one.
    let prompt = if transfer {
        "transfer/connecting.wav"
    } else {
        "sim/voicemail.wav"
    };
    let src = format!(
        r#"
name = "Нагрузка"
results = ["Оператор"]
start = "ask"

[steps.ask]
play = ["{prompt}"]
listen = {{ dtmf = true, wait_s = 30 }}
barge_in = {transfer}

[[steps.ask.on]]
dtmf = "1"
result = "Оператор"
{actions}
"#
    );
    let opts = LoadOptions {
        prompts_dir: root().join("prompts"),
        speech: None,
    };
    Arc::new(
        load_str(&src, Format::Toml, "bench.toml", None, &opts).unwrap_or_else(|p| panic!("{p}")),
    )
}

fn trunk(n: usize) -> Arc<dyn Trunk> {
    let mut numbers = BTreeMap::new();
    for i in 0..n {
        numbers.insert(format!("+7999700{i:04}"), "keys:1".to_string());
    }
    Arc::new(
        SimTrunk::new(
            SimConfig {
                ring_min_s: 0.2,
                ring_max_s: 0.4,
                numbers,
                max_call_s: 600,
                ..Default::default()
            },
            &root().join("prompts/sim"),
        )
        .expect("sim trunk"),
    )
}

fn main() {
    let n: usize = std::env::var("CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let cfg = CallConfig {
            prompts_dir: root().join("prompts"),
            speech: None,
            amd: true,
            greetings: None,
        };
        let live = LiveSettings {
            ring_timeout: Duration::from_secs(10),
            max_duration: Duration::from_secs(60),
            ..Default::default()
        };

        // 1. Plain robot calls: CPU while all N are up.
        let t = trunk(n);
        let sc = scenario(false);
        let mut tasks = Vec::new();
        for i in 0..n {
            let (t, sc, cfg, live) = (t.clone(), sc.clone(), cfg.clone(), live.clone());
            tasks.push(tokio::spawn(async move {
                let req = DialRequest {
                    call_id: format!("plain{i}"),
                    number: format!("+7999700{i:04}"),
                    caller_id: None,
                };
                run_call_watched(t.as_ref(), req, sc, cfg, &live, None, CallWatch::default()).await
            }));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (c0, w0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(WINDOW).await;
        let plain_cpu = (cpu_seconds() - c0) / w0.elapsed().as_secs_f64();
        for task in &tasks {
            task.abort();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;

        // 2. The same N calls transferred to N simulated agents.
        let wall = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        };
        let agents = Agents::new(Arc::new(wall));
        let sim = SimAgentsConfig {
            count: n as u32,
            answer_min_s: 0.2,
            answer_max_s: 0.3,
            talk_min_s: 20.0,
            talk_max_s: 20.0,
            no_answer_share: 0.0,
            missed_pause_s: 1.0,
        };
        let voice = SimAgentLine::bundled_voice().expect("voice");
        for i in 1..=n as i64 {
            agents.upsert(
                AgentInfo {
                    id: i,
                    name: format!("sim-{i}"),
                    projects: None,
                    enabled: true,
                    always_reachable: true,
                    missed_pause_ms: Some(1_000),
                },
                Some(Arc::new(SimAgentLine::new(
                    sim.clone(),
                    voice.clone(),
                    i as u64,
                ))),
            );
        }
        let settings = TransferSettings {
            wrap_up: Duration::from_secs(1),
            agent_ring: Duration::from_secs(10),
            queue_max_wait: Duration::from_secs(60),
            queue_announce: None,
            audio: TransferAudio::bundled().expect("audio"),
        };
        let t = trunk(n);
        let sc = scenario(true);
        let mut tasks = Vec::new();
        for i in 0..n {
            let (t, sc, cfg, live) = (t.clone(), sc.clone(), cfg.clone(), live.clone());
            let cx = TransferContext {
                agents: agents.clone(),
                trunk: None,
                project: 1,
                settings: settings.clone(),
                card: autoinformer::agents::card::CallCard {
                    contact_name: Some(format!("Абонент {i}")),
                    ..Default::default()
                },
            };
            tasks.push(tokio::spawn(async move {
                let req = DialRequest {
                    call_id: format!("bridge{i}"),
                    number: format!("+7999700{i:04}"),
                    caller_id: None,
                };
                let watch = CallWatch {
                    transfer: Some(cx),
                    ..Default::default()
                };
                run_call_watched(t.as_ref(), req, sc, cfg, &live, None, watch).await
            }));
        }
        // Wait until every call is bridged.
        let started = Instant::now();
        loop {
            let talking = agents
                .all_live()
                .values()
                .filter(|l| l.state == AgentState::Talking)
                .count();
            if talking >= n || started.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let bridged_now = agents
            .all_live()
            .values()
            .filter(|l| l.state == AgentState::Talking)
            .count();
        let (c0, w0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(WINDOW).await;
        let bridge_cpu = (cpu_seconds() - c0) / w0.elapsed().as_secs_f64();
        let mut reports: Vec<LiveReport> = Vec::new();
        for task in tasks {
            if let Ok(r) = task.await {
                reports.push(r);
            }
        }
        let mut invite: Vec<u64> = Vec::new();
        let mut first: Vec<u64> = Vec::new();
        let mut answered = 0;
        for r in &reports {
            if let Some(t) = &r.transfer {
                invite.extend(t.invite_ms);
                first.extend(t.first_audio_ms);
                answered += usize::from(t.answered);
            }
        }
        println!(
            "transfers: {n} calls, {answered} answered by agents, {bridged_now} bridged at once"
        );
        println!(
            "decision → agent INVITE: p50 {} ms, p99 {} ms (target p99 ≤ 50 ms); agent's answer → \
             first relayed audio: p50 {} ms, p99 {} ms (target ≤ 40 ms)",
            pct(&mut invite, 0.5),
            pct(&mut invite, 0.99),
            pct(&mut first, 0.5),
            pct(&mut first, 0.99)
        );
        println!(
            "CPU with {n} calls up: plain robot calls {:.1} % of one core ({:.3} % per call); \
             bridged to agents {:.1} % ({:.3} % per call) — bridged / plain {:.2}× (both with \
             their simulated phones: one per plain call, two per bridged call)",
            plain_cpu * 100.0,
            plain_cpu * 100.0 / n as f64,
            bridge_cpu * 100.0,
            bridge_cpu * 100.0 / n as f64,
            bridge_cpu / plain_cpu.max(1e-9)
        );
    });
}
