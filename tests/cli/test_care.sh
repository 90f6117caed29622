#!/usr/bin/env bash
# test_care.sh - community care: crisis resources, roles, moderation, held and flagged
# posts, content warnings and muting, settings and search; every refusal with its exit
# code, its one-line message and an unchanged replica.
#
# One forum, five people, each with their own data directory; `mesh` carries every
# event to everyone by bundles, as USB sticks would.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

ZERO=$(printf '0%.0s' {1..64})

# author DIR - the author key of the data directory DIR.
author() {
    local save_out="$OUT" save_err="$ERR" save_rc="$RC" save_cmd="$LAST_CMD" k
    run "$HEARTH" -d "$1" --json id
    [ "$RC" -eq 0 ] || fail "cannot read the author key of $1"
    k=$(json 'd["author"]')
    OUT="$save_out" ERR="$save_err" RC="$save_rc" LAST_CMD="$save_cmd"
    echo "$k"
}

# mesh DIR... - every event of each replica to all the others, as a USB stick carried
# round twice (`hearth stick` on a fresh directory): each in turn takes in what is on
# it and leaves what it lacked, so that the last holds the union; then the others take
# in what came after them. 2n-1 runs of hearth (an export and an import per replica
# and hand-over took 3n-2; each run is a process start, slow under the sanitizers).
MESHES=0
mesh() {
    local stick d
    MESHES=$((MESHES + 1))
    stick="$TMP_ROOT/stick-$MESHES"
    mkdir "$stick"
    for d in "$@"; do
        "$HEARTH" -d "$d" stick "$stick" >/dev/null 2>&1 || fail "cannot carry the stick to $d"
    done
    for d in "${@:1:$#-1}"; do
        "$HEARTH" -d "$d" stick "$stick" >/dev/null 2>&1 || fail "cannot carry the stick back to $d"
    done
    rm -rf "$stick"
}

# status_of DIR ID - the status of post ID as DIR's author sees it ("-" when not shown).
status_of() {
    local save_out="$OUT" save_err="$ERR" save_rc="$RC" save_cmd="$LAST_CMD" s
    run "$HEARTH" -d "$1" --json read "$2"
    if [ "$RC" -eq 0 ]; then
        s=$(json '[p["status"] for p in d if p["id"] == "'"$2"'"][0]')
    else
        s=-
    fi
    OUT="$save_out" ERR="$save_err" RC="$save_rc" LAST_CMD="$save_cmd"
    echo "$s"
}

# ---- init: the crisis resources a forum starts with ----
A=$(new_dir a)
expect_ok "$HEARTH" -d "$A" init --forum "Riverbend"
contains "init says the resources are a placeholder" "$OUT" "crisis resources: a placeholder"
contains "init says how to set them" "$OUT" "hearth resources --set"
expect_ok "$HEARTH" -d "$A" resources
contains "placeholder: not a crisis service" "$OUT" "This forum is not a crisis service."
contains "placeholder: emergency number" "$OUT" "call your local emergency number"
contains "placeholder: says what is missing" "$OUT" "The founder has not set local helplines yet"
F=$(new_dir f)
expect_ok "$HEARTH" -d "$F" --json init --forum "Fernside" \
    --resources $'Lifeline 0800 543 354 (24/7)\nYouthline 0800 376 633'
same "init --resources json" "$(json 'd["resources"]')" set
expect_ok "$HEARTH" -d "$F" --json resources
json_valid
same "resources text" "$(json 'd["text"]')" $'Lifeline 0800 543 354 (24/7)\nYouthline 0800 376 633'
same "resources always say it" "$(json 'd["not_a_crisis_service"]')" "This forum is not a crisis service."
same "no on-duty yet" "$(json 'd["on_duty"]')" null
same "forum name" "$(json 'd["forum_name"]')" Fernside
expect_ok "$HEARTH" -d "$F" resources
contains "human resources: first line" "$OUT" $'Crisis resources of Fernside\n\nThis forum is not a crisis service.\nLifeline'
expect_fail 2 "--resources goes with --forum" "$HEARTH" -d "$(new_dir j)" init --join "$ZERO" \
    --resources "x"
expect_fail 4 "empty resources" "$HEARTH" -d "$(new_dir e)" init --forum E --resources " "
check "a refused init creates nothing" ! -e "$(new_dir e)/hearth.db"

# ---- five people ----
FOUNDER=$(author "$A")
expect_ok "$HEARTH" -d "$A" profile --name "Aroha"
FORUM=$("$HEARTH" -d "$A" --json id | python3 -c 'import json,sys; print(json.load(sys.stdin)["forum"])')
M=$(new_dir m)
P=$(new_dir p)
U=$(new_dir u)
V=$(new_dir v)
for d in "$M" "$P" "$U" "$V"; do
    expect_ok "$HEARTH" -d "$d" init --join "$FORUM"
done
expect_ok "$HEARTH" -d "$M" profile --name "Sam"
expect_ok "$HEARTH" -d "$P" profile --name "Dr Lee"
expect_ok "$HEARTH" -d "$U" profile --name "Kiri"
expect_ok "$HEARTH" -d "$V" profile --name "Tama"
MOD=$(author "$M")
PRO=$(author "$P")
KIRI=$(author "$U")
TAMA=$(author "$V")
mesh "$A" "$M" "$P" "$U" "$V"

# ---- the resources box at the top of threads and read ----
expect_ok "$HEARTH" -d "$U" threads welcome
contains "box on threads" "$OUT" "+-- if you need help now"
contains "box says not a crisis service" "$OUT" "| This forum is not a crisis service."
contains "box says where the rest is" "$OUT" "+-- in full: hearth resources"
BOX_LINE=$(printf '%s\n' "$OUT" | grep -n 'if you need help now' | cut -d: -f1)
BOARD_LINE=$(printf '%s\n' "$OUT" | grep -n '^welcome: ' | cut -d: -f1)
check "the box comes first" "$BOX_LINE" -lt "$BOARD_LINE"
expect_ok "$HEARTH" -d "$A" resources --set --text \
    $'Lifeline 0800 543 354 (24/7)\nSamaritans 0800 726 666\nline three\nline four\nline five' \
    --on-duty "weekdays 9am-5pm"
