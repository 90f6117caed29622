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
 *   post itself and its author's edits; (seq, id) order breaks a fork's seq tie by the
 *   higher id. Its text, title (posts only) and cw are the post's; every other version
 *   is superseded and its body purged for good, as a retraction purges, so that an
 *   edit takes the old words off every node. When the greatest version is a retracted
 *   edit the post has no words.
 * - a retraction counts only when its author is the target's author; it purges the
 *   target's body (and, for a post or reply, every edit's body) for good.
 * - a board counts only when its author is the founder.
 * - a reaction counts once per (author, target, reaction); a profile is the author's
 *   greatest (seq, id) profile that is not retracted.
 * - a post's time in the view (what its thread's activity and a board's order use) is
 *   its created time when the set vouches for it, else the latest time the set proves
 *   it came after ("time" below).
 */
#include <assert.h>
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
    int64_t ev, root_ev, board_ev, ref_ev; /* ref_ev: the parent's or board's arrival */
    const struct view_target *ref;         /* that event, when the caller has it */
    uint32_t kind;
    uint8_t id[HEARTH_ID_LEN], author[HEARTH_PK_LEN];
    uint8_t root[HEARTH_ID_LEN], parent[HEARTH_ID_LEN];
    uint64_t seq, created;
    uint64_t vt, la; /* its time in the view (post_time); last_activity as stored */
    int state, depth, status;
};

/* The version in force of a post. Strings are owned.
 *
 * The posts row keeps no copy of the words: words_ev names the version whose body
 * holds them, and the reads (and the digest's triggers) take them from that body. So
 * a body that goes (a superseded version, a retraction) goes only after the row has
 * stopped naming it: until then the digest's trigger and the search index's delete
 * still read the old words. `later` holds those bodies until post_write/post_insert
 * (content_purge). */
struct content {
    int status;
    bool locked, pinned;
    char *title, *text, *cw;
    int64_t words_ev; /* the version's arrival, 0 when no words are in force */
    uint64_t edited;
    bool replaced;       /* a superseded version's body goes */
    struct i64vec later; /* bodies to purge once the row is written */
};

static void content_release(struct content *c)
{
    free(c->title);
    free(c->text);
    free(c->cw);
    i64vec_release(&c->later);
    memset(c, 0, sizeof *c);
}

static herr post_refresh(struct store *s, int64_t ev, bool content);
static herr post_time(struct store *s, const struct postrow *p, uint64_t *t);
static herr time_write(struct store *s, const struct postrow *p);
static herr post_load(struct store *s, int64_t ev, struct postrow *p);
static herr refresh_post_at(struct store *s, int64_t ev);
static herr ev_find(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct evrow *r, bool *found);

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

/* parse_arrival - parse the stored event `arrival` (borrowing s->scratch). */
static herr parse_arrival(struct store *s, int64_t arrival, struct event *ev)
{
    herr e = stored_event_at(s, arrival, ev, NULL);
    if (e == HERR_NOT_FOUND)
        return store_fail(s, HERR_CORRUPT, "an event of the view is missing");
    /* the view reads an event as its person's (store/devices.c) */
    return e ? e : dev_person(s, ev->author, ev->seq, ev->author);
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

/* purge_later - purge the body at arrival once c's post row is written. */
static herr purge_later(struct store *s, struct content *c, int64_t arrival)
{
    return i64vec_push(&c->later, arrival) ? store_fail(s, HERR_NOMEM, "out of memory") : HERR_OK;
}

/* content_purge - the bodies c's row no longer names. */
static herr content_purge(struct store *s, struct content *c)
{
    herr e = HERR_OK;
    for (size_t i = 0; i < c->later.n && !e; i++)
        e = purge(s, c->later.v[i]);
    c->later.n = 0;
    return e;
}

static bool purgeable(uint32_t kind)
{
    return kind == EK_POST || kind == EK_REPLY || kind == EK_EDIT || kind == EK_REACT ||
           kind == EK_FLAG || kind == EK_PROFILE || kind == EK_MESSAGE;
}

static char *hstr_dup(struct hstr h)
{
    return h.p ? strndup(h.p, h.n) : NULL;
}

/* ---- posts: the references of one post ---- */

struct refrow {
    int64_t arrival;
    int action; /* a moderation event's enum mod_action */
    bool live;  /* a flag that counts */
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
    x->action = sqlite3_column_int(q, 7);
    x->live = sqlite3_column_int(q, 8) != 0;
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
    if (!e && out->n > 1)
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

/* supersede - purge the body of every version of p but the greatest by (seq, id):
 * the post itself (when *own_body) and its author's edits in r, once the row is
 * written (c->later). r's rows and *own_body are updated, and c->replaced set when a
 * body goes. */
static herr supersede(struct store *s, const struct postrow *p, bool *own_body, struct refs *r,
                      struct content *c)
{
    uint64_t top_seq = p->seq;
    const uint8_t *top_id = p->id;
    for (size_t i = 0; i < r->n; i++) {
        const struct refrow *x = &r->v[i];
        if (x->kind == EK_EDIT && !memcmp(x->author, p->author, HEARTH_PK_LEN) &&
            version_cmp(x->seq, x->id, top_seq, top_id) > 0)
            top_seq = x->seq, top_id = x->id;
    }
    herr e = HERR_OK;
    if (*own_body && top_id != p->id) {
        e = purge_later(s, c, p->ev);
        *own_body = false;
        c->replaced = true;
    }
    for (size_t i = 0; i < r->n && !e; i++) {
        struct refrow *x = &r->v[i];
        if (x->kind != EK_EDIT || x->purged || x->id == top_id ||
            memcmp(x->author, p->author, HEARTH_PK_LEN))
            continue;
        e = purge_later(s, c, x->arrival);
        x->purged = true;
        c->replaced = true;
    }
    return e;
}

/* content_pick - text, title and cw of the greatest version (after supersede, the
 * only one with a body), when vers has it. */
static herr content_pick(struct store *s, const struct postrow *p, const struct event *own,
                         const struct refs *vers, struct content *c)
{
    struct event ev;
    herr e = vers->n ? version_body(s, &vers->v[0], p, own, &ev) : HERR_OK;
    if (e || !vers->n)
        return e;
    c->words_ev = vers->v[0].arrival;
    c->text = hstr_dup(ev.b.text);
    c->cw = hstr_dup(ev.b.cw);
    c->title = p->kind == EK_POST ? hstr_dup(ev.b.title) : NULL;
    c->edited = vers->v[0].kind == EK_EDIT ? vers->v[0].created : 0;
    if ((ev.b.text.p && !c->text) || (ev.b.cw.p && !c->cw) ||
        (p->kind == EK_POST && ev.b.title.p && !c->title))
        return store_fail(s, HERR_NOMEM, "out of memory");
    return HERR_OK;
}

/* purge_post - a retracted post: its body and every edit's body go (once the row is
 * written). */
static herr purge_post(struct store *s, const struct postrow *p, const struct refs *r,
                       struct content *c)
{
    herr e = purge_later(s, c, p->ev);
    for (size_t i = 0; i < r->n && !e; i++)
        if (r->v[i].kind == EK_EDIT && !r->v[i].purged)
            e = purge_later(s, c, r->v[i].arrival);
    return e;
}

/* ---- posts: status from moderation ---- */

/* What the events that reference a post say about it. */
struct care_facts {
    bool retracted, removed, purge, approved, unhidden;
    struct toggle_state hide, lock, pin, remove; /* remove: the latest valid removal */
    size_t flaggers;
};

/* facts_mod - one moderation event on the post. A removal by someone who was ever
 * made moderator purges the words even if a later revocation voids it: a purge
 * cannot be undone, so it must not depend on what arrives later. */
static herr facts_mod(struct store *s, const struct refrow *x, struct care_facts *f)
{
    bool ok, ever;
    herr e = care_valid(s, x->author, x->seq, ROLE_MODERATOR, &ok);
    if (!e && x->action == MA_REMOVE && (e = care_ever(s, x->author, ROLE_MODERATOR, &ever)) == 0)
        f->purge = f->purge || ever;
    if (e || !ok)
        return e;
    switch (x->action) {
    case MA_REMOVE:
        f->removed = true;
        care_toggle(&f->remove, true, x->created, x->id);
        break;
    case MA_APPROVE:
        f->approved = true;
        break;
    case MA_UNHIDE:
        f->unhidden = true; /* fall through */
    case MA_HIDE:
        care_toggle(&f->hide, x->action == MA_HIDE, x->created, x->id);
        break;
    case MA_LOCK:
    case MA_UNLOCK:
        care_toggle(&f->lock, x->action == MA_LOCK, x->created, x->id);
        break;
    case MA_PIN:
    case MA_UNPIN:
        care_toggle(&f->pin, x->action == MA_PIN, x->created, x->id);
        break;
    }
    return HERR_OK;
}

/* new_flagger - x is a live flag by someone other than the author, and the first
 * of theirs in r[0..i). */
static bool new_flagger(const struct postrow *p, const struct refs *r, size_t i)
{
    const struct refrow *x = &r->v[i];
    if (x->kind != EK_FLAG || !x->live || !memcmp(x->author, p->author, HEARTH_PK_LEN))
        return false;
    for (size_t j = 0; j < i; j++)
        if (r->v[j].kind == EK_FLAG && r->v[j].live &&
            !memcmp(r->v[j].author, x->author, HEARTH_PK_LEN))
            return false;
    return true;
}

static herr facts_load(struct store *s, const struct postrow *p, const struct refs *r,
                       struct care_facts *f)
{
    herr e = HERR_OK;
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < r->n && !e; i++) {
        const struct refrow *x = &r->v[i];
        if (x->kind == EK_RETRACT && !memcmp(x->author, p->author, HEARTH_PK_LEN))
            f->retracted = true;
        else if (x->kind == EK_MOD)
            e = facts_mod(s, x, f);
        else if (new_flagger(p, r, i))
            f->flaggers++;
    }
    return e;
}

/* is_held - one of its author's first n posts and replies (by (seq, id)), where n is
 * the smaller of the hold in force and the hold in force at the post's time (so that
 * turning the hold on or up holds none of what was already out), the author holding no
 * role and no moderator having approved it. */
static herr is_held(struct store *s, const struct postrow *p, const struct care_facts *f,
                    bool *held)
{
    herr e = HERR_OK;
    bool role;
    uint64_t then, limit;
    *held = false;
    if (!s->hold || f->approved || (e = care_hold_at(s, p->created, &then)) || !then ||
        (e = care_current(s, p->author, ROLE_PEER, &role)) || role)
        return e;
    limit = then < s->hold ? then : s->hold;
    sqlite3_stmt *q = sq(s, Q_HOLD_RANK);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, p->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)p->seq);
    sq_bind_id(q, 3, p->id);
    sqlite3_bind_int64(q, 4, (int64_t)limit);
    int n = sq_step(s, q, &e, "cannot rank a post");
    *held = n > 0 && (uint64_t)sqlite3_column_int64(q, 0) < limit;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* status_of - retracted, removed, held, hidden (by a moderator, a ban, or flags
 * awaiting review), else visible; in that order. */
