use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use memmap2::MmapMut;

use crate::config::{Durability, FsyncWriter, JournalConfig};
use crate::error::JournalError;
use crate::record::{self, record_bytes};
use crate::recovery::{self, Recovered, RecoveryReport, Tail};
use crate::segment::{self, SegmentFile};
use crate::sync::{self, DurableWatcher, FileSyncer, Shared, SyncSegment, SyncThread, Syncer};
use crate::uring::{self, UringWriter};

/// The single writer of a journal directory. `append` never waits for readers, and in
/// `Fsync` mode does not wait for its record to be durable: durability is reported through
/// [`JournalWriter::durable_seq`] and [`DurableWatcher`]. (The io_uring writer does wait
/// when a whole segment of records is queued behind a slow disk.)
pub struct JournalWriter {
    dir: PathBuf,
    durability: Durability,
    fsync_writer: FsyncWriter,
    /// Why io_uring could not be used, if `Uring` was asked for and `Mmap` runs instead.
    uring_unavailable: Option<String>,
    /// The `Fsync` writer on io_uring; when set, `active` and `sync` are unused.
    uring: Option<UringWriter>,
    segment_len: usize,
    max_payload: usize,
    last_seq: u64,
    active: Option<Active>,
    shared: Arc<Shared>,
    sync: Option<SyncThread>,
    /// Holds the directory's writer lock until the writer is dropped.
    _lock: Option<File>,
}

/// The segment being appended to.
struct Active {
    map: MmapMut,
    /// Where the next record goes.
    offset: usize,
}

impl JournalWriter {
    /// Opens (creating if needed) the journal in `dir`, recovering it first. In `None` mode
    /// the directory is not touched at all.
    pub fn open(dir: impl AsRef<Path>, config: JournalConfig) -> Result<(Self, RecoveryReport), JournalError> {
        Self::open_with_syncer(dir, config, FileSyncer)
    }

    /// [`JournalWriter::open`] with the flush primitive the `Fsync` sync thread uses.
    pub fn open_with_syncer(
        dir: impl AsRef<Path>,
        config: JournalConfig,
        syncer: impl Syncer,
    ) -> Result<(Self, RecoveryReport), JournalError> {
        let writer = Self {
            dir: dir.as_ref().to_path_buf(),
            durability: config.durability,
            fsync_writer: config.fsync_writer,
            uring_unavailable: None,
            uring: None,
            segment_len: config.segment_len()?,
            max_payload: config.max_payload(),
            last_seq: 0,
            active: None,
            shared: Shared::new(0),
            sync: None,
            _lock: None,
        };
        match config.durability {
            Durability::None => Ok((writer, RecoveryReport::default())),
            Durability::Mmap | Durability::Fsync => writer.open_files(Box::new(syncer)),
        }
    }

    fn open_files(mut self, mut syncer: Box<dyn Syncer>) -> Result<(Self, RecoveryReport), JournalError> {
        let created = !self.dir.is_dir();
        fs::create_dir_all(&self.dir).map_err(JournalError::io(&self.dir))?;
        self._lock = Some(segment::lock_dir(&self.dir)?);
        segment::remove_temporaries(&self.dir)?;
        let Recovered { report, segments, tail } = recovery::recover(&self.dir)?;
        self.last_seq = report.last_seq;
        self.shared = Shared::new(report.last_seq);
        let tail = tail.map(|Tail { file, map, offset }| {
            self.active = Some(Active { map, offset });
            file
        });
        if self.durability == Durability::Fsync {
            if created {
                self.sync_parent(syncer.as_mut())?;
            }
            let ring = match self.fsync_writer {
                FsyncWriter::Uring => uring::ring().map_err(|why| self.uring_unavailable = Some(why)).ok(),
                FsyncWriter::Mmap => None,
            };
            match ring {
                Some(ring) => self.start_uring(ring, syncer, &segments, tail)?,
                None => self.start_sync(syncer, &segments, tail)?,
            }
        }
        Ok((self, report))
    }

    fn start_uring(
        &mut self,
        ring: io_uring::IoUring,
        mut syncer: Box<dyn Syncer>,
        segments: &[SegmentFile],
        tail: Option<File>,
    ) -> Result<(), JournalError> {
        let dir = File::open(&self.dir).map_err(JournalError::io(&self.dir))?;
        sync::sync_existing(syncer.as_mut(), &dir, segments, self.last_seq)?;
        // From here on the kernel writes through the descriptor, not the mapping.
        let tail = tail.zip(self.active.take()).map(|(file, active)| (file, active.offset));
        let writer = UringWriter::start(ring, &self.dir, self.segment_len, Arc::clone(&self.shared), syncer, tail)?;
        self.uring = Some(writer);
        Ok(())
    }

    /// A new directory's own entry must be durable too, or a power loss can lose it whole.
    fn sync_parent(&self, syncer: &mut dyn Syncer) -> Result<(), JournalError> {
        let parent = self.dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let file = File::open(parent).map_err(JournalError::io(parent))?;
        syncer.sync_dir(&file).map_err(|e| JournalError::SyncFailed(Arc::new(e)))
    }

