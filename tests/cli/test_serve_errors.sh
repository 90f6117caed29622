#!/usr/bin/env bash
# test_serve_errors.sh - `hearth serve` names the endpoint it cannot listen on, and why,
# in one line: "cannot listen on tcp://HOST:PORT: address in use", "...: no such
# interface", "...: no such address on this machine" (exit status 7), and a bad
# endpoint is a usage error (status 2).
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

D=$(new_dir hub)
forum "$D" "Riverbend"

# Someone else listens on the port (a plain TCP listener, held until the test ends).
PORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
open(sys.argv[2], "w").close()
time.sleep(600)
' "$PORT" "$TMP_ROOT/listening" &
HOLDER=$!
on_exit "ours $HOLDER && kill $HOLDER; wait $HOLDER"
end=$((SECONDS + 60))
until [ -e "$TMP_ROOT/listening" ]; do
    ours "$HOLDER" || fail "the listener holding port $PORT exited"
    [ $SECONDS -lt $end ] || fail "the listener is not up after 60 s"
    sleep 0.05
done

expect_fail 7 "cannot listen on tcp://127.0.0.1:$PORT: address in use" \
    "$HEARTH" -d "$D" serve --listen "tcp://127.0.0.1:$PORT" --no-discovery --no-web
P2=$(free_port)
expect_fail 7 "cannot listen on tcp://hearth-no-if0:$P2: no such interface" \
    "$HEARTH" -d "$D" serve --listen "tcp://hearth-no-if0:$P2" --no-discovery --no-web
# 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it.
expect_fail 7 "cannot listen on tcp://192.0.2.1:$P2: no such address on this machine" \
    "$HEARTH" -d "$D" serve --listen "tcp://192.0.2.1:$P2" --no-discovery --no-web
# The same from hearth.conf.
printf '[node]\nlisten = tcp://127.0.0.1:%s\n' "$PORT" >"$D/hearth.conf"
expect_fail 7 "cannot listen on tcp://127.0.0.1:$PORT: address in use" \
    "$HEARTH" -d "$D" serve --no-discovery --no-web
rm "$D/hearth.conf"

finish
