//! One leg's RTP media, sans-IO: datagrams in → callee frames and RFC 4733 digits out; robot
//! frames in → datagrams out. The socket task (issue 3) only moves bytes and calls these every
//! 20 ms. Symmetric RTP with strict learning: packets from the address the SDP named are always
//! taken; a different source (a callee behind NAT) is learned only after it sends
//! `LEARN_PACKETS` valid packets in sequence under one SSRC before anything comes from the SDP
//! address, so a stray or hostile sender cannot hijack the call. Everything else is ignored
//! and counted.
use super::jitter::{JitterBuffer, Playout};
use super::rfc4733::{event_packets, EventReceiver};
use super::rtp::{self, SequenceNumber, Ssrc};
use super::sdp::{Codec, MediaAnswer};
use crate::media::g711;
use crate::media::{Frame, FRAME_SAMPLES};
use std::net::SocketAddr;

/// Packets in sequence a source other than the SDP address must send before it is learned.
pub const LEARN_PACKETS: u8 = 3;

/// Something the far end sent that is not audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Returned by value once per packet: boxing the frame would allocate 50 times a second per leg.
#[allow(clippy::large_enum_variant)]
pub enum MediaEvent {
    /// An RFC 4733 key (reported once per event).
    Digit(char),
    /// A 20 ms frame, handed on at once instead of going through the jitter buffer (relay
    /// mode: a bridge forwards each packet the moment it arrives, and the far ends' own
    /// jitter buffers absorb the jitter).
    Frame(Frame),
}

/// Counters for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub received: u64,
    pub malformed: u64,
    pub foreign_source: u64,
    pub unknown_payload: u64,
    pub sent: u64,
}

/// The media state of one call leg.
#[derive(Debug)]
pub struct MediaSession {
    codec: Codec,
    codec_pt: u8,
    event_pt: Option<u8>,
    /// Where we send: the SDP address, or a learned source.
    remote: SocketAddr,
    /// The address the far end's SDP named.
    sdp_remote: SocketAddr,
    /// Set once a source is settled (the SDP address spoke, or a NAT source was learned).
    latched: bool,
    /// A source being learned: (address, SSRC, last sequence number, packets in sequence).
    candidate: Option<(SocketAddr, Ssrc, SequenceNumber, u8)>,
    jitter: JitterBuffer,
    events: EventReceiver,
    ssrc: Ssrc,
    seq: SequenceNumber,
    timestamp: u32,
    /// Telephone-event packets still to send, one per 20 ms, with the event's timestamp.
    pending_events: Vec<(bool, [u8; 4])>,
    event_ts: u32,
    /// Frames are handed out as they arrive (`MediaEvent::Frame`) rather than buffered.
    relay: bool,
    pub stats: MediaStats,
}

impl MediaSession {
    /// Media for an answered SDP; `ssrc` and `initial_seq` should be random per leg.
    pub fn new(answer: &MediaAnswer, ssrc: Ssrc, initial_seq: u16, initial_ts: u32) -> Self {
        Self {
            codec: answer.codec,
            codec_pt: answer.codec_pt,
            event_pt: answer.event_pt,
            remote: SocketAddr::new(answer.addr, answer.port),
            sdp_remote: SocketAddr::new(answer.addr, answer.port),
            latched: false,
            candidate: None,
            jitter: JitterBuffer::new(),
            events: EventReceiver::new(),
            ssrc,
            seq: SequenceNumber(initial_seq),
            timestamp: initial_ts,
            pending_events: Vec::new(),
            event_ts: 0,
            relay: false,
            stats: MediaStats::default(),
        }
    }

