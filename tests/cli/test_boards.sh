#!/usr/bin/env bash
# test_boards.sh - adding and renaming boards from the command line: the founder adds a
# board and renames it (its threads stay with it), a member may do neither, a rename
# names a board and nothing else, and another node that takes the events by bundle
# shows the new name.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir hub)
M=$(new_dir member)
forum "$A" "Riverbend"
expect_ok "$HEARTH" -d "$M" init --join "$FORUM"

expect_ok "$HEARTH" -d "$A" --json boards add "Farm life" --about "Work, weather and stock"
BOARD=$(json 'd["event"]')
same "the add says what it made" "$(json 'd["kind"]')" board
post "$A" "Farm life" "Lambing" "First lambs this morning."
T=$ID
expect_ok "$HEARTH" -d "$A" boards rename "${BOARD:0:12}" "Farm and station life"
contains "the rename says so" "$OUT" "renamed board ${BOARD:0:12} to Farm and station life"
expect_ok "$HEARTH" -d "$A" --json boards
same "the board has its new name" \
    "$(json "[b['name'] for b in d if b['id'] == '$BOARD'][0]")" "Farm and station life"
same "and keeps what it is for" \
    "$(json "[b['about'] for b in d if b['id'] == '$BOARD'][0]")" "Work, weather and stock"
same "and its thread" "$(json "[b['threads'] for b in d if b['id'] == '$BOARD'][0]")" 1
expect_ok "$HEARTH" -d "$A" --json read "$T"
same "the thread is still in it" "$(json 'd[0]["board"]')" "$BOARD"

# Refusals: a member, a rename of what is not a board, bad usage.
expect_ok "$HEARTH" -d "$A" export "$A.bundle"
expect_ok "$HEARTH" -d "$M" import "$A.bundle"
expect_fail 6 "only the founder or an admin can create boards" \
    "$HEARTH" -d "$M" boards add "Mine"
expect_fail 6 "only the founder or an admin can rename boards" \
    "$HEARTH" -d "$M" boards rename "${BOARD:0:12}" "Mine"
expect_fail 3 "no such board" "$HEARTH" -d "$A" boards rename "${T:0:12}" "Not a board"
expect_fail 2 "give the board and its new name" "$HEARTH" -d "$A" boards rename "${BOARD:0:12}"

# The member's node, which took the rename by bundle, shows the same.
expect_ok "$HEARTH" -d "$M" --json boards
same "the other node shows the new name" \
    "$(json "[b['name'] for b in d if b['id'] == '$BOARD'][0]")" "Farm and station life"
same "both nodes show the same forum" \
    "$("$HEARTH" -d "$M" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_digest"])')" \
    "$("$HEARTH" -d "$A" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_digest"])')"
finish
