/* test_transport.c - the ZeroMQ transport over real loopback sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include "base/limits.h"
#include "node/transport.h"
#include "tests/unit/testutil.h"

struct pair {
    struct transport *server, *client;
    uint8_t server_seed[32], client_seed[32];
};

static bool deny_all(void *ctx, const uint8_t key[HEARTH_PK_LEN], const char *address)
{
    (void)key;
    (void)address;
    int *calls = ctx;
    (*calls)++;
    return false;
}

static void start_server(struct pair *p, transport_allow_fn allow, void *ctx)
{
    testutil_seed(p->server_seed, 1);
    testutil_seed(p->client_seed, 100);
    struct transport_opts so = {.listen = "tcp://127.0.0.1:0", .allow = allow, .allow_ctx = ctx};
    assert_int_equal(transport_new(&p->server, p->server_seed, &so, NULL), HERR_OK);
    struct transport_opts co = {0};
    assert_int_equal(transport_new(&p->client, p->client_seed, &co, NULL), HERR_OK);
    assert_non_null(strstr(transport_endpoint(p->server), "tcp://127.0.0.1:"));
}

static void stop(struct pair *p)
{
    transport_destroy(&p->server);
    transport_destroy(&p->client);
    assert_null(p->server);
}

/* pump - poll both sides until the client connection leaves CONNECTING (or a
 * message arrives on `want_on`), for at most ~5 s. */
static bool pump(struct pair *p, int conn, struct transport *want_on, struct transport_msg *m)
{
    for (int i = 0; i < 500; i++) {
        bool got = false;
        assert_int_equal(transport_poll(p->server, 5, m, &got), HERR_OK);
        if (got && want_on == p->server)
            return true;
        got = false;
        assert_int_equal(transport_poll(p->client, 5, m, &got), HERR_OK);
        if (got && want_on == p->client)
            return true;
        if (!want_on && transport_conn_state(p->client, conn) != CONN_CONNECTING)
            return true;
    }
    return false;
}

static void test_exchange_identifies_peer_by_key(void **state)
{
    (void)state;
    struct pair p;
    start_server(&p, NULL, NULL);
    int conn;
    assert_int_equal(
        transport_connect(p.client, transport_key(p.server), transport_endpoint(p.server), &conn),
        HERR_OK);
    assert_true(pump(&p, conn, NULL, NULL));
    assert_int_equal(transport_conn_state(p.client, conn), CONN_READY);

    assert_int_equal(transport_send(p.client, conn, NULL, 0, (const uint8_t *)"hello", 5), HERR_OK);
    struct transport_msg m;
    assert_true(pump(&p, conn, p.server, &m));
    assert_int_equal(m.conn, -1);
    assert_int_equal(m.len, 5);
    assert_memory_equal(m.data, "hello", 5);
    assert_memory_equal(m.peer, transport_key(p.client), HEARTH_PK_LEN);

    uint8_t route[TRANSPORT_MAX_ROUTE];
    size_t route_len = m.route_len;
    memcpy(route, m.route, route_len);
    assert_int_equal(transport_send(p.server, -1, route, route_len, (const uint8_t *)"hi", 2),
                     HERR_OK);
    assert_true(pump(&p, conn, p.client, &m));
    assert_int_equal(m.conn, conn);
    assert_memory_equal(m.data, "hi", 2);
    assert_memory_equal(m.peer, transport_key(p.server), HEARTH_PK_LEN);
    stop(&p);
}

static void test_wrong_server_key_fails_handshake(void **state)
{
    (void)state;
    struct pair p;
    start_server(&p, NULL, NULL);
    uint8_t wrong[HEARTH_PK_LEN];
    memcpy(wrong, transport_key(p.server), HEARTH_PK_LEN);
    wrong[0] ^= 1;
    int conn;
    assert_int_equal(transport_connect(p.client, wrong, transport_endpoint(p.server), &conn),
                     HERR_OK);
    assert_true(pump(&p, conn, NULL, NULL));
    assert_int_equal(transport_conn_state(p.client, conn), CONN_BAD_KEY);
    stop(&p);
}

