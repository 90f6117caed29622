/* view.c - applying events to the forum view.
 *
 * The view is a pure function of the set of events. Every function here recomputes
 * the derived state of one entity from all the events that reference it (a post's
 * text from its author's live edits, its status from retractions...), never from a
 * delta, so the order in which events arrive cannot matter. When an entity's state
 * changes, the entities that depend on it (a post's replies, a board's posts) are
 * recomputed in turn; the references form a DAG (an id is the hash of a header that
 * names its references), so this ends.
 *
 * Rules (docs/EVENTS.md, "The view"):
 * - a post's board must be a valid board; a reply's root must be a post and its parent
 *   the root or a reply of the same root. A reference that has not arrived leaves the
 *   event pending; a wrong one leaves it invalid. Both have no effect.
 * - the version of a post in force is the one with the greatest (seq, id) among the
 *   post itself and its author's edits that are not retracted; (seq, id) order breaks
 *   a fork's seq tie by the higher id. The title is the one of the greatest version
 *   that carries a title (posts only); text and cw are the winner's.
 * - a retraction counts only when its author is the target's author; it purges the
 *   target's body (and, for a post or reply, every edit's body) for good.
 * - a board counts only when its author is the founder.
 * - a reaction counts once per (author, target, reaction); a profile is the author's
 *   greatest (seq, id) profile that is not retracted.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* A row of events, the parts the view needs. */
struct evrow {
    int64_t arrival, ref_ev; /* ref_ev: the target's arrival, 0 while it is not held */
    uint32_t kind;
    uint8_t author[HEARTH_PK_LEN];
    uint64_t seq, created;
    bool has_ref, purged;
    uint8_t ref[HEARTH_ID_LEN], id[HEARTH_ID_LEN];
};

/* A post or reply's fixed facts and derived state (a row of posts). For a post,
 * root is its own id and parent is its board's id. root_ev and board_ev are set only
 * while the state is PS_OK, so that nothing in the view depends on arrival order. */
struct postrow {
    int64_t ev, root_ev, board_ev;
    uint32_t kind;
    uint8_t id[HEARTH_ID_LEN], author[HEARTH_PK_LEN];
    uint8_t root[HEARTH_ID_LEN], parent[HEARTH_ID_LEN];
    uint64_t seq, created;
    int state, depth, status;
};

/* The version in force of a post. Strings are owned. */
struct content {
    int status;
    char *title, *text, *cw;
    uint64_t edited;
};

static void content_release(struct content *c)
{
    free(c->title);
    free(c->text);
    free(c->cw);
    memset(c, 0, sizeof *c);
}

static herr post_refresh(struct store *s, int64_t ev, bool content);

/* ---- reading ---- */

static void row_from_stmt(sqlite3_stmt *q, struct evrow *r)
{
    r->arrival = sqlite3_column_int64(q, 0);
    r->kind = (uint32_t)sqlite3_column_int(q, 1);
    memcpy(r->author, sqlite3_column_blob(q, 2), HEARTH_PK_LEN);
    r->seq = (uint64_t)sqlite3_column_int64(q, 3);
    r->created = (uint64_t)sqlite3_column_int64(q, 4);
    r->has_ref = sqlite3_column_bytes(q, 5) == HEARTH_ID_LEN;
    if (r->has_ref)
        memcpy(r->ref, sqlite3_column_blob(q, 5), HEARTH_ID_LEN);
    r->ref_ev = sqlite3_column_int64(q, 6);
}

/* ev_find - the event `id`, when held (*found). */
static herr ev_find(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct evrow *r, bool *found)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read an event");
    *found = n > 0;
    if (n > 0) {
        row_from_stmt(q, r);
        memcpy(r->id, id, HEARTH_ID_LEN);
        sqlite3_reset(q);
    }
    return n < 0 ? e : HERR_OK;
}

