//! Durability: the published durable sequence, the watcher other threads wait on, and the
//! group-commit sync thread behind `Durability::Fsync`.

use std::collections::VecDeque;
use std::fs::File;
use std::hint;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::JournalError;
use crate::segment::SegmentFile;

/// Records of one segment that a sync must make durable.
#[derive(Debug)]
pub struct SyncRange<'a> {
    pub segment: &'a File,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// The flush primitive of the sync thread, injectable so tests can observe every call.
pub trait Syncer: Send + 'static {
    /// Returns only once every record of `range` is on stable storage.
    fn sync(&mut self, range: SyncRange<'_>) -> io::Result<()>;
    /// Returns only once the directory's entries (the names of new segments) are on stable
    /// storage.
    fn sync_dir(&mut self, dir: &File) -> io::Result<()>;
    /// With the io_uring writer, the kernel flushes: this is called once a group's write and
    /// `fdatasync` of `range` have completed, before the durable sequence may cover it. An
    /// error fails the journal as a failed flush does.
    fn completed(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        let _ = range;
        Ok(())
    }
}

/// The real syncer: `fdatasync` on the segment, which writes back the pages dirtied through
/// the shared mapping (on Linux `msync(MS_SYNC)` takes the same path), and `fsync` on the
/// directory.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileSyncer;

impl Syncer for FileSyncer {
    fn sync(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        range.segment.sync_data()
    }

    fn sync_dir(&mut self, dir: &File) -> io::Result<()> {
        dir.sync_all()
    }
}

