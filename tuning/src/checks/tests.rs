//! The checks against fixture trees: a tuned host, an untuned one, a VM, and edge cases.

use std::fs;

use tempfile::TempDir;

use super::*;
use crate::host::{Limit, Rlimit};
use crate::report::Status;

/// A fake `/` in a temporary directory.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn empty() -> Fixture {
        Fixture { dir: TempDir::new().unwrap() }
    }

    fn write(&self, abs: &str, content: &str) -> &Fixture {
        let path = self.dir.path().join(abs.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        self
    }

    fn remove(&self, abs: &str) -> &Fixture {
        let path = self.dir.path().join(abs.trim_start_matches('/'));
        if path.is_dir() {
            fs::remove_dir_all(path).unwrap();
        } else {
            fs::remove_file(path).unwrap();
        }
        self
    }

    fn host(&self) -> Host {
        Host::new(self.dir.path())
    }

    /// `cpus` online CPUs without SMT, in one NUMA node, every CPU on cpufreq.
    fn cpus(&self, cpus: usize, governor: &str) -> &Fixture {
        let all = format!("0-{}\n", cpus - 1);
        self.write("/sys/devices/system/cpu/online", &all);
        self.write("/sys/devices/system/node/node0/cpulist", &all);
        self.write("/sys/devices/system/node/possible", &all);
        for cpu in 0..cpus {
            self.write(&format!("/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"), &format!("{cpu}\n"));
            self.write(&format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"), &format!("{governor}\n"));
        }
        self
    }

    fn net_core(&self, values: [u64; 6]) -> &Fixture {
        for ((key, _), value) in NET_CORE_MIN.iter().zip(values) {
            self.write(&format!("/proc/sys/{}", key.replace('.', "/")), &format!("{value}\n"));
        }
        self
    }
}

const SWAPS_HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

/// A host set up as docs/TUNING.md asks, engine on cores 2-3 of 4.
fn tuned() -> Fixture {
    let f = Fixture::empty();
    f.cpus(4, "performance")
        .write(
            "/proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=/dev/nvme0n1p2 ro isolcpus=managed_irq,domain,2-3 nohz_full=2-3 \
             rcu_nocbs=2-3 quiet\n",
        )
        .write("/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n")
        .write("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n")
        .write("/proc/swaps", SWAPS_HEADER)
        .write("/proc/sys/vm/swappiness", "1\n")
        .write("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n")
        .write("/sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet acpi_pm \n")
        .write("/proc/sys/kernel/io_uring_disabled", "0\n")
        .net_core([16 << 20, 16 << 20, 4096, 5000, 50, 50]);
    f
}

fn good_probes() -> Probes {
    Probes {
        memlock: Some(Rlimit { soft: Limit::Unlimited, hard: Limit::Unlimited }),
        nofile: Some(Rlimit { soft: Limit::Value(1 << 20), hard: Limit::Value(1 << 20) }),
        io_uring_ring: Some(Ok(())),
    }
}

fn engine(list: &str) -> CpuSet {
    list.parse().unwrap()
}

fn item<'a>(items: &'a [Item], name: &str) -> &'a Item {
    items.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no item {name}"))
}

fn fix<'a>(items: &'a [Item], name: &str) -> &'a str {
    item(items, name).fix.as_deref().unwrap_or_else(|| panic!("{name} has no fix"))
}

fn assert_status(items: &[Item], name: &str, status: Status) {
    let found = item(items, name);
    assert_eq!(found.status, status, "{name}: {found:?}");
}

const NAMES: [&str; 21] = [
    "cores",
    "numa",
    "smt",
    "isolcpus",
    "nohz_full",
    "rcu_nocbs",
    "governor",
    "turbo",
    "thp",
    "swap",
    "swappiness",
    "clocksource",
    "io_uring",
    "memlock",
    "nofile",
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.core.somaxconn",
    "net.core.netdev_max_backlog",
    "net.core.busy_poll",
    "net.core.busy_read",
];

#[test]
fn tuned_host_is_all_ok() {
    let f = tuned();
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    let names: Vec<&str> = items.iter().map(|i| i.name).collect();
    assert_eq!(names, NAMES);
    for i in &items {
        assert_eq!(i.status, Status::Ok, "{i:?}");
        assert_eq!(i.fix, None, "{i:?}");
    }
    assert!(!crate::has_problems(&items));
    assert_eq!(item(&items, "cores").found, "4 online (0-3); engine 2-3");
    assert_eq!(item(&items, "thp").found, "enabled = never");
}

