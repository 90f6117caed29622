#!/usr/bin/env bash
# test_docs.sh - every shell block of README.md and docs/OPERATIONS.md works as written.
#
# A block fenced as ```sh is a script, and the line before it (blank lines apart) must
# be a marker saying what to do with it:
#
#   <!-- doctest: run -->              run it with a fresh HOME (so the default data
#                                      directory is new), in a copy of the source tree
#                                      whose build-release/hearth is the binary under test
#   <!-- doctest: run with-forum -->   the same, after `hearth init --forum Doctest`
#   <!-- doctest: run, the last command exits N -->
#                                      run it; every command but the last must succeed,
#                                      and the last (an example of a refusal) exit N
#   <!-- doctest: hub -->              run it as root in a private mount and network
#                                      namespace (below); skipped, saying so, without root
#   <!-- doctest: skip: REASON -->     do not run it, for the reason given
#
# A ```sh block without a marker, or a marker of another shape, fails the test; so does
# a block that exits non-zero (bash -e -u -o pipefail), with the command that failed.
# Output samples and synopses with placeholders go in plain ``` blocks.
#
# The hub block installs into the machine's real paths (/usr/local/bin,
# /usr/local/share/doc, /etc/systemd/system, /etc/passwd, /var/lib/hearth). Rather than
# rewriting them, the test runs the block, unchanged, under `unshare --mount --net`
# with private copies in place: /etc is a copy of the machine's, /usr/local/bin and
# /usr/local/share empty directories, /var/lib an empty tmpfs, the network only a
# loopback. What the test substitutes is systemd, which is not running here: its
# `systemctl` is a shell function that, for `enable --now UNIT`, checks the unit with
# `systemd-analyze verify` (when installed) and checks the paths it names (ExecStart,
# Documentation, ReadWritePaths) and its User exist, then starts ExecStart as User with
# its Environment and a NOTIFY_SOCKET and returns once the node says READY=1, as
# systemd would; `daemon-reload` does nothing. The node is stopped when the block ends.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"
: "${HEARTH_SRC:?HEARTH_SRC must name the source tree}"

DOCS=("$HEARTH_SRC/README.md" "$HEARTH_SRC/docs/OPERATIONS.md")
BLOCKS=$TMP_ROOT/blocks
mkdir -p "$BLOCKS"

# The blocks, one script each, and a manifest: FILE:LINE <tab> MODE <tab> SCRIPT.
run python3 - "$BLOCKS" "$HEARTH_SRC" "${DOCS[@]}" <<'PY'
import os, re, sys
out, root, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
marker = re.compile(
    r"^<!-- doctest: (run|run with-forum|run, the last command exits ([0-9]+)|hub|skip: (.+\S)) -->$")
problems, manifest, n = [], [], 0
for path in docs:
    lines = open(path, encoding="utf-8").read().split("\n")
    name = os.path.relpath(path, root)
    last, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            info, start = line[3:].strip(), i
            i += 1
            body = []
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            where = "%s:%d" % (name, start + 1)
            if i == len(lines):
                problems.append(where + ": a code block that never ends")
            if info == "sh":
                m = marker.match(last)
                if not m:
                    problems.append(where + ": a ```sh block without a <!-- doctest: run|"
                                    "run with-forum|hub|skip: REASON --> line before it")
                else:
                    n += 1
                    script = os.path.join(out, "%02d.sh" % n)
                    mode, extra = m.group(1).replace(" ", "-"), ""
                    if m.group(3):
                        mode, extra = "skip", m.group(3)
                    elif m.group(2):
                        # The last command (with its continuation lines) apart.
                        mode, extra = "run-exits", m.group(2)
                        last = max(j for j, l in enumerate(body)
                                   if l.strip() and not l.lstrip().startswith("#"))
                        first = last
                        while first > 0 and body[first - 1].rstrip().endswith("\\"):
                            first -= 1
                        open(script + ".last", "w").write("\n".join(body[first:last + 1]) + "\n")
                        body = body[:first]
                    open(script, "w").write("\n".join(body) + "\n")
                    manifest.append("\t".join([where, mode, script, extra]))
            last = ""
        elif line.strip():
            last = line.strip()
        i += 1