/// State shared by the writer, the sync thread and every watcher.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Last sequence appended (Fsync mode: what the sync thread should make durable).
    written: AtomicU64,
    durable: AtomicU64,
    failure: OnceLock<Arc<io::Error>>,
    stop: AtomicBool,
    /// Threads blocked in `wait_for`; publishing takes the lock only when there are some.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    pub fn new(seq: u64) -> Arc<Self> {
        Arc::new(Self {
            written: AtomicU64::new(seq),
            durable: AtomicU64::new(seq),
            failure: OnceLock::new(),
            stop: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        })
    }

    /// Makes `seq` the durable sequence and wakes whoever waits for it. SeqCst on this store
    /// and on `waiters` means either we see a new waiter or it sees the new value.
    pub fn publish(&self, seq: u64) {
        self.durable.store(seq, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.wake_all();
        }
    }

    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    pub fn failure(&self) -> Option<JournalError> {
        self.failure.get().map(|e| JournalError::SyncFailed(Arc::clone(e)))
    }

    pub fn fail(&self, error: io::Error) {
        // Only the first failure matters: nothing after it can become durable.
        let _ = self.failure.set(Arc::new(error));
        self.wake_all();
    }

    /// Taking the lock first means a waiter is either not yet checking (and will see the
    /// new state) or already inside `wait`.
    fn wake_all(&self) {
        drop(self.guard());
        self.wake.notify_all();
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle any thread can use to learn how far the journal is durable. An acknowledgement
/// for a sequence may be sent only once this says it is durable.
#[derive(Clone, Debug)]
pub struct DurableWatcher {
    shared: Arc<Shared>,
}

/// Polls before blocking: a group commit on fast storage often lands within this.
const SPINS: u32 = 2_000;
/// Bounds a single condvar wait, so an unbounded timeout never overflows the clock.
const MAX_WAIT: Duration = Duration::from_secs(3600);

impl DurableWatcher {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The highest sequence that is durable under the configured durability mode.
    pub fn durable_seq(&self) -> u64 {
        self.shared.durable()
    }

    /// Waits until `seq` is durable: `Ok(true)` once it is, `Ok(false)` if `timeout` passes
    /// first, an error if the sync thread failed (it then never will be).
    pub fn wait_for(&self, seq: u64, timeout: Duration) -> Result<bool, JournalError> {
        for _ in 0..SPINS {
            if self.reached(seq)? {
                return Ok(true);
            }
            hint::spin_loop();
        }
        self.shared.waiters.fetch_add(1, Ordering::SeqCst);
        let reached = self.block(seq, Instant::now().checked_add(timeout));
        self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
        reached
    }

    fn block(&self, seq: u64, deadline: Option<Instant>) -> Result<bool, JournalError> {
        let mut guard = self.shared.guard();
        loop {
            if self.reached(seq)? {
                return Ok(true);
            }
            let left = deadline.map_or(MAX_WAIT, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Ok(false);
            }
            let wait = self.shared.wake.wait_timeout(guard, left.min(MAX_WAIT));
            guard = wait.unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn reached(&self, seq: u64) -> Result<bool, JournalError> {
        if self.shared.durable.load(Ordering::SeqCst) >= seq {
            return Ok(true);
        }
        self.shared.failure().map_or(Ok(false), Err)
    }
}

/// A segment file handed to the sync thread. `new` means its directory entry has not been
/// made durable yet.
pub(crate) struct SyncSegment {
    pub first_seq: u64,
    pub file: File,
    pub new: bool,
}

/// The writer's side of the sync thread.
pub(crate) struct SyncThread {
    shared: Arc<Shared>,
    segments: Sender<SyncSegment>,
    thread: Option<JoinHandle<()>>,
}

impl SyncThread {
    pub fn spawn(
        shared: Arc<Shared>,
        syncer: Box<dyn Syncer>,
        dir: File,
        current: Option<SyncSegment>,
    ) -> io::Result<Self> {
        let (segments, incoming) = mpsc::channel();
        let worker =
            SyncLoop { shared: Arc::clone(&shared), syncer, dir, segments: current.into_iter().collect(), incoming };
        let thread = thread::Builder::new().name("journal-sync".into()).spawn(move || worker.run())?;
        Ok(Self { shared, segments, thread: Some(thread) })
    }

    /// Registers a segment before any record is written to it.
    pub fn add_segment(&self, segment: SyncSegment) {
        // A send fails only if the thread has exited after a failure, which `append`
        // reports through `Shared::failure`.
        let _ = self.segments.send(segment);
    }

    /// Tells the sync thread records up to `seq` are written. Never blocks: an unpark is an
    /// atomic swap, plus a futex wake if the thread sleeps.
    pub fn written(&self, seq: u64) {
        self.shared.written.store(seq, Ordering::Release);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// Lets the thread make everything written durable, then joins it.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        self.shared.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        // A panic in the syncer is recorded as a failure by `FailOnPanic`.
        let _ = thread.join();
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes the segments' existing records durable before the writer accepts appends: a
/// previous process may have left them only in the page cache.
pub(crate) fn sync_existing(
    syncer: &mut dyn Syncer,
    dir: &File,
    segments: &[SegmentFile],
    last_seq: u64,
) -> Result<(), JournalError> {
    for (i, segment) in segments.iter().enumerate() {
        let last = segments.get(i + 1).map_or(last_seq, |next| next.first_seq - 1);
        if segment.first_seq > last {
            continue;
        }
        let file = File::open(&segment.path).map_err(JournalError::io(&segment.path))?;
        let range = SyncRange { segment: &file, first_seq: segment.first_seq, last_seq: last };
        syncer.sync(range).map_err(|e| JournalError::SyncFailed(Arc::new(e)))?;
    }
    syncer.sync_dir(dir).map_err(|e| JournalError::SyncFailed(Arc::new(e)))
}

/// The sync thread: whenever records are written past the durable sequence, flush every
/// segment they are in, then publish the new durable sequence.
struct SyncLoop {
    shared: Arc<Shared>,
    syncer: Box<dyn Syncer>,
    dir: File,
    segments: VecDeque<SyncSegment>,
    incoming: Receiver<SyncSegment>,
}

impl SyncLoop {
    fn run(mut self) {
        let _fail_on_panic = FailOnPanic(Arc::clone(&self.shared));
        loop {
            // Read `stop` before `written`: once stopping, `written` is final.
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let target = self.shared.written.load(Ordering::Acquire);
            let durable = self.shared.durable.load(Ordering::Relaxed);
            if target > durable {
                if let Err(error) = self.sync_through(durable, target) {
                    self.shared.fail(error);
                    return;
                }
                self.shared.publish(target);
            } else if stopping {
                return;
            } else {
                thread::park();
            }
        }
    }

    /// Flushes records `durable + 1 ..= target`, oldest segment first.
    fn sync_through(&mut self, durable: u64, target: u64) -> io::Result<()> {
        // The writer registers a segment before `written` covers it, so it is here now.
        self.segments.extend(self.incoming.try_iter());
        while self.segments.get(1).is_some_and(|next| next.first_seq <= durable + 1) {
            self.segments.pop_front();
        }
        for i in 0..self.segments.len() {
            let first = self.segments[i].first_seq.max(durable + 1);
            let last = self.segments.get(i + 1).map_or(target, |next| (next.first_seq - 1).min(target));
            if first > target {
                break;
            }
            if first > last {
                continue;
            }
            let segment = &mut self.segments[i];
            self.syncer.sync(SyncRange { segment: &segment.file, first_seq: first, last_seq: last })?;
            if segment.new {
                self.syncer.sync_dir(&self.dir)?;
                segment.new = false;
            }
        }
        Ok(())
    }
}

/// Turns a panic in the sync thread into a failure, so waiters and the writer learn of it.
pub(crate) struct FailOnPanic(pub Arc<Shared>);

impl Drop for FailOnPanic {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.fail(io::Error::other("journal sync thread panicked"));
        }
    }
}
