/* test_session_rules.c - what a session refuses because docs/PROTOCOL.md forbids it,
 * one test per rule, each driving two real sessions by hand (tests/unit/test_session.c
 * has the sessions that go well):
 *
 *   - a message after the peer's DONE (section 7.7);
 *   - an initiator without a forum whose first EVENTS is not the genesis alone
 *     (section 8.2, "Genesis first"), whether it holds several events or one other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/event.h"
#include "store/store.h"
#include "sync/recon.h"
#include "sync/session.h"
#include "sync/wire.h"
#include "tests/unit/testutil.h"

static struct hkey F;

struct node {
    char *dir;
    struct store *s;
    struct recon_index *idx;
    uint8_t forum[HEARTH_ID_LEN], board[HEARTH_ID_LEN];
};

static struct node *node_new(const char *name)
{
    struct node *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->dir = testutil_tmpdir(name);
    char path[512];
    snprintf(path, sizeof path, "%s/hearth.db", n->dir);
    if (store_open(&n->s, path, STORE_CREATE) != HERR_OK)
        fail_msg("store_open: %s", store_open_error());
    assert_int_equal(recon_index_new(&n->idx), HERR_OK);
    return n;
}

static void node_free(struct node *n)
{
    recon_index_destroy(&n->idx);
    store_destroy(&n->s);
    free(n->dir);
    free(n);
}

static void publish(struct node *n, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    herr e = store_publish(n->s, &F, &d, id ? id : dummy);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(n->s));
}

/* A forum with a board and `posts` posts, founded on n. */
static void found(struct node *n, int posts)
{
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = (struct hstr){"Riverbend", 9};
    publish(n, g, n->forum);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = (struct hstr){"General", 7};
    publish(n, b, n->board);
    for (int i = 0; i < posts; i++) {
        struct event_draft d = {.kind = EK_POST, .ref = n->board};
        d.b.title = (struct hstr){"a title", 7};
        d.b.text = (struct hstr){"some words", 10};
        publish(n, d, NULL);
    }
}

static uint64_t events_of(struct node *n)
{
    struct store_stats st;
    assert_int_equal(store_stats(n->s, &st), HERR_OK);
    return st.events;
}

/* A copy of one message a session produced. */
struct msg {
    uint8_t *p;
    size_t n;
};

/* next - the next message `from` has to send, copied (false when none). */
static bool next(struct sync_session *from, struct msg *m)
{
    const uint8_t *p;
    size_t n;
    if (!sync_session_next(from, &p, &n))
        return false;
    m->p = malloc(n);
    assert_non_null(m->p);
    memcpy(m->p, p, n);
    m->n = n;
    return true;
}

static enum sync_type type_of(const struct msg *m)
{
    struct sync_msg d;
    const char *why;
    assert_int_equal(sync_msg_decode(&d, m->p, m->n, &why), HERR_OK);
    return d.type;
}

/* refused - s ended with a protocol error whose reason contains `why`, and its last
 * word to the peer is an ERROR 19. */
static void refused(struct sync_session *s, const char *why)
{
    const char *got;
    assert_int_equal(sync_session_result(s, &got), HERR_PROTOCOL);
    if (!strstr(got, why))
        fail_msg("expected a reason containing '%s', got '%s'", why, got);
    struct msg m = {0}; /* next() fills it; gcc -O3 cannot tell when it fails */
    assert_true(next(s, &m));
    struct sync_msg d;
    const char *w;
    assert_int_equal(sync_msg_decode(&d, m.p, m.n, &w), HERR_OK);
    assert_int_equal(d.type, SYNC_ERROR);
    assert_int_equal(d.u.error.code, HERR_PROTOCOL);
    free(m.p);
    assert_true(sync_session_done(s));
}

static int setup(void **state)
{
    (void)state;
    if (crypto_start() != HERR_OK)
        return -1;
    uint8_t seed[32];
    testutil_seed(seed, 1);
    hkey_from_seed(&F, seed);
    return 0;
}

static herr copy_one(void *ctx, const uint8_t *env, size_t len)
{
    struct store_blob b = {env, len};
    struct ingest_result r;
    return store_ingest(ctx, &b, 1, &r, NULL);
}

/* The initiator holds one post more (plan SUFFIX_I): it sends EVENTS, then DONE. The
 * responder, having the DONE, must take nothing more; before, it stored what came. */
static void test_nothing_after_done(void **state)
{
    (void)state;
    struct node *a = node_new("rules-done-a"), *b = node_new("rules-done-b");
    found(a, 2);
    assert_int_equal(store_export(a->s, copy_one, b->s), HERR_OK);
    struct event_draft d = {.kind = EK_POST, .ref = a->board};
    d.b.title = (struct hstr){"one more", 8};
    d.b.text = (struct hstr){"only on b", 9};
    publish(b, d, NULL);
    struct sync_session *i, *r;
    assert_int_equal(sync_session_new(&i, b->s, b->idx, NULL), HERR_OK);
    assert_int_equal(sync_session_new(&r, a->s, a->idx, NULL), HERR_OK);
    assert_int_equal(sync_session_start(i), HERR_OK);
    struct msg m = {0}, events = {0};
    assert_true(next(i, &m)); /* HELLO */
    assert_int_equal(sync_session_receive(r, m.p, m.n), HERR_OK);
    free(m.p);
    assert_true(next(r, &m)); /* HELLO, SUFFIX_I */
    assert_int_equal(sync_session_receive(i, m.p, m.n), HERR_OK);
    free(m.p);
    assert_int_equal(sync_session_stats(r)->plan, SYNC_PLAN_SUFFIX_I);
    while (next(i, &m)) { /* EVENTS, DONE */
        assert_int_equal(sync_session_receive(r, m.p, m.n), HERR_OK);
        if (type_of(&m) == SYNC_EVENTS && !events.p)
            events = m;
        else
            free(m.p);
    }
    assert_non_null(events.p);
    uint64_t recv = sync_session_stats(r)->events_recv;
    /* The same EVENTS once more, after the DONE. */
    assert_int_equal(sync_session_receive(r, events.p, events.n), HERR_PROTOCOL);
    assert_int_equal(sync_session_stats(r)->events_recv, recv);
    refused(r, "a message after the peer's done");
    free(events.p);
    sync_session_destroy(&i);
    sync_session_destroy(&r);
    node_free(a);
    node_free(b);
}

