# shellcheck shell=bash disable=SC2034
# lib.sh - shared helpers for the CLI tests (tests/cli/test_*.sh).
#
# Each test script sources this file, then calls the helpers below. ctest sets HEARTH
# (the binary), HEARTH_BUILD and HEARTH_SRC. A script stops at its first failed check
# and prints what it ran and what came back; at the end `finish` prints the count
# ("N passed, 0 failed"). Temporary data directories live under one root that is
# removed on exit (set KEEP=1 to keep it).
#
#   run CMD...                  run a command; its status in $RC, output in $OUT, $ERR
#   expect_ok CMD...            run, and require exit status 0
#   expect_fail CODE TEXT CMD... run, and require exit status CODE, an error of one
#                               line on stderr containing TEXT, and an empty stdout
#   json EXPR                   evaluate the Python expression EXPR over d = $OUT parsed
#   check DESC CONDITION...     require a shell condition (as for `test`)
#   same DESC A B               require A = B
#   contains DESC HAY NEEDLE    require NEEDLE in HAY
#   snapshot DIR / unchanged DIR  note the replica's view digest and event count;
#                               require them to be as the last snapshot of DIR noted
#   free_port                   a TCP port for a node to listen on (tests/common.sh)

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

: "${HEARTH:?HEARTH must name the hearth binary}"
[ -x "$HEARTH" ] || { echo "not executable: $HEARTH" >&2; exit 1; }

TEST_NAME=$(basename "$0" .sh)
mkdir -p "${HEARTH_BUILD:-/tmp}/tmp"
TMP_ROOT=$(mktemp -d "${HEARTH_BUILD:-/tmp}/tmp/$TEST_NAME.XXXXXX")
PASSED=0
CLEANUPS=()

cleanup() {
    local rc=$? i left
    for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    left=$(reap_leftovers "$TMP_ROOT")
    if [ -n "$left" ]; then
        echo "FAIL: still running at the end of the test (killed now):" >&2
        echo "$left" >&2
        [ $rc -ne 0 ] || rc=1
    fi
    port_release
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $TMP_ROOT" >&2
    else
        rm -rf "$TMP_ROOT"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# on_exit CMD - run CMD (a string) when the script ends, latest first.
on_exit() {
    CLEANUPS+=("$1")
}

# The tests must not see the data directory of whoever runs them.
unset HEARTH_HOME XDG_DATA_HOME
export HOME="$TMP_ROOT/home"
mkdir -p "$HOME"

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    echo "  last command: $(printf '%s' "${LAST_CMD:-}" | head -c 300)" >&2
    echo "  exit status: ${RC:-}" >&2
    echo "  stdout: $(printf '%s' "${OUT:-}" | head -c 2000)" >&2
    echo "  stderr: $(printf '%s' "${ERR:-}" | head -c 2000)" >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}

pass() {
    PASSED=$((PASSED + 1))
}

finish() {
    echo "$PASSED passed, 0 failed"
}

# new_dir NAME - the path of a data directory that does not exist yet.
new_dir() {
    echo "$TMP_ROOT/$1"
}

run() {
    LAST_CMD="$*"
    local out="$TMP_ROOT/.out" err="$TMP_ROOT/.err"
    set +e
    "$@" >"$out" 2>"$err"
    RC=$?
    set -e
    OUT=$(cat "$out")
    ERR=$(cat "$err")
}

# run_in INPUT CMD... - run with INPUT (a string) on standard input.
run_in() {
    local input="$1"
    shift
    LAST_CMD="$* <<< (input)"
    local out="$TMP_ROOT/.out" err="$TMP_ROOT/.err"
    set +e
    printf '%s' "$input" | "$@" >"$out" 2>"$err"
    RC=$?
    set -e
    OUT=$(cat "$out")
    ERR=$(cat "$err")
}

# run_from FILE CMD... - run with FILE on standard input.
run_from() {
    local input="$1"
    shift
    LAST_CMD="$* < $input"
    local out="$TMP_ROOT/.out" err="$TMP_ROOT/.err"
    set +e
    "$@" <"$input" >"$out" 2>"$err"
    RC=$?
    set -e
    OUT=$(cat "$out")
    ERR=$(cat "$err")
}

