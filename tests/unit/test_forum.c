/* test_forum.c - what the forum says of itself: its name, a viewer's reactions, the
 * moderation log, the roles in force and who mentions whom (store/store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/hbuf.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

struct world {
    struct store *s;
    struct hkey founder, mod, kiri;
    uint8_t forum[HEARTH_ID_LEN], board[HEARTH_ID_LEN], post[HEARTH_ID_LEN];
};

static void publish(struct world *w, const struct hkey *k, struct event_draft *d,
                    uint8_t id[HEARTH_ID_LEN])
{
    uint8_t ignored[HEARTH_ID_LEN];
    d->forum = d->kind == EK_GENESIS ? NULL : w->forum;
    herr e = store_publish(w->s, k, d, id ? id : ignored);
    if (e)
        fail_msg("publish %u: %s: %s", d->kind, herr_str(e), store_errmsg(w->s));
}

static struct hstr str(const char *s)
{
    return (struct hstr){s, (uint32_t)strlen(s)};
}

static void setup(struct world *w, const char *name)
{
    char *dir = testutil_tmpdir(name), path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    free(dir);
    assert_int_equal(crypto_start(), HERR_OK);
    assert_int_equal(store_open(&w->s, path, STORE_CREATE), HERR_OK);
    uint8_t seed[32];
    testutil_seed(seed, 1);
    hkey_from_seed(&w->founder, seed);
    testutil_seed(seed, 2);
    hkey_from_seed(&w->mod, seed);
    testutil_seed(seed, 3);
    hkey_from_seed(&w->kiri, seed);
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = str("Riverbend");
    publish(w, &w->founder, &g, w->forum);
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = str("welcome");
    publish(w, &w->founder, &b, w->board);
    struct event_draft p = {.kind = EK_POST, .ref = w->board};
    p.b.title = str("Roads closed");
    p.b.text = str("Ring me on 021 555 0199");
    publish(w, &w->kiri, &p, w->post);
}

static void test_forum_name(void **state)
{
    (void)state;
    struct world w;
    setup(&w, "forum_name");
    char *name = NULL;
    assert_int_equal(store_forum_name(w.s, &name), HERR_OK);
    assert_string_equal(name, "Riverbend");
    free(name);
    store_destroy(&w.s);
}

static void test_my_reactions(void **state)
{
    (void)state;
    struct world w;
    setup(&w, "my_reactions");
    struct event_draft r = {.kind = EK_REACT, .ref = w.post};
    r.b.reaction = str("hug");
    uint8_t hug[HEARTH_ID_LEN];
    publish(&w, &w.mod, &r, hug);
    struct store_my_reaction mine[4];
    size_t n = 9;
    assert_int_equal(store_my_reactions(w.s, w.post, w.mod.pk, mine, 4, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mine[0].name, "hug");
    assert_memory_equal(mine[0].id, hug, HEARTH_ID_LEN);
    assert_int_equal(store_my_reactions(w.s, w.post, w.kiri.pk, mine, 4, &n), HERR_OK);
    assert_int_equal(n, 0);
    /* Taken back (a retraction of the react event): no longer standing. */
    struct event_draft x = {.kind = EK_RETRACT, .ref = hug};
    publish(&w, &w.mod, &x, NULL);
    assert_int_equal(store_my_reactions(w.s, w.post, w.mod.pk, mine, 4, &n), HERR_OK);
    assert_int_equal(n, 0);
    store_destroy(&w.s);
}

