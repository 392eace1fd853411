#!/usr/bin/env bash
# Engine benchmark: a cold `binary` ensure of a release-layout archive from
# a loopback server against a cold `source` build of the same llama.cpp
# commit (goal >= 100x), the warm `binary` ensure (median of 20, goal
# <= 20 ms), and a source rebuild after a one-commit ref bump with ccache
# against the cold build (goal <= 0.3x). Needs the fixture of
# scripts/llama-fixture.sh (made here when missing), git, cmake, ninja, a
# C/C++ compiler and ccache. A cold build takes about 8 minutes on 2 cores.
# Usage: scripts/bench-engine.sh [--warm-runs N]
# Figures are printed; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(bash scripts/llama-fixture.sh)"
cargo build --release --quiet -p engine-provisioner --example bench_engine
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB"
target/release/examples/bench_engine --repo "$repo" "$@"
