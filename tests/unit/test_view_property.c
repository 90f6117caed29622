/* test_view_property.c - the view is a pure function of the set of events.
 *
 * A random forum of a few hundred events (several authors, boards, posts, replies to
 * posts and to replies, edits, retractions of posts, replies, edits, reactions and
 * profiles, reactions, flags, profiles, forks, references that are wrong; and
 * community care: role grants and revocations with and without `until` by the
 * founder, admins and people without the power, moderation of every kind by
 * moderators before and after their revocation and by people who never were, bans
 * before and after the banned author's posts, approvals, settings that hold first
 * posts (turned on and off between posts) and hide flagged ones, resources; and
 * clocks days or a year fast; and devices: keys certified as other keys' devices,
 * revoked with and without `until`, claimed twice, chained, asked for) is applied
 * to many replicas: in random orders, in random batch sizes, with duplicates, and as
 * pairs of partial replicas that then merge through each other's export. Every
 * replica's view digest (and stats) must equal those of a replica fed in the order
 * the events were made. HEARTH_PROP_SEED picks the seed; the totals are printed.
 */
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
#include "tests/unit/testutil.h"

#define NKEYS 6 /* keys[0] is the founder */
#define NDEVS 2 /* keys[NKEYS..]: device keys, certified by persons among keys[1..] */
#define T0 1718000000000ULL

/* ---- a small deterministic random source ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static bool chance(int percent)
{
    return (int)below(100) < percent;
}

/* ---- the generated forum ---- */

struct gev {
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN], root[HEARTH_ID_LEN];
    uint32_t kind;
    int author;
};

struct grant_made {
    uint8_t id[HEARTH_ID_LEN];
    int subject;
    const char *role;
};

struct gen {
    struct gev *v;
    size_t n, cap;
    struct grant_made grants[64];
    size_t ngrants;
    struct hkey keys[NKEYS + NDEVS];
    uint64_t seq[NKEYS + NDEVS], clock;
    uint8_t forum[HEARTH_ID_LEN];
    bool fork_next[NKEYS + NDEVS];
    size_t counts[EK_LAST_KIND + 1];
};

static struct hstr S(const char *s) {
    return (struct hstr){s, (uint32_t)strlen(s)};
}

static const char *const words[] = {"rain",  "fence", "tired",  "kettle", "harvest", "road",
                                    "quiet", "bus",   "letter", "sheep",  "winter",  "clinic"};

/* text - a few random words, in a static ring so that a draft may hold several. */
static struct hstr text(void)
{
    static char ring[4][96];
    static int at;
    char *t = ring[at++ % 4];
    snprintf(t, 96, "%s %s %s %zu", words[below(12)], words[below(12)], words[below(12)],
             below(1000));
    return S(t);
}

static const struct gev *emit(struct gen *g, int a, struct event_draft d, const uint8_t *root)
{
    const char *why;
    assert_true(g->n < g->cap); /* drafts point into g->v: it never moves */
    struct gev *x = &g->v[g->n];
    if (g->fork_next[a] && g->seq[a] > 1)
        g->fork_next[a] = false; /* reuse the last seq: a fork */
    else
        g->seq[a]++;
    d.seq = g->seq[a];
    g->clock += below(3) * 1000; /* equal times happen */
    d.created = g->clock;
    if (chance(3)) /* a clock days or a year fast: beyond the horizon for a while */
        d.created += (chance(50) ? 2 : 400) * 24ULL * 3600 * 1000 + below(1000);
    d.forum = d.kind == EK_GENESIS ? NULL : g->forum;
    hbuf_init(&x->env, HEARTH_MAX_EVENT);
    if (event_build(&d, &g->keys[a], &x->env, x->id, &why))
        fail_msg("event_build: %s", why);
    x->kind = d.kind;
    x->author = a;
    memcpy(x->root, root ? root : x->id, HEARTH_ID_LEN);
    g->counts[d.kind]++;
    g->n++;
    return x;
}

