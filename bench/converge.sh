#!/usr/bin/env bash
# Gossip benchmarks with real nodes: convergence after a partition heals (10 and 50
# nodes, with and without 30% failed contacts), a large replica's start-up time and
# memory while it serves a sync, and goodput over a 64 kbit/s link. Prints a table,
# or JSON with --json. The driver and what each figure means: bench/converge.py.
#   bench/converge.sh --build BUILD_DIR [--quick] [--json] [--sizes 10,50] [--period 2]
#                     [--posts N] [--large EVENTS] [--goodput-events N] [--no-push-runs]
# --quick: a few seconds' worth (6 nodes, 1 s period, 2000-event replica, no goodput),
# run by tests/integration/test_bench_smoke.sh. The goodput run needs root (netns, tc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/converge.py" "$@"
