#!/usr/bin/env bash
# Crashes during a large transfer between serving nodes: the receiving node is killed
# with SIGKILL while batches arrive (twice, at different points), then the sending
# node is; each is restarted and the pair converges. Afterwards SQLite's integrity
# check passes on both replicas and no event is stored twice.
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
BIG=${HEARTH_TEST_CRASH_EVENTS:-20000} # events the receiver lacks (smaller under sanitizers)

integrity() { # DIR: "ok" when PRAGMA integrity_check finds nothing wrong
  python3 - "$1/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
print(";".join(r[0] for r in db.execute("pragma integrity_check")))
PY
}

S=$WORK/sender R=$WORK/receiver
FID=$("$GEN" --events "$BIG" --seed 21 "$WORK/big.bundle")
join_forum "$S" "$FID"
join_forum "$R" "$FID"
h "$S" import "$WORK/big.bundle" >/dev/null
TOTAL=$(events "$S")
PS=$(free_port) PR=$(free_port)
ADDR_S=$(addr "$S" 127.0.0.1 "$PS")
h "$R" peers add "$ADDR_S" >/dev/null
node_start S "$S" "$PS" --no-discovery --interval 2

# arrived DIR MIN : true once the replica holds more than MIN events (read directly:
# the receiver is busy writing)
arrived() {
  python3 - "$1/hearth.db" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
sys.exit(0 if db.execute("select count(*) from events").fetchone()[0] > int(sys.argv[2]) else 1)
PY
}

# --- the receiver dies mid-transfer, twice ----------------------------------------------------
got=0
for round in 1 2; do
  node_start "R$round" "$R" "$PR" --no-discovery --interval 2
  # Kill at a different point each time: after the first batch, then past a third.
  mark=$((round == 1 ? got : TOTAL / 3))
  wait_until 60 arrived "$R" "$mark" || die "round $round: no batch arrived"
  node_stop "R$round" KILL
  got=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$R/hearth.db")
  [ "$got" -lt "$TOTAL" ] || echo "note: round $round: the transfer finished before the kill"
  [ "$(node_json "$R")" = null ] || die "status shows the killed node as running"
  [ "$(integrity "$R")" = ok ] || die "round $round: integrity check after SIGKILL: $(integrity "$R")"
  ok "round $round: receiver killed holding $got of $TOTAL events; database intact"
done
t0=$SECONDS
node_start R3 "$R" "$PR" --no-discovery --interval 2
wait_until 120 all_equal "$S" "$R" || die "the restarted receiver did not converge"
ok "restarted receiver converged in $((SECONDS - t0)) s"

# --- the sender dies mid-transfer ----------------------------------------------------------------
R2=$WORK/receiver2
join_forum "$R2" "$FID"
h "$R2" peers add "$ADDR_S" >/dev/null
PR2=$(free_port)
node_start Q "$R2" "$PR2" --no-discovery --interval 2
wait_until 60 arrived "$R2" 0 || die "no batch arrived at the second receiver"
node_stop S KILL
[ "$(integrity "$S")" = ok ] || die "sender's database after SIGKILL: $(integrity "$S")"
got=$(events "$R2")
t0=$SECONDS
node_start S2 "$S" "$PS" --no-discovery --interval 2
wait_until 120 all_equal "$S" "$R2" || die "no convergence after the sender's restart"
ok "sender killed while the second receiver held $got events; restarted; converged in $((SECONDS - t0)) s"

for n in R3 Q S2; do node_stop "$n"; done
for d in "$S" "$R" "$R2"; do
  [ "$(integrity "$d")" = ok ] || die "$d: integrity check: $(integrity "$d")"
  read -r rows distinct < <(count_unique "$d")
  [ "$rows" = "$distinct" ] && [ "$rows" = "$TOTAL" ] || die "$d: $rows rows, $distinct distinct, want $TOTAL"
done
ok "all three replicas: integrity ok, $TOTAL events, none twice"
finish
