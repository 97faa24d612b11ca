//! Clocksource, io_uring, the process's limits and the net.core settings.

use super::{read_number, Ctx, MEMLOCK_MIN_BYTES, NET_CORE_MIN, NOFILE_MIN};
use crate::host::{Limit, Rlimit};
use crate::report::Item;

const CLOCKSOURCE: &str = "/sys/devices/system/clocksource/clocksource0";
const IO_URING_DISABLED: &str = "/proc/sys/kernel/io_uring_disabled";
const NOT_LIVE: &str = "not probed: --root is not /";

pub(super) fn clocksource(ctx: &Ctx) -> Item {
    let current_path = format!("{CLOCKSOURCE}/current_clocksource");
    let Some(current) = ctx.host.read_trimmed(&current_path) else {
        return Item::unknown("clocksource", format!("cannot read {current_path}"));
    };
    if current == "tsc" {
        return Item::ok("clocksource", "tsc");
    }
    let available = ctx.host.read_trimmed(&format!("{CLOCKSOURCE}/available_clocksource")).unwrap_or_default();
    let found = format!("{current} (available: {available}); clock reads leave the fast vDSO TSC path");
    let fix = if available.split_whitespace().any(|c| c == "tsc") {
        format!(
            "echo tsc > {current_path}, and clocksource=tsc on the kernel command line to keep it (first check \
             dmesg for 'TSC unstable')"
        )
    } else {
        "no tsc clocksource is offered: the CPU or hypervisor exposes no stable TSC; choose hardware or an instance \
         type with an invariant TSC"
            .to_string()
    };
    Item::warn("clocksource", found, fix)
}

pub(super) fn io_uring(ctx: &Ctx) -> Item {
    let setting = ctx.host.read_trimmed(IO_URING_DISABLED);
    let found = match setting.as_deref() {
        None => "kernel.io_uring_disabled absent (kernel before 6.6: enabled)".to_string(),
        Some(v) => format!("kernel.io_uring_disabled = {v}"),
    };
    match setting.as_deref() {
        None | Some("0") => {}
        Some("1") => {
            let fix = "sysctl -w kernel.io_uring_disabled=0 (persist it in /etc/sysctl.d), or add the cex user to \
                       the group in kernel.io_uring_group; the gateway runs on io_uring";
            return Item::fail("io_uring", format!("{found} (only kernel.io_uring_group may use it)"), fix);
        }
        Some(_) => {
            let fix = "sysctl -w kernel.io_uring_disabled=0, and persist it in /etc/sysctl.d; the gateway runs on \
                       io_uring";
            return Item::fail("io_uring", format!("{found} (disabled)"), fix);
        }
    }
    match &ctx.probes.io_uring_ring {
        None => Item::ok("io_uring", format!("{found}; ring {NOT_LIVE}")),
        Some(Ok(())) => Item::ok("io_uring", format!("{found}; an 8-entry ring was created")),
        Some(Err(e)) => Item::fail(
            "io_uring",
            format!("{found}; creating an 8-entry ring failed: {e}"),
            "the gateway needs io_uring: use Linux 5.10 or later, and allow io_uring_setup in the seccomp profile \
             (container runtimes block it by default)",
        ),
    }
}

fn show_limit(limit: Limit, bytes: bool) -> String {
    match limit {
        Limit::Unlimited => "unlimited".to_string(),
        Limit::Value(v) if bytes && v >= 1 << 20 && v % (1 << 20) == 0 => format!("{} MiB", v >> 20),
        Limit::Value(v) if bytes && v % 1024 == 0 => format!("{} KiB", v >> 10),
        Limit::Value(v) => v.to_string(),
    }
}

fn limit_item(name: &'static str, limit: Option<Rlimit>, min: u64, bytes: bool, fix: String) -> Item {
    let Some(limit) = limit else {
        return Item::unknown(name, NOT_LIVE);
    };
    let found = format!("soft {}, hard {}", show_limit(limit.soft, bytes), show_limit(limit.hard, bytes));
    if limit.soft.at_least(min) {
        return Item::ok(name, found);
    }
    Item::warn(name, format!("{found} (want >= {})", show_limit(Limit::Value(min), bytes)), fix)
}

pub(super) fn memlock(ctx: &Ctx) -> Item {
    let fix = "LimitMEMLOCK=infinity in the service's systemd unit, or '<user> - memlock unlimited' in \
               /etc/security/limits.d/cex.conf; io_uring rings and registered buffers count against it";
    limit_item("memlock", ctx.probes.memlock, MEMLOCK_MIN_BYTES, true, fix.to_string())
}

pub(super) fn nofile(ctx: &Ctx) -> Item {
    let fix = format!(
        "LimitNOFILE=1048576 in the service's systemd unit, or '<user> - nofile 1048576' in \
         /etc/security/limits.d/cex.conf (at least {NOFILE_MIN}: one per client connection)"
    );
    limit_item("nofile", ctx.probes.nofile, NOFILE_MIN, false, fix)
}

/// One item per `net.core` setting, each against its recommended minimum.
pub(super) fn net_core(ctx: &Ctx) -> Vec<Item> {
    NET_CORE_MIN
        .iter()
        .map(|&(key, min)| {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            let Some(value) = read_number(ctx.host, &path) else {
                return Item::unknown(key, format!("cannot read {path}"));
            };
            if value >= min {
                return Item::ok(key, value.to_string());
            }
            let fix = format!("run tuning/sysctl.sh (sets {key} = {min}), or: sysctl -w {key}={min}");
            Item::warn(key, format!("{value} (want >= {min})"), fix)
        })
        .collect()
}