/* pick - a random generated event of one of the kinds in mask (bit per kind). */
static const struct gev *pick(struct gen *g, unsigned mask)
{
    for (int tries = 0; tries < 200; tries++) {
        const struct gev *x = &g->v[below(g->n)];
        if (mask & (1u << x->kind))
            return x;
    }
    return NULL;
}

#define K(k) (1u << (k))

static void gen_post(struct gen *g, int a, const uint8_t boards[][HEARTH_ID_LEN], int nboards)
{
    struct event_draft d = {.kind = EK_POST, .ref = boards[below((size_t)nboards)]};
    d.b.title = text();
    d.b.text = text();
    if (chance(20))
        d.b.cw = S("grief");
    emit(g, a, d, NULL);
}

static void gen_reply(struct gen *g, int a)
{
    const struct gev *t = pick(g, K(EK_POST) | K(EK_REPLY));
    if (!t)
        return;
    struct event_draft d = {.kind = EK_REPLY, .root = t->root, .ref = t->id};
    if (chance(4)) { /* a wrong reference: another thread's root */
        const struct gev *o = pick(g, K(EK_POST));
        d.root = o->id;
    }
    d.b.text = text();
    emit(g, a, d, d.root);
}

static void gen_edit(struct gen *g, int a)
{
    const struct gev *t = pick(g, K(EK_POST) | K(EK_REPLY));
    if (!t || t->author >= NKEYS)
        return;
    struct event_draft d = {.kind = EK_EDIT, .ref = t->id};
    d.b.text = text();
    if (t->kind == EK_POST && chance(40))
        d.b.title = text();
    if (chance(30))
        d.b.cw = S("self-harm");
    emit(g, chance(85) ? t->author : a, d, NULL);
}

static void gen_retract(struct gen *g, int a)
{
    const struct gev *t =
        pick(g, K(EK_POST) | K(EK_REPLY) | K(EK_EDIT) | K(EK_REACT) | K(EK_PROFILE) | K(EK_FLAG));
    if (!t || t->author >= NKEYS)
        return;
    struct event_draft d = {.kind = EK_RETRACT, .ref = t->id};
    emit(g, chance(85) ? t->author : a, d, NULL);
}

static void gen_mark(struct gen *g, int a, uint32_t kind)
{
    static const char *const reactions[] = {"support", "hug", "me-too"};
    const struct gev *t = pick(g, K(EK_POST) | K(EK_REPLY));
    if (!t)
        return;
    struct event_draft d = {.kind = kind, .ref = t->id};
    if (kind == EK_REACT)
        d.b.reaction = S(reactions[below(3)]);
    else
        d.b.reason = S("worried");
    emit(g, a, d, NULL);
}

static void gen_profile(struct gen *g, int a)
{
    static const char *const names[] = {"Sam", "sam", "Sam \xe2\x80\xae[rotaredom]", "Ana\x1b[0m"};
    struct event_draft d = {.kind = EK_PROFILE};
    d.b.name = chance(30) ? S(names[below(4)]) : text(); /* alike, and with overrides */
    if (chance(50))
        d.b.about = text();
    emit(g, a, d, NULL);
}

/* Care events. keys[1] is made admin early; others get roles as the forum goes. */
static const char *const role_names[] = {"admin", "moderator", "professional", "peer-worker"};

static void gen_grant(struct gen *g, int a)
{
    struct event_draft d = {.kind = EK_ROLE};
    int subject = 1 + (int)below(NKEYS - 1);
    const char *role = role_names[chance(20) ? 0 : 1 + below(3)];
    d.b.subject = g->keys[subject].pk;
    d.b.role = S(role);
    d.b.has_grant = true, d.b.grant = true;
    int by = chance(60) ? 0 : chance(60) ? 1 : a; /* founder, the admin, or anyone */
    const struct gev *x = emit(g, by, d, NULL);
    if (g->ngrants < 64) {
        struct grant_made *m = &g->grants[g->ngrants++];
        memcpy(m->id, x->id, HEARTH_ID_LEN);
        m->subject = subject;
        m->role = role;
    }
}

