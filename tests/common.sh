# shellcheck shell=bash
# common.sh - what tests/cli/lib.sh and tests/integration/lib.sh share: the Python they
# call, and TCP ports for the nodes they start.

# python3: Debian's, which scripts/deps installs, for the tests and what they start. A
# python3 found earlier on PATH may be a version manager's: a start through pyenv's
# shim (a shell script) costs about 290 ms of CPU, its interpreter alone 64 ms to
# import json against Debian's 31 (`perf stat`), over thousands of calls in a run.
# Without /usr/bin/python3, the interpreter the first python3 resolves to.
if [ -x /usr/bin/python3 ]; then
  py=/usr/bin/python3
else
  py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
fi
if [ -n "$py" ] && [ "$(command -v python3)" != "$py" ]; then
  # A directory holding only python3, so that nothing else on PATH changes. Made once
  # and never replaced (`ln` without -f): tests starting together share it.
  pydir=${TMPDIR:-/tmp}/hearth-python3-$(id -u)
  mkdir -p "$pydir" && { ln -s "$py" "$pydir/python3" 2>/dev/null || true; }
  [ "$(readlink "$pydir/python3")" = "$py" ] && PATH="$pydir:$PATH"
fi
unset py pydir

# Ports. A port found free by binding port 0 and closing the socket is free only until
# the kernel hands it out again: it comes from the ephemeral range, from which every
# outgoing connection on the machine (another test's `hearth sync`, another run's
# nodes) also takes its local port, and the node binds it only later. Ports here come
# from below that range instead, where the kernel never picks a port by itself, and
# each is claimed (an atomic mkdir under $HEARTH_PORT_DIR, holding the claimant's pid)
# before it is tried, so that two tests running at once never pick the same one. A
# test keeps its ports until it exits (a node restarted on its port finds it still
# ours); port_release frees them, and a claim whose process is gone is taken over.
HEARTH_PORT_DIR=${HEARTH_PORT_DIR:-/tmp/hearth-ports}

# ours PID : true while PID is a child of this test's shell not yet reaped (a zombie
# counts). Signal a process only when it is ours: a pid that ended is soon someone
# else's (pid_max is 32768 on small machines, and a test run starts thousands of
# processes), and a kill -9 of a stale pid at cleanup killed whatever got it, in
# this test run or another's. $$ is the script's pid in subshells too.
# (Read by bash itself, no process: waits and samplers call it many times a second.)
ours() {
  local stat=
  [ -n "${1:-}" ] && { read -r -d '' stat <"/proc/$1/stat" || [ -n "$stat" ]; } 2>/dev/null ||
    return 1
  stat=${stat##*) } # past the command name, which may hold spaces and parentheses
  set -- $stat      # state ppid ...
  [ "${2:-}" = "$$" ]
}

# leftovers DIR : the processes still running whose command line names DIR (a test's
# own directory), one "PID COMMAND" line each. At a test's end there must be none: a
# process started through a function or a subshell and killed by the subshell's pid
# lives on (an orphan serving a deleted directory until the machine reboots).
leftovers() {
  pgrep -af -- "$(printf '%s/' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g')" || true
}

# reap_leftovers DIR : what leftovers DIR still finds after up to 2 s (a process killed
# a moment ago may not have died yet), killed with -9 and printed; nothing when
# nothing was left.
reap_leftovers() {
  local left p i
  for i in $(seq 20); do
    left=$(leftovers "$1")
    [ -n "$left" ] || return 0
    sleep 0.1
  done
  echo "$left"
  for p in $(cut -d' ' -f1 <<<"$left"); do kill -9 "$p" 2>/dev/null || true; done
}

# free_port : print a port below the ephemeral range that no one listens on, claimed
# for this test (the script's $$, also from a command substitution) until it exits
free_port() {
  local lo hi first p claim owner
  read -r first _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || first=32768
  lo=10000 hi=$((first - 1))
  [ "$hi" -gt "$lo" ] || { echo "free_port: no ports below the ephemeral range ($first)" >&2; return 1; }
  mkdir -p "$HEARTH_PORT_DIR"
  for _ in $(seq 1 500); do
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    claim=$HEARTH_PORT_DIR/$p
    if ! mkdir "$claim" 2>/dev/null; then
      owner=$(cat "$claim/pid" 2>/dev/null) || continue # being claimed or released now
      [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null && rm -rf "$claim" # stale
      continue
    fi
    echo $$ >"$claim/pid"
    if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' \
      "$p" 2>/dev/null; then
      echo "$p"
      return 0
    fi
    rm -rf "$claim" # someone outside the tests listens there
  done
  echo "free_port: no free port found" >&2
  return 1
}

# port_release : give back every port this test claimed (call it when the test ends)
port_release() {
  local c
  for c in "$HEARTH_PORT_DIR"/*/pid; do
    [ -f "$c" ] && [ "$(cat "$c" 2>/dev/null)" = "$$" ] && rm -rf "$(dirname "$c")"
  done
  return 0
}
