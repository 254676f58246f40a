//! The delay and jitter the robot's bridge adds to audio, each way, measured on the wire (issue:
//! "a bridge adds ≤ 20 ms of delay each way and no jitter beyond one frame").
//!
//! Each bridge is the real transfer code (`call::transfer::run`, queue → agent answers →
//! packet-by-packet relay) between two "phones": UDP sockets on 127.0.0.1 that send G.711 RTP
//! every 20 ms to the robot's sockets, both directions at once, and note when each packet left
//! and when the other phone got it. Every payload carries its index in a few samples whose
//! levels survive the robot's decode → re-encode (checked at start for µ-law and A-law), so
//! each packet received is matched to the one sent. Printed per direction: delay (received by
//! the far phone − sent by the near phone) p50/p99/max; the jitter the bridge adds as the
//! spread of the delays (p99 − p1, and max − min); the inter-arrival deviation (|Δ arrival −
//! Δ send| of consecutive packets: the change to the sender's 20 ms spacing); packets lost.
//! PASS when the p99 delay is ≤ 20 ms each way and the spread (p99 − p1) is ≤ one 20 ms frame.
//!
//! Cases: 1 bridge and N bridges at once (`BRIDGES=N`, default 50), each µ-law on both legs
//! and callee µ-law / agent A-law (transcoded). `PACKETS=n` per direction (default 500: 10 s).
//! The robot runs on its own 2-worker runtime, the phones on a 1-worker runtime; on a 2-core
//! machine the phones' wake-ups share the cores, so the figures include some phone-side delay.
//! Run: `cargo bench --bench bridge_delay`.
use autoinformer::agents::pool::AgentInfo;
use autoinformer::agents::service::{AgentDial, AgentLine, Agents};
use autoinformer::call::transfer::{
    run, CallerLeg, Target, TransferAudio, TransferContext, TransferSettings,
};
use autoinformer::media::{g711, Frame, FRAME_SAMPLES};
use autoinformer::telephony::rtp::{self, SequenceNumber, Ssrc};
use autoinformer::telephony::sdp::{Codec, MediaAnswer};
use autoinformer::telephony::session::MediaSession;
use autoinformer::telephony::trunk::{
    EndInfo, EndedSide, Leg, LegEvent, MediaTransport, TrunkError,
};
use autoinformer::BoxFuture;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

const FRAME: Duration = Duration::from_millis(20);
const TARGET_MS: f64 = 20.0;
/// Samples carrying the marker, then the index (hex digits), at the start of every frame.
const MARK: [u8; 6] = [15, 0, 15, 0, 3, 12];
const DIGITS: usize = 4;
/// How far a received sample may be from its level (levels are 1200 apart).
const TOLERANCE: i32 = 500;

fn level(d: u8) -> i16 {
    -9000 + 1200 * i16::from(d)
}

fn encode(c: Codec, s: i16) -> u8 {
    match c {
        Codec::Pcmu => g711::linear_to_ulaw(s),
        Codec::Pcma => g711::linear_to_alaw(s),
    }
}

fn decode(c: Codec, b: u8) -> i16 {
    match c {
        Codec::Pcmu => g711::ulaw_to_linear(b),
        Codec::Pcma => g711::alaw_to_linear(b),
    }
}

fn digit(v: i16) -> Option<u8> {
    (0..16u8).find(|&d| (i32::from(v) - i32::from(level(d))).abs() <= TOLERANCE)
}

/// The frame a phone sends as packet `idx`: marker, index, then a tone.
fn frame_for(idx: u16) -> Frame {
    let mut f: Frame = std::array::from_fn(|k| (2000.0 * (k as f64 * 0.47).sin()) as i16);
    for (k, &d) in MARK.iter().enumerate() {
        f[k] = level(d);
    }
    for k in 0..DIGITS {
        f[MARK.len() + k] = level(((idx >> (4 * (DIGITS - 1 - k))) & 0xf) as u8);
    }
    f
}

/// The index a received payload carries, if it is one of ours (not hold music).
fn index_of(c: Codec, payload: &[u8]) -> Option<u16> {
    let mut it = payload.iter().map(|&b| digit(decode(c, b)));
    for &m in &MARK {
        if it.next()?? != m {
            return None;
        }
    }
    (0..DIGITS).try_fold(0u16, |acc, _| Some((acc << 4) | u16::from(it.next()??)))
}

/// Every level survives sender encode → robot decode → robot encode → receiver decode.
fn check_levels() {
    for from in [Codec::Pcmu, Codec::Pcma] {
        for to in [Codec::Pcmu, Codec::Pcma] {
            for d in 0..16 {
                let v = decode(to, encode(to, decode(from, encode(from, level(d)))));
                assert_eq!(digit(v), Some(d), "level {d} {from:?}→{to:?} became {v}");
            }
        }
    }
}

