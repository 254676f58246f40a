//! A live call: dials through any trunk, watches early media, then feeds the same
//! `CallRunner` that replay uses in real time — one callee frame in and one robot frame out
//! every 20 ms — and records the call. This is the real-time edge of `call`: it owns the
//! timers and the media transport; every decision stays in the pure runner and analysers.
use super::early::EarlyMedia;
use super::outcome::{AmdSummary, CallOutcome, EndedBy};
use super::recording::Recording;
use super::runner::{CallConfig, CallRunner, Decision, FrameStatus};
use super::transfer::{self, TransferContext, TransferReport};
use crate::media::amd::AmdReason;
use crate::media::{Frame, FRAME_MS, FRAME_SAMPLES, SILENT_FRAME};
use crate::scenario::{system_result, Action, Scenario};
use crate::telephony::rtp::Ssrc;
use crate::telephony::session::{MediaEvent, MediaSession};
use crate::telephony::trunk::{
    result_for_status, DialRequest, EndInfo, EndedSide, LegControl, LegEvent, Trunk,
};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{interval_at, sleep, Instant, MissedTickBehavior};
use tracing::Instrument;

/// Settings of live calls.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Ring timeout before CANCEL (spec: 40 s).
    pub ring_timeout: Duration,
    /// Longest answered call before the robot hangs up.
    pub max_duration: Duration,
    /// Folder for recordings (`None`: no recording).
    pub recordings: Option<PathBuf>,
    /// How long to wait for the trunk to confirm a hang-up.
    pub hangup_grace: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            ring_timeout: Duration::from_secs(40),
            max_duration: Duration::from_secs(600),
            recordings: None,
            hangup_grace: Duration::from_secs(5),
        }
    }
}

/// What `autoinformer call` prints: the replay outcome plus the telephony facts.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    #[serde(flatten)]
    pub outcome: CallOutcome,
    /// The SIP final status (200 for an answered call).
    pub sip_status: Option<u16>,
    /// From dialing to answer (or to the end of an unanswered call).
    pub ring_ms: u64,
    /// Whether the callee answered.
    pub answered: bool,
    /// The stereo recording, when one was written (complete, or up to a failed write).
    pub recording: Option<String>,
    /// Why the recording stopped early or is missing, when a write failed (the disk full):
    /// the call itself went on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_error: Option<String>,
    /// Why a call that never reached the scenario ended (or why an answered one was cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The transfer to agents or to a number, when the scenario asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferReport>,
    /// When the call was placed (unix ms).
    #[serde(skip)]
    pub dialed_at_ms: i64,
    /// When it was answered (unix ms).
    #[serde(skip)]
    pub answered_at_ms: Option<i64>,
}

/// What an answered call reports the moment it is answered, before anything else happens, so
/// that the dialer can write it at once (a crash later keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Unix ms, by the wall clock (the `call` command prints it).
    pub at_ms: i64,
    /// From dialing to the answer: the dialer places the answer on its own clock with it.
    pub ring_ms: u64,
    /// The recording being written, if any.
    pub recording: Option<String>,
}

/// With no packet at all from the callee this long after the answer, the media path is broken
/// (a NAT or `rtp_ip` mistake, a broken carrier): the call ends as `system`.
pub const NO_MEDIA_TIMEOUT: Duration = Duration::from_secs(5);
/// The reason given to such calls.
pub const NO_MEDIA_REASON: &str = "no audio from the callee";

/// The wall clock in unix ms.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How much before its nominal time a frame's tick is scheduled (see `drive`).
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Counters of outgoing RTP pacing, shared by all calls (for metrics and the load benchmark).
pub struct PacingProbe {
    /// Histogram of send lateness in 50 µs buckets up to 50 ms (last bucket: beyond).
    buckets: Vec<AtomicU64>,
    pub frames_sent: AtomicU64,
    /// Frames sent before their nominal time (by at most `TIMER_SLACK`); counted as on time.
    pub frames_early: AtomicU64,
}

/// Width of one lateness bucket.
pub const PACING_BUCKET_US: u64 = 50;
const PACING_BUCKETS: usize = 1001;