static herr status_of(struct store *s, const struct postrow *p, const struct care_facts *f,
                      int *status)
{
    bool held, banned;
    *status = f->retracted ? POST_RETRACTED : f->removed ? POST_REMOVED : POST_VISIBLE;
    if (*status != POST_VISIBLE)
        return HERR_OK;
    herr e = is_held(s, p, f, &held);
    if (!e && !held)
        e = care_banned(s, p->author, &banned);
    if (e)
        return e;
    bool flagged = s->flag_limit && f->flaggers >= s->flag_limit && !f->approved && !f->unhidden;
    if (held)
        *status = POST_HELD;
    else if ((f->hide.has && f->hide.on) || banned || flagged)
        *status = POST_HIDDEN;
    return HERR_OK;
}

/* compute_content - the status and version in force of p. own is p's parsed event
 * when the caller has it (a fresh arrival), else NULL; `referenced` is false when no
 * event can refer to p yet (a fresh arrival nobody waited for). */
static herr compute_content(struct store *s, const struct postrow *p, const struct event *own,
                            bool own_body, bool referenced, struct content *c)
{
    struct refs r = {0}, vers = {0};
    struct care_facts f = {0};
    herr e = referenced ? refs_load(s, p->ev, &r) : HERR_OK;
    memset(c, 0, sizeof *c);
    if (!e)
        e = facts_load(s, p, &r, &f);
    if (!e)
        e = status_of(s, p, &f, &c->status);
    c->locked = p->kind == EK_POST && f.lock.has && f.lock.on;
    c->pinned = p->kind == EK_POST && f.pin.has && f.pin.on;
    if (!e && (f.retracted || f.removed || f.purge))
        e = purge_post(s, p, &r, c);
    else if (!e && !(e = supersede(s, p, &own_body, &r, c)))
        e = live_versions(s, p, own_body, &r, &vers);
    if (!e && vers.n)
        e = content_pick(s, p, own, &vers, c);
    refs_release(&r);
    refs_release(&vers);
    return e;
}

herr view_post_why(struct store *s, int64_t ev, int status, int *hidden_by,
                   uint8_t mod_id[HEARTH_ID_LEN], bool *has_mod)
{
    struct postrow p;
    struct refs r = {0};
    struct care_facts f;
    *hidden_by = HIDDEN_BY_NONE;
    *has_mod = false;
    if (status != POST_HIDDEN && status != POST_REMOVED)
        return HERR_OK;
    herr e = post_load(s, ev, &p);
    if (!e)
        e = refs_load(s, ev, &r);
    if (!e)
        e = facts_load(s, &p, &r, &f);
    refs_release(&r);
    if (e)
        return e;
    const struct toggle_state *t = status == POST_REMOVED ? &f.remove : &f.hide;
    if (status == POST_REMOVED || (f.hide.has && f.hide.on)) {
        *hidden_by = status == POST_REMOVED ? HIDDEN_BY_NONE : HIDDEN_BY_MOD;
        *has_mod = t->has;
        memcpy(mod_id, t->id, HEARTH_ID_LEN);
        return HERR_OK;
    }
    bool banned;
    e = care_banned(s, p.author, &banned);
    if (!e && banned) {
        *hidden_by = HIDDEN_BY_BAN;
        e = care_ban_event(s, p.author, mod_id, has_mod);
    } else if (!e) {
        *hidden_by = HIDDEN_BY_FLAGS;
    }
    return e;
}

