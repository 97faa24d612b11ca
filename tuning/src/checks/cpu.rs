//! Cores, NUMA, SMT, the kernel's isolation parameters, the governor and turbo.

use std::collections::BTreeMap;

use super::{cmdline_param, Ctx, CPU_DIR, NO_ENGINE};
use crate::cpulist::{parse_cpu_list, CpuSet};
use crate::report::Item;

pub(super) fn cores(ctx: &Ctx) -> Item {
    let Some(online) = &ctx.online else {
        return Item::unknown("cores", format!("cannot read {CPU_DIR}/online"));
    };
    let found = format!("{} online ({online})", online.len());
    let Some(engine) = ctx.engine else {
        return Item::ok("cores", format!("{found}; {NO_ENGINE}"));
    };
    let found = format!("{found}; engine {engine}");
    let absent = engine.difference(online);
    if !absent.is_empty() {
        let fix = format!("choose engine cores among the online CPUs ({online}); CPU {absent} is offline or absent");
        return Item::fail("cores", found, fix);
    }
    let rest = online.difference(engine);
    if rest.is_empty() {
        let fix = "leave at least one core outside the engine cores for housekeeping, IRQs, the journal and the \
                   gateway";
        return Item::fail("cores", found, fix);
    }
    if engine.contains(0) {
        let fix = format!(
            "core 0 carries housekeeping, timers and most IRQs; pin the engine elsewhere (e.g. core {})",
            rest.last().unwrap_or(1)
        );
        return Item::warn("cores", found, fix);
    }
    Item::ok("cores", found)
}

/// The NUMA nodes (`nodeN` → CPUs), from `/sys/devices/system/node/node*/cpulist`.
fn numa_nodes(ctx: &Ctx) -> BTreeMap<usize, CpuSet> {
    let mut nodes = BTreeMap::new();
    for name in ctx.host.dir_names("/sys/devices/system/node") {
        let Some(id) = name.strip_prefix("node").and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let path = format!("/sys/devices/system/node/{name}/cpulist");
        if let Some(cpus) = ctx.host.read_trimmed(&path).and_then(|s| parse_cpu_list(&s).ok()) {
            nodes.insert(id, cpus);
        }
    }
    nodes
}

pub(super) fn numa(ctx: &Ctx) -> Item {
    let nodes = numa_nodes(ctx);
    if nodes.is_empty() {
        return Item::unknown("numa", "no readable /sys/devices/system/node/node*/cpulist (kernel without NUMA?)");
    }
    let listed: Vec<String> = nodes.iter().map(|(id, cpus)| format!("node{id}: {cpus}")).collect();
    let found = format!("{} node{} ({})", nodes.len(), if nodes.len() == 1 { "" } else { "s" }, listed.join(", "));
    let Some(engine) = ctx.engine else {
        return Item::ok("numa", format!("{found}; {NO_ENGINE}"));
    };
    let engine_nodes: Vec<usize> =
        nodes.iter().filter(|(_, cpus)| !cpus.intersection(engine).is_empty()).map(|(id, _)| *id).collect();
    let on: Vec<String> = engine_nodes.iter().map(|id| format!("node{id}")).collect();
    let found = format!("{found}; engine {engine} on {}", on.join(" and "));
    if engine_nodes.len() > 1 {
        let fix = "keep every engine core on one NUMA node, together with the gateway cores and the NIC \
                   (its node: /sys/class/net/IFACE/device/numa_node)";
        return Item::warn("numa", found, fix);
    }
    Item::ok("numa", found)
}

pub(super) fn smt(ctx: &Ctx) -> Item {
    let Some(online) = &ctx.online else {
        return Item::unknown("smt", format!("cannot read {CPU_DIR}/online"));
    };
    let mut shared = Vec::new();
    let mut any_siblings = false;
    for cpu in online.iter() {
        let path = format!("{CPU_DIR}/cpu{cpu}/topology/thread_siblings_list");
        let Some(siblings) = ctx.host.read_trimmed(&path).and_then(|s| parse_cpu_list(&s).ok()) else {
            if ctx.engine.is_some_and(|e| e.contains(cpu)) {
                return Item::unknown("smt", format!("cannot read {path}"));
            }
            continue;
        };
        let others = siblings.intersection(online).difference(&[cpu].into_iter().collect());
        any_siblings |= !others.is_empty();
        if ctx.engine.is_some_and(|e| e.contains(cpu)) && !others.is_empty() {
            shared.push((cpu, others));
        }
    }
    let Some(engine) = ctx.engine else {
        if any_siblings {
            return Item::unknown("smt", format!("SMT siblings online; {NO_ENGINE}"));
        }
        return Item::ok("smt", "no SMT siblings online");
    };
    if shared.is_empty() {
        return Item::ok("smt", format!("engine {engine} has no online SMT sibling"));
    }
    let pairs: Vec<String> = shared.iter().map(|(cpu, s)| format!("cpu{cpu} with {s}")).collect();
    let offline: Vec<String> =
        shared.iter().flat_map(|(_, s)| s.iter()).map(|s| format!("echo 0 > {CPU_DIR}/cpu{s}/online")).collect();
    let fix = format!(
        "turn SMT off (echo off > {CPU_DIR}/smt/control, or nosmt on the kernel command line), or offline the \
         sibling: {}",
        offline.join("; ")
    );
    Item::warn("smt", format!("engine shares a physical core: {}", pairs.join(", ")), fix)
}

