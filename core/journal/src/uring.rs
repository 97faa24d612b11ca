//! The io_uring writer behind `Durability::Fsync` (`FsyncWriter::Uring`).
//!
//! The appending thread encodes each record into a private staging buffer, never into the
//! shared mapping, so it never touches a page that write-back holds locked. Staged records
//! go to the kernel in groups: per segment, one buffered `Write` at the records' file
//! offset followed by an `Fsync` with `DATASYNC` over the same range. One group is in
//! flight at a time; whatever is appended meanwhile is the next group (group commit, as the
//! sync thread does).
//!
//! Crash consistency: the entries of a group form one `IO_LINK` chain, so the kernel runs
//! them in order and a crash leaves a prefix of the appends. A new segment is built under
//! its temporary name on the appending thread; the chain renames it into place (and
//! `fsync`s the directory) only after the previous segment's records are written and
//! synced. So no segment is ever visible before the one it follows is complete, which
//! recovery requires.
//!
//! Threads: the appending thread submits a group when none is in flight. A reaper thread
//! sleeps in `io_uring_enter` until completions arrive; when a group's last completion is
//! in, it submits the next group (if anything is staged), tells the `Syncer`, and only then
//! publishes the group's last sequence as durable. The staging state is behind a mutex that
//! both hold only to move buffers and queue entries, never across a system call that waits
//! for the disk.
//!
//! The ring is never full: a group is at most `MAX_CHUNKS` segment ranges of 4 entries
//! each, plus the one wake-up entry `stop` adds, in a 64-entry ring. Records appended while
//! a group is in flight wait in the staging buffer. It holds at most one segment's worth of
//! bytes: past that, `append` waits until the group in flight completes and the staged
//! records can go. That is backpressure from the disk, as the kernel gives the mapped
//! writer through dirty-page throttling; readers never hold the writer back.

use std::collections::VecDeque;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use crate::error::JournalError;
use crate::record::{self, record_bytes};
use crate::segment;
use crate::sync::{FailOnPanic, Shared, SyncRange, Syncer};

const RING_ENTRIES: u32 = 64;
/// Segment ranges in one group: each takes up to 4 entries (rename, directory fsync,
/// write, fdatasync), leaving room for the wake-up.
const MAX_CHUNKS: usize = 15;
/// The user_data of the wake-up `Nop` that `stop` submits.
const WAKE: u64 = u64::MAX;
/// Initial room of a staging buffer; buffers are reused, so they grow only while warming up.
const STAGING_BYTES: usize = 256 << 10;
/// How long a full `append` sleeps between checks for a failed reaper, which cannot
/// signal `room` while it is failing.
const ROOM_RECHECK: Duration = Duration::from_millis(10);

/// Whether the io_uring `Fsync` writer can run on this host, or why not (see [`ring`]).
pub fn io_uring_support() -> Result<(), String> {
    ring().map(drop)
}

/// A ring with the operations this writer needs, or why there is none: no kernel support
/// (`ENOSYS`), disabled by `kernel.io_uring_disabled` or refused by a seccomp filter
/// (`EPERM`), or an old kernel without some operation.
pub(crate) fn ring() -> Result<IoUring, String> {
    let ring = IoUring::new(RING_ENTRIES).map_err(|error| format!("io_uring_setup failed: {error}"))?;
    let mut probe = io_uring::Probe::new();
    ring.submitter().register_probe(&mut probe).map_err(|error| format!("io_uring probe failed: {error}"))?;
    let needed = [
        (opcode::Write::CODE, "write"),
        (opcode::Fsync::CODE, "fsync"),
        (opcode::RenameAt::CODE, "renameat"),
        (opcode::Nop::CODE, "nop"),
    ];
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Err(format!("io_uring has no {name} operation on this kernel"));
        }
    }
    Ok(ring)
}

/// A segment file the kernel writes to; shared by the chunks that target it, so it stays
/// open until their writes complete.
struct SegmentHandle {
    file: File,
    /// For a segment this writer created: its temporary and final names, which the
    /// rename entry reads until it completes.
    names: Option<(CString, CString)>,
}

/// Consecutive records of one segment, staged or in flight.
struct Chunk {
    segment: Arc<SegmentHandle>,
    offset: u64,
    bytes: Vec<u8>,
    first_seq: u64,
    last_seq: u64,
    /// The first chunk of a segment this writer created: rename it into place first.
    new_segment: bool,
}

/// Chunks handed to the kernel together. Their buffers stay here, unchanged, until every
/// completion of the group has been reaped: the kernel reads them until then.
struct Group {
    chunks: Vec<Chunk>,
    outstanding: usize,
    error: Option<io::Error>,
}

