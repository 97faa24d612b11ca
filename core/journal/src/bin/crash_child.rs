//! Test support for the crash test (`tests/crash.rs`): a durable engine in `mmap` mode
//! that reads commands from stdin and acknowledges each once it is journaled and applied.
//!
//! Usage: `cex-journal-crash-child DIR`. On start it prints `ready <last_seq> <state_hash>`.
//! Each stdin frame is a timestamp (u64 LE), a length (u16 LE) and an SBE command; each
//! accepted command is answered with `ack <seq>`. It runs until stdin closes, or is killed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cex_engine::EngineConfig;
use cex_journal::{Durability, DurableConfig, DurableEngine, JournalConfig, Origin, SnapshotPolicy};

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cex-journal-crash-child DIR");
        return ExitCode::from(2);
    };
    let config = DurableConfig {
        dir,
        journal: JournalConfig { segment_bytes: 1 << 20, durability: Durability::Mmap, ..JournalConfig::default() },
        snapshots: SnapshotPolicy { every_commands: 5_000, every_ns: 0, keep: 3 },
    };
    match serve(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crash child: {error}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &DurableConfig) -> Result<(), Box<dyn std::error::Error>> {
    let (mut durable, startup) = DurableEngine::open(config, EngineConfig::default())?;
    let mut out = io::stdout().lock();
    writeln!(out, "ready {} {}", startup.commands.last_seq, startup.state_hash)?;
    out.flush()?;
    let mut input = BufReader::new(io::stdin().lock());
    let mut events = Vec::new();
    let mut frame = [0u8; 10];
    let mut message = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    while !input.fill_buf()?.is_empty() {
        input.read_exact(&mut frame)?;
        let ts_ns = u64::from_le_bytes(frame[..8].try_into()?);
        let length = u16::from_le_bytes(frame[8..].try_into()?) as usize;
        let bytes = message.get_mut(..length).ok_or("frame longer than any message")?;
        input.read_exact(bytes)?;
        let command = cex_schema::decode_command(bytes).map_err(|error| format!("{error:?}"))?;
        events.clear();
        let seq = durable.submit(ts_ns, Origin::INTERNAL, &command, &mut events)?;
        writeln!(out, "ack {seq}")?;
        out.flush()?;
    }
    durable.close()?;
    Ok(())
}
