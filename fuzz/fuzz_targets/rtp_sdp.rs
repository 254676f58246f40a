//! Fuzz target: RTP, RFC 4733 and SDP parsing of arbitrary datagrams and bodies never panic.
#![no_main]
use autoinformer::telephony::rfc4733::EventReceiver;
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
});
