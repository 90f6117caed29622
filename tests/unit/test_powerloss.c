/* test_powerloss.c - the replica after a power cut at hundreds of points.
 *
 * A workload of store_ingest and store_publish calls (with the store closed and
 * opened again now and then, as the CLI does, so that checkpoints happen too) runs
 * over plvfs (tests/unit/plvfs.h), a VFS that keeps what was written since each
 * file's last fsync apart and, at a crash point K (the K-th write, truncate or fsync,
 * K random), dies: nothing more reaches the disk. The files are then rewritten as a
 * disk would hold them after the cut (every unsynced write lost; or a random subset
 * of them kept; or all lost but a torn, sector-aligned prefix of the last one), and
 * the replica is opened again from that state. Each time:
 *   - store_open succeeds (with STORE_CHECK: quick_check), and PRAGMA integrity_check
 *     says ok;
 *   - every event whose store_ingest / store_publish returned HERR_OK before the cut
 *     is there, and no event is stored twice;
 *   - the view is the one the events make: a fresh replica fed the recovered events
 *     has the same view digest;
 *   - the replica takes writes again (the whole pool ingested once more, a new post).
 *
 * HEARTH_POWERLOSS_TRIALS (default 300) crash points; HEARTH_POWERLOSS_SEED to replay.
 * The store opens with the default VFS, so plvfs registers itself as the default:
 * no hook in store.h is needed (a STORE_VFS option would let a test pick its VFS
 * without that; the lead may want one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/plvfs.h"
#include "tests/unit/testutil.h"

#define T0 1718000000000ULL
#define POOL 160 /* events of other authors, ingested in batches */
#define STEPS 36 /* calls per workload */

struct ev {
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
};

static struct ev pool[POOL + 2]; /* [0] genesis, [1] board, then posts and replies */
static struct hkey founder, authors[4], local;
static uint8_t forum[HEARTH_ID_LEN];

static struct hstr S(const char *s) {
    return (struct hstr){s, (uint32_t)strlen(s)};
}

static void
build(struct ev *e, const struct hkey *k, const struct event_draft *d)
{
    const char *why;
    hbuf_init(&e->env, HEARTH_MAX_EVENT);
    if (event_build(d, k, &e->env, e->id, &why) != HERR_OK)
        fail_msg("event_build: %s", why);
}

/* make_pool - a forum of its own: genesis, one board, posts and replies. */
static void make_pool(void)
{
    uint8_t seed[32];
    testutil_seed(seed, 1);
    hkey_from_seed(&founder, seed);
    for (int i = 0; i < 4; i++) {
        testutil_seed(seed, (uint8_t)(40 + i));
        hkey_from_seed(&authors[i], seed);
    }
    testutil_seed(seed, 90);
    hkey_from_seed(&local, seed);
    struct event_draft g = {.kind = EK_GENESIS, .seq = 1, .created = T0};
    g.b.name = S("Powerloss");
    build(&pool[0], &founder, &g);
    memcpy(forum, pool[0].id, HEARTH_ID_LEN);
    struct event_draft b = {.kind = EK_BOARD, .forum = forum, .seq = 2, .created = T0 + 1};
    b.b.name = S("General");
    build(&pool[1], &founder, &b);
    uint64_t seq[4] = {0};
    for (int i = 0; i < POOL; i++) {
        int a = i % 4;
        char text[96];
        snprintf(text, sizeof text, "event %d of the pool, by author %d", i, a);
        struct event_draft d = {.forum = forum, .seq = ++seq[a], .created = T0 + 10 + (uint64_t)i};
        d.b.text = S(text);
        if (i % 3 == 0 || i < 4) {
            d.kind = EK_POST;
            d.ref = pool[1].id;
            d.b.title = S("a thread");
        } else {
            /* A reply to the newest post before it. */
            int p = i - 1;
            while (p % 3 != 0 && p >= 4)
                p--;
            d.kind = EK_REPLY;
            d.root = pool[2 + p].id;
            d.ref = pool[2 + p].id;
        }
        build(&pool[2 + i], &authors[a], &d);
    }
}