impl Default for PacingProbe {
    fn default() -> Self {
        Self {
            buckets: (0..PACING_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            frames_sent: AtomicU64::new(0),
            frames_early: AtomicU64::new(0),
        }
    }
}

impl PacingProbe {
    fn note(&self, nominal: Instant, sent: Instant) {
        if sent < nominal {
            self.frames_early.fetch_add(1, Ordering::Relaxed);
        }
        let late = sent.saturating_duration_since(nominal);
        let b = (late.as_micros() as u64 / PACING_BUCKET_US).min(PACING_BUCKETS as u64 - 1);
        self.buckets[b as usize].fetch_add(1, Ordering::Relaxed);
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets everything counted so far (start of a measuring window).
    pub fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.frames_sent.store(0, Ordering::Relaxed);
        self.frames_early.store(0, Ordering::Relaxed);
    }

    /// The lateness (µs, bucket upper edge) below which `q` of the sends fell.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return (i as u64 + 1) * PACING_BUCKET_US;
            }
        }
        PACING_BUCKETS as u64 * PACING_BUCKET_US
    }
}

/// Places one call through `trunk` and runs `scenario` on it.
pub async fn run_call(
    trunk: &dyn Trunk,
    req: DialRequest,
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    settings: &LiveSettings,
    probe: Option<&PacingProbe>,
) -> LiveReport {
    run_call_watched(
        trunk,
        req,
        scenario,
        cfg,
        settings,
        probe,
        CallWatch::default(),
    )
    .await
}

/// Who hears what a call learns while it is up (the dialer writes each at once).
#[derive(Default)]
pub struct CallWatch {
    /// Told the moment the call is answered.
    pub on_answer: Option<tokio::sync::oneshot::Sender<Answered>>,
    /// Told each time the scenario decides (a result, actions) while the call goes on.
    pub on_decided: Option<tokio::sync::mpsc::UnboundedSender<Decision>>,
    /// What a transfer the scenario asks for needs (agents, the trunk, the project); without
    /// it a transfer is logged and not carried out.
    pub transfer: Option<TransferContext>,
    /// Told the moment an agent answers a transfer (the dialer drops the held callback).
    pub on_transfer_answered: Option<tokio::sync::oneshot::Sender<()>>,
    /// Told the moment a transfer begins (the dialer posts `transfer.started`).
    pub on_transfer_started: Option<tokio::sync::oneshot::Sender<TransferStarted>>,
}

/// A transfer beginning: where to, with the result and values the scenario had.
#[derive(Debug, Clone)]
pub struct TransferStarted {
    /// `agents` or the external number.
    pub to: String,
    pub result: String,
    pub captured: std::collections::BTreeMap<String, String>,
}

/// As `run_call`, telling `watch` what the call learns as it learns it.
pub async fn run_call_watched(
    trunk: &dyn Trunk,
    req: DialRequest,
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    settings: &LiveSettings,
    probe: Option<&PacingProbe>,
    watch: CallWatch,
) -> LiveReport {
    let span = tracing::info_span!("call", call_id = %req.call_id, number = %req.number, trunk = trunk.name());
    async move {
        let call_id = req.call_id.clone();
        let number = req.number.clone();
        let dialed_at_ms = unix_ms();
        tracing::info!("dialing");
        let mut report = match trunk.dial(req).await {
            Ok(leg) => {
                let call = Placed {
                    call_id: &call_id,
                    number: &number,
                };
                drive(leg, call, scenario, cfg, settings, probe, watch).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "call could not be placed");
                unanswered(system_result::SYSTEM, None, 0, Some(e.to_string()))
            }
        };
        report.dialed_at_ms = dialed_at_ms;
        if let Some(status) = report.sip_status {
            metrics::counter!("autoinformer_sip_final_total", "status" => status.to_string())
                .increment(1);
        }
        report
    }
    .instrument(span)
    .await
}

