/* test_pages.c - the queries the web pages make: a board's threads a page at a time,
 * new threads since a time, replies to an author, an author's posts; each in the order
 * promised, filtered by time, and seen through store_set_viewer (hidden and
 * held posts only for moderators and their authors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/event.h"
#include "store/store.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

static struct hkey F, A, B; /* founder (a moderator), alice, bob */

static void post(struct fx *f, const struct hkey *k, const char *title, uint8_t *id)
{
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S(title);
    d.b.text = S("text");
    fx_publish(f, k, d, id);
}

static void reply(struct fx *f, const struct hkey *k, const uint8_t *root, const uint8_t *parent,
                  const char *text, uint8_t *id)
{
    struct event_draft d = {.kind = EK_REPLY, .root = root, .ref = parent};
    d.b.text = S(text);
    fx_publish(f, k, d, id);
}

static void mod(struct fx *f, const char *action, const uint8_t *target)
{
    struct event_draft d = {.kind = EK_MOD, .ref = target};
    d.b.action = S(action);
    d.b.reason = S("care");
    fx_publish(f, &F, d, NULL);
}

static uint64_t created_of(struct fx *f, const uint8_t *id)
{
    struct store_post p;
    assert_int_equal(store_post_get(f->s, id, &p), HERR_OK);
    uint64_t t = p.created;
    store_posts_free(&p, 1);
    return t;
}

/* Six threads t[0..5] by alice; t[2] pinned, t[4] hidden by the founder, t[1] has a
 * later reply. Whole order for others: t2 (pinned), t1 (reply), t5, t3, t0. */
static void six_threads(struct fx *f, uint8_t t[6][HEARTH_ID_LEN])
{
    char title[16];
    for (int i = 0; i < 6; i++) {
        snprintf(title, sizeof title, "t%d", i);
        post(f, &A, title, t[i]);
    }
    mod(f, "pin", t[2]);
    mod(f, "hide", t[4]);
    reply(f, &B, t[1], t[1], "later", NULL);
}

