#!/usr/bin/env bash
# test_devices_interop.sh - a forum upgrades node by node (docs/EVENTS.md, 6.2).
#
# hearth-old14 is this program built with -DHEARTH_KNOWN_KINDS=14: an older node, to
# which device events (kind 15) are a kind it does not know. A (new) pairs a second
# device (D, new) and both post; B (old) runs `serve` and A and D sync with it; C
# (new) knows only B, and syncs with it. B stores and forwards the device events
# unread (its view has D's post as D's own); C receives them through B and counts
# them: D's post is the person's, and C's view equals A's.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

OLD="$HEARTH_BUILD/hearth-old14"
[ -x "$OLD" ] || fail "no $OLD: build the hearth-old14 target"
NEW="$HEARTH"

A=$(new_dir a)
D=$(new_dir d)
B=$(new_dir b-old)
C=$(new_dir c)
forum "$A" "Riverbend"
for d in "$D" "$C"; do
    expect_ok "$NEW" -d "$d" init --join "$FORUM"
done
expect_ok "$OLD" -d "$B" init --join "$FORUM"
PERSON=$(value "$A" 'd["author"]' id)
DEV=$(value "$D" 'd["author"]' id)

# The old node serves; everyone meets through it.
HEARTH="$OLD" serve_hub "$B"
OLD_ADDR="$HUB_ADDR"
expect_ok "$NEW" -d "$A" sync "$OLD_ADDR"
expect_ok "$NEW" -d "$D" sync "$OLD_ADDR"

# Pairing through the old node: the request and the add are kind 15.
expect_ok "$NEW" -d "$A" --json device add
CODE=$(json 'd["code"]')
expect_ok "$NEW" -d "$D" device join "$CODE"
expect_ok "$NEW" -d "$D" sync "$OLD_ADDR"
expect_ok "$NEW" -d "$A" sync "$OLD_ADDR"
expect_ok "$NEW" -d "$A" device accept
contains "accepted through the old node" "$OUT" "added device $DEV"
expect_ok "$NEW" -d "$A" sync "$OLD_ADDR"
expect_ok "$NEW" -d "$D" sync "$OLD_ADDR"
post "$D" welcome "From the second device" "Kia ora"
P=$ID
expect_ok "$NEW" -d "$D" sync "$OLD_ADDR"

# B holds every event A and D made, the device events among them...
A_EVENTS=$(value "$A" 'd["events"]' status)
D_EVENTS=$(value "$D" 'd["events"]' status)
B_EVENTS=$(value "$B" 'd["events"]' status)
same "B holds what D holds" "$B_EVENTS" "$D_EVENTS"
[ "$B_EVENTS" -gt "$A_EVENTS" ] || fail "B lacks D's post"
pass
expect_ok "$OLD" -d "$B" export "$B/all.bundle"
KINDS=$(python3 - "$B/all.bundle" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
# items: bin envelopes after the 8-byte magic and the 36-byte preamble
i, kinds = 8 + 36, []
while data[i] != 0xc0:
    t = data[i]
    n, i = (data[i + 1], i + 2) if t == 0xc4 else ((data[i + 1] << 8) | data[i + 2], i + 3) if t == 0xc5 else (int.from_bytes(data[i + 1:i + 5], "big"), i + 5)
    env = data[i:i + n]
    i += n
    h = env[3:3 + env[2]] if env[1] == 0xc4 else None
    # header: 9a 01, forum (c4 20 + 32 | c0), author c4 20 + 32, seq, created, kind
    j = 2
    j += 34 if h[j] == 0xc4 else 1
    j += 34
    for _ in range(2):  # seq, created
        b = h[j]
        j += 1 if b < 0x80 else {0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9}[b]
    kinds.append(h[j] if h[j] < 0x80 else h[j + 1])
print(sorted(set(kinds)))
PY
)
contains "B's export carries kind 15" "$KINDS" "15"
# ...and reads them as a kind it does not know: D's post is D's own there.
same "B: unread" "$(value "$B" 'd[0]["author"]' read "$P")" "$DEV"

# C meets only the old node, and counts the device events it forwarded.
expect_ok "$NEW" -d "$C" sync "$OLD_ADDR"
same "C: D's post is the person's" "$(value "$C" 'd[0]["author"]' read "$P")" "$PERSON"
expect_ok "$NEW" -d "$A" sync "$OLD_ADDR"
same "C sees what A sees" "$(value "$C" 'd["view_digest"]' status)" \
    "$(value "$A" 'd["view_digest"]' status)"

finish
