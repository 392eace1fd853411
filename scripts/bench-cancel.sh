#!/usr/bin/env bash
# Cancellation benchmark: how fast an ensure stops once its Cancel token is
# cancelled (a parallel transfer, a lock wait, hashing 1 GiB; goal <= 250 ms)
# and whether any byte moves after it returned (goal 0).
# Usage: scripts/bench-cancel.sh [--runs N] [--hash-mib N]
# Figures are printed; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p model-provisioner --features tokio --example bench_cancel
exec target/release/examples/bench_cancel "$@"
