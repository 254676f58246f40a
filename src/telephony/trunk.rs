//! The trunk boundary: one trait for placing a call and exchanging 20 ms media and events with
//! it, so the call driver and the dialer never know which carrier they talk to (the SIP trunk or
//! the built-in simulated carrier).
use super::sdp::MediaAnswer;
use std::net::SocketAddr;
use tokio::sync::mpsc;

pub use crate::BoxFuture;

/// One call to place.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// Our id of the call (logs, recordings, SIP Call-ID).
    pub call_id: String,
    /// The callee in E.164 (`+79123456789`).
    pub number: String,
    /// The caller ID to present; the trunk picks from its pool when `None`.
    pub caller_id: Option<String>,
}

/// Progress of a placed call, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// 180 (or 183 without media).
    Ringing,
    /// The far end's media description arrived (183 early media or the 200's answer).
    Media(MediaAnswer),
    /// The far end sent a media description we cannot use (no common codec, garbage).
    BadMedia(String),
    /// 200 OK: the call is up.
    Answered,
    /// The call is over (final failure, CANCEL done, BYE either way, network error).
    Ended(EndInfo),
}

/// How a call ended, as the trunk saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndInfo {
    /// The SIP final status when the far end sent one (486, 487 after our CANCEL, 200 for an
    /// answered call ended by BYE). `None` when none came: a trunk that never answered the
    /// INVITE ends with `by: Network` and "no response from the trunk" — the 408 our own SIP
    /// stack makes up on its timeout is not the carrier's 408.
    pub sip_status: Option<u16>,
    /// Who ended it.
    pub by: EndedSide,
    /// A short human reason for logs.
    pub detail: String,
}

/// How the reason of a call the trunk never answered at all begins (not a status, not a
/// provisional: the INVITE timed out, or the ring timeout passed in silence). The dialer's
/// trunk watch counts these (docs/telephony.md, "When the trunk does not answer").
pub const NO_RESPONSE: &str = "no response from the trunk";

/// Which side ended a call at the signalling level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedSide {
    Local,
    Remote,
    Network,
}

/// What the driver asks of the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegControl {
    /// CANCEL before answer, BYE after.
    Hangup,
}

/// Why a call could not even be attempted.
#[derive(Debug, thiserror::Error)]
pub enum TrunkError {
    #[error("no free media port in {0}")]
    NoPort(String),
    #[error("bad number {0:?}: {1}")]
    BadNumber(String, String),
    /// Every line of the trunk's limit is taken (`max_calls`).
    #[error("all {max} lines of the trunk are in use")]
    LinesFull { max: usize },
    #[error("trunk: {0}")]
    Other(String),
}

/// A trunk's count of calls up against its line limit.
#[derive(Debug, Default, Clone)]
pub struct Lines(std::sync::Arc<std::sync::atomic::AtomicUsize>);

