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
    case POST_VISIBLE:
        return "visible";
    case POST_RETRACTED:
        return "retracted";
    case POST_REMOVED:
        return "removed";
    case POST_HIDDEN:
        return "hidden";
    case POST_HELD:
        return "held";
    }
    return "unknown";
}

const char *post_hidden_by_name(enum post_hidden_by h)
{
    switch (h) {
    case HIDDEN_BY_MOD:
        return "moderator";
    case HIDDEN_BY_FLAGS:
        return "flags";
    case HIDDEN_BY_BAN:
        return "ban";
    case HIDDEN_BY_NONE:
        break;
    }
    return NULL;
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
    /* NULL for a value that is there: SQLite ran out of memory converting it. */
    const char *v = (const char *)sqlite3_column_text(q, i);
    char *t = v ? strdup(v) : NULL;
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

/* The columns post_fill reads; column 19 is the arrival number, 20 the author's
 * current roles (as numbers), 21 the members whose flags stand. */
// clang-format off
#define POST_COLS                                                                                  \
    "e.id, e.author, b.id, CASE p.kind WHEN 3 THEN e.id ELSE e.root END, "                         \
    "CASE p.kind WHEN 4 THEN e.ref END, p.kind, p.seq, p.created, p.edited, p.depth, p.status, "   \
    "p.locked, p.pinned, "                                                                         \
    WORDS_TITLE("p", "w") ", " WORDS_TEXT("w") ", " WORDS_CW("w") ", "                             \
    "pr.name, p.replies, p.last_activity, p.ev, "                                                  \
    "(SELECT group_concat(role) FROM (SELECT DISTINCT role FROM roles r WHERE r.subject = "        \
    "e.author AND r.valid = 1 AND r.revoked = 0 ORDER BY role)), "                                 \
    "(SELECT count(DISTINCT f.author) FROM events x JOIN flags f ON f.ev = x.arrival WHERE "       \
    "x.ref_ev = p.ev AND x.kind = 8 AND f.live = 1 AND f.author != e.author) "                     \
    "FROM posts p JOIN events e ON e.arrival = p.ev LEFT JOIN boards b ON b.ev = p.board_ev "      \
    "LEFT JOIN profiles pr ON pr.author = e.author LEFT JOIN events w ON w.arrival = p.words_ev "
// clang-format on

/* What the viewer may see: ?8 is true for a moderator, ?9 the viewer's key. Held and
 * hidden posts show to moderators and to their author, who sees what happened. */
#define VISIBLE_SQL " AND (p.status IN (0, 1, 2) OR ?8 OR e.author = ?9) "

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
        free(p[i].mod_reason);
        for (int r = 0; r < STORE_MAX_ROLES; r++)
            free(p[i].role_about[r]);
        for (size_t r = 0; r < p[i].n_flag_reasons; r++)
            free(p[i].flag_reasons[r]);
        free(p[i].flag_reasons);
    }
    if (n > 0 && p[0].list_base == p)
        free(p);
}

static herr reactions_fill(struct store *s, struct store_post *p, int64_t ev)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_REACT_COUNTS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
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

/* roles_text - "founder" for the founder, then the names of the role numbers in
 * `nums` ("1,2"); NULL when none. */
static char *roles_text(const struct store *s, const uint8_t *author, const char *nums, bool *oom)
{
    char buf[128] = "";
    bool founder = s->has_founder && !memcmp(author, s->founder, HEARTH_PK_LEN);
    if (founder)
        snprintf(buf, sizeof buf, "founder");
    for (const char *c = nums; c && *c; c++) {
        if (*c < '1' || *c > '4')
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", care_role_name(*c - '0'));
    }
    if (!buf[0])
        return NULL;
    char *t = strdup(buf);
    if (!t)
        *oom = true;
    return t;
}

/* role_notes - p->role_about, beside the roles in p->author_roles. */
static herr role_notes(struct store *s, struct store_post *p)
{
    char *notes[5] = {0};
    herr e = care_role_notes(s, p->author, notes);
    size_t i = 0;
    for (const char *r = p->author_roles; !e && *r && i < STORE_MAX_ROLES; i++) {
        size_t n = strcspn(r, ",");
        for (int role = 1; role <= 4; role++) {
            const char *name = care_role_name(role);
            if (strlen(name) == n && !strncmp(r, name, n)) {
                p->role_about[i] = notes[role];
                notes[role] = NULL;
            }
        }
        r += n + (r[n] == ',');
    }
    for (int role = 1; role <= 4; role++)
        free(notes[role]);
    return e;
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
    p->flags = (uint32_t)sqlite3_column_int(q, 21);
    p->author_roles = roles_text(s, p->author, (const char *)sqlite3_column_text(q, 20), &oom);
    if (oom)
        return store_fail(s, HERR_NOMEM, "out of memory");
    return p->author_roles ? role_notes(s, p) : HERR_OK;
}

/* A list of posts being filled, with their arrival numbers. */
struct postlist {
    struct store_post *v;
    int64_t *ev;
    size_t n, cap;
};

static herr postlist_next(struct store *s, struct postlist *l, struct store_post **out)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct store_post *v = realloc(l->v, cap * sizeof *v);
        if (v)
            l->v = v;
        int64_t *ev = v ? realloc(l->ev, cap * sizeof *ev) : NULL;
        if (!ev)
            return store_fail(s, HERR_NOMEM, "out of memory");
        l->ev = ev;
        l->cap = cap;
    }
    *out = &l->v[l->n];
    return HERR_OK;
}

/* common_digits - how many first hex digits two keys share. */
static uint32_t common_digits(const uint8_t *a, const uint8_t *b)
{
    uint32_t n = 0;
    for (size_t i = 0; i < HEARTH_PK_LEN; i++, n += 2) {
        if (a[i] == b[i])
            continue;
        return n + ((a[i] >> 4) == (b[i] >> 4));
    }
    return n;
}

