//! `Fsync` mode, with each writer: the durable sequence never runs ahead of completed syncs.

mod common;

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use cex_journal::{
    record_bytes, Durability, FileSyncer, FsyncWriter, JournalConfig, JournalError, JournalReader, JournalWriter,
    SyncRange, Syncer,
};
use common::*;

/// Long enough never to expire in a passing run; the tests never measure time.
const PATIENCE: Duration = Duration::from_secs(60);

const WRITERS: [FsyncWriter; 2] = [FsyncWriter::Uring, FsyncWriter::Mmap];

const SEGMENT: usize = 64 << 10;

fn fsync_config(fsync_writer: FsyncWriter) -> JournalConfig {
    JournalConfig { segment_bytes: SEGMENT as u64, durability: Durability::Fsync, fsync_writer }
}

/// Opens in `Fsync` mode and checks the asked-for writer runs (io_uring may be unavailable
/// on the test host: then the memory-mapped writer must run, and say why).
fn open_fsync(dir: &std::path::Path, writer: FsyncWriter, syncer: impl Syncer) -> JournalWriter {
    let (journal, _) = JournalWriter::open_with_syncer(dir, fsync_config(writer), syncer).unwrap();
    match journal.uring_unavailable() {
        Some(why) => {
            eprintln!("io_uring unavailable here ({why}): the {writer:?} case runs on the mmap writer");
            assert_eq!(journal.fsync_writer(), Some(FsyncWriter::Mmap));
        }
        None => assert_eq!(journal.fsync_writer(), Some(writer)),
    }
    journal
}

/// The real syncer, instrumented: it checks each range is contiguous with what came before
/// and already readable from the files, and records how far completed syncs reach.
struct Recording {
    inner: FileSyncer,
    reader: JournalReader,
    covered: Arc<AtomicU64>,
    violations: Arc<Mutex<Vec<String>>>,
}

impl Recording {
    fn new(dir: &std::path::Path) -> (Self, Arc<AtomicU64>, Arc<Mutex<Vec<String>>>) {
        let covered = Arc::new(AtomicU64::new(0));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let reader = JournalReader::open(dir, 1).unwrap();
        let syncer =
            Self { inner: FileSyncer, reader, covered: Arc::clone(&covered), violations: Arc::clone(&violations) };
        (syncer, covered, violations)
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    /// Every record of the range must be in the file before it is synced.
    fn check_written(&mut self, last_seq: u64) {
        while self.reader.next_seq() <= last_seq {
            if self.reader.next().is_none() {
                let missing = self.reader.next_seq();
                self.violation(format!("sync through {last_seq} before record {missing} was written"));
                return;
            }
        }
    }
}

impl Syncer for Recording {
    fn sync(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        let covered = self.covered.load(Ordering::SeqCst);
        if range.first_seq > covered + 1 {
            self.violation(format!("sync of {}..={} leaves a gap after {covered}", range.first_seq, range.last_seq));
        }
        self.check_written(range.last_seq);
        let (first, last) = (range.first_seq, range.last_seq);
        self.inner.sync(range)?;
        if first <= covered + 1 {
            self.covered.store(last.max(covered), Ordering::SeqCst);
        }
        Ok(())
    }

    fn sync_dir(&mut self, dir: &File) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }

