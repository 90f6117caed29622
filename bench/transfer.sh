#!/usr/bin/env bash
# Transfer end to end: a node holding N events (256-byte bodies) serves; an empty node
# of the same forum runs `hearth sync` against it over loopback. Every event is parsed,
# verified and committed on the receiving side. Prints one JSON object.
#   bench/transfer.sh BUILD_DIR [N]
set -euo pipefail
build=$1
n=${2:-100000}
work=$(mktemp -d /tmp/hearth-bench-transfer.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
H="$build/hearth"
fid=$("$build/bench_genbundle" --events "$n" --body 256 --seed 11 "$work/b.bundle")
"$H" -d "$work/a" init --join "$fid" >/dev/null
t0=$(date +%s.%N)
"$H" -d "$work/a" import "$work/b.bundle" >/dev/null
t1=$(date +%s.%N)
"$H" -d "$work/b" init --join "$fid" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$H" -d "$work/a" serve --listen "tcp://127.0.0.1:$port" --no-discovery --no-web >"$work/a.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q ready "$work/a.log" && break; sleep 0.1; done
key=$("$H" -d "$work/a" --json id | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_key"])')
out=$("$H" -d "$work/b" --json sync --timeout 300 "hearth://$key@127.0.0.1:$port")
python3 - "$n" "$t0" "$t1" "$out" "$(stat -c %s "$work/b.bundle")" "$(stat -c %s "$work/b/hearth.db")" <<'PY'
import json, sys
n, t0, t1, out, bundle_bytes, db_bytes = sys.argv[1:]
s = json.loads(out)
events = s["events_accepted"]
secs = s["milliseconds"] / 1000
print(json.dumps({
    "events": events,
    "transfer_seconds": round(secs, 3),
    "transfer_events_per_s": round(events / secs),
    "bytes_received": s["bytes_received"],
    "import_events_per_s": round((int(n) + 2) / (float(t1) - float(t0))),
    "bundle_bytes_per_event": round(int(bundle_bytes) / (int(n) + 2), 1),
    "db_bytes_per_event": round(int(db_bytes) / events, 1),
}))
PY