/* ---- posts: state from references ---- */

static void target_from(sqlite3_stmt *q, struct view_target *t)
{
    t->held = true;
    t->ev = sqlite3_column_int64(q, 0);
    memcpy(t->author, sqlite3_column_blob(q, 6), HEARTH_PK_LEN);
    if (sqlite3_column_type(q, 1) == SQLITE_NULL)
        return;
    t->kind = (uint32_t)sqlite3_column_int(q, 1);
    t->state = sqlite3_column_int(q, 2);
    t->depth = sqlite3_column_int(q, 3);
    t->board_ev = sqlite3_column_int64(q, 5);
    t->status = sqlite3_column_int(q, 7);
    t->root_ev = sqlite3_column_int64(q, 9);
    memcpy(t->root, sqlite3_column_blob(q, t->kind == EK_POST ? 8 : 4), HEARTH_ID_LEN);
}

/* target_get - the event held at `ev` (by its id when ev is 0 and id is given), with
 * its post or reply row when it is one. */
static herr target_get(struct store *s, int64_t ev, const uint8_t *id, struct view_target *t)
{
    herr e = HERR_OK;
    memset(t, 0, sizeof *t);
    if (!ev && !id)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, ev ? Q_POST_AT : Q_POST_BY_ID);
    if (!q)
        return HERR_IO;
    if (ev)
        sqlite3_bind_int64(q, 1, ev);
    else
        sq_bind_id(q, 1, id);
    int n = sq_step(s, q, &e, "cannot read a post");
    if (n > 0) {
        target_from(q, t);
        sqlite3_reset(q);
    }
    return n < 0 ? e : HERR_OK;
}

herr view_target_find(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct view_target *t)
{
    return target_get(s, 0, id, t);
}

/* worst - combine two states: invalid beats pending beats ok. */
static int worst(int a, int b)
{
    return a > b ? a : b;
}

/* board_state - the state a post takes from its board (held at p->ref_ev). */
static herr board_state(struct store *s, struct postrow *p)
{
    herr e = HERR_OK;
    if (!p->ref_ev) {
        p->state = PS_PENDING;
        return HERR_OK;
    }
    sqlite3_stmt *q = sq(s, Q_BOARD_AT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ref_ev);
    int n = sq_step(s, q, &e, "cannot read a board");
    p->state = n > 0 ? sqlite3_column_int(q, 0) : PS_INVALID; /* held, not a board */
    p->board_ev = p->ref_ev;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* root_state - the state a reply takes from its root alone. */
static herr root_state(struct store *s, const struct postrow *p, int *st)
{
    struct view_target root;
    herr e = view_target_find(s, p->root, &root);
    *st = !root.held ? PS_PENDING : root.kind != EK_POST ? PS_INVALID : root.state;
    return e;
}

/* reply_state - a reply's state, depth and place from its parent (at p->ref_ev) and
 * root. A parent that counts vouches for the root, so the common case is one lookup
 * by arrival number. */
static herr reply_state(struct store *s, struct postrow *p)
{
    struct view_target par;
    bool to_root = memcmp(p->parent, p->root, HEARTH_ID_LEN) == 0;
    herr e = p->ref ? HERR_OK : target_get(s, p->ref_ev, NULL, &par);
    if (e)
        return e;
    if (p->ref)
        par = *p->ref;
    if (par.held && to_root) {
        p->state = par.kind != EK_POST ? PS_INVALID : par.state;
        p->depth = 1;
        p->root_ev = par.ev, p->board_ev = par.board_ev;
        return HERR_OK;
    }
    if (par.held && (par.kind != EK_REPLY || memcmp(par.root, p->root, HEARTH_ID_LEN))) {
        p->state = PS_INVALID;
        return HERR_OK;
    }
    if (par.held && par.state == PS_OK) {
        p->state = PS_OK;
        p->depth = par.depth + 1;
        p->root_ev = par.root_ev, p->board_ev = par.board_ev;
        return HERR_OK;
    }
    int st;
    e = root_state(s, p, &st);
    p->state = worst(st, par.held ? par.state : PS_PENDING);
    return e;
}

static herr compute_state(struct store *s, struct postrow *p)
{
    herr e;
    p->depth = 0;
    p->root_ev = p->board_ev = 0;
    if (p->kind == EK_REPLY) {
        e = reply_state(s, p);
    } else {
        e = board_state(s, p);
        p->root_ev = p->ev;
    }
    if (p->state != PS_OK) /* only what counts has a place */
        p->depth = 0, p->root_ev = p->board_ev = 0;
    return e;
}

/* ---- time ----
 *
 * Clocks may be years off, and a post dated ahead of everyone else's must not sit at
 * the top of its board until the world catches up. The horizon H is the newest
 * created time that two authors vouch for: the greatest created among the events of
 * every author but the one whose event has the greatest (created, id). A post or
 * reply whose created is at most H + VIEW_SKEW_MS has that time in the view; one
 * beyond it has the latest time the set proves it came after: its author's previous
 * event (by seq) within the bound, plus a millisecond a seq since (at most a minute),
 * or what it answers (its board, or the parent of a reply) when within the bound and
 * later. All of it is a function of the set: H only grows as events arrive, and when
 * it passes an event's time, or an author's earlier event arrives, the times that
 * depended on it are computed again. */

/* time_ready - the horizon, read once per write transaction (load_care in store.c resets it),
 * as it was before the event at `fresh` (0: none) was stored. */
static herr time_ready(struct store *s, int64_t fresh)
{
    herr e = HERR_OK;
    if (s->time_loaded)
        return HERR_OK;
    s->has_top = false;
    s->horizon = UINT64_MAX;
    sqlite3_stmt *q = sq(s, Q_TIME_TOP);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, fresh);
    int n = sq_step(s, q, &e, "cannot read the newest event");
    if (n > 0) {
        s->has_top = true;
        memcpy(s->top_author, sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
        s->top_created = (uint64_t)sqlite3_column_int64(q, 1);
        memcpy(s->top_id, sqlite3_column_blob(q, 2), HEARTH_ID_LEN);
        sqlite3_reset(q);
    }
    if (n < 0)
        return e;
    if (s->has_top) {
        if (!(q = sq(s, Q_TIME_HORIZON)))
            return HERR_IO;
        sqlite3_bind_blob(q, 1, s->top_author, HEARTH_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, fresh);
        if ((n = sq_step(s, q, &e, "cannot read the horizon")) > 0) {
            s->horizon = (uint64_t)sqlite3_column_int64(q, 0);
            sqlite3_reset(q);
        }
        if (n < 0)
            return e;
    }
    s->time_loaded = true;
    return HERR_OK;
}

static uint64_t time_bound(const struct store *s)
{
    return s->horizon >= UINT64_MAX - VIEW_SKEW_MS ? UINT64_MAX : s->horizon + VIEW_SKEW_MS;
}

/* time_note - x was just stored: move the horizon. */
static void time_note(struct store *s, const struct event *x)
{
    bool newest = !s->has_top || x->created > s->top_created ||
                  (x->created == s->top_created && memcmp(x->id, s->top_id, HEARTH_ID_LEN) > 0);
    bool same = s->has_top && !memcmp(x->author, s->top_author, HEARTH_PK_LEN);
    uint64_t vouched = newest ? s->top_created : x->created;
    if (s->has_top && !same && (s->horizon == UINT64_MAX || vouched > s->horizon))
        s->horizon = vouched;
    if (newest) {
        s->has_top = true;
        memcpy(s->top_author, x->author, HEARTH_PK_LEN);
        memcpy(s->top_id, x->id, HEARTH_ID_LEN);
        s->top_created = x->created;
    }
}

static herr post_time(struct store *s, const struct postrow *p, uint64_t *t)
{
    herr e = time_ready(s, 0);
    uint64_t bound = time_bound(s);
    *t = p->created;
    if (e || p->created <= bound)
        return e;
    *t = 0;
    sqlite3_stmt *q = sq(s, Q_TIME_ANCHOR);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, p->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)p->seq);
    sqlite3_bind_int64(q, 3, (int64_t)bound);
    int n = sq_step(s, q, &e, "cannot read an author's events");
    if (n > 0) {
        uint64_t since = p->seq - (uint64_t)sqlite3_column_int64(q, 1);
        *t = (uint64_t)sqlite3_column_int64(q, 0) + (since < 60000 ? since : 60000);
        *t = *t < bound ? *t : bound;
        sqlite3_reset(q);
    }
    if (n < 0)
        return e;
    struct evrow r;
    if (p->ref_ev && !(e = ev_row(s, p->ref_ev, &r)) && r.created <= bound && r.created > *t)
        *t = r.created;
    return e;
}

