/* test_transport.c - the ZeroMQ transport over real loopback sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
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
        cmocka_unit_test(test_multipart_and_oversize_dropped),
        cmocka_unit_test(test_address_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
