#!/usr/bin/env bash
# test_backup.sh - hearth backup and restore (docs/BACKUP.md): a stopped node restores
# to an equal view digest with its keys; a node under load (serving, posts arriving)
# backs up a consistent replica; a wrong passphrase, a flipped byte, a truncated file,
# a foreign backup, a file that is no backup and a running node are each refused with
# one line and nothing replaced; fork safety: a restored node signs nothing until a
# sync with a peer ends well, then signs above the sequence numbers its author used
# after the backup, and no fork appears.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

export HEARTH_PASSPHRASE="a passphrase for tests"

# listing DIR - the names and sizes in DIR, for "nothing was changed".
listing() {
    (cd "$1" && find . -printf '%p %s\n' | sort)
}

A=$(new_dir a)
forum "$A" "Riverbend"
A_FORUM=$FORUM
expect_ok "$HEARTH" -d "$A" profile --name "otter"
post "$A" welcome "First" "The first thread."
reply "$A" "$ID" "A reply."
printf '[node]\nlisten = tcp://127.0.0.1:7437\n' >"$A/hearth.conf"

# ---- a stopped node ----
expect_ok "$HEARTH" -d "$A" --json backup "$TMP_ROOT/a.hbk"
json_valid
same "backup names the forum" "$(json 'd["forum"]')" "$A_FORUM"
same "backup holds the keys, the configuration and the replica" "$(json 'd["files"]')" \
    '["author.key", "hearth.conf", "node.key", "hearth.db"]'
same "backup starts with the magic" "$(head -c 8 "$TMP_ROOT/a.hbk")" "HEARTHBK"
check "no temporary file beside the backup" \
    "$(find "$TMP_ROOT" -maxdepth 1 -name 'a.hbk.tmp*' | wc -l)" -eq 0
check "no copy of the replica left in the data directory" \
    "$(find "$A" -maxdepth 1 -name '.backup-*' | wc -l)" -eq 0
check "the backup is not readable by others" "$(stat -c %a "$TMP_ROOT/a.hbk")" = 600
lacks "the words are not in the backup in the clear" "$(tr -c '[:print:]' ' ' <"$TMP_ROOT/a.hbk")" \
    "The first thread"

R=$(new_dir r)
expect_ok "$HEARTH" -d "$R" --json restore "$TMP_ROOT/a.hbk"
json_valid
same "restore reports the forum" "$(json 'd["forum"]')" "$A_FORUM"
same "nothing was there to replace" "$(json 'd["replaced"]')" "null"
same "restored digest equals the original" "$(state "$R")" "$(state "$A")"
same "the author key came back" "$(cmp "$A/author.key" "$R/author.key" && echo same)" same
same "hearth.conf came back" "$(cat "$R/hearth.conf")" "$(cat "$A/hearth.conf")"
check "the key is private" "$(stat -c %a "$R/author.key")" = 600
check "no staging directory left" "$(find "$R" -maxdepth 1 -name '.restore-*' | wc -l)" -eq 0
same "the restored node is the same author" "$(value "$R" 'd["author"]' id)" \
    "$(value "$A" 'd["author"]' id)"

# Fork safety: no signing until a sync, or a confirmation by hand.
expect_fail 8 "restored from a backup and not synced with a peer since" \
    "$HEARTH" -d "$R" post welcome --title "Too soon" --body "This could fork."
expect_fail 8 "restored from a backup" "$HEARTH" -d "$R" react "$ID" hug
expect_ok "$HEARTH" -d "$R" restore --confirm
contains "confirm says so" "$OUT" "this node signs again"
post "$R" welcome "After" "Confirmed by hand."
expect_fail 8 "nothing to confirm" "$HEARTH" -d "$R" restore --confirm
expect_fail 2 "--confirm takes no FILE" "$HEARTH" -d "$R" restore --confirm "$TMP_ROOT/a.hbk"

# Restoring over a directory of the same forum: the old files are moved aside.
expect_ok "$HEARTH" -d "$R" --json restore "$TMP_ROOT/a.hbk"
ASIDE=$(json 'd["replaced"]')
check "the old replica was moved aside" -f "$R/$ASIDE/hearth.db"
check "the old key was moved aside" -f "$R/$ASIDE/author.key"
same "the restored digest is the backup's again" "$(state "$R")" "$(state "$A")"