/* ---- what a workload was told ---- */

struct acked {
    uint8_t (*ids)[HEARTH_ID_LEN];
    size_t n, cap;
};

static void ack(struct acked *a, const uint8_t id[HEARTH_ID_LEN])
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->ids = realloc(a->ids, a->cap * sizeof *a->ids);
        assert_non_null(a->ids);
    }
    memcpy(a->ids[a->n++], id, HEARTH_ID_LEN);
}

static uint64_t rng_state;
static uint64_t crash_point; /* of the trial under way, for messages */
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

/* workload - the calls of one boot, until the machine dies or STEPS are done.
 * Returns the number of calls that returned HERR_OK. */
static int workload(const char *path, struct acked *a)
{
    struct store *s = NULL;
    int ok = 0;
    size_t next = 0; /* next pool event to ingest */
    uint8_t own_posts[STEPS][HEARTH_ID_LEN];
    int n_own = 0;
    if (store_open(&s, path, STORE_CREATE) != HERR_OK)
        return 0;
    for (int step = 0; step < STEPS && !plvfs.crashed; step++) {
        herr e;
        if (step > 0 && step % 12 == 0) {
            /* Close and open again: the last connection checkpoints the WAL. */
            store_destroy(&s);
            if (store_open(&s, path, STORE_CREATE) != HERR_OK)
                return ok;
            continue;
        }
        uint32_t what = next < 2 ? 0 : rnd(3);
        if (what == 0 && next < POOL + 2) {
            size_t k = next < 2 ? 2 : 1 + rnd(8);
            if (next + k > POOL + 2)
                k = POOL + 2 - next;
            struct store_blob b[8];
            struct ingest_result r[8];
            for (size_t i = 0; i < k; i++)
                b[i] = (struct store_blob){pool[next + i].env.data, pool[next + i].env.len};
            e = store_ingest(s, b, k, r, NULL);
            if (e == HERR_OK) {
                ok++;
                for (size_t i = 0; i < k; i++) {
                    if (r[i].err != HERR_OK && r[i].err != HERR_DUPLICATE)
                        fail_msg("pool event %zu rejected: %s", next + i, r[i].why);
                    ack(a, r[i].id);
                }
                next += k;
            }
        } else {
            uint8_t id[HEARTH_ID_LEN];
            struct event_draft d = {0};
            char text[64];
            snprintf(text, sizeof text, "local %d", step);
            d.b.text = S(text);
            if (what == 1 || n_own == 0) {
                d.kind = EK_POST;
                d.ref = pool[1].id;
                d.b.title = S("local thread");
            } else {
                int p = (int)rnd((uint32_t)n_own);
                d.kind = EK_REPLY;
                d.root = own_posts[p];
                d.ref = own_posts[p];
            }
            e = store_publish(s, &local, &d, id);
            if (e == HERR_OK) {
                ok++;
                ack(a, id);
                if (d.kind == EK_POST)
                    memcpy(own_posts[n_own++], id, HEARTH_ID_LEN);
            } else if (!plvfs.crashed) {
                fail_msg("publish failed with no crash: %s: %s", herr_str(e), store_errmsg(s));
            }
        }
    }
    store_destroy(&s);
    return ok;
}

/* ---- checks after the cut ---- */

static void sql_check(const char *path, uint64_t *rows)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
        fail_msg("integrity_check: %s", sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    *rows = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT id) FROM events", -1, &q, NULL) ==
        SQLITE_OK) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        *rows = (uint64_t)sqlite3_column_int64(q, 0);
        if (sqlite3_column_int64(q, 0) != sqlite3_column_int64(q, 1))
            fail_msg("%lld rows, %lld distinct ids", sqlite3_column_int64(q, 0),
                     sqlite3_column_int64(q, 1));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
}

