//! The agents' queue against real phones: one baresip agent (registered with digest) and four
//! baresip callees, each behind its own SIP trunk, all in one project's queue.
//!
//! 1. Two callers, one agent: A is bridged; B presses 1 while the agent talks to A and waits,
//!    hearing the hold audio (a 900 Hz tone here, measured in B's recording), and is connected
//!    only after A's call ended and the wrap-up passed.
//! 2. FIFO: with the agent busy, three callers queue 700 ms apart; the agent takes them in that
//!    order (as the robot bridged them and as the agent's phone heard them), and the waiting
//!    callers hear the bundled hold music (found sample for sample in their recordings).
//!
//! Then nothing is left: no dialog on any trunk, the open file descriptors and tokio's alive
//! tasks back to their level before the calls. One test function: the fd and task counts are
//! per process, and tests of one file run in parallel.
mod common;
use autoinformer::agents::pool::{AgentInfo, AgentState};
use autoinformer::agents::service::{AgentLine, Agents};
use autoinformer::call::live::{run_call_watched, CallWatch, LiveReport, LiveSettings};
use autoinformer::call::transfer::{TransferAudio, TransferContext, TransferSettings};
use autoinformer::call::CallConfig;
use autoinformer::config::SipConfig;
use autoinformer::scenario::{load_str, Format, LoadOptions, Scenario};
use autoinformer::telephony::registrar::AgentDirectory;
use autoinformer::telephony::sip::{SipTimers, SipTrunk};
use autoinformer::telephony::trunk::DialRequest;
use common::baresip::{phone, tone_wav, Phone};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::sleep;

const AGENT_HZ: f64 = 1400.0;
const HOLD_HZ: f64 = 900.0;
/// Each callee's own tone (the agent tells them apart by it).
const CALLER_HZ: [u32; 4] = [500, 1000, 1600, 1800];
const WRAP_UP: Duration = Duration::from_secs(1);

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

/// The share of a window's power at `hz`; `None` for a silent window.
fn share(w: &[i16], hz: f64) -> Option<f64> {
    let n = w.len() as f64;
    let total: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n;
    if total < 1e3 {
        return None;
    }
    let k = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &x) in w.iter().enumerate() {
        re += f64::from(x) * (k * i as f64).cos();
        im += f64::from(x) * (k * i as f64).sin();
    }
    Some((re * re + im * im) * 2.0 / (n * n) / total)
}

/// Whether `hz` carries most of the window's power.
fn is(w: &[i16], hz: f64) -> bool {
    share(w, hz).is_some_and(|s| s > 0.5)
}

/// 200 ms windows.
fn windows(s: &[i16]) -> Vec<&[i16]> {
    s.chunks(1600).filter(|w| w.len() == 1600).collect()
}

/// The windows of the last `ms` before the agent was first heard in `s` (without the one where
/// the two meet), and those from the agent on.
fn around_agent(s: &[i16], ms: u64) -> (Vec<&[i16]>, Vec<&[i16]>) {
    let w = windows(s);
    let at = w.iter().position(|w| is(w, AGENT_HZ));
    let at = at.expect("the agent was heard");
    let before = at.saturating_sub(1);
    let n = (ms / 200) as usize;
    (
        w[before.saturating_sub(n)..before].to_vec(),
        w[at..].to_vec(),
    )
}

/// The caller tone a recording of the agent's is mostly made of.
fn caller_heard(s: &[i16]) -> Option<u32> {
    let count = |hz: u32| windows(s).iter().filter(|w| is(w, f64::from(hz))).count();
    let most = CALLER_HZ.into_iter().max_by_key(|&hz| count(hz));
    most.filter(|&hz| count(hz) > 0)
}

fn log_of(p: &Phone) -> String {
    let s = std::fs::read_to_string(p.dir.join("baresip.log")).unwrap_or_default();
    s[s.len().saturating_sub(3000)..].to_string()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits for `ok` up to `limit`; false when it never held.
async fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while !ok() {
        if t.elapsed() > limit {
            return false;
        }
        sleep(Duration::from_millis(20)).await;
    }
    true
}

