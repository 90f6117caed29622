/* test_store.c - the replica: opening, ingest and its refusals, publish and its
 * rules, held events, edits, retractions that purge bytes from the file, reactions,
 * profiles, boards, queries, export order, keys, meta, stats and locking. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/limits.h"
#include "store/event.h"
#include "store/store.h"
#include "tests/unit/fixture.h"
#include "tests/unit/testutil.h"

#define T0 1718000000000ULL

static struct hkey F, A, B; /* founder, alice, bob */

/* ---- fixtures ---- */

/* An event built by hand (explicit seq and time), for ingest. */
struct ev {
    struct hbuf env;
    uint8_t id[HEARTH_ID_LEN];
};

static void ev_free(struct ev *e)
{
    hbuf_release(&e->env);
}

static struct ev mk(const struct hkey *k, const struct event_draft *d)
{
    struct ev e;
    const char *why;
    hbuf_init(&e.env, HEARTH_MAX_EVENT);
    herr r = event_build(d, k, &e.env, e.id, &why);
    if (r)
        fail_msg("event_build: %s", why);
    return e;
}

static struct event_draft dr(uint32_t kind, const uint8_t *forum, uint64_t seq)
{
    struct event_draft d = {.kind = kind, .forum = forum, .seq = seq, .created = T0 + seq * 1000};
    return d;
}

static herr ingest1(struct store *s, const struct ev *e)
{
    struct store_blob b = {e->env.data, e->env.len};
    struct ingest_result r;
    herr x = store_ingest(s, &b, 1, &r, NULL);
    assert_int_equal(x, HERR_OK);
    return r.err;
}

static void publish(struct fx *f, const struct hkey *k, struct event_draft d, uint8_t *id)
{
    uint8_t dummy[HEARTH_ID_LEN];
    herr e = store_publish(f->s, k, &d, id ? id : dummy);
    if (e)
        fail_msg("publish: %s: %s", herr_str(e), store_errmsg(f->s));
}

static void fx_open(struct fx *f)
{
    herr e = store_open(&f->s, f->path, STORE_CREATE);
    if (e)
        fail_msg("store_open: %s", store_open_error());
}

/* fx_new - an empty store, or with `forum` a forum with one board "General". */
static struct fx *fx_new(const char *name, bool forum)
{
    return forum ? fx_forum(name, &F, 0, 0) : fx_empty(name);
}

static herr ingest_cb(void *ctx, const uint8_t *env, size_t len)
{
    struct store_blob b = {env, len};
    struct ingest_result r;
    return store_ingest(ctx, &b, 1, &r, NULL);
}

/* fx_copy - a new store holding everything `from` holds. */
static struct fx *fx_copy(struct fx *from, const char *name)
{
    struct fx *f = fx_new(name, false);
    assert_int_equal(store_export(from->s, ingest_cb, f->s), HERR_OK);
    memcpy(f->forum, from->forum, HEARTH_ID_LEN);
    memcpy(f->board, from->board, HEARTH_ID_LEN);
    return f;
}

static void post(struct fx *f, const struct hkey *k, const char *title, const char *text,
                 uint8_t *id)
{
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S(title);
    d.b.text = S(text);
    publish(f, k, d, id);
}

static void reply(struct fx *f, const struct hkey *k, const uint8_t *root, const uint8_t *parent,
                  const char *text, uint8_t *id)
{
    struct event_draft d = {.kind = EK_REPLY, .root = root, .ref = parent};
    d.b.text = S(text);
    publish(f, k, d, id);
}

static struct store_post get(struct fx *f, const uint8_t *id)
{
    struct store_post p;
    herr e = store_post_get(f->s, id, &p);
    if (e)
        fail_msg("store_post_get: %s", store_errmsg(f->s));
    return p;
}

static int64_t sql_int(const char *path, const char *sql, const uint8_t *id)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (id)
        sqlite3_bind_blob(q, 1, id, HEARTH_ID_LEN, SQLITE_STATIC);
    int64_t v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    bool found = memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* ---- paging ---- */

/* ingest_many - hand-built events of k, in one batch: they all must be accepted. */
static void ingest_many(struct fx *f, struct ev *v, size_t n)
{
    struct store_blob *b = calloc(n, sizeof *b);
    struct ingest_result *r = calloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++)
        b[i] = (struct store_blob){v[i].env.data, v[i].env.len};
    assert_int_equal(store_ingest(f->s, b, n, r, NULL), HERR_OK);
    for (size_t i = 0; i < n; i++)
        if (r[i].err)
            fail_msg("event %zu: %s: %s", i, herr_str(r[i].err), r[i].why ? r[i].why : "");
    free(b);
    free(r);
}

/* A paged walk of some list, compared with the whole list. */
typedef herr (*page_fn)(struct fx *f, const void *key, const char *before, size_t limit,
                        struct store_post **out, size_t *n, char next[STORE_CURSOR_MAX]);

static herr threads_page(struct fx *f, const void *key, const char *before, size_t limit,
                         struct store_post **out, size_t *n, char next[STORE_CURSOR_MAX])
{
    return store_threads_before(f->s, key, before, limit, out, n, next);
}

static herr thread_page(struct fx *f, const void *key, const char *before, size_t limit,
                        struct store_post **out, size_t *n, char next[STORE_CURSOR_MAX])
{
    return store_thread_before(f->s, key, before, limit, out, n, next);
}

static herr search_page(struct fx *f, const void *key, const char *before, size_t limit,
                        struct store_post **out, size_t *n, char next[STORE_CURSOR_MAX])
{
    return store_search_before(f->s, key, before, limit, out, n, next);
}

/* walk_pages - page through with `limit`; every item of want[0..m) exactly once, in
 * order; the last page says there is no more. */
static void walk_pages(struct fx *f, page_fn fn, const void *key, size_t limit,
                       const struct store_post *want, size_t m)
{
    char before[STORE_CURSOR_MAX] = "", next[STORE_CURSOR_MAX];
    size_t seen = 0, pages = 0;
    for (;;) {
        struct store_post *p = NULL;
        size_t n = 0;
        assert_int_equal(fn(f, key, before, limit, &p, &n, next), HERR_OK);
        assert_true(n <= limit);
        for (size_t i = 0; i < n; i++, seen++) {
            if (seen >= m)
                fail_msg("limit %zu: more items than the whole list (%zu)", limit, m);
            if (memcmp(p[i].id, want[seen].id, HEARTH_ID_LEN) != 0)
                fail_msg("limit %zu: item %zu differs from the whole list's", limit, seen);
        }
        store_posts_free(p, n);
        pages++;
        if (!next[0])
            break;
        assert_int_equal(n, limit); /* only the last page may be short */
        strcpy(before, next);
    }
    if (seen != m)
        fail_msg("limit %zu: %zu items in %zu pages, the whole list has %zu", limit, seen, pages,
                 m);
}

/* A board of threads with ties in last activity (three threads a millisecond) pages
 * through its index: every thread once, in the order of the whole list. */
static void test_threads_paging(void **state)
{
    struct fx *f = fx_new("store_threads_paging", true);
    enum { N = 41 };
    struct ev v[N];
    for (int i = 0; i < N; i++) {
        struct event_draft d = dr(EK_POST, f->forum, (uint64_t)i + 1);
        d.created = T0 + (uint64_t)(i / 3);
        d.ref = f->board;
        d.b.title = S("tied");
        d.b.text = S("words");
        v[i] = mk(&A, &d);
    }
    ingest_many(f, v, N);
    struct store_post *all;
    size_t m;
    assert_int_equal(store_threads(f->s, f->board, &all, &m), HERR_OK);
    assert_int_equal(m, N);
    size_t limits[] = {1, 2, 3, 4, 7, 40, 41, 50};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        walk_pages(f, threads_page, f->board, limits[i], all, m);
    struct store_post *p;
    size_t n;
    char next[STORE_CURSOR_MAX];
    assert_int_equal(store_threads_before(f->s, f->board, "1.2.zz", 5, &p, &n, next), HERR_USAGE);
    assert_int_equal(store_threads_before(f->s, f->board, "no", 5, &p, &n, next), HERR_USAGE);
    store_posts_free(all, m);
    for (int i = 0; i < N; i++)
        ev_free(&v[i]);
    fx_free(f);
}

/* A thread of nested replies, siblings with equal times, pages depth-first: the
 * order of store_thread, a page at a time, from any cursor. */
static void test_thread_paging(void **state)
{
    struct fx *f = fx_new("store_thread_paging", true);
    enum { N = 40 };
    struct ev v[N + 1];
    struct event_draft d = dr(EK_POST, f->forum, 1);
    d.ref = f->board;
    d.b.title = S("nested");
    d.b.text = S("the post");
    v[0] = mk(&A, &d);
    for (int i = 1; i <= N; i++) {
        /* Parents: the post, or an earlier reply (a tree several levels deep). */
        int parent = i < 4 ? 0 : (i * 7) % (i - 1);
        struct event_draft r = dr(EK_REPLY, f->forum, (uint64_t)i + 1);
        r.created = T0 + 1000 + (uint64_t)(i / 4); /* four replies a millisecond */
        r.root = v[0].id;
        r.ref = v[parent].id;
        r.b.text = S("a reply");
        v[i] = mk(&A, &r);
    }
    ingest_many(f, v, N + 1);
    struct store_post *all;
    size_t m;
    assert_int_equal(store_thread(f->s, v[0].id, &all, &m), HERR_OK);
    assert_int_equal(m, N + 1);
    size_t limits[] = {1, 2, 3, 5, 8, 41, 50};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        walk_pages(f, thread_page, v[0].id, limits[i], all, m);
    struct store_post *p;
    size_t n;
    char next[STORE_CURSOR_MAX], cursor[STORE_CURSOR_MAX];
    /* A cursor from another thread is refused; an unknown thread is not found. */
    uint8_t other[HEARTH_ID_LEN];
    post(f, &B, "another", "thread", other);
    assert_int_equal(store_thread_before(f->s, other, NULL, 1, &p, &n, cursor), HERR_OK);
    store_posts_free(p, n);
    assert_int_equal(store_thread_before(f->s, other, NULL, 1, &p, &n, cursor), HERR_OK);
    store_posts_free(p, n);
    assert_int_equal(store_thread_before(f->s, v[0].id, NULL, 2, &p, &n, cursor), HERR_OK);
    store_posts_free(p, n);
    assert_int_equal(store_thread_before(f->s, other, cursor, 2, &p, &n, next), HERR_USAGE);
    assert_int_equal(store_thread_before(f->s, f->board, NULL, 2, &p, &n, next), HERR_NOT_FOUND);
    store_posts_free(all, m);
    for (int i = 0; i <= N; i++)
        ev_free(&v[i]);
    fx_free(f);
}

