#!/usr/bin/env bash
# Partitions with real links: four nodes, each in its own network namespace, joined
# by veth pairs to a bridge in a fifth namespace (a star: taking a node's link down
# cuts it off from all the others). Links go down and up on a random schedule (some
# for longer than the transport's 15 s heartbeat timeout, so connections really
# break), one link is a 64 kbit/s token bucket with 400 ms of queue, and posts are
# made on both sides of every partition while it lasts. After the last link comes
# back every digest must be equal and every acknowledged post everywhere.
. "$(dirname "$0")/lib.sh"
N=4
ROUNDS=${HEARTH_TEST_ROUNDS:-5}
BURST=${HEARTH_TEST_BURST:-300} # events sent across the slow link at the end
GEN="$HEARTH_BUILD/bench_genbundle"
BOUND=${HEARTH_TEST_CONVERGE:-60} # seconds from the last heal to equal digests
SEED=${HEARTH_TEST_SEED:-$RANDOM}
RANDOM=$SEED
echo "seed $SEED (HEARTH_TEST_SEED=$SEED reproduces the schedule)"

P=hp$$ # namespace prefix, unique to this run
if ! ip netns add "${P}br" 2>/dev/null; then
  echo "SKIP: cannot create network namespaces"
  exit 0
fi
NETNS+=("${P}br")
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
inns "${P}br" ip link set lo up
inns "${P}br" ip link add br0 type bridge
inns "${P}br" ip link set br0 up
for k in $(seq 1 $N); do
  ip netns add "${P}$k"
  NETNS+=("${P}$k")
  ip link add "v$P$k" type veth peer name "b$P$k"
  ip link set "v$P$k" netns "${P}$k"
  ip link set "b$P$k" netns "${P}br"
  inns "${P}$k" ip link set "v$P$k" name eth0
  inns "${P}$k" ip addr add "10.78.0.$k/24" dev eth0
  inns "${P}$k" ip link set eth0 up
  inns "${P}$k" ip link set lo up
  inns "${P}br" ip link set "b$P$k" master br0
  inns "${P}br" ip link set "b$P$k" up
done
# The slow link: node 4's, limited both ways.
inns "${P}4" tc qdisc add dev eth0 root tbf rate 64kbit burst 16kbit latency 400ms
inns "${P}br" tc qdisc add dev "b${P}4" root tbf rate 64kbit burst 16kbit latency 400ms
link() { inns "${P}br" ip link set "b$P$1" "$2"; } # link K up|down

# --- four nodes in a ring of static peers --------------------------------------------------
FID=$("$GEN" --events 10 --seed 5 --salt 1 "$WORK/small.bundle")
"$GEN" --events "$BURST" --seed 5 --salt 2 "$WORK/burst.bundle" >/dev/null
BOARD=general
DIRS=()
for k in $(seq 1 $N); do join_forum "$WORK/n$k" "$FID"; DIRS+=("$WORK/n$k"); done
h "$WORK/n1" import "$WORK/small.bundle" >/dev/null
for k in $(seq 1 $N); do KEY[k]=$(h "$WORK/n$k" id --json | json_get node_key); done
for k in $(seq 1 $N); do
  next=$((k % N + 1))
  h "$WORK/n$k" peers add "hearth://${KEY[next]}@10.78.0.$next:7437" >/dev/null
done
for k in $(seq 1 $N); do
  NS="${P}$k" LISTEN_HOST="10.78.0.$k" node_start "n$k" "$WORK/n$k" 7437 --no-discovery --interval 2
done
wait_until 60 all_equal "${DIRS[@]}" || die "the nodes did not converge before the first cut"
ok "$N nodes in $N namespaces converge (node 4 behind a 64 kbit/s link)"

# --- cuts on a random schedule, posts on both sides ------------------------------------------
IDS=()
post() { IDS+=("$(post_at "$WORK/n$1" "$2")"); }
for r in $(seq 1 "$ROUNDS"); do
  a=$((RANDOM % N + 1))
  b=$a
  # Every other round cuts a second link too: three groups instead of two.
  [ $((r % 2)) = 0 ] && b=$(( (a + RANDOM % (N - 1)) % N + 1 ))
  # The first cut outlasts the 15 s heartbeat timeout, so connections really break.
  secs=$((r == 1 ? 17 : 3 + RANDOM % 8))
  other=$((a % N + 1)); [ "$other" = "$b" ] && other=$((other % N + 1))
  echo "round $r: links $a and $b down for $secs s; posts at $a, $b and $other"
  link "$a" down
  link "$b" down
  post "$a" "round $r at $a (cut off)"
  post "$other" "round $r at $other (main side)"
  sleep $((secs / 2))
  post "$b" "round $r at $b"
  post "$a" "round $r at $a again"
  sleep $((secs - secs / 2))
  link "$a" up
  link "$b" up
  t0=$(now_ms)
  [ "$r" = "$ROUNDS" ] || sleep $((RANDOM % 4))
done
wait_until "$BOUND" all_equal "${DIRS[@]}" ||
  die "no convergence $BOUND s after the last heal ($(n_distinct "${DIRS[@]}") digests)"
took=$(($(now_ms) - t0))
for d in "${DIRS[@]}"; do
  has_events "$d" "${IDS[@]}" || die "$d lacks acknowledged posts"
  read -r rows distinct < <(count_unique "$d")
  [ "$rows" = "$distinct" ] || die "$d stores an event twice"
done
ok "$ROUNDS rounds of cuts, ${#IDS[@]} posts on both sides: equal digests $took ms after the last heal, every post everywhere"

# --- a burst across the slow link --------------------------------------------------------
t0=$(now_ms)
h "$WORK/n1" import "$WORK/burst.bundle" >/dev/null
want=$(events "$WORK/n1")
crossed() { [ "$(events "$WORK/n4")" = "$want" ]; }
wait_until "$BOUND" crossed || die "the burst did not cross the slow link: $(events "$WORK/n4") of $want"
ms=$(($(now_ms) - t0))
bytes=$(stat -c %s "$WORK/burst.bundle")
ok "a burst of $BURST events ($bytes bytes as a bundle) crosses 64 kbit/s in $ms ms ($((bytes * 8 / ms)) kbit/s of events)"
wait_until "$BOUND" all_equal "${DIRS[@]}" || die "no convergence after the burst"
for k in $(seq 1 $N); do
  # The level is the line's second field ("... info  ... answered with an error" is not one).
  grep -E "^[^ ]+ error " "$WORK/n$k.log" && die "node $k logged an error"
  node_stop "n$k"
done
finish
