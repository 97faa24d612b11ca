#!/usr/bin/env bash
# Writes the recommended net.core and vm settings for cex to /etc/sysctl.d/60-cex.conf and
# applies them with `sysctl --system`. Idempotent: the file is rewritten only when its
# content differs, and settings are applied only when the file changed or a live value
# differs. The values match what `cex tune check` recommends (a test keeps them in step).
#
#   tuning/sysctl.sh [--dry-run]
set -euo pipefail

readonly CONF=/etc/sysctl.d/60-cex.conf
readonly DESIRED="# Written by cex tuning/sysctl.sh: low-latency settings for cex. Edits are overwritten.
net.core.rmem_max = 16777216
net.core.wmem_max = 16777216
net.core.somaxconn = 4096
net.core.netdev_max_backlog = 5000
net.core.busy_poll = 50
net.core.busy_read = 50
vm.swappiness = 1"

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
}

dry_run=0
while (($# > 0)); do
    case "$1" in
        --dry-run) dry_run=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "sysctl.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if ((!dry_run)) && ((EUID != 0)); then
    echo "sysctl.sh: must run as root to write $CONF and apply it (try sudo, or --dry-run to see what would change)" >&2
    exit 1
fi

# The live value of KEY (net.core.rmem_max -> /proc/sys/net/core/rmem_max), or "?" if absent.
live_value() {
    local path="/proc/sys/${1//.//}"
    if [[ -r $path ]]; then tr -s '[:space:]' ' ' <"$path" | sed 's/ $//'; else echo "?"; fi
}

# Prints "KEY: live -> wanted" for every setting whose live value differs; returns 1 if none.
live_differences() {
    local key value any=1
    while IFS=' =' read -r key value; do
        [[ -z $key || $key == \#* ]] && continue
        if [[ "$(live_value "$key")" != "$value" ]]; then
            echo "  $key: $(live_value "$key") -> $value"
            any=0
        fi
    done <<<"$DESIRED"
    return "$any"
}

file_changed=1
if [[ -f $CONF ]] && [[ "$(cat "$CONF")" == "$DESIRED" ]]; then
    file_changed=0
fi

if ((file_changed)); then
    if ((dry_run)); then
        echo "would write $CONF:"
        while IFS= read -r line; do echo "  $line"; done <<<"$DESIRED"
    else
        mkdir -p "$(dirname "$CONF")"
        tmp="$(mktemp "$CONF.XXXXXX")"
        printf '%s\n' "$DESIRED" >"$tmp"
        chmod 0644 "$tmp"
        mv -f "$tmp" "$CONF"
        echo "wrote $CONF"
    fi
else
    echo "$CONF is up to date"
fi

if differences="$(live_differences)"; then
    live_differs=1
else
    live_differs=0
fi

if ((!file_changed && !live_differs)); then
    echo "live values already match: nothing to apply"
    exit 0
fi

if ((dry_run)); then
    if ((live_differs)); then
        echo "would run sysctl --system, changing:"
        echo "$differences"
    else
        echo "would run sysctl --system (live values already match)"
    fi
    exit 0
fi

sysctl --system >/dev/null
echo "applied with sysctl --system"
# A file sorted after 60-cex.conf (e.g. 99-sysctl.conf) can override a value: say so.
if differences="$(live_differences)"; then
    echo "sysctl.sh: these still differ after sysctl --system (another file in /etc/sysctl.d or /run/sysctl.d overrides them?):" >&2
    echo "$differences" >&2
    exit 1
fi
