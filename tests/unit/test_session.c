/* test_session.c - sync sessions between real stores on temporary files: fresh nodes,
 * an empty node joining a full one (in transfer priority order across batches), a
 * listed difference streamed from the store, both sides holding what the other lacks, a session cut
 * in the middle and resumed, another forum refused, garbage refused, tampered events rejected and
 * reported. */
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

static struct hkey F, A, B; /* founder, alice, bob */

static struct hstr S(const char *s) {
    return (struct hstr){s, (uint32_t)strlen(s)};
}

/* ---- a node: a store on a temporary file and its recon index ---- */

struct node {
    char *dir;
    char path[512];
    struct store *s;
    struct recon_index *idx;
    uint8_t forum[HEARTH_ID_LEN], board[HEARTH_ID_LEN];
};

static struct node *node_new(const char *name)
{
    struct node *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->dir = testutil_tmpdir(name);
    snprintf(n->path, sizeof n->path, "%s/hearth.db", n->dir);
    if (store_open(&n->s, n->path, STORE_CREATE) != HERR_OK)
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

static void publish(struct node *n, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    herr e = store_publish(n->s, k, &d, id ? id : dummy);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(n->s));
}

/* A forum with a board, founded on n. */
static void found(struct node *n, const char *name)
{
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = S(name);
    publish(n, &F, g, n->forum);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = S("General");
    publish(n, &F, b, n->board);
}

static void post(struct node *n, const struct hkey *k, const char *text, uint8_t *id)
{
    struct event_draft d = {.kind = EK_POST, .ref = n->board};
    d.b.title = S("a title");
    d.b.text = S(text);
    publish(n, k, d, id);
}

static herr copy_one(void *ctx, const uint8_t *env, size_t len)
{
    struct store_blob b = {env, len};
    struct ingest_result r;
    return store_ingest(ctx, &b, 1, &r, NULL);
}

/* A node holding everything `from` holds. */
static struct node *node_copy(struct node *from, const char *name)
{
    struct node *n = node_new(name);
    assert_int_equal(store_export(from->s, copy_one, n->s), HERR_OK);
    memcpy(n->forum, from->forum, HEARTH_ID_LEN);
    memcpy(n->board, from->board, HEARTH_ID_LEN);
    return n;
}

static uint64_t events_of(struct node *n)
{
    struct store_stats st;
    assert_int_equal(store_stats(n->s, &st), HERR_OK);
    return st.events;
}

static void same_view(struct node *a, struct node *b)
{
    uint8_t da[HEARTH_ID_LEN], db[HEARTH_ID_LEN];
    assert_int_equal(events_of(a), events_of(b));
    assert_int_equal(store_view_digest(a->s, da), HERR_OK);
    assert_int_equal(store_view_digest(b->s, db), HERR_OK);
    assert_memory_equal(da, db, HEARTH_ID_LEN);
}

/* ---- running sessions ---- */

struct run {
    struct sync_session *i, *r;
    unsigned events_to_i; /* EVENTS messages delivered to the initiator */
};

static void deliver(struct sync_session *to, const uint8_t *m, size_t n)
{
    herr e = sync_session_receive(to, m, n);
    (void)e; /* the outcome is read from sync_session_result */
}

static bool is_events(const uint8_t *m, size_t n)
{
    return n > 1 && (m[1] == SYNC_EVENTS || m[1] == SYNC_ZEVENTS);
}

/* Pump both ways until quiet, or until `cut` EVENTS messages have reached the
 * initiator (0: no cut), after which everything in flight is lost. */
static void pump(struct run *x, unsigned cut)
{
    for (int guard = 0; guard < 100000; guard++) {
        bool moved = false;
        const uint8_t *m;
        size_t n;
        while (sync_session_next(x->i, &m, &n)) {
            moved = true;
            deliver(x->r, m, n);
        }
        while (sync_session_next(x->r, &m, &n)) {
            moved = true;
            if (cut && x->events_to_i >= cut)
                return;
            deliver(x->i, m, n);
            if (is_events(m, n))
                x->events_to_i++;
        }
        if (!moved)
            return;
    }
}