#[derive(Default)]
struct Staging {
    chunks: VecDeque<Chunk>,
    /// The bytes in `chunks`, which `append` keeps within `UringWriter::max_staged`.
    staged_bytes: usize,
    in_flight: Option<Group>,
    spare: Vec<Vec<u8>>,
    stop: bool,
}

/// What the appending thread and the reaper share.
struct Inner {
    ring: IoUring,
    staging: Mutex<Staging>,
    /// Signalled when staged chunks leave for the kernel, for an `append` waiting for room.
    room: Condvar,
    dir: File,
    shared: Arc<Shared>,
}

impl Inner {
    fn staging(&self) -> MutexGuard<'_, Staging> {
        self.staging.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the oldest staged chunks to the kernel as a group, if none is in flight.
    /// Returns whether entries were queued; the caller submits them after unlocking.
    fn launch(&self, staging: &mut Staging) -> bool {
        if staging.in_flight.is_some() || staging.chunks.is_empty() || self.shared.failure().is_some() {
            return false;
        }
        let take = staging.chunks.len().min(MAX_CHUNKS);
        let chunks: Vec<Chunk> = staging.chunks.drain(..take).collect();
        staging.staged_bytes -= chunks.iter().map(|chunk| chunk.bytes.len()).sum::<usize>();
        self.room.notify_all();
        let mut chain: Vec<squeue::Entry> = Vec::with_capacity(4 * chunks.len());
        for (index, chunk) in chunks.iter().enumerate() {
            chain.extend(entries(chunk, index as u64, self.dir.as_raw_fd()));
        }
        // One chain: each entry starts only once the one before it succeeded.
        let last = chain.len() - 1;
        for entry in &mut chain[..last] {
            *entry = entry.clone().flags(squeue::Flags::IO_LINK);
        }
        let outstanding = chain.len();
        // SAFETY: every use of the submission queue happens with the staging lock held,
        // which we hold, so no other `SubmissionQueue` exists.
        let mut queue = unsafe { self.ring.submission_shared() };
        // SAFETY: the writes read `chunk.bytes` and the renames the segments' names, which
        // the group below owns until all its completions are reaped (the reaper;
        // `UringWriter::stop` waits for it, and a reaper that cannot wait leaks them). The
        // descriptors belong to the chunks' segments and to `self.dir`, which live as long.
        // The fsyncs read no memory. The queue has room: at most MAX_CHUNKS * 4 + 1 <
        // RING_ENTRIES entries are ever unreaped, and all of them were submitted earlier.
        let pushed = unsafe { queue.push_multiple(&chain) };
        debug_assert!(pushed.is_ok(), "the ring holds a whole group");
        drop(queue);
        staging.in_flight = Some(Group { chunks, outstanding, error: None });
        true
    }

    /// The staging state, once `size` more bytes fit within `limit` or nothing is staged:
    /// a record larger than the bound still goes, alone.
    fn wait_for_room(&self, size: usize, limit: usize) -> Result<MutexGuard<'_, Staging>, JournalError> {
        let mut staging = self.staging();
        while staging.staged_bytes > 0 && staging.staged_bytes + size > limit {
            if let Some(failure) = self.shared.failure() {
                return Err(failure);
            }
            let waited = self.room.wait_timeout(staging, ROOM_RECHECK);
            staging = waited.unwrap_or_else(PoisonError::into_inner).0;
        }
        Ok(staging)
    }

    fn submit(&self) {
        loop {
            match self.ring.submit() {
                Ok(_) => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return self.shared.fail(error),
            }
        }
    }
}

/// The kinds of entry a chunk queues, in the low bits of their user_data; the chunk's
/// index in its group is in the others.
const WRITE: u64 = 0;
const DATASYNC: u64 = 1;
const RENAME: u64 = 2;
const DIRSYNC: u64 = 3;
const KIND_BITS: u32 = 2;

/// A chunk's entries, in order: for a new segment, its rename into place and a directory
/// fsync; then the write, and an fdatasync of its range.
fn entries(chunk: &Chunk, index: u64, dir: i32) -> Vec<squeue::Entry> {
    let fd = types::Fd(chunk.segment.file.as_raw_fd());
    let len = chunk.bytes.len() as u32;
    let tag = |kind: u64| index << KIND_BITS | kind;
    let mut entries = Vec::with_capacity(4);
    if let Some((tmp, name)) = chunk.segment.names.as_ref().filter(|_| chunk.new_segment) {
        let dir = types::Fd(dir);
        entries.push(opcode::RenameAt::new(dir, tmp.as_ptr(), dir, name.as_ptr()).build().user_data(tag(RENAME)));
        entries.push(opcode::Fsync::new(dir).build().user_data(tag(DIRSYNC)));
    }
    let write = opcode::Write::new(fd, chunk.bytes.as_ptr(), len).offset(chunk.offset).build();
    entries.push(write.user_data(tag(WRITE)));
    let datasync = opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).offset(chunk.offset).len(len).build();
    entries.push(datasync.user_data(tag(DATASYNC)));
    entries
}