contains "human resources --set" "$OUT" "crisis resources set (event "
expect_ok "$HEARTH" -d "$A" --json resources --set --text "Lifeline 0800 543 354 (24/7)
Samaritans 0800 726 666
line three
line four
line five" --on-duty "weekdays 9am-5pm"
json_valid
same "resources --set json" "$(json 'd["kind"]')" resources
mesh "$A" "$U"
expect_ok "$HEARTH" -d "$U" resources --json
same "new resources reach another node" "$(json 'd["text"].splitlines()[0]')" "Lifeline 0800 543 354 (24/7)"
same "on duty" "$(json 'd["on_duty"]')" "weekdays 9am-5pm"
post "$U" welcome "Hello" "Hi all, Kiri here."
HELLO=$ID
expect_ok "$HEARTH" -d "$U" read "$HELLO"
contains "box on read" "$OUT" "| Lifeline 0800 543 354 (24/7)"
contains "box keeps to four lines" "$OUT" $'| line four\n| ...\n'
lacks "box leaves out the rest" "$OUT" "line five"
contains "box says when moderators are on duty" "$OUT" "| Moderators on duty: weekdays 9am-5pm"
expect_ok "$HEARTH" -d "$U" resources
contains "full resources have it all" "$OUT" "line five"
contains "full resources: on duty" "$OUT" "Moderators on duty: weekdays 9am-5pm"
expect_ok "$HEARTH" -d "$U" --json threads welcome
json_valid
expect_ok "$HEARTH" -d "$U" --json read "$HELLO"
json_valid

# Only the founder and admins set them.
snapshot "$U"
expect_fail 6 "hearth: resources: only the founder or an admin can set the crisis resources" \
    "$HEARTH" -d "$U" resources --set --text "my own helpline"
expect_fail 2 "--text and --on-duty go with --set" "$HEARTH" -d "$U" resources --text "x"
expect_fail 4 "empty body" "$HEARTH" -d "$U" resources --set --text " "
unchanged "$U"

# ---- roles: granted by the founder ----
expect_ok "$HEARTH" -d "$A" role list
contains "the founder is listed" "$OUT" $'Aroha ('"${FOUNDER:0:8}"$')\n  founder'
expect_ok "$HEARTH" -d "$A" role grant "$MOD" moderator
contains "human grant names role and person" "$OUT" "granted moderator to Sam (${MOD:0:8})"
expect_ok "$HEARTH" -d "$A" --json role grant "$PRO" Professional --about counsellor
json_valid
same "grant json kind" "$(json 'd["kind"]')" role
same "grant json subject" "$(json 'd["subject"] + " " + d["subject_name"]')" "$PRO Dr Lee"
same "grant json role (normalised)" "$(json 'd["role"]')" professional
same "grant json grant" "$(json 'd["grant"]')" true
same "grant json about" "$(json 'd["about"]')" counsellor
same "grant json revokes nothing" "$(json 'd["revokes"]')" "[]"
same "grant json events" "$(json 'd["events"] == [d["event"]]')" true
# A key prefix names an author this node has heard from.
expect_ok "$HEARTH" -d "$A" --json role grant "${KIRI:0:8}" "peer worker"
same "grant by key prefix" "$(json 'd["subject"]')" "$KIRI"
same "peer worker normalised" "$(json 'd["role"]')" peer-worker
PEER_GRANT=$(json 'd["event"]')
expect_ok "$HEARTH" -d "$A" role list
contains "role list: moderator" "$OUT" $'Sam ('"${MOD:0:8}"$')\n  moderator (grant '
contains "role list: professional with what it means" "$OUT" $'  professional: counsellor (grant '
same "role list: founder first, then by role" "$(printf '%s\n' "$OUT" | grep -v '^  ' | cut -d' ' -f1 | tr '\n' ' ')" \
    "Aroha Sam Dr Kiri "
expect_ok "$HEARTH" -d "$A" --json role list
json_valid
same "role list json" "$(json '{p["name"]: [r["role"] for r in p["roles"]] for p in d}')" \
    '{"Aroha": ["founder"], "Dr Lee": ["professional"], "Kiri": ["peer-worker"], "Sam": ["moderator"]}'
same "role list json grants" "$(json '[r["grants"] for p in d for r in p["roles"] if r["role"] == "peer-worker"][0]')" \
    "[\"$PEER_GRANT\"]"
same "role list json about" "$(json '[r["about"] for p in d for r in p["roles"] if r["role"] == "professional"][0]')" \
    counsellor
mesh "$A" "$M" "$P" "$U" "$V"

# Roles show beside every post, human and JSON.
reply "$P" "$HELLO" "Welcome, Kiri. I am a counsellor here."
same "roles in json" "$(json 'd["post"]["roles"]')" '["professional"]'
reply "$M" "$HELLO" "Welcome! I help moderate."
reply "$A" "$HELLO" "Kia ora, welcome."
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$V" read "$HELLO"
contains "member with a role" "$OUT" "Kiri (${KIRI:0:8}) [peer-worker]"
contains "professional, with what the grant says it means" "$OUT" "Dr Lee (${PRO:0:8}) [professional: counsellor]"
contains "moderator" "$OUT" "Sam (${MOD:0:8}) [moderator]"
contains "founder" "$OUT" "Aroha (${FOUNDER:0:8}) [founder]"
expect_ok "$HEARTH" -d "$V" --json read "$HELLO"
same "roles of each in json" "$(json '[p["roles"] for p in d]')" \
    '[["peer-worker"], ["professional"], ["moderator"], ["founder"]]'
same "what the roles mean, in json" "$(json '[p["role_about"] for p in d]')" \
    '[{}, {"professional": "counsellor"}, {}, {}]'
expect_ok "$HEARTH" -d "$V" threads welcome
contains "roles in threads" "$OUT" "Kiri (${KIRI:0:8}) [peer-worker]"

# ---- role refusals ----
snapshot "$A"
expect_fail 2 "'boss' is not a role (choose admin, moderator, professional or peer-worker)" \
    "$HEARTH" -d "$A" role grant "$MOD" boss
