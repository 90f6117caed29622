#!/usr/bin/env bash
# test_refusals.sh - every refusal: its exit code, its one-line message, and a replica
# that is exactly as it was (view digest and event count) after it.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
forum "$A" "Riverbend"
post "$A" lived-experience "A thread" "Some words."
T=$ID
reply "$A" "$T" "A reply."
R=$ID
expect_ok "$HEARTH" -d "$A" export "$TMP_ROOT/a.bundle"
snapshot "$A"

# ---- ids ----
expect_fail 2 "'xyz' is not an id (4 to 64 hex digits)" "$HEARTH" -d "$A" read xyz
expect_fail 2 "'abc' is not an id" "$HEARTH" -d "$A" read abc
expect_fail 2 "is not an id" "$HEARTH" -d "$A" read "${T}0"
expect_fail 2 "'12 4' is not an id" "$HEARTH" -d "$A" reply "12 4" --body x
expect_fail 2 "is not an id" "$HEARTH" -d "$A" --json edit "-" --body x
ZERO=$(printf '0%.0s' {1..64})
expect_fail 3 "'$ZERO': no such post or event" "$HEARTH" -d "$A" read "$ZERO"
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" reply "$ZERO" --body x
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" --json react "$ZERO" hug
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" flag "$ZERO" --reason r
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" retract "$ZERO"
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" edit "$ZERO" --body x
expect_ok "$HEARTH" -d "$A" boards --json
BOARD=$(json 'd[0]["id"]')
expect_fail 3 "no such post or reply" "$HEARTH" -d "$A" read "$BOARD"
expect_fail 3 "no such post or reply" "$HEARTH" -d "$A" reply "${BOARD:0:10}" --body x
expect_fail 3 "no such post or reply" "$HEARTH" -d "$A" read "$FORUM"
unchanged "$A"

# ---- boards ----
expect_fail 3 "'nowhere': no such board (see 'hearth boards')" "$HEARTH" -d "$A" threads nowhere
expect_fail 3 "'nowhere': no such board" "$HEARTH" -d "$A" post nowhere --title t --body b
expect_fail 3 "no such board" "$HEARTH" -d "$A" --json threads "$ZERO"
unchanged "$A"

# ---- text ----
expect_fail 4 "post: empty body" "$HEARTH" -d "$A" post welcome --title t --body ""
expect_fail 4 "post: empty body" "$HEARTH" -d "$A" post welcome --title t --body $'  \n\t \n'
run_in "" "$HEARTH" -d "$A" post welcome --title t
same "empty stdin: exit" "$RC" 4
contains "empty stdin: message" "$ERR" "hearth: post: empty body"
expect_fail 4 "reply: empty body" "$HEARTH" -d "$A" reply "$T" --body " "
expect_fail 4 "edit: empty body" "$HEARTH" -d "$A" edit "$T" --body " "
BIG=$(head -c 60001 /dev/zero | tr '\0' 'a')
expect_fail 4 "post: body too long (60001 bytes, at most 60000)" \
    "$HEARTH" -d "$A" post welcome --title t --body "$BIG"
run_in "$BIG" "$HEARTH" -d "$A" reply "$T"
same "oversize stdin: exit" "$RC" 4
contains "oversize stdin: message" "$ERR" "hearth: reply: body too long (60001 bytes, at most 60000)"
run_in "$(head -c 5000000 /dev/zero | tr '\0' 'a')" "$HEARTH" -d "$A" post welcome --title t
same "huge body on stdin: exit" "$RC" 4
contains "huge body on stdin: message" "$ERR" "hearth: post: body too long (over 4194304 bytes, at most 60000)"
expect_fail 4 "post: body is not valid UTF-8" "$HEARTH" -d "$A" post welcome --title t --body $'bad \xff\xfe bytes'
expect_fail 4 "body is not valid UTF-8" "$HEARTH" -d "$A" reply "$T" --body $'overlong \xc0\xaf'
expect_fail 4 "body is not valid UTF-8" "$HEARTH" -d "$A" reply "$T" --body $'surrogate \xed\xa0\x80'
expect_fail 4 "body is not valid UTF-8" "$HEARTH" -d "$A" reply "$T" --body $'cut \xe2\x82'
printf 'nul \0 inside' >"$TMP_ROOT/nul.txt"
run_from "$TMP_ROOT/nul.txt" "$HEARTH" -d "$A" reply "$T"
same "NUL byte: exit" "$RC" 4
contains "NUL byte: message" "$ERR" "body contains a NUL byte"
expect_fail 4 "title too long (301 bytes, at most 300)" \
    "$HEARTH" -d "$A" post welcome --title "$(printf 't%.0s' {1..301})" --body b
