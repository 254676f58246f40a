//! The SIP trunk against real peers from Debian, on 127.0.0.1 with free ports: sipp callee
//! scenarios (tests/peers/sipp), Kamailio as a trunk that demands 407 digest, and baresip as a
//! real phone. Each test asserts the robot's result, the keys it heard, the peer's own verdict
//! (sipp exits 0 only when the call followed its scenario), that no dialog is left behind, and,
//! for answered calls, that the recording holds what the peer sent.
mod common;
use autoinformer::call::live::{run_call, LiveReport, LiveSettings};
use autoinformer::call::{CallConfig, EndedBy};
use autoinformer::config::SipConfig;
use autoinformer::media::g711;
use autoinformer::scenario::{load_file, LoadOptions};
use autoinformer::telephony::sip::{SipTimers, SipTrunk};
use autoinformer::telephony::trunk::DialRequest;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A peer process, killed when the test ends whatever happens.
struct Peer {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Peer {
    /// Waits for the peer to exit by itself.
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn assert_succeeded(&mut self) {
        let s = self.wait(Duration::from_secs(20));
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(
            s.is_some_and(|s| s.success()),
            "{} did not follow its scenario ({s:?}); its log:\n{}",
            self.name,
            &log[log.len().saturating_sub(3000)..]
        );
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Peers run in their own process group (Kamailio forks workers): end the whole group.
        let _ = Command::new("kill")
            .args(["-KILL", "--"])
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A peer command in its own process group, so `Peer`'s drop can end all its processes.
fn peer_command(program: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(program);
    c.process_group(0);
    c
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn free_ports(n: usize) -> Vec<u16> {
    // Hold them all before releasing, so they differ.
    let socks: Vec<std::net::UdpSocket> = (0..n)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().expect("addr").port())
        .collect()
}

/// The peers' audio, generated once per test run by tests/peers/make_audio.sh.
fn audio() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("autoinformer-peers-{}", std::process::id()));
        let ok = Command::new("sh")
            .arg(root().join("tests/peers/make_audio.sh"))
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "tests/peers/make_audio.sh failed (espeak-ng and sox: scripts/setup.sh --test)"
        );
        dir
    })
}

fn sipp_callee(scenario: &str, port: u16, media_port: u16) -> Peer {
    sipp_callee_on(scenario, port, media_port, "u1")
}

/// `transport`: sipp's `-t` (`u1` UDP, `t1` TCP).
fn sipp_callee_on(scenario: &str, port: u16, media_port: u16, transport: &str) -> Peer {
    let log = audio().join(format!("sipp-{scenario}-{port}.log"));
    let err = std::fs::File::create(&log).expect("log");
    let child = peer_command("sipp")
        .current_dir(audio())
        .arg("-sf")
        .arg(root().join(format!("tests/peers/sipp/{scenario}.xml")))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
        .args(["-m", "1", "-timeout", "60s", "-nostdin", "-t", transport])
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("sipp is installed by scripts/setup.sh --test");
    std::thread::sleep(Duration::from_millis(300));
    Peer {
        child,
        name: format!("sipp {scenario}"),
        log,
    }
}

/// A short DTMF scenario: one prompt (2.9 s), keys for 6 s, "1" → "Один".
fn scenario_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(
        root().join("examples/survey/thanks.wav"),
        dir.path().join("ask.wav"),
    )
    .expect("prompt");
    std::fs::write(
        dir.path().join("scenario.toml"),
        r#"
name = "Проверка"
results = ["Один"]
start = "ask"

[steps.ask]
play = ["ask.wav"]
listen = { dtmf = true, wait_s = 6 }
barge_in = true

[[steps.ask.on]]
dtmf = "1"
result = "Один"
"#,
    )
    .expect("scenario");
    dir
}

async fn robot(server: u16, tweak: impl FnOnce(&mut SipConfig)) -> SipTrunk {
    let mut cfg = SipConfig {
        server: format!("127.0.0.1:{server}"),
        listen: "127.0.0.1:0".into(),
        rtp_port_min: 32_000,
        rtp_port_max: 39_999,
        ..Default::default()
    };
    tweak(&mut cfg);
    SipTrunk::start(cfg).await.expect("sip trunk")
}

