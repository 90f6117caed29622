#!/usr/bin/env bash
# One `hearth serve` per data directory: a second one on the same directory is refused
# at once (exit 5, one line naming the pid of the first) and the first serves on; the
# lock goes with the process that held it, however it ended (SIGTERM or SIGKILL), so
# the next serve starts.
. "$(dirname "$0")/lib.sh"
D=$WORK/d
new_forum "$D" "Lock test" >/dev/null
P1=$(free_port) P2=$(free_port)
node_start A "$D" "$P1" --no-discovery
rc=0
timeout 30 "$HEARTH" -d "$D" serve --listen "tcp://127.0.0.1:$P2" --no-web --no-discovery \
  >"$WORK/second.out" 2>"$WORK/second.err" || rc=$?
[ "$rc" = 5 ] || die "a second serve on one data directory exited $rc (want 5): $(cat "$WORK/second.err")"
[ "$(wc -l <"$WORK/second.err")" = 1 ] || die "the refusal is not one line: $(cat "$WORK/second.err")"
grep -q "already runs on this data directory" "$WORK/second.err" && grep -q "pid $PID_A" "$WORK/second.err" ||
  die "the refusal does not name the first serve's pid $PID_A: $(cat "$WORK/second.err")"
ours "$PID_A" || die "the first serve died"
[ "$(node_json "$D" | json_get pid)" = "$PID_A" ] || die "the status is not the first serve's"
ok "a second serve is refused: $(cat "$WORK/second.err")"

node_stop A KILL
node_start B "$D" "$P1" --no-discovery
ok "after the first is killed (-9), a new serve starts"
node_stop B TERM
node_start C "$D" "$P2" --no-discovery
node_stop C TERM
ok "after a clean stop too"
finish
