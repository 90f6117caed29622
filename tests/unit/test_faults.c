/* test_faults.c - the store when memory, the disk or the I/O fail.
 *
 * Out of memory: SQLite's allocator is wrapped (SQLITE_CONFIG_MALLOC) so that the Nth
 * allocation fails, once ("transient") or from then on ("persistent"), for every N
 * until a whole sequence of store calls - open, ingest, publish, queries, export,
 * local settings - runs through. Each call must return HERR_OK or an error (never
 * crash, never HERR_OK with the work undone), and afterwards, with memory back, the
 * database is intact and each write either happened whole or not at all.
 * (hearth's own allocations are not injected here: only SQLite's.)
 *
 * Disk full: plvfs (tests/unit/plvfs.h) refuses to let the files grow past a byte
 * budget. Ingest and publish then fail with HERR_FULL and a clear message, nothing of
 * the failed batch is stored, the database is intact, and once space returns the same
 * calls succeed.
 *
 * I/O errors: plvfs fails every write and sync from the Nth on (a disk that died);
 * the calls fail with an error, and the database, opened again on a working disk, is
 * intact with every acknowledged write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/plvfs.h"
#include "tests/unit/testutil.h"

#define T0 1718000000000ULL
#define POOL 40

struct ev {
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
};

static struct ev pool[POOL + 2]; /* genesis, board, posts */
static struct hkey founder, author, local;
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

static void make_pool(size_t text_len)
{
    uint8_t seed[32];
    testutil_seed(seed, 3);
    hkey_from_seed(&founder, seed);
    testutil_seed(seed, 50);
    hkey_from_seed(&author, seed);
    testutil_seed(seed, 77);
    hkey_from_seed(&local, seed);
    struct event_draft g = {.kind = EK_GENESIS, .seq = 1, .created = T0};
    g.b.name = S("Faults");
    build(&pool[0], &founder, &g);
    memcpy(forum, pool[0].id, HEARTH_ID_LEN);
    struct event_draft b = {.kind = EK_BOARD, .forum = forum, .seq = 2, .created = T0 + 1};
    b.b.name = S("General");
    build(&pool[1], &founder, &b);
    char *text = malloc(text_len + 1);
    assert_non_null(text);
    for (int i = 0; i < POOL; i++) {
        memset(text, 'a' + i % 26, text_len);
        text[text_len] = 0;
        struct event_draft d = {.kind = EK_POST,
                                .forum = forum,
                                .seq = (uint64_t)i + 1,
                                .created = T0 + 10 + (uint64_t)i,
                                .ref = pool[1].id};
        d.b.title = S("a thread");
        d.b.text = (struct hstr){text, (uint32_t)text_len};
        build(&pool[2 + i], &author, &d);
    }
    free(text);
}

static void free_pool(void)
{
    for (size_t i = 0; i < POOL + 2; i++)
        hbuf_release(&pool[i].env);
}

/* ---- an allocator that fails on request ---- */

static sqlite3_mem_methods real_mem;
static long alloc_count, fail_at; /* fail_at 0: never */
static long oom_round;            /* the allocation failed in this round of run_oom */
static bool persistent, failed;

static bool should_fail(void)
{
    if (!fail_at)
        return false;
    alloc_count++;
    if (alloc_count == fail_at || (persistent && alloc_count > fail_at)) {
        failed = true;
        return true;
    }
    return false;
}

static void *fm_malloc(int n)
{
    return should_fail() ? NULL : real_mem.xMalloc(n);
}

static void *fm_realloc(void *p, int n)
{
    return should_fail() ? NULL : real_mem.xRealloc(p, n);
}

static void arm(long at, bool persist)
{
    alloc_count = 0;
    fail_at = at;
    persistent = persist;
    failed = false;
}

static void disarm(void)
{
    fail_at = 0;
}