static void start(struct run *x, struct node *ini, struct node *resp, const struct sync_config *ci,
                  const struct sync_config *cr)
{
    memset(x, 0, sizeof *x);
    assert_int_equal(sync_session_new(&x->i, ini->s, ini->idx, ci), HERR_OK);
    assert_int_equal(sync_session_new(&x->r, resp->s, resp->idx, cr), HERR_OK);
    assert_int_equal(sync_session_start(x->i), HERR_OK);
}

static void finish(struct run *x)
{
    sync_session_destroy(&x->i);
    sync_session_destroy(&x->r);
}

static void expect_ok(struct run *x)
{
    const char *why;
    herr ei = sync_session_result(x->i, &why);
    if (ei)
        print_error("initiator: %s: %s\n", herr_str(ei), why);
    herr er = sync_session_result(x->r, &why);
    if (er)
        print_error("responder: %s: %s\n", herr_str(er), why);
    assert_int_equal(ei, HERR_OK);
    assert_int_equal(er, HERR_OK);
    assert_true(sync_session_done(x->i) && sync_session_done(x->r));
}

static void sync_pair(struct node *ini, struct node *resp, const struct sync_config *c)
{
    struct run x;
    start(&x, ini, resp, c, c);
    pump(&x, 0);
    expect_ok(&x);
    finish(&x);
}

/* ---- tests ---- */

static int setup(void **state)
{
    (void)state;
    if (crypto_start() != HERR_OK)
        return -1;
    uint8_t seed[32];
    testutil_seed(seed, 1);
    hkey_from_seed(&F, seed);
    testutil_seed(seed, 2);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 3);
    hkey_from_seed(&B, seed);
    return 0;
}

static void test_two_fresh_nodes(void **state)
{
    (void)state;
    struct node *a = node_new("sess-fresh-a"), *b = node_new("sess-fresh-b");
    struct run x;
    start(&x, a, b, NULL, NULL);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i), *sr = sync_session_stats(x.r);
    assert_int_equal(sr->plan, SYNC_PLAN_NONE);
    assert_int_equal(si->round_trips, 1);
    assert_true(si->bytes_sent + sr->bytes_sent <= 64);
    finish(&x);
    /* Two copies of one forum: equal sets, one round trip. */
    found(a, "Riverbend");
    struct node *c = node_copy(a, "sess-fresh-c");
    start(&x, c, a, NULL, NULL);
    pump(&x, 0);
    expect_ok(&x);
    assert_true(sync_session_stats(x.i)->bytes_sent + sync_session_stats(x.r)->bytes_sent <= 64);
    finish(&x);
    node_free(a);
    node_free(b);
    node_free(c);
}

struct kinds {
    uint8_t (*id)[HEARTH_ID_LEN];
    uint32_t *kind;
    size_t n;
};

static herr note_kind(void *ctx, const uint8_t *env, size_t len)
{
    struct kinds *k = ctx;
    struct event ev;
    const char *why;
    assert_int_equal(event_parse(&ev, env, len, &why), HERR_OK);
    memcpy(k->id[k->n], ev.id, HEARTH_ID_LEN);
    k->kind[k->n++] = ev.kind;
    return HERR_OK;
}

static int prio(uint32_t kind)
{
    switch (kind) {
    case EK_ROLE:
        return 0;
    case EK_MOD:
        return 1;
    case EK_RETRACT:
        return 2;
    case EK_GENESIS:
        return 3;
    case EK_BOARD:
        return 6;
    case EK_POST:
        return 8;
    default:
        return 13;
    }
}

struct order_check {
    struct kinds *k;
    int last;
    size_t seen;
    bool genesis_first, ordered;
};

static herr check_order(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                        uint64_t arrival)
{
    (void)created;
    (void)arrival;
    struct order_check *c = ctx;
    uint32_t kind = 0;
    for (size_t i = 0; i < c->k->n; i++)
        if (memcmp(c->k->id[i], id, HEARTH_ID_LEN) == 0)
            kind = c->k->kind[i];
    if (c->seen++ == 0) {
        c->genesis_first = kind == EK_GENESIS;
        return HERR_OK;
    }
    if (prio(kind) < c->last)
        c->ordered = false;
    c->last = prio(kind);
    return HERR_OK;
}

/* An empty node joins a full forum over small frames: everything arrives, the genesis
 * first, then role, moderation and retraction events before boards and posts, across
 * many batches. */