expect_fail 2 "'promote' is not a role command" "$HEARTH" -d "$A" role promote "$MOD" moderator
expect_fail 2 "'zz' is not an author key (4 to 64 hex digits)" \
    "$HEARTH" -d "$A" role grant zz moderator
expect_fail 2 "usage: hearth role grant KEY ROLE" "$HEARTH" -d "$A" role grant "$MOD"
expect_fail 2 "usage: hearth role revoke (KEY ROLE | GRANT_ID)" "$HEARTH" -d "$A" role revoke
expect_fail 2 "usage: hearth role list" "$HEARTH" -d "$A" role list extra
expect_fail 2 "--about goes with grant" "$HEARTH" -d "$A" role revoke "$PEER_GRANT" --about x
expect_fail 2 "--undo goes with revoke" "$HEARTH" -d "$A" role grant "$MOD" moderator --undo
expect_fail 3 "no author with that key here" "$HEARTH" -d "$A" role grant "1234abcd" admin
expect_fail 3 "no such role grant" "$HEARTH" -d "$A" role revoke "$FORUM"
expect_fail 3 "no such post or event" "$HEARTH" -d "$A" role revoke "$ZERO"
expect_fail 3 "'${TAMA:0:8}' does not hold the moderator role" \
    "$HEARTH" -d "$A" role revoke "${TAMA:0:8}" moderator
expect_fail 4 "empty about" "$HEARTH" -d "$A" role grant "$MOD" professional --about " "
expect_fail 8 "no forum in" "$HEARTH" -d "$(new_dir nowhere)" role grant "$MOD" moderator
unchanged "$A"
snapshot "$M"
expect_fail 6 "hearth: role: only the founder or an admin can grant roles" \
    "$HEARTH" -d "$M" role grant "$TAMA" moderator
expect_fail 6 "hearth: role: only the founder or an admin can revoke roles" \
    "$HEARTH" -d "$M" role revoke "$PEER_GRANT"
expect_fail 6 "only the founder or an admin can revoke roles" \
    "$HEARTH" -d "$M" role revoke "$KIRI" peer-worker
unchanged "$M"
# An admin grants roles, but only the founder makes admins.
expect_ok "$HEARTH" -d "$A" role grant "$PRO" admin
mesh "$A" "$P"
expect_ok "$HEARTH" -d "$P" role grant "$TAMA" peer-worker
snapshot "$P"
expect_fail 6 "hearth: role: only the founder can make admins" "$HEARTH" -d "$P" role grant "$TAMA" admin
unchanged "$P"

# ---- revocation: by the grant's id, or by key and role ----
expect_ok "$HEARTH" -d "$A" --json role revoke "${PEER_GRANT:0:12}"
same "revoke json" "$(json 'd["grant"]')" false
same "revoke names the grant" "$(json 'd["revokes"]')" "[\"$PEER_GRANT\"]"
same "revoke subject and role" "$(json 'd["subject"] + " " + d["role"]')" "$KIRI peer-worker"
mesh "$A" "$P"
expect_ok "$HEARTH" -d "$P" role revoke "${TAMA:0:8}" "Peer-Worker"
contains "human revoke" "$OUT" "revoked peer-worker from Tama (${TAMA:0:8}): event "
contains "human revoke names the grant" "$OUT" "(revokes grant "
expect_ok "$HEARTH" -d "$A" role revoke "$PRO" admin
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$V" --json read "$HELLO"
same "revoked roles are gone, beside every post" "$(json '[p["roles"] for p in d]')" \
    '[[], ["professional"], ["moderator"], ["founder"]]'

# ---- moderation: refusals before anything is signed ----
post "$U" lived-experience "A hard week" "Some words about it. Call me on 021 555 0199."
T=$ID
mesh "$U" "$V"
reply "$V" "$T" "Sending you support."
TR=$ID
mesh "$A" "$M" "$P" "$U" "$V"
snapshot "$M"
expect_fail 2 "'delete' is not a moderation action" "$HEARTH" -d "$M" mod delete "$T" --reason r
expect_fail 2 "say why, for the other moderators: give --reason TEXT" "$HEARTH" -d "$M" mod hide "$T"
expect_fail 2 "usage: hearth mod hide ID --reason TEXT" "$HEARTH" -d "$M" mod hide --reason r
expect_fail 2 "usage: hearth mod ban AUTHOR_KEY --reason TEXT" "$HEARTH" -d "$M" mod ban --reason r
expect_fail 2 "usage: hearth mod queue" "$HEARTH" -d "$M" mod queue "$T"
expect_fail 2 "--reason goes with an action, not with 'queue'" "$HEARTH" -d "$M" mod queue --reason r
expect_fail 4 "empty reason" "$HEARTH" -d "$M" mod hide "$T" --reason " "
expect_fail 2 "is not an id" "$HEARTH" -d "$M" mod hide xyz --reason r
expect_fail 3 "no such post or event" "$HEARTH" -d "$M" mod remove "$ZERO" --reason r
expect_fail 3 "no such post or reply" "$HEARTH" -d "$M" mod lock "$FORUM" --reason r
expect_fail 3 "no author with that key here" "$HEARTH" -d "$M" mod ban "1234abcd" --reason r
expect_fail 2 "is not an author key" "$HEARTH" -d "$M" mod ban "$T"x --reason r
unchanged "$M"

# ---- moderation: refused without the moderator role ----
for who in "$U" "$V" "$P"; do
    snapshot "$who"
    for act in hide unhide remove lock unlock pin unpin approve; do
        expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
            "$HEARTH" -d "$who" mod "$act" "$T" --reason "trying"
    done
    expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
        "$HEARTH" -d "$who" mod ban "$MOD" --reason "trying"
    expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
        "$HEARTH" -d "$who" --json mod unban "${MOD:0:8}" --reason "trying"
    expect_fail 6 "hearth: mod: only moderators see the moderation queue" \
        "$HEARTH" -d "$who" mod queue
    unchanged "$who"
done

