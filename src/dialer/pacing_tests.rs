//! Pacing's rules on a manual clock.
use super::*;

fn settings(mode: Mode) -> Settings {
    Settings {
        mode,
        lines: 100,
        ..Settings::default()
    }
}

fn floor(now_ms: i64, agents: &[Agent], queue: u32) -> Floor<'_> {
    Floor {
        now_ms,
        agents,
        queue,
        transfers: true,
        on_the_way: 0,
        answered: 0,
        ringing_ms: &[],
        answered_ms: &[],
    }
}

#[test]
fn uis_a_at_the_start_predictive_dials_calls_per_agent_times_the_free_agents() {
    let mut s = settings(Mode::Predictive);
    s.calls_per_agent = 2.0;
    let agents = [Agent::Available; 12];
    let d = Pacer::new().allowed(&s, &floor(0, &agents, 0));
    assert_eq!((d.allowed, d.mode), (24, Mode::Predictive), "{}", d.why);
    // The project's lines stay the ceiling.
    s.lines = 15;
    assert_eq!(Pacer::new().allowed(&s, &floor(0, &agents, 0)).allowed, 15);
}

#[test]
fn uis_b_an_agent_on_a_call_is_dialed_for_once_talk_plus_wrap_up_less_the_time_to_answer_passed() {
    // Predicted talk 60 s + wrap-up 10 s − 20 s for a new call to be answered: an agent on a
    // call is dialed for from 50 s into it, not a millisecond before.
    let s = settings(Mode::Predictive);
    let now = 1_000_000;
    let mut agents = vec![Agent::Talking { since_ms: now }; 10];
    agents[0] = Agent::Talking {
        since_ms: now - 50_000,
    };
    agents[1] = Agent::Talking {
        since_ms: now - 49_999,
    };
    agents[2] = Agent::WrapUp {
        since_ms: now - 5_000,
    };
    let d = Pacer::new().allowed(&s, &floor(now, &agents, 0));
    // Agent 0 by its talk, agent 2 by its wrap-up (10 s − 20 s is already passed).
    assert_eq!(d.allowed, 2, "{}", d.why);
    // A caller already waiting takes one of them.
    assert_eq!(Pacer::new().allowed(&s, &floor(now, &agents, 1)).allowed, 1);
}

/// A measured floor: `MIN_MEASURED` talks of `talk_ms` and one call in four reaching an agent.
fn measured(talk_ms: f64) -> Pacer {
    let mut p = Pacer::new();
    for _ in 0..MIN_MEASURED {
        p.measured.talked(talk_ms);
        for k in 0..4 {
            p.measured.reach.add(if k == 0 { 1.0 } else { 0.0 });
        }
    }
    p
}

#[test]
fn measured_predictive_dials_by_the_odds_of_callers_left_without_an_agent() {
    use rand::{Rng, SeedableRng};
    let s = settings(Mode::Predictive);
    let now = 1_000_000;
    let mut agents = vec![Agent::Available; 10];
    agents[0] = Agent::Talking {
        since_ms: now - 100_000,
    };
    // Nine free, one 100 s into a call when every talk lasts 200 s (not free in time), one
    // call in four reaches an agent: the rule of thumb would place 36 calls; by the odds, as
    // many as keep the expected callers beyond nine agents within 3 % of those expected.
    let d = measured(200_000.0).allowed(&s, &floor(now, &agents, 0));
    let k = d.allowed;
    assert!((9..36).contains(&k), "{k}: {}", d.why);
    // Checked apart from the pacer's own sums: k calls keep E[(callers − 9)+] within the
    // budget, k + 1 do not (a seeded draw of a million shifts of calls).
    let mut rng = rand::rngs::SmallRng::seed_from_u64(19);
    let over = |n: u32, rng: &mut rand::rngs::SmallRng| {
        let runs = 1_000_000;
        let mut sum = 0u64;
        for _ in 0..runs {
            let callers = (0..n).filter(|_| rng.gen::<f64>() < 0.25).count() as u64;
            sum += callers.saturating_sub(9);
        }
        sum as f64 / runs as f64
    };
    let budget = |n: u32| LEVEL_START * 0.03 * 0.25 * f64::from(n);
    assert!(over(k, &mut rng) <= budget(k) * 1.05, "{k}");
    assert!(over(k + 1, &mut rng) > budget(k + 1) * 0.95, "{k}");
    // An agent about to end the call is counted by its chance; a looser target dials more.
    agents[0] = Agent::Talking {
        since_ms: now - 199_000,
    };
    let sooner = measured(200_000.0)
        .allowed(&s, &floor(now, &agents, 0))
        .allowed;
    assert!(sooner > k, "{sooner} vs {k}");
    let loose = Settings {
        abandon_target: 0.10,
        ..s.clone()
    };
    assert!(
        measured(200_000.0)
            .allowed(&loose, &floor(now, &agents, 0))
            .allowed
            > sooner
    );
    // A caller already waiting takes an agent: fewer calls.
    let waiting = measured(200_000.0)
        .allowed(&s, &floor(now, &agents, 1))
        .allowed;
    assert!(waiting < sooner, "{waiting} vs {sooner}");
}

#[test]
fn predictive_below_ten_agents_dials_as_progressive_and_says_so() {
    let s = settings(Mode::Predictive);
    let mut agents = vec![Agent::Available; 6];
    agents.extend([Agent::Offline; 8]);
    agents[0] = Agent::Talking { since_ms: 0 };
    let d = Pacer::new().allowed(&s, &floor(10_000_000, &agents, 0));
    assert_eq!((d.allowed, d.mode), (5, Mode::Progressive));
    assert!(d.why.contains("6 now"), "{}", d.why);
}