static void test_zap_refusal(void **state)
{
    (void)state;
    struct pair p;
    int calls = 0;
    start_server(&p, deny_all, &calls);
    int conn;
    assert_int_equal(
        transport_connect(p.client, transport_key(p.server), transport_endpoint(p.server), &conn),
        HERR_OK);
    assert_true(pump(&p, conn, NULL, NULL));
    assert_int_equal(transport_conn_state(p.client, conn), CONN_REFUSED);
    assert_true(calls >= 1);
    stop(&p);
}

/* Connections closed while libzmq is busy with them (just opened, just refused):
 * libzmq sends a connection's events from its I/O thread with a blocking send, so a
 * monitor's reader closed before the monitor is stopped could hold that thread for
 * good, and with it every connection of the context (a serving node refused once
 * never reached any peer again). After each round, a connection to a server that
 * takes us must still get through. */
static void test_close_midway_keeps_transport_alive(void **state)
{
    (void)state;
    struct pair p;
    int calls = 0;
    start_server(&p, deny_all, &calls);
    uint8_t open_seed[32];
    testutil_seed(open_seed, 2);
    struct transport *open = NULL;
    struct transport_opts oo = {.listen = "tcp://127.0.0.1:0"};
    assert_int_equal(transport_new(&open, open_seed, &oo, NULL), HERR_OK);
    struct transport_msg m;
    bool got;
    for (int round = 0; round < 100; round++) {
        int conn;
        /* Opened and closed at once: its TCP connection comes up after the close. */
        assert_int_equal(
            transport_connect(p.client, transport_key(open), transport_endpoint(open), &conn),
            HERR_OK);
        transport_close(p.client, conn);
        /* Refused, and closed the moment the refusal is known. */
        assert_int_equal(transport_connect(p.client, transport_key(p.server),
                                           transport_endpoint(p.server), &conn),
                         HERR_OK);
        assert_true(pump(&p, conn, NULL, NULL));
        assert_int_equal(transport_conn_state(p.client, conn), CONN_REFUSED);
        transport_close(p.client, conn);
        if (round % 10)
            continue;
        assert_int_equal(
            transport_connect(p.client, transport_key(open), transport_endpoint(open), &conn),
            HERR_OK);
        enum conn_state st = CONN_CONNECTING;
        for (int i = 0; i < 1000 && st == CONN_CONNECTING; i++) {
            assert_int_equal(transport_poll(open, 5, &m, &got), HERR_OK);
            assert_int_equal(transport_poll(p.client, 5, &m, &got), HERR_OK);
            st = transport_conn_state(p.client, conn);
        }
        if (st != CONN_READY)
            fail_msg("round %d: a new connection stayed %d (libzmq's I/O thread is held)", round,
                     (int)st);
        transport_close(p.client, conn);
    }
    transport_destroy(&open);
    stop(&p);
}

/* garbage_handshakes - open n TCP connections to endpoint, one after another, that
 * each greet as ZMTP 3.0 with the NULL mechanism, which a CURVE listener fails as a
 * protocol error and hangs up on. Each is awaited to its end, so that the listener's
 * backlog never overflows (a dropped SYN is sent again only a second later). */
static void garbage_handshakes(const char *endpoint, int n)
{
    unsigned port = (unsigned)atoi(strrchr(endpoint, ':') + 1);
    uint8_t greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        /* connect and read wait at most that long (Linux): a listener whose I/O thread
         * is held fails here instead of hanging the test. */
        struct timeval tv = {.tv_sec = 5};
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
            fail_msg("connection %d: the listener no longer accepts (libzmq's I/O thread held)", i);
        assert_int_equal(write(fd, greeting, sizeof greeting), (ssize_t)sizeof greeting);
        uint8_t buf[256];
        ssize_t got;
        while ((got = read(fd, buf, sizeof buf)) > 0)
            ;
        if (got < 0 && errno != ECONNRESET)
            fail_msg("connection %d: the listener never hung up (%s)", i, strerror(errno));
        close(fd);
    }
}

/* A flood of failed handshakes while the node is busy (not polling) makes the
 * listener's monitor report far more than a socket queues by default: libzmq must not
 * wait for us to read them, or its I/O thread, and every connection, stops (with a
 * queue of 1,000 + 1,000 the listener stopped hanging up at the 2,000th). Then a good
 * connection must get through. */