fn read(f: &PathBuf) -> Vec<i16> {
    hound::WavReader::open(f)
        .map(|mut r| r.samples::<i16>().filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// The `n` recordings `p` made since those in `seen` (baresip's sndfile dumps, named by the
/// time), in the order they were made, once baresip closed them (their length is stable).
async fn new_recordings(p: &Phone, seen: &mut BTreeSet<PathBuf>, n: usize) -> Vec<Vec<i16>> {
    let (mut last, t) = (vec![], Instant::now());
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&p.dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|f| {
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("dump-") && name.ends_with("-dec.wav") && !seen.contains(f)
        });
        files.sort();
        let lens: Vec<usize> = files.iter().map(|f| read(f).len()).collect();
        if files.len() == n && lens.iter().all(|&l| l > 0) && lens == last {
            seen.extend(files.iter().cloned());
            return files.iter().map(read).collect();
        }
        let (dir, log) = (p.dir.display(), log_of(p));
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "{dir}: recordings {lens:?}, {n} expected; log:\n{log}"
        );
        last = lens;
        sleep(Duration::from_millis(300)).await;
    }
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
            }) as Arc<dyn AgentLine>
        });
        self.agents.set_registered(agent, line);
    }
}

/// The callers of a phase as they were answered and bridged to the agent, in that order.
#[derive(Default)]
struct Log {
    answered: Mutex<Vec<usize>>,
    bridged: Mutex<Vec<(usize, Instant)>>,
}

impl Log {
    fn bridged(&self) -> Vec<usize> {
        self.bridged.lock().unwrap().iter().map(|b| b.0).collect()
    }
    fn bridged_at(&self, i: usize) -> Instant {
        let b = self.bridged.lock().unwrap();
        b.iter().find(|b| b.0 == i).expect("bridged").1
    }
    async fn bridged_within(&self, n: usize) -> bool {
        wait_for(Duration::from_secs(12), || self.bridged().len() >= n).await
    }
}

/// The phones, the trunks to the callees and what every call shares.
struct World {
    callees: Vec<Phone>,
    trunks: Vec<Arc<SipTrunk>>,
    agent: Phone,
    agents: Arc<Agents>,
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    live: LiveSettings,
    _stop: tokio_util::sync::DropGuard,
    tmp: tempfile::TempDir,
}

