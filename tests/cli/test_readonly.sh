#!/usr/bin/env bash
# test_readonly.sh - a data directory that cannot be written (a mounted backup, a
# locked stick) can still be read: read, threads, boards, search (its index behind,
# the newest post found all the same), export, backup and status work; every write is
# refused with one line, "the data directory DIR is read-only", exit 5, and nothing
# changes. Read-only as a remounted tmpfs, as a read-only bind mount of a replica
# left with a write-ahead log by a crash, and, as nobody (root passes permission
# bits), as a directory without write permission. A log with commits but without the
# index SQLite needs to read it cannot be read there: said so in one line.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
forum "$A" "Riverbend"
post "$A" welcome "Hello" "Some words."
T=$ID
reply "$A" "$T" "A kind reply."
expect_ok "$HEARTH" -d "$A" search words # the index catches up here...
post "$A" welcome "Zebra" "A zebra crossing by the school." # ...and is behind again
Z=$ID
cp -a "$A" "$TMP_ROOT/copy"
post "$TMP_ROOT/copy" welcome "More" "Only in the copy."
expect_ok "$HEARTH" -d "$TMP_ROOT/copy" export "$TMP_ROOT/more.bundle"
chmod a+r "$TMP_ROOT/more.bundle"

# readable AS... DIR - every reading command works on DIR (run as AS...).
readable() {
    local dir="${*: -1}" as=("${@:1:$#-1}")
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" read "$T"
    contains "read" "$OUT" "Some words."
    contains "read: the reply" "$OUT" "A kind reply."
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" threads welcome
    contains "threads" "$OUT" "Zebra"
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" boards
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" --json search zebra
    same "search finds the post its index lacks" "$(json '[p["id"] for p in d]')" "[\"$Z\"]"
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" --json search words
    same "search finds the indexed post" "$(json 'len(d)')" 1
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" status
    rm -f "$OUTB"
    expect_ok "${as[@]}" "$HEARTH" -d "$dir" export "$OUTB"
    check "the bundle was written elsewhere" -s "$OUTB"
    rm -f "$OUTK"
    expect_ok "${as[@]}" env HEARTH_PASSPHRASE="a passphrase for tests" \
        "$HEARTH" -d "$dir" backup "$OUTK"
    check "a backup of it was written elsewhere" -s "$OUTK"
}

# unwritable AS... DIR - every write is refused in one line, and nothing changes.
unwritable() {
    local dir="${*: -1}" as=("${@:1:$#-1}")
    local before
    before=$(
        "${as[@]}" "$HEARTH" -d "$dir" status --json | python3 -c \
            'import json,sys; d=json.load(sys.stdin); print(d["view_digest"], d["events"])'
    )
    for cmd in "post welcome --title t --body b" "reply $T --body b" "react $T hug" \
        "edit $T --body b2" "retract $T" "profile --name n" "import $TMP_ROOT/more.bundle"; do
        # shellcheck disable=SC2086
        expect_fail 5 "the data directory $dir is read-only" "${as[@]}" "$HEARTH" -d "$dir" $cmd
    done
    same "nothing changed" "$(
        "${as[@]}" "$HEARTH" -d "$dir" status --json | python3 -c \
            'import json,sys; d=json.load(sys.stdin); print(d["view_digest"], d["events"])'
    )" "$before"
}

OUTB="$TMP_ROOT/out.bundle"
OUTK="$TMP_ROOT/out.hbk"
CASES=0

# ---- a tmpfs remounted read-only ----
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP_ROOT/tmpfs" &&
    mount -t tmpfs -o size=4m tmpfs "$TMP_ROOT/tmpfs" 2>/dev/null; then
    on_exit "umount '$TMP_ROOT/tmpfs'"
    cp -a "$A" "$TMP_ROOT/tmpfs/forum"
    mount -o remount,ro "$TMP_ROOT/tmpfs"
    readable "$TMP_ROOT/tmpfs/forum"
    unwritable "$TMP_ROOT/tmpfs/forum"
    CASES=$((CASES + 1))
fi

# ---- a read-only bind mount of a replica a crash left with its log ----
W="$TMP_ROOT/crashed"
cp -a "$A" "$W"
# A process holds the database open (so no one checkpoints the log away) while a
# post is made, then dies.
python3 - "$W/hearth.db" "$TMP_ROOT/holding" "$TMP_ROOT/die" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM events").fetchall()
open(sys.argv[2], "w").close()
end = time.time() + 120
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.05)
os._exit(0)
PY
HOLDER=$!
on_exit "touch '$TMP_ROOT/die'; wait $HOLDER"
end=$((SECONDS + 120))
until [ -e "$TMP_ROOT/holding" ] || [ $SECONDS -ge $end ] || ! ours "$HOLDER"; do sleep 0.05; done
post "$W" welcome "Late" "Made while another process held the database."
L=$ID
touch "$TMP_ROOT/die"
wait "$HOLDER"
check "the crash left a log" -s "$W/hearth.db-wal"
check "and its index" -e "$W/hearth.db-shm"
cp -a "$W" "$TMP_ROOT/noindex"
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP_ROOT/ro" && mount --bind "$W" "$TMP_ROOT/ro" 2>/dev/null; then
    on_exit "umount '$TMP_ROOT/ro'"
    if mount -o remount,ro,bind "$TMP_ROOT/ro" 2>/dev/null && ! touch "$TMP_ROOT/ro/.probe" 2>/dev/null; then
        readable "$TMP_ROOT/ro"
        expect_ok "$HEARTH" -d "$TMP_ROOT/ro" read "$L"
        contains "the post in the log is read" "$OUT" "another process held"
        unwritable "$TMP_ROOT/ro"
        CASES=$((CASES + 1))
        # The same log without its index.
        rm "$TMP_ROOT/noindex/hearth.db-shm"
        mkdir -p "$TMP_ROOT/ro2"
        mount --bind "$TMP_ROOT/noindex" "$TMP_ROOT/ro2"
        on_exit "umount '$TMP_ROOT/ro2'"
        mount -o remount,ro,bind "$TMP_ROOT/ro2"
        expect_fail 5 "the data directory $TMP_ROOT/ro2 is read-only" "$HEARTH" -d "$TMP_ROOT/ro2" threads welcome
        contains "the log without its index is named" "$ERR" "copy the directory somewhere writable"
    fi
fi

# ---- a directory without write permission, as a user who is not root ----
AS=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    # Somewhere nobody can reach: the test's own directory may sit in one only root
    # may enter (a build's tmp/ made by another test with a private mode).
    NOBODY=$(mktemp -d /tmp/hearth-readonly.XXXXXX)
    chmod 755 "$NOBODY"
    on_exit "rm -rf '$NOBODY'"
    N="$NOBODY/nobody"
    cp -a "$A" "$N"
    chown -R nobody "$N"
    chmod -R a-w "$N"
    OUTB="$NOBODY/out-nobody/out.bundle"
    OUTK="$NOBODY/out-nobody/out.hbk"
    mkdir -p "$NOBODY/out-nobody"
    chown nobody "$NOBODY/out-nobody"
elif [ "$(id -u)" != 0 ]; then
    N="$TMP_ROOT/mine"
    cp -a "$A" "$N"
    chmod -R a-w "$N"
    on_exit "chmod -R u+w '$N'"
fi
if [ -n "${N:-}" ]; then
    readable "${AS[@]}" "$N"
    unwritable "${AS[@]}" "$N"
    CASES=$((CASES + 1))
fi

check "at least one way to make a read-only directory worked here ($CASES)" "$CASES" -ge 1
finish
