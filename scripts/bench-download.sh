#!/usr/bin/env bash
# Download benchmark against loopback stand-in Hubs serving one generated
# file (1 GiB by default).
#
# 1. Unlimited: ours (HEAD + cross-origin 302 + one stream, split over
#    parallel ranges if it is slower than the hash + sha256 in file order +
#    verify + rename + link), ours with one connection only, vs `curl -o`, vs
#    `curl | tee | openssl dgst -sha256` (download and hash, one stream),
#    vs `openssl dgst -sha256` of the file alone (the hashing floor).
# 2. Each connection capped at RATE MiB/s (a CDN's per-connection limit):
#    ours (8 connections) vs curl (one stream) vs the Python client
#    (`hf_hub_download`), every result's sha256 checked.
# 3. The same cap, with the 4th GET crawling at 1 MiB/s (a straggler):
#    ours vs ours without it.
# Peak RSS of ours from /usr/bin/time. Best of RUNS for each. Before each
# timed command the files of the one before are deleted and `sync` run, so
# no writeback of theirs shares the CPUs with it (on 2 vCPUs, one run of
# ours right after `curl -o` of 1 GiB took 1.55 s instead of 1.2 s).
# Usage: scripts/bench-download.sh [size-MiB] [runs] [rate-MiB/s]
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${1:-1024}
RUNS=${2:-3}
RATE=${3:-32}

