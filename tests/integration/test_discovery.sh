#!/usr/bin/env bash
# LAN discovery with real links: two nodes of one forum in two network namespaces on
# one veth link (one subnet with a broadcast address), discovery on and no peers
# configured, find each other by the beacon alone and converge on posts made at
# either. A node of another forum on the same LAN is ignored: its posts never arrive,
# ours never reach it, and no log says anything alarming.
. "$(dirname "$0")/lib.sh"
DPORT=$((20000 + RANDOM % 20000)) # UDP port of the beacon, away from other runs

P=hd$$
if ! ip netns add "${P}a" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces"
  exit 0
fi
NETNS+=("${P}a")
ip netns add "${P}b"
NETNS+=("${P}b")
ip link add "va$P" type veth peer name "vb$P"
ip link set "va$P" netns "${P}a"
ip link set "vb$P" netns "${P}b"
for s in a b; do
  k=$([ $s = a ] && echo 1 || echo 2)
  ip netns exec "${P}$s" ip link set lo up
  ip netns exec "${P}$s" ip addr add "10.77.0.$k/24" brd + dev "v$s$P"
  ip netns exec "${P}$s" ip link set "v$s$P" up
done

A=$WORK/a B=$WORK/b C=$WORK/c
FID=$(new_forum "$A" "Discovery test")
join_forum "$B" "$FID"
new_forum "$C" "Another forum" >/dev/null
KA=$(h "$A" id --json | json_get node_key)
KB=$(h "$B" id --json | json_get node_key)
KC=$(h "$C" id --json | json_get node_key)
[ "$(h "$A" peers list --json)" = "[]" ] && [ "$(h "$B" peers list --json)" = "[]" ] ||
  die "the nodes start with peers configured"
common=(--interval 2 --discovery-port "$DPORT")
NS=${P}a LISTEN_HOST=10.77.0.1 node_start A "$A" 7437 "${common[@]}"
NS=${P}b LISTEN_HOST=10.77.0.2 node_start B "$B" 7437 "${common[@]}"
# The other forum's node shares b's namespace, so it hears and is heard by both.
NS=${P}b LISTEN_HOST=10.77.0.2 node_start C "$C" 7440 "${common[@]}"

t0=$SECONDS
wait_until 30 all_equal "$A" "$B" || die "a and b did not find each other"
# The first of them to start heard nothing at first; the next beacons (every 5 s)
# tell it too.
wait_until 15 grep -q "discovery: found node ${KB:0:12} at tcp://10.77.0.2:7437" "$WORK/A.log" ||
  die "a's log does not say it found b"
wait_until 15 grep -q "discovery: found node ${KA:0:12} at tcp://10.77.0.1:7437" "$WORK/B.log" ||
  die "b's log does not say it found a"
ok "two nodes with no peers found each other by the beacon and converged in $((SECONDS - t0)) s"

id_a=$(post_at "$A" "from a")
id_b=$(post_at "$B" "from b")
id_c=$(post_at "$C" "from the other forum")
wait_until 30 has_events "$B" "$id_a" || die "a's post did not reach b"
wait_until 30 has_events "$A" "$id_b" || die "b's post did not reach a"
wait_until 30 all_equal "$A" "$B" || die "a and b differ after the posts"
ok "posts at either node reach the other"

# A few more beacons (every 5 s) and anti-entropy periods: each node's own loop has run
# 6 s on (a loaded machine slows the nodes, not only the clock).
later=$(($(now_ms) + 6000))
for d in "$A" "$B" "$C"; do wait_status "$d" "$later"; done
for d in "$A" "$B"; do has_events "$d" "$id_c" && die "the other forum's post reached $d"; done
has_events "$C" "$id_a" "$id_b" 2>/dev/null && die "our posts reached the other forum's node"
for x in A B; do
  st=$(node_json "${!x}")
  echo "$st" | grep -q "${KC}" && die "$x lists the other forum's node as a peer"
  echo "$st" | python3 -c '
import json, sys
peers = json.load(sys.stdin)["peers"]
assert len(peers) == 1 and peers[0]["source"] in ("discovered", "inbound"), peers' ||
    die "$x: unexpected peers: $st"
done
for x in A B C; do
  if grep -E " (warn|error) " "$WORK/$x.log"; then die "$x logged something alarming"; fi
done
ok "the other forum's node is ignored: nothing crosses, nothing alarming in any log"
# --- forged beacons: b's key at another port, from b's own address, for 12 s ------------
# A beacon is not signed; one naming a peer a is connected to, somewhere else, must not
# cost that connection (a neighbour could otherwise keep b cut off from a).
ip netns exec "${P}b" python3 - "$FID" "$KB" "$DPORT" <<'PY'
import socket, sys, time
forum, key, port = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
beacon = bytes([0x94, 1, 0xC4, 32]) + forum + bytes([0xC4, 32]) + key + bytes([9])  # port 9
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
end = time.time() + 12
while time.time() < end:
    s.sendto(beacon, ("10.77.0.255", port))
    time.sleep(0.3)
PY
! grep -q "found node ${KB:0:12} at tcp://10.77.0.2:9\b" "$WORK/A.log" ||
  die "a took a forged beacon for b's new address"
! grep -q "peer ${KB:0:12}: connection lost" "$WORK/A.log" || die "a forged beacon cut a from b"
id_a=$(post_at "$A" "after the forged beacons")
wait_until 30 has_events "$B" "$id_a" || die "a's post did not reach b after the forged beacons"
ok "forged beacons naming b elsewhere: a stays connected to b, posts still flow"
for x in A B C; do node_stop "$x"; done
grep -q "stopping (asked to)" "$WORK/A.log" || die "a did not log its stop"
finish