static herr copy_one(void *ctx, const uint8_t *env, size_t len)
{
    struct store_blob b = {env, len};
    struct ingest_result r;
    herr e = store_ingest(ctx, &b, 1, &r, NULL);
    if (!e && r.err && r.err != HERR_DUPLICATE)
        fail_msg("a recovered event does not ingest: %s", r.why);
    return e;
}

/* same_view - a fresh replica fed every recovered event shows the same forum. */
static void same_view(struct store *s, const char *dir, unsigned t)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rebuilt.db", dir);
    struct store *r;
    assert_int_equal(store_open(&r, path, STORE_CREATE), HERR_OK);
    uint8_t f[HEARTH_ID_LEN];
    if (store_forum(s, f) == HERR_OK) /* bound to the forum, with or without its genesis */
        assert_int_equal(store_set_forum(r, f), HERR_OK);
    assert_int_equal(store_export(s, copy_one, r), HERR_OK);
    uint8_t d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    assert_int_equal(store_view_digest(s, d1), HERR_OK);
    assert_int_equal(store_view_digest(r, d2), HERR_OK);
    if (memcmp(d1, d2, HEARTH_ID_LEN) != 0) {
        struct store_stats a, b;
        assert_int_equal(store_stats(s, &a), HERR_OK);
        assert_int_equal(store_stats(r, &b), HERR_OK);
        fail_msg("trial %u (crash at op %llu): the recovered view differs from the view of its "
                 "own events rebuilt (events %llu/%llu, pending %llu/%llu, threads %llu/%llu, "
                 "replies %llu/%llu, kept %s)",
                 t, (unsigned long long)crash_point, (unsigned long long)a.events,
                 (unsigned long long)b.events, (unsigned long long)a.pending,
                 (unsigned long long)b.pending, (unsigned long long)a.threads,
                 (unsigned long long)b.threads, (unsigned long long)a.replies,
                 (unsigned long long)b.replies, path);
    }
    store_destroy(&r);
    remove(path);
}

/* A workload with no cut must pass the same checks (the checks are sound). */
static void test_no_cut(void **state)
{
    (void)state;
    plvfs_install(1);
    char *dir = testutil_tmpdir("powerloss-nocut");
    char path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    struct acked a = {0};
    plvfs_reset();
    rng_state = 1;
    workload(path, &a);
    struct store *s;
    assert_int_equal(store_open(&s, path, STORE_CHECK), HERR_OK);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(store_has(s, a.ids[i]), HERR_OK);
    same_view(s, dir, 0);
    store_destroy(&s);
    free(a.ids);
    free(dir);
}

struct figures {
    unsigned trials, by_mode[3], crashed;
    uint64_t acked, checked_rows, max_ops;
};

