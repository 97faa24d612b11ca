#!/usr/bin/env bash
# Moves every IRQ off the engine cores: each /proc/irq/N/smp_affinity_list loses the
# engine cores (an IRQ that had only engine cores goes to all the other online CPUs), and
# /proc/irq/default_smp_affinity excludes them for IRQs created later. IRQs the kernel
# will not move (per-CPU and kernel-managed ones) are skipped and listed. Idempotent: IRQs
# already clear of the engine cores are left alone. Prints advice if irqbalance is present,
# since it would move IRQs back. Lasts until reboot or a driver reload: run it at boot,
# after the NICs are up.
#
#   tuning/irq-affinity.sh --engine-cores LIST [--dry-run]     LIST as in 1 or 2-3 or 2,4-5
set -euo pipefail

# CEX_TUNING_ROOT: a fake / for tests (no root needed then); empty on a real host.
readonly ROOT="${CEX_TUNING_ROOT:-}"
readonly IRQ_DIR="$ROOT/proc/irq"
readonly ONLINE="$ROOT/sys/devices/system/cpu/online"

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "$0"
}

die() {
    echo "irq-affinity.sh: $1" >&2
    exit "${2:-1}"
}

# Prints the CPUs of a CPU list ("0-3,8"), one per line, ascending; fails, printing
# nothing, if the list is malformed.
expand_cpulist() {
    local list="${1//[[:space:]]/}" part first last cpu parts=() cpus=()
    [[ $list =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || return 1
    IFS=, read -ra parts <<<"$list"
    for part in "${parts[@]}"; do
        first=$((10#${part%-*}))
        last=$((10#${part#*-}))
        ((first <= last && last <= 8191)) || return 1
        for ((cpu = first; cpu <= last; cpu++)); do cpus+=("$cpu"); done
    done
    printf '%s\n' "${cpus[@]}" | sort -nu
}

# Prints the CPUs given as arguments (ascending) as a CPU list: 0 1 2 3 8 -> 0-3,8.
compress_cpus() {
    local out="" start=-1 prev=-2 cpu
    for cpu in "$@" -1; do
        if ((cpu == prev + 1)); then
            prev=$cpu
            continue
        fi
        if ((start >= 0)); then
            out+="${out:+,}$start"
            if ((prev > start)); then out+="-$prev"; fi
        fi
        start=$cpu
        prev=$cpu
    done
    echo "$out"
}

# Prints the kernel's hex mask (32-bit groups, comma-separated) of the CPUs given.
cpus_to_mask() {
    local cpu g max=0 out="" words=()
    for cpu in "$@"; do
        if ((cpu > max)); then max=$cpu; fi
    done
    for ((g = 0; g <= max / 32; g++)); do words[g]=0; done
    for cpu in "$@"; do
        words[cpu / 32]=$((words[cpu / 32] | (1 << (cpu % 32))))
    done
    for ((g = max / 32; g >= 0; g--)); do
        if [[ -z $out ]]; then out="$(printf '%x' "${words[g]}")"; else out+="$(printf ',%08x' "${words[g]}")"; fi
    done
    echo "$out"
}

# Prints the CPUs of a kernel hex mask ("ff,00000001"), one per line, ascending.
mask_to_cpus() {
    local mask="${1//[[:space:]]/}" groups=() g i n word
    IFS=, read -ra groups <<<"$mask"
    n=${#groups[@]}
    for ((g = 0; g < n; g++)); do
        word=$((16#${groups[n - 1 - g]}))
        for ((i = 0; i < 32; i++)); do
            if (((word >> i) & 1)); then echo $((g * 32 + i)); fi
        done
    done
}

engine_list=""
dry_run=0
while (($# > 0)); do
    case "$1" in
        --engine-cores)
            (($# >= 2)) || die "--engine-cores needs a CPU list, e.g. --engine-cores 2-3" 2
            engine_list="$2"
            shift
            ;;
        --engine-cores=*) engine_list="${1#*=}" ;;
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" 2 ;;
    esac
    shift
done
[[ -n $engine_list ]] || { usage >&2; die "--engine-cores LIST is required" 2; }

engine_text="$(expand_cpulist "$engine_list")" ||
    die "bad --engine-cores list: '$engine_list' (want e.g. 1, 2-3 or 2,4-5)" 2
mapfile -t engine <<<"$engine_text"

if ((!dry_run)) && [[ -z $ROOT ]] && ((EUID != 0)); then
    die "must run as root to write /proc/irq/*/smp_affinity_list (try sudo, or --dry-run to see what would change)"
fi

[[ -r $ONLINE ]] || die "cannot read $ONLINE"
online_text="$(expand_cpulist "$(<"$ONLINE")")" || die "cannot parse $ONLINE"
mapfile -t online <<<"$online_text"
declare -A is_engine=()
for cpu in "${engine[@]}"; do is_engine[$cpu]=1; done
housekeeping=()
for cpu in "${online[@]}"; do
    if [[ -z ${is_engine[$cpu]:-} ]]; then housekeeping+=("$cpu"); fi
done
((${#housekeeping[@]} > 0)) || die "the engine cores ($engine_list) take every online CPU: no CPU is left for IRQs"
engine_list="$(compress_cpus "${engine[@]}")"
housekeeping_list="$(compress_cpus "${housekeeping[@]}")"
echo "engine cores: $engine_list; IRQs go to: $housekeeping_list"
offline=()
declare -A is_online=()
for cpu in "${online[@]}"; do is_online[$cpu]=1; done
for cpu in "${engine[@]}"; do
    if [[ -z ${is_online[$cpu]:-} ]]; then offline+=("$cpu"); fi
done
if ((${#offline[@]} > 0)); then
    echo "irq-affinity.sh: warning: engine core(s) $(compress_cpus "${offline[@]}") are not online" >&2
fi

# The IRQ's action names (its subdirectories), for messages.
irq_name() {
    local d names=()
    for d in "$IRQ_DIR/$1"/*/; do
        if [[ -d $d ]]; then names+=("$(basename "$d")"); fi
    done
    local IFS=,
    echo "${names[*]:-}"
}

# Writes VALUE to FILE; returns non-zero if the kernel refuses it.
write_value() {
    { printf '%s\n' "$2" >"$1"; } 2>/dev/null
}

moved=0
clear=0
refused=()
# Moves one IRQ off the engine cores (or says it would).
move_irq() {
    local irq="$1" file="$IRQ_DIR/$1/smp_affinity_list" current cpu text keep=() label
    current="$(tr -d '[:space:]' <"$file")"
    text="$(expand_cpulist "$current")" || { refused+=("$irq (unreadable list '$current')"); return 0; }
    local -a cpus
    mapfile -t cpus <<<"$text"
    for cpu in "${cpus[@]}"; do
        if [[ -z ${is_engine[$cpu]:-} ]]; then keep+=("$cpu"); fi
    done
    if ((${#keep[@]} == ${#cpus[@]})); then
        clear=$((clear + 1))
        return 0
    fi
    local wanted="$housekeeping_list"
    if ((${#keep[@]} > 0)); then wanted="$(compress_cpus "${keep[@]}")"; fi
    label="IRQ $irq"
    local name
    name="$(irq_name "$irq")"
    if [[ -n $name ]]; then label+=" ($name)"; fi
    if ((dry_run)); then
        echo "would move $label: $current -> $wanted"
        moved=$((moved + 1))
    elif write_value "$file" "$wanted"; then
        echo "moved $label: $current -> $wanted"
        moved=$((moved + 1))
    else
        refused+=("$label stays on $current")
    fi
}

for dir in "$IRQ_DIR"/[0-9]*; do
    if [[ -f $dir/smp_affinity_list ]]; then move_irq "${dir##*/}"; fi
done

# IRQs created from now on.
default_file="$IRQ_DIR/default_smp_affinity"
if [[ -f $default_file ]]; then
    current_mask="$(tr -d '[:space:]' <"$default_file")"
    mapfile -t default_cpus < <(mask_to_cpus "$current_mask")
    touches_engine=0
    for cpu in "${default_cpus[@]}"; do
        if [[ -n ${is_engine[$cpu]:-} ]]; then touches_engine=1; fi
    done
    wanted_mask="$(cpus_to_mask "${housekeeping[@]}")"
    if ((!touches_engine)); then
        echo "default_smp_affinity: $current_mask already excludes the engine cores"
    elif ((dry_run)); then
        echo "would set default_smp_affinity: $current_mask -> $wanted_mask"
    elif write_value "$default_file" "$wanted_mask"; then
        echo "set default_smp_affinity: $current_mask -> $wanted_mask"
    else
        refused+=("default_smp_affinity stays $current_mask")
    fi
fi

verb="moved"
if ((dry_run)); then verb="would move"; fi
echo "$verb $moved IRQ(s) off engine cores $engine_list; $clear already clear of them; ${#refused[@]} refused"
for r in ${refused[@]+"${refused[@]}"}; do
    echo "  refused: $r"
done
if ((${#refused[@]} > 0)); then
    echo "  (per-CPU and kernel-managed IRQs cannot be moved; isolcpus=managed_irq,... keeps managed ones off isolated cores)"
fi

# irqbalance would move IRQs back onto the engine cores.
irqbalance_running=0
for comm in "$ROOT"/proc/[0-9]*/comm; do
    if [[ -r $comm && "$(<"$comm")" == irqbalance ]]; then irqbalance_running=1; fi
done 2>/dev/null
if ((irqbalance_running)) || command -v irqbalance >/dev/null 2>&1; then
    state="is installed"
    if ((irqbalance_running)); then state="is running"; fi
    cat <<ADVICE
irqbalance $state: it can move IRQs back onto the engine cores. Either
  - stop it:  systemctl disable --now irqbalance
  - or keep it and ban the engine cores: in /etc/default/irqbalance (Debian, Ubuntu) or
    /etc/sysconfig/irqbalance (RHEL) set IRQBALANCE_BANNED_CPULIST=$engine_list
    (irqbalance 1.8+; older versions: IRQBALANCE_BANNED_CPUS=$(cpus_to_mask "${engine[@]}")),
    then systemctl restart irqbalance
ADVICE
fi
