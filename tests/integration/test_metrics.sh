#!/usr/bin/env bash
# The node's numbers, for an operator: /metrics in Prometheus's text format on a port
# of its own (--metrics) and on the web port (to this machine only, unless [metrics]
# public), checked by promtool, and `hearth status --json` showing the same snapshot.
#
# Two real nodes A and B of one forum in a network namespace of their own (a veth
# pair gives the web a LAN address to be asked from). Checks that the numbers
# follow what happened: events held, pushes sent to B and bytes per peer after posts
# at A, rejected events by reason after a hostile peer sends forged signatures (the
# tool says how many), sessions, peers by state; and that the metrics page and the
# status agree.
. "$(dirname "$0")/lib.sh"
TOOL="$HEARTH_BUILD/hostile_peer"
GEN="$HEARTH_BUILD/bench_genbundle"
command -v promtool >/dev/null || die "promtool is missing (scripts/deps installs prometheus)"

NS=hm$$
ip netns add "$NS" 2>/dev/null || die "cannot create a network namespace (needs root)"
NETNS+=("$NS")
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add lan0 type veth peer name lan1
ip netns exec "$NS" ip addr add 10.78.0.1/24 dev lan0
ip netns exec "$NS" ip link set lan0 up
ip netns exec "$NS" ip link set lan1 up
inns() { ip netns exec "$NS" "$@"; }

A=$WORK/a B=$WORK/b
FID=$("$GEN" --events 200 --seed 7 "$WORK/forum.bundle")
for d in "$A" "$B"; do
  join_forum "$d" "$FID"
  h "$d" import "$WORK/forum.bundle" >/dev/null
done
PA=$(free_port) PB=$(free_port) WA=$(free_port) MA=$(free_port)
node_start B "$B" "$PB" --no-discovery --interval 2
ADDR_B=$(addr "$B" 127.0.0.1 "$PB")
KEY_B=$(h "$B" id --json | json_get node_key)
# A serves the web too (node_start turns it off), so it is started here: ip execs
# hearth in the same process, so $! is the node (a function run in the background
# would be a subshell, and killing it would leave the node running).
ip netns exec "$NS" "$HEARTH" -d "$A" serve --listen "tcp://127.0.0.1:$PA" --no-discovery --interval 2 \
  --peer "$ADDR_B" --web "0.0.0.0:$WA" --metrics "127.0.0.1:$MA" >"$WORK/A.log" 2>&1 &
PID_A=$!
PIDS+=("$PID_A")
wait_until 120 grep -q " ready, listening on " "$WORK/A.log" || die "A is not ready: $(tail -3 "$WORK/A.log")"
grep -q "metrics: http://127.0.0.1:$MA/metrics" "$WORK/A.log" && ok "serve says where the metrics are" ||
  die "serve does not log the metrics address: $(grep metrics "$WORK/A.log")"

# get HOST PORT PATH : "STATUS CONTENT-TYPE" then the body, asked from inside the netns
# (read it whole: a pipe closed early would fail the request under pipefail)
get() {
  inns python3 - "$@" <<'PY'
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
c.request("GET", sys.argv[3])
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
sys.stdout.write(r.read().decode())
PY
}
# metric TEXT NAME{LABELS} : the value of that series in a metrics page ("" if none)
metric() {
  python3 -c '
import sys
want = sys.argv[1]
for line in sys.stdin:
    if line.startswith(want + " "):
        print(line.split()[-1]); break' "$2" <<<"$1"
}
# page : A's metrics from its own port
page() { get 127.0.0.1 "$MA" /metrics | tail -n +2; }

OUT=$(get 127.0.0.1 "$MA" /metrics)
head -1 <<<"$OUT" | grep -q "^200 text/plain; version=0.0.4" && ok "the metrics port answers with the text format" ||
  die "the metrics port answered: $(head -1 <<<"$OUT")"
tail -n +2 <<<"$OUT" | promtool check metrics >"$WORK/promtool.out" 2>&1 && ok "promtool check metrics passes" ||
  die "promtool: $(cat "$WORK/promtool.out")"
OUT=$(get 127.0.0.1 "$MA" /other)
head -1 <<<"$OUT" | grep -q "^404 " && ok "the metrics port serves nothing else" ||
  die "the metrics port served /other"

# The replica was checked when serve started (a damaged one would not serve).
[ "$(metric "$(page)" 'hearth_replica_check{state="ok"}')" = 1 ] &&
  ok "hearth_replica_check says the replica was checked sound" ||
  die "replica check: $(page | grep hearth_replica_check)"
[ "$(metric "$(page)" hearth_disk_full)" = 0 ] && ok "hearth_disk_full is 0" || die "disk full?"