impl World {
    async fn start() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let (mut callees, mut trunks) = (vec![], vec![]);
        for (i, hz) in CALLER_HZ.into_iter().enumerate() {
            let wav = tone_wav(tmp.path(), &format!("callee{i}.wav"), hz);
            let account = format!(
                "<sip:+7900000000{i}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=pcmu"
            );
            let p = phone(tmp.path(), &format!("callee{i}"), &account, &wav);
            let from = 40_000 + 2_000 * i as u16;
            let cfg = SipConfig {
                server: format!("127.0.0.1:{}", p.sip_port),
                listen: "127.0.0.1:0".into(),
                rtp_port_min: from,
                rtp_port_max: from + 1_999,
                ..Default::default()
            };
            // An answered INVITE's transaction lives on for Timer M (64×T1, RFC 6026), a task
            // each: T1 = 50 ms ends it after 3.2 s instead of 32 s.
            let t1 = Duration::from_millis(50);
            let trunk = SipTrunk::start_with(cfg, SipTimers { t1 }).await;
            callees.push(p);
            trunks.push(Arc::new(trunk.expect("sip trunk")));
        }
        let agents = Agents::new(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        }));
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(agents.clone().run(stop.clone()));
        let info = AgentInfo {
            id: 1,
            name: "Агент 1".into(),
            projects: None,
            enabled: true,
            always_reachable: false,
            missed_pause_ms: None,
        };
        agents.upsert(info, None);
        // The agent registers to the first trunk's listener.
        let (agents2, trunk) = (agents.clone(), trunks[0].clone());
        let dir = Dir {
            agents: agents2,
            trunk,
        };
        trunks[0].set_directory(Arc::new(dir));
        let wav = tone_wav(tmp.path(), "agent.wav", AGENT_HZ as u32);
        let account = format!(
            "<sip:agent1@127.0.0.1:{}>;auth_pass=pw-agent-1;regint=60;answermode=auto;audio_codecs=pcma",
            trunks[0].local_addr().port()
        );
        let agent = phone(tmp.path(), "agent", &account, &wav);
        let prompts = tmp.path().join("prompts");
        std::fs::create_dir_all(&prompts).unwrap();
        let thanks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/survey/thanks.wav");
        std::fs::copy(thanks, prompts.join("ask.wav")).unwrap();
        let opts = LoadOptions {
            prompts_dir: prompts.clone(),
            speech: None,
        };
        let scenario = load_str(SCENARIO, Format::Toml, "scenario.toml", None, &opts)
            .unwrap_or_else(|p| panic!("{p}"));
        World {
            callees,
            trunks,
            agent,
            agents,
            scenario: Arc::new(scenario),
            cfg: CallConfig {
                prompts_dir: prompts,
                speech: None,
                amd: false,
                greetings: None,
            },
            live: LiveSettings {
                ring_timeout: Duration::from_secs(20),
                ..Default::default()
            },
            _stop: stop.drop_guard(),
            tmp,
        }
    }

    fn agent_state(&self) -> Option<AgentState> {
        self.agents.live(1).map(|l| l.state)
    }

    /// Calls callees `who`, all into project 1's queue with `audio` as the hold audio; waits
    /// until they answered.
    async fn call(
        &self,
        who: &[usize],
        audio: &TransferAudio,
    ) -> (Arc<Log>, Vec<JoinHandle<LiveReport>>) {
        let log = Arc::new(Log::default());
        let calls = who.iter().map(|&i| {
            let (answered, answered_rx) = tokio::sync::oneshot::channel();
            let (bridged, bridged_rx) = tokio::sync::oneshot::channel();
            let settings = TransferSettings {
                wrap_up: WRAP_UP,
                agent_ring: Duration::from_secs(10),
                queue_max_wait: Duration::from_secs(40),
                queue_announce: None,
                audio: audio.clone(),
            };
            let watch = CallWatch {
                on_answer: Some(answered),
                on_transfer_answered: Some(bridged),
                transfer: Some(TransferContext {
                    agents: self.agents.clone(),
                    trunk: None,
                    project: 1,
                    settings,
                    card: Default::default(),
                }),
                ..Default::default()
            };
            let req = DialRequest {
                call_id: format!("queue-{i}-{}", who.len()),
                number: format!("+7900000000{i}"),
                caller_id: None,
            };
            let (trunk, log) = (self.trunks[i].clone(), log.clone());
            let (scenario, cfg, live) =
                (self.scenario.clone(), self.cfg.clone(), self.live.clone());
            tokio::spawn(async move {
                let call = run_call_watched(trunk.as_ref(), req, scenario, cfg, &live, None, watch);
                let (r, _, _) = tokio::join!(
                    call,
                    async {
                        if answered_rx.await.is_ok() {
                            log.answered.lock().unwrap().push(i);
                        }
                    },
                    async {
                        if bridged_rx.await.is_ok() {
                            log.bridged.lock().unwrap().push((i, Instant::now()));
                        }
                    }
                );
                r
            })
        });
        let calls = calls.collect();
        let all = wait_for(Duration::from_secs(10), || {
            log.answered.lock().unwrap().len() == who.len()
        })
        .await;
        assert!(all, "the callees did not answer");
        (log, calls)
    }
}

