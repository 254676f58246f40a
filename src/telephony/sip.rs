//! The `sip` trunk on rsipstack (pinned `=0.7.14`; this module is the only one that knows it).
//! Outbound INVITE with 401/407 digest, an optional outbound proxy, a caller-ID pool,
//! 100/180/183 (early media), CANCEL on the driver's ring timeout, BYE both ways, every final
//! status handed to the driver to map (docs/telephony.md). Each call's dialog is removed from the
//! layer when it ends, so nothing accumulates over thousands of calls.
use super::config::SipConfig;
use super::registrar::{AgentDirectory, Registrar};
use super::sdp::{self, Codec};
use super::sip_agents::Directory;
use super::trunk::{
    BoxFuture, DialRequest, EndInfo, EndedSide, Leg, LegControl, LegEvent, Lines, MediaTransport,
    PortPool, Trunk, TrunkError,
};
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use rsipstack::EndpointBuilder;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Our `User-Agent` (also on the responses the stack makes up itself, such as Timer B's 408).
const USER_AGENT: &str = concat!("autoinformer/", env!("CARGO_PKG_VERSION"));

/// How long to wait for the INVITE's own result once its dialog has ended: it carries the final
/// response, and with it who made that response.
const INVITE_RESULT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The SIP transaction timers (RFC 3261 §17). `t1` is the round-trip estimate: INVITE
/// retransmissions start at it and a far end that never answers the INVITE at all times out
/// after 64×T1 (Timer B, 32 s by default). Tests shorten it; a trunk uses the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipTimers {
    pub t1: std::time::Duration,
}

impl Default for SipTimers {
    fn default() -> Self {
        Self {
            t1: std::time::Duration::from_millis(500),
        }
    }
}

/// A running SIP user agent for outbound calls.
pub struct SipTrunk {
    cfg: SipConfig,
    layer: Arc<DialogLayer>,
    local: SocketAddr,
    rtp_ip: IpAddr,
    ports: PortPool,
    codecs: Vec<Codec>,
    next_caller: AtomicUsize,
    lines: Lines,
    cancel: CancellationToken,
    /// Agents' registrations (docs/agents.md).
    registrar: Arc<Registrar>,
    directory: Directory,
}

impl Drop for SipTrunk {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn parse_codecs(names: &[String]) -> Result<Vec<Codec>, String> {
    let mut out = Vec::new();
    for n in names {
        out.push(match n.to_ascii_lowercase().as_str() {
            "pcmu" | "ulaw" => Codec::Pcmu,
            "pcma" | "alaw" => Codec::Pcma,
            other => return Err(format!("trunk.sip.codecs: {other:?} is not pcmu or pcma")),
        });
    }
    if out.is_empty() {
        return Err("trunk.sip.codecs: empty".into());
    }
    Ok(out)
}

impl SipTrunk {
    /// Binds the SIP socket and starts the user agent. Checks the settings first.
    pub async fn start(cfg: SipConfig) -> Result<Self, String> {
        Self::start_with(cfg, SipTimers::default()).await
    }

