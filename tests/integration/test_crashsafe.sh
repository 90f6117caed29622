#!/usr/bin/env bash
# Crash safety: SIGKILL a node at random points while people post to it and a peer
# syncs with it, restart it, and check each time that
#   - the database passes PRAGMA integrity_check,
#   - every post whose `hearth post` acknowledged it (exit 0, id printed) is there,
#   - no event is stored twice (count(*) = count(distinct id)),
# and, every few points and at the end, that it converges again with its peer.
#
# The "node" is everything that writes to its data directory: the serving process
# and the `hearth post` processes of its users, killed together (one process group)
# as a power cut would. (A SIGKILL keeps what the kernel already holds; dropping
# unsynced writes is test_powerloss's business.)
#
# HEARTH_CRASH_POINTS (default 200, 100 under ASan) sets the number of kill points;
# the CI-sized run takes about two minutes. HEARTH_CRASH_SEED replays a run. Prints "SIGKILL at P points: lost-ack L, corrupt C,
# duplicate D".
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
POINTS=${HEARTH_CRASH_POINTS:-200}
# Under AddressSanitizer every command is a few times slower: half the points.
grep -qa AddressSanitizer "$HEARTH" && POINTS=${HEARTH_CRASH_POINTS:-100}
SEED=${HEARTH_CRASH_SEED:-$RANDOM}
RANDOM=$SEED
echo "crashsafe: $POINTS kill points, seed $SEED"

A=$WORK/a B=$WORK/b
FID=$("$GEN" --events 2000 --seed 21 "$WORK/forum.bundle")
for d in "$A" "$B"; do
  join_forum "$d" "$FID"
  h "$d" import "$WORK/forum.bundle" >/dev/null
done
BOARD=$(h "$A" --json boards | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:16])')
PA=$(free_port)
node_start A "$A" "$PA" --no-discovery --interval 1
ADDR_A=$(addr "$A" 127.0.0.1 "$PA")
node_stop A
ACKED=$WORK/acked
: >"$ACKED"

# poster DIR TAG: post until killed; append each acknowledged id to $ACKED.
poster() {
  local i=0 out id
  while :; do
    i=$((i + 1))
    if out=$("$HEARTH" -d "$1" --json post "$BOARD" --title "$2 $i" --body "crash test $2 $i" 2>/dev/null); then
      id=$(sed -n 's/^  "event": "\([0-9a-f]\{64\}\)",$/\1/p' <<<"$out")
      [ -n "$id" ] && echo "$id" >>"$ACKED"
    fi
  done
}

# syncer: the peer syncs with A again and again, and posts now and then, so that
# sessions carry events both ways when the kill comes.
syncer() {
  local i=0
  while :; do
    i=$((i + 1))
    if [ $((i % 3)) = 0 ]; then
      "$HEARTH" -d "$B" post "$BOARD" --title "from b $i" --body "peer post $i" >/dev/null 2>&1 || true
    fi
    "$HEARTH" -d "$B" sync --timeout 3 "$ADDR_A" >/dev/null 2>&1 || sleep 0.05
  done
}

# check DIR: integrity, acknowledged ids, duplicates; prints "lost corrupt dup total".
check() {
  python3 - "$1/hearth.db" "$ACKED" <<'PY'
import sqlite3, sys, re
db = sqlite3.connect(sys.argv[1], timeout=10)
corrupt = 0
try:
    rows = db.execute("PRAGMA integrity_check").fetchall()
    corrupt = 0 if rows == [("ok",)] else 1
except sqlite3.DatabaseError:
    corrupt = 1
lost = dup = total = 0
if not corrupt:
    ids = set(db.execute("select id from events").fetchall())
    total, distinct = db.execute("select count(*), count(distinct id) from events").fetchone()
    dup = total - distinct
    for line in open(sys.argv[2]):
        line = line.strip()
        if re.fullmatch(r"[0-9a-f]{64}", line) and (bytes.fromhex(line),) not in ids:
            lost += 1
print(lost, corrupt, dup, total)
PY
}

