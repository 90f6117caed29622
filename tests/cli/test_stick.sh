#!/usr/bin/env bash
# test_stick.sh - hearth stick (docs/BACKUP.md, "A USB stick is a peer"): a stick
# carried A -> B -> C -> A gathers the union and brings it back; one more visit to B
# and all three show one digest; files on the stick are only ever added; a stick whose
# last file was cut short mid-write is still usable (its complete events taken, the
# rest written again by a node that has them); a leftover temporary file is ignored; a
# forged event on the stick is rejected; one stick carries two forums apart.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

STICK="$TMP_ROOT/stick"
mkdir -p "$STICK"

# visit DIR - the stick visits the node in DIR (JSON report in $OUT).
visit() {
    expect_ok "$HEARTH" -d "$1" --json stick "$STICK"
}

# files_sum - every file on the stick with its checksum, for "only ever added".
files_sum() {
    (cd "$STICK" && find . -type f -name '*.bundle' -exec sha256sum {} + | sort -k 2)
}

A=$(new_dir a)
B=$(new_dir b)
C=$(new_dir c)
forum "$A" "Riverbend"
expect_fail 3 "cannot open the stick at '$TMP_ROOT/nostick'" "$HEARTH" -d "$A" stick "$TMP_ROOT/nostick"
check "a missing stick is not made on the local disk" ! -e "$TMP_ROOT/nostick"
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
expect_ok "$HEARTH" -d "$C" init --join "$FORUM"
post "$A" welcome "From A" "Written in town A."
T=$ID

# A: an empty stick takes everything A holds.
N_A=$(value "$A" 'd["events"]' status)
visit "$A"
json_valid
same "an empty stick had nothing to read" "$(json 'd["events_read"]')" 0
same "A wrote every event it holds" "$(json 'd["events_written"]')" "$N_A"
visit "$A"
same "a second visit writes nothing" "$(json 'd["events_written"]')" 0
same "and names no file" "$(json 'd["file_written"]')" "null"
DIR=$(json 'd["dir"]')
same "the stick keeps one directory per forum" "$DIR" "$STICK/hearth/$FORUM"
check "one bundle on the stick" "$(find "$DIR" -name '*.bundle' | wc -l)" -eq 1

# B: takes A's events, then adds its own.
visit "$B"
same "B took every event of A" "$(json 'd["accepted"]')" "$N_A"
same "B had nothing the stick lacked" "$(json 'd["events_written"]')" 0
expect_ok "$HEARTH" -d "$B" profile --name "heron"
reply "$B" "$T" "Answered in town B."
BEFORE=$(files_sum)
visit "$B"
same "B wrote its two events" "$(json 'd["events_written"]')" 2
contains "what was on the stick is still there, unchanged" "$(files_sum)" "$BEFORE"

# C, then A again.
visit "$C"
same "C took A's and B's events" "$(json 'd["accepted"]')" "$((N_A + 2))"
post "$C" welcome "From C" "Written in town C."
visit "$C"
same "C wrote its post" "$(json 'd["events_written"]')" 1
visit "$A"
same "A took B's and C's events" "$(json 'd["accepted"]')" 3
same "back at A, the stick lacked nothing" "$(json 'd["events_written"]')" 0
same "A and C agree" "$(state "$A")" "$(state "$C")"
visit "$B"
same "B took C's post" "$(json 'd["accepted"]')" 1
same "A, B and C show one forum" "$(state "$B")" "$(state "$A")"

# A fresh node takes the whole union from the stick alone.
D=$(new_dir d)
expect_ok "$HEARTH" -d "$D" init --join "$FORUM"
visit "$D"
same "the stick holds the union" "$(state "$D")" "$(state "$A")"

# ---- a stick pulled out mid-write ----
# The last file is cut short (the rename happened, the data did not all reach the
# stick), and a temporary file of a write that never got renamed is left behind.
post "$A" welcome "Late" "Written just before the stick was pulled out."
reply "$A" "$ID" "And a reply to it."
reply "$A" "$ID" "And another."
visit "$A"
LAST="$DIR/$(json 'd["file_written"]')"
same "A wrote its three events" "$(json 'd["events_written"]')" 3
SIZE=$(stat -c %s "$LAST")
head -c $((SIZE - 60)) "$LAST" >"$LAST.cut"
mv "$LAST.cut" "$LAST"
head -c 100 "$LAST" >"$DIR/.20260101T000000Z-deadbeef.bundle.tmp"
E=$(new_dir e)
expect_ok "$HEARTH" -d "$E" init --join "$FORUM"
run "$HEARTH" -d "$E" --json stick "$STICK"
same "a cut-short file does not stop the stick" "$RC" 0
json_valid
contains "its file is named in a warning" "$ERR" "$(basename "$LAST"): truncated bundle"
same "one damaged file reported" "$(json 'len(d["damaged"])')" 1
TAKEN=$(json 'd["damaged"][0]["taken"]')
check "its complete events were taken" "$TAKEN" -ge 1
check "the cut one was not" "$TAKEN" -lt 3
lacks "the temporary file is not read" "$ERR" "deadbeef"
# A node that has the lost events writes them again; then E gets everything.
visit "$A"
same "A wrote again what the cut file lost" "$(json 'd["events_written"]')" $((3 - TAKEN))
visit "$E"
same "the stick is whole again" "$(state "$E")" "$(state "$A")"

# ---- a forged event on the stick ----
# A copy of C's events, the last one's signature spoiled: B holds every event, and the
# forged copy is rejected, not taken for the one held.
visit "$B"
expect_ok "$HEARTH" -d "$C" export "$TMP_ROOT/c.bundle"
rebundle "$TMP_ROOT/c.bundle" "$DIR/zz-forged.bundle" --bad-sig 1
snapshot "$B"
visit "$B"
same "the forged event was rejected" "$(json 'd["rejected"]')" 1
same "nothing new was stored" "$(json 'd["accepted"]')" 0
unchanged "$B"

# ---- two forums on one stick ----
O=$(new_dir other)
forum "$O" "Elsewhere"
visit "$O"
same "another forum reads nothing of the first" "$(json 'd["events_read"]')" 0
same "and keeps its own directory" "$(json 'd["dir"]')" "$STICK/hearth/$FORUM"
check "the first forum's files are untouched" -f "$LAST"
finish