/* key_digits - store_key_digits, inside a read. */
static herr key_digits(struct store *s, const uint8_t *author, uint32_t *digits)
{
    herr e = HERR_OK;
    *digits = 8;
    sqlite3_stmt *q = sq(s, Q_NAME_TWINS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n;
    while ((n = sq_step(s, q, &e, "cannot read profiles")) > 0) {
        uint32_t d = common_digits(author, sqlite3_column_blob(q, 0)) + 4;
        d = d < 12 ? 12 : d > 2 * HEARTH_PK_LEN ? 2 * HEARTH_PK_LEN : d;
        if (d > *digits)
            *digits = d;
    }
    return n < 0 ? e : HERR_OK;
}

herr store_key_digits(struct store *s, const uint8_t author[HEARTH_PK_LEN], uint32_t *digits)
{
    s->err[0] = '\0';
    *digits = 8;
    herr e = store_read_begin(s);
    if (!e)
        e = key_digits(s, author, digits);
    store_read_end(s);
    return e;
}

/* why_fill - why p is hidden, and for its author and moderators (`may_see_reason`)
 * the reason of the moderation event behind its state. */
static herr why_fill(struct store *s, struct store_post *p, int64_t ev, bool may_see_reason)
{
    uint8_t mod_id[HEARTH_ID_LEN];
    bool has_mod;
    int why;
    herr e = view_post_why(s, ev, (int)p->status, &why, mod_id, &has_mod);
    if (e)
        return e;
    p->hidden_by = (enum post_hidden_by)why;
    if (!has_mod || !may_see_reason)
        return HERR_OK;
    struct event x;
    e = stored_event_get(s, mod_id, &x);
    if (!e && x.b.reason.p && !(p->mod_reason = strndup(x.b.reason.p, x.b.reason.n)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    return e;
}

/* posts_run - step q (POST_COLS) and append every row to l, with reactions and why
 * each is hidden; `mod` when the viewer moderates. */
static herr posts_run(struct store *s, sqlite3_stmt *q, struct postlist *l, bool mod)
{
    herr e = HERR_OK;
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_post *p = NULL;
        e = postlist_next(s, l, &p);
        if (!e) {
            e = post_fill(s, q, p);
            l->ev[l->n++] = sqlite3_column_int64(q, 19);
        }
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read posts");
    for (size_t i = 0; i < l->n && !e; i++)
        e = reactions_fill(s, &l->v[i], l->ev[i]);
    for (size_t i = 0; i < l->n && !e; i++)
        e = key_digits(s, l->v[i].author, &l->v[i].author_key_digits);
    for (size_t i = 0; i < l->n && !e; i++) {
        bool own = s->has_viewer && !memcmp(l->v[i].author, s->viewer, HEARTH_PK_LEN);
        e = why_fill(s, &l->v[i], l->ev[i], mod || own);
    }
    return e;
}

/* What a posts query binds: ?1 an id, ?2 a text, ?3 a limit, ?4 an offset, ?5 a time;
 * ?8 and ?9 the viewer. With count_sql (binding the same), *total gets its count, read
 * in the same transaction as the posts. */
struct qargs {
    const uint8_t *id;
    const char *text;
    int64_t limit, offset, since;
    const char *count_sql;
    uint64_t *total;
    /* A keyset cursor: ?6 and ?7 two integers, ?10 an id (store_threads_before). */
    bool keyset;
    int64_t k1, k2;
    uint8_t kid[HEARTH_ID_LEN];
};

/* viewer_is_mod - the viewer (store_set_viewer) currently moderates. */
static herr viewer_is_mod(struct store *s, bool *yes)
{
    *yes = false;
    return s->has_viewer ? care_current(s, s->viewer, ROLE_MODERATOR, yes) : HERR_OK;
}

static void qargs_bind(struct store *s, sqlite3_stmt *q, const struct qargs *a, bool mod)
{
    if (a->id)
        sq_bind_id(q, 1, a->id);
    if (a->text)
        sqlite3_bind_text(q, 2, a->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, a->limit);
    sqlite3_bind_int64(q, 4, a->offset);
    sqlite3_bind_int64(q, 5, a->since);
    sqlite3_bind_int(q, 8, mod);
    if (s->has_viewer)
        sqlite3_bind_blob(q, 9, s->viewer, HEARTH_PK_LEN, SQLITE_STATIC);
    if (a->keyset) {
        sqlite3_bind_int64(q, 6, a->k1);
        sqlite3_bind_int64(q, 7, a->k2);
        sqlite3_bind_blob(q, 10, a->kid, HEARTH_ID_LEN, SQLITE_STATIC);
    }
}

/* count_run - a->count_sql's one number into *a->total. */
static herr count_run(struct store *s, const struct qargs *a, bool mod)
{
    sqlite3_stmt *q = NULL;
    herr e = prepare(s, a->count_sql, &q);
    if (e)
        return e;
    qargs_bind(s, q, a, mod);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *a->total = (uint64_t)sqlite3_column_int64(q, 0);
    else
        e = store_sqlerr(s, rc, "cannot count posts");
    sqlite3_finalize(q);
    return e;
}

static herr posts_query(struct store *s, const char *sql, const struct qargs *a,
                        struct store_post **out, size_t *n)
{
    sqlite3_stmt *q = NULL;
    struct postlist l = {0};
    bool mod = false;
    *out = NULL;
    *n = 0;
    herr e = store_read_begin(s);
    if (!e)
        e = viewer_is_mod(s, &mod);
    if (!e && a->count_sql)
        e = count_run(s, a, mod);
    if (!e && sql)
        e = prepare(s, sql, &q);
    if (!e && sql) {
        qargs_bind(s, q, a, mod);
        e = posts_run(s, q, &l, mod);
    }
    sqlite3_finalize(q);
    store_read_end(s);
    free(l.ev);
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

/* The threads of board ?1 that the viewer sees, and their order. */
#define THREADS_WHERE                                                                              \
    "WHERE p.board_ev = (SELECT ev FROM boards WHERE id = ?1) AND p.kind = 3 AND p.state = "       \
    "0" VISIBLE_SQL
#define THREADS_ORDER "ORDER BY p.pinned DESC, p.last_activity DESC, e.id"
/* Counting a board's threads reads the index posts_board alone (status is in it); the
 * author is looked up only for held threads, which few are. */
#define THREADS_COUNT                                                                              \
    "SELECT count(*) FROM posts p WHERE p.board_ev = (SELECT ev FROM boards WHERE id = ?1) AND "   \
    "p.kind = 3 AND p.state = 0 AND (p.status IN (0, 1, 2) OR (p.status = 4 AND (?8 OR "           \
    "(SELECT author FROM events WHERE arrival = p.ev) = ?9)) OR (p.status = 3 AND ?8)) "

/* A page or list size from a caller: 0 means 50. */
static int64_t list_limit(size_t limit)
{
    return limit == 0 ? 50 : limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
}

herr store_threads(struct store *s, const uint8_t board[HEARTH_ID_LEN], struct store_post **out,
                   size_t *n)
{
    s->err[0] = '\0';
    struct qargs a = {.id = board};
    return posts_query(s, "SELECT " POST_COLS THREADS_WHERE THREADS_ORDER, &a, out, n);
}

/* ---- cursors ----
 *
 * A cursor names the last item of a page by the keys its list is ordered by, so the
 * next page starts from there through an index: "K1.K2.ID" (two decimal integers and
 * an id in hex). */

static void cursor_make(char out[STORE_CURSOR_MAX], int64_t k1, int64_t k2,
                        const uint8_t id[HEARTH_ID_LEN])
{
    char hex[2 * HEARTH_ID_LEN + 1];
    hex_encode(hex, id, HEARTH_ID_LEN);
    snprintf(out, STORE_CURSOR_MAX, "%lld.%lld.%s", (long long)k1, (long long)k2, hex);
}

/* dec - a decimal integer of at most 19 digits at *p, up to `stop`; false past
 * INT64_MAX (a cursor from a person or a link is untrusted input). */
static bool dec(const char **p, char stop, int64_t *v)
{
    int64_t x = 0;
    int digits = 0;
    for (; **p >= '0' && **p <= '9' && digits < 19; (*p)++, digits++) {
        int d = **p - '0';
        if (x > (INT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    if (!digits || **p != stop)
        return false;
    if (stop)
        (*p)++;
    *v = x;
    return true;
}

static herr cursor_parse(struct store *s, const char *c, struct qargs *a)
{
    const char *p = c;
    a->keyset = true;
    if (dec(&p, '.', &a->k1) && dec(&p, '.', &a->k2) && strlen(p) == 2 * HEARTH_ID_LEN &&
        hex_decode(a->kid, HEARTH_ID_LEN, p) == HERR_OK)
        return HERR_OK;
    return store_fail(s, HERR_USAGE,
                      "'%.80s' is not a place in this list (give the cursor a page ended with)", c);
}

/* page_cut - a query asked for one more than a page: keep `limit`, and when there
 * was more, name the last kept in next (by k1, k2 and its id). */
static void page_cut(struct store_post *v, size_t *n, size_t limit, char next[STORE_CURSOR_MAX],
                     int64_t k1, int64_t k2)
{
    next[0] = '\0';
    if (*n <= limit)
        return;
    cursor_make(next, k1, k2, v[limit - 1].id);
    store_posts_free(&v[limit], *n - limit);
    *n = limit;
}

/* Threads after a cursor: before it in (pinned DESC, last_activity DESC), or at the
 * same place with a greater id; the row-value comparison is a range of the index
 * posts_board, so a page reads that page's rows (and the threads tied with its
 * last). */
#define THREADS_AFTER                                                                              \
    " AND (p.pinned, p.last_activity) <= (?6, ?7) AND NOT (p.pinned = ?6 AND "                     \
    "p.last_activity = ?7 AND e.id <= ?10) "

herr store_threads_before(struct store *s, const uint8_t board[HEARTH_ID_LEN], const char *before,
                          size_t limit, struct store_post **out, size_t *n,
                          char next[STORE_CURSOR_MAX])
{
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    next[0] = '\0';
    int64_t lim = list_limit(limit);
    if (lim > STORE_PAGE_MAX)
        lim = STORE_PAGE_MAX;
    struct qargs a = {.id = board, .limit = lim + 1, .keyset = true, .k1 = 1, .k2 = INT64_MAX};
    if (before && *before) {
        herr e = cursor_parse(s, before, &a);
        if (e)
            return e;
    }
    herr e = posts_query(
        s, "SELECT " POST_COLS THREADS_WHERE THREADS_AFTER THREADS_ORDER " LIMIT ?3", &a, out, n);
    if (!e && *n > (size_t)lim) {
        const struct store_post *last = &(*out)[lim - 1];
        page_cut(*out, n, (size_t)lim, next, last->pinned, (int64_t)last->last_activity);
    }
    return e;
}

herr store_board_new(struct store *s, const uint8_t board[HEARTH_ID_LEN], uint64_t since_ms,
                     uint32_t *new_threads)
{
    struct store_post *none;
    size_t n;
    uint64_t count = 0;
    s->err[0] = '\0';
    *new_threads = 0;
    struct qargs a = {.id = board,
                      .since = since_ms > INT64_MAX ? INT64_MAX : (int64_t)since_ms,
                      /* pinned IN (0, 1) lets SQLite seek each part of posts_board to
                       * the first thread after since_ms, instead of reading the board. */
                      .count_sql = THREADS_COUNT "AND p.pinned IN (0, 1) AND p.last_activity > ?5",
                      .total = &count};
    herr e = posts_query(s, NULL, &a, &none, &n);
    if (!e)
        *new_threads = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
    return e;
}

herr store_replies_to(struct store *s, const uint8_t author[HEARTH_PK_LEN], uint64_t since_ms,
                      size_t limit, struct store_post **out, size_t *n)
{
    s->err[0] = '\0';
    struct qargs a = {.id = author,
                      .limit = list_limit(limit),
                      .since = since_ms > INT64_MAX ? INT64_MAX : (int64_t)since_ms};
    /* From the author's events (events_author) to the replies that name them
     * (events_ref): the cost follows what the author wrote, not the forum's size. The
     * IN keeps SQLite to that plan: as a join it scanned every reply (events_kind),
     * 80 ms a page on a forum of 20,000 events. */
    return posts_query(s,
                       "SELECT " POST_COLS "WHERE e.ref_ev IN (SELECT arrival FROM events "
                       "WHERE author = ?1 AND +kind IN (3, 4)) AND +e.kind = 4 AND "
                       "e.author != ?1 AND p.created > ?5 AND p.state = 0" VISIBLE_SQL
                       "ORDER BY p.created DESC, e.id DESC LIMIT ?3",
                       &a, out, n);
}

herr store_author_posts(struct store *s, const uint8_t author[HEARTH_PK_LEN], size_t limit,
                        struct store_post **out, size_t *n)
{
    s->err[0] = '\0';
    struct qargs a = {.id = author, .limit = list_limit(limit)};
    return posts_query(s,
                       "SELECT " POST_COLS "WHERE p.ev IN (SELECT arrival FROM events WHERE "
                       "author = ?1 AND +kind IN (3, 4)) AND p.state = 0" VISIBLE_SQL
                       "ORDER BY p.created DESC, e.id DESC LIMIT ?3",
                       &a, out, n);
}

/* Depth-first order of a thread: siblings by (created, id). The replies are sorted
 * by (parent, created, id) through an index array, so that the children of a post are
 * one run found by binary search. */
struct tsort {
    const struct store_post *v; /* the replies, in (created, id) order */
    size_t *idx;                /* v's indices sorted by (parent, created, id) */
    size_t m;
    bool *seen;
    size_t *stack, top;
};

static int by_parent(const void *a, const void *b, void *base)
{
    const struct store_post *x = (const struct store_post *)base + *(const size_t *)a;
    const struct store_post *y = (const struct store_post *)base + *(const size_t *)b;
    int c = memcmp(x->parent, y->parent, HEARTH_ID_LEN);
    if (c)
        return c;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(x->id, y->id, HEARTH_ID_LEN);
}

/* push_children - push the children of `parent`, last first, so the first pops first. */
static void push_children(struct tsort *t, const uint8_t *parent)
{
    size_t lo = 0, hi = t->m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->v[t->idx[mid]].parent, parent, HEARTH_ID_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < t->m && !memcmp(t->v[t->idx[end]].parent, parent, HEARTH_ID_LEN))
        end++;
    while (end > lo)
        t->stack[t->top++] = t->idx[--end];
}

/* walk - emit the subtree below `from` (already pushed) depth-first into out. */
static void walk(struct tsort *t, struct store_post *out, size_t *n)
{
    while (t->top) {
        size_t i = t->stack[--t->top];
        if (t->seen[i])
            continue;
        t->seen[i] = true;
        out[(*n)++] = t->v[i];
        push_children(t, t->v[i].id);
    }
}

/* thread_order - v[0] is the post, v[1..n) its replies in (created, id) order:
 * reorder depth-first. Replies whose parent the viewer may not see follow, each with
 * its own subtree, in (created, id) order. */
static herr thread_order(struct store *s, struct store_post *v, size_t n)
{
    struct tsort t = {.m = n - 1};
    struct store_post *orig = malloc(n * sizeof *orig);
    t.idx = malloc(n * sizeof *t.idx);
    t.seen = calloc(n, sizeof *t.seen);
    t.stack = malloc(n * sizeof *t.stack);
    herr e =
        orig && t.idx && t.seen && t.stack ? HERR_OK : store_fail(s, HERR_NOMEM, "out of memory");
    if (!e) {
        size_t out = 1;
        memcpy(orig, v + 1, t.m * sizeof *orig);
        t.v = orig;
        for (size_t i = 0; i < t.m; i++)
            t.idx[i] = i;
        qsort_r(t.idx, t.m, sizeof *t.idx, by_parent, orig);
        push_children(&t, v[0].id);
        walk(&t, v, &out);
        for (size_t i = 0; i < t.m; i++) {
            if (!t.seen[i])
                t.stack[t.top++] = i;
            walk(&t, v, &out);
        }
    }
    free(orig);
    free(t.idx);
    free(t.seen);
    free(t.stack);
    return e;
}

herr store_thread(struct store *s, const uint8_t thread[HEARTH_ID_LEN], struct store_post **out,
                  size_t *n)
{
    s->err[0] = '\0';
    struct qargs a = {.id = thread};
    herr e = posts_query(s,
                         "WITH RECURSIVE t(ev) AS (SELECT arrival FROM events WHERE id = ?1 "
                         "UNION ALL SELECT x.arrival FROM events x JOIN t ON x.ref_ev = t.ev AND "
                         "x.kind = 4) SELECT " POST_COLS
                         "JOIN t ON t.ev = p.ev WHERE p.state = 0" VISIBLE_SQL
                         "ORDER BY p.kind, p.created, e.id",
                         &a, out, n);
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

/* ---- a thread, a page at a time ----
 *
 * The page is a stretch of the thread's depth-first walk, found by walking from the
 * cursor's reply with one index lookup a step (events_ref is (ref_ev, kind, created)):
 * its first child, else the next sibling of it or of the nearest ancestor that has
 * one. Replies the viewer may not see are walked through, not shown. */

struct tnode {
    int64_t ev, parent, created;
    uint8_t id[HEARTH_ID_LEN];
    bool visible;
};

/* The reply rows a walk reads: arrival, parent, created, id, whether the viewer sees it
 * (?8 moderator, ?9 viewer as in VISIBLE_SQL). */
#define TNODE_COLS                                                                                 \
    "SELECT e.arrival, e.ref_ev, e.created, e.id, coalesce(p.state = 0 AND (p.status IN (0, 1, "   \
    "2) OR ?8 OR e.author = ?9), 0) FROM events e LEFT JOIN posts p ON p.ev = e.arrival "

struct twalk {
    struct store *s;
    sqlite3_stmt *child, *sibling, *node;
    struct tnode cur;
    int64_t root;
};

/* tnode_step - one row of q into t->cur; 1 found, 0 none, -1 error (in *e). */
static int tnode_step(struct twalk *t, sqlite3_stmt *q, herr *e)
{
    int r = sq_step(t->s, q, e, "cannot read the thread");
    if (r > 0) {
        t->cur.ev = sqlite3_column_int64(q, 0);
        t->cur.parent = sqlite3_column_int64(q, 1);
        t->cur.created = sqlite3_column_int64(q, 2);
        col_id(q, 3, t->cur.id, HEARTH_ID_LEN);
        t->cur.visible = sqlite3_column_int(q, 4) != 0;
    }
    sqlite3_reset(q);
    return r;
}

/* twalk_next - move t->cur to the next node of the walk; 0 at the end. */
static int twalk_next(struct twalk *t, herr *e)
{
    sqlite3_reset(t->child);
    sqlite3_bind_int64(t->child, 1, t->cur.ev);
    int r = tnode_step(t, t->child, e);
    while (r == 0 && t->cur.ev != t->root) {
        sqlite3_bind_int64(t->sibling, 1, t->cur.parent);
        sqlite3_bind_int64(t->sibling, 2, t->cur.created);
        sqlite3_bind_blob(t->sibling, 3, t->cur.id, HEARTH_ID_LEN, SQLITE_TRANSIENT);
        r = tnode_step(t, t->sibling, e);
        if (r == 0) {
            sqlite3_bind_int64(t->node, 1, t->cur.parent);
            if ((r = tnode_step(t, t->node, e)) > 0)
                r = 0; /* climbed to the parent: look for its next sibling */
            else if (r == 0)
                return 0; /* a broken link: end the walk */
        }
    }
    return r;
}

static herr twalk_prepare(struct twalk *t, bool mod)
{
    herr e = prepare(t->s,
                     TNODE_COLS "WHERE e.ref_ev = ?1 AND e.kind = 4 ORDER BY e.created, e.id "
                                "LIMIT 1",
                     &t->child);
    if (!e)
        e = prepare(t->s,
                    TNODE_COLS "WHERE e.ref_ev = ?1 AND e.kind = 4 AND e.created >= ?2 AND "
                               "(e.created, e.id) > (?2, ?3) ORDER BY e.created, e.id LIMIT 1",
                    &t->sibling);
    if (!e)
        e = prepare(t->s, TNODE_COLS "WHERE e.arrival = ?1", &t->node);
    sqlite3_stmt *qs[3] = {t->child, t->sibling, t->node};
    for (int i = 0; i < 3 && !e; i++) {
        sqlite3_bind_int(qs[i], 8, mod);
        if (t->s->has_viewer)
            sqlite3_bind_blob(qs[i], 9, t->s->viewer, HEARTH_PK_LEN, SQLITE_STATIC);
    }
    return e;
}

/* twalk_start - the root of `thread` into t->root, and t->cur at the cursor's reply
 * (or the root without one). */
static herr twalk_start(struct twalk *t, const uint8_t thread[HEARTH_ID_LEN], const char *before,
                        bool *at_root)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = t->node;
    struct qargs c = {0};
    *at_root = !before || !*before;
    if (!*at_root && (e = cursor_parse(t->s, before, &c)) != HERR_OK)
        return e;
    int r = 0;
    sqlite3_stmt *byid = NULL;
    e = prepare(t->s, "SELECT arrival, kind FROM events WHERE id = ?1", &byid);
    if (!e) {
        sq_bind_id(byid, 1, thread);
        r = sq_step(t->s, byid, &e, "cannot read the thread");
        if (r > 0 && sqlite3_column_int(byid, 1) == EK_POST) {
            t->root = sqlite3_column_int64(byid, 0);
            sqlite3_bind_int64(q, 1, t->root);
            r = tnode_step(t, q, &e);
        } else if (r > 0) {
            r = 0;
        }
    }
    if (r == 0) {
        sqlite3_finalize(byid);
        return store_fail(t->s, HERR_NOT_FOUND, "no such thread");
    }
    if (r > 0 && !*at_root) {
        /* The cursor's reply: it must be in this thread (its ancestors reach the root). */
        sqlite3_reset(byid);
        sq_bind_id(byid, 1, c.kid);
        r = sq_step(t->s, byid, &e, "cannot read the thread");
        int64_t at = r > 0 ? sqlite3_column_int64(byid, 0) : 0, up = at;
        for (long steps = 0; r > 0 && up != t->root && steps < 10000000; steps++) {
            sqlite3_bind_int64(q, 1, up);
            r = tnode_step(t, q, &e);
            up = t->cur.parent;
        }
        if (r > 0 && up != t->root)
            r = 0;
        if (r > 0) {
            sqlite3_bind_int64(q, 1, at);
            r = tnode_step(t, q, &e);
        }
    }
    sqlite3_finalize(byid);
    if (r < 0)
        return e;
    return r == 0 ? store_fail(t->s, HERR_USAGE, "that cursor is not a place in this thread")
                  : HERR_OK;
}

/* page_order - put v[0..n) in the order of ids[0..n). */
static void page_order(struct store_post *v, size_t n, const uint8_t (*ids)[HEARTH_ID_LEN])
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            if (!memcmp(v[j].id, ids[i], HEARTH_ID_LEN)) {
                struct store_post x = v[i];
                v[i] = v[j];
                v[j] = x;
                break;
            }
    if (n)
        v[0].list_base = v;
    for (size_t i = 1; i < n; i++)
        v[i].list_base = NULL;
}

herr store_thread_before(struct store *s, const uint8_t thread[HEARTH_ID_LEN], const char *before,
                         size_t limit, struct store_post **out, size_t *n,
                         char next[STORE_CURSOR_MAX])
{
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    next[0] = '\0';
    int64_t lim = list_limit(limit);
    lim = lim > STORE_PAGE_MAX ? STORE_PAGE_MAX : lim;
    struct twalk t = {.s = s};
    uint8_t(*ids)[HEARTH_ID_LEN] = malloc((size_t)(lim + 1) * HEARTH_ID_LEN);
    int64_t *evs = malloc((size_t)(lim + 1) * sizeof *evs);
    struct hbuf list;
    hbuf_init(&list, (size_t)(lim + 1) * 24 + 8);
    bool mod = false, at_root = false;
    size_t m = 0;
    herr e = ids && evs ? store_read_begin(s) : store_fail(s, HERR_NOMEM, "out of memory");
    if (!e) {
        e = viewer_is_mod(s, &mod);
        if (!e)
            e = twalk_prepare(&t, mod);
        if (!e)
            e = twalk_start(&t, thread, before, &at_root);
        if (!e && at_root && !t.cur.visible)
            e = store_fail(s, HERR_NOT_FOUND, "no such thread");
        int r = !e;
        if (r && at_root) {
            evs[m] = t.cur.ev;
            memcpy(ids[m++], t.cur.id, HEARTH_ID_LEN);
        }
        while (r > 0 && m < (size_t)lim + 1 && (r = twalk_next(&t, &e)) > 0)
            if (t.cur.visible) {
                evs[m] = t.cur.ev;
                memcpy(ids[m++], t.cur.id, HEARTH_ID_LEN);
            }
        sqlite3_finalize(t.child);
        sqlite3_finalize(t.sibling);
        sqlite3_finalize(t.node);
        store_read_end(s);
    }
    /* The page's posts, by arrival number, in one query; then in the walk's order. */
    char num[32];
    e = e ? e : hbuf_append(&list, "[", 1);
    for (size_t i = 0; i < m && !e; i++) {
        snprintf(num, sizeof num, "%s%lld", i ? "," : "", (long long)evs[i]);
        e = hbuf_append(&list, num, strlen(num));
    }
    if (!e)
        e = hbuf_append(&list, "]", 2);
    struct qargs a = {.text = (const char *)list.data};
    if (!e && m)
        e = posts_query(s, "SELECT " POST_COLS "WHERE p.ev IN (SELECT value FROM json_each(?2))",
                        &a, out, n);
    if (!e && *n != m)
        e = store_fail(s, HERR_BUSY, "the thread changed while it was read: try again");
    if (!e) {
        page_order(*out, *n, (const uint8_t(*)[HEARTH_ID_LEN])ids);
        if (*n > (size_t)lim)
            page_cut(*out, n, (size_t)lim, next, 0, (int64_t)(*out)[lim - 1].created);
    }
    if (e) {
        store_posts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    hbuf_release(&list);
    free(ids);
    free(evs);
    return e;
}

herr store_post_get(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct store_post *out)
{
    struct store_post *v;
    size_t n;
    s->err[0] = '\0';
    memset(out, 0, sizeof *out);
    struct qargs a = {.id = id};
    herr e = posts_query(s,
                         "SELECT " POST_COLS "WHERE p.ev = (SELECT arrival FROM events WHERE "
                         "id = ?1) AND p.state = 0" VISIBLE_SQL,
                         &a, &v, &n);
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
                     "WHERE p.board_ev = b.ev AND p.kind = 3 AND p.state = 0) FROM boards b "
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

herr store_author_find(struct store *s, const char *prefix, uint8_t pk[HEARTH_PK_LEN])
{
    s->err[0] = '\0';
    return match_prefix(
        s,
        "SELECT k FROM (SELECT DISTINCT author AS k FROM events WHERE author BETWEEN "
        "?1 AND ?2 AND signer IS NULL LIMIT 2) UNION SELECT k FROM (SELECT "
        "DISTINCT signer AS k FROM events WHERE signer BETWEEN ?1 AND ?2 LIMIT 2) LIMIT 2",
        prefix, pk, "author");
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

/* ---- moving events ---- */

/* Transfer priority (docs/EVENTS.md): what protects people travels first. */
#define PRIORITY_SQL                                                                               \
    "CASE kind WHEN 10 THEN 0 WHEN 15 THEN 0 WHEN 11 THEN 1 WHEN 6 THEN 2 WHEN 1 THEN 3 WHEN 13 "  \
    "THEN 4 "                                                                                      \
    "WHEN 12 THEN 5 WHEN 2 THEN 6 WHEN 9 THEN 7 WHEN 3 THEN 8 WHEN 4 THEN 9 WHEN 5 THEN 10 "       \
    "WHEN 7 THEN 11 WHEN 8 THEN 12 ELSE 13 END"

static int priority(uint32_t kind)
{
    static const int8_t prio[EK_LAST_KIND + 1] = {
        [EK_ROLE] = 0,     [EK_DEVICE] = 0,    [EK_MOD] = 1,    [EK_RETRACT] = 2, [EK_GENESIS] = 3,
        [EK_SETTINGS] = 4, [EK_RESOURCES] = 5, [EK_BOARD] = 6,  [EK_PROFILE] = 7, [EK_POST] = 8,
        [EK_REPLY] = 9,    [EK_EDIT] = 10,     [EK_REACT] = 11, [EK_FLAG] = 12,   [EK_MESSAGE] = 13,
    };
    return kind >= 1 && kind <= EK_LAST_KIND ? prio[kind] : 13;
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
    return store_export_since(s, 0, fn, ctx);
}

herr store_export_since(struct store *s, uint64_t since_ms, store_event_fn fn, void *ctx)
{
    struct i64vec evs = {0};
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (!e)
        e = prepare(s,
                    "SELECT arrival FROM events WHERE ?1 = 0 OR kind NOT IN (3, 4, 5, 7, 8) OR "
                    "created >= ?1 ORDER BY " PRIORITY_SQL ", created, id",
                    &q);
    if (!e) {
        sqlite3_bind_int64(q, 1, (int64_t)(since_ms > INT64_MAX ? INT64_MAX : since_ms));
        e = sq_collect(s, q, &evs, "cannot list events");
    }
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

/* A held event's place in transfer order: its priority and created time, and where its
 * id is in the caller's array (16 bytes; ties are broken by comparing the ids there). */
struct order_key {
    uint64_t created;
    uint32_t at;
    uint8_t prio;
};

static int order_cmp(const void *a, const void *b, void *ctx)
{
    const struct order_key *x = a, *y = b;
    const uint8_t(*ids)[HEARTH_ID_LEN] = ctx;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(ids[x->at], ids[y->at], HEARTH_ID_LEN);
}

/* Not held: after every held event. */
#define PRIO_UNKNOWN 255

/* The order keys of ids[0..n) into k, *m of them: those held, or with keep_unknown
 * every id (the unknown ones with PRIO_UNKNOWN). */
static herr order_keys(struct store *s, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n,
                       struct order_key *k, size_t *m, bool keep_unknown)
{
    herr e = HERR_OK;
    *m = 0;
    for (size_t i = 0; i < n && !e; i++) {
        sqlite3_stmt *q = sq(s, Q_EV_BY_ID);
        if (!q)
            return HERR_IO;
        sq_bind_id(q, 1, ids[i]);
        int r = sq_step(s, q, &e, "cannot read an event");
        if (r < 0 || (r == 0 && !keep_unknown))
            continue;
        struct order_key *x = &k[(*m)++];
        x->prio = r ? (uint8_t)priority((uint32_t)sqlite3_column_int(q, 1)) : PRIO_UNKNOWN;
        x->created = r ? (uint64_t)sqlite3_column_int64(q, 4) : 0;
        x->at = (uint32_t)i;
        if (r)
            sqlite3_reset(q);
    }
    return e;
}

herr store_get_many(struct store *s, const uint8_t (*ids)[HEARTH_ID_LEN], size_t n,
                    store_event_fn fn, void *ctx)
{
    size_t m = 0;
    s->err[0] = '\0';
    if (n > UINT32_MAX)
        return store_fail(s, HERR_USAGE, "too many ids at once");
    struct order_key *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return store_fail(s, HERR_NOMEM, "out of memory");
    struct hbuf buf;
    hbuf_init(&buf, HEARTH_MAX_EVENT + 64);
    herr e = store_read_begin(s);
    if (!e)
        e = order_keys(s, ids, n, k, &m, false);
    if (!e)
        qsort_r(k, m, sizeof *k, order_cmp, (void *)ids);
    for (size_t i = 0; i < m && !e; i++) {
        hbuf_reset(&buf);
        e = store_get(s, ids[k[i].at], &buf);
        if (!e)
            e = fn(ctx, buf.data, buf.len);
    }
    store_read_end(s);
    hbuf_release(&buf);
    free(k);
    return e;
}

/* Move ids into the order k gives (k[i].at is the id that goes to place i), in place:
 * each cycle of the permutation is followed once, marking k as it goes. */
static void permute(uint8_t (*ids)[HEARTH_ID_LEN], struct order_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (k[i].at == i)
            continue;
        uint8_t tmp[HEARTH_ID_LEN];
        memcpy(tmp, ids[i], HEARTH_ID_LEN);
        size_t j = i;
        for (;;) {
            size_t from = k[j].at;
            k[j].at = (uint32_t)j;
            if (from == i) {
                memcpy(ids[j], tmp, HEARTH_ID_LEN);
                break;
            }
            memcpy(ids[j], ids[from], HEARTH_ID_LEN);
            j = from;
        }
    }
}

herr store_sort_ids(struct store *s, uint8_t (*ids)[HEARTH_ID_LEN], size_t *n)
{
    size_t m = 0, held = 0;
    s->err[0] = '\0';
    if (*n > UINT32_MAX)
        return store_fail(s, HERR_USAGE, "too many ids at once");
    struct order_key *k = malloc((*n ? *n : 1) * sizeof *k);
    if (!k)
        return store_fail(s, HERR_NOMEM, "out of memory");
    herr e = store_read_begin(s);
    if (!e)
        e = order_keys(s, (const uint8_t(*)[HEARTH_ID_LEN])ids, *n, k, &m, true);
    store_read_end(s);
    if (!e) {
        qsort_r(k, m, sizeof *k, order_cmp, ids);
        while (held < m && k[held].prio != PRIO_UNKNOWN)
            held++;
        permute(ids, k, m);
        *n = held;
    }
    free(k);
    return e;
}

/* The kinds in transfer priority order (the order of priority() above): store_stream
 * walks them one after another, and last every kind above EK_LAST_KIND (kinds a later
 * version defines, which this node stores and forwards unread). */
static const uint8_t stream_kinds[] = {
    EK_ROLE,    EK_DEVICE, EK_MOD,   EK_RETRACT, EK_GENESIS, EK_SETTINGS, EK_RESOURCES, EK_BOARD,
    EK_PROFILE, EK_POST,   EK_REPLY, EK_EDIT,    EK_REACT,   EK_FLAG,     EK_MESSAGE,
};

#define STREAM_CLASSES (sizeof stream_kinds / sizeof stream_kinds[0] + 1)
#define STREAM_LATER_KINDS (sizeof stream_kinds / sizeof stream_kinds[0])

/* The events of one kind after the cursor, by (created, id), through events_kind:
 * a seek, not a scan, so that a chunk costs the same at the start and the end of a
 * large replica. created >= ?3 lets the index bound the range; the OR makes it strict;
 * SQLite sorts only the runs of equal created time by id. INDEXED BY, because ordering
 * by events_created instead would read every event to find a rare kind. */
#define STREAM_SQL                                                                                 \
    "SELECT id, created, header, sig, body FROM events INDEXED BY events_kind WHERE kind = ?1 "    \
    "AND arrival <= ?2 AND created >= ?3 AND (created > ?3 OR id > ?4) ORDER BY created, id "      \
    "LIMIT ?5"
/* The last class: every kind above ?1 (few events; sorted). */
#define STREAM_LATER_SQL                                                                           \
    "SELECT id, created, header, sig, body FROM events WHERE kind > ?1 "                           \
    "AND arrival <= ?2 AND created >= ?3 AND (created > ?3 OR id > ?4) ORDER BY created, id "      \
    "LIMIT ?5"

static herr stream_class(struct store *s, sqlite3_stmt *q, struct store_cursor *cur, uint64_t upto,
                         size_t *left, size_t *bytes, struct hbuf *buf, store_stream_fn fn,
                         void *ctx, bool *more)
{
    sqlite3_reset(q);
    sqlite3_bind_int(q, 1, cur->cls < STREAM_LATER_KINDS ? stream_kinds[cur->cls] : EK_LAST_KIND);
    sqlite3_bind_int64(q, 2, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
    sqlite3_bind_int64(q, 3, cur->in_class ? (int64_t)cur->created : -1);
    sqlite3_bind_blob(q, 4, cur->id, cur->in_class ? HEARTH_ID_LEN : 0, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, (int64_t)*left);
    herr e = HERR_OK;
    size_t got = 0;
    int rc = SQLITE_DONE;
    while (!e && *bytes > 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        got++;
        col_id(q, 0, cur->id, HEARTH_ID_LEN);
        cur->created = (uint64_t)sqlite3_column_int64(q, 1);
        cur->in_class = true;
        hbuf_reset(buf);
        e = event_envelope(buf, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2),
                           sqlite3_column_blob(q, 3), sqlite3_column_blob(q, 4),
                           (size_t)sqlite3_column_bytes(q, 4));
        if (e) {
            e = store_fail(s, e, "cannot rebuild an envelope");
            break;
        }
        *bytes = buf->len < *bytes ? *bytes - buf->len : 0;
        e = fn(ctx, cur->id, buf->data, buf->len);
    }
    if (!e && *bytes > 0 && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot list events");
    /* Stopped by the limits rather than by the end of the class: look again. */
    *more = got == *left || *bytes == 0;
    *left -= got;
    return e;
}

herr store_stream(struct store *s, struct store_cursor *cur, uint64_t upto, size_t max,
                  size_t max_bytes, store_stream_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL, *later = NULL;
    s->err[0] = '\0';
    if (cur->done || max == 0 || max_bytes == 0)
        return HERR_OK;
    herr e = prepare(s, STREAM_SQL, &q);
    if (!e)
        e = prepare(s, STREAM_LATER_SQL, &later);
    struct hbuf buf;
    hbuf_init(&buf, HEARTH_MAX_EVENT + 64);
    size_t left = max, bytes = max_bytes;
    while (!e && left > 0 && bytes > 0 && cur->cls < STREAM_CLASSES) {
        bool more;
        e = stream_class(s, cur->cls < STREAM_LATER_KINDS ? q : later, cur, upto, &left, &bytes,
                         &buf, fn, ctx, &more);
        if (!e && !more) {
            cur->cls++;
            cur->in_class = false;
        }
    }
    if (!e && cur->cls >= STREAM_CLASSES)
        cur->done = true;
    hbuf_release(&buf);
    sqlite3_finalize(q);
    sqlite3_finalize(later);
    return e;
}

herr store_ids_in_order(struct store *s, store_id_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = prepare(s, "SELECT id, arrival FROM events ORDER BY id", &q);
    if (e)
        return e;
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t id[HEARTH_ID_LEN];
        col_id(q, 0, id, HEARTH_ID_LEN);
        e = fn(ctx, id, (uint64_t)sqlite3_column_int64(q, 1));
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot list events");
    sqlite3_finalize(q);
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
    herr e = prepare(
        s, "SELECT id, created, arrival FROM events WHERE arrival > ?1 ORDER BY arrival", &q);
    if (e)
        return e;
    sqlite3_bind_int64(q, 1, (int64_t)arrival);
    int rc;
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t id[HEARTH_ID_LEN];
        col_id(q, 0, id, HEARTH_ID_LEN);
        e = fn(ctx, id, (uint64_t)sqlite3_column_int64(q, 1), (uint64_t)sqlite3_column_int64(q, 2));
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

/* ---- community care ---- */

herr store_roles(struct store *s, const uint8_t author[HEARTH_PK_LEN], char **roles)
{
    sqlite3_stmt *q = NULL;
    bool oom = false;
    s->err[0] = '\0';
    *roles = NULL;
    herr e = store_read_begin(s);
    if (!e)
        e = prepare(s,
                    "SELECT group_concat(role) FROM (SELECT DISTINCT role FROM roles WHERE "
                    "subject = ?1 AND valid = 1 AND revoked = 0 ORDER BY role)",
                    &q);
    if (!e) {
        sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            *roles = roles_text(s, author, (const char *)sqlite3_column_text(q, 0), &oom);
        else
            e = store_sqlerr(s, rc, "cannot read roles");
    }
    sqlite3_finalize(q);
    store_read_end(s);
    if (!e && oom)
        e = store_fail(s, HERR_NOMEM, "out of memory");
    return e;
}

herr store_settings(struct store *s, uint64_t *hold, uint64_t *flags)
{
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    *hold = s->hold;
    *flags = s->flag_limit;
    store_read_end(s);
    return e;
}

static herr resources_read(struct store *s, char **text, char **about)
{
    uint64_t ev;
    struct event x;
    herr e = count_sql(s, "SELECT coalesce(resources_ev, 0) FROM config", &ev);
    if (e)
        return e;
    if (ev == 0)
        return store_fail(s, HERR_NOT_FOUND, "this forum has no crisis resources yet");
    sqlite3_stmt *q = sq(s, Q_EV_PARTS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, (int64_t)ev);
    int n = sq_step(s, q, &e, "cannot read the resources");
    if (n <= 0)
        return n < 0 ? e : store_fail(s, HERR_CORRUPT, "the resources event is missing");
    e = stored_event_parse(s, q, 0, &x);
    sqlite3_reset(q);
    if (e)
        return e;
    *text = x.b.text.p ? strndup(x.b.text.p, x.b.text.n) : NULL;
    *about = x.b.about.p ? strndup(x.b.about.p, x.b.about.n) : NULL;
    if ((x.b.text.p && !*text) || (x.b.about.p && !*about))
        return store_fail(s, HERR_NOMEM, "out of memory");
    return HERR_OK;
}

herr store_resources(struct store *s, char **text, char **about)
{
    s->err[0] = '\0';
    *text = *about = NULL;
    herr e = store_read_begin(s);
    if (!e)
        e = resources_read(s, text, about);
    store_read_end(s);
    if (e) {
        free(*text);
        free(*about);
        *text = *about = NULL;
    }
    return e;
}

/* A search ranks its matches (bm25) when at most this many posts match; past that,
 * ranking would read and sort every match of a common word (seconds at a million
 * posts), so the newest matches come first instead. */
#define SEARCH_RANKED 2000

/* search_words - the words of a person's query as an FTS5 query: each word quoted
 * (so nothing in it is FTS syntax), all of them required. */
static herr search_words(struct store *s, const char *query, struct hbuf *out)
{
    herr e = HERR_OK;
    size_t words = 0;
    for (const char *p = query; *p && !e;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        e = words ? hbuf_append(out, " \"", 2) : hbuf_append(out, "\"", 1);
        words++;
        for (; !e && *p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'; p++)
            e = hbuf_append(out, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
        if (!e)
            e = hbuf_append(out, "\"", 1);
    }
    if (!e)
        e = hbuf_append(out, "", 1);
    if (e)
        return store_fail(s, e, "the search is too long");
    return words ? HERR_OK : store_fail(s, HERR_USAGE, "nothing to search for");
}

/* search_catch_up - index the posts that arrived since the index was last brought up
 * to date (ingest does not pay for the index). */
static herr exec_write(struct store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HERR_OK : store_sqlerr(s, rc, "cannot update the search index");
}

/* What the search index is given for the posts of table T that have words (the index
 * keeps no copy: search_out in view.c gives the same back to take a post out). */
// clang-format off
#define SEARCH_WORDS(T)                                                                            \
    "p.ev, " WORDS_TITLE("p", "w") ", " WORDS_TEXT("w") " FROM " T " p "                           \
    "JOIN events w ON w.arrival = p.words_ev"
// clang-format on

static herr search_catch_up(struct store *s)
{
    herr e = store_write_begin(s);
    if (e)
        return e;
    sqlite3_stmt *q = NULL;
    e = prepare(s,
                "INSERT INTO search(rowid, title, text) SELECT " SEARCH_WORDS(
                    "posts") " WHERE p.ev > ?1 AND p.state = 0 AND p.status = 0",
                &q);
    if (!e) {
        sqlite3_bind_int64(q, 1, s->search_upto);
        e = sq_exec(s, q, "cannot update the search index");
    }
    sqlite3_finalize(q);
    if (!e)
        e = exec_write(s,
                       "UPDATE config SET search_upto = (SELECT coalesce(max(ev), 0) FROM posts)");
    return store_write_end(s, e);
}

/* search_late - a store that cannot write (a read-only data directory) cannot bring
 * its index up to date: the posts the index lacks are indexed in a temporary table
 * (memory, or SQLite's temporary directory) for this connection instead. */
static herr search_late(struct store *s)
{
    if (s->search_late)
        return HERR_OK;
    sqlite3_stmt *q = NULL;
    herr e = exec_write(s, "CREATE VIRTUAL TABLE temp.search_late USING fts5(title, text, "
                           "content = '', tokenize = 'unicode61')");
    if (!e)
        e = prepare(s,
                    "INSERT INTO temp.search_late(rowid, title, text) SELECT " SEARCH_WORDS(
                        "main.posts") " WHERE p.ev > ?1 AND p.state = 0 AND p.status = 0",
                    &q);
    if (!e) {
        sqlite3_bind_int64(q, 1, s->search_upto);
        e = sq_exec(s, q, "cannot index the newest posts");
    }
    sqlite3_finalize(q);
    s->search_late = !e;
    return e;
}

/* search_ready - the words of query as an FTS5 query into words, and the index
 * brought up to date (or, read-only, the rest indexed for this connection). */
static herr search_ready(struct store *s, const char *query, struct hbuf *words)
{
    herr e = search_words(s, query, words);
    /* A store another process is writing still answers, from the index as it is; one
     * that cannot write (read-only, or a full disk) indexes the rest for this run. */
    bool late = s->readonly;
    if (!e && !late && (e = search_catch_up(s)) == HERR_BUSY) {
        e = HERR_OK;
    } else if (e == HERR_FULL || e == HERR_READONLY) {
        e = HERR_OK;
        late = true;
    }
    if (!e && late && (e = store_read_begin(s)) == HERR_OK) {
        e = search_late(s);
        store_read_end(s);
    }
    return e;
}

/* search_common - whether more than SEARCH_RANKED posts match: reads at most that
 * many rowids of the index (each arm of the union stops at the limit). */
static herr search_common(struct store *s, const char *words, bool *common)
{
    sqlite3_stmt *q = NULL;
    char sql[512];
    if (s->search_late)
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT count(*) FROM (SELECT rowid FROM search WHERE search MATCH ?1 "
                 "LIMIT %d)) + (SELECT count(*) FROM (SELECT rowid FROM search_late WHERE "
                 "search_late MATCH ?1 LIMIT %d))",
                 SEARCH_RANKED + 1, SEARCH_RANKED + 1);
    else
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM (SELECT rowid FROM search WHERE search MATCH ?1 LIMIT %d)",
                 SEARCH_RANKED + 1);
    herr e = store_read_begin(s);
    if (!e)
        e = prepare(s, sql, &q);
    if (!e) {
        sqlite3_bind_text(q, 1, words, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            *common = sqlite3_column_int64(q, 0) > SEARCH_RANKED;
        else
            e = store_sqlerr(s, rc, "cannot search");
    }
    sqlite3_finalize(q);
    store_read_end(s);
    return e;
}

/* The matches of ?2 in the index (and in search_late when there is one), as m(r, rank). */
#define SEARCH_MAIN "SELECT rowid AS r, bm25(search) AS rank FROM search WHERE search MATCH ?2"
#define SEARCH_LATE                                                                                \
    " UNION ALL SELECT rowid, bm25(search_late) FROM search_late WHERE search_late MATCH ?2"
/* Newest first: posts before the cursor's arrival number ?7, in arrival order
 * backwards, which FTS5 gives without sorting (the late table holds only posts newer
 * than the index). */
#define SEARCH_NEWEST_MAIN "SELECT rowid AS r FROM search WHERE search MATCH ?2 AND rowid < ?7"
#define SEARCH_NEWEST_LATE                                                                         \
    "SELECT rowid AS r FROM search_late WHERE search_late MATCH ?2 AND rowid < ?7"

herr store_search_before(struct store *s, const char *query, const char *before, size_t limit,
                         struct store_post **out, size_t *n, char next[STORE_CURSOR_MAX])
{
    struct hbuf words;
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    next[0] = '\0';
    int64_t lim = list_limit(limit);
    lim = lim > STORE_PAGE_MAX ? STORE_PAGE_MAX : lim;
    /* A cursor "1.PLACE.ID" continues a ranked list at PLACE; "0.ARRIVAL.ID" a list of
     * the newest matches below ARRIVAL (a number of this node's, as cursors are). */
    struct qargs a = {.limit = lim + 1, .keyset = true, .k1 = -1, .k2 = INT64_MAX};
    if (before && *before) {
        herr e = cursor_parse(s, before, &a);
        if (e)
            return e;
        if (a.k1 > 1 || (a.k1 == 1 && a.k2 > SEARCH_RANKED))
            return store_fail(s, HERR_USAGE, "'%.80s' is not a place in this list", before);
    }
    hbuf_init(&words, 4096);
    herr e = search_ready(s, query, &words);
    a.text = (const char *)words.data;
    bool common = a.k1 == 0;
    if (!e && a.k1 < 0)
        e = search_common(s, a.text, &common);
    if (!e && common) {
        a.k1 = 0;
        e = posts_query(s,
                        s->search_late
                            ? "SELECT " POST_COLS "JOIN (SELECT r FROM (" SEARCH_NEWEST_LATE
                              " ORDER BY r DESC) UNION ALL SELECT r FROM (" SEARCH_NEWEST_MAIN
                              " ORDER BY r DESC)) m ON m.r = p.ev WHERE p.state = 0" VISIBLE_SQL
                              "ORDER BY p.ev DESC LIMIT ?3"
                            : "SELECT " POST_COLS "JOIN search ON search.rowid = p.ev WHERE search "
                              "MATCH ?2 AND search.rowid < ?7 AND p.state = 0" VISIBLE_SQL
                              "ORDER BY search.rowid DESC LIMIT ?3",
                        &a, out, n);
    } else if (!e) {
        a.offset = a.k1 == 1 ? a.k2 : 0;
        a.k1 = 1;
        e = posts_query(s,
                        s->search_late ? "SELECT " POST_COLS "JOIN (" SEARCH_MAIN SEARCH_LATE
                                         ") m ON m.r = p.ev WHERE p.state = 0" VISIBLE_SQL
                                         "ORDER BY m.rank, p.ev LIMIT ?3 OFFSET ?4"
                                       : "SELECT " POST_COLS "JOIN (" SEARCH_MAIN
                                         ") m ON m.r = p.ev WHERE p.state = 0" VISIBLE_SQL
                                         "ORDER BY m.rank, p.ev LIMIT ?3 OFFSET ?4",
                        &a, out, n);
    }
    hbuf_release(&words);
    if (!e && *n > (size_t)lim) {
        /* The next page of newest matches starts below the last one's arrival number. */
        int64_t k2 = a.offset + lim;
        if (a.k1 == 0) {
            sqlite3_stmt *q = sq(s, Q_EV_BY_ID);
            e = q ? HERR_OK : HERR_IO;
            if (q) {
                sq_bind_id(q, 1, (*out)[lim - 1].id);
                if (sq_step(s, q, &e, "cannot search") > 0) {
                    k2 = sqlite3_column_int64(q, 0);
                    sqlite3_reset(q);
                }
            }
        }
        if (!e)
            page_cut(*out, n, (size_t)lim, next, a.k1, k2);
    }
    if (e) {
        store_posts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}

herr store_search(struct store *s, const char *query, size_t limit, struct store_post **out,
                  size_t *n)
{
    char next[STORE_CURSOR_MAX];
    return store_search_before(s, query, NULL, limit, out, n, next);
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') ||
           ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* mentions - text holds "@name" with no word byte just before the @ or after the name. */
static bool mentions(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text ? strchr(text, '@') : NULL; p; p = strchr(p + 1, '@'))
        if ((p == text || !word_byte((unsigned char)p[-1])) && strncasecmp(p + 1, name, n) == 0 &&
            !word_byte((unsigned char)p[1 + n]))
            return true;
    return false;
}

herr store_mentions(struct store *s, const uint8_t author[HEARTH_PK_LEN], uint64_t since_ms,
                    size_t limit, struct store_post **out, size_t *n)
{
    char *name = NULL, *about = NULL;
    *out = NULL;
    *n = 0;
    herr e = store_profile(s, author, &name, &about);
    free(about);
    if (e || !name) {
        free(name);
        return e;
    }
    /* The name as one phrase of the index (its words in order; "@" is no token). */
    struct hbuf phrase;
    hbuf_init(&phrase, 4 * HEARTH_MAX_NAME + 8);
    e = hbuf_append(&phrase, "\"", 1);
    for (const char *p = name; *p && !e; p++)
        e = hbuf_append(&phrase, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    if (!e)
        e = hbuf_append(&phrase, "\"", 2); /* with the NUL */
    if (!e && !s->readonly && (e = search_catch_up(s)) == HERR_BUSY)
        e = HERR_OK;
    size_t want = limit ? limit : 50;
    struct qargs a = {.id = author,
                      .text = (const char *)phrase.data,
                      .limit = (int64_t)(4 * want),
                      .since = since_ms > INT64_MAX ? INT64_MAX : (int64_t)since_ms};
    if (!e)
        e = posts_query(s,
                        "SELECT " POST_COLS "JOIN search ON search.rowid = p.ev WHERE search "
                        "MATCH ?2 AND p.state = 0 AND e.author != ?1 AND p.created > ?5" VISIBLE_SQL
                        "ORDER BY p.created DESC, e.id DESC LIMIT ?3",
                        &a, out, n);
    hbuf_release(&phrase);
    size_t kept = 0;
    for (size_t i = 0; !e && i < *n; i++) {
        if (kept < want && (mentions((*out)[i].text, name) || mentions((*out)[i].title, name))) {
            struct store_post t = (*out)[kept];
            (*out)[kept++] = (*out)[i];
            (*out)[i] = t;
        }
    }
    /* The list is freed through its first element's list_base, which the moves above
     * may have carried elsewhere: back to the first. */
    for (size_t i = 1; !e && i < *n; i++)
        if ((*out)[i].list_base) {
            (*out)[0].list_base = (*out)[i].list_base;
            (*out)[i].list_base = NULL;
        }
    if (!e && kept == 0) {
        store_posts_free(*out, *n);
        *out = NULL;
    } else if (!e) {
        store_posts_free(*out + kept, *n - kept); /* the elements only: not the list */
    }
    if (!e)
        *n = kept;
    free(name);
    return e;
}

/* flag_reasons - p->flag_reasons, as store_mod_queue gives them. */
static herr flag_reasons(struct store *s, struct store_post *p)
{
    sqlite3_stmt *q = NULL;
    bool oom = false;
    int rc = SQLITE_DONE;
    herr e = prepare(s,
                     "SELECT f.reason FROM events p JOIN events x ON x.ref_ev = p.arrival JOIN "
                     "flags f ON f.ev = x.arrival WHERE p.id = ?1 AND x.kind = 8 AND f.live = 1 "
                     "AND f.author != p.author AND f.reason IS NOT NULL ORDER BY x.created, x.id",
                     &q);
    if (!e) {
        sq_bind_id(q, 1, p->id);
        while (!oom && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            char **grown = realloc(p->flag_reasons, (p->n_flag_reasons + 1) * sizeof *grown);
            if (!grown) {
                oom = true;
                break;
            }
            p->flag_reasons = grown;
            if ((grown[p->n_flag_reasons] = col_dup(q, 0, &oom)))
                p->n_flag_reasons++;
        }
        if (!oom && rc != SQLITE_DONE)
            e = store_sqlerr(s, rc, "cannot read the flags' reasons");
    }
    sqlite3_finalize(q);
    return !e && oom ? store_fail(s, HERR_NOMEM, "out of memory") : e;
}

herr store_mod_queue(struct store *s, struct store_post **out, size_t *n)
{
    bool mod = false;
    s->err[0] = '\0';
    *out = NULL;
    *n = 0;
    herr e = store_read_begin(s);
    if (!e)
        e = viewer_is_mod(s, &mod);
    store_read_end(s);
    if (!e && !mod)
        e = store_fail(s, HERR_DENIED, "only moderators see the moderation queue");
    /* Flagged and not yet looked at by a current moderator (?1: the founder) since the
     * newest flag came in: a post approved out of the hold and flagged later is
     * waiting again. The queue is this hub's to-do list, so "since" is by arrival here. */
    struct qargs a = {.id = s->has_founder ? s->founder : NULL};
    if (!e)
        e = posts_query(
            s,
            "SELECT " POST_COLS "WHERE p.state = 0 AND (p.status = 4 OR (p.status IN (0, 3) AND "
            "EXISTS (SELECT 1 FROM events x JOIN flags f ON f.ev = x.arrival WHERE x.ref_ev = "
            "p.ev AND x.kind = 8 AND f.live = 1 AND f.author != e.author) AND NOT EXISTS "
            "(SELECT 1 FROM events x JOIN mods m ON m.ev = x.arrival WHERE x.ref_ev = p.ev AND "
            "x.kind = 11 AND m.action IN (1, 2, 3, 10) AND x.arrival > (SELECT max(y.arrival) "
            "FROM events y JOIN flags g ON g.ev = y.arrival WHERE y.ref_ev = p.ev AND "
            "y.kind = 8 AND g.live = 1 AND g.author != e.author) AND (x.author = ?1 OR EXISTS "
            "(SELECT 1 "
            "FROM roles r WHERE r.subject = x.author AND r.role <= 2 AND r.valid = 1 AND "
            "r.revoked = 0)))))" VISIBLE_SQL "ORDER BY p.created, e.id",
            &a, out, n);
    if (!e && !(e = store_read_begin(s))) {
        for (size_t i = 0; i < *n && !e; i++)
            e = flag_reasons(s, &(*out)[i]);
        store_read_end(s);
    }
    if (e) {
        store_posts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return e;
}
