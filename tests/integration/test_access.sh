#!/usr/bin/env bash
# Allow-list mode with real processes: a hub in `access = allowlist` refuses a node
# it does not list (one-shot sync and a serving node alike), the refused node backs
# off, `hearth peers allow` lets it in within its back-off and resets it, and
# `hearth peers disallow` shuts it out again, even on the connection it already has.
. "$(dirname "$0")/lib.sh"

HUB=$WORK/hub A=$WORK/a B=$WORK/b
FID=$(new_forum "$HUB" "Access test")
join_forum "$A" "$FID"
join_forum "$B" "$FID"
PH=$(free_port) PA=$(free_port) PB=$(free_port)
KA=$(h "$A" id --json | json_get node_key)
KB=$(h "$B" id --json | json_get node_key)
h "$HUB" peers allow "$KB"
node_start HUB "$HUB" "$PH" --no-discovery --interval 2 --access allowlist
ADDR_H=$(addr "$HUB" 127.0.0.1 "$PH")

# --- one-shot syncs: listed in, unlisted out -----------------------------------------------
h "$B" sync "$ADDR_H" >/dev/null || die "an allowed node cannot sync"
[ "$(digest "$B")" = "$(digest "$HUB")" ] || die "the allowed node did not converge"
if out=$(h "$A" sync --timeout 5 "$ADDR_H" 2>&1); then die "an unlisted node synced: $out"; fi
echo "$out" | grep -q "allow-list" || die "unclear refusal: $out"
[ "$(events "$A")" = 0 ] || die "the unlisted node received events"
grep -q "refused node ${KA:0:12}" "$WORK/HUB.log" || die "the hub did not log the refusal"
ok "allow-list: a listed node syncs; an unlisted one is refused: $out"

