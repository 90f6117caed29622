/* query.c - reading the view: boards, threads, posts, profiles, ids and stats. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

const char *post_status_name(enum post_status st)
{
    switch (st) {
    case POST_VISIBLE: return "visible";
    case POST_RETRACTED: return "retracted";
    case POST_REMOVED: return "removed";
    case POST_HIDDEN: return "hidden";
    case POST_HELD: return "held";
    }
    return "unknown";
}

void store_set_viewer(struct store *s, const uint8_t author[HEARTH_PK_LEN])
{
    s->has_viewer = author != NULL;
    if (author)
        memcpy(s->viewer, author, HEARTH_PK_LEN);
}

/* ---- statements not worth caching ---- */

static herr prepare(struct store *s, const char *sql, sqlite3_stmt **q)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, "cannot prepare a query");
}

static char *col_dup(sqlite3_stmt *q, int i, bool *oom)
{
    if (sqlite3_column_type(q, i) == SQLITE_NULL)
        return NULL;
    char *t = strdup((const char *)sqlite3_column_text(q, i));
    if (!t)
        *oom = true;
    return t;
}

static void col_id(sqlite3_stmt *q, int i, uint8_t *out, size_t n)
{
    if (sqlite3_column_bytes(q, i) == (int)n)
        memcpy(out, sqlite3_column_blob(q, i), n);
    else
        memset(out, 0, n);
}

/* ---- posts ---- */

#define POST_COLS                                                                                  \
    "p.id, p.author, p.board, p.root, p.parent, p.kind, p.seq, p.created, p.edited, p.depth, "     \
    "p.status, p.locked, p.pinned, p.title, p.text, p.cw, pr.name, p.replies, p.last_activity, "   \
    "p.ev FROM posts p LEFT JOIN profiles pr ON pr.author = p.author "

void store_posts_free(struct store_post *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].title);
        free(p[i].text);
        free(p[i].cw);
        free(p[i].author_name);
        free(p[i].author_roles);
    }
    if (n > 0 && p[0].list_base == p)
        free(p);
}

static herr reactions_fill(struct store *s, struct store_post *p)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_REACT_COUNTS);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, p->id);
    int n;
    while ((n = sq_step(s, q, &e, "cannot count reactions")) > 0) {
        if (p->n_reactions == STORE_MAX_REACTIONS)
            continue;
        struct store_reaction *r = &p->reactions[p->n_reactions++];
        snprintf(r->name, sizeof r->name, "%s", (const char *)sqlite3_column_text(q, 0));
        r->count = (uint32_t)sqlite3_column_int(q, 1);
    }
    return n < 0 ? e : HERR_OK;
}

/* post_fill - one row of POST_COLS into p (zeroed first). */
static herr post_fill(struct store *s, sqlite3_stmt *q, struct store_post *p)
{
    bool oom = false;
    memset(p, 0, sizeof *p);
    col_id(q, 0, p->id, HEARTH_ID_LEN);
    col_id(q, 1, p->author, HEARTH_PK_LEN);
    col_id(q, 2, p->board, HEARTH_ID_LEN);
    col_id(q, 3, p->root, HEARTH_ID_LEN);
    col_id(q, 4, p->parent, HEARTH_ID_LEN);
    p->kind = (uint32_t)sqlite3_column_int(q, 5);
    p->seq = (uint64_t)sqlite3_column_int64(q, 6);
    p->created = (uint64_t)sqlite3_column_int64(q, 7);
    p->edited = (uint64_t)sqlite3_column_int64(q, 8);
    p->depth = (uint32_t)sqlite3_column_int(q, 9);
    p->status = (enum post_status)sqlite3_column_int(q, 10);
    p->locked = sqlite3_column_int(q, 11) != 0;
    p->pinned = sqlite3_column_int(q, 12) != 0;
    p->title = col_dup(q, 13, &oom);
    p->text = col_dup(q, 14, &oom);
    p->cw = col_dup(q, 15, &oom);
    p->author_name = col_dup(q, 16, &oom);
    p->replies = (uint32_t)sqlite3_column_int(q, 17);
    p->last_activity = (uint64_t)sqlite3_column_int64(q, 18);
    return oom ? store_fail(s, HERR_NOMEM, "out of memory") : HERR_OK;
}