#[test]
fn fixture_root_probes_nothing_live() {
    let f = tuned();
    let items = check_host(&f.host(), Some(&engine("2-3")));
    assert_status(&items, "memlock", Status::Unknown);
    assert_status(&items, "nofile", Status::Unknown);
    assert_eq!(item(&items, "memlock").found, "not probed: --root is not /");
    assert_status(&items, "io_uring", Status::Ok);
    assert!(item(&items, "io_uring").found.contains("ring not probed"));
    for i in items.iter().filter(|i| !["memlock", "nofile"].contains(&i.name)) {
        assert_eq!(i.status, Status::Ok, "{i:?}");
    }
}

/// A default distribution install: SMT, two NUMA nodes, powersave, THP always, swap on,
/// hpet, io_uring off, default net.core, no isolation, low limits.
fn untuned() -> Fixture {
    let f = Fixture::empty();
    f.cpus(4, "powersave")
        .write("/sys/devices/system/node/node0/cpulist", "0-1\n")
        .write("/sys/devices/system/node/node1/cpulist", "2-3\n")
        .write("/sys/devices/system/cpu/cpu1/topology/thread_siblings_list", "1,3\n")
        .write("/sys/devices/system/cpu/cpu3/topology/thread_siblings_list", "1,3\n")
        .write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet splash -- isolcpus=1-2\n")
        .write("/sys/devices/system/cpu/intel_pstate/no_turbo", "1\n")
        .write("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n")
        .write("/proc/swaps", &format!("{SWAPS_HEADER}/dev/sda3  partition\t8388604\t0\t-2\n"))
        .write("/proc/sys/vm/swappiness", "60\n")
        .write("/sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n")
        .write("/sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet acpi_pm\n")
        .write("/proc/sys/kernel/io_uring_disabled", "2\n")
        .net_core([212992, 212992, 4096, 1000, 0, 0]);
    f
}

fn bad_probes() -> Probes {
    Probes {
        memlock: Some(Rlimit { soft: Limit::Value(8 << 20), hard: Limit::Value(8 << 20) }),
        nofile: Some(Rlimit { soft: Limit::Value(1024), hard: Limit::Value(524288) }),
        io_uring_ring: Some(Err("Operation not permitted (os error 1)".to_string())),
    }
}

#[test]
fn untuned_host_cpu_items_warn_with_fixes() {
    let f = untuned();
    let items = check(&f.host(), Some(&engine("1-2")), &bad_probes());
    assert_status(&items, "cores", Status::Ok);
    assert_status(&items, "numa", Status::Warn);
    assert!(item(&items, "numa").found.contains("engine 1-2 on node0 and node1"));
    assert!(fix(&items, "numa").contains("one NUMA node"));
    assert_status(&items, "smt", Status::Warn);
    assert_eq!(item(&items, "smt").found, "engine shares a physical core: cpu1 with 3");
    assert!(fix(&items, "smt").contains("echo 0 > /sys/devices/system/cpu/cpu3/online"));
    assert!(fix(&items, "smt").contains("smt/control"));
    // "isolcpus=1-2" comes after "--": it belongs to init, not the kernel.
    assert_status(&items, "isolcpus", Status::Warn);
    assert_eq!(item(&items, "isolcpus").found, "not set; engine CPU 1-2 not covered");
    assert!(fix(&items, "isolcpus").starts_with("add isolcpus=managed_irq,domain,1-2 to the kernel command line"));
    assert!(fix(&items, "nohz_full").starts_with("add nohz_full=1-2 to the kernel"));
    assert!(fix(&items, "rcu_nocbs").starts_with("add rcu_nocbs=1-2 to the kernel"));
    assert_status(&items, "governor", Status::Warn);
    assert_eq!(item(&items, "governor").found, "powersave on 0-3");
    assert!(fix(&items, "governor").starts_with("run tuning/governor.sh"));
    assert_status(&items, "turbo", Status::Warn);
    assert!(fix(&items, "turbo").starts_with("echo 0 > /sys/devices/system/cpu/intel_pstate/no_turbo"));
}

