#!/usr/bin/env bash
# Disk full, for real: a node whose data directory is a 768 KiB tmpfs (an empty
# replica of 8 KiB pages takes ~300 KiB, and writes need 128 KiB free). Importing a
# bundle, posting, and a peer syncing into it all fail with a clear "disk full"
# error and exit code 5 (storage), the node keeps serving, the database passes
# PRAGMA integrity_check with nothing stored twice, and once the tmpfs is grown
# (space returns) the same import and sync succeed and converge.
#
# The node logs the full disk once, as an error that names its data directory and
# the space free and needed; while the disk is full it takes no new events (a sync
# and a push from a peer are refused, and so is a post, each with the reason) and
# `hearth status` says so; it logs when space returns and takes them again; and no
# event acknowledged before the disk filled is lost.
#
# Needs root (mount). Without it the test says so and skips (exit 0): the same
# behaviour is covered without root by tests/unit/test_faults.c (test_disk_full).
. "$(dirname "$0")/lib.sh"
GEN="$HEARTH_BUILD/bench_genbundle"
SMALL=$WORK/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=768k tmpfs "$SMALL" 2>/dev/null; then
  echo "skip: cannot mount a tmpfs here (needs root); see test_faults for the same checks"
  exit 0
fi
umount_small() { umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true; }
diskfull_cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]:-}"; do ours "$p" && kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done # files closed
  umount_small
  (exit $rc)
  cleanup
}
trap diskfull_cleanup EXIT

integrity() { # DIR: "ok" and no duplicates, else what is wrong
  python3 - "$1/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
r = db.execute("PRAGMA integrity_check").fetchall()
d = db.execute("select count(*) - count(distinct id) from events").fetchone()[0]
print("ok" if r == [("ok",)] and d == 0 else "damaged: %r, %d duplicates" % (r, d))
PY
}

# A forum far larger than the disk: 3000 events of about 600 bytes.
FID=$("$GEN" --events 3000 --seed 31 --body 600 "$WORK/big.bundle")
N=$SMALL/node
join_forum "$N" "$FID"
h "$N" id >/dev/null # the node key is made on first use: make it while there is room
BOARD=$("$GEN" --events 1 --seed 31 "$WORK/one.bundle" >/dev/null; h "$N" import "$WORK/one.bundle" >/dev/null;
        h "$N" --json boards | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:16])')
ACKED=$(h "$N" --json post "$BOARD" --title "before the disk filled" --body "kept" | json_get event)

# --- import into a full disk ---------------------------------------------------------
rc=0
out=$(h "$N" import "$WORK/big.bundle" 2>&1) || rc=$?
[ $rc = 5 ] || die "import on a full disk: exit $rc (want 5, storage): $out"
echo "$out" | grep -qi "full" || die "import on a full disk: unclear error: $out"
[ "$(integrity "$N")" = ok ] || die "after a failed import: $(integrity "$N")"
held=$(events "$N")
ok "import on a full disk fails clearly ($out); $held events held, database intact"

# --- posting on a full disk ----------------------------------------------------------
rc=0
out=$(head -c 50000 /dev/zero | tr '\0' 'x' | h "$N" post "$BOARD" --title "too big for the disk" 2>&1) || rc=$?
if [ $rc = 0 ]; then
  # The post fitted in what was left: fill up and try again.
  for i in $(seq 1 50); do
    head -c 50000 /dev/zero | tr '\0' 'y' | h "$N" post "$BOARD" --title "fill $i" >/dev/null 2>&1 || { rc=$?; break; }
  done
  out=$(head -c 50000 /dev/zero | tr '\0' 'x' | h "$N" post "$BOARD" --title "too big" 2>&1) || rc=$?
fi
[ $rc = 5 ] || die "post on a full disk: exit $rc (want 5): $out"
echo "$out" | grep -qi "full" || die "post on a full disk: unclear error: $out"
[ "$(integrity "$N")" = ok ] || die "after a failed post: $(integrity "$N")"
ok "post on a full disk fails clearly ($out)"