static void gen_revoke(struct gen *g, int a)
{
    if (!g->ngrants)
        return;
    const struct grant_made *m = &g->grants[below(g->ngrants)];
    struct event_draft d = {.kind = EK_ROLE, .ref = m->id};
    d.b.subject = g->keys[m->subject].pk;
    d.b.role = S(m->role);
    d.b.has_grant = true, d.b.grant = false;
    if (chance(70)) {
        d.b.has_until = true;
        d.b.until = chance(30) ? 0 : g->seq[m->subject] + below(3) - 1;
    }
    emit(g, chance(60) ? 0 : chance(50) ? 1 : a, d, NULL);
}

static void gen_mod(struct gen *g, int a)
{
    static const char *const actions[] = {"hide", "unhide", "remove",  "lock", "unlock",
                                          "pin",  "unpin",  "approve", "ban",  "unban"};
    struct event_draft d = {.kind = EK_MOD};
    size_t k = chance(4) ? 2 : below(10);
    if (k == 2 && !chance(25))
        k = 0; /* removals are rarer: they end a post's story */
    d.b.action = S(actions[k]);
    d.b.reason = S("care");
    if (k >= 8) {
        d.b.subject = g->keys[below(NKEYS + NDEVS)].pk; /* a device's ban bans its person */
    } else {
        const struct gev *t = pick(g, K(EK_POST) | K(EK_REPLY));
        if (!t)
            return;
        d.ref = t->id;
    }
    emit(g, chance(30) ? 0 : a, d, NULL);
}

static void gen_setting(struct gen *g, int a)
{
    struct event_draft d = {.kind = chance(70) ? EK_SETTINGS : EK_RESOURCES};
    if (d.kind == EK_RESOURCES) {
        d.b.text = text();
    } else {
        if (chance(60))
            d.b.has_hold = true, d.b.hold = below(3);
        if (!d.b.has_hold || chance(50))
            d.b.has_flags = true, d.b.flags = below(3);
    }
    emit(g, chance(50) ? 0 : chance(50) ? 1 : a, d, NULL);
}

/* gen_device - a person certifies, or revokes, a device key; now and then a key two
 * persons claim, a revocation before its add, and a pairing request (no effect).
 * Device keys post, reply, react, flag and write profiles, and are banned; they do
 * not retract, edit, moderate or hold roles, and nobody else retracts or edits
 * their words: a purge follows the mapping in force when it is made, and is not
 * undone when a later revocation changes it (docs/EVENTS.md, 13, "Devices"). */
static void gen_device(struct gen *g, int which, int a)
{
    int dev = NKEYS + which;
    struct event_draft d = {.kind = EK_DEVICE};
    d.b.subject = g->keys[dev].pk;
    static uint8_t proof[HEARTH_SIG_LEN], pairing[HEARTH_ID_LEN];
    size_t r = below(100);
    if (r < 60) {
        device_proof_sign(proof, g->forum, g->keys[a].pk, &g->keys[dev]);
        d.b.has_grant = true, d.b.grant = true;
        d.b.proof = proof;
    } else if (r < 80) {
        d.b.has_grant = true, d.b.grant = false;
        if (chance(80)) {
            d.b.has_until = true;
            d.b.until = chance(20) ? 0 : g->seq[dev] + below(3) - 1;
        }
    } else { /* a request by the device to become a's */
        device_proof_sign(proof, g->forum, g->keys[a].pk, &g->keys[dev]);
        d.b.subject = g->keys[a].pk;
        a = dev;
        pairing[0] = (uint8_t)below(256);
        d.b.proof = proof;
        d.b.pairing = pairing;
    }
    emit(g, a, d, NULL);
}

static void gen_care(struct gen *g, int a)
{
    size_t r = below(100);
    if (r < 25)
        gen_grant(g, a);
    else if (r < 40)
        gen_revoke(g, a);
    else if (r < 85)
        gen_mod(g, a);
    else
        gen_setting(g, a);
}