static void test_empty_joins_full(void **state)
{
    (void)state;
    struct node *full = node_new("sess-full"), *empty = node_new("sess-empty");
    found(full, "Riverbend");
    static char text[20001];
    memset(text, 'x', sizeof text - 1);
    uint8_t posts[40][HEARTH_ID_LEN];
    for (int i = 0; i < 40; i++) {
        text[0] = (char)('a' + i % 26);
        post(full, i % 2 ? &A : &B, text, posts[i]);
    }
    struct event_draft role = {.kind = EK_ROLE};
    role.b.subject = A.pk;
    role.b.role = S("moderator");
    role.b.has_grant = role.b.grant = true;
    publish(full, &F, role, NULL);
    struct event_draft mod = {.kind = EK_MOD, .ref = posts[3]};
    mod.b.action = S("hide");
    mod.b.reason = S("off topic");
    publish(full, &A, mod, NULL);
    struct event_draft retract = {.kind = EK_RETRACT, .ref = posts[4]};
    publish(full, &B, retract, NULL);

    struct sync_config small = {.max_frame = 1u << 17};
    struct run x;
    start(&x, empty, full, &small, &small);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i);
    assert_true(si->events_recv == events_of(full));
    assert_true(si->events_accepted == events_of(full));
    assert_true(x.events_to_i >= 6); /* many batches */
    assert_int_equal(si->round_trips, 1);
    finish(&x);
    same_view(full, empty);

    struct kinds k = {calloc(64, HEARTH_ID_LEN), calloc(64, sizeof(uint32_t)), 0};
    assert_non_null(k.id);
    assert_int_equal(store_export(full->s, note_kind, &k), HERR_OK);
    struct order_check oc = {&k, -1, 0, false, true};
    assert_int_equal(store_keys_since(empty->s, 0, check_order, &oc), HERR_OK);
    assert_true(oc.genesis_first);
    assert_true(oc.ordered);
    free(k.id);
    free(k.kind);
    node_free(full);
    node_free(empty);
}

/* Listing with a peer that holds part of ours: the responder merges the peer's keys
 * with its ids and streams only what the peer lacks, in priority order, and nothing
 * that arrived after its HELLO (it goes in the next session). */
/* The responder sends what the peer lacks by id (few_send 0: up to 4096) or, forced
 * with few_send 1, streams everything it holds skipping the keys the peer listed. */
static void list_difference(uint32_t few_send)
{
    struct node *full = node_new("sess-lfull");
    found(full, "Riverbend");
    uint8_t posts[32][HEARTH_ID_LEN];
    post(full, &A, "one", posts[0]);
    post(full, &B, "two", posts[1]);
    struct node *part = node_copy(full, "sess-lpart");
    post(part, &B, "only here", NULL);
    post(part, &A, "only here too", NULL);
    for (int i = 2; i < 32; i++)
        post(full, i % 2 ? &A : &B, "later", posts[i]);
    struct event_draft role = {.kind = EK_ROLE};
    role.b.subject = A.pk;
    role.b.role = S("moderator");
    role.b.has_grant = role.b.grant = true;
    publish(full, &F, role, NULL);
    struct event_draft mod = {.kind = EK_MOD, .ref = posts[3]};
    mod.b.action = S("hide");
    mod.b.reason = S("off topic");
    publish(full, &A, mod, NULL);
    struct event_draft retract = {.kind = EK_RETRACT, .ref = posts[4]};
    publish(full, &B, retract, NULL);
    assert_int_equal(events_of(full), 37);
    assert_int_equal(events_of(part), 6);

    struct sync_config small = {.max_frame = 1u << 17, .few_send = few_send};
    struct run x;
    start(&x, part, full, &small, &small);
    uint8_t late[HEARTH_ID_LEN];
    post(full, &A, "after hello", late);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i), *sr = sync_session_stats(x.r);
    assert_int_equal(sr->plan, SYNC_PLAN_LIST_I);
    assert_int_equal(sr->local_only, 33);
    assert_int_equal(sr->remote_only, 2);
    assert_int_equal(si->events_recv, 33);
    assert_int_equal(si->events_accepted, 33);
    assert_int_equal(si->events_duplicate, 0);
    assert_int_equal(sr->events_accepted, 2);
    /* The initiator answered the WANT: its DONE, after the responder's, ended it. */
    assert_true(sync_session_last_word(x.i));
    assert_false(sync_session_last_word(x.r));
    assert_int_equal(store_has(part->s, late), HERR_NOT_FOUND);
    finish(&x);

    struct kinds k = {calloc(64, HEARTH_ID_LEN), calloc(64, sizeof(uint32_t)), 0};
    assert_non_null(k.id);
    assert_int_equal(store_export(full->s, note_kind, &k), HERR_OK);
    struct order_check oc = {&k, -1, 1, false, true}; /* no genesis this time */
    assert_int_equal(store_keys_since(part->s, 6, check_order, &oc), HERR_OK);
    assert_int_equal(oc.seen, 34);
    assert_true(oc.ordered);
    free(k.id);
    free(k.kind);
    sync_pair(part, full, NULL);
    same_view(full, part);
    node_free(full);
    node_free(part);
}