# The numbers follow what happens. Events held, and B connected.
peer_state() { [ "$(metric "$(page)" "hearth_peers{state=\"$1\"}")" -ge 1 ] 2>/dev/null; }
wait_until 60 peer_state connected || wait_until 10 peer_state syncing ||
  die "A's metrics never show B connected: $(page | grep hearth_peers)"
ok "hearth_peers shows B connected"
E0=$(events "$A")
[ "$(metric "$(page)" hearth_events)" = "$E0" ] && ok "hearth_events is the $E0 events held" ||
  die "hearth_events: $(metric "$(page)" hearth_events)"

# Posts at A are pushed to B: pushes sent, bytes to B.
P0=$(metric "$(page)" hearth_push_sent_total)
S0=$(metric "$(page)" "hearth_peer_sent_bytes_total{peer=\"$KEY_B\",endpoint=\"tcp://127.0.0.1:$PB\"}")
BOARD=$(h "$A" --json boards | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:16])')
for i in 1 2 3 4 5; do post_at "$A" "metrics post $i" >/dev/null; done
b_has() { [ "$(events "$B")" -ge $((E0 + 5)) ]; }
wait_until 60 b_has || die "B never got A's five posts"
pushed() {
  local p; p=$(page)
  [ "$(metric "$p" hearth_push_sent_total)" -ge $((P0 + 5)) ] &&
    [ "$(metric "$p" hearth_events)" = $((E0 + 5)) ]
}
wait_until 30 pushed || die "A's metrics do not count the pushes: $(page | grep -E 'push|hearth_events ')"
ok "five posts: hearth_events $((E0 + 5)), hearth_push_sent_total +5 or more"
S1=$(metric "$(page)" "hearth_peer_sent_bytes_total{peer=\"$KEY_B\",endpoint=\"tcp://127.0.0.1:$PB\"}")
[ -n "$S1" ] && [ "$S1" -gt "${S0:-0}" ] && ok "bytes sent to B grew ($S0 -> $S1)" ||
  die "hearth_peer_sent_bytes_total for B: $S0 -> $S1"

# A hostile peer sends events with forged signatures: each is refused, and counted
# under reason="bad_sig".
R0=$(metric "$(page)" 'hearth_ingest_rejected_total{reason="bad_sig"}')
[ "$R0" = 0 ] && ok "no bad signatures counted before" || die "bad_sig before the case: $R0"
h "$A" export "$WORK/a.bundle" >/dev/null
inns "$TOOL" forged-sig "$(addr "$A" 127.0.0.1 "$PA")" "$WORK/a.bundle" >"$WORK/tool.out" 2>&1 ||
  die "the tool failed: $(cat "$WORK/tool.out")"
# The tool offers its N forged events twice: pushed, then in a session ("expect (0
# new, N rejected)"); each offer is refused and counted.
N=$(sed -n 's/^expect (0 new, \([0-9]*\) rejected)$/\1/p' "$WORK/tool.out")
[ -n "$N" ] && [ "$N" -gt 0 ] || die "the tool sent nothing: $(cat "$WORK/tool.out")"
SENT=$((2 * N))
rejected() { [ "$(metric "$(page)" 'hearth_ingest_rejected_total{reason="bad_sig"}')" = "$SENT" ]; }
wait_until 30 rejected ||
  die "bad_sig: $(metric "$(page)" 'hearth_ingest_rejected_total{reason="bad_sig"}'), the tool sent $SENT"
ok "hearth_ingest_rejected_total{reason=\"bad_sig\"} is the $SENT forged events"

# The status shows the same snapshot: read both after one more status write. The node
# takes a snapshot every status period, so a session can end between reading the page
# and reading the status; a pair read across two snapshots is read again (each field
# must agree within one pair).
timers_ran "$A"
FIELDS=("events|events|hearth_events"
  "bad signatures|rejected.bad_sig|hearth_ingest_rejected_total{reason=\"bad_sig\"}"
  "pushes sent|pushes_sent|hearth_push_sent_total"
  "sessions|sessions|hearth_sessions_total{result=\"ok\"}"
  "bytes sent|bytes_sent|hearth_sent_bytes_total")
status_value() { # JSON-PATH
  python3 -c 'import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v = v[int(k)] if k.isdigit() else v.get(k, 0)
print(v)' "$STATUS" "$1"
}
# agree - one page and one status read; 0 when every field agrees, else DIFF says what.
agree() {
  local f name path m s
  P=$(page)
  STATUS=$(node_json "$A")
  DIFF=""
  for f in "${FIELDS[@]}"; do
    IFS='|' read -r name path m <<<"$f"
    s=$(status_value "$path")
    [ -n "$s" ] && [ "$s" = "$(metric "$P" "$m")" ] || DIFF+="$name: status $s, metrics $(metric "$P" "$m"); "
  done
  [ -z "$DIFF" ]
}
tries=0
until agree; do
  tries=$((tries + 1))
  [ $tries -lt 5 ] || die "status and metrics disagree in 5 reads: $DIFF"
  timers_ran "$A"
done
for f in "${FIELDS[@]}"; do
  IFS='|' read -r name path m <<<"$f"
  ok "status and metrics agree: $name = $(status_value "$path")"
done
[ "$(metric "$P" 'hearth_ingest_accepted_total')" -ge 0 ] || die "no hearth_ingest_accepted_total"
promtool check metrics <<<"$P" >"$WORK/promtool.out" 2>&1 && ok "promtool passes the page after traffic" ||
  die "promtool after traffic: $(cat "$WORK/promtool.out")"
h "$A" status | grep -q "refused ($SENT bad signature)" && ok "hearth status says why events were refused" ||
  die "hearth status: $(h "$A" status | grep ingest)"

# On the web port: this machine gets the page, the LAN does not.
OUT=$(get 127.0.0.1 "$WA" /metrics)
head -1 <<<"$OUT" | grep -q "^200 text/plain; version=0.0.4" &&
  ok "the web port's /metrics answers this machine" || die "the web port's /metrics from 127.0.0.1"
OUT=$(get 10.78.0.1 "$WA" /metrics)
head -1 <<<"$OUT" | grep -q "^404 " && ! grep -q hearth_events <<<"$OUT" &&
  ok "the web port's /metrics is not shown to the LAN" || die "/metrics from the LAN: $(head -3 <<<"$OUT")"
OUT=$(get 10.78.0.1 "$WA" /)
head -1 <<<"$OUT" | grep -q "^200 " && ok "while the forum is (from the LAN)" ||
  die "the forum from the LAN"
finish
