#!/usr/bin/env bash
# test_messages.sh - the private channel between a member and the moderators, across
# three nodes over the network.
#
# The hub (A) is the founder's, and runs `hearth serve`. Kiri (K) writes to the
# moderators from her laptop and syncs with the hub; the founder reads it on the hub
# and answers; Kiri syncs and reads the answer. Tama (T), another member, syncs too:
# his node holds every message event, his view counts them, and he cannot read them —
# the words are in no database file but Kiri's and the hub's... and not even there in
# clear. A member cannot write to another member; a moderator made later does not
# read what came before; a retracted message leaves everyone's conversation.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

A=$(new_dir hub)
K=$(new_dir kiri)
T=$(new_dir tama)
forum "$A" "Riverbend"
expect_ok "$HEARTH" -d "$A" profile --name "Aroha"
for d in "$K" "$T"; do expect_ok "$HEARTH" -d "$d" init --join "$FORUM"; done

serve_hub "$A"
sync_with_hub() { for d in "$@"; do expect_ok "$HEARTH" -d "$d" sync "$HUB_ADDR"; done; }
sync_with_hub "$K" "$T"
expect_ok "$HEARTH" -d "$K" profile --name "Kiri"
expect_ok "$HEARTH" -d "$T" profile --name "Tama"
KIRI=$(value "$K" 'd["author"]' id)
TAMA=$(value "$T" 'd["author"]' id)

# Kiri writes to the moderators.
WORDS="the dog died and I cannot stop crying, sorry-$RANDOM"
expect_ok "$HEARTH" -d "$K" message --text "$WORDS"
contains "she is told who can read it" "$OUT" "only they and you can read it"
sync_with_hub "$K" "$T"

# The founder moderates: the hub lists her conversation, waiting for a reply.
expect_ok "$HEARTH" -d "$A" --json messages
same "the hub lists one conversation" "$(json 'len(d)')" 1
same "Kiri's" "$(json 'd[0]["member"]')" "$KIRI"
same "with her name" "$(json 'd[0]["member_name"]')" "Kiri"
same "waiting for a reply" "$(json 'd[0]["awaiting_reply"]')" true
same "the founder reads her words" "$(value "$A" 'd[0]["text"]' messages "${KIRI:0:12}")" "$WORDS"
ANSWER="I'm so sorry, Kiri. Would you like someone to ring you? ($RANDOM)"
expect_ok "$HEARTH" -d "$A" message --to "${KIRI:0:12}" --text "$ANSWER"
same "now it is the moderators' turn no more" \
    "$(value "$A" 'd[0]["awaiting_reply"]' messages)" false

# Kiri syncs and reads the answer, marked as from a moderator.
sync_with_hub "$K" "$T"
expect_ok "$HEARTH" -d "$K" --json messages
same "Kiri reads the answer" "$(json 'd[1]["text"]')" "$ANSWER"
same "from a moderator" "$(json 'd[1]["from_moderator"]')" true
expect_ok "$HEARTH" -d "$K" messages
contains "the plain view shows both" "$OUT" "$ANSWER"
contains "and the moderator's mark" "$OUT" "[moderator]"

# Tama holds both events and reads neither: not even the conversation is his to list.
same "Tama's node holds both messages" \
    "$(sqlite3 "$T/hearth.db" 'select count(*) from events where kind = 14')" 2
expect_fail 6 "only the moderators read other members' conversations" \
    "$HEARTH" -d "$T" messages "${KIRI:0:12}"
same "his own conversation is empty" "$(value "$T" 'len(d)' messages)" 0
for d in "$A" "$K" "$T"; do
    sqlite3 "$d/hearth.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    if grep -qa -- "sorry-" "$d/hearth.db" || grep -qaF -- "$ANSWER" "$d/hearth.db"; then
        fail "the words are in $d/hearth.db in clear"
    fi
    pass
done

# A member writes only to the moderators.
expect_fail 6 "only a moderator writes to a member" \
    "$HEARTH" -d "$T" message --to "${KIRI:0:12}" --text "hi Kiri"

# A moderator made later does not read what came before, and reads what comes after.
expect_ok "$HEARTH" -d "$A" role grant "${TAMA:0:12}" moderator
sync_with_hub "$T"
same "Tama, now a moderator, sees the conversation" "$(value "$T" 'len(d)' messages)" 1
same "but not the words written before" \
    "$(value "$T" 'd[0]["text"]' messages "${KIRI:0:12}")" null
# Sealed to who moderates as the writer's replica knows it: Kiri syncs first.
sync_with_hub "$K"
expect_ok "$HEARTH" -d "$K" message --text "thank you, yes please"
sync_with_hub "$K" "$T"
same "the next one he reads" "$(value "$T" 'd[2]["text"]' messages "${KIRI:0:12}")" \
    "thank you, yes please"

# Kiri takes her first message back: it leaves every conversation after sync.
FIRST=$(value "$K" 'd[0]["id"]' messages)
expect_ok "$HEARTH" -d "$K" retract "${FIRST:0:12}"
sync_with_hub "$K" "$T"
same "gone from Kiri's" "$(value "$K" 'len(d)' messages)" 2
same "and from the hub's" "$(value "$A" 'len(d)' messages "${KIRI:0:12}")" 2
finish
