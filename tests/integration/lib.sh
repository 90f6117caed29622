# lib.sh - helpers for integration tests that run real hearth nodes.
# Source it from a test: . "$(dirname "$0")/lib.sh"
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

: "${HEARTH:?HEARTH must name the hearth binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hearth-${TEST_NAME}.XXXXXX")
PIDS=()
NETNS=()
FAILED=0
PASSED=0

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do ours "$p" && kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  local left
  left=$(reap_leftovers "$WORK")
  if [ -n "$left" ]; then
    echo "FAIL: still running at the end of the test (killed now):"
    echo "$left"
    [ $rc -ne 0 ] || rc=1
  fi
  for ns in "${NETNS[@]:-}"; do [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true; done
  port_release
  if [ "${KEEP:-0}" = 1 ]; then
    echo "--- kept $WORK"
  elif [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
    echo "--- logs kept in $WORK"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); exit 1; }
# ok MSG - a step passed; the log says how long it took (where a suite's time goes).
OK_T0=${EPOCHREALTIME/[.,]/}
ok() {
  local now=${EPOCHREALTIME/[.,]/}
  echo "ok: $* [$(((now - OK_T0) / 1000)) ms]"
  OK_T0=$now
  PASSED=$((PASSED + 1))
}
finish() { echo "$PASSED passed, $FAILED failed"; [ $FAILED -eq 0 ]; }

# h DIR ARGS... : run hearth on data dir DIR
h() { local d=$1; shift; "$HEARTH" -d "$d" "$@"; }
# hpoll DIR ARGS... : h for a question asked again and again while waiting; under the
# sanitizers without the leak check at exit (a third of a `status` there), which the
# same command gets wherever else it runs
hpoll() {
  local d=$1; shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$HEARTH" -d "$d" "$@"
}

# json_get FIELD : read a JSON document on stdin, print a top-level field
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }

# node_start NAME DIR PORT [EXTRA SERVE ARGS...] : start `hearth serve` in the background
# (in netns $NS when set), wait until it logs that it is ready, record its pid in
# PID_<NAME>. A node started again under the same name appends to the same log: only
# a ready line after what the log held before counts. The bound is generous (a loaded
# machine, a sanitizer build, a large replica's index); a ready node returns at once.
node_start() {
  local name=$1 dir=$2 port=$3; shift 3
  local log="$WORK/$name.log" pre=() off=0
  [ -n "${NS:-}" ] && pre=(ip netns exec "$NS")
  [ -f "$log" ] && off=$(stat -c %s "$log")
  "${pre[@]}" "$HEARTH" -d "$dir" serve --listen "tcp://${LISTEN_HOST:-127.0.0.1}:$port" --no-web "$@" \
    >>"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  local end=$((SECONDS + ${HEARTH_TEST_READY:-120}))
  while [ $SECONDS -lt $end ]; do
    tail -c +"$((off + 1))" "$log" 2>/dev/null | grep -q " ready, listening on " && return 0
    ours "$pid" || die "node $name exited early: $(tail -c +"$((off + 1))" "$log" | tail -3)"
    sleep 0.1
  done
  die "node $name not ready after ${HEARTH_TEST_READY:-120} s"
}

