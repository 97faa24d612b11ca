//! Time for the pipeline. Command timestamps are wall-clock nanoseconds, but taken as
//! monotonic time plus an offset fixed at start, so they never step backwards when NTP
//! adjusts the wall clock; ring-wait latencies use the same monotonic reading.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds of `CLOCK_MONOTONIC`: comparable across threads of this process.
#[inline]
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec and CLOCK_MONOTONIC always exists on
    // Linux, so the call only writes `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    /// Wall-clock ns minus monotonic ns, when the clock was made.
    offset_ns: u64,
}

impl WallClock {
    pub fn new() -> WallClock {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64);
        WallClock { offset_ns: wall.saturating_sub(monotonic_ns()) }
    }

    /// Nanoseconds since the Unix epoch that correspond to a monotonic reading.
    #[inline]
    pub fn wall_ns(&self, monotonic_ns: u64) -> u64 {
        self.offset_ns + monotonic_ns
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new()
    }
}
