/* test_node_index.c - the node's recon index opened from the copy saved in the replica
 * (node/index.c): used and caught up when it still fits the replica, set aside with a
 * warning (and the index built from every event) when it is damaged, from another
 * replica, or counts other events; either way the index is the one a full build
 * makes. A real store in a fresh directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/node_int.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

static struct hkey F;

static void posts(struct fx *f, int n)
{
    for (int i = 0; i < n; i++) {
        struct event_draft d = {.kind = EK_POST, .ref = f->board};
        d.b.title = S("A thread");
        d.b.text = S("words");
        fx_publish(f, &F, d, NULL);
    }
}

/* The log, to a memory file: what node_index_open said. */
struct said {
    char *buf;
    size_t len;
    FILE *fp;
    struct hlog log;
};

static void said_open(struct said *w)
{
    memset(w, 0, sizeof *w);
    w->fp = open_memstream(&w->buf, &w->len);
    assert_non_null(w->fp);
    w->log = (struct hlog){.level = HLOG_DEBUG, .out = w->fp};
}

static const char *said_close(struct said *w)
{
    fclose(w->fp);
    return w->buf;
}

/* open_and_compare - node_index_open, checked against an index built from every event;
 * returns what it logged (the caller frees it) and the saved count it reported. */
static char *open_and_compare(struct fx *f, uint64_t *saved)
{
    struct said w;
    said_open(&w);
    struct recon_index *x = NULL, *full = NULL;
    assert_int_equal(node_index_open(f->s, &w.log, &x, saved), HERR_OK);
    assert_int_equal(recon_index_new(&full), HERR_OK);
    assert_int_equal(recon_index_catch_up(full, node_source_keys, f->s), HERR_OK);
    struct store_stats ss;
    assert_int_equal(store_stats(f->s, &ss), HERR_OK);
    assert_true(recon_index_count(x) == ss.events);
    assert_true(recon_index_count(x) == recon_index_count(full));
    assert_true(recon_index_last_arrival(x) == recon_index_last_arrival(full));
    uint8_t a[RECON_FP_LEN], b[RECON_FP_LEN];
    recon_index_fingerprint(x, a);
    recon_index_fingerprint(full, b);
    assert_memory_equal(a, b, sizeof a);
    uint8_t *sa = malloc(4096 * RECON_SYM_LEN), *sb = malloc(4096 * RECON_SYM_LEN);
    assert_non_null(sa);
    assert_non_null(sb);
    recon_index_encode(x, 0, 4096, sa);
    recon_index_encode(full, 0, 4096, sb);
    assert_memory_equal(sa, sb, 4096 * RECON_SYM_LEN);
    free(sa);
    free(sb);
    recon_index_destroy(&x);
    recon_index_destroy(&full);
    said_close(&w);
    return w.buf;
}

/* save - what node_index_save writes (it saves only from NODE_INDEX_SAVE_MIN events
 * on, which a unit test does not publish), of the index x. */
static void save(struct fx *f, struct recon_index *x)
{
    uint8_t *b = NULL;
    size_t n;
    assert_int_equal(recon_index_save(x, &b, &n), HERR_OK);
    assert_int_equal(store_blob_set(f->s, NODE_INDEX_KEY, b, n), HERR_OK);
    free(b);
}

static struct recon_index *built(struct fx *f)
{
    struct recon_index *x = NULL;
    assert_int_equal(recon_index_new(&x), HERR_OK);
    assert_int_equal(recon_index_catch_up(x, node_source_keys, f->s), HERR_OK);
    return x;
}

/* A source that leaves out the event numbered `skip`. */
struct skipping {
    struct store *st;
    uint64_t skip;
    recon_keys_fn fn;
    void *ctx;
};

static herr skip_one(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created, uint64_t arrival)
{
    struct skipping *k = ctx;
    return arrival == k->skip ? HERR_OK : k->fn(k->ctx, id, created, arrival);
}

static herr skipping_keys(void *src, uint64_t arrival, recon_keys_fn fn, void *ctx)
{
    struct skipping *k = src;
    k->fn = fn;
    k->ctx = ctx;
    return store_keys_since(k->st, arrival, skip_one, k);
}

