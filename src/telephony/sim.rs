//! The `sim` trunk: a virtual carrier inside the process, for demos, tests and load. Each
//! number behaves as configured (or by a deterministic default keyed on its last digit, so a
//! fresh install shows every outcome). Its audio is the bundled `sim/*.wav` (a file of the same
//! name in the prompts folder's `sim/` overrides one), plus tones made here, and it flows as RTP datagrams through the very same `MediaSession` the SIP trunk
//! uses (in-band keys as audio, RFC 4733 keys as telephone events); only the socket is
//! replaced by an in-process pipe.
//!
//! The far end's behaviour is a pure frame-driven state machine (`SimCallee`); the async task
//! around it only paces frames and moves datagrams and signalling events.
use super::jitter::Playout;
use super::rtp::Ssrc;
use super::sdp::{Codec, MediaAnswer, OFFER_EVENT_PT};
use super::session::MediaSession;
use super::trunk::{
    pipe, BoxFuture, DialRequest, EndInfo, EndedSide, Leg, LegControl, LegEvent, Lines,
    MediaTransport, Trunk, TrunkError,
};
use crate::media::audio::decode_file_8k;
use crate::media::prompt::Prompt;
use crate::media::{level, Frame, FRAME_MS, FRAME_SAMPLES, SILENT_FRAME};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{interval, sleep, MissedTickBehavior};

/// How a simulated number behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Rings until the robot gives up (CANCEL → 487).
    NoAnswer,
    /// Rings briefly, then 486.
    Busy,
    /// Rings briefly, then 603.
    Rejected,
    /// 183 with SIT and "аппарат абонента выключен…" as early media, then 480.
    Unreachable,
    /// The carrier's voicemail answers: a long greeting, then a beep, then silence.
    Voicemail,
    /// A person says "Алло?", waits for the message, then presses these keys (and, with
    /// `hang_up_after_s`, hangs up that long after pressing them: a caller who gives up in
    /// the agents' queue).
    Keys {
        keys: String,
        rfc4733: bool,
        hang_up_after_s: Option<u32>,
    },
    /// A person says "Алло?", waits for the message, then says one of the bundled words
    /// (`да`, `нет`) or plays a WAV file.
    Says(String),
    /// A person says "Алло?" and then nothing.
    Silent,
    /// A person says "Алло?" and hangs up soon after the message starts.
    HangsUp,
    /// Answers with a media description but never sends a packet (a broken media path: what
    /// a NAT or `rtp_ip` mistake looks like); stays until the robot hangs up.
    NoMedia,
}

impl FromStr for Behaviour {
    type Err = String;
    /// `no_answer`, `busy`, `rejected`, `unreachable`, `voicemail`, `silent`, `hangs_up`,
    /// `no_media`, `keys:12` (in-band), `rfc4733:12` (telephone events), `says:да` / `says:FILE.wav`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let valid_keys =
            |k: &str| !k.is_empty() && k.chars().all(|c| "0123456789*#ABCD".contains(c));
        // `keys:3/10`: presses 3, hangs up 10 s later.
        let keys_and_patience = |k: &str| -> Option<(String, Option<u32>)> {
            match k.split_once('/') {
                Some((k, s)) => {
                    let s: u32 = s.parse().ok()?;
                    valid_keys(k).then(|| (k.to_string(), Some(s)))
                }
                None => valid_keys(k).then(|| (k.to_string(), None)),
            }
        };
        Ok(match s {
            "no_answer" => Behaviour::NoAnswer,
            "busy" => Behaviour::Busy,
            "rejected" => Behaviour::Rejected,
            "unreachable" => Behaviour::Unreachable,
            "voicemail" => Behaviour::Voicemail,
            "silent" => Behaviour::Silent,
            "hangs_up" => Behaviour::HangsUp,
            "no_media" => Behaviour::NoMedia,
            _ => match s.split_once(':') {
                Some(("keys", k)) if keys_and_patience(k).is_some() => {
                    let (keys, hang_up_after_s) = keys_and_patience(k).unwrap_or_default();
                    Behaviour::Keys {
                        keys,
                        rfc4733: false,
                        hang_up_after_s,
                    }
                }
                Some(("rfc4733", k)) if keys_and_patience(k).is_some() => {
                    let (keys, hang_up_after_s) = keys_and_patience(k).unwrap_or_default();
                    Behaviour::Keys {
                        keys,
                        rfc4733: true,
                        hang_up_after_s,
                    }
                }
                Some(("says", w)) if !w.trim().is_empty() => Behaviour::Says(w.trim().into()),
                _ => {
                    return Err(format!(
                        "unknown sim behaviour {s:?}: expected no_answer, busy, rejected, \
                         unreachable, voicemail, silent, hangs_up, no_media, keys:DIGITS, \
                         rfc4733:DIGITS (either with /SECONDS: hangs up that long after the \
                         keys) or says:WORD"
                    ))
                }
            },
        })
    }
}