# ---- hide and unhide ----
expect_ok "$HEARTH" -d "$M" mod hide "$TR" --reason "a reply that shares too much"
contains "human hide" "$OUT" "post ${TR:0:12} is hidden: only moderators see it now (event "
mesh "$A" "$M" "$P" "$U" "$V"
same "the moderator sees it hidden" "$(status_of "$M" "$TR")" hidden
same "the founder sees it hidden" "$(status_of "$A" "$TR")" hidden
same "a member does not see it" "$(status_of "$U" "$TR")" -
expect_ok "$HEARTH" -d "$U" --json read "$T"
same "the thread without the hidden reply" "$(json 'len(d)')" 1
expect_ok "$HEARTH" -d "$M" read "$T"
contains "moderators see why not everyone sees it" "$OUT" "[hidden by a moderator: a reply that shares too much]"
expect_ok "$HEARTH" -d "$M" --json mod unhide "$TR" --reason "talked it through"
json_valid
same "unhide json" "$(json '[d["kind"], d["action"], d["reason"], d["target"], d["subject"]]')" \
    "[\"mod\", \"unhide\", \"talked it through\", \"$TR\", null]"
same "unhide json post" "$(json 'd["post"]["status"]')" visible
mesh "$A" "$M" "$P" "$U" "$V"
same "shown again to members" "$(status_of "$U" "$TR")" visible

# ---- lock and unlock ----
expect_ok "$HEARTH" -d "$M" mod lock "${TR:0:12}" --reason "cooling off"
contains "locking a reply's id locks its thread" "$OUT" "thread ${T:0:12} is locked: no new replies"
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$V" --json read "$T"
same "locked in json" "$(json 'd[0]["locked"]')" true
expect_ok "$HEARTH" -d "$V" threads lived-experience
contains "locked in threads" "$OUT" "[locked] A hard week"
snapshot "$V"
expect_fail 6 "hearth: reply: '$T': the thread is locked" "$HEARTH" -d "$V" reply "$T" --body "one more"
expect_fail 6 "hearth: reply: '${TR:0:8}': the thread is locked" \
    "$HEARTH" -d "$V" reply "${TR:0:8}" --body "one more"
run_in "a whole reply typed for nothing" "$HEARTH" -d "$V" reply "$TR"
same "refused with a reply waiting on standard input" "$RC $ERR" "6 hearth: reply: '$TR': the thread is locked"
unchanged "$V"
expect_ok "$HEARTH" -d "$M" mod unlock "$T" --reason "calm again"
contains "human unlock" "$OUT" "thread ${T:0:12} is open for replies again"
mesh "$M" "$V"
reply "$V" "$T" "Thinking of you."

# ---- pin and unpin ----
post "$U" lived-experience "Newer thread" "Something else."
NEWER=$ID
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$V" --json threads lived-experience
same "newest activity first" "$(json 'd["threads"][0]["id"]')" "$NEWER"
expect_ok "$HEARTH" -d "$M" mod pin "$T" --reason "good support here"
contains "human pin" "$OUT" "thread ${T:0:12} is pinned to the top of its board"
mesh "$M" "$V"
expect_ok "$HEARTH" -d "$V" --json threads lived-experience
same "pinned first" "$(json '[d["threads"][0]["id"], d["threads"][0]["pinned"]]')" "[\"$T\", true]"
expect_ok "$HEARTH" -d "$V" threads lived-experience
contains "pinned in threads" "$OUT" "[pinned] A hard week"
expect_ok "$HEARTH" -d "$M" mod unpin "$T" --reason "been up a week"
mesh "$M" "$V"
expect_ok "$HEARTH" -d "$V" --json threads lived-experience
same "unpinned" "$(json '[t["pinned"] for t in d["threads"]]')" "[false, false]"

# ---- remove: the words are purged on every node ----
SECRET="phone-$RANDOM$RANDOM"
reply "$U" "$T" "You can reach me on $SECRET any time."
GONE=$ID
mesh "$A" "$M" "$P" "$U" "$V"
for d in "$A" "$M" "$V"; do
    expect_ok "$HEARTH" -d "$d" status
    check "the words are there before" "$(grep -c -a "$SECRET" "$d/hearth.db")" -gt 0
done
expect_ok "$HEARTH" -d "$M" mod remove "$GONE" --reason "shares a phone number"
contains "human remove" "$OUT" "is removed: its words are deleted here and on every node this reaches"
mesh "$A" "$M" "$P" "$U" "$V"
for d in "$A" "$M" "$P" "$U" "$V"; do
    expect_ok "$HEARTH" -d "$d" --json read "$GONE"
    same "removed on $d" "$(json '[p["status"] for p in d if p["id"] == "'"$GONE"'"][0]')" removed
    same "no body on $d" "$(json '[p["body"] for p in d if p["id"] == "'"$GONE"'"][0]')" null
    expect_ok "$HEARTH" -d "$d" status
    same "the words are gone from the database file on $d" \
        "$(grep -c -a "$SECRET" "$d/hearth.db" || true)" 0
done
expect_ok "$HEARTH" -d "$V" read "$T"
contains "removed placeholder" "$OUT" "[removed by a moderator]"

# ---- edit: the words it replaces are purged on every node ----
OLDNUM="$RANDOM$RANDOM"
OLDWORDS="pharmacy-$OLDNUM"
reply "$U" "$T" "I queued at $OLDWORDS all morning."
EDITED=$ID
mesh "$U" "$V"
sqlite3 "$V/hearth.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
check "the words are on V before the edit" "$(grep -c -a "$OLDWORDS" "$V/hearth.db")" -gt 0
expect_ok "$HEARTH" -d "$U" edit "$EDITED" --body "I queued in town all morning."
mesh "$U" "$V"
for d in "$U" "$V"; do
    expect_ok "$HEARTH" -d "$d" --json read "$EDITED"
    same "the new words on $d" "$(json '[p["body"] for p in d if p["id"] == "'"$EDITED"'"][0]')" \
        "I queued in town all morning."
    expect_ok "$HEARTH" -d "$d" --json search "$OLDNUM"
    same "search finds no old words on $d" "$(json 'len(d)')" 0
    sqlite3 "$d/hearth.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
    same "the old words are gone from the database file on $d" \
        "$(cat "$d/hearth.db" "$d/hearth.db-wal" 2>/dev/null | grep -c -a "$OLDWORDS" || true)" 0
    expect_ok "$HEARTH" -d "$d" export "$d.edited.bundle"
    same "the old words are not in $d's export" \
        "$(grep -c -a "$OLDWORDS" "$d.edited.bundle" || true)" 0
