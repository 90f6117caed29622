#!/usr/bin/env bash
# test_open.sh - `hearth open`: with no web pages served it says so; with them, it
# prints a link on loopback that signs the owner in once (a session cookie, then a
# refusal the second time); the same kind of link from another address of this machine
# (the LAN's view of the hub) is refused and leaves the token unused. The browser test
# (tests/web/owner.mjs) checks the session posts as the node's author.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

# get URL : "STATUS COOKIE" of one GET, redirects not followed.
get() {
    python3 - "$1" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", u.path + "?" + u.query)
r = c.getresponse()
hs = [v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("hs=")]
print(r.status, hs[0] if hs else "-")
PY
}

A=$(new_dir a)
forum "$A" "Riverbend"
expect_fail 8 "no web pages are served from" "$HEARTH" -d "$A" open

WEB_PORT=$(free_port)
"$HEARTH" -d "$A" serve --listen "tcp://127.0.0.1:$(free_port)" --no-discovery \
    --web "0.0.0.0:$WEB_PORT" >"$TMP_ROOT/hub.log" 2>&1 &
HUB=$!
on_exit "ours $HUB && kill $HUB; wait $HUB"
end=$((SECONDS + 120))
until grep -q "web: .*127.0.0.1:$WEB_PORT/ on this machine" "$TMP_ROOT/hub.log" 2>/dev/null &&
    "$HEARTH" -d "$A" --json status 2>/dev/null | grep -q '"pid": *[0-9]'; do
    ours "$HUB" || fail "the hub exited: $(cat "$TMP_ROOT/hub.log")"
    [ $SECONDS -lt $end ] || fail "the hub is not ready after 120 s"
    sleep 0.1
done

expect_ok "$HEARTH" -d "$A" --json open
URL=$(json 'd["url"]')
same "the author" "$(json 'd["author"]')" "$(value "$A" 'd["author"]' id)"
[[ "$URL" =~ ^http://127\.0\.0\.1:$WEB_PORT/owner\?token=[0-9a-f]{64}$ ]] || fail "not a loopback link: $URL"
pass
lacks "the token is not stored as it is" "$(sqlite3 "$A/hearth.db" 'SELECT key FROM local_meta')" \
    "${URL##*=}"

# From another address of this machine, as the LAN sees the hub: refused, not used up.
LAN=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9)); print(s.getsockname()[0])' 2>/dev/null || true)
if [ -n "$LAN" ] && [[ "$LAN" != 127.* ]]; then
    same "refused from $LAN" "$(get "${URL/127.0.0.1/$LAN}")" "403 -"
    grep -q "owner's login link refused from $LAN" "$TMP_ROOT/hub.log" || fail "no log of the refusal"
    pass
else
    echo "note: no non-loopback IPv4 address here; the LAN refusal is not tested" >&2
fi

R=$(get "$URL")
[[ "$R" =~ ^303\ hs=[0-9a-f]{64}$ ]] || fail "the link did not sign in: $R"
pass
same "the second time: refused" "$(get "$URL")" "403 -"
same "a made-up token: refused" "$(get "${URL%=*}=$(printf '%064d' 0)")" "403 -"

expect_ok "$HEARTH" -d "$A" open --no-browser
contains "says what it is" "$OUT" "signs you in as this node's author, once, on this machine"

finish