expect_ok() {
    run "$@"
    [ "$RC" -eq 0 ] || fail "expected success"
    pass
}

expect_fail() {
    local code="$1" text="$2"
    shift 2
    run "$@"
    [ "$RC" -eq "$code" ] || fail "expected exit status $code"
    [[ "$ERR" == *"$text"* ]] || fail "expected an error containing '$text'"
    [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "expected a one-line error"
    [[ "$ERR" == hearth:* ]] || fail "expected the error to start with 'hearth:'"
    [ -z "$OUT" ] || fail "expected nothing on stdout"
    pass
}

# json EXPR - Python expression over d (the JSON in $OUT); strings print bare, other
# values as JSON.
json() {
    printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$1"
}

# json_valid - $OUT is one valid JSON document.
json_valid() {
    printf '%s' "$OUT" | python3 -m json.tool >/dev/null 2>&1 || fail "stdout is not valid JSON"
    pass
}

check() {
    local desc="$1"
    shift
    test "$@" || fail "$desc"
    pass
}

same() {
    [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
    pass
}

contains() {
    [[ "$2" == *"$3"* ]] || fail "$1: expected to find '$3'"
    pass
}

lacks() {
    [[ "$2" != *"$3"* ]] || fail "$1: did not expect '$3'"
    pass
}

# state DIR - the view digest and event count of the replica in DIR.
state() {
    local save_out="$OUT" save_err="$ERR" save_rc="$RC" save_cmd="$LAST_CMD"
    run "$HEARTH" -d "$1" status --json
    [ "$RC" -eq 0 ] || fail "cannot read the status of $1"
    # Two top-level fields of the pretty-printed document, read by bash: no python to
    # start for each of the many snapshots.
    local s digest nl=$'\n'
    [[ $OUT =~ $nl\ \ \"view_digest\":\ \"([0-9a-f]{64})\" ]] ||
        fail "no view digest in the status of $1"
    digest=${BASH_REMATCH[1]}
    [[ $OUT =~ $nl\ \ \"events\":\ ([0-9]+), ]] || fail "no event count in the status of $1"
    s="$digest ${BASH_REMATCH[1]}"
    OUT="$save_out" ERR="$save_err" RC="$save_rc" LAST_CMD="$save_cmd"
    echo "$s"
}

declare -A SNAPSHOTS=()

snapshot() {
    SNAPSHOTS["$1"]=$(state "$1")
}

unchanged() {
    local now was="${SNAPSHOTS["$1"]}"
    now=$(state "$1")
    [ "$now" = "$was" ] || fail "the replica in $1 changed: was $was, now $now"
    pass
}

# forum DIR NAME - found a forum in DIR; sets FORUM to its id.
forum() {
    expect_ok "$HEARTH" -d "$1" --json init --forum "$2"
    FORUM=$(json 'd["forum"]')
}

# value DIR EXPR CMD... - the Python expression EXPR over the JSON of CMD run in DIR.
value() {
    local dir="$1" expr="$2"
    shift 2
    run "$HEARTH" -d "$dir" --json "$@"
    [ "$RC" -eq 0 ] || fail "expected success"
    json "$expr"
}

# serve_hub DIR - run `hearth serve` on DIR (loopback, no web) until the test ends;
# sets HUB (its pid) and HUB_ADDR (its hearth:// address) once it says it is ready.
serve_hub() {
    local port end
    port=$(free_port)
    "$HEARTH" -d "$1" serve --listen "tcp://127.0.0.1:$port" --no-discovery --no-web \
        >"$TMP_ROOT/hub.log" 2>&1 &
    HUB=$!
    on_exit "ours $HUB && kill $HUB; wait $HUB"
    # Ready when it says so; the bound only keeps a hung node from hanging the test.
    end=$((SECONDS + 120))
    until grep -q " ready, listening on " "$TMP_ROOT/hub.log" 2>/dev/null; do
        ours "$HUB" || fail "the hub's node exited: $(cat "$TMP_ROOT/hub.log")"
        [ $SECONDS -lt $end ] || fail "the hub's node is not ready after 120 s"
        sleep 0.1
    done
    HUB_ADDR="hearth://$(value "$1" 'd["node_key"]' id)@127.0.0.1:$port"
}

# post DIR BOARD TITLE BODY [ARGS...] - start a thread; sets ID to its id.
post() {
    local dir="$1" board="$2" title="$3" body="$4"
    shift 4
    expect_ok "$HEARTH" -d "$dir" --json post "$board" --title "$title" --body "$body" "$@"
    ID=$(json 'd["event"]')
}

# reply DIR PARENT BODY [ARGS...] - reply; sets ID to its id.
reply() {
    local dir="$1" parent="$2" body="$3"
    shift 3
    expect_ok "$HEARTH" -d "$dir" --json reply "$parent" --body "$body" "$@"
    ID=$(json 'd["event"]')
}

# rebundle IN OUT [--forum HEX] [--bad-sig K] [--add FILE] [--keep-trailer]
# Rewrite bundle IN as OUT (docs/EVENTS.md, "Bundles"): name another forum in the
# preamble, spoil the signature of the last K events, append the events of bundle
# FILE; the trailer is recomputed unless --keep-trailer.
rebundle() {
    python3 - "$@" <<'PY'
import hashlib, sys

def items(data):
    assert data[:8] == b"HEARTHB1", "not a bundle"
    assert data[8:12] == bytes([0x92, 0x01, 0xc4, 0x20]), "unexpected preamble"
    forum, pos, out = data[12:44], 44, []
    while data[pos] != 0xc0:
        tag = data[pos]
        width = {0xc4: 1, 0xc5: 2, 0xc6: 4}[tag]
        n = int.from_bytes(data[pos + 1:pos + 1 + width], "big")
        start = pos + 1 + width
        out.append(bytearray(data[start:start + n]))
        pos = start + n
    return forum, out, data[pos + 1:]

def bin_item(b):
    n = len(b)
    if n < 0x100:
        return bytes([0xc4, n]) + b
    if n < 0x10000:
        return bytes([0xc5]) + n.to_bytes(2, "big") + b
    return bytes([0xc6]) + n.to_bytes(4, "big") + b

def spoil_sig(env):
    assert env[0] == 0x93
    if env[1] == 0xc4:
        pos = 3 + env[2]
    else:
        pos = 4 + int.from_bytes(env[2:4], "big")
    assert env[pos] == 0xc4 and env[pos + 1] == 64
    env[pos + 2] ^= 0x01

args = sys.argv[1:]
src, dst, rest = args[0], args[1], args[2:]
forum, evs, trailer = items(open(src, "rb").read())
keep = False
i = 0
while i < len(rest):
    if rest[i] == "--forum":
        forum = bytes.fromhex(rest[i + 1]); i += 2
    elif rest[i] == "--bad-sig":
        for env in evs[len(evs) - int(rest[i + 1]):]:
            spoil_sig(env)
        i += 2
    elif rest[i] == "--add":
        evs += items(open(rest[i + 1], "rb").read())[1]; i += 2
    elif rest[i] == "--keep-trailer":
        keep = True; i += 1
    else:
        sys.exit("rebundle: unknown option " + rest[i])
body = b"HEARTHB1" + bytes([0x92, 0x01, 0xc4, 0x20]) + forum
body += b"".join(bin_item(bytes(e)) for e in evs) + b"\xc0"
if keep:
    body += trailer
else:
    body += bytes([0xc4, 0x20]) + hashlib.blake2b(body, digest_size=32).digest()
open(dst, "wb").write(body)
PY
}

# carry FROM TO... - export FROM's events to FROM.bundle and import them on each TO
# (a USB stick carried between nodes).
carry() {
    local from="$1" to
    shift
    expect_ok "$HEARTH" -d "$from" export "$from.bundle"
    for to in "$@"; do
        expect_ok "$HEARTH" -d "$to" import "$from.bundle"
    done
}
