#!/usr/bin/env bash
# test_web.sh - the forum in a real browser: a hub (`hearth serve` with its web pages)
# and a second node (and two laptops that devices.mjs makes), then tests/web/run.mjs drives Debian's Chromium through
# playwright-core: people's journeys with JavaScript off on a phone's viewport, axe-core
# on every page type (in the plain build only), hostile input. The hub must still be
# serving at the end and stop cleanly (under ASan that also checks for leaks).
#
# Needs chromium, node and the npm packages of tests/web (scripts/deps installs them);
# without them the test is skipped (exit 77). HEARTH_SCREENSHOTS=1 also writes the
# main pages at 360x640 to docs/screenshots (tests/web/screenshots.sh).
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || ! command -v node >/dev/null ||
   [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
  echo "skipped: needs $chromium, node and tests/web/node_modules (run scripts/deps)"
  exit 77
fi
. "$here/../integration/lib.sh"

# wait_log LOG PATTERN PID : until the log of PID has a line matching PATTERN.
wait_log() {
  local i
  for i in $(seq 1 300); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "the hub exited early: $(tail -n 5 "$1")"
    sleep 0.1
  done
  die "no '$2' in $1 after 30 s"
}

hub=$WORK/hub
h "$hub" init --forum "Riverbend" --resources "Lifeline 0800 543 354 (24/7)." >/dev/null
forum=$(h "$hub" --json id | json_get forum)
h "$WORK/node2" init --join "$forum" >/dev/null

# Port 0 for both: the kernel picks free ports, and the log says which.
log=$WORK/hub.log
"$HEARTH" -d "$hub" serve --listen tcp://127.0.0.1:0 --no-discovery --web 127.0.0.1:0 \
  --log-level info >"$log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_log "$log" "ready, listening on" "$pid"
web=$(sed -nE 's|.*web: open (http://127\.0\.0\.1:[0-9]+)/ in a browser.*|\1|p' "$log" | head -n 1)
node_addr=$(sed -nE 's|.* address (hearth://[0-9a-f]+@127\.0\.0\.1:[0-9]+)$|\1|p' "$log" | head -n 1)
[ -n "$web" ] || die "no web address in the log: $(cat "$log")"
[ -n "$node_addr" ] || die "no node address in the log: $(cat "$log")"
ok "hub serving at $web, node at $node_addr"

# axe-core judges the pages' HTML, which is the same from either build: it runs in the
# plain suite, and not again in the sanitizer suite (a quarter of the test's time).
skip=
grep -qa AddressSanitizer "$HEARTH" && skip=a11y

shots=
if [ "${HEARTH_SCREENSHOTS:-0}" = 1 ]; then
  shots=${HEARTH_SRC:-$here/../..}/docs/screenshots
  mkdir -p "$shots"
fi
HUB_DIR=$hub WEB_URL=$web HUB_ADDR=$node_addr NODE2_DIR=$WORK/node2 SHOT_DIR=$shots \
LAPTOP_DIR=$WORK/laptop LAPTOP2_DIR=$WORK/laptop2 \
CHROMIUM=$chromium WEB_SKIP=${WEB_SKIP:-}${skip:+,$skip} nice node "$here/run.mjs" "$@" || {
  # A hub that is gone says how it ended (a signal shows as 128 + its number).
  if ! kill -0 "$pid" 2>/dev/null; then
    rc=0
    wait "$pid" || rc=$?
    echo "the hub had ended, exit status $rc (log: $log)" >&2
  fi
  die "the browser tests failed (log: $log)"
}
ok "browser tests"

kill -0 "$pid" 2>/dev/null || die "the hub died during the tests"
curl_status=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).status)' "$web/")
[ "$curl_status" = 200 ] || die "the hub no longer serves its home page"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ $rc -eq 0 ] || die "the hub did not stop cleanly (exit $rc): $(tail -n 20 "$log")"
ok "the hub stopped cleanly"
finish
