//! Transparent huge pages, swap and swappiness.

use super::{read_number, Ctx, SWAPPINESS_MAX, SWAPPINESS_RECOMMENDED};
use crate::report::Item;

const THP: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

pub(super) fn thp(ctx: &Ctx) -> Item {
    let Some(text) = ctx.host.read_trimmed(THP) else {
        return Item::unknown("thp", format!("cannot read {THP}"));
    };
    // "always [madvise] never": the bracketed word is in force.
    let Some(mode) = text.split_whitespace().find_map(|w| w.strip_prefix('[')?.strip_suffix(']')) else {
        return Item::unknown("thp", format!("cannot parse {THP}: {text:?}"));
    };
    let found = format!("enabled = {mode}");
    match mode {
        "never" | "madvise" => Item::ok("thp", found),
        _ => Item::warn(
            "thp",
            found,
            format!(
                "run tuning/governor.sh (or: echo madvise > {THP}), and transparent_hugepage=madvise on the kernel \
                 command line to keep it; khugepaged and compaction stall the engine"
            ),
        ),
    }
}

pub(super) fn swap(ctx: &Ctx) -> Item {
    let Ok(text) = ctx.host.read("/proc/swaps") else {
        return Item::unknown("swap", "cannot read /proc/swaps");
    };
    // Header line, then "Filename Type Size(KiB) Used Priority" per device.
    let devices: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let size_kib: u64 = fields.nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            Some(format!("{name} ({} MiB)", size_kib / 1024))
        })
        .collect();
    if devices.is_empty() {
        return Item::ok("swap", "no swap devices");
    }
    Item::warn(
        "swap",
        format!("swap on: {}", devices.join(", ")),
        "swapoff -a, and remove the swap entries from /etc/fstab (a page swapped back in costs milliseconds)",
    )
}

pub(super) fn swappiness(ctx: &Ctx) -> Item {
    let path = "/proc/sys/vm/swappiness";
    let Some(value) = read_number(ctx.host, path) else {
        return Item::unknown("swappiness", format!("cannot read {path}"));
    };
    let found = format!("vm.swappiness = {value}");
    if value <= SWAPPINESS_MAX {
        return Item::ok("swappiness", found);
    }
    Item::warn(
        "swappiness",
        format!("{found} (want <= {SWAPPINESS_MAX})"),
        format!(
            "run tuning/sysctl.sh (sets vm.swappiness = {SWAPPINESS_RECOMMENDED}), or: sysctl -w \
             vm.swappiness={SWAPPINESS_RECOMMENDED}"
        ),
    )
}
