#!/usr/bin/env bash
# Sync between real hearth processes over loopback ZeroMQ (CURVE): fresh nodes, a full
# node and an empty one, both sides holding events the other lacks, a chain A-B-C, a
# node of another forum, a peer with an unexpected key, and links cut mid-transfer.
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
# Events in the full node: enough for a transfer of many batches to be cut mid-way
# (smaller under sanitizers). Transfer at scale is bench/'s business (scripts/bench).
BIG=${HEARTH_TEST_BIG:-25000}
MID=${HEARTH_TEST_MID:-3000}     # events each side alone holds

count_unique() { # DIR: "rows distinct" of the events table
  python3 - "$1/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*db.execute("select count(*), count(distinct id) from events").fetchone())
PY
}

# --- two fresh nodes ---------------------------------------------------------------
A=$WORK/a B=$WORK/b
FID=$(new_forum "$A" "Sync test")
join_forum "$B" "$FID"
PA=$(free_port)
node_start A "$A" "$PA" --no-discovery
ADDR_A=$(addr "$A" 127.0.0.1 "$PA")
h "$B" sync "$ADDR_A" >/dev/null
[ "$(digest "$A")" = "$(digest "$B")" ] || die "fresh nodes differ after sync"
ok "two fresh nodes converge"
echo "hello from b" | h "$B" post welcome --title "from b" >/dev/null
out=$(h "$B" --json sync "$ADDR_A")
[ "$(echo "$out" | json_get events_sent)" = 1 ] || die "b did not send its post: $out"
[ "$(digest "$A")" = "$(digest "$B")" ] || die "nodes differ after b's post"
out=$(h "$B" --json sync "$ADDR_A")
[ "$(echo "$out" | json_get round_trips)" = 1 ] || die "equal sets took more than one round trip"
bytes=$(( $(echo "$out" | json_get bytes_sent) + $(echo "$out" | json_get bytes_received) ))
[ "$bytes" -le 64 ] || die "equal sets cost $bytes bytes (at most 64)"
ok "a post travels; equal sets cost $bytes bytes in one round trip"
# To a node that speaks as hearth did before compressed events and plan ONE.
node_stop A
export HEARTH_SYNC_COMPAT=legacy
node_start A "$A" "$PA" --no-discovery
unset HEARTH_SYNC_COMPAT
echo "hello again from b" | h "$B" post welcome --title "to an older node" >/dev/null
out=$(h "$B" --json sync "$ADDR_A")
[ "$(echo "$out" | json_get events_sent)" = 1 ] || die "b did not send its post to a legacy node: $out"
[ "$(digest "$A")" = "$(digest "$B")" ] || die "nodes differ after b's post to a legacy node"
ok "a post travels to a node that offers neither compression nor plan ONE"
node_stop A

# --- a full node and an empty one ----------------------------------------------------
F=$WORK/full E=$WORK/empty
FID2=$("$GEN" --events "$BIG" --seed 7 "$WORK/big.bundle")
join_forum "$F" "$FID2"
h "$F" import "$WORK/big.bundle" >/dev/null
join_forum "$E" "$FID2"
PF=$(free_port)
node_start F "$F" "$PF" --no-discovery
ADDR_F=$(addr "$F" 127.0.0.1 "$PF")
out=$(h "$E" --json sync --timeout 120 "$ADDR_F")
[ "$(echo "$out" | json_get events_accepted)" = "$((BIG + 2))" ] || die "empty node got: $out"
[ "$(digest "$F")" = "$(digest "$E")" ] || die "full and empty differ after sync"
ok "empty node receives all $((BIG + 2)) events ($(echo "$out" | json_get milliseconds) ms)"

