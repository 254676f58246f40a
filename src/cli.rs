//! Command-line commands (README, "Commands"): `replay`, `check-scenario`, `call`, `serve`.
//! Thin: parse, load, run, print.
use crate::asr::SpeechModel;
use crate::call::outcome::seconds;
use crate::call::{replay, CallConfig, CallEvent, CallOutcome};
use crate::media::audio::decode_file_8k;
use crate::scenario::{load_file, system_result, Action, LoadOptions, Scenario};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "autoinformer",
    version,
    about = "Voice robot for outbound call campaigns"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one answered call offline; the callee's side comes from a WAV file.
    Replay(ReplayArgs),
    /// Validate a scenario file; non-zero exit with every problem listed.
    CheckScenario(CheckArgs),
    /// Place one live call through the configured trunk (the simulated carrier by default).
    Call(CallArgs),
    /// Run the HTTP API, the dialer and the trunk (the simulated carrier by default).
    #[cfg(feature = "campaigns")]
    Serve(ServeArgs),
}

/// The binary's tracing filter: `spec` (`AUTOINFORMER_LOG`; default `warn`) plus two quiet
/// defaults unless the spec names the crate: the SIP stack at WARN (it logs every packet at
/// INFO) and the audio decoders (`symphonia*`) off — they log a client's undecodable upload at
/// ERROR, which is the client's error: the API answers 422 and logs one INFO line itself.
pub fn log_filter(spec: Option<&str>) -> String {
    let mut spec = spec
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("warn")
        .to_string();
    if !spec.contains("rsipstack") {
        spec.push_str(",rsipstack=warn");
    }
    if !spec.contains("symphonia") {
        spec.push_str(",symphonia=off");
    }
    spec
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Configuration file (TOML); every key can also come from AUTOINFORMER_* variables.
    #[arg(long, env = "AUTOINFORMER_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP listen address (overrides `listen`).
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory: database, recordings, stored prompts (overrides `data`).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CallArgs {
    /// The number to call (E.164, e.g. +79123456789).
    pub number: String,
    /// Scenario file (TOML or JSON).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Configuration file (TOML); every key can also come from AUTOINFORMER_* variables.
    #[arg(long, env = "AUTOINFORMER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Where prompts and the speech model are.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Prompts folder: looked in after the scenario's folder, before the bundled prompts.
    #[arg(long, env = "AUTOINFORMER_PROMPTS", default_value = crate::config::DEFAULT_PROMPTS_DIR)]
    pub prompts: PathBuf,
    /// Vosk model folder; voice scenarios need one (the default is also looked for next to
    /// the executable and in the source checkout).
    #[arg(long, env = "AUTOINFORMER_MODEL", default_value = crate::config::DEFAULT_MODEL_DIR)]
    pub model: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Scenario file (TOML or JSON).
    #[arg(long)]
    pub scenario: PathBuf,
    /// The callee's audio (any supported format; the callee hangs up when it ends).
    #[arg(long)]
    pub callee: PathBuf,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write a stereo recording (callee left, robot right).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Switch off answering-machine detection.
    #[arg(long)]
    pub no_amd: bool,
    /// Learned greetings (JSON): matched, and updated with what this call teaches
    /// (docs/amd.md, "Learned greetings"); created when missing.
    #[arg(long)]
    pub greetings: Option<PathBuf>,
    /// The number this call went to, for learning greetings (default: the callee file's name).
    #[arg(long)]
    pub number: Option<String>,
    /// A greeting heard on calls to this many other numbers is a recording.
    #[arg(long, default_value_t = 2)]
    pub learn_after_numbers: usize,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Scenario file (TOML or JSON).
    pub file: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Replay(a) => replay_cmd(a),
        Command::CheckScenario(a) => check_cmd(a),
        Command::Call(a) => call_cmd(a),
        #[cfg(feature = "campaigns")]
        Command::Serve(a) => serve_cmd(a),
    }
}