    /// The io_uring writer's flush completed: the same checks, without flushing again. The
    /// reader maps the segments, so this also checks that records the kernel wrote through
    /// the descriptor show in other threads' mappings.
    fn completed(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        let covered = self.covered.load(Ordering::SeqCst);
        if range.first_seq != covered + 1 {
            self.violation(format!("completion of {}..={} after {covered}", range.first_seq, range.last_seq));
        }
        self.check_written(range.last_seq);
        self.covered.store(range.last_seq.max(covered), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn durable_seq_never_runs_ahead_of_completed_syncs() {
    for writer in WRITERS {
        durable_seq_never_runs_ahead_of_completed_syncs_with(writer);
    }
}

fn durable_seq_never_runs_ahead_of_completed_syncs_with(fsync_writer: FsyncWriter) {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let (syncer, covered, violations) = Recording::new(dir.path());
    let mut writer = open_fsync(dir.path(), fsync_writer, syncer);
    let done = Arc::new(AtomicBool::new(false));

    let checker = {
        let (watcher, covered, done) = (writer.watcher(), Arc::clone(&covered), Arc::clone(&done));
        thread::spawn(move || {
            let mut observed = Vec::new();
            loop {
                let stop = done.load(Ordering::Acquire);
                let durable = watcher.durable_seq();
                let synced = covered.load(Ordering::SeqCst);
                assert!(synced >= durable, "durable {durable} is ahead of completed syncs ({synced})");
                if observed.last() != Some(&durable) {
                    observed.push(durable);
                }
                if stop {
                    return observed;
                }
            }
        })
    };
    let acker = {
        let (watcher, covered) = (writer.watcher(), Arc::clone(&covered));
        thread::spawn(move || {
            for seq in (1..=N).step_by(97) {
                assert!(watcher.wait_for(seq, PATIENCE).unwrap(), "{seq} never became durable");
                assert!(covered.load(Ordering::SeqCst) >= seq, "ack for {seq} ran ahead of the syncs");
            }
        })
    };

    for seq in 1..=N {
        writer.append(seq, timestamp(seq), &payload(seq)).unwrap();
        // Give the sync and checker threads turns, so syncs interleave with appends.
        if seq % 16 == 0 {
            thread::yield_now();
        }
    }
    acker.join().unwrap();
    writer.close().unwrap();
    done.store(true, Ordering::Release);
    let observed = checker.join().unwrap();

    assert_eq!(observed.last(), Some(&N));
    assert!(observed.windows(2).all(|w| w[0] < w[1]), "durable_seq only grows");
    assert_eq!(covered.load(Ordering::SeqCst), N);
    assert!(violations.lock().unwrap().is_empty(), "{:?}", violations.lock().unwrap());
    assert!(segments(dir.path()).len() > 5);
    assert_eq!(read_back(dir.path(), 1), (1..=N).collect::<Vec<_>>());
}

#[test]
fn reopening_makes_existing_records_durable_first() {
    for fsync_writer in WRITERS {
        reopening_makes_existing_records_durable_first_with(fsync_writer);
    }
}

fn reopening_makes_existing_records_durable_first_with(fsync_writer: FsyncWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mmap = JournalConfig { durability: Durability::Mmap, ..fsync_config(fsync_writer) };
    let (mut writer, _) = JournalWriter::open(dir.path(), mmap).unwrap();
    append_range(&mut writer, 1, 3_000);
    drop(writer);

    let (syncer, covered, violations) = Recording::new(dir.path());
    let mut writer = open_fsync(dir.path(), fsync_writer, syncer);
    assert_eq!(writer.last_seq(), 3_000);
    assert_eq!((covered.load(Ordering::SeqCst), writer.durable_seq()), (3_000, 3_000));
    append_range(&mut writer, 3_001, 3_100);
    writer.close().unwrap();
    assert_eq!(covered.load(Ordering::SeqCst), 3_100);
    assert!(violations.lock().unwrap().is_empty(), "{:?}", violations.lock().unwrap());
}

/// Opens the gate when dropped too, so a failing assertion cannot leave the sync thread
/// stuck and the writer's drop waiting for it forever.
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        *self.0 .0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0 .1.notify_all();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

/// A syncer that blocks until the test opens its gate.
struct Gated {
    gate: Arc<(Mutex<bool>, Condvar)>,
    covered: Arc<AtomicU64>,
}

impl Syncer for Gated {
    fn sync(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        let (open, changed) = &*self.gate;
        drop(changed.wait_while(open.lock().unwrap(), |open| !*open).unwrap());
        let last = range.last_seq;
        FileSyncer.sync(range)?;
        self.covered.fetch_max(last, Ordering::SeqCst);
        Ok(())
    }

    fn sync_dir(&mut self, dir: &File) -> io::Result<()> {
        FileSyncer.sync_dir(dir)
    }

    fn completed(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        let (open, changed) = &*self.gate;
        drop(changed.wait_while(open.lock().unwrap(), |open| !*open).unwrap());
        self.covered.fetch_max(range.last_seq, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn wait_for_returns_only_once_the_sequence_is_durable() {
    for fsync_writer in WRITERS {
        wait_for_returns_only_once_the_sequence_is_durable_with(fsync_writer);
    }
}

fn wait_for_returns_only_once_the_sequence_is_durable_with(fsync_writer: FsyncWriter) {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let covered = Arc::new(AtomicU64::new(0));
    let syncer = Gated { gate: Arc::clone(&gate), covered: Arc::clone(&covered) };
    let mut writer = open_fsync(dir.path(), fsync_writer, syncer);
    let gate = Gate(gate);
    let watcher = writer.watcher();
    append_range(&mut writer, 1, 10);

    let waiter = {
        let (watcher, covered) = (watcher.clone(), Arc::clone(&covered));
        thread::spawn(move || {
            assert!(watcher.wait_for(10, PATIENCE).unwrap());
            assert!(covered.load(Ordering::SeqCst) >= 10, "woken before the sync completed");
        })
    };
    // The sync thread is stuck in the gate: nothing can be durable, the wait must time out.
    assert!(!watcher.wait_for(1, Duration::from_millis(20)).unwrap());
    assert_eq!((writer.durable_seq(), writer.last_seq()), (0, 10));

    gate.open();
    assert!(watcher.wait_for(10, PATIENCE).unwrap());
    assert!(covered.load(Ordering::SeqCst) >= 10);
    waiter.join().unwrap();
    writer.close().unwrap();
}

struct Failing;

impl Syncer for Failing {
    fn sync(&mut self, _: SyncRange<'_>) -> io::Result<()> {
        Err(io::Error::other("disk gone"))
    }

    fn sync_dir(&mut self, _: &File) -> io::Result<()> {
        Ok(())
    }

    fn completed(&mut self, _: SyncRange<'_>) -> io::Result<()> {
        Err(io::Error::other("disk gone"))
    }
}

#[test]
fn a_failed_sync_stops_the_journal() {
    for fsync_writer in WRITERS {
        a_failed_sync_stops_the_journal_with(fsync_writer);
    }
}

fn a_failed_sync_stops_the_journal_with(fsync_writer: FsyncWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = open_fsync(dir.path(), fsync_writer, Failing);
    writer.append(1, 0, b"x").unwrap();
    assert!(matches!(writer.watcher().wait_for(1, PATIENCE), Err(JournalError::SyncFailed(_))));
    assert!(matches!(writer.append(2, 0, b"x"), Err(JournalError::SyncFailed(_))));
    assert_eq!(writer.durable_seq(), 0);
    assert!(matches!(writer.close(), Err(JournalError::SyncFailed(_))));
}

#[test]
fn fsync_mode_round_trips_with_the_real_syncer() {
    for fsync_writer in WRITERS {
        fsync_mode_round_trips_with_the_real_syncer_with(fsync_writer);
    }
}

fn fsync_mode_round_trips_with_the_real_syncer_with(fsync_writer: FsyncWriter) {
    let fsync_config = || fsync_config(fsync_writer);
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path().join("new"), fsync_config()).unwrap();
    append_range(&mut writer, 1, 5_000);
    let watcher = writer.watcher();
    writer.close().unwrap();
    assert_eq!(watcher.durable_seq(), 5_000);
    let (writer, report) = JournalWriter::open(dir.path().join("new"), fsync_config()).unwrap();
    assert_eq!((report.last_seq, writer.durable_seq()), (5_000, 5_000));
    assert_eq!(read_back(&dir.path().join("new"), 4_000), (4_000..=5_000).collect::<Vec<_>>());
}

#[test]
fn the_io_uring_writer_holds_appends_back_once_a_segment_waits_behind_a_stalled_disk() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let covered = Arc::new(AtomicU64::new(0));
    let syncer = Gated { gate: Arc::clone(&gate), covered: Arc::clone(&covered) };
    let mut writer = open_fsync(dir.path(), FsyncWriter::Uring, syncer);
    if writer.fsync_writer() != Some(FsyncWriter::Uring) {
        return;
    }
    const RECORDS: u64 = 20_000;
    let appended = Arc::new(AtomicU64::new(0));
    let appender = {
        let appended = Arc::clone(&appended);
        thread::spawn(move || {
            for seq in 1..=RECORDS {
                writer.append(seq, timestamp(seq), &payload(seq)).unwrap();
                appended.store(seq, Ordering::SeqCst);
            }
            writer
        })
    };
    // Declared after the appender, so a failing assertion opens the gate before the
    // appender's writer is dropped (the drop waits for the stalled sync).
    let gate = Gate(gate);
    // Unbounded, the appender would be done within milliseconds. Bounded, at most the group
    // whose completion is stuck, the group launched after it and one segment of staged
    // records get through: 3 segments' worth, against 20 for all the records.
    thread::sleep(Duration::from_millis(300));
    let while_stalled = appended.load(Ordering::SeqCst);
    let bytes: usize = (1..=while_stalled).map(|seq| record_bytes(payload(seq).len())).sum();
    assert!(bytes <= 3 * SEGMENT, "{while_stalled} records ({bytes} bytes) were appended while the disk was stalled");
    assert_eq!(covered.load(Ordering::SeqCst), 0);

    gate.open();
    let writer = appender.join().unwrap();
    assert!(writer.watcher().wait_for(RECORDS, PATIENCE).unwrap());
    writer.close().unwrap();
    assert_eq!(read_back(dir.path(), 1), (1..=RECORDS).collect::<Vec<_>>());
}
