#!/usr/bin/env bash
# test_web_serve.sh - how `hearth serve` puts the web pages up: HTTPS with the
# certificate and key of [web] tls_cert / tls_key (cookies then Secure, plain HTTP
# refused on that port), a clear error naming the address it cannot listen on, and
# --no-web. The pages themselves are tested in a browser (tests/web).
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "openssl is missing (scripts/deps installs it)"; exit 1; }
D=$TMP_ROOT/hub
expect_ok "$HEARTH" -d "$D" init --forum "Riverbend"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP_ROOT/key.pem" -out "$TMP_ROOT/cert.pem" \
    -days 2 -subj "/CN=localhost" 2>/dev/null
printf '[web]\ntls_cert = %s\ntls_key = %s\n' "$TMP_ROOT/cert.pem" "$TMP_ROOT/key.pem" \
    >"$D/hearth.conf"
PORT=$(free_port)
WPORT=$(free_port)
"$HEARTH" -d "$D" serve --listen "tcp://127.0.0.1:$PORT" --no-discovery \
    --web "127.0.0.1:$WPORT" >"$TMP_ROOT/serve.log" 2>&1 &
PID=$!
CLEANUPS+=("ours $PID && kill $PID; wait $PID")
end=$((SECONDS + 120))
until grep -q " ready, listening on " "$TMP_ROOT/serve.log"; do
    ours "$PID" || fail "serve exited: $(cat "$TMP_ROOT/serve.log")"
    [ $SECONDS -lt $end ] || fail "serve is not ready after 120 s"
    sleep 0.1
done
contains "serve says where to open the pages, over https" "$(cat "$TMP_ROOT/serve.log")" \
    "web: open https://127.0.0.1:$WPORT/"
probe() { # SCHEME PATH: the status and Set-Cookie of one GET (the certificate is ours)
    python3 - "$1" "$WPORT" "$2" <<'PY'
import http.client, ssl, sys
scheme, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    if scheme == "https":
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                        context=ssl._create_unverified_context())
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    print(r.status, r.getheader("Set-Cookie") or "")
except Exception as e:
    print("refused", type(e).__name__)
PY
}
OUT=$(probe https /login)
contains "the login page answers over https" "$OUT" "200 "
contains "and its cookie is Secure" "$OUT" "; Secure"
contains "and HttpOnly, SameSite=Strict" "$OUT" "HttpOnly; SameSite=Strict"
OUT=$(probe http /login)
contains "plain http to the https port gets no page" "$OUT" "refused"
ours "$PID" || fail "serve died on a plain-http request"
kill "$PID"
wait "$PID" || true

# A second serve on the same web address: a clear error that names it, exit 7.
"$HEARTH" -d "$D" serve --listen "tcp://127.0.0.1:$PORT" --no-discovery \
    --web "127.0.0.1:$WPORT" >"$TMP_ROOT/serve2.log" 2>&1 &
PID=$!
until grep -q " ready, listening on " "$TMP_ROOT/serve2.log"; do
    ours "$PID" || fail "serve exited: $(cat "$TMP_ROOT/serve2.log")"
    sleep 0.1
done
P2=$(free_port)
expect_ok "$HEARTH" -d "$TMP_ROOT/other" init --forum "Elsewhere"
expect_fail 7 "127.0.0.1:$WPORT" "$HEARTH" -d "$TMP_ROOT/other" serve --listen \
    "tcp://127.0.0.1:$P2" --no-discovery --web "127.0.0.1:$WPORT"
kill "$PID"
wait "$PID" || true
finish