fn answer(at: SocketAddr, codec: Codec) -> MediaAnswer {
    MediaAnswer {
        addr: at.ip(),
        port: at.port(),
        codec,
        codec_pt: codec.payload_type(),
        event_pt: Some(101),
    }
}

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("a UDP socket")
}

/// What a phone saw: when each of its packets left, when each of the other side's arrived, and
/// how many other packets (not the other phone's) reached it after it started.
struct PhoneLog {
    sent: Vec<Instant>,
    got: Vec<Option<Instant>>,
    stray: usize,
}

/// A phone: once told where the robot is and when to start, sends `packets` frames 20 ms apart
/// and notes what it receives until shortly after the last one should have arrived.
async fn phone(
    sock: Arc<UdpSocket>,
    codec: Codec,
    ssrc: u32,
    go: oneshot::Receiver<(SocketAddr, tokio::time::Instant)>,
    packets: usize,
) -> PhoneLog {
    let (to, start) = go.await.expect("the phone is told to start");
    let pt = codec.payload_type();
    let deadline = start + FRAME * packets as u32 + Duration::from_secs(1);
    let send = async {
        let mut sent = Vec::with_capacity(packets);
        let mut tick = tokio::time::interval_at(start, FRAME);
        let (mut payload, mut pkt) = ([0u8; FRAME_SAMPLES], [0u8; 12 + FRAME_SAMPLES]);
        for idx in 0..packets {
            tick.tick().await;
            let f = frame_for(idx as u16);
            for (b, &s) in payload.iter_mut().zip(f.iter()) {
                *b = encode(codec, s);
            }
            let (seq, ts) = (SequenceNumber(idx as u16), (idx * FRAME_SAMPLES) as u32);
            let n = rtp::write(&mut pkt, false, pt, seq, ts, Ssrc(ssrc), &payload)
                .expect("an RTP packet fits");
            sent.push(Instant::now());
            sock.send_to(&pkt[..n], to).await.expect("the phone sends");
        }
        sent
    };
    let recv = async {
        let (mut got, mut stray) = (vec![None; packets], 0);
        let mut buf = [0u8; 2048];
        while let Ok(r) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
            let (n, _) = match r {
                Ok(r) => r,
                // An ICMP "port unreachable" from an earlier send: not fatal for RTP.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => panic!("the phone receives: {e}"),
            };
            let at = Instant::now();
            let p = rtp::parse(&buf[..n]).ok().filter(|p| p.payload_type == pt);
            match p.and_then(|p| index_of(codec, p.payload)) {
                Some(i) => _ = got.get_mut(usize::from(i)).map(|g| g.get_or_insert(at)),
                None => stray += usize::from(at >= start.into_std()),
            }
        }
        (got, stray)
    };
    let (sent, (got, stray)) = tokio::join!(send, recv);
    PhoneLog { sent, got, stray }
}

/// What the bridge's driver learns once the agent is dialed: the robot's address on the agent's
/// leg and the leg's event channel (to hang the agent up).
type Dialed = (SocketAddr, mpsc::UnboundedSender<LegEvent>);
/// An agent phone waiting for its call: its address, its codec, where to tell the driver.
type Slot = (SocketAddr, Codec, oneshot::Sender<Dialed>);

/// Reaches the agent phones: the leg for call `X-aN` goes to call `X`'s agent phone, which rings
/// and answers at once.
#[derive(Default)]
struct PhoneLine {
    slots: Mutex<HashMap<String, Slot>>,
}

impl AgentLine for PhoneLine {
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        let call = req.call_id.rsplit_once("-a").map_or("", |(c, _)| c);
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(call);
        let call = call.to_string();
        Box::pin(async move {
            let (phone, codec, tell) =
                slot.ok_or_else(|| TrunkError::Other(format!("no agent phone for {call}")))?;
            let other = |e: std::io::Error| TrunkError::Other(e.to_string());
            let sock = UdpSocket::bind("127.0.0.1:0").await.map_err(other)?;
            let robot = sock.local_addr().map_err(other)?;
            let (events, rx) = mpsc::unbounded_channel();
            let (control, _) = mpsc::unbounded_channel();
            let media = LegEvent::Media(answer(phone, codec));
            for ev in [LegEvent::Ringing, media, LegEvent::Answered] {
                let _ = events.send(ev);
            }
            let _ = tell.send((robot, events));
            let media = MediaTransport::Udp(sock);
            Ok(Leg {
                events: rx,
                control,
                media,
            })
        })
    }
}

