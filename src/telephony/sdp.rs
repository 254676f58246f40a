//! SDP for G.711 calls (RFC 4566/3264): the robot's offer, and a tolerant parser of the
//! answer that picks the first common codec and the telephone-event payload type.
use std::fmt::Write as _;
use std::net::IpAddr;

/// G.711 codecs we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// The static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
}

/// Dynamic payload type we offer for RFC 4733.
pub const OFFER_EVENT_PT: u8 = 101;

/// What the far end accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaAnswer {
    pub addr: IpAddr,
    pub port: u16,
    pub codec: Codec,
    pub codec_pt: u8,
    /// The telephone-event payload type, if the far end supports RFC 4733.
    pub event_pt: Option<u8>,
}

/// Why an SDP body cannot set up audio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP has no audio media line")]
    NoAudio,
    #[error("SDP has no connection address")]
    NoAddress,
    #[error("SDP line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("no common codec: the far end offers {0}, we speak PCMU/PCMA")]
    NoCommonCodec(String),
    #[error("the far end rejected audio (port 0)")]
    Rejected,
}

/// The robot's offer: PCMU, PCMA and telephone-event, 20 ms packets.
pub fn offer(session_id: u64, addr: IpAddr, port: u16, codecs: &[Codec]) -> String {
    let ip = match addr {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let mut s = String::new();
    let pts: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .chain([OFFER_EVENT_PT.to_string()])
        .collect();
    let _ = write!(s, "v=0\r\no=autoinformer {session_id} {session_id} IN {ip} {addr}\r\ns=autoinformer\r\nc=IN {ip} {addr}\r\nt=0 0\r\n");
    let _ = write!(s, "m=audio {port} RTP/AVP {}\r\n", pts.join(" "));
    for c in codecs {
        let name = match c {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        };
        let _ = write!(s, "a=rtpmap:{} {name}/8000\r\n", c.payload_type());
    }
    let _ = write!(s, "a=rtpmap:{OFFER_EVENT_PT} telephone-event/8000\r\na=fmtp:{OFFER_EVENT_PT} 0-16\r\na=ptime:20\r\na=sendrecv\r\n");
    s
}

/// Parses an answer (or an offer from the far end) for the first audio stream.
pub fn parse_answer(body: &str) -> Result<MediaAnswer, SdpError> {
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut port = 0u16;
    let mut pts: Vec<u8> = Vec::new();
    let mut rtpmap: Vec<(u8, String)> = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim();
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let bad = |reason: &str| SdpError::Malformed {
            line: i + 1,
            reason: reason.to_string(),
        };
        match k {
            "m" => {
                if seen_audio {
                    in_audio = false;
                    continue;
                }
                let mut parts = v.split_whitespace();
                if parts.next() == Some("audio") {
                    port = parts
                        .next()
                        .and_then(|p| p.split('/').next())
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(|| bad("bad media port"))?;
                    let _proto = parts.next();
                    pts = parts.filter_map(|p| p.parse().ok()).collect();
                    in_audio = true;
                    seen_audio = true;
                } else {
                    in_audio = false;
                }
            }
            "c" => {
                let addr = v
                    .split_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next())
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .ok_or_else(|| bad("bad connection address"))?;
                if in_audio {
                    media_addr = Some(addr);
                } else if !seen_audio {
                    session_addr = Some(addr);
                }
            }
            "a" if in_audio => {
                if let Some(m) = v.strip_prefix("rtpmap:") {
                    let mut it = m.splitn(2, ' ');
                    if let (Some(pt), Some(enc)) =
                        (it.next().and_then(|p| p.parse().ok()), it.next())
                    {
                        rtpmap.push((pt, enc.to_ascii_lowercase()));
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_audio {
        return Err(SdpError::NoAudio);
    }
    if port == 0 {
        return Err(SdpError::Rejected);
    }
    let addr = media_addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let name_of = |pt: u8| {
        rtpmap
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, n)| n.clone())
    };
    let codec = pts.iter().find_map(|&pt| {
        let name = name_of(pt);
        match (pt, name.as_deref()) {
            (_, Some(n)) if n.starts_with("pcmu/8000") => Some((Codec::Pcmu, pt)),
            (_, Some(n)) if n.starts_with("pcma/8000") => Some((Codec::Pcma, pt)),
            (0, None) => Some((Codec::Pcmu, 0)),
            (8, None) => Some((Codec::Pcma, 8)),
            _ => None,
        }
    });
    let Some((codec, codec_pt)) = codec else {
        let offered: Vec<String> = pts
            .iter()
            .map(|&pt| name_of(pt).unwrap_or_else(|| pt.to_string()))
            .collect();
        return Err(SdpError::NoCommonCodec(offered.join(", ")));
    };
    let event_pt = pts
        .iter()
        .copied()
        .find(|&pt| name_of(pt).is_some_and(|n| n.starts_with("telephone-event/8000")));
    Ok(MediaAnswer {
        addr,
        port,
        codec,
        codec_pt,
        event_pt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_offer_parses_back() {
        let o = offer(
            1,
            "127.0.0.1".parse().unwrap(),
            40000,
            &[Codec::Pcmu, Codec::Pcma],
        );
        let a = parse_answer(&o).unwrap();
        assert_eq!(
            (a.port, a.codec, a.codec_pt, a.event_pt),
            (40000, Codec::Pcmu, 0, Some(101))
        );
    }

    #[test]
    fn picks_the_first_common_codec_and_the_event_type_from_rtpmap() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18 8 96\r\na=rtpmap:18 G729/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n";
        let a = parse_answer(sdp).unwrap();
        assert_eq!(
            (a.addr.to_string(), a.port, a.codec, a.event_pt),
            ("192.0.2.5".into(), 30000, Codec::Pcma, Some(96))
        );
    }

    #[test]
    fn media_level_address_wins_and_static_types_need_no_rtpmap() {
        let sdp = "v=0\nc=IN IP4 10.1.1.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.2.2.2\n";
        let a = parse_answer(sdp).unwrap();
        assert_eq!(a.addr.to_string(), "10.2.2.2");
        assert_eq!(a.event_pt, None);
    }

    #[test]
    fn bad_answers_are_clear_errors() {
        assert_eq!(
            parse_answer("v=0\nc=IN IP4 1.2.3.4\n"),
            Err(SdpError::NoAudio)
        );
        assert_eq!(
            parse_answer("v=0\nm=audio 4000 RTP/AVP 0\n"),
            Err(SdpError::NoAddress)
        );
        assert_eq!(
            parse_answer("v=0\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n"),
            Err(SdpError::Rejected)
        );
        assert!(
            matches!(parse_answer("c=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18\na=rtpmap:18 G729/8000\n"), Err(SdpError::NoCommonCodec(s)) if s.contains("g729"))
        );
        assert!(matches!(
            parse_answer("m=audio x RTP/AVP 0\n"),
            Err(SdpError::Malformed { line: 1, .. })
        ));
    }
}
