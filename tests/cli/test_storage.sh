#!/usr/bin/env bash
# test_storage.sh - a data directory in trouble: read-only, locked by another process,
# or full. Each refusal exits 5 ("storage trouble") with a one-line message, and the
# replica is exactly as it was.
#
# The tests run as root in CI, and root ignores permission bits, so a read-only
# directory is made with a read-only bind mount, else the immutable attribute, else
# by running hearth as nobody; the case is skipped (saying so) only if none works.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
forum "$A" "Riverbend"
post "$A" welcome "Hello" "Some words."
T=$ID
# A bundle with an event that A does not hold yet: from a copy of A that posted more.
cp -a "$A" "$TMP_ROOT/copy"
post "$TMP_ROOT/copy" welcome "More" "Only in the copy."
expect_ok "$HEARTH" -d "$TMP_ROOT/copy" export "$TMP_ROOT/a.bundle"
snapshot "$A"

# ---- read-only ----
RO=""
SRC="$A" # where the read-only replica can be looked at
AS=()
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP_ROOT/ro" && mount --bind "$A" "$TMP_ROOT/ro" 2>/dev/null; then
    on_exit "umount '$TMP_ROOT/ro'"
    if mount -o remount,ro,bind "$TMP_ROOT/ro" 2>/dev/null && ! touch "$TMP_ROOT/ro/.probe" 2>/dev/null; then
        RO="$TMP_ROOT/ro"
        echo "read-only: a read-only bind mount"
    else
        umount "$TMP_ROOT/ro"
    fi
fi
if [ -z "$RO" ] && [ "$(id -u)" = 0 ] && chattr +i "$A/hearth.db" "$A" 2>/dev/null; then
    on_exit "chattr -i '$A/hearth.db' '$A'"
    if ! touch "$A/.probe" 2>/dev/null; then
        RO="$A"
        echo "read-only: the immutable attribute"
    fi
