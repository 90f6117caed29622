#!/usr/bin/env bash
# test_devices.sh - one person, many devices, and recovery (docs/CLI.md, `hearth
# device`, `hearth recovery`; docs/EVENTS.md 6.3).
#
# The hub (A) keeps the forum. Willow's laptop (L1) and her second laptop (L2) are
# paired through bundles, as two laptops that meet only through a hub or a stick: L1
# prints a code, L2 asks with it, L1 accepts. Both post as Willow; the hub treats
# them as one person (a ban of L2's key bans Willow on both). L1 revokes L2; L2,
# not knowing, posts again: on the hub and on a fourth node (B) that receive the
# events in the other order, that post counts for nobody, and the two agree. A
# recovery code restores Willow's identity on a fresh data directory, which then
# revokes the remaining devices.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

# status_of DIR ID - the status of a post as the founder's node... or anyone's.
status_of() {
    value "$1" 'd[0]["status"]' read "$2"
}

A=$(new_dir hub)
L1=$(new_dir laptop)
L2=$(new_dir laptop2)
B=$(new_dir other)
forum "$A" "Riverbend"
for d in "$L1" "$L2" "$B"; do
    expect_ok "$HEARTH" -d "$d" init --join "$FORUM"
done
carry "$A" "$L1" "$L2" "$B"
expect_ok "$HEARTH" -d "$L1" profile --name "Willow"
WILLOW=$(value "$L1" 'd["author"]' id)
DEV2=$(value "$L2" 'd["author"]' id)

# Bad codes are refused with one line.
expect_fail 2 "hearth: device: not a device code" "$HEARTH" -d "$L2" device join "hd1-aaaa"
expect_fail 2 "hearth: device: unknown device action" "$HEARTH" -d "$L2" device pair
expect_fail 3 "hearth: device: no pairing request" "$HEARTH" -d "$L1" device accept

# Pairing: a code on L1, a request from L2, the add on L1.
expect_ok "$HEARTH" -d "$L1" --json device add
CODE=$(json 'd["code"]')
contains "a device code" "$CODE" "hd1-"
# a mistyped code is caught by its check digits
BAD="${CODE:0:20}$( [ "${CODE:20:1}" = a ] && echo b || echo a )${CODE:21}"
expect_fail 2 "mistyped" "$HEARTH" -d "$L2" device join "$BAD"
expect_ok "$HEARTH" -d "$L2" device join "$CODE"
carry "$L2" "$L1"
expect_ok "$HEARTH" -d "$L1" device accept
contains "accepted" "$OUT" "added device $DEV2"
# the code works once
expect_fail 3 "no pairing request" "$HEARTH" -d "$L1" device accept
carry "$L1" "$A" "$L2" "$B"
expect_ok "$HEARTH" -d "$L2" --json device list
same "L2 knows its person" "$(json 'd["person"]')" "$WILLOW"
same "L2 is a device" "$(json '[x["device"] for x in d["devices"]]')" "[\"$DEV2\"]"

# Both devices post as Willow; the hub sees one author with her name.
post "$L1" welcome "From the laptop" "Kia ora"
P1=$ID
post "$L2" welcome "From the other laptop" "Kia ora again"
P2=$ID
carry "$L1" "$A"
carry "$L2" "$A"
same "A: L1's post is Willow's" "$(value "$A" 'd[0]["author"]' read "$P1")" "$WILLOW"
same "A: L2's post is Willow's" "$(value "$A" 'd[0]["author"]' read "$P2")" "$WILLOW"
same "A: named Willow" "$(value "$A" 'd[0]["author_name"]' read "$P2")" "Willow"

# A ban of L2's key bans the person: both devices' posts are hidden.
expect_ok "$HEARTH" -d "$A" mod ban "${DEV2:0:12}" --reason "testing"
same "A: L1's post hidden" "$(status_of "$A" "$P1")" hidden
same "A: L2's post hidden" "$(status_of "$A" "$P2")" hidden
expect_ok "$HEARTH" -d "$A" mod unban "${WILLOW:0:12}" --reason "done"
same "A: visible again" "$(status_of "$A" "$P2")" visible

# L1 revokes L2 (what L1 holds of L2's stands: `until` is its last seq there); L2
# has not heard and posts again.
carry "$L2" "$L1"
expect_ok "$HEARTH" -d "$L1" device revoke "${DEV2:0:10}"
contains "revoked" "$OUT" "revoked $DEV2"
post "$L2" welcome "After" "signed after the revocation"
LATE=$ID
# The hub gets the late post first, then the revocation; B the other way round.
carry "$L2" "$A"
same "A: before the revocation arrives, Willow's" "$(value "$A" 'd[0]["author"]' read "$LATE")" "$WILLOW"
carry "$L1" "$A"
carry "$L1" "$B"
carry "$L2" "$B"
same "A: the late post is nobody's" "$(value "$A" 'd[0]["author"]' read "$LATE")" "$DEV2"
same "A: and hidden" "$(status_of "$A" "$LATE")" hidden
for n in "$A" "$B"; do
    same "$n: the earlier one stays Willow's" "$(value "$n" 'd[0]["author"]' read "$P2")" "$WILLOW"
done
# B is no moderator: to its readers the late post is not there
expect_fail 3 "no such post" "$HEARTH" -d "$B" read "$LATE"
# B never had the hub's ban and unban of Willow: the moderation log is part of the view
# (the digest sums it), so B takes the hub's events before the two are compared.
carry "$A" "$B"
same "A and B agree" "$(value "$A" 'd["view_digest"]' status)" "$(value "$B" 'd["view_digest"]' status)"
# L2's own node, once it hears, refuses to sign for it
carry "$L1" "$L2"
expect_fail 6 "banned" "$HEARTH" -d "$L2" post welcome --title "Again" --body "no"

# Recovery: Willow's code restores her on a fresh data directory.
expect_ok "$HEARTH" -d "$L1" --json recovery show
RCODE=$(json 'd["code"]')
contains "a recovery code" "$RCODE" "hr1-"
L3=$(new_dir recovered)
expect_fail 2 "not a recovery code" "$HEARTH" -d "$L3" init --join "$FORUM" --recover "hr1-abcd"
[ ! -e "$L3/author.key" ] || fail "a refused recovery left a key behind"
pass
expect_ok "$HEARTH" -d "$L3" init --join "$FORUM" --recover "$(printf '%s' "$RCODE" | tr a-z A-Z)"
same "L3 is Willow" "$(value "$L3" 'd["author"]' id)" "$WILLOW"
expect_fail 8 "author key already" "$HEARTH" -d "$L1" init --join "$FORUM" --recover "$RCODE"
carry "$A" "$L3"
# a second device paired before the loss, then the recovered node revokes them all
L4=$(new_dir laptop4)
expect_ok "$HEARTH" -d "$L4" init --join "$FORUM"
carry "$A" "$L4"
expect_ok "$HEARTH" -d "$L3" --json device add
expect_ok "$HEARTH" -d "$L4" device join "$(json 'd["code"]')"
carry "$L4" "$L3"
expect_ok "$HEARTH" -d "$L3" device accept
DEV4=$(value "$L4" 'd["author"]' id)
expect_ok "$HEARTH" -d "$L3" device revoke --all
contains "revoked L4" "$OUT" "revoked $DEV4"
expect_ok "$HEARTH" -d "$L3" --json device list
same "all revoked" "$(json '[x["revoked"] for x in d["devices"]]')" "[true, true]"
expect_ok "$HEARTH" -d "$L3" post welcome --title "Back" --body "on a new laptop"

finish
