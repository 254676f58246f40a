//! Pacing over simulated shifts (docs/pacing.md): the dialer's pacing code and the agents'
//! pool on virtual time with simulated callees (`dialer::shift`), deterministic by seed. The
//! full 8-hour table is the `pacing_shift` benchmark; these are the guarantees it keeps today.
//! Predictive keeps 20 agents at least 85 % busy with abandons under a 3 % target, stays
//! under its target across a burst of short calls, and keeps agents far busier than
//! progressive, which never abandons.
use autoinformer::dialer::shift::{run, Burst, Pacing, Shift};

fn shift(agents: usize, pacing: Pacing, seed: u64, hours: f64) -> Shift {
    let mut sh = Shift::new(agents, pacing, seed);
    sh.length_ms = (hours * 3_600_000.0) as i64;
    sh
}

#[test]
fn progressive_never_abandons_in_a_thousand_call_run() {
    for seed in [1, 2, 3] {
        let mut sh = shift(8, Pacing::Progressive, seed, 8.0);
        sh.max_calls = 1_000;
        let r = run(&sh);
        assert_eq!(r.calls, 1_000, "seed {seed}: {r:?}");
        assert!(r.transfers > 100, "seed {seed}: {r:?}");
        assert_eq!((r.abandoned, r.left), (0, 0), "seed {seed}: {r:?}");
        // Nobody waited longer than an agent's ring (2 s) and a pass.
        assert!(r.p95_wait_ms <= 3_000.0, "seed {seed}: {r:?}");
    }
}

#[test]
fn predictive_follows_its_abandon_target_across_a_burst_of_short_calls() {
    let run_at = |target: f64| {
        let mut sh = shift(20, Pacing::Predictive(target), 5, 3.0);
        // An hour in, for 20 minutes: twice the answers, calls a third as long.
        sh.population.burst = Some(Burst {
            from_ms: 3_600_000,
            to_ms: 3_600_000 + 20 * 60_000,
            answer_rate: 0.9,
            talk_mean_ms: 30_000.0,
        });
        run(&sh)
    };
    // The 3 % target holds across the burst; a 1 % target abandons less, though three hours
    // with a burst are too few for it to settle under 1 % (docs/pacing.md).
    let (at3, at1) = (run_at(0.03), run_at(0.01));
    for (target, r) in [(0.03, &at3), (0.025, &at1)] {
        assert!(r.transfers > 1_000, "{r:?}");
        assert!(
            r.abandon_share() <= target,
            "target {target}: abandon {:.4} ({} of {})",
            r.abandon_share(),
            r.abandoned,
            r.transfers
        );
        // The burst's abandons pulled the dial level well down at some point.
        assert!(r.level_min < 0.5, "{r:?}");
    }
    assert!(at1.abandon_share() < at3.abandon_share(), "{at1:?} {at3:?}");
}

#[test]
fn robot_auto_lines_keep_the_queue_wait_short_where_fixed_lines_let_it_grow() {
    let fixed = run(&shift(20, Pacing::Fixed, 11, 2.0));
    let auto = run(&shift(20, Pacing::RobotAuto, 11, 2.0));
    assert!(fixed.p95_wait_ms > 40_000.0, "{fixed:?}");
    assert!(auto.p95_wait_ms <= 30_000.0, "{auto:?}");
    assert!(auto.abandon_share() < fixed.abandon_share());
}

#[test]
fn the_same_seed_gives_the_same_shift() {
    let a = run(&shift(20, Pacing::Predictive(0.03), 3, 1.0));
    let b = run(&shift(20, Pacing::Predictive(0.03), 3, 1.0));
    assert_eq!(a, b);
    let c = run(&shift(20, Pacing::Predictive(0.03), 4, 1.0));
    assert_ne!(a, c);
}

#[test]
fn predictive_keeps_agents_far_busier_than_progressive() {
    let prog = run(&shift(20, Pacing::Progressive, 9, 2.0));
    let pred = run(&shift(20, Pacing::Predictive(0.03), 9, 2.0));
    assert!(
        pred.occupancy > prog.occupancy + 0.15,
        "predictive {:.3} vs progressive {:.3}",
        pred.occupancy,
        prog.occupancy
    );
    assert!(pred.served_per_agent_hour > prog.served_per_agent_hour * 1.3);
    // Two hours hold the first minutes, before the dial level settles: a little over the
    // target is allowed here; the four-hour test below holds it to 3 %.
    assert!(pred.abandon_share() <= 0.035, "{pred:?}");
    assert_eq!(prog.abandoned, 0);
}

#[test]
fn predictive_keeps_twenty_agents_busy_at_least_85_percent_with_abandons_under_target() {
    for seed in [1, 2, 3] {
        let at3 = run(&shift(20, Pacing::Predictive(0.03), seed, 4.0));
        let at1 = run(&shift(20, Pacing::Predictive(0.01), seed, 4.0));
        eprintln!(
            "seed {seed}: 3 %: {:.3} busy, {:.4} abandoned; 1 %: {:.3} busy, {:.4} abandoned",
            at3.occupancy,
            at3.abandon_share(),
            at1.occupancy,
            at1.abandon_share()
        );
        assert!(at3.occupancy >= 0.85, "seed {seed}: {at3:?}");
        assert!(at3.abandon_share() <= 0.03, "seed {seed}: {at3:?}");
        // A 1 % target abandons less; four hours are too few for it to settle under 1 %
        // (the eight-hour shift does: docs/pacing.md).
        assert!(
            at1.abandon_share() < at3.abandon_share(),
            "seed {seed}: {at1:?}"
        );
        assert!(at1.abandon_share() <= 0.015, "seed {seed}: {at1:?}");
        assert!(at1.occupancy >= 0.80, "seed {seed}: {at1:?}");
    }
}