# The default data directory of a fresh account: made with its parents.
check "no default data directory yet" ! -e "$HOME/.local/share"
expect_ok "$HEARTH" restore "$TMP_ROOT/a.hbk"
same "restored into ~/.local/share/hearth" "$(state "$HOME/.local/share/hearth")" "$(state "$A")"

# --passphrase-file, and passphrases that are refused.
printf 'a passphrase for tests\n' >"$TMP_ROOT/pass"
chmod 600 "$TMP_ROOT/pass"
R2=$(new_dir r2)
expect_ok env -u HEARTH_PASSPHRASE "$HEARTH" -d "$R2" restore "$TMP_ROOT/a.hbk" \
    --passphrase-file "$TMP_ROOT/pass"
same "restored with the passphrase file" "$(state "$R2")" "$(state "$A")"
expect_fail 2 "the passphrase is too short" \
    env HEARTH_PASSPHRASE=short "$HEARTH" -d "$A" backup "$TMP_ROOT/x.hbk"
expect_fail 2 "no passphrase: give --passphrase-file FILE or set HEARTH_PASSPHRASE" \
    env -u HEARTH_PASSPHRASE setsid -w "$HEARTH" -d "$A" backup "$TMP_ROOT/x.hbk"
expect_fail 3 "--passphrase-file: cannot open" \
    "$HEARTH" -d "$A" backup "$TMP_ROOT/x.hbk" --passphrase-file "$TMP_ROOT/none"
check "no backup written by the refusals" ! -e "$TMP_ROOT/x.hbk"

