#!/usr/bin/env bash
# test_posts.sh - post, reply, read, threads, edit, retract, react, flag, profile, and
# --json on every command that reads.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
forum "$A" "Riverbend"
expect_ok "$HEARTH" -d "$A" --json id
ME=$(json 'd["author"]')

# Profile: none yet, then a pseudonym.
expect_ok "$HEARTH" -d "$A" profile
contains "no pseudonym yet" "$OUT" "no pseudonym yet"
expect_ok "$HEARTH" -d "$A" profile --json
json_valid
same "no name in json" "$(json 'd["name"]')" null
expect_ok "$HEARTH" -d "$A" profile --name "river otter" --about "carer, 3 years"
contains "profile set" "$OUT" "name:  river otter"
expect_ok "$HEARTH" -d "$A" profile --json
same "profile name" "$(json 'd["name"]')" "river otter"
same "profile about" "$(json 'd["about"]')" "carer, 3 years"
same "profile author" "$(json 'd["author"]')" "$ME"
expect_ok "$HEARTH" -d "$A" profile --about "carer, 4 years"
expect_ok "$HEARTH" -d "$A" profile --json
same "about changed, name kept" "$(json 'd["name"] + "|" + d["about"]')" "river otter|carer, 4 years"
expect_ok "$HEARTH" -d "$A" profile --no-about
expect_ok "$HEARTH" -d "$A" profile --json
same "about removed" "$(json 'd["about"]')" null
expect_fail 4 "name too long" "$HEARTH" -d "$A" profile --name "$(printf 'n%.0s' {1..65})"
expect_fail 4 "empty name" "$HEARTH" -d "$A" profile --name ""

# A thread, from --body and from standard input.
post "$A" lived-experience "Bad week" "Struggling to get out of bed this week." --cw "low mood"
T=$ID
same "post json target is the board" "$(json 'd["kind"]')" post
same "post json carries the post" "$(json 'd["post"]["id"]')" "$T"
same "post title" "$(json 'd["post"]["title"]')" "Bad week"
same "post cw" "$(json 'd["post"]["cw"]')" "low mood"
same "post author name" "$(json 'd["post"]["author_name"]')" "river otter"
same "post board name" "$(json 'd["post"]["board_name"]')" "lived-experience"
same "post depth" "$(json 'd["post"]["depth"]')" 0
same "post parent" "$(json 'd["post"]["parent"]')" null
same "post thread is itself" "$(json 'd["post"]["thread"]')" "$T"
same "post status" "$(json 'd["post"]["status"]')" visible
same "post edited" "$(json 'd["post"]["edited"]')" null
run_in $'Line one of a post from stdin.\nLine two.\n\n' "$HEARTH" -d "$A" post carers --title "From stdin"
same "post from stdin" "$RC" 0
contains "human post output" "$OUT" "posted "
contains "human post output names the board" "$OUT" " in carers"
S=$(printf '%s' "$OUT" | awk '{print $2}')
same "human output shows 12 digits" "${#S}" 12

# Replies, nested.
reply "$A" "$T" "You are not alone. Small steps."
R1=$ID
same "reply kind" "$(json 'd["kind"]')" reply
same "reply parent" "$(json 'd["post"]["parent"]')" "$T"
same "reply depth" "$(json 'd["post"]["depth"]')" 1
reply "$A" "${R1:0:12}" "Thank you, that helps." --cw "mentions medication"
R2=$ID
same "nested reply depth" "$(json 'd["post"]["depth"]')" 2
same "nested reply thread" "$(json 'd["post"]["thread"]')" "$T"
run_in "A reply from stdin" "$HEARTH" -d "$A" reply "${T:0:8}"
same "reply from stdin" "$RC" 0
contains "human reply output" "$OUT" "replied "

# read: the thread in order, indented, warnings before bodies, which stay folded until
# --show opens them.
expect_ok "$HEARTH" -d "$A" read "${T:0:6}"
lacks "read folds a warned body" "$OUT" "Struggling to get out of bed"
contains "read folds it under the warning" "$OUT" $'[content warning: low mood]\n[folded under the warning: hearth read '"${T:0:12}"' --show]'
expect_ok "$HEARTH" -d "$A" read "${T:0:6}" --show
contains "read title" "$OUT" "Bad week"
contains "read board" "$OUT" "in lived-experience"
contains "read author" "$OUT" "river otter (${ME:0:8})"
contains "read body" "$OUT" "Struggling to get out of bed"
WARN_LINE=$(printf '%s\n' "$OUT" | grep -n '\[content warning: low mood\]' | cut -d: -f1)
BODY_LINE=$(printf '%s\n' "$OUT" | grep -n 'Struggling to get out' | cut -d: -f1)
check "content warning before the body" "$WARN_LINE" -lt "$BODY_LINE"
contains "reply indented by depth" "$OUT" "    river otter"
contains "nested reply indented twice" "$OUT" $'        [content warning: mentions medication]\n        Thank you'
expect_ok "$HEARTH" -d "$A" read "$T" --json
json_valid
same "read json: post and three replies" "$(json 'len(d)')" 4
same "read json order" "$(json '[p["id"] for p in d][:3] == ["'"$T"'", "'"$R1"'", "'"$R2"'"]')" true
same "read json depths" "$(json '[p["depth"] for p in d]')" "[0, 1, 2, 1]"
same "read json replies count" "$(json 'd[0]["replies"]')" 3
expect_ok "$HEARTH" -d "$A" read "${R2:0:10}" --json
same "reading a reply opens its thread" "$(json 'd[0]["id"]')" "$T"