    fn start_sync(
        &mut self,
        mut syncer: Box<dyn Syncer>,
        segments: &[SegmentFile],
        tail: Option<File>,
    ) -> Result<(), JournalError> {
        let dir = File::open(&self.dir).map_err(JournalError::io(&self.dir))?;
        sync::sync_existing(syncer.as_mut(), &dir, segments, self.last_seq)?;
        let current =
            segments.last().zip(tail).map(|(s, file)| SyncSegment { first_seq: s.first_seq, file, new: false });
        let thread = SyncThread::spawn(Arc::clone(&self.shared), syncer, dir, current);
        self.sync = Some(thread.map_err(JournalError::io(&self.dir))?);
        Ok(())
    }

    /// Appends the record `seq`, which must be `last_seq() + 1`. Once this returns the record
    /// is visible to readers, except with the io_uring `Fsync` writer, where it is once its
    /// group is written (at the latest when it is durable); it is durable once
    /// `durable_seq() >= seq`.
    pub fn append(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) -> Result<(), JournalError> {
        self.check(seq, payload)?;
        if let Some(uring) = &mut self.uring {
            uring.append(seq, timestamp_ns, payload)?;
            self.last_seq = seq;
            return Ok(());
        }
        if self.durability != Durability::None {
            self.segment_for(seq, record_bytes(payload.len()))?.write(seq, timestamp_ns, payload);
        }
        self.last_seq = seq;
        match &self.sync {
            Some(sync) => sync.written(seq),
            None => self.shared.publish(seq),
        }
        Ok(())
    }

    fn check(&self, seq: u64, payload: &[u8]) -> Result<(), JournalError> {
        let expected = self.last_seq.checked_add(1).filter(|&next| next == seq);
        if expected.is_none() {
            return Err(JournalError::OutOfSequence { expected: self.last_seq.wrapping_add(1), got: seq });
        }
        if payload.is_empty() {
            return Err(JournalError::EmptyPayload);
        }
        if payload.len() > self.max_payload {
            return Err(JournalError::RecordTooLarge { payload: payload.len(), max: self.max_payload });
        }
        self.shared.failure().map_or(Ok(()), Err)
    }

    /// The active segment if the record fits in it, else a new segment starting at `seq`.
    fn segment_for(&mut self, seq: u64, size: usize) -> Result<&mut Active, JournalError> {
        let active = match self.active.take() {
            Some(active) if active.offset + size <= active.map.len() => active,
            full => match self.create_segment(seq) {
                Ok(next) => {
                    if let Some(full) = full {
                        retire(full);
                    }
                    next
                }
                Err(e) => {
                    // Keep the full segment: a failed roll changes nothing.
                    self.active = full;
                    return Err(e);
                }
            },
        };
        Ok(self.active.insert(active))
    }

    fn create_segment(&self, seq: u64) -> Result<Active, JournalError> {
        let (file, map) = segment::create(&self.dir, seq, self.segment_len)?;
        if let Some(sync) = &self.sync {
            sync.add_segment(SyncSegment { first_seq: seq, file, new: true });
        }
        Ok(Active { map, offset: 0 })
    }

    /// The writer that carries `Fsync` mode here, `None` in the other modes.
    pub fn fsync_writer(&self) -> Option<FsyncWriter> {
        match (self.durability, &self.uring) {
            (Durability::Fsync, Some(_)) => Some(FsyncWriter::Uring),
            (Durability::Fsync, None) => Some(FsyncWriter::Mmap),
            _ => None,
        }
    }

    /// Why the io_uring writer was asked for but could not start (the memory-mapped writer
    /// with its sync thread runs instead): the caller should log it as a warning.
    pub fn uring_unavailable(&self) -> Option<&str> {
        self.uring_unavailable.as_deref()
    }

    /// The last sequence appended (0 for an empty journal).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The highest sequence durable under the configured mode: in `Fsync` mode the last one
    /// a completed sync covered; otherwise the last one appended.
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable()
    }

    /// A handle for other threads to poll or wait on the durable sequence.
    pub fn watcher(&self) -> DurableWatcher {
        DurableWatcher::new(Arc::clone(&self.shared))
    }

    /// Closes the journal, in `Fsync` mode after making every appended record durable;
    /// reports a sync failure if there was one. Dropping the writer does the same silently.
    pub fn close(mut self) -> Result<(), JournalError> {
        if let Some(sync) = &mut self.sync {
            sync.stop();
        }
        if let Some(uring) = &mut self.uring {
            uring.stop();
        }
        self.shared.failure().map_or(Ok(()), Err)
    }
}

/// Unmaps a full segment on a short-lived thread: tearing down a large dirty mapping takes
/// milliseconds (2.3 ms for 64 MiB measured), which the appending thread should not wait
/// for. If no thread can be started, the mapping is dropped here instead.
fn retire(full: Active) {
    let _ = thread::Builder::new().name("journal-unmap".into()).spawn(move || drop(full));
}

impl Active {
    fn write(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) {
        let size = record_bytes(payload.len());
        let dst = &mut self.map[self.offset..self.offset + size];
        record::encode_unpublished(dst, seq, timestamp_ns, payload);
        // SAFETY: `dst` starts at an 8-aligned offset of a page-aligned mapping, so its
        // length word is aligned and in bounds. Only this writer touches this mapping in this
        // process; readers use their own mappings and only load the word atomically.
        unsafe { record::publish_len(dst.as_mut_ptr(), payload.len() as u32) };
        self.offset += size;
    }
}
