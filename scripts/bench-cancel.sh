#!/usr/bin/env bash
# Cancellation benchmark: how fast an ensure stops once its Cancel token is
# cancelled (a parallel transfer, a lock wait, hashing 1 GiB; goal <= 250 ms),
# whether any byte moves after it returned (goal 0), the tokio runtime's
# worst ticker gap beside four ensure_async (goal <= 50 ms), and a real
# llama.cpp build (goal <= 1 s; needs the fixture of scripts/llama-fixture.sh,
# skipped without it).
# Usage: scripts/bench-cancel.sh [--runs N] [--hash-mib N]
# Figures are printed; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p model-provisioner --features tokio --example bench_cancel
target/release/examples/bench_cancel "$@"

repo="${LLAMA_FIXTURE_CACHE:-$HOME/.cache/provision-test}/llama.cpp-0.3.36"
if git -C "$repo" rev-parse -q --verify 'refs/tags/v0^{commit}' >/dev/null 2>&1; then
  cargo build --release --quiet -p engine-provisioner --example bench_cancel_build
  # Real compiles, not cache hits: the cancel must stop running compilers.
  CCACHE_DISABLE=1 target/release/examples/bench_cancel_build --repo "$repo" --runs 5
else
  echo "build cancel: skipped (no fixture at $repo; run scripts/llama-fixture.sh)"
fi