static herr ev_row(struct store *s, int64_t arrival, struct evrow *r)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_ROW);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n == 0)
        return store_fail(s, HERR_CORRUPT, "an event of the view is missing");
    if (n < 0)
        return e;
    row_from_stmt(q, r);
    memcpy(r->id, sqlite3_column_blob(q, 7), HEARTH_ID_LEN);
    r->purged = sqlite3_column_int(q, 8) != 0;
    sqlite3_reset(q);
    return HERR_OK;
}

herr view_parse_stored(struct store *s, sqlite3_stmt *q, int col, struct event *ev)
{
    const void *body = sqlite3_column_blob(q, col + 2);
    hbuf_reset(&s->scratch);
    herr e = event_envelope(&s->scratch, sqlite3_column_blob(q, col),
                            (size_t)sqlite3_column_bytes(q, col), sqlite3_column_blob(q, col + 1),
                            body, (size_t)sqlite3_column_bytes(q, col + 2));
    if (!e && sqlite3_column_bytes(q, col + 1) != HEARTH_SIG_LEN)
        e = HERR_MALFORMED;
    if (!e)
        e = event_parse(ev, s->scratch.data, s->scratch.len, NULL);
    if (e == HERR_NOMEM)
        return store_fail(s, e, "out of memory");
    return e ? store_fail(s, HERR_CORRUPT, "a stored event does not parse") : HERR_OK;
}

/* parse_arrival - parse the stored event `arrival` (borrowing s->scratch). */
static herr parse_arrival(struct store *s, int64_t arrival, struct event *ev)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_PARTS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n == 0)
        return store_fail(s, HERR_CORRUPT, "an event of the view is missing");
    if (n < 0)
        return e;
    e = view_parse_stored(s, q, 0, ev);
    sqlite3_reset(q);
    return e;
}

/* is_retracted - a retraction by `author` of the event at `arrival` is held. */
static herr is_retracted(struct store *s, int64_t arrival, const uint8_t *author, bool *yes)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_RETRACTED);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    sqlite3_bind_blob(q, 2, author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read retractions");
    *yes = n > 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

static herr purge(struct store *s, int64_t arrival)
{
    sqlite3_stmt *q = sq(s, Q_EV_PURGE);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    return sq_exec(s, q, "cannot purge a body");
}

static bool purgeable(uint32_t kind)
{
    return kind == EK_POST || kind == EK_REPLY || kind == EK_EDIT || kind == EK_REACT ||
           kind == EK_FLAG || kind == EK_PROFILE;
}

static char *hstr_dup(struct hstr h)
{
    return h.p ? strndup(h.p, h.n) : NULL;
}

/* ---- posts: the references of one post ---- */

struct refrow {
    int64_t arrival;
    uint32_t kind;
    uint8_t author[HEARTH_PK_LEN];
    uint64_t seq, created;
    uint8_t id[HEARTH_ID_LEN];
    bool purged;
};

struct refs {
    struct refrow *v;
    size_t n, cap;
};

static void refs_release(struct refs *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

static herr refs_push(struct refs *r, sqlite3_stmt *q)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct refrow *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return HERR_NOMEM;
        r->v = v;
        r->cap = cap;
    }
    struct refrow *x = &r->v[r->n++];
    x->arrival = sqlite3_column_int64(q, 0);
    x->kind = (uint32_t)sqlite3_column_int(q, 1);
    memcpy(x->author, sqlite3_column_blob(q, 2), HEARTH_PK_LEN);
    x->seq = (uint64_t)sqlite3_column_int64(q, 3);
    memcpy(x->id, sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
    x->purged = sqlite3_column_int(q, 5) != 0;
    x->created = (uint64_t)sqlite3_column_int64(q, 6);
    return HERR_OK;
}

/* refs_load - every event whose ref is the event at `arrival`. */
static herr refs_load(struct store *s, int64_t arrival, struct refs *out)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_EV_REFS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    int n;
    while ((n = sq_step(s, q, &e, "cannot read references")) > 0) {
        e = refs_push(out, q);
        if (e) {
            sqlite3_reset(q);
            return store_fail(s, e, "out of memory");
        }
    }
    return n < 0 ? e : HERR_OK;
}

