//! Fuzz target: RTP, RFC 4733 and SDP parsing of arbitrary datagrams and bodies never panic, and
//! a media session fed arbitrary datagrams from two sources (the SDP address and a stranger)
//! keeps producing frames and packets.
#![no_main]
use autoinformer::telephony::rfc4733::EventReceiver;
use autoinformer::telephony::rtp::Ssrc;
use autoinformer::telephony::session::MediaSession;
use autoinformer::telephony::{rtp, sdp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = rtp::parse(data) {
        let mut rx = EventReceiver::new();
        let _ = rx.on_packet(p.ssrc, p.timestamp, p.payload);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sdp::parse_answer(text);
    }
    let answer = sdp::MediaAnswer {
        addr: [127, 0, 0, 1].into(),
        port: 4000,
        codec: sdp::Codec::Pcma,
        codec_pt: 8,
        event_pt: Some(101),
    };
    let mut s = MediaSession::new(&answer, Ssrc(7), 65_000, 0);
    let sources = [
        "127.0.0.1:4000".parse().unwrap(),
        "10.0.0.1:9".parse().unwrap(),
    ];
    let mut frame = [0i16; 160];
    let mut out = [0u8; 256];
    for (i, chunk) in data.chunks(64).enumerate() {
        let _ = s.on_datagram(sources[i % 2], chunk);
        let _ = s.pop_frame(&mut frame);
        let _ = s.next_packet(&frame, &mut out);
    }
});
