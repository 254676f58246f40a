//! Telephony edges. This first part is pure (sans-IO): RTP packets, RFC 4733 telephone events,
//! the jitter buffer, SDP offers/answers and one leg's media session over them. The sockets, the SIP trunk and the sim trunk that
//! drive them (issue 3) build on these; nothing here reads a clock or touches a socket.

pub mod jitter;
pub mod rfc4733;
pub mod rtp;
pub mod sdp;
pub mod session;