static void gen_boards(struct gen *g, uint8_t boards[][HEARTH_ID_LEN])
{
    static const char *const names[] = {"General", "Carers", "general"};
    for (int i = 0; i < 3; i++) {
        struct event_draft d = {.kind = EK_BOARD};
        d.b.name = S(names[i]);
        memcpy(boards[i], emit(g, 0, d, NULL)->id, HEARTH_ID_LEN);
    }
    struct event_draft d = {.kind = EK_BOARD};
    d.b.name = S("Rogue"); /* not by the founder: no effect */
    memcpy(boards[3], emit(g, 1, d, NULL)->id, HEARTH_ID_LEN);
}

static void gen_forum(struct gen *g, size_t n)
{
    uint8_t seed[32], boards[4][HEARTH_ID_LEN];
    memset(g, 0, sizeof *g);
    g->cap = n + 16;
    g->v = calloc(g->cap, sizeof *g->v);
    for (int i = 0; i < NKEYS + NDEVS; i++) {
        testutil_seed(seed, (uint8_t)(40 + i));
        hkey_from_seed(&g->keys[i], seed);
    }
    g->clock = T0;
    struct event_draft gd = {.kind = EK_GENESIS};
    gd.b.name = S("Property Forum");
    if (chance(50))
        gd.b.has_hold = true, gd.b.hold = 1;
    if (chance(50))
        gd.b.has_flags = true, gd.b.flags = 2;
    memcpy(g->forum, emit(g, 0, gd, NULL)->id, HEARTH_ID_LEN);
    gen_boards(g, boards);
    struct event_draft ad = {.kind = EK_ROLE};
    ad.b.subject = g->keys[1].pk;
    ad.b.role = S("admin");
    ad.b.has_grant = true, ad.b.grant = true;
    emit(g, 0, ad, NULL);
    while (g->n < n) {
        if (g->n == 8 || g->n == n / 2 || g->n == 3 * n / 4) {
            /* The founder turns the hold on early, off half way and on again: what is
             * held then depends on the posts' places in time. */
            struct event_draft hd = {.kind = EK_SETTINGS};
            hd.b.has_hold = true, hd.b.hold = g->n == 8 ? 2 : g->n == n / 2 ? 0 : 3;
            emit(g, 0, hd, NULL);
        }
        int a = (int)below(NKEYS);
        if (chance(4))
            g->fork_next[a] = true;
        size_t r = below(100);
        if (chance(12)) { /* a device acts */
            int dv = NKEYS + (int)below(NDEVS);
            if (r < 30)
                gen_post(g, dv, (const uint8_t(*)[HEARTH_ID_LEN])boards, 3);
            else if (r < 60)
                gen_reply(g, dv);
            else if (r < 80)
                gen_mark(g, dv, EK_REACT);
            else if (r < 90)
                gen_mark(g, dv, EK_FLAG);
            else
                gen_profile(g, dv);
        } else if (chance(4)) {
            /* device i is person 2 + i's; rarely another person claims it too */
            int dv = (int)below(NDEVS);
            gen_device(g, dv, chance(4) ? 1 + (int)below(NKEYS - 1) : 2 + dv);
        } else if (chance(14))
            gen_care(g, a);
        else if (r < 18)
            gen_post(g, a, (const uint8_t(*)[HEARTH_ID_LEN])boards, chance(95) ? 3 : 4);
        else if (r < 45)
            gen_reply(g, a);
        else if (r < 57)
            gen_edit(g, a);
        else if (r < 66)
            gen_retract(g, a);
        else if (r < 82)
            gen_mark(g, a, EK_REACT);
        else if (r < 87)
            gen_mark(g, a, EK_FLAG);
        else
            gen_profile(g, a);
    }
}

static void gen_free(struct gen *g)
{
    for (size_t i = 0; i < g->n; i++)
        hbuf_release(&g->v[i].env);
    free(g->v);
}

/* ---- replicas ---- */

struct replica {
    char *dir;
    struct store *s;
};