expect_fail 4 "empty title" "$HEARTH" -d "$A" post welcome --title " " --body b
expect_fail 4 "title must be one line" "$HEARTH" -d "$A" post welcome --title $'a\nb' --body b
expect_fail 4 "title is not valid UTF-8" "$HEARTH" -d "$A" post welcome --title $'\xff' --body b
expect_fail 4 "content warning too long" \
    "$HEARTH" -d "$A" post welcome --title t --body b --cw "$(printf 'w%.0s' {1..1001})"
expect_fail 4 "empty reason" "$HEARTH" -d "$A" flag "$T" --reason ""
expect_fail 2 "a thread needs a title" "$HEARTH" -d "$A" post welcome --body b
expect_fail 2 "a reply has no title" "$HEARTH" -d "$A" edit "$R" --title "t"
expect_fail 2 "--cw and --no-cw do not go together" "$HEARTH" -d "$A" edit "$R" --cw w --no-cw
unchanged "$A"
# The longest body that fits is accepted (and changes the replica).
MAX=$(head -c 60000 /dev/zero | tr '\0' 'b')
expect_ok "$HEARTH" -d "$A" post welcome --title "longest" --body "$MAX"
snapshot "$A"

# ---- reactions ----
expect_fail 2 "'like' is not a reaction (choose support, thinking-of-you, this-helped, me-too or hug)" \
    "$HEARTH" -d "$A" react "$T" like
expect_fail 2 "is not a reaction" "$HEARTH" -d "$A" --json react "$T" ""
expect_fail 2 "give the post's id and a reaction" "$HEARTH" -d "$A" react "$T"
unchanged "$A"

