//! The writer's thread: a consumer of the pipeline, off the engine thread, taking whatever
//! commands are there (up to [`MAX_BATCH`]) and committing them as one batch. The engine
//! never waits for it: a consumer that falls behind its ring reads the event journal.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cex_runtime::{Consumer, ConsumerThread};

use crate::HistoryWriter;

/// The most commands in one transaction: replaying a long journal commits every few
/// thousand commands, so a crash loses little work and a transaction stays small.
pub const MAX_BATCH: usize = 4_096;
/// The wait when there is nothing new: the history may trail the engine by this much.
const IDLE: Duration = Duration::from_millis(5);
/// The wait before committing again after the store refused a batch.
const RETRY: Duration = Duration::from_secs(1);

/// How far the writer has got, for /metrics.
#[derive(Debug, Default)]
pub struct HistoryProgress {
    /// The last command committed to the store.
    pub committed_seq: AtomicU64,
    /// Batches the store refused (each is retried).
    pub failed_commits: AtomicU64,
    /// The writer has stopped for good (its consumer failed).
    pub stopped: AtomicBool,
}

pub struct HistoryFollower {
    progress: Arc<HistoryProgress>,
    thread: ConsumerThread,
}

impl HistoryFollower {
    /// Runs `writer` over `consumer` on a thread of its own, which blocks on `runtime` (the
    /// one the writer's store was opened on).
    pub fn start(
        consumer: Consumer,
        writer: HistoryWriter,
        runtime: tokio::runtime::Runtime,
    ) -> std::io::Result<HistoryFollower> {
        let progress = Arc::new(HistoryProgress::default());
        progress.committed_seq.store(writer.position().seq, Ordering::Release);
        let thread_progress = progress.clone();
        let thread = ConsumerThread::spawn("cex-history", move |stop| {
            runtime.block_on(follow(consumer, writer, stop, &thread_progress));
            thread_progress.stopped.store(true, Ordering::Release);
        })?;
        Ok(HistoryFollower { progress, thread })
    }

    pub fn progress(&self) -> Arc<HistoryProgress> {
        self.progress.clone()
    }

    /// Writes everything published so far, then stops. Call it after the pipeline has
    /// stopped, so nothing is left behind.
    pub fn stop(self) {
        self.thread.stop();
    }
}

async fn follow(mut consumer: Consumer, mut writer: HistoryWriter, stop: &AtomicBool, progress: &HistoryProgress) {
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let consumed = take(&mut consumer, &mut writer);
        if writer.pending() > 0 && !commit(&mut writer, stop, progress).await {
            return;
        }
        match consumed {
            Err(error) => {
                tracing::error!(position = writer.position().seq, "the history writer stops: {error}");
                return;
            }
            Ok(0) if stopping => return,
            Ok(0) => tokio::time::sleep(IDLE).await,
            Ok(_) => {}
        }
    }
}

/// Adds up to [`MAX_BATCH`] commands to the writer's batch; how many.
fn take(consumer: &mut Consumer, writer: &mut HistoryWriter) -> Result<usize, cex_runtime::ConsumerError> {
    let mut taken = 0;
    while taken < MAX_BATCH {
        let Some(delivery) = consumer.poll()? else { break };
        writer.apply(delivery.seq, delivery.ts_ns, delivery.events);
        taken += 1;
    }
    Ok(taken)
}

/// Commits, retrying while the store refuses; false if told to stop first (the batch is
/// then written again at the next start, from the persisted position).
async fn commit(writer: &mut HistoryWriter, stop: &AtomicBool, progress: &HistoryProgress) -> bool {
    loop {
        match writer.commit().await {
            Ok(()) => {
                progress.committed_seq.store(writer.position().seq, Ordering::Release);
                return true;
            }
            Err(error) => {
                progress.failed_commits.fetch_add(1, Ordering::Relaxed);
                tracing::error!(position = writer.position().seq, "the history store refused a batch: {error}");
                if stop.load(Ordering::Acquire) {
                    tracing::warn!("stopping with an uncommitted history batch: it is written again at the next start");
                    return false;
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
