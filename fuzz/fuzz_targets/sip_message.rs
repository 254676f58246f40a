//! Fuzz target: the SIP parser our trunk relies on never panics on arbitrary datagrams.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = autoinformer::telephony::sip::parse_message(data);
});
