//! A transfer to a real SIP agent: baresip registers to the robot's SIP listener with digest
//! credentials (A-law only) and answers by itself; a second baresip is the callee on the
//! "trunk" (µ-law only), presses 1 and is bridged to the agent. Each phone sends its own tone
//! (callee 600 Hz, agent 1400 Hz) and records what it hears (baresip's sndfile module): the
//! agent must hear the callee's tone and the callee the agent's — audio flows both ways
//! through the robot's bridge, transcoded between µ-law and A-law. The agent hangs up and the
//! callee's leg is ended by the robot; then a second call where the callee hangs up and the
//! agent's phone is ended; no dialog is left behind; a stranger's INVITE (sipp) gets 403.
mod common;
use autoinformer::agents::pool::{AgentInfo, AgentState};
use autoinformer::agents::service::Agents;
use autoinformer::call::live::{run_call_watched, CallWatch, LiveSettings};
use autoinformer::call::transfer::{TransferAudio, TransferContext, TransferSettings};
use autoinformer::call::CallConfig;
use autoinformer::config::SipConfig;
use autoinformer::scenario::{load_str, Format, LoadOptions};
use autoinformer::telephony::registrar::AgentDirectory;
use autoinformer::telephony::sip::SipTrunk;
use autoinformer::telephony::trunk::DialRequest;
use common::baresip::{free_ports, phone, tone_wav};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The largest share of a 200 ms window's power at `hz`.
fn tone_share(s: &[i16], hz: f64) -> f64 {
    let n = 1600;
    let mut best: f64 = 0.0;
    for w in s.chunks(n).filter(|w| w.len() == n) {
        let total: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n as f64;
        if total < 1e3 {
            continue;
        }
        let k = 2.0 * std::f64::consts::PI * hz / 8000.0;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &x) in w.iter().enumerate() {
            re += f64::from(x) * (k * i as f64).cos();
            im += f64::from(x) * (k * i as f64).sin();
        }
        // A sine's power at its bin: (re² + im²)·2/n² is its mean square.
        let at = (re * re + im * im) * 2.0 / (n as f64 * n as f64);
        best = best.max(at / total);
    }
    best
}

struct Dir {
    agents: Arc<Agents>,
    trunk: Arc<SipTrunk>,
}

impl AgentDirectory for Dir {
    fn credentials(&self, user: &str) -> Option<(i64, String)> {
        (user == "agent1").then(|| (1, autoinformer::store::agents::ha1("agent1", "pw-agent-1")))
    }
    fn binding(&self, agent: i64, user: &str, contact: Option<String>) {
        let line = contact.map(|_| {
            Arc::new(autoinformer::agents::sip::SipAgentLine {
                trunk: self.trunk.clone(),
                user: user.to_string(),
            }) as Arc<dyn autoinformer::agents::service::AgentLine>
        });
        self.agents.set_registered(agent, line);
    }
}