# --- a serving node that is refused backs off ----------------------------------------------
node_start A "$A" "$PA" --no-discovery --interval 2 --peer "$ADDR_H"
refusals() { grep -o "it refused our connection; retrying in [0-9]* s" "$WORK/A.log" | awk '{print $(NF-1)}'; }
thrice() { [ "$(refusals | wc -l)" -ge 3 ]; }
# A limit for a loaded machine, not a speed: each refusal waits for the handshake.
wait_until 60 thrice || die "a refused node does not retry: $(refusals | tr '\n' ' ')"
# 1 s, 2 s, 4 s... each jittered by +-25% and rounded up
[ "$(refusals | sed -n 3p)" -ge 3 ] || die "no growing back-off: $(refusals | tr '\n' ' ')"
# The status is written every 2 s: it may not show the latest refusals yet.
failures() { node_json "$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["failures"])'; }
shows_two() { [ "$(failures)" -ge 2 ]; }
wait_until 20 shows_two || die "status shows $(failures) failures after $(refusals | wc -l) refusals"
ok "a refused serving node backs off: retries after $(refusals | tr '\n' ' ')s"

# --- allowed: in within its back-off, failures reset -----------------------------------------
t0=$SECONDS
h "$HUB" peers allow "$KA"
wait_until 40 all_equal "$A" "$HUB" || die "an allowed node did not get in"
synced() {
  node_json "$A" | python3 -c '
import json,sys; p = json.load(sys.stdin)["peers"][0]
sys.exit(0 if p["last_sync"] > 0 and p["failures"] == 0 else 1)'
}
wait_until 30 synced || die "back-off and failures not reset: $(node_json "$A")"
id=$(post_at "$A" "from a")
wait_until 30 has_events "$HUB" "$id" || die "a post at the allowed node does not reach the hub"
ok "hearth peers allow: in after $((SECONDS - t0)) s, failures reset, posts flow"

# --- disallowed: its open connection is not heard any more ----------------------------------
# The hub looks a key up in its allow-list for every message it takes: the disallow
# holds from the moment the command returns.
h "$HUB" peers disallow "$KA"
id=$(post_at "$A" "after disallow")
# The post is pushed at once; a session would carry it too. Wait until a has tried two
# sessions with the hub that began after the post (a's failures as counted in a status
# written after the post, plus two: the first of them may be a session already under
# way), each refused, before asking whether the post got in.
wait_status "$A"
f0=$(failures)
two_more() { [ "$(failures)" -ge $((f0 + 2)) ]; }
wait_until 60 two_more || die "a did not try the hub twice after the disallow: $(node_json "$A")"
! has_events "$HUB" "$id" || die "a disallowed node's post reached the hub"
wait_until 10 grep -q "not on this node's allow-list" "$WORK/A.log" ||
  die "a disallowed node is not told why its syncs fail"
ok "hearth peers disallow: the node is shut out on its open connection too"
node_stop A

# --- --peer given twice: both are static peers --------------------------------------------
C=$WORK/c
join_forum "$C" "$FID"
ADDR_B=$(addr "$B" 127.0.0.1 "$PB") # not serving: listed all the same
node_start C "$C" "$(free_port)" --no-discovery --peer "$ADDR_H" --peer "$ADDR_B"
both() {
  node_json "$C" | python3 -c '
import json,sys; ps = json.load(sys.stdin)["peers"]
sys.exit(0 if sorted((p["key"], p["source"]) for p in ps) == sorted([(sys.argv[1], "static"), (sys.argv[2], "static")]) else 1)' \
    "$(h "$HUB" id --json | json_get node_key)" "$KB"
}
wait_until 30 both || die "two --peer options did not make two static peers: $(node_json "$C")"
ok "serve --peer A --peer B: both are static peers"
node_stop C
node_stop HUB

# --- hearth peers add over a peer the node is busy with --------------------------------------
# q syncs with p every second over its own connection, so p's record of q (inbound)
# changes all the time. `hearth peers add` on p must win all the same: p used to skip
# stored records while it had changes of its own to save, and then saved over them.
P=$WORK/p Q=$WORK/q
FIDP=$(new_forum "$P" "Add test")
join_forum "$Q" "$FIDP"
PP=$(free_port) PQ=$(free_port)
node_start P "$P" "$PP" --no-discovery --interval 1
node_start Q "$Q" "$PQ" --no-discovery --interval 1 --peer "$(addr "$P" 127.0.0.1 "$PP")"
KQ=$(h "$Q" id --json | json_get node_key)
inbound() { node_json "$P" | grep -q "$KQ"; }
wait_until 30 inbound || die "q never reached p"
stored() { # ENDPOINT: p's stored record of q is ours, at ENDPOINT
  h "$P" peers list --json | python3 -c '
import json,sys; r = [p for p in json.load(sys.stdin) if p["key"] == sys.argv[1]]
sys.exit(0 if r and r[0]["source"] == "added" and r[0]["endpoint"] == sys.argv[2] else 1)' \
    "$KQ" "$1"
}
# sessions DIR: the sessions its node has had (from its status)
sessions() { node_json "$1" | json_get sessions; }
for round in 1 2 3 4; do
  host=$([ $((round % 2)) = 1 ] && echo localhost || echo 127.0.0.1)
  h "$P" peers add "hearth://$KQ@$host:$PQ" >/dev/null
  # A few reloads, saves and sessions: p's loop has run past two status writes (four
  # reloads of its peers and saves) and held two sessions with q since the add.
  timers_ran "$P"
  s0=$(sessions "$P")
  more() { [ "$(sessions "$P")" -ge $((s0 + 2)) ]; }
  wait_until 60 more || die "round $round: p held no sessions with q: $(node_json "$P")"
  stored "tcp://$host:$PQ" ||
    die "round $round: hearth peers add was undone: $(h "$P" peers list --json)"
done
node_json "$P" | grep -q "\"source\": *\"added\"" || die "the running node does not hold q as added"
ok "hearth peers add wins over a peer the node is busy with (4 rounds, two endpoints)"
node_stop P
node_stop Q
finish
