//! Recovery when a writer opens: every segment is verified in order; a torn tail of the
//! last segment is cut off, damage anywhere else refuses the open. The verification alone
//! (`walk`) also serves read-only checks (`crate::verify`).

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::{CorruptReason, Damage, JournalError};
use crate::record::{self, Slot, ALIGN, HEADER_BYTES};
use crate::segment::{self, SegmentFile};

/// What recovery found. The library does not log; the caller decides what to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The last valid sequence (0 for an empty journal); the next append must be one more.
    pub last_seq: u64,
    /// Valid records across all segments.
    pub records: u64,
    pub segments: usize,
    /// Non-zero bytes zeroed at the end of the last segment.
    pub dropped_bytes: u64,
    pub dropped_tail: Option<DroppedTail>,
}

/// A torn tail that recovery cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedTail {
    pub segment: PathBuf,
    /// Where the first dropped record started; the segment is zero from here on.
    pub offset: u64,
    pub damage: Damage,
}

/// The verified journal, with its last segment mapped for appending.
pub(crate) struct Recovered {
    pub report: RecoveryReport,
    pub segments: Vec<SegmentFile>,
    pub tail: Option<Tail>,
}

pub(crate) struct Tail {
    pub file: File,
    pub map: MmapMut,
    /// Where the next record goes.
    pub offset: usize,
}

/// How far one segment's records run.
struct Scan {
    records: u64,
    next_seq: u64,
    end: usize,
    damage: Option<Damage>,
}

/// The segments verified in order, the last one still open.
pub(crate) struct Walk<F, M> {
    pub report: RecoveryReport,
    pub segments: Vec<SegmentFile>,
    /// The last segment as `open` returned it, and where its valid records end.
    pub last: Option<(F, M, usize)>,
}

pub(crate) fn recover(dir: &Path) -> Result<Recovered, JournalError> {
    let Walk { report, segments, last } = walk(dir, segment::open_mut)?;
    let tail = last.map(|(file, mut map, offset)| {
        // Cut the torn tail: appends continue where it started.
        map[offset..offset + report.dropped_bytes as usize].fill(0);
        Tail { file, map, offset }
    });
    Ok(Recovered { report, segments, tail })
}