static void test_list_sends_the_difference_by_id(void **state)
{
    (void)state;
    list_difference(0);
}

static void test_list_streams_the_difference(void **state)
{
    (void)state;
    list_difference(1);
}

/* Large events sent by id come in chunks of about STREAM_BYTES (512 KiB), not of 512
 * events: 40 posts of ~50 KB (2 MB) cross whole, once each, in priority order. */
static void test_large_events_by_id(void **state)
{
    (void)state;
    struct node *full = node_new("sess-bigfull");
    found(full, "Riverbend");
    struct node *part = node_copy(full, "sess-bigpart");
    char *text = malloc(50001);
    assert_non_null(text);
    for (int i = 0; i < 40; i++) {
        memset(text, 'a' + i % 26, 50000);
        text[50000] = 0;
        post(full, i % 2 ? &A : &B, text, NULL);
    }
    free(text);
    struct sync_config c = {.max_frame = 1u << 17};
    struct run x;
    start(&x, part, full, &c, &c);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i);
    assert_int_equal(si->events_recv, 40);
    assert_int_equal(si->events_accepted, 40);
    assert_int_equal(si->events_duplicate, 0);
    finish(&x);
    same_view(full, part);
    node_free(full);
    node_free(part);
}

static void test_both_sides_differ(void **state)
{
    (void)state;
    struct node *a = node_new("sess-both-a");
    found(a, "Riverbend");
    for (int i = 0; i < 30; i++)
        post(a, &A, "shared", NULL);
    struct node *b = node_copy(a, "sess-both-b");
    /* Each side's new posts, and older ones too: the newest are not the whole story. */
    for (int i = 0; i < 7; i++)
        post(a, &A, "only on a", NULL);
    for (int i = 0; i < 5; i++)
        post(b, &B, "only on b", NULL);
    uint64_t want = events_of(a) + 5;
    sync_pair(a, b, NULL);
    assert_int_equal(events_of(a), want);
    same_view(a, b);
    /* Again: now equal. */
    struct run x;
    start(&x, b, a, NULL, NULL);
    pump(&x, 0);
    expect_ok(&x);
    assert_int_equal(sync_session_stats(x.r)->plan, SYNC_PLAN_NONE);
    assert_false(sync_session_last_word(x.i)); /* no DONE at all */
    assert_false(sync_session_last_word(x.r));
    finish(&x);
    /* One new post on one side: pushed as the newest, one round trip. */
    post(b, &B, "one more", NULL);
    start(&x, a, b, NULL, NULL);
    pump(&x, 0);
    expect_ok(&x);
    assert_int_equal(sync_session_stats(x.r)->plan, SYNC_PLAN_SUFFIX_R);
    assert_int_equal(sync_session_stats(x.i)->round_trips, 1);
    assert_true(sync_session_last_word(x.i)); /* R sent its event and DONE, I its DONE */
    assert_false(sync_session_last_word(x.r));
    finish(&x);
    same_view(a, b);
    node_free(a);
    node_free(b);
}

