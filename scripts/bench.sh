#!/usr/bin/env bash
# Run edgelb's benchmarks through the harness (bench/run.ts; root: most build network namespaces).
# Prints one table (figure, anchor, ratio, runs, spread); a full run writes it to bench/results/,
# QUICK=1 / --quick (one run each, small N: a check that every benchmark works) to .cache/bench/.
#   scripts/bench.sh [--quick] [--runs N] [name…]     e.g. scripts/bench.sh --quick bgp-transfer
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [[ "${QUICK:-}" == 1 ]]; then args+=(--quick); fi
exec node --import tsx bench/run.ts "${args[@]}" "$@"
