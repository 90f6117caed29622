#!/usr/bin/env bash
# test_index.sh - the recon index saved in the replica (docs/PROTOCOL.md, section 17):
# an import of more than 65,536 events saves it; a node starts from it, catches it up
# with what arrived since and saves it again when it stops; it reconciles as an index
# built from every event does (no fallback: the decoded difference is exact); a
# damaged copy is set aside, said so, and the index built again.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

GEN="$HEARTH_BUILD/bench_genbundle"
N=70000 # above NODE_INDEX_SAVE_MIN (65,536)
FID=$("$GEN" --events "$N" --seed 5 "$TMP_ROOT/forum.bundle")
A=$(new_dir a)
B=$(new_dir b)
for d in "$A" "$B"; do
    expect_ok "$HEARTH" -d "$d" init --join "$FID"
    expect_ok "$HEARTH" -d "$d" import "$TMP_ROOT/forum.bundle"
done
saved() {
    sqlite3 "$1/hearth.db" "SELECT length(value) FROM local_blobs WHERE key = 'recon-index'"
}
same "the import saved the index" "$(saved "$A")" 6292104
HELD=$((N + 2)) # the genesis and the board too

# sync_b WHY - B syncs with the node on A and gets the three posts A made since, found
# by decoding the difference against A's index (a wrong index would fall back).
sync_b() {
    expect_ok "$HEARTH" -d "$B" --json sync "$HUB_ADDR"
    same "$1: B took the three new posts" "$(json 'd["events_accepted"]')" 3
    same "$1: the difference was decoded, not fallen back from" "$(json 'd["fell_back"]')" false
    same "$1: A and B hold the same forum" "$(state "$B")" "$(state "$A")"
}

# three DIR - three posts on the first board of DIR.
three() {
    local board
    board=$(value "$1" 'd[0]["id"]' boards)
    for i in 1 2 3; do
        post "$1" "$board" "New $i" "written after the import"
    done
}

stop_hub() {
    kill "$HUB"
    wait "$HUB" || fail "the node on A did not stop cleanly"
    pass
}

# A node starts from the saved copy, and reconciles with it.
serve_hub "$A"
contains "the node started from the saved copy" "$(cat "$TMP_ROOT/hub.log")" \
    "recon index: the saved copy of $HELD events, caught up to $HELD"
lacks "and kept it" "$(cat "$TMP_ROOT/hub.log")" "not using the copy"
three "$A"
sync_b "from the saved copy"
stop_hub

# Stopped, it saved the index again: the next start catches up nothing.
serve_hub "$A"
contains "saved again when the node stopped" "$(cat "$TMP_ROOT/hub.log")" \
    "recon index: the saved copy of $((HELD + 3)) events, caught up to $((HELD + 3))"
stop_hub

# Three posts made with no node running: the next start catches them up.
three "$A"
serve_hub "$A"
contains "caught up with what arrived since" "$(cat "$TMP_ROOT/hub.log")" \
    "recon index: the saved copy of $((HELD + 3)) events, caught up to $((HELD + 6))"
sync_b "caught up"
stop_hub

# A damaged copy is set aside, said so, and the index built from every event works.
python3 - "$A/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
b = bytearray(db.execute("SELECT value FROM local_blobs WHERE key = 'recon-index'").fetchone()[0])
b[3000000] ^= 0x20  # one bit among the symbols
db.execute("UPDATE local_blobs SET value = ? WHERE key = 'recon-index'", (bytes(b),))
db.commit()
PY
same "the damaged copy keeps its length" "$(saved "$A")" 6292104
serve_hub "$A"
contains "a damaged copy is set aside" "$(cat "$TMP_ROOT/hub.log")" \
    "not using the copy saved in the replica (it is damaged); building it from every event"
three "$A"
sync_b "built again"
stop_hub
same "and saved again, sound" "$(saved "$A")" 6292104
serve_hub "$A"
contains "the copy saved after the rebuild is used" "$(cat "$TMP_ROOT/hub.log")" \
    "recon index: the saved copy of $((HELD + 9)) events"
stop_hub

finish
