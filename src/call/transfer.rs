//! The transfer phase of a live call: after the scenario asked for a transfer, the caller waits
//! in the project's queue hearing hold music, the most idle agent's phone rings, and when the
//! agent answers the robot bridges the two legs itself (B2BUA): each 20 ms tick relays one
//! frame each way, decoded and re-encoded, so µ-law and A-law legs meet; keys go across as
//! RFC 4733 events. An external transfer (`transfer_external`) is the same bridge to a number
//! dialed through the trunk, without a queue. docs/agents.md is the user's reference.
use super::recording::Recording;
use crate::agents::card::CallCard;
use crate::agents::pool::{AgentId, Miss};
use crate::agents::service::{AgentDial, AgentLine, Agents, Offer, Ticket};
use crate::media::{Frame, FRAME_MS, FRAME_SAMPLES, SILENT_FRAME};
use crate::scenario::{system_result, OwnPrompt};
use crate::telephony::session::{MediaEvent, MediaSession};
use crate::telephony::trunk::{
    DialRequest, EndInfo, Leg, LegControl, LegEvent, MediaTransport, Trunk, TrunkError,
};
use crate::BoxFuture;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant, Interval};

/// The audio a waiting caller hears.
#[derive(Clone)]
pub struct TransferAudio {
    /// «Соединяю с оператором», played once first (empty: none).
    pub connecting: Arc<[i16]>,
    /// «Вы в очереди…», played every `queue_announce` (empty: none).
    pub queue: Arc<[i16]>,
    /// Hold music, looped.
    pub hold: Arc<[i16]>,
}

impl TransferAudio {
    /// The bundled audio (prompts/transfer/).
    pub fn bundled() -> Result<Self, String> {
        let get = |n: &str| match crate::media::bundled::samples(n) {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(format!("{n} is not bundled")),
        };
        Ok(Self {
            connecting: get("transfer/connecting.wav")?,
            queue: get("transfer/queue.wav")?,
            hold: get("transfer/hold.wav")?,
        })
    }

    /// This audio with a scenario's own transfer and queue prompts where it sets them.
    pub fn for_scenario(&self, connecting: &OwnPrompt, queue: &OwnPrompt) -> Self {
        Self {
            connecting: connecting.samples_or(&self.connecting),
            queue: queue.samples_or(&self.queue),
            hold: self.hold.clone(),
        }
    }
}

/// The project's transfer settings.
#[derive(Clone)]
pub struct TransferSettings {
    /// After-call work before the agent is offered again.
    pub wrap_up: Duration,
    /// An agent whose phone rings this long without an answer is paused; the next is tried.
    pub agent_ring: Duration,
    /// The longest a caller waits for an agent (`queue_timeout`).
    pub queue_max_wait: Duration,
    /// How often the «вы в очереди» prompt interrupts the music (`None`: never).
    pub queue_announce: Option<Duration>,
    pub audio: TransferAudio,
}

impl TransferSettings {
    /// The server's settings (`[agents]`): its hold music is a path, used as it is when
    /// absolute or found from the working directory, else a file in `prompts`; decoded here,
    /// once (an error names the key).
    pub fn from_config(
        a: &crate::config::AgentsConfig,
        prompts: &std::path::Path,
    ) -> Result<Self, String> {
        let mut audio = TransferAudio::bundled()?;
        let music = a.hold_music.trim();
        if !music.is_empty() {
            let p = std::path::Path::new(music);
            let path = if p.is_absolute() || p.is_file() {
                p.to_path_buf()
            } else {
                prompts.join(p)
            };
            audio.hold = crate::media::audio::decode_file_8k(&path)
                .map_err(|e| format!("agents.hold_music: {e}"))?
                .into();
        }
        Ok(Self {
            wrap_up: Duration::from_secs(a.wrap_up_s),
            agent_ring: Duration::from_secs(a.agent_ring_s.max(1)),
            queue_max_wait: Duration::from_secs(a.queue_max_wait_s.max(1)),
            queue_announce: (a.queue_announce_s > 0)
                .then(|| Duration::from_secs(a.queue_announce_s)),
            audio,
        })
    }