async fn reports(calls: Vec<JoinHandle<LiveReport>>) -> Vec<LiveReport> {
    let mut out = vec![];
    for c in calls {
        let r = tokio::time::timeout(Duration::from_secs(20), c).await;
        out.push(r.expect("the call ends").expect("the call's task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_wait_for_the_one_agent_hearing_hold_music_and_are_taken_in_order() {
    let w = World::start().await;
    let (agent, callees, agents) = (&w.agent, &w.callees, &w.agents);
    let available = || w.agent_state() == Some(AgentState::Available);
    let registered = wait_for(Duration::from_secs(15), available).await;
    assert!(registered, "baresip did not register:\n{}", log_of(agent));
    let mut agent_seen = BTreeSet::new();
    let mut callee_seen = vec![BTreeSet::new(); callees.len()];
    // Everything exists; no call yet.
    let (fds_before, tasks_before) = (open_fds(), alive_tasks());

    // 1. Two callers, one agent. The hold audio is a 900 Hz tone.
    let hold = common::read_wav(&tone_wav(w.tmp.path(), "hold.wav", HOLD_HZ as u32));
    let tone_hold = TransferAudio {
        connecting: Arc::from(vec![]),
        queue: Arc::from(vec![]),
        hold: hold.into(),
    };
    let (log, calls) = w.call(&[0, 1], &tone_hold).await;
    sleep(Duration::from_millis(500)).await;
    callees[0].command("/sndcode 1");
    let a = log.bridged_within(1).await;
    assert!(a, "A was not bridged:\n{}", log_of(agent));
    sleep(Duration::from_secs(1)).await;
    callees[1].command("/sndcode 1");
    // B waits while the agent talks to A.
    sleep(Duration::from_secs(4)).await;
    assert_eq!(log.bridged(), vec![0], "B must wait for the busy agent");
    let talking = w.agent_state() == Some(AgentState::Talking);
    assert!(talking, "the agent talks to A");
    agent.command("/hangup");
    let a_hung_up = Instant::now();
    let b = log.bridged_within(2).await;
    assert!(b, "B was not connected:\n{}", log_of(agent));
    let after_a = log.bridged_at(1) - a_hung_up;
    sleep(Duration::from_secs(2)).await;
    agent.command("/hangup");
    let r = reports(calls).await;
    let ta = r[0].transfer.clone().expect("A's transfer");
    let tb = r[1].transfer.clone().expect("B's transfer");
    println!(
        "two callers: A waited {} ms and talked {} ms; B waited {} ms, connected {} ms after the \
         agent hung up on A (wrap-up {} ms)",
        ta.queue_ms,
        ta.talk_ms,
        tb.queue_ms,
        after_a.as_millis(),
        WRAP_UP.as_millis()
    );
    assert!(ta.answered && ta.agent_id == Some(1), "{ta:?}");
    assert!(tb.answered && tb.agent_id == Some(1), "{tb:?}");
    assert!(ta.talk_ms >= 4_500, "A talked while B waited: {ta:?}");
    assert!(tb.queue_ms >= 4_500, "B waited for A's call: {tb:?}");
    // The agents' clock counts whole ms: the wrap-up may end up to 1 ms early.
    let wrapped = after_a + Duration::from_millis(2) >= WRAP_UP;
    assert!(
        wrapped,
        "B connected before A's wrap-up ended ({after_a:?})"
    );
    assert!(tb.talk_ms >= 1_500, "{tb:?}");

    // What B heard: the hold tone all the while it waited (the last queue_ms before the agent,
    // less 1 s of slack), then the agent and no hold tone.
    let b = new_recordings(&callees[1], &mut callee_seen[1], 1).await;
    let (waited, after) = around_agent(&b[0], tb.queue_ms.saturating_sub(1_000));
    let held = waited.iter().filter(|w| is(w, HOLD_HZ)).count();
    let held_share = held as f64 / waited.len().max(1) as f64;
    let held_after = after.iter().filter(|w| is(w, HOLD_HZ)).count();
    println!(
        "B's audio: the {HOLD_HZ} Hz hold tone in {held} of the {} windows (200 ms) before the \
         agent ({:.0} %), in {held_after} after",
        waited.len(),
        held_share * 100.0
    );
    let n = waited.len();
    assert!(n >= 15, "B's wait is {n} windows");
    let (hold_ok, none_after) = (held_share > 0.9, held_after <= 1);
    assert!(hold_ok, "B did not hear the hold tone ({held_share:.2})");
    assert!(
        none_after,
        "B heard hold music while bridged ({held_after})"
    );
    // The agent's ear: A, then B.
    let heard: Vec<_> = new_recordings(agent, &mut agent_seen, 2).await;
    let heard: Vec<_> = heard.iter().map(|s| caller_heard(s)).collect();
    assert_eq!(heard, vec![Some(CALLER_HZ[0]), Some(CALLER_HZ[1])]);
    new_recordings(&callees[0], &mut callee_seen[0], 1).await;
    assert_eq!(agents.live(1).map(|l| l.calls_today), Some(2));

    // 2. FIFO: the agent talks to caller 0; callers 1, 2, 3 queue in that order. The bundled
    // audio this time («соединяю», then the hold music).
    let bundled = TransferAudio::bundled().expect("bundled audio");
    let back = wait_for(Duration::from_secs(5), available).await;
    assert!(back, "the agent is available again");
    let (log, calls) = w.call(&[0, 1, 2, 3], &bundled).await;
    sleep(Duration::from_millis(500)).await;
    callees[0].command("/sndcode 1");
    assert!(log.bridged_within(1).await, "caller 0 was not bridged");
    for c in &callees[1..] {
        sleep(Duration::from_millis(700)).await;
        c.command("/sndcode 1");
    }
    sleep(Duration::from_secs(2)).await;
    assert_eq!(log.bridged(), vec![0], "the queue waits for the busy agent");
    for n in 2..=4 {
        agent.command("/hangup");
        let (next, took) = (log.bridged_within(n).await, log.bridged());
        assert!(next, "the agent took {took:?}:\n{}", log_of(agent));
        sleep(Duration::from_millis(1_500)).await;
    }
    agent.command("/hangup");
    let r = reports(calls).await;
    let waits = r
        .iter()
        .map(|r| r.transfer.as_ref().map_or(0, |t| t.queue_ms));
    let waits: Vec<u64> = waits.collect();
    let order = log.bridged();
    println!("FIFO: bridged in the order {order:?}; queue waits {waits:?} ms");
    assert_eq!(order, vec![0, 1, 2, 3], "first come, first served");
    for (i, r) in r.iter().enumerate() {
        let t = r.transfer.as_ref().expect("a transfer");
        assert!(t.answered && t.agent_id == Some(1), "caller {i}: {t:?}");
    }
    let longer = waits[1] < waits[2] && waits[2] < waits[3];
    assert!(longer, "later callers wait longer: {waits:?}");
    let heard: Vec<_> = new_recordings(agent, &mut agent_seen, 4).await;
    let heard: Vec<_> = heard.iter().map(|s| caller_heard(s)).collect();
    let in_order = CALLER_HZ.map(Some).to_vec();
    assert_eq!(heard, in_order, "the agent heard them in order");
    assert_eq!(agents.live(1).map(|l| l.calls_today), Some(6));
    // The waiting callers heard the bundled music: sound all the while after «соединяю» (2 s)
    // until the agent answered, and a piece of it is found in hold.wav (µ-law end to end, so
    // sample for sample).
    let looped = [&bundled.hold[..], &bundled.hold[..]].concat();
    for i in 1..4 {
        let s = new_recordings(&callees[i], &mut callee_seen[i], 1).await;
        let (waited, _) = around_agent(&s[0], waits[i].saturating_sub(2_700));
        // Not silent (`share` is `None` for silence), not the agent.
        let sound = waited
            .iter()
            .filter(|w| share(w, 0.0).is_some() && !is(w, AGENT_HZ));
        let (sound, n) = (sound.count(), waited.len());
        let corr = common::best_correlation(&looped, &waited[n / 2][..400]);
        println!(
            "caller {i}: waited {} ms; music in {sound} of {n} windows before the agent, a \
             piece of it matches hold.wav at {corr:.3}",
            waits[i]
        );
        assert!(n >= 5, "caller {i}'s wait: {n} windows");
        let music = sound as f64 >= 0.95 * n as f64;
        assert!(music, "caller {i} heard silence ({sound}/{n})");
        assert!(corr > 0.95, "caller {i} did not hear hold.wav ({corr:.3})");
    }

    // Nothing left behind.
    let idle = wait_for(Duration::from_secs(8), || {
        w.trunks.iter().all(|t| t.dialogs() == 0)
            && open_fds() <= fds_before
            && alive_tasks() <= tasks_before
    })
    .await;
    let dialogs: Vec<usize> = w.trunks.iter().map(|t| t.dialogs()).collect();
    let (fds_after, tasks_after) = (open_fds(), alive_tasks());
    println!(
        "leaks: dialogs {dialogs:?}; open fds {fds_before} before the calls, {fds_after} after; \
         tokio tasks {tasks_before} before, {tasks_after} after"
    );
    assert!(idle, "something was left behind");
}
