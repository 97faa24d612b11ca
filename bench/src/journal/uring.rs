//! A minimal journal writer on io_uring, for the benchmark only (the journal itself stays
//! on its memory-mapped writer).
//!
//! It writes the journal's record format (`length | crc32c | seq | timestamp | payload`,
//! padded to 8 bytes; `cex_journal::HEADER_BYTES`, `cex_journal::record_bytes`) into one
//! preallocated segment file named as the journal names its first segment, so
//! `cex_journal::JournalReader` reads it and `JournalWriter::open` recovers it.
//!
//! `append` encodes the record into a staging buffer. A group of staged records goes to the
//! kernel as one buffered `Write` at the file offset where they belong:
//! - [`UringMode::Buffered`]: no flush; a group is sent once 256 KiB are staged (or when the
//!   writer is idle), with up to 16 groups in flight. Like the journal's `Mmap` mode, what
//!   completes is in the page cache.
//! - [`UringMode::Datasync`]: each write is linked (`IO_LINK`) to an `Fsync` with the
//!   `DATASYNC` flag over the same range; the group is durable when the fsync completes.
//! - [`UringMode::Dsync`]: the file is opened with `O_DSYNC`, so the write itself completes
//!   only once durable.
//!
//! The durable modes commit in groups like the journal's sync thread: one group in flight;
//! whatever is appended meanwhile goes out as the next group as soon as it completes. There
//! is no sync thread: the appending thread submits and reaps (`append` and `poll` never
//! wait for the disk), and the kernel's io-wq workers do the blocking part.
//!
//! Limits, as befits an experiment: one segment and no rollover (the benchmark sizes the
//! file to its stream); a failed or short write is final, as a failed `fsync` is for the
//! journal.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cex_journal::{record_bytes, HEADER_BYTES};
use io_uring::{opcode, squeue, types, IoUring};

/// How a group of records is made to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UringMode {
    /// Buffered writes, never flushed: records reach the page cache.
    Buffered,
    /// A buffered write linked to an `fdatasync` of its range.
    Datasync,
    /// A write to a file opened with `O_DSYNC`.
    Dsync,
}

impl UringMode {
    pub const ALL: [UringMode; 3] = [UringMode::Buffered, UringMode::Datasync, UringMode::Dsync];

    pub fn name(self) -> &'static str {
        match self {
            UringMode::Buffered => "io_uring write",
            UringMode::Datasync => "io_uring write+fdatasync",
            UringMode::Dsync => "io_uring O_DSYNC write",
        }
    }

    /// Whether a completed group is on stable storage (and not only in the page cache).
    pub fn is_durable(self) -> bool {
        self != UringMode::Buffered
    }

    fn max_in_flight(self) -> usize {
        match self {
            UringMode::Buffered => 16,
            UringMode::Datasync | UringMode::Dsync => 1,
        }
    }
}

/// Buffered mode sends a group once this much is staged.
const BUFFERED_GROUP_BYTES: usize = 256 << 10;
/// A group never grows past this: `append` then waits for a free slot and sends it.
const MAX_GROUP_BYTES: usize = 16 << 20;
/// Initial room of a staging buffer; buffers are reused, so they grow only while warming up.
const STAGING_BYTES: usize = 2 * BUFFERED_GROUP_BYTES;
const RING_ENTRIES: u32 = 64;
/// The user_data bit that marks an fsync completion (the rest is the group's id).
const SYNC_BIT: u64 = 1;

/// Whether io_uring can run here with the operations this writer needs, or why not (no
/// kernel support, disabled by `kernel.io_uring_disabled`, refused by a seccomp filter).
pub fn probe() -> Result<(), String> {
    let ring = IoUring::new(8).map_err(|error| format!("io_uring setup failed: {error}"))?;
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe).map_err(|error| format!("io_uring probe failed: {error}"))?;
    for (code, name) in [(opcode::Write::CODE, "write"), (opcode::Fsync::CODE, "fsync")] {
        if !probe.is_supported(code) {
            return Err(format!("io_uring has no {name} operation on this kernel"));
        }
    }
    Ok(())
}

/// One group of records handed to the kernel.
struct Group {
    id: u64,
    /// The records' bytes. The kernel reads them until the write completes, so the buffer
    /// stays here, unchanged, until every completion of the group has been reaped.
    bytes: Vec<u8>,
    last_seq: u64,
    /// Completions still to come: the write, and the fsync in `Datasync` mode.
    outstanding: u8,
}

