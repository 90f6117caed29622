#!/usr/bin/env bash
# The convergence benchmark keeps working: bench/converge.sh --quick (a few seconds:
# 6 nodes partitioned and healed, with and without failed contacts, and a small
# replica's start-up and memory) runs, prints valid JSON, and every run converges.
. "$(dirname "$0")/lib.sh"
: "${HEARTH_BUILD:?}" "${HEARTH_SRC:?}"
out=$("$HEARTH_SRC/bench/converge.sh" --quick --build "$HEARTH_BUILD" --json 2>"$WORK/bench.log") ||
  die "converge.sh --quick failed: $(tail -5 "$WORK/bench.log")"
echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
runs = r["convergence"]
assert len(runs) == 2, runs
for c in runs:
    assert c["converged"], c
    assert c["periods"] is not None and c["periods"] < 30, c
    assert c["rss_kb_max"] > 0 and c["bytes_sent_per_node_total_mean"] > 0, c
lg = r["large"]
assert lg["sync_finished"] and lg["events_sent"] == lg["events"], lg
assert max(lg["ready_s"]) < 10, lg
print("converged after %s periods (no failures) and %s (30%% fail); ready in %s s" % (
    runs[0]["periods"], runs[1]["periods"], max(lg["ready_s"])))
' || die "unexpected results: $out"
ok "bench/converge.sh --quick"
finish