/* time_sweep - recompute the times of the posts and replies listed by q. */
static herr time_sweep(struct store *s, sqlite3_stmt *q)
{
    struct i64vec evs = {0};
    herr e = q ? sq_collect(s, q, &evs, "cannot list posts ahead of the horizon") : HERR_IO;
    for (size_t i = 0; i < evs.n && !e; i++) {
        struct postrow p;
        e = post_load(s, evs.v[i], &p);
        if (!e)
            e = post_time(s, &p, &p.vt);
        if (!e)
            e = time_write(s, &p);
    }
    i64vec_release(&evs);
    return e;
}

/* time_settle - after x arrived: when the bound moved past some event's time, every
 * post beyond the lower of the two bounds takes its time again; when x is within the
 * bound, so do its author's later posts beyond it (x may be their new anchor). */
static herr time_settle(struct store *s, const struct event *x, uint64_t b0)
{
    herr e = HERR_OK;
    uint64_t b1 = time_bound(s), lo = b0 < b1 ? b0 : b1, hi = b0 < b1 ? b1 : b0;
    sqlite3_stmt *q;
    if (lo != hi) {
        if (!(q = sq(s, Q_TIME_CROSSED)))
            return HERR_IO;
        sqlite3_bind_int64(q, 1, (int64_t)lo);
        sqlite3_bind_int64(q, 2, (int64_t)(hi > INT64_MAX ? INT64_MAX : hi));
        int n = sq_step(s, q, &e, "cannot read the horizon");
        if (n > 0) {
            sqlite3_reset(q);
            if ((q = sq(s, Q_TIME_AHEAD)) != NULL)
                sqlite3_bind_int64(q, 1, (int64_t)lo);
            e = time_sweep(s, q);
        }
        if (e)
            return e;
    }
    if (x->created > b1 || x->kind == EK_GENESIS)
        return HERR_OK;
    if (!(q = sq(s, Q_TIME_AUTHOR_AHEAD)))
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)x->seq);
    sqlite3_bind_int64(q, 3, (int64_t)(b1 > INT64_MAX ? INT64_MAX : b1));
    return time_sweep(s, q);
}

/* ---- posts: writing, counting, propagating ---- */

static bool counted(uint32_t kind, int state, int status)
{
    return kind == EK_REPLY && state == PS_OK && status == POST_VISIBLE;
}

/* recount - count the thread of the post at root_ev again: its visible replies and
 * its last activity, the latest of its replies' times and its own. */
static herr recount(struct store *s, int64_t root_ev)
{
    struct postrow r;
    herr e = post_load(s, root_ev, &r);
    if (!e)
        e = post_time(s, &r, &r.vt);
    sqlite3_stmt *q = e ? NULL : sq(s, Q_POST_RECOUNT);
    if (!q)
        return e ? e : HERR_IO;
    sqlite3_bind_int64(q, 1, root_ev);
    sqlite3_bind_int64(q, 2, (int64_t)r.vt);
    return sq_exec(s, q, "cannot count replies");
}

/* thread_count - a reply's counted-ness changed: update its thread's reply count
 * and last activity (adding is cheap; removing recounts, which is rare). root_ev is
 * the thread's post, known while the reply counts or just did. */
static herr thread_count(struct store *s, const struct postrow *p, int64_t root_ev, bool now)
{
    if (!now)
        return recount(s, root_ev);
    sqlite3_stmt *q = sq(s, Q_POST_COUNT_ADD);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, root_ev);
    sqlite3_bind_int64(q, 2, (int64_t)p->vt);
    return sq_exec(s, q, "cannot count replies");
}

/* time_write - p's time (p->vt) may differ from what the view holds: a reply, and a
 * post that is not (yet) part of the forum, keep their own in last_activity; a post's
 * thread, and a reply's when it counts, is counted again. */
static herr time_write(struct store *s, const struct postrow *p)
{
    if (p->kind == EK_POST && p->state == PS_OK)
        return recount(s, p->ev);
    if (p->vt == p->la)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_POST_TIME);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sqlite3_bind_int64(q, 2, (int64_t)p->vt);
    herr e = sq_exec(s, q, "cannot update a post's time");
    if (!e && counted(p->kind, p->state, p->status))
        e = recount(s, p->root_ev);
    return e;
}

/* propagate - p's state or depth changed: recompute the replies that answer it. */
static herr propagate(struct store *s, const struct postrow *p)
{
    struct i64vec kids = {0};
    sqlite3_stmt *q = sq(s, Q_EV_REFS_KIND);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sqlite3_bind_int(q, 2, EK_REPLY);
    herr e = sq_collect(s, q, &kids, "cannot read replies");
    for (size_t i = 0; i < kids.n && !e; i++)
        e = post_refresh(s, kids.v[i], false);
    i64vec_release(&kids);
    return e;
}

/* The derived state a post had before a change. */
struct before {
    int state, status, depth;
    int64_t root_ev;
};

/* after_change - bookkeeping after p's derived state moved from b to p's. */
static herr after_change(struct store *s, const struct postrow *p, const struct before *b,
                         bool referenced)
{
    herr e = HERR_OK;
    bool was = counted(p->kind, b->state, b->status), now = counted(p->kind, p->state, p->status);
    if (was != now)
        e = thread_count(s, p, now ? p->root_ev : b->root_ev, now);
    if (!e && referenced && (b->state != p->state || b->depth != p->depth))
        e = propagate(s, p);
    return e;
}

