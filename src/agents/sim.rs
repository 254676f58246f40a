//! Simulated agents (`[agents.sim]`): for the demo and tests, agents whose "phone" is a task in
//! this process. A transferred call to one rings, is answered after a delay (or never: a share
//! does not answer), hears a greeting «оператор слушает», talks for a while and hangs up. It is
//! reached through a pipe leg exactly as a trunk's call is, so transfers to simulated agents
//! run the same code as transfers to SIP agents.
use super::service::{AgentDial, AgentLine};
use crate::media::{Frame, FRAME_MS, FRAME_SAMPLES, SILENT_FRAME};
use crate::telephony::rtp::Ssrc;
use crate::telephony::sdp::{Codec, MediaAnswer, OFFER_EVENT_PT};
use crate::telephony::session::MediaSession;
use crate::telephony::trunk::{
    pipe, EndInfo, EndedSide, Leg, LegControl, LegEvent, MediaTransport, TrunkError,
};
use crate::BoxFuture;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{interval, sleep, MissedTickBehavior};

/// `[agents.sim]`: simulated agents.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SimAgentsConfig {
    /// How many (0: none).
    pub count: u32,
    /// The answer comes this long after the agent's phone starts ringing, seconds (drawn).
    pub answer_min_s: f64,
    pub answer_max_s: f64,
    /// How long an agent talks before hanging up, seconds (drawn).
    pub talk_min_s: f64,
    pub talk_max_s: f64,
    /// The share of transferred calls an agent lets ring without answering (0..1).
    pub no_answer_share: f64,
    /// A simulated agent paused for a missed call is back after this long, seconds.
    pub missed_pause_s: f64,
}

impl Default for SimAgentsConfig {
    fn default() -> Self {
        Self {
            count: 0,
            answer_min_s: 1.0,
            answer_max_s: 3.0,
            talk_min_s: 20.0,
            talk_max_s: 90.0,
            no_answer_share: 0.0,
            missed_pause_s: 10.0,
        }
    }
}

impl SimAgentsConfig {
    /// Checks the ranges; the error names the key.
    pub fn check(&self) -> Result<(), String> {
        let range = |k: &str, lo: f64, hi: f64| {
            if lo >= 0.0 && hi >= lo && hi <= 3_600.0 {
                Ok(())
            } else {
                Err(format!(
                    "agents.sim: {k}_min_s {lo} .. {k}_max_s {hi} is not a range within 0..=3600"
                ))
            }
        };
        range("answer", self.answer_min_s, self.answer_max_s)?;
        range("talk", self.talk_min_s, self.talk_max_s)?;
        if !(0.0..=1.0).contains(&self.no_answer_share) {
            return Err(format!(
                "agents.sim.no_answer_share: {} is not between 0 and 1",
                self.no_answer_share
            ));
        }
        Ok(())
    }
}

/// How one simulated agent answers calls.
pub struct SimAgentLine {
    cfg: SimAgentsConfig,
    /// What the agent says on answering (then silence with a little line noise).
    voice: Arc<[i16]>,
    seed: u64,
}

impl SimAgentLine {
    /// Agent number `n` (a different seed per agent: their delays differ).
    pub fn new(cfg: SimAgentsConfig, voice: Arc<[i16]>, n: u64) -> Self {
        Self {
            cfg,
            voice,
            seed: 0x5EED_A6E7 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// The bundled greeting of simulated agents.
    pub fn bundled_voice() -> Result<Arc<[i16]>, String> {
        match crate::media::bundled::samples("transfer/agent.wav") {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("transfer/agent.wav is not bundled".into()),
        }
    }

    /// A draw in 0..1 from the call id (deterministic per call and agent).
    fn draw(&self, call_id: &str, salt: u64) -> f64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.seed, salt, call_id).hash(&mut h);
        (h.finish() % 1_000_000) as f64 / 999_999.0
    }
}

impl AgentLine for SimAgentLine {
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        let answers = self.draw(&req.call_id, 1) >= self.cfg.no_answer_share;
        let pick = |lo: f64, hi: f64, salt| {
            Duration::from_secs_f64(lo + self.draw(&req.call_id, salt) * (hi - lo))
        };
        let answer_after = pick(self.cfg.answer_min_s, self.cfg.answer_max_s, 2);
        let talk = pick(self.cfg.talk_min_s, self.cfg.talk_max_s, 3);
        let voice = self.voice.clone();
        Box::pin(async move {
            let robot_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3);
            let phone_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4);
            let (robot_end, phone_end) = pipe(robot_addr, phone_addr);
            let (ev_tx, ev_rx) = mpsc::unbounded_channel();
            let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
            let phone = SimAgentPhone {
                answer_after: answers.then_some(answer_after),
                talk,
                voice,
                events: ev_tx,
                control: ctl_rx,
                media: MediaTransport::Pipe(phone_end),
                robot_addr,
                phone_addr,
            };
            tokio::spawn(phone.run());
            Ok(Leg {
                events: ev_rx,
                control: ctl_tx,
                media: MediaTransport::Pipe(robot_end),
            })
        })
    }
}

