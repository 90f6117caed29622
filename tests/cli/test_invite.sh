#!/usr/bin/env bash
# test_invite.sh - `hearth invite`: a founder makes invites and lists and revokes them;
# a member without a role is refused with exit 6 and one line; nothing of it changes
# the forum. Then joining by link: a hub that serves prints a join link with its real
# places, as text, as a terminal QR code and on an SVG poster (both read back by
# zbarimg, a decoder other than the encoder); a second node joins with the link alone
# and holds what the hub holds; a malformed link or a bare node address is refused
# with one line and nothing made; `hearth id` makes no keys.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir a)
forum "$A" "Riverbend"
snapshot "$A"

expect_ok "$HEARTH" -d "$A" --json invite
json_valid
CODE=$(json 'd["code"]')
check "a code of 16 symbols" "${#CODE}" -eq 16
[[ "$CODE" =~ ^[2-9A-HJKMNP-Z]{16}$ ]] || fail "code '$CODE' uses an ambiguous symbol"
pass
EXPIRES=$(json 'd["expires"]')
expect_ok "$HEARTH" -d "$A" invite --expires 1
OTHER=$(printf '%s\n' "$OUT" | head -n 1)
contains "expiry shown" "$OUT" "expires "

expect_ok "$HEARTH" -d "$A" invite --list
contains "list: first code" "$OUT" "$CODE"
contains "list: second code" "$OUT" "$OTHER"
contains "list: open" "$OUT" "open"
expect_ok "$HEARTH" -d "$A" --json invite --list
same "list: two" "$(json 'len(d)')" 2
same "list: newest first" "$(json 'd[1]["code"]')" "$CODE"
same "list: expires" "$(json 'd[1]["expires"]')" "$EXPIRES"
same "list: state" "$(json 'd[1]["state"]')" "open"

# Revoking, as a person types it: lower case, in groups.
TYPED=$(printf '%s' "${OTHER:0:4}-${OTHER:4:4}-${OTHER:8:4}-${OTHER:12:4}" | tr 'A-Z' 'a-z')
expect_ok "$HEARTH" -d "$A" invite --revoke "$TYPED"
expect_ok "$HEARTH" -d "$A" --json invite --list
same "revoked" "$(json '[i["state"] for i in d if i["code"] == "'"$OTHER"'"][0]')" "revoked"
expect_fail 3 "no invite code" "$HEARTH" -d "$A" invite --revoke 23456789ABCDEFGH
expect_fail 2 "--expires: give whole days" "$HEARTH" -d "$A" invite --expires 0
expect_fail 2 "--expires: give whole days" "$HEARTH" -d "$A" invite --expires 3x
expect_fail 2 "give one of" "$HEARTH" -d "$A" invite --list --revoke "$CODE"
# Invites are the hub's, not the forum's.
unchanged "$A"

# A member without a role.
B=$(new_dir b)
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
expect_fail 6 "hearth: invite: only the founder, admins and moderators can make invites" \
    "$HEARTH" -d "$B" invite
expect_fail 6 "can make invites" "$HEARTH" -d "$B" --json invite --expires 3
expect_ok "$HEARTH" -d "$B" --json invite --list
same "no invites made" "$(json 'len(d)')" 0

# ---- joining by link ----
command -v zbarimg >/dev/null || fail "needs zbarimg (Debian's zbar-tools: scripts/deps)"
QR="python3 $(dirname "$0")/../tools/qr_decode.py"
expect_ok "$HEARTH" -d "$A" resources --set --text "Lifeline 0800 543 354 (24/7) & <Samaritans> 116 123"
post "$A" welcome "Hello from the hub" "The hub's first words."
HUB_POST=$ID
WEB_PORT=$(free_port)
NODE_PORT=$(free_port)
"$HEARTH" -d "$A" serve --listen "tcp://127.0.0.1:$NODE_PORT" --no-discovery \
    --web "127.0.0.1:$WEB_PORT" >"$TMP_ROOT/hub.log" 2>&1 &
HUB=$!
on_exit "ours $HUB && kill $HUB; wait $HUB"
end=$((SECONDS + 120))
until "$HEARTH" -d "$A" --json status 2>/dev/null | grep -q '"pid": *[0-9]'; do
    ours "$HUB" || fail "the hub exited: $(cat "$TMP_ROOT/hub.log")"
    [ $SECONDS -lt $end ] || fail "no node status after 120 s"
    sleep 0.1