cargo build -q --release -p hub-standin --bin hub-standin-serve \
  -p model-provisioner --example bench_download
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# serve NAME [rate [straggling GET]]: starts a stand-in Hub (stopping the
# one before: each holds the file in memory), reads its endpoint/url/sha/ref.
serve() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$BIN/hub-standin-serve" "$SIZE_MIB" ${2:-} ${3:-} >"$WORK/$1.out" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    grep -q '^ref=' "$WORK/$1.out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server $1 did not start" >&2; exit 1
}
get() { sed -n "s/^$2=//p" "$WORK/$1.out"; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
min() { if [[ -z $1 ]] || (( $(echo "$2 < $1" | bc -l) )); then echo "$2"; else echo "$1"; fi; }
check() { [[ $1 == "$2" ]] || { echo "sha256 mismatch: $1 != $2" >&2; exit 1; }; }
mbps() { echo "$SIZE_MIB * 1.048576 / $1" | bc -l; }
ratio() { echo "$1 / $2" | bc -l; }

# ours NAME: one run of our client; prints seconds.
ours() {
  rm -rf "$WORK/cache"; sync
  local out
  out=$(/usr/bin/time -f 'maxrss_kib=%M' "$BIN/examples/bench_download" \
        "$(get "$1" endpoint)" "$WORK/cache" "$(get "$1" ref)" "$(get "$1" sha256)" 2>&1)
  grep -q '^verified=true' <<<"$out" || { echo "$out" >&2; exit 1; }
  local rss; rss=$(sed -n 's/^maxrss_kib=//p' <<<"$out")
  # `ours` runs in a command substitution: keep the reading in a file.
  echo "${rss:-0}" >>"$WORK/rss_kib"
  rm -rf "$WORK/cache"
  sed -n 's/^seconds=//p' <<<"$out"
}

serve fast
SHA=$(get fast sha256); URL=$(get fast url)
echo "file: ${SIZE_MIB} MiB, sha256 ${SHA}; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
b_ours=""; b_one=""; b_curl=""; b_tee=""; b_dgst=""
for run in $(seq 1 "$RUNS"); do
  o=$(ours fast)
  one=$(PROVISION_DOWNLOAD_CONNECTIONS=1 ours fast)
  sync; t0=$(now); curl -s -o "$WORK/f.bin" "$URL"; c=$(since "$t0")
  sync; t0=$(now); h=$(openssl dgst -sha256 -r "$WORK/f.bin" | cut -d' ' -f1); d=$(since "$t0")
  check "$h" "$SHA"; rm -f "$WORK/f.bin"; sync
  t0=$(now)
  h=$(curl -s "$URL" | tee "$WORK/t.bin" | openssl dgst -sha256 -r | cut -d' ' -f1)
  t=$(since "$t0"); check "$h" "$SHA"; rm -f "$WORK/t.bin"; sync
  printf 'unlimited run %d: ours %.3f s, ours with 1 connection %.3f s, curl -o %.3f s, curl|tee|sha256 %.3f s, sha256 of file %.3f s\n' \
    "$run" "$o" "$one" "$c" "$t" "$d"
  b_ours=$(min "$b_ours" "$o"); b_one=$(min "$b_one" "$one"); b_curl=$(min "$b_curl" "$c")
  b_tee=$(min "$b_tee" "$t"); b_dgst=$(min "$b_dgst" "$d")
done
printf 'unlimited best: ours %.3f s (%.0f MB/s), curl -o %.3f s (%.0f MB/s), curl|tee|sha256 %.3f s (%.0f MB/s), sha256 alone %.3f s\n' \
  "$b_ours" "$(mbps "$b_ours")" "$b_curl" "$(mbps "$b_curl")" "$b_tee" "$(mbps "$b_tee")" "$b_dgst"
printf 'ratio ours/sha256 alone: %.3f (goal <= 1.05), ours/ours with 1 connection: %.3f, ours/curl -o: %.3f, ours/(curl|tee|sha256): %.3f\n' \
  "$(ratio "$b_ours" "$b_dgst")" "$(ratio "$b_ours" "$b_one")" "$(ratio "$b_ours" "$b_curl")" "$(ratio "$b_ours" "$b_tee")"

serve slow "$RATE"
URL=$(get slow url)
b_ours=""; b_curl=""; b_py=""
for run in $(seq 1 "$RUNS"); do
  o=$(ours slow)
  t0=$(now); curl -s -o "$WORK/f.bin" "$URL"; c=$(since "$t0")
  check "$(openssl dgst -sha256 -r "$WORK/f.bin" | cut -d' ' -f1)" "$SHA"; rm -f "$WORK/f.bin"
  rm -rf "$WORK/py"
  t0=$(now)
  p=$(HF_ENDPOINT=$(get slow endpoint) HF_HUB_CACHE=$WORK/py HF_HUB_DISABLE_PROGRESS_BARS=1 \
      python3 -c 'from huggingface_hub import hf_hub_download; print(hf_hub_download("bench/model", "big.gguf"))')
  py=$(since "$t0")
  check "$(openssl dgst -sha256 -r "$p" | cut -d' ' -f1)" "$SHA"; rm -rf "$WORK/py"
  printf '%s MiB/s per connection, run %d: ours %.3f s, curl %.3f s, hf_hub_download %.3f s\n' \
    "$RATE" "$run" "$o" "$c" "$py"
  b_ours=$(min "$b_ours" "$o"); b_curl=$(min "$b_curl" "$c"); b_py=$(min "$b_py" "$py")
done
printf 'capped best: ours %.3f s (%.0f MB/s), curl %.3f s (%.0f MB/s), hf_hub_download %.3f s (%.0f MB/s)\n' \
  "$b_ours" "$(mbps "$b_ours")" "$b_curl" "$(mbps "$b_curl")" "$b_py" "$(mbps "$b_py")"
printf 'ratio curl/ours: %.2f (goal >= 6), hf_hub_download/ours: %.2f (goal >= 4)\n' \
  "$(ratio "$b_curl" "$b_ours")" "$(ratio "$b_py" "$b_ours")"

b_capped=$b_ours
b_ours=""
for run in $(seq 1 "$RUNS"); do
  # The straggling GET is counted from the server's start: one per run.
  serve strag "$RATE" 4
  o=$(ours strag)
  printf '%s MiB/s per connection, 4th GET at 1 MiB/s, run %d: ours %.3f s\n' "$RATE" "$run" "$o"
  b_ours=$(min "$b_ours" "$o")
done
printf 'straggler best: ours %.3f s; ratio to the same download without it: %.2f (goal <= 1.5)\n' \
  "$b_ours" "$(ratio "$b_ours" "$b_capped")"
peak_kib=$(sort -n "$WORK/rss_kib" | tail -n 1)
printf 'peak RSS ours: %.1f MiB (goal < 64 MiB)\n' "$(echo "${peak_kib:-0} / 1024" | bc -l)"