node_stop() { # NAME [SIGNAL] (a node that has already exited is only reaped)
  local var="PID_$1"; local pid=${!var}
  ours "$pid" && kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# addr DIR HOST PORT : the node's hearth:// address
addr() { echo "hearth://$(h "$1" id --json | json_get node_key)@$2:$3"; }

digest() { h "$1" status --json | json_get view_digest; }
events() { h "$1" status --json | json_get events; }

# wait_until SECONDS CMD... : retry CMD until it succeeds; once more at the deadline (a
# check that itself takes seconds on a loaded machine is not cut short by the clock)
wait_until() {
  local t=$1; shift
  local end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.2; done
  "$@"
}

# new_forum DIR NAME : found a forum, print its id
new_forum() { h "$1" init --forum "$2" --json | json_get forum; }
join_forum() { h "$1" init --join "$2" >/dev/null; }

# ---- many nodes ---------------------------------------------------------------------

# digest_fast DIR : the view digest, without starting python ("?" when unreadable)
digest_fast() {
  local out
  out=$(hpoll "$1" status --json 2>/dev/null | sed -n 's/^  "view_digest": "\([0-9a-f]*\)",*$/\1/p')
  echo "${out:-?}"
}

# n_distinct DIR... : how many different view digests the replicas have (asked at once)
n_distinct() {
  local d
  { for d in "$@"; do digest_fast "$d" & done; wait; } | sort -u | wc -l
}

# all_equal DIR... : true when every replica's view digest is the same. Asked one at a
# time, stopping at the first that differs: polled until a mesh converges, asking all
# of them each time cost a process per node per poll (under ASan, a core's worth for
# ten nodes), slowing the convergence being waited for.
all_equal() {
  local first d
  first=$(digest_fast "$1")
  [ "$first" != "?" ] || return 1
  for d in "${@:2}"; do
    [ "$(digest_fast "$d")" = "$first" ] || return 1
  done
}

# random_graph N DEGREE SEED : edges "i j" (0-based) of a connected random graph: a random
# spanning tree, then random extra edges until the mean degree is about DEGREE
random_graph() {
  python3 - "$@" <<'PY'
import random, sys
n, deg, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
order = list(range(n)); rnd.shuffle(order)
edges = set()
for k in range(1, n):
    a, b = order[k], order[rnd.randrange(k)]
    edges.add((min(a, b), max(a, b)))
want = max(n - 1, round(n * deg / 2))
while len(edges) < min(want, n * (n - 1) // 2):
    a, b = rnd.sample(range(n), 2)
    edges.add((min(a, b), max(a, b)))
for a, b in sorted(edges):
    print(a, b)
PY
}

# has_events DIR ID... : true when the replica holds every event id given (hex)
has_events() {
  python3 - "$@" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s/hearth.db?mode=ro" % sys.argv[1], uri=True, timeout=10)
missing = [i for i in sys.argv[2:]
           if not db.execute("select 1 from events where id = ?", (bytes.fromhex(i),)).fetchone()]
sys.exit(1 if missing else 0)
PY
}

# count_unique DIR : "rows distinct" of the events table
count_unique() {
  python3 - "$1/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
print(*db.execute("select count(*), count(distinct id) from events").fetchone())
PY
}

# node_json DIR : the "node" object of `hearth status --json` ("null" when no node runs)
node_json() {
  hpoll "$1" status --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["node"]))'
}

# post_at DIR TITLE : post on board $BOARD (default welcome), print the new event's id
post_at() { h "$1" --json post "${BOARD:-welcome}" --title "$2" --body "body of $2" | json_get event; }

# now_ms : wall clock in milliseconds
now_ms() { date +%s%3N; }

# ---- the running node's status (written every 2 s) ------------------------------------

# status_since DIR MS : true when DIR's running node last wrote its status at or after
# wall-clock ms MS (what it shows was true then)
status_since() {
  hpoll "$1" status --json 2>/dev/null | python3 -c '
import json, sys
n = json.load(sys.stdin)["node"]
sys.exit(0 if n and n["updated"] >= int(sys.argv[1]) else 1)' "$2"
}

# wait_status DIR [MS] : wait until DIR's node has written its status at or after MS
# (default: now), that is, until its loop has run that far
wait_status() {
  local ms=${2:-$(now_ms)}
  wait_until 60 status_since "$1" "$ms" || die "$1: no status written by its node since $ms"
}

# timers_ran DIR [MS] : wait until every timer of DIR's node that was due at wall-clock
# ms MS (default: now) has run. The node runs its timers, then writes its status, in
# one turn of its loop, with the status every 2 s: a status written after MS may come
# from a turn that began just before MS, but the turn of the next write began at least
# 2 s after that one, past MS.
timers_ran() {
  local ms=${2:-$(now_ms)} u
  wait_status "$1" "$ms"
  u=$(node_json "$1" | json_get updated)
  wait_status "$1" "$((u + 1))"
}

# wait_events DIR MIN [SECONDS] : wait (default 60 s) until the replica holds more than MIN
# events, read from its database every 10 ms by one process, so that a caller catches
# a transfer soon after its first batch
wait_events() {
  python3 - "$1/hearth.db" "$2" "${3:-60}" <<'PY'
import sqlite3, sys, time
path, least, end = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        n = db.execute("select count(*) from events").fetchone()[0]
        db.close()
        if n > least:
            sys.exit(0)
    except sqlite3.Error:
        pass  # not created yet, or being written
    time.sleep(0.01)
sys.exit(1)
PY
}