static void test_handshake_flood_unread_keeps_transport_alive(void **state)
{
    (void)state;
    struct pair p;
    start_server(&p, NULL, NULL);
    garbage_handshakes(transport_endpoint(p.server), 3000);
    int conn;
    assert_int_equal(
        transport_connect(p.client, transport_key(p.server), transport_endpoint(p.server), &conn),
        HERR_OK);
    /* The server is polled now and then: its ZAP handler answers our handshake. */
    struct transport_msg m;
    bool got;
    enum conn_state st = CONN_CONNECTING;
    for (int i = 0; i < 2000 && st == CONN_CONNECTING; i++) {
        assert_int_equal(transport_poll(p.client, 5, &m, &got), HERR_OK);
        if (i % 10 == 0)
            assert_int_equal(transport_poll(p.server, 0, &m, &got), HERR_OK);
        st = transport_conn_state(p.client, conn);
    }
    assert_int_equal(st, CONN_READY);
    stop(&p);
}

/* A raw CURVE DEALER that breaks the rules: multipart and oversize frames. */
static void *raw_dealer(void *ctx, struct pair *p)
{
    uint8_t pk[32], sk[32];
    nodekey_from_seed(pk, sk, p->client_seed);
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, transport_key(p->server), 32);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, 32);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32);
    assert_int_equal(zmq_connect(s, transport_endpoint(p->server)), 0);
    return s;
}

static void test_multipart_and_oversize_dropped(void **state)
{
    (void)state;
    struct pair p;
    start_server(&p, NULL, NULL);
    void *ctx = zmq_ctx_new();
    void *s = raw_dealer(ctx, &p);
    assert_int_equal(zmq_send(s, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(s, "b", 1, 0), 1);
    static uint8_t big[HEARTH_MAX_FRAME + 100];
    assert_int_equal(zmq_send(s, big, sizeof big, 0), (int)sizeof big);
    struct transport_msg m;
    bool got = false;
    for (int i = 0; i < 100 && !got; i++)
        assert_int_equal(transport_poll(p.server, 10, &m, &got), HERR_OK);
    assert_false(got);
    /* An honest message on a fresh connection still arrives. */
    zmq_close(s);
    s = raw_dealer(ctx, &p);
    assert_int_equal(zmq_send(s, "ok", 2, 0), 2);
    for (int i = 0; i < 300 && !got; i++)
        assert_int_equal(transport_poll(p.server, 10, &m, &got), HERR_OK);
    assert_true(got);
    assert_int_equal(m.len, 2);
    zmq_close(s);
    zmq_ctx_term(ctx);
    stop(&p);
}

static void test_address_parse(void **state)
{
    (void)state;
    uint8_t key[32], back[32];
    testutil_seed(key, 7);
    char addr[200], ep[100];
    address_format(addr, sizeof addr, key, "127.0.0.1", 7437);
    assert_int_equal(address_parse(addr, back, ep, sizeof ep, NULL), HERR_OK);
    assert_memory_equal(key, back, 32);
    assert_string_equal(ep, "tcp://127.0.0.1:7437");
    const char *why;
    assert_int_equal(address_parse("tcp://127.0.0.1:1", back, ep, sizeof ep, &why), HERR_USAGE);
    assert_int_equal(address_parse("hearth://abcd@h:1", back, ep, sizeof ep, &why), HERR_USAGE);
    addr[strlen(addr) - 4] = 'x';
    assert_int_equal(address_parse(addr, back, ep, sizeof ep, &why), HERR_USAGE);
}

int main(void)
{
    if (crypto_start() != HERR_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_identifies_peer_by_key),
        cmocka_unit_test(test_wrong_server_key_fails_handshake),
        cmocka_unit_test(test_zap_refusal),
        cmocka_unit_test(test_close_midway_keeps_transport_alive),
        cmocka_unit_test(test_multipart_and_oversize_dropped),
        cmocka_unit_test(test_handshake_flood_unread_keeps_transport_alive),
        cmocka_unit_test(test_address_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
