#!/usr/bin/env bash
# Applies every run-time host setting for cex: sysctl.sh (net.core, vm), governor.sh
# (performance governor, THP madvise) and irq-affinity.sh (IRQs off the engine cores).
# Idempotent, like each of them. The kernel command line (isolcpus, nohz_full, rcu_nocbs)
# is set by hand in the bootloader: see tuning/README.md.
#
#   tuning/apply.sh --engine-cores LIST [--dry-run]     LIST as in 1 or 2-3 or 2,4-5
set -euo pipefail

usage() {
    sed -n '2,7s/^# \{0,1\}//p' "$0"
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
engine_list=""
dry_run=()
while (($# > 0)); do
    case "$1" in
        --engine-cores)
            if (($# < 2)); then
                echo "apply.sh: --engine-cores needs a CPU list, e.g. --engine-cores 2-3" >&2
                exit 2
            fi
            engine_list="$2"
            shift
            ;;
        --engine-cores=*) engine_list="${1#*=}" ;;
        --dry-run) dry_run=(--dry-run) ;;
        -h | --help) usage; exit 0 ;;
        *) echo "apply.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

# Check everything before changing anything, so a typo applies nothing.
if [[ -z $engine_list ]]; then
    echo "apply.sh: --engine-cores LIST is required" >&2
    usage >&2
    exit 2
fi
if [[ ! ${engine_list//[[:space:]]/} =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]]; then
    echo "apply.sh: bad --engine-cores list: '$engine_list' (want e.g. 1, 2-3 or 2,4-5)" >&2
    exit 2
fi
if ((${#dry_run[@]} == 0)) && [[ -z ${CEX_TUNING_ROOT:-} ]] && ((EUID != 0)); then
    echo "apply.sh: must run as root to change sysctls, /sys and /proc/irq (try sudo, or --dry-run to see what would change)" >&2
    exit 1
fi

status=0
run() {
    echo "== $1"
    "$here/$1" "${@:2}" || status=1
    echo
}
run sysctl.sh ${dry_run[@]+"${dry_run[@]}"}
run governor.sh ${dry_run[@]+"${dry_run[@]}"}
run irq-affinity.sh --engine-cores "$engine_list" ${dry_run[@]+"${dry_run[@]}"}

echo "Set by hand in the bootloader, then reboot (see tuning/README.md):"
echo "  isolcpus=managed_irq,domain,$engine_list nohz_full=$engine_list rcu_nocbs=$engine_list"
echo "Then check: cex tune check --engine-cores $engine_list"
exit "$status"