# threads.
expect_ok "$HEARTH" -d "$A" threads lived-experience
contains "threads lists the title" "$OUT" "Bad week"
contains "threads shows the warning first" "$OUT" "[content warning: low mood] Bad week"
contains "threads counts replies" "$OUT" "3 replies"
expect_ok "$HEARTH" -d "$A" threads LIVED-EXPERIENCE --json
json_valid
same "threads json" "$(json '[t["id"] for t in d["threads"]]')" "[\"$T\"]"
same "one page: no next" "$(json 'd["next"]')" null
expect_ok "$HEARTH" -d "$A" boards --json
BOARD=$(json '[b["id"] for b in d if b["name"] == "carers"][0]')
same "board thread count" "$(json '[b["threads"] for b in d if b["name"] == "carers"][0]')" 1
expect_ok "$HEARTH" -d "$A" threads "${BOARD:0:8}" --json
same "board by id prefix" "$(json 'd["threads"][0]["title"]')" "From stdin"
same "stdin body kept, trailing blank lines dropped" "$(json 'd["threads"][0]["body"]')" \
    $'Line one of a post from stdin.\nLine two.'

# edit: new words, the edited time, the title and warning carried over or changed.
expect_ok "$HEARTH" -d "$A" --json edit "$R1" --body "You are not alone. One step at a time."
same "edit json kind" "$(json 'd["kind"]')" edit
same "edit json target" "$(json 'd["target"]')" "$R1"
same "edited text" "$(json 'd["post"]["body"]')" "You are not alone. One step at a time."
check "edited time set" "$(json 'd["post"]["edited"]')" != null
expect_ok "$HEARTH" -d "$A" edit "$T" --title "A bad week"
contains "human edit output" "$OUT" "edited ${T:0:12}"
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "title changed" "$(json 'd[0]["title"]')" "A bad week"
same "body kept on title edit" "$(json 'd[0]["body"]')" "Struggling to get out of bed this week."
same "cw kept on title edit" "$(json 'd[0]["cw"]')" "low mood"
expect_ok "$HEARTH" -d "$A" edit "$T" --no-cw
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "cw removed" "$(json 'd[0]["cw"]')" null
same "title kept" "$(json 'd[0]["title"]')" "A bad week"
run_in "Edited from stdin." "$HEARTH" -d "$A" edit "$R2"
same "edit from stdin" "$RC" 0
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "edit from stdin applied" "$(json 'd[2]["body"]')" "Edited from stdin."
same "edit keeps reply cw" "$(json 'd[2]["cw"]')" "mentions medication"
expect_ok "$HEARTH" -d "$A" read "$T"
contains "human read marks edits" "$OUT" "· edited ·"
expect_fail 2 "a reply has no title" "$HEARTH" -d "$A" edit "$R1" --title "x"
expect_fail 2 "nothing to change" "$HEARTH" -d "$A" edit "$R1" --body "You are not alone. One step at a time."

# react: supportive reactions, counted.
expect_ok "$HEARTH" -d "$A" react "$T" support
contains "human react output" "$OUT" "sent support to ${T:0:12}"
expect_ok "$HEARTH" -d "$A" react "$T" "Thinking of you"
expect_ok "$HEARTH" -d "$A" react "$T" hug --json
json_valid
same "react json" "$(json 'd["post"]["reactions"]')" \
    '{"hug": 1, "me-too": 0, "support": 1, "thinking-of-you": 1, "this-helped": 0}'
snapshot "$A"
expect_fail 8 "hearth: react: you have already sent support to this post" \
    "$HEARTH" -d "$A" react "$T" support
unchanged "$A"
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "one reaction per person and kind" "$(json 'd[0]["reactions"]["support"]')" 1
expect_ok "$HEARTH" -d "$A" read "$T"
contains "human reactions" "$OUT" "hug 1"
expect_ok "$HEARTH" react --list
same "react --list" "$OUT" $'support\nthinking-of-you\nthis-helped\nme-too\nhug'
expect_ok "$HEARTH" react --list --json
json_valid

# flag: for other members' posts (test_care.sh flags them); one's own is refused.
snapshot "$A"
expect_fail 8 "hearth: flag: you cannot flag your own post" \
    "$HEARTH" -d "$A" flag "$R2" --reason "mentions a dose"
expect_fail 8 "you cannot flag your own post" "$HEARTH" -d "$A" --json flag "$R1" --reason "x"
unchanged "$A"
expect_fail 2 "give --reason TEXT" "$HEARTH" -d "$A" flag "$R1"

