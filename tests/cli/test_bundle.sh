#!/usr/bin/env bash
# test_bundle.sh - export and import: a joined replica fetches the forum from a bundle
# and shows the same view; a second author's posts travel back; each person may
# change only their own posts.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
B=$(new_dir b)
forum "$A" "Riverbend"
expect_ok "$HEARTH" -d "$A" profile --name "otter"
post "$A" lived-experience "First" "The first thread." --cw "grief"
T=$ID
reply "$A" "$T" "A reply."
R=$ID
reply "$A" "$R" "A nested reply."
expect_ok "$HEARTH" -d "$A" react "$T" support
expect_ok "$HEARTH" -d "$A" react "$R" hug
post "$A" welcome "Gone" "Words that will be taken back."
expect_ok "$HEARTH" -d "$A" retract "$ID"

# Export to a file.
expect_ok "$HEARTH" -d "$A" --json export "$TMP_ROOT/a.bundle"
json_valid
N=$(json 'd["events"]')
expect_ok "$HEARTH" -d "$A" status --json
same "export wrote every event" "$N" "$(json 'd["events"]')"
check "bundle file exists" -s "$TMP_ROOT/a.bundle"
same "bundle starts with the magic" "$(head -c 8 "$TMP_ROOT/a.bundle")" "HEARTHB1"
check "no temporary file left" "$(find "$TMP_ROOT" -maxdepth 1 -name 'a.bundle.tmp*' | wc -l)" -eq 0
expect_ok "$HEARTH" -d "$A" export "$TMP_ROOT/a.bundle"
contains "human export output" "$OUT" "wrote $N events to $TMP_ROOT/a.bundle"
expect_fail 3 "cannot write '$TMP_ROOT/no/such/dir.bundle'" \
    "$HEARTH" -d "$A" export "$TMP_ROOT/no/such/dir.bundle"

# Import into a joined, empty replica: the same forum.
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
expect_ok "$HEARTH" -d "$B" --json import "$TMP_ROOT/a.bundle"
json_valid
same "all accepted" "$(json 'd["accepted"]')" "$N"
same "no duplicates" "$(json 'd["duplicate"]')" 0
same "none rejected" "$(json 'd["rejected"]')" 0
same "reasons empty" "$(json 'd["reasons"]')" "{}"
same "digests equal" "$(state "$B")" "$(state "$A")"
expect_ok "$HEARTH" -d "$A" read "$T" --json
A_READ=$OUT
expect_ok "$HEARTH" -d "$B" read "$T" --json
same "read --json equal" "$OUT" "$A_READ"
expect_ok "$HEARTH" -d "$A" boards --json
A_BOARDS=$OUT
expect_ok "$HEARTH" -d "$B" boards --json
same "boards --json equal" "$OUT" "$A_BOARDS"
expect_ok "$HEARTH" -d "$B" --json id
same "forum name arrived with the genesis" "$(json 'd["forum_name"]')" "Riverbend"

# Importing again: every event a duplicate, nothing changes.
snapshot "$B"
expect_ok "$HEARTH" -d "$B" import "$TMP_ROOT/a.bundle"
contains "human import counts" "$OUT" "$N events: 0 accepted, $N duplicate, 0 rejected"
unchanged "$B"

# --since: what people wrote (2 posts, 2 replies, 2 reactions) only when newer;
# the genesis, boards, profile and the retraction always go.
expect_ok "$HEARTH" -d "$A" --json export "$TMP_ROOT/none.bundle" --since 2099-01-01
same "--since a future date leaves out the 6 posts, replies and reactions" \
    "$(json 'd["events"]')" "$((N - 6))"
expect_ok "$HEARTH" -d "$A" --json export "$TMP_ROOT/week.bundle" --since 7d
same "--since 7d keeps everything made today" "$(json 'd["events"]')" "$N"
S=$(new_dir since)
expect_ok "$HEARTH" -d "$S" init --join "$FORUM"
expect_ok "$HEARTH" -d "$S" --json import "$TMP_ROOT/none.bundle"
same "a --since bundle founds a joined replica" "$(json 'd["accepted"]')" "$((N - 6))"
same "none of it rejected" "$(json 'd["rejected"]')" 0
expect_ok "$HEARTH" -d "$S" --json threads lived-experience
same "no thread came with it" "$(json 'len(d["threads"])')" 0
expect_ok "$HEARTH" -d "$S" import "$TMP_ROOT/week.bundle"
same "the next stick brings the rest" "$(state "$S")" "$(state "$A")"
expect_fail 2 "--since: give a date (YYYY-MM-DD) or days (7d), not 'yesterday'" \
    "$HEARTH" -d "$A" export "$TMP_ROOT/x.bundle" --since yesterday