# --- compressed events, and peers that do not offer them (an older hearth) -------------
# The empty node above took everything compressed (both offer it): fewer bytes than the
# envelopes. HEARTH_SYNC_COMPAT=legacy makes a side speak as hearth did before
# compressed events and plan ONE: it still syncs, in either role, uncompressed.
envelope_bytes() { # DIR: the envelope bytes of every event held (docs/EVENTS.md)
  python3 - "$1/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
b = lambda n: n + (2 if n < 256 else 3 if n < 65536 else 5)
print(sum(1 + b(h) + b(s) + (b(x) if x is not None else 1) for h, s, x in
          db.execute("select length(header), length(sig), length(body) from events")))
PY
}
EB=$(envelope_bytes "$E")
RB=$(echo "$out" | json_get bytes_received)
[ $((RB * 2)) -lt "$EB" ] || die "compressed transfer took $RB bytes for $EB envelope bytes"
ok "compressed: $RB bytes on the wire for $EB envelope bytes"
L1=$WORK/legacy1
join_forum "$L1" "$FID2"
out=$(HEARTH_SYNC_COMPAT=legacy h "$L1" --json sync --timeout 120 "$ADDR_F")
[ "$(echo "$out" | json_get events_accepted)" = "$((BIG + 2))" ] || die "legacy initiator got: $out"
[ "$(digest "$F")" = "$(digest "$L1")" ] || die "a legacy initiator did not converge"
RB=$(echo "$out" | json_get bytes_received)
[ "$RB" -gt "$EB" ] || die "a legacy initiator got $RB bytes for $EB envelope bytes: compressed?"
ok "an initiator that does not offer compression syncs uncompressed ($RB bytes)"
node_stop F
export HEARTH_SYNC_COMPAT=legacy
node_start F "$F" "$PF" --no-discovery
unset HEARTH_SYNC_COMPAT
L2=$WORK/legacy2
join_forum "$L2" "$FID2"
out=$(h "$L2" --json sync --timeout 120 "$ADDR_F")
[ "$(echo "$out" | json_get events_accepted)" = "$((BIG + 2))" ] || die "from a legacy responder: $out"
[ "$(digest "$F")" = "$(digest "$L2")" ] || die "no convergence with a legacy responder"
RB=$(echo "$out" | json_get bytes_received)
[ "$RB" -gt "$EB" ] || die "a legacy responder sent $RB bytes for $EB envelope bytes: compressed?"
ok "a responder that does not offer compression syncs uncompressed ($RB bytes)"
node_stop F
node_start F "$F" "$PF" --no-discovery

# --- cut the link mid-transfer, on either side, then resume ----------------------------
C=$WORK/cut
join_forum "$C" "$FID2"
"$HEARTH" -d "$C" sync --timeout 120 "$ADDR_F" >"$WORK/cut.out" 2>&1 & syncpid=$!
wait_events "$C" 0 || die "no batch arrived before the cut"
# The sync may have finished between the first batch and the kill (a small forum, a
# busy machine): then it must have ended well, holding everything.
ours "$syncpid" && kill -9 "$syncpid" 2>/dev/null || true
rc=0; wait "$syncpid" || rc=$?
got=$(events "$C")
case $rc in
  137) ;;
  0) [ "$got" = "$((BIG + 2))" ] || die "hearth sync succeeded holding $got of $((BIG + 2)) events"
     echo "note: the transfer finished before the cut" ;;
  *) die "hearth sync failed by itself before the cut (exit $rc): $(cat "$WORK/cut.out")" ;;
esac
h "$C" sync --timeout 120 "$ADDR_F" >/dev/null
[ "$(digest "$F")" = "$(digest "$C")" ] || die "resumed sync did not converge"
read -r rows distinct < <(count_unique "$C")
[ "$rows" = "$distinct" ] && [ "$rows" = "$((BIG + 2))" ] || die "after resume: $rows rows, $distinct distinct"
ok "receiver killed after $got events; resumed; $rows events, none twice"

C2=$WORK/cut2
join_forum "$C2" "$FID2"
"$HEARTH" -d "$C2" sync --timeout 5 "$ADDR_F" >/dev/null 2>&1 & syncpid=$!
wait_events "$C2" 0 || die "no batch arrived before the cut"
node_stop F KILL
wait $syncpid 2>/dev/null && echo "note: the transfer finished before the cut" || true
got=$(events "$C2")
node_start F2 "$F" "$PF" --no-discovery
h "$C2" sync --timeout 120 "$ADDR_F" >/dev/null
[ "$(digest "$F")" = "$(digest "$C2")" ] || die "sync after the server's restart did not converge"
read -r rows distinct < <(count_unique "$C2")
[ "$rows" = "$distinct" ] || die "duplicates after the server's restart"
ok "server killed after $got events; restarted; converged, none twice"