# retract: the words go (null in JSON, gone from read) and, with secure_delete and
# the write-ahead log checkpointed, from the database file.
SECRET="my-secret-words-$RANDOM$RANDOM"
post "$A" welcome "Hello" "Introducing myself: $SECRET"
P=$ID
expect_ok "$HEARTH" -d "$A" edit "$P" --body "Introducing myself again: $SECRET, edited"
expect_ok "$HEARTH" -d "$A" status
check "the words are in the database before" "$(grep -c -a "$SECRET" "$A/hearth.db")" -gt 0
expect_ok "$HEARTH" -d "$A" retract "${P:0:12}"
contains "human retract output" "$OUT" "retracted ${P:0:12}"
expect_ok "$HEARTH" -d "$A" read "$P" --json
same "retracted body is null" "$(json 'd[0]["body"]')" null
same "retracted status" "$(json 'd[0]["status"]')" retracted
expect_ok "$HEARTH" -d "$A" read "$P"
contains "retracted placeholder" "$OUT" "[retracted by its author]"
lacks "retracted words gone from read" "$OUT" "$SECRET"
expect_ok "$HEARTH" -d "$A" threads welcome
lacks "retracted words gone from threads" "$OUT" "$SECRET"
expect_ok "$HEARTH" -d "$A" status
check "no write-ahead log left after a command" ! -s "$A/hearth.db-wal"
same "the words are gone from the database file" "$(grep -c -a "$SECRET" "$A/hearth.db" || true)" 0
expect_fail 8 "already retracted" "$HEARTH" -d "$A" retract "$P"
expect_fail 8 "retracted, there is nothing to edit" "$HEARTH" -d "$A" edit "$P" --body "again"

# A reaction can be taken back too.
expect_ok "$HEARTH" -d "$A" --json react "$R1" me-too
RE=$(json 'd["event"]')
same "reaction counted" "$(json 'd["post"]["reactions"]["me-too"]')" 1
expect_ok "$HEARTH" -d "$A" --json retract "$RE"
same "retract of a reaction has no post" "$(json 'd["post"]')" null
expect_ok "$HEARTH" -d "$A" read "$T" --json
same "reaction taken back" "$(json 'd[1]["reactions"]["me-too"]')" 0

# Every reading command gives valid JSON, and so does every writing command.
for cmd in "id" "status" "boards" "profile" "threads welcome" "threads carers" "read $T" \
    "read $P" "react --list"; do
    # shellcheck disable=SC2086
    expect_ok "$HEARTH" -d "$A" --json $cmd
    json_valid
    # shellcheck disable=SC2086
    expect_ok "$HEARTH" -d "$A" $cmd --json
    json_valid
done

# Listings page: --limit N, then --before with the cursor the page ended with; every
# thread once, in the order of the whole list.
for i in 1 2 3 4 5; do post "$A" everyday-life "Paged $i" "words $i"; done
expect_ok "$HEARTH" -d "$A" --json threads everyday-life
ALL=$(json '[t["id"] for t in d["threads"]]')
SEEN="[]"
CUR=""
while :; do
    if [ -z "$CUR" ]; then
        expect_ok "$HEARTH" -d "$A" --json threads everyday-life --limit 2
    else
        expect_ok "$HEARTH" -d "$A" --json threads everyday-life --limit 2 --before "$CUR"
    fi
    SEEN=$(python3 -c 'import json, sys
print(json.dumps(json.loads(sys.argv[1]) + [t["id"] for t in json.loads(sys.argv[2])["threads"]],
                 sort_keys=True))' "$SEEN" "$OUT")
    CUR=$(json 'd["next"] or ""')
    [ -n "$CUR" ] || break
done
same "threads page through, each once, in order" "$SEEN" "$ALL"
expect_ok "$HEARTH" -d "$A" threads everyday-life --limit 2
contains "a page says how to see the next" "$OUT" "more: hearth threads everyday-life --limit 2 --before "
expect_ok "$HEARTH" -d "$A" read "$T" --limit 1
contains "a thread pages too" "$OUT" "more: hearth read $T --limit 1 --before "
NEXT=$(printf '%s\n' "$OUT" | sed -n 's/^more: .* --before //p')
expect_ok "$HEARTH" -d "$A" --json read "$T" --limit 1 --before "$NEXT"
same "the next page of a thread starts with its first reply" "$(json 'd[0]["id"]')" "$R1"
expect_fail 2 "hearth: threads: --limit: give a number from 1 to 1000, not '0'" \
    "$HEARTH" -d "$A" threads everyday-life --limit 0
expect_fail 2 "is not a place in this list" "$HEARTH" -d "$A" threads everyday-life --before x

# Text from the forum cannot drive the terminal.
post "$A" everyday-life $'Escape \e[31mred' $'Bell \a and \e]0;title\a escape'
expect_ok "$HEARTH" -d "$A" read "$ID"
lacks "no escape character reaches the terminal" "$OUT" $'\e'
lacks "no bell reaches the terminal" "$OUT" $'\a'
expect_ok "$HEARTH" -d "$A" read "$ID" --json
json_valid
same "json keeps the text exactly" "$(json 'd[0]["body"]')" $'Bell \a and \e]0;title\a escape'

finish
