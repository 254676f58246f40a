//! The `autoinformer` binary: parses the command line, sets up tracing, runs the command.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // AUTOINFORMER_LOG, with the noisy dependencies quiet unless named (see `log_filter`).
    let spec = autoinformer::cli::log_filter(std::env::var("AUTOINFORMER_LOG").ok().as_deref());
    let filter = tracing_subscriber::EnvFilter::try_new(&spec).unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(autoinformer::cli::log_filter(None))
    });
    // Colour codes only for a terminal: a log written to a file or a journal stays plain.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours)
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
