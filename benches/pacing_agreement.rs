//! The shift simulation against the real thing (issue 19 §2, docs/pacing.md "How the modes
//! compare"): one shape — 10 simulated agents, predictive at 3 % — run for 5 minutes of real
//! time through `serve` (in-process: the HTTP API, the dialer, the simulated carrier and its
//! simulated callees, the simulated agents), then for the same 5 minutes on the shift
//! simulation's virtual time with the same population. Prints both side by side with the
//! tolerance each figure is held to. `MINUTES=N` changes the length, `SEED=N` the population.
#[path = "../tests/common/http.rs"]
mod http;
#[path = "../tests/common/server.rs"]
mod server;

use autoinformer::dialer::shift::{self, Pacing, Shift};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::{Duration, Instant};

const AGENTS: u32 = 10;
const WRAP_S: u64 = 3;
const TALK_S: (f64, f64) = (20.0, 40.0);
const ANSWER_S: (f64, f64) = (1.0, 2.0);
const RING_S: (f64, f64) = (2.0, 8.0);
const NO_ANSWER_S: u64 = 15;
/// The longest a caller waits for an agent (`queue_max_wait_s`): then `queue_timeout`, an
/// abandon. (The simulated carrier's callers wait that long; its `keys:1/N` would hang up N s
/// after the key, in the queue or talking to the agent alike, which no shift population does.)
const QUEUE_MAX_WAIT_S: u64 = 20;
const CONTACTS: usize = 4_000;

const SCENARIO: &str = r#"
name = "Соединение с оператором"
results = ["Оператор", "Нет"]
start = "question"

[steps.question]
play = ["question.wav"]
listen = { dtmf = true, wait_s = 8 }
barge_in = true

[[steps.question.on]]
dtmf = "1"
result = "Оператор"
actions = [{ transfer = "agents" }]