/// The appending side of the io_uring writer.
pub(crate) struct UringWriter {
    inner: Arc<Inner>,
    dir: PathBuf,
    segment_len: usize,
    /// The segment records go to, and where the next one starts in it.
    segment: Option<Arc<SegmentHandle>>,
    offset: usize,
    /// The current segment was created by this writer and no chunk of it was staged yet.
    segment_is_new: bool,
    reaper: Option<JoinHandle<()>>,
}

impl UringWriter {
    /// Starts the writer on `ring`, continuing the last segment `tail` at its offset if
    /// there is one.
    pub fn start(
        ring: IoUring,
        dir: &Path,
        segment_len: usize,
        shared: Arc<Shared>,
        syncer: Box<dyn Syncer>,
        tail: Option<(File, usize)>,
    ) -> Result<Self, JournalError> {
        let dir_file = File::open(dir).map_err(JournalError::io(dir))?;
        let staging = Mutex::new(Staging::default());
        let inner = Arc::new(Inner { ring, staging, room: Condvar::new(), dir: dir_file, shared });
        let (segment, offset) = match tail {
            Some((file, offset)) => (Some(Arc::new(SegmentHandle { file, names: None })), offset),
            None => (None, 0),
        };
        let reaper = {
            let inner = Arc::clone(&inner);
            thread::Builder::new().name("journal-uring".into()).spawn(move || reap(&inner, syncer))
        };
        Ok(Self {
            inner,
            dir: dir.to_path_buf(),
            segment_len,
            segment,
            offset,
            segment_is_new: false,
            reaper: Some(reaper.map_err(JournalError::io(dir))?),
        })
    }

    /// Stages record `seq` (already checked by the caller) and, if no group is in flight,
    /// sends it. It reaches the file, and readers, once its group is written. Waits while a
    /// segment's worth of records is already staged behind the group in flight.
    pub fn append(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) -> Result<(), JournalError> {
        let size = record_bytes(payload.len());
        let segment = match &self.segment {
            Some(segment) if self.offset + size <= self.segment_len => Arc::clone(segment),
            _ => self.roll(seq)?,
        };
        let launched = {
            let mut staging = self.inner.wait_for_room(size, self.segment_len)?;
            let staging = &mut *staging;
            let reuse = staging.chunks.back().is_some_and(|chunk| Arc::ptr_eq(&chunk.segment, &segment));
            if !reuse {
                let bytes = staging.spare.pop().unwrap_or_else(|| Vec::with_capacity(STAGING_BYTES));
                let new_segment = mem::take(&mut self.segment_is_new);
                let chunk =
                    Chunk { segment, offset: self.offset as u64, bytes, first_seq: seq, last_seq: seq, new_segment };
                staging.chunks.push_back(chunk);
            }
            let chunk = staging.chunks.back_mut().expect("a chunk was just ensured");
            encode(&mut chunk.bytes, seq, timestamp_ns, payload);
            chunk.last_seq = seq;
            staging.staged_bytes += size;
            self.inner.launch(staging)
        };
        self.offset += size;
        if launched {
            self.inner.submit();
        }
        Ok(())
    }

    /// Creates the segment starting at `seq`, under its temporary name, and makes it
    /// current. Earlier chunks keep their own handle of the previous segment until they
    /// complete.
    fn roll(&mut self, seq: u64) -> Result<Arc<SegmentHandle>, JournalError> {
        let file = segment::create_unnamed(&self.dir, seq, self.segment_len)?;
        let name = |name: String| CString::new(name).expect("segment names hold no NUL");
        let names = Some((name(segment::tmp_name(seq)), name(segment::file_name(seq))));
        let handle = Arc::new(SegmentHandle { file, names });
        self.segment = Some(Arc::clone(&handle));
        self.offset = 0;
        self.segment_is_new = true;
        Ok(handle)
    }