/// Cuts the journal in `dir` after record `last_seq`: later segments are deleted (newest
/// first, so a crash midway leaves a journal without gaps) and the rest of the segment
/// holding `last_seq + 1` is zeroed and flushed. Returns how many records were dropped. For
/// a derived journal only (the event journal, which may run ahead of the command journal
/// after a crash): no writer may hold `dir`.
pub(crate) fn truncate_after(dir: &Path, last_seq: u64) -> Result<u64, JournalError> {
    let Walk { report, segments, last } = walk(dir, segment::open_mut)?;
    drop(last);
    if report.last_seq <= last_seq {
        return Ok(0);
    }
    for seg in segments.iter().rev() {
        if seg.first_seq <= last_seq {
            let (file, mut map) = segment::open_mut(&seg.path)?;
            let from = offset_of(&map, seg.first_seq, last_seq + 1);
            let to = written_end(&map, from);
            map[from..to].fill(0);
            map.flush().map_err(JournalError::io(&seg.path))?;
            file.sync_data().map_err(JournalError::io(&seg.path))?;
            break;
        }
        std::fs::remove_file(&seg.path).map_err(JournalError::io(&seg.path))?;
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(JournalError::io(dir))?;
    Ok(report.last_seq - last_seq)
}

/// Where record `seq` starts in a verified segment whose first record is `first_seq`.
fn offset_of(bytes: &[u8], first_seq: u64, seq: u64) -> usize {
    let mut offset = 0;
    for _ in first_seq..seq {
        match record::slot(bytes, offset) {
            Slot::Valid { next, .. } => offset = next,
            _ => break,
        }
    }
    offset
}

/// Verifies every segment, opened by `open`, in order, and changes nothing: the report's
/// dropped tail is what recovery then cuts off. Refuses a journal recovery would refuse.
pub(crate) fn walk<F, M: Deref<Target = [u8]>>(
    dir: &Path,
    mut open: impl FnMut(&Path) -> Result<(F, M), JournalError>,
) -> Result<Walk<F, M>, JournalError> {
    let segments = segment::list(dir)?;
    let mut report = RecoveryReport { segments: segments.len(), ..RecoveryReport::default() };
    let mut expected = segments.first().map(|s| s.first_seq.max(1));
    let mut last = None;
    for (i, seg) in segments.iter().enumerate() {
        if let Some(expected) = expected.filter(|&e| e != seg.first_seq) {
            return Err(corrupt(seg, 0, CorruptReason::Sequence { expected, found: seg.first_seq }));
        }
        let (file, map) = open(&seg.path)?;
        if map.len() < HEADER_BYTES {
            return Err(corrupt(seg, 0, CorruptReason::TooSmall { bytes: map.len() as u64 }));
        }
        let scan = scan(seg, &map)?;
        if i + 1 < segments.len() {
            check_sealed(seg, &scan)?;
        } else {
            find_tail(seg, &map, &scan, &mut report)?;
            last = Some((file, map, scan.end));
        }
        report.records += scan.records;
        expected = Some(scan.next_seq);
    }
    report.last_seq = expected.map_or(0, |next| next - 1);
    Ok(Walk { report, segments, last })
}

/// Follows the records from the start of a segment until the end marker or damage. A valid
/// record out of sequence is corruption wherever it is.
fn scan(seg: &SegmentFile, bytes: &[u8]) -> Result<Scan, JournalError> {
    let mut scan = Scan { records: 0, next_seq: seg.first_seq, end: 0, damage: None };
    loop {
        match record::slot(bytes, scan.end) {
            Slot::Empty => return Ok(scan),
            Slot::Damaged(damage) => return Ok(Scan { damage: Some(damage), ..scan }),
            Slot::Valid { record, next } => {
                if record.seq != scan.next_seq {
                    let reason = CorruptReason::Sequence { expected: scan.next_seq, found: record.seq };
                    return Err(corrupt(seg, scan.end, reason));
                }
                scan = Scan { records: scan.records + 1, next_seq: scan.next_seq + 1, end: next, damage: None };
            }
        }
    }
}

/// A segment followed by another must be complete and non-empty.
fn check_sealed(seg: &SegmentFile, scan: &Scan) -> Result<(), JournalError> {
    if let Some(damage) = scan.damage {
        return Err(corrupt(seg, scan.end, CorruptReason::Damaged(damage)));
    }
    if scan.records == 0 {
        return Err(corrupt(seg, 0, CorruptReason::EmptySegment));
    }
    Ok(())
}

/// Whatever follows the last valid record of the last segment is a torn tail, for recovery
/// to zero, unless a valid record hides in it: then the damage is not a tail and the journal
/// is corrupt.
fn find_tail(seg: &SegmentFile, bytes: &[u8], scan: &Scan, report: &mut RecoveryReport) -> Result<(), JournalError> {
    let written = written_end(bytes, scan.end);
    if written == scan.end {
        return Ok(());
    }
    if let Some(valid_at) = find_valid(bytes, scan.end + ALIGN, written) {
        return Err(corrupt(seg, scan.end, CorruptReason::ValidRecordAfterDamage { valid_at }));
    }
    report.dropped_bytes = (written - scan.end) as u64;
    report.dropped_tail = Some(DroppedTail {
        segment: seg.path.clone(),
        offset: scan.end as u64,
        damage: scan.damage.unwrap_or(Damage::Unpublished),
    });
    Ok(())
}

/// One past the last non-zero byte at or after `from` (or `from` if all are zero): the end
/// of written data. Scans in blocks, since a fresh segment is mostly zeros.
fn written_end(bytes: &[u8], from: usize) -> usize {
    const BLOCK: usize = 4096;
    let rest = &bytes[from..];
    let nonzero = |b: &[u8]| b.iter().fold(0u8, |acc, &x| acc | x) != 0;
    let Some(block) = rest.chunks(BLOCK).rposition(nonzero) else {
        return from;
    };
    let start = block * BLOCK;
    let end = (start + BLOCK).min(rest.len());
    let last = rest[start..end].iter().rposition(|&b| b != 0).expect("the block has a non-zero byte");
    from + start + last + 1
}

/// The first aligned offset in `from..to` holding a valid record.
fn find_valid(bytes: &[u8], from: usize, to: usize) -> Option<u64> {
    (from..to)
        .step_by(ALIGN)
        .find(|&offset| matches!(record::slot(bytes, offset), Slot::Valid { .. }))
        .map(|o| o as u64)
}

fn corrupt(seg: &SegmentFile, offset: usize, reason: CorruptReason) -> JournalError {
    JournalError::Corrupt { segment: seg.path.clone(), offset: offset as u64, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_end_finds_the_last_nonzero_byte() {
        let mut bytes = vec![0u8; 10_000];
        assert_eq!(written_end(&bytes, 16), 16);
        bytes[9_000] = 1;
        bytes[20] = 1;
        assert_eq!(written_end(&bytes, 16), 9_001);
        assert_eq!(written_end(&bytes, 9_001), 9_001);
        bytes[9_999] = 1;
        assert_eq!(written_end(&bytes, 0), 10_000);
    }
}
