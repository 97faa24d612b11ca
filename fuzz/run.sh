#!/usr/bin/env bash
# Runs the cargo-fuzz targets for SECONDS each (default 60): every target, or the ones named.
#
#   fuzz/run.sh 60                         every target, 60 s each (50 targets: about 50 min)
#   fuzz/run.sh 45 frame client_message    the two that see raw client input
#   fuzz/run.sh --ci                       the CI budget: about 5 minutes of fuzzing in all
#
# Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# Each target's corpus (fuzz/corpus/<target>/, not committed) is seeded with the schema's
# pinned messages, schemas/tests/fixtures/golden_v2.txt. A crash leaves its input in
# fuzz/artifacts/<target>/; reproduce it with `cargo +nightly fuzz run <target> <file>`.
# FUZZ_TARGET_DIR, if set, is the build directory. The script fails if any target crashed.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")"

if [ "${1:-}" = "--ci" ]; then
  # The raw-input targets get most of the time; each message decoder a few seconds.
  "$self" 45 frame client_message
  mapfile -t decoders < <(cargo +nightly fuzz list | grep '^decode_')
  exec "$self" 4 "${decoders[@]}"
fi

seconds="${1:-60}"
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
build_dir=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
  build_dir=(--target-dir "$FUZZ_TARGET_DIR")
fi

# Seeds: each message of the golden file for its decoder's target, for client_message, and
# framed (after the chunk-size byte the frame target reads first) for frame.
mkdir -p corpus/frame corpus/client_message
while read -r name hex; do
  snake=$(perl -e '$_ = shift; s/(?<!^)([A-Z])/_$1/g; print lc' "$name")
  mkdir -p "corpus/decode_$snake"
  perl -e 'print pack("H*", shift)' "$hex" > "corpus/decode_$snake/golden"
  perl -e 'print pack("H*", shift)' "$hex" > "corpus/client_message/golden-$name"
  perl -e '$m = pack("H*", shift); print chr(61) . pack("Nn", length($m) + 6, 0x5BE0) . $m' "$hex" \
    > "corpus/frame/golden-$name"
done < ../schemas/tests/fixtures/golden_v2.txt

cargo +nightly fuzz build "${build_dir[@]}"

failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  status=0
  cargo +nightly fuzz run "${build_dir[@]}" "$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "$log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' ' || true
  echo
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds}s without a crash"
