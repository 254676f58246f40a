//! The shift simulation (issue 19 §2, docs/pacing.md "How the modes compare"): an 8-hour shift
//! of 5, 20 and 50 agents on virtual time, deterministic by seed, for each pacing mode — fixed
//! lines, robot with auto lines, progressive, predictive at 3 % and at 1 % abandon. The
//! dialer's own pacing code and the agents' own pool and queue run; only the callees are
//! simulated (`autoinformer::dialer::shift::Population`). Prints per mode: agent occupancy,
//! abandon share, mean and p95 queue wait, served calls per agent hour, people reached, calls
//! placed; then the targets. `SEED=N` changes the population, `HOURS=N` the shift, `AGENTS=20,50`
//! the floors.
use autoinformer::dialer::shift::{run, Pacing, Report, Shift};
use std::time::Instant;

fn main() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(19);
    let hours: i64 = std::env::var("HOURS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let modes = [
        Pacing::Fixed,
        Pacing::RobotAuto,
        Pacing::Progressive,
        Pacing::Predictive(0.03),
        Pacing::Predictive(0.01),
    ];
    println!(
        "shift simulation: {hours} h, seed {seed}; lines = 4 × agents; 45 % answer after 4–15 s \
         of ringing (the rest ring 30 s), a quarter of them machines; 8 in 10 people ask for an \
         agent after 3–6 s with the robot; talk log-normal, mean 90 s, CV 0.7; wrap-up 10 s; \
         callers wait 5 s + exp(35 s) in the queue; abandoned = left the queue or waited > 10 s"
    );
    let mut failed = Vec::new();
    // `AGENTS=20,50` runs only those floors.
    let floors: Vec<usize> = std::env::var("AGENTS")
        .ok()
        .map(|s| s.split(',').filter_map(|a| a.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![5, 20, 50]);
    for agents in floors {
        println!("\n{agents} agents");
        println!(
            "| mode | occupancy | abandon | mean wait | p95 wait | served / agent h | people reached | calls placed | peak calls | dial level (min–max) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        let mut got: Vec<(Pacing, Report)> = Vec::new();
        let started = Instant::now();
        for m in modes {
            let mut sh = Shift::new(agents, m, seed);
            sh.length_ms = hours * 3_600_000;
            let r = run(&sh);
            let level = match m {
                Pacing::Predictive(_) => format!(
                    "{:.2} ({:.2}–{:.2})",
                    r.level_mean, r.level_min, r.level_max
                ),
                _ => "—".into(),
            };
            println!(
                "| {} | {:.1} % | {:.2} % | {:.1} s | {:.1} s | {:.1} | {} | {} | {} | {} |",
                m.label(),
                r.occupancy * 100.0,
                r.abandon_share() * 100.0,
                r.mean_wait_ms / 1000.0,
                r.p95_wait_ms / 1000.0,
                r.served_per_agent_hour,
                r.people_reached,
                r.calls,
                r.peak_calls,
                level,
            );
            got.push((m, r));
        }
        println!(
            "({} modes simulated in {:.2} s)",
            modes.len(),
            started.elapsed().as_secs_f64()
        );
        let of = |m: Pacing| {
            got.iter()
                .find(|(k, _)| *k == m)
                .map(|(_, r)| r.clone())
                .unwrap_or_default()
        };
        let (fixed, auto, prog, p3, p1) = (
            of(Pacing::Fixed),
            of(Pacing::RobotAuto),
            of(Pacing::Progressive),
            of(Pacing::Predictive(0.03)),
            of(Pacing::Predictive(0.01)),
        );
        let mut check = |ok: bool, what: String| {
            println!("  {} {what}", if ok { "ok  " } else { "MISS" });
            if !ok {
                failed.push(format!("{agents} agents: {what}"));
            }
        };
        check(
            prog.abandoned == 0,
            format!("progressive abandons: {}", prog.abandoned),
        );
        check(
            auto.p95_wait_ms <= 30_000.0,
            format!(
                "robot auto lines p95 wait {:.1} s ≤ 30 s (fixed lines {:.1} s)",
                auto.p95_wait_ms / 1000.0,
                fixed.p95_wait_ms / 1000.0
            ),
        );
        check(
            p3.abandon_share() <= 0.03,
            format!(
                "predictive 3 %: abandon {:.2} % ≤ 3 %",
                p3.abandon_share() * 100.0
            ),
        );
        check(
            p1.abandon_share() <= 0.01,
            format!(
                "predictive 1 %: abandon {:.2} % ≤ 1 %",
                p1.abandon_share() * 100.0
            ),
        );
        if agents >= 10 {
            check(
                p3.occupancy >= 0.85,
                format!(
                    "predictive 3 %: occupancy {:.1} % ≥ 85 %",
                    p3.occupancy * 100.0
                ),
            );
            check(
                p3.occupancy > prog.occupancy && p3.served_per_agent_hour > prog.served_per_agent_hour,
                format!(
                    "predictive beats progressive: occupancy {:.1} % vs {:.1} %, {:.1} vs {:.1} served per agent hour",
                    p3.occupancy * 100.0,
                    prog.occupancy * 100.0,
                    p3.served_per_agent_hour,
                    prog.served_per_agent_hour
                ),
            );
        }
    }
    if failed.is_empty() {
        println!("\nevery target met");
    } else {
        println!("\ntargets missed:\n  {}", failed.join("\n  "));
    }
}