/* A rare word's matches page best first; a common one's (more than 2,000 posts)
 * newest first, read from the index without ranking every match. */
static void test_search_paging(void **state)
{
    struct fx *f = fx_new("store_search_paging", true);
    enum { N = 2100 };
    struct ev *v = calloc(N, sizeof *v);
    for (int i = 0; i < N; i++) {
        struct event_draft d = dr(EK_POST, f->forum, (uint64_t)i + 1);
        d.ref = f->board;
        d.b.title = S("common");
        d.b.text = S(i % 100 == 0 ? "rare rare words" : i % 50 == 0 ? "rare words" : "words");
        v[i] = mk(&A, &d);
    }
    ingest_many(f, v, N);
    /* Rare: 42 matches, ranked; the pages give store_search's list. */
    struct store_post *all;
    size_t m;
    assert_int_equal(store_search(f->s, "rare", 1000, &all, &m), HERR_OK);
    assert_int_equal(m, 42);
    size_t limits[] = {1, 5, 41, 42, 50};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        walk_pages(f, search_page, "rare", limits[i], all, m);
    store_posts_free(all, m);
    /* Common: every post matches, newest (last arrived) first. */
    struct store_post *p;
    size_t n;
    char next[STORE_CURSOR_MAX];
    assert_int_equal(store_search_before(f->s, "common", NULL, 1000, &p, &n, next), HERR_OK);
    assert_int_equal(n, 1000);
    assert_memory_equal(p[0].id, v[N - 1].id, HEARTH_ID_LEN);
    assert_memory_equal(p[999].id, v[N - 1000].id, HEARTH_ID_LEN);
    store_posts_free(p, n);
    struct store_post *whole = calloc(N, sizeof *whole);
    for (int i = 0; i < N; i++)
        memcpy(whole[i].id, v[N - 1 - i].id, HEARTH_ID_LEN);
    walk_pages(f, search_page, "common", 333, whole, N);
    walk_pages(f, search_page, "common", 1000, whole, N);
    free(whole);
    assert_int_equal(store_search_before(f->s, "common", "7.1.x", 5, &p, &n, next), HERR_USAGE);
    for (int i = 0; i < N; i++)
        ev_free(&v[i]);
    free(v);
    fx_free(f);
}

/* ---- opening ---- */

static void test_open_create_reopen(void **state)
{
    struct fx *f = fx_new("store_open", true);
    uint8_t p[HEARTH_ID_LEN], forum[HEARTH_ID_LEN];
    post(f, &A, "Hello", "first words", p);
    store_destroy(&f->s);
    assert_int_equal(store_open(&f->s, f->path, 0), HERR_OK);
    assert_int_equal(store_forum(f->s, forum), HERR_OK);
    assert_memory_equal(forum, f->forum, HEARTH_ID_LEN);
    struct store_post x = get(f, p);
    assert_string_equal(x.text, "first words");
    assert_string_equal(x.title, "Hello");
    store_posts_free(&x, 1);
    assert_int_equal(sql_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode", NULL),
                     1);
    fx_free(f);
}

/* The view digest of docs/EVENTS.md ("View digest"): an empty replica holds config's
 * one record [0, 0, nil], so its digest is the vector given there; a post changes it,
 * and the kept digest is always the recomputed one. */
static void test_view_digest_vector(void **state)
{
    static const char vector[] = "a47e9a2e4ee5af649129a702c5759c5d9c347a97771ddc61b1b46e6e82261e64";
    struct fx *f = fx_new("store_vector", false);
    uint8_t d[HEARTH_ID_LEN], full[HEARTH_ID_LEN];
    char hex[2 * HEARTH_ID_LEN + 1];
    assert_int_equal(store_view_digest(f->s, d), HERR_OK);
    hex_encode(hex, d, HEARTH_ID_LEN);
    assert_string_equal(hex, vector);
    fx_free(f);
    f = fx_new("store_vector", true);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &A, "Hello", "first words", p);
    assert_int_equal(store_view_digest(f->s, d), HERR_OK);
    assert_int_equal(store_view_digest_full(f->s, full), HERR_OK);
    assert_memory_equal(d, full, HEARTH_ID_LEN);
    hex_encode(hex, d, HEARTH_ID_LEN);
    assert_string_not_equal(hex, vector);
    struct store_stats st, st_full;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(store_stats_full(f->s, &st_full), HERR_OK);
    assert_int_equal(st.events, 3);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.boards, 1);
    assert_int_equal(st.authors, 2);
    assert_memory_equal(&st, &st_full, sizeof st);
    /* The triggers are in the schema: another program's write to the view fails (it
     * lacks hearth's functions) and leaves the view and its digest as they were. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE posts SET words_ev = NULL", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(db), "no such function: hearth_"));
    sqlite3_close(db);
    struct store_post x = get(f, p);
    assert_string_equal(x.text, "first words");
    store_posts_free(&x, 1);
    assert_int_equal(store_view_digest_full(f->s, full), HERR_OK);
    assert_memory_equal(d, full, HEARTH_ID_LEN);
    fx_free(f);
}

/* store_check is cut by a watchdog thread (sqlite3_interrupt) when its budget runs
 * out, whatever it is doing then: preparing, stepping or between the two. A cut
 * check is incomplete, never an error, and leaves nothing interrupted behind it. */
static void test_check_cut_anywhere(void **state)
{
    struct fx *f = fx_new("store_check_cut", true);
    uint8_t p[HEARTH_ID_LEN];
    for (int i = 0; i < 20; i++)
        post(f, &A, "Hello", "words to check", p);
    bool complete;
    /* Where the cut falls is up to the scheduler (on a loaded machine the check may
     * even end first); over 300 checks of 0-2 ms it falls in preparing as well as in
     * stepping, which the watchdog's first version took for an error in 3 runs of 3. */
    for (int i = 0; i < 300; i++) {
        assert_int_equal(store_check(f->s, (unsigned)(i % 3), &complete), HERR_OK);
        struct store_stats st;
        assert_int_equal(store_stats(f->s, &st), HERR_OK);
    }
    post(f, &A, "After", "a write after the cut checks", p);
    assert_int_equal(store_check(f->s, 10000, &complete), HERR_OK);
    assert_true(complete);
    fx_free(f);
}

/* store_integrity finds an index that disagrees with its table, which store_check's
 * quick check does not look at: events_created is redefined over another column
 * (writable_schema), so that its entries no longer match the rows. */