static void bind_opt_ev(sqlite3_stmt *q, int i, int64_t ev)
{
    if (ev)
        sqlite3_bind_int64(q, i, ev);
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

/* search_out - before a post already in the search index changes: take it out. The
 * index keeps no copy of the words (contentless), so it is given back the words it
 * was given, which are the post's row as it still is (the index is filled from posts,
 * and every change of a post's words passes here). *was says whether it was in.
 * Posts that arrived since the index was last brought up to date are added by
 * store_search. */
static herr search_out(struct store *s, const struct postrow *p, bool *was)
{
    *was = false;
    if (p->ev > s->search_upto)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_SEARCH_HAS);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    herr e = HERR_OK;
    int r = sq_step(s, q, &e, "cannot read the search index");
    if (r <= 0)
        return e;
    sqlite3_reset(q);
    if (!(q = sq(s, Q_SEARCH_DEL)))
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    *was = true;
    return sq_exec(s, q, "cannot update the search index");
}

/* search_in - after the change: put the post back when people can still see its
 * words; when words went (a purge), the index is tidied before the commit. */
static herr search_in(struct store *s, const struct postrow *p, const struct content *c, bool was)
{
    if (p->ev > s->search_upto)
        return HERR_OK;
    if (was && (!c->text || c->replaced))
        s->search_purged = true;
    if (p->state != PS_OK || c->status != POST_VISIBLE || !c->text)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_SEARCH_ADD);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    bind_text(q, 2, c->title);
    bind_text(q, 3, c->text);
    return sq_exec(s, q, "cannot update the search index");
}

static herr post_write(struct store *s, const struct postrow *p, struct content *c)
{
    bool was;
    herr e = search_out(s, p, &was);
    if (e)
        return e;
    sqlite3_stmt *q = sq(s, Q_POST_UPDATE);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sqlite3_bind_int(q, 2, p->state);
    sqlite3_bind_int(q, 3, p->depth);
    bind_opt_ev(q, 4, p->board_ev);
    bind_opt_ev(q, 5, p->root_ev);
    sqlite3_bind_int(q, 6, p->status);
    bind_opt_ev(q, 7, c->words_ev);
    sqlite3_bind_int64(q, 8, (int64_t)c->edited);
    sqlite3_bind_int(q, 9, c->locked);
    sqlite3_bind_int(q, 10, c->pinned);
    e = sq_exec(s, q, "cannot update a post");
    if (!e)
        e = search_in(s, p, c, was);
    return e ? e : content_purge(s, c);
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
    memcpy(p->id, sqlite3_column_blob(q, 10), HEARTH_ID_LEN);
    memcpy(p->root, p->kind == EK_POST ? p->id : sqlite3_column_blob(q, 4), HEARTH_ID_LEN);
    memcpy(p->parent, sqlite3_column_blob(q, 5), HEARTH_ID_LEN);
    p->state = sqlite3_column_int(q, 6);
    p->depth = sqlite3_column_int(q, 7);
    p->status = sqlite3_column_int(q, 8);
    p->board_ev = sqlite3_column_int64(q, 9);
    p->root_ev = sqlite3_column_int64(q, 11);
    p->ref_ev = sqlite3_column_int64(q, 12);
    p->la = (uint64_t)sqlite3_column_int64(q, 13);
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
    struct before b = {p.state, p.status, p.depth, p.root_ev};
    int64_t board_ev = p.board_ev;
    e = compute_state(s, &p);
    if (!e && !content && p.state == b.state && p.depth == b.depth && p.root_ev == b.root_ev &&
        p.board_ev == board_ev)
        return HERR_OK;
    if (!e) {
        struct evrow r;
        e = ev_row(s, ev, &r);
        if (!e)
            e = compute_content(s, &p, NULL, !r.purged, true, &c);
    }
    if (!e)
        e = post_time(s, &p, &p.vt);
    if (!e) {
        p.status = c.status;
        e = post_write(s, &p, &c);
    }
    if (!e)
        e = after_change(s, &p, &b, true);
    /* Beyond the horizon its anchor may have moved; a post that joins its board takes
     * its time again in case it was beyond the horizon when it came. */
    if (!e && (p.kind == EK_POST ? p.vt != p.created || p.state != b.state : p.vt != p.la))
        e = time_write(s, &p);
    content_release(&c);
    return e;
}

static herr post_insert(struct store *s, const struct postrow *p, struct content *c)
{
    sqlite3_stmt *q = sq(s, Q_POST_INSERT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, p->ev);
    sqlite3_bind_int(q, 2, (int)p->kind);
    sqlite3_bind_int64(q, 3, (int64_t)p->seq);
    sqlite3_bind_int64(q, 4, (int64_t)p->created);
    bind_opt_ev(q, 5, p->root_ev);
    bind_opt_ev(q, 6, p->board_ev);
    sqlite3_bind_int(q, 7, p->state);
    sqlite3_bind_int(q, 8, p->depth);
    sqlite3_bind_int(q, 9, p->status);
    bind_opt_ev(q, 10, c->words_ev);
    sqlite3_bind_int64(q, 11, (int64_t)c->edited);
    sqlite3_bind_int(q, 12, c->locked);
    sqlite3_bind_int(q, 13, c->pinned);
    sqlite3_bind_int64(q, 14, (int64_t)p->vt);
    herr e = sq_exec(s, q, "cannot insert a post");
    return e ? e : content_purge(s, c);
}

/* post_apply - a post or reply has arrived; ref is its parent or board as found just
 * before; `referenced` when events waited for it. */
static herr post_apply(struct store *s, int64_t ev, const struct view_target *ref,
                       const struct event *x, bool referenced)
{
    struct postrow p = {.ev = ev,
                        .ref_ev = ref->held ? ref->ev : 0,
                        .ref = ref,
                        .kind = x->kind,
                        .seq = x->seq,
                        .created = x->created};
    struct content c = {0};
    memcpy(p.id, x->id, HEARTH_ID_LEN);
    memcpy(p.author, x->author, HEARTH_PK_LEN);
    memcpy(p.root, x->kind == EK_POST ? x->id : x->root, HEARTH_ID_LEN);
    memcpy(p.parent, x->ref, HEARTH_ID_LEN);
    herr e = compute_state(s, &p);
    if (!e)
        e = post_time(s, &p, &p.vt);
    if (!e)
        e = compute_content(s, &p, x, x->body != NULL, referenced, &c);
    if (!e) {
        p.status = c.status;
        e = post_insert(s, &p, &c);
    }
    struct before b = {PS_PENDING, POST_VISIBLE, 0, 0};
    if (!e)
        e = after_change(s, &p, &b, referenced);
    content_release(&c);
    return e;
}

/* ---- boards ---- */

/* board_validity - a board counts when made by the founder or a valid admin. */
static herr board_validity(struct store *s, const uint8_t *author, uint64_t seq, int *state)
{
    bool ok;
    if (!s->has_founder) {
        *state = PS_PENDING;
        return HERR_OK;
    }
    herr e = care_valid(s, author, seq, ROLE_ADMIN, &ok);
    *state = ok ? PS_OK : PS_INVALID;
    return e;
}

/* refresh_list - recompute every post of a list. */
static herr refresh_list(struct store *s, sqlite3_stmt *q, bool content, const char *what)
{
    struct i64vec evs = {0};
    herr e = q ? sq_collect(s, q, &evs, what) : HERR_IO;
    for (size_t i = 0; i < evs.n && !e; i++)
        e = post_refresh(s, evs.v[i], content);
    i64vec_release(&evs);
    return e;
}