# The same, but the server is back while `hearth sync` still waits: it notices the
# link come back and starts a new session by itself.
C3=$WORK/cut3
join_forum "$C3" "$FID2"
"$HEARTH" -d "$C3" sync --timeout 60 "$ADDR_F" >"$WORK/cut3.out" 2>&1 & syncpid=$!
wait_events "$C3" 0 || die "no batch arrived before the cut"
node_stop F2 KILL
got=$(events "$C3")
node_start F3 "$F" "$PF" --no-discovery
wait $syncpid || die "hearth sync did not survive the server's restart: $(cat "$WORK/cut3.out")"
[ "$(digest "$F")" = "$(digest "$C3")" ] || die "sync across the server's restart did not converge"
read -r rows distinct < <(count_unique "$C3")
[ "$rows" = "$distinct" ] || die "duplicates after a session started again"
ok "server killed after $got events and back: the same hearth sync started again and finished"

# --- both sides hold events the other lacks; and a chain A-B-C --------------------------
X=$WORK/x Y=$WORK/y Z=$WORK/z
FID3=$("$GEN" --events "$MID" --seed 9 --salt 1 "$WORK/x.bundle")
"$GEN" --events "$MID" --seed 9 --salt 2 "$WORK/y.bundle" >/dev/null
"$GEN" --events 50 --seed 9 --salt 3 "$WORK/z.bundle" >/dev/null
for n in X Y Z; do d=${!n}; join_forum "$d" "$FID3"; done
h "$X" import "$WORK/x.bundle" >/dev/null
h "$Y" import "$WORK/y.bundle" >/dev/null
h "$Z" import "$WORK/z.bundle" >/dev/null
PY_=$(free_port)
node_start Y "$Y" "$PY_" --no-discovery
ADDR_Y=$(addr "$Y" 127.0.0.1 "$PY_")
out=$(h "$X" --json sync "$ADDR_Y")
[ "$(echo "$out" | json_get events_sent)" = "$MID" ] || die "x sent: $out"
[ "$(echo "$out" | json_get events_accepted)" = "$MID" ] || die "x accepted: $out"
[ "$(digest "$X")" = "$(digest "$Y")" ] || die "x and y differ"
ok "both sides held $MID events the other lacked; both have all"
# chain: Z knows only Y; X learns Z's posts through Y
h "$Z" sync "$ADDR_Y" >/dev/null
h "$X" sync "$ADDR_Y" >/dev/null
[ "$(digest "$X")" = "$(digest "$Z")" ] && [ "$(digest "$Y")" = "$(digest "$Z")" ] || die "chain did not converge"
ok "chain x-y-z converges through y"

# --- a capped server: its frames wait for the cap, and all of them leave ----------------
# 300 events (~150 kB) from a node that sends 30 kB/s to a peer: the first frame spends
# the bucket, the rest wait for tokens; the sync completes, nothing lost.
G=$WORK/g G2=$WORK/g2
FIDG=$("$GEN" --events 300 --seed 5 "$WORK/g.bundle")
join_forum "$G" "$FIDG"
h "$G" import "$WORK/g.bundle" >/dev/null
join_forum "$G2" "$FIDG"
PG=$(free_port)
node_start G "$G" "$PG" --no-discovery --peer-rate 30000
t0=$SECONDS
h "$G2" sync --timeout 30 "$(addr "$G" 127.0.0.1 "$PG")" >/dev/null ||
  die "a sync from a capped server failed"
[ "$(digest "$G")" = "$(digest "$G2")" ] || die "a sync from a capped server did not converge"
ok "a capped server (30 kB/s) sent all of ~150 kB in $((SECONDS - t0)) s"
node_stop G

# --- a capped server's last word: the DONE after the events it was asked for --------------
# g3 holds 300 events, g4 285 (280 shared, 5 of its own): an IBLT plan in which g4
# computes and g3 answers its WANT with ~10 kB of events, then, g4's DONE received, says
# DONE. At 2 kB/s that DONE waits ~4 s for the cap after the session has ended; a node
# that ended the session at once dropped it, and g4 waited for its timeout.
G3=$WORK/g3 G4=$WORK/g4
FIDC=$("$GEN" --events 280 --seed 6 --salt 1 "$WORK/c1.bundle")
"$GEN" --events 20 --seed 6 --salt 2 "$WORK/c2.bundle" >/dev/null
"$GEN" --events 5 --seed 6 --salt 3 "$WORK/c3.bundle" >/dev/null
join_forum "$G3" "$FIDC"
join_forum "$G4" "$FIDC"
h "$G3" import "$WORK/c1.bundle" >/dev/null
h "$G3" import "$WORK/c2.bundle" >/dev/null
h "$G4" import "$WORK/c1.bundle" >/dev/null
h "$G4" import "$WORK/c3.bundle" >/dev/null
PG=$(free_port)
node_start G3 "$G3" "$PG" --no-discovery --interval 600 --peer-rate 2000
t0=$SECONDS
out=$(h "$G4" sync --json --timeout 20 "$(addr "$G3" 127.0.0.1 "$PG")" 2>&1) ||
  die "a sync whose last frame waits for the server's cap failed: $out"