/* A list of posts being filled. */
struct postlist {
    struct store_post *v;
    size_t n, cap;
};

static herr postlist_next(struct store *s, struct postlist *l, struct store_post **out)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct store_post *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return store_fail(s, HERR_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    *out = &l->v[l->n];
    return HERR_OK;
}

/* posts_run - step q (POST_COLS) and append every row to l, with reactions. */
static herr posts_run(struct store *s, sqlite3_stmt *q, struct postlist *l)
{
    herr e = HERR_OK;
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_post *p = NULL;
        e = postlist_next(s, l, &p);
        if (!e) {
            e = post_fill(s, q, p);
            l->n++;
        }
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read posts");
    for (size_t i = 0; i < l->n && !e; i++)
        e = reactions_fill(s, &l->v[i]);
    return e;
}

static herr posts_query(struct store *s, const char *sql, const uint8_t *id,
                        struct store_post **out, size_t *n)
{
    sqlite3_stmt *q = NULL;
    struct postlist l = {0};
    *out = NULL;
    *n = 0;
    herr e = store_read_begin(s);
    if (!e)
        e = prepare(s, sql, &q);
    if (!e) {
        sq_bind_id(q, 1, id);
        e = posts_run(s, q, &l);
    }
    sqlite3_finalize(q);
    store_read_end(s);
    if (e || l.n == 0) {
        store_posts_free(l.v, l.n);
        free(l.v);
        return e;
    }
    l.v[0].list_base = l.v;
    *out = l.v;
    *n = l.n;
    return HERR_OK;
}

herr store_threads(struct store *s, const uint8_t board[HEARTH_ID_LEN], struct store_post **out,
                   size_t *n)
{
    s->err[0] = '\0';
    return posts_query(s,
                       "SELECT " POST_COLS "WHERE p.board = ?1 AND p.kind = 3 AND p.state = 0 "
                       "ORDER BY p.pinned DESC, p.last_activity DESC, p.id",
                       board, out, n);
}

/* Depth-first order of a thread: siblings by (created, id). */
static int by_parent(const void *a, const void *b)
{
    const struct store_post *x = a, *y = b;
    int c = memcmp(x->parent, y->parent, HEARTH_ID_LEN);
    if (c)
        return c;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(x->id, y->id, HEARTH_ID_LEN);
}