#[cfg(feature = "campaigns")]
fn serve_cmd(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match crate::config::Config::load(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(l) = a.listen {
        cfg.listen = l;
    }
    if let Some(d) = a.data {
        cfg.data = d;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .with_context(|| format!("listening on {}", cfg.listen))?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("autoinformer: stopping (no new calls; calls in progress finish)");
            on_signal.cancel();
        });
        crate::server::run(cfg, listener, shutdown, |s| {
            println!("autoinformer: listening on http://{}", s.addr);
            if let Some(t) = &s.generated_token {
                println!("autoinformer: admin API token (shown once, keep it): {t}");
            }
            if let Some(p) = &s.generated_password {
                println!(
                    "autoinformer: web UI http://{}/ user admin, password (shown once, keep it; \
                     admin_password sets your own): {p}",
                    s.addr
                );
            }
            if let Some(w) = &s.generated_webhook_secret {
                println!(
                    "autoinformer: webhook secret of projects without their own (shown once, \
                     keep it; webhooks.secret sets your own): {w}"
                );
            }
            if let Some(p) = s.demo_project {
                println!(
                    "autoinformer: created and activated the demo project {p} on the sim carrier"
                );
            }
            if let Some(pw) = &s.demo_desk_password {
                println!(
                    "autoinformer: agent desk http://{}/desk user {}, password (shown once): {pw}",
                    s.addr,
                    crate::server::DEMO_DESK_USER
                );
            }
        })
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
#[cfg(feature = "campaigns")]
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Loads a scenario file; `option` names what gave it (`--scenario`) when it cannot be read.
fn load_scenario(
    file: &Path,
    option: &str,
    engine: &EngineArgs,
    speech: Option<&Arc<dyn SpeechModel>>,
) -> Result<Scenario, String> {
    if !file.is_file() {
        return Err(format!(
            "error: {option}: {}: no such scenario file\n",
            file.display()
        ));
    }
    let opts = LoadOptions {
        prompts_dir: engine.prompts.clone(),
        speech: speech.map(|s| s.as_ref()),
    };
    load_file(file, &opts).map_err(|p| p.to_string())
}

/// The prompts folder's note and the speech model of a command.
fn engine_speech(engine: &EngineArgs) -> anyhow::Result<Option<Arc<dyn SpeechModel>>> {
    if let Some(note) = crate::config::missing_prompts_folder(&engine.prompts) {
        tracing::warn!("{note}");
    }
    crate::asr::load_speech(&crate::config::model_folders(&engine.model)).with_context(|| {
        format!(
            "the speech model (set by --model, {})",
            crate::config::set_by("model")
        )
    })
}

fn check_cmd(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let speech = engine_speech(&a.engine)?;
    match load_scenario(&a.file, "FILE", &a.engine, speech.as_ref()) {
        Ok(s) => {
            println!(
                "{}: ok: \"{}\", {} step(s), {} result(s)",
                a.file.display(),
                s.name,
                s.steps.len(),
                s.results.len()
            );
            for n in &s.notes {
                println!("{}: {n}", a.file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprint!("{problems}");
            Ok(ExitCode::from(1))
        }
    }
}

fn replay_cmd(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let speech = engine_speech(&a.engine)?;
    let scenario = match load_scenario(&a.scenario, "--scenario", &a.engine, speech.as_ref()) {
        Ok(s) => Arc::new(s),
        Err(problems) => {
            eprint!("{problems}");
            return Ok(ExitCode::from(2));
        }
    };
    let callee = match decode_file_8k(&a.callee) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --callee: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let book = match &a.greetings {
        Some(path) => match replay::GreetingsFile::read(path) {
            Ok(f) => Some(crate::call::greetings::GreetingBook::new(
                f.library(a.learn_after_numbers.max(1)),
            )),
            Err(e) => {
                eprintln!("error: --greetings: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let number = a.number.clone().unwrap_or_else(|| {
        a.callee
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let number = book.as_ref().map(|_| number.as_str());
    let cfg = CallConfig {
        prompts_dir: a.engine.prompts.clone(),
        speech,
        amd: !a.no_amd,
        greetings: book.clone(),
    };
    let outcome = match &a.record {
        Some(path) => {
            let mut w = replay::record_to_wav(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut err = None;
            let mut rec = |callee: &crate::media::Frame, robot: &crate::media::Frame| {
                for (l, r) in callee.iter().zip(robot) {
                    if let Err(e) = w.write_sample(*l).and_then(|_| w.write_sample(*r)) {
                        err.get_or_insert(e);
                    }
                }
            };
            let o = replay::run_to(scenario, cfg, number, &callee, Some(&mut rec))?;
            if let Some(e) = err {
                return Err(e).with_context(|| format!("writing {}", path.display()));
            }
            w.finalize()
                .with_context(|| format!("finishing {}", path.display()))?;
            o
        }
        None => replay::run_to(scenario, cfg, number, &callee, None)?,
    };
    if let (Some(path), Some(book), Some(heard)) = (&a.greetings, &book, &outcome.greeting) {
        let mut library = book
            .library
            .write()
            .map_err(|_| anyhow::anyhow!("the greetings book was poisoned"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let note = replay::GreetingsFile::learn(&mut library, heard, now);
        replay::GreetingsFile::of(&library)
            .write(path)
            .map_err(anyhow::Error::msg)?;
        eprintln!("greetings: {note} ({} known)", library.greetings.len());
    }
    print_outcome(&outcome, a.json)?;
    Ok(ExitCode::SUCCESS)
}

fn call_cmd(a: CallArgs) -> anyhow::Result<ExitCode> {
    let cfg = match crate::config::Config::load(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let engine = EngineArgs {
        prompts: cfg.prompts.clone(),
        model: cfg.model.clone(),
    };
    let speech = engine_speech(&engine)?;
    let scenario = match load_scenario(&a.scenario, "--scenario", &engine, speech.as_ref()) {
        Ok(s) => Arc::new(s),
        Err(problems) => {
            eprint!("{problems}");
            return Ok(ExitCode::from(2));
        }
    };
    let call_cfg = CallConfig {
        prompts_dir: engine.prompts.clone(),
        speech,
        amd: cfg.calls.amd,
        greetings: None,
    };
    let settings = crate::call::live::LiveSettings {
        ring_timeout: std::time::Duration::from_secs(cfg.calls.ring_timeout_s),
        max_duration: std::time::Duration::from_secs(cfg.calls.max_call_s),
        recordings: cfg.calls.record.then(|| cfg.data.join("recordings")),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(async {
        let trunk = match crate::telephony::start_trunk(&cfg.trunk, &engine.prompts).await {
            Ok(t) => t,
            Err(e) => return Err(format!("trunk: {e}")),
        };
        let req = crate::telephony::trunk::DialRequest {
            call_id: format!("call-{}", std::process::id()),
            number: a.number.clone(),
            caller_id: None,
        };
        // Transfers: to the number through the same trunk, to agents among the simulated
        // ones of [agents.sim] (there is no store here for SIP agents).
        let transfer =
            crate::call::transfer::TransferSettings::from_config(&cfg.agents, &engine.prompts)?;
        let stop = tokio_util::sync::CancellationToken::new();
        let agents = crate::agents::sim::pool(&cfg.agents.sim, Arc::new(crate::call::live::unix_ms))?;
        if scenario.all_actions().any(|x| matches!(x, Action::Transfer { .. })) && cfg.agents.sim.count == 0 {
            tracing::warn!("the scenario transfers to agents and `call` has only the simulated ones of [agents.sim], count = 0: a transfer waits agents.queue_max_wait_s and ends as queue_timeout");
        }
        tokio::spawn(agents.clone().run(stop.clone()));
        let _stop = stop.drop_guard();
        let watch = crate::call::live::CallWatch {
            transfer: Some(crate::call::transfer::TransferContext {
                agents,
                trunk: Some(trunk.clone()),
                project: 0,
                settings: transfer,
                card: crate::agents::card::CallCard {
                    number: a.number.clone(),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        Ok(crate::call::live::run_call_watched(
            trunk.as_ref(),
            req,
            scenario,
            call_cfg,
            &settings,
            None,
            watch,
        )
        .await)
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", describe_outcome(&report.outcome));
        match report.sip_status {
            Some(s) => println!("sip:      {s}, rang {}", seconds(report.ring_ms)),
            None => println!(
                "sip:      no final status, after {}",
                seconds(report.ring_ms)
            ),
        }
        if let Some(r) = &report.reason {
            println!("reason:   {r}");
        }
        if let Some(r) = &report.recording {
            println!("recording: {r}");
        }
        if let Some(t) = &report.transfer {
            println!("{}", describe_transfer(t));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A call's transfer for people.
fn describe_transfer(t: &crate::call::transfer::TransferReport) -> String {
    let whom = match t.agent_id {
        Some(id) => format!("agent {id}"),
        None => t.to.clone(),
    };
    let mut s = if t.answered {
        format!(
            "transfer: to {}, answered by {whom} after {} (rang {}), talked {}",
            t.to,
            seconds(t.queue_ms),
            seconds(t.agent_ring_ms),
            seconds(t.talk_ms)
        )
    } else {
        format!(
            "transfer: to {}, nobody answered; waited {}",
            t.to,
            seconds(t.queue_ms)
        )
    };
    for m in &t.misses {
        s.push_str(&format!(
            "; agent {} {} after {}",
            m.agent_id,
            m.reason.replace('_', " "),
            seconds(m.ring_ms)
        ));
    }
    s
}

fn print_outcome(o: &CallOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(o)?);
    } else {
        print!("{}", describe_outcome(o));
    }
    Ok(())
}

/// A result for people: a system result by its Russian and English labels
/// («Занято / busy»), a scenario result by its own name.
pub fn result_label(code: &str) -> String {
    match (system_result::label_ru(code), system_result::label_en(code)) {
        (Some(ru), Some(en)) => format!("{ru} / {en}"),
        _ => code.to_string(),
    }
}

/// An action for people.
fn describe_action(a: &Action) -> String {
    match a {
        Action::Transfer {
            to,
            callback_project: Some(p),
        } => format!("transfer to {to} (or, if nobody takes it, call back from «{p}»)"),
        Action::Transfer { to, .. } => format!("transfer to {to}"),
        Action::TransferExternal { to } => format!("transfer to the number {to}"),
        Action::Sms { template } => format!("send an SMS: «{template}»"),
        Action::AddToProject { project } => format!("add the contact to the project «{project}»"),
        Action::Hangup => "hang up".into(),
        Action::Webhook { url } => format!("call the webhook {url}"),
        Action::StopList {
            add_all_numbers: false,
        } => "put the reached number on the stop list and close the contact".into(),
        Action::StopList {
            add_all_numbers: true,
        } => "put all the contact's numbers on the stop list and close the contact".into(),
    }
}

/// The text output of `replay` and `call`: plain words, one fact a line (`--json` has the codes).
pub fn describe_outcome(o: &CallOutcome) -> String {
    let mut out = format!("result:   {}\n", result_label(&o.result));
    out.push_str(&format!("amd:      {}\n", o.amd.describe()));
    for e in &o.events {
        match e {
            CallEvent::Dtmf { at_ms, digit } => out.push_str(&format!(
                "event:    at {}: pressed {digit}\n",
                seconds(*at_ms)
            )),
            CallEvent::Speech {
                at_ms,
                text,
                end_ms,
            } => out.push_str(&format!(
                "event:    at {}: said «{text}» (until {})\n",
                seconds(*at_ms),
                seconds(*end_ms)
            )),
        }
    }
    for (k, v) in &o.captured {
        out.push_str(&format!("captured: {k} = {v}\n"));
    }
    for a in &o.actions {
        out.push_str(&format!("action:   {}\n", describe_action(a)));
    }
    out.push_str(&format!(
        "duration: {}; {}\n",
        seconds(o.duration_ms),
        o.ended_by.describe()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn the_log_filter_quiets_the_sip_stack_and_the_decoders_unless_named() {
        assert_eq!(log_filter(None), "warn,rsipstack=warn,symphonia=off");
        assert_eq!(log_filter(Some(" ")), "warn,rsipstack=warn,symphonia=off");
        assert_eq!(
            log_filter(Some("debug")),
            "debug,rsipstack=warn,symphonia=off"
        );
        assert_eq!(
            log_filter(Some("info,symphonia_core=debug,rsipstack=info")),
            "info,symphonia_core=debug,rsipstack=info"
        );
        for spec in [None, Some("info"), Some("trace,symphonia=warn")] {
            assert!(tracing_subscriber::EnvFilter::try_new(log_filter(spec)).is_ok());
        }
    }
}
