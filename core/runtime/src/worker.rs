//! A thread of its own for a consumer (the read model's projector, the history writer),
//! stopped through a flag it checks between polls: stopping, or dropping the handle, sets the
//! flag and waits for the thread to finish what it was doing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct ConsumerThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ConsumerThread {
    /// Runs `run` on a thread named `name`; it should return soon after the flag it is
    /// given turns true.
    pub fn spawn(name: &str, run: impl FnOnce(&AtomicBool) + Send + 'static) -> std::io::Result<ConsumerThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || run(&flag))?;
        Ok(ConsumerThread { stop, thread: Some(thread) })
    }

    /// Tells the thread to stop and waits for it.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ConsumerThread {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[test]
    fn stopping_waits_for_the_thread_to_see_the_flag() {
        let rounds = Arc::new(AtomicU32::new(0));
        let counted = rounds.clone();
        let thread = ConsumerThread::spawn("test-worker", move |stop| {
            while !stop.load(Ordering::Acquire) {
                counted.fetch_add(1, Ordering::Relaxed);
                std::thread::yield_now();
            }
            counted.store(u32::MAX, Ordering::Release);
        })
        .unwrap();
        thread.stop();
        assert_eq!(rounds.load(Ordering::Acquire), u32::MAX, "stop returned before the thread ended");
    }
}
