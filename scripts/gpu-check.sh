#!/usr/bin/env bash
# GPU end-to-end check, for a machine with an NVIDIA GPU and the CUDA
# toolkit: `provision doctor` on a CUDA pool, a CUDA build of llama-server
# through `provision engine` from the test fixture (scripts/llama-fixture.sh),
# then
# the server on the tiny example model with every layer on the GPU:
# /health must answer ok and one /completion must return text.
#
# Usage: scripts/gpu-check.sh
# Env:   PROVISION      the provision binary (default: cargo build --release)
#        GPU_CHECK_DIR  work dir (default: a new temporary dir, removed after)
# Exit status 0 when every step passed; the failing step is named on stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${GPU_CHECK_DIR:-$(mktemp -d)}"
server_pid=""

log() { printf 'gpu-check: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -z "${GPU_CHECK_DIR:-}" ]]; then
    rm -rf "$work"
  fi
}
trap cleanup EXIT

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this check needs an NVIDIA GPU"
command -v python3 >/dev/null || fail "python3 is needed to read JSON results"
command -v curl >/dev/null || fail "curl is needed to query the server"

if [[ -n "${PROVISION:-}" ]]; then
  provision=("$PROVISION")
else
  log "building provision (release)"
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin provision
  provision=("${CARGO_TARGET_DIR:-$root/target}/release/provision")
fi

# Keep everything this check writes inside $work.
export PROVISION_CATALOG="$work/catalog.sqlite"
export HF_HUB_CACHE="$work/hub"

log "1/5 llama.cpp fixture repository"
repo="$("$root/scripts/llama-fixture.sh")" || fail "scripts/llama-fixture.sh"

model="$root/examples/tiny-llama.gguf"
pool="$work/gpu-pool.toml"
cat >"$pool" <<TOML
id = "gpu-check"
engine = "llamacpp"
[provisioning]
flags = ["--ctx-size", "256", "--n-gpu-layers", "99"]
[provisioning.source]
repo = "file://$repo"
ref = "v0"
[provisioning.source.build]
cmake_flags = ["-DGGML_CUDA=ON"]
cache_dir = "$work/engine"
[provisioning.model]
ref = "$model"
TOML

# The pool asks for CUDA, so a missing nvcc or driver is a FAIL here.
log "2/5 provision doctor"
"${provision[@]}" doctor --offline "$pool" || fail "provision doctor reported a FAIL"

log "3/5 provision engine (CUDA build; minutes the first time)"
"${provision[@]}" --json engine "$pool" >"$work/prepared.json" || fail "provision engine"

# binary, then every flag, one per line (flags carry host, port, model).
mapfile -t launch < <(python3 - "$work/prepared.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(p["binary_path"])
for flag in p["flags"]:
    print(flag)
print("@@" + p["host"] + ":" + str(p["port"]))
PY
)
address="${launch[-1]#@@}"
unset 'launch[-1]'
[[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine_version"])' "$work/prepared.json")" == *-cuda ]] \
  || fail "the engine was not built for CUDA"
printf '%s\n' "${launch[@]}" | grep -qx -- '--n-gpu-layers' \
  || fail "the prepared flags lost --n-gpu-layers"

log "4/5 llama-server on $address"
"${launch[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
healthy=""
for _ in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 20 "$work/server.log" >&2
    fail "llama-server exited before it was healthy"
  fi
  if curl -fsS "http://$address/health" 2>/dev/null | grep -q '"ok"'; then
    healthy=yes
    break
  fi
  sleep 1
done
[[ -n "$healthy" ]] || { tail -n 20 "$work/server.log" >&2; fail "/health never answered ok"; }
grep -qE 'offloaded [1-9][0-9]*/[0-9]+ layers to GPU' "$work/server.log" \
  || fail "the server log shows no layer offloaded to the GPU"

log "5/5 one /completion"
answer="$(curl -fsS "http://$address/completion" \
  -H 'Content-Type: application/json' \
  -d '{"prompt": "Hello", "n_predict": 8}')" || fail "/completion request"
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["content"]; assert isinstance(c, str), c' "$answer" \
  || fail "/completion returned no content: $answer"

log "passed: doctor, CUDA build, /health, /completion"
