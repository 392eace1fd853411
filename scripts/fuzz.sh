#!/usr/bin/env bash
# Run every fuzz target for a fixed time (default 60 s each).
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 10         # a 10 s smoke per target (what CI runs)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo +nightly install
# cargo-fuzz`); FUZZ_TARGET_DIR overrides where the instrumented build
# goes. Seeds live in fuzz/seeds/<target>; new corpus entries go to a
# temporary directory so the tree stays clean. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script exit non-zero: turn it into
# a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
# Instrumented builds are slow; keep them outside the checkout so that later
# runs on this machine (and CI's fresh clones) reuse them.
target_dir="${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provision-fuzz-target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$work/$target"
  echo "fuzz: $target for ${seconds}s"
  status=0
  cargo +nightly fuzz run --target-dir "$target_dir" "$target" "$work/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    >"$work/$target.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked)' "$work/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$work/$target.log" >&2
    echo "fuzz: $target FAILED (exit $status); see fuzz/artifacts/$target" >&2
    exit "$status"
  fi
done
echo "fuzz: all targets ran ${seconds}s without a crash"