/// The default behaviour of a number without its own setting: by its last digit.
pub fn default_behaviour(number: &str) -> Behaviour {
    let last = number
        .chars()
        .rev()
        .find(|c| c.is_ascii_digit())
        .unwrap_or('0');
    match last {
        '0' => Behaviour::NoAnswer,
        '1' => Behaviour::Busy,
        '2' => Behaviour::Rejected,
        '3' => Behaviour::Unreachable,
        '4' => Behaviour::Voicemail,
        '5' => Behaviour::Keys {
            keys: "1".into(),
            rfc4733: false,
            hang_up_after_s: None,
        },
        '6' => Behaviour::Keys {
            keys: "2".into(),
            rfc4733: true,
            hang_up_after_s: None,
        },
        '7' => Behaviour::Says("да".into()),
        '8' => Behaviour::Silent,
        _ => Behaviour::HangsUp,
    }
}

/// The sim trunk's settings (`[trunk.sim]` in the config file).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Per-number behaviour, e.g. `"+79990000001" = "busy"`.
    pub numbers: BTreeMap<String, String>,
    /// Ringing before answer or failure, seconds: the range a number's delay is drawn from
    /// (deterministically from the number).
    pub ring_min_s: f64,
    pub ring_max_s: f64,
    /// The codec the simulated phones answer with (`pcmu` or `pcma`).
    pub codec: String,
    /// Calls the simulated carrier takes at once.
    pub max_calls: usize,
    /// Longest a simulated person stays on the line.
    pub max_call_s: u64,
    /// Line echo: the robot's own audio comes back this many dB down (0 = no echo).
    pub echo_return_loss_db: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            numbers: BTreeMap::new(),
            ring_min_s: 2.0,
            ring_max_s: 12.0,
            codec: "pcmu".into(),
            max_calls: 2000,
            max_call_s: 120,
            echo_return_loss_db: 0.0,
        }
    }
}

/// The bundled audio of the simulated carrier.
#[derive(Debug, Clone)]
pub struct SimAudio {
    pub allo: Arc<[i16]>,
    pub words: BTreeMap<String, Arc<[i16]>>,
    pub voicemail: Arc<[i16]>,
    pub unreachable: Arc<[i16]>,
}

impl SimAudio {
    /// `{allo,da,net,voicemail,unreachable}.wav`: from `dir` where it has the file, else the
    /// bundled `sim/` ones.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let get = |name: &str| -> Result<Arc<[i16]>, String> {
            let file = format!("{name}.wav");
            let own = dir.join(&file);
            let prompt = if own.is_file() {
                Prompt::file(&own).map(Some)
            } else {
                Prompt::bundled(&format!("sim/{file}")).transpose()
            };
            match prompt {
                Ok(Some(p)) => Ok(p.samples()),
                Ok(None) => Err(format!("sim carrier audio: {file} is not bundled")),
                Err(e) => Err(format!(
                    "sim carrier audio: {e} (the prompts folder's sim/ overrides the bundled \
                     audio; {})",
                    crate::scenario::PROMPTS_FOLDER_HINT
                )),
            }
        };
        let mut words = BTreeMap::new();
        words.insert("да".to_string(), get("da")?);
        words.insert("нет".to_string(), get("net")?);
        Ok(Self {
            allo: get("allo")?,
            words,
            voicemail: get("voicemail")?,
            unreachable: get("unreachable")?,
        })
    }
}

/// Signalling the far end asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimAction {
    Continue,
    /// Send this key as RFC 4733 events.
    SendEvent(char),
    /// Hang up (BYE).
    HangUp,
}

