//! `cex replay verify`: both journals as recovery would check them, every record decoded,
//! and every snapshot restored. All damage is collected and reported, not only the first.

use std::io::Write;
use std::path::Path;

use cex_journal::{JournalError, JournalReader, Record, RecoveryReport};

use super::data::{self, DataDir};
use super::{DataArgs, Failure};

pub(super) fn run(args: &DataArgs, out: &mut impl Write) -> Result<(), Failure> {
    let data = DataDir::open(&args.data)?;
    let mut damage = Vec::new();
    let commands = check_journal(out, "commands", &data.commands(), decode_command, &mut damage)?;
    let events = check_journal(out, "events", &data.events(), decode_events, &mut damage)?;
    if events > commands {
        damage.push(format!("the event journal reaches {events}, the command journal only {commands}"));
    }
    check_snapshots(out, &data, commands, events, &mut damage)?;
    if damage.is_empty() {
        writeln!(out, "ok")?;
        return Ok(());
    }
    writeln!(out, "DAMAGED: {} problem(s)", damage.len())?;
    Err(Failure::Damaged(damage.join("\n  ")))
}

fn decode_command(record: &Record) -> Result<(), Failure> {
    data::command(record).map(drop)
}

fn decode_events(record: &Record) -> Result<(), Failure> {
    data::events(record).map(drop)
}

/// Checks one journal's segments, then decodes every record a reader reaches; returns the
/// last sequence read.
fn check_journal(
    out: &mut impl Write,
    name: &str,
    dir: &Path,
    decode: fn(&Record) -> Result<(), Failure>,
    damage: &mut Vec<String>,
) -> Result<u64, Failure> {
    match cex_journal::verify(dir) {
        Ok(report) => {
            writeln!(out, "{name}: {}", describe(&report))?;
            if let Some(tail) = report.dropped_tail {
                let (segment, offset) = (tail.segment.display(), tail.offset);
                let problem = format!(
                    "{name} journal has a torn tail in {segment} at offset {offset}: {} record; a writer \
                     opening it would cut off {} bytes",
                    tail.damage, report.dropped_bytes
                );
                writeln!(out, "{name}: {problem}")?;
                damage.push(problem);
            }
        }
        Err(error @ JournalError::Corrupt { .. }) => {
            writeln!(out, "{name}: {error}")?;
            damage.push(format!("{name} {error}"));
        }
        Err(error) => return Err(error.into()),
    }
    let decoded = decode_all(dir, decode)?;
    if let Some(problem) = &decoded.problem {
        writeln!(out, "{name}: {problem}")?;
        damage.push(format!("{name}: {problem}"));
    }
    Ok(decoded.last_seq)
}

fn describe(report: &RecoveryReport) -> String {
    let first = report.last_seq + 1 - report.records;
    let span =
        if report.records == 0 { "no records".to_string() } else { format!("seq {first}..={}", report.last_seq) };
    format!("{} records ({span}) in {} segment(s), checksums and sequence ok", report.records, report.segments)
}

struct Decoded {
    last_seq: u64,
    /// The first record that does not decode, or why reading stopped, and how many more.
    problem: Option<String>,
}

/// Decodes every record from the start. A reader stops, without an error, at a damaged
/// record, which `cex_journal::verify` has reported already.
fn decode_all(dir: &Path, decode: fn(&Record) -> Result<(), Failure>) -> Result<Decoded, Failure> {
    let mut reader = JournalReader::open(dir, 1)?;
    let (mut last_seq, mut failures, mut first_failure) = (0, 0u64, None);
    loop {
        let record = match reader.try_next() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(error) => {
                first_failure.get_or_insert(error.to_string());
                failures += 1;
                break;
            }
        };
        if let Err(failure) = decode(&record) {
            first_failure.get_or_insert(failure.to_string());
            failures += 1;
        }
        last_seq = record.seq;
    }
    let problem = first_failure.map(|first| match failures {
        1 => first,
        n => format!("{first} (and {} more)", n - 1),
    });
    Ok(Decoded { last_seq, problem })
}

/// Each snapshot must be intact, restore to the state after its sequence, and lie within
/// both journals (recovery cannot use one ahead of the event journal).
fn check_snapshots(
    out: &mut impl Write,
    data: &DataDir,
    commands: u64,
    events: u64,
    damage: &mut Vec<String>,
) -> Result<(), Failure> {
    let Some(store) = data.snapshots()? else {
        writeln!(out, "snapshots: none")?;
        return Ok(());
    };
    for seq in store.list()? {
        let verdict = data::restore_snapshot(&store, seq).and_then(|engine| match seq {
            seq if seq > commands => Err(format!("ahead of the readable command journal, which ends at {commands}")),
            seq if seq > events => Err(format!("ahead of the readable event journal, which ends at {events}")),
            _ => Ok(engine.state_hash()),
        });
        match verdict {
            Ok(hash) => writeln!(out, "snapshot {seq}: restores, state hash {hash:016x}")?,
            Err(reason) => {
                writeln!(out, "snapshot {seq}: {reason}")?;
                damage.push(format!("snapshot {}: {reason}", data.snapshot_path(seq).display()));
            }
        }
    }
    Ok(())
}