static void test_mod_log_and_grants(void **state)
{
    (void)state;
    struct world w;
    setup(&w, "mod_log");
    struct store_role_grant *g = NULL;
    size_t n = 9;
    assert_int_equal(store_role_grants(w.s, &g, &n), HERR_OK);
    assert_int_equal(n, 0);
    struct event_draft grant = {.kind = EK_ROLE};
    uint8_t gid[HEARTH_ID_LEN];
    grant.b.subject = w.mod.pk;
    grant.b.role = str("moderator");
    grant.b.has_grant = grant.b.grant = true;
    grant.b.about = str("weekday volunteer");
    publish(&w, &w.founder, &grant, gid);
    assert_int_equal(store_role_grants(w.s, &g, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(g[0].role, "moderator");
    assert_string_equal(g[0].about, "weekday volunteer");
    assert_memory_equal(g[0].subject, w.mod.pk, HEARTH_PK_LEN);
    assert_memory_equal(g[0].grant, gid, HEARTH_ID_LEN);
    store_role_grants_free(g, n);

    struct event_draft m = {.kind = EK_MOD, .ref = w.post};
    m.b.action = str("remove");
    m.b.reason = str("shares a phone number");
    uint8_t mid[HEARTH_ID_LEN];
    publish(&w, &w.mod, &m, mid);
    struct event_draft ban = {.kind = EK_MOD};
    ban.b.action = str("ban");
    ban.b.reason = str("repeated");
    ban.b.subject = w.kiri.pk;
    publish(&w, &w.mod, &ban, NULL);
    struct store_mod_entry *log = NULL;
    assert_int_equal(store_mod_log(w.s, NULL, 0, &log, &n), HERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(log[0].action, "ban"); /* newest first */
    assert_true(log[0].has_subject);
    assert_false(log[0].has_target);
    assert_memory_equal(log[0].subject, w.kiri.pk, HEARTH_PK_LEN);
    assert_string_equal(log[1].action, "remove");
    assert_string_equal(log[1].reason, "shares a phone number");
    assert_memory_equal(log[1].author, w.mod.pk, HEARTH_PK_LEN);
    assert_memory_equal(log[1].target, w.post, HEARTH_ID_LEN);
    assert_memory_equal(log[1].id, mid, HEARTH_ID_LEN);
    store_mod_log_free(log, n);
    assert_int_equal(store_mod_log(w.s, w.post, 0, &log, &n), HERR_OK);
    assert_int_equal(n, 1); /* only the post's */
    store_mod_log_free(log, n);

    /* Revoked: no longer in force. */
    struct event_draft rv = {.kind = EK_ROLE, .ref = gid};
    rv.b.subject = w.mod.pk;
    rv.b.role = str("moderator");
    rv.b.has_grant = true;
    rv.b.grant = false;
    publish(&w, &w.founder, &rv, NULL);
    assert_int_equal(store_role_grants(w.s, &g, &n), HERR_OK);
    assert_int_equal(n, 0);
    store_role_grants_free(g, n);
    store_destroy(&w.s);
}

/* Mentions: "@name" as a word, without case; not in an address, not a longer name,
 * not one's own, not before `since`; a member without a name has none. */
static void test_mentions(void **state)
{
    (void)state;
    struct world w;
    setup(&w, "mentions");
    struct store_post *v;
    size_t n;
    assert_int_equal(store_mentions(w.s, w.kiri.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 0); /* no profile name yet */
    struct event_draft pr = {.kind = EK_PROFILE};
    pr.b.name = str("Kiri");
    publish(&w, &w.kiri, &pr, NULL);
    const char *texts[] = {
        "thanks @kiri!",          /* yes, without case, before punctuation */
        "mail me: bea@kiri.nz",   /* no: inside an address */
        "@Kirihimete was lovely", /* no: a longer word */
        "Kiri, how are you?",     /* no: no @ */
        "cc @KIRI",               /* yes, at the end */
    };
    uint8_t ids[5][HEARTH_ID_LEN];
    for (int i = 0; i < 5; i++) {
        struct event_draft r = {.kind = EK_REPLY, .root = w.post, .ref = w.post};
        r.b.text = str(texts[i]);
        publish(&w, &w.mod, &r, ids[i]);
    }
    struct event_draft own = {.kind = EK_REPLY, .root = w.post, .ref = w.post};
    own.b.text = str("me, @Kiri, talking to myself");
    publish(&w, &w.kiri, &own, NULL);
    assert_int_equal(store_mentions(w.s, w.kiri.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 2);
    bool got0 = false, got4 = false;
    for (size_t i = 0; i < n; i++) {
        got0 |= !memcmp(v[i].id, ids[0], HEARTH_ID_LEN);
        got4 |= !memcmp(v[i].id, ids[4], HEARTH_ID_LEN);
    }
    assert_true(got0 && got4);
    uint64_t newest = v[0].created;
    store_posts_free(v, n);
    assert_int_equal(store_mentions(w.s, w.kiri.pk, newest, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 0); /* nothing after the newest */
    /* The newest post the index finds is no mention: the list the call returns must
     * still be freed whole (ASan's leak check; it was not when the first was moved). */
    usleep(3000); /* a later millisecond, so that it is the first row */
    struct event_draft late = {.kind = EK_REPLY, .root = w.post, .ref = w.post};
    late.b.text = str("Kiri again, without the at sign");
    publish(&w, &w.mod, &late, NULL);
    assert_int_equal(store_mentions(w.s, w.kiri.pk, 0, 0, &v, &n), HERR_OK);
    assert_int_equal(n, 2);
    store_posts_free(v, n);
    store_destroy(&w.s);
}

static herr collect_env(void *ctx, const uint8_t *env, size_t len)
{
    struct hbuf *all = ctx; /* length-prefixed envelopes */
    uint32_t n = (uint32_t)len;
    herr e = hbuf_append(all, &n, sizeof n);
    return e ? e : hbuf_append(all, env, len);
}

static herr collect_id(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                       uint64_t arrival)
{
    (void)created, (void)arrival;
    return hbuf_append(ctx, id, HEARTH_ID_LEN);
}

static const char *board_name(struct store *s, const uint8_t id[HEARTH_ID_LEN], char *out, size_t n)
{
    struct store_board b;
    assert_int_equal(store_board_get(s, id, &b), HERR_OK);
    snprintf(out, n, "%s|%s", b.name, b.about ? b.about : "");
    store_board_release(&b);
    return out;
}

/* Renaming a board: the newest valid rename (by created, id) names it, its about only
 * when it has one; a non-admin's rename is stored and changes nothing; and another
 * replica that takes the events in the opposite order (renames before their board)
 * shows the same. */
static void test_board_rename(void **state)
{
    (void)state;
    struct world w;
    setup(&w, "board_rename");
    uint8_t board[HEARTH_ID_LEN], r1[HEARTH_ID_LEN];
    struct event_draft b = {.kind = EK_BOARD};
    b.b.name = str("Farm life");
    b.b.about = str("Work and weather");
    publish(&w, &w.founder, &b, board);
    struct event_draft r = {.kind = EK_BOARD, .ref = board};
    r.b.name = str("Station life");
    publish(&w, &w.founder, &r, r1);
    char got[256];
    assert_string_equal(board_name(w.s, board, got, sizeof got), "Station life|Work and weather");
    usleep(2000);
    r.b.name = str("Farm and station life");
    r.b.about = str("Work, weather and stock");
    publish(&w, &w.founder, &r, NULL);
    assert_string_equal(board_name(w.s, board, got, sizeof got),
                        "Farm and station life|Work, weather and stock");
    /* Kiri is no admin: refused here; made by hand, it would count for nothing. */
    uint8_t ignored[HEARTH_ID_LEN];
    r.forum = w.forum;
    r.b.name = str("Kiri's board");
    assert_int_equal(store_publish(w.s, &w.kiri, &r, ignored), HERR_DENIED);
    /* Renaming what is not a board is refused. */
    r.ref = w.post;
    assert_int_equal(store_publish(w.s, &w.founder, &r, ignored), HERR_NOT_FOUND);
    /* The other replica: every event, newest first. */
    struct hbuf ids, all;
    hbuf_init(&ids, 1 << 20);
    hbuf_init(&all, 1 << 22);
    assert_int_equal(store_keys_since(w.s, 0, collect_id, &ids), HERR_OK);
    size_t n = ids.len / HEARTH_ID_LEN;
    assert_int_equal(
        store_get_many(w.s, (const uint8_t(*)[HEARTH_ID_LEN])ids.data, n, collect_env, &all),
        HERR_OK);
    const uint8_t *at[64];
    size_t len[64], k = 0;
    for (size_t off = 0; off < all.len && k < 64; k++) {
        uint32_t m;
        memcpy(&m, all.data + off, sizeof m);
        at[k] = all.data + off + sizeof m;
        len[k] = m;
        off += sizeof m + m;
    }
    char *dir = testutil_tmpdir("board_rename_b"), path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    free(dir);
    struct store *o;
    assert_int_equal(store_open(&o, path, STORE_CREATE), HERR_OK);
    assert_int_equal(store_set_forum(o, w.forum), HERR_OK);
    struct store_blob genesis = {at[0], len[0]}; /* the genesis binds the forum first */
    struct ingest_result res;
    assert_int_equal(store_ingest(o, &genesis, 1, &res, NULL), HERR_OK);
    for (size_t i = k; i-- > 1;) {
        struct store_blob one = {at[i], len[i]};
        assert_int_equal(store_ingest(o, &one, 1, &res, NULL), HERR_OK);
        assert_int_equal(res.err, HERR_OK);
    }
    assert_string_equal(board_name(o, board, got, sizeof got),
                        "Farm and station life|Work, weather and stock");
    uint8_t d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    assert_int_equal(store_view_digest(w.s, d1), HERR_OK);
    assert_int_equal(store_view_digest(o, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    /* A rename has no row of its own: the replica check does not take it for damage. */
    bool complete;
    assert_int_equal(store_check(w.s, 3000, &complete), HERR_OK);
    assert_int_equal(store_check(o, 3000, &complete), HERR_OK);
    hbuf_release(&ids);
    hbuf_release(&all);
    store_destroy(&o);
    store_destroy(&w.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forum_name),         cmocka_unit_test(test_my_reactions),
        cmocka_unit_test(test_mod_log_and_grants), cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_board_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