#[test]
fn untuned_host_memory_and_system_items_warn_or_fail_with_fixes() {
    let f = untuned();
    let items = check(&f.host(), Some(&engine("1-2")), &bad_probes());
    assert_status(&items, "thp", Status::Warn);
    assert!(fix(&items, "thp").contains("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"));
    assert_status(&items, "swap", Status::Warn);
    assert_eq!(item(&items, "swap").found, "swap on: /dev/sda3 (8191 MiB)");
    assert!(fix(&items, "swap").starts_with("swapoff -a"));
    assert_status(&items, "swappiness", Status::Warn);
    assert!(fix(&items, "swappiness").contains("vm.swappiness = 1"));
    assert_status(&items, "clocksource", Status::Warn);
    assert!(fix(&items, "clocksource").starts_with("echo tsc > /sys/devices/system/clocksource/clocksource0/"));
    assert_status(&items, "io_uring", Status::Fail);
    assert!(fix(&items, "io_uring").starts_with("sysctl -w kernel.io_uring_disabled=0"));
    assert_status(&items, "memlock", Status::Warn);
    assert_eq!(item(&items, "memlock").found, "soft 8 MiB, hard 8 MiB (want >= 64 MiB)");
    assert!(fix(&items, "memlock").contains("LimitMEMLOCK=infinity"));
    assert_status(&items, "nofile", Status::Warn);
    assert!(fix(&items, "nofile").contains("LimitNOFILE=1048576"));
    assert_status(&items, "net.core.rmem_max", Status::Warn);
    assert_eq!(item(&items, "net.core.rmem_max").found, "212992 (want >= 16777216)");
    assert!(fix(&items, "net.core.rmem_max").contains("sysctl -w net.core.rmem_max=16777216"));
    assert_status(&items, "net.core.somaxconn", Status::Ok);
    assert_status(&items, "net.core.netdev_max_backlog", Status::Warn);
    assert!(fix(&items, "net.core.busy_poll").contains("net.core.busy_poll = 50"));
    assert!(crate::has_problems(&items));
    for i in &items {
        assert_eq!(i.fix.is_some(), i.status.is_problem(), "{i:?}");
    }
}