/* replica_dir - a directory for a replica: in memory (/dev/shm) when there is one,
 * because this test is about the view, not durability, and thousands of fsyncs on a
 * busy disk would make it slow. */
static char *replica_dir(const char *name)
{
    char tmpl[128];
    snprintf(tmpl, sizeof tmpl, "/dev/shm/hearth-%s.XXXXXX", name);
    if (access("/dev/shm", W_OK) == 0 && mkdtemp(tmpl))
        return strdup(tmpl);
    return testutil_tmpdir(name);
}

static struct replica replica_new(const char *name, const uint8_t *forum)
{
    struct replica r;
    char path[512];
    r.dir = replica_dir(name);
    snprintf(path, sizeof path, "%s/r.db", r.dir);
    if (store_open(&r.s, path, STORE_CREATE))
        fail_msg("store_open: %s", store_open_error());
    if (forum)
        assert_int_equal(store_set_forum(r.s, forum), HERR_OK);
    return r;
}

static void replica_free(struct replica *r)
{
    char path[600];
    store_destroy(&r->s);
    if (getenv("HEARTH_PROP_KEEP")) {
        free(r->dir);
        return;
    }
    snprintf(path, sizeof path, "%s/r.db", r->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/r.db-wal", r->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/r.db-shm", r->dir);
    unlink(path);
    rmdir(r->dir);
    free(r->dir);
}

/* feed - ingest envs[order[i]] in random batch sizes, with random duplicates. */
static void feed(struct store *s, struct store_blob *envs, const size_t *order, size_t n,
                 size_t max_batch)
{
    struct store_blob *batch = malloc((2 * max_batch + 1) * sizeof *batch);
    struct ingest_result *res = malloc((2 * max_batch + 1) * sizeof *res);
    for (size_t i = 0; i < n;) {
        size_t take = 1 + below(max_batch), m = 0;
        for (size_t j = 0; j < take && i < n; j++, i++) {
            batch[m++] = envs[order[i]];
            if (chance(8)) /* a duplicate: again now, or one from before */
                batch[m++] = envs[order[below(i + 1)]];
        }
        assert_int_equal(store_ingest(s, batch, m, res, NULL), HERR_OK);
        for (size_t j = 0; j < m; j++)
            if (res[j].err != HERR_OK && res[j].err != HERR_DUPLICATE)
                fail_msg("event refused: %s (%s)", herr_str(res[j].err), res[j].why);
    }
    free(batch);
    free(res);
}