    /// The defaults of docs/agents.md with the bundled audio.
    pub fn with_audio(audio: TransferAudio) -> Self {
        Self {
            wrap_up: Duration::from_secs(10),
            agent_ring: Duration::from_secs(15),
            queue_max_wait: Duration::from_secs(120),
            queue_announce: Some(Duration::from_secs(30)),
            audio,
        }
    }
}

/// What a call needs to transfer: the agents, the trunk (external transfers), the project and
/// how the agent's phone and desk are to show the caller.
#[derive(Clone)]
pub struct TransferContext {
    pub agents: Arc<Agents>,
    pub trunk: Option<Arc<dyn Trunk>>,
    pub project: i64,
    pub settings: TransferSettings,
    /// The caller as the agent desk shows them: the contact's name (the From display name
    /// starts with it), their fields (`X-Autoinformer-Field`), what the robot heard (filled
    /// in when the transfer begins).
    pub card: CallCard,
}

/// One agent who rang and did not take the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissedAgent {
    pub agent_id: AgentId,
    /// `no_answer`, `rejected`, `unreachable`.
    pub reason: &'static str,
    pub ring_ms: u64,
}

/// A call's transfer, as stored and shown (`GET /calls/{id}`, exports, `call --json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferReport {
    /// `agents` or the external number.
    pub to: String,
    /// The agent who answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Time in the queue until an agent answered (or the caller left).
    pub queue_ms: u64,
    /// How long the answering agent's phone rang.
    pub agent_ring_ms: u64,
    pub answered: bool,
    /// Talk time with the agent.
    pub talk_ms: u64,
    pub misses: Vec<MissedAgent>,
    /// From the decision to the agent's INVITE, ms (the first agent tried).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_ms: Option<u64>,
    /// From the agent's answer to their first audio relayed to the caller, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_audio_ms: Option<u64>,
    /// The external leg's final SIP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_status: Option<u16>,
}

/// How the transfer ended for the call.
#[derive(Debug)]
pub struct TransferEnd {
    pub report: TransferReport,
    /// The result that replaces the reaction's (`queue_abandoned`, `queue_timeout`).
    pub result: Option<&'static str>,
    /// The caller's leg is still up: the robot hangs it up.
    pub caller_up: bool,
    /// The caller's final SIP information when they hung up.
    pub caller_end: Option<EndInfo>,
    /// Whether the caller hung up (rather than the robot or the agent ending the call).
    pub caller_hung_up: bool,
    pub ms: u64,
}

/// Where the call goes.
pub enum Target {
    Agents,
    External(String),
}

/// Reaches an external number through the trunk, as an agent line.
struct TrunkLine {
    trunk: Arc<dyn Trunk>,
    number: String,
}

impl AgentLine for TrunkLine {
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        self.trunk.dial(DialRequest {
            call_id: req.call_id,
            number: self.number.clone(),
            caller_id: None,
        })
    }
}

/// The frames a waiting caller hears: «соединяю», then music with the queue prompt now and
/// then. Pure: one frame per call of `next`.
pub struct HoldAudio {
    audio: TransferAudio,
    /// The piece playing now and the position in it.
    now: Piece,
    pos: usize,
    music_pos: usize,
    frames: u64,
    announce_every: Option<u64>,
    next_announce: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Connecting,
    Queue,
    Music,
}

impl HoldAudio {
    pub fn new(audio: TransferAudio, announce: Option<Duration>) -> Self {
        let every = announce
            .map(|d| (d.as_millis() as u64 / FRAME_MS).max(1))
            .filter(|_| !audio.queue.is_empty());
        Self {
            now: Piece::Connecting,
            pos: 0,
            music_pos: 0,
            frames: 0,
            announce_every: every,
            next_announce: every.unwrap_or(u64::MAX),
            audio,
        }
    }

