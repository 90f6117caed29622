#!/usr/bin/env bash
# test_invite.sh - `hearth invite`: a founder makes invites and lists and revokes them;
# a member without a role is refused with exit 6 and one line; nothing of it changes
# the forum.
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

finish