static void test_integrity_finds_index_mismatch(void **state)
{
    struct fx *f = fx_new("store_integrity", true);
    uint8_t p[HEARTH_ID_LEN];
    for (int i = 0; i < 5; i++)
        post(f, &A, "Hello", "words to check", p);
    assert_int_equal(store_integrity(f->s), HERR_OK);
    store_destroy(&f->s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql ="
                                  " 'CREATE INDEX events_created ON events(seq, id)' WHERE name ="
                                  " 'events_created'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    fx_open(f);
    bool complete;
    assert_int_equal(store_check(f->s, 10000, &complete), HERR_OK);
    assert_true(complete);
    assert_int_equal(store_integrity(f->s), HERR_CORRUPT);
    assert_non_null(strstr(store_errmsg(f->s), "events_created"));
    fx_free(f);
}

/* hearth_words for a program other than hearth (store/viewsum.c has its own): the
 * string field of a body, to write posts' words back as schema 9 kept them. */
static void words_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    struct hstr w = {0};
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB && sqlite3_value_type(argv[1]) == SQLITE_TEXT)
        assert_int_equal(event_body_str(sqlite3_value_blob(argv[0]),
                                        (size_t)sqlite3_value_bytes(argv[0]),
                                        (const char *)sqlite3_value_text(argv[1]), &w),
                         HERR_OK);
    if (w.p)
        sqlite3_result_text(cx, w.p, (int)w.n, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

#define OLD_TEXT_RECORD(SIGN, R)                                                                   \
    "hearth_vsum(" SIGN ", 'text', (SELECT id FROM events WHERE arrival = " R ".ev), " R           \
    ".title, " R ".text, " R ".cw, " R ".edited)"

/* The schema as migration 9 left it: no kept reaction counts (migration 13), no local bytes
 * (migration 12), every event naming
 * its signer, events_signer
 * over those a device signed (signer != author) and the trigger that counted forks
 * through it; posts with their own copy of each post's words, and the digest's
 * triggers reading that copy. */
static const char schema9[] =
    "DROP TRIGGER reacts_on_u;"
    "DROP TRIGGER react_i;"
    "DROP TRIGGER react_d;"
    "DROP TRIGGER react_u;"
    "DROP TABLE react_by;"
    "DROP TABLE react_count;"
    "ALTER TABLE reacts DROP COLUMN on_ev;"
    "DROP TABLE local_blobs;"
    "UPDATE events SET signer = author WHERE signer IS NULL;"
    "DROP INDEX events_signer;"
    "CREATE INDEX events_signer ON events(signer, seq) WHERE signer != author;"
    "DROP TRIGGER vc_events_d;"
    "CREATE TRIGGER vc_events_d AFTER DELETE ON events BEGIN SELECT hearth_vcount(0, -1), "
    "hearth_vcount(2, -(OLD.body IS NULL AND OLD.kind IN (3, 4, 5, 7, 8, 9))), "
    "hearth_vcount(6, -NOT EXISTS (SELECT 1 FROM events WHERE author = OLD.author)), "
    "hearth_vcount(7, -((SELECT count(*) FROM events WHERE seq = OLD.seq AND ((author = "
    "OLD.signer AND signer = OLD.signer) OR (signer = OLD.signer AND signer != author))) = 1)); "
    "END;"
    "DROP TRIGGER vs_text_i;"
    "DROP TRIGGER vs_text_d;"
    "DROP TRIGGER vs_text_u;"
    "ALTER TABLE posts ADD COLUMN title TEXT;"
    "ALTER TABLE posts ADD COLUMN text TEXT;"
    "ALTER TABLE posts ADD COLUMN cw TEXT;"
    "UPDATE posts SET title = (SELECT CASE posts.kind WHEN 3 THEN hearth_words(body, 'title') END "
    "FROM events WHERE arrival = posts.words_ev), text = (SELECT hearth_words(body, 'text') FROM "
    "events WHERE arrival = posts.words_ev), cw = (SELECT hearth_words(body, 'cw') FROM events "
    "WHERE arrival = posts.words_ev);"
    "ALTER TABLE posts DROP COLUMN words_ev;"
    "CREATE TRIGGER vs_text_i AFTER INSERT ON posts BEGIN SELECT " OLD_TEXT_RECORD(
        "1",
        "NEW") "; END;"
               "CREATE TRIGGER vs_text_d AFTER DELETE ON posts BEGIN SELECT " OLD_TEXT_RECORD(
                   "-1",
                   "OLD") "; END;"
                          "CREATE TRIGGER vs_text_u AFTER UPDATE OF ev, title, text, cw, edited ON "
                          "posts BEGIN SELECT " OLD_TEXT_RECORD("-1", "OLD") ", " OLD_TEXT_RECORD(
                              "1", "NEW") "; END;"
                                          "PRAGMA user_version = 9;";

/* to_schema - rewrite the replica at path as schema 9 left it, then run more (NULL or
 * an older schema's changes). */
static void to_schema(const char *path, const char *more)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_create_function(db, "hearth_words", 2, SQLITE_UTF8, NULL, words_fn, NULL, NULL),
        SQLITE_OK);
    if (sqlite3_exec(db, schema9, NULL, NULL, NULL) != SQLITE_OK ||
        (more && sqlite3_exec(db, more, NULL, NULL, NULL) != SQLITE_OK))
        fail_msg("to an older schema: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The schema as migration 8 left it: the search index with its own copy of the words
 * (filled as far as config.search_upto), events_signer over every event, and the
 * trigger that counted forks through it. */
static const char schema8[] =
    "DROP TABLE search;"
    "CREATE VIRTUAL TABLE search USING fts5(title, text, tokenize = 'unicode61');"
    "INSERT INTO search(rowid, title, text) SELECT ev, title, text FROM posts WHERE ev <= "
    "(SELECT search_upto FROM config) AND state = 0 AND status = 0 AND text IS NOT NULL;"
    "DROP INDEX events_signer;"
    "CREATE INDEX events_signer ON events(signer, seq);"
    "DROP TRIGGER vc_events_d;"
    "CREATE TRIGGER vc_events_d AFTER DELETE ON events BEGIN SELECT hearth_vcount(0, -1), "
    "hearth_vcount(2, -(OLD.body IS NULL AND OLD.kind IN (3, 4, 5, 7, 8, 9))), "
    "hearth_vcount(6, -NOT EXISTS (SELECT 1 FROM events WHERE author = OLD.author)), "
    "hearth_vcount(7, -((SELECT count(*) FROM events WHERE signer = OLD.signer AND seq = "
    "OLD.seq) = 1)); END;"
    "PRAGMA user_version = 8;";

static size_t search_n(struct fx *f, const char *words)
{
    struct store_post *t;
    size_t n;
    assert_int_equal(store_search(f->s, words, 0, &t, &n), HERR_OK);
    store_posts_free(t, n);
    return n;
}

/* A replica of schema 8 upgrades when opened (migration 9: a search index without
 * its own copy of the words, events_signer only for a device's events): the view, its
 * digest and counts (a fork among them) are what they were, search finds the posts
 * again, and a post taken back after the upgrade leaves the file and the index. */
static void test_upgrade_from_8(void **state)
{
    struct fx *f = fx_new("store_upgrade8", true);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN], x[HEARTH_ID_LEN];
    post(f, &A, "Before the upgrade", "words kept across the upgrade", p);
    post(f, &A, "To take back later", "words-to-take-back-2207", q);
    reply(f, &B, p, p, "a reply kept across it", r);
    struct event_draft d = dr(EK_POST, f->forum, 40);
    d.ref = f->board;
    d.b.title = S("fork");
    d.b.text = S("one side");
    struct ev e1 = mk(&B, &d);
    d.b.text = S("other side");
    struct ev e2 = mk(&B, &d);
    assert_int_equal(ingest1(f->s, &e1), HERR_OK);
    assert_int_equal(ingest1(f->s, &e2), HERR_OK);
    assert_int_equal(search_n(f, "kept"), 2); /* fills the index */
    uint8_t d0[HEARTH_ID_LEN], d1[HEARTH_ID_LEN];
    struct store_stats st0, st1;
    assert_int_equal(store_view_digest(f->s, d0), HERR_OK);
    assert_int_equal(store_stats(f->s, &st0), HERR_OK);
    assert_int_equal(st0.forks, 1);
    store_destroy(&f->s);

    to_schema(f->path, schema8);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version", NULL), 8);
    assert_true(file_contains(f->path, "words-to-take-back-2207"));

    fx_open(f);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version", NULL), 13);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM local_blobs", NULL), 0);
    assert_int_equal(sql_int(f->path,
                             "SELECT count(*) FROM sqlite_schema WHERE name = 'events_signer' AND "
                             "sql LIKE '%WHERE signer IS NOT NULL'",
                             NULL),
                     1);
    assert_int_equal(
        sql_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'search_content'", NULL),
        0);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(store_view_digest_full(f->s, d1), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(store_stats(f->s, &st1), HERR_OK);
    st1.db_bytes = st0.db_bytes; /* the file's size is no count of the view */
    assert_memory_equal(&st0, &st1, sizeof st0);
    assert_int_equal(store_stats_full(f->s, &st1), HERR_OK);
    st1.db_bytes = st0.db_bytes;
    assert_memory_equal(&st0, &st1, sizeof st0);

    assert_int_equal(search_n(f, "kept"), 2);
    assert_int_equal(search_n(f, "words-to-take-back-2207"), 1);
    struct event_draft rd = {.kind = EK_RETRACT, .ref = q};
    publish(f, &A, rd, x);
    assert_int_equal(search_n(f, "words-to-take-back-2207"), 0);
    assert_int_equal(search_n(f, "words"), 1);
    store_destroy(&f->s);
    assert_false(file_contains(f->path, "words-to-take-back-2207"));
    assert_true(file_contains(f->path, "words kept across the upgrade"));
    ev_free(&e1);
    ev_free(&e2);
    fx_open(f);
    fx_free(f);
}

/* A replica of schema 9 upgrades when opened (migration 10: posts names the version
 * in force, words_ev, instead of copying its words; migration 11: signer NULL when
 * the person signed): every post reads as it did (title, text and warning of an edit
 * that superseded another, a reply's edit, a post taken back, an edit by someone else
 * that does not count), the whole view dumps to the same digest, the kept digest is
 * still the one a recomputation finds, search finds the words in force, and the words
 * of an edit or retraction made after the upgrade leave the file and the index. */
static void test_upgrade_from_9(void **state)
{
    struct fx *f = fx_new("store_upgrade9", true);
    uint8_t p[HEARTH_ID_LEN], q[HEARTH_ID_LEN], r[HEARTH_ID_LEN], x[HEARTH_ID_LEN];
    post(f, &A, "First title", "first words-0417", p);
    struct event_draft ed = {.kind = EK_EDIT, .ref = p};
    ed.b.text = S("superseded words-0421");
    publish(f, &A, ed, NULL);
    ed.b.title = S("Second title");
    ed.b.text = S("second words-0418");
    ed.b.cw = S("grief");
    publish(f, &A, ed, NULL);
    reply(f, &B, p, p, "a reply before its edit", r);
    struct event_draft re = {.kind = EK_EDIT, .ref = r};
    re.b.text = S("the reply as edited");
    publish(f, &B, re, NULL);
    post(f, &B, "Taken back", "words-taken-back-0419", q);
    publish(f, &B, (struct event_draft){.kind = EK_RETRACT, .ref = q}, NULL);
    struct event_draft od = dr(EK_EDIT, f->forum, 50); /* not the author's: no effect */
    od.ref = p;
    od.b.text = S("someone else's words-0422");
    struct ev other = mk(&B, &od);
    assert_int_equal(ingest1(f->s, &other), HERR_OK);
    const char *how[] = {"hug", "hug", "me-too"}; /* counted again from reacts_on (13) */
    for (int i = 0; i < 3; i++) {
        struct event_draft rd = {.kind = EK_REACT, .ref = i < 2 ? p : r};
        rd.b.reaction = S(how[i]);
        publish(f, i == 1 ? &A : &B, rd, NULL);
    }
    assert_int_equal(search_n(f, "words-0418"), 1); /* fills the index */
    struct store_post before[3] = {get(f, p), get(f, r), get(f, q)};
    assert_int_equal(before[0].n_reactions, 1);
    assert_int_equal(before[0].reactions[0].count, 2);
    assert_int_equal(before[1].n_reactions, 1);
    assert_string_equal(before[0].title, "Second title");
    assert_string_equal(before[0].cw, "grief");
    assert_null(before[1].title);
    assert_string_equal(before[1].text, "the reply as edited");
    assert_null(before[2].text);
    uint8_t d0[HEARTH_ID_LEN], dump0[HEARTH_ID_LEN], d1[HEARTH_ID_LEN];
    assert_int_equal(store_view_digest(f->s, d0), HERR_OK);
    assert_int_equal(store_view_dump_digest(f->s, dump0), HERR_OK);
    store_destroy(&f->s);

    to_schema(f->path, NULL);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version", NULL), 9);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM posts WHERE text IS NOT NULL", NULL),
                     2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE signer IS NULL", NULL), 0);

    fx_open(f);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version", NULL), 13);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM local_blobs", NULL), 0);
    assert_int_equal(sql_int(f->path,
                             "SELECT count(*) FROM pragma_table_info('posts') WHERE name = 'text'",
                             NULL),
                     0);
    /* Migration 11: no event a person signed names its signer (no devices here). */
    assert_int_equal(sql_int(f->path, "SELECT count(signer) FROM events", NULL), 0);
    assert_int_equal(sql_int(f->path,
                             "SELECT count(*) FROM sqlite_schema WHERE name = 'vc_events_d' AND "
                             "sql LIKE '%coalesce(OLD.signer, OLD.author)%'",
                             NULL),
                     1);
    assert_int_equal(sql_int(f->path, "SELECT count(words_ev) FROM posts", NULL), 2);
    for (int i = 0; i < 3; i++) {
        struct store_post now = get(f, before[i].id);
        if (before[i].title)
            assert_string_equal(now.title, before[i].title);
        else
            assert_null(now.title);
        if (before[i].text)
            assert_string_equal(now.text, before[i].text);
        else
            assert_null(now.text);
        if (before[i].cw)
            assert_string_equal(now.cw, before[i].cw);
        else
            assert_null(now.cw);
        assert_int_equal(now.edited, before[i].edited);
        assert_int_equal(now.n_reactions, before[i].n_reactions);
        for (size_t k = 0; k < now.n_reactions; k++) {
            assert_string_equal(now.reactions[k].name, before[i].reactions[k].name);
            assert_int_equal(now.reactions[k].count, before[i].reactions[k].count);
        }
        store_posts_free(&now, 1);
    }
    store_posts_free(before, 3);
    /* Migration 13: every reaction names its target in reacts, and the counts are kept. */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM reacts WHERE on_ev IS NULL", NULL), 0);
    assert_int_equal(sql_int(f->path, "SELECT sum(count) FROM react_count", NULL), 3);
    assert_int_equal(store_view_dump_digest(f->s, d1), HERR_OK);
    assert_memory_equal(dump0, d1, HEARTH_ID_LEN);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(store_view_digest_full(f->s, d1), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(search_n(f, "words-0418"), 1); /* the index, made again from bodies */
    assert_int_equal(search_n(f, "words-0422"), 0);

    ed.b.title = S("Third title");
    ed.b.text = S("third words-0420");
    ed.b.cw = (struct hstr){0};
    publish(f, &A, ed, x);
    struct store_post now = get(f, p);
    assert_string_equal(now.title, "Third title");
    assert_null(now.cw);
    store_posts_free(&now, 1);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    assert_memory_not_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(store_view_digest_full(f->s, d0), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    assert_int_equal(search_n(f, "words-0418"), 0);
    assert_int_equal(search_n(f, "words-0420"), 1);
    publish(f, &B, (struct event_draft){.kind = EK_RETRACT, .ref = r}, NULL);
    now = get(f, r);
    assert_null(now.text);
    store_posts_free(&now, 1);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    assert_int_equal(store_view_digest_full(f->s, d0), HERR_OK);
    assert_memory_equal(d0, d1, HEARTH_ID_LEN);
    store_destroy(&f->s);
    ev_free(&other);
    assert_false(file_contains(f->path, "superseded words-0421"));
    assert_false(file_contains(f->path, "the reply as edited"));
    assert_false(file_contains(f->path, "second words-0418"));
    assert_false(file_contains(f->path, "words-taken-back-0419"));
    assert_true(file_contains(f->path, "third words-0420"));
    fx_open(f);
    fx_free(f);
}

static void test_open_missing_and_foreign(void **state)
{
    struct store *s = NULL;
    char *dir = testutil_tmpdir("store_missing"), path[512];
    snprintf(path, sizeof path, "%s/none.db", dir);
    assert_int_equal(store_open(&s, path, 0), HERR_NOT_FOUND);
    assert_null(s);
    assert_true(strstr(store_open_error(), "no database") != NULL);
    /* A file that is not SQLite at all. */
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *fp = fopen(path, "wb");
    for (int i = 0; i < 2000; i++)
        fputs("not a database ", fp);
    fclose(fp);
    assert_int_equal(store_open(&s, path, 0), HERR_CORRUPT);
    /* An SQLite database of some other program. */
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA application_id = 7;", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(&s, path, 0), HERR_CORRUPT);
    assert_true(strstr(store_open_error(), "not a hearth database") != NULL);
    free(dir);
}

static void test_open_newer_schema(void **state)
{
    struct fx *f = fx_new("store_newer", false);
    store_destroy(&f->s);
    sqlite3 *db;
    sqlite3_open(f->path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(&f->s, f->path, 0), HERR_VERSION);
    assert_true(strstr(store_open_error(), "newer") != NULL);
    assert_int_equal(store_open(&f->s, f->path, STORE_READONLY), HERR_VERSION);
    fx_free(f);
}

static void test_open_readonly(void **state)
{
    struct fx *f = fx_new("store_ro", true);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &A, "Hello", "words", p);
    store_destroy(&f->s);
    assert_int_equal(store_open(&f->s, f->path, STORE_READONLY | STORE_CHECK), HERR_OK);
    struct store_post x = get(f, p);
    store_posts_free(&x, 1);
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S("t");
    d.b.text = S("x");
    uint8_t id[HEARTH_ID_LEN];
    assert_int_equal(store_publish(f->s, &A, &d, id), HERR_READONLY);
    assert_int_equal(store_meta_set(f->s, "k", "v"), HERR_READONLY);
    store_destroy(&f->s);
    /* A file the process may not write. */
    if (geteuid() != 0) {
        chmod(f->path, 0444);
        herr e = store_open(&f->s, f->path, 0);
        assert_true(e == HERR_READONLY || e == HERR_OK);
        if (!e) {
            assert_int_equal(store_publish(f->s, &A, &d, id), HERR_READONLY);
            store_destroy(&f->s);
        }
        chmod(f->path, 0644);
    }
    fx_open(f);
    fx_free(f);
}

