//! governor.sh and irq-affinity.sh against fixture trees (`CEX_TUNING_ROOT`): `--dry-run`
//! changes nothing, a run changes what it should, and a second run changes nothing more.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn write(root: &Path, abs: &str, content: &str) {
    let path = root.join(abs.trim_start_matches('/'));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn read(root: &Path, abs: &str) -> String {
    fs::read_to_string(root.join(abs.trim_start_matches('/'))).unwrap().trim().to_string()
}

fn run(root: &Path, script: &str, args: &[&str]) -> String {
    let output: Output = Command::new("bash")
        .arg(format!("{}/{script}", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .env("CEX_TUNING_ROOT", root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{script} {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn governor_fixture() -> TempDir {
    let dir = TempDir::new().unwrap();
    for (cpu, governor) in [(0, "powersave"), (1, "performance"), (2, "schedutil")] {
        let base = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq");
        write(dir.path(), &format!("{base}/scaling_governor"), &format!("{governor}\n"));
        write(dir.path(), &format!("{base}/scaling_available_governors"), "performance powersave schedutil\n");
    }
    write(dir.path(), "/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
    dir
}

#[test]
fn governor_dry_run_changes_nothing() {
    let dir = governor_fixture();
    let out = run(dir.path(), "governor.sh", &["--dry-run"]);
    assert!(out.contains("would set cpu0: powersave -> performance"), "{out}");
    assert!(out.contains("would set cpu2: schedutil -> performance"), "{out}");
    assert!(!out.contains("cpu1"), "{out}");
    assert!(out.contains("thp: would set always -> madvise"), "{out}");
    assert_eq!(read(dir.path(), "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"), "powersave");
    assert_eq!(read(dir.path(), "/sys/kernel/mm/transparent_hugepage/enabled"), "[always] madvise never");
}

#[test]
fn governor_sets_performance_and_thp_then_is_idempotent() {
    let dir = governor_fixture();
    let out = run(dir.path(), "governor.sh", &[]);
    assert!(out.contains("set cpu0: powersave -> performance"), "{out}");
    for cpu in 0..3 {
        let path = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor");
        assert_eq!(read(dir.path(), &path), "performance");
    }
    assert_eq!(read(dir.path(), "/sys/kernel/mm/transparent_hugepage/enabled"), "madvise");
    // What the kernel shows after the write.
    write(dir.path(), "/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
    let out = run(dir.path(), "governor.sh", &[]);
    assert!(out.contains("every CPU with cpufreq runs performance"), "{out}");
    assert!(out.contains("thp: already madvise"), "{out}");
    assert!(!out.contains("set cpu"), "{out}");
}

#[test]
fn governor_without_cpufreq_says_so() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "/sys/devices/system/cpu/online", "0-1\n");
    write(dir.path(), "/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n");
    let out = run(dir.path(), "governor.sh", &[]);
    assert!(out.contains("no cpufreq on this host"), "{out}");
    assert!(out.contains("thp: already never"), "{out}");
}

fn irq_fixture() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "/sys/devices/system/cpu/online", "0-39\n");
    write(dir.path(), "/proc/irq/default_smp_affinity", "ff,ffffffff\n");
    for (irq, list) in [(0, "0-39"), (1, "2-3"), (2, "0,5"), (3, "3,33-35")] {
        write(dir.path(), &format!("/proc/irq/{irq}/smp_affinity_list"), &format!("{list}\n"));
    }
    fs::create_dir_all(dir.path().join("proc/irq/1/eth0-rx-0")).unwrap();
    dir
}

fn affinities(root: &Path) -> Vec<String> {
    (0..4).map(|irq| read(root, &format!("/proc/irq/{irq}/smp_affinity_list"))).collect()
}

#[test]
fn irq_affinity_dry_run_changes_nothing() {
    let dir = irq_fixture();
    let out = run(dir.path(), "irq-affinity.sh", &["--engine-cores", "2-3,34", "--dry-run"]);
    assert!(out.contains("would move IRQ 1 (eth0-rx-0): 2-3 -> 0-1,4-33,35-39"), "{out}");
    assert!(out.contains("would move IRQ 3: 3,33-35 -> 33,35"), "{out}");
    assert!(out.contains("would set default_smp_affinity: ff,ffffffff -> fb,fffffff3"), "{out}");
    assert!(out.contains("would move 3 IRQ(s) off engine cores 2-3,34; 1 already clear"), "{out}");
    assert_eq!(affinities(dir.path()), ["0-39", "2-3", "0,5", "3,33-35"]);
    assert_eq!(read(dir.path(), "/proc/irq/default_smp_affinity"), "ff,ffffffff");
}

#[test]
fn irq_affinity_moves_irqs_off_engine_cores_then_is_idempotent() {
    let dir = irq_fixture();
    let out = run(dir.path(), "irq-affinity.sh", &["--engine-cores", "2-3,34"]);
    assert!(out.contains("moved 3 IRQ(s)"), "{out}");
    assert_eq!(affinities(dir.path()), ["0-1,4-33,35-39", "0-1,4-33,35-39", "0,5", "33,35"]);
    assert_eq!(read(dir.path(), "/proc/irq/default_smp_affinity"), "fb,fffffff3");
    let out = run(dir.path(), "irq-affinity.sh", &["--engine-cores=2-3,34"]);
    assert!(out.contains("moved 0 IRQ(s) off engine cores 2-3,34; 4 already clear"), "{out}");
    assert!(out.contains("default_smp_affinity: fb,fffffff3 already excludes the engine cores"), "{out}");
}

#[test]
fn irq_affinity_refuses_bad_lists_before_changing_anything() {
    let dir = irq_fixture();
    for list in ["3-1", "x", "1,,2", ""] {
        let status = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/irq-affinity.sh"))
            .args(["--engine-cores", list])
            .env("CEX_TUNING_ROOT", dir.path())
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(2), "--engine-cores {list:?}");
    }
    let status = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/irq-affinity.sh"))
        .args(["--engine-cores", "0-39"])
        .env("CEX_TUNING_ROOT", dir.path())
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(1), "engine on every CPU");
    assert_eq!(affinities(dir.path()), ["0-39", "2-3", "0,5", "3,33-35"]);
}
