//! The `autoinformer` binary: parses the command line, sets up tracing, runs the command.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // The SIP stack logs every packet at INFO: keep it at WARN unless asked for by name.
    let mut spec = std::env::var("AUTOINFORMER_LOG").unwrap_or_else(|_| "warn".into());
    if !spec.contains("rsipstack") {
        spec.push_str(",rsipstack=warn");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rsipstack=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = autoinformer::cli::Cli::parse();
    match autoinformer::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
