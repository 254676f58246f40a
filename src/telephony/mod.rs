//! Telephony: the trunk boundary (`trunk`), the SIP trunk (`sip`) and the simulated carrier
//! (`sim`) behind it, over a pure (sans-IO) media core: RTP packets, RFC 4733 telephone events,
//! the jitter buffer, SDP offers/answers and one leg's media session (`session`). Only the
//! trunks touch sockets and timers.

pub mod config;
pub mod jitter;
pub mod rfc4733;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod sim;
pub mod sip;
pub mod trunk;

/// Starts the trunk the configuration names (`sim` by default).
pub async fn start_trunk(
    cfg: &config::TrunkConfig,
    prompts: &std::path::Path,
) -> Result<std::sync::Arc<dyn trunk::Trunk>, String> {
    match cfg.kind.as_str() {
        "sim" => Ok(std::sync::Arc::new(sim::SimTrunk::new(
            cfg.sim.clone(),
            &sim::audio_dir(prompts),
        )?)),
        "sip" => Ok(std::sync::Arc::new(
            sip::SipTrunk::start(cfg.sip.clone()).await?,
        )),
        other => Err(format!("trunk.kind: {other:?} is not sim or sip")),
    }
}