/* (seq, id) order: the last writer wins, a seq tie goes to the higher id. */
static int version_cmp(uint64_t sa, const uint8_t *ia, uint64_t sb, const uint8_t *ib)
{
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return memcmp(ia, ib, HEARTH_ID_LEN);
}

static int refrow_desc(const void *a, const void *b)
{
    const struct refrow *x = a, *y = b;
    return version_cmp(y->seq, y->id, x->seq, x->id);
}

/* live_versions - the post's own version (when it has a body) and its author's
 * edits that have a body and are not retracted, greatest (seq, id) first. */
static herr live_versions(struct store *s, const struct postrow *p, bool own_body,
                          const struct refs *r, struct refs *out)
{
    herr e = HERR_OK;
    for (size_t i = 0; i < r->n && !e; i++) {
        const struct refrow *x = &r->v[i];
        if (x->kind != EK_EDIT || x->purged || memcmp(x->author, p->author, HEARTH_PK_LEN))
            continue;
        bool gone;
        e = is_retracted(s, x->arrival, x->author, &gone);
        if (!e && !gone) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 8;
                struct refrow *v = realloc(out->v, cap * sizeof *v);
                if (!v)
                    return store_fail(s, HERR_NOMEM, "out of memory");
                out->v = v, out->cap = cap;
            }
            out->v[out->n++] = *x;
        }
    }
    if (!e && own_body) {
        struct refrow own = {.arrival = p->ev, .kind = p->kind, .seq = p->seq};
        memcpy(own.id, p->id, HEARTH_ID_LEN);
        if (out->n == out->cap) {
            struct refrow *v = realloc(out->v, (out->cap + 1) * sizeof *v);
            if (!v)
                return store_fail(s, HERR_NOMEM, "out of memory");
            out->v = v, out->cap++;
        }
        out->v[out->n++] = own;
    }
    if (!e)
        qsort(out->v, out->n, sizeof *out->v, refrow_desc);
    return e;
}

/* version_body - the parsed body of a version; the post's own one may be given. */
static herr version_body(struct store *s, const struct refrow *v, const struct postrow *p,
                         const struct event *own, struct event *ev)
{
    if (v->arrival == p->ev && own) {
        *ev = *own;
        return HERR_OK;
    }
    return parse_arrival(s, v->arrival, ev);
}

/* content_pick - text and cw of the greatest version, title of the greatest that
 * carries one. */
static herr content_pick(struct store *s, const struct postrow *p, const struct event *own,
                         const struct refs *vers, struct content *c)
{
    struct event ev;
    for (size_t i = 0; i < vers->n; i++) {
        herr e = version_body(s, &vers->v[i], p, own, &ev);
        if (e)
            return e;
        if (i == 0) {
            c->text = hstr_dup(ev.b.text);
            c->cw = hstr_dup(ev.b.cw);
            c->edited = vers->v[0].kind == EK_EDIT ? vers->v[0].created : 0;
            if ((ev.b.text.p && !c->text) || (ev.b.cw.p && !c->cw))
                return store_fail(s, HERR_NOMEM, "out of memory");
        }
        if (p->kind != EK_POST || !ev.b.title.p)
            continue;
        c->title = hstr_dup(ev.b.title);
        return c->title ? HERR_OK : store_fail(s, HERR_NOMEM, "out of memory");
    }
    return HERR_OK;
}

/* purge_post - a retracted post: its body and every edit's body go. */
static herr purge_post(struct store *s, const struct postrow *p, const struct refs *r)
{
    herr e = purge(s, p->ev);
    for (size_t i = 0; i < r->n && !e; i++)
        if (r->v[i].kind == EK_EDIT && !r->v[i].purged)
            e = purge(s, r->v[i].arrival);
    return e;
}

/* compute_content - the status and version in force of p. own is p's parsed event
 * when the caller has it (a fresh arrival), else NULL; `referenced` is false when no
 * event can refer to p yet (a fresh arrival nobody waited for). */