static void test_saved_index_used_and_caught_up(void **state)
{
    (void)state;
    struct fx *f = fx_forum("node_index_used", &F, 0, 0);
    posts(f, 30);
    uint64_t saved = 99;
    uint8_t *b = NULL;
    size_t n;

    /* No copy yet: built from every event, nothing said but the build. */
    char *log = open_and_compare(f, &saved);
    assert_true(saved == 0);
    assert_null(strstr(log, "warn"));
    free(log);

    /* node_index_save keeps no copy of a small replica. */
    struct recon_index *x = built(f);
    uint64_t was = 0;
    node_index_save(f->s, NULL, x, &was);
    assert_int_equal(store_blob_get(f->s, NODE_INDEX_KEY, &b, &n), HERR_NOT_FOUND);
    assert_true(was == 0);

    /* A copy of 32 events (genesis, board, 30 posts), then 12 more: the copy is used and
     * caught up to 44. */
    save(f, x);
    uint64_t at_save = recon_index_count(x);
    recon_index_destroy(&x);
    posts(f, 12);
    log = open_and_compare(f, &saved);
    assert_true(saved == at_save);
    assert_non_null(strstr(log, "the saved copy of 32 events, caught up to 44"));
    assert_null(strstr(log, "warn"));
    free(log);
    fx_free(f);
}

static void test_saved_index_set_aside(void **state)
{
    (void)state;
    struct fx *f = fx_forum("node_index_aside", &F, 0, 0);
    struct fx *other = fx_forum("node_index_other", &F, 0, 0);
    posts(f, 20);
    posts(other, 10);
    uint64_t saved;
    uint8_t *b = NULL;
    size_t n;

    /* A damaged copy: one flipped bit among the symbols. */
    struct recon_index *x = built(f);
    save(f, x);
    assert_int_equal(store_blob_get(f->s, NODE_INDEX_KEY, &b, &n), HERR_OK);
    b[n / 3] ^= 4;
    assert_int_equal(store_blob_set(f->s, NODE_INDEX_KEY, b, n), HERR_OK);
    free(b);
    char *log = open_and_compare(f, &saved);
    assert_true(saved == 0);
    assert_non_null(strstr(log, "not using the copy saved in the replica (it is damaged)"));
    free(log);

    /* Another replica's copy (as a file put back from elsewhere would bring): this
     * replica holds another event under its newest event's number. */
    struct recon_index *y = built(other);
    assert_true(recon_index_last_arrival(y) < recon_index_last_arrival(x));
    save(f, y);
    log = open_and_compare(f, &saved);
    assert_true(saved == 0);
    assert_non_null(strstr(log, "the replica no longer holds its newest event there"));
    free(log);

    /* A copy ahead of the replica (one saved after events this file does not hold). */
    posts(other, 15);
    recon_index_destroy(&y);
    y = built(other);
    assert_true(recon_index_last_arrival(y) > recon_index_last_arrival(x));
    save(f, y);
    log = open_and_compare(f, &saved);
    assert_non_null(strstr(log, "the replica no longer holds its newest event)"));
    free(log);

    /* A copy whose newest event is right but which lacks an older one. */
    struct skipping k = {.st = f->s, .skip = 5};
    struct recon_index *z = NULL;
    assert_int_equal(recon_index_new(&z), HERR_OK);
    assert_int_equal(recon_index_catch_up(z, skipping_keys, &k), HERR_OK);
    assert_true(recon_index_count(z) + 1 == recon_index_count(x));
    save(f, z);
    log = open_and_compare(f, &saved);
    assert_non_null(strstr(log, "it counts other events than the replica holds"));
    free(log);

    /* Another version's copy: not this length. */
    assert_int_equal(store_blob_set(f->s, NODE_INDEX_KEY, (const uint8_t *)"old", 3), HERR_OK);
    log = open_and_compare(f, &saved);
    assert_non_null(strstr(log, "another version saved it"));
    free(log);

    recon_index_destroy(&x);
    recon_index_destroy(&y);
    recon_index_destroy(&z);
    fx_free(f);
    fx_free(other);
}

int main(void)
{
    uint8_t seed[32];
    if (crypto_start() != HERR_OK)
        return 1;
    testutil_seed(seed, 0), hkey_from_seed(&F, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saved_index_used_and_caught_up),
        cmocka_unit_test(test_saved_index_set_aside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