    /// As `start`, with the transaction timers given.
    pub async fn start_with(cfg: SipConfig, timers: SipTimers) -> Result<Self, String> {
        if cfg.server.trim().is_empty() {
            return Err("trunk.sip.server is not set (host:port of the SIP trunk)".into());
        }
        if !matches!(cfg.transport.as_str(), "udp" | "tcp") {
            return Err(format!(
                "trunk.sip.transport: {:?} is not udp or tcp",
                cfg.transport
            ));
        }
        let codecs = parse_codecs(&cfg.codecs)?;
        let listen: SocketAddr = cfg
            .listen
            .parse()
            .map_err(|e| format!("trunk.sip.listen {:?}: {e}", cfg.listen))?;
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let conn = UdpConnection::create_connection(listen, None, Some(cancel.child_token()))
            .await
            .map_err(|e| format!("trunk.sip.listen {listen}: {e}"))?;
        let local = conn
            .get_addr()
            .get_socketaddr()
            .map_err(|e| e.to_string())?;
        transport.add_transport(conn.into());
        let option = EndpointOption {
            callid_suffix: Some("autoinformer".into()),
            t1: timers.t1,
            t1x64: timers.t1 * 64,
            ..Default::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent(USER_AGENT)
            .with_option(option)
            .build();
        let mut incoming = endpoint
            .incoming_transactions()
            .map_err(|e| e.to_string())?;
        let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let serve_token = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = serve_token.cancelled() => {}
            }
        });
        // In-dialog requests from the far end (BYE, re-INVITE, INFO…) go to their dialog; the
        // rest (agents' REGISTERs, strangers' INVITEs, OPTIONS) to `sip_agents`.
        let in_layer = layer.clone();
        let registrar = Arc::new(Registrar::new());
        let directory: Directory = Arc::default();
        let (in_registrar, in_directory) = (registrar.clone(), directory.clone());
        tokio::spawn(async move {
            while let Some(mut tx) = incoming.recv().await {
                match in_layer.match_dialog(&tx) {
                    Some(Dialog::Invite(mut d)) => {
                        tokio::spawn(async move {
                            if let Err(e) = d.handle(&mut tx).await {
                                tracing::debug!(error = %e, "in-dialog request failed");
                            }
                        });
                    }
                    _ => {
                        tokio::spawn(super::sip_agents::serve(
                            tx,
                            in_registrar.clone(),
                            in_directory.clone(),
                        ));
                    }
                }
            }
        });
        // Registrations whose time is up end (their agents go offline).
        let (ex_registrar, ex_directory, ex_token) =
            (registrar.clone(), directory.clone(), cancel.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = ex_token.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let dir = ex_directory.read().ok().and_then(|d| d.clone());
                if let Some(d) = dir {
                    ex_registrar.expire(d.as_ref(), std::time::Instant::now());
                }
            }
        });
        let rtp_ip: IpAddr = if cfg.rtp_ip.trim().is_empty() {
            if local.ip().is_unspecified() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                local.ip()
            }
        } else {
            cfg.rtp_ip
                .trim()
                .parse()
                .map_err(|e| format!("trunk.sip.rtp_ip {:?}: {e}", cfg.rtp_ip))?
        };
        let bind_ip = if local.ip().is_unspecified() {
            local.ip()
        } else {
            rtp_ip
        };
        tracing::info!(sip = %local, server = %cfg.server, proxy = %cfg.outbound_proxy, transport = %cfg.transport, "sip trunk up");
        Ok(Self {
            ports: PortPool::new(bind_ip, cfg.rtp_port_min, cfg.rtp_port_max),
            cfg,
            layer,
            local,
            rtp_ip,
            codecs,
            next_caller: AtomicUsize::new(0),
            lines: Lines::new(),
            cancel,
            registrar,
            directory,
        })
    }

    /// The agents who may register here (until this is set every REGISTER gets 403).
    pub fn set_directory(&self, d: Arc<dyn AgentDirectory>) {
        if let Ok(mut g) = self.directory.write() {
            *g = Some(d);
        }
    }

    /// Where a registered agent is reached now.
    pub fn agent_contact(&self, user: &str) -> Option<String> {
        self.registrar.contact_of(user, std::time::Instant::now())
    }

    /// Forgets an agent's registration (deleted, or its SIP user changed).
    pub fn forget_agent(&self, user: &str) {
        self.registrar.forget(user);
    }

    /// The local SIP address (useful when the port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Dialogs the layer still holds (0 when idle: nothing leaks).
    pub fn dialogs(&self) -> usize {
        self.layer.len()
    }

    fn caller_id(&self, req: &DialRequest) -> String {
        if let Some(c) = &req.caller_id {
            return c.clone();
        }
        if self.cfg.caller_ids.is_empty() {
            return if self.cfg.username.is_empty() {
                "autoinformer".into()
            } else {
                self.cfg.username.clone()
            };
        }
        let i = self.next_caller.fetch_add(1, Ordering::Relaxed) % self.cfg.caller_ids.len();
        self.cfg.caller_ids[i].clone()
    }

    fn uri(&self, s: &str) -> Result<rsipstack::sip::Uri, TrunkError> {
        rsipstack::sip::Uri::try_from(s)
            .map_err(|e| TrunkError::Other(format!("bad SIP URI {s:?}: {e}")))
    }
}

/// A number as the user part of a SIP URI: digits and a leading `+` only.
fn user_part(number: &str) -> Result<String, TrunkError> {
    let n = number.trim();
    let ok = !n.is_empty()
        && n.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '+'));
    if ok {
        Ok(n.to_string())
    } else {
        Err(TrunkError::BadNumber(
            number.to_string(),
            "only digits and a leading + can be dialed".into(),
        ))
    }
}

