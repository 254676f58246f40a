//! The trunk's settings (`[trunk]` in the configuration file): which trunk, the simulated
//! carrier's and the SIP trunk's. They live with telephony, which reads them; `config` only
//! places them in the file (docs/configuration.md, docs/telephony.md). The SIP password never
//! reaches a log: `Debug` hides it.
use super::sim::SimConfig;
use serde::{Deserialize, Serialize};

/// Which trunk and its settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrunkConfig {
    /// `sim` (the built-in simulated carrier, default) or `sip`.
    pub kind: String,
    pub sim: SimConfig,
    pub sip: SipConfig,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        Self {
            kind: "sim".into(),
            sim: SimConfig::default(),
            sip: SipConfig::default(),
        }
    }
}

/// A SIP trunk (`[trunk.sip]`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// The trunk (registrar/proxy) as `host:port`: the host part of the callee URI.
    pub server: String,
    /// Where requests are actually sent, if not to `server` (`host:port`).
    pub outbound_proxy: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Local SIP address to bind (`ip:port`; port 0 picks one).
    pub listen: String,
    /// Domain of our From URI (defaults to the server's host).
    pub domain: String,
    /// Digest credentials (401 and 407).
    pub username: String,
    pub password: String,
    /// Caller IDs presented in turn (empty: `username`).
    pub caller_ids: Vec<String>,
    /// Address put in SDP for our RTP (empty: the SIP listen address).
    pub rtp_ip: String,
    /// RTP port range, one even port per call.
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// Codecs offered, in order of preference: `pcmu`, `pcma`.
    pub codecs: Vec<String>,
    /// The trunk's own limit of simultaneous calls.
    pub max_calls: usize,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            server: String::new(),
            outbound_proxy: String::new(),
            transport: "udp".into(),
            listen: "0.0.0.0:5060".into(),
            domain: String::new(),
            username: String::new(),
            password: String::new(),
            caller_ids: Vec::new(),
            rtp_ip: String::new(),
            rtp_port_min: 20_000,
            rtp_port_max: 29_999,
            codecs: vec!["pcmu".into(), "pcma".into()],
            max_calls: 1_000,
        }
    }
}

impl std::fmt::Debug for SipConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipConfig")
            .field("server", &self.server)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("transport", &self.transport)
            .field("listen", &self.listen)
            .field("domain", &self.domain)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("caller_ids", &self.caller_ids)
            .field("rtp_ip", &self.rtp_ip)
            .field("rtp_ports", &(self.rtp_port_min, self.rtp_port_max))
            .field("codecs", &self.codecs)
            .field("max_calls", &self.max_calls)
            .finish()
    }
}