/* board_posts_refresh - recompute the posts of a board whose validity changed. */
static herr board_posts_refresh(struct store *s, int64_t board)
{
    sqlite3_stmt *q = sq(s, Q_EV_REFS_KIND);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, board);
    sqlite3_bind_int(q, 2, EK_POST);
    return refresh_list(s, q, false, "cannot read a board's posts");
}

/* A board's name and about as one of its events sets them. */
struct board_words {
    bool any;
    uint64_t created;
    uint8_t id[HEARTH_ID_LEN];
    char *name, *about;
};

static void words_take(struct board_words *w, const struct event *x)
{
    free(w->name);
    free(w->about);
    w->any = true;
    w->created = x->created;
    memcpy(w->id, x->id, HEARTH_ID_LEN);
    w->name = hstr_dup(x->b.name);
    w->about = hstr_dup(x->b.about);
}

/* board_names - the board at `board`'s name and about: those of its valid rename with
 * the greatest (created, id) — a board event that refs it, by the founder or an admin
 * at the rename's seq; the rename's about replaces the board's only when it has one —
 * else its own (docs/EVENTS.md, section 13). */
static herr board_names(struct store *s, int64_t board)
{
    struct board_words own = {0}, best = {0};
    struct i64vec renames = {0};
    struct event x;
    herr e = parse_arrival(s, board, &x);
    if (e || x.kind != EK_BOARD || x.has_ref || !x.body)
        return e; /* not a board of its own: a rename of it renames nothing */
    words_take(&own, &x);
    sqlite3_stmt *q = sq(s, Q_EV_REFS_KIND);
    if (!q)
        e = HERR_IO;
    if (!e) {
        sqlite3_bind_int64(q, 1, board);
        sqlite3_bind_int(q, 2, EK_BOARD);
        e = sq_collect(s, q, &renames, "cannot read a board's renames");
    }
    for (size_t i = 0; i < renames.n && !e; i++) {
        int valid;
        if ((e = parse_arrival(s, renames.v[i], &x)) || !x.body)
            continue;
        if ((e = board_validity(s, x.author, x.seq, &valid)) || valid != PS_OK)
            continue;
        if (!best.any || x.created > best.created ||
            (x.created == best.created && memcmp(x.id, best.id, HEARTH_ID_LEN) > 0))
            words_take(&best, &x);
    }
    i64vec_release(&renames);
    if (!e && (q = sq(s, Q_BOARD_SET_WORDS)) == NULL)
        e = HERR_IO;
    if (!e) {
        sqlite3_bind_int64(q, 1, board);
        sqlite3_bind_text(q, 2, best.any ? best.name : own.name, -1, SQLITE_TRANSIENT);
        const char *about = best.any && best.about ? best.about : own.about;
        if (about)
            sqlite3_bind_text(q, 3, about, -1, SQLITE_TRANSIENT);
        e = sq_exec(s, q, "cannot update a board");
    }
    free(own.name), free(own.about), free(best.name), free(best.about);
    if (!e && (!own.name || (best.any && !best.name)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    return e;
}

static herr board_apply(struct store *s, int64_t ev, const struct view_target *ref,
                        const struct event *x, bool referenced)
{
    /* A board event with a ref renames the board it refs (once that is here). */
    if (x->has_ref)
        return ref->held ? board_names(s, ref->ev) : HERR_OK;
    int valid;
    herr e = board_validity(s, x->author, x->seq, &valid);
    sqlite3_stmt *q = e ? NULL : sq(s, Q_BOARD_INSERT);
    if (!q)
        return e ? e : HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sq_bind_id(q, 2, x->id);
    sqlite3_bind_blob(q, 3, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)x->created);
    sqlite3_bind_text(q, 5, x->b.name.p, (int)x->b.name.n, SQLITE_STATIC);
    if (x->b.about.p)
        sqlite3_bind_text(q, 6, x->b.about.p, (int)x->b.about.n, SQLITE_STATIC);
    sqlite3_bind_int(q, 7, valid);
    e = sq_exec(s, q, "cannot insert a board");
    if (!e && referenced)
        e = board_posts_refresh(s, ev);
    if (!e && referenced)
        e = board_names(s, ev);
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
        int valid;
        e = ev_row(s, evs.v[i], &r);
        if (!e)
            e = board_validity(s, r.author, r.seq, &valid);
        if (!e && (q = sq(s, Q_BOARD_SET_VALID)) == NULL)
            e = HERR_IO;
        if (!e) {
            sqlite3_bind_int64(q, 1, evs.v[i]);
            sqlite3_bind_int(q, 2, valid);
            e = sq_exec(s, q, "cannot update a board");
        }
        if (!e && sqlite3_changes(s->db) > 0)
            e = board_posts_refresh(s, evs.v[i]);
        if (!e) /* a rename's author may have gained or lost the power */
            e = board_names(s, evs.v[i]);
    }
    i64vec_release(&evs);
    return e;
}

/* ---- recomputing after care changes ---- */

static herr posts_refresh_all(struct store *s)
{
    return refresh_list(s, sq(s, Q_POSTS_ALL), true, "cannot list posts");
}

static herr author_refresh(struct store *s, const uint8_t *author)
{
    sqlite3_stmt *q = sq(s, Q_AUTHOR_CONTENT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    return refresh_list(s, q, true, "cannot list an author's posts");
}

/* hold_shift - with held first posts, a new post of an author can change which of
 * their posts are the first ones: recompute those. */
static herr hold_shift(struct store *s, const uint8_t *author)
{
    if (!s->hold)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_AUTHOR_FIRST);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)s->hold + 1);
    return refresh_list(s, q, true, "cannot list an author's posts");
}

/* recompute_dependents - roles changed: everything that reads them. */
static herr recompute_dependents(struct store *s)
{
    bool changed;
    herr e = care_config_recompute(s, &changed);
    if (!e)
        e = care_bans_recompute_all(s);
    if (!e)
        e = boards_refresh(s);
    if (!e)
        e = posts_refresh_all(s);
    return e;
}

