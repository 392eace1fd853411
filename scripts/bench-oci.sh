#!/usr/bin/env bash
# OCI pull benchmark. A GGUF-headed file of SIZE MiB (default 1024: the
# tiny example model followed by random bytes) is pushed with oras as a
# Docker Model Runner artifact to a loopback CNCF distribution registry
# (filesystem store in the work directory).
#
# 1. Unlimited, all cold, side by side: `provision model oci://…` (release
#    build; sha256 checked in flight), `oras pull` (the Python oras client,
#    as .ci/run installs it), `skopeo copy docker://… dir:…`; and our Hub
#    download of the very same file from the stand-in Hub
#    (`hub-standin-serve FILE`). Goals: ours the fastest of the three, and
#    ours/Hub <= 1.1.
# 2. nginx in front of the registry, `limit_rate RATE m` (per connection,
#    default 32 MiB/s): ours (parallel ranges) vs `oras pull`. Goal: ours
#    >= 6x faster. nginx's access log shows whether ours used Range.
#    nginx paces each request at RATE x (seconds since it began + 1), so
#    a request gets one second's worth at once: ours' 16 MiB ranges run
#    faster than RATE (a single 16 MiB range took 0.28 s at 32m), oras'
#    one 1 GiB stream does not. With true per-connection pacing ours
#    cannot beat 8 x RATE (scripts/bench-download.sh measures that case).
#
# Every result's sha256 is checked against the file's (outside the timing).
# Between runs each output is deleted and `sync` run. Best of RUNS.
# The work directory is BENCH_DIR, else /dev/shm when it has room (RAM),
# else mktemp -d (disk); the script says which. nginx is installed with
# apt-get when missing and root; otherwise part 2 is skipped with a message.
# Needs docker-registry, skopeo, curl, bc, python3 with oras (see .ci/run).
# Usage: scripts/bench-oci.sh [SIZE_MIB] [RUNS] [RATE_MIB_S]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-1}
RATE=${3:-32}

cargo build -q --release -p provision -p hub-standin --bin provision --bin hub-standin-serve
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release

need_mib=$((SIZE_MIB * 5 + 256))
if [[ -n ${BENCH_DIR:-} ]]; then
  WORK=$(mktemp -d -p "$BENCH_DIR"); where="BENCH_DIR $BENCH_DIR"
elif (( $(df -Pm /dev/shm 2>/dev/null | awk 'NR==2 {print $4}' || echo 0) > need_mib )); then
  WORK=$(mktemp -d -p /dev/shm); where="/dev/shm (tmpfs, RAM)"
else
  WORK=$(mktemp -d); where="$(dirname "$WORK") (disk)"
fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
min() { if [[ -z $1 ]] || (( $(echo "$2 < $1" | bc -l) )); then echo "$2"; else echo "$1"; fi; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
check() { [[ $1 == "$SHA" ]] || { echo "sha256 mismatch ($2): $1 != $SHA" >&2; exit 1; }; }
mbps() { echo "$SIZE_MIB * 1.048576 / $1" | bc -l; }
ratio() { echo "$1 / $2" | bc -l; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() { for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not answer" >&2; exit 1; }
clean() { rm -rf "$@"; sync; }

# The model: a GGUF header and metadata, then random bytes.
cp examples/tiny-llama.gguf "$WORK/model.gguf"
head -c $(( (SIZE_MIB << 20) - $(stat -c %s examples/tiny-llama.gguf) )) /dev/urandom >>"$WORK/model.gguf"
SHA=$(sha "$WORK/model.gguf")

REG_PORT=$(free_port)
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/store}}\nhttp: {addr: 127.0.0.1:%s}\n' \
  "$WORK" "$REG_PORT" >"$WORK/registry.yml"
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 & PIDS+=($!)
wait_url "http://127.0.0.1:$REG_PORT/v2/"
python3 crates/model-provisioner/tests/model_provisioner/oci_support/push.py \
  "127.0.0.1:$REG_PORT" bench/model:v1 docker "$WORK/model.gguf" >/dev/null
range=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: bytes=100-199' \
  "http://127.0.0.1:$REG_PORT/v2/bench/model/blobs/sha256:$SHA")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "file: $SIZE_MIB MiB GGUF, sha256 $SHA; work dir $where; $(nproc) CPUs ($cpu); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "registry blob GET with Range: bytes=100-199 -> status and bytes: $range (206 100: Range honoured)"

# ours PORT NAME: one cold pull of oci://127.0.0.1:PORT/bench/model:v1; prints seconds.
ours() {
  local t0 t
  clean "$WORK/$2" "$WORK/$2.sqlite"
  t0=$(now)
  "$BIN/provision" --quiet model "oci://127.0.0.1:$1/bench/model:v1" \
    --cache-dir "$WORK/$2" --catalog "$WORK/$2.sqlite" >/dev/null 2>>"$WORK/ours.log" ||
    { cat "$WORK/ours.log" >&2; exit 1; }
  t=$(since "$t0")
  check "$(sha "$WORK/$2/oci/127.0.0.1_$1/bench/model/blobs/sha256/$SHA")" "ours"
  clean "$WORK/$2" "$WORK/$2.sqlite"
  echo "$t"
}
# oras PORT: one cold `oras pull` (Python client); prints seconds.
oras_pull() {
  local t0 t
  clean "$WORK/oras"
  t0=$(now)
  python3 -c 'import sys, oras.client
oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])' \
    "127.0.0.1:$1/bench/model:v1" "$WORK/oras" >/dev/null
  t=$(since "$t0")
  check "$(sha "$WORK/oras/model.gguf")" "oras"
  clean "$WORK/oras"
  echo "$t"
}
skopeo_copy() {
  local t0 t
  clean "$WORK/skopeo"
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$REG_PORT/bench/model:v1" "dir:$WORK/skopeo" >/dev/null
  t=$(since "$t0")
  check "$(sha "$WORK/skopeo/$SHA")" "skopeo"
  clean "$WORK/skopeo"
  echo "$t"
}