/* children - the first index of parent's children in v[0..n) sorted by_parent. */
static size_t children(const struct store_post *v, size_t n, const uint8_t *parent)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(v[mid].parent, parent, HEARTH_ID_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* thread_order - v[0] is the post, v[1..n) its replies: reorder depth-first, with an
 * explicit stack (a thread may be deep). */
static herr thread_order(struct store *s, struct store_post *v, size_t n)
{
    struct store_post *in = malloc(n * sizeof *in);
    size_t *stack = malloc(n * sizeof *stack), top = 0, out = 1;
    herr e = in && stack ? HERR_OK : store_fail(s, HERR_NOMEM, "out of memory");
    if (!e) {
        size_t m = n - 1;
        memcpy(in, v + 1, m * sizeof *in);
        qsort(in, m, sizeof *in, by_parent);
        /* Push children in reverse so that the first is visited first. */
        for (size_t c = children(in, m, v[0].id), end = c; ; ) {
            while (end < m && !memcmp(in[end].parent, v[0].id, HEARTH_ID_LEN))
                end++;
            while (end > c)
                stack[top++] = --end;
            break;
        }
        while (top) {
            size_t i = stack[--top], c = children(in, m, in[i].id), end = c;
            v[out++] = in[i];
            while (end < m && !memcmp(in[end].parent, in[i].id, HEARTH_ID_LEN))
                end++;
            while (end > c)
                stack[top++] = --end;
        }
    }
    free(in);
    free(stack);
    return e;
}

herr store_thread(struct store *s, const uint8_t thread[HEARTH_ID_LEN], struct store_post **out,
                  size_t *n)
{
    s->err[0] = '\0';
    herr e = posts_query(s,
                         "SELECT " POST_COLS "WHERE p.root = ?1 AND p.state = 0 "
                         "ORDER BY p.kind, p.created, p.id",
                         thread, out, n);
    if (e)
        return e;
    if (*n == 0 || (*out)[0].kind != EK_POST) {
        store_posts_free(*out, *n);
        *out = NULL;
        *n = 0;
        return store_fail(s, HERR_NOT_FOUND, "no such thread");
    }
    e = thread_order(s, *out, *n);
    if (e) {
        store_posts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

herr store_post_get(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct store_post *out)
{
    struct store_post *v;
    size_t n;
    s->err[0] = '\0';
    memset(out, 0, sizeof *out);
    herr e = posts_query(s, "SELECT " POST_COLS "WHERE p.id = ?1 AND p.state = 0", id, &v, &n);
    if (e)
        return e;
    if (n == 0)
        return store_fail(s, HERR_NOT_FOUND, "no such post");
    *out = v[0];
    out->list_base = NULL;
    free(v);
    return HERR_OK;
}

/* ---- boards ---- */

void store_boards_free(struct store_board *b, size_t n)
{
    if (!b)
        return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].name);
        free(b[i].about);
    }
    free(b);
}

static herr boards_run(struct store *s, sqlite3_stmt *q, struct store_board **out, size_t *n)
{
    size_t cap = 0;
    int rc;
    bool oom = false;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && !oom) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct store_board *v = realloc(*out, cap * sizeof *v);
            if (!v) {
                oom = true;
                break;
            }
            *out = v;
        }
        struct store_board *b = &(*out)[(*n)++];
        col_id(q, 0, b->id, HEARTH_ID_LEN);
        b->name = col_dup(q, 1, &oom);
        b->about = col_dup(q, 2, &oom);
        b->created = (uint64_t)sqlite3_column_int64(q, 3);
        b->threads = (uint32_t)sqlite3_column_int(q, 4);
    }
    if (oom)
        return store_fail(s, HERR_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? HERR_OK : store_sqlerr(s, rc, "cannot read boards");
}

