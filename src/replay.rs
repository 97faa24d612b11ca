//! `cex replay`: inspects a durable engine's data directory (`commands/`, `events/`,
//! `snapshots/`) without changing it. No writer is opened, since opening one recovers the
//! journal and would cut off a torn tail; journals are read with `JournalReader` and checked
//! with `cex_journal::verify`, and snapshot directories are never created.
//!
//! Exit status: 0 when all is well, 1 when the data is damaged or inconsistent, 2 when the
//! command cannot run (no such directory, a sequence the journal does not hold).

mod command_json;
mod data;
mod dump;
mod state;
mod stats;
mod time;
mod verify;

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// The engine's capacities are not recorded in the data directory yet, so snapshots are
/// restored and commands replayed with `EngineConfig::default()`; a directory written with
/// other capacities may not restore, or may replay differently.
const ENGINE_CONFIG_NOTE: &str = "The engine config is EngineConfig::default(): the data directory does not \
                                  record one yet (the runtime will store it alongside the data).";

#[derive(Subcommand)]
pub enum ReplayCommand {
    /// Verify both journals (checksums, gap-free sequences across segments, torn tails) and
    /// every snapshot (checksum, restores). Read-only; exits 1 on any damage.
    #[command(after_help = ENGINE_CONFIG_NOTE)]
    Verify(DataArgs),
    /// Records, sequences, timestamps, segments and bytes per journal; commands and events
    /// by kind; trades; snapshots.
    Stats(DataArgs),
    /// Commands as JSON lines, each optionally followed by its events as EntityEvents.
    Dump(DumpArgs),
    /// Rebuild the engine state at a sequence, from the newest usable snapshot at or before
    /// it plus the command journal, and print its state hash and totals.
    #[command(after_help = ENGINE_CONFIG_NOTE)]
    State(StateArgs),
}

#[derive(Args)]
pub struct DataArgs {
    /// The durable engine's data directory.
    #[arg(long, default_value = "./data")]
    pub data: PathBuf,
}

#[derive(Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// First command sequence to print.
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// Last command sequence to print (default: the end of the journal).
    #[arg(long)]
    pub to: Option<u64>,
    /// After each command, its events in the EntityEvent form, one JSON object per line.
    /// Event ids count from the start of the journal, whatever `--from` is.
    #[arg(long)]
    pub events: bool,
}

#[derive(Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The sequence to rebuild the state at (default: the end of the command journal).
    #[arg(long)]
    pub upto: Option<u64>,
}

/// Why a replay command stopped early.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The data is damaged or inconsistent.
    Damaged(String),
    /// The command cannot run: a missing directory, an I/O error, a sequence not there.
    Unusable(String),
    /// Standard output was closed early (`| head`): not an error.
    ClosedPipe,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Damaged(why) | Failure::Unusable(why) => f.write_str(why),
            Failure::ClosedPipe => f.write_str("output closed"),
        }
    }
}

/// Output errors: every `?` on a write lands here.
impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::BrokenPipe => Failure::ClosedPipe,
            _ => Failure::Unusable(format!("writing the output: {error}")),
        }
    }
}

impl From<cex_journal::JournalError> for Failure {
    fn from(error: cex_journal::JournalError) -> Self {
        match error {
            cex_journal::JournalError::Corrupt { .. } => Failure::Damaged(error.to_string()),
            _ => Failure::Unusable(error.to_string()),
        }
    }
}

pub fn run(command: ReplayCommand) -> ExitCode {
    let (name, result) = {
        let mut out = BufWriter::new(io::stdout().lock());
        let (name, result) = match command {
            ReplayCommand::Verify(args) => ("verify", verify::run(&args, &mut out)),
            ReplayCommand::Stats(args) => ("stats", stats::run(&args, &mut out)),
            ReplayCommand::Dump(args) => ("dump", dump::run(&args, &mut out)),
            ReplayCommand::State(args) => ("state", state::run(&args, &mut out)),
        };
        // What the command printed goes out before its error message does.
        let flushed = out.flush().map_err(Failure::from);
        (name, result.and(flushed))
    };
    match result {
        Ok(()) | Err(Failure::ClosedPipe) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("cex replay {name}: {failure}");
            match failure {
                Failure::Damaged(_) => ExitCode::FAILURE,
                _ => ExitCode::from(2),
            }
        }
    }
}
