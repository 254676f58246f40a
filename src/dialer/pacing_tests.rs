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

#[test]
fn measured_figures_replace_the_configured_ones_once_there_are_enough() {
    let s = settings(Mode::Predictive);
    let mut p = Pacer::new();
    for _ in 0..MIN_MEASURED {
        p.measured.talked(200_000.0);
        // One call in four reaches an agent: four calls per free agent.
        for k in 0..4 {
            p.measured.reach.add(if k == 0 { 1.0 } else { 0.0 });
        }
    }
    let now = 1_000_000;
    let mut agents = vec![Agent::Available; 10];
    agents[0] = Agent::Talking {
        since_ms: now - 100_000,
    };
    // 100 s into a call predicted at 200 s: not expected free. Nine free, four calls each.
    let d = p.allowed(&s, &floor(now, &agents, 0));
    assert_eq!(d.allowed, 36, "{}", d.why);
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
fn abandons_lower_the_dial_level_a_burst_halves_it_and_it_climbs_back_slowly() {
    let s = settings(Mode::Predictive);
    let mut p = Pacer::new();
    let mut t = 0;
    for _ in 0..50 {
        t += 10_000;
        p.transfer_ended(&s, t, false);
    }
    let high = p.level();
    assert!(high > 1.0 && high <= LEVEL_MAX, "{high}");
    // One abandon in 51 is under 3 %: the level holds.
    t += 10_000;
    p.transfer_ended(&s, t, true);
    assert_eq!(p.level(), high);
    // A second: 2 in 52 is over 3 %, the level steps down by 15 %.
    t += 20_000;
    p.transfer_ended(&s, t, true);
    assert!((p.level() - high * 0.85).abs() < 1e-9, "{}", p.level());
    // A third within the minute, half of that minute's transfers: a burst halves it.
    t += 5_000;
    p.transfer_ended(&s, t, true);
    assert!((p.level() - (high * 0.85 * 0.5).max(LEVEL_MIN)).abs() < 1e-9);
    let low = p.level();
    for _ in 0..10 {
        t += 10_000;
        p.transfer_ended(&s, t, false);
    }
    // Three abandons in 63 is over 3 %: no climb yet.
    assert_eq!(p.level(), low);
    assert!(p.abandon_share().is_some_and(|a| a > 0.03));
    // Fifteen minutes on, the window has forgotten them and the level climbs a step a call.
    t += ABANDON_WINDOW_MS;
    p.transfer_ended(&s, t, false);
    assert!((p.level() - (low + 0.01)).abs() < 1e-9);
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