static void shuffle(size_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = below(i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* A replica's export, as owned copies. */
struct dump {
    struct store_blob *v;
    size_t n, cap;
};

static herr dump_cb(void *ctx, const uint8_t *env, size_t len)
{
    struct dump *d = ctx;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = realloc(d->v, d->cap * sizeof *d->v);
    }
    uint8_t *p = malloc(len);
    memcpy(p, env, len);
    d->v[d->n++] = (struct store_blob){p, len};
    return HERR_OK;
}

static void dump_free(struct dump *d)
{
    for (size_t i = 0; i < d->n; i++)
        free((void *)d->v[i].p);
    free(d->v);
}

/* merge - `to` ingests the export of `from`, in its transfer order and random batches. */
static void merge(struct store *to, struct store *from)
{
    struct dump d = {0};
    assert_int_equal(store_export(from, dump_cb, &d), HERR_OK);
    size_t *order = malloc(d.n * sizeof *order);
    for (size_t i = 0; i < d.n; i++)
        order[i] = i;
    feed(to, d.v, order, d.n, 64);
    free(order);
    dump_free(&d);
}

struct expect {
    uint8_t digest[HEARTH_ID_LEN], dump[HEARTH_ID_LEN];
    struct store_stats st;
};

/* reaction_counts_differ - how many (post, reaction) counts react_count keeps that a
 * count of the live reactions in reacts does not find, and the other way round. */
static int reaction_counts_differ(struct store *s)
{
    char path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    snprintf(path, sizeof path, "%s/r.db", store_dir(s)); /* replica_new's file */
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "WITH c AS (SELECT on_ev, reaction, count(DISTINCT author) AS n FROM "
                           "reacts WHERE live = 1 AND on_ev IS NOT NULL GROUP BY 1, 2) SELECT "
                           "(SELECT count(*) FROM (SELECT * FROM c EXCEPT SELECT * FROM "
                           "react_count)) + (SELECT count(*) FROM (SELECT * FROM react_count "
                           "EXCEPT SELECT * FROM c))",
                           -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* expect_of - the kept digest and counts of s, after checking that they are what a
 * full recomputation from the tables finds. */
static void expect_of(struct store *s, struct expect *x, const char *what, size_t round)
{
    uint8_t full[HEARTH_ID_LEN];
    struct store_stats st;
    assert_int_equal(store_view_digest(s, x->digest), HERR_OK);
    assert_int_equal(store_view_digest_full(s, full), HERR_OK);
    assert_int_equal(store_view_dump_digest(s, x->dump), HERR_OK);
    assert_int_equal(store_stats(s, &x->st), HERR_OK);
    assert_int_equal(store_stats_full(s, &st), HERR_OK);
    if (memcmp(full, x->digest, HEARTH_ID_LEN) != 0)
        fail_msg("%s %zu: the kept view digest differs from its recomputation", what, round);
    st.db_bytes = x->st.db_bytes;
    if (memcmp(&st, &x->st, sizeof st) != 0)
        fail_msg("%s %zu: the kept counts differ from a count of the tables", what, round);
    int differ = reaction_counts_differ(s);
    if (differ)
        fail_msg("%s %zu: %d kept reaction counts differ from a count of reacts", what, round,
                 differ);
}

static void check(struct store *s, const struct expect *x, const char *what, size_t round)
{
    struct expect got;
    expect_of(s, &got, what, round);
    if (memcmp(got.dump, x->dump, HEARTH_ID_LEN) != 0)
        fail_msg("%s %zu: view dump differs from the canonical replica's", what, round);
    if (memcmp(got.digest, x->digest, HEARTH_ID_LEN) != 0)
        fail_msg("%s %zu: view digest differs from the canonical replica's", what, round);
    assert_int_equal(got.st.events, x->st.events);
    assert_int_equal(got.st.pending, x->st.pending);
    assert_int_equal(got.st.purged, x->st.purged);
    assert_int_equal(got.st.threads, x->st.threads);
    assert_int_equal(got.st.replies, x->st.replies);
    assert_int_equal(got.st.forks, x->st.forks);
}

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, HEARTH_ID_LEN);
}

/* distinct - how many different events the forum holds. */
static size_t distinct(const struct gen *g)
{
    uint8_t(*ids)[HEARTH_ID_LEN] = malloc(g->n * HEARTH_ID_LEN);
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        memcpy(ids[i], g->v[i].id, HEARTH_ID_LEN);
    qsort(ids, g->n, HEARTH_ID_LEN, id_cmp);
    for (size_t i = 0; i < g->n; i++)
        n += i == 0 || memcmp(ids[i], ids[i - 1], HEARTH_ID_LEN) != 0;
    free(ids);
    return n;
}

/* coverage - count what the canonical view holds, so that the totals show the test
 * reached every status (a property that holds over a dull forum proves little). */
struct totals {
    size_t events, orders, partial, ingested;
    size_t status[5], roles, bans, pending;
};

static struct totals totals;

static void coverage(const char *dir)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *q;
    snprintf(path, sizeof path, "%s/r.db", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT status, count(*) FROM posts WHERE state = 0 "
                                        "GROUP BY status",
                                        -1, &q, NULL),
                     SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW)
        totals.status[sqlite3_column_int(q, 0) % 5] += (size_t)sqlite3_column_int(q, 1);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM roles WHERE valid = 1), "
                                        "(SELECT count(*) FROM banned), (SELECT count(*) FROM "
                                        "posts WHERE state = 1)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW) {
        totals.roles += (size_t)sqlite3_column_int(q, 0);
        totals.bans += (size_t)sqlite3_column_int(q, 1);
        totals.pending += (size_t)sqlite3_column_int(q, 2);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* ---- the property ---- */