    /// Where outgoing packets go.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Handles one received datagram from `from`.
    pub fn on_datagram(&mut self, from: SocketAddr, buf: &[u8]) -> Option<MediaEvent> {
        let Ok(p) = rtp::parse(buf) else {
            self.stats.malformed += 1;
            return None;
        };
        if from == self.sdp_remote {
            self.remote = from;
            self.latched = true;
        } else if (from != self.remote || !self.latched)
            && (self.latched || !self.learn(from, p.ssrc, p.seq))
        {
            self.stats.foreign_source += 1;
            return None;
        }
        self.stats.received += 1;
        if Some(p.payload_type) == self.event_pt {
            return self
                .events
                .on_packet(p.ssrc, p.timestamp, p.payload)
                .map(MediaEvent::Digit);
        }
        if p.payload_type != self.codec_pt || p.payload.len() != FRAME_SAMPLES {
            self.stats.unknown_payload += 1;
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        match self.codec {
            Codec::Pcmu => g711::decode_ulaw(p.payload, &mut frame),
            Codec::Pcma => g711::decode_alaw(p.payload, &mut frame),
        }
        if self.relay {
            return Some(MediaEvent::Frame(frame));
        }
        self.jitter.push(p.ssrc, p.seq, &frame);
        None
    }

    /// Relay mode on or off (a bridge): each frame is handed out as it arrives.
    pub fn set_relay(&mut self, on: bool) {
        self.relay = on;
    }

    /// Counts a packet from an unknown source; true once it has earned the latch.
    fn learn(&mut self, from: SocketAddr, ssrc: Ssrc, seq: SequenceNumber) -> bool {
        let n = match self.candidate {
            Some((a, s, last, n)) if a == from && s == ssrc && seq.0 == last.0.wrapping_add(1) => {
                n + 1
            }
            _ => 1,
        };
        self.candidate = Some((from, ssrc, seq, n));
        if n >= LEARN_PACKETS {
            tracing::info!(sdp = %self.sdp_remote, source = %from, "rtp source learned (NAT)");
            self.remote = from;
            self.latched = true;
            self.candidate = None;
            return true;
        }
        false
    }

    /// The callee's next 20 ms (from the jitter buffer).
    pub fn pop_frame(&mut self, out: &mut Frame) -> Playout {
        self.jitter.pop(out)
    }

    /// Queues an RFC 4733 key to send (used by transfers and tests); false if the far end has
    /// no telephone-event support or the key is not a DTMF key.
    pub fn send_digit(&mut self, digit: char, duration_ms: u32) -> bool {
        let (Some(_), Some(pk)) = (self.event_pt, event_packets(digit, duration_ms, 10)) else {
            return false;
        };
        self.event_ts = self.timestamp;
        self.pending_events = pk;
        self.pending_events.reverse();
        true
    }

    /// Builds the packet for the robot's next 20 ms into `out`; returns its length.
    pub fn next_packet(&mut self, robot: &Frame, out: &mut [u8]) -> Option<usize> {
        let n = if let (Some(pt), Some((marker, payload))) =
            (self.event_pt, self.pending_events.pop())
        {
            rtp::write(
                out,
                marker,
                pt,
                self.seq,
                self.event_ts,
                self.ssrc,
                &payload,
            )
        } else {
            let mut enc = [0u8; FRAME_SAMPLES];
            match self.codec {
                Codec::Pcmu => g711::encode_ulaw(robot, &mut enc),
                Codec::Pcma => g711::encode_alaw(robot, &mut enc),
            }
            rtp::write(
                out,
                false,
                self.codec_pt,
                self.seq,
                self.timestamp,
                self.ssrc,
                &enc,
            )
        }?;
        self.seq = SequenceNumber(self.seq.0.wrapping_add(1));
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.stats.sent += 1;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::sdp::parse_answer;

    fn pair() -> (MediaSession, MediaSession) {
        let a = parse_answer(
            "c=IN IP4 127.0.0.1\nm=audio 4000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n",
        )
        .unwrap();
        let b = parse_answer(
            "c=IN IP4 127.0.0.1\nm=audio 5000 RTP/AVP 8 101\na=rtpmap:101 telephone-event/8000\n",
        )
        .unwrap();
        (
            MediaSession::new(&a, Ssrc(1), 65530, 0),
            MediaSession::new(&b, Ssrc(2), 7, 1000),
        )
    }

    #[test]
    fn audio_crosses_between_two_sessions_through_g711_and_the_jitter_buffer() {
        let (mut robot, mut phone) = pair();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut buf = [0u8; 400];
        let mut heard = vec![];
        for i in 0..10i16 {
            let f = [i * 1000; FRAME_SAMPLES];
            let n = robot.next_packet(&f, &mut buf).unwrap();
            assert_eq!(phone.on_datagram(from, &buf[..n]), None);
            let mut out = [0i16; FRAME_SAMPLES];
            if phone.pop_frame(&mut out) == Playout::Frame {
                heard.push(out[0]);
            }
        }
        assert_eq!(heard.len(), 8, "60 ms of depth first");
        assert!(
            (heard[0] as i32).abs() < 16 && (heard[1] - 1000).abs() < 40,
            "{heard:?}"
        );
    }

    #[test]
    fn rfc4733_digits_arrive_once_and_other_sources_are_ignored() {
        let (mut robot, mut phone) = pair();
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:6666".parse().unwrap();
        assert!(robot.send_digit('7', 100));
        let mut buf = [0u8; 400];
        let mut digits = vec![];
        for _ in 0..12 {
            let n = robot.next_packet(&[0; FRAME_SAMPLES], &mut buf).unwrap();
            if let Some(MediaEvent::Digit(d)) = phone.on_datagram(from, &buf[..n]) {
                digits.push(d);
            }
            assert_eq!(phone.on_datagram(stranger, &buf[..n]), None);
        }
        assert_eq!(digits, vec!['7']);
        assert_eq!(phone.stats.foreign_source, 12);
        assert_eq!(phone.on_datagram(from, &[1, 2, 3]), None);
        assert_eq!(phone.stats.malformed, 1);
    }

    #[test]
    fn a_nat_source_is_learned_only_from_packets_in_sequence_and_the_sdp_address_wins() {
        let (mut robot, mut phone) = pair();
        let nat: SocketAddr = "10.1.1.1:7000".parse().unwrap();
        let sdp: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut buf = [0u8; 400];
        let pkts: Vec<Vec<u8>> = (0..6)
            .map(|i| {
                let n = robot
                    .next_packet(&[i * 100; FRAME_SAMPLES], &mut buf)
                    .unwrap();
                buf[..n].to_vec()
            })
            .collect();
        // Out of order: never learned.
        for p in [&pkts[0], &pkts[2], &pkts[1]] {
            phone.on_datagram(nat, p);
        }
        assert_eq!(phone.stats.received, 0);
        assert_eq!(phone.remote(), sdp);
        // In sequence (1 was last, then 2, 3, 4): learned on 3, then taken.
        for p in &pkts[2..5] {
            phone.on_datagram(nat, p);
        }
        assert_eq!((phone.stats.received, phone.remote()), (2, nat));
        // The SDP address speaks: it wins, and the NAT source is foreign from now on.
        phone.on_datagram(sdp, &pkts[5]);
        assert_eq!(phone.remote(), sdp);
        let before = phone.stats.foreign_source;
        phone.on_datagram(nat, &pkts[5]);
        assert_eq!(phone.stats.foreign_source, before + 1);
    }
}
