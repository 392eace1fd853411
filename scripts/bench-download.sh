#!/usr/bin/env bash
# Download benchmark: one loopback stand-in Hub serving a generated file
# (1 GiB by default), fetched by `curl -s -o` and by our HF client
# (HEAD + cross-origin 302 + GET + sha256 while streaming + rename + link).
# Prints each run, then our time / curl time (goal <= 1.1) and our peak RSS
# (goal < 64 MiB). Usage: scripts/bench-download.sh [size-MiB] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${1:-1024}
RUNS=${2:-3}

cargo build -q --release -p hub-standin --bin hub-standin-serve \
  -p model-provisioner --example bench_download
BIN=target/release
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/hub-standin-serve" "$SIZE_MIB" >"$WORK/server.out" &
SERVER_PID=$!
for _ in $(seq 1 600); do
  grep -q '^ref=' "$WORK/server.out" 2>/dev/null && break
  sleep 0.1
done
get() { sed -n "s/^$1=//p" "$WORK/server.out"; }
ENDPOINT=$(get endpoint); URL=$(get url); SHA=$(get sha256); REF=$(get ref)
[[ -n $REF ]] || { echo "server did not start" >&2; exit 1; }
echo "file: ${SIZE_MIB} MiB, sha256 ${SHA}"

now() { date +%s.%N; }
best_curl=""; best_ours=""; peak_kib=0
for run in $(seq 1 "$RUNS"); do
  rm -f "$WORK/curl.bin"
  t0=$(now)
  curl -s -o "$WORK/curl.bin" "$URL"
  t1=$(now)
  c=$(echo "$t1 - $t0" | bc -l)
  rm -f "$WORK/curl.bin"

  rm -rf "$WORK/cache"
  out=$(/usr/bin/time -f 'maxrss_kib=%M' "$BIN/examples/bench_download" \
        "$ENDPOINT" "$WORK/cache" "$REF" "$SHA" 2>&1)
  o=$(sed -n 's/^seconds=//p' <<<"$out")
  rss=$(sed -n 's/^maxrss_kib=//p' <<<"$out")
  grep -q '^verified=true' <<<"$out" || { echo "$out" >&2; exit 1; }
  rm -rf "$WORK/cache"

  printf 'run %d: curl %.3f s, ours %.3f s (download + sha256 verify), peak RSS %d KiB\n' \
    "$run" "$c" "$o" "$rss"
  if [[ -z $best_curl ]] || (( $(echo "$c < $best_curl" | bc -l) )); then best_curl=$c; fi
  if [[ -z $best_ours ]] || (( $(echo "$o < $best_ours" | bc -l) )); then best_ours=$o; fi
  (( rss > peak_kib )) && peak_kib=$rss
done

ratio=$(echo "$best_ours / $best_curl" | bc -l)
printf 'best curl %.3f s (%.0f MB/s), best ours %.3f s (%.0f MB/s)\n' \
  "$best_curl" "$(echo "$SIZE_MIB * 1.048576 / $best_curl" | bc -l)" \
  "$best_ours" "$(echo "$SIZE_MIB * 1.048576 / $best_ours" | bc -l)"
printf 'ratio ours/curl: %.3f (goal <= 1.1)\n' "$ratio"
printf 'peak RSS ours: %.1f MiB (goal < 64 MiB)\n' "$(echo "$peak_kib / 1024" | bc -l)"
