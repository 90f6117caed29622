/* test_devices.c - one person, many devices (docs/EVENTS.md, "device"): a device's
 * events count as its person's (posts, edits, profiles, bans, roles), a revocation
 * stops what the device signs after it, and all of it whatever order the events
 * arrive in; events of a kind this build does not know are stored and forwarded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

static struct hkey F, P, D, X; /* founder; a person; P's device; a stranger */

static void post(struct fx *f, const struct hkey *k, const char *text, uint8_t *id)
{
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S("A thread");
    d.b.text = S(text);
    fx_publish(f, k, d, id);
}

static void device_add(struct fx *f, const struct hkey *person, const struct hkey *dev)
{
    uint8_t proof[HEARTH_SIG_LEN];
    device_proof_sign(proof, f->forum, person->pk, dev);
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = dev->pk;
    d.b.has_grant = true, d.b.grant = true;
    d.b.proof = proof;
    fx_publish(f, person, d, NULL);
}

static void device_revoke(struct fx *f, const struct hkey *person, const struct hkey *dev,
                          uint64_t until)
{
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = dev->pk;
    d.b.has_grant = true, d.b.grant = false;
    d.b.has_until = true, d.b.until = until;
    fx_publish(f, person, d, NULL);
}

static void ban(struct fx *f, const char *action, const struct hkey *who)
{
    struct event_draft d = {.kind = EK_MOD};
    d.b.action = S(action);
    d.b.reason = S("care");
    d.b.subject = who->pk;
    fx_publish(f, &F, d, NULL);
}

static struct store_post *get(struct fx *f, const uint8_t *id)
{
    struct store_post *p = calloc(1, sizeof *p);
    store_set_viewer(f->s, F.pk); /* a moderator sees hidden posts */
    herr e = store_post_get(f->s, id, p);
    store_set_viewer(f->s, NULL);
    if (e)
        fail_msg("store_post_get: %s: %s", herr_str(e), store_errmsg(f->s));
    return p;
}

static int status_of(struct fx *f, const uint8_t *id)
{
    struct store_post *p = get(f, id);
    int st = (int)p->status;
    store_posts_free(p, 1);
    free(p);
    return st;
}

static void author_is(struct fx *f, const uint8_t *id, const struct hkey *who)
{
    struct store_post *p = get(f, id);
    assert_memory_equal(p->author, who->pk, HEARTH_PK_LEN);
    store_posts_free(p, 1);
    free(p);
}

/* ---- replaying a replica's events in other orders ---- */

struct evs {
    struct hbuf *v;
    size_t n, cap;
};

static herr collect(void *ctx, const uint8_t *env, size_t len)
{
    struct evs *e = ctx;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
    }
    hbuf_init(&e->v[e->n], HEARTH_MAX_EVENT);
    assert_int_equal(hbuf_append(&e->v[e->n], env, len), HERR_OK);
    e->n++;
    return HERR_OK;
}

static void evs_free(struct evs *e)
{
    for (size_t i = 0; i < e->n; i++)
        hbuf_release(&e->v[i]);
    free(e->v);
}

/* replay - a fresh replica fed ev in the order `order`, one at a time; its digest. */
static void replay(const char *name, const struct evs *ev, const size_t *order,
                   uint8_t digest[HEARTH_ID_LEN])
{
    struct fx *g = fx_empty(name);
    for (size_t i = 0; i < ev->n; i++) {
        struct store_blob b = {ev->v[order[i]].data, ev->v[order[i]].len};
        struct ingest_result r;
        assert_int_equal(store_ingest(g->s, &b, 1, &r, NULL), HERR_OK);
        if (r.err && r.err != HERR_DUPLICATE)
            fail_msg("ingest: %s: %s", herr_str(r.err), r.why);
    }
    assert_int_equal(store_view_digest(g->s, digest), HERR_OK);
    fx_free(g);
}

