//! Read-only verification, for tools that inspect a journal a writer may later open: the
//! same checks as recovery, reading the segments instead of mapping them for writing.

use std::fs;
use std::path::Path;

use crate::error::JournalError;
use crate::recovery::{self, RecoveryReport};

/// Verifies the journal in `dir` as `JournalWriter::open` would, without changing any file:
/// every record's checksum, the gap-free sequence within and across segments, and the tail.
/// Returns the report recovery would give (`dropped_tail` is the torn tail it would cut
/// off), or the `JournalError::Corrupt` it would refuse with. The directory must exist.
pub fn verify(dir: impl AsRef<Path>) -> Result<RecoveryReport, JournalError> {
    let read = |path: &Path| fs::read(path).map(|bytes| ((), bytes)).map_err(JournalError::io(path));
    Ok(recovery::walk(dir.as_ref(), read)?.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CorruptReason, Damage};
    use crate::{Durability, JournalConfig, JournalWriter};

    /// Segments of 256 bytes: six 40-byte records each, so records 7..=10 are in the last.
    fn write(dir: &Path, records: u64) {
        let config = JournalConfig { segment_bytes: 256, durability: Durability::Mmap, ..JournalConfig::default() };
        let (mut writer, _) = JournalWriter::open(dir, config).unwrap();
        for seq in 1..=records {
            writer.append(seq, seq * 10, &[seq as u8; 16]).unwrap();
        }
        writer.close().unwrap();
    }

    fn segment(dir: &Path, first_seq: u64) -> std::path::PathBuf {
        dir.join(format!("{first_seq:020}.journal"))
    }

    #[test]
    fn a_torn_tail_is_reported_and_left_in_place() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 10);
        let last = segment(dir.path(), 7);
        let mut bytes = fs::read(&last).unwrap();
        bytes[3 * 40 + 30] ^= 0xff;
        fs::write(&last, &bytes).unwrap();

        let report = verify(dir.path()).unwrap();
        assert_eq!((report.last_seq, report.records, report.segments), (9, 9, 2));
        let tail = report.dropped_tail.unwrap();
        assert_eq!((tail.segment, tail.offset, tail.damage), (last.clone(), 3 * 40, Damage::Checksum));
        assert_eq!(fs::read(&last).unwrap(), bytes);
    }

    #[test]
    fn damage_before_the_last_segment_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 10);
        let first = segment(dir.path(), 1);
        let mut bytes = fs::read(&first).unwrap();
        bytes[40 + 30] ^= 0xff;
        fs::write(&first, &bytes).unwrap();

        let Err(JournalError::Corrupt { segment, offset, reason }) = verify(dir.path()) else {
            panic!("a damaged sealed segment must be refused");
        };
        assert_eq!((segment, offset, reason), (first, 40, CorruptReason::Damaged(Damage::Checksum)));
    }
}