/// One line, taken while a call is up: dropping it frees the line, however the call's task
/// ends — normally, or by a panic unwinding it.
#[derive(Debug)]
pub struct LineGuard(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Lines {
    /// No line taken.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a line, unless `max` are taken already.
    pub fn take(&self, max: usize) -> Result<LineGuard, TrunkError> {
        use std::sync::atomic::Ordering;
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| LineGuard(self.0.clone()))
            .map_err(|_| TrunkError::LinesFull { max })
    }

    /// Lines taken now.
    pub fn in_use(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for LineGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A placed call: its progress events, a control channel and its media transport.
pub struct Leg {
    pub events: mpsc::UnboundedReceiver<LegEvent>,
    pub control: mpsc::UnboundedSender<LegControl>,
    pub media: MediaTransport,
}

/// A carrier the robot can call through.
pub trait Trunk: Send + Sync {
    /// A short name for logs (`sim`, `sip`).
    fn name(&self) -> &'static str;
    /// Places a call; returns once the call is on its way (INVITE sent).
    fn dial(&self, req: DialRequest) -> BoxFuture<'_, Result<Leg, TrunkError>>;
    /// Most calls this trunk takes at once (the global line limit).
    fn max_calls(&self) -> usize;
}

/// Where a leg's RTP datagrams travel: a UDP socket (SIP) or an in-process pipe to the
/// simulated carrier. All carry the same RTP bytes through the same `MediaSession`.
pub enum MediaTransport {
    /// A socket in the reactor.
    Udp(tokio::net::UdpSocket),
    /// A call leg's socket, read at its ticks (`drain`) and registered only if waited on.
    Rtp(super::rtp_socket::RtpSocket),
    Pipe(PipeEnd),
}

/// One end of an in-process datagram pipe.
pub struct PipeEnd {
    pub rx: mpsc::Receiver<Vec<u8>>,
    pub tx: mpsc::Sender<Vec<u8>>,
    /// The address the other end pretends to send from.
    pub peer: SocketAddr,
}

/// Datagrams a pipe buffers before new ones are dropped (like a full socket buffer).
pub const PIPE_DEPTH: usize = 64;

/// A connected pair of pipe ends.
pub fn pipe(a_addr: SocketAddr, b_addr: SocketAddr) -> (PipeEnd, PipeEnd) {
    let (atx, brx) = mpsc::channel(PIPE_DEPTH);
    let (btx, arx) = mpsc::channel(PIPE_DEPTH);
    (
        PipeEnd {
            rx: arx,
            tx: atx,
            peer: b_addr,
        },
        PipeEnd {
            rx: brx,
            tx: btx,
            peer: a_addr,
        },
    )
}

impl MediaTransport {
    /// The local address (pipes report a fixed loopback one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            MediaTransport::Udp(s) => s.local_addr().ok(),
            MediaTransport::Rtp(s) => s.local_addr(),
            MediaTransport::Pipe(_) => None,
        }
    }

    /// Hands every datagram queued now to `f` without waiting (a live call reads its media
    /// once per 20 ms tick); false once the transport is closed.
    pub fn drain(&mut self, buf: &mut [u8], mut f: impl FnMut(&[u8], SocketAddr)) -> bool {
        use super::rtp_socket::DRAIN_MAX;
        match self {
            MediaTransport::Rtp(s) => s.drain(buf, f),
            MediaTransport::Udp(s) => {
                for _ in 0..DRAIN_MAX {
                    match s.try_recv_from(buf) {
                        Ok((n, from)) => f(&buf[..n], from),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "rtp socket receive failed");
                            return false;
                        }
                    }
                }
                true
            }
            MediaTransport::Pipe(p) => {
                for _ in 0..DRAIN_MAX {
                    match p.rx.try_recv() {
                        Ok(d) => f(&d, p.peer),
                        Err(mpsc::error::TryRecvError::Empty) => return true,
                        Err(mpsc::error::TryRecvError::Disconnected) => return false,
                    }
                }
                true
            }
        }
    }

    /// Receives one datagram into `buf`; `None` when the transport is closed.
    pub async fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        match self {
            MediaTransport::Udp(s) => loop {
                match s.recv_from(buf).await {
                    Ok(r) => return Some(r),
                    // ICMP port unreachable surfaces as an error on Linux: not fatal for RTP.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "rtp socket receive failed");
                        return None;
                    }
                }
            },
            MediaTransport::Rtp(s) => s.recv(buf).await,
            MediaTransport::Pipe(p) => {
                let d = p.rx.recv().await?;
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Some((n, p.peer))
            }
        }
    }

    /// Sends one datagram without waiting (RTP never queues behind a slow peer).
    pub fn send(&self, buf: &[u8], to: SocketAddr) {
        match self {
            MediaTransport::Udp(s) => {
                if let Err(e) = s.try_send_to(buf, to) {
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        tracing::trace!(error = %e, "rtp send failed");
                    }
                }
            }
            MediaTransport::Rtp(s) => s.send(buf, to),
            MediaTransport::Pipe(p) => {
                let _ = p.tx.try_send(buf.to_vec());
            }
        }
    }
}

/// Hands out per-call RTP ports from a configured range (even ports, as RTP wants), binding each
/// on `ip`. The socket owns the port: dropping it gives the port back.
pub struct PortPool {
    ip: std::net::IpAddr,
    min: u16,
    max: u16,
    next: std::sync::atomic::AtomicU32,
}

