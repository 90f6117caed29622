#!/usr/bin/env bash
# Stalled sessions do not lock new peers out. 200 connections (hostile_peer
# idle-sessions: each its own key, over real ZeroMQ CURVE) each send one HELLO and
# then nothing, filling every one of V's 64 session slots; honest `hearth sync`s from
# the same address (127.0.0.1) and from another one (127.0.0.2) must still sync at
# once: half-open sessions give way, the one idle longest first, and an address
# holding more than its share yields only its own. Times are measured and printed;
# the bound (HEARTH_TEST_LOCKOUT_BOUND, 5 s) only allows for a loaded machine.
. "$(dirname "$0")/lib.sh"
TOOL="$HEARTH_BUILD/hostile_peer"
GEN="$HEARTH_BUILD/bench_genbundle"
BOUND_MS=$((${HEARTH_TEST_LOCKOUT_BOUND:-5} * 1000))
V=$WORK/v H=$WORK/h
FID=$("$GEN" --events 3000 --seed 31 "$WORK/forum.bundle")
for d in "$V" "$H"; do join_forum "$d" "$FID"; done
h "$V" import "$WORK/forum.bundle" >/dev/null
PV=$(free_port)
LISTEN_HOST=0.0.0.0 node_start V "$V" "$PV" --no-discovery --interval 60
KEY_V=$(h "$V" id --json | json_get node_key)
ADDR_V="hearth://$KEY_V@127.0.0.1:$PV"
h "$H" sync "$ADDR_V" >/dev/null || die "the first honest sync failed"
BOARD=$(h "$H" --json boards | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:16])')

"$TOOL" idle-sessions "$ADDR_V" "$WORK/forum.bundle" --conns 200 --count 50 --hold 60000 >"$WORK/tool.out" 2>&1 &
TOOL_PID=$!
PIDS+=("$TOOL_PID")
full() { [ "$(node_json "$V" | json_get inbound_sessions)" -ge 64 ]; }
wait_until 60 full || die "the stalled sessions never filled the table: $(node_json "$V")"
ok "200 stalled HELLOs hold all 64 session slots"

# honest_sync FROM_HOST : post at H, sync with V at FROM_HOST (the source address of
# the connection is that host), print the time it took in ms
honest_sync() {
  local t0 rc=0
  echo "honest at $(now_ms)" | h "$H" post "$BOARD" --title "honest $1" >/dev/null
  t0=$(now_ms)
  h "$H" sync --timeout 20 "hearth://$KEY_V@$1:$PV" >"$WORK/sync-$1.out" 2>&1 || rc=$?
  [ $rc = 0 ] || die "an honest sync from $1 failed while the table was full: $(cat "$WORK/sync-$1.out")"
  echo $(($(now_ms) - t0))
}
for from in 127.0.0.1 127.0.0.2 127.0.0.1; do
  ms=$(honest_sync $from)
  [ "$ms" -le "$BOUND_MS" ] || die "an honest sync from $from took $ms ms with the table full"
  [ "$(digest "$H")" = "$(digest "$V")" ] || die "h and v differ after the sync from $from"
  ok "an honest sync from $from with 200 stalled sessions: $ms ms"
done
ours "$TOOL_PID" || die "the stalled client stopped early: $(tail -3 "$WORK/tool.out")"
wait_status "$V"
st=$(node_json "$V")
[ "$(echo "$st" | json_get inbound_evicted)" -ge 3 ] || die "no stalled session gave way: $st"
grep -q "gives its place" "$WORK/V.log" || die "v does not log the evictions"
ok "half-open sessions gave way: $(echo "$st" | json_get inbound_evicted) evicted, $(echo "$st" | json_get busy_refused) refused"
ours "$TOOL_PID" && kill "$TOOL_PID" 2>/dev/null || true # a pid that ended is soon another's
wait "$TOOL_PID" 2>/dev/null || true
finish
