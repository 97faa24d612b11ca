use std::path::{Path, PathBuf};
use std::slice;

use memmap2::MmapRaw;

use crate::error::{CorruptReason, JournalError};
use crate::record::{self, record_bytes, Record, HEADER_BYTES};
use crate::segment;

/// Follows a journal written by another thread or process, by polling its files: it never
/// blocks and never takes a lock the writer could wait on.
pub struct JournalReader {
    dir: PathBuf,
    from_seq: u64,
    /// The sequence of the next record in the file.
    next_seq: u64,
    segment: Option<ReadSegment>,
}

/// A segment mapped read-only. Raw, so that no reference ever covers bytes the writer may
/// still be writing: slices are made only over published records.
struct ReadSegment {
    first_seq: u64,
    map: MmapRaw,
    offset: usize,
}

/// What the reader finds at its position.
enum Probe {
    Record {
        seq: u64,
        len: u32,
    },
    /// Nothing written here (yet), or no room for another record in this segment.
    Empty,
    /// A published length over a bad record: a crashed writer's tail, which the next
    /// writer's recovery will zero. Wait.
    Damaged,
}

impl JournalReader {
    /// Opens a reader whose first record will be `from_seq` (0 and 1 both mean the start).
    /// The directory must exist; it may still be empty.
    pub fn open(dir: impl AsRef<Path>, from_seq: u64) -> Result<Self, JournalError> {
        let mut reader =
            Self { dir: dir.as_ref().to_path_buf(), from_seq: from_seq.max(1), next_seq: 0, segment: None };
        reader.locate()?;
        Ok(reader)
    }

    /// The next complete, checksum-valid record, or `None` if there is none yet (or if
    /// [`JournalReader::try_next`] would report an error). Each call looks again for new
    /// records and new segments.
    // A lending iterator: records borrow the reader's mapping, so this cannot be `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Record<'_>> {
        self.try_next().ok().flatten()
    }

    /// Like [`JournalReader::next`], but reports errors: a segment that cannot be opened, or
    /// a valid record out of sequence.
    pub fn try_next(&mut self) -> Result<Option<Record<'_>>, JournalError> {
        let Some((offset, len)) = self.find_next()? else {
            return Ok(None);
        };
        Ok(self.segment.as_ref().map(|segment| segment.record(offset, len)))
    }

    /// The sequence the reader expects to return next.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.max(self.from_seq)
    }

    /// Moves past the next record at or after `from_seq` and returns where it is.
    fn find_next(&mut self) -> Result<Option<(usize, u32)>, JournalError> {
        loop {
            let Some(segment) = self.segment.as_mut() else {
                if self.locate()? {
                    continue;
                }
                return Ok(None);
            };
            let (seq, len) = match segment.probe() {
                Probe::Record { seq, len } => (seq, len),
                Probe::Damaged => return Ok(None),
                Probe::Empty if self.advance()? => continue,
                Probe::Empty => return Ok(None),
            };
            if seq != self.next_seq {
                let reason = CorruptReason::Sequence { expected: self.next_seq, found: seq };
                return Err(segment.corrupt(&self.dir, reason));
            }
            let offset = segment.offset;
            segment.offset += record_bytes(len as usize);
            self.next_seq += 1;
            if seq >= self.from_seq {
                return Ok(Some((offset, len)));
            }
        }
    }

    /// Maps the segment that holds `from_seq`: the last one starting at or before it.
    fn locate(&mut self) -> Result<bool, JournalError> {
        let segments = segment::list(&self.dir)?;
        let Some(first) = segments.first() else {
            return Ok(false);
        };
        if self.from_seq < first.first_seq {
            return Err(JournalError::SeqNotAvailable { requested: self.from_seq, first: first.first_seq });
        }
        let found = &segments[segments.partition_point(|s| s.first_seq <= self.from_seq) - 1];
        let Some(map) = segment::open_raw(&found.path)? else {
            return Ok(false);
        };
        self.segment = Some(ReadSegment { first_seq: found.first_seq, map, offset: 0 });
        self.next_seq = found.first_seq;
        Ok(true)
    }

    /// At the end of the current segment's data: switches to the next segment if the writer
    /// has created it. Once it exists the writer never writes to this one again.
    fn advance(&mut self) -> Result<bool, JournalError> {
        // A segment with no records yet (a writer may stop right after creating one) has
        // no successor to move to: its own name is the one `next_seq` gives.
        if self.segment.as_ref().is_some_and(|s| s.first_seq == self.next_seq) {
            return Ok(false);
        }
        let Some(map) = segment::open_raw(&segment::path(&self.dir, self.next_seq))? else {
            return Ok(false);
        };
        // The writer published its last record here before it renamed the next segment into
        // place; the first look may have missed it, a look after seeing the file cannot.
        if self.segment.as_ref().is_some_and(|s| !matches!(s.probe(), Probe::Empty)) {
            return Ok(true);
        }
        self.segment = Some(ReadSegment { first_seq: self.next_seq, map, offset: 0 });
        Ok(true)
    }
}

impl ReadSegment {
    fn probe(&self) -> Probe {
        if self.offset + HEADER_BYTES > self.map.len() {
            return Probe::Empty;
        }
        // SAFETY: records start at 8-aligned offsets of a page-aligned mapping, and the
        // header fits in the mapping, so the word is aligned and in bounds. The mapping is
        // read-only and `load_len` is a relaxed load (allowed there) followed by a fence.
        let len = unsafe { record::load_len(self.map.as_ptr().add(self.offset)) };
        if len == 0 {
            return Probe::Empty;
        }
        let end = HEADER_BYTES + len as usize;
        if end > self.map.len() - self.offset {
            return Probe::Damaged;
        }
        match record::check(len, self.published(self.offset, end)) {
            Ok(record) => Probe::Record { seq: record.seq, len },
            Err(_) => Probe::Damaged,
        }
    }

    /// The record at `offset`, already checked by `probe`.
    fn record(&self, offset: usize, len: u32) -> Record<'_> {
        let end = HEADER_BYTES + len as usize;
        record::decode(self.published(offset, end), end)
    }

    /// The `len` bytes at `offset`, which start with a non-zero length word seen through
    /// `load_len`, and lie within the mapping.
    fn published(&self, offset: usize, len: usize) -> &[u8] {
        debug_assert!(offset + len <= self.map.len());
        // SAFETY: in bounds (checked by the caller). The writer wrote these bytes before it
        // published the length with Release, which our Acquire fence has seen, and it never
        // writes a published record again, so they do not change while the slice lives. The
        // one exception is a crashed writer's torn record, which a recovering writer may be
        // zeroing: such bytes fail the checksum and are never returned as a record. The file
        // is never truncated, so the mapping stays backed.
        unsafe { slice::from_raw_parts(self.map.as_ptr().add(offset), len) }
    }

    fn corrupt(&self, dir: &Path, reason: CorruptReason) -> JournalError {
        JournalError::Corrupt { segment: segment::path(dir, self.first_seq), offset: self.offset as u64, reason }
    }
}