static void test_locked(void **state)
{
    struct fx *f = fx_new("store_locked", true);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct event_draft d = {.kind = EK_POST, .ref = f->board};
    d.b.title = S("t");
    d.b.text = S("x");
    uint8_t id[HEARTH_ID_LEN];
    assert_int_equal(store_publish(f->s, &A, &d, id), HERR_BUSY);
    assert_true(strstr(store_errmsg(f->s), "locked by another process") != NULL);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_publish(f->s, &A, &d, id), HERR_OK);
    fx_free(f);
}

/* ---- ingest ---- */

static void test_ingest_genesis_binds(void **state)
{
    struct fx *f = fx_new("store_bind", false);
    struct event_draft g = dr(EK_GENESIS, NULL, 1);
    g.b.name = S("Forum");
    struct ev gen = mk(&F, &g);
    struct event_draft b = dr(EK_BOARD, gen.id, 2);
    b.b.name = S("General");
    struct ev board = mk(&F, &b);
    uint8_t forum[HEARTH_ID_LEN];
    assert_int_equal(store_forum(f->s, forum), HERR_STATE);
    /* Before the genesis: refused, one by one, not the batch. */
    struct store_blob envs[2] = {{board.env.data, board.env.len}, {gen.env.data, gen.env.len}};
    struct ingest_result res[2];
    size_t acc;
    assert_int_equal(store_ingest(f->s, envs, 2, res, &acc), HERR_OK);
    assert_int_equal(res[0].err, HERR_STATE);
    assert_int_equal(res[1].err, HERR_OK);
    assert_int_equal(acc, 1);
    assert_int_equal(store_forum(f->s, forum), HERR_OK);
    assert_memory_equal(forum, gen.id, HEARTH_ID_LEN);
    assert_int_equal(ingest1(f->s, &board), HERR_OK);
    assert_int_equal(ingest1(f->s, &board), HERR_DUPLICATE);
    assert_int_equal(ingest1(f->s, &gen), HERR_DUPLICATE);
    /* store_set_forum: same forum fine, another refused. */
    assert_int_equal(store_set_forum(f->s, gen.id), HERR_OK);
    assert_int_equal(store_set_forum(f->s, board.id), HERR_STATE);
    ev_free(&gen);
    ev_free(&board);
    fx_free(f);
}

static void test_ingest_refusals(void **state)
{
    struct fx *f = fx_new("store_refuse", true);
    struct store_stats st0, st1;
    assert_int_equal(store_stats(f->s, &st0), HERR_OK);
    /* Another forum's post. */
    uint8_t other[HEARTH_ID_LEN];
    memset(other, 7, sizeof other);
    struct event_draft d = dr(EK_POST, other, 1);
    d.ref = f->board;
    d.b.title = S("t");
    d.b.text = S("x");
    struct ev wrong = mk(&A, &d);
    /* A bad signature. */
    d.forum = f->forum;
    struct ev bad = mk(&A, &d);
    bad.env.data[bad.env.len - 1] ^= 1; /* inside the body: hash mismatch */
    struct ev badsig = mk(&A, &d);
    /* The sig follows the header: flip a byte of it. */
    size_t sig_at = 3 + 2 + (size_t)badsig.env.data[2] + 2;
    badsig.env.data[sig_at + 5] ^= 0x40;
    uint8_t junk[] = {0x93, 0xc4, 0x01, 0x00, 0xc0};
    struct store_blob envs[4] = {
        {wrong.env.data, wrong.env.len},
        {bad.env.data, bad.env.len},
        {badsig.env.data, badsig.env.len},
        {junk, sizeof junk},
    };
    struct ingest_result res[4];
    size_t acc = 99;
    assert_int_equal(store_ingest(f->s, envs, 4, res, &acc), HERR_OK);
    assert_int_equal(acc, 0);
    assert_int_equal(res[0].err, HERR_WRONG_FORUM);
    assert_true(res[0].has_id);
    assert_int_equal(res[1].err, HERR_INVALID);
    assert_int_equal(res[2].err, HERR_BAD_SIG);
    assert_int_equal(res[3].err, HERR_MALFORMED);
    assert_false(res[3].has_id);
    assert_non_null(res[3].why);
    assert_int_equal(store_stats(f->s, &st1), HERR_OK);
    assert_int_equal(st1.events, st0.events);
    assert_int_equal(store_has(f->s, wrong.id), HERR_NOT_FOUND);
    assert_int_equal(store_has(f->s, badsig.id), HERR_NOT_FOUND);
    ev_free(&wrong);
    ev_free(&bad);
    ev_free(&badsig);
    fx_free(f);
}

/* A batch large enough to verify on several threads, with a bad one in the middle. */
static void test_ingest_parallel_batch(void **state)
{
    struct fx *f = fx_new("store_batch", true);
    enum { N = 300 };
    struct ev evs[N];
    struct store_blob envs[N];
    struct ingest_result res[N];
    for (int i = 0; i < N; i++) {
        struct event_draft d = dr(EK_POST, f->forum, (uint64_t)i + 1);
        d.ref = f->board;
        d.b.title = S("batch");
        d.b.text = S("text of a batch post");
        evs[i] = mk(&B, &d);
        envs[i] = (struct store_blob){evs[i].env.data, evs[i].env.len};
    }
    size_t sig_at = 3 + 2 + (size_t)evs[150].env.data[2] + 2;
    evs[150].env.data[sig_at] ^= 1;
    envs[151] = envs[10]; /* a duplicate within the batch */
    size_t acc;
    assert_int_equal(store_ingest(f->s, envs, N, res, &acc), HERR_OK);
    assert_int_equal(acc, N - 2);
    assert_int_equal(res[150].err, HERR_BAD_SIG);
    assert_int_equal(res[151].err, HERR_DUPLICATE);
    struct store_post *p;
    size_t n;
    assert_int_equal(store_threads(f->s, f->board, &p, &n), HERR_OK);
    assert_int_equal(n, N - 2);
    store_posts_free(p, n);
    for (int i = 0; i < N; i++)
        ev_free(&evs[i]);
    fx_free(f);
}

/* ---- publish and its rules ---- */

