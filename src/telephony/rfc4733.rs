//! RFC 4733 telephone events (DTMF over RTP). Receive: one event is one RTP timestamp; the
//! digit is reported once, on its first packet (low latency), never again for retransmitted or
//! end packets, nor for the continuation segments of an event longer than ~8 s. Send: marker on
//! the first packet, the same timestamp for every packet of the event, duration growing, and the
//! end packet three times.
use super::rtp::Ssrc;

/// Event code → key.
pub fn event_to_digit(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => (b'0' + event) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + event - 12) as char,
        _ => return None,
    })
}

/// Key → event code.
pub fn digit_to_event(digit: char) -> Option<u8> {
    Some(match digit.to_ascii_uppercase() {
        d @ '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        d @ 'A'..='D' => d as u8 - b'A' + 12,
        _ => return None,
    })
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    /// In timestamp units (1/8000 s).
    pub duration: u16,
}

impl EventPayload {
    /// Parses the 4-byte payload (extra bytes, e.g. redundancy, are ignored).
    pub fn parse(p: &[u8]) -> Option<Self> {
        let b = p.get(..4)?;
        Some(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The 4-byte payload.
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// Deduplicating receiver for one call.
#[derive(Debug, Default)]
pub struct EventReceiver {
    /// (ssrc, timestamp, event) of the event in progress, and whether its end was seen.
    last: Option<(Ssrc, u32, u8, bool, u16)>,
}

impl EventReceiver {
    /// A receiver with nothing heard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet; returns the key the first time an event is seen.
    pub fn on_packet(&mut self, ssrc: Ssrc, timestamp: u32, payload: &[u8]) -> Option<char> {
        let p = EventPayload::parse(payload)?;
        match self.last {
            Some((s, ts, ev, ended, dur)) if s == ssrc && ev == p.event => {
                if ts == timestamp {
                    // The same event again (update, retransmission or end): never a new digit.
                    self.last = Some((s, ts, ev, ended || p.end, dur.max(p.duration)));
                    return None;
                }
                // A long event continues under a new timestamp right where the last segment ended.
                let gap = timestamp.wrapping_sub(ts);
                if !ended && gap <= u32::from(dur) + 1_600 && gap > 0 {
                    self.last = Some((s, timestamp, ev, p.end, p.duration));
                    return None;
                }
            }
            _ => {}
        }
        self.last = Some((ssrc, timestamp, p.event, p.end, p.duration));
        event_to_digit(p.event)
    }
}

/// The packets of one event: (marker, payload), sent every 20 ms from the event's timestamp.
pub fn event_packets(digit: char, duration_ms: u32, volume: u8) -> Option<Vec<(bool, [u8; 4])>> {
    let event = digit_to_event(digit)?;
    let steps = (duration_ms / 20).max(1);
    let mut out = Vec::with_capacity(steps as usize + 3);
    for i in 1..=steps {
        let duration = (i * 160).min(u32::from(u16::MAX)) as u16;
        out.push((
            i == 1,
            EventPayload {
                event,
                end: false,
                volume,
                duration,
            }
            .to_bytes(),
        ));
    }
    let last = (steps * 160).min(u32::from(u16::MAX)) as u16;
    for _ in 0..3 {
        out.push((
            false,
            EventPayload {
                event,
                end: true,
                volume,
                duration: last,
            }
            .to_bytes(),
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_both_ways() {
        for d in "0123456789*#ABCD".chars() {
            assert_eq!(event_to_digit(digit_to_event(d).unwrap()), Some(d));
        }
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('x'), None);
    }

    #[test]
    fn one_digit_per_event_despite_updates_and_three_end_packets() {
        let mut rx = EventReceiver::new();
        let pk = event_packets('1', 100, 10).unwrap();
        let got: Vec<char> = pk
            .iter()
            .filter_map(|(_, p)| rx.on_packet(Ssrc(1), 8000, p))
            .collect();
        assert_eq!(got, vec!['1']);
        // The same key again is a new event with a new timestamp.
        let again: Vec<char> = pk
            .iter()
            .filter_map(|(_, p)| rx.on_packet(Ssrc(1), 9600, p))
            .collect();
        assert_eq!(again, vec!['1']);
    }

    #[test]
    fn a_long_event_split_into_segments_is_one_digit() {
        let mut rx = EventReceiver::new();
        let seg1 = EventPayload {
            event: 5,
            end: false,
            volume: 10,
            duration: 65535,
        }
        .to_bytes();
        let seg2 = EventPayload {
            event: 5,
            end: false,
            volume: 10,
            duration: 800,
        }
        .to_bytes();
        let end = EventPayload {
            event: 5,
            end: true,
            volume: 10,
            duration: 1600,
        }
        .to_bytes();
        assert_eq!(rx.on_packet(Ssrc(3), 0, &seg1), Some('5'));
        assert_eq!(rx.on_packet(Ssrc(3), 65535, &seg2), None);
        assert_eq!(rx.on_packet(Ssrc(3), 65535, &end), None);
    }

    #[test]
    fn sender_marks_the_first_packet_and_repeats_the_end() {
        let pk = event_packets('#', 100, 10).unwrap();
        assert!(pk[0].0 && pk[1..].iter().all(|(m, _)| !m));
        let ends = pk
            .iter()
            .filter(|(_, p)| EventPayload::parse(p).unwrap().end)
            .count();
        assert_eq!(ends, 3);
        assert_eq!(EventPayload::parse(&pk[4].1).unwrap().duration, 800);
        assert!(EventPayload::parse(&[1, 2]).is_none());
    }
}