/* A bigger difference that takes the IBLT path, with a store on each side. */
static void test_iblt_between_stores(void **state)
{
    (void)state;
    struct node *a = node_new("sess-iblt-a");
    found(a, "Riverbend");
    for (int i = 0; i < 150; i++)
        post(a, &A, "shared", NULL);
    struct node *b = node_copy(a, "sess-iblt-b");
    for (int i = 0; i < 40; i++) {
        post(a, &A, "a", NULL);
        post(b, &B, "b", NULL);
    }
    struct run x;
    start(&x, a, b, NULL, NULL);
    pump(&x, 0);
    expect_ok(&x);
    assert_int_equal(sync_session_stats(x.r)->plan, SYNC_PLAN_IBLT);
    assert_true(sync_session_stats(x.i)->round_trips <= 3);
    assert_int_equal(sync_session_stats(x.i)->remote_only, 40);
    assert_int_equal(sync_session_stats(x.i)->local_only, 40);
    /* I computed: R answered its WANT, and R's DONE ended the session. */
    assert_false(sync_session_last_word(x.i));
    assert_true(sync_session_last_word(x.r));
    finish(&x);
    same_view(a, b);
    node_free(a);
    node_free(b);
}

/* Events travel compressed (ZEVENTS) between two sides that offer it, and plainly
 * when either side does not (an older peer, simulated by `legacy` or `no_compress`):
 * the same events arrive either way. */
static void test_compressed_transfer(void **state)
{
    (void)state;
    static const struct {
        bool legacy_i, legacy_r, nocomp_r;
        bool compressed;
    } cases[] = {
        {false, false, false, true}, /* both new: compressed */
        {true, false, false, false}, /* old initiator */
        {false, true, false, false}, /* old responder */
        {false, false, true, false}, /* a responder that declines compression */
    };
    char text[700];
    for (size_t j = 0; j < sizeof text - 1; j++)
        text[j] = "we talked about sleep and the long winter evenings "[j % 51];
    text[sizeof text - 1] = '\0';
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct node *a = node_new("sess-z-a");
        found(a, "Riverbend");
        for (int i = 0; i < 300; i++)
            post(a, &A, text, NULL);
        struct node *b = node_new("sess-z-b");
        struct sync_config ci = {.legacy = cases[c].legacy_i};
        struct sync_config cr = {.legacy = cases[c].legacy_r, .no_compress = cases[c].nocomp_r};
        struct run x;
        start(&x, b, a, &ci, &cr);
        pump(&x, 0);
        expect_ok(&x);
        const struct sync_stats *si = sync_session_stats(x.i), *sr = sync_session_stats(x.r);
        assert_int_equal(si->events_accepted, 302);
        if (cases[c].compressed) {
            assert_true(sr->zevents_sent > 0);
            assert_int_equal(si->zevents_recv, sr->zevents_sent);
            /* The whole transfer took less than half the envelope bytes. */
            assert_true(si->bytes_recv * 2 < si->event_bytes_recv);
        } else {
            assert_int_equal(sr->zevents_sent, 0);
            assert_int_equal(si->zevents_recv, 0);
            assert_true(si->bytes_recv > si->event_bytes_recv);
        }
        finish(&x);
        same_view(a, b);
        node_free(a);
        node_free(b);
    }
}

/* A compressed message that breaks the bounds ends the session with an ERROR and
 * stores nothing; compressed events to a side that did not offer to take them too. */
