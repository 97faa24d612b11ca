use crate::error::JournalError;
use crate::record::{ALIGN, HEADER_BYTES};

/// What `append` guarantees once it returns, and what `durable_seq` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Nothing is written and no file is touched: for tests and benchmarks.
    None,
    /// Records are in the shared mapping, i.e. the kernel's page cache: they survive a
    /// crash of this process, not of the machine.
    Mmap,
    /// Group commit: a sync thread flushes written records to stable storage and advances
    /// `durable_seq` after each flush completes.
    Fsync,
}

/// Which writer carries `Durability::Fsync` (the other modes always use the mapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FsyncWriter {
    /// Records are encoded into a private buffer and written by io_uring, each group linked
    /// to an `fdatasync`; the appending thread never touches pages under write-back. Falls
    /// back to `Mmap` where io_uring is unavailable. A record reaches the file, and
    /// readers, only when its group is written, so the event journal, which consumers tail
    /// live, always uses `Mmap`. The default: it measured better (docs/BENCHMARKS.md).
    #[default]
    Uring,
    /// Records are written into the shared mapping and a sync thread `fdatasync`s them.
    Mmap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// Size of each segment file; a multiple of 8, at least 64 bytes.
    pub segment_bytes: u64,
    pub durability: Durability,
    /// The writer behind `Durability::Fsync`; ignored in the other modes.
    pub fsync_writer: FsyncWriter,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self { segment_bytes: 64 << 20, durability: Durability::Fsync, fsync_writer: FsyncWriter::Uring }
    }
}

const MIN_SEGMENT_BYTES: u64 = 64;

impl JournalConfig {
    /// The segment size as a `usize`, or why it is unusable.
    pub(crate) fn segment_len(&self) -> Result<usize, JournalError> {
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(JournalError::InvalidConfig("segment_bytes must be at least 64"));
        }
        if !self.segment_bytes.is_multiple_of(ALIGN as u64) {
            return Err(JournalError::InvalidConfig("segment_bytes must be a multiple of 8"));
        }
        usize::try_from(self.segment_bytes)
            .ok()
            .filter(|&len| isize::try_from(len).is_ok())
            .ok_or(JournalError::InvalidConfig("segment_bytes does not fit in memory"))
    }

    /// The largest payload one record can carry.
    pub fn max_payload(&self) -> usize {
        let in_segment = usize::try_from(self.segment_bytes).unwrap_or(usize::MAX).saturating_sub(HEADER_BYTES);
        in_segment.min(u32::MAX as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_size_is_validated() {
        let config =
            |segment_bytes| JournalConfig { segment_bytes, durability: Durability::None, ..JournalConfig::default() };
        assert!(config(32).segment_len().is_err());
        assert!(config(100).segment_len().is_err());
        assert_eq!(config(128).segment_len().unwrap(), 128);
        assert_eq!(config(128).max_payload(), 104);
    }
}