#[test]
fn failed_ring_is_a_fail_even_when_the_sysctl_allows_it() {
    let f = tuned();
    let probes = Probes { io_uring_ring: Some(Err("Function not implemented (os error 38)".into())), ..good_probes() };
    let items = check(&f.host(), Some(&engine("2-3")), &probes);
    assert_status(&items, "io_uring", Status::Fail);
    assert!(item(&items, "io_uring").found.contains("os error 38"));
    assert!(fix(&items, "io_uring").contains("seccomp"));

    f.write("/proc/sys/kernel/io_uring_disabled", "1\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_status(&items, "io_uring", Status::Fail);
    assert!(fix(&items, "io_uring").contains("kernel.io_uring_group"));

    f.remove("/proc/sys/kernel/io_uring_disabled");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_status(&items, "io_uring", Status::Ok);
    assert!(item(&items, "io_uring").found.contains("before 6.6"));
}

#[test]
fn vm_without_cpufreq_reports_unknown_with_a_reason() {
    let f = tuned();
    for cpu in 0..4 {
        f.remove(&format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq"));
    }
    f.remove("/sys/devices/system/cpu/intel_pstate");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_status(&items, "governor", Status::Unknown);
    assert!(item(&items, "governor").found.contains("usual in a VM"));
    assert_status(&items, "turbo", Status::Unknown);
    assert!(item(&items, "turbo").found.contains("not controllable"));
    assert!(!crate::has_problems(&items));
}

#[test]
fn mixed_governors_and_amd_boost() {
    let f = tuned();
    f.write("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "schedutil\n");
    f.remove("/sys/devices/system/cpu/cpu2/cpufreq");
    f.remove("/sys/devices/system/cpu/intel_pstate");
    f.write("/sys/devices/system/cpu/cpufreq/boost", "1\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_status(&items, "governor", Status::Warn);
    assert_eq!(item(&items, "governor").found, "performance on 0-1; schedutil on 3; no cpufreq on 2");
    assert_status(&items, "turbo", Status::Ok);
    f.write("/sys/devices/system/cpu/cpufreq/boost", "0\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert!(fix(&items, "turbo").starts_with("echo 1 > /sys/devices/system/cpu/cpufreq/boost"));
}

#[test]
fn engine_core_placement() {
    let f = tuned();
    let items = check(&f.host(), Some(&engine("3-4")), &good_probes());
    assert_status(&items, "cores", Status::Fail);
    assert!(fix(&items, "cores").contains("CPU 4 is offline or absent"));
    let items = check(&f.host(), Some(&engine("0-3")), &good_probes());
    assert_status(&items, "cores", Status::Fail);
    assert!(fix(&items, "cores").starts_with("leave at least one core"));
    let items = check(&f.host(), Some(&engine("0")), &good_probes());
    assert_status(&items, "cores", Status::Warn);
    assert!(fix(&items, "cores").contains("e.g. core 3"));
}

#[test]
fn partial_isolation_keeps_existing_cpus_and_flags() {
    let f = tuned();
    f.write("/proc/cmdline", "root=/dev/sda1 isolcpus=nohz,domain,3 nohz_full=3 rcu_nocbs\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_eq!(item(&items, "isolcpus").found, "isolcpus=nohz,domain,3; engine CPU 2 not covered");
    assert!(
        fix(&items, "isolcpus").starts_with("change isolcpus=nohz,domain,3 to isolcpus=nohz,domain,2-3 on the kernel")
    );
    assert!(fix(&items, "nohz_full").starts_with("change nohz_full=3 to nohz_full=2-3 on"));
    assert!(fix(&items, "rcu_nocbs").starts_with("change rcu_nocbs to rcu_nocbs=2-3 on"));
}

#[test]
fn isolation_accepts_all_and_grouped_lists() {
    let f = tuned();
    f.write("/proc/cmdline", "isolcpus=2,3 nohz_full=0-3:1/2,3 rcu_nocbs=all\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    for name in ["isolcpus", "nohz_full", "rcu_nocbs"] {
        assert_status(&items, name, Status::Ok);
    }
    f.write("/proc/cmdline", "nohz_full=2-x\n");
    let items = check(&f.host(), Some(&engine("2-3")), &good_probes());
    assert_status(&items, "nohz_full", Status::Unknown);
}

#[test]
fn without_engine_cores_the_per_core_items_are_unknown() {
    let f = tuned();
    let items = check(&f.host(), None, &good_probes());
    assert_status(&items, "cores", Status::Ok);
    assert!(item(&items, "cores").found.ends_with("no engine cores given (--engine-cores)"));
    for name in ["isolcpus", "nohz_full", "rcu_nocbs"] {
        assert_status(&items, name, Status::Unknown);
    }
    assert_status(&items, "smt", Status::Ok);
    f.write("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "0-1\n");
    let items = check(&f.host(), None, &good_probes());
    assert_status(&items, "smt", Status::Unknown);
}

#[test]
fn empty_root_is_all_unknown_not_a_crash() {
    let f = Fixture::empty();
    let items = check(&f.host(), Some(&engine("1")), &Probes::none());
    assert_eq!(items.len(), NAMES.len());
    for i in &items {
        // io_uring: an absent sysctl means a kernel before 6.6, where it is enabled.
        let want = if i.name == "io_uring" { Status::Ok } else { Status::Unknown };
        assert_eq!(i.status, want, "{i:?}");
    }
}

#[test]
fn cmdline_params() {
    let line = "BOOT_IMAGE=/b isolcpus=1 quiet isolcpus=2-3 rcu_nocbs -- nohz_full=1";
    assert_eq!(cmdline_param(line, "isolcpus"), Some("2-3"));
    assert_eq!(cmdline_param(line, "rcu_nocbs"), Some(""));
    assert_eq!(cmdline_param(line, "nohz_full"), None);
    assert_eq!(cmdline_param(line, "quiet"), Some(""));
    assert_eq!(cmdline_param("nohz_full=\"1-2\"", "nohz_full"), Some("1-2"));
}

/// tuning/sysctl.sh writes the values the checks recommend.
#[test]
fn sysctl_script_matches_the_recommendations() {
    let script = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sysctl.sh")).unwrap();
    let settings: Vec<(String, String)> = script
        .lines()
        .filter_map(|l| l.split_once(" = "))
        // The last line closes the shell string: `vm.swappiness = 1"`.
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_end_matches('"').to_string()))
        .collect();
    let mut want: Vec<(String, String)> = NET_CORE_MIN.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    want.push(("vm.swappiness".to_string(), SWAPPINESS_RECOMMENDED.to_string()));
    for w in &want {
        assert!(settings.contains(w), "sysctl.sh lacks {} = {}", w.0, w.1);
    }
    assert_eq!(settings.len(), want.len(), "sysctl.sh sets {settings:?}");
}

#[test]
fn scripts_parse() {
    for script in ["sysctl.sh", "governor.sh", "irq-affinity.sh", "apply.sh"] {
        let path = format!("{}/{script}", env!("CARGO_MANIFEST_DIR"));
        let status = std::process::Command::new("bash").arg("-n").arg(&path).status().unwrap();
        assert!(status.success(), "bash -n {script}");
    }
}
