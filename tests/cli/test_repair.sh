#!/usr/bin/env bash
# test_repair.sh - a damaged replica is not shown, exported or served as if fine, and
# `hearth repair` rebuilds it from the events that still verify, after which a sync
# with a peer brings back the rest. Damage: bytes flipped in a page of the events
# table, in a page of the view (posts), a file cut short, and a write-ahead log
# deleted after a crash (committed writes lost: said so) or after a clean close
# (nothing lost: nothing to say). An acknowledged post survives a crash whenever
# its log is intact.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

GEN="$HEARTH_BUILD/bench_genbundle"
O=$(new_dir healthy)
FID=$("$GEN" --events 2000 --seed 16 --body 300 "$TMP_ROOT/forum.bundle")
expect_ok "$HEARTH" -d "$O" init --join "$FID"
expect_ok "$HEARTH" -d "$O" import "$TMP_ROOT/forum.bundle"
expect_ok "$HEARTH" -d "$O" settings --mute "spiders"
GOOD=$(state "$O")

# The healthy replica serves, so that the repaired ones can sync with it. It starts
# without the check at start (a test knob), as a replica too large for the check's
# budget does: the node reads all of it while it serves, and says it is sound.
PORT=$(free_port)
HEARTH_TEST_SKIP_CHECK=1 "$HEARTH" -d "$O" serve --listen "tcp://127.0.0.1:$PORT" \
    --no-discovery --no-web >"$TMP_ROOT/hub.log" 2>&1 &
HUB=$!
on_exit "ours $HUB && kill $HUB; wait $HUB"
end=$((SECONDS + 120))
until grep -q " ready, listening on " "$TMP_ROOT/hub.log" 2>/dev/null; do
    ours "$HUB" || fail "the healthy node exited: $(cat "$TMP_ROOT/hub.log")"
    [ $SECONDS -lt $end ] || fail "the healthy node is not ready after 120 s"
    sleep 0.1
done
HUB_ADDR="hearth://$("$HEARTH" -d "$O" --json id | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_key"])')@127.0.0.1:$PORT"
until grep -q "replica check: sound" "$TMP_ROOT/hub.log"; do
    ours "$HUB" || fail "the healthy node exited: $(cat "$TMP_ROOT/hub.log")"
    [ $SECONDS -lt $end ] || fail "the healthy node's check did not end in 120 s"
    sleep 0.1
done
pass
until expect_ok "$HEARTH" -d "$O" --json status && [ "$(json 'd["node"]["replica"]')" = ok ]; do
    [ $SECONDS -lt $end ] || fail "the status does not say the replica is checked: $OUT"
    sleep 0.5
done
pass

# copy NAME - a copy of the healthy replica, taken while its node is not writing.
copy() {
    local d
    d=$(new_dir "$1")
    python3 - "$O/hearth.db" "$d" <<'PY'
import os, sqlite3, sys
os.makedirs(sys.argv[2])
src = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=30)
dst = sqlite3.connect(os.path.join(sys.argv[2], "hearth.db"))
src.backup(dst)
dst.execute("PRAGMA journal_mode = WAL")
dst.close()
PY
    cp "$O/author.key" "$d/"
    echo "$d"
}

