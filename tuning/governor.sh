#!/usr/bin/env bash
# Sets the `performance` cpufreq governor on every CPU that has cpufreq, and sets
# transparent huge pages to `madvise` (off unless a program asks for them). Idempotent:
# only values that differ are written. These sysfs settings last until reboot: run this
# at boot (e.g. from a systemd unit), or put transparent_hugepage=madvise on the kernel
# command line.
#
#   tuning/governor.sh [--dry-run]
set -euo pipefail

# CEX_TUNING_ROOT: a fake / for tests (no root needed then); empty on a real host.
readonly ROOT="${CEX_TUNING_ROOT:-}"
readonly CPU_DIR="$ROOT/sys/devices/system/cpu"
readonly THP="$ROOT/sys/kernel/mm/transparent_hugepage/enabled"

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
}

dry_run=0
while (($# > 0)); do
    case "$1" in
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "governor.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if ((!dry_run)) && [[ -z $ROOT ]] && ((EUID != 0)); then
    echo "governor.sh: must run as root to write to /sys (try sudo, or --dry-run to see what would change)" >&2
    exit 1
fi

# Writes VALUE to FILE; returns non-zero if the kernel refuses it.
write_value() {
    { printf '%s\n' "$2" >"$1"; } 2>/dev/null
}

# Sets performance on one CPU's cpufreq FILE; returns 1 if it could not.
set_governor() {
    local file="$1" cpu current available
    cpu="${file#"$CPU_DIR"/}"
    cpu="${cpu%%/*}"
    current="$(<"$file")"
    [[ $current == performance ]] && return 0
    available="$(cat "${file%/*}/scaling_available_governors" 2>/dev/null || true)"
    if [[ -n $available && " $available " != *" performance "* ]]; then
        echo "governor: $cpu offers no performance governor (available: $available): skipped" >&2
        return 1
    fi
    if ((dry_run)); then
        echo "governor: would set $cpu: $current -> performance"
    elif write_value "$file" performance; then
        echo "governor: set $cpu: $current -> performance"
    else
        echo "governor: the kernel refused performance on $cpu (still $current)" >&2
        return 1
    fi
}

set_governors() {
    local file found=0 failed=0
    for file in "$CPU_DIR"/cpu[0-9]*/cpufreq/scaling_governor; do
        [[ -e $file ]] || continue
        found=1
        set_governor "$file" || failed=1
    done
    if ((!found)); then
        echo "governor: no cpufreq on this host (usual in a VM: the hypervisor sets the frequency): nothing to set"
    elif ! grep -qvx performance "$CPU_DIR"/cpu[0-9]*/cpufreq/scaling_governor 2>/dev/null && ((!failed)); then
        echo "governor: every CPU with cpufreq runs performance"
    fi
    return "$failed"
}

set_thp() {
    local current
    if [[ ! -e $THP ]]; then
        echo "thp: $THP absent (kernel without transparent huge pages): nothing to set"
        return 0
    fi
    # "always [madvise] never": the bracketed word is in force.
    current="$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP")"
    [[ -n $current ]] || current="$(tr -d '[:space:]' <"$THP")"
    if [[ $current == madvise || $current == never ]]; then
        echo "thp: already $current"
    elif ((dry_run)); then
        echo "thp: would set $current -> madvise"
    elif write_value "$THP" madvise; then
        echo "thp: set $current -> madvise"
    else
        echo "thp: the kernel refused madvise (still $current)" >&2
        return 1
    fi
}

status=0
set_governors || status=1
set_thp || status=1
exit "$status"
