#!/usr/bin/env bash
# What a node takes in a session it does not push back to the peer it came from, in
# whatever form the session carried it: A holds 300 events whose text compresses well
# (so A sends them compressed, as ZEVENTS, unless told not to); B, empty, connects to
# A and takes them all in its first session; afterwards B has pushed none of them back
# to A, its only peer, and A was offered none. Run twice: compressed, and as plain
# EVENTS (HEARTH_SYNC_COMPAT=no-compress on both nodes).
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
FID=$("$GEN" --events 300 --seed 31 "$WORK/a.bundle")

# one_case NAME : a fresh A and B, B syncs from A, then what B pushed back
one_case() {
  local name=$1 A=$WORK/$1-a B=$WORK/$1-b PA PB
  join_forum "$A" "$FID"
  join_forum "$B" "$FID"
  h "$A" import "$WORK/a.bundle" >/dev/null
  PA=$(free_port) PB=$(free_port)
  h "$B" peers add "$(addr "$A" 127.0.0.1 "$PA")" >/dev/null
  # Anti-entropy every 600 s: after the session at connection, only push could move
  # an event between them while the test looks.
  node_start "A_$name" "$A" "$PA" --no-discovery --interval 600
  node_start "B_$name" "$B" "$PB" --no-discovery --interval 600
  wait_until 60 all_equal "$A" "$B" || die "$name: B did not get A's events"
  # B logs the session when it ends, after its last batch (which made the digests
  # equal) and the DONEs: wait for the line.
  wait_until 30 grep -q "sync with .*: sent 0 events, received 30[0-9]" "$WORK/B_$name.log" ||
    die "$name: B did not take A's events in one session: $(grep 'sync with' "$WORK/B_$name.log")"
  # Once B's loop has run past the session's end twice, its pushes of what arrived in
  # it have gone out, if any were due.
  timers_ran "$B"
  timers_ran "$A"
  local pushed offered
  pushed=$(node_json "$B" | json_get pushes_sent)
  offered=$(node_json "$A" | json_get pushes_received)
  [ "$pushed" = 0 ] || die "$name: B pushed $pushed of A's own events back to it"
  [ "$offered" = 0 ] || die "$name: A was pushed $offered events it sent"
  ok "$name: B pushed none of the events it took from A back to A"
  node_stop "A_$name"
  node_stop "B_$name"
}

one_case compressed
HEARTH_SYNC_COMPAT=no-compress one_case plain
finish