done

# ---- the log: who did what, and why ----
expect_ok "$HEARTH" -d "$A" mod log
contains "log: count" "$OUT" "7 moderation actions"
contains "log: the removal" "$OUT" "Sam (${MOD:0:8}) remove ${GONE:0:12} (event "
contains "log: its reason" "$OUT" "    reason: shares a phone number"
contains "log: in order" "$OUT" "hide ${TR:0:12}"
expect_ok "$HEARTH" -d "$M" --json mod log "${T:0:10}"
json_valid
same "log of one thread" "$(json '[x["action"] for x in d]')" '["lock", "unlock", "pin", "unpin"]'
same "log json" "$(json '[d[0]["author"], d[0]["target"], d[0]["subject"], d[0]["reason"]]')" \
    "[\"$MOD\", \"$T\", null, \"cooling off\"]"
snapshot "$V"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" "$HEARTH" -d "$V" mod log
expect_fail 2 "unexpected argument" "$HEARTH" -d "$M" mod log "$T" "$T"
expect_fail 3 "no such post or event" "$HEARTH" -d "$M" mod log "$ZERO"
unchanged "$V"

# ---- ban and unban ----
expect_ok "$HEARTH" -d "$M" mod ban "${TAMA:0:8}" --reason "repeated harassment"
contains "human ban" "$OUT" "Tama (${TAMA:0:8}) is banned from posting"
expect_ok "$HEARTH" -d "$M" --json mod ban "$TAMA" --reason "again, for the record"
same "ban json" "$(json '[d["action"], d["subject"], d["target"], d["post"]]')" \
    "[\"ban\", \"$TAMA\", null, null]"
mesh "$M" "$V"
snapshot "$V"
expect_fail 6 "hearth: post: you are banned from this forum" \
    "$HEARTH" -d "$V" post welcome --title "hi" --body "let me back"
expect_fail 6 "hearth: reply: you are banned from this forum" \
    "$HEARTH" -d "$V" reply "$T" --body "let me back"
unchanged "$V"
expect_ok "$HEARTH" -d "$M" mod unban "$TAMA" --reason "served a week"
contains "human unban" "$OUT" "Tama (${TAMA:0:8}) may post again"
mesh "$M" "$V"
post "$V" welcome "Back" "Sorry, everyone."

# ---- held posts: a new member's first posts wait for approval ----
expect_ok "$HEARTH" -d "$A" settings --hold 1
contains "human settings --hold" "$OUT" "a new member's first 1 posts wait"
W=$(new_dir w)
expect_ok "$HEARTH" -d "$W" init --join "$FORUM"
expect_ok "$HEARTH" -d "$W" profile --name "Wiremu"
WIRE=$(author "$W")
mesh "$A" "$M" "$U" "$W"
expect_ok "$HEARTH" -d "$W" post welcome --title "New here" --body "First time posting."
contains "the author is told it is held" "$OUT" "it waits for a moderator's approval"
expect_ok "$HEARTH" -d "$W" --json threads welcome
HELD=$(json '[t["id"] for t in d["threads"] if t["title"] == "New here"][0]')
same "the author sees it, held" "$(json '[t["status"] for t in d["threads"] if t["id"] == "'"$HELD"'"][0]')" held
expect_ok "$HEARTH" -d "$W" threads welcome
contains "held in threads" "$OUT" "[waiting for approval] New here"
expect_ok "$HEARTH" -d "$W" read "$HELD"
contains "held in read" "$OUT" "[waiting for a moderator's approval]"
mesh "$A" "$M" "$U" "$W"
same "members do not see it" "$(status_of "$U" "$HELD")" -
expect_ok "$HEARTH" -d "$U" search First time posting
same "search does not find held posts" "$OUT" "0 found"
same "moderators see it" "$(status_of "$M" "$HELD")" held
expect_ok "$HEARTH" -d "$M" mod queue
contains "queue: count" "$OUT" " waiting for a moderator"
contains "queue: held" "$OUT" "${HELD:0:12}  held: waiting for approval · thread in welcome"
contains "queue: who" "$OUT" "Wiremu (${WIRE:0:8})"
contains "queue: what" "$OUT" "New here"
expect_ok "$HEARTH" -d "$M" --json mod queue
json_valid
same "queue json" "$(json '[q["why"] for q in d if q["post"]["id"] == "'"$HELD"'"]')" '["held"]'
expect_ok "$HEARTH" -d "$M" mod approve "$HELD" --reason "welcome, Wiremu"
contains "human approve" "$OUT" "post ${HELD:0:12} is approved: everyone sees it now"
mesh "$A" "$M" "$U" "$W"
same "approved: members see it" "$(status_of "$U" "$HELD")" visible
expect_ok "$HEARTH" -d "$M" mod queue
lacks "approved: out of the queue" "$OUT" "${HELD:0:12}"
expect_ok "$HEARTH" -d "$W" post welcome --title "Second" --body "Now I can post freely."
lacks "the next post is not held" "$OUT" "waits for a moderator"
# The setting counts every member's first posts, so turn it off for what follows.
expect_ok "$HEARTH" -d "$A" settings --hold 0

# ---- flags from several members hide a post until a moderator looks ----
expect_ok "$HEARTH" -d "$A" settings --flags 2
post "$V" everyday-life "Selling stuff" "Buy my things at example.com"
SPAM=$ID
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$U" flag "$SPAM" --reason "advertising"
mesh "$A" "$M" "$P" "$U" "$V"
same "one flag does not hide" "$(status_of "$P" "$SPAM")" visible
expect_ok "$HEARTH" -d "$P" flag "$SPAM" --reason "spam, I think"
mesh "$A" "$M" "$P" "$U" "$V" "$W"
same "two members' flags hide it" "$(status_of "$W" "$SPAM")" -
same "moderators see it hidden" "$(status_of "$M" "$SPAM")" hidden
expect_ok "$HEARTH" -d "$M" mod queue
contains "queue: flagged" "$OUT" "${SPAM:0:12}  flagged by 2 members (hidden until a moderator looks)"
contains "queue: flag reason" "$OUT" "flag: advertising"
contains "queue: other flag reason" "$OUT" "flag: spam, I think"
expect_ok "$HEARTH" -d "$M" --json mod queue
same "queue json flagged" "$(json '[[q["why"], q["flags"], sorted(q["flag_reasons"])] for q in d]')" \
    '[["flagged", 2, ["advertising", "spam, I think"]]]'