static void same_in_every_order(struct fx *f, const char *name)
{
    struct evs ev = {0};
    uint8_t want[HEARTH_ID_LEN], got[HEARTH_ID_LEN];
    assert_int_equal(store_export(f->s, collect, &ev), HERR_OK);
    assert_int_equal(store_view_digest(f->s, want), HERR_OK);
    size_t *order = calloc(ev.n, sizeof *order);
    uint64_t rng = 12345;
    for (int round = 0; round < 12; round++) {
        /* the genesis first (a replica binds to its forum), then the rest: round 0 in
         * export order, round 1 reversed, the others shuffled */
        size_t gi = 0, k = 0;
        for (size_t i = 0; i < ev.n; i++) {
            struct event x;
            assert_int_equal(event_parse(&x, ev.v[i].data, ev.v[i].len, NULL), HERR_OK);
            if (x.kind == EK_GENESIS)
                gi = i;
        }
        order[k++] = gi;
        for (size_t i = 0; i < ev.n; i++) {
            size_t at = round == 1 ? ev.n - 1 - i : i;
            if (at != gi)
                order[k++] = at;
        }
        for (size_t i = ev.n - 1; round > 1 && i > 1; i--) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t j = 1 + (size_t)((rng >> 33) % i);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        char nm[96];
        snprintf(nm, sizeof nm, "%s_%d", name, round);
        replay(nm, &ev, order, got);
        assert_memory_equal(got, want, HEARTH_ID_LEN);
    }
    free(order);
    evs_free(&ev);
}

/* signed_count - events of f counted for `author` whose signer column is `signer` (NULL:
 * an empty column, i.e. signed by that person). */