/// The answered far end, frame by frame. Pure: the robot's frames in, its own frames out.
pub struct SimCallee {
    script: Vec<i16>,
    pos: usize,
    frames: u64,
    behaviour: Behaviour,
    audio: SimAudio,
    robot_talked_ms: u64,
    robot_quiet_ms: u64,
    reacted: bool,
    /// RFC 4733 keys still to send: (when, key), the next one last.
    pending_events: Vec<(u64, char)>,
    hangup_at_ms: Option<u64>,
    max_ms: u64,
    /// Linear gain of the line echo (0: none) and the robot frame to echo next.
    echo_gain: f32,
    echo: Frame,
}

/// A robot frame louder than this is talk.
const ROBOT_TALK_DBM0: f32 = -40.0;
/// Robot silence after talk that counts as "the message is over".
const END_OF_MESSAGE_MS: u64 = 600;

impl SimCallee {
    /// An answered call of a person or a machine.
    pub fn new(behaviour: Behaviour, audio: SimAudio, max_call: Duration) -> Self {
        let mut script: Vec<i16> = Vec::new();
        match &behaviour {
            Behaviour::Voicemail => {
                script.extend(silence(300));
                script.extend_from_slice(&audio.voicemail);
                script.extend(silence(200));
                script.extend(tone(&[1000.0], 400, -10.0));
            }
            _ => {
                script.extend(silence(400));
                script.extend_from_slice(&audio.allo);
            }
        }
        Self {
            script,
            pos: 0,
            frames: 0,
            behaviour,
            audio,
            robot_talked_ms: 0,
            robot_quiet_ms: 0,
            reacted: false,
            pending_events: Vec::new(),
            hangup_at_ms: None,
            max_ms: max_call.as_millis() as u64,
            echo_gain: 0.0,
            echo: SILENT_FRAME,
        }
    }

    /// Adds line echo: the robot's audio returns `loss_db` down (0 or less: no echo).
    pub fn with_echo(mut self, loss_db: f64) -> Self {
        self.echo_gain = if loss_db > 0.0 {
            10f32.powf(-(loss_db as f32) / 20.0)
        } else {
            0.0
        };
        self
    }

    /// Feeds the robot's frame heard at this moment.
    pub fn on_robot_frame(&mut self, f: &Frame) {
        if self.echo_gain > 0.0 {
            self.echo = *f;
        }
        if level::dbm0(f) > ROBOT_TALK_DBM0 {
            self.robot_talked_ms += FRAME_MS;
            self.robot_quiet_ms = 0;
        } else {
            self.robot_quiet_ms += FRAME_MS;
        }
    }

    /// The far end's next 20 ms and what it does.
    pub fn next_frame(&mut self, out: &mut Frame) -> SimAction {
        let now = self.frames * FRAME_MS;
        self.frames += 1;
        out.fill(0);
        if self.pos < self.script.len() {
            let n = (self.script.len() - self.pos).min(FRAME_SAMPLES);
            out[..n].copy_from_slice(&self.script[self.pos..self.pos + n]);
            self.pos += n;
        }
        if self.echo_gain > 0.0 {
            for (o, e) in out.iter_mut().zip(&self.echo) {
                *o = o.saturating_add((f32::from(*e) * self.echo_gain) as i16);
            }
        }
        if now >= self.max_ms || self.hangup_at_ms.is_some_and(|t| now >= t) {
            return SimAction::HangUp;
        }
        if let Some(&(at, k)) = self.pending_events.last() {
            if at <= now {
                self.pending_events.pop();
                return SimAction::SendEvent(k);
            }
        }
        let message_over = self.robot_talked_ms >= 500 && self.robot_quiet_ms >= END_OF_MESSAGE_MS;
        match self.behaviour.clone() {
            Behaviour::HangsUp if self.robot_talked_ms >= 1_500 && self.hangup_at_ms.is_none() => {
                self.hangup_at_ms = Some(now);
            }
            Behaviour::Keys {
                keys,
                rfc4733,
                hang_up_after_s,
            } if message_over && !self.reacted => {
                self.reacted = true;
                if let Some(s) = hang_up_after_s {
                    self.hangup_at_ms = Some(now + u64::from(s) * 1000);
                }
                if rfc4733 {
                    // One key per 300 ms (each event lasts 120 ms plus its end packets).
                    let mut ev: Vec<(u64, char)> = keys
                        .chars()
                        .enumerate()
                        .map(|(i, k)| (now + 300 * i as u64, k))
                        .collect();
                    ev.reverse();
                    self.pending_events = ev;
                } else {
                    let mut s = Vec::new();
                    for k in keys.chars() {
                        s.extend(dtmf(k, 120, -8.0));
                        s.extend(silence(100));
                    }
                    self.append(&s);
                }
            }
            Behaviour::Says(word) if message_over && !self.reacted => {
                self.reacted = true;
                // Files were decoded with the trunk (`SimTrunk::new`): nothing is read here.
                match self.audio.words.get(word.as_str()).cloned() {
                    Some(a) => {
                        let mut s = silence(300);
                        s.extend_from_slice(&a);
                        self.append(&s);
                    }
                    None => {
                        tracing::warn!(word = %word, "sim: no audio for this word; staying silent")
                    }
                }
            }
            _ => {}
        }
        SimAction::Continue
    }