static herr compute_content(struct store *s, const struct postrow *p, const struct event *own,
                            bool own_body, bool referenced, struct content *c)
{
    struct refs r = {0}, vers = {0};
    herr e = referenced ? refs_load(s, p->ev, &r) : HERR_OK;
    bool retracted = false;
    for (size_t i = 0; i < r.n && !e; i++)
        if (r.v[i].kind == EK_RETRACT && !memcmp(r.v[i].author, p->author, HEARTH_PK_LEN))
            retracted = true;
    memset(c, 0, sizeof *c);
    if (!e && retracted) {
        c->status = POST_RETRACTED;
        e = purge_post(s, p, &r);
    } else if (!e) {
        c->status = POST_VISIBLE;
        e = live_versions(s, p, own_body, &r, &vers);
        if (!e)
            e = content_pick(s, p, own, &vers, c);
    }
    refs_release(&r);
    refs_release(&vers);
    return e;
}

/* ---- posts: state from references ---- */

struct target {
    bool held;
    int64_t ev;
    uint32_t kind; /* 0 when held but not a post or reply */
    int state, depth;
    uint8_t root[HEARTH_ID_LEN], board[HEARTH_ID_LEN];
    bool has_board;
};

static herr target_find(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct target *t)
{
    herr e = HERR_OK;
    memset(t, 0, sizeof *t);
    sqlite3_stmt *q = sq(s, Q_POST_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read a post");
    if (n <= 0)
        return n < 0 ? e : HERR_OK;
    t->held = true;
    t->ev = sqlite3_column_int64(q, 0);
    if (sqlite3_column_type(q, 1) != SQLITE_NULL) {
        t->kind = (uint32_t)sqlite3_column_int(q, 1);
        t->state = sqlite3_column_int(q, 2);
        t->depth = sqlite3_column_int(q, 3);
        memcpy(t->root, sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
        t->has_board = sqlite3_column_bytes(q, 5) == HEARTH_ID_LEN;
        if (t->has_board)
            memcpy(t->board, sqlite3_column_blob(q, 5), HEARTH_ID_LEN);
    }
    sqlite3_reset(q);
    return HERR_OK;
}

/* worst - combine two states: invalid beats pending beats ok. */
static int worst(int a, int b)
{
    return a > b ? a : b;
}

static herr board_state(struct store *s, const uint8_t id[HEARTH_ID_LEN], int *state)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_BOARD_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read a board");
    if (n < 0)
        return e;
    if (n > 0) {
        *state = sqlite3_column_int(q, 1);
        sqlite3_reset(q);
        return HERR_OK;
    }
    struct evrow r;
    bool held;
    e = ev_find(s, id, &r, &held);
    *state = held ? PS_INVALID : PS_PENDING;
    return e;
}

/* reply_state - a reply's state, depth and board from its root and parent. */
static herr reply_state(struct store *s, struct postrow *p)
{
    struct target root, parent;
    herr e = target_find(s, p->root, &root);
    if (e)
        return e;
    int st = !root.held ? PS_PENDING : root.kind != EK_POST ? PS_INVALID : root.state;
    p->has_board = root.kind == EK_POST && root.has_board;
    if (p->has_board)
        memcpy(p->board, root.board, HEARTH_ID_LEN);
    p->depth = 1;
    if (memcmp(p->parent, p->root, HEARTH_ID_LEN) != 0) {
        e = target_find(s, p->parent, &parent);
        if (e)
            return e;
        if (!parent.held)
            st = worst(st, PS_PENDING);
        else if (parent.kind != EK_REPLY || memcmp(parent.root, p->root, HEARTH_ID_LEN))
            st = PS_INVALID;
        else
            st = worst(st, parent.state), p->depth = parent.depth + 1;
    }
    p->state = st;
    if (st != PS_OK) { /* only a reply that counts has a place: nothing order-dependent */
        p->depth = 0;
        p->has_board = false;
    }
    return HERR_OK;
}

static herr compute_state(struct store *s, struct postrow *p)
{
    if (p->kind == EK_REPLY)
        return reply_state(s, p);
    p->depth = 0;
    return board_state(s, p->board, &p->state);
}

/* ---- posts: writing, counting, propagating ---- */

static bool counted(uint32_t kind, int state, int status)
{
    return kind == EK_REPLY && state == PS_OK && status == POST_VISIBLE;
}

/* thread_count - a reply's counted-ness changed: update its thread's reply count
 * and last activity (adding is cheap; removing recounts, which is rare). */
static herr thread_count(struct store *s, const struct postrow *p, bool now)
{
    struct target root;
    herr e = target_find(s, p->root, &root);
    if (e || !root.held || root.kind != EK_POST)
        return e;
    sqlite3_stmt *q = sq(s, now ? Q_POST_COUNT_ADD : Q_POST_RECOUNT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, root.ev);
    if (now)
        sqlite3_bind_int64(q, 2, (int64_t)p->created);
    else
        sq_bind_id(q, 2, p->root);
    return sq_exec(s, q, "cannot count replies");
}

/* propagate - p's state or depth changed: recompute the replies that answer it. */
static herr propagate(struct store *s, const struct postrow *p)
{
    struct i64vec kids = {0};
    sqlite3_stmt *q = sq(s, Q_EV_REFS_KIND);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, p->id);
    sqlite3_bind_int(q, 2, EK_REPLY);
    herr e = sq_collect(s, q, &kids, "cannot read replies");
    for (size_t i = 0; i < kids.n && !e; i++)
        e = post_refresh(s, kids.v[i], false);
    i64vec_release(&kids);
    return e;
}