/// Waits until agent 1 talks; false when it does not within `limit`.
async fn talking_within(agents: &Agents, limit: Duration) -> bool {
    let t = Instant::now();
    while agents.live(1).map(|l| l.state) != Some(AgentState::Talking) {
        if t.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

const SCENARIO: &str = r#"
name = "Оператор"
results = ["Оператор"]
start = "ask"

[steps.ask]
play = ["ask.wav"]
listen = { dtmf = true, wait_s = 8 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_baresip_agent_takes_the_call_and_audio_flows_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let callee_wav = tone_wav(tmp.path(), "callee.wav", 600);
    let agent_wav = tone_wav(tmp.path(), "agent.wav", 1400);
    let callee = phone(
        tmp.path(),
        "callee",
        "<sip:+79001234567@127.0.0.1>;regint=0;answermode=auto;audio_codecs=pcmu",
        &callee_wav,
    );
    let trunk = Arc::new(
        SipTrunk::start(SipConfig {
            server: format!("127.0.0.1:{}", callee.sip_port),
            listen: "127.0.0.1:0".into(),
            rtp_port_min: 40_000,
            rtp_port_max: 47_999,
            ..Default::default()
        })
        .await
        .expect("sip trunk"),
    );
    let robot = trunk.local_addr();
    let agents = Agents::new(Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }));
    // Ends wrap-ups on time (what `serve` runs beside its agents).
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(agents.clone().run(stop.clone()));
    let _stop = stop.drop_guard();
    agents.upsert(
        AgentInfo {
            id: 1,
            name: "Агент 1".into(),
            projects: None,
            enabled: true,
            always_reachable: false,
            missed_pause_ms: None,
        },
        None,
    );
    trunk.set_directory(Arc::new(Dir {
        agents: agents.clone(),
        trunk: trunk.clone(),
    }));
    let agent = phone(
        tmp.path(),
        "agent",
        &format!(
            "<sip:agent1@127.0.0.1:{}>;auth_pass=pw-agent-1;regint=60;answermode=auto;audio_codecs=pcma",
            robot.port()
        ),
        &agent_wav,
    );
    // The agent is available once baresip has registered (challenge, then digest).
    let t = Instant::now();
    while agents.live(1).map(|l| l.state) != Some(AgentState::Available) {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "baresip did not register; its log:\n{}",
            std::fs::read_to_string(agent.dir.join("baresip.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let prompts = tmp.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::copy(
        root().join("examples/survey/thanks.wav"),
        prompts.join("ask.wav"),
    )
    .unwrap();
    let scenario = load_str(
        SCENARIO,
        Format::Toml,
        "scenario.toml",
        None,
        &LoadOptions {
            prompts_dir: prompts.clone(),
            speech: None,
        },
    )
    .unwrap_or_else(|p| panic!("{p}"));
    let cfg = CallConfig {
        prompts_dir: prompts,
        speech: None,
        // A phone that sends a steady tone is no answering machine here.
        amd: false,
        greetings: None,
    };
    let live = LiveSettings {
        ring_timeout: Duration::from_secs(20),
        recordings: Some(tmp.path().to_path_buf()),
        ..Default::default()
    };
    let watch = || CallWatch {
        transfer: Some(TransferContext {
            agents: agents.clone(),
            trunk: None,
            project: 1,
            settings: TransferSettings {
                wrap_up: Duration::from_secs(1),
                agent_ring: Duration::from_secs(10),
                queue_max_wait: Duration::from_secs(30),
                queue_announce: None,
                audio: TransferAudio::bundled().unwrap(),
            },
            card: autoinformer::agents::card::CallCard {
                contact_name: Some("Иванов Иван".into()),
                fields: vec![("Лицевой счет".into(), "100201".into())],
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let press_and_hang_up = async {
        tokio::time::sleep(Duration::from_millis(4_000)).await;
        callee.command("/sndcode 1");
        // Bridged within a few seconds; let them talk, then the agent hangs up.
        if !talking_within(&agents, Duration::from_secs(15)).await {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        agent.command("/hangup");
        true
    };
    let call = run_call_watched(
        trunk.as_ref(),
        DialRequest {
            call_id: "agent-test".into(),
            number: "+79001234567".into(),
            caller_id: None,
        },
        Arc::new(scenario.clone()),
        cfg.clone(),
        &live,
        None,
        watch(),
    );
    let (r, bridged) = tokio::join!(call, press_and_hang_up);
    assert!(bridged, "the agent never talked: {r:?}");
    let t = r.transfer.clone().expect("a transfer");
    assert!(t.answered, "{t:?}");
    assert_eq!(t.agent_id, Some(1));
    assert!(t.talk_ms >= 3_000, "{t:?}");
    assert_eq!(r.outcome.result, "Оператор");
    println!(
        "baresip agent: decision → INVITE {:?} ms, rang {} ms, answer → first relayed audio {:?} ms",
        t.invite_ms, t.agent_ring_ms, t.first_audio_ms
    );
    assert!(t.invite_ms.is_some_and(|ms| ms <= 50), "{t:?}");
    // The agent wraps up, then is available again.
    assert!(
        matches!(
            agents.live(1).map(|l| l.state),
            Some(AgentState::WrapUp | AgentState::Available)
        ),
        "the agent's call is over"
    );
    assert_eq!(agents.live(1).map(|l| l.calls_today), Some(1));

    // Every dialog is gone (both legs ended).
    let t0 = Instant::now();
    while trunk.dialogs() > 0 && t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(trunk.dialogs(), 0, "dialogs left behind");
    // baresip writes its files when the call is closed.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let heard_by_agent = agent.heard();
    let heard_by_callee = callee.heard();
    let a = tone_share(&heard_by_agent, 600.0);
    let c = tone_share(&heard_by_callee, 1400.0);
    println!(
        "bridge: the agent heard the callee's 600 Hz at {a:.2} of a window's power, the callee \
         the agent's 1400 Hz at {c:.2} ({} / {} samples recorded)",
        heard_by_agent.len(),
        heard_by_callee.len()
    );
    assert!(a > 0.5, "the agent did not hear the callee ({a:.2})");
    assert!(c > 0.5, "the callee did not hear the agent ({c:.2})");

    // The other way round: the caller hangs up while talking to the agent, whose phone gets
    // the BYE (the agent wraps up, then is available again).
    let t = Instant::now();
    while agents.live(1).map(|l| l.state) != Some(AgentState::Available) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the agent never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let press_and_leave = async {
        tokio::time::sleep(Duration::from_millis(4_000)).await;
        callee.command("/sndcode 1");
        if !talking_within(&agents, Duration::from_secs(15)).await {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        callee.command("/hangup");
        true
    };
    let call = run_call_watched(
        trunk.as_ref(),
        DialRequest {
            call_id: "agent-test-2".into(),
            number: "+79001234567".into(),
            caller_id: None,
        },
        Arc::new(scenario),
        cfg,
        &live,
        None,
        watch(),
    );
    let (r, bridged) = tokio::join!(call, press_and_leave);
    assert!(bridged, "the agent never talked: {r:?}");
    let t = r.transfer.clone().expect("a transfer");
    assert!(t.answered && t.talk_ms >= 1_500, "{t:?}");
    assert_eq!(
        r.outcome.ended_by,
        autoinformer::call::EndedBy::Callee,
        "{r:?}"
    );
    assert!(
        matches!(
            agents.live(1).map(|l| l.state),
            Some(AgentState::WrapUp | AgentState::Available)
        ),
        "the agent's call is over"
    );
    assert_eq!(agents.live(1).map(|l| l.calls_today), Some(2));
    let t0 = Instant::now();
    while trunk.dialogs() > 0 && t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(trunk.dialogs(), 0, "the agent's dialog was left behind");

    // A stranger's INVITE to the robot is refused (403) and never bridged.
    let out = std::process::Command::new("sipp")
        .current_dir(tmp.path())
        .args(["-sn", "uac", &robot.to_string()])
        .args(["-i", "127.0.0.1", "-p", &free_ports(1)[0].to_string()])
        .args(["-m", "1", "-timeout", "10s", "-nostdin", "-trace_msg"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp is installed by scripts/setup.sh --test");
    assert!(!out.success(), "sipp's call to the robot must not succeed");
    let log: String = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(log.contains("SIP/2.0 403"), "no 403 in sipp's log:\n{log}");
    assert_eq!(
        agents.live(1).map(|l| l.calls_today),
        Some(2),
        "nobody was bridged"
    );
}