    fn append(&mut self, s: &[i16]) {
        self.script.drain(..self.pos);
        self.pos = 0;
        self.script.extend_from_slice(s);
    }
}

fn silence(ms: u64) -> Vec<i16> {
    vec![0; (ms * 8) as usize]
}

/// A sum of sines, each at `dbm0`.
pub fn tone(freqs: &[f32], ms: u64, dbm0: f32) -> Vec<i16> {
    let amp = level::sine_peak_for_dbm0(f64::from(dbm0)) as f32;
    (0..(ms * 8) as usize)
        .map(|i| {
            let t = i as f32 / 8000.0;
            let v: f32 = freqs
                .iter()
                .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                .sum();
            (v * amp).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// An in-band DTMF key.
pub fn dtmf(key: char, ms: u64, dbm0: f32) -> Vec<i16> {
    match crate::media::dtmf::key_frequencies(key) {
        Some((lo, hi)) => tone(&[lo, hi], ms, dbm0),
        None => silence(ms),
    }
}

/// Special information tones (950/1400/1800 Hz, 330 ms each), then 1 s of silence.
pub fn sit() -> Vec<i16> {
    let mut s = Vec::new();
    for f in [950.0, 1400.0, 1800.0] {
        s.extend(tone(&[f], 330, -12.0));
    }
    s.extend(silence(1_000));
    s
}

/// Longest ring accepted (`ring_max_s`).
pub const MAX_RING_S: f64 = 3_600.0;

/// The simulated carrier.
pub struct SimTrunk {
    cfg: SimConfig,
    behaviours: BTreeMap<String, Behaviour>,
    audio: SimAudio,
    lines: Lines,
}

impl SimTrunk {
    /// A carrier with this config; `audio_dir` (`audio_dir(prompts)`) may hold audio that
    /// overrides the bundled one by name. Every configured behaviour is checked here, so a
    /// typo fails at start, naming the number, and the audio files of `says:FILE` are decoded
    /// here (a call never reads a file).
    pub fn new(cfg: SimConfig, audio_dir: &Path) -> Result<Self, String> {
        let mut behaviours = BTreeMap::new();
        for (n, b) in &cfg.numbers {
            let b = b
                .parse::<Behaviour>()
                .map_err(|e| format!("trunk.sim.numbers.{n:?}: {e}"))?;
            behaviours.insert(n.clone(), b);
        }
        if !(cfg.ring_min_s >= 0.0
            && cfg.ring_max_s >= cfg.ring_min_s
            && cfg.ring_max_s <= MAX_RING_S)
        {
            return Err(format!(
                "trunk.sim: ring_min_s {} .. ring_max_s {} is not a range within 0..={MAX_RING_S}",
                cfg.ring_min_s, cfg.ring_max_s
            ));
        }
        codec_of(&cfg.codec)?;
        let mut audio = SimAudio::load(audio_dir)?;
        for (number, b) in &behaviours {
            let Behaviour::Says(word) = b else { continue };
            if audio.words.contains_key(word) {
                continue;
            }
            match decode_file_8k(Path::new(word)) {
                Ok(s) => {
                    audio.words.insert(word.clone(), s.into());
                }
                // Documented: an unknown word without a file stays silent.
                Err(e) => tracing::warn!(
                    number = %number,
                    error = %e,
                    "trunk.sim.numbers: no bundled word or audio file for says:{word}; that person stays silent"
                ),
            }
        }
        Ok(Self {
            audio,
            cfg,
            behaviours,
            lines: Lines::new(),
        })
    }

    /// Calls up now.
    pub fn calls_up(&self) -> usize {
        self.lines.in_use()
    }

    /// The behaviour a number gets.
    pub fn behaviour(&self, number: &str) -> Behaviour {
        self.behaviours
            .get(number)
            .cloned()
            .unwrap_or_else(|| default_behaviour(number))
    }

    /// Ringing time of a number: deterministic within the configured range.
    pub fn ring_delay(&self, number: &str) -> Duration {
        let h = number.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let frac = (h % 1000) as f64 / 999.0;
        Duration::from_secs_f64(
            self.cfg.ring_min_s + frac * (self.cfg.ring_max_s - self.cfg.ring_min_s),
        )
    }
}

fn codec_of(s: &str) -> Result<Codec, String> {
    match s.to_ascii_lowercase().as_str() {
        "pcmu" | "ulaw" => Ok(Codec::Pcmu),
        "pcma" | "alaw" => Ok(Codec::Pcma),
        other => Err(format!("trunk.sim.codec: {other:?} is not pcmu or pcma")),
    }
}

impl Trunk for SimTrunk {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn max_calls(&self) -> usize {
        self.cfg.max_calls
    }

    fn dial(&self, req: DialRequest) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        Box::pin(async move {
            let line = self.lines.take(self.cfg.max_calls)?;
            let behaviour = self.behaviour(&req.number);
            let ring = self.ring_delay(&req.number);
            let codec = codec_of(&self.cfg.codec).map_err(TrunkError::Other)?;
            let robot_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1);
            let phone_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2);
            let (robot_end, phone_end) = pipe(robot_addr, phone_addr);
            let (ev_tx, ev_rx) = mpsc::unbounded_channel();
            let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
            let far = FarEnd {
                behaviour,
                ring,
                codec,
                audio: self.audio.clone(),
                max_call: Duration::from_secs(self.cfg.max_call_s),
                echo_loss_db: self.cfg.echo_return_loss_db,
                events: ev_tx,
                control: ctl_rx,
                media: MediaTransport::Pipe(phone_end),
                robot_addr,
                phone_addr,
            };
            tokio::spawn(async move {
                // Held until the far end is done: ends, or unwinds from a panic.
                let _line = line;
                far.run().await;
            });
            Ok(Leg {
                events: ev_rx,
                control: ctl_tx,
                media: MediaTransport::Pipe(robot_end),
            })
        })
    }
}

