#!/usr/bin/env bash
# Model-provisioner benchmark: one run on a 1 GiB file prints three ratios.
#   sha256 ours / `openssl dgst -sha256`      goal <= 1.05
#   warm ensure_present / our cold hash time  goal <= 0.01
#   catalog put+get at 10,000 rows / at 100   goal <= 2
# Usage: scripts/bench-model.sh [--size-mib N] [--dir DIR]
# The file is written under DIR (default: the system temp dir) and removed
# afterwards. Ratios are printed; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p model-provisioner --example bench_model
exec target/release/examples/bench_model "$@"