/// The far end of one call to a simulated agent.
struct SimAgentPhone {
    /// `None`: rings until cancelled.
    answer_after: Option<Duration>,
    talk: Duration,
    voice: Arc<[i16]>,
    events: mpsc::UnboundedSender<LegEvent>,
    control: mpsc::UnboundedReceiver<LegControl>,
    media: MediaTransport,
    robot_addr: SocketAddr,
    phone_addr: SocketAddr,
}

impl SimAgentPhone {
    fn end(&self, status: u16, by: EndedSide, detail: &str) {
        let _ = self.events.send(LegEvent::Ended(EndInfo {
            sip_status: Some(status),
            by,
            detail: detail.into(),
        }));
    }

    async fn run(mut self) {
        let _ = self.events.send(LegEvent::Ringing);
        let Some(after) = self.answer_after else {
            let _ = self.control.recv().await;
            self.end(487, EndedSide::Local, "cancelled by the robot");
            return;
        };
        tokio::select! {
            _ = sleep(after) => {}
            _ = self.control.recv() => {
                self.end(487, EndedSide::Local, "cancelled by the robot");
                return;
            }
        }
        let answer = MediaAnswer {
            addr: self.phone_addr.ip(),
            port: self.phone_addr.port(),
            codec: Codec::Pcma,
            codec_pt: Codec::Pcma.payload_type(),
            event_pt: Some(OFFER_EVENT_PT),
        };
        let _ = self.events.send(LegEvent::Media(answer.clone()));
        let _ = self.events.send(LegEvent::Answered);
        let towards_robot = MediaAnswer {
            addr: self.robot_addr.ip(),
            port: self.robot_addr.port(),
            ..answer
        };
        let mut session = MediaSession::new(&towards_robot, Ssrc(0x5A6E_0001), 500, 8_000);
        let mut tick = interval(Duration::from_millis(FRAME_MS));
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let frames = self.talk.as_millis() as u64 / FRAME_MS;
        let mut sent = 0u64;
        let mut pos = 0usize;
        let mut pkt = [0u8; 256];
        let mut buf = [0u8; 2048];
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if sent >= frames {
                        self.end(200, EndedSide::Remote, "the agent hung up");
                        return;
                    }
                    sent += 1;
                    let mut heard = SILENT_FRAME;
                    let _ = session.pop_frame(&mut heard);
                    let mut f: Frame = SILENT_FRAME;
                    if pos < self.voice.len() {
                        let n = (self.voice.len() - pos).min(FRAME_SAMPLES);
                        f[..n].copy_from_slice(&self.voice[pos..pos + n]);
                        pos += n;
                    }
                    if let Some(n) = session.next_packet(&f, &mut pkt) {
                        self.media.send(&pkt[..n], self.robot_addr);
                    }
                }
                r = self.media.recv(&mut buf) => {
                    if let Some((n, from)) = r {
                        let _ = session.on_datagram(from, &buf[..n]);
                    }
                }
                _ = self.control.recv() => {
                    self.end(200, EndedSide::Local, "the caller hung up");
                    return;
                }
            }
        }
    }
}

/// A pool of `cfg.count` simulated agents serving every project, on the clock `now` (what
/// `call` transfers to: it has no store for SIP agents). Its `run` must be spawned beside.
pub fn pool(
    cfg: &SimAgentsConfig,
    now: super::service::NowMs,
) -> Result<Arc<super::service::Agents>, String> {
    cfg.check()?;
    let agents = super::service::Agents::new(now);
    let voice = SimAgentLine::bundled_voice()?;
    for n in 1..=i64::from(cfg.count) {
        agents.upsert(
            super::pool::AgentInfo {
                id: n,
                name: format!("sim-{n}"),
                projects: None,
                enabled: true,
                always_reachable: true,
                missed_pause_ms: Some((cfg.missed_pause_s * 1000.0) as i64),
            },
            Some(Arc::new(SimAgentLine::new(
                cfg.clone(),
                voice.clone(),
                n as u64,
            ))),
        );
    }
    Ok(agents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_share_of_calls_is_never_answered_and_the_rest_after_the_delay() {
        let cfg = SimAgentsConfig {
            count: 1,
            no_answer_share: 0.25,
            ..Default::default()
        };
        let line = SimAgentLine::new(cfg, Arc::from(vec![0i16; 800]), 1);
        let mut unanswered = 0;
        for i in 0..200 {
            let mut leg = line
                .dial(AgentDial {
                    call_id: format!("c{i}-a1"),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(leg.events.recv().await, Some(LegEvent::Ringing));
            let answered = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match leg.events.recv().await {
                        Some(LegEvent::Answered) => return true,
                        Some(_) => {}
                        None => return false,
                    }
                }
            })
            .await
            .unwrap_or(false);
            if !answered {
                unanswered += 1;
            }
            let _ = leg.control.send(LegControl::Hangup);
        }
        assert!(
            (30..=70).contains(&unanswered),
            "{unanswered} of 200 unanswered"
        );
    }
}