[[steps.question.on]]
dtmf = "2"
result = "Нет"
"#;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes: f64 = std::env::var("MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(19);
    // The population: 55 % never answer, 11 % machines, 34 % people — 7 in 10 of them press 1
    // for an agent (and wait up to the queue's longest wait), the rest press 2.
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut numbers = std::collections::BTreeMap::new();
    let mut csv = String::from("Имя;Телефон\n");
    for i in 0..CONTACTS {
        let n = format!("+7999{:07}", 4_000_000 + i);
        let x: f64 = rng.gen();
        let b = if x < 0.55 {
            "no_answer".to_string()
        } else if x < 0.66 {
            "voicemail".to_string()
        } else if rng.gen_bool(0.7) {
            "keys:1".to_string()
        } else {
            "keys:2".to_string()
        };
        numbers.insert(n.clone(), b);
        csv.push_str(&format!("Абонент {i};{n}\n"));
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let s = server::start(dir.path(), |cfg| {
        cfg.trunk.sim.numbers = numbers;
        cfg.trunk.sim.ring_min_s = RING_S.0;
        cfg.trunk.sim.ring_max_s = RING_S.1;
        cfg.calls.ring_timeout_s = NO_ANSWER_S;
        cfg.dialer.pass_ms = 1_000;
        cfg.agents.wrap_up_s = WRAP_S;
        cfg.agents.queue_max_wait_s = QUEUE_MAX_WAIT_S;
        cfg.agents.queue_announce_s = 0;
        cfg.agents.sim.count = AGENTS;
        cfg.agents.sim.talk_min_s = TALK_S.0;
        cfg.agents.sim.talk_max_s = TALK_S.1;
        cfg.agents.sim.answer_min_s = ANSWER_S.0;
        cfg.agents.sim.answer_max_s = ANSWER_S.1;
        cfg.agents.sim.no_answer_share = 0.0;
        cfg.import.max_bytes = 8 << 20;
    })
    .await;
    let prompt = std::fs::read(server::root().join("examples/survey/question.wav"))
        .expect("the example prompt");
    let r = s
        .call(
            "PUT",
            "/api/v1/prompts/question.wav",
            Some("audio/wav"),
            &prompt,
        )
        .await;
    assert!(r.status < 300, "{}", r.text());
    let r = s
        .call(
            "POST",
            "/api/v1/scenarios",
            Some("application/toml"),
            SCENARIO.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let scenario = r.json()["id"].as_i64().expect("a scenario id");
    let r = s
        .post_json(
            "/api/v1/projects",
            json!({"name": "Предиктивный", "scenario_id": scenario, "lines": 60,
                   "schedule": ["daily 00:00-24:00"], "mode": "predictive",
                   "pacing": {"abandon_target": 0.03, "max_wait_s": 10}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json()["id"].as_i64().expect("a project id");
    let r = s
        .call(
            "POST",
            &format!("/api/v1/projects/{p}/contacts"),
            Some("text/csv"),
            csv.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .post_json(&format!("/api/v1/projects/{p}/activate"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let started = Instant::now();
    let length = Duration::from_secs_f64(minutes * 60.0);
    println!("serve: {AGENTS} simulated agents, predictive at 3 %, {minutes} min of real time…");
    let mut last = serde_json::Value::Null;
    // How often `serve` acted as another mode than predictive (fewer than 10 agents online),
    // and its most calls up: what the simulation is compared with.
    let (mut polls, mut other_mode, mut peak) = (0u32, 0u32, 0u64);
    while started.elapsed() < length {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
        if !st["pacing"].is_null() {
            last = st["pacing"].clone();
            polls += 1;
            other_mode += u32::from(last["acting_mode"] != "predictive");
            peak = peak.max(last["in_flight"].as_u64().unwrap_or(0));
        }
    }
    println!(
        "serve: acted as predictive at {} of {polls} looks ({other_mode} as another mode: {}); \
         at most {peak} calls up",
        polls - other_mode,
        last["why"].as_str().unwrap_or("")
    );
    let elapsed = started.elapsed().as_secs_f64();
    let st = s.get(&format!("/api/v1/projects/{p}/stats")).await.json();
    let agents = s.get("/api/v1/agents").await.json();
    let (mut talk_s, mut served) = (0.0, 0.0);
    for a in agents["items"].as_array().cloned().unwrap_or_default() {
        talk_s += a["talk_s_today"].as_f64().unwrap_or(0.0);
        served += a["calls_today"].as_f64().unwrap_or(0.0);
    }
    let busy = talk_s + served * (WRAP_S as f64 + (ANSWER_S.0 + ANSWER_S.1) / 2.0);
    let real = Figures {
        transfers: last["transfers_today"].as_f64().unwrap_or(0.0),
        occupancy: busy / (f64::from(AGENTS) * elapsed),
        abandon: share(&last),
        served_per_agent_hour: served / (f64::from(AGENTS) * elapsed / 3600.0),
        calls_per_min: st["calls"].as_f64().unwrap_or(0.0) / (elapsed / 60.0)
            + st["contacts"]["in_call"].as_f64().unwrap_or(0.0) / (elapsed / 60.0),
    };
    let answer_s = last["answer_s"].as_f64().unwrap_or(12.0);
    s.stop().await;

    // The same shape on virtual time; the robot's part (hello, the question, the key) as the
    // live run measured it from dialing to the queue, less the ring.
    let ring_mean = (RING_S.0 + RING_S.1) / 2.0;
    let robot_ms = ((answer_s - ring_mean) * 1000.0).max(1_000.0) as i64;
    let mut sh = Shift::new(AGENTS as usize, Pacing::Predictive(0.03), seed);
    sh.length_ms = (minutes * 60_000.0) as i64;
    sh.lines = 60;
    sh.wrap_ms = WRAP_S as i64 * 1000;
    sh.agent_ring_ms = ((ANSWER_S.0 + ANSWER_S.1) / 2.0 * 1000.0) as i64;
    sh.queue_max_wait_ms = QUEUE_MAX_WAIT_S as i64 * 1000;
    sh.population = shift::Population {
        answer_rate: 0.45,
        machine_share: 11.0 / 45.0,
        ring_ms: ((RING_S.0 * 1000.0) as i64, (RING_S.1 * 1000.0) as i64),
        no_answer_ms: NO_ANSWER_S as i64 * 1000,
        robot_ms: (robot_ms - 500, robot_ms + 500),
        machine_ms: (2_000, 5_000),
        wants_agent: 0.7,
        talk_mean_ms: (TALK_S.0 + TALK_S.1) / 2.0 * 1000.0,
        // The coefficient of variation of a uniform 20–40 s.
        talk_cv: (TALK_S.1 - TALK_S.0) / 12f64.sqrt() / ((TALK_S.0 + TALK_S.1) / 2.0),
        patience_min_ms: QUEUE_MAX_WAIT_S as i64 * 1000,
        patience_mean_ms: 0.0,
        burst: None,
    };
    let v = shift::run(&sh);
    let virt = Figures {
        transfers: v.transfers as f64,
        occupancy: v.occupancy,
        abandon: v.abandon_share(),
        served_per_agent_hour: v.served_per_agent_hour,
        calls_per_min: v.calls as f64 / minutes,
    };
    println!(
        "\nmeasured on serve: time from dialing to the queue {answer_s:.1} s; the simulation's \
         robot part set to {:.1} s",
        robot_ms as f64 / 1000.0
    );
    println!(
        "transfers: {:.0} on serve, {} simulated",
        real.transfers, v.transfers
    );
    println!("\n| figure | serve, real time | simulation | difference | tolerance | |");
    println!("|---|---|---|---|---|---|");
    let mut ok = true;
    let mut row = |name: &str, a: f64, b: f64, tol: f64, pct: bool, relative: bool| {
        let diff = if relative {
            (a - b).abs() / b.abs().max(1e-9)
        } else {
            (a - b).abs()
        };
        let fits = diff <= tol;
        ok &= fits;
        let f = |x: f64| {
            if pct {
                format!("{:.1} %", x * 100.0)
            } else {
                format!("{x:.1}")
            }
        };
        let (d, t) = if relative {
            (
                format!("{:.0} %", diff * 100.0),
                format!("±{:.0} %", tol * 100.0),
            )
        } else if pct {
            (
                format!("{:.1} pt", diff * 100.0),
                format!("±{:.0} pt", tol * 100.0),
            )
        } else {
            (format!("{diff:.1}"), format!("±{tol}"))
        };
        println!(
            "| {name} | {} | {} | {d} | {t} | {} |",
            f(a),
            f(b),
            if fits { "ok" } else { "OUT" }
        );
    };
    row(
        "agent occupancy",
        real.occupancy,
        virt.occupancy,
        0.10,
        true,
        false,
    );
    // Five minutes hold a few dozen transfers: the abandon shares are held to two standard
    // errors of their difference (at least 3 points), the sampling noise of such counts.
    let (n1, n2) = (real.transfers.max(1.0), (v.transfers as f64).max(1.0));
    let pooled = (real.abandon * n1 + virt.abandon * n2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    row(
        "abandon share",
        real.abandon,
        virt.abandon,
        (2.0 * se).max(0.03),
        true,
        false,
    );
    row(
        "served per agent hour",
        real.served_per_agent_hour,
        virt.served_per_agent_hour,
        0.20,
        false,
        true,
    );
    row(
        "calls placed per minute",
        real.calls_per_min,
        virt.calls_per_min,
        0.20,
        false,
        true,
    );
    println!(
        "\n{}",
        if ok {
            "the simulation agrees with serve within every tolerance"
        } else {
            "OUT OF TOLERANCE: the simulation and serve disagree"
        }
    );
}

struct Figures {
    transfers: f64,
    occupancy: f64,
    abandon: f64,
    served_per_agent_hour: f64,
    calls_per_min: f64,
}

fn share(pacing: &serde_json::Value) -> f64 {
    let t = pacing["transfers_today"].as_f64().unwrap_or(0.0);
    let a = pacing["abandoned_today"].as_f64().unwrap_or(0.0);
    if t > 0.0 {
        a / t
    } else {
        0.0
    }
}