herr store_boards(struct store *s, struct store_board **out, size_t *n)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    herr e = prepare(s,
                     "SELECT b.id, b.name, b.about, b.created, (SELECT count(*) FROM posts p "
                     "WHERE p.board = b.id AND p.kind = 3 AND p.state = 0) FROM boards b "
                     "WHERE b.valid = 0 ORDER BY b.created, b.id",
                     &q);
    if (!e)
        e = boards_run(s, q, out, n);
    sqlite3_finalize(q);
    if (e) {
        store_boards_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

/* ---- ids from people ---- */

/* prefix_range - the ids starting with the hex prefix p lie in [lo, hi]. */
static herr prefix_range(struct store *s, const char *p, uint8_t lo[HEARTH_ID_LEN],
                         uint8_t hi[HEARTH_ID_LEN])
{
    size_t n = strlen(p);
    if (n < 4 || n > 2 * HEARTH_ID_LEN)
        return store_fail(s, HERR_USAGE, "'%s' is not an id prefix of 4 to 64 hex digits", p);
    memset(lo, 0, HEARTH_ID_LEN);
    memset(hi, 0xff, HEARTH_ID_LEN);
    for (size_t i = 0; i < n; i++) {
        int c = tolower((unsigned char)p[i]);
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return store_fail(s, HERR_USAGE, "'%s' is not a hex id prefix", p);
        int shift = i % 2 ? 0 : 4;
        lo[i / 2] = (uint8_t)((lo[i / 2] & ~(0xf << shift)) | (v << shift));
        hi[i / 2] = (uint8_t)((hi[i / 2] & ~(0xf << shift)) | (v << shift));
    }
    return HERR_OK;
}

/* match_prefix - the one id of `sql` (binding lo, hi) in range. */
static herr match_prefix(struct store *s, const char *sql, const char *prefix,
                         uint8_t id[HEARTH_ID_LEN], const char *what)
{
    uint8_t lo[HEARTH_ID_LEN], hi[HEARTH_ID_LEN];
    sqlite3_stmt *q = NULL;
    herr e = prefix_range(s, prefix, lo, hi);
    if (!e)
        e = prepare(s, sql, &q);
    int found = 0, rc = SQLITE_DONE;
    if (!e) {
        sq_bind_id(q, 1, lo);
        sq_bind_id(q, 2, hi);
        while (found < 2 && (rc = sqlite3_step(q)) == SQLITE_ROW)
            if (found++ == 0)
                col_id(q, 0, id, HEARTH_ID_LEN);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = store_sqlerr(s, rc, "cannot look the id up");
    }
    sqlite3_finalize(q);
    if (!e && found == 0)
        e = store_fail(s, HERR_NOT_FOUND, "no %s matches '%s'", what, prefix);
    if (!e && found > 1)
        e = store_fail(s, HERR_AMBIGUOUS, "'%s' matches more than one %s", prefix, what);
    return e;
}

herr store_resolve(struct store *s, const char *prefix, uint8_t id[HEARTH_ID_LEN])
{
    s->err[0] = '\0';
    return match_prefix(s, "SELECT id FROM events WHERE id BETWEEN ?1 AND ?2 LIMIT 2", prefix, id,
                        "event");
}

herr store_board_find(struct store *s, const char *name, uint8_t id[HEARTH_ID_LEN])
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = prepare(s,
                     "SELECT id FROM boards WHERE valid = 0 AND name = ?1 COLLATE NOCASE "
                     "ORDER BY created, id LIMIT 1",
                     &q);
    if (e)
        return e;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        col_id(q, 0, id, HEARTH_ID_LEN);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW)
        return HERR_OK;
    if (rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot look the board up");
    size_t n = strlen(name);
    if (n < 4 || strspn(name, "0123456789abcdefABCDEF") != n)
        return store_fail(s, HERR_NOT_FOUND, "no board named '%s'", name);
    return match_prefix(s, "SELECT id FROM boards WHERE valid = 0 AND id BETWEEN ?1 AND ?2 LIMIT 2",
                        name, id, "board");
}

herr store_profile(struct store *s, const uint8_t author[HEARTH_PK_LEN], char **name, char **about)
{
    sqlite3_stmt *q = NULL;
    bool oom = false;
    s->err[0] = '\0';
    *name = *about = NULL;
    herr e = prepare(s, "SELECT name, about FROM profiles WHERE author = ?1", &q);
    if (e)
        return e;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *name = col_dup(q, 0, &oom);
        *about = col_dup(q, 1, &oom);
    }
    sqlite3_finalize(q);
    if (oom) {
        free(*name);
        free(*about);
        *name = *about = NULL;
        return store_fail(s, HERR_NOMEM, "out of memory");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sqlerr(s, rc, "cannot read the profile");
    return HERR_OK;
}

/* ---- stats ---- */

static herr count_sql(struct store *s, const char *sql, uint64_t *v)
{
    sqlite3_stmt *q;
    herr e = prepare(s, sql, &q);
    if (e)
        return e;
    int rc = sqlite3_step(q);
    *v = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? HERR_OK : store_sqlerr(s, rc, "cannot count");
}

