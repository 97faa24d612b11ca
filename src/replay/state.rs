//! `cex replay state`: the engine state after a given command, rebuilt from the newest
//! usable snapshot at or before it plus the command journal, without touching the data.

use std::io::Write;

use cex_engine::{CommandEnvelope, Engine, Event};
use cex_journal::{JournalError, JournalReader};

use super::data::{self, DataDir};
use super::{Failure, StateArgs};

pub(super) fn run(args: &StateArgs, out: &mut impl Write) -> Result<(), Failure> {
    let data = DataDir::open(&args.data.data)?;
    let upto = target(&data, args.upto, out)?;
    let (mut engine, snapshot) = newest_snapshot(&data, upto, out)?;
    let replayed = replay(&data, &mut engine, upto)?;
    writeln!(out, "seq: {}", engine.last_seq())?;
    writeln!(out, "state_hash: {:016x}", engine.state_hash())?;
    match snapshot {
        Some(seq) => writeln!(out, "rebuilt_from: snapshot {seq}")?,
        None => writeln!(out, "rebuilt_from: scratch")?,
    }
    writeln!(out, "commands_replayed: {replayed}")?;
    writeln!(out, "open_orders: {}", engine.open_orders())?;
    writeln!(out, "fees_collected: {}", fees_collected(&engine))?;
    Ok(())
}

/// `asset 0 1234, asset 2 56` for the assets with fees, or `none`.
fn fees_collected(engine: &Engine) -> String {
    let fees: Vec<String> = (0..engine.config().max_assets)
        .map(|asset| (asset, engine.fees_collected(asset)))
        .filter(|(_, fees)| *fees != 0)
        .map(|(asset, fees)| format!("asset {asset} {fees}"))
        .collect();
    if fees.is_empty() {
        return "none".to_string();
    }
    fees.join(", ")
}

/// The sequence to rebuild at: `upto`, which the command journal must reach, or its end.
/// A torn tail is left out, as recovery would cut it off. A damaged journal has no end to
/// rebuild at, but the state before the damage can still be asked for.
fn target(data: &DataDir, upto: Option<u64>, out: &mut impl Write) -> Result<u64, Failure> {
    let report = match (cex_journal::verify(data.commands()), upto) {
        (Ok(report), _) => report,
        (Err(error @ JournalError::Corrupt { .. }), Some(upto)) => {
            writeln!(out, "note: {error}; only the records before it can be replayed")?;
            return Ok(upto);
        }
        (Err(error @ JournalError::Corrupt { .. }), None) => {
            return Err(Failure::Damaged(format!("the command journal has no end to rebuild at: {error}")));
        }
        (Err(error), _) => return Err(error.into()),
    };
    if let Some(tail) = &report.dropped_tail {
        writeln!(out, "note: the torn tail at offset {} of {} is not replayed", tail.offset, tail.segment.display())?;
    }
    match upto {
        Some(upto) if upto > report.last_seq => {
            Err(Failure::Unusable(format!("--upto {upto} is past the command journal's end, {}", report.last_seq)))
        }
        Some(upto) => Ok(upto),
        None => Ok(report.last_seq),
    }
}

/// The newest snapshot at or before `upto` that is intact and restores, and its sequence;
/// else an empty engine. Snapshots passed over are listed.
fn newest_snapshot(data: &DataDir, upto: u64, out: &mut impl Write) -> Result<(Engine, Option<u64>), Failure> {
    if let Some(store) = data.snapshots()? {
        for seq in store.list()?.into_iter().rev().filter(|seq| *seq <= upto) {
            match data::restore_snapshot(&store, seq) {
                Ok(engine) => return Ok((engine, Some(seq))),
                Err(reason) => writeln!(out, "note: snapshot {seq} skipped: {reason}")?,
            }
        }
    }
    Ok((Engine::new(data::engine_config()), None))
}

/// Applies the commands after the engine's state up to `upto`; returns how many.
fn replay(data: &DataDir, engine: &mut Engine, upto: u64) -> Result<u64, Failure> {
    let mut reader = JournalReader::open(data.commands(), engine.last_seq() + 1)?;
    let mut events: Vec<Event> = Vec::new();
    let mut replayed = 0;
    while engine.last_seq() < upto {
        let Some(record) = reader.try_next()? else {
            let why = format!("the command journal stops at {}, before {upto}", engine.last_seq());
            return Err(Failure::Damaged(why));
        };
        let (seq, ts_ns) = (record.seq, record.timestamp_ns);
        let (_, command) = data::command(&record)?;
        events.clear();
        engine.apply(&CommandEnvelope { seq, ts_ns, command }, &mut events);
        if engine.last_seq() != seq {
            return Err(Failure::Damaged(format!("command {seq} did not follow the state before it")));
        }
        replayed += 1;
    }
    Ok(replayed)
}