static void test_publish_rules(void **state)
{
    struct fx *f = fx_new("store_rules", true);
    uint8_t p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], id[HEARTH_ID_LEN], nowhere[HEARTH_ID_LEN];
    memset(nowhere, 0x55, sizeof nowhere);
    post(f, &A, "Mine", "alice's words", p);
    reply(f, &B, p, p, "bob answers", r);
    struct event_draft d = {.kind = EK_EDIT, .ref = p};
    d.b.text = S("bob rewrites");
    assert_int_equal(store_publish(f->s, &B, &d, id), HERR_DENIED);
    assert_true(strstr(store_errmsg(f->s), "your own") != NULL);
    d.kind = EK_RETRACT;
    d.b = (struct event_body){0};
    assert_int_equal(store_publish(f->s, &B, &d, id), HERR_DENIED);
    /* Unknown targets. */
    struct event_draft rep = {.kind = EK_REPLY, .root = p, .ref = nowhere};
    rep.b.text = S("x");
    assert_int_equal(store_publish(f->s, &B, &rep, id), HERR_NOT_FOUND);
    rep.root = nowhere;
    assert_int_equal(store_publish(f->s, &B, &rep, id), HERR_NOT_FOUND);
    rep.root = r; /* a reply is not a thread */
    rep.ref = r;
    assert_int_equal(store_publish(f->s, &B, &rep, id), HERR_NOT_FOUND);
    struct event_draft re = {.kind = EK_REACT, .ref = nowhere};
    re.b.reaction = S("hug");
    assert_int_equal(store_publish(f->s, &B, &re, id), HERR_NOT_FOUND);
    struct event_draft fl = {.kind = EK_FLAG, .ref = nowhere};
    fl.b.reason = S("spam");
    assert_int_equal(store_publish(f->s, &B, &fl, id), HERR_NOT_FOUND);
    struct event_draft po = {.kind = EK_POST, .ref = nowhere};
    po.b.title = S("t");
    po.b.text = S("x");
    assert_int_equal(store_publish(f->s, &B, &po, id), HERR_NOT_FOUND);
    assert_true(strstr(store_errmsg(f->s), "board") != NULL);
    struct event_draft bo = {.kind = EK_BOARD};
    bo.b.name = S("Mine");
    assert_int_equal(store_publish(f->s, &A, &bo, id), HERR_DENIED);
    struct event_draft g = {.kind = EK_GENESIS};
    g.b.name = S("Again");
    assert_int_equal(store_publish(f->s, &A, &g, id), HERR_STATE);
    /* Seq and time: the next seq, never earlier than the author's last event. */
    struct store_post x = get(f, r);
    assert_int_equal(x.seq, 1);
    store_posts_free(&x, 1);
    reply(f, &B, p, r, "again", id);
    x = get(f, id);
    assert_int_equal(x.seq, 2);
    assert_int_equal(x.depth, 2);
    store_posts_free(&x, 1);
    fx_free(f);
}

static void test_publish_no_forum(void **state)
{
    struct fx *f = fx_new("store_noforum", false);
    struct event_draft d = {.kind = EK_PROFILE};
    d.b.name = S("me");
    uint8_t id[HEARTH_ID_LEN];
    assert_int_equal(store_publish(f->s, &A, &d, id), HERR_STATE);
    fx_free(f);
}

static void test_publish_created_monotonic(void **state)
{
    struct fx *f = fx_new("store_created", true);
    /* An event of A's from the future: A's next event is stamped no earlier. */
    uint64_t future = T0 * 2;
    struct event_draft d = dr(EK_PROFILE, f->forum, 1);
    d.created = future;
    d.b.name = S("from the future");
    struct ev e = mk(&A, &d);
    assert_int_equal(ingest1(f->s, &e), HERR_OK);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    struct store_post x = get(f, p);
    assert_int_equal(x.seq, 2);
    assert_true(x.created >= future);
    store_posts_free(&x, 1);
    ev_free(&e);
    fx_free(f);
}

/* ---- held events ---- */

static void test_held_reply_appears(void **state)
{
    struct fx *f = fx_new("store_held", true);
    struct event_draft pd = dr(EK_POST, f->forum, 1);
    pd.ref = f->board;
    pd.b.title = S("Thread");
    pd.b.text = S("root");
    struct ev root = mk(&A, &pd);
    struct event_draft r1d = dr(EK_REPLY, f->forum, 1);
    r1d.root = root.id;
    r1d.ref = root.id;
    r1d.b.text = S("first reply");
    struct ev r1 = mk(&B, &r1d);
    struct event_draft r2d = dr(EK_REPLY, f->forum, 2);
    r2d.root = root.id;
    r2d.ref = r1.id;
    r2d.b.text = S("reply to reply");
    struct ev r2 = mk(&B, &r2d);
    /* The deepest first, then its parent, then the thread. */
    assert_int_equal(ingest1(f->s, &r2), HERR_OK);
    assert_int_equal(ingest1(f->s, &r1), HERR_OK);
    struct store_stats st;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.pending, 2);
    struct store_post x;
    assert_int_equal(store_post_get(f->s, r2.id, &x), HERR_NOT_FOUND);
    assert_int_equal(store_has(f->s, r2.id), HERR_OK); /* held for sync */
    assert_int_equal(ingest1(f->s, &root), HERR_OK);
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.replies, 2);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_thread(f->s, root.id, &t, &n), HERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].text, "root");
    assert_int_equal(t[0].replies, 2);
    assert_string_equal(t[1].text, "first reply");
    assert_int_equal(t[1].depth, 1);
    assert_string_equal(t[2].text, "reply to reply");
    assert_int_equal(t[2].depth, 2);
    assert_memory_equal(t[2].board, f->board, HEARTH_ID_LEN);
    store_posts_free(t, n);
    ev_free(&root);
    ev_free(&r1);
    ev_free(&r2);
    fx_free(f);
}

static void test_invalid_reply_no_effect(void **state)
{
    struct fx *f = fx_new("store_invalid", true);
    uint8_t p1[HEARTH_ID_LEN], p2[HEARTH_ID_LEN], r1[HEARTH_ID_LEN];
    post(f, &A, "one", "x", p1);
    post(f, &A, "two", "y", p2);
    reply(f, &B, p1, p1, "in one", r1);
    /* A reply claiming thread two but answering a reply of thread one. */
    struct event_draft d = dr(EK_REPLY, f->forum, 10);
    d.root = p2;
    d.ref = r1;
    d.b.text = S("confused");
    struct ev bad = mk(&B, &d);
    assert_int_equal(ingest1(f->s, &bad), HERR_OK);
    struct store_post x;
    assert_int_equal(store_post_get(f->s, bad.id, &x), HERR_NOT_FOUND);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_thread(f->s, p2, &t, &n), HERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].replies, 0);
    store_posts_free(t, n);
    ev_free(&bad);
    fx_free(f);
}

/* ---- edits ---- */

static void test_edits_lww(void **state)
{
    struct fx *f = fx_new("store_edits", true);
    struct event_draft pd = dr(EK_POST, f->forum, 1);
    pd.ref = f->board;
    pd.b.title = S("Original title");
    pd.b.text = S("v1");
    pd.b.cw = S("grief");
    struct ev p = mk(&A, &pd);
    struct event_draft e2d = dr(EK_EDIT, f->forum, 2);
    e2d.ref = p.id;
    e2d.b.text = S("v2");
    e2d.b.title = S("Second title");
    struct ev e2 = mk(&A, &e2d);
    struct event_draft e3d = dr(EK_EDIT, f->forum, 3);
    e3d.ref = p.id;
    e3d.b.text = S("v3");
    struct ev e3 = mk(&A, &e3d);
    /* Someone else's edit: kept, no effect. */
    struct event_draft xd = dr(EK_EDIT, f->forum, 9);
    xd.ref = p.id;
    xd.b.text = S("vandal");
    struct ev x = mk(&B, &xd);
    assert_int_equal(ingest1(f->s, &e3), HERR_OK); /* before its target */
    assert_int_equal(ingest1(f->s, &x), HERR_OK);
    assert_int_equal(ingest1(f->s, &p), HERR_OK);
    assert_int_equal(ingest1(f->s, &e2), HERR_OK);
    struct store_post v = get(f, p.id);
    assert_string_equal(v.text, "v3");
    assert_null(v.title); /* an edit states the whole post: v3 carries no title */
    assert_null(v.cw);    /* nor a cw */
    assert_int_equal(v.edited, T0 + 3000);
    store_posts_free(&v, 1);
    /* The versions v3 replaced are purged; the vandal's edit, which replaces nothing,
     * is not. */
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", p.id), 1);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", e2.id), 1);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", x.id), 0);
    /* Retracting the winning edit takes its words too: what it replaced is gone. */
    struct event_draft rd = dr(EK_RETRACT, f->forum, 4);
    rd.ref = e3.id;
    struct ev r = mk(&A, &rd);
    assert_int_equal(ingest1(f->s, &r), HERR_OK);
    v = get(f, p.id);
    assert_null(v.text);
    store_posts_free(&v, 1);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", e3.id), 1);
    ev_free(&p);
    ev_free(&e2);
    ev_free(&e3);
    ev_free(&x);
    ev_free(&r);
    fx_free(f);
}

/* A fork: two edits with one seq; the higher id wins, whatever the order. */
static void test_fork_tie(void **state)
{
    uint8_t d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    struct fx *base = fx_new("store_fork", true);
    struct fx *f = fx_copy(base, "store_fork_a"), *g = fx_copy(base, "store_fork_b");
    struct event_draft pd = dr(EK_POST, base->forum, 1);
    pd.ref = base->board;
    pd.b.title = S("t");
    pd.b.text = S("v1");
    struct ev p = mk(&A, &pd);
    struct event_draft ed = dr(EK_EDIT, base->forum, 2);
    ed.ref = p.id;
    ed.b.text = S("left");
    struct ev l = mk(&A, &ed);
    ed.b.text = S("right");
    struct ev r = mk(&A, &ed);
    const char *winner = memcmp(l.id, r.id, HEARTH_ID_LEN) > 0 ? "left" : "right";
    assert_int_equal(ingest1(f->s, &p), HERR_OK);
    assert_int_equal(ingest1(f->s, &l), HERR_OK);
    assert_int_equal(ingest1(f->s, &r), HERR_OK);
    assert_int_equal(ingest1(g->s, &r), HERR_OK);
    assert_int_equal(ingest1(g->s, &l), HERR_OK);
    assert_int_equal(ingest1(g->s, &p), HERR_OK);
    struct store_post v = get(f, p.id);
    assert_string_equal(v.text, winner);
    store_posts_free(&v, 1);
    v = get(g, p.id);
    assert_string_equal(v.text, winner);
    store_posts_free(&v, 1);
    struct store_stats st;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.forks, 1);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    assert_int_equal(store_view_digest(g->s, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    ev_free(&p);
    ev_free(&l);
    ev_free(&r);
    fx_free(base);
    fx_free(f);
    fx_free(g);
}

/* ---- retraction ---- */

static void test_retract_purges_bytes(void **state)
{
    struct fx *f = fx_new("store_purge", true);
    const char *secret = "my-secret-words-that-must-go-4711";
    uint8_t p[HEARTH_ID_LEN], e[HEARTH_ID_LEN], r[HEARTH_ID_LEN], rr[HEARTH_ID_LEN];
    post(f, &A, "A title to forget", secret, p);
    struct event_draft ed = {.kind = EK_EDIT, .ref = p};
    ed.b.text = S("edited-secret-words-0815");
    publish(f, &A, ed, e);
    reply(f, &B, p, p, "a reply that stays", r);
    struct event_draft rd = {.kind = EK_RETRACT, .ref = p};
    publish(f, &A, rd, rr);
    struct store_post x = get(f, p);
    assert_int_equal(x.status, POST_RETRACTED);
    assert_null(x.text);
    assert_null(x.title);
    store_posts_free(&x, 1);
    x = get(f, r); /* replies remain */
    assert_string_equal(x.text, "a reply that stays");
    store_posts_free(&x, 1);
    /* Editing a retracted post is refused. */
    uint8_t id[HEARTH_ID_LEN];
    assert_int_equal(store_publish(f->s, &A, &ed, id), HERR_DENIED);
    store_destroy(&f->s); /* the last connection checkpoints and drops the WAL */
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", p), 1);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", e), 1);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", r), 0);
    assert_false(file_contains(f->path, secret));
    assert_false(file_contains(f->path, "edited-secret-words-0815"));
    assert_false(file_contains(f->path, "A title to forget"));
    assert_true(file_contains(f->path, "a reply that stays"));
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_false(file_contains(wal, secret));
    fx_open(f);
    fx_free(f);
}

