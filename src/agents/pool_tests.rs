use super::*;

fn agent(id: AgentId, projects: Option<&[i64]>) -> AgentInfo {
    AgentInfo {
        id,
        name: format!("agent {id}"),
        projects: projects.map(|p| p.iter().copied().collect()),
        enabled: true,
        always_reachable: true,
        missed_pause_ms: None,
    }
}

fn pool(agents: &[AgentInfo], now: i64) -> Pool {
    let mut p = Pool::new();
    for a in agents {
        p.upsert(a.clone(), now);
    }
    p
}

fn state(p: &Pool, id: AgentId) -> AgentState {
    p.live(id).map(|l| l.state).unwrap_or(AgentState::Offline)
}

#[test]
fn the_most_idle_agent_gets_the_call() {
    let mut p = pool(&[agent(1, None), agent(2, None), agent(3, None)], 0);
    for (i, t) in [(1, 10), (2, 20), (3, 30)] {
        p.enqueue(&format!("c{i}"), 7, t);
        let a = p.assign(t);
        assert_eq!(a.len(), 1);
        p.answered(&a[0].call, a[0].agent, t);
    }
    // Agent 3's call ended first, then agent 1's, then agent 2's.
    p.ended(3, 0, 1_000);
    p.ended(1, 0, 2_000);
    p.ended(2, 0, 3_000);
    p.enqueue("c4", 7, 4_000);
    assert_eq!(
        p.assign(4_000),
        vec![Assignment {
            call: "c4".into(),
            agent: 3
        }]
    );
    assert_eq!(state(&p, 3), AgentState::Ringing);
    p.enqueue("c5", 7, 4_001);
    assert_eq!(p.assign(4_001)[0].agent, 1);
}

#[test]
fn callers_are_served_first_come_first_served() {
    let mut p = pool(&[agent(1, None)], 0);
    p.enqueue("a", 1, 10);
    p.enqueue("b", 1, 20);
    p.enqueue("c", 1, 30);
    assert_eq!(p.place("c"), Some(3));
    let first = p.assign(40);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].call, "a");
    p.answered("a", 1, 50);
    assert!(p.assign(60).is_empty(), "the only agent is talking");
    p.ended(1, 10_000, 1_000);
    assert_eq!(state(&p, 1), AgentState::WrapUp);
    assert!(p.assign(5_000).is_empty(), "wrap-up is not available");
    assert_eq!(p.next_wake(), Some(11_000));
    assert!(p.tick(11_000));
    assert_eq!(p.assign(11_000)[0].call, "b");
}

#[test]
fn an_agent_who_misses_a_call_is_paused_and_the_next_one_rings() {
    let mut p = pool(&[agent(1, None), agent(2, None)], 0);
    p.enqueue("a", 1, 10);
    let first = p.assign(10)[0].agent;
    p.missed("a", first, Miss::NoAnswer, 15_010);
    assert_eq!(state(&p, first), AgentState::Paused);
    assert_eq!(
        p.live(first).and_then(|l| l.reason.clone()).as_deref(),
        Some(MISSED_A_CALL)
    );
    let second = p.assign(15_010);
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].agent, first);
    // Back from the break, the first agent is not offered this caller again.
    p.missed("a", second[0].agent, Miss::NoAnswer, 30_000);
    p.set_manual(first, Manual::Available, 30_001).ok();
    assert!(
        p.assign(30_002).is_empty(),
        "both agents missed this caller"
    );
    p.enqueue("b", 1, 30_003);
    assert_eq!(p.assign(30_004)[0].call, "b");
}

#[test]
fn agents_serve_only_their_projects() {
    let mut p = pool(&[agent(1, Some(&[10])), agent(2, Some(&[20]))], 0);
    p.enqueue("x", 20, 1);
    let a = p.assign(2);
    assert_eq!(
        a,
        vec![Assignment {
            call: "x".into(),
            agent: 2
        }]
    );
    assert_eq!(p.members(10), 1);
    assert_eq!(p.members(30), 0);
}

#[test]
fn a_caller_who_leaves_frees_the_ringing_agent() {
    let mut p = pool(&[agent(1, None)], 0);
    p.enqueue("a", 1, 0);
    let a = p.assign(0);
    assert_eq!(a.len(), 1);
    assert_eq!(p.leave("a", 3_000), Some(1));
    assert_eq!(state(&p, 1), AgentState::Available);
    assert_eq!(p.waiting(1), 0);
}

