//! Host checks for a low-latency `cex` deployment, behind `cex tune check`.
//!
//! [`check`] reads a host's `/proc` and `/sys` through a [`Host`] (its root is `/` on a live
//! machine, a fixture tree in tests) and reports one [`Item`] per setting: cores, NUMA,
//! SMT, `isolcpus`/`nohz_full`/`rcu_nocbs`, the CPU governor and turbo, THP, swap,
//! clocksource, io_uring, memlock and nofile limits, and `net.core`. Each item carries a
//! [`Status`], what was found, and the fix when it is not ready. The scripts in `tuning/`
//! apply the fixes that can be applied at run time; docs/TUNING.md explains the rest.

mod checks;
pub mod cpulist;
mod host;
mod report;

pub use checks::{
    check, check_host, MEMLOCK_MIN_BYTES, NET_CORE_MIN, NOFILE_MIN, SWAPPINESS_MAX, SWAPPINESS_RECOMMENDED,
};
pub use cpulist::{parse_cpu_list, CpuListError, CpuSet};
pub use host::{Host, Limit, Probes, Rlimit};
pub use report::{has_problems, render_json, render_table, Item, Status};