static void test_retract_before_target(void **state)
{
    struct fx *f = fx_new("store_retract_first", true);
    struct event_draft pd = dr(EK_POST, f->forum, 1);
    pd.ref = f->board;
    pd.b.title = S("t");
    pd.b.text = S("never-stored-text-1234");
    struct ev p = mk(&A, &pd);
    struct event_draft rd = dr(EK_RETRACT, f->forum, 2);
    rd.ref = p.id;
    struct ev r = mk(&A, &rd);
    /* Someone else's retraction: kept, no effect. */
    struct event_draft od = dr(EK_RETRACT, f->forum, 1);
    od.ref = p.id;
    struct ev o = mk(&B, &od);
    assert_int_equal(ingest1(f->s, &o), HERR_OK);
    assert_int_equal(ingest1(f->s, &r), HERR_OK);
    struct store_stats st;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.pending, 2);
    assert_int_equal(ingest1(f->s, &p), HERR_OK);
    struct store_post x = get(f, p.id);
    assert_int_equal(x.status, POST_RETRACTED);
    assert_null(x.text);
    store_posts_free(&x, 1);
    /* The body offered again does not come back. */
    assert_int_equal(ingest1(f->s, &p), HERR_DUPLICATE);
    assert_int_equal(sql_int(f->path, "SELECT body IS NULL FROM events WHERE id = ?1", p.id), 1);
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.purged, 1);
    store_destroy(&f->s);
    assert_false(file_contains(f->path, "never-stored-text-1234"));
    fx_open(f);
    ev_free(&p);
    ev_free(&r);
    ev_free(&o);
    fx_free(f);
}