# --- a peer syncs into the full node ------------------------------------------------
P=$WORK/peer
join_forum "$P" "$FID"
h "$P" import "$WORK/big.bundle" >/dev/null
PN=$(free_port)
node_start N "$N" "$PN" --no-discovery
ADDR_N=$(addr "$N" 127.0.0.1 "$PN")
h "$P" sync --timeout 20 "$ADDR_N" >"$WORK/sync1.out" 2>&1 && die "a sync into a full disk succeeded"
ours "$PID_N" || die "the node died when its disk filled up"
h "$N" status >/dev/null || die "hearth status does not answer on a full disk"
# The node sends its ERROR, then logs the session's end: the sync may exit first.
wait_until 10 grep -qi "full" "$WORK/N.log" || die "the node did not log the full disk"
[ "$(integrity "$N")" = ok ] || die "after a sync into a full disk: $(integrity "$N")"
ok "a sync into a full disk fails ($(tail -1 "$WORK/sync1.out")); the node keeps serving, intact"

# --- the node says so, once, as an error, and takes no new events -----------------
full_line() { grep -E "Z error +disk full: the data directory $N has [0-9.]+ (KiB|MiB) free and needs [0-9.]+ (KiB|MiB): free space" "$WORK/N.log"; }
wait_until 10 full_line >/dev/null || die "no error line naming the data directory and the space: $(tail -5 "$WORK/N.log")"
[ "$(full_line | wc -l)" = 1 ] || die "the full disk was logged more than once: $(full_line)"
ok "the node logs the full disk once as an error: $(full_line | cut -c1-200)"
held=$(events "$N")
h "$P" sync --timeout 20 "$ADDR_N" >"$WORK/sync2.out" 2>&1 && die "a second sync into a full disk succeeded"
grep -q "this node's disk is full" "$WORK/sync2.out" || die "the sync was not refused with the reason: $(cat "$WORK/sync2.out")"
[ "$(events "$N")" = "$held" ] || die "the full node took events"
[ "$(h "$N" status --json | json_get disk_full)" = True ] || die "status does not say the disk is full"
h "$N" status | grep -q "^disk: *FULL" || die "hearth status does not show the full disk"
h "$N" status | grep -qE "^node: +(running|unknown \(a node cannot write its status on a full disk\))" ||
  die "status calls the node not running on a full disk: $(h "$N" status)"
ok "a sync while full is refused ($(tail -1 "$WORK/sync2.out")); status says so"
# A peer that pushes new, valid events (tests/tools/hostile_peer): refused.
h "$N" export "$WORK/n.bundle" >/dev/null
HOSTILE_IDS=$WORK/pushed.ids "$HEARTH_BUILD/hostile_peer" flood-valid "$ADDR_N" "$WORK/n.bundle" --count 3 \
  >"$WORK/push.out" 2>&1 || die "the pushing peer failed: $(cat "$WORK/push.out")"
wait_until 30 grep -q "Z info  disk full: refused a push from " "$WORK/N.log" ||
  die "the push was not refused: $(tail -3 "$WORK/N.log")"
# shellcheck disable=SC2046
has_events "$N" $(head -1 "$WORK/pushed.ids") && die "the full node took a pushed event"
ok "a push while full is refused: $(grep "refused a push" "$WORK/N.log" | head -1 | cut -c1-120)"
rc=0
out=$(h "$N" post "$BOARD" --title "small" --body "a few words" 2>&1) || rc=$?
[ $rc = 5 ] || die "a post while full: exit $rc (want 5): $out"
echo "$out" | grep -q "the disk is full: .* free in $N, .* needed: free space there" ||
  die "a post while full: unclear error: $out"
ok "a post while full is refused: $out"

# --- space returns -------------------------------------------------------------------
mount -o remount,size=64m "$SMALL" || die "cannot grow the tmpfs"
wait_until 10 grep -q "Z info  disk: .* free in $N again; taking new events" "$WORK/N.log" ||
  die "the node did not say that space returned"
h "$P" sync --timeout 60 "$ADDR_N" >/dev/null || die "the sync failed after space returned"
[ "$(digest "$P")" = "$(digest "$N")" ] || die "the nodes did not converge after space returned"
not_full() { [ "$(h "$N" status --json | json_get disk_full)" = False ]; }
wait_until 10 not_full || die "status still says the disk is full" # the node writes it every 2 s
has_events "$N" "$ACKED" || die "an event acknowledged before the disk filled is gone"
node_stop N
h "$N" import "$WORK/big.bundle" >/dev/null || die "the import failed after space returned"
[ "$(integrity "$N")" = ok ] || die "after recovery: $(integrity "$N")"
ok "once space returns the sync converges ($(events "$N") events) and the import succeeds"
finish