"$BIN/hub-standin-serve" "$WORK/model.gguf" >"$WORK/hub.out" & PIDS+=($!)
for _ in $(seq 1 600); do grep -q '^ref=' "$WORK/hub.out" 2>/dev/null && break; sleep 0.1; done
[[ $(sed -n 's/^sha256=//p' "$WORK/hub.out") == "$SHA" ]] || { echo "stand-in Hub did not start" >&2; exit 1; }
HUB=$(sed -n 's/^endpoint=//p' "$WORK/hub.out")
hub() {
  local t0 t
  clean "$WORK/hf" "$WORK/hf.sqlite"
  t0=$(now)
  HF_ENDPOINT=$HUB "$BIN/provision" --quiet model hf:bench/model/big.gguf \
    --cache-dir "$WORK/hf" --catalog "$WORK/hf.sqlite" >/dev/null 2>>"$WORK/ours.log" ||
    { cat "$WORK/ours.log" >&2; exit 1; }
  t=$(since "$t0")
  check "$(sha "$WORK/hf/models--bench--model/blobs/$SHA")" "hub"
  clean "$WORK/hf" "$WORK/hf.sqlite"
  echo "$t"
}

b_ours=""; b_oras=""; b_sk=""; b_hub=""
for run in $(seq 1 "$RUNS"); do
  o=$(ours "$REG_PORT" ours); r=$(oras_pull "$REG_PORT"); s=$(skopeo_copy); h=$(hub)
  printf 'unlimited run %d: ours %.3f s, oras pull %.3f s, skopeo copy %.3f s, ours from the stand-in Hub %.3f s\n' \
    "$run" "$o" "$r" "$s" "$h"
  b_ours=$(min "$b_ours" "$o"); b_oras=$(min "$b_oras" "$r"); b_sk=$(min "$b_sk" "$s"); b_hub=$(min "$b_hub" "$h")
done
printf 'unlimited best: ours %.3f s (%.0f MB/s), oras pull %.3f s (%.0f MB/s), skopeo copy %.3f s (%.0f MB/s), ours from the Hub %.3f s (%.0f MB/s)\n' \
  "$b_ours" "$(mbps "$b_ours")" "$b_oras" "$(mbps "$b_oras")" "$b_sk" "$(mbps "$b_sk")" "$b_hub" "$(mbps "$b_hub")"
printf 'ratio oras/ours: %.2f, skopeo/ours: %.2f (goal: both > 1), ours OCI/ours Hub: %.3f (goal <= 1.1)\n' \
  "$(ratio "$b_oras" "$b_ours")" "$(ratio "$b_sk" "$b_ours")" "$(ratio "$b_ours" "$b_hub")"
kill "${PIDS[-1]}" 2>/dev/null || true

NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [[ -z $NGINX && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null 2>&1 || true
  NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
fi
if [[ -z $NGINX ]]; then
  echo "capped: skipped (no nginx; install it: apt-get install -y nginx)"
  exit 0
fi
NG_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx/pid;
error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http {
  log_format ranges '\$request_method \$uri \$status range="\$http_range" bytes=\$body_bytes_sent';
  access_log $WORK/nginx/access.log ranges;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NG_PORT;
    location / {
      proxy_pass http://127.0.0.1:$REG_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
      # Buffered (limit_rate does not pace an unbuffered proxy), in memory
      # only: nginx reads from the registry as fast as it sends.
      proxy_buffering on;
      proxy_max_temp_file_size 0;
      limit_rate ${RATE}m;
    }
  }
}
EOF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK/nginx" 2>>"$WORK/nginx/error.log" & PIDS+=($!)
wait_url "http://127.0.0.1:$NG_PORT/v2/"
b_ours=""; b_oras=""
for run in $(seq 1 "$RUNS"); do
  : >"$WORK/nginx/access.log"
  o=$(ours "$NG_PORT" capped)
  blob_gets=$(grep -c "^GET /v2/bench/model/blobs/sha256:$SHA " "$WORK/nginx/access.log" || true)
  ranged=$(grep "^GET /v2/bench/model/blobs/sha256:$SHA 206 " "$WORK/nginx/access.log" | grep -c 'range="bytes=' || true)
  r=$(oras_pull "$NG_PORT")
  printf '%s MiB/s per connection (nginx), run %d: ours %.3f s (%s GETs of the blob, %s answered 206 to a Range), oras pull %.3f s\n' \
    "$RATE" "$run" "$o" "$blob_gets" "$ranged" "$r"
  b_ours=$(min "$b_ours" "$o"); b_oras=$(min "$b_oras" "$r")
done
printf 'capped best: ours %.3f s (%.0f MB/s), oras pull %.3f s (%.0f MB/s); ratio oras/ours: %.2f (goal >= 6)\n' \
  "$b_ours" "$(mbps "$b_ours")" "$b_oras" "$(mbps "$b_oras")" "$(ratio "$b_oras" "$b_ours")"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