static int64_t signed_count(struct fx *f, const struct hkey *signer, const struct hkey *author)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        signer ? "SELECT count(*) FROM events WHERE signer = ?1 "
                                                 "AND author = ?2"
                                               : "SELECT count(*) FROM events WHERE signer IS "
                                                 "NULL AND author = ?2",
                                        -1, &q, NULL),
                     SQLITE_OK);
    if (signer)
        sqlite3_bind_blob(q, 1, signer->pk, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, author->pk, HEARTH_PK_LEN, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* ---- tests ---- */

/* A device's post, edit and profile count as its person's; a ban of the device bans
 * the person; a revocation makes what the device signs later nobody's; and every
 * order of arrival gives the same view. */
static void test_device_counts_as_person(void **state)
{
    (void)state;
    struct fx *f = fx_forum("devices_person", &F, 0, 0);
    uint8_t p1[HEARTH_ID_LEN], d1[HEARTH_ID_LEN], x1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    post(f, &P, "from the laptop", p1);
    post(f, &D, "from the phone, not yet paired", d1);
    post(f, &X, "a stranger", x1);
    author_is(f, d1, &D);
    device_add(f, &P, &D);
    author_is(f, d1, &P); /* the earlier post is the person's now */
    author_is(f, p1, &P);

    /* the device edits the person's post: it is theirs */
    struct event_draft e = {.kind = EK_EDIT, .ref = p1};
    e.b.title = S("A thread");
    e.b.text = S("edited on the phone");
    fx_publish(f, &D, e, NULL);
    struct store_post *pp = get(f, p1);
    assert_string_equal(pp->text, "edited on the phone");
    store_posts_free(pp, 1);
    free(pp);

    /* the device's profile is the person's */
    struct event_draft pr = {.kind = EK_PROFILE};
    pr.b.name = S("willow");
    fx_publish(f, &D, pr, NULL);
    char *name, *about;
    assert_int_equal(store_profile(f->s, P.pk, &name, &about), HERR_OK);
    assert_non_null(name);
    assert_string_equal(name, "willow");
    free(name), free(about);

    uint8_t person[HEARTH_PK_LEN];
    assert_int_equal(store_person_of(f->s, D.pk, person), HERR_OK);
    assert_memory_equal(person, P.pk, HEARTH_PK_LEN);

    /* ban the device: the person is banned, on both keys */
    ban(f, "ban", &D);
    assert_int_equal(status_of(f, p1), POST_HIDDEN);
    assert_int_equal(status_of(f, d1), POST_HIDDEN);
    assert_int_equal(status_of(f, x1), POST_VISIBLE);
    ban(f, "unban", &P);
    assert_int_equal(status_of(f, p1), POST_VISIBLE);
    assert_int_equal(status_of(f, d1), POST_VISIBLE);

    /* revoke the device at its last seq: what it signs later is nobody's */
    uint64_t last;
    assert_int_equal(store_key_last_seq(f->s, D.pk, &last), HERR_OK);
    assert_true(last > 0);
    device_revoke(f, &P, &D, last);
    author_is(f, d1, &P);
    /* this node refuses to sign for a revoked device; the lost one's node would not */
    struct event_draft late = {.kind = EK_POST, .ref = f->board};
    late.b.title = S("A thread");
    late.b.text = S("after the revocation");
    assert_int_equal(store_publish(f->s, &D, &late, d2), HERR_DENIED);
    late.forum = f->forum, late.seq = last + 1, late.created = 1718000000000ULL;
    struct hbuf out;
    const char *why;
    hbuf_init(&out, HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&late, &D, &out, d2, &why), HERR_OK);
    struct store_blob b = {out.data, out.len};
    struct ingest_result r;
    assert_int_equal(store_ingest(f->s, &b, 1, &r, NULL), HERR_OK);
    assert_int_equal(r.err, HERR_OK);
    hbuf_release(&out);
    author_is(f, d2, &D);
    assert_int_equal(status_of(f, d2), POST_HIDDEN);
    assert_int_equal(status_of(f, d1), POST_VISIBLE);

    struct store_device *devs;
    size_t n;
    assert_int_equal(store_devices(f->s, P.pk, &devs, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(devs[0].device, D.pk, HEARTH_PK_LEN);
    assert_true(devs[0].revoked);
    assert_int_equal(devs[0].until, last);
    free(devs);

    /* The events name their signer only when it is not the person they count for:
     * the device's up to the revocation; none of the person's own, nor the one the
     * device signed after it (its own now). */
    assert_int_equal(signed_count(f, &D, &P), 3); /* its post, edit and profile */
    assert_int_equal(signed_count(f, NULL, &D), 1);
    assert_int_equal(signed_count(f, &P, &P), 0);
    assert_true(signed_count(f, NULL, &P) > 0);

    same_in_every_order(f, "devices_person_order");
    fx_free(f);
}

/* An add without the device's consent, or by a key that is itself a device, or of a
 * key two persons claim, counts for nobody. */
static void test_device_rules(void **state)
{
    (void)state;
    struct fx *f = fx_forum("devices_rules", &F, 0, 0);
    uint8_t proof[HEARTH_SIG_LEN], id[HEARTH_ID_LEN];
    /* a proof for another person does not verify */
    device_proof_sign(proof, f->forum, X.pk, &D);
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = D.pk;
    d.b.has_grant = true, d.b.grant = true;
    d.b.proof = proof;
    assert_int_equal(store_publish(f->s, &P, &d, id), HERR_INVALID);

    /* two persons claim D (D signed both proofs): it is nobody's device */
    device_add(f, &P, &D);
    device_add(f, &X, &D);
    uint8_t person[HEARTH_PK_LEN];
    assert_int_equal(store_person_of(f->s, D.pk, person), HERR_OK);
    assert_memory_equal(person, D.pk, HEARTH_PK_LEN);
    same_in_every_order(f, "devices_rules_order");
    fx_free(f);
}

struct streamed {
    const uint8_t *want;
    bool found;
};

static herr saw(void *ctx, const uint8_t id[HEARTH_ID_LEN], const uint8_t *env, size_t len)
{
    struct streamed *st = ctx;
    st->found = st->found || !memcmp(id, st->want, HEARTH_ID_LEN);
    return HERR_OK;
}

/* A kind above the known ones is stored, forwarded (exported, streamed) and ignored;
 * above HEARTH_MAX_KIND it is refused. */
static void test_unknown_kind_stored(void **state)
{
    (void)state;
    struct fx *f = fx_forum("devices_unknown", &F, 0, 0);
    uint8_t before[HEARTH_ID_LEN], after[HEARTH_ID_LEN];
    assert_int_equal(store_view_digest(f->s, before), HERR_OK);
    /* build an event of kind 777 by hand: event_build takes any kind */
    struct event_draft d = {.kind = 777, .forum = f->forum, .seq = 5, .created = 1};
    d.b.text = S("from the future");
    struct hbuf out;
    uint8_t id[HEARTH_ID_LEN];
    const char *why;
    hbuf_init(&out, HEARTH_MAX_EVENT);
    assert_int_equal(event_build(&d, &X, &out, id, &why), HERR_OK);
    struct store_blob b = {out.data, out.len};
    struct ingest_result r;
    assert_int_equal(store_ingest(f->s, &b, 1, &r, NULL), HERR_OK);
    assert_int_equal(r.err, HERR_OK);
    assert_int_equal(store_has(f->s, id), HERR_OK);
    assert_int_equal(store_view_digest(f->s, after), HERR_OK);
    assert_memory_equal(before, after, HEARTH_ID_LEN);
    /* streamed to a peer like any event */
    struct store_cursor cur = {0};
    struct streamed st = {.want = id};
    while (!cur.done)
        assert_int_equal(store_stream(f->s, &cur, UINT64_MAX, 1000, 1 << 24, saw, &st), HERR_OK);
    assert_true(st.found);
    hbuf_reset(&out);
    d.kind = HEARTH_MAX_KIND + 1;
    assert_int_equal(event_build(&d, &X, &out, id, &why), HERR_KIND);
    hbuf_release(&out);
    fx_free(f);
}

/* One pending request of person's, from device. */
static struct store_pair_match pending_of(struct fx *f, const struct hkey *person,
                                          const struct hkey *device, int64_t now)
{
    struct store_pair_match *m, found = {0};
    size_t n, hits = 0;
    assert_int_equal(store_pair_pending(f->s, person->pk, now, &m, &n), HERR_OK);
    for (size_t i = 0; i < n; i++)
        if (!memcmp(m[i].req.device, device->pk, HEARTH_PK_LEN))
            found = m[i], hits++;
    free(m);
    assert_int_equal(hits, 1);
    return found;
}

static void refused_with(struct fx *f, const struct store_pair_match *m, const char *why)
{
    uint8_t id[HEARTH_ID_LEN];
    assert_int_equal(store_pair_accept(f->s, &P, f->forum, m, id), HERR_STATE);
    if (!strstr(store_errmsg(f->s), why))
        fail_msg("refused with '%s', not '%s'", store_errmsg(f->s), why);
}

/* The pairing codes (store.h, "pairing a device"): a typo, an expired code and a code
 * used twice are refused, each with its reason; a good one is accepted once. One
 * replica plays both sides: a request signed by any key reaches it as it would
 * through a sync. */
static void test_pairing_codes(void **state)
{
    (void)state;
    struct fx *f = fx_forum("pairing", &F, 0, 0);
    struct store_pair_code pc;
    const char *why;
    char code[STORE_PAIR_CODE_MAX], bad[STORE_PAIR_CODE_MAX], old[STORE_PAIR_CODE_MAX];
    uint8_t id[HEARTH_ID_LEN], who[HEARTH_PK_LEN];
    int64_t now = 1800000000;
    struct hkey Y;
    uint8_t seed[32];
    testutil_seed(seed, 160), hkey_from_seed(&Y, seed);
    post(f, &P, "P is known here", NULL);

    assert_int_equal(store_pair_code_new(f->s, P.pk, now, code), HERR_OK);
    assert_int_equal(strncmp(code, "hd1-", 4), 0);
    assert_int_equal(store_pair_code_read(code, &pc, &why), HERR_OK);
    assert_memory_equal(pc.person, P.pk, HEARTH_PK_LEN);
    /* a typo: one letter changed, one dropped, another prefix */
    snprintf(bad, sizeof bad, "%s", code);
    bad[20] = bad[20] == 'a' ? 'b' : 'a';
    assert_int_equal(store_pair_code_read(bad, &pc, &why), HERR_USAGE);
    assert_non_null(strstr(why, "mistyped"));
    assert_int_equal(store_pair_join(f->s, &D, f->forum, bad, who, id), HERR_USAGE);
    assert_non_null(strstr(store_errmsg(f->s), "mistyped"));
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(code) - 1, code);
    assert_int_equal(store_pair_code_read(bad, &pc, &why), HERR_USAGE);
    assert_non_null(strstr(why, "not a device code"));
    assert_int_equal(store_pair_code_read("hr1-abcd", &pc, &why), HERR_USAGE);
    assert_non_null(strstr(why, "not a device code"));
    /* the person cannot be their own device */
    assert_int_equal(store_pair_join(f->s, &P, f->forum, code, who, id), HERR_STATE);

    /* good: D asks, P accepts, once */
    assert_int_equal(store_pair_join(f->s, &D, f->forum, code, who, id), HERR_OK);
    assert_memory_equal(who, P.pk, HEARTH_PK_LEN);
    assert_int_equal(store_pair_asked(f->s, D.pk, who), HERR_OK);
    assert_memory_equal(who, P.pk, HEARTH_PK_LEN);
    assert_int_equal(store_pair_asked(f->s, X.pk, who), HERR_NOT_FOUND);
    struct store_pair_match m = pending_of(f, &P, &D, now + 60);
    assert_int_equal(m.state, STORE_PAIR_READY);
    assert_int_equal(store_pair_accept(f->s, &P, f->forum, &m, id), HERR_OK);
    assert_int_equal(store_person_of(f->s, D.pk, who), HERR_OK);
    assert_memory_equal(who, P.pk, HEARTH_PK_LEN);
    m = pending_of(f, &P, &D, now + 60);
    assert_int_equal(m.state, STORE_PAIR_ADDED);
    refused_with(f, &m, "added already");
    refused_with(
        f, &(struct store_pair_match){.req = m.req, .state = STORE_PAIR_READY, .setting = {0}},
        "its code is gone");

    /* reused: X read the same code; the code was spent on D */
    assert_int_equal(store_pair_join(f->s, &X, f->forum, code, who, id), HERR_OK);
    m = pending_of(f, &P, &X, now + 60);
    assert_int_equal(m.state, STORE_PAIR_USED);
    refused_with(f, &m, "used already");

    /* expired: a code made two days ago */
    assert_int_equal(store_pair_code_new(f->s, P.pk, now - 2 * STORE_PAIR_TTL_S, old), HERR_OK);
    assert_int_equal(store_pair_join(f->s, &Y, f->forum, old, who, id), HERR_OK);
    m = pending_of(f, &P, &Y, now);
    assert_int_equal(m.state, STORE_PAIR_EXPIRED);
    refused_with(f, &m, "expired");
    /* a code this replica never made: P's, made on another replica (P's laptop) */
    struct fx *g = fx_empty("pairing-other");
    assert_int_equal(store_pair_code_new(g->s, P.pk, now, old), HERR_OK);
    fx_free(g);
    struct hkey Z;
    testutil_seed(seed, 200), hkey_from_seed(&Z, seed);
    assert_int_equal(store_pair_join(f->s, &Z, f->forum, old, who, id), HERR_OK);
    m = pending_of(f, &P, &Z, now);
    assert_int_equal(m.state, STORE_PAIR_FOREIGN);
    refused_with(f, &m, "not made here");

    /* revoking: only the person's own devices */
    uint64_t until = 99;
    assert_int_equal(store_device_revoke(f->s, &P, f->forum, X.pk, false, &until, id),
                     HERR_NOT_FOUND);
    assert_int_equal(store_device_revoke(f->s, &P, f->forum, D.pk, false, &until, id), HERR_OK);
    assert_int_equal(until, 1); /* D's one event, its request */
    struct store_device *v;
    size_t n;
    assert_int_equal(store_devices(f->s, P.pk, &v, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_true(v[0].revoked);
    free(v);
    fx_free(f);
}

int main(void)
{
    uint8_t seed[32];
    testutil_seed(seed, 0), hkey_from_seed(&F, seed);
    testutil_seed(seed, 40), hkey_from_seed(&P, seed);
    testutil_seed(seed, 80), hkey_from_seed(&D, seed);
    testutil_seed(seed, 120), hkey_from_seed(&X, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_counts_as_person),
        cmocka_unit_test(test_device_rules),
        cmocka_unit_test(test_unknown_kind_stored),
        cmocka_unit_test(test_pairing_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
