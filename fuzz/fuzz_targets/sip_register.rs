//! Fuzz target: the registrar takes arbitrary datagrams the way the SIP listener takes a
//! REGISTER — parsed, its To, Authorization, Contact, Expires and Via read, the digest checked
//! — without panicking; and once it challenges one, the same datagram with a correct
//! Authorization in place of its own (the fuzzed To, Contact, Expires and Via kept) is bound
//! or refused cleanly, and expires.
#![no_main]
use autoinformer::telephony::registrar::{
    digest_response, ha1, parse_digest, AgentDirectory, Answer, Registrar, REALM,
};
use autoinformer::telephony::sip_agents::register_datagram;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

struct Dir(String);

impl AgentDirectory for Dir {
    fn credentials(&self, user: &str) -> Option<(i64, String)> {
        (user == "101").then(|| (7, self.0.clone()))
    }
    fn binding(&self, _agent: i64, _user: &str, _contact: Option<String>) {}
}

fuzz_target!(|data: &[u8]| {
    let registrar = Registrar::new();
    let dir = Dir(ha1("101", "secret"));
    let now = Instant::now();
    let Some(first) = register_datagram(&registrar, &dir, data, now) else {
        return;
    };
    let Answer::Challenge(challenge) = first else {
        return;
    };
    let nonce = parse_digest(&challenge)
        .and_then(|d| d.get("nonce").cloned())
        .expect("a challenge carries a nonce");
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let uri = "sip:127.0.0.1:5060";
    let response = digest_response(&dir.0, &nonce, "REGISTER", uri, None);
    let authorization = format!(
        "Authorization: Digest username=\"101\", realm=\"{REALM}\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{response}\"\r\n"
    );
    let mut again = String::new();
    let mut lines = text.split_inclusive("\r\n");
    if let Some(request_line) = lines.next() {
        again.push_str(request_line);
        again.push_str(&authorization);
    }
    for line in lines {
        if !line.to_ascii_lowercase().starts_with("authorization:") {
            again.push_str(line);
        }
    }
    let _ = register_datagram(&registrar, &dir, again.as_bytes(), now);
    registrar.expire(&dir, now + Duration::from_secs(24 * 3600));
});
