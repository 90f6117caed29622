#!/usr/bin/env bash
# test_id.sh - `hearth id`: the node's address is made from the endpoint the node
# serving the data directory has really bound (it may run with --listen, or on a port
# ZeroMQ chose), and from hearth.conf or the default when none runs; it says which.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D=$(new_dir hub)
forum "$D" "Riverbend"
CONF_PORT=$(free_port)
printf '[node]\nlisten = tcp://127.0.0.1:%s\n' "$CONF_PORT" >"$D/hearth.conf"

expect_ok "$HEARTH" -d "$D" --json id
KEY=$(json 'd["node_key"]')
same "no node: the configured endpoint" "$(json 'd["listen"]')" "tcp://127.0.0.1:$CONF_PORT"
same "no node: the address" "$(json 'd["address"]')" "hearth://$KEY@127.0.0.1:$CONF_PORT"
same "no node: not running" "$(json 'd["running"]')" false
same "no node: no pid" "$(json 'd["pid"]')" null
expect_ok "$HEARTH" -d "$D" id
contains "no node: says so" "$OUT" "no node is running; hearth serve would listen on tcp://127.0.0.1:$CONF_PORT"

# A node started with another endpoint on the command line, on a port of ZeroMQ's choosing.
"$HEARTH" -d "$D" serve --listen 'tcp://127.0.0.1:*' --no-discovery --no-web \
    >"$TMP_ROOT/serve.log" 2>&1 &
PID=$!
on_exit "ours $PID && kill $PID; wait $PID"
end=$((SECONDS + 60))
until "$HEARTH" -d "$D" --json status 2>/dev/null | grep -q '"pid": *[0-9]'; do
    ours "$PID" || fail "serve exited: $(cat "$TMP_ROOT/serve.log")"
    [ $SECONDS -lt $end ] || fail "no node status after 60 s"
    sleep 0.1
done
REAL=$(sed -n 's/.* ready, listening on \(tcp:[^ ]*\).*/\1/p' "$TMP_ROOT/serve.log")
check "the node logged its endpoint" -n "$REAL"
check "ZeroMQ chose a port other than the configured one" "$REAL" != "tcp://127.0.0.1:$CONF_PORT"
expect_ok "$HEARTH" -d "$D" --json id
same "running: the bound endpoint" "$(json 'd["listen"]')" "$REAL"
same "running: the address" "$(json 'd["address"]')" "hearth://$KEY@127.0.0.1:${REAL##*:}"
same "running: so it says" "$(json 'd["running"]')" true
same "running: its pid" "$(json 'd["pid"]')" "$PID"
expect_ok "$HEARTH" -d "$D" id
contains "running: says so" "$OUT" "the running node (pid $PID) listens on $REAL"
contains "running: the address people give" "$OUT" "hearth://$KEY@127.0.0.1:${REAL##*:}"

# Stopped: back to the configuration.
kill "$PID"
wait "$PID" || true
expect_ok "$HEARTH" -d "$D" --json id
same "stopped: the configured endpoint again" "$(json 'd["listen"]')" "tcp://127.0.0.1:$CONF_PORT"
same "stopped: not running" "$(json 'd["running"]')" false

finish
