//! The checks. Each reads through [`Host`] (and [`Probes`] for the running process) and
//! returns one [`Item`].

mod cpu;
mod memory;
mod system;
#[cfg(test)]
mod tests;

use crate::cpulist::{parse_cpu_list, CpuSet};
use crate::host::{Host, Probes};
use crate::report::Item;

/// Recommended minimums for `/proc/sys/net/core/*`. `tuning/sysctl.sh` sets exactly these
/// (a test keeps the two in step).
pub const NET_CORE_MIN: [(&str, u64); 6] = [
    ("net.core.rmem_max", 16 << 20),
    ("net.core.wmem_max", 16 << 20),
    ("net.core.somaxconn", 4096),
    ("net.core.netdev_max_backlog", 5000),
    // Microseconds a poll/select or a blocking read spins on the NIC queue before sleeping.
    ("net.core.busy_poll", 50),
    ("net.core.busy_read", 50),
];
/// vm.swappiness above this is a warn.
pub const SWAPPINESS_MAX: u64 = 10;
/// What `tuning/sysctl.sh` sets vm.swappiness to.
pub const SWAPPINESS_RECOMMENDED: u64 = 1;
/// RLIMIT_MEMLOCK below this (and not unlimited) is a warn.
pub const MEMLOCK_MIN_BYTES: u64 = 64 << 20;
/// RLIMIT_NOFILE below this is a warn.
pub const NOFILE_MIN: u64 = 65536;

const CPU_DIR: &str = "/sys/devices/system/cpu";
const NO_ENGINE: &str = "no engine cores given (--engine-cores)";

/// What every check sees: the host, the engine cores, the probes, and the files several
/// checks share.
struct Ctx<'a> {
    host: &'a Host,
    engine: Option<&'a CpuSet>,
    probes: &'a Probes,
    online: Option<CpuSet>,
    cmdline: Option<String>,
}

/// Checks `host` for running the engine on `engine` cores (`None`: the per-core items are
/// `unknown`). `probes` describe the running process; pass [`Probes::none`] unless `host`
/// is the live one. Items come in a fixed order.
pub fn check(host: &Host, engine: Option<&CpuSet>, probes: &Probes) -> Vec<Item> {
    let ctx = Ctx {
        host,
        engine,
        probes,
        online: host.read_trimmed(&format!("{CPU_DIR}/online")).and_then(|s| parse_cpu_list(&s).ok()),
        cmdline: host.read_trimmed("/proc/cmdline"),
    };
    let mut items = vec![
        cpu::cores(&ctx),
        cpu::numa(&ctx),
        cpu::smt(&ctx),
        cpu::isolation(&ctx, "isolcpus"),
        cpu::isolation(&ctx, "nohz_full"),
        cpu::isolation(&ctx, "rcu_nocbs"),
        cpu::governor(&ctx),
        cpu::turbo(&ctx),
        memory::thp(&ctx),
        memory::swap(&ctx),
        memory::swappiness(&ctx),
        system::clocksource(&ctx),
        system::io_uring(&ctx),
        system::memlock(&ctx),
        system::nofile(&ctx),
    ];
    items.extend(system::net_core(&ctx));
    items
}

/// [`check`] with the probes that fit `host`: the live ones when its root is `/`, none
/// otherwise (limits are then `unknown` and no io_uring is created).
pub fn check_host(host: &Host, engine: Option<&CpuSet>) -> Vec<Item> {
    let probes = if host.is_live() { Probes::live() } else { Probes::none() };
    check(host, engine, &probes)
}

/// The value of the last `key=value` on a kernel command line (a bare `key` gives ""),
/// ignoring everything after `--`, which goes to init.
fn cmdline_param<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    let mut value = None;
    for word in cmdline.split_whitespace().take_while(|w| *w != "--") {
        match word.split_once('=') {
            Some((k, v)) if k == key => value = Some(v.trim_matches('"')),
            None if word == key => value = Some(""),
            _ => {}
        }
    }
    value
}

fn read_number(host: &Host, path: &str) -> Option<u64> {
    host.read_trimmed(path)?.parse().ok()
}