/// One call through the real transfer between a callee phone and an agent phone (dialed through
/// the `PhoneLine`): once bridged it tells `ready`, waits for the common `start`, lets both
/// phones talk from their own phase of the frame, then the agent hangs up. Returns the callee
/// phone's log and the agent phone's.
async fn call(
    i: usize,
    (cx, line): (TransferContext, Arc<PhoneLine>),
    (callee, agent): (Codec, Codec),
    (packets, phase): (usize, Duration),
    phones: tokio::runtime::Handle,
    ready: mpsc::UnboundedSender<()>,
    mut start: watch::Receiver<Option<tokio::time::Instant>>,
) -> (PhoneLog, PhoneLog) {
    let (callee_phone, agent_phone) = phones
        .spawn(async { (Arc::new(bind().await), Arc::new(bind().await)) })
        .await
        .expect("the phones' sockets");
    let callee_at = callee_phone.local_addr().expect("callee phone address");
    let agent_at = agent_phone.local_addr().expect("agent phone address");
    let (callee_go, go) = oneshot::channel();
    let callee_phone = phones.spawn(phone(callee_phone, callee, 1000 + i as u32, go, packets));
    let (agent_go, go) = oneshot::channel();
    let agent_phone = phones.spawn(phone(agent_phone, agent, 5000 + i as u32, go, packets));
    let id = format!("bridge{i}");
    let (tell, dialed) = oneshot::channel();
    let slot = (agent_at, agent, tell);
    (line.slots.lock().unwrap_or_else(|e| e.into_inner())).insert(id.clone(), slot);

    let sock = bind().await;
    let caller_side = sock.local_addr().expect("local address");
    let (events_tx, events) = mpsc::unbounded_channel();
    let (control, _control_rx) = mpsc::unbounded_channel();
    let media = MediaTransport::Udp(sock);
    let mut leg = Leg {
        events,
        control,
        media,
    };
    let mut session = MediaSession::new(&answer(callee_at, callee), Ssrc(i as u32), 100, 0);
    let (mut tick, mut recording) = (tokio::time::interval(FRAME), None);
    let (answered_tx, answered) = oneshot::channel();
    let caller = CallerLeg {
        leg: &mut leg,
        session: &mut session,
        tick: &mut tick,
        recording: &mut recording,
        hard_stop: tokio::time::Instant::now() + Duration::from_secs(3600),
    };
    let on_answer = Some(answered_tx);
    let transfer = run(&cx, Target::Agents, caller, &id, "", vec![], on_answer);
    let talk = async move {
        let (agent_side, agent_events) = dialed.await.expect("the agent is dialed");
        answered.await.expect("the agent answers");
        let _ = ready.send(());
        let t0 = *start.wait_for(Option::is_some).await.expect("a start");
        let t0 = t0.expect("a start time") + phase;
        let _ = callee_go.send((caller_side, t0));
        let _ = agent_go.send((agent_side, t0 + FRAME / 2));
        let c = callee_phone.await.expect("the callee phone's task");
        let a = agent_phone.await.expect("the agent phone's task");
        let (by, detail) = (EndedSide::Remote, "bench over".to_string());
        let sip_status = Some(200);
        let _ = agent_events.send(LegEvent::Ended(EndInfo {
            sip_status,
            by,
            detail,
        }));
        (c, a)
    };
    let (end, logs) = tokio::join!(transfer, talk);
    assert!(end.report.answered, "the bridge was up");
    drop(events_tx);
    logs
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One direction's figures; returns (p99 delay, p99−p1 spread).
fn direction(label: &str, pairs: &[(&PhoneLog, &PhoneLog)]) -> (f64, f64) {
    let (mut delay, mut dev, mut spacing) = (vec![], vec![], vec![]);
    let (mut lost, mut total, mut late, mut stray) = (0, 0, 0, 0);
    for (from, to) in pairs {
        let mut prev: Option<(Instant, Instant)> = None;
        total += from.sent.len();
        stray += to.stray;
        for (k, (&sent, got)) in from.sent.iter().zip(&to.got).enumerate() {
            if k > 0 {
                spacing.push((ms(sent - from.sent[k - 1]) - ms(FRAME)).abs());
            }
            let Some(got) = *got else {
                lost += 1;
                prev = None;
                continue;
            };
            let d = ms(got.saturating_duration_since(sent));
            delay.push(d);
            late += usize::from(d >= 10.0);
            if let Some((ps, pg)) = prev {
                dev.push((ms(got.saturating_duration_since(pg)) - ms(sent - ps)).abs());
            }
            prev = Some((sent, got));
        }
    }
    for v in [&mut delay, &mut dev, &mut spacing] {
        v.sort_by(f64::total_cmp);
    }
    let (p1, p99) = (pct(&delay, 0.01), pct(&delay, 0.99));
    let (min, max) = (pct(&delay, 0.0), pct(&delay, 1.0));
    println!(
        "  {label}: delay p50 {:.2} ms p99 {p99:.2} ms max {max:.2} ms; added jitter (p99−p1 of \
         delay) {:.2} ms, max−min {:.2} ms; inter-arrival deviation p99 {:.2} ms max {:.2} ms; \
         lost {lost} of {}, {late} delayed ≥ 10 ms, {stray} stray packets heard (sender's own \
         spacing vs 20 ms: p99 {:.2} ms)",
        pct(&delay, 0.5),
        p99 - p1,
        max - min,
        pct(&dev, 0.99),
        pct(&dev, 1.0),
        total,
        pct(&spacing, 0.99),
    );
    (p99, p99 - p1)
}

async fn case(n: usize, codecs: (Codec, Codec), packets: usize, phones: &tokio::runtime::Handle) {
    let clock = autoinformer::clock::Clock::System;
    let agents = Agents::new(Arc::new(move || clock.now_ms()));
    let line = Arc::new(PhoneLine::default());
    for id in 1..=n as i64 {
        let info = AgentInfo {
            id,
            name: format!("agent-{id}"),
            projects: None,
            enabled: true,
            always_reachable: true,
            missed_pause_ms: Some(1_000),
        };
        agents.upsert(info, Some(line.clone() as Arc<dyn AgentLine>));
    }
    let settings = TransferSettings {
        queue_announce: None,
        ..TransferSettings::with_audio(TransferAudio::bundled().expect("the bundled audio"))
    };
    let cx = TransferContext {
        agents,
        trunk: None,
        project: 1,
        settings,
        card: Default::default(),
    };
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
    let (start, start_rx) = watch::channel(None);
    let calls: Vec<_> = (0..n)
        .map(|i| {
            // The 2n phones start evenly spread over one frame, as independent calls would.
            let phase = FRAME * i as u32 / n as u32;
            let parts = (cx.clone(), line.clone());
            let (r, s) = (ready_tx.clone(), start_rx.clone());
            let f = call(i, parts, codecs, (packets, phase), phones.clone(), r, s);
            tokio::spawn(f)
        })
        .collect();
    for _ in 0..n {
        let up = tokio::time::timeout(Duration::from_secs(20), ready.recv()).await;
        up.ok().flatten().expect("every call bridged within 20 s");
    }
    // Let the hold music in flight drain, then start every phone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = tokio::time::Instant::now() + Duration::from_millis(50);
    let _ = start.send(Some(t0));
    let mut heard = vec![];
    for c in calls {
        // Each call ends by itself: its phones stop 1 s after their last packet.
        let (callee, agent) = c.await.expect("the call's task");
        assert_eq!((callee.sent.len(), agent.sent.len()), (packets, packets));
        heard.push((callee, agent));
    }
    let legs = match codecs {
        (Codec::Pcmu, Codec::Pcmu) => "µ-law both legs",
        (Codec::Pcmu, Codec::Pcma) => "callee µ-law, agent A-law (transcoded)",
        _ => "other codecs",
    };
    let plural = if n == 1 { "bridge" } else { "bridges at once" };
    println!("{n} {plural}, {legs}, {packets} packets each way per bridge:");
    // Callee → agent: the callee's sends against what the agent got; and the reverse.
    let c2a: Vec<_> = heard.iter().map(|(c, a)| (c, a)).collect();
    let a2c: Vec<_> = heard.iter().map(|(c, a)| (a, c)).collect();
    let (d1, j1) = direction("callee→agent", &c2a);
    let (d2, j2) = direction("agent→callee", &a2c);
    let ok = d1 <= TARGET_MS && d2 <= TARGET_MS && j1 <= TARGET_MS && j2 <= TARGET_MS;
    println!(
        "  target p99 delay ≤ 20 ms each way, jitter (p99−p1 of delay) ≤ one 20 ms frame: {}",
        if ok { "PASS" } else { "over" }
    );
}

fn main() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    let n = env("BRIDGES").unwrap_or(50).max(1);
    let packets = env("PACKETS").unwrap_or(500).clamp(10, 60_000);
    check_levels();
    let phones = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("phones")
        .enable_all()
        .build()
        .expect("the phones' runtime");
    let robot = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("robot")
        .enable_all()
        .build()
        .expect("the robot's runtime");
    let handle = phones.handle().clone();
    robot.block_on(async move {
        for count in if n > 1 { vec![1, n] } else { vec![1] } {
            for agent in [Codec::Pcmu, Codec::Pcma] {
                case(count, (Codec::Pcmu, agent), packets, &handle).await;
            }
        }
    });
}