async fn call(trunk: &SipTrunk, number: &str, ring_timeout_s: u64, rec: &Path) -> LiveReport {
    let dir = scenario_dir();
    let prompts_dir = root().join("prompts");
    let opts = LoadOptions {
        prompts_dir: prompts_dir.clone(),
        speech: None,
    };
    let scenario =
        load_file(&dir.path().join("scenario.toml"), &opts).unwrap_or_else(|p| panic!("{p}"));
    let cfg = CallConfig {
        prompts_dir,
        speech: None,
        amd: true,
        greetings: None,
    };
    let settings = LiveSettings {
        ring_timeout: Duration::from_secs(ring_timeout_s),
        recordings: Some(rec.to_path_buf()),
        ..Default::default()
    };
    let req = DialRequest {
        call_id: format!("sip{}", free_port()),
        number: number.into(),
        caller_id: None,
    };
    let r = run_call(trunk, req, Arc::new(scenario), cfg, &settings, None).await;
    // Every dialog is gone once the call is over (give the BYE/ACK a moment).
    let t = Instant::now();
    while trunk.dialogs() > 0 && t.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(trunk.dialogs(), 0, "dialogs left behind");
    r
}

/// The callee channel of the recording holds what the peer streamed (µ-law file).
fn assert_recording_holds(r: &LiveReport, ul_file: &str) {
    assert_recording_holds_part(r, ul_file, None)
}