impl SipTrunk {
    /// Sends the INVITE `opt` describes with our SDP offer for `socket`, and hands the call's
    /// signalling to a task; the leg's media is `socket`.
    fn place(
        &self,
        socket: super::rtp_socket::RtpSocket,
        offer: String,
        mut opt: InviteOption,
        line: Option<super::trunk::LineGuard>,
    ) -> Result<Leg, TrunkError> {
        opt.content_type = Some("application/sdp".into());
        opt.offer = Some(offer.into_bytes());
        let (state_tx, state_rx) = self.layer.new_dialog_state_channel();
        let (dialog, invite) = self
            .layer
            .do_invite_async(opt, state_tx)
            .map_err(|e| TrunkError::Other(format!("INVITE: {e}")))?;
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let layer = self.layer.clone();
        let span = tracing::Span::current();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                // Held until the signalling is done: ends, or unwinds from a panic.
                let _line = line;
                signalling(layer.clone(), dialog, invite, state_rx, ev_tx, ctl_rx).await;
            },
            span,
        ));
        Ok(Leg {
            events: ev_rx,
            control: ctl_tx,
            media: MediaTransport::Rtp(socket),
        })
    }

    /// Calls an agent who registered as `user` at the address of their registration: the
    /// From display name shows the caller («Иванов Иван — Хочу записаться») and the
    /// `X-Autoinformer-*` headers carry the contact's fields and what the robot heard. The
    /// trunk's line limit does not count these legs.
    pub fn dial_agent(
        &self,
        user: &str,
        req: &crate::agents::service::AgentDial,
    ) -> Result<Leg, TrunkError> {
        let contact_uri = self
            .agent_contact(user)
            .ok_or_else(|| TrunkError::Other(format!("agent {user} is not registered")))?;
        self.dial_uri(&contact_uri, req)
    }

    /// Calls a SIP URI directly (an agent's registration or fixed URI).
    pub fn dial_uri(
        &self,
        uri: &str,
        req: &crate::agents::service::AgentDial,
    ) -> Result<Leg, TrunkError> {
        let socket = self.ports.bind_rtp()?;
        let rtp_port = socket
            .local_addr()
            .ok_or_else(|| TrunkError::Other("rtp socket without an address".into()))?
            .port();
        let session_id = u64::from(rtp_port) << 32 | u64::from(rand::random::<u32>());
        let offer = sdp::offer(session_id, self.rtp_ip, rtp_port, &self.codecs);
        let callee = self.uri(uri)?;
        let caller = self.uri(&format!("sip:autoinformer@{}", self.local))?;
        let contact = self.uri(&format!("sip:autoinformer@{}", self.local))?;
        let display: String = req
            .display
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        let headers = req
            .headers
            .iter()
            .map(|(k, v)| {
                let v: String = v.chars().filter(|c| !c.is_control()).collect();
                rsipstack::sip::Header::Other(k.clone(), v)
            })
            .collect();
        self.place(
            socket,
            offer,
            InviteOption {
                caller_display_name: (!display.is_empty()).then_some(display),
                caller,
                callee,
                contact,
                headers: Some(headers),
                call_id: Some(format!("{}-{}", req.call_id, rand::random::<u32>())),
                ..Default::default()
            },
            None,
        )
    }
}

impl Trunk for SipTrunk {
    fn name(&self) -> &'static str {
        "sip"
    }

    fn max_calls(&self) -> usize {
        self.cfg.max_calls
    }

    fn dial(&self, req: DialRequest) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        Box::pin(async move {
            let line = self.lines.take(self.cfg.max_calls)?;
            let user = user_part(&req.number)?;
            let socket = self.ports.bind_rtp()?;
            let rtp_port = socket
                .local_addr()
                .ok_or_else(|| TrunkError::Other("rtp socket without an address".into()))?
                .port();
            let session_id = u64::from(rtp_port) << 32 | u64::from(rand::random::<u32>());
            let offer = sdp::offer(session_id, self.rtp_ip, rtp_port, &self.codecs);
            let tparam = if self.cfg.transport == "tcp" {
                ";transport=tcp"
            } else {
                ""
            };
            let server = self.cfg.server.trim();
            let domain = if self.cfg.domain.is_empty() {
                server.split(':').next().unwrap_or(server).to_string()
            } else {
                self.cfg.domain.clone()
            };
            let callee = self.uri(&format!("sip:{user}@{server}{tparam}"))?;
            let caller_user = self.caller_id(&req);
            if caller_user.is_empty()
                || !caller_user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c))
            {
                return Err(TrunkError::BadNumber(
                    caller_user,
                    "a caller ID is letters, digits and + - . _ only".into(),
                ));
            }
            let caller = self.uri(&format!("sip:{caller_user}@{domain}"))?;
            let contact_user = if self.cfg.username.is_empty() {
                "autoinformer"
            } else {
                self.cfg.username.as_str()
            };
            let contact = self.uri(&format!("sip:{contact_user}@{}", self.local))?;
            let destination = if self.cfg.outbound_proxy.trim().is_empty() {
                None
            } else {
                let mut a = SipAddr::try_from(
                    &self.uri(&format!("sip:{}{tparam}", self.cfg.outbound_proxy.trim()))?,
                )
                .map_err(|e| TrunkError::Other(e.to_string()))?;
                if self.cfg.transport == "tcp" {
                    a.r#type = Some(rsipstack::sip::Transport::Tcp);
                }
                Some(a)
            };
            let credential = (!self.cfg.username.is_empty()).then(|| Credential {
                username: self.cfg.username.clone(),
                password: self.cfg.password.clone(),
                realm: None,
                ..Default::default()
            });
            self.place(
                socket,
                offer,
                InviteOption {
                    caller,
                    callee,
                    contact,
                    destination,
                    credential,
                    call_id: Some(format!("{}-{}", req.call_id, rand::random::<u32>())),
                    ..Default::default()
                },
                Some(line),
            )
        })
    }
}