#[test]
fn registering_agents_are_offline_until_registered_and_after_it_expires() {
    let mut info = agent(1, None);
    info.always_reachable = false;
    let mut p = pool(&[info], 0);
    assert_eq!(state(&p, 1), AgentState::Offline);
    assert_eq!(
        p.set_manual(1, Manual::Available, 1),
        Err(ManualError::NotRegistered)
    );
    p.set_registered(1, true, 2);
    assert_eq!(state(&p, 1), AgentState::Available);
    p.enqueue("a", 1, 3);
    assert_eq!(p.assign(3).len(), 1);
    // A registration that expires during a call ends it in offline, not available.
    p.answered("a", 1, 4);
    p.set_registered(1, false, 5);
    assert_eq!(state(&p, 1), AgentState::Talking);
    p.ended(1, 0, 6);
    assert_eq!(state(&p, 1), AgentState::Offline);
}

#[test]
fn a_state_change_waits_for_the_end_of_a_call_and_disabled_agents_stay_offline() {
    let mut p = pool(&[agent(1, None)], 0);
    p.enqueue("a", 1, 0);
    p.assign(0);
    assert_eq!(
        p.set_manual(1, Manual::Paused("lunch".into()), 1),
        Err(ManualError::OnACall(AgentState::Ringing))
    );
    let mut off = agent(1, None);
    off.enabled = false;
    p.upsert(off, 2);
    assert_eq!(state(&p, 1), AgentState::Ringing, "the call goes on");
    p.answered("a", 1, 3);
    p.ended(1, 0, 4);
    assert_eq!(state(&p, 1), AgentState::Offline);
    assert_eq!(
        p.set_manual(1, Manual::Available, 5),
        Err(ManualError::Disabled)
    );
}

#[test]
fn todays_counters_start_again_each_day() {
    let mut p = pool(&[agent(1, None)], 0);
    p.enqueue("a", 1, 0);
    p.assign(0);
    p.answered("a", 1, 1_000);
    p.ended(1, 0, 61_000);
    let l = p.live(1).cloned();
    assert_eq!(
        l.as_ref().map(|l| (l.calls_today, l.talk_ms_today)),
        Some((1, 60_000))
    );
    p.tick(DAY_MS + 1);
    let l = p.live(1).cloned();
    assert_eq!(l.map(|l| (l.calls_today, l.talk_ms_today)), Some((0, 0)));
}

#[test]
fn many_callers_and_agents_every_caller_is_served_once() {
    // 500 callers over 5 projects, 12 agents with mixed membership; each call lasts a while.
    let agents: Vec<AgentInfo> = (1..=12)
        .map(|i| {
            let own = [i % 5];
            agent(i, if i % 3 == 0 { None } else { Some(&own[..]) })
        })
        .collect();
    let mut p = pool(&agents, 0);
    let mut now = 0;
    let mut served = BTreeSet::new();
    let mut talking: Vec<(i64, AgentId)> = Vec::new();
    for i in 0..500 {
        p.enqueue(&format!("c{i}"), i % 5, now);
    }
    while served.len() < 500 && now < 10_000_000 {
        now += 1_000;
        talking.retain(|&(end, a)| {
            if end <= now {
                p.ended(a, 2_000, now);
                false
            } else {
                true
            }
        });
        p.tick(now);
        for a in p.assign(now) {
            assert!(served.insert(a.call.clone()), "{} offered twice", a.call);
            p.answered(&a.call, a.agent, now);
            talking.push((now + 30_000, a.agent));
        }
        let ringing_or_talking = p
            .counts()
            .iter()
            .filter(|(k, _)| **k == "talking" || **k == "ringing")
            .map(|(_, v)| *v)
            .sum::<usize>();
        assert_eq!(ringing_or_talking, talking.len());
    }
    assert_eq!(served.len(), 500);
    assert_eq!(p.waiting(0) + p.waiting(1) + p.waiting(4), 0);
}

#[test]
fn a_timed_pause_after_a_missed_call_ends_by_itself() {
    let mut info = agent(1, None);
    info.missed_pause_ms = Some(10_000);
    let mut p = pool(&[info], 0);
    p.enqueue("a", 1, 0);
    p.assign(0);
    p.missed("a", 1, Miss::NoAnswer, 15_000);
    assert_eq!(state(&p, 1), AgentState::Paused);
    assert!(!p.tick(24_999));
    assert!(p.tick(25_000));
    assert_eq!(state(&p, 1), AgentState::Available);
}