/// As above, for `range` of the peer's samples (default: its loudest 0.3 s).
fn assert_recording_holds_part(
    r: &LiveReport,
    ul_file: &str,
    range: Option<std::ops::Range<usize>>,
) {
    let path = r.recording.as_ref().expect("a recording");
    let (left, _right) = split_stereo(&read_wav(Path::new(path)));
    let bytes = std::fs::read(audio().join(ul_file)).expect("peer audio");
    let mut sent = vec![0i16; bytes.len()];
    g711::decode_ulaw(&bytes, &mut sent);
    let needle = match range {
        Some(r) => &sent[r],
        None => loud_part(&sent, 2_400),
    };
    let c = best_correlation(&left, needle);
    assert!(c > 0.95, "recording vs what the peer sent: correlation {c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_answers_and_speaks_then_the_robot_hangs_up() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("answer_play", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "not_listened", "{r:?}");
    assert_eq!((r.sip_status, r.answered), (Some(200), true));
    assert_eq!(r.outcome.ended_by, EndedBy::Robot);
    assert_eq!(
        r.outcome.amd.verdict,
        autoinformer::media::amd::Verdict::Human
    );
    assert_recording_holds(&r, "callee.ul");
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_answers_and_sends_no_audio_is_a_media_failure_not_a_person() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("answer_no_media", port, mport);
    let t = robot(port, |_| {}).await;
    let started = Instant::now();
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    assert_eq!(r.reason.as_deref(), Some("no audio from the callee"));
    assert_eq!((r.sip_status, r.answered), (Some(200), true));
    // 0.5 s of ringing, 5 s of silence from the far end, then BYE (not the 25 s of a scenario).
    let took = started.elapsed();
    assert!(
        took > Duration::from_secs(5) && took < Duration::from_secs(9),
        "{took:?}"
    );
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_hangs_up_first_and_the_robot_answers_its_bye() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("answer_play_hangup", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "not_listened", "{r:?}");
    assert_eq!(r.outcome.ended_by, EndedBy::Callee);
    assert!(
        (3_500..6_000).contains(&r.outcome.duration_ms),
        "{}",
        r.outcome.duration_ms
    );
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_presses_1_by_rfc4733_from_the_shipped_pcap() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("press1_rfc4733", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "Один", "{r:?}");
    assert_eq!(digits(&r), "1");
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_presses_1_as_an_in_band_tone() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("press1_inband", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "Один", "{r:?}");
    assert_eq!(digits(&r), "1");
    // The robot hangs up as soon as it hears the key: the tone's first 40 ms are recorded.
    assert_recording_holds_part(&r, "dtmf1.ul", Some(2_400..2_720));
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_failures_map_to_busy_rejected_and_system() {
    let rec = tempfile::tempdir().unwrap();
    for (scenario, result, status) in [
        ("busy486", "busy", 486),
        ("decline603", "rejected", 603),
        ("notfound404", "system", 404),
    ] {
        let [port, mport] = free_ports(2)[..] else {
            unreachable!()
        };
        let mut peer = sipp_callee(scenario, port, mport);
        let t = robot(port, |_| {}).await;
        let r = call(&t, "+79001234567", 30, rec.path()).await;
        assert_eq!(r.outcome.result, result, "{scenario}: {r:?}");
        assert_eq!(r.sip_status, Some(status), "{scenario}");
        assert!(!r.answered && r.recording.is_none());
        peer.assert_succeeded();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_never_answers_is_cancelled_at_the_ring_timeout() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("no_answer", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 3, rec.path()).await;
    assert_eq!(r.outcome.result, "no_answer", "{r:?}");
    assert_eq!(r.sip_status, Some(487));
    assert!((3_000..4_500).contains(&r.ring_ms), "{}", r.ring_ms);
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sit_in_early_media_gives_system_before_the_failure_arrives() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("early_sit", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    // The SIT ends ~1 s into the early media; the peer would send 480 only after 8 s.
    assert!(r.ring_ms < 4_000, "gave up after {} ms", r.ring_ms);
    assert_eq!(r.sip_status, Some(487), "the robot cancelled");
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_401_is_answered_with_the_configured_credentials() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("auth401", port, mport);
    let t = robot(port, |c| {
        c.username = "robot".into();
        c.password = "secret".into();
    })
    .await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!((r.sip_status, r.answered), (Some(200), true), "{r:?}");
    assert_recording_holds(&r, "callee.ul");
    peer.assert_succeeded();

    // Wrong password: the trunk's 403 is a system failure, not a hang.
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let _peer = sipp_callee("auth401", port, mport);
    let t = robot(port, |c| {
        c.username = "robot".into();
        c.password = "wrong".into();
    })
    .await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("system", Some(403)),
        "{r:?}"
    );
}

fn kamailio(proxy_port: u16, callee_port: u16) -> Peer {
    let dir = audio().join(format!("kamailio-{proxy_port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = std::fs::read_to_string(root().join("tests/peers/kamailio.cfg.in"))
        .expect("kamailio template")
        .replace("@PROXY_PORT@", &proxy_port.to_string())
        .replace("@CALLEE_PORT@", &callee_port.to_string());
    let path = dir.join("kamailio.cfg");
    std::fs::write(&path, cfg).expect("write cfg");
    let log = dir.join("kamailio.log");
    let child = peer_command("kamailio")
        .arg("-f")
        .arg(&path)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-w"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("kamailio is installed by scripts/setup.sh --test");
    std::thread::sleep(Duration::from_millis(800));
    Peer {
        child,
        name: "kamailio".into(),
        log,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kamailio_as_the_trunk_demands_407_and_relays_to_the_callee() {
    let rec = tempfile::tempdir().unwrap();
    let [proxy, port, mport] = free_ports(3)[..] else {
        unreachable!()
    };
    let _k = kamailio(proxy, port);
    let mut peer = sipp_callee("answer_play_hangup", port, mport);
    let t = robot(proxy, |c| {
        c.username = "robot".into();
        c.password = "secret".into();
        c.domain = "trunk.test".into();
    })
    .await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!((r.sip_status, r.answered), (Some(200), true), "{r:?}");
    assert_eq!(
        r.outcome.ended_by,
        EndedBy::Callee,
        "the callee's BYE came through the proxy"
    );
    assert_recording_holds(&r, "callee.ul");
    peer.assert_succeeded();

    // The same trunk as an outbound proxy: the request URI names the carrier's domain
    // (not resolvable here), the packets go to the proxy.
    let mut peer = sipp_callee("answer_play_hangup", port, mport);
    let t = robot(proxy, |c| {
        c.server = "trunk.test".into();
        c.outbound_proxy = format!("127.0.0.1:{proxy}");
        c.username = "robot".into();
        c.password = "secret".into();
    })
    .await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!((r.sip_status, r.answered), (Some(200), true), "{r:?}");
    peer.assert_succeeded();

    // Without credentials the 407 is final: a system failure.
    let t = robot(proxy, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("system", Some(407)),
        "{r:?}"
    );
}

/// baresip as a real phone: auto or manual answer, controlled over its console port.
struct Baresip {
    peer: Peer,
    sip_port: u16,
    cons_port: u16,
}

fn baresip(answermode: &str) -> Baresip {
    let [sip_port, cons_port, ctrl_port] = loop {
        let p = free_ports(3);
        // baresip also binds TLS on SIP+1: keep the others off it.
        if p[1] != p[0] + 1 && p[2] != p[0] + 1 {
            break [p[0], p[1], p[2]];
        }
    };
    let dir = audio().join(format!("baresip-{sip_port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let fill = |t: &str| {
        t.replace("@SIP_PORT@", &sip_port.to_string())
            .replace("@CONS_PORT@", &cons_port.to_string())
            .replace("@CTRL_PORT@", &ctrl_port.to_string())
            .replace("@WAV@", &audio().join("callee.wav").display().to_string())
            .replace("@ANSWERMODE@", answermode)
            // The phone's own number is what the robot dials.
            .replace("sip:callee@", "sip:+79001234567@")
    };
    for (tpl, out) in [("config.in", "config"), ("accounts.in", "accounts")] {
        let t = std::fs::read_to_string(root().join("tests/peers/baresip").join(tpl))
            .expect("baresip template");
        std::fs::write(dir.join(out), fill(&t)).expect("write");
    }
    let log = dir.join("baresip.log");
    let child = peer_command("baresip")
        .arg("-f")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip is installed by scripts/setup.sh --test");
    std::thread::sleep(Duration::from_millis(1200));
    Baresip {
        peer: Peer {
            child,
            name: "baresip".into(),
            log,
        },
        sip_port,
        cons_port,
    }
}

impl Baresip {
    fn command(&self, cmd: &str) {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.send_to(format!("{cmd}\n").as_bytes(), ("127.0.0.1", self.cons_port))
            .expect("send to baresip");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_answers_plays_a_wav_and_sends_1_by_sndcode() {
    let rec = tempfile::tempdir().unwrap();
    let phone = baresip("auto");
    let t = robot(phone.sip_port, |_| {}).await;
    let press = async {
        // After the greeting, while the robot speaks.
        tokio::time::sleep(Duration::from_millis(4_500)).await;
        phone.command("/sndcode 1");
    };
    let (r, ()) = tokio::join!(call(&t, "+79001234567", 30, rec.path()), press);
    assert_eq!(r.outcome.result, "Один", "{r:?}");
    assert_eq!(digits(&r), "1");
    assert_recording_holds(&r, "callee.ul");
    drop(phone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_rejecting_is_busy_and_ignoring_is_no_answer() {
    let rec = tempfile::tempdir().unwrap();
    let phone = baresip("manual");
    let t = robot(phone.sip_port, |_| {}).await;
    let reject = async {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        phone.command("/hangup");
    };
    let (r, ()) = tokio::join!(call(&t, "+79001234567", 30, rec.path()), reject);
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("busy", Some(486)),
        "{r:?}"
    );

    let r = call(&t, "+79001234567", 3, rec.path()).await;
    assert_eq!(
        (r.outcome.result.as_str(), r.sip_status),
        ("no_answer", Some(487)),
        "{r:?}"
    );
    let _ = &phone.peer;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_with_no_common_codec_is_a_system_failure_ended_with_bye() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("bad_sdp", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    let reason = r.reason.clone().unwrap_or_default();
    assert!(reason.contains("no common codec"), "{reason}");
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_that_never_responds_is_a_system_failure_not_a_hang() {
    let [port] = free_ports(1)[..] else {
        unreachable!()
    };
    let t = robot(port, |_| {}).await;
    let rec = tempfile::tempdir().unwrap();
    let dir = scenario_dir();
    let opts = LoadOptions {
        prompts_dir: root().join("prompts"),
        speech: None,
    };
    let scenario =
        load_file(&dir.path().join("scenario.toml"), &opts).unwrap_or_else(|p| panic!("{p}"));
    let settings = LiveSettings {
        ring_timeout: Duration::from_secs(2),
        hangup_grace: Duration::from_secs(2),
        recordings: Some(rec.path().to_path_buf()),
        ..Default::default()
    };
    let cfg = CallConfig {
        prompts_dir: root().join("prompts"),
        speech: None,
        amd: true,
        greetings: None,
    };
    let started = Instant::now();
    let req = DialRequest {
        call_id: "silent-trunk".into(),
        number: "+79001234567".into(),
        caller_id: None,
    };
    let r = run_call(&t, req, Arc::new(scenario), cfg, &settings, None).await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    assert!(
        r.reason.as_deref().unwrap_or("").contains("no response"),
        "{r:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_host_that_never_answers_the_invite_is_system_not_a_carriers_408() {
    // Someone holds the port and never replies (no ICMP either): the INVITE is retransmitted
    // until Timer B (64×T1; T1 = 20 ms here, so 1.3 s instead of 32 s). The ring timeout is
    // longer, so the SIP stack's own timeout ends the call, not our CANCEL.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let cfg = SipConfig {
        server: format!("127.0.0.1:{port}"),
        listen: "127.0.0.1:0".into(),
        rtp_port_min: 32_000,
        rtp_port_max: 39_999,
        ..Default::default()
    };
    let timers = SipTimers {
        t1: Duration::from_millis(20),
    };
    let t = SipTrunk::start_with(cfg, timers).await.expect("sip trunk");
    let rec = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "system", "{r:?}");
    assert_eq!(r.sip_status, None, "no status came from the far end: {r:?}");
    assert!(
        r.reason
            .as_deref()
            .unwrap_or("")
            .contains("no response from the trunk"),
        "{r:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended by Timer B, not the ring timeout: {:?}",
        started.elapsed()
    );
    // The INVITE did reach the socket (and was retransmitted).
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    let mut invites = 0;
    while let Ok(n) = silent.recv(&mut buf) {
        invites += usize::from(buf[..n].starts_with(b"INVITE "));
    }
    assert!(invites >= 2, "{invites} INVITEs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_408_sent_by_the_far_end_is_still_no_answer() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport] = free_ports(2)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("timeout408", port, mport);
    let t = robot(port, |_| {}).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!(r.outcome.result, "no_answer", "{r:?}");
    assert_eq!(r.sip_status, Some(408), "{r:?}");
    assert!(!r.answered && r.recording.is_none());
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_foreign_rtp_during_a_call_change_nothing() {
    let rec = tempfile::tempdir().unwrap();
    let [port, mport, rtp] = free_ports(3)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee("answer_play", port, mport);
    let t = robot(port, |c| {
        c.rtp_port_min = rtp;
        c.rtp_port_max = rtp;
    })
    .await;
    // The robot's RTP port is `rtp` (if odd, the pool rounds up: cover both).
    let spray = tokio::spawn(async move {
        let s = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut rng = 0x1234_5678u32;
        for i in 0..400u32 {
            let mut junk = [0u8; 172];
            for b in junk.iter_mut() {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                *b = rng as u8;
            }
            // Every other datagram is well-formed RTP (PCMU, loud) from a stranger.
            if i % 2 == 0 {
                junk[0] = 0x80;
                junk[1] = 0;
            }
            let n = (rng as usize % 172).max(1);
            for p in [rtp, rtp + 1] {
                let _ = s
                    .send_to(&junk[..if i % 2 == 0 { 172 } else { n }], ("127.0.0.1", p))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    spray.abort();
    assert_eq!(r.outcome.result, "not_listened", "{r:?}");
    assert_eq!(
        r.outcome.amd.verdict,
        autoinformer::media::amd::Verdict::Human
    );
    assert_recording_holds(&r, "callee.ul");
    peer.assert_succeeded();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_over_tcp_places_and_ends_a_call() {
    let rec = tempfile::tempdir().unwrap();
    let port = loop {
        // A port free for TCP as well as UDP.
        let p = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    };
    let [mport] = free_ports(1)[..] else {
        unreachable!()
    };
    let mut peer = sipp_callee_on("answer_play_hangup", port, mport, "t1");
    let t = robot(port, |c| c.transport = "tcp".into()).await;
    let r = call(&t, "+79001234567", 30, rec.path()).await;
    assert_eq!((r.sip_status, r.answered), (Some(200), true), "{r:?}");
    assert_eq!(r.outcome.ended_by, EndedBy::Callee);
    assert_recording_holds(&r, "callee.ul");
    peer.assert_succeeded();
}