expect_fail 2 "--since: give a date (YYYY-MM-DD) or days (7d), not '2026-13-40'" \
    "$HEARTH" -d "$A" export "$TMP_ROOT/x.bundle" --since 2026-13-40
check "a refused export writes nothing" ! -e "$TMP_ROOT/x.bundle"

# Through a pipe: export to stdout, import from stdin.
C=$(new_dir c)
expect_ok "$HEARTH" -d "$C" init --join "$FORUM"
LAST_CMD="export - | import -"
set +e
"$HEARTH" -d "$A" export - 2>"$TMP_ROOT/export.err" |
    "$HEARTH" -d "$C" --json import - >"$TMP_ROOT/import.out" 2>"$TMP_ROOT/import.err"
RC=$?
set -e
OUT=$(cat "$TMP_ROOT/import.out")
ERR=$(cat "$TMP_ROOT/import.err")
same "pipe import succeeded" "$RC" 0
same "pipe import accepted all" "$(json 'd["accepted"]')" "$N"
contains "export to stdout reports on stderr" "$(cat "$TMP_ROOT/export.err")" \
    "wrote $N events to standard output"
same "pipe digests equal" "$(state "$C")" "$(state "$A")"
check "no spool file left in the data dir" "$(find "$C" -name '.import-*' | wc -l)" -eq 0

# A second author on B posts; their events travel back to A.
expect_ok "$HEARTH" -d "$A" --json id
A_KEY=$(json 'd["author"]')
expect_ok "$HEARTH" -d "$B" --json id
check "B speaks with its own key" "$(json 'd["author"]')" != "$A_KEY"
expect_ok "$HEARTH" -d "$B" profile --name "heron"
post "$B" carers "From B" "Written on the second node."
BT=$ID
reply "$B" "$T" "B answers A's thread."
BR=$ID
expect_ok "$HEARTH" -d "$B" react "$T" hug
expect_ok "$HEARTH" -d "$B" export "$TMP_ROOT/b.bundle"
expect_ok "$HEARTH" -d "$A" --json import "$TMP_ROOT/b.bundle"
same "A accepts B's four new events" "$(json 'd["accepted"]')" 4
same "A already had the rest" "$(json 'd["duplicate"]')" "$N"
same "A and B agree" "$(state "$A")" "$(state "$B")"
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "B's reaction counted on A" "$(json 'd[0]["reactions"]["hug"]')" 1
same "B's reply on A" "$(json '[p["author_name"] for p in d if p["id"] == "'"$BR"'"][0]')" heron

# Only the author may change their posts: A cannot edit or retract B's.
snapshot "$A"
expect_fail 6 "you can only edit your own posts" "$HEARTH" -d "$A" edit "$BT" --body "hijacked"
expect_fail 6 "you can only edit your own posts" "$HEARTH" -d "$A" --json edit "$BR" --body "x"
expect_fail 6 "you can only retract your own posts" "$HEARTH" -d "$A" retract "$BT"
unchanged "$A"
snapshot "$B"
expect_fail 6 "you can only edit your own posts" "$HEARTH" -d "$B" edit "$T" --title "mine now"
unchanged "$B"

# B's own edit reaches A.
expect_ok "$HEARTH" -d "$B" edit "$BT" --body "Written on the second node, and edited."
expect_ok "$HEARTH" -d "$B" export "$TMP_ROOT/b2.bundle"
expect_ok "$HEARTH" -d "$A" import "$TMP_ROOT/b2.bundle"
contains "one new event" "$OUT" "1 accepted"
expect_ok "$HEARTH" -d "$A" threads carers --json
same "B's edit shows on A" "$(json 'd["threads"][0]["body"]')" "Written on the second node, and edited."
same "A and B agree after the edit" "$(state "$A")" "$(state "$B")"

# An empty forum exports and imports too.
E=$(new_dir e)
forum "$E" "Empty"
EMPTY_FORUM=$FORUM
expect_ok "$HEARTH" -d "$E" export "$TMP_ROOT/e.bundle"
F=$(new_dir f)
expect_ok "$HEARTH" -d "$F" init --join "$EMPTY_FORUM"
expect_ok "$HEARTH" -d "$F" import "$TMP_ROOT/e.bundle"
same "empty forum replicated" "$(state "$F")" "$(state "$E")"

finish