static int setup_allocator(void)
{
    sqlite3_mem_methods m;
    if (sqlite3_shutdown() != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
        return -1;
    m = real_mem;
    m.xMalloc = fm_malloc;
    m.xRealloc = fm_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        return -1;
    /* No lookaside: every allocation goes through us. */
    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
    return sqlite3_initialize() == SQLITE_OK ? 0 : -1;
}

/* ---- helpers ---- */

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

static void remove_db(const char *path)
{
    char f[600];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "%s%s", path, sfx[i]);
        remove(f);
    }
}

static void integrity_ok(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
        fail_msg("integrity_check: %s", sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) - count(DISTINCT id) FROM events", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(q, 0), 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* base_db - a replica holding the genesis, the board and the first 10 posts. */
static char *base_db(const char *name)
{
    char *dir = testutil_tmpdir(name);
    char *path = malloc(strlen(dir) + 16);
    assert_non_null(path);
    sprintf(path, "%s/base.db", dir);
    free(dir);
    struct store *s;
    assert_int_equal(store_open(&s, path, STORE_CREATE), HERR_OK);
    struct store_blob b[12];
    struct ingest_result r[12];
    for (int i = 0; i < 12; i++)
        b[i] = (struct store_blob){pool[i].env.data, pool[i].env.len};
    assert_int_equal(store_ingest(s, b, 12, r, NULL), HERR_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(r[i].err, HERR_OK);
    store_destroy(&s);
    return path;
}

/* ---- out of memory ---- */

struct oom_outcome {
    bool opened, ingested, published, meta_set;
    uint8_t published_id[HEARTH_ID_LEN];
};

static long codes[32];

static void note(herr e)
{
    codes[e < 32 ? e : 31]++;
    /* An allocation failure is local trouble: never blamed on the bytes or the
     * database. */
    if (e != HERR_OK && e != HERR_NOMEM && e != HERR_IO)
        fail_msg("an allocation failure (at %ld) came back as %s", fail_at, herr_str(e));
}

static herr count_cb(void *ctx, const uint8_t *env, size_t len)
{
    (void)env;
    (void)len;
    (*(size_t *)ctx)++;
    return HERR_OK;
}

/* oom_sequence - every kind of store call, with allocation failures armed. */
static void oom_sequence(const char *path, struct oom_outcome *o)
{
    struct store *s = NULL;
    memset(o, 0, sizeof *o);
    herr e = store_open(&s, path, 0);
    note(e);
    if (e)
        return;
    o->opened = true;
    struct store_blob b[10];
    struct ingest_result r[10];
    for (int i = 0; i < 10; i++)
        b[i] = (struct store_blob){pool[12 + i].env.data, pool[12 + i].env.len};
    size_t acc = 0;
    e = store_ingest(s, b, 10, r, &acc);
    note(e);
    if (!e) {
        o->ingested = true;
        assert_int_equal(acc, 10);
    }
    struct event_draft d = {.kind = EK_POST, .ref = pool[1].id};
    d.b.title = S("under pressure");
    d.b.text = S("written while memory ran out");
    e = store_publish(s, &local, &d, o->published_id);
    note(e);
    o->published = e == HERR_OK;
    struct store_post *posts = NULL;
    size_t n = 0;
    e = store_threads(s, pool[1].id, &posts, &n);
    note(e);
    if (!e)
        store_posts_free(posts, n);
    struct store_post p;
    e = store_post_get(s, pool[2].id, &p);
    note(e);
    if (!e)
        store_posts_free(&p, 1);
    e = store_thread(s, pool[2].id, &posts, &n);
    note(e);
    if (!e)
        store_posts_free(posts, n);
    struct store_stats st;
    note(store_stats(s, &st));
    uint8_t digest[HEARTH_ID_LEN];
    note(store_view_digest(s, digest));
    size_t exported = 0;
    note(store_export(s, count_cb, &exported));
    e = store_meta_set(s, "test:key", "value");
    note(e);
    o->meta_set = e == HERR_OK;
    char *v = NULL;
    e = store_meta_get(s, "test:key", &v);
    if (e != HERR_NOT_FOUND)
        note(e);
    free(v);
    struct store_board *boards = NULL;
    e = store_boards(s, &boards, &n);
    note(e);
    if (!e)
        store_boards_free(boards, n);
    store_destroy(&s);
}

/* oom_verify - with memory back: intact, and each write whole or absent. */
static void oom_verify(const char *path, const struct oom_outcome *o)
{
    struct store *s;
    assert_int_equal(store_open(&s, path, 0), HERR_OK);
    /* integrity_check on the store's own connection: a second one would parse the
     * schema again, a quarter of this test's time. */
    if (store_integrity(s) != HERR_OK)
        fail_msg("after a failure at %ld: %s", oom_round, store_errmsg(s));
    int held = 0;
    for (int i = 0; i < 10; i++)
        held += store_has(s, pool[12 + i].id) == HERR_OK;
    if (o->ingested && held != 10)
        fail_msg("ingest said ok at %ld but %d of 10 events are held", fail_at, held);
    if (!o->ingested && held != 0)
        fail_msg("ingest failed at %ld but %d of 10 events are held", fail_at, held);
    if (o->published)
        assert_int_equal(store_has(s, o->published_id), HERR_OK);
    char *v = NULL;
    herr e = store_meta_get(s, "test:key", &v);
    if (o->meta_set)
        assert_int_equal(e, HERR_OK);
    free(v);
    /* The kept view digest and counts were written in the same transactions as the
     * view: a write cut short by a failure leaves them matching the tables. */
    uint8_t kept[HEARTH_ID_LEN], full[HEARTH_ID_LEN];
    assert_int_equal(store_view_digest(s, kept), HERR_OK);
    assert_int_equal(store_view_digest_full(s, full), HERR_OK);
    if (memcmp(kept, full, HEARTH_ID_LEN) != 0)
        fail_msg("after a failure at %ld the kept view digest is not the view's", oom_round);
    store_destroy(&s);
}

/* HEARTH_FAULTS_STRIDE=k fails every kth allocation point only (for slow runs under
 * valgrind); the default, 1, tries every one. */
static long stride(void)
{
    const char *v = getenv("HEARTH_FAULTS_STRIDE");
    return v && atol(v) > 0 ? atol(v) : 1;
}

static void run_oom(bool persist, long *points)
{
    char *base = base_db(persist ? "faults-oom-p" : "faults-oom-t");
    char path[600];
    snprintf(path, sizeof path, "%s.work", base);
    long n, step = stride(), tried = 0;
    for (n = 1;; n += step, tried++) {
        remove_db(path);
        copy_file(base, path);
        struct oom_outcome o;
        arm(n, persist);
        oom_round = n;
        oom_sequence(path, &o);
        bool hit = failed;
        disarm();
        plvfs_reset(); /* no file open: drop what the VFS kept of this round */
        oom_verify(path, &o);
        if (!hit)
            break; /* the whole sequence ran before the Nth allocation */
    }
    *points = tried;
    remove_db(path);
    remove_db(base);
    free(base);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    long transient, persist;
    memset(codes, 0, sizeof codes);
    run_oom(false, &transient);
    run_oom(true, &persist);
    printf("faults: out of memory at %ld allocation points (transient) and %ld "
           "(persistent): no crash, no damage, every write whole or absent; calls "
           "returned ok %ld, out of memory %ld, i/o error %ld\n",
           transient, persist, codes[HERR_OK], codes[HERR_NOMEM], codes[HERR_IO]);
    assert_true(transient * stride() > 100);
}

/* ---- disk full ---- */

static void test_disk_full(void **state)
{
    (void)state;
    char *base = base_db("faults-full");
    struct store *s;
    plvfs_reset(); /* no file open: forget earlier tests' files */
    assert_int_equal(store_open(&s, base, 0), HERR_OK);
    /* Room for a few more pages, not for all the big posts. */
    plvfs.budget = plvfs_total() + 64 * 1024;
    uint64_t before_events;
    struct store_stats st;
    assert_int_equal(store_stats(s, &st), HERR_OK);
    before_events = st.events;
    size_t next = 12, accepted = 0, fulls = 0;
    herr e = HERR_OK;
    while (next < POOL + 2) {
        struct store_blob b = {pool[next].env.data, pool[next].env.len};
        struct ingest_result r;
        e = store_ingest(s, &b, 1, &r, NULL);
        if (e) {
            assert_int_equal(e, HERR_FULL);
            assert_non_null(strstr(store_errmsg(s), "full"));
            fulls++;
            break;
        }
        accepted++;
        next++;
    }
    if (!fulls)
        fail_msg("the budget never filled up");
    /* A publish on a full disk fails too, cleanly. */
    struct event_draft d = {.kind = EK_POST, .ref = pool[1].id};
    d.b.title = S("full");
    char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    d.b.text = S(big);
    uint8_t id[HEARTH_ID_LEN];
    e = store_publish(s, &local, &d, id);
    assert_int_equal(e, HERR_FULL);
    /* Nothing of the failed calls is there; what was accepted is. */
    assert_int_equal(store_stats(s, &st), HERR_OK);
    assert_int_equal(st.events, before_events + accepted);
    assert_int_equal(store_has(s, pool[next].id), HERR_NOT_FOUND);
    store_destroy(&s);
    plvfs.budget = 0;
    integrity_ok(base);
    /* Space returns: the same calls succeed. */
    assert_int_equal(store_open(&s, base, STORE_CHECK), HERR_OK);
    struct store_blob b = {pool[next].env.data, pool[next].env.len};
    struct ingest_result r;
    assert_int_equal(store_ingest(s, &b, 1, &r, NULL), HERR_OK);
    assert_int_equal(r.err, HERR_OK);
    assert_int_equal(store_publish(s, &local, &d, id), HERR_OK);
    store_destroy(&s);
    integrity_ok(base);
    printf(
        "faults: disk full after %zu more big event(s): HERR_FULL (\"disk full\"), nothing of the "
        "failed calls stored, integrity ok, writes succeed once space returns (%llu "
        "refused writes)\n",
        accepted, (unsigned long long)plvfs.full_errors);
    plvfs_reset();
    remove_db(base);
    free(base);
}

/* ---- a disk that dies ---- */

static void test_io_errors(void **state)
{
    (void)state;
    char *base = base_db("faults-io");
    char path[600];
    snprintf(path, sizeof path, "%s.work", base);
    unsigned points = 0;
    for (uint64_t k = 1; k < 400; k += 3) {
        remove_db(path);
        copy_file(base, path);
        plvfs_reset();
        plvfs.crash_at = k; /* from the kth write or sync on, every one fails */
        struct store *s = NULL;
        herr e = store_open(&s, path, 0);
        bool acked[POOL + 2] = {false};
        for (size_t i = 12; !e && i < POOL + 2; i++) {
            struct store_blob b = {pool[i].env.data, pool[i].env.len};
            struct ingest_result r;
            e = store_ingest(s, &b, 1, &r, NULL);
            if (!e)
                acked[i] = true;
            else if (e != HERR_IO && e != HERR_FULL)
                fail_msg("an i/o error came back as %s", herr_str(e));
        }
        store_destroy(&s);
        bool hit = plvfs.crashed;
        plvfs_reset(); /* a working disk again; what was written stays written */
        integrity_ok(path);
        assert_int_equal(store_open(&s, path, STORE_CHECK), HERR_OK);
        for (size_t i = 12; i < POOL + 2; i++)
            if (acked[i])
                assert_int_equal(store_has(s, pool[i].id), HERR_OK);
        store_destroy(&s);
        points++;
        if (!hit)
            break;
    }
    printf("faults: a disk that dies at %u points: every call after it failed with an i/o "
           "error, the database stayed intact with every acknowledged event\n",
           points);
    remove_db(path);
    remove_db(base);
    free(base);
}

int main(void)
{
    if (crypto_start() || setup_allocator())
        return 1;
    plvfs_install(1);
    make_pool(6000);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_io_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free_pool();
    return rc;
}