static void test_threads_page(void **state)
{
    struct fx *f = fx_forum("pages_threads", &F, 0, 0);
    uint8_t t[6][HEARTH_ID_LEN];
    six_threads(f, t);
    struct store_post *all, *pg;
    size_t n, m;
    assert_int_equal(store_threads(f->s, f->board, &all, &n), HERR_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(all[0].id, t[2], HEARTH_ID_LEN);
    assert_memory_equal(all[1].id, t[1], HEARTH_ID_LEN);
    assert_memory_equal(all[2].id, t[5], HEARTH_ID_LEN);
    /* Pages of two run through the same list, each from the last one's cursor. */
    size_t seen = 0;
    char before[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
    for (int page = 0; page < 3; page++) {
        assert_int_equal(store_threads_before(f->s, f->board, before, 2, &pg, &m, next), HERR_OK);
        assert_int_equal(m, page < 2 ? 2 : 1);
        for (size_t i = 0; i < m; i++)
            assert_memory_equal(pg[i].id, all[seen + i].id, HEARTH_ID_LEN);
        assert_non_null(pg[0].title);
        assert_true(page < 2 ? next[0] != '\0' : next[0] == '\0'); /* the last page says so */
        seen += m;
        store_posts_free(pg, m);
        memcpy(before, next, sizeof before);
    }
    assert_int_equal(seen, 5);
    /* A cursor that is not one is refused. */
    assert_int_equal(store_threads_before(f->s, f->board, "9.x", 2, &pg, &m, next), HERR_USAGE);
    /* nor one whose numbers do not fit in 64 bits (UBSan saw the overflow) */
    char big[STORE_CURSOR_MAX];
    snprintf(big, sizeof big, "9999999999999999999.1.%064d", 0);
    assert_int_equal(store_threads_before(f->s, f->board, big, 2, &pg, &m, next), HERR_USAGE);
    snprintf(big, sizeof big, "9223372036854775807.1.%064d", 0); /* INT64_MAX still parses */
    assert_int_equal(store_threads_before(f->s, f->board, big, 2, &pg, &m, next), HERR_OK);
    store_posts_free(pg, m);
    /* Limit 0 is 50. */
    assert_int_equal(store_threads_before(f->s, f->board, NULL, 0, &pg, &m, next), HERR_OK);
    assert_int_equal(m, 5);
    store_posts_free(pg, m);
    /* The moderator sees the hidden thread too. */
    store_set_viewer(f->s, F.pk);
    assert_int_equal(store_threads_before(f->s, f->board, NULL, 10, &pg, &m, next), HERR_OK);
    assert_int_equal(m, 6);
    store_posts_free(pg, m);
    store_posts_free(all, n);
    fx_free(f);
}

static void test_board_new(void **state)
{
    struct fx *f = fx_forum("pages_new", &F, 0, 0);
    uint8_t t[6][HEARTH_ID_LEN], r[HEARTH_ID_LEN];
    uint32_t k;
    six_threads(f, t);
    assert_int_equal(store_board_new(f->s, f->board, 0, &k), HERR_OK);
    assert_int_equal(k, 5);
    /* After t3: t5 and t1 (its reply) are new; t4 is hidden from bob (alice, its
     * author, sees it: what happened to her own post). */
    uint64_t since = created_of(f, t[3]);
    store_set_viewer(f->s, B.pk);
    assert_int_equal(store_board_new(f->s, f->board, since, &k), HERR_OK);
    assert_int_equal(k, 2);
    store_set_viewer(f->s, F.pk);
    assert_int_equal(store_board_new(f->s, f->board, since, &k), HERR_OK);
    assert_int_equal(k, 3);
    /* A reply to an old thread makes it new again. */
    reply(f, &B, t[0], t[0], "again", r);
    store_set_viewer(f->s, NULL);
    assert_int_equal(store_board_new(f->s, f->board, created_of(f, r) - 1, &k), HERR_OK);
    assert_int_equal(k, 1);
    assert_int_equal(store_board_new(f->s, f->board, created_of(f, r), &k), HERR_OK);
    assert_int_equal(k, 0);
    fx_free(f);
}

static void test_replies_to(void **state)
{
    struct fx *f = fx_forum("pages_replies", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], r1[HEARTH_ID_LEN], r2[HEARTH_ID_LEN], r3[HEARTH_ID_LEN];
    uint8_t own[HEARTH_ID_LEN], deep[HEARTH_ID_LEN], other[HEARTH_ID_LEN], hid[HEARTH_ID_LEN];
    post(f, &A, "alice asks", p);
    reply(f, &B, p, p, "bob answers", r1);
    reply(f, &A, p, r1, "alice thanks bob", own); /* by alice: not a reply to her */
    reply(f, &B, p, own, "bob again", deep);      /* to alice's reply */
    post(f, &B, "bob's thread", other);
    reply(f, &F, other, other, "to bob", r2); /* to bob: not for alice */
    reply(f, &F, p, p, "founder to alice", r3);
    reply(f, &B, p, p, "hidden one", hid);
    mod(f, "hide", hid);
    struct store_post *v;
    size_t n;
    store_set_viewer(f->s, A.pk);
    assert_int_equal(store_replies_to(f->s, A.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(v[0].id, r3, HEARTH_ID_LEN); /* newest first */
    assert_memory_equal(v[1].id, deep, HEARTH_ID_LEN);
    assert_memory_equal(v[2].id, r1, HEARTH_ID_LEN);
    assert_int_equal(v[1].kind, EK_REPLY);
    assert_memory_equal(v[1].parent, own, HEARTH_ID_LEN);
    store_posts_free(v, n);
    /* Since a time, and a limit. */
    assert_int_equal(store_replies_to(f->s, A.pk, created_of(f, deep), 0, &v, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].id, r3, HEARTH_ID_LEN);
    store_posts_free(v, n);
    assert_int_equal(store_replies_to(f->s, A.pk, 0, 2, &v, &n), HERR_OK);
    assert_int_equal(n, 2);
    store_posts_free(v, n);
    /* The moderator sees the hidden reply too. */
    store_set_viewer(f->s, F.pk);
    assert_int_equal(store_replies_to(f->s, A.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(v[0].id, hid, HEARTH_ID_LEN);
    assert_int_equal(v[0].status, POST_HIDDEN);
    store_posts_free(v, n);
    /* Nobody answered the founder. */
    assert_int_equal(store_replies_to(f->s, F.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 0);
    assert_null(v);
    fx_free(f);
}

static void test_author_posts(void **state)
{
    struct fx *f = fx_forum("pages_author", &F, 0, 0);
    uint8_t p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], q[HEARTH_ID_LEN], x[HEARTH_ID_LEN];
    post(f, &A, "first", p);
    reply(f, &B, p, p, "bob", NULL);
    reply(f, &A, p, p, "alice replies", r);
    post(f, &A, "second", q);
    post(f, &A, "hidden", x);
    mod(f, "hide", x);
    struct store_post *v;
    size_t n;
    store_set_viewer(f->s, B.pk);
    assert_int_equal(store_author_posts(f->s, A.pk, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(v[0].id, q, HEARTH_ID_LEN);
    assert_memory_equal(v[1].id, r, HEARTH_ID_LEN);
    assert_memory_equal(v[2].id, p, HEARTH_ID_LEN);
    store_posts_free(v, n);
    assert_int_equal(store_author_posts(f->s, A.pk, 1, &v, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].id, q, HEARTH_ID_LEN);
    store_posts_free(v, n);
    store_set_viewer(f->s, F.pk);
    assert_int_equal(store_author_posts(f->s, A.pk, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(v[0].id, x, HEARTH_ID_LEN);
    store_posts_free(v, n);
    fx_free(f);
}

int main(void)
{
    uint8_t seed[32];
    if (crypto_start())
        return 1;
    testutil_seed(seed, 21);
    hkey_from_seed(&F, seed);
    testutil_seed(seed, 22);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 23);
    hkey_from_seed(&B, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_page),
        cmocka_unit_test(test_board_new),
        cmocka_unit_test(test_replies_to),
        cmocka_unit_test(test_author_posts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