herr store_stats(struct store *s, struct store_stats *st)
{
    static const struct {
        size_t off;
        const char *sql;
    } counts[] = {
        {offsetof(struct store_stats, events), "SELECT count(*) FROM events"},
        {offsetof(struct store_stats, pending),
         "SELECT (SELECT count(*) FROM posts WHERE state = 1) + (SELECT count(*) FROM boards "
         "WHERE valid = 1) + (SELECT count(*) FROM events e WHERE e.kind IN (5, 6, 7, 8) AND "
         "NOT EXISTS (SELECT 1 FROM events t WHERE t.id = e.ref))"},
        {offsetof(struct store_stats, purged),
         "SELECT count(*) FROM events WHERE body IS NULL AND kind IN (3, 4, 5, 7, 8, 9)"},
        {offsetof(struct store_stats, boards), "SELECT count(*) FROM boards WHERE valid = 0"},
        {offsetof(struct store_stats, threads),
         "SELECT count(*) FROM posts WHERE kind = 3 AND state = 0"},
        {offsetof(struct store_stats, replies),
         "SELECT count(*) FROM posts WHERE kind = 4 AND state = 0"},
        {offsetof(struct store_stats, authors),
         "SELECT count(*) FROM (SELECT DISTINCT author FROM events)"},
        {offsetof(struct store_stats, forks),
         "SELECT count(*) FROM (SELECT 1 FROM events GROUP BY author, seq HAVING count(*) > 1)"},
        {offsetof(struct store_stats, db_bytes),
         "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"},
    };
    s->err[0] = '\0';
    memset(st, 0, sizeof *st);
    herr e = store_read_begin(s);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0] && !e; i++)
        e = count_sql(s, counts[i].sql, (uint64_t *)((char *)st + counts[i].off));
    store_read_end(s);
    return e;
}

/* ---- moving events ---- */

/* Transfer priority (docs/EVENTS.md): what protects people travels first. */
#define PRIORITY_SQL                                                                               \
    "CASE kind WHEN 10 THEN 0 WHEN 11 THEN 1 WHEN 6 THEN 2 WHEN 1 THEN 3 WHEN 13 THEN 4 "          \
    "WHEN 12 THEN 5 WHEN 2 THEN 6 WHEN 9 THEN 7 WHEN 3 THEN 8 WHEN 4 THEN 9 WHEN 5 THEN 10 "       \
    "WHEN 7 THEN 11 WHEN 8 THEN 12 ELSE 13 END"

static int priority(uint32_t kind)
{
    static const int8_t prio[EK_MAX_KIND + 1] = {
        [EK_ROLE] = 0,  [EK_MOD] = 1,   [EK_RETRACT] = 2, [EK_GENESIS] = 3, [EK_SETTINGS] = 4,
        [EK_RESOURCES] = 5, [EK_BOARD] = 6, [EK_PROFILE] = 7, [EK_POST] = 8, [EK_REPLY] = 9,
        [EK_EDIT] = 10, [EK_REACT] = 11, [EK_FLAG] = 12,
    };
    return kind >= 1 && kind <= EK_MAX_KIND ? prio[kind] : 13;
}

/* emit - call fn with the envelope of the event at `arrival`. */
static herr emit(struct store *s, int64_t arrival, struct hbuf *buf, store_event_fn fn, void *ctx)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_PARTS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n <= 0)
        return e;
    hbuf_reset(buf);
    e = event_envelope(buf, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                       sqlite3_column_blob(q, 1), sqlite3_column_blob(q, 2),
                       (size_t)sqlite3_column_bytes(q, 2));
    sqlite3_reset(q);
    if (e)
        return store_fail(s, e, "cannot rebuild an envelope");
    return fn(ctx, buf->data, buf->len);
}

static herr emit_all(struct store *s, const struct i64vec *evs, store_event_fn fn, void *ctx)
{
    struct hbuf buf;
    herr e = HERR_OK;
    hbuf_init(&buf, HEARTH_MAX_EVENT + 64);
    for (size_t i = 0; i < evs->n && !e; i++)
        e = emit(s, evs->v[i], &buf, fn, ctx);
    hbuf_release(&buf);
    return e;
}