/// The far end of one simulated call.
struct FarEnd {
    behaviour: Behaviour,
    ring: Duration,
    codec: Codec,
    audio: SimAudio,
    max_call: Duration,
    echo_loss_db: f64,
    events: mpsc::UnboundedSender<LegEvent>,
    control: mpsc::UnboundedReceiver<LegControl>,
    media: MediaTransport,
    robot_addr: SocketAddr,
    phone_addr: SocketAddr,
}

impl FarEnd {
    fn end(&self, status: u16, by: EndedSide, detail: &str) {
        let _ = self.events.send(LegEvent::Ended(EndInfo {
            sip_status: Some(status),
            by,
            detail: detail.into(),
        }));
    }

    fn media_answer(&self) -> MediaAnswer {
        MediaAnswer {
            addr: self.phone_addr.ip(),
            port: self.phone_addr.port(),
            codec: self.codec,
            codec_pt: self.codec.payload_type(),
            event_pt: Some(OFFER_EVENT_PT),
        }
    }

    /// The phone's own media session: it sends to the robot's address.
    fn phone_session(&self) -> MediaSession {
        let towards_robot = MediaAnswer {
            addr: self.robot_addr.ip(),
            port: self.robot_addr.port(),
            ..self.media_answer()
        };
        MediaSession::new(&towards_robot, Ssrc(0x5157_0001), 1000, 16_000)
    }