/* after_change - bookkeeping after p's derived state moved from (state, status,
 * depth) to p's. */
static herr after_change(struct store *s, const struct postrow *p, int state, int status, int depth)
{
    herr e = HERR_OK;
    bool was = counted(p->kind, state, status), now = counted(p->kind, p->state, p->status);
    if (was != now)
        e = thread_count(s, p, now);
    if (!e && (state != p->state || depth != p->depth))
        e = propagate(s, p);
    return e;
}

static void bind_opt_id(sqlite3_stmt *q, int i, bool has, const uint8_t *id)
{
    if (has)
        sq_bind_id(q, i, id);
    else
        sqlite3_bind_null(q, i);
}

static void bind_text(sqlite3_stmt *q, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(q, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static herr post_write(struct store *s, const struct postrow *p, const struct content *c)
{
    sqlite3_stmt *q = sq(s, Q_POST_UPDATE);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sqlite3_bind_int(q, 2, p->state);
    sqlite3_bind_int(q, 3, p->depth);
    bind_opt_id(q, 4, p->has_board, p->board);
    sqlite3_bind_int(q, 5, p->status);
    bind_text(q, 6, c->title);
    bind_text(q, 7, c->text);
    bind_text(q, 8, c->cw);
    sqlite3_bind_int64(q, 9, (int64_t)c->edited);
    return sq_exec(s, q, "cannot update a post");
}

static herr post_load(struct store *s, int64_t ev, struct postrow *p)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_POST_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    int n = sq_step(s, q, &e, "cannot read a post");
    if (n == 0)
        return store_fail(s, HERR_CORRUPT, "a post of the view is missing");
    if (n < 0)
        return e;
    memset(p, 0, sizeof *p);
    p->ev = ev;
    p->kind = (uint32_t)sqlite3_column_int(q, 0);
    memcpy(p->author, sqlite3_column_blob(q, 1), HEARTH_PK_LEN);
    p->seq = (uint64_t)sqlite3_column_int64(q, 2);
    p->created = (uint64_t)sqlite3_column_int64(q, 3);
    memcpy(p->root, sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
    if (sqlite3_column_bytes(q, 5) == HEARTH_ID_LEN)
        memcpy(p->parent, sqlite3_column_blob(q, 5), HEARTH_ID_LEN);
    p->state = sqlite3_column_int(q, 6);
    p->depth = sqlite3_column_int(q, 7);
    p->status = sqlite3_column_int(q, 8);
    p->has_board = sqlite3_column_bytes(q, 9) == HEARTH_ID_LEN;
    if (p->has_board)
        memcpy(p->board, sqlite3_column_blob(q, 9), HEARTH_ID_LEN);
    memcpy(p->id, sqlite3_column_blob(q, 10), HEARTH_ID_LEN);
    sqlite3_reset(q);
    return HERR_OK;
}

/* post_refresh - recompute the post at `ev`: its state always, its content too when
 * `content` (after an edit or a retraction arrived). */
static herr post_refresh(struct store *s, int64_t ev, bool content)
{
    struct postrow p;
    struct content c = {0};
    herr e = post_load(s, ev, &p);
    if (e)
        return e;
    int state = p.state, status = p.status, depth = p.depth;
    e = compute_state(s, &p);
    if (!e && !content && p.state == state && p.depth == depth)
        return HERR_OK;
    if (!e) {
        struct evrow r;
        e = ev_row(s, ev, &r);
        if (!e)
            e = compute_content(s, &p, NULL, !r.purged, &c);
    }
    if (!e) {
        p.status = c.status;
        e = post_write(s, &p, &c);
    }
    if (!e)
        e = after_change(s, &p, state, status, depth);
    content_release(&c);
    return e;
}

static herr post_insert(struct store *s, const struct postrow *p, const struct content *c)
{
    sqlite3_stmt *q = sq(s, Q_POST_INSERT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sq_bind_id(q, 2, p->id);
    sqlite3_bind_int(q, 3, (int)p->kind);
    sqlite3_bind_blob(q, 4, p->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, (int64_t)p->seq);
    sqlite3_bind_int64(q, 6, (int64_t)p->created);
    bind_opt_id(q, 7, p->has_board, p->board);
    sq_bind_id(q, 8, p->root);
    bind_opt_id(q, 9, p->kind == EK_REPLY, p->parent);
    sqlite3_bind_int(q, 10, p->state);
    sqlite3_bind_int(q, 11, p->depth);
    sqlite3_bind_int(q, 12, p->status);
    bind_text(q, 13, c->title);
    bind_text(q, 14, c->text);
    bind_text(q, 15, c->cw);
    sqlite3_bind_int64(q, 16, (int64_t)c->edited);
    return sq_exec(s, q, "cannot insert a post");
}

/* post_apply - a post or reply has arrived. */
static herr post_apply(struct store *s, int64_t ev, const struct event *x)
{
    struct postrow p = {.ev = ev, .kind = x->kind, .seq = x->seq, .created = x->created};
    struct content c = {0};
    memcpy(p.id, x->id, HEARTH_ID_LEN);
    memcpy(p.author, x->author, HEARTH_PK_LEN);
    if (x->kind == EK_POST) {
        memcpy(p.root, x->id, HEARTH_ID_LEN);
        memcpy(p.board, x->ref, HEARTH_ID_LEN);
        p.has_board = true;
    } else {
        memcpy(p.root, x->root, HEARTH_ID_LEN);
        memcpy(p.parent, x->ref, HEARTH_ID_LEN);
    }
    herr e = compute_state(s, &p);
    if (!e)
        e = compute_content(s, &p, x, x->body != NULL, &c);
    if (!e) {
        p.status = c.status;
        e = post_insert(s, &p, &c);
    }
    if (!e)
        e = after_change(s, &p, PS_PENDING, POST_VISIBLE, 0);
    content_release(&c);
    return e;
}

/* ---- boards ---- */

static int board_validity(const struct store *s, const uint8_t author[HEARTH_PK_LEN])
{
    if (!s->has_founder)
        return PS_PENDING;
    return memcmp(author, s->founder, HEARTH_PK_LEN) == 0 ? PS_OK : PS_INVALID;
}

/* board_posts_refresh - recompute the posts of a board whose validity changed. */
static herr board_posts_refresh(struct store *s, const uint8_t id[HEARTH_ID_LEN])
{
    struct i64vec posts = {0};
    sqlite3_stmt *q = sq(s, Q_EV_REFS_KIND);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    sqlite3_bind_int(q, 2, EK_POST);
    herr e = sq_collect(s, q, &posts, "cannot read a board's posts");
    for (size_t i = 0; i < posts.n && !e; i++)
        e = post_refresh(s, posts.v[i], false);
    i64vec_release(&posts);
    return e;
}

static herr board_apply(struct store *s, int64_t ev, const struct event *x)
{
    sqlite3_stmt *q = sq(s, Q_BOARD_INSERT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sq_bind_id(q, 2, x->id);
    sqlite3_bind_blob(q, 3, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)x->created);
    sqlite3_bind_text(q, 5, x->b.name.p, (int)x->b.name.n, SQLITE_STATIC);
    if (x->b.about.p)
        sqlite3_bind_text(q, 6, x->b.about.p, (int)x->b.about.n, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, board_validity(s, x->author));
    herr e = sq_exec(s, q, "cannot insert a board");
    if (!e)
        e = board_posts_refresh(s, x->id);
    return e;
}

/* boards_refresh - recompute every board's validity (the founder or roles changed). */
static herr boards_refresh(struct store *s)
{
    struct i64vec evs = {0};
    sqlite3_stmt *q = sq(s, Q_BOARD_ALL);
    herr e = q ? sq_collect(s, q, &evs, "cannot read boards") : HERR_IO;
    for (size_t i = 0; i < evs.n && !e; i++) {
        struct evrow r;
        e = ev_row(s, evs.v[i], &r);
        int valid = board_validity(s, r.author);
        if (!e && (q = sq(s, Q_BOARD_SET_VALID)) == NULL)
            e = HERR_IO;
        if (!e) {
            sqlite3_bind_int64(q, 1, evs.v[i]);
            sqlite3_bind_int(q, 2, valid);
            e = sq_exec(s, q, "cannot update a board");
        }
        if (!e && sqlite3_changes(s->db) > 0)
            e = board_posts_refresh(s, r.id);
    }
    i64vec_release(&evs);
    return e;
}

herr view_recompute_all(struct store *s)
{
    return boards_refresh(s);
}

static herr genesis_apply(struct store *s, const struct event *x)
{
    if (!s->has_forum || memcmp(x->id, s->forum, HEARTH_ID_LEN) != 0)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_FOUNDER_SET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    herr e = sq_exec(s, q, "cannot record the founder");
    if (e)
        return e;
    s->has_founder = true;
    memcpy(s->founder, x->author, HEARTH_PK_LEN);
    return view_recompute_all(s);
}

/* ---- reactions, flags, profiles ---- */

static herr mark_apply(struct store *s, enum q which, int64_t ev, const struct event *x,
                       struct hstr what)
{
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sq_bind_id(q, 2, x->ref);
    sqlite3_bind_blob(q, 3, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    if (x->body)
        sqlite3_bind_text(q, 4, what.p, (int)what.n, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, x->body != NULL);
    return sq_exec(s, q, "cannot record a reaction or flag");
}

static herr mark_kill(struct store *s, enum q which, int64_t ev)
{
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    return sq_exec(s, q, "cannot update a reaction or flag");
}

static herr profile_put(struct store *s, int64_t ev, const struct event *x)
{
    sqlite3_stmt *q = sq(s, Q_PROFILE_PUT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, ev);
    sqlite3_bind_int64(q, 3, (int64_t)x->seq);
    sq_bind_id(q, 4, x->id);
    sqlite3_bind_text(q, 5, x->b.name.p, (int)x->b.name.n, SQLITE_STATIC);
    if (x->b.about.p)
        sqlite3_bind_text(q, 6, x->b.about.p, (int)x->b.about.n, SQLITE_STATIC);
    return sq_exec(s, q, "cannot save a profile");
}

/* profile_offer - a profile with a body arrived: it wins when its (seq, id) is
 * greater than the one in force. */
static herr profile_offer(struct store *s, int64_t ev, const struct event *x)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = sq(s, Q_PROFILE_GET);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read a profile");
    if (n < 0)
        return e;
    bool wins = n == 0 || version_cmp(x->seq, x->id, (uint64_t)sqlite3_column_int64(q, 0),
                                      sqlite3_column_blob(q, 1)) > 0;
    if (n > 0)
        sqlite3_reset(q);
    return wins ? profile_put(s, ev, x) : HERR_OK;
}

/* profile_recompute - the author's profile in force was retracted: find the next. */
static herr profile_recompute(struct store *s, const uint8_t author[HEARTH_PK_LEN])
{
    struct i64vec evs = {0};
    sqlite3_stmt *q = sq(s, Q_PROFILE_DEL);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    herr e = sq_exec(s, q, "cannot update a profile");
    if (!e && (q = sq(s, Q_PROFILE_SCAN)) == NULL)
        e = HERR_IO;
    if (!e) {
        sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
        e = sq_collect(s, q, &evs, "cannot read profiles");
    }
    if (!e && evs.n) {
        struct event x;
        e = parse_arrival(s, evs.v[0], &x);
        if (!e)
            e = profile_put(s, evs.v[0], &x);
    }
    i64vec_release(&evs);
    return e;
}

/* ---- retractions ---- */

static herr retract_apply(struct store *s, const struct event *x)
{
    struct evrow t;
    bool held;
    herr e = ev_find(s, x->ref, &t, &held);
    if (e || !held || !purgeable(t.kind) || memcmp(t.author, x->author, HEARTH_PK_LEN))
        return e;
    if (t.kind == EK_POST || t.kind == EK_REPLY)
        return post_refresh(s, t.arrival, true);
    e = purge(s, t.arrival);
    if (!e && t.kind == EK_EDIT) {
        struct target p;
        e = target_find(s, t.ref, &p);
        if (!e && p.kind)
            e = post_refresh(s, p.ev, true);
    }
    if (!e && t.kind == EK_REACT)
        e = mark_kill(s, Q_REACT_KILL, t.arrival);
    if (!e && t.kind == EK_FLAG)
        e = mark_kill(s, Q_FLAG_KILL, t.arrival);
    if (!e && t.kind == EK_PROFILE)
        e = profile_recompute(s, t.author);
    return e;
}

/* edit_apply - an edit arrived: recompute its target, when that is a post. */
static herr edit_apply(struct store *s, const struct event *x)
{
    struct target p;
    herr e = target_find(s, x->ref, &p);
    if (!e && p.kind)
        e = post_refresh(s, p.ev, true);
    return e;
}

herr view_must_purge(struct store *s, const struct event *ev, bool *yes)
{
    *yes = false;
    if (!purgeable(ev->kind))
        return HERR_OK;
    herr e = is_retracted(s, ev->id, ev->author, yes);
    if (e || *yes || ev->kind != EK_EDIT)
        return e;
    /* An edit of a retracted post goes with it. */
    struct evrow t;
    bool held;
    e = ev_find(s, ev->ref, &t, &held);
    if (!e && held && (t.kind == EK_POST || t.kind == EK_REPLY))
        e = is_retracted(s, t.id, t.author, yes);
    return e;
}

herr view_apply(struct store *s, int64_t ev, const struct event *x, bool fresh)
{
    switch (x->kind) {
    case EK_GENESIS: return genesis_apply(s, x);
    case EK_BOARD: return board_apply(s, ev, x);
    case EK_POST:
    case EK_REPLY: return fresh ? post_apply(s, ev, x) : post_refresh(s, ev, true);
    case EK_EDIT: return edit_apply(s, x);
    case EK_RETRACT: return retract_apply(s, x);
    case EK_REACT: return mark_apply(s, Q_REACT_INSERT, ev, x, x->b.reaction);
    case EK_FLAG: return mark_apply(s, Q_FLAG_INSERT, ev, x, x->b.reason);
    case EK_PROFILE: return x->body ? profile_offer(s, ev, x) : HERR_OK;
    default: return HERR_OK;
    }
}