    pub fn next(&mut self, out: &mut Frame) {
        self.frames += 1;
        *out = SILENT_FRAME;
        if self.now == Piece::Music && self.frames >= self.next_announce {
            self.now = Piece::Queue;
            self.pos = 0;
            self.next_announce = self.frames + self.announce_every.unwrap_or(u64::MAX / 2);
        }
        if self.now != Piece::Music {
            let src = match self.now {
                Piece::Connecting => &self.audio.connecting,
                _ => &self.audio.queue,
            };
            if self.pos < src.len() {
                let n = (src.len() - self.pos).min(FRAME_SAMPLES);
                out[..n].copy_from_slice(&src[self.pos..self.pos + n]);
                self.pos += n;
                return;
            }
            self.now = Piece::Music;
        }
        let m = &self.audio.hold;
        if m.is_empty() {
            return;
        }
        for o in out.iter_mut() {
            *o = m[self.music_pos];
            self.music_pos = (self.music_pos + 1) % m.len();
        }
    }
}

/// The caller's leg as the live call hands it over.
pub struct CallerLeg<'a> {
    pub leg: &'a mut Leg,
    pub session: &'a mut MediaSession,
    pub tick: &'a mut Interval,
    pub recording: &'a mut Option<Recording>,
    /// The robot hangs up at this moment whatever happens (`max_call_s`).
    pub hard_stop: Instant,
}

fn ev_of(r: &mut Option<mpsc::UnboundedReceiver<LegEvent>>) -> BoxFuture<'_, Option<LegEvent>> {
    Box::pin(async move {
        match r {
            Some(r) => r.recv().await,
            None => std::future::pending().await,
        }
    })
}

async fn recv_of(
    m: &mut Option<MediaTransport>,
    buf: &mut [u8],
) -> Option<Option<(usize, std::net::SocketAddr)>> {
    match m {
        Some(m) => Some(m.recv(buf).await),
        None => std::future::pending().await,
    }
}

async fn offer_of(t: &mut Option<Ticket>) -> Option<Offer> {
    match t {
        Some(t) => t.next().await,
        None => std::future::pending().await,
    }
}

