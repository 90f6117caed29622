# lib.sh - helpers for integration tests that run real hearth nodes.
# Source it from a test: . "$(dirname "$0")/lib.sh"
set -euo pipefail

: "${HEARTH:?HEARTH must name the hearth binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/hearth-${TEST_NAME}.XXXXXX")
PIDS=()
NETNS=()
FAILED=0
PASSED=0

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  for ns in "${NETNS[@]:-}"; do [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true; done
  if [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
    echo "--- logs kept in $WORK"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; FAILED=$((FAILED + 1)); exit 1; }
ok() { echo "ok: $*"; PASSED=$((PASSED + 1)); }
finish() { echo "$PASSED passed, $FAILED failed"; [ $FAILED -eq 0 ]; }

# h DIR ARGS... : run hearth on data dir DIR
h() { local d=$1; shift; "$HEARTH" -d "$d" "$@"; }

# json_get FIELD : read a JSON document on stdin, print a top-level field
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# node_start NAME DIR PORT [EXTRA SERVE ARGS...] : start `hearth serve` in the background
# (in netns $NS when set), wait until it is ready, record its pid in PID_<NAME>.
node_start() {
  local name=$1 dir=$2 port=$3; shift 3
  local log="$WORK/$name.log" pre=()
  [ -n "${NS:-}" ] && pre=(ip netns exec "$NS")
  "${pre[@]}" "$HEARTH" -d "$dir" serve --listen "tcp://${LISTEN_HOST:-127.0.0.1}:$port" "$@" \
    >>"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for _ in $(seq 1 100); do
    grep -q "ready" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "node $name exited early"
    sleep 0.1
  done
  die "node $name not ready after 10 s"
}

node_stop() { # NAME [SIGNAL]
  local var="PID_$1"; local pid=${!var}
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# addr DIR HOST PORT : the node's hearth:// address
addr() { echo "hearth://$(h "$1" id --json | json_get node_key)@$2:$3"; }

digest() { h "$1" status --json | json_get view_digest; }
events() { h "$1" status --json | json_get events; }

# wait_until SECONDS CMD... : retry CMD until it succeeds
wait_until() {
  local t=$1; shift
  local end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.2; done
  return 1
}

# new_forum DIR NAME : found a forum, print its id
new_forum() { h "$1" init --forum "$2" --json | json_get forum; }
join_forum() { h "$1" init --join "$2" >/dev/null; }
