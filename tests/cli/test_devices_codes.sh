#!/usr/bin/env bash
# test_devices_codes.sh - pairing codes that must not work (docs/CLI.md, `hearth
# device`): a mistyped code, the person's own code, a code read by two devices (the
# second is refused, saying the code was used); each refused with one clear line.
# The expiry of a code is tested in tests/unit/test_devices.c (it needs a clock
# moved by a day), as is a request made with another node's code.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir hub)
L1=$(new_dir laptop)
L2=$(new_dir laptop2)
L3=$(new_dir laptop3)
forum "$A" "Riverbend"
for d in "$L1" "$L2" "$L3"; do
    expect_ok "$HEARTH" -d "$d" init --join "$FORUM"
done
carry "$A" "$L1" "$L2" "$L3"
expect_ok "$HEARTH" -d "$L1" profile --name "Willow"
DEV2=$(value "$L2" 'd["author"]' id)
DEV3=$(value "$L3" 'd["author"]' id)

expect_ok "$HEARTH" -d "$L1" --json device add
CODE=$(json 'd["code"]')
# a typo: one letter changed, or one missing
BAD="${CODE:0:30}$( [ "${CODE:30:1}" = a ] && echo b || echo a )${CODE:31}"
expect_fail 2 "the device code is mistyped" "$HEARTH" -d "$L2" device join "$BAD"
expect_fail 2 "not a device code" "$HEARTH" -d "$L2" device join "${CODE%?}"
# the person's own node cannot join itself
expect_fail 8 "this node is that person already" "$HEARTH" -d "$L1" device join "$CODE"

# two devices read the one code; the first accepted takes it, the other is refused
expect_ok "$HEARTH" -d "$L2" device join "$CODE"
expect_ok "$HEARTH" -d "$L3" device join "$CODE"
carry "$L2" "$L1"
carry "$L3" "$L1"
expect_ok "$HEARTH" -d "$L1" device accept
[ "$(printf '%s\n' "$OUT" | grep -c '^added device ')" -eq 1 ] || fail "one device added"
pass
contains "the other is refused on stderr" "$ERR" "its code was used already by another device"
expect_ok "$HEARTH" -d "$L1" --json device list
ADDED=$(json '[x["device"] for x in d["devices"]][0]')
[ "$ADDED" = "$DEV2" ] || [ "$ADDED" = "$DEV3" ] || fail "the added device is one that asked"
pass
# accepting again: nothing to add, and the refused request says why in one line
expect_fail 3 "no pairing request to accept: the request of" "$HEARTH" -d "$L1" device accept
contains "with its reason" "$ERR" "used already"
finish