herr view_recompute_all(struct store *s)
{
    bool changed;
    herr e = care_roles_recompute(s, &changed);
    return e ? e : recompute_dependents(s);
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

static herr care_event_add(struct store *s, int64_t ev, uint32_t kind)
{
    sqlite3_stmt *q = sq(s, Q_CARE_ADD);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sqlite3_bind_int(q, 2, (int)kind);
    return sq_exec(s, q, "cannot record a care event");
}

/* role_apply / config_apply - a role, settings or resources event arrived. */
static herr role_apply(struct store *s, int64_t ev)
{
    bool changed = false;
    herr e = care_event_add(s, ev, EK_ROLE);
    if (!e)
        e = care_roles_recompute(s, &changed);
    return !e && changed ? recompute_dependents(s) : e;
}

/* config_apply - a settings event can change what is held without changing the
 * settings in force (it moves the hold timeline), so with a hold in force every post
 * is looked at again. */
static herr config_apply(struct store *s, int64_t ev, uint32_t kind)
{
    bool changed = false;
    herr e = care_event_add(s, ev, kind);
    if (!e)
        e = care_config_recompute(s, &changed);
    return !e && (changed || (kind == EK_SETTINGS && s->hold)) ? posts_refresh_all(s) : e;
}

/* mod_apply - a moderation event arrived: record it, and recompute its target (a
 * post, or for a ban the posts of its subject). */
static herr mod_apply(struct store *s, int64_t ev, const struct event *x, int64_t ref_ev)
{
    int action = care_action_of(x->b.action);
    uint8_t subject[HEARTH_PK_LEN]; /* the person the key named stands for */
    herr e = x->b.subject ? dev_subject(s, x->b.subject, subject) : HERR_OK;
    sqlite3_stmt *q = e ? NULL : sq(s, Q_MOD_ADD);
    if (!q)
        return e ? e : HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sqlite3_bind_int(q, 2, action);
    if (x->b.subject) {
        sqlite3_bind_blob(q, 3, subject, HEARTH_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(q, 4, x->b.subject, HEARTH_PK_LEN, SQLITE_STATIC);
    }
    e = sq_exec(s, q, "cannot record a moderation event");
    if (e)
        return e;
    if (x->b.subject) {
        bool changed;
        e = care_ban_recompute(s, subject, &changed);
        return !e && changed ? author_refresh(s, subject) : e;
    }
    return ref_ev ? refresh_post_at(s, ref_ev) : HERR_OK;
}

/* ---- reactions, flags, profiles ---- */

static herr mark_apply(struct store *s, enum q which, int64_t ev, const struct event *x,
                       struct hstr what)
{
    sqlite3_stmt *q = sq(s, which);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, ev);
    sqlite3_bind_blob(q, 2, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    if (x->body)
        sqlite3_bind_text(q, 3, what.p, (int)what.n, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, x->body != NULL);
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

/* profile_put - x becomes its author's profile in force. The name is shown as
 * rules_name_clean leaves it: a peer's name with controls or bidirectional overrides
 * (which our own node refuses to sign) cannot make the text around it read otherwise. */
static herr profile_put(struct store *s, int64_t ev, const struct event *x)
{
    char name[3 * HEARTH_MAX_NAME + 1];
    size_t len;
    if (x->b.name.n > HEARTH_MAX_NAME)
        return store_fail(s, HERR_CORRUPT, "a profile name is too long");
    (void)rules_name_clean(x->b.name, name, &len);
    sqlite3_stmt *q = sq(s, Q_PROFILE_PUT);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 1, x->author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, ev);
    sqlite3_bind_int64(q, 3, (int64_t)x->seq);
    sq_bind_id(q, 4, x->id);
    sqlite3_bind_text(q, 5, name, (int)len, SQLITE_STATIC);
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

/* ---- retractions and edits ---- */

/* refresh_post_at - recompute the post or reply at `ev`, if that is one. */
static herr refresh_post_at(struct store *s, int64_t ev)
{
    struct evrow t;
    herr e = ev_row(s, ev, &t);
    if (!e && (t.kind == EK_POST || t.kind == EK_REPLY))
        e = post_refresh(s, ev, true);
    return e;
}

static herr retract_apply(struct store *s, const struct event *x)
{
    struct evrow t;
    bool held;
    herr e = ev_find(s, x->ref, &t, &held);
    if (e || !held || !purgeable(t.kind) || memcmp(t.author, x->author, HEARTH_PK_LEN))
        return e;
    if (t.kind == EK_POST || t.kind == EK_REPLY)
        return post_refresh(s, t.arrival, true);
    /* An edit's post first: its row may name the edit's body, which goes after. */
    if (t.kind == EK_EDIT && t.ref_ev)
        e = refresh_post_at(s, t.ref_ev);
    if (!e)
        e = purge(s, t.arrival);
    if (!e && t.kind == EK_REACT)
        e = mark_kill(s, Q_REACT_KILL, t.arrival);
    if (!e && t.kind == EK_FLAG)
        e = mark_kill(s, Q_FLAG_KILL, t.arrival);
    if (!e && t.kind == EK_FLAG && s->flag_limit && t.ref_ev)
        e = refresh_post_at(s, t.ref_ev);
    if (!e && t.kind == EK_PROFILE)
        e = profile_recompute(s, t.author);
    return e;
}

/* edit_apply - an edit arrived: recompute its target, when that is a post. */
static herr edit_apply(struct store *s, int64_t ev)
{
    struct evrow r;
    herr e = ev_row(s, ev, &r);
    if (!e && r.ref_ev)
        e = refresh_post_at(s, r.ref_ev);
    return e;
}

/* retracted_before - a retraction of ev by its author is held; ev itself is held at
 * `arrival`, or (0) not yet and the retraction waits for it. */
static herr retracted_before(struct store *s, const struct event *ev, int64_t arrival,
                             bool referenced, bool *yes)
{
    herr e = HERR_OK;
    *yes = false;
    if (arrival)
        return is_retracted(s, arrival, ev->author, yes);
    if (!referenced)
        return HERR_OK;
    sqlite3_stmt *q = sq(s, Q_WAIT_RETRACTED);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, ev->id);
    sqlite3_bind_blob(q, 2, ev->author, HEARTH_PK_LEN, SQLITE_STATIC);
    int n = sq_step(s, q, &e, "cannot read retractions");
    *yes = n > 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* target_query - the statement `held` bound to a target held at `arrival`, or
 * `waiting` bound to its id while it is not here yet (arrival 0); NULL on failure. */
static sqlite3_stmt *target_query(struct store *s, enum q held, enum q waiting, int64_t arrival,
                                  const uint8_t *id)
{
    sqlite3_stmt *q = sq(s, arrival ? held : waiting);
    if (q && arrival)
        sqlite3_bind_int64(q, 1, arrival);
    else if (q)
        sq_bind_id(q, 1, id);
    return q;
}

/* removal_due - a removal of the post `id` (held at arrival, or 0: waiting for it)
 * by someone ever made moderator is held. */
static herr removal_due(struct store *s, const uint8_t *id, int64_t arrival, bool *yes)
{
    herr e = HERR_OK;
    *yes = false;
    sqlite3_stmt *q = target_query(s, Q_EV_REMOVES, Q_WAIT_REMOVES, arrival, id);
    if (!q)
        return HERR_IO;
    /* Few rows: collect the authors, then check each. */
    uint8_t authors[8][HEARTH_PK_LEN];
    size_t n = 0;
    int r;
    while ((r = sq_step(s, q, &e, "cannot read removals")) > 0)
        if (n < 8)
            memcpy(authors[n++], sqlite3_column_blob(q, 0), HEARTH_PK_LEN);
    for (size_t i = 0; i < n && r == 0 && !e && !*yes; i++)
        e = care_ever(s, authors[i], ROLE_MODERATOR, yes);
    return e;
}

/* post_purge_due - the words of a post or reply must go: its author retracted it
 * or a moderator removed it. */
static herr post_purge_due(struct store *s, const uint8_t *id, const uint8_t *author,
                           int64_t arrival, bool referenced, bool *yes)
{
    herr e = HERR_OK;
    *yes = false;
    if (arrival) {
        e = is_retracted(s, arrival, author, yes);
    } else if (referenced) {
        struct event probe = {0};
        memcpy(probe.id, id, HEARTH_ID_LEN);
        memcpy(probe.author, author, HEARTH_PK_LEN);
        e = retracted_before(s, &probe, 0, true, yes);
    }
    if (!e && !*yes && (arrival || referenced))
        e = removal_due(s, id, arrival, yes);
    return e;
}

/* edited_later - an edit of the post (held at arrival, or 0: the post is not held and
 * its edits wait for `id`) by `author`, greater than (seq, vid) in (seq, id) order, is
 * held: the version (seq, vid) of that post is superseded. */
static herr edited_later(struct store *s, int64_t arrival, const uint8_t *id, const uint8_t *author,
                         uint64_t seq, const uint8_t *vid, bool *yes)
{
    herr e = HERR_OK;
    sqlite3_stmt *q = target_query(s, Q_EDIT_NEWER, Q_WAIT_EDIT_NEWER, arrival, id);
    if (!q)
        return HERR_IO;
    sqlite3_bind_blob(q, 2, author, HEARTH_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (int64_t)seq);
    sq_bind_id(q, 4, vid);
    int n = sq_step(s, q, &e, "cannot read edits");
    *yes = n > 0;
    if (n > 0)
        sqlite3_reset(q);
    return n < 0 ? e : HERR_OK;
}

/* edit_purge_due - an edit's words go with its post (retracted or removed), and when
 * the post itself or a later edit of it supersedes them. */
static herr edit_purge_due(struct store *s, const struct event *ev, bool *yes)
{
    struct evrow t;
    bool held;
    herr e = ev_find(s, ev->ref, &t, &held);
    if (e || !held || (t.kind != EK_POST && t.kind != EK_REPLY))
        return e;
    e = post_purge_due(s, t.id, t.author, t.arrival, true, yes);
    if (e || *yes || memcmp(t.author, ev->author, HEARTH_PK_LEN))
        return e;
    *yes = version_cmp(t.seq, t.id, ev->seq, ev->id) > 0;
    return *yes ? HERR_OK : edited_later(s, t.arrival, NULL, ev->author, ev->seq, ev->id, yes);
}

herr view_must_purge(struct store *s, const struct event *ev, int64_t arrival, bool referenced,
                     bool *yes)
{
    *yes = false;
    if (!purgeable(ev->kind))
        return HERR_OK;
    if (ev->kind == EK_POST || ev->kind == EK_REPLY) {
        herr e = post_purge_due(s, ev->id, ev->author, arrival, referenced, yes);
        if (e || *yes || (!arrival && !referenced))
            return e;
        return edited_later(s, arrival, ev->id, ev->author, ev->seq, ev->id, yes);
    }
    herr e = retracted_before(s, ev, arrival, referenced, yes);
    if (e || *yes || ev->kind != EK_EDIT)
        return e;
    return edit_purge_due(s, ev, yes);
}

/* device_apply - a device event arrived: when the mapping of keys to persons changed,
 * every event of the devices concerned counts for its new person. The profiles and
 * retractions of those keys and persons are read again, then everything that reads
 * authors (roles, bans, boards, posts and their times). */
static herr device_apply(struct store *s)
{
    struct dev_keys devs = {0}, persons = {0};
    struct i64vec rets = {0};
    herr e = dev_recompute(s, &devs, &persons);
    for (size_t i = 0; i < devs.n && !e; i++)
        e = profile_recompute(s, devs.v[i]);
    for (size_t i = 0; i < persons.n && !e; i++)
        e = profile_recompute(s, persons.v[i]);
    for (int pass = 0; pass < 2 && !e; pass++) {
        const struct dev_keys *k = pass ? &persons : &devs;
        for (size_t i = 0; i < k->n && !e; i++) {
            sqlite3_stmt *q = sq(s, Q_DEV_RETRACTS);
            if (!q) {
                e = HERR_IO;
                break;
            }
            sqlite3_bind_blob(q, 1, k->v[i], HEARTH_PK_LEN, SQLITE_STATIC);
            e = sq_collect(s, q, &rets, "cannot read retractions");
        }
    }
    for (size_t i = 0; i < rets.n && !e; i++) {
        struct event x;
        e = parse_arrival(s, rets.v[i], &x);
        if (!e)
            e = retract_apply(s, &x);
    }
    if (!e && devs.n) {
        s->time_loaded = false;
        e = view_recompute_all(s);
    }
    i64vec_release(&rets);
    dev_keys_release(&devs);
    dev_keys_release(&persons);
    return e;
}

/* content_apply - a post or reply arrived (fresh) or got its body back. */
static herr content_apply(struct store *s, int64_t ev, const struct view_target *ref,
                          const struct event *x, unsigned how)
{
    herr e = how & VIEW_FRESH ? post_apply(s, ev, ref, x, how & VIEW_REFERENCED)
                              : post_refresh(s, ev, true);
    return e ? e : hold_shift(s, x->author);
}

static herr flag_apply(struct store *s, int64_t ev, const struct view_target *ref,
                       const struct event *x)
{
    herr e = mark_apply(s, Q_FLAG_INSERT, ev, x, x->b.reason);
    if (!e && s->flag_limit && ref->held && ref->kind)
        e = post_refresh(s, ref->ev, true);
    return e;
}

static herr apply_kind(struct store *s, int64_t ev, const struct view_target *ref,
                       const struct event *x, unsigned how)
{
    switch (x->kind) {
    case EK_GENESIS:
        return genesis_apply(s, x);
    case EK_BOARD:
        return board_apply(s, ev, ref, x, how & VIEW_REFERENCED);
    case EK_POST:
    case EK_REPLY:
        return content_apply(s, ev, ref, x, how);
    case EK_EDIT:
        return edit_apply(s, ev);
    case EK_RETRACT:
        return retract_apply(s, x);
    case EK_REACT:
        return mark_apply(s, Q_REACT_INSERT, ev, x, x->b.reaction);
    case EK_FLAG:
        return flag_apply(s, ev, ref, x);
    case EK_PROFILE:
        return x->body ? profile_offer(s, ev, x) : HERR_OK;
    case EK_ROLE:
        return role_apply(s, ev);
    case EK_MOD:
        return mod_apply(s, ev, x, ref->held ? ref->ev : 0);
    case EK_SETTINGS:
    case EK_RESOURCES:
        return config_apply(s, ev, x->kind);
    case EK_DEVICE:
        return event_kind_known(EK_DEVICE) ? device_apply(s) : HERR_OK;
    default: /* a kind this build does not know: stored, forwarded, not read */
        return HERR_OK;
    }
}

herr view_apply(struct store *s, int64_t ev, const struct view_target *ref, const struct event *x,
                unsigned how)
{
    /* The view changes only inside the write transaction that stores the event: its
     * end saves the kept digest, and a crash undoes both together. */
    assert(!sqlite3_get_autocommit(s->db));
    herr e = time_ready(s, how & VIEW_FRESH ? ev : 0);
    uint64_t b0 = time_bound(s);
    if (e)
        return e;
    if (how & VIEW_FRESH)
        time_note(s, x);
    e = apply_kind(s, ev, ref, x, how);
    return !e && (how & VIEW_FRESH) ? time_settle(s, x, b0) : e;
}
