//! `cex replay dump`: commands as JSON lines, each optionally followed by its events in the
//! EntityEvent form. Streams record by record; nothing is collected.

use std::io::Write;

use cex_engine::render::Renderer;
use cex_journal::JournalReader;

use super::command_json::command_json;
use super::data::{self, DataDir};
use super::{DumpArgs, Failure};

pub(super) fn run(args: &DumpArgs, out: &mut impl Write) -> Result<(), Failure> {
    let data = DataDir::open(&args.data.data)?;
    let to = args.to.unwrap_or(u64::MAX);
    if args.from == 0 || args.from > to {
        return Err(Failure::Unusable(format!("no sequences in --from {} --to {to}", args.from)));
    }
    let mut events = args.events.then(|| EventStream::open(&data, args.from)).transpose()?;
    let mut commands = JournalReader::open(data.commands(), args.from)?;
    let mut last = None;
    while let Some(record) = commands.try_next()? {
        if record.seq > to {
            break;
        }
        let (origin, command) = data::command(&record)?;
        writeln!(out, "{}", command_json(record.seq, record.timestamp_ns, origin, &command))?;
        if let Some(events) = &mut events {
            events.write(record.seq, out)?;
        }
        last = Some(record.seq);
    }
    check_reached(last, args)
}

/// Refuses a range the journal does not hold: dumping nothing, or stopping short of `--to`.
fn check_reached(last: Option<u64>, args: &DumpArgs) -> Result<(), Failure> {
    let hint = "(`cex replay stats` shows the range, `cex replay verify` finds damage)";
    match (last, args.to) {
        (None, _) => Err(Failure::Unusable(format!("the command journal holds no record {} {hint}", args.from))),
        (Some(last), Some(to)) if last < to => {
            Err(Failure::Unusable(format!("the command journal ends at {last}, before --to {to} {hint}")))
        }
        _ => Ok(()),
    }
}

/// The event journal, read in step with the commands and rendered as EntityEvents.
struct EventStream {
    reader: JournalReader,
    renderer: Renderer,
}

impl EventStream {
    /// Positioned at `from`. The records before it are rendered and dropped, so event ids
    /// are the ones a consumer reading from the start assigns.
    fn open(data: &DataDir, from: u64) -> Result<EventStream, Failure> {
        let mut reader = JournalReader::open(data.events(), 1)?;
        let mut renderer = Renderer::new();
        for seq in 1..from {
            let Some(record) = reader.try_next()? else {
                return Err(missing(seq));
            };
            for event in data::events(&record)? {
                renderer.render(&event);
            }
        }
        Ok(EventStream { reader, renderer })
    }

    /// Writes the EntityEvents of command `seq`, which must be the next event record.
    fn write(&mut self, seq: u64, out: &mut impl Write) -> Result<(), Failure> {
        let record = self.reader.try_next()?.ok_or_else(|| missing(seq))?;
        if record.seq != seq {
            return Err(Failure::Damaged(format!("event record {} where {seq} was due", record.seq)));
        }
        for event in data::events(&record)? {
            for entity in self.renderer.render(&event) {
                writeln!(out, "{}", entity.to_json())?;
            }
        }
        Ok(())
    }
}

/// The event journal may lag the command journal after a crash; opening the engine
/// regenerates the missing records.
fn missing(seq: u64) -> Failure {
    Failure::Damaged(format!("the event journal has no record {seq}; opening the engine regenerates it"))
}