echo "$out" | grep -q '"plan": *"iblt' || die "not the IBLT plan this case needs: $out"
[ "$(digest "$G3")" = "$(digest "$G4")" ] || die "the capped answering server did not converge"
ok "a capped server's DONE, held for its cap after the session ended, still left ($((SECONDS - t0)) s)"
node_stop G3

# --- a slow link: hearth sync's last frames leave before it exits --------------------------
# The client holds 5,000 events of 4 kB (20 MB), the server 12,000 small ones: the
# server computes (LIST_I) and the client answers its WANT with all 20 MB, then DONE.
# On a 40 Mbit/s link the client's session ends while megabytes still wait in its
# queues. hearth sync used to exit at once (sockets close with linger 0), and the
# server's pushes of those same events back to the client met a closed socket, whose
# reset threw away what the kernel still held: success reported, ~1,000 events lost
# on the way. Under ASan the server is the slow side: the client's last frames waited
# in the server's queues, acknowledged by its kernel, and were lost when the
# client's closed socket answered a heartbeat with a reset (issue 18; the case of a
# slow receiver below makes that happen every time). hearth sync now returns once
# the server has answered a new HELLO, sent after everything else: the server holds
# every event by then. Both nodes in one network namespace whose loopback is shaped
# by tbf.
NSL=hs$$
if ip netns add "$NSL" 2>/dev/null; then
  NETNS+=("$NSL")
  ip netns exec "$NSL" ip link set lo up mtu 1500
  ip netns exec "$NSL" tc qdisc add dev lo root tbf rate 40mbit burst 64kb latency 50ms
  S=$WORK/slow-s C=$WORK/slow-c
  FIDL=$("$GEN" --events 12000 --body 100 --seed 8 --salt 1 "$WORK/ls.bundle")
  "$GEN" --events 5000 --body 4000 --seed 8 --salt 2 "$WORK/lc.bundle" >/dev/null
  join_forum "$S" "$FIDL"
  join_forum "$C" "$FIDL"
  h "$S" import "$WORK/ls.bundle" >/dev/null
  h "$C" import "$WORK/lc.bundle" >/dev/null
  PL=$(free_port)
  NS=$NSL node_start SLOW "$S" "$PL" --no-discovery --interval 600
  # stderr apart: it says where it connects ("connecting to ..."), stdout is the JSON.
  out=$(ip netns exec "$NSL" "$HEARTH" -d "$C" sync --json --timeout 60 \
    "$(addr "$S" 127.0.0.1 "$PL")" 2>"$WORK/slow-sync.err") ||
    die "the sync over a slow link failed: $out $(cat "$WORK/slow-sync.err")"
  echo "$out" | grep -q '"plan": *"list-initiator"' || die "not the plan this case needs: $out"
  sent=$(echo "$out" | json_get events_sent)
  [ "$(digest "$S")" = "$(digest "$C")" ] ||
    die "hearth sync said it sent $sent events, but the server lacks some: $(events "$S") vs $(events "$C")"
  ok "a slow link (40 Mbit/s): hearth sync sent $sent events (20 MB) and every one arrived"
  # What the server took in a session it does not push back to the peer it came from
  # (its only peer here): that would double the traffic on a thin link.
  # Asked once the server's own loop has run past that point (its pushes go out in
  # the same turn as, and before, its status write).
  timers_ran "$S"
  st=$(node_json "$S")
  pushed=$(echo "$st" | json_get pushes_sent)
  [ "$pushed" = 0 ] || die "the server pushed $pushed of the client's own events back to it"
  # Nor does it count them as a backlog for the client, given up above 4,096 events
  # and "dropped" (a warning in every large sync, issue 18's logs).
  dropped=$(echo "$st" | json_get pushes_dropped)
  [ "$dropped" = 0 ] && ! grep -q "dropped, left to anti-entropy" "$WORK/SLOW.log" ||
    die "the server counted $dropped of the client's own events as pushes dropped for it"
  ok "the server pushed none of the events it took in the session back to their sender, nor dropped them"
  node_stop SLOW