/* An empty node without a forum starts a session with a full one (plan LIST_I): the
 * responder sends the genesis alone, then the rest. */
struct joining {
    struct node *full, *empty;
    struct sync_session *i, *r;
    struct msg genesis, rest; /* the first two EVENTS messages the responder sends */
};

static void joining_start(struct joining *j, const char *name)
{
    char n[64];
    snprintf(n, sizeof n, "%s-full", name);
    j->full = node_new(n);
    snprintf(n, sizeof n, "%s-empty", name);
    j->empty = node_new(n);
    found(j->full, 3);
    /* Plain EVENTS, so that the test can take them apart (the rules are the same for
     * compressed ones: test_session's test_compressed_transfer). */
    const struct sync_config plain = {.no_compress = true};
    assert_int_equal(sync_session_new(&j->i, j->empty->s, j->empty->idx, &plain), HERR_OK);
    assert_int_equal(sync_session_new(&j->r, j->full->s, j->full->idx, &plain), HERR_OK);
    assert_int_equal(sync_session_start(j->i), HERR_OK);
    struct msg m = {0};
    assert_true(next(j->i, &m));
    assert_int_equal(sync_session_receive(j->r, m.p, m.n), HERR_OK);
    free(m.p);
    assert_true(next(j->r, &m)); /* HELLO, LIST_I */
    assert_int_equal(sync_session_receive(j->i, m.p, m.n), HERR_OK);
    free(m.p);
    assert_int_equal(sync_session_stats(j->r)->plan, SYNC_PLAN_LIST_I);
    assert_true(next(j->r, &j->genesis));
    assert_int_equal(type_of(&j->genesis), SYNC_EVENTS);
    assert_true(next(j->r, &j->rest));
    assert_int_equal(type_of(&j->rest), SYNC_EVENTS);
}

static void joining_end(struct joining *j)
{
    free(j->genesis.p);
    free(j->rest.p);
    sync_session_destroy(&j->i);
    sync_session_destroy(&j->r);
    node_free(j->full);
    node_free(j->empty);
}

/* As sent, the genesis first: the empty node takes it and then the rest. */
static void test_genesis_first_accepted(void **state)
{
    (void)state;
    struct joining j;
    joining_start(&j, "rules-gen-ok");
    assert_int_equal(sync_session_receive(j.i, j.genesis.p, j.genesis.n), HERR_OK);
    assert_int_equal(events_of(j.empty), 1);
    assert_int_equal(sync_session_receive(j.i, j.rest.p, j.rest.n), HERR_OK);
    assert_int_equal(events_of(j.empty), 5);
    joining_end(&j);
}

/* Several events before the genesis: refused before any is stored. */
static void test_genesis_not_first_refused(void **state)
{
    (void)state;
    struct joining j;
    joining_start(&j, "rules-gen-late");
    assert_int_equal(sync_session_receive(j.i, j.rest.p, j.rest.n), HERR_PROTOCOL);
    refused(j.i, "a node without a forum must get the genesis first, alone");
    assert_int_equal(events_of(j.empty), 0);
    joining_end(&j);
}

/* One event alone that is not the genesis: the store cannot take it, and the session
 * ends rather than go on without a forum. */
static void test_one_other_event_first_refused(void **state)
{
    (void)state;
    struct joining j;
    joining_start(&j, "rules-gen-other");
    struct sync_msg d;
    const char *why;
    assert_int_equal(sync_msg_decode(&d, j.rest.p, j.rest.n, &why), HERR_OK);
    struct sync_events_iter it;
    sync_events_iter_init(&it, &d.u.events);
    const uint8_t *env;
    uint32_t len;
    assert_true(sync_events_next(&it, &env, &len));
    struct hbuf one;
    hbuf_init(&one, HEARTH_MAX_FRAME);
    struct store_blob b = {env, len};
    assert_int_equal(sync_encode_events(&one, &b, 1), HERR_OK);
    assert_int_equal(sync_session_receive(j.i, one.data, one.len), HERR_PROTOCOL);
    refused(j.i, "the first events for a node without a forum are not the genesis");
    assert_int_equal(events_of(j.empty), 0);
    hbuf_release(&one);
    joining_end(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_after_done),
        cmocka_unit_test(test_genesis_first_accepted),
        cmocka_unit_test(test_genesis_not_first_refused),
        cmocka_unit_test(test_one_other_event_first_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
