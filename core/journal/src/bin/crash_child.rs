//! Test support for the crash test (`tests/crash.rs`): a durable engine that reads commands
//! from stdin and acknowledges them once they are journaled and applied, and in `fsync`
//! mode (on the io_uring writer) only once they are durable.
//!
//! Usage: `cex-journal-crash-child DIR [mmap|fsync]` (default `mmap`). On start it prints
//! `ready <last_seq> <state_hash>`. Each stdin frame is a timestamp (u64 LE), a length
//! (u16 LE) and an SBE command; accepted commands are answered with `ack <seq>`, meaning
//! every sequence up to it. It runs until stdin closes, or is killed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cex_engine::EngineConfig;
use cex_journal::{Durability, DurableConfig, DurableEngine, FsyncWriter, JournalConfig, Origin, SnapshotPolicy};

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cex-journal-crash-child DIR [mmap|fsync]");
        return ExitCode::from(2);
    };
    let durability = match std::env::args().nth(2).as_deref() {
        None | Some("mmap") => Durability::Mmap,
        Some("fsync") => Durability::Fsync,
        Some(other) => {
            eprintln!("unknown durability {other:?}: mmap or fsync");
            return ExitCode::from(2);
        }
    };
    let config = DurableConfig {
        dir,
        journal: JournalConfig { segment_bytes: 1 << 20, durability, fsync_writer: FsyncWriter::Uring },
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
    if let Some(why) = &startup.uring_unavailable {
        eprintln!("crash child: io_uring unavailable ({why}), fsync runs on the mmap writer");
    }
    let watcher = durable.durable_watcher();
    let mut acked = startup.commands.last_seq;
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
        // Acknowledge what is durable; with no more input buffered, wait for the rest.
        if input.buffer().is_empty() {
            watcher.wait_for(seq, Duration::from_secs(60))?;
        }
        let durable_seq = watcher.durable_seq();
        if durable_seq > acked {
            acked = durable_seq;
            writeln!(out, "ack {acked}")?;
            out.flush()?;
        }
    }
    durable.close()?;
    Ok(())
}