# flip DIR TABLE - flip bytes all over a leaf page (not the header) of TABLE.
flip() {
    python3 - "$1/hearth.db" "$2" <<'PY'
import sqlite3, sys
path, table = sys.argv[1:]
db = sqlite3.connect(path)
size = db.execute("PRAGMA page_size").fetchone()[0]
pages = [r[0] for r in db.execute(
    "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]
db.close()
page = pages[len(pages) // 2]
with open(path, "r+b") as f:
    f.seek((page - 1) * size)
    b = bytearray(f.read(size))
    for i in range(0, size, 7):
        b[i] ^= 0x5a
    f.seek((page - 1) * size)
    f.write(b)
PY
}

# refused DIR - status, export and serve each refuse DIR in one line, exit 5, naming
# the damage and `hearth repair`.
refused() {
    local port
    expect_fail 5 "hearth repair" "$HEARTH" -d "$1" status
    contains "status says damaged" "$ERR" "damaged"
    expect_fail 5 "hearth repair" "$HEARTH" -d "$1" export "$TMP_ROOT/out.bundle"
    contains "export says damaged" "$ERR" "damaged"
    check "no bundle was written" ! -e "$TMP_ROOT/out.bundle"
    port=$(free_port)
    expect_fail 5 "hearth repair" "$HEARTH" -d "$1" serve --listen "tcp://127.0.0.1:$port" \
        --no-discovery --no-web
    contains "serve says damaged" "$ERR" "damaged"
}

# damaged_later DIR - a node started on DIR without the check at start (as on a
# replica larger than the check's budget) finds damage outside the events while it
# serves: it logs why with the repair hint and stops, exit 5.
damaged_later() {
    local port log="$TMP_ROOT/later.log" rc=0
    port=$(free_port)
    HEARTH_TEST_SKIP_CHECK=1 timeout 120 "$HEARTH" -d "$1" serve --listen "tcp://127.0.0.1:$port" \
        --no-discovery --no-web >"$log" 2>&1 || rc=$?
    grep -q " ready, listening on " "$log" || fail "the node did not start: $(cat "$log")"
    pass
    check "then stopped on the damage, exit 5 ($rc)" "$rc" -eq 5
    contains "it says what is damaged" "$(cat "$log")" "the replica is damaged ("
    contains "and how to repair it" "$(cat "$log")" "hearth repair"
}

# repaired DIR MIN - repair keeps at least MIN of the 2,002 events, then a sync with
# the healthy node makes it whole again.
repaired() {
    expect_ok "$HEARTH" -d "$1" --json repair
    local kept
    kept=$(json 'd["kept"]')
    check "repair kept what the damage left ($kept, at least $2)" "$kept" -ge "$2"
    check "the damaged file is kept" -e "$(json 'd["damaged_copy"]')"
    expect_ok "$HEARTH" -d "$1" status
    expect_ok "$HEARTH" -d "$1" export "$TMP_ROOT/out.bundle"
    rm -f "$TMP_ROOT/out.bundle"
    expect_ok "$HEARTH" -d "$1" sync "$HUB_ADDR"
    same "$1: whole again after a sync" "$(state "$1")" "$GOOD"
}

# ---- bytes flipped in a page of events, and in a page of the view ----
for table in events posts; do
    D=$(copy "flip-$table")
    flip "$D" "$table"
    refused "$D"
    if [ "$table" = posts ]; then
        damaged_later "$D"
    else # building the recon index at start reads every event, and finds it
        port=$(free_port)
        HEARTH_TEST_SKIP_CHECK=1 expect_fail 5 "hearth repair" "$HEARTH" -d "$D" serve \
            --listen "tcp://127.0.0.1:$port" --no-discovery --no-web
        contains "serve without the check says damaged" "$ERR" "damaged"
    fi
    repaired "$D" 1950 # a leaf page of events holds about a dozen
    expect_ok "$HEARTH" -d "$D" --json settings
    contains "$table: local settings kept" "$OUT" "spiders"
done

# ---- a file cut short (at a page boundary, and not) ----
for cut in 0.7 0.55; do
    D=$(copy "cut-$cut")
    size=$(stat -c %s "$D/hearth.db")
    truncate -s "$(python3 -c "print(int($size * $cut) // 8192 * 8192 + ($cut == 0.55) * 1000)")" "$D/hearth.db"
    refused "$D"
    # The events table is about 70% of the file, its pages spread through it: a file
    # cut to the fraction c keeps most of c of the events (before posts stopped copying
    # their words, 1,000 was always more than half of them).
    repaired "$D" "$(python3 -c "print(int(0.8 * $cut * 2002))")"
done

# ---- the write-ahead log ----
# A node serves W while a post is made, then dies (SIGKILL): the post is in the log,
# not yet in hearth.db.
W=$(copy wal)
WPORT=$(free_port)
"$HEARTH" -d "$W" serve --listen "tcp://127.0.0.1:$WPORT" --no-discovery --no-web >"$TMP_ROOT/w.log" 2>&1 &
WN=$!
end=$((SECONDS + 120))
until grep -q " ready, listening on " "$TMP_ROOT/w.log" 2>/dev/null; do
    ours "$WN" || fail "the node on W exited: $(cat "$TMP_ROOT/w.log")"
    [ $SECONDS -lt $end ] || fail "the node on W is not ready after 120 s"
    sleep 0.1
done
BOARD=$("$HEARTH" -d "$W" --json boards | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
post "$W" "$BOARD" "Acknowledged" "written while the node served"
P=$ID
kill -9 "$WN"
wait "$WN" || true
check "W was left with a write-ahead log" -s "$W/hearth.db-wal"
cp -a "$W" "$TMP_ROOT/wal-lost"
cp -a "$W" "$TMP_ROOT/wal-kept"
# The log intact: the acknowledged post is there.
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-kept" read "$P"
contains "the acknowledged post survives the crash" "$OUT" "written while the node served"
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-kept" status
# Repair of a replica with its log: what the log holds is kept.
cp -a "$W" "$TMP_ROOT/wal-repaired"
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-repaired" repair
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-repaired" read "$P"
contains "repair keeps what the log held" "$OUT" "written while the node served"
same "repair of a sound replica changes nothing" "$(state "$TMP_ROOT/wal-repaired")" "$(state "$TMP_ROOT/wal-kept")"
# The log deleted: said so, and refused until repaired.
rm "$TMP_ROOT/wal-lost/hearth.db-wal"
refused "$TMP_ROOT/wal-lost"
contains "the lost log is named" "$ERR" "write-ahead log"
expect_fail 5 "write-ahead log" "$HEARTH" -d "$TMP_ROOT/wal-lost" read "$P"
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-lost" --json repair
contains "repair says what was lost" "$(json 'd["wal_lost"]')" "lost"
# The post comes back from a peer that has it.
expect_ok "$HEARTH" -d "$W" export "$TMP_ROOT/w.bundle"
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-lost" import "$TMP_ROOT/w.bundle"
expect_ok "$HEARTH" -d "$TMP_ROOT/wal-lost" read "$P"
contains "the post is back after an import from a peer" "$OUT" "written while the node served"

# A clean close checkpoints the log into hearth.db and removes it: nothing is lost.
C=$(copy clean)
post "$C" "$BOARD" "Checkpointed" "written before a clean close"
check "a clean close leaves no log" ! -e "$C/hearth.db-wal"
expect_ok "$HEARTH" -d "$C" status
expect_ok "$HEARTH" -d "$C" read "$ID"

finish
