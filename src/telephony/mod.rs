//! Telephony: the trunk boundary (`trunk`), the SIP trunk (`sip`) and the simulated carrier
//! (`sim`) behind it, over a pure (sans-IO) media core: RTP packets, RFC 4733 telephone events,
//! the jitter buffer, SDP offers/answers and one leg's media session (`session`). Only the
//! trunks touch sockets and timers.

pub mod config;
pub mod jitter;
pub mod registrar;
pub mod rfc4733;
pub mod rtp;
pub mod rtp_socket;
pub mod sdp;
pub mod session;
pub mod sim;
pub mod sip;
pub mod sip_agents;
pub mod trunk;

/// Starts the trunk the configuration names, and answers the SIP trunk itself too when it is
/// one (agents register to its listener).
pub async fn start_trunk_with_sip(
    cfg: &config::TrunkConfig,
    prompts: &std::path::Path,
) -> Result<
    (
        std::sync::Arc<dyn trunk::Trunk>,
        Option<std::sync::Arc<sip::SipTrunk>>,
    ),
    String,
> {
    if cfg.kind == "sip" {
        let t = std::sync::Arc::new(sip::SipTrunk::start(cfg.sip.clone()).await?);
        return Ok((t.clone(), Some(t)));
    }
    Ok((start_trunk(cfg, prompts).await?, None))
}

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