fi
if [ -z "$RO" ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    cp -a "$A" "$TMP_ROOT/nobody"
    chown -R nobody "$TMP_ROOT/nobody"
    chmod -R a-w "$TMP_ROOT/nobody"
    chmod a+x "$TMP_ROOT"
    chmod a+r "$TMP_ROOT/a.bundle"
    if ! setpriv --reuid=nobody --regid=nogroup --clear-groups touch "$TMP_ROOT/nobody/.probe" 2>/dev/null; then
        RO="$TMP_ROOT/nobody"
        SRC="$RO"
        AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
        echo "read-only: a directory that nobody may not write, as nobody"
    fi
fi
if [ -z "$RO" ] && [ "$(id -u)" != 0 ]; then
    chmod a-w "$A" "$A/hearth.db"
    on_exit "chmod u+w '$A' '$A/hearth.db'"
    RO="$A"
    echo "read-only: permission bits"
fi

if [ -n "$RO" ]; then
    snapshot "$SRC"
    for cmd in "post welcome --title t --body b" "reply $T --body b" "edit $T --body b2" \
        "retract $T" "react $T hug" "mod hide $T --reason r" "profile --name n" \
        "import $TMP_ROOT/a.bundle"; do
        # shellcheck disable=SC2086
        expect_fail 5 "is read-only" "${AS[@]}" "$HEARTH" -d "$RO" $cmd
    done
    expect_fail 5 "read-only" bash -c "${AS[*]} \"$HEARTH\" -d \"$RO\" import - <\"$TMP_ROOT/a.bundle\""
    # init finds the forum there (8), or cannot open the database to look (5).
    run "${AS[@]}" "$HEARTH" -d "$RO" init --forum "x"
    check "init in a read-only forum directory is refused" "$RC" -eq 8 -o "$RC" -eq 5
    unchanged "$SRC"
    # Make A writable again for what follows.
    if [ "$RO" = "$TMP_ROOT/ro" ]; then
        umount "$TMP_ROOT/ro"
    elif [ "$RO" = "$A" ]; then
        chattr -i "$A/hearth.db" "$A" 2>/dev/null || chmod u+w "$A" "$A/hearth.db"
    fi
else
    echo "SKIP: read-only data directory: no read-only bind mount, immutable attribute or" \
        "unprivileged user available here"
fi

# ---- locked by another process ----
# A writer holds the database's write lock (an exclusive transaction) while hearth
# tries to write; hearth waits its short busy time and gives up.
python3 - "$A/hearth.db" "$TMP_ROOT/locked" "$TMP_ROOT/release" <<'PY' &
import os, sqlite3, sys, time
db, ready, release = sys.argv[1:]
c = sqlite3.connect(db, isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(ready, "w").close()
deadline = time.time() + 120
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
c.execute("ROLLBACK")
c.close()
PY
HOLDER=$!
on_exit "touch '$TMP_ROOT/release'; wait $HOLDER"
end=$((SECONDS + 120)) # a bound for a hung holder only: it is ready when it says so
until [ -e "$TMP_ROOT/locked" ] || [ $SECONDS -ge $end ] || ! ours "$HOLDER"; do
    sleep 0.05
done
check "the lock is held" -e "$TMP_ROOT/locked"
for cmd in "post welcome --title t --body b" "reply $T --body b" "react $T hug" \
    "profile --name n" "import $TMP_ROOT/a.bundle"; do
    # shellcheck disable=SC2086
    expect_fail 5 "locked by another process" "$HEARTH" -d "$A" $cmd
done
# Readers are not blocked by a writer (write-ahead log).
expect_ok "$HEARTH" -d "$A" read "$T"
contains "reading while locked" "$OUT" "Some words."
touch "$TMP_ROOT/release"
wait "$HOLDER"
unchanged "$A"
expect_ok "$HEARTH" -d "$A" reply "$T" --body "after the lock"

# ---- full ----
# A small file system that fills up: the post that does not fit is refused and the
# replica keeps what it had.
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP_ROOT/small" &&
    mount -t tmpfs -o size=2m tmpfs "$TMP_ROOT/small" 2>/dev/null; then
    on_exit "umount '$TMP_ROOT/small'"
    S="$TMP_ROOT/small/forum"
    forum "$S" "Small"
    BIG=$(head -c 44000 /dev/urandom | base64 -w0)
    FULL=0
    for i in $(seq 1 40); do
        snapshot "$S"
        run "$HEARTH" -d "$S" post welcome --title "big $i" --body "$BIG"
        if [ "$RC" -ne 0 ]; then
            FULL=1
            break
        fi
    done
    check "the small file system filled up" "$FULL" -eq 1
    same "full: exit status" "$RC" 5
    contains "full: message" "$ERR" "full"
    same "full: one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
    unchanged "$S"
else
    echo "SKIP: full disk: cannot mount a small tmpfs here"
fi

# A replica an older hearth made (schema 9: posts with their own copy of the words,
# every event naming its signer) is upgraded by the first command, even one that only
# reads, unless a node still serves it: `status` then shows the same view digest as
# before, and the thread reads as it did.
U=$(new_dir upgrade)
forum "$U" "Riverbend"
post "$U" welcome "Old words" "Kept across the upgrade."
P=$ID
expect_ok "$HEARTH" -d "$U" status
VIEW=$(printf '%s\n' "$OUT" | grep '^view:')
SCHEMA=$(sqlite3 "$U/hearth.db" 'PRAGMA user_version')
sqlite3 "$U/hearth.db" "DROP TRIGGER reacts_on_u; DROP TRIGGER react_i; DROP TRIGGER react_d;
  DROP TRIGGER react_u; DROP TABLE react_by; DROP TABLE react_count;
  ALTER TABLE reacts DROP COLUMN on_ev; DROP TABLE local_blobs; UPDATE events SET signer = author WHERE signer IS NULL;
  DROP TRIGGER vs_text_i; DROP TRIGGER vs_text_d; DROP TRIGGER vs_text_u;
  ALTER TABLE posts ADD COLUMN title TEXT; ALTER TABLE posts ADD COLUMN text TEXT;
  ALTER TABLE posts ADD COLUMN cw TEXT;
  UPDATE posts SET title = 'Old words', text = 'Kept across the upgrade.' WHERE kind = 3;
  ALTER TABLE posts DROP COLUMN words_ev; PRAGMA user_version = 9;" ||
    fail "could not make a schema 9 replica"
same "made schema 9" "$(sqlite3 "$U/hearth.db" 'PRAGMA user_version')" 9
# Not under a node that still serves it (an older hearth's): said so, left as it was.
(exec 9>"$U/serve.lock" && flock 9 && exec sleep 60) & # sleep holds the lock, as serve would
HOLDER=$!
for _ in $(seq 100); do flock -n "$U/serve.lock" true || break; sleep 0.05; done
expect_fail 5 "a node still serves it" "$HEARTH" -d "$U" status
same "upgrade under a node: not upgraded" "$(sqlite3 "$U/hearth.db" 'PRAGMA user_version')" 9
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
expect_ok "$HEARTH" -d "$U" status
same "upgraded: the same view" "$(printf '%s\n' "$OUT" | grep '^view:')" "$VIEW"
same "upgraded to the current schema" "$(sqlite3 "$U/hearth.db" 'PRAGMA user_version')" "$SCHEMA"
expect_ok "$HEARTH" -d "$U" read "$P"
contains "upgraded: the words" "$OUT" "Kept across the upgrade."

finish
