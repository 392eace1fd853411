#!/usr/bin/env bash
# OCI pull benchmark: a GGUF of SIZE MiB (default 256) pushed with oras to a
# loopback CNCF distribution registry, then pulled cold (twice, into fresh
# caches) and warm by `provision model oci://…`, and cold by `skopeo copy`
# into an OCI layout as the reference. Uses the dev build (sha2 is built at
# opt-level 3 there). Figures are printed; nothing is asserted.
# Needs docker-registry, skopeo, curl, bc and python3 oras (see .ci/run).
# Usage: scripts/bench-oci.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-256}
cargo build --quiet -p provision
bin=$PWD/target/debug/provision
work=$(mktemp -d)
reg_pid=
trap '[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/store}}\nhttp: {addr: 127.0.0.1:%s}\n' \
  "$work" "$port" > "$work/reg.yml"
docker-registry serve "$work/reg.yml" >/dev/null 2>&1 & reg_pid=$!
until curl -fs "http://127.0.0.1:$port/v2/" >/dev/null; do sleep 0.1; done
cp examples/tiny-llama.gguf "$work/model.gguf"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >> "$work/model.gguf"
python3 crates/model-provisioner/tests/model_provisioner/oci_support/push.py \
  "127.0.0.1:$port" bench/model:v1 docker "$work/model.gguf"
ref="oci://127.0.0.1:$port/bench/model:v1"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
model() { secs "$bin" --quiet model "$ref" --cache-dir "$work/$1" --catalog "$work/$1.sqlite"; }
cold=$(model cache); warm=$(model cache); cold2=$(model cache2)
sk=$(secs skopeo copy --src-tls-verify=false "docker://127.0.0.1:$port/bench/model:v1" "oci:$work/skopeo:v1")
echo "file             $(($(stat -c %s "$work/model.gguf") / 1048576)) MiB"
echo "provision cold   $cold s, again into a fresh cache $cold2 s (sha256 verified in flight)"
echo "provision warm   $warm s (manifest request, catalog fingerprint, no blob)"
echo "skopeo copy      $sk s (reference)"
