//! `cex`: the exchange's single binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cex", version, about = "A centralized crypto exchange with a microsecond trading core")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the exchange (engine, journal, gateways, sidecars).
    Run,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Commands::Run => {
            eprintln!(
                "cex run: the runtime is not built yet. The matching and risk engine exists as the \
                 `cex-engine` library (core/engine); the journal, the pinned pipeline and the gateways \
                 that `cex run` starts are still to come. See README.md, \"Status\"."
            );
            ExitCode::from(2)
        }
    }
}