/// An isolation parameter's value: flags first (`isolcpus=managed_irq,domain,2-3`), then
/// CPUs. `all` stands for every online CPU.
struct IsolationParam {
    flags: Vec<String>,
    cpus: CpuSet,
}

fn parse_isolation(value: &str, online: Option<&CpuSet>) -> Option<IsolationParam> {
    let mut flags = Vec::new();
    let mut cpus = CpuSet::new();
    let mut list = Vec::new();
    for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if token == "all" {
            cpus = cpus.union(online?);
        } else if token.starts_with(|c: char| c.is_ascii_alphabetic()) {
            flags.push(token.to_string());
        } else {
            list.push(token);
        }
    }
    let cpus = cpus.union(&parse_cpu_list(&list.join(",")).ok()?);
    Some(IsolationParam { flags, cpus })
}

/// `isolcpus`, `nohz_full` or `rcu_nocbs`: each engine core should be in it.
pub(super) fn isolation(ctx: &Ctx, key: &'static str) -> Item {
    let Some(cmdline) = &ctx.cmdline else {
        return Item::unknown(key, "cannot read /proc/cmdline");
    };
    let value = cmdline_param(cmdline, key);
    let shown = match value {
        Some("") => key.to_string(),
        Some(v) => format!("{key}={v}"),
        None => "not set".to_string(),
    };
    let Some(param) = parse_isolation(value.unwrap_or(""), ctx.online.as_ref()) else {
        return Item::unknown(key, format!("{shown}: cannot parse the CPU list"));
    };
    let Some(engine) = ctx.engine else {
        return Item::unknown(key, format!("{shown}; {NO_ENGINE}"));
    };
    let missing = engine.difference(&param.cpus);
    if missing.is_empty() {
        return Item::ok(key, format!("{shown} (covers engine {engine})"));
    }
    let mut flags = param.flags.clone();
    if key == "isolcpus" && value.is_none() {
        flags = vec!["managed_irq".to_string(), "domain".to_string()];
    }
    flags.push(param.cpus.union(engine).to_string());
    let wanted = format!("{key}={}", flags.join(","));
    let change = match value {
        Some(_) => format!("change {shown} to {wanted} on"),
        None => format!("add {wanted} to"),
    };
    let fix = format!(
        "{change} the kernel command line in the bootloader (e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then \
         update-grub) and reboot"
    );
    Item::warn(key, format!("{shown}; engine CPU {missing} not covered"), fix)
}

pub(super) fn governor(ctx: &Ctx) -> Item {
    let Some(cpus) = &ctx.online else {
        return Item::unknown("governor", format!("cannot read {CPU_DIR}/online"));
    };
    let mut by_governor: BTreeMap<String, CpuSet> = BTreeMap::new();
    let mut without = CpuSet::new();
    for cpu in cpus.iter() {
        match ctx.host.read_trimmed(&format!("{CPU_DIR}/cpu{cpu}/cpufreq/scaling_governor")) {
            Some(g) => by_governor.entry(g).or_default().insert(cpu),
            None => without.insert(cpu),
        }
    }
    if by_governor.is_empty() {
        return Item::unknown(
            "governor",
            "no cpufreq interface (cpuN/cpufreq/scaling_governor): usual in a VM, where the hypervisor sets the \
             frequency; tune the hypervisor host instead",
        );
    }
    let mut parts: Vec<String> = by_governor.iter().map(|(g, c)| format!("{g} on {c}")).collect();
    if !without.is_empty() {
        parts.push(format!("no cpufreq on {without}"));
    }
    let found = parts.join("; ");
    if by_governor.keys().all(|g| g == "performance") {
        return Item::ok("governor", found);
    }
    let fix = format!(
        "run tuning/governor.sh (or: echo performance | tee {CPU_DIR}/cpu*/cpufreq/scaling_governor); the engine \
         core must not wait for its clock to ramp up"
    );
    Item::warn("governor", found, fix)
}

pub(super) fn turbo(ctx: &Ctx) -> Item {
    let no_turbo = format!("{CPU_DIR}/intel_pstate/no_turbo");
    let boost = format!("{CPU_DIR}/cpufreq/boost");
    if let Some(v) = ctx.host.read_trimmed(&no_turbo) {
        return match v.as_str() {
            "0" => Item::ok("turbo", "on (intel_pstate/no_turbo = 0)"),
            _ => Item::warn(
                "turbo",
                format!("off (intel_pstate/no_turbo = {v})"),
                format!("echo 0 > {no_turbo} (turbo raises the engine core's clock)"),
            ),
        };
    }
    if let Some(v) = ctx.host.read_trimmed(&boost) {
        return match v.as_str() {
            "1" => Item::ok("turbo", "on (cpufreq/boost = 1)"),
            _ => Item::warn(
                "turbo",
                format!("off (cpufreq/boost = {v})"),
                format!("echo 1 > {boost} (boost raises the engine core's clock)"),
            ),
        };
    }
    Item::unknown(
        "turbo",
        "no intel_pstate/no_turbo or cpufreq/boost: turbo is not controllable from this OS (usual in a VM)",
    )
}