async fn until(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Keeps a relayed frame for the recording (bounded: a side sending faster than real time
/// loses the oldest).
fn keep(q: &mut std::collections::VecDeque<Frame>, f: Frame) {
    if q.len() >= 25 {
        q.pop_front();
    }
    q.push_back(f);
}

/// A leg being placed: to whom, since when, the dial.
type Placing = (
    AgentId,
    Instant,
    BoxFuture<'static, Result<Leg, TrunkError>>,
);

/// The agent's leg while it rings or talks.
struct AgentLeg {
    agent: AgentId,
    control: mpsc::UnboundedSender<LegControl>,
    session: Option<MediaSession>,
    rang_at: Instant,
    answered_at: Option<Instant>,
}

/// Carries out a transfer for a caller whose scenario just ended with one.
pub async fn run(
    cx: &TransferContext,
    target: Target,
    caller: CallerLeg<'_>,
    call_id: &str,
    result: &str,
    heard: Vec<(String, String)>,
    mut on_answered: Option<tokio::sync::oneshot::Sender<()>>,
) -> TransferEnd {
    let started = Instant::now();
    let CallerLeg {
        leg,
        session,
        tick,
        recording,
        hard_stop,
    } = caller;
    let (to, mut ticket, external) = match target {
        Target::Agents => (
            "agents".to_string(),
            Some(
                cx.agents
                    .wait(call_id, cx.project, Arc::new(cx.card.clone())),
            ),
            None,
        ),
        Target::External(n) => {
            let line: Option<Arc<dyn AgentLine>> = cx.trunk.clone().map(|trunk| {
                Arc::new(TrunkLine {
                    trunk,
                    number: n.clone(),
                }) as Arc<dyn AgentLine>
            });
            (n, None, line)
        }
    };
    let mut report = TransferReport {
        to,
        ..Default::default()
    };
    let display = match &cx.card.contact_name {
        Some(n) if !n.trim().is_empty() => format!("{} — {result}", n.trim()),
        _ => result.to_string(),
    };
    // One header per field and per captured value, `name=value` (names may be Cyrillic).
    let mut headers = vec![("X-Autoinformer-Result".to_string(), result.to_string())];
    headers.extend(
        cx.card
            .fields
            .iter()
            .map(|(k, v)| ("X-Autoinformer-Field".to_string(), format!("{k}={v}"))),
    );
    headers.extend(
        heard
            .into_iter()
            .map(|(k, v)| ("X-Autoinformer-Heard".to_string(), format!("{k}={v}"))),
    );
    let dial_req = |n: usize| AgentDial {
        call_id: format!("{call_id}-a{n}"),
        display: display.clone(),
        headers: headers.clone(),
    };
    let mut hold = HoldAudio::new(cx.settings.audio.clone(), cx.settings.queue_announce);
    let queue_deadline = started + cx.settings.queue_max_wait;
    let mut dialing: Option<Placing> = None;
    let mut attempts = 0usize;
    if let Some(line) = external {
        attempts += 1;
        let req = dial_req(attempts);
        dialing = Some((
            0,
            Instant::now(),
            Box::pin(async move { line.dial(req).await }),
        ));
    } else if ticket.is_none() {
        tracing::warn!("external transfer without a trunk");
    }
    let mut agent: Option<AgentLeg> = None;
    let mut agent_events: Option<mpsc::UnboundedReceiver<LegEvent>> = None;
    let mut agent_media: Option<MediaTransport> = None;
    let mut buf = vec![0u8; 2048];
    let mut abuf = vec![0u8; 2048];
    let mut packet = [0u8; 12 + FRAME_SAMPLES + 16];
    let mut apacket = [0u8; 12 + FRAME_SAMPLES + 16];
    let mut out: Frame = SILENT_FRAME;
    // Relayed frames waiting to be recorded at the next tick (a few at most).
    let mut rec_callee: std::collections::VecDeque<Frame> = Default::default();
    let mut rec_agent: std::collections::VecDeque<Frame> = Default::default();
    let mut result_override: Option<&'static str> = None;
    let mut caller_up = true;
    let mut caller_end = None;
    let mut caller_hung_up = false;
    let mut caller_media_open = true;
    let miss = |report: &mut TransferReport, a: &AgentLeg, reason: &'static str| {
        report.misses.push(MissedAgent {
            agent_id: a.agent,
            reason,
            ring_ms: a.rang_at.elapsed().as_millis() as u64,
        });
    };
    tracing::info!(to = %report.to, "transfer");
    loop {
        let ringing_deadline = agent
            .as_ref()
            .filter(|a| a.answered_at.is_none())
            .map(|a| a.rang_at + cx.settings.agent_ring);
        let bridged = agent.as_ref().is_some_and(|a| a.answered_at.is_some());
        let queue_until = (!bridged && ticket.is_some()).then_some(queue_deadline);
        let want_offer = agent.is_none() && dialing.is_none();
        tokio::select! {
            biased;
            _ = tick.tick() => {
                if bridged {
                    // Both legs relay packet by packet (below); the tick only records.
                    if let Some(r) = recording.as_mut() {
                        let callee = rec_callee.pop_front().unwrap_or(SILENT_FRAME);
                        let agent_frame = rec_agent.pop_front().unwrap_or(SILENT_FRAME);
                        r.write(&callee, &agent_frame);
                    }
                    continue;
                }
                let mut callee = SILENT_FRAME;
                let _ = session.pop_frame(&mut callee);
                hold.next(&mut out);
                if let Some(r) = recording.as_mut() {
                    r.write(&callee, &out);
                }
                if let Some(n) = session.next_packet(&out, &mut packet) {
                    leg.media.send(&packet[..n], session.remote());
                }
            }
            r = leg.media.recv(&mut buf), if caller_media_open => match r {
                Some((n, from)) => match session.on_datagram(from, &buf[..n]) {
                    Some(MediaEvent::Digit(d)) => {
                        if let Some(s) = agent.as_mut().filter(|a| a.answered_at.is_some()).and_then(|a| a.session.as_mut()) {
                            s.send_digit(d, 120);
                        }
                    }
                    Some(MediaEvent::Frame(f)) => {
                        // Bridged: the caller's frame goes to the agent at once.
                        if let (Some(s), Some(m)) = (agent.as_mut().and_then(|a| a.session.as_mut()), agent_media.as_ref()) {
                            if let Some(n) = s.next_packet(&f, &mut apacket) {
                                m.send(&apacket[..n], s.remote());
                            }
                        }
                        keep(&mut rec_callee, f);
                    }
                    None => {}
                },
                None => caller_media_open = false,
            },
            ev = leg.events.recv() => match ev {
                Some(LegEvent::Ended(info)) => {
                    tracing::info!(detail = %info.detail, bridged, "caller hung up during the transfer");
                    caller_up = false;
                    caller_hung_up = true;
                    caller_end = Some(info);
                    break;
                }
                Some(_) => {}
                None => {
                    caller_up = false;
                    caller_hung_up = true;
                    break;
                }
            },
            o = offer_of(&mut ticket), if want_offer => match o {
                Some(o) => {
                    attempts += 1;
                    let req = dial_req(attempts);
                    let line = o.line.clone();
                    tracing::info!(agent_id = o.agent, agent = %o.name, "ringing an agent");
                    report.invite_ms.get_or_insert(started.elapsed().as_millis() as u64);
                    dialing = Some((o.agent, Instant::now(), Box::pin(async move { line.dial(req).await })));
                }
                None => {
                    tracing::warn!("the agents' queue went away");
                    ticket = None;
                }
            },
            d = async { match dialing.as_mut() { Some((_, _, f)) => f.await, None => std::future::pending().await } }, if dialing.is_some() => {
                let Some((id, rang_at, _)) = dialing.take() else { continue };
                match d {
                    Ok(l) => {
                        agent_events = Some(l.events);
                        agent_media = Some(l.media);
                        agent = Some(AgentLeg { agent: id, control: l.control, session: None, rang_at, answered_at: None });
                    }
                    Err(e) => {
                        tracing::warn!(agent_id = id, error = %e, "the agent could not be called");
                        report.misses.push(MissedAgent { agent_id: id, reason: "unreachable", ring_ms: 0 });
                        match ticket.as_mut() {
                            Some(t) => t.missed(id, Miss::Unreachable),
                            None => break,
                        }
                    }
                }
            }
            ev = ev_of(&mut agent_events) => {
                let Some(a) = agent.as_mut() else { continue };
                match ev {
                    Some(LegEvent::Media(answer)) => {
                        a.session = Some(super::live::new_session(&answer));
                    }
                    Some(LegEvent::BadMedia(why)) => {
                        tracing::warn!(agent_id = a.agent, reason = %why, "the agent's phone has no codec in common");
                        let _ = a.control.send(LegControl::Hangup);
                    }
                    Some(LegEvent::Answered) => {
                        if a.session.is_none() {
                            let _ = a.control.send(LegControl::Hangup);
                            continue;
                        }
                        a.answered_at = Some(Instant::now());
                        // From now on both legs relay packet by packet: no jitter buffer of
                        // ours between them (each phone has its own).
                        if let Some(s) = a.session.as_mut() {
                            s.set_relay(true);
                        }
                        session.set_relay(true);
                        report.answered = true;
                        report.agent_id = (ticket.is_some()).then_some(a.agent);
                        if ticket.is_none() {
                            // The external leg's final answer: 200 OK.
                            report.sip_status = Some(200);
                        }
                        report.agent_ring_ms = a.rang_at.elapsed().as_millis() as u64;
                        report.queue_ms = started.elapsed().as_millis() as u64;
                        if let Some(t) = ticket.as_mut() {
                            t.answered(a.agent);
                        }
                        if let Some(tell) = on_answered.take() {
                            let _ = tell.send(());
                        }
                        tracing::info!(agent_id = a.agent, ring_ms = report.agent_ring_ms, queue_ms = report.queue_ms, "bridged");
                    }
                    Some(LegEvent::Ringing) => {}
                    Some(LegEvent::Ended(info)) => {
                        if ticket.is_none() {
                            report.sip_status = info.sip_status.or(report.sip_status);
                        }
                        if let Some(at) = a.answered_at {
                            report.talk_ms = at.elapsed().as_millis() as u64;
                            tracing::info!(detail = %info.detail, "the agent's side hung up; ending the call");
                            break;
                        }
                        let reason = match info.sip_status {
                            Some(486 | 600 | 603) => "rejected",
                            Some(487) | Some(408) => "no_answer",
                            _ => "unreachable",
                        };
                        tracing::info!(agent_id = a.agent, reason, detail = %info.detail, "the agent did not take the call");
                        miss(&mut report, a, reason);
                        let how = if reason == "unreachable" { Miss::Unreachable } else { Miss::NoAnswer };
                        let id = a.agent;
                        agent = None;
                        agent_events = None;
                        agent_media = None;
                        match ticket.as_mut() {
                            Some(t) => t.missed(id, how),
                            None => break,
                        }
                    }
                    None => {
                        agent_events = None;
                    }
                }
            }
            r = recv_of(&mut agent_media, &mut abuf) => match r {
                Some(Some((n, from))) => {
                    let Some(a) = agent.as_mut() else { continue };
                    let Some(s) = a.session.as_mut() else { continue };
                    match s.on_datagram(from, &abuf[..n]) {
                        Some(MediaEvent::Digit(d)) => {
                            session.send_digit(d, 120);
                        }
                        Some(MediaEvent::Frame(f)) => {
                            // The agent's frame goes to the caller at once.
                            if report.first_audio_ms.is_none() {
                                report.first_audio_ms = a.answered_at.map(|t| t.elapsed().as_millis() as u64);
                            }
                            if let Some(n) = session.next_packet(&f, &mut packet) {
                                leg.media.send(&packet[..n], session.remote());
                            }
                            keep(&mut rec_agent, f);
                        }
                        None => {}
                    }
                }
                _ => agent_media = None,
            },
            _ = until(ringing_deadline) => {
                let Some(a) = agent.take() else { continue };
                tracing::info!(agent_id = a.agent, ring_s = cx.settings.agent_ring.as_secs(), "the agent did not answer in time");
                let _ = a.control.send(LegControl::Hangup);
                miss(&mut report, &a, "no_answer");
                agent_events = None;
                agent_media = None;
                match ticket.as_mut() {
                    Some(t) => t.missed(a.agent, Miss::NoAnswer),
                    None => break,
                }
            }
            _ = until(queue_until) => {
                tracing::info!(wait_s = cx.settings.queue_max_wait.as_secs(), "no agent in time");
                result_override = Some(system_result::QUEUE_TIMEOUT);
                break;
            }
            _ = sleep_until(hard_stop) => {
                tracing::warn!("call too long; ending the transfer");
                break;
            }
        }
    }
    // Whatever ended it: the other leg goes too, the agent is freed or wraps up.
    if let Some(a) = agent.take() {
        let _ = a.control.send(LegControl::Hangup);
        match a.answered_at {
            Some(at) => {
                if report.talk_ms == 0 {
                    report.talk_ms = at.elapsed().as_millis() as u64;
                }
                if ticket.is_some() {
                    cx.agents.ended(a.agent, cx.settings.wrap_up);
                }
            }
            None => {
                if let Some(t) = ticket.as_mut() {
                    t.missed(a.agent, Miss::CallerLeft);
                }
            }
        }
        if let Some(mut ev) = agent_events.take() {
            // Let the agent's side finish its hang-up (bounded).
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(e) = ev.recv().await {
                    if matches!(e, LegEvent::Ended(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    if let Some((id, _, f)) = dialing.take() {
        // A leg being placed when the call ended: hang it up once it exists.
        tokio::spawn(async move {
            if let Ok(l) = f.await {
                let _ = l.control.send(LegControl::Hangup);
            }
        });
        if let Some(t) = ticket.as_mut() {
            t.missed(id, Miss::CallerLeft);
        }
    }
    if !report.answered {
        report.queue_ms = started.elapsed().as_millis() as u64;
        if result_override.is_none() && caller_hung_up && report.to == "agents" {
            result_override = Some(system_result::QUEUE_ABANDONED);
        }
    }
    drop(ticket);
    TransferEnd {
        ms: started.elapsed().as_millis() as u64,
        report,
        result: result_override,
        caller_up,
        caller_end,
        caller_hung_up,
    }
}