static void run_seed(uint64_t seed, size_t nevents, size_t orders, size_t partials)
{
    struct gen g;
    rng_state = seed;
    gen_forum(&g, nevents);
    struct store_blob *envs = malloc(g.n * sizeof *envs);
    size_t *order = malloc(g.n * sizeof *order);
    for (size_t i = 0; i < g.n; i++) {
        envs[i] = (struct store_blob){g.v[i].env.data, g.v[i].env.len};
        order[i] = i;
    }
    /* The canonical replica: in the order made, from a forum-less start. */
    struct expect x;
    struct replica c = replica_new("prop_canon", NULL);
    feed(c.s, envs, order, g.n, 1);
    expect_of(c.s, &x, "canonical", 0);
    assert_int_equal(x.st.events, distinct(&g)); /* a fork can repeat an event exactly */
    assert_true(x.st.forks > 0);
    assert_true(x.st.purged > 0);
    coverage(c.dir);
    replica_free(&c);
    for (size_t k = 0; k < orders; k++) {
        struct replica r = replica_new("prop_order", g.forum);
        shuffle(order, g.n);
        feed(r.s, envs, order, g.n, k % 4 == 0 ? 1 : 1 + below(60));
        check(r.s, &x, "random order", k);
        replica_free(&r);
        totals.ingested += g.n;
    }
    for (size_t k = 0; k < partials; k++) {
        struct replica a = replica_new("prop_a", g.forum), b = replica_new("prop_b", g.forum);
        size_t *ia = malloc(g.n * sizeof *ia), *ib = malloc(g.n * sizeof *ib), na = 0, nb = 0;
        shuffle(order, g.n);
        for (size_t i = 0; i < g.n; i++) {
            size_t where = below(3); /* A only, B only, or both */
            if (where != 1)
                ia[na++] = order[i];
            if (where != 0)
                ib[nb++] = order[i];
        }
        feed(a.s, envs, ia, na, 1 + below(40));
        feed(b.s, envs, ib, nb, 1 + below(40));
        merge(a.s, b.s);
        merge(b.s, a.s);
        check(a.s, &x, "partial replica A", k);
        check(b.s, &x, "partial replica B", k);
        free(ia);
        free(ib);
        replica_free(&a);
        replica_free(&b);
        totals.ingested += na + nb + 2 * g.n;
    }
    totals.events += g.n;
    totals.orders += orders;
    totals.partial += partials;
    free(envs);
    free(order);
    gen_free(&g);
}

static uint64_t base_seed(void)
{
    const char *env = getenv("HEARTH_PROP_SEED");
    return env && *env ? strtoull(env, NULL, 0) : 0x4845415254480001ULL;
}

/* HEARTH_PROP_FORUMS runs more forums (a longer hunt), each with the next seed. */
static void test_view_is_a_function_of_the_set(void **state)
{
    uint64_t seed = base_seed();
    const char *env = getenv("HEARTH_PROP_FORUMS");
    size_t forums = env && *env ? strtoul(env, NULL, 0) : 3;
    for (uint64_t i = 0; i < forums; i++)
        run_seed(seed + i, 300 + (size_t)(i % 3) * 50, 16, 8);
    printf("view property: %zu events in %zu forums; %zu random orders, %zu partial-replica "
           "merges (seed %#llx); %zu events ingested in all\n",
           totals.events, forums, totals.orders, totals.partial, (unsigned long long)seed,
           totals.ingested);
    printf("canonical views held: %zu visible, %zu retracted, %zu removed, %zu hidden, %zu held "
           "posts and replies; %zu valid grants, %zu bans\n",
           totals.status[0], totals.status[1], totals.status[2], totals.status[3], totals.status[4],
           totals.roles, totals.bans);
    for (int i = 0; i < 5; i++)
        assert_true(totals.status[i] > 0);
}

int main(void)
{
    if (crypto_start())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_is_a_function_of_the_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