pub struct UringWriter {
    ring: IoUring,
    file: File,
    path: PathBuf,
    mode: UringMode,
    capacity: u64,
    last_seq: u64,
    /// Encoded records not yet sent, and the file offset of their first byte.
    staged: Vec<u8>,
    staged_offset: u64,
    /// Groups in flight, oldest first.
    groups: VecDeque<Group>,
    next_group: u64,
    /// Emptied buffers of completed groups, reused for staging.
    spare: Vec<Vec<u8>>,
    /// The last sequence of the oldest groups that all completed.
    durable: Arc<AtomicU64>,
    completed_groups: Arc<AtomicU64>,
    failure: Option<String>,
}

impl UringWriter {
    /// Creates `dir` (if needed) and in it the first segment, `capacity` bytes preallocated,
    /// for records from sequence 1.
    pub fn create(dir: &Path, capacity: u64, mode: UringMode) -> io::Result<UringWriter> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{:020}.journal", 1));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        if mode == UringMode::Dsync {
            options.custom_flags(libc::O_DSYNC);
        }
        let file = options.open(&path)?;
        preallocate(&file, capacity)?;
        // The segment's name and size must be durable before any acknowledged record is.
        file.sync_all()?;
        File::open(dir)?.sync_all()?;
        let ring = IoUring::new(RING_ENTRIES)?;
        Ok(UringWriter {
            ring,
            file,
            path,
            mode,
            capacity,
            last_seq: 0,
            staged: Vec::with_capacity(STAGING_BYTES),
            staged_offset: 0,
            groups: VecDeque::with_capacity(mode.max_in_flight()),
            next_group: 0,
            spare: Vec::new(),
            durable: Arc::new(AtomicU64::new(0)),
            completed_groups: Arc::new(AtomicU64::new(0)),
            failure: None,
        })
    }

    /// Restricts the kernel's io-wq workers (which run the blocking fsyncs and `O_DSYNC`
    /// writes) to `cpus`. By default they inherit the mask of the thread that first needs
    /// one, which may be a pinned appending thread.
    pub fn place_workers(&self, cpus: &libc::cpu_set_t) -> io::Result<()> {
        self.ring.submitter().register_iowq_aff(cpus)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends record `seq` (which must be `last_seq + 1`) to the staging buffer and sends
    /// what is staged if the mode's policy says so. Never waits for the disk, except when a
    /// group reaches 16 MiB with every slot still in flight.
    pub fn append(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) -> io::Result<()> {
        self.check_failure()?;
        if seq != self.last_seq + 1 {
            return Err(io::Error::other(format!("append out of sequence: expected {}, got {seq}", self.last_seq + 1)));
        }
        if payload.is_empty() || payload.len() > u32::MAX as usize {
            return Err(io::Error::other("a payload must be 1 byte to 4 GiB long"));
        }
        let size = record_bytes(payload.len());
        if self.staged_offset + (self.staged.len() + size) as u64 > self.capacity {
            return Err(io::Error::other(format!("segment {} is full", self.path.display())));
        }
        if self.staged.len() + size > MAX_GROUP_BYTES {
            self.send_now()?;
        }
        encode(&mut self.staged, seq, timestamp_ns, payload);
        self.last_seq = seq;
        self.reap()?;
        let due = match self.mode {
            UringMode::Buffered => self.staged.len() >= BUFFERED_GROUP_BYTES,
            UringMode::Datasync | UringMode::Dsync => true,
        };
        if due {
            self.send_if_free()?;
        }
        Ok(())
    }

    /// For an idle appending thread: reaps completions and sends whatever is staged if a
    /// slot is free. Never blocks.
    pub fn poll(&mut self) -> io::Result<()> {
        self.reap()?;
        self.send_if_free()
    }

    /// The last sequence appended.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The last sequence whose group completed (in a durable mode: is on stable storage).
    pub fn durable_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The durable sequence, for another thread to poll.
    pub fn durable_handle(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable)
    }

    /// Groups completed so far: in `Datasync` mode, the number of `fdatasync`s.
    pub fn completed_groups(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.completed_groups)
    }

    /// Sends everything staged and waits until every group has completed.
    pub fn finish(&mut self) -> io::Result<()> {
        loop {
            self.reap()?;
            self.send_if_free()?;
            if self.staged.is_empty() && self.groups.is_empty() {
                return Ok(());
            }
            self.ring.submit_and_wait(1)?;
        }
    }

    fn check_failure(&self) -> io::Result<()> {
        match &self.failure {
            Some(why) => Err(io::Error::other(why.clone())),
            None => Ok(()),
        }
    }

    /// Waits for a free slot, then sends what is staged.
    fn send_now(&mut self) -> io::Result<()> {
        while self.groups.len() >= self.mode.max_in_flight() {
            self.ring.submit_and_wait(1)?;
            self.reap()?;
        }
        self.send_if_free()
    }

    fn send_if_free(&mut self) -> io::Result<()> {
        if self.staged.is_empty() || self.groups.len() >= self.mode.max_in_flight() {
            return Ok(());
        }
        let spare = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(STAGING_BYTES));
        let bytes = std::mem::replace(&mut self.staged, spare);
        let (offset, len) = (self.staged_offset, bytes.len());
        self.staged_offset += len as u64;
        let id = self.next_group << 1;
        self.next_group += 1;
        let fd = types::Fd(self.file.as_raw_fd());
        let write = opcode::Write::new(fd, bytes.as_ptr(), len as u32).offset(offset).build().user_data(id);
        let durable_by_fsync = self.mode == UringMode::Datasync;
        let outstanding = if durable_by_fsync { 2 } else { 1 };
        // The group owns its buffer from here until its completions are reaped; moving the
        // Vec into the queue does not move the heap bytes the kernel will read.
        self.groups.push_back(Group { id, bytes, last_seq: self.last_seq, outstanding });
        let mut queue = self.ring.submission();
        let pushed = if durable_by_fsync {
            let sync = opcode::Fsync::new(fd)
                .flags(types::FsyncFlags::DATASYNC)
                .offset(offset)
                .len(len as u32)
                .build()
                .user_data(id | SYNC_BIT);
            let linked = [write.flags(squeue::Flags::IO_LINK), sync];
            // SAFETY: the write reads `len` bytes at `bytes.as_ptr()`, a buffer now owned by
            // the group pushed above. It is neither changed nor freed until both
            // completions of the group are reaped (`reap`), and `Drop` waits for every
            // group in flight. The descriptor belongs to `self.file`, which outlives the
            // ring's requests for the same reason. The fsync reads no memory.
            unsafe { queue.push_multiple(&linked) }
        } else {
            // SAFETY: as above: the buffer belongs to the group until its write completes.
            unsafe { queue.push(&write) }
        };
        drop(queue);
        if pushed.is_err() {
            // Cannot happen with at most 16 groups of 2 entries in a 64-entry ring.
            let group = self.groups.pop_back().expect("just pushed");
            self.staged = group.bytes;
            self.staged_offset = offset;
            return Err(io::Error::other("io_uring submission queue full"));
        }
        if let Err(error) = self.ring.submit() {
            self.failure.get_or_insert_with(|| format!("io_uring submit failed: {error}"));
            return Err(error);
        }
        Ok(())
    }

    /// Takes every completion the kernel has posted, then retires the oldest groups that
    /// are complete and publishes the durable sequence.
    fn reap(&mut self) -> io::Result<()> {
        let mut completions = [(0u64, 0i32); RING_ENTRIES as usize];
        loop {
            let mut count = 0;
            for entry in self.ring.completion().take(completions.len()) {
                completions[count] = (entry.user_data(), entry.result());
                count += 1;
            }
            if count == 0 {
                break;
            }
            for &(user_data, result) in &completions[..count] {
                self.complete(user_data, result);
            }
        }
        while self.groups.front().is_some_and(|group| group.outstanding == 0) {
            let mut group = self.groups.pop_front().expect("checked");
            if self.failure.is_none() {
                self.durable.store(group.last_seq, Ordering::Release);
                self.completed_groups.fetch_add(1, Ordering::Relaxed);
            }
            group.bytes.clear();
            self.spare.push(group.bytes);
        }
        self.check_failure()
    }

    fn complete(&mut self, user_data: u64, result: i32) {
        let id = user_data & !SYNC_BIT;
        let Some(group) = self.groups.iter_mut().find(|group| group.id == id) else {
            return;
        };
        group.outstanding -= 1;
        let is_sync = user_data & SYNC_BIT != 0;
        let failure = if result < 0 {
            let what = if is_sync { "fdatasync" } else { "write" };
            Some(format!("{what} failed: {}", io::Error::from_raw_os_error(-result)))
        } else if !is_sync && result as usize != group.bytes.len() {
            Some(format!("short write: {result} of {} bytes", group.bytes.len()))
        } else {
            None
        };
        if self.failure.is_none() {
            self.failure = failure;
        }
    }
}

