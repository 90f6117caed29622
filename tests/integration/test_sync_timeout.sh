#!/usr/bin/env bash
# `hearth sync` and its --timeout (docs/CLI.md):
#   - it says "connecting to HOST:PORT…" on stderr before it waits;
#   - a refused connection fails at once (well before the timeout) with one clear
#     line and exit 7;
#   - over a slow link (a user-space proxy passing RATE bytes/s each way) a transfer
#     whose every 128 KiB frame takes longer than --timeout to cross still completes:
#     the timeout bounds inactivity, and bytes moving at the TCP level are activity;
#     progress lines report what moved;
#   - a host that never answers gives up after about --timeout, having said where it
#     was connecting.
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
RATE=${HEARTH_TEST_SLOW_RATE:-25000} # bytes/s each way through the slow proxy
V=$WORK/v H=$WORK/h
FID=$("$GEN" --events 600 --seed 41 "$WORK/forum.bundle")
for d in "$V" "$H"; do join_forum "$d" "$FID"; done
h "$V" import "$WORK/forum.bundle" >/dev/null
PV=$(free_port)
node_start V "$V" "$PV" --no-discovery --interval 600
KEY_V=$(h "$V" id --json | json_get node_key)

# --- a refused connection -----------------------------------------------------------------
PX=$(free_port) # claimed by this test, nothing listens there
t0=$(now_ms) rc=0
h "$H" sync --timeout 30 "hearth://$KEY_V@127.0.0.1:$PX" >"$WORK/refused.out" 2>"$WORK/refused.err" || rc=$?
took=$(($(now_ms) - t0))
[ "$rc" = 7 ] || die "a refused connection exited $rc (want 7): $(cat "$WORK/refused.err")"
[ "$took" -le 5000 ] || die "a refused connection took $took ms to fail (--timeout 30)"
grep -q "^connecting to 127.0.0.1:$PX…$" "$WORK/refused.err" || die "no 'connecting to' line: $(cat "$WORK/refused.err")"
err=$(grep -v "^connecting to" "$WORK/refused.err")
[ "$(echo "$err" | wc -l)" = 1 ] && echo "$err" | grep -q "connection refused" ||
  die "not one clear line about the refusal: $err"
ok "a refused port fails in $took ms (--timeout 30): $err"

# --- a slow link --------------------------------------------------------------------------
PP=$(free_port)
python3 - "$PP" "$PV" "$RATE" >"$WORK/proxy.log" 2>&1 <<'PY' &
import socket, sys, threading, time
listen, target, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def pipe(src, dst):
    try:
        while True:
            data = src.recv(1024)
            if not data:
                break
            dst.sendall(data)
            time.sleep(len(data) / rate)
    except OSError:
        pass
    for s in (src, dst):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen)); srv.listen(8)
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
PY
PIDS+=($!)
wait_until 30 grep -q ready "$WORK/proxy.log" || die "the slow proxy did not start"
t0=$(now_ms) rc=0
# Uncompressed (HEARTH_SYNC_COMPAT, docs/OPERATIONS.md): compressed, the bundle's
# generated text crosses in about 3 s, and no frame takes longer than the timeout.
HEARTH_SYNC_COMPAT=no-compress h "$H" sync --timeout 3 "hearth://$KEY_V@127.0.0.1:$PP" \
  >"$WORK/slow.out" 2>"$WORK/slow.err" || rc=$?
took=$(($(now_ms) - t0))
[ "$rc" = 0 ] || die "a sync over a ${RATE} B/s link with --timeout 3 failed after $took ms: $(cat "$WORK/slow.err")"
[ "$(digest "$H")" = "$(digest "$V")" ] || die "h differs from v after the slow sync"
bytes=$(du -b "$WORK/forum.bundle" | cut -f1)
[ "$took" -ge 6000 ] || echo "note: the slow link took only $took ms for $bytes bytes: is the proxy slow?"
grep -q "events received" "$WORK/slow.err" || [ "$took" -lt 5000 ] || die "no progress line in $took ms: $(cat "$WORK/slow.err")"
ok "over a $RATE B/s link, a ${bytes}-byte forum crossed in $took ms with --timeout 3; progress: $(grep "events received" "$WORK/slow.err" | tail -1)"

# --- a host that answers nothing --------------------------------------------------------------
# A port whose listener never accepts and whose queue is full: the system drops every
# new SYN, as a host gone off the network would (TEST-NET addresses are refused at
# once on some machines, which is not this case).
PD=$(free_port)
python3 - "$PD" >"$WORK/dead.log" 2>&1 <<'PY' &
import socket, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(0)
held = []
for _ in range(2):  # a queue of one, and one more in the SYN stage
    c = socket.socket(); c.setblocking(False); c.connect_ex(("127.0.0.1", int(sys.argv[1]))); held.append(c)
time.sleep(0.5)
print("ready", flush=True)
time.sleep(3600)
PY
PIDS+=($!)
wait_until 30 grep -q ready "$WORK/dead.log" || die "the silent listener did not start"
t0=$(now_ms) rc=0
h "$H" sync --timeout 3 "hearth://$KEY_V@127.0.0.1:$PD" >"$WORK/dead.out" 2>"$WORK/dead.err" || rc=$?
took=$(($(now_ms) - t0))
[ "$rc" = 7 ] || die "a host that answers nothing exited $rc (want 7): $(cat "$WORK/dead.err")"
[ "$took" -ge 2500 ] || die "a host that answers nothing was given up on in $took ms, before --timeout 3: $(cat "$WORK/dead.err")"
[ "$took" -le 10000 ] || die "a host that answers nothing took $took ms to give up (--timeout 3)"
grep -q "^connecting to 127.0.0.1:$PD…$" "$WORK/dead.err" || die "no 'connecting to' line: $(cat "$WORK/dead.err")"
grep -q "cannot reach 127.0.0.1:$PD: no answer in 3 s" "$WORK/dead.err" || die "unclear: $(cat "$WORK/dead.err")"
ok "a host that answers nothing is given up on in $took ms (--timeout 3): $(tail -1 "$WORK/dead.err")"
finish