# ---- refusals: nothing replaced ----
python3 - "$TMP_ROOT/a.hbk" "$TMP_ROOT" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
flipped = bytearray(data)
flipped[len(data) // 2] ^= 0x01
open(out + "/flipped.hbk", "wb").write(flipped)
open(out + "/truncated.hbk", "wb").write(data[: len(data) * 2 // 3])
PY
snapshot "$R"
BEFORE=$(listing "$R")
expect_fail 6 "'$TMP_ROOT/a.hbk': wrong passphrase; nothing was changed" \
    env HEARTH_PASSPHRASE="not the passphrase" "$HEARTH" -d "$R" restore "$TMP_ROOT/a.hbk"
expect_fail 4 "the backup is damaged or truncated (its checksum does not match); nothing" \
    "$HEARTH" -d "$R" restore "$TMP_ROOT/flipped.hbk"
expect_fail 4 "the backup is damaged or truncated" \
    "$HEARTH" -d "$R" restore "$TMP_ROOT/truncated.hbk"
expect_ok "$HEARTH" -d "$A" export "$TMP_ROOT/a.bundle"
expect_fail 4 "not a hearth backup" "$HEARTH" -d "$R" restore "$TMP_ROOT/a.bundle"
expect_fail 3 "cannot open '$TMP_ROOT/none.hbk'" "$HEARTH" -d "$R" restore "$TMP_ROOT/none.hbk"
O=$(new_dir other)
forum "$O" "Elsewhere"
expect_ok "$HEARTH" -d "$O" backup "$TMP_ROOT/other.hbk"
expect_fail 4 "is a backup of forum" "$HEARTH" -d "$R" restore "$TMP_ROOT/other.hbk"
same "every refusal left the directory as it was" "$(listing "$R")" "$BEFORE"
unchanged "$R"
N=$(new_dir never)
expect_fail 6 "wrong passphrase" env HEARTH_PASSPHRASE="not the passphrase" \
    "$HEARTH" -d "$N" restore "$TMP_ROOT/a.hbk"
check "a refused restore into a new directory leaves none" ! -e "$N"

# ---- a node under load ----
# A serves; a loop posts as A's author until told to stop. The backup is taken while
# posts are arriving; after it, the loop goes on until A holds posts the backup lacks.
serve_hub "$A"
A_ADDR=$HUB_ADDR
A_PID=$HUB
expect_fail 5 "a node is running on $A" "$HEARTH" -d "$A" restore "$TMP_ROOT/a.hbk"
touch "$TMP_ROOT/go"
(
    i=0
    while [ -e "$TMP_ROOT/go" ]; do
        i=$((i + 1))
        "$HEARTH" -d "$A" post welcome --title "Load $i" --body "Post $i under load." \
            >/dev/null 2>>"$TMP_ROOT/load.err" || true
    done
) &
LOADER=$!
on_exit "rm -f '$TMP_ROOT/go'; wait $LOADER"
events_of() { value "$1" 'd["events"]' status; }
START=$(events_of "$A")
until [ "$(events_of "$A")" -ge $((START + 3)) ]; do sleep 0.1; done
BEFORE_BACKUP=$(events_of "$A")
expect_ok "$HEARTH" -d "$A" --json backup "$TMP_ROOT/load.hbk"
AFTER_BACKUP=$(events_of "$A")
# Posts the backup cannot hold: made after it finished.
until [ "$(events_of "$A")" -ge $((AFTER_BACKUP + 3)) ]; do sleep 0.1; done
rm -f "$TMP_ROOT/go"
wait $LOADER
check "the loader posted without errors" ! -s "$TMP_ROOT/load.err"

L=$(new_dir load)
expect_ok "$HEARTH" -d "$L" --json restore "$TMP_ROOT/load.hbk"
GOT=$(json 'd["events"]')
check "the snapshot holds what was there when the backup began" "$GOT" -ge "$BEFORE_BACKUP"
check "and nothing made after it ended" "$GOT" -le "$AFTER_BACKUP"
expect_ok "$HEARTH" -d "$L" status --json
same "no running node shown for the restored replica" "$(json 'd["node"]')" "null"
# The snapshot's view is the view of its events: a replica built from them agrees.
expect_ok "$HEARTH" -d "$L" export "$TMP_ROOT/load.bundle"
V=$(new_dir verify)
expect_ok "$HEARTH" -d "$V" init --join "$A_FORUM"
expect_ok "$HEARTH" -d "$V" import "$TMP_ROOT/load.bundle"
same "the restored view is the view of its events" "$(state "$L")" "$(state "$V")"

# A peer that has all of A's posts; then A is lost.
B=$(new_dir b)
expect_ok "$HEARTH" -d "$B" init --join "$A_FORUM"
expect_ok "$HEARTH" -d "$B" sync "$A_ADDR"
same "the peer holds all of A" "$(state "$B")" "$(state "$A")"
LAST_SEQ=$(value "$A" 'max(p["seq"] for p in d["threads"])' threads welcome)
kill "$A_PID"
wait "$A_PID" 2>/dev/null || true

# The restored node lacks A's last posts: it refuses to sign, syncs, then signs above.
expect_fail 8 "restored from a backup" \
    "$HEARTH" -d "$L" post welcome --title "Fork?" --body "This would reuse a number."
expect_ok "$HEARTH" -d "$L" status --json
check "status says the replica was restored" "$(json 'd["restored"]')" != null
expect_ok "$HEARTH" -d "$L" status
contains "in words too" "$OUT" "restored: from a backup made"
serve_hub "$B"

# A restored node that serves: its first sync with a peer lifts the mark.
S=$(new_dir served)
expect_ok "$HEARTH" -d "$S" restore "$TMP_ROOT/load.hbk"
S_PORT=$(free_port)
"$HEARTH" -d "$S" serve --listen "tcp://127.0.0.1:$S_PORT" --no-discovery --no-web \
    --peer "$HUB_ADDR" >"$TMP_ROOT/served.log" 2>&1 &
S_PID=$!
on_exit "ours $S_PID && kill $S_PID; wait $S_PID"
until grep -q "restore: synced with .* since the restore; this node signs again" \
    "$TMP_ROOT/served.log"; do
    ours "$S_PID" || fail "the restored node exited: $(cat "$TMP_ROOT/served.log")"
    sleep 0.1
done
pass
kill "$S_PID"
wait "$S_PID" 2>/dev/null || true
same "the served node caught up" "$(state "$S")" "$(state "$B")"
same "and its mark is gone" "$(value "$S" 'd["restored"]' status)" null
expect_ok "$HEARTH" -d "$L" sync "$HUB_ADDR"
same "the restored node caught up with the peer" "$(state "$L")" "$(state "$B")"
post "$L" welcome "Back" "The hub is back."
expect_ok "$HEARTH" -d "$L" --json read "$ID"
same "its next post takes the number after A's last" "$(json 'd[0]["seq"]')" "$((LAST_SEQ + 1))"
expect_ok "$HEARTH" -d "$L" sync "$HUB_ADDR"
same "the peer has the new post" "$(state "$B")" "$(state "$L")"
same "no fork anywhere" "$(value "$B" 'd["forks"]' status)" 0
finish