static void test_compressed_refused(void **state)
{
    (void)state;
    struct node *a = node_new("sess-zr-a");
    found(a, "Riverbend");
    struct node *b = node_copy(a, "sess-zr-b");
    post(b, &B, "not to be stored", NULL);
    uint64_t before = events_of(a);
    struct hbuf ev, big, z;
    hbuf_init(&ev, HEARTH_MAX_FRAME);
    hbuf_init(&big, SIZE_MAX);
    hbuf_init(&z, SIZE_MAX);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    /* 0: an EVENTS of 2^17 + 1 bytes (zeros after a real message make it malformed, but
     * its size is checked first); 1: the same for a side that declines compression. */
    assert_int_equal(hbuf_reserve(&big, (1u << 17) + 1), HERR_OK);
    memset(big.data, 0, (1u << 17) + 1);
    big.len = (1u << 17) + 1;
    assert_int_equal(sync_encode_zevents(&z, cctx, big.data, big.len), HERR_OK);
    assert_true(z.len < 200); /* a bomb: 128 KiB from a few bytes */
    for (int c = 0; c < 2; c++) {
        struct sync_config cr = {.max_frame = 1u << 17, .no_compress = c == 1};
        struct run x;
        start(&x, b, a, NULL, &cr);
        const uint8_t *m;
        size_t n;
        while (sync_session_next(x.i, &m, &n)) /* our HELLO */
            deliver(x.r, m, n);
        while (sync_session_next(x.r, &m, &n))
            deliver(x.i, m, n);
        deliver(x.r, z.data, z.len);
        const char *why;
        assert_int_equal(sync_session_result(x.r, &why), c == 0 ? HERR_TOO_LARGE : HERR_PROTOCOL);
        assert_true(strstr(why, c == 0 ? "larger than our frame" : "did not offer") != NULL);
        assert_true(sync_session_next(x.r, &m, &n)); /* the ERROR for the peer */
        struct sync_msg em;
        assert_int_equal(sync_msg_decode(&em, m, n, &why), HERR_OK);
        assert_int_equal(em.type, SYNC_ERROR);
        assert_int_equal(em.u.error.code, c == 0 ? HERR_TOO_LARGE : HERR_PROTOCOL);
        finish(&x);
    }
    assert_int_equal(events_of(a), before);
    ZSTD_freeCCtx(cctx);
    hbuf_release(&ev);
    hbuf_release(&big);
    hbuf_release(&z);
    node_free(a);
    node_free(b);
}

/* One event that the responder alone holds, not its newest: plan ONE finds it from the
 * initiator's sketch in two round trips and at most 100 bytes beyond the event; an
 * initiator that does not offer plan ONE gets the IBLT; a difference of three with
 * counts one apart goes from ONE to the IBLT. The same event held by the initiator:
 * SUFFIX_I, whose hello carries the responder's sum, finds it in two round trips too
 * (three for an initiator that does not offer ONE). */
static void test_plan_one(void **state)
{
    (void)state;
    for (int c = 0; c < 5; c++) {
        struct node *a = node_new("sess-one-a");
        found(a, "Riverbend");
        for (int i = 0; i < 100; i++)
            post(a, &A, "shared", NULL);
        struct node *b = node_copy(a, "sess-one-b");
        post(a, &A, "only on a, then buried", NULL);
        if (c == 2)
            post(a, &A, "also only on a", NULL);
        /* Newer events on both sides, so that the buried one is not a's newest. */
        for (int i = 0; i < 3; i++)
            post(b, &B, "newer", NULL);
        assert_int_equal(store_export(b->s, copy_one, a->s), HERR_OK);
        if (c == 2)
            post(b, &B, "only on b", NULL);
        struct sync_config ci = {.legacy = c == 1 || c == 4, .no_compress = true};
        struct sync_config cr = {.no_compress = true};
        struct run x;
        /* Cases 3 and 4: the initiator holds the one more (SUFFIX_I with the sum). */
        if (c >= 3)
            start(&x, a, b, &ci, &cr);
        else
            start(&x, b, a, &ci, &cr);
        pump(&x, 0);
        expect_ok(&x);
        const struct sync_stats *si = sync_session_stats(x.i), *sr = sync_session_stats(x.r);
        uint64_t beyond =
            si->bytes_sent + si->bytes_recv - si->event_bytes_recv - si->event_bytes_sent;
        print_message("case %d: plan %s, %u round trips, %llu bytes beyond the events\n", c,
                      sync_plan_name(si->plan), si->round_trips, (unsigned long long)beyond);
        if (c == 0 || c == 3) {
            assert_int_equal(si->plan, c == 0 ? SYNC_PLAN_ONE : SYNC_PLAN_SUFFIX_I);
            assert_int_equal(si->round_trips, 2);
            assert_int_equal((c == 0 ? sr : si)->local_only, 1);
            assert_true(beyond <= 100);
        } else if (c == 4) {
            /* An older initiator: no sum; its MORE turns the plan into the IBLT. */
            assert_int_equal(si->plan, SYNC_PLAN_SUFFIX_I);
            assert_int_equal(si->round_trips, 3);
        } else {
            assert_int_equal(si->plan, SYNC_PLAN_IBLT);
        }
        finish(&x);
        same_view(a, b);
        node_free(a);
        node_free(b);
    }
}