done
NODE_KEY=$(value "$A" 'd["node_key"]' id)

expect_ok "$HEARTH" -d "$A" --json invite --poster "$TMP_ROOT/poster.svg"
LINK=$(json 'd["link"]')
LCODE=$(json 'd["code"]')
same "link: the running node's place, its key, the forum, the code" "$LINK" \
    "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT/$FORUM?invite=$LCODE"
same "link: from the running node" "$(json 'd["running"]')" true
same "phones: the web pages' real port, with the code" "$(json 'd["phone"]')" \
    "http://127.0.0.1:$WEB_PORT/join?code=$LCODE"
expect_ok "$HEARTH" -d "$A" --json invite --list
same "the link's code is a web invite" "$(json '[i["state"] for i in d if i["code"] == "'"$LCODE"'"][0]')" open

# The QR codes, read back by another decoder.
same "poster: the QR holds the link" "$($QR svg "$TMP_ROOT/poster.svg" qr-link 2>/dev/null)" "$LINK"
same "poster: the phones' QR holds the web address" \
    "$($QR svg "$TMP_ROOT/poster.svg" qr-phone 2>/dev/null)" "http://127.0.0.1:$WEB_PORT/join?code=$LCODE"
POSTER=$(cat "$TMP_ROOT/poster.svg")
contains "poster: the forum's name" "$POSTER" "Riverbend"
contains "poster: the crisis resources, escaped" "$POSTER" "Lifeline 0800 543 354 (24/7) &amp; &lt;Samaritans&gt; 116 123"
contains "poster: not a crisis service" "$POSTER" "This forum is not a crisis service."
contains "poster: the code" "$POSTER" "$LCODE"
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$TMP_ROOT/poster.svg" ||
    fail "the poster is not well-formed XML"
pass
expect_ok "$HEARTH" -d "$A" invite
TLINK=$(printf '%s\n' "$OUT" | sed -n 's/^join link: //p')
printf '%s\n' "$OUT" >"$TMP_ROOT/invite.txt"
same "terminal: the QR holds the link" "$($QR text "$TMP_ROOT/invite.txt" 2>/dev/null)" "$TLINK"
contains "terminal: how a laptop joins" "$OUT" "hearth init --join '$TLINK'"
expect_ok "$HEARTH" -d "$A" invite --no-qr
lacks "--no-qr: no QR" "$OUT" "█"

# A second node joins with the link alone, and holds what the hub holds.
C=$(new_dir c)
expect_ok "$HEARTH" -d "$C" --json init --join "$LINK"
same "joined the link's forum" "$(json 'd["forum"]')" "$FORUM"
check "synced at once" "$(json 'd["synced"]["events_accepted"]')" -gt 0
expect_ok "$HEARTH" -d "$C" read "$HUB_POST"
contains "the hub's post is here" "$OUT" "The hub's first words."
same "one forum, one view" "$(value "$C" 'd["view_digest"]' status)" "$(value "$A" 'd["view_digest"]' status)"
expect_ok "$HEARTH" -d "$C" --json init --join "$FORUM"
same "--join FORUM_ID still works (again: harmless)" "$(json 'd["joined"]')" true

# A link whose node does not answer: the replica is prepared, the command says so.
GONE=$(free_port)
D=$(new_dir d)
expect_fail 7 "this node is ready for the forum but could not sync" "$HEARTH" -d "$D" init \
    --join "hearth://$NODE_KEY@127.0.0.1:$GONE/$FORUM"
expect_ok "$HEARTH" -d "$D" --json id
same "prepared for the link's forum" "$(json 'd["forum"]')" "$FORUM"
# `sync` takes a link too, and tries its places in turn: the dead one, then the hub's.
expect_ok "$HEARTH" -d "$D" --json sync "hearth://$NODE_KEY@127.0.0.1:$GONE,127.0.0.1:$NODE_PORT/$FORUM" \
    --timeout 3
contains "sync: the dead place is reported" "$ERR" "trying the next place"
check "sync: the second place gave the forum" "$(json 'd["events_accepted"]')" -gt 0
same "sync by link: one view" "$(value "$D" 'd["view_digest"]' status)" "$(value "$A" 'd["view_digest"]' status)"
expect_fail 2 "that link is for another forum" "$HEARTH" -d "$D" sync \
    "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT/$(printf '%064d' 7)"