# led PID: wait until PID leads a process group of its own (setsid has run), so that
# killing the group cannot miss it.
led() {
  local pgrp
  for _ in $(seq 1 500); do
    pgrp=$(awk '{print $5}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$pgrp" = "$1" ] && return 0
    sleep 0.01
  done
}

SYNCER_PG=
start_syncer() {
  setsid bash -c "$(declare -f syncer); HEARTH='$HEARTH' B='$B' BOARD='$BOARD' ADDR_A='$ADDR_A'; syncer" \
    >/dev/null 2>&1 &
  SYNCER_PG=$!
  led "$SYNCER_PG"
}
# A group is signalled only while its leader is ours: once it is gone (killed with all
# its group, and reaped) its number may lead someone else's group.
stop_syncer() {
  ours "$SYNCER_PG" && kill -9 -- "-$SYNCER_PG" 2>/dev/null || true
  wait "$SYNCER_PG" 2>/dev/null || true
  SYNCER_PG=
}

converge() { # restart A, sync B with it until both agree
  "$HEARTH" -d "$A" serve --listen "tcp://127.0.0.1:$PA" --no-discovery --no-web --interval 1 >>"$WORK/A.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local ok=1
  wait_until 60 bash -c "\"$HEARTH\" -d \"$B\" sync --timeout 10 \"$ADDR_A\" >/dev/null 2>&1 &&
    [ \"\$(\"$HEARTH\" -d \"$A\" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"view_digest\"])')\" = \
      \"\$(\"$HEARTH\" -d \"$B\" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"view_digest\"])')\" ]" || ok=0
  ours "$pid" && kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  return $((1 - ok))
}

LOST=0 CORRUPT=0 DUP=0 DIVERGED=0 group=
crash_cleanup() {
  local rc=$?
  set +e
  ours "$SYNCER_PG" && kill -9 -- "-$SYNCER_PG" 2>/dev/null
  ours "$group" && kill -9 -- "-$group" 2>/dev/null
  (exit $rc)
  cleanup
}
trap crash_cleanup EXIT
start_syncer
# POINTS kill points at least; on a loaded machine, where the node starts and posts
# slowly and fewer posts fit between kills, more points (up to four times as many)
# until more posts than POINTS have been acknowledged, so that the run means as much.
p=0
while [ "$p" -lt "$POINTS" ] || { [ "$(wc -l <"$ACKED")" -le "$POINTS" ] && [ "$p" -lt $((4 * POINTS)) ]; }; do
  p=$((p + 1))
  # The node: its server and a user posting, in one process group.
  setsid bash -c "
    '$HEARTH' -d '$A' serve --listen tcp://127.0.0.1:$PA --no-discovery --no-web --interval 1 >>'$WORK/A.log' 2>&1 &
    $(declare -f poster); HEARTH='$HEARTH' BOARD='$BOARD' ACKED='$ACKED'; poster '$A' p$p" \
    >/dev/null 2>&1 &
  group=$!
  led "$group"
  # A random point: 50..650 ms in, when posts, status writes and sessions overlap.
  sleep "0.$(printf '%03d' $((50 + RANDOM % 600)))"
  kill -9 -- "-$group" 2>/dev/null || true # its leader posts until killed: still ours
  wait "$group" 2>/dev/null || true
  read -r lost corrupt dup total < <(check "$A")
  LOST=$((LOST + lost)) CORRUPT=$((CORRUPT + corrupt)) DUP=$((DUP + dup))
  if [ "$lost" != 0 ] || [ "$corrupt" != 0 ] || [ "$dup" != 0 ]; then
    echo "point $p: lost-ack $lost, corrupt $corrupt, duplicate $dup" >&2
    cp "$A/hearth.db" "$WORK/bad-$p.db" 2>/dev/null || true
  fi
  if [ $((p % 50)) = 0 ]; then
    echo "  $p points: $(wc -l <"$ACKED") posts acknowledged, $total events held"
    stop_syncer
    converge || { DIVERGED=$((DIVERGED + 1)); echo "point $p: A and its peer did not converge" >&2; }
    start_syncer
  fi
done
stop_syncer
converge || DIVERGED=$((DIVERGED + 1))
ACKS=$(wc -l <"$ACKED")
SESSIONS=$(grep -c "^.* sync with" "$WORK/A.log" || true)
echo "SIGKILL at $p points: lost-ack $LOST, corrupt $CORRUPT, duplicate $DUP" \
  "($ACKS posts acknowledged, $SESSIONS sessions served between kills, $DIVERGED failed convergences)"
[ "$ACKS" -gt "$POINTS" ] || die "too few posts were acknowledged ($ACKS) for the run to mean much"
[ "$LOST" = 0 ] || die "$LOST acknowledged posts lost"
[ "$CORRUPT" = 0 ] || die "the database was damaged $CORRUPT times"
[ "$DUP" = 0 ] || die "events stored twice ($DUP)"
[ "$DIVERGED" = 0 ] || die "A and its peer did not converge $DIVERGED times"
ok "crash safety over $p kill points"
finish