expect_ok "$HEARTH" -d "$M" mod unhide "$SPAM" --reason "looked: it is a member's craft stall"
mesh "$A" "$M" "$P" "$U" "$V" "$W"
same "reviewed: shown again" "$(status_of "$W" "$SPAM")" visible
expect_ok "$HEARTH" -d "$M" mod queue
same "queue empty after review" "$OUT" "0 waiting for a moderator"

# ---- search: what a person may see, and nothing hidden, removed or retracted ----
post "$U" carers "Respite care" "Looking for respite care near the river crossing."
RESPITE=$ID
mesh "$U" "$P"
reply "$P" "$RESPITE" "The district nurse arranges respite; ask at the clinic."
NURSE=$ID
post "$U" carers "Old news" "The river crossing is closed for repairs."
OLD=$ID
mesh "$A" "$M" "$P" "$U" "$V"
expect_ok "$HEARTH" -d "$V" search respite
contains "search count" "$OUT" "2 found"
contains "search finds the post" "$OUT" "${RESPITE:0:12}  thread in carers · Kiri"
contains "search finds the reply, with roles" "$OUT" "${NURSE:0:12}  reply in carers · Dr Lee (${PRO:0:8}) [professional: counsellor]"
expect_ok "$HEARTH" -d "$V" --json search RIVER crossing
json_valid
same "every word, any case" "$(json 'sorted(p["id"] for p in d)')" \
    "$(python3 -c 'import sys, json; print(json.dumps(sorted(sys.argv[1:])))' "$RESPITE" "$OLD")"
expect_ok "$HEARTH" -d "$V" search "district nurse clinic"
contains "words from one argument" "$OUT" "1 found"
expect_ok "$HEARTH" -d "$V" search nothingmatchesthis
same "nothing found" "$OUT" "0 found"
expect_ok "$HEARTH" -d "$V" search '"quoted' 'AND' 'river*'
contains "search syntax is taken as words" "$OUT" "found"
expect_ok "$HEARTH" -d "$U" retract "$OLD"
expect_ok "$HEARTH" -d "$U" search repairs
same "retracted text leaves the index" "$OUT" "0 found"
expect_ok "$HEARTH" -d "$M" mod hide "$NURSE" --reason "checking the advice"
expect_ok "$HEARTH" -d "$M" search district nurse
same "hidden text leaves the index, for moderators too" "$OUT" "0 found"
mesh "$M" "$V"
expect_ok "$HEARTH" -d "$V" search district nurse
same "hidden text leaves the index on other nodes" "$OUT" "0 found"
expect_ok "$HEARTH" -d "$M" mod unhide "$NURSE" --reason "the advice is right"
expect_ok "$HEARTH" -d "$M" search district nurse
same "unhidden text comes back" "$(printf '%s' "$OUT" | head -1)" "1 found"
expect_ok "$HEARTH" -d "$M" mod remove "$NURSE" --reason "test of removal"
expect_ok "$HEARTH" -d "$M" search district nurse
same "removed text leaves the index" "$OUT" "0 found"
expect_ok "$HEARTH" -d "$M" status
same "and the database file, index and all" "$(grep -c -a "arranges" "$M/hearth.db" || true)" 0
snapshot "$V"
expect_fail 4 "hearth: search: empty search" "$HEARTH" -d "$V" search " "
expect_fail 2 "missing argument" "$HEARTH" -d "$V" search
expect_fail 4 "search must be one line" "$HEARTH" -d "$V" search $'two\nlines'
unchanged "$V"

# ---- settings: the forum's (signed) and muted warnings (this node's) ----
expect_ok "$HEARTH" -d "$A" --json settings --hold 2 --flags 3
json_valid
same "settings json" "$(json '[d["kind"], d["hold"], d["flags"]]')" '["settings", 2, 3]'
expect_ok "$HEARTH" -d "$A" settings --flags 4
contains "human settings" "$OUT" "flagged by 4 members"
expect_ok "$HEARTH" -d "$A" --json settings
same "settings in force" "$(json '[d["hold"], d["flags"]]')" "[2, 4]"
mesh "$A" "$U"
expect_ok "$HEARTH" -d "$U" settings
contains "settings reach other nodes" "$OUT" "hold:  2 (a new member's first 2 posts wait"
contains "human flags setting" "$OUT" "flags: 4 (a post flagged by 4 members is hidden"
expect_ok "$HEARTH" -d "$A" settings --hold 0
mesh "$A" "$U"
snapshot "$A"
expect_fail 2 "--hold: 'many' is not a whole number from 0 to 1000" \
    "$HEARTH" -d "$A" settings --hold many
expect_fail 2 "--flags: '1001' is not a whole number from 0 to 1000" \
    "$HEARTH" -d "$A" settings --flags 1001
expect_fail 2 "is not a whole number" "$HEARTH" -d "$A" settings --hold -1
expect_fail 2 "--mute and --unmute go alone" "$HEARTH" -d "$A" settings --mute x --hold 1
unchanged "$A"
snapshot "$U"
expect_fail 6 "hearth: settings: only the founder or an admin can change settings" \
    "$HEARTH" -d "$U" settings --hold 0
unchanged "$U"