#[test]
fn progressive_dials_only_for_agents_free_now() {
    let s = settings(Mode::Progressive);
    let agents = [
        Agent::Available,
        Agent::Available,
        Agent::Talking { since_ms: 0 },
        Agent::WrapUp { since_ms: 0 },
        Agent::Offline,
    ];
    let mut p = Pacer::new();
    // However long the others have talked.
    assert_eq!(p.allowed(&s, &floor(99_000_000, &agents, 0)).allowed, 2);
    let busy = [Agent::Talking { since_ms: 0 }; 3];
    assert_eq!(p.allowed(&s, &floor(99_000_000, &busy, 0)).allowed, 0);
}

#[test]
fn abandons_lower_the_dial_level_a_burst_cuts_it_and_it_settles_at_the_aimed_share() {
    let s = settings(Mode::Predictive);
    let aim = s.abandon_target * AIM;
    let mut p = Pacer::new();
    let mut t = 0;
    for _ in 0..50 {
        t += 10_000;
        p.transfer_ended(&s, t, false);
    }
    // Each served call raises the level a little.
    let high = p.level();
    assert!(
        (high - LEVEL_START * (50.0 * LEVEL_STEP * aim).exp()).abs() < 1e-9,
        "{high}"
    );
    // An abandon lowers it far more.
    t += 10_000;
    p.transfer_ended(&s, t, true);
    let one = high * (LEVEL_STEP * (aim - 1.0)).exp();
    assert!((p.level() - one).abs() < 1e-9, "{}", p.level());
    // Two more within the minute, over twice the target's share of that minute: a burst
    // cuts it at once; a fourth within the minute steps but cuts no more.
    t += 5_000;
    p.transfer_ended(&s, t, true);
    t += 5_000;
    p.transfer_ended(&s, t, true);
    let step = (LEVEL_STEP * (aim - 1.0)).exp();
    let cut = one * step * step * BURST_CUT;
    assert!((p.level() - cut).abs() < 1e-9, "{} vs {cut}", p.level());
    t += 5_000;
    p.transfer_ended(&s, t, true);
    assert!((p.level() - cut * step).abs() < 1e-9, "{}", p.level());
    // At exactly the aimed share, spread out (no burst), the level comes back to where it was:
    // 24 abandons in 1,000 transfers is 2.4 %, the aim for a 3 % target.
    let before = p.level();
    for i in 0..1_000 {
        t += 10_000;
        p.transfer_ended(&s, t, matches!(i % 125, 0 | 60 | 100));
    }
    assert!(
        (p.level() - before).abs() < 1e-6,
        "{} vs {before}",
        p.level()
    );
    for _ in 0..1_000 {
        t += 10_000;
        p.transfer_ended(&s, t, true);
    }
    assert_eq!(p.level(), LEVEL_MIN);
}

#[test]
fn robot_lines_follow_the_transfer_queue_and_come_back() {
    let mut s = settings(Mode::Robot);
    s.lines = 30;
    let busy = [Agent::Talking { since_ms: 0 }; 4];
    let mut p = Pacer::new();
    // Without transfers: the lines, whatever the agents do.
    let no_transfers = Floor {
        transfers: false,
        ..floor(0, &busy, 9)
    };
    assert_eq!(p.allowed(&s, &no_transfers).allowed, 30);
    // Six callers waiting for four agents at 70 s each: 122 s expected, over 20 s. The lines
    // step down by a fifth every 5 s while it lasts.
    let mut t = 0;
    let mut seen = vec![];
    for _ in 0..8 {
        seen.push(p.allowed(&s, &floor(t, &busy, 6)).allowed);
        t += LINES_STEP_MS;
    }
    assert_eq!(seen, [24, 20, 16, 13, 11, 9, 8, 7], "{seen:?}");
    // Not faster than one step per 5 s.
    assert_eq!(p.allowed(&s, &floor(t - 1, &busy, 6)).allowed, 7);
    let d = p.allowed(&s, &floor(t, &busy, 6));
    assert!(d.why.contains("of 30 lines"), "{}", d.why);
    // Agents free up and nobody waits: a line more every 5 s, back to 30.
    let free = [Agent::Available; 4];
    for _ in 0..40 {
        t += LINES_STEP_MS;
        p.allowed(&s, &floor(t, &free, 0));
    }
    assert_eq!(p.allowed(&s, &floor(t, &free, 0)).allowed, 30);
}

#[test]
fn preview_never_dials_by_itself() {
    let d = Pacer::new().allowed(
        &settings(Mode::Preview),
        &floor(0, &[Agent::Available; 20], 0),
    );
    assert_eq!(d.allowed, 0);
}

#[test]
fn an_answered_call_counts_by_how_long_it_has_been_with_the_robot() {
    let mut m = Measured::default();
    assert_eq!(m.reaches_yet(0.0), None);
    // People who ask for an agent get there after 10 s; machines end after 4 s, people who
    // want nobody after 15 s.
    for _ in 0..30 {
        m.robot_part(10_000.0, true);
    }
    for _ in 0..20 {
        m.robot_part(4_000.0, false);
        m.robot_part(15_000.0, false);
    }
    let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
    assert!(near(m.reaches_yet(0.0), 30.0 / 70.0));
    // Past a machine's part: the machines are out of the running.
    assert!(near(m.reaches_yet(6_000.0), 30.0 / 50.0));
    // Past the point where callers ask for an agent: this one will not.
    assert!(near(m.reaches_yet(12_000.0), 0.0));
    // Longer than every one seen: as likely as any.
    assert!(near(m.reaches_yet(60_000.0), 30.0 / 70.0));
}