impl PortPool {
    /// A pool over `min..=max` on `ip`.
    pub fn new(ip: std::net::IpAddr, min: u16, max: u16) -> Self {
        let (min, max) = (min.min(max), min.max(max));
        Self {
            ip,
            min,
            max,
            next: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Binds the next free even port of the range, as a socket in the reactor.
    pub fn bind(&self) -> Result<tokio::net::UdpSocket, TrunkError> {
        self.bind_with(|s| tokio::net::UdpSocket::from_std(s).ok())
    }

    /// Binds the next free even port of the range, as a call leg's `RtpSocket` (read at its
    /// ticks, in the reactor only once something waits on it).
    pub fn bind_rtp(&self) -> Result<super::rtp_socket::RtpSocket, TrunkError> {
        self.bind_with(|s| super::rtp_socket::RtpSocket::new(s).ok())
    }

    fn bind_with<T>(
        &self,
        wrap: impl Fn(std::net::UdpSocket) -> Option<T>,
    ) -> Result<T, TrunkError> {
        let first = self.min + self.min % 2;
        let slots = u32::from((self.max.saturating_sub(first)) / 2 + 1);
        for _ in 0..slots {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % slots;
            let port = first + (i * 2) as u16;
            if let Ok(s) = std::net::UdpSocket::bind((self.ip, port)) {
                if s.set_nonblocking(true).is_ok() {
                    if let Some(s) = wrap(s) {
                        return Ok(s);
                    }
                }
            }
        }
        Err(TrunkError::NoPort(format!(
            "{}:{}-{}",
            self.ip, self.min, self.max
        )))
    }
}

/// Maps a SIP final status to a system result (docs/telephony.md).
pub fn result_for_status(status: u16) -> &'static str {
    use crate::scenario::system_result as r;
    match status {
        486 | 600 => r::BUSY,
        603 => r::REJECTED,
        // Our own CANCEL after the ring timeout ends the INVITE with 487; a 408 here is one
        // the far end sent (the SIP trunk reports its own stack's timeout with no status).
        487 | 408 => r::NO_ANSWER,
        _ => r::SYSTEM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_spec_results() {
        for (s, r) in [
            (486, "busy"),
            (600, "busy"),
            (603, "rejected"),
            (404, "system"),
            (410, "system"),
            (484, "system"),
            (480, "system"),
            (503, "system"),
            (500, "system"),
            (487, "no_answer"),
            (408, "no_answer"),
        ] {
            assert_eq!(result_for_status(s), r, "{s}");
        }
    }

    #[tokio::test]
    async fn the_port_pool_hands_out_even_ports_and_reuses_freed_ones() {
        let pool = PortPool::new("127.0.0.1".parse().unwrap(), 41000, 41003);
        let a = pool.bind().unwrap();
        let b = pool.bind().unwrap();
        let pa = a.local_addr().unwrap().port();
        let pb = b.local_addr().unwrap().port();
        assert!(
            pa.is_multiple_of(2) && pb.is_multiple_of(2) && pa != pb,
            "{pa} {pb}"
        );
        assert!(matches!(pool.bind(), Err(TrunkError::NoPort(_))));
        drop(a);
        assert_eq!(pool.bind().unwrap().local_addr().unwrap().port(), pa);
    }

    #[test]
    fn lines_are_refused_past_the_limit_and_freed_when_their_call_ends() {
        let lines = Lines::new();
        let a = lines.take(2).unwrap();
        let _b = lines.take(2).unwrap();
        assert!(matches!(
            lines.take(2),
            Err(TrunkError::LinesFull { max: 2 })
        ));
        drop(a);
        assert_eq!(lines.in_use(), 1);
        assert!(
            lines.take(2).is_ok(),
            "the freed line, taken and freed again"
        );
        assert_eq!(lines.in_use(), 1);
    }

    #[tokio::test]
    async fn a_call_task_that_panics_frees_its_line() {
        let lines = Lines::new();
        let line = lines.take(1).unwrap();
        let task = tokio::spawn(async move {
            let _line = line;
            tokio::task::yield_now().await;
            panic!("a call task fails");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(lines.in_use(), 0);
        assert!(lines.take(1).is_ok());
    }

    #[tokio::test]
    async fn a_pipe_carries_datagrams_both_ways() {
        let (a, b) = pipe(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        let (mut a, mut b) = (MediaTransport::Pipe(a), MediaTransport::Pipe(b));
        a.send(&[1, 2, 3], "127.0.0.1:2".parse().unwrap());
        let mut buf = [0u8; 8];
        assert_eq!(
            b.recv(&mut buf).await,
            Some((3, "127.0.0.1:1".parse().unwrap()))
        );
        b.send(&[9], "127.0.0.1:1".parse().unwrap());
        assert_eq!(a.recv(&mut buf).await.map(|r| r.0), Some(1));
    }
}
