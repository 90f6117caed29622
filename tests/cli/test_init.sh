#!/usr/bin/env bash
# test_init.sh - founding and joining a forum, id, status, help and usage errors.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)

# Help, version and usage before any forum exists.
expect_ok "$HEARTH" --version
contains "version" "$OUT" "hearth "
expect_ok "$HEARTH" help
contains "help lists commands" "$OUT" "init"
contains "help lists exit codes" "$OUT" "exit codes"
expect_ok "$HEARTH" --help
expect_ok "$HEARTH" post --help
contains "post usage" "$OUT" "usage: hearth [-d DIR] post BOARD --title TITLE"
expect_ok "$HEARTH" help read
contains "help CMD" "$OUT" "usage: hearth [-d DIR] read"
run "$HEARTH"
same "no command is a usage error" "$RC" 2
expect_fail 2 "'frobnicate' is not a hearth command" "$HEARTH" frobnicate
expect_fail 2 "unknown option '--frob'" "$HEARTH" -d "$A" boards --frob
expect_fail 2 "unknown option '--frob'" "$HEARTH" --frob boards
expect_fail 2 "give --forum NAME" "$HEARTH" -d "$A" init
expect_fail 2 "give --forum NAME" "$HEARTH" -d "$A" init --forum x --join abcd
expect_fail 2 "a value must follow '--forum'" "$HEARTH" -d "$A" init --forum
expect_fail 2 "missing argument" "$HEARTH" -d "$A" threads
expect_fail 2 "unexpected argument 'extra'" "$HEARTH" -d "$A" boards extra
check "a usage error creates nothing" ! -e "$A"

# Found a forum.
expect_ok "$HEARTH" -d "$A" init --forum "Riverbend Peer Support" --about "for the valley"
contains "init says where" "$OUT" "founded 'Riverbend Peer Support' in $A"
contains "init prints the forum id" "$OUT" "forum id: "
check "data dir exists" -d "$A"
same "data dir is private" "$(stat -c %a "$A")" 700
same "author key is private" "$(stat -c %a "$A/author.key")" 600
same "author key is a seed" "$(stat -c %s "$A/author.key")" 32
check "database exists" -f "$A/hearth.db"

expect_ok "$HEARTH" -d "$A" --json id
json_valid
FORUM=$(json 'd["forum"]')
AUTHOR=$(json 'd["author"]')
same "forum id is 64 hex digits" "$(printf '%s' "$FORUM" | grep -cE '^[0-9a-f]{64}$')" 1
same "author key is 64 hex digits" "$(printf '%s' "$AUTHOR" | grep -cE '^[0-9a-f]{64}$')" 1
same "id shows the forum name" "$(json 'd["forum_name"]')" "Riverbend Peer Support"
same "id shows the data dir" "$(json 'd["data_dir"]')" "$A"
expect_ok "$HEARTH" -d "$A" id
contains "human id: author" "$OUT" "author: $AUTHOR"
contains "human id: forum" "$OUT" "forum:  $FORUM (Riverbend Peer Support)"

# The default boards, for the people the forum serves.
expect_ok "$HEARTH" -d "$A" boards --json
json_valid
same "five boards" "$(json 'len(d)')" 5
same "board names" "$(json '" ".join(b["name"] for b in d)')" \
    "welcome lived-experience carers information-and-advice everyday-life"
same "every board says what it is for" "$(json 'all(b["about"] for b in d)')" true
same "no threads yet" "$(json 'sum(b["threads"] for b in d)')" 0
expect_ok "$HEARTH" -d "$A" boards
contains "human boards" "$OUT" "lived-experience  (0 threads)"
contains "human boards show about" "$OUT" "For family and friends who support someone"

# Status.
expect_ok "$HEARTH" -d "$A" status --json
json_valid
same "status forum" "$(json 'd["forum"]')" "$FORUM"
same "status events: genesis, five boards and the crisis resources" "$(json 'd["events"]')" 7
same "status pending" "$(json 'd["pending"]')" 0
same "a small replica is checked whole" "$(json 'd["replica_check"]')" complete
check "status db size" "$(json 'd["db_bytes"]')" -gt 0
same "status digest" "$(json 'len(d["view_digest"])')" 64
expect_ok "$HEARTH" -d "$A" status
contains "human status" "$OUT" "7 held"

# Initialising again is refused and changes nothing.
snapshot "$A"
expect_fail 8 "already initialised" "$HEARTH" -d "$A" init --forum "Another"
expect_fail 8 "already initialised" "$HEARTH" -d "$A" init --join "$(printf 'ab%.0s' {1..32})"
unchanged "$A"

# Joining: an empty replica bound to a forum; idempotent for the same forum.
B=$(new_dir b)
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
contains "join says what next" "$OUT" "ready to join forum $FORUM"
expect_ok "$HEARTH" -d "$B" --json init --join "$FORUM"
json_valid
same "join json" "$(json 'd["joined"]')" true
expect_ok "$HEARTH" -d "$B" --json id
same "joined forum id" "$(json 'd["forum"]')" "$FORUM"
same "joined forum name not known yet" "$(json 'd["forum_name"]')" null
expect_ok "$HEARTH" -d "$B" --json boards
same "joined replica has no boards yet" "$OUT" "[]"
expect_fail 8 "already initialised" "$HEARTH" -d "$B" init --join "$(printf 'cd%.0s' {1..32})"
expect_fail 8 "already initialised" "$HEARTH" -d "$B" init --forum "Mine"
expect_fail 2 "not a forum id (64 hex digits)" "$HEARTH" -d "$(new_dir c)" init --join abcd
expect_fail 2 "not a forum id" "$HEARTH" -d "$(new_dir c)" init --join "$(printf 'zz%.0s' {1..32})"

# Names the format would refuse are refused before anything is created.
D=$(new_dir d)
expect_fail 4 "forum name too long (65 bytes, at most 64)" \
    "$HEARTH" -d "$D" init --forum "$(printf 'x%.0s' {1..65})"
expect_fail 4 "empty forum name" "$HEARTH" -d "$D" init --forum "   "
expect_fail 4 "forum name must be one line" "$HEARTH" -d "$D" init --forum $'two\nlines'
check "a refused init creates nothing" ! -e "$D"

finish