else
  echo "note: no network namespaces here; the slow-link case did not run"
fi

# --- a slow receiver: hearth sync returns once the peer has taken what it sent -------------
# The server holds more (it computes, LIST_I) and asks for the client's 400 events of
# 4 kB, which it applies 300 ms a batch (HEARTH_TEST_SLOW_INGEST: a slow machine behind
# a fast link): the client's session ends while its last frames and its DONE still
# wait in the server's queues, acknowledged by the server's kernel. hearth sync used
# to exit then, and its closed socket answered the server's next heartbeat with a
# reset, on which libzmq, its reading held up by a full queue, dropped the connection
# with what the kernel still held: success reported, events lost (ASan's slowness did
# the same in the slow-link case above, now and then). It now starts a new session
# and returns once the server has answered its HELLO, which the server reads after
# everything before it: every event is there the moment hearth sync returns.
R=$WORK/slowpeer-s Q=$WORK/slowpeer-c
FIDR=$("$GEN" --events 1000 --seed 10 --salt 1 "$WORK/r.bundle")
"$GEN" --events 400 --body 4000 --seed 10 --salt 2 "$WORK/q.bundle" >/dev/null
join_forum "$R" "$FIDR"
join_forum "$Q" "$FIDR"
h "$R" import "$WORK/r.bundle" >/dev/null
h "$Q" import "$WORK/q.bundle" >/dev/null
both=$(python3 - "$R/hearth.db" "$Q/hearth.db" <<'PY'
import sqlite3, sys
print(len(set().union(*(set(r[0] for r in sqlite3.connect(p).execute("select id from events"))
                          for p in sys.argv[1:]))))
PY
)
PR=$(free_port)
HEARTH_TEST_SLOW_INGEST=300 node_start SLOWPEER "$R" "$PR" --no-discovery --interval 600
out=$(h "$Q" sync --json --timeout 60 "$(addr "$R" 127.0.0.1 "$PR")" 2>"$WORK/slowpeer.err") ||
  die "a sync with a slow receiver failed: $out $(cat "$WORK/slowpeer.err")"
got=$(events "$R")
echo "$out" | grep -q '"plan": *"list-initiator"' || die "not the plan this case needs: $out"
[ "$(echo "$out" | json_get events_sent)" = 400 ] || die "the client did not send its 400 events: $out"
[ "$got" = "$both" ] || die "hearth sync returned while the server held $got of $both events"
# The server logged and counted both sessions as ended well (the second one's HELLO
# can come in the same turn as the first one's DONE).
timers_ran "$R"
n=$(node_json "$R")
[ "$(echo "$n" | json_get sessions)" = 2 ] && [ "$(echo "$n" | json_get sessions_failed)" = 0 ] ||
  die "the server's sessions: $n"
ok "a slow receiver (300 ms a batch) held all $both events when hearth sync returned"
node_stop SLOWPEER

# --- refusals ----------------------------------------------------------------------------
O=$WORK/other
new_forum "$O" "Another forum" >/dev/null
if out=$(h "$O" sync "$ADDR_Y" 2>&1); then die "a node of another forum synced: $out"; fi
echo "$out" | grep -q "forum" || die "other forum: unclear error: $out"
[ "$(digest "$X")" = "$(digest "$Y")" ] || die "y changed after the foreign sync"
ok "a node of another forum is refused: $out"
WRONG="hearth://$(printf '%064d' 7)@127.0.0.1:$PY_"
if out=$(h "$X" sync --timeout 5 "$WRONG" 2>&1); then die "sync with a wrong key succeeded"; fi
echo "$out" | grep -q "key" || die "wrong key: unclear error: $out"
ok "a peer with an unexpected key is refused: $out"
if out=$(h "$X" sync "tcp://127.0.0.1:$PY_" 2>&1); then die "a bad address was accepted"; fi
[ $? -ne 0 ] && ok "a malformed address is refused: $out"
node_stop Y
finish