/// Parses one SIP datagram with the stack's parser (fuzzing and diagnostics): `Err` says why.
pub fn parse_message(data: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    rsipstack::sip::SipMessage::try_from(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Whether a final response was made up by our own stack rather than sent by the far end: the
/// transaction layer answers an INVITE nobody answered (Timer B, or Timer C after a provisional)
/// with a 408 built from our request — the request's To without a tag, our User-Agent. A 408
/// that came over the wire carries the To tag of whoever sent it (RFC 3261 §8.2.6.2).
fn made_here(resp: &rsipstack::sip::Response) -> bool {
    use rsipstack::sip::HeadersExt;
    resp.status_code.code() == 408
        && resp
            .to_header()
            .is_ok_and(|to| to.tag().is_ok_and(|t| t.is_none()))
        && resp
            .user_agent_header()
            .is_some_and(|ua| ua.value() == USER_AGENT)
}

/// How a call ended on a final failure response (3xx-6xx) to its INVITE. A timeout made up by
/// our own stack is no status from the far end: `system`, "no response from the trunk" (never
/// the carrier's 408 that means `no_answer`).
fn failure_end(
    resp: &rsipstack::sip::Response,
    hangup_by_us: bool,
    heard: bool,
) -> (Option<u16>, EndedSide, String) {
    let c = resp.status_code.code();
    if made_here(resp) {
        let detail = if heard {
            "no final response from the trunk (the INVITE timed out after ringing)"
        } else {
            "no response from the trunk (the INVITE timed out unanswered)"
        };
        return (None, EndedSide::Network, detail.to_string());
    }
    let by = if hangup_by_us && c == 487 {
        EndedSide::Local
    } else {
        EndedSide::Remote
    };
    // `StatusCode` displays as "486 Busy Here".
    (Some(c), by, resp.status_code.to_string())
}

fn media_event(body: &[u8]) -> Option<LegEvent> {
    if body.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    Some(match sdp::parse_answer(&text) {
        Ok(a) => LegEvent::Media(a),
        Err(e) => LegEvent::BadMedia(format!("SDP answer: {e}")),
    })
}

/// One call's signalling: dialog states → leg events; the driver's hang-up → CANCEL or BYE.
async fn signalling(
    layer: Arc<DialogLayer>,
    dialog: rsipstack::dialog::invite_dialog::InviteDialog,
    invite: rsipstack::platform::JoinHandle<rsipstack::dialog::invitation::InviteAsyncResult>,
    mut states: rsipstack::dialog::dialog::DialogStateReceiver,
    events: mpsc::UnboundedSender<LegEvent>,
    mut control: mpsc::UnboundedReceiver<LegControl>,
) {
    let first_id = dialog.id();
    let mut ids = vec![first_id];
    let mut answered = false;
    let mut sent_media = false;
    let mut final_status: Option<u16> = None;
    let mut hangup_by_us = false;
    // Whether the far end sent a provisional response (180/183).
    let mut heard = false;
    let mut control_open = true;
    let mut invite = Some(invite);
    let end = |status: Option<u16>, by: EndedSide, detail: String| {
        let _ = events.send(LegEvent::Ended(EndInfo {
            sip_status: status,
            by,
            detail,
        }));
    };
    loop {
        let invite_done = async {
            match invite.as_mut() {
                Some(h) => Some(h.await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            st = states.recv() => {
                let Some(st) = st else {
                    end(final_status, EndedSide::Network, "dialog state channel closed".into());
                    break;
                };
                match st {
                    DialogState::Early(_, resp) => {
                        heard = true;
                        match media_event(&resp.body) {
                            Some(ev) if !sent_media => {
                                sent_media = matches!(ev, LegEvent::Media(_));
                                let _ = events.send(ev);
                            }
                            _ => { let _ = events.send(LegEvent::Ringing); }
                        }
                    }
                    DialogState::Confirmed(id, resp) => {
                        if !ids.contains(&id) { ids.push(id); }
                        if !answered {
                            answered = true;
                            final_status = Some(200);
                            match media_event(&resp.body) {
                                Some(ev) => { let _ = events.send(ev); }
                                None if sent_media => {}
                                None => { let _ = events.send(LegEvent::BadMedia("200 OK without SDP".into())); }
                            }
                            let _ = events.send(LegEvent::Answered);
                        }
                    }
                    DialogState::Terminated(id, reason) => {
                        if !ids.contains(&id) { ids.push(id); }
                        let (status, by, detail) = match reason {
                            TerminatedReason::UasBye => (Some(200), EndedSide::Remote, "BYE from the callee".to_string()),
                            TerminatedReason::UacBye => (Some(200), EndedSide::Local, "BYE sent".to_string()),
                            TerminatedReason::UacCancel => (Some(487), EndedSide::Local, "cancelled".to_string()),
                            TerminatedReason::Timeout => (final_status, EndedSide::Network, "SIP timeout".to_string()),
                            TerminatedReason::ProxyAuthRequired => (Some(407), EndedSide::Remote, "authentication failed".to_string()),
                            TerminatedReason::UasBusy | TerminatedReason::UacBusy => (Some(486), EndedSide::Remote, "busy".to_string()),
                            TerminatedReason::UasDecline => (Some(603), EndedSide::Remote, "declined".to_string()),
                            TerminatedReason::ProxyError(c) | TerminatedReason::UacOther(c) | TerminatedReason::UasOther(c) => {
                                (Some(c.code()), EndedSide::Remote, c.to_string())
                            }
                        };
                        let (mut status, mut by, mut detail) = (if answered { Some(200) } else if hangup_by_us && status.is_none() { Some(487) } else { status }, by, detail);
                        // Unanswered: the INVITE's own result holds the final response, and
                        // with it whether the far end sent it (its dialog state does not say).
                        if let (false, Some(h)) = (answered, invite.as_mut()) {
                            if let Ok(Ok(Ok((_, Some(resp))))) = tokio::time::timeout(INVITE_RESULT_WAIT, h).await {
                                invite = None;
                                if resp.status_code.code() >= 300 {
                                    (status, by, detail) = failure_end(&resp, hangup_by_us, heard);
                                }
                            }
                        }
                        tracing::debug!(?status, detail = %detail, "dialog terminated");
                        end(status, by, detail);
                        break;
                    }
                    _ => {}
                }
            }
            r = invite_done => {
                invite = None;
                match r {
                    Some(Ok(Ok((id, resp)))) => {
                        if !ids.contains(&id) { ids.push(id); }
                        let code = resp.as_ref().map(|r| r.status_code.code());
                        if let (Some(c), Some(resp)) = (code, resp.as_ref()) {
                            if c >= 300 {
                                let (status, by, detail) = failure_end(resp, hangup_by_us, heard);
                                end(status, by, detail);
                                break;
                            }
                        } else if !answered {
                            end(None, EndedSide::Network, "no final response to INVITE".into());
                            break;
                        }
                    }
                    Some(Ok(Err(e))) => {
                        end(None, EndedSide::Network, format!("INVITE failed: {e}"));
                        break;
                    }
                    Some(Err(e)) => {
                        end(None, EndedSide::Network, format!("INVITE task: {e}"));
                        break;
                    }
                    None => {}
                }
            }
            c = control.recv(), if control_open => {
                if c.is_none() {
                    // The driver is gone: hang up if it never did, then just finish the dialog.
                    control_open = false;
                }
                if hangup_by_us {
                    continue;
                }
                hangup_by_us = true;
                let r = if answered { dialog.bye().await } else { dialog.cancel().await };
                if let Err(e) = r {
                    tracing::debug!(error = %e, "hang-up request failed");
                }
                if answered {
                    end(Some(200), EndedSide::Local, "BYE sent".into());
                    break;
                }
            }
        }
    }
    for id in &ids {
        layer.remove_dialog(id);
    }
    if let Some(h) = invite {
        h.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_numbers_become_uri_users() {
        assert_eq!(user_part("+79123456789").unwrap(), "+79123456789");
        assert!(user_part("+7912;x=1").is_err());
        assert!(user_part("").is_err());
        assert!(user_part("79@evil").is_err());
    }

    #[test]
    fn malformed_sip_is_an_error_not_a_panic() {
        for bad in [
            &b"\xff\xfe"[..],
            b"HELLO WORLD\r\n\r\n",
            b"",
            b"SIP/2.0 abc OK\r\n\r\n",
        ] {
            assert!(
                parse_message(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n").is_ok());
    }

    #[tokio::test]
    async fn caller_ids_are_presented_in_turn_unless_the_call_names_one() {
        let cfg = SipConfig {
            server: "127.0.0.1:5".into(),
            listen: "127.0.0.1:0".into(),
            caller_ids: vec!["+74950000001".into(), "+74950000002".into()],
            ..Default::default()
        };
        let t = SipTrunk::start(cfg).await.unwrap();
        let req = |c: Option<&str>| DialRequest {
            call_id: "x".into(),
            number: "+79001234567".into(),
            caller_id: c.map(str::to_string),
        };
        let got: Vec<String> = (0..3).map(|_| t.caller_id(&req(None))).collect();
        assert_eq!(got, ["+74950000001", "+74950000002", "+74950000001"]);
        assert_eq!(t.caller_id(&req(Some("+78120000000"))), "+78120000000");
    }

    #[tokio::test]
    async fn bad_settings_are_refused_at_start_with_the_key_named() {
        for (cfg, key) in [
            (SipConfig::default(), "trunk.sip.server"),
            (
                SipConfig {
                    server: "x:1".into(),
                    transport: "sctp".into(),
                    ..Default::default()
                },
                "trunk.sip.transport",
            ),
            (
                SipConfig {
                    server: "x:1".into(),
                    listen: "nowhere".into(),
                    ..Default::default()
                },
                "trunk.sip.listen",
            ),
        ] {
            let e = SipTrunk::start(cfg).await.err().expect("refused");
            assert!(e.contains(key), "{e}");
        }
    }

    fn response(text: &str) -> rsipstack::sip::Response {
        match rsipstack::sip::SipMessage::try_from(text) {
            Ok(rsipstack::sip::SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_timeout_made_by_our_stack_is_no_status_from_the_far_end() {
        let head = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n";
        let ours = response(&format!(
            "SIP/2.0 408 Request Timeout\r\n{head}To: <sip:+79001234567@h>\r\nUser-Agent: {USER_AGENT}\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(made_here(&ours));
        let (status, by, detail) = failure_end(&ours, false, false);
        assert_eq!((status, by), (None, EndedSide::Network));
        assert!(detail.contains("no response from the trunk"), "{detail}");
        // The far end's 408 (its To tag; any or no User-Agent) stays a 408.
        for far in [
            format!("SIP/2.0 408 Request Timeout\r\n{head}To: <sip:+79001234567@h>;tag=far\r\nContent-Length: 0\r\n\r\n"),
            format!("SIP/2.0 408 Request Timeout\r\n{head}To: <sip:+79001234567@h>;tag=far\r\nUser-Agent: {USER_AGENT}\r\nContent-Length: 0\r\n\r\n"),
            format!("SIP/2.0 408 Request Timeout\r\n{head}To: <sip:+79001234567@h>\r\nServer: carrier\r\nContent-Length: 0\r\n\r\n"),
        ] {
            let r = response(&far);
            assert!(!made_here(&r), "{far}");
            assert_eq!(failure_end(&r, false, true).0, Some(408));
        }
        let busy = response(&format!(
            "SIP/2.0 486 Busy Here\r\n{head}To: <sip:+79001234567@h>\r\nUser-Agent: {USER_AGENT}\r\nContent-Length: 0\r\n\r\n"
        ));
        assert_eq!(
            failure_end(&busy, false, false),
            (Some(486), EndedSide::Remote, "486 Busy Here".to_string())
        );
    }

    #[test]
    fn codec_names_are_checked() {
        assert_eq!(
            parse_codecs(&["pcma".into(), "PCMU".into()]).unwrap(),
            vec![Codec::Pcma, Codec::Pcmu]
        );
        assert!(parse_codecs(&["opus".into()]).is_err());
    }
}