fn unanswered(
    result: &str,
    sip_status: Option<u16>,
    ring_ms: u64,
    reason: Option<String>,
) -> LiveReport {
    LiveReport {
        outcome: CallOutcome {
            result: result.to_string(),
            amd: AmdSummary::without_decision(AmdReason::NotAnswered, 0),
            events: vec![],
            prompts: vec![],
            result_at_ms: None,
            transfer_at_ms: None,
            actions: vec![],
            captured: Default::default(),
            ended_by: EndedBy::Callee,
            duration_ms: 0,
            greeting: None,
        },
        sip_status,
        ring_ms,
        answered: false,
        recording: None,
        recording_error: None,
        reason,
        transfer: None,
        dialed_at_ms: 0,
        answered_at_ms: None,
    }
}

pub(super) fn new_session(answer: &crate::telephony::sdp::MediaAnswer) -> MediaSession {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    MediaSession::new(answer, Ssrc(rng.gen()), rng.gen(), rng.gen())
}

/// Which call was placed, to whom.
#[derive(Clone, Copy)]
struct Placed<'a> {
    call_id: &'a str,
    number: &'a str,
}

/// Runs a placed call to its end.
async fn drive(
    mut leg: crate::telephony::trunk::Leg,
    placed: Placed<'_>,
    scenario: Arc<Scenario>,
    cfg: CallConfig,
    settings: &LiveSettings,
    probe: Option<&PacingProbe>,
    watch: CallWatch,
) -> LiveReport {
    let CallWatch {
        on_answer,
        on_decided,
        transfer: transfer_cx,
        on_transfer_answered,
        on_transfer_started,
    } = watch;
    let Placed { call_id, number } = placed;
    let mut on_transfer_started = on_transfer_started;
    let mut on_transfer_answered = on_transfer_answered;
    // Hands a decision of the scenario on (a channel send: nothing waits on the tick).
    let tell = |runner: &mut CallRunner| {
        if let Some(d) = runner.take_decision() {
            if let Some(tx) = on_decided.as_ref() {
                let _ = tx.send(d);
            }
        }
    };
    let started = Instant::now();
    let mut session: Option<MediaSession> = None;
    let mut early = EarlyMedia::new(cfg.speech.as_deref());
    let ring_deadline = sleep(settings.ring_timeout);
    tokio::pin!(ring_deadline);
    let period = Duration::from_millis(FRAME_MS);
    // tokio's timer wheel fires on whole milliseconds at or after a deadline, so each tick is
    // set `TIMER_SLACK` before the packet's nominal time: sends land within about ±1 ms of it
    // instead of always 0–1 ms late plus scheduling delay.
    let mut tick = interval_at(Instant::now() + period - TIMER_SLACK, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut buf = vec![0u8; crate::telephony::rtp_socket::DRAIN_BUF];
    // A result decided by us before answer (ring timeout, early media): hang up, then wait.
    let mut decided: Option<(&'static str, String)> = None;
    let mut grace: Option<Instant> = None;
    // Whether the far end ever answered the INVITE with a provisional response or media.
    let mut heard_from_far_end = false;
    // A pipe closes when the far end is gone; its BYE is then already queued on `events`.
    let mut media_open = true;

    // Until answer.
    loop {
        let grace_sleep = async {
            match grace {
                Some(g) => tokio::time::sleep_until(g).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = leg.events.recv() => match ev {
                Some(LegEvent::Ringing) => {
                    heard_from_far_end = true;
                    tracing::debug!("ringing");
                }
                Some(LegEvent::Media(answer)) => {
                    heard_from_far_end = true;
                    if session.as_ref().map(|s| s.remote()) != Some(std::net::SocketAddr::new(answer.addr, answer.port)) {
                        tracing::debug!(?answer, "media description");
                        session = Some(new_session(&answer));
                    }
                }
                Some(LegEvent::BadMedia(why)) => {
                    tracing::warn!(reason = %why, "unusable media description; hanging up");
                    let _ = leg.control.send(LegControl::Hangup);
                    decided.get_or_insert((system_result::SYSTEM, why));
                    grace.get_or_insert(Instant::now() + settings.hangup_grace);
                }
                Some(LegEvent::Answered) => {
                    if decided.is_some() {
                        // A 200 that crossed our CANCEL: the trunk ends it with BYE.
                        continue;
                    }
                    break;
                }
                Some(LegEvent::Ended(info)) => return ended_before_answer(info, decided, started),
                None => return ended_before_answer(EndInfo { sip_status: None, by: EndedSide::Network, detail: "trunk went away".into() }, decided, started),
            },
            _ = tick.tick() => {
                // The media that arrived since the last tick (read here, not as it comes: one
                // wake-up per 20 ms; the jitter buffer orders it by sequence either way).
                if media_open {
                    media_open = leg.media.drain(&mut buf, |d, from| {
                        if let Some(s) = session.as_mut() {
                            let _ = s.on_datagram(from, d);
                        }
                    });
                }
                if let (Some(s), None) = (session.as_mut(), decided.as_ref()) {
                    let mut f = SILENT_FRAME;
                    if s.pop_frame(&mut f) == crate::telephony::jitter::Playout::Frame {
                        if let Some(v) = early.on_frame(&f) {
                            tracing::info!(reason = %v.reason(), "giving up before answer");
                            let _ = leg.control.send(LegControl::Hangup);
                            decided = Some((v.result(), v.reason()));
                            grace = Some(Instant::now() + settings.hangup_grace);
                        }
                    }
                }
            }
            _ = &mut ring_deadline, if decided.is_none() => {
                let _ = leg.control.send(LegControl::Hangup);
                if heard_from_far_end {
                    tracing::info!(timeout_s = settings.ring_timeout.as_secs(), "no answer; cancelling");
                    decided = Some((system_result::NO_ANSWER, "ring timeout".into()));
                } else {
                    // Not even a 180: the trunk or the network is not there.
                    tracing::warn!(timeout_s = settings.ring_timeout.as_secs(), "no response from the trunk");
                    decided = Some((system_result::SYSTEM, crate::telephony::trunk::NO_RESPONSE.into()));
                }
                grace = Some(Instant::now() + settings.hangup_grace);
            }
            _ = grace_sleep => {
                tracing::warn!("the trunk did not confirm the hang-up in time");
                return ended_before_answer(EndInfo { sip_status: None, by: EndedSide::Local, detail: "hang-up not confirmed".into() }, decided, started);
            }
        }
    }
    let ring_ms = started.elapsed().as_millis() as u64;
    let Some(mut session) = session else {
        tracing::warn!("answered without a usable media description; hanging up");
        let _ = leg.control.send(LegControl::Hangup);
        let _ = wait_end(&mut leg, settings.hangup_grace).await;
        return unanswered(
            system_result::SYSTEM,
            Some(200),
            ring_ms,
            Some("answered without media".into()),
        );
    };
    let answered_at_ms = unix_ms();
    tracing::info!(ring_ms, "answered");

    let mut recording = settings
        .recordings
        .as_ref()
        .map(|dir| Recording::create(&dir.join(format!("{call_id}.wav"))));
    if let Some(tell) = on_answer {
        let _ = tell.send(Answered {
            at_ms: answered_at_ms,
            ring_ms,
            recording: recording.as_ref().map(|r| r.path().display().to_string()),
        });
    }
    let received_at_answer = session.stats.received;
    let no_media = sleep(NO_MEDIA_TIMEOUT);
    tokio::pin!(no_media);
    let mut media_checked = false;
    let mut media_failed = false;
    // A transfer plays the scenario's own prompts where it sets them (made when one begins).
    let own_prompts = (
        scenario.transfer_prompt.clone(),
        scenario.queue_prompt.clone(),
    );
    let mut runner = CallRunner::new(scenario, cfg);
    runner.listen_for_greetings(number);
    let mut out: Frame = SILENT_FRAME;
    let mut packet = [0u8; 12 + FRAME_SAMPLES + 16];
    let mut packet_len: Option<usize> = None;
    let hard_stop = sleep(settings.max_duration);
    tokio::pin!(hard_stop);
    let mut sip_status = Some(200);
    let mut robot_hangup = false;
    let mut transfer_report = None;
    // Looked up once per call: a record per frame is then a few atomic adds (api::metrics).
    let lateness = metrics::histogram!("autoinformer_rtp_send_lateness_seconds");
    loop {
        tokio::select! {
            biased;
            scheduled = tick.tick() => {
                if let Some(p) = probe {
                    p.note(scheduled + TIMER_SLACK, Instant::now());
                }
                lateness.record(Instant::now().saturating_duration_since(scheduled + TIMER_SLACK));
                if let Some(n) = packet_len.take() {
                    leg.media.send(&packet[..n], session.remote());
                }
                // What arrived since the last tick, in arrival order, before this frame: a key
                // counts at the same frame as it would had it been read on arrival.
                if media_open {
                    media_open = leg.media.drain(&mut buf, |d, from| {
                        if let Some(MediaEvent::Digit(d)) = session.on_datagram(from, d) {
                            tracing::debug!(digit = %d, "rfc 4733 key");
                            runner.on_event_digit(d);
                            tell(&mut runner);
                        }
                    });
                    if !media_open {
                        tracing::debug!("media transport closed");
                    }
                }
                let mut callee = SILENT_FRAME;
                let _ = session.pop_frame(&mut callee);
                let status = runner.on_frame(&callee, &mut out);
                tell(&mut runner);
                if let Some(r) = recording.as_mut() {
                    r.write(&callee, &out);
                }
                packet_len = session.next_packet(&out, &mut packet);
                if status == FrameStatus::Hangup {
                    if let Some(n) = packet_len.take() {
                        leg.media.send(&packet[..n], session.remote());
                    }
                    if let Some(target) = transfer_of(&runner) {
                        let Some(mut cx) = transfer_cx.clone() else {
                            tracing::warn!("the scenario asks for a transfer and no agents are set up here: not carried out");
                            robot_hangup = true;
                            break;
                        };
                        let (result, captured) = runner.finished().map(|o| (o.result.clone(), o.captured.clone())).unwrap_or_default();
                        if let Some(tx) = on_transfer_started.take() {
                            let to = match &target { transfer::Target::Agents => "agents".to_string(), transfer::Target::External(n) => n.clone() };
                            let _ = tx.send(TransferStarted { to, result: result.clone(), captured: captured.clone() });
                        }
                        // The agent desk's card: what the robot heard, where a call back goes.
                        let (keys, said) = heard_of(runner.events());
                        cx.card.heard(&result, keys, said, &captured);
                        if let Some(Action::Transfer { callback_project: Some(p), .. }) = runner.transfer() {
                            cx.card.callback_project = Some(p.clone());
                        }
                        let heard = captured.into_iter().collect();
                        cx.settings.audio = cx.settings.audio.for_scenario(&own_prompts.0, &own_prompts.1);
                        let caller = transfer::CallerLeg { leg: &mut leg, session: &mut session, tick: &mut tick, recording: &mut recording, hard_stop: hard_stop.deadline() };
                        let end = transfer::run(&cx, target, caller, call_id, &result, heard, on_transfer_answered.take()).await;
                        let by = if end.caller_hung_up { EndedBy::Callee } else { EndedBy::Robot };
                        runner.amend(end.result, by, end.ms);
                        tell(&mut runner);
                        transfer_report = Some(end.report);
                        if !end.caller_up {
                            sip_status = end.caller_end.and_then(|i| i.sip_status).or(sip_status);
                            break;
                        }
                    }
                    robot_hangup = true;
                    break;
                }
            }
            ev = leg.events.recv() => match ev {
                Some(LegEvent::Ended(info)) => {
                    tracing::info!(detail = %info.detail, "callee hung up");
                    sip_status = info.sip_status.or(sip_status);
                    runner.on_callee_hangup();
                    tell(&mut runner);
                    break;
                }
                Some(_) => {}
                None => {
                    runner.on_callee_hangup();
                    break;
                }
            },
            _ = &mut hard_stop => {
                tracing::warn!(max_s = settings.max_duration.as_secs(), "call too long; hanging up");
                runner.on_callee_hangup();
                robot_hangup = true;
                break;
            }
            _ = &mut no_media, if !media_checked => {
                media_checked = true;
                if session.stats.received == received_at_answer {
                    tracing::warn!(after_s = NO_MEDIA_TIMEOUT.as_secs(), "no RTP from the callee since the answer: media path broken; hanging up");
                    media_failed = true;
                    runner.on_callee_hangup();
                    robot_hangup = true;
                    break;
                }
            }
        }
    }
    if robot_hangup {
        let _ = leg.control.send(LegControl::Hangup);
        if let Some(info) = wait_end(&mut leg, settings.hangup_grace).await {
            tracing::debug!(detail = %info.detail, "hang-up confirmed");
        }
    }
    // A failed write was logged by the writer as it happened; the call keeps why.
    let (recording, recording_error) = match recording {
        Some(r) => {
            let done = r.finish().await;
            (done.path.map(|p| p.display().to_string()), done.error)
        }
        None => (None, None),
    };
    let stats = session.stats;
    let outcome = match runner.into_outcome() {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "call failed");
            let mut r = unanswered(
                system_result::SYSTEM,
                sip_status,
                ring_ms,
                Some(e.to_string()),
            );
            r.answered = true;
            r.recording = recording;
            r.recording_error = recording_error;
            r.answered_at_ms = Some(answered_at_ms);
            return r;
        }
    };
    let mut outcome = outcome;
    let mut reason = None;
    if media_failed {
        outcome.result = system_result::SYSTEM.to_string();
        reason = Some(NO_MEDIA_REASON.to_string());
    }
    tracing::info!(result = %outcome.result, duration_ms = outcome.duration_ms, rtp_in = stats.received, rtp_out = stats.sent, foreign = stats.foreign_source, malformed = stats.malformed, "call ended");
    metrics::counter!("autoinformer_amd_verdicts_total", "verdict" => outcome.amd.verdict.as_str())
        .increment(1);
    LiveReport {
        outcome,
        sip_status,
        ring_ms,
        answered: true,
        recording,
        recording_error,
        reason,
        transfer: transfer_report,
        dialed_at_ms: 0,
        answered_at_ms: Some(answered_at_ms),
    }
}

/// The keys pressed and the utterances said, in order.
fn heard_of(events: &[super::CallEvent]) -> (String, Vec<String>) {
    let mut keys = String::new();
    let mut said = Vec::new();
    for e in events {
        match e {
            super::CallEvent::Dtmf { digit, .. } => keys.push(*digit),
            super::CallEvent::Speech { text, .. } => said.push(text.clone()),
        }
    }
    (keys, said)
}

/// The transfer a finished scenario asks for (its callback project is an outbox row held
/// until the transfer's end: `actions_for`).
fn transfer_of(runner: &CallRunner) -> Option<transfer::Target> {
    match runner.transfer()? {
        Action::Transfer { .. } => Some(transfer::Target::Agents),
        Action::TransferExternal { to } => Some(transfer::Target::External(to.clone())),
        _ => None,
    }
}

async fn wait_end(leg: &mut crate::telephony::trunk::Leg, grace: Duration) -> Option<EndInfo> {
    let deadline = sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = leg.events.recv() => match ev {
                Some(LegEvent::Ended(info)) => return Some(info),
                Some(_) => {}
                None => return None,
            },
            _ = &mut deadline => return None,
        }
    }
}

fn ended_before_answer(
    info: EndInfo,
    decided: Option<(&'static str, String)>,
    started: Instant,
) -> LiveReport {
    let ring_ms = started.elapsed().as_millis() as u64;
    let (result, reason) = match (decided, info.sip_status) {
        (Some((r, why)), _) => (r, why),
        (None, Some(s)) => (result_for_status(s), info.detail.clone()),
        (None, None) => (system_result::SYSTEM, info.detail.clone()),
    };
    tracing::info!(result, sip_status = ?info.sip_status, reason = %reason, ring_ms, "not answered");
    unanswered(result, info.sip_status, ring_ms, Some(reason))
}