herr store_export(struct store *s, store_event_fn fn, void *ctx)
{
    struct i64vec evs = {0};
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e)
        e = prepare(s, "SELECT arrival FROM events ORDER BY " PRIORITY_SQL ", created, id", &q);
    if (!e)
        e = sq_collect(s, q, &evs, "cannot list events");
    sqlite3_finalize(q);
    if (!e)
        e = emit_all(s, &evs, fn, ctx);
    store_read_end(s);
    i64vec_release(&evs);
    return e;
}

herr store_get(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct hbuf *out)
{
    herr e = HERR_OK;
    s->err[0] = '\0';
    sqlite3_stmt *q = sq(s, Q_EV_PARTS_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n < 0)
        return e;
    if (n == 0)
        return store_fail(s, HERR_NOT_FOUND, "no such event");
    e = event_envelope(out, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0),
                       sqlite3_column_blob(q, 1), sqlite3_column_blob(q, 2),
                       (size_t)sqlite3_column_bytes(q, 2));
    sqlite3_reset(q);
    return e ? store_fail(s, e, "cannot rebuild an envelope") : HERR_OK;
}

/* A held event's place in transfer order. */
struct order_key {
    int prio;
    uint64_t created;
    uint8_t id[HEARTH_ID_LEN];
    int64_t arrival;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order_key *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(x->id, y->id, HEARTH_ID_LEN);
}

static herr order_keys(struct store *s, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n,
                       struct order_key *k, size_t *m)
{
    herr e = HERR_OK;
    *m = 0;
    for (size_t i = 0; i < n && !e; i++) {
        sqlite3_stmt *q = sq(s, Q_EV_BY_ID);
        if (!q)
            return HERR_IO;
        sq_bind_id(q, 1, ids[i]);
        int r = sq_step(s, q, &e, "cannot read an event");
        if (r <= 0)
            continue;
        struct order_key *x = &k[(*m)++];
        x->arrival = sqlite3_column_int64(q, 0);
        x->prio = priority((uint32_t)sqlite3_column_int(q, 1));
        x->created = (uint64_t)sqlite3_column_int64(q, 4);
        memcpy(x->id, ids[i], HEARTH_ID_LEN);
        sqlite3_reset(q);
    }
    return e;
}

herr store_get_many(struct store *s, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n,
                    store_event_fn fn, void *ctx)
{
    struct i64vec evs = {0};
    size_t m = 0;
    s->err[0] = '\0';
    struct order_key *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return store_fail(s, HERR_NOMEM, "out of memory");
    herr e = store_read_begin(s);
    if (!e)
        e = order_keys(s, ids, n, k, &m);
    qsort(k, m, sizeof *k, order_cmp);
    for (size_t i = 0; i < m && !e; i++)
        e = i64vec_push(&evs, k[i].arrival);
    if (!e)
        e = emit_all(s, &evs, fn, ctx);
    store_read_end(s);
    free(k);
    i64vec_release(&evs);
    return e;
}

herr store_has(struct store *s, const uint8_t id[HEARTH_ID_LEN])
{
    herr e = HERR_OK;
    s->err[0] = '\0';
    sqlite3_stmt *q = sq(s, Q_EV_HAS);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot look an event up");
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : n > 0 ? HERR_OK : HERR_NOT_FOUND;
}

herr store_keys_since(struct store *s, uint64_t arrival, store_key_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = prepare(s, "SELECT id, created, arrival FROM events WHERE arrival > ?1 ORDER BY arrival",
                     &q);
    if (e)
        return e;
    sqlite3_bind_int64(q, 1, (int64_t)arrival);
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t id[HEARTH_ID_LEN];
        col_id(q, 0, id, HEARTH_ID_LEN);
        e = fn(ctx, id, (uint64_t)sqlite3_column_int64(q, 1),
               (uint64_t)sqlite3_column_int64(q, 2));
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot list events");
    sqlite3_finalize(q);
    return e;
}

herr store_last_arrival(struct store *s, uint64_t *arrival)
{
    s->err[0] = '\0';
    return count_sql(s, "SELECT coalesce(max(arrival), 0) FROM events", arrival);
}