static herr collect_env(void *ctx, const uint8_t *env, size_t len)
{
    struct hbuf *all = ctx;
    uint8_t n[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    herr e = hbuf_append(all, n, 4);
    return e ? e : hbuf_append(all, env, len);
}

/* A purged event travels with a nil body; a body arriving later is kept only when
 * no purge is in force. */
static void test_purged_then_body(void **state)
{
    struct fx *f = fx_new("store_restore", true);
    struct event_draft pd = dr(EK_POST, f->forum, 1);
    pd.ref = f->board;
    pd.b.title = S("t");
    pd.b.text = S("comes back");
    struct ev p = mk(&A, &pd);
    /* The same event without its body. */
    struct event ev;
    assert_int_equal(event_parse(&ev, p.env.data, p.env.len, NULL), HERR_OK);
    struct hbuf purged;
    hbuf_init(&purged, HEARTH_MAX_EVENT);
    assert_int_equal(event_envelope(&purged, ev.header, ev.header_len, ev.sig, NULL, 0), HERR_OK);
    struct ev q = {.env = purged};
    assert_int_equal(ingest1(f->s, &q), HERR_OK);
    struct store_post x = get(f, p.id);
    assert_null(x.text);
    store_posts_free(&x, 1);
    assert_int_equal(ingest1(f->s, &p), HERR_DUPLICATE);
    x = get(f, p.id);
    assert_string_equal(x.text, "comes back");
    store_posts_free(&x, 1);
    /* Export carries what we hold. */
    struct hbuf all;
    hbuf_init(&all, 1 << 24);
    assert_int_equal(store_export(f->s, collect_env, &all), HERR_OK);
    assert_true(memmem(all.data, all.len, "comes back", 10) != NULL);
    hbuf_release(&all);
    hbuf_release(&purged);
    ev_free(&p);
    fx_free(f);
}

/* ---- reactions, flags, profiles, boards ---- */

static void test_reactions(void **state)
{
    struct fx *f = fx_new("store_react", true);
    uint8_t p[HEARTH_ID_LEN], r1[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    struct event_draft d = {.kind = EK_REACT, .ref = p};
    d.b.reaction = S("hug");
    publish(f, &B, d, r1);
    assert_int_equal(store_publish(f->s, &B, &d, id), HERR_NOOP); /* ours: refused */
    struct event_draft again = dr(EK_REACT, f->forum, 50);        /* a peer's: counts once */
    again.ref = p;
    again.b.reaction = S("hug");
    struct ev twice = mk(&B, &again);
    assert_int_equal(ingest1(f->s, &twice), HERR_OK);
    ev_free(&twice);
    publish(f, &A, d, id);
    d.b.reaction = S("support");
    publish(f, &B, d, id);
    struct store_post x = get(f, p);
    assert_int_equal(x.n_reactions, 2);
    assert_string_equal(x.reactions[0].name, "hug");
    assert_int_equal(x.reactions[0].count, 2);
    assert_string_equal(x.reactions[1].name, "support");
    assert_int_equal(x.reactions[1].count, 1);
    store_posts_free(&x, 1);
    /* Retracting one of bob's two hugs leaves the other. */
    struct event_draft rd = {.kind = EK_RETRACT, .ref = r1};
    publish(f, &B, rd, id);
    x = get(f, p);
    assert_int_equal(x.reactions[0].count, 2);
    store_posts_free(&x, 1);
    fx_free(f);
}

static void test_profiles(void **state)
{
    struct fx *f = fx_new("store_profile", true);
    struct event_draft d1 = dr(EK_PROFILE, f->forum, 5);
    d1.b.name = S("Later");
    struct ev p5 = mk(&A, &d1);
    struct event_draft d0 = dr(EK_PROFILE, f->forum, 2);
    d0.b.name = S("Earlier");
    d0.b.about = S("about me");
    struct ev p2 = mk(&A, &d0);
    assert_int_equal(ingest1(f->s, &p5), HERR_OK);
    assert_int_equal(ingest1(f->s, &p2), HERR_OK);
    char *name, *about;
    assert_int_equal(store_profile(f->s, A.pk, &name, &about), HERR_OK);
    assert_string_equal(name, "Later");
    assert_null(about);
    free(name);
    /* Retracting the profile in force falls back to the one before. */
    struct event_draft rd = dr(EK_RETRACT, f->forum, 6);
    rd.ref = p5.id;
    struct ev r = mk(&A, &rd);
    assert_int_equal(ingest1(f->s, &r), HERR_OK);
    assert_int_equal(store_profile(f->s, A.pk, &name, &about), HERR_OK);
    assert_string_equal(name, "Earlier");
    assert_string_equal(about, "about me");
    free(name);
    free(about);
    assert_int_equal(store_profile(f->s, B.pk, &name, &about), HERR_OK);
    assert_null(name);
    /* The pseudonym shows beside posts. */
    uint8_t p[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    struct store_post x = get(f, p);
    assert_string_equal(x.author_name, "Earlier");
    store_posts_free(&x, 1);
    ev_free(&p5);
    ev_free(&p2);
    ev_free(&r);
    fx_free(f);
}

static void test_boards(void **state)
{
    struct fx *f = fx_new("store_boards", true);
    uint8_t b2[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
    struct event_draft d = {.kind = EK_BOARD};
    usleep(3000); /* created times order boards: keep them apart */
    d.b.name = S("Carers");
    d.b.about = S("for carers");
    publish(f, &F, d, b2);
    d.b.name = S("general"); /* a second "General": the first keeps the name */
    usleep(3000);
    publish(f, &F, d, id);
    /* A board by someone else: no effect. */
    struct event_draft xd = dr(EK_BOARD, f->forum, 1);
    xd.b.name = S("Rogue");
    struct ev x = mk(&A, &xd);
    assert_int_equal(ingest1(f->s, &x), HERR_OK);
    struct store_board *b;
    size_t n;
    assert_int_equal(store_boards(f->s, &b, &n), HERR_OK);
    assert_int_equal(n, 3); /* not the rogue one */
    assert_string_equal(b[0].name, "General");
    assert_string_equal(b[1].name, "Carers");
    assert_string_equal(b[1].about, "for carers");
    for (size_t i = 0; i < n; i++)
        assert_true(strcmp(b[i].name, "Rogue") != 0);
    store_boards_free(b, n);
    assert_int_equal(store_board_find(f->s, "GENERAL", id), HERR_OK);
    assert_memory_equal(id, f->board, HEARTH_ID_LEN);
    assert_int_equal(store_board_find(f->s, "carers", id), HERR_OK);
    assert_memory_equal(id, b2, HEARTH_ID_LEN);
    assert_int_equal(store_board_find(f->s, "Rogue", id), HERR_NOT_FOUND);
    char hex[65];
    hex_encode(hex, b2, HEARTH_ID_LEN);
    hex[8] = '\0';
    assert_int_equal(store_board_find(f->s, hex, id), HERR_OK);
    assert_memory_equal(id, b2, HEARTH_ID_LEN);
    /* A post to the rogue board is refused and, from a peer, has no effect. */
    struct event_draft pd = {.kind = EK_POST, .ref = x.id};
    pd.b.title = S("t");
    pd.b.text = S("x");
    assert_int_equal(store_publish(f->s, &A, &pd, id), HERR_NOT_FOUND);
    ev_free(&x);
    fx_free(f);
}

/* ---- queries ---- */

static void test_thread_order(void **state)
{
    struct fx *f = fx_new("store_order", true);
    uint8_t p[HEARTH_ID_LEN], a[HEARTH_ID_LEN], b[HEARTH_ID_LEN], a1[HEARTH_ID_LEN],
        a2[HEARTH_ID_LEN], a11[HEARTH_ID_LEN];
    /* Siblings are ordered by (created, id): keep the times apart. */
    post(f, &A, "t", "root", p);
    usleep(2000);
    reply(f, &B, p, p, "a", a);
    usleep(2000);
    reply(f, &A, p, p, "b", b);
    usleep(2000);
    reply(f, &A, p, a, "a1", a1);
    usleep(2000);
    reply(f, &B, p, a, "a2", a2);
    usleep(2000);
    reply(f, &B, p, a1, "a11", a11);
    struct store_post *t;
    size_t n;
    assert_int_equal(store_thread(f->s, p, &t, &n), HERR_OK);
    const char *want[] = {"root", "a", "a1", "a11", "a2", "b"};
    uint32_t depth[] = {0, 1, 2, 3, 2, 1};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t[i].text, want[i]);
        assert_int_equal(t[i].depth, depth[i]);
    }
    assert_int_equal(t[0].replies, 5);
    assert_true(t[0].last_activity >= t[5].created);
    store_posts_free(t, n);
    assert_int_equal(store_thread(f->s, a, &t, &n), HERR_NOT_FOUND);
    /* Threads: newest activity first. */
    uint8_t q[HEARTH_ID_LEN], r[HEARTH_ID_LEN];
    usleep(3000);
    post(f, &B, "second", "later thread", q);
    usleep(3000);
    reply(f, &A, p, b, "bump", r);
    assert_int_equal(store_threads(f->s, f->board, &t, &n), HERR_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(t[0].id, p, HEARTH_ID_LEN);
    assert_int_equal(t[0].replies, 6);
    store_posts_free(t, n);
    fx_free(f);
}

static void test_resolve(void **state)
{
    struct fx *f = fx_new("store_resolve", true);
    char hex[65];
    uint8_t id[HEARTH_ID_LEN];
    hex_encode(hex, f->board, HEARTH_ID_LEN);
    hex[6] = '\0';
    assert_int_equal(store_resolve(f->s, hex, id), HERR_OK);
    assert_memory_equal(id, f->board, HEARTH_ID_LEN);
    assert_int_equal(store_resolve(f->s, "abc", id), HERR_USAGE);
    assert_int_equal(store_resolve(f->s, "zzzz", id), HERR_USAGE);
    hex_encode(hex, f->board, HEARTH_ID_LEN);
    hex[0] = hex[0] == '0' ? '1' : '0';
    assert_int_equal(store_resolve(f->s, hex, id), HERR_NOT_FOUND);
    /* Find two profiles whose ids share 4 hex digits, by trying seqs. */
    struct ev seen[1024];
    int n = 0, hit = -1, other = -1;
    for (; n < 1024 && hit < 0; n++) {
        struct event_draft d = dr(EK_PROFILE, f->forum, (uint64_t)n + 1);
        d.b.name = S("x");
        seen[n] = mk(&B, &d);
        for (int j = 0; j < n; j++)
            if (!memcmp(seen[j].id, seen[n].id, 2))
                hit = n, other = j;
    }
    assert_true(hit >= 0);
    assert_int_equal(ingest1(f->s, &seen[hit]), HERR_OK);
    assert_int_equal(ingest1(f->s, &seen[other]), HERR_OK);
    hex_encode(hex, seen[hit].id, HEARTH_ID_LEN);
    hex[4] = '\0';
    assert_int_equal(store_resolve(f->s, hex, id), HERR_AMBIGUOUS);
    hex_encode(hex, seen[hit].id, HEARTH_ID_LEN);
    assert_int_equal(store_resolve(f->s, hex, id), HERR_OK);
    for (int i = 0; i < n; i++)
        ev_free(&seen[i]);
    fx_free(f);
}

struct keys {
    int n;
    uint64_t last;
    bool ordered;
};

static herr count_key(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                      uint64_t arrival)
{
    struct keys *k = ctx;
    k->ordered = k->ordered && arrival > k->last;
    k->last = arrival;
    k->n++;
    return HERR_OK;
}

static herr kinds_of(void *ctx, const uint8_t *env, size_t len)
{
    struct hbuf *kinds = ctx;
    struct event ev;
    herr e = event_parse(&ev, env, len, NULL);
    if (e)
        return e;
    uint8_t k = (uint8_t)ev.kind;
    return hbuf_append(kinds, &k, 1);
}

static void test_export_keys_get(void **state)
{
    struct fx *f = fx_new("store_export", true);
    uint8_t p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], x[HEARTH_ID_LEN], rt[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    reply(f, &B, p, p, "r", r);
    struct event_draft d = {.kind = EK_REACT, .ref = p};
    d.b.reaction = S("hug");
    publish(f, &B, d, x);
    struct event_draft rd = {.kind = EK_RETRACT, .ref = x};
    publish(f, &B, rd, rt);
    struct event_draft pr = {.kind = EK_PROFILE};
    pr.b.name = S("bee");
    publish(f, &B, pr, NULL);
    struct hbuf kinds;
    hbuf_init(&kinds, 1024);
    assert_int_equal(store_export(f->s, kinds_of, &kinds), HERR_OK);
    const uint8_t want[] = {EK_RETRACT, EK_GENESIS, EK_BOARD, EK_PROFILE,
                            EK_POST,    EK_REPLY,   EK_REACT};
    assert_int_equal(kinds.len, sizeof want);
    assert_memory_equal(kinds.data, want, sizeof want);
    /* get_many: held ones only, in priority order. */
    uint8_t ids[4][HEARTH_ID_LEN];
    memcpy(ids[0], r, HEARTH_ID_LEN);
    memset(ids[1], 9, HEARTH_ID_LEN);
    memcpy(ids[2], rt, HEARTH_ID_LEN);
    memcpy(ids[3], p, HEARTH_ID_LEN);
    hbuf_reset(&kinds);
    assert_int_equal(
        store_get_many(f->s, (const uint8_t(*)[HEARTH_ID_LEN])ids, 4, kinds_of, &kinds), HERR_OK);
    const uint8_t want2[] = {EK_RETRACT, EK_POST, EK_REPLY};
    assert_int_equal(kinds.len, sizeof want2);
    assert_memory_equal(kinds.data, want2, sizeof want2);
    /* sort_ids: the same order, in place, without the unknown id. */
    uint8_t sorted[4][HEARTH_ID_LEN];
    memcpy(sorted, ids, sizeof ids);
    size_t n = 4;
    assert_int_equal(store_sort_ids(f->s, sorted, &n), HERR_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(sorted[0], rt, HEARTH_ID_LEN);
    assert_memory_equal(sorted[1], p, HEARTH_ID_LEN);
    assert_memory_equal(sorted[2], r, HEARTH_ID_LEN);
    hbuf_release(&kinds);
    /* get and has: the react was purged and travels with a nil body. */
    struct hbuf env;
    hbuf_init(&env, HEARTH_MAX_EVENT);
    assert_int_equal(store_get(f->s, x, &env), HERR_OK);
    struct event ev;
    assert_int_equal(event_parse(&ev, env.data, env.len, NULL), HERR_OK);
    assert_null(ev.body);
    assert_int_equal(event_verify(&ev), HERR_OK);
    assert_int_equal(store_get(f->s, ids[1], &env), HERR_NOT_FOUND);
    assert_int_equal(store_has(f->s, ids[1]), HERR_NOT_FOUND);
    assert_int_equal(store_has(f->s, p), HERR_OK);
    hbuf_release(&env);
    /* keys since an arrival number. */
    uint64_t last;
    assert_int_equal(store_last_arrival(f->s, &last), HERR_OK);
    assert_int_equal(last, 7);
    struct keys k = {.ordered = true};
    assert_int_equal(store_keys_since(f->s, 0, count_key, &k), HERR_OK);
    assert_int_equal(k.n, 7);
    assert_true(k.ordered);
    k = (struct keys){.ordered = true};
    assert_int_equal(store_keys_since(f->s, 5, count_key, &k), HERR_OK);
    assert_int_equal(k.n, 2);
    fx_free(f);
}

/* Ids of events, in the order met, with their arrival numbers. */
struct idlist {
    uint8_t id[64][HEARTH_ID_LEN];
    uint64_t arrival[64];
    size_t n;
    size_t calls;
};

static herr id_of_env(void *ctx, const uint8_t *env, size_t len)
{
    struct idlist *l = ctx;
    struct event ev;
    herr e = event_parse(&ev, env, len, NULL);
    if (!e && l->n < 64)
        memcpy(l->id[l->n++], ev.id, HEARTH_ID_LEN);
    return e;
}

static herr id_streamed(void *ctx, const uint8_t id[HEARTH_ID_LEN], const uint8_t *env, size_t len)
{
    struct idlist *l = ctx;
    struct event ev;
    herr e = event_parse(&ev, env, len, NULL);
    if (e)
        return e;
    assert_memory_equal(ev.id, id, HEARTH_ID_LEN);
    if (l->n < 64)
        memcpy(l->id[l->n++], id, HEARTH_ID_LEN);
    return HERR_OK;
}

static herr id_arrival(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t created,
                       uint64_t arrival)
{
    struct idlist *l = ctx;
    (void)created;
    if (l->n < 64) {
        memcpy(l->id[l->n], id, HEARTH_ID_LEN);
        l->arrival[l->n++] = arrival;
    }
    return HERR_OK;
}

static herr id_sorted(void *ctx, const uint8_t id[HEARTH_ID_LEN], uint64_t arrival)
{
    struct idlist *l = ctx;
    if (l->n > 0)
        assert_true(memcmp(l->id[l->n - 1], id, HEARTH_ID_LEN) < 0);
    assert_true(arrival >= 1);
    if (l->n < 64)
        memcpy(l->id[l->n++], id, HEARTH_ID_LEN);
    return HERR_OK;
}

static uint64_t arrival_of(const struct idlist *all, const uint8_t *id)
{
    for (size_t i = 0; i < all->n; i++)
        if (memcmp(all->id[i], id, HEARTH_ID_LEN) == 0)
            return all->arrival[i];
    fail_msg("no such id");
    return 0;
}

/* Stream everything up to `upto` in chunks of `max` events or `bytes` bytes. */
static void stream_all(struct fx *f, uint64_t upto, size_t max, size_t bytes, struct idlist *out)
{
    struct store_cursor cur;
    memset(&cur, 0, sizeof cur);
    memset(out, 0, sizeof *out);
    while (!cur.done) {
        size_t before = out->n;
        assert_int_equal(store_stream(f->s, &cur, upto, max, bytes, id_streamed, out), HERR_OK);
        assert_true(out->n - before <= max);
        out->calls++;
        assert_true(out->calls < 100);
    }
}

/* store_stream: the order of store_export, a chunk at a time from a cursor, without
 * what arrived after `upto`; ties of created time go by id. */
static void test_stream(void **state)
{
    (void)state;
    struct fx *f = fx_new("store_stream", true);
    uint8_t p[HEARTH_ID_LEN], x[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    reply(f, &B, p, p, "r", NULL);
    struct event_draft d = {.kind = EK_REACT, .ref = p};
    d.b.reaction = S("hug");
    publish(f, &B, d, x);
    struct event_draft rd = {.kind = EK_RETRACT, .ref = x};
    publish(f, &B, rd, NULL);
    struct event_draft pr = {.kind = EK_PROFILE};
    pr.b.name = S("bee");
    publish(f, &B, pr, NULL);
    const struct hkey *who[3] = {&F, &A, &B};
    for (int i = 0; i < 3; i++) { /* three posts created at the same time */
        struct event_draft t = dr(EK_POST, f->forum, 50);
        t.ref = f->board;
        t.b.title = S("same time");
        t.b.text = S("x");
        struct ev e = mk(who[i], &t);
        assert_int_equal(ingest1(f->s, &e), HERR_OK);
        ev_free(&e);
    }
    post(f, &A, "t2", "y", NULL);

    static struct idlist want, got, all, sorted;
    assert_int_equal(store_export(f->s, id_of_env, &want), HERR_OK);
    assert_int_equal(store_keys_since(f->s, 0, id_arrival, &all), HERR_OK);
    assert_int_equal(want.n, 11);
    stream_all(f, UINT64_MAX, 1000, 1u << 20, &got);
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.id, want.id, want.n * HEARTH_ID_LEN);
    stream_all(f, UINT64_MAX, 2, 1u << 20, &got); /* two at a time */
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.id, want.id, want.n * HEARTH_ID_LEN);
    assert_true(got.calls >= 6);
    stream_all(f, UINT64_MAX, 1000, 1, &got); /* one byte: one event at a time */
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.id, want.id, want.n * HEARTH_ID_LEN);
    assert_true(got.calls >= 11);
    /* Only what had arrived by the 6th event, in the same order. */
    stream_all(f, 6, 3, 1u << 20, &got);
    assert_int_equal(got.n, 6);
    size_t j = 0;
    for (size_t i = 0; i < want.n; i++)
        if (arrival_of(&all, want.id[i]) <= 6)
            assert_memory_equal(got.id[j++], want.id[i], HEARTH_ID_LEN);
    assert_int_equal(j, 6);
    /* sort_ids on every id in arrival order, unknown ones among them: export order. */
    uint8_t mixed[16][HEARTH_ID_LEN];
    size_t n = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (i % 3 == 1)
            memset(mixed[n++], (int)(0x10 + i), HEARTH_ID_LEN);
        memcpy(mixed[n++], all.id[i], HEARTH_ID_LEN);
    }
    assert_int_equal(store_sort_ids(f->s, mixed, &n), HERR_OK);
    assert_int_equal(n, want.n);
    assert_memory_equal(mixed, want.id, want.n * HEARTH_ID_LEN);
    /* Every id, in id order, from the index. */
    assert_int_equal(store_ids_in_order(f->s, id_sorted, &sorted), HERR_OK);
    assert_int_equal(sorted.n, 11);
    fx_free(f);
}

static void test_meta_stats(void **state)
{
    struct fx *f = fx_new("store_meta", true);
    char *v;
    assert_int_equal(store_meta_get(f->s, "muted", &v), HERR_NOT_FOUND);
    assert_int_equal(store_meta_set(f->s, "muted", "grief"), HERR_OK);
    assert_int_equal(store_meta_set(f->s, "muted", "grief,loss"), HERR_OK);
    assert_int_equal(store_meta_get(f->s, "muted", &v), HERR_OK);
    assert_string_equal(v, "grief,loss");
    free(v);
    uint8_t p[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    reply(f, &B, p, p, "r", NULL);
    struct store_stats st;
    assert_int_equal(store_stats(f->s, &st), HERR_OK);
    assert_int_equal(st.events, 4);
    assert_int_equal(st.boards, 1);
    assert_int_equal(st.threads, 1);
    assert_int_equal(st.replies, 1);
    assert_int_equal(st.authors, 3);
    assert_int_equal(st.forks, 0);
    assert_int_equal(st.pending, 0);
    assert_true(st.db_bytes > 4096);
    fx_free(f);
}

/* The digest: equal for one set whatever the order; different when the view differs. */
static void test_digest_order(void **state)
{
    struct fx *f = fx_new("store_digest_a", true);
    uint8_t p[HEARTH_ID_LEN], r[HEARTH_ID_LEN], d1[HEARTH_ID_LEN], d2[HEARTH_ID_LEN];
    post(f, &A, "t", "x", p);
    reply(f, &B, p, p, "r", r);
    struct event_draft ed = {.kind = EK_EDIT, .ref = r};
    ed.b.text = S("r2");
    publish(f, &B, ed, NULL);
    struct hbuf all;
    hbuf_init(&all, 1 << 24);
    assert_int_equal(store_export(f->s, collect_env, &all), HERR_OK);
    assert_int_equal(store_view_digest(f->s, d1), HERR_OK);
    /* Replay in reverse into a fresh store. */
    struct fx *g = fx_new("store_digest_b", false);
    size_t offs[64], n = 0;
    for (size_t at = 0; at < all.len; n++) {
        offs[n] = at;
        size_t len = (size_t)all.data[at] << 24 | (size_t)all.data[at + 1] << 16 |
                     (size_t)all.data[at + 2] << 8 | all.data[at + 3];
        at += 4 + len;
    }
    for (size_t i = n; i-- > 0;) {
        size_t at = offs[i];
        size_t len = (size_t)all.data[at] << 24 | (size_t)all.data[at + 1] << 16 |
                     (size_t)all.data[at + 2] << 8 | all.data[at + 3];
        struct store_blob b = {all.data + at + 4, len};
        struct ingest_result res;
        assert_int_equal(store_ingest(g->s, &b, 1, &res, NULL), HERR_OK);
    }
    /* The genesis came last, so everything before it was refused: send again. */
    for (size_t i = 0; i < n; i++) {
        size_t at = offs[i];
        size_t len = (size_t)all.data[at] << 24 | (size_t)all.data[at + 1] << 16 |
                     (size_t)all.data[at + 2] << 8 | all.data[at + 3];
        struct store_blob b = {all.data + at + 4, len};
        struct ingest_result res;
        assert_int_equal(store_ingest(g->s, &b, 1, &res, NULL), HERR_OK);
    }
    assert_int_equal(store_view_digest(g->s, d2), HERR_OK);
    assert_memory_equal(d1, d2, HEARTH_ID_LEN);
    publish(f, &B, (struct event_draft){.kind = EK_RETRACT, .ref = r}, NULL);
    assert_int_equal(store_view_digest(f->s, d2), HERR_OK);
    assert_memory_not_equal(d1, d2, HEARTH_ID_LEN);
    hbuf_release(&all);
    fx_free(g);
    fx_free(f);
}

/* A second open of one replica in a process (serve: the node's connection, then the
 * web's) must not drop the locks the first holds: reading the -shm file and closing
 * it did, and another process then took itself for the only one, truncated the -shm
 * file under our mapping and our next write died of SIGBUS. SQLite's "a connection is
 * open here" lock is a read lock on byte 128 of the -shm file (UNIX_SHM_DMS); another
 * process (POSIX locks are per process) asks whether someone holds it. */
static int dms_held(const char *shm)
{
    pid_t child = fork();
    if (child == 0) {
        int fd = open(shm, O_RDWR);
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
        _exit(fd >= 0 && fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK ? 0 : 1);
    }
    int status = 1;
    if (child < 0 || waitpid(child, &status, 0) != child)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_second_open_keeps_locks(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir("second_open"), path[512], shm[520];
    snprintf(path, sizeof path, "%s/hearth.db", dir);
    snprintf(shm, sizeof shm, "%s-shm", path);
    free(dir);
    struct store *a, *b;
    assert_int_equal(store_open(&a, path, STORE_CREATE), HERR_OK);
    assert_int_equal(store_meta_set(a, "k", "1"), HERR_OK);
    assert_int_equal(dms_held(shm), 1);
    assert_int_equal(store_open(&b, path, 0), HERR_OK);
    assert_int_equal(dms_held(shm), 1); /* still ours after the second open */
    assert_int_equal(store_meta_set(b, "k", "2"), HERR_OK);
    assert_int_equal(dms_held(shm), 1);
    store_destroy(&b);
    assert_int_equal(dms_held(shm), 1); /* a is still open */
    store_destroy(&a);
}

int main(void)
{
    uint8_t seed[32];
    if (crypto_start())
        return 1;
    testutil_seed(seed, 1);
    hkey_from_seed(&F, seed);
    testutil_seed(seed, 2);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 3);
    hkey_from_seed(&B, seed);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_create_reopen),
        cmocka_unit_test(test_view_digest_vector),
        cmocka_unit_test(test_upgrade_from_8),
        cmocka_unit_test(test_upgrade_from_9),
        cmocka_unit_test(test_check_cut_anywhere),
        cmocka_unit_test(test_integrity_finds_index_mismatch),
        cmocka_unit_test(test_threads_paging),
        cmocka_unit_test(test_thread_paging),
        cmocka_unit_test(test_search_paging),
        cmocka_unit_test(test_open_missing_and_foreign),
        cmocka_unit_test(test_open_newer_schema),
        cmocka_unit_test(test_open_readonly),
        cmocka_unit_test(test_locked),
        cmocka_unit_test(test_ingest_genesis_binds),
        cmocka_unit_test(test_ingest_refusals),
        cmocka_unit_test(test_ingest_parallel_batch),
        cmocka_unit_test(test_publish_rules),
        cmocka_unit_test(test_publish_no_forum),
        cmocka_unit_test(test_publish_created_monotonic),
        cmocka_unit_test(test_held_reply_appears),
        cmocka_unit_test(test_invalid_reply_no_effect),
        cmocka_unit_test(test_edits_lww),
        cmocka_unit_test(test_fork_tie),
        cmocka_unit_test(test_retract_purges_bytes),
        cmocka_unit_test(test_retract_before_target),
        cmocka_unit_test(test_purged_then_body),
        cmocka_unit_test(test_reactions),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_boards),
        cmocka_unit_test(test_thread_order),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_export_keys_get),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_meta_stats),
        cmocka_unit_test(test_digest_order),
        cmocka_unit_test(test_second_open_keeps_locks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