/* The link drops after two batches: what arrived is kept, the next session brings the
 * rest, nothing is stored twice. */
static void test_cut_and_resume(void **state)
{
    (void)state;
    struct node *full = node_new("sess-cut-full");
    found(full, "Riverbend");
    static char text[30001];
    memset(text, 'y', sizeof text - 1);
    for (int i = 0; i < 60; i++) {
        text[1] = (char)('a' + i % 26);
        post(full, &A, text, NULL);
    }
    struct node *late = node_new("sess-cut-late");
    assert_int_equal(store_set_forum(late->s, full->forum), HERR_OK);
    struct sync_config small = {.max_frame = 1u << 17};
    struct run x;
    start(&x, late, full, &small, &small);
    pump(&x, 2);
    const char *why;
    assert_int_equal(sync_session_result(x.i, &why), HERR_STATE); /* still going */
    finish(&x);
    uint64_t got = events_of(late);
    assert_true(got > 0 && got < events_of(full));

    start(&x, late, full, &small, &small);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i);
    assert_int_equal(si->events_duplicate, 0);
    assert_int_equal(si->events_accepted, events_of(full) - got);
    finish(&x);
    same_view(full, late);
    node_free(full);
    node_free(late);
}

static void test_other_forum(void **state)
{
    (void)state;
    struct node *a = node_new("sess-forum-a"), *b = node_new("sess-forum-b");
    found(a, "Riverbend");
    found(b, "Elsewhere");
    struct run x;
    start(&x, a, b, NULL, NULL);
    pump(&x, 0);
    const char *why;
    assert_int_equal(sync_session_result(x.i, &why), HERR_WRONG_FORUM);
    assert_int_equal(sync_session_result(x.r, &why), HERR_WRONG_FORUM);
    assert_true(sync_session_done(x.i) && sync_session_done(x.r));
    finish(&x);
    assert_int_equal(events_of(a), 2);
    assert_int_equal(events_of(b), 2);
    node_free(a);
    node_free(b);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    struct node *a = node_new("sess-garbage");
    found(a, "Riverbend");
    struct sync_session *s;
    assert_int_equal(sync_session_new(&s, a->s, a->idx, NULL), HERR_OK);
    static const uint8_t junk[] = {0xc1, 0x00, 0x13, 0x37};
    assert_int_equal(sync_session_receive(s, junk, sizeof junk), HERR_PROTOCOL);
    const uint8_t *m;
    size_t n;
    assert_true(sync_session_next(s, &m, &n));
    struct sync_msg msg;
    const char *why;
    assert_int_equal(sync_msg_decode(&msg, m, n, &why), HERR_OK);
    assert_int_equal(msg.type, SYNC_ERROR);
    assert_int_equal(msg.u.error.code, HERR_PROTOCOL);
    assert_false(sync_session_next(s, &m, &n));
    assert_int_equal(sync_session_result(s, &why), HERR_PROTOCOL);
    assert_non_null(strstr(why, "bad message"));
    /* Later messages are ignored. */
    assert_int_equal(sync_session_receive(s, junk, sizeof junk), HERR_PROTOCOL);
    assert_false(sync_session_next(s, &m, &n));
    sync_session_destroy(&s);
    node_free(a);
}

/* A peer whose events have been tampered with: rejected, counted, logged, not stored. */
static herr tamper_fn(void *ctx, const uint8_t *env, size_t len);

struct tamper {
    store_event_fn fn;
    void *ctx;
    store_stream_fn sfn;
    const uint8_t *id;
};

static herr tamper_fn(void *ctx, const uint8_t *env, size_t len)
{
    struct tamper *t = ctx;
    struct event ev;
    const char *why;
    uint8_t copy[HEARTH_MAX_EVENT];
    memcpy(copy, env, len);
    if (event_parse(&ev, env, len, &why) == HERR_OK && ev.kind == EK_POST)
        copy[(size_t)(ev.sig - env)] ^= 1; /* the signature's first byte */
    return t->fn(t->ctx, copy, len);
}

