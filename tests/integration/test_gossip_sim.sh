#!/usr/bin/env bash
# The gossip simulator (bench/bench_gossip.c) converges at a small size: 20 replicas,
# partitioned then healed, with and without eager push and with 0 and 30% failed
# contacts, every exchange a real sync session or PUSH message. Each run must end
# with every replica holding every event, which the program checks in the stores
# themselves (not its own counters); without push only sessions carry events, so a
# session that stopped delivering fails this test. The same seed gives the same run.
. "$(dirname "$0")/lib.sh"
: "${HEARTH_BUILD:?}"
SIM="$HEARTH_BUILD/bench_gossip"
[ -x "$SIM" ] || die "no $SIM"

check() { # FILE: every case converged, contents equal, sessions all ended well
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["gossip_sim"]
cases = r["cases"]
assert len(cases) == 4, cases
for c in cases:
    assert c["converged"] and c["verified"], c
    assert c["sessions_failed"] == 0 and c["sessions_short"] == 0, c
    assert 0 <= c["periods_worst"] < 50, c
    assert c["bytes_per_node_mean"] > 0, c
    if not c["push"]:
        # Anti-entropy alone: every new event came in a session.
        assert c["pushes_per_node"] == 0 and c["new_by_session_per_node"] > 0, c
print("; ".join("%s%s: %.2f periods (worst %.2f)" % (
    "push" if c["push"] else "no push", ", 30%% fail" if c["drop"] else "",
    c["periods_mean"], c["periods_worst"]) for c in cases))
PY
}

"$SIM" --sizes 20 --runs 2 --seed 5 --json >"$WORK/a.json" 2>"$WORK/sim.log" ||
  die "bench_gossip failed: $(tail -5 "$WORK/sim.log")"
check "$WORK/a.json" || die "unexpected results: $(cat "$WORK/a.json")"
ok "20 replicas converge after the heal, contents checked"

"$SIM" --sizes 20 --runs 2 --seed 5 --json >"$WORK/b.json" 2>>"$WORK/sim.log" ||
  die "bench_gossip failed the second time"
strip() { sed 's/"wall_s": [0-9.]*//' "$1"; }
[ "$(strip "$WORK/a.json")" = "$(strip "$WORK/b.json")" ] || die "the same seed gave another run"
ok "deterministic given --seed"

"$SIM" --sizes 20 --runs 1 --scenario spread --json >"$WORK/c.json" 2>>"$WORK/sim.log" ||
  die "bench_gossip --scenario spread failed: $(tail -5 "$WORK/sim.log")"
check "$WORK/c.json" || die "unexpected results: $(cat "$WORK/c.json")"
ok "posts spread over a connected graph"

out=$("$SIM" --drop 1.5 2>&1) && die "--drop 1.5 accepted"
echo "$out" | grep -q "probability" || die "no clear error for --drop 1.5: $out"
ok "a bad option is refused with a clear error"
finish