# ---- content warnings: before the body, and muted on this node ----
post "$U" lived-experience "Dark days" "Words that could hurt to read." --cw "Self-harm, suicide"
D=$ID
expect_ok "$HEARTH" -d "$U" read "$D"
contains "read shows the warning" "$OUT" "[content warning: Self-harm, suicide]"
lacks "read folds the words under the warning" "$OUT" "Words that could hurt"
contains "read says how to open them" "$OUT" "[folded under the warning: hearth read ${D:0:12} --show]"
expect_ok "$HEARTH" -d "$U" search could hurt
lacks "search folds the words under the warning" "$OUT" "Words that could hurt"
contains "search says how to open them" "$OUT" "hearth read ${D:0:12} --show]"
expect_ok "$HEARTH" -d "$U" read "$D" --show
WARN_LINE=$(printf '%s\n' "$OUT" | grep -n '\[content warning: Self-harm, suicide\]' | cut -d: -f1)
BODY_LINE=$(printf '%s\n' "$OUT" | grep -n 'Words that could hurt' | cut -d: -f1)
check "the warning comes before the body" "$WARN_LINE" -lt "$BODY_LINE"
expect_ok "$HEARTH" -d "$U" settings --mute self-harm
contains "human mute" "$OUT" "muted 'self-harm'"
snapshot "$U"
expect_ok "$HEARTH" -d "$U" read "$D" --show
contains "the warning is still shown" "$OUT" "[content warning: Self-harm, suicide]"
contains "muted instead of the body" "$OUT" "[muted: self-harm]"
lacks "muted body not shown" "$OUT" "Words that could hurt"
lacks "muted title not shown" "$OUT" "Dark days"
expect_ok "$HEARTH" -d "$U" threads lived-experience
contains "muted in threads" "$OUT" "[content warning: Self-harm, suicide] [muted: self-harm]"
lacks "muted title not in threads" "$OUT" "Dark days"
contains "other threads not muted" "$OUT" "A hard week"
expect_ok "$HEARTH" -d "$U" search could hurt
contains "muted in search" "$OUT" "[muted: self-harm]"
lacks "muted body not in search" "$OUT" "Words that could hurt"
expect_ok "$HEARTH" -d "$U" --json read "$D"
same "json muted field" "$(json 'd[0]["muted"]')" self-harm
same "json keeps the cw" "$(json 'd[0]["cw"]')" "Self-harm, suicide"
expect_ok "$HEARTH" -d "$U" --json read "$T"
same "json muted null when not muted" "$(json 'd[0]["muted"]')" null
expect_ok "$HEARTH" -d "$U" settings --mute "SUICIDE"
expect_ok "$HEARTH" -d "$U" --json settings
same "muted list, lower case, in order" "$(json 'd["muted"]')" '["self-harm", "suicide"]'
expect_ok "$HEARTH" -d "$U" settings
contains "human settings lists muted" "$OUT" $'  self-harm\n  suicide'
# Muting is this node's own business: the replica (the forum) is unchanged.
unchanged "$U"
expect_fail 3 "'nothing': not muted here" "$HEARTH" -d "$U" settings --unmute nothing
expect_fail 4 "warning must be one line" "$HEARTH" -d "$U" settings --mute $'a\nb'
expect_ok "$HEARTH" -d "$U" settings --unmute Self-Harm
expect_ok "$HEARTH" -d "$U" settings --unmute suicide
expect_ok "$HEARTH" -d "$U" read "$D" --show
contains "unmuted body shown" "$OUT" "Words that could hurt to read."
expect_ok "$HEARTH" -d "$U" settings
contains "no muted warnings" "$OUT" "  (none)"
unchanged "$U"

# A muted warning matches whole words, not pieces of them: "ill" mutes "ILL-health"
# and "ill" but not "will", "illness" or "chill".
post "$U" lived-experience "Stormy" "The rain will pass, they say." --cw "it will get loud"
WILL=$ID
post "$U" lived-experience "Clinic" "About my mental health this year." --cw "Mental ILL-health"
ILLH=$ID
post "$U" lived-experience "Winter" "Cold and dark." --cw "illness, chill"
ILLNESS=$ID
post "$U" lived-experience "Sick" "In bed all week." --cw "feeling «ill»"
ILLQ=$ID
expect_ok "$HEARTH" -d "$U" settings --mute ill
expect_ok "$HEARTH" -d "$U" read "$WILL" --show
lacks "ill does not mute will" "$OUT" "[muted"
contains "will's words shown" "$OUT" "The rain will pass"
expect_ok "$HEARTH" -d "$U" read "$ILLNESS" --show
lacks "ill does not mute illness or chill" "$OUT" "[muted"
expect_ok "$HEARTH" -d "$U" read "$ILLH" --show
contains "ill mutes ILL-health" "$OUT" "[muted: ill]"
expect_ok "$HEARTH" -d "$U" read "$ILLQ" --show
contains "ill mutes «ill»" "$OUT" "[muted: ill]"
expect_ok "$HEARTH" -d "$U" settings --mute "mental ill"
expect_ok "$HEARTH" -d "$U" --json read "$ILLH"
same "a phrase matches as words" "$(json 'd[0]["muted"]')" "ill"
expect_ok "$HEARTH" -d "$U" settings --unmute ill
expect_ok "$HEARTH" -d "$U" --json read "$ILLH"
same "a phrase of whole words mutes" "$(json 'd[0]["muted"]')" "mental ill"
expect_ok "$HEARTH" -d "$U" settings --unmute "mental ill"

# ---- a revoked moderator's actions: kept, and --undo takes their effect away ----
expect_ok "$HEARTH" -d "$A" role grant "$KIRI" moderator
mesh "$A" "$U"
post "$V" everyday-life "Weather" "Rain again."
RAIN=$ID
mesh "$A" "$U" "$V"
expect_ok "$HEARTH" -d "$U" mod hide "$RAIN" --reason "off topic"
mesh "$A" "$U" "$V"
same "hidden by the new moderator (its author sees it so)" "$(status_of "$V" "$RAIN")" hidden
expect_ok "$HEARTH" -d "$A" role revoke "$KIRI" moderator
mesh "$A" "$U" "$V"
same "a plain revocation keeps what was done" "$(status_of "$V" "$RAIN")" hidden
snapshot "$U"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
    "$HEARTH" -d "$U" mod unhide "$RAIN" --reason "still me"