    /// Waits `d`, or returns true if the robot hung up (CANCEL) meanwhile.
    async fn wait_or_cancel(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = sleep(d) => false,
            c = self.control.recv() => {
                let _ = c;
                true
            }
        }
    }

    async fn run(mut self) {
        let _ = self.events.send(LegEvent::Ringing);
        match self.behaviour.clone() {
            Behaviour::NoAnswer => {
                let _ = self.control.recv().await;
                self.end(487, EndedSide::Local, "cancelled by the robot");
            }
            Behaviour::Busy | Behaviour::Rejected => {
                let (ring, status, what) = if self.behaviour == Behaviour::Busy {
                    (self.ring.min(Duration::from_secs(3)), 486, "busy here")
                } else {
                    (self.ring.min(Duration::from_secs(6)), 603, "declined")
                };
                if self.wait_or_cancel(ring).await {
                    self.end(487, EndedSide::Local, "cancelled by the robot");
                } else {
                    self.end(status, EndedSide::Remote, what);
                }
            }
            Behaviour::Unreachable => self.early_announcement().await,
            _ => {
                if self.wait_or_cancel(self.ring).await {
                    self.end(487, EndedSide::Local, "cancelled by the robot");
                    return;
                }
                let _ = self.events.send(LegEvent::Media(self.media_answer()));
                let _ = self.events.send(LegEvent::Answered);
                self.answered().await;
            }
        }
    }

    /// 183 with SIT + announcement, then 480 — unless the robot cancels first.
    async fn early_announcement(&mut self) {
        if self.wait_or_cancel(Duration::from_millis(300)).await {
            self.end(487, EndedSide::Local, "cancelled by the robot");
            return;
        }
        let _ = self.events.send(LegEvent::Media(self.media_answer()));
        let mut session = self.phone_session();
        let mut audio = sit();
        audio.extend_from_slice(&self.audio.unreachable);
        let mut tick = interval(Duration::from_millis(FRAME_MS));
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut pkt = [0u8; 256];
        let mut chunks = audio.chunks(FRAME_SAMPLES);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let Some(c) = chunks.next() else { break };
                    let mut f = SILENT_FRAME;
                    f[..c.len()].copy_from_slice(c);
                    if let Some(n) = session.next_packet(&f, &mut pkt) {
                        self.media.send(&pkt[..n], self.robot_addr);
                    }
                }
                _ = self.control.recv() => {
                    self.end(487, EndedSide::Local, "cancelled by the robot");
                    return;
                }
            }
        }
        self.end(480, EndedSide::Remote, "temporarily unavailable");
    }

    async fn answered(&mut self) {
        let mut session = self.phone_session();
        let mut callee = SimCallee::new(self.behaviour.clone(), self.audio.clone(), self.max_call)
            .with_echo(self.echo_loss_db);
        let mut tick = interval(Duration::from_millis(FRAME_MS));
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let mut pkt = [0u8; 256];
        let mut buf = [0u8; 2048];
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let mut heard = SILENT_FRAME;
                    if session.pop_frame(&mut heard) == Playout::Frame {
                        callee.on_robot_frame(&heard);
                    } else {
                        callee.on_robot_frame(&SILENT_FRAME);
                    }
                    let mut f = SILENT_FRAME;
                    match callee.next_frame(&mut f) {
                        SimAction::Continue => {}
                        SimAction::SendEvent(k) => {
                            session.send_digit(k, 120);
                        }
                        SimAction::HangUp => {
                            self.end(200, EndedSide::Remote, "the callee hung up");
                            return;
                        }
                    }
                    if let Some(n) = session.next_packet(&f, &mut pkt) {
                        if self.behaviour != Behaviour::NoMedia {
                            self.media.send(&pkt[..n], self.robot_addr);
                        }
                    }
                }
                r = self.media.recv(&mut buf) => {
                    if let Some((n, from)) = r {
                        let _ = session.on_datagram(from, &buf[..n]);
                    }
                }
                _ = self.control.recv() => {
                    self.end(200, EndedSide::Local, "the robot hung up");
                    return;
                }
            }
        }
    }
}

/// Where the sim audio lives under a prompts directory.
pub fn audio_dir(prompts: &Path) -> PathBuf {
    prompts.join("sim")
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
