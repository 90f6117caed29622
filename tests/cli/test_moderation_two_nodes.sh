#!/usr/bin/env bash
# test_moderation_two_nodes.sh - moderating one forum from two nodes.
#
# Node A is the community hub, where the founder (Aroha) keeps the forum; node B is
# Sam's laptop. Kiri, a member, posts from her own laptop (node C) and carries her
# events to the hub. Events move by bundle files, as on a USB stick, and at the end by
# `hearth sync` with the hub's `hearth serve`. The founder grants Sam the moderator
# role on A; Sam hides and removes on B; the effect reaches A and C, the removed words
# leave every database file, and the replicas agree. Then the founder revokes Sam on A
# while Sam, not knowing yet, locks a thread on B: once the two meet, that lock has no
# effect on either node, and B refuses Sam's next action.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir hub)
B=$(new_dir sam)
C=$(new_dir kiri)

# The hub founds the forum; Sam and Kiri join it.
forum "$A" "Riverbend"
expect_ok "$HEARTH" -d "$A" profile --name "Aroha"
expect_ok "$HEARTH" -d "$B" init --join "$FORUM"
expect_ok "$HEARTH" -d "$C" init --join "$FORUM"
carry "$A" "$B" "$C"
expect_ok "$HEARTH" -d "$B" profile --name "Sam"
expect_ok "$HEARTH" -d "$C" profile --name "Kiri"
SAM=$(value "$B" 'd["author"]' id)

# Kiri posts, with a phone number in a reply, and carries it to the hub.
SECRET="021-$RANDOM-$RANDOM"
post "$C" lived-experience "Rough winter" "The roads have been closed for a week."
T=$ID
reply "$C" "$T" "If anyone wants to talk, ring me on $SECRET."
R=$ID
post "$C" everyday-life "Lambing" "First lambs this morning."
T2=$ID
carry "$C" "$A"

# Kiri is not a moderator: her node refuses, says why, and changes nothing.
snapshot "$C"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
    "$HEARTH" -d "$C" mod hide "$R" --reason "I posted too much"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
    "$HEARTH" -d "$C" --json mod ban "$SAM" --reason "no"
unchanged "$C"
# Nor is Sam, yet.
carry "$B" "$A"
carry "$A" "$B"
snapshot "$B"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
    "$HEARTH" -d "$B" mod remove "$R" --reason "phone number"
unchanged "$B"

# On the hub, the founder makes Sam a moderator.
expect_ok "$HEARTH" -d "$A" role grant "${SAM:0:8}" moderator
contains "grant" "$OUT" "granted moderator to Sam (${SAM:0:8})"
GRANT=$(printf '%s' "$OUT" | sed -n 's/.*: event \([0-9a-f]*\).*/\1/p')
carry "$A" "$B"
expect_ok "$HEARTH" -d "$B" role list
contains "Sam sees his role on his own node" "$OUT" $'Sam ('"${SAM:0:8}"$')\n  moderator (grant '"$GRANT)"

# On his laptop, Sam removes the reply with the phone number and hides the thread.
expect_ok "$HEARTH" -d "$B" mod remove "$R" --reason "shares a phone number"
expect_ok "$HEARTH" -d "$B" mod hide "$T" --reason "checking in with Kiri first"
same "B: removed" "$(value "$B" '[p["status"] for p in d]' read "$T")" '["hidden", "removed"]'

# The effect reaches the hub...
carry "$B" "$A"
same "A: hidden and removed" "$(value "$A" '[p["status"] for p in d]' read "$T")" '["hidden", "removed"]'
same "A: no words" "$(value "$A" 'd[1]["body"]' read "$T")" null
expect_ok "$HEARTH" -d "$A" status
same "A: the words are gone from the database file" "$(grep -c -a "$SECRET" "$A/hearth.db" || true)" 0
# ...and, through the hub, Kiri's laptop.
expect_ok "$HEARTH" -d "$C" status
check "C: the words are there before" "$(grep -c -a "$SECRET" "$C/hearth.db")" -gt 0
carry "$A" "$C"
expect_ok "$HEARTH" -d "$C" read "$T"
contains "C: Kiri sees her own thread hidden, and why" "$OUT" \
    "[hidden by a moderator: checking in with Kiri first]"
expect_ok "$HEARTH" -d "$C" threads lived-experience
contains "C: the hidden thread is listed for its author, marked" "$OUT" "[hidden]"
expect_ok "$HEARTH" -d "$C" status
same "C: the words are gone from the database file" "$(grep -c -a "$SECRET" "$C/hearth.db" || true)" 0
same "A and B agree" "$(state "$A")" "$(state "$B")"
same "A and C agree" "$(state "$A")" "$(state "$C")"

# The founder revokes Sam on the hub. Sam, who has not heard yet, locks a thread.
expect_ok "$HEARTH" -d "$A" role revoke "${SAM:0:8}" moderator
contains "revoke" "$OUT" "revoked moderator from Sam (${SAM:0:8}): event "
contains "revoke names the grant" "$OUT" "(revokes grant $GRANT)"
expect_ok "$HEARTH" -d "$B" mod lock "$T2" --reason "off topic"
same "B: locked, as far as B knows" "$(value "$B" 'd[0]["locked"]' read "$T2")" true
# The two meet: the lock is kept on both, and has effect on neither.
EVENTS_B=$(value "$B" 'd["events"]' status)
carry "$A" "$B"
carry "$B" "$A"
same "A: the lock is kept" "$(value "$A" 'd["events"]' status)" "$((EVENTS_B + 1))"
same "A: the late lock has no effect" "$(value "$A" 'd[0]["locked"]' read "$T2")" false
same "B: the late lock has no effect" "$(value "$B" 'd[0]["locked"]' read "$T2")" false
carry "$A" "$C"
expect_ok "$HEARTH" -d "$C" reply "$T2" --body "Lovely news."
# What Sam did while he was a moderator stands.
same "A: the removal stands" "$(value "$A" '[p["status"] for p in d]' read "$T")" '["hidden", "removed"]'
# And B now refuses him.
snapshot "$B"
expect_fail 6 "hearth: mod: you are not a moderator of this forum" \
    "$HEARTH" -d "$B" mod unhide "$T" --reason "all fine"
unchanged "$B"
expect_ok "$HEARTH" -d "$B" role list
lacks "B: Sam holds no role any more" "$OUT" "Sam ("
expect_ok "$HEARTH" -d "$A" --json mod log
same "A: the log holds all three, the late lock too" "$(json '[x["action"] for x in d]')" \
    '["remove", "hide", "lock"]'
same "A: with their reasons" "$(json 'd[0]["reason"]')" "shares a phone number"
same "A and B agree" "$(state "$A")" "$(state "$B")"

# Over the network too: Kiri's laptop syncs with the hub's node.
serve_hub "$A"
expect_ok "$HEARTH" -d "$C" sync "$HUB_ADDR"
same "A and C agree after sync" "$(state "$A")" "$(state "$C")"
same "C: the late lock has no effect" "$(value "$C" 'd[0]["locked"]' read "$T2")" false

finish
