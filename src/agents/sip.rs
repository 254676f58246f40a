//! Agents reached over SIP: at their registration's address (`SipAgentLine`) or at a fixed
//! URI (`SipUriLine`), through the robot's SIP listener. Both are `AgentLine`s: the transfer
//! code does not know how an agent is reached.
use super::service::{AgentDial, AgentLine};
use crate::telephony::sip::SipTrunk;
use crate::telephony::trunk::{Leg, TrunkError};
use crate::BoxFuture;
use std::sync::Arc;

/// An agent who registers as `user`.
pub struct SipAgentLine {
    pub trunk: Arc<SipTrunk>,
    pub user: String,
}

impl AgentLine for SipAgentLine {
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        Box::pin(async move { self.trunk.dial_agent(&self.user, &req) })
    }
}

/// An agent at a fixed SIP URI (a desk phone, another PBX's queue).
pub struct SipUriLine {
    pub trunk: Arc<SipTrunk>,
    pub uri: String,
}

impl AgentLine for SipUriLine {
    fn dial(&self, req: AgentDial) -> BoxFuture<'_, Result<Leg, TrunkError>> {
        Box::pin(async move { self.trunk.dial_uri(&self.uri, &req) })
    }
}