static void one_trial(unsigned t, uint64_t ops_total, struct figures *fig)
{
    char name[64];
    snprintf(name, sizeof name, "powerloss-%u", t);
    char *dir = testutil_tmpdir(name);
    char path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    enum plvfs_mode mode = (enum plvfs_mode)(t % 3);
    struct acked a = {0};
    bool lying = plvfs.lying_disk;
    plvfs_reset();
    plvfs.lying_disk = lying;
    plvfs.crash_at = crash_point = 1 + rnd((uint32_t)ops_total);
    workload(path, &a);
    fig->crashed += plvfs.crashed;
    plvfs_power_cut(mode);
    fig->trials++;
    fig->by_mode[mode]++;
    /* After the cut. */
    uint64_t rows;
    sql_check(path, &rows);
    struct store *s;
    herr e = store_open(&s, path, STORE_CREATE | STORE_CHECK);
    if (e)
        fail_msg("trial %u (crash at op %llu, mode %d): store_open: %s: %s", t,
                 (unsigned long long)crash_point, mode, herr_str(e), store_open_error());
    for (size_t i = 0; i < a.n; i++)
        if (store_has(s, a.ids[i]) != HERR_OK) {
            char hex[65];
            hex_encode(hex, a.ids[i], HEARTH_ID_LEN);
            fail_msg("trial %u: acknowledged event %s (%zu of %zu) lost", t, hex, i + 1, a.n);
        }
    same_view(s, dir, t);
    /* It takes writes again: every pool event (again), and a new post. */
    for (size_t i = 0; i < POOL + 2; i++) {
        struct store_blob b = {pool[i].env.data, pool[i].env.len};
        struct ingest_result r;
        assert_int_equal(store_ingest(s, &b, 1, &r, NULL), HERR_OK);
        if (r.err && r.err != HERR_DUPLICATE)
            fail_msg("trial %u: pool event %zu after recovery: %s", t, i, r.why);
    }
    struct event_draft d = {.kind = EK_POST, .ref = pool[1].id};
    d.b.title = S("after the cut");
    d.b.text = S("still here");
    uint8_t id[HEARTH_ID_LEN];
    e = store_publish(s, &local, &d, id);
    if (e)
        fail_msg("trial %u: publish after recovery: %s: %s", t, herr_str(e), store_errmsg(s));
    store_destroy(&s);
    sql_check(path, &rows);
    fig->acked += a.n;
    fig->checked_rows += rows;
    free(a.ids);
    /* Leave nothing behind but a failure's evidence. */
    char f[600];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s%s", path, sfx[i]);
        remove(f);
    }
    remove(dir);
    free(dir);
}

static void test_power_cuts(void **state)
{
    (void)state;
    const char *v = getenv("HEARTH_POWERLOSS_TRIALS");
    unsigned trials = v && atoi(v) > 0 ? (unsigned)atoi(v) : 300;
    v = getenv("HEARTH_POWERLOSS_SEED");
    uint64_t seed = v ? strtoull(v, NULL, 10) : (uint64_t)time(NULL);
    printf("powerloss: %u trials, seed %llu\n", trials, (unsigned long long)seed);
    plvfs_install(seed);
    rng_state = seed;
    /* HEARTH_POWERLOSS_LYING_DISK=1: fsync makes nothing durable. The test must then
     * fail (acknowledged events lost): a check that it can. */
    bool lying = getenv("HEARTH_POWERLOSS_LYING_DISK") != NULL;
    /* Calibrate: how many operations a whole workload makes without a cut. */
    char *dir = testutil_tmpdir("powerloss-calibrate");
    char path[512];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    struct acked a = {0};
    plvfs_reset();
    int calls = workload(path, &a);
    uint64_t ops_total = plvfs.ops + plvfs.ops / 4; /* and some cuts after it all */
    printf("powerloss: a workload makes %d calls (%zu events) and %llu writes+syncs\n", calls, a.n,
           (unsigned long long)plvfs.ops);
    free(a.ids);
    plvfs_reset();
    struct figures fig = {0};
    fig.max_ops = ops_total;
    for (unsigned t = 0; t < trials; t++) {
        rng_state = seed + t * 7919u;
        plvfs.lying_disk = lying;
        one_trial(t, ops_total, &fig);
    }
    printf("powerloss: %u power cuts (drop-all %u, random-subset %u, torn %u; %u during the "
           "workload): store opened and integrity ok every time, %llu acknowledged events "
           "checked, 0 lost, 0 stored twice; unsynced writes dropped %llu, kept %llu, torn %llu\n",
           fig.trials, fig.by_mode[0], fig.by_mode[1], fig.by_mode[2], fig.crashed,
           (unsigned long long)fig.acked, (unsigned long long)plvfs.dropped,
           (unsigned long long)plvfs.kept, (unsigned long long)plvfs.torn);
    free(dir);
}

int main(void)
{
    if (crypto_start())
        return 1;
    make_pool();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_cut),
        cmocka_unit_test(test_power_cuts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (size_t i = 0; i < POOL + 2; i++)
        hbuf_release(&pool[i].env);
    return rc;
}