impl Drop for UringWriter {
    /// Waits for every group in flight, so no buffer is freed while the kernel reads it.
    fn drop(&mut self) {
        while !self.groups.is_empty() {
            let waited = self.ring.submit_and_wait(1);
            let _ = self.reap();
            if let Err(error) = waited {
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The kernel may still read these buffers: leak them rather than free them.
                for group in self.groups.drain(..) {
                    std::mem::forget(group.bytes);
                }
            }
        }
    }
}

/// Appends one record, length word included, padded with zeros to `record_bytes`.
fn encode(out: &mut Vec<u8>, seq: u64, timestamp_ns: u64, payload: &[u8]) {
    let start = out.len();
    let end = start + HEADER_BYTES + payload.len();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&timestamp_ns.to_le_bytes());
    out.extend_from_slice(payload);
    out.resize(start + record_bytes(payload.len()), 0);
    let crc = crc32c::crc32c(&out[start + 8..end]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Reserves the segment's blocks up front, as the journal does, falling back to a sparse
/// file where the file system refuses.
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<()> {
    let off_len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fallocate reads only its integer arguments; the descriptor is open and owned
    // by `file` for the duration of the call.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, off_len) };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL) => file.set_len(len),
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use cex_journal::{Durability, JournalConfig, JournalReader, JournalWriter};

    use super::*;

    fn payload(seq: u64) -> Vec<u8> {
        let len = 1 + (seq * 37 % 300) as usize;
        (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
    }

    #[test]
    fn the_journal_reads_and_recovers_what_the_io_uring_writer_wrote() {
        if let Err(why) = probe() {
            eprintln!("skipped: io_uring is unavailable here ({why})");
            return;
        }
        let records = 5_000u64;
        let capacity: u64 = (1..=records).map(|seq| record_bytes(payload(seq).len()) as u64).sum::<u64>() + 4096;
        for mode in UringMode::ALL {
            let dir = tempfile::tempdir().unwrap();
            let mut writer = UringWriter::create(dir.path(), capacity, mode).unwrap();
            for seq in 1..=records {
                writer.append(seq, seq * 10, &payload(seq)).unwrap();
                if seq % 100 == 0 {
                    writer.poll().unwrap();
                }
            }
            writer.finish().unwrap();
            assert_eq!(writer.durable_seq(), records, "{mode:?}");
            drop(writer);

            let mut reader = JournalReader::open(dir.path(), 1).unwrap();
            let mut seq = 0;
            while let Some(record) = reader.try_next().unwrap() {
                seq += 1;
                assert_eq!((record.seq, record.timestamp_ns), (seq, seq * 10), "{mode:?}");
                assert_eq!(record.payload, payload(seq).as_slice(), "{mode:?} record {seq}");
            }
            assert_eq!(seq, records, "{mode:?}: every record reads back");

            let config = JournalConfig { segment_bytes: capacity, durability: Durability::Mmap };
            let (writer, report) = JournalWriter::open(dir.path(), config).unwrap();
            assert_eq!((report.last_seq, report.dropped_bytes), (records, 0), "{mode:?}: recovery keeps everything");
            assert_eq!(writer.last_seq(), records);
        }
    }

    #[test]
    fn appends_out_of_sequence_or_past_the_segment_are_refused() {
        if let Err(why) = probe() {
            eprintln!("skipped: io_uring is unavailable here ({why})");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut writer = UringWriter::create(dir.path(), 64, UringMode::Buffered).unwrap();
        assert!(writer.append(2, 0, b"x").is_err());
        writer.append(1, 0, &[7; 30]).unwrap();
        assert!(writer.append(2, 0, &[7; 30]).is_err(), "64 bytes hold one 56-byte record");
        writer.finish().unwrap();
        assert_eq!(writer.durable_seq(), 1);
    }
}