# ---- bundles: every bundle-level problem stores nothing ----
SIZE=$(stat -c %s "$TMP_ROOT/a.bundle")
B=$(new_dir b)
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
snapshot "$B"
head -c $((SIZE - 10)) "$TMP_ROOT/a.bundle" >"$TMP_ROOT/truncated.bundle"
expect_fail 4 "truncated.bundle: truncated bundle" "$HEARTH" -d "$B" import "$TMP_ROOT/truncated.bundle"
head -c $((SIZE / 2)) "$TMP_ROOT/a.bundle" >"$TMP_ROOT/half.bundle"
expect_fail 4 "half.bundle: " "$HEARTH" -d "$B" import "$TMP_ROOT/half.bundle"
head -c $((SIZE - 34)) "$TMP_ROOT/a.bundle" >"$TMP_ROOT/no-trailer.bundle"
expect_fail 4 "truncated bundle" "$HEARTH" -d "$B" --json import "$TMP_ROOT/no-trailer.bundle"
# flip_byte FILE OFFSET: invert every bit of one byte (writing a fixed value was no
# change when the byte already held it: 1 run in 256 passed a bundle that was intact).
flip_byte() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\x$(printf %02x $((byte ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp "$TMP_ROOT/a.bundle" "$TMP_ROOT/corrupt.bundle"
flip_byte "$TMP_ROOT/corrupt.bundle" $((SIZE - 100))
expect_fail 4 "corrupt.bundle: " "$HEARTH" -d "$B" import "$TMP_ROOT/corrupt.bundle"
cp "$TMP_ROOT/a.bundle" "$TMP_ROOT/trailing.bundle"
printf 'x' >>"$TMP_ROOT/trailing.bundle"
expect_fail 4 "trailing bytes after bundle" "$HEARTH" -d "$B" import "$TMP_ROOT/trailing.bundle"
head -c 4096 /dev/urandom >"$TMP_ROOT/garbage"
expect_fail 4 "garbage: not a hearth bundle" "$HEARTH" -d "$B" import "$TMP_ROOT/garbage"
: >"$TMP_ROOT/empty"
expect_fail 4 "empty: not a hearth bundle" "$HEARTH" -d "$B" import "$TMP_ROOT/empty"
expect_fail 4 "standard input: not a hearth bundle" \
    bash -c "echo 'not a bundle' | \"$HEARTH\" -d \"$B\" import -"
expect_fail 3 "cannot open '$TMP_ROOT/nothing-here'" "$HEARTH" -d "$B" import "$TMP_ROOT/nothing-here"
expect_fail 2 "is not a file" "$HEARTH" -d "$B" import "$TMP_ROOT"
# A damaged byte after the checked part of a bundle is still caught: the trailer's
# checksum covers every byte before it.
cp "$TMP_ROOT/a.bundle" "$TMP_ROOT/bad-sum.bundle"
flip_byte "$TMP_ROOT/bad-sum.bundle" $((SIZE - 1))
expect_fail 4 "bundle checksum mismatch" "$HEARTH" -d "$B" import "$TMP_ROOT/bad-sum.bundle"

# Another forum's bundle.
O=$(new_dir other)
OURS=$FORUM
forum "$O" "Elsewhere"
OTHER=$FORUM
FORUM=$OURS
post "$O" welcome "Elsewhere" "Another forum's words."
expect_ok "$HEARTH" -d "$O" export "$TMP_ROOT/other.bundle"
expect_fail 4 "other.bundle: bundle is for another forum (${OTHER:0:12})" \
    "$HEARTH" -d "$B" import "$TMP_ROOT/other.bundle"
expect_fail 4 "bundle is for another forum" "$HEARTH" -d "$A" import "$TMP_ROOT/other.bundle"
# ... and one that claims to be ours but holds the other forum's events: the bundle
# is intact, so each event is judged, and refused, by itself.
rebundle "$TMP_ROOT/other.bundle" "$TMP_ROOT/claims-ours.bundle" --forum "$FORUM"
expect_ok "$HEARTH" -d "$B" --json import "$TMP_ROOT/claims-ours.bundle"
same "nothing of another forum accepted" "$(json 'd["accepted"]')" 0
same "every event rejected" "$(json 'd["rejected"]')" "$(json 'd["events"]')"
unchanged "$B"
unchanged "$A"

# Per-event outcomes, grouped: spoiled signatures and a stranger among good events.
rebundle "$TMP_ROOT/a.bundle" "$TMP_ROOT/mixed.bundle" --bad-sig 2
rebundle "$TMP_ROOT/mixed.bundle" "$TMP_ROOT/mixed.bundle" --add "$TMP_ROOT/other.bundle"
expect_ok "$HEARTH" -d "$B" --json import "$TMP_ROOT/mixed.bundle"
json_valid
REJECTED=$(json 'd["rejected"]')
check "spoiled and foreign events rejected" "$REJECTED" -ge 3
same "reasons add up" "$(json 'sum(d["reasons"].values())')" "$REJECTED"
expect_ok "$HEARTH" -d "$(new_dir b2)" init --join "$FORUM"
expect_ok "$HEARTH" -d "$TMP_ROOT/b2" import "$TMP_ROOT/mixed.bundle"
contains "human import groups reasons" "$OUT" "$REJECTED rejected: "
contains "human import names the reason" "$OUT" "(2)"

# ---- an ambiguous id prefix ----
# A forum of 1000 events made by bench_genbundle and imported (two hearth runs; one
# `hearth reply` per event until two shared their first four hex digits took about
# 300, each a process start, slow under the sanitizers), then a prefix two of its
# event ids share: among 1000 ids there is one (the birthday bound over 65536
# prefixes; the seed is fixed, so it is always the same one).
AMB=$(new_dir ambiguous)
AMB_FORUM=$("$HEARTH_BUILD/bench_genbundle" --events 1000 --seed 7 "$TMP_ROOT/ambiguous.bundle")
expect_ok "$HEARTH" -d "$AMB" init --join "$AMB_FORUM"
expect_ok "$HEARTH" -d "$AMB" --json import "$TMP_ROOT/ambiguous.bundle"
same "every generated event taken" "$(json 'd["accepted"]')" "$(json 'd["events"]')"
PREFIX=$(python3 - "$AMB/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
seen = set()
for (i,) in db.execute("select lower(hex(id)) from events"):
    if i[:4] in seen:
        print(i[:4])
        break
    seen.add(i[:4])
PY
)
check "found two ids with one prefix" -n "$PREFIX"
snapshot "$AMB"
expect_fail 2 "'$PREFIX': ambiguous id, give more digits" "$HEARTH" -d "$AMB" read "$PREFIX"
expect_fail 2 "ambiguous id" "$HEARTH" -d "$AMB" reply "$PREFIX" --body "x"
expect_fail 2 "ambiguous id" "$HEARTH" -d "$AMB" --json react "$PREFIX" hug
unchanged "$AMB"

finish