    /// Lets the reaper make everything staged durable, then joins it.
    pub fn stop(&mut self) {
        let Some(reaper) = self.reaper.take() else { return };
        {
            let mut staging = self.inner.staging();
            staging.stop = true;
            // SAFETY: the staging lock is held, so no other `SubmissionQueue` exists. A Nop
            // reads no memory. There is room: see `Inner::launch`.
            let pushed =
                unsafe { self.inner.ring.submission_shared().push(&opcode::Nop::new().build().user_data(WAKE)) };
            debug_assert!(pushed.is_ok());
        }
        self.inner.submit();
        // A panic in the reaper is recorded as a failure by `FailOnPanic`.
        let _ = reaper.join();
    }
}

impl Drop for UringWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reaper thread: waits for completions, retires each group once all of its entries
/// completed, sends the next, and publishes the durable sequence.
fn reap(inner: &Inner, mut syncer: Box<dyn Syncer>) {
    let _fail_on_panic = FailOnPanic(Arc::clone(&inner.shared));
    let mut completions: Vec<(u64, i32)> = Vec::with_capacity(RING_ENTRIES as usize);
    loop {
        if let Err(error) = inner.ring.submit_and_wait(1) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            inner.shared.fail(error);
            return abandon(inner);
        }
        completions.clear();
        // SAFETY: only this thread ever reads the completion queue.
        completions
            .extend(unsafe { inner.ring.completion_shared() }.map(|c: cqueue::Entry| (c.user_data(), c.result())));
        let (done, launched, finished) = {
            let mut staging = inner.staging();
            if let Some(group) = staging.in_flight.as_mut() {
                for &(user_data, result) in completions.iter().filter(|(user_data, _)| *user_data != WAKE) {
                    group.complete(user_data, result);
                }
            }
            let done = staging.in_flight.take_if(|group| group.outstanding == 0);
            let launched = done.as_ref().is_some_and(|group| group.error.is_none()) && inner.launch(&mut staging);
            let idle = staging.in_flight.is_none();
            let finished = idle && (staging.stop && staging.chunks.is_empty() || inner.shared.failure().is_some());
            (done, launched, finished)
        };
        if launched {
            inner.submit();
        }
        if let Some(group) = done {
            retire(inner, syncer.as_mut(), group);
        }
        if finished {
            return;
        }
    }
}

impl Group {
    /// Records one completion; any failure, a short write, or a link cancelled by one
    /// (`ECANCELED`) fails the group.
    fn complete(&mut self, user_data: u64, result: i32) {
        self.outstanding = self.outstanding.saturating_sub(1);
        let Some(chunk) = self.chunks.get((user_data >> KIND_BITS) as usize) else { return };
        let error = if result < 0 {
            Some(io::Error::from_raw_os_error(-result))
        } else if user_data & ((1 << KIND_BITS) - 1) == WRITE && result as usize != chunk.bytes.len() {
            Some(io::Error::other(format!("short journal write: {result} of {} bytes", chunk.bytes.len())))
        } else {
            None
        };
        if self.error.is_none() {
            self.error = error;
        }
    }
}

/// A completed group: its ranges go to the syncer, then its last sequence is published and
/// its buffers are kept for reuse.
fn retire(inner: &Inner, syncer: &mut dyn Syncer, group: Group) {
    let result = match group.error {
        Some(error) => Err(error),
        None => group.chunks.iter().try_for_each(|chunk| {
            let range =
                SyncRange { segment: &chunk.segment.file, first_seq: chunk.first_seq, last_seq: chunk.last_seq };
            syncer.completed(range)
        }),
    };
    match result {
        // A group launched before an earlier one failed must not publish past the failure.
        Ok(()) if inner.shared.failure().is_some() => {}
        Ok(()) => inner.shared.publish(group.chunks.last().map_or(0, |chunk| chunk.last_seq)),
        Err(error) => inner.shared.fail(error),
    }
    let mut staging = inner.staging();
    for mut chunk in group.chunks {
        chunk.bytes.clear();
        staging.spare.push(chunk.bytes);
    }
}

/// The reaper can no longer wait for the group in flight: the kernel may still read its
/// buffers, so they are leaked rather than freed.
fn abandon(inner: &Inner) {
    if let Some(group) = inner.staging().in_flight.take() {
        for chunk in group.chunks {
            mem::forget(chunk.bytes);
        }
    }
}

/// Appends one record to `out`, padded with zeros to `record_bytes`.
fn encode(out: &mut Vec<u8>, seq: u64, timestamp_ns: u64, payload: &[u8]) {
    let start = out.len();
    out.resize(start + record_bytes(payload.len()), 0);
    let dst = &mut out[start..];
    record::encode_unpublished(dst, seq, timestamp_ns, payload);
    // A private buffer: no reader sees it before the kernel writes it, so no atomic store.
    dst[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
}
