//! CPU affinity for the journal benchmark's threads.
//!
//! The last allowed CPU is reserved for measuring: the benchmark's main thread moves to the
//! other CPUs at the start, and pins itself to the reserved one only while it measures
//! ([`Pinned`]). A thread inherits its creator's affinity, so the threads a writer starts
//! when it opens (the journal's sync threads, the snapshot writer) and the acker run on the
//! other CPUs, as they would beside a pinned engine thread, and never preempt the measuring
//! thread. Threads started *while* measuring inherit the reserved CPU: the journal's
//! segment-unmap threads do, as they would in a runtime that pins its engine thread.
//! io_uring's kernel workers take the CPUs of the thread whose first submission creates
//! them: the journal's first appends happen in the untimed setup, on the other CPUs.

use std::mem;
use std::sync::OnceLock;

/// (the measuring CPU, the CPUs for everything else), once reserved.
static RESERVED: OnceLock<Option<(usize, Vec<usize>)>> = OnceLock::new();

/// The calling thread's allowed CPUs.
fn current() -> Option<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array, for which all zeros is a valid (empty) value.
    let mut mask: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: the pointer and size describe `mask`, which lives across the call; pid 0 is
    // the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, mem::size_of::<libc::cpu_set_t>(), &mut mask) };
    // SAFETY: CPU_ISSET reads one bit of `mask`; every index below CPU_SETSIZE is in bounds.
    let cpus = (0..libc::CPU_SETSIZE as usize).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &mask) });
    (rc == 0).then(|| cpus.collect())
}

/// A CPU mask holding exactly `cpus`.
pub fn mask_of(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: all zeros is the empty set.
    let mut mask: libc::cpu_set_t = unsafe { mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: CPU_SET writes one bit of `mask`; CPUs come from CPU_ISSET over
        // 0..CPU_SETSIZE, so the index is in bounds.
        unsafe { libc::CPU_SET(cpu, &mut mask) };
    }
    mask
}

/// Restricts the calling thread to `cpus`.
fn set(cpus: &[usize]) -> bool {
    let mask = mask_of(cpus);
    // SAFETY: the pointer and size describe `mask`, which lives across the call; pid 0 is
    // the calling thread.
    unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &mask) == 0 }
}

/// Reserves the last allowed CPU for measuring and moves the calling thread off it;
/// describes the arrangement for the report header.
pub fn reserve_last_cpu() -> String {
    let reserved = RESERVED.get_or_init(|| {
        let cpus = current()?;
        let (&last, others) = cpus.split_last()?;
        if others.is_empty() || !set(others) {
            return None;
        }
        Some((last, others.to_vec()))
    });
    match reserved {
        Some((last, others)) => {
            format!("measuring thread pinned to core {last} while it measures; other threads on cores {others:?}")
        }
        None => "a single usable core: nothing pinned".to_string(),
    }
}

/// The calling thread pinned to the measuring CPU until dropped (a no-op if none is
/// reserved); then back on the helper CPUs.
pub struct Pinned {
    restore: Option<&'static [usize]>,
}

impl Pinned {
    pub fn to_measuring_cpu() -> Pinned {
        let Some(Some((last, others))) = RESERVED.get() else {
            return Pinned { restore: None };
        };
        Pinned { restore: set(&[*last]).then_some(others.as_slice()) }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(cpus) = self.restore {
            set(cpus);
        }
    }
}