#[test]
fn a_written_wrap_up_ends_after_call_work_early_and_nothing_else() {
    let mut p = pool(&[agent(1, None)], 0);
    assert!(!p.end_wrap_up(1, 0), "available: nothing to end");
    p.enqueue("a", 1, 0);
    p.assign(0);
    p.answered("a", 1, 100);
    assert!(!p.end_wrap_up(1, 200), "talking: the call goes on");
    assert_eq!(state(&p, 1), AgentState::Talking);
    p.ended(1, 3_600_000, 1_000);
    assert_eq!(state(&p, 1), AgentState::WrapUp);
    assert!(p.end_wrap_up(1, 5_000));
    assert_eq!(state(&p, 1), AgentState::Available);
    assert_eq!(p.next_wake(), None, "the wrap-up's timer is gone");
    assert!(!p.end_wrap_up(9, 5_000), "no such agent");
}

#[test]
fn the_floor_tells_pacing_what_happened_project_by_project() {
    let mut p = pool(&[agent(1, Some(&[7])), agent(2, Some(&[7, 8]))], 0);
    p.enqueue("c1", 7, 1_000);
    p.enqueue("c2", 8, 1_500);
    let a = p.assign(2_000);
    assert_eq!(a.len(), 2, "{a:?}");
    p.answered("c1", 1, 3_000);
    p.answered("c2", 2, 3_500);
    let (states, talking) = p.floor(7);
    assert_eq!(states.len(), 2);
    // Agent 2 talks to project 8's caller: only agent 1 talks to project 7's.
    assert_eq!(talking, 1);
    p.ended(1, 5_000, 63_000);
    p.ended(2, 0, 10_000);
    p.tick(68_000);
    p.enqueue("c3", 7, 70_000);
    p.leave("c3", 75_000);
    let e = p.take_events();
    assert_eq!(
        e,
        vec![
            FloorEvent::Queued {
                project: 7,
                call: "c1".into(),
                at_ms: 1_000
            },
            FloorEvent::Queued {
                project: 8,
                call: "c2".into(),
                at_ms: 1_500
            },
            FloorEvent::Served {
                project: 7,
                wait_ms: 2_000,
                at_ms: 3_000
            },
            FloorEvent::Served {
                project: 8,
                wait_ms: 2_000,
                at_ms: 3_500
            },
            FloorEvent::Talked {
                project: 7,
                ms: 60_000
            },
            FloorEvent::Talked {
                project: 8,
                ms: 6_500
            },
            FloorEvent::Wrapped { project: 8, ms: 0 },
            FloorEvent::Wrapped {
                project: 7,
                ms: 5_000
            },
            FloorEvent::Queued {
                project: 7,
                call: "c3".into(),
                at_ms: 70_000
            },
            FloorEvent::Left {
                project: 7,
                wait_ms: 5_000,
                at_ms: 75_000
            },
        ]
    );
    assert!(p.take_events().is_empty());
}

#[test]
fn a_preview_caller_goes_to_the_agent_who_pressed_call_alone() {
    let mut p = pool(&[agent(1, None), agent(2, None)], 0);
    p.hold_for_preview(2, 0).unwrap();
    assert_eq!(state(&p, 2), AgentState::Paused);
    // Held: no other caller is offered to agent 2, though it idled longest.
    p.enqueue("other", 7, 100);
    let a = p.assign(100);
    assert_eq!(
        a,
        vec![Assignment {
            call: "other".into(),
            agent: 1
        }]
    );
    // Their own caller is, and only to them.
    p.enqueue_for("mine", 7, Some(2), 200);
    let a = p.assign(200);
    assert_eq!(
        a,
        vec![Assignment {
            call: "mine".into(),
            agent: 2
        }]
    );
    p.answered("mine", 2, 300);
    assert_eq!(state(&p, 2), AgentState::Talking);
    // A held agent who is not available cannot be held again; one whose call never came is
    // let go.
    assert!(p.hold_for_preview(2, 400).is_err());
    p.ended(2, 0, 500);
    p.hold_for_preview(2, 600).unwrap();
    p.release_preview(2, 700);
    assert_eq!(state(&p, 2), AgentState::Available);
    // Release touches only a preview hold, not a break.
    p.leave("other", 750);
    p.set_manual(1, Manual::Paused("обед".into()), 800).unwrap();
    p.release_preview(1, 900);
    assert_eq!(state(&p, 1), AgentState::Paused);
}