# Recovery by link: Wren's laptop (P) paired a second one (Q), then P was lost. A fresh
# directory recovers Wren with her code and the link: the sync shows Q, which is
# revoked at once, and the hub hears of it in the same command.
P=$(new_dir wren)
expect_ok "$HEARTH" -d "$P" init --join "$LINK"
WREN=$(value "$P" 'd["author"]' id)
RCODE=$(value "$P" 'd["code"]' recovery show)
Q=$(new_dir wren2)
expect_ok "$HEARTH" -d "$Q" init --join "$LINK"
QKEY=$(value "$Q" 'd["author"]' id)
expect_ok "$HEARTH" -d "$P" --json device add
expect_ok "$HEARTH" -d "$Q" device join "$(json 'd["code"]')"
expect_ok "$HEARTH" -d "$Q" sync "$LINK"
expect_ok "$HEARTH" -d "$P" sync "$LINK"
expect_ok "$HEARTH" -d "$P" device accept
expect_ok "$HEARTH" -d "$P" sync "$LINK"
R=$(new_dir wren3)
expect_ok "$HEARTH" -d "$R" --json init --join "$LINK" --recover "$RCODE"
same "recovered: Wren" "$(json 'd["author"]')" "$WREN"
same "recovered: the second laptop is revoked" "$(json 'd["revoked"]')" "[\"$QKEY\"]"
expect_ok "$HEARTH" -d "$R" --json device list
same "recovered: her one device, revoked" "$(json '[[x["device"], x["revoked"]] for x in d["devices"]]')" \
    "[[\"$QKEY\", true]]"
# Q has not heard and posts: on the hub that post is nobody's (Q's own key), not Wren's.
expect_ok "$HEARTH" -d "$Q" --json post welcome --title "Still here" --body "from a lost laptop"
LOST=$(json 'd["event"]')
expect_ok "$HEARTH" -d "$Q" sync "$LINK"
same "the hub: the lost laptop's post is not Wren's" "$(value "$A" 'd[0]["author"]' read "$LOST")" "$QKEY"
# --keep-devices: a second recovery keeps them (there is nothing left to revoke anyway).
S=$(new_dir wren4)
expect_ok "$HEARTH" -d "$S" --json init --join "$LINK" --recover "$RCODE" --keep-devices
same "--keep-devices: nothing revoked" "$(json 'd["revoked"]')" "[]"
expect_fail 2 "--keep-devices goes with --recover" "$HEARTH" -d "$(new_dir wren5)" init --join "$LINK" \
    --keep-devices

# Malformed links: one line, exit 2, nothing made.
BAD=$(new_dir bad)
for bad in "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT/${FORUM:0:60}" \
           "hearth://${NODE_KEY:0:63}@127.0.0.1:$NODE_PORT/$FORUM" \
           "hearth://$NODE_KEY@127.0.0.1:0/$FORUM" \
           "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT/$FORUM?invite=0000" \
           "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT/$FORUM/x" \
           "hearth://$NODE_KEY@/$FORUM" "http://127.0.0.1:$WEB_PORT/"; do
    expect_fail 2 "hearth: init: " "$HEARTH" -d "$BAD" init --join "$bad"
    [ ! -e "$BAD" ] || fail "a refused link made $BAD"
done
expect_fail 2 "not a join link: a place is not HOST:PORT" "$HEARTH" -d "$BAD" init --join \
    "hearth://$NODE_KEY@127.0.0.1:99999/$FORUM"
expect_fail 2 "that is a node's address, not a join link" "$HEARTH" -d "$BAD" init --join \
    "hearth://$NODE_KEY@127.0.0.1:$NODE_PORT"
[ ! -e "$BAD" ] || fail "a node address made $BAD"
pass

# `hearth id` makes no keys: not in a fresh directory, not a node key where none is.
F=$(new_dir fresh)
expect_fail 8 "no forum in" "$HEARTH" -d "$F" id
[ ! -e "$F" ] || fail "hearth id made $F"
expect_ok "$HEARTH" -d "$F" init --join "$FORUM"
rm -f "$F/node.key" "$F/author.key"
expect_ok "$HEARTH" -d "$F" id
contains "id: no node key yet, said" "$OUT" "no node key yet"
contains "id: no author key, said" "$OUT" "author: none"
expect_ok "$HEARTH" -d "$F" --json id
same "id --json: no author" "$(json 'd["author"]')" null
same "id --json: no address" "$(json 'd["address"]')" null
[ ! -e "$F/node.key" ] && [ ! -e "$F/author.key" ] || fail "hearth id made a key"
pass

finish