static herr tampering_get_many(void *ctx, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n,
                               store_event_fn fn, void *fnctx)
{
    struct tamper t = {fn, fnctx, NULL, NULL};
    return store_get_many(ctx, ids, n, tamper_fn, &t);
}

static herr tamper_pass(void *ctx, const uint8_t *env, size_t len)
{
    struct tamper *t = ctx;
    return t->sfn(t->ctx, t->id, env, len);
}

static herr tamper_stream_fn(void *ctx, const uint8_t id[HEARTH_ID_LEN], const uint8_t *env,
                             size_t len)
{
    struct tamper *t = ctx;
    struct tamper inner = {tamper_pass, t, NULL, NULL};
    t->id = id;
    return tamper_fn(&inner, env, len);
}

static herr tampering_stream(void *ctx, struct store_cursor *cur, uint64_t upto, size_t max,
                             size_t max_bytes, store_stream_fn fn, void *fnctx)
{
    struct tamper t = {NULL, fnctx, fn, NULL};
    return store_stream(ctx, cur, upto, max, max_bytes, tamper_stream_fn, &t);
}

static herr t_ids_in_order(void *ctx, store_id_fn fn, void *c)
{
    return store_ids_in_order(ctx, fn, c);
}

static herr t_sort_ids(void *ctx, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n)
{
    return store_sort_ids(ctx, ids, n);
}

static herr t_keys_since(void *ctx, uint64_t a, store_key_fn fn, void *c)
{
    return store_keys_since(ctx, a, fn, c);
}

static herr t_resolve(void *ctx, const uint8_t key[RECON_KEY_LEN], uint8_t id[HEARTH_ID_LEN])
{
    char hex[2 * RECON_KEY_LEN + 1];
    hex_encode(hex, key, RECON_KEY_LEN);
    return store_resolve(ctx, hex, id);
}

static herr t_ingest(void *ctx, const struct store_blob *envs, size_t n, struct ingest_result *res,
                     size_t *accepted)
{
    return store_ingest(ctx, envs, n, res, accepted);
}

static herr t_forum(void *ctx, uint8_t forum[HEARTH_ID_LEN])
{
    return store_forum(ctx, forum);
}

static void count_rejects(void *ctx, const char *line)
{
    if (strstr(line, "rejected event"))
        (*(unsigned *)ctx)++;
}

static void test_tampered_events_rejected(void **state)
{
    (void)state;
    static const struct sync_ops evil = {t_keys_since,   t_resolve, tampering_get_many,
                                         t_ingest,       t_forum,   tampering_stream,
                                         t_ids_in_order, t_sort_ids};
    struct node *a = node_new("sess-evil"), *b = node_new("sess-victim");
    found(a, "Riverbend");
    for (int i = 0; i < 5; i++)
        post(a, &A, "signed by alice", NULL);
    unsigned lines = 0;
    struct sync_config logc = {.log = count_rejects, .log_ctx = &lines};
    struct run x;
    memset(&x, 0, sizeof x);
    assert_int_equal(sync_session_new(&x.i, b->s, b->idx, &logc), HERR_OK);
    assert_int_equal(sync_session_new_ops(&x.r, &evil, a->s, a->idx, NULL), HERR_OK);
    assert_int_equal(sync_session_start(x.i), HERR_OK);
    pump(&x, 0);
    expect_ok(&x);
    const struct sync_stats *si = sync_session_stats(x.i);
    assert_int_equal(si->events_rejected, 5);
    assert_int_equal(si->events_accepted, 2); /* the genesis and the board */
    assert_int_equal(lines, 5);
    assert_int_equal(events_of(b), 2);
    finish(&x);
    node_free(a);
    node_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_fresh_nodes),
        cmocka_unit_test(test_empty_joins_full),
        cmocka_unit_test(test_list_sends_the_difference_by_id),
        cmocka_unit_test(test_list_streams_the_difference),
        cmocka_unit_test(test_large_events_by_id),
        cmocka_unit_test(test_both_sides_differ),
        cmocka_unit_test(test_iblt_between_stores),
        cmocka_unit_test(test_cut_and_resume),
        cmocka_unit_test(test_compressed_transfer),
        cmocka_unit_test(test_compressed_refused),
        cmocka_unit_test(test_plan_one),
        cmocka_unit_test(test_other_forum),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_tampered_events_rejected),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
