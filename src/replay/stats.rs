//! `cex replay stats`: what the journals and snapshots hold, in one pass over each journal.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use cex_engine::{CommandKind, EventBody};
use cex_journal::{record_bytes, JournalError, JournalReader, Record};

use super::data::{self, DataDir};
use super::time::rfc3339;
use super::{DataArgs, Failure};

pub(super) fn run(args: &DataArgs, out: &mut impl Write) -> Result<(), Failure> {
    let data = DataDir::open(&args.data)?;
    let mut damaged = false;
    let mut kinds = [0u64; CommandKind::ALL.len()];
    writeln!(out, "commands")?;
    damaged |= journal(out, &data.commands(), |record| {
        kinds[data::command(record)?.1.kind() as usize] += 1;
        Ok(())
    })?;
    for kind in CommandKind::ALL.iter().filter(|kind| kinds[**kind as usize] > 0) {
        writeln!(out, "  kind {}: {}", kind.name(), kinds[*kind as usize])?;
    }
    writeln!(out, "events")?;
    let mut events = BTreeMap::new();
    damaged |= journal(out, &data.events(), |record| {
        for event in data::events(record)? {
            *events.entry(event_kind(&event.body)).or_insert(0u64) += 1;
        }
        Ok(())
    })?;
    writeln!(out, "  engine events: {}", events.values().sum::<u64>())?;
    writeln!(out, "  trades: {}", events.get("Trade").copied().unwrap_or(0))?;
    for (kind, count) in &events {
        writeln!(out, "  kind {kind}: {count}")?;
    }
    let snapshots: Vec<String> = data.snapshot_seqs()?.iter().map(u64::to_string).collect();
    writeln!(out, "snapshots: {}", if snapshots.is_empty() { "none".to_string() } else { snapshots.join(" ") })?;
    if damaged {
        return Err(Failure::Damaged("a journal is damaged; `cex replay verify` says where".to_string()));
    }
    Ok(())
}

/// What a pass over one journal saw.
#[derive(Default)]
struct Summary {
    records: u64,
    /// (sequence, timestamp) of the first and last records.
    first: Option<(u64, u64)>,
    last: Option<(u64, u64)>,
    record_bytes: u64,
}

/// Prints one journal's records, span, segments and integrity, handing each record to
/// `visit`; returns whether the journal is damaged.
fn journal(
    out: &mut impl Write,
    dir: &Path,
    visit: impl FnMut(&Record) -> Result<(), Failure>,
) -> Result<bool, Failure> {
    let summary = summarize(dir, visit)?;
    writeln!(out, "  records: {}", summary.records)?;
    if let (Some(first), Some(last)) = (summary.first, summary.last) {
        writeln!(out, "  seq: {}..={}", first.0, last.0)?;
        writeln!(out, "  time: {} .. {}", rfc3339(first.1), rfc3339(last.1))?;
    }
    let segments = data::segment_files(dir)?;
    let on_disk: u64 = segments.iter().map(|(_, bytes)| bytes).sum();
    let records = summary.record_bytes;
    writeln!(out, "  segments: {}, {on_disk} bytes on disk, {records} bytes of records", segments.len())?;
    let integrity = match cex_journal::verify(dir) {
        Ok(report) => {
            report.dropped_tail.map(|tail| format!("torn tail at offset {} of {}", tail.offset, tail.segment.display()))
        }
        Err(error @ JournalError::Corrupt { .. }) => Some(error.to_string()),
        Err(error) => return Err(error.into()),
    };
    writeln!(out, "  integrity: {}", integrity.as_deref().unwrap_or("ok"))?;
    Ok(integrity.is_some())
}

fn summarize(dir: &Path, mut visit: impl FnMut(&Record) -> Result<(), Failure>) -> Result<Summary, Failure> {
    let mut reader = JournalReader::open(dir, 1)?;
    let mut summary = Summary::default();
    while let Some(record) = reader.try_next()? {
        visit(&record)?;
        summary.records += 1;
        summary.first.get_or_insert((record.seq, record.timestamp_ns));
        summary.last = Some((record.seq, record.timestamp_ns));
        summary.record_bytes += record_bytes(record.payload.len()) as u64;
    }
    Ok(summary)
}

fn event_kind(body: &EventBody) -> &'static str {
    match body {
        EventBody::Rejected(_) => "Rejected",
        EventBody::OrderAccepted(_) => "OrderAccepted",
        EventBody::Trade(_) => "Trade",
        EventBody::OrderCancelled(_) => "OrderCancelled",
        EventBody::OrderAmended(_) => "OrderAmended",
        EventBody::StopTriggered(_) => "StopTriggered",
        EventBody::BalanceChanged(_) => "BalanceChanged",
        EventBody::AssetAdded { .. } => "AssetAdded",
        EventBody::SymbolAdded(_) => "SymbolAdded",
        EventBody::SymbolStatusChanged { .. } => "SymbolStatusChanged",
        EventBody::SymbolFeesChanged(_) => "SymbolFeesChanged",
        EventBody::TierLimitsChanged { .. } => "TierLimitsChanged",
        EventBody::AccountCreated { .. } => "AccountCreated",
        EventBody::AccountStatusChanged { .. } => "AccountStatusChanged",
        EventBody::AccountFeeTierChanged { .. } => "AccountFeeTierChanged",
    }
}