unchanged "$U"
expect_ok "$HEARTH" -d "$A" role grant "$KIRI" moderator
mesh "$A" "$U"
expect_ok "$HEARTH" -d "$U" mod pin "$RAIN" --reason "testing"
mesh "$A" "$U" "$V"
same "pinned by the moderator granted again" "$(status_of "$A" "$RAIN") $("$HEARTH" -d "$A" --json read "$RAIN" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["pinned"])')" "hidden True"
expect_ok "$HEARTH" -d "$A" --json role revoke "${KIRI:0:8}" moderator --undo
same "--undo revokes the open grant only" "$(json 'len(d["revokes"])')" 1
mesh "$A" "$M" "$U" "$V"
expect_ok "$HEARTH" -d "$M" --json read "$RAIN"
same "--undo takes away what was done under that grant" "$(json 'd[0]["pinned"]')" false
same "what the first grant's plain revocation kept stays" "$(json 'd[0]["status"]')" hidden

# ---- the care rules, made true: what a member sees of their own post ----
R=$(new_dir r1)
expect_ok "$HEARTH" -d "$R" init --forum "Rules"
RFORUM=$("$HEARTH" -d "$R" --json id | python3 -c 'import json,sys; print(json.load(sys.stdin)["forum"])')
R2=$(new_dir r2)
R3=$(new_dir r3)
R4=$(new_dir r4)
for d in "$R2" "$R3" "$R4"; do
    expect_ok "$HEARTH" -d "$d" init --join "$RFORUM"
done
expect_ok "$HEARTH" -d "$R2" profile --name "Ana"
expect_ok "$HEARTH" -d "$R" settings --flags 2
mesh "$R" "$R2" "$R3" "$R4"
post "$R2" welcome "Flag me" "Words some find hard."
RF=$ID
post "$R2" welcome "Hide me" "My number is 021 555 0100."
RH=$ID
mesh "$R" "$R2" "$R3" "$R4"
expect_ok "$HEARTH" -d "$R3" flag "$RF" --reason "worried"
expect_ok "$HEARTH" -d "$R4" flag "$RF" --reason "upsetting"
expect_ok "$HEARTH" -d "$R" mod hide "$RH" --reason "shares a phone number"
mesh "$R" "$R2" "$R3" "$R4"
same "others do not see a flagged post" "$(status_of "$R3" "$RF")" -
same "its author sees it, hidden" "$(status_of "$R2" "$RF")" hidden
expect_ok "$HEARTH" -d "$R2" read "$RF"
contains "hidden by flags, labelled so" "$OUT" "[hidden until a moderator reviews it (flagged by 2 members)]"
lacks "not labelled as a moderator's" "$OUT" "hidden by a moderator"
expect_ok "$HEARTH" -d "$R2" read "$RH"
contains "hidden by a moderator, with the reason" "$OUT" "[hidden by a moderator: shares a phone number]"
expect_ok "$HEARTH" -d "$R2" --json read "$RH"
same "json: why and the reason" "$(json '[d[0]["status"], d[0]["hidden_by"], d[0]["mod_reason"]]')" \
    '["hidden", "moderator", "shares a phone number"]'
expect_ok "$HEARTH" -d "$R" read "$RF"
contains "moderators see the flags label too" "$OUT" "(flagged by 2 members)]"
# An unhide that leaves the post hidden says so, and publishes nothing.
expect_ok "$HEARTH" -d "$R" mod ban "$(author "$R2")" --reason "cooling off"
snapshot "$R"
expect_fail 8 "hearth: mod: the post stays hidden: its author is banned" \
    "$HEARTH" -d "$R" mod unhide "$RH" --reason "looked again"
unchanged "$R"
expect_ok "$HEARTH" -d "$R" mod unban "$(author "$R2")" --reason "talked"
expect_ok "$HEARTH" -d "$R" mod unhide "$RH" --reason "looked again"
contains "an unhide that shows it" "$OUT" "is shown again"

# ---- the care rules, made true: actions that do nothing say so ----
mesh "$R" "$R2" "$R3" "$R4"
expect_ok "$HEARTH" -d "$R3" flag "$RH" --reason "a phone number"
contains "human flag output" "$OUT" "flagged ${RH:0:12} for the moderators"
snapshot "$R3"
expect_fail 8 "hearth: flag: you have already flagged this post for the moderators" \
    "$HEARTH" -d "$R3" flag "$RH" --reason "again"
unchanged "$R3"
post "$R3" welcome "Mine" "My own words."
RM=$ID
mesh "$R3" "$R4"
expect_ok "$HEARTH" -d "$R4" --json flag "$RM" --reason "checking"
same "flag json" "$(json 'd["kind"] + " " + d["target"]')" "flag $RM"
snapshot "$R3"
expect_fail 8 "hearth: flag: you cannot flag your own post" "$HEARTH" -d "$R3" flag "$RM" --reason "x"
expect_ok "$HEARTH" -d "$R3" react "$RM" hug
snapshot "$R3"
expect_fail 8 "hearth: react: you have already sent hug to this post" "$HEARTH" -d "$R3" react "$RM" Hug
unchanged "$R3"
post "$R3" welcome "Plain" "Nothing to review here."
RP=$ID
mesh "$R" "$R3"
snapshot "$R"
expect_fail 8 "hearth: mod: the post is not waiting for approval: it is neither held nor flagged" \
    "$HEARTH" -d "$R" mod approve "$RP" --reason "fine"
unchanged "$R"

# ---- the care rules, made true: names cannot pass for someone else ----
snapshot "$R4"
expect_fail 4 "hearth: profile: a name cannot hold control or bidirectional-override characters" \
    "$HEARTH" -d "$R4" profile --name $'Ana \u202e[rotaredom]'
unchanged "$R4"
expect_ok "$HEARTH" -d "$R4" profile --name "ANA"
mesh "$R" "$R2" "$R3" "$R4"
ANA=$(author "$R2")
ANA2=$(author "$R4")
expect_ok "$HEARTH" -d "$R3" read "$RH"
contains "a shared name shows more of the key" "$OUT" "Ana (${ANA:0:12})"
post "$R4" welcome "Me too" "Also Ana, or so it says."
mesh "$R3" "$R4"
expect_ok "$HEARTH" -d "$R3" threads welcome
contains "the other one too" "$OUT" "ANA (${ANA2:0:12})"

finish