open(os.path.join(out, "manifest"), "w").write("".join(l + "\n" for l in manifest))
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
[ "$RC" -eq 0 ] || fail "the docs' shell blocks are not all marked"
pass
check "README.md has blocks that run" "$(grep -c $'\trun' "$BLOCKS/manifest")" -ge 1
check "OPERATIONS.md has the hub block" "$(grep -c $'^docs/OPERATIONS.md:[0-9]*\thub' "$BLOCKS/manifest")" -eq 1

# A copy of the files the blocks use from the source tree, with the binary under test
# as the release build.
source_copy() {
    local d=$1
    mkdir -p "$d/docs" "$d/build-release"
    cp "$HEARTH_SRC/README.md" "$d/"
    cp "$HEARTH_SRC"/docs/*.md "$d/docs/"
    cp -r "$HEARTH_SRC/dist" "$d/"
    cp "$HEARTH" "$d/build-release/hearth"
    chmod 755 "$d" "$d/build-release/hearth"
}

# run_block WHERE MODE SCRIPT [STATUS]: a user's block, as a user would type it; with
# STATUS, all but its last command (SCRIPT.last), which must exit STATUS.
run_block() {
    local where=$1 mode=$2 script=$3 status=${4:-} w
    w=$TMP_ROOT/$(basename "$script" .sh)
    mkdir -p "$w/home" "$w/bin"
    source_copy "$w/src"
    ln -s "$HEARTH" "$w/bin/hearth"
    if [ "$mode" = run-with-forum ]; then
        HOME=$w/home PATH="$w/bin:$PATH" "$HEARTH" init --forum "Doctest" >/dev/null
    fi
    # shellcheck disable=SC2016 # the script is expanded by the bash that runs it
    run env HOME="$w/home" PATH="$w/bin:$PATH" bash -c \
        'cd "$1" && set -euxo pipefail && source "$2"
        [ -z "$3" ] && exit 0
        set +e
        source "$2.last"
        rc=$?
        [ "$rc" = "$3" ] || { echo "test_docs: the last command exited $rc, not $3" >&2; exit 1; }' \
        doctest "$w/src" "$script" "$status"
    [ "$RC" -eq 0 ] || fail "$where: the block failed (the command with + last in stderr)"
    pass
}

# The hub block's setting: what runs inside the namespace before the block.
cat >"$TMP_ROOT/hub-prologue.sh" <<'SH'
set -euo pipefail
T=$1 SRC=$2 BLOCK=$3
ip link set lo up
cp -a /etc "$T/etc"
mkdir -p "$T/local-bin" "$T/local-share"
chmod 755 "$T/local-bin" "$T/local-share"
mount --bind "$T/etc" /etc
mount --bind "$T/local-bin" /usr/local/bin
mount --bind "$T/local-share" /usr/local/share
mount -t tmpfs -o mode=755 tmpfs /var/lib
NODE_PID=
stop_node() {
    [ -n "$NODE_PID" ] || return 0
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    NODE_PID=
}
trap stop_node EXIT

unit_value() { # FILE KEY: every value of KEY= in the unit, one a line
    sed -n "s/^$2=//p" "$1"
}

# systemctl, as far as the guide uses it.
systemctl() {
    case "$*" in
    daemon-reload) return 0 ;;
    "enable --now "*) unit_start "${@: -1}" ;;
    *) echo "test_docs: 'systemctl $*' is not emulated" >&2; return 1 ;;
    esac
}

unit_start() {
    { set +x; } 2>/dev/null
    local f=/etc/systemd/system/$1.service doc path user exec
    [ -f "$f" ] || { echo "test_docs: no unit $f" >&2; return 1; }
    if command -v systemd-analyze >/dev/null; then
        systemd-analyze verify "$f" || { echo "test_docs: systemd-analyze verify $f failed" >&2; return 1; }
    fi
    while read -r doc; do
        path=${doc#file://}
        [ "$path" != "$doc" ] || continue
        [ -f "$path" ] || { echo "test_docs: the unit's Documentation $doc does not exist" >&2; return 1; }
    done < <(unit_value "$f" Documentation)
    while read -r path; do
        [ -d "$path" ] || { echo "test_docs: the unit's ReadWritePaths $path does not exist" >&2; return 1; }
    done < <(unit_value "$f" ReadWritePaths | tr ' ' '\n' | sed '/^$/d')
    user=$(unit_value "$f" User)
    id -u "$user" >/dev/null || { echo "test_docs: the unit's User $user does not exist" >&2; return 1; }
    exec=$(unit_value "$f" ExecStart)
    [ -x "${exec%% *}" ] || { echo "test_docs: the unit's ExecStart ${exec%% *} is not executable" >&2; return 1; }
    [ "$(unit_value "$f" Type)" = notify ] || { echo "test_docs: the unit is not Type=notify" >&2; return 1; }
    # Start it as systemd would: as User, with Environment=, HOME, and a NOTIFY_SOCKET
    # that must hear READY=1.
    # An abstract socket: no file the unit's user must be able to reach (and private to
    # the namespace's network).
    local sock=@hearth-test-docs envs=() e home
    home=$(getent passwd "$user" | cut -d: -f6)
    while read -r e; do envs+=("$e"); done < <(unit_value "$f" Environment)
    python3 - "$sock" "$T/ready" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
s.settimeout(60)
open(sys.argv[2] + ".listening", "w").close()
while True:
    if b"READY=1" in s.recv(4096).split(b"\n"):
        open(sys.argv[2], "w").close()
        break
PY
    local waiter=$!
    until [ -e "$T/ready.listening" ]; do sleep 0.05; done
    # shellcheck disable=SC2086 # ExecStart is split into words, as systemd splits it
    setpriv --reuid="$user" --regid="$user" --init-groups env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
        USER="$user" LOGNAME="$user" NOTIFY_SOCKET="$sock" \
        ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
        "${envs[@]}" $exec >"$T/node.log" 2>&1 &
    NODE_PID=$!
    wait "$waiter" || { echo "test_docs: the node did not say READY=1 within 60 s:" >&2; cat "$T/node.log" >&2; return 1; }
    kill -0 "$NODE_PID" || { echo "test_docs: the node exited:" >&2; cat "$T/node.log" >&2; return 1; }
}

cd "$SRC"
set -x
# shellcheck disable=SC1090
source "$BLOCK"
set +x
# What the guide promises at the end: a node that runs, as the hearth user.
runuser -u hearth -- env HEARTH_HOME=/var/lib/hearth hearth status | grep -q "^node: *running" ||
    { echo "test_docs: hearth status does not show the node running" >&2; exit 1; }
[ "$(stat -c %U:%a /var/lib/hearth)" = hearth:700 ] ||
    { echo "test_docs: /var/lib/hearth is not the hearth user's, mode 700" >&2; exit 1; }
SH

hub_block() {
    local where=$1 script=$2 t
    if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null ||
        ! unshare --mount --net true 2>/dev/null; then
        echo "SKIP $where: the hub block needs root and unshare --mount --net"
        return 0
    fi
    t=$TMP_ROOT/hub
    mkdir -p "$t"
    chmod 755 "$t"
    source_copy "$t/src"
    run unshare --mount --net --propagation private \
        bash "$TMP_ROOT/hub-prologue.sh" "$t" "$t/src" "$script"
    [ "$RC" -eq 0 ] || fail "$where: the hub block failed (the command with + last in stderr)"
    pass
}

while IFS=$'\t' read -r where mode script reason; do # reason: or the status expected
    case "$mode" in
    skip) echo "skip $where: $reason" ;;
    hub) hub_block "$where" "$script" ;;
    run-exits) run_block "$where" "$mode" "$script" "$reason" ;;
    *) run_block "$where" "$mode" "$script" ;;
    esac
done <"$BLOCKS/manifest"

finish
