/* forum.c - what the forum says of itself, and what a viewer did to a post: small
 * questions the front-ends ask on every page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "store/store.h"
#include "store/store_int.h"

herr store_forum_name(struct store *s, char **name)
{
    struct hbuf b;
    struct event ev;
    uint8_t forum[HEARTH_ID_LEN];
    *name = NULL;
    herr e = store_forum(s, forum);
    if (e)
        return e;
    hbuf_init(&b, HEARTH_MAX_EVENT);
    if (!(e = store_get(s, forum, &b)) && !(e = event_parse(&ev, b.data, b.len, NULL)) &&
        ev.b.name.p && !(*name = strndup(ev.b.name.p, ev.b.name.n)))
        e = store_fail(s, HERR_NOMEM, "out of memory");
    hbuf_release(&b);
    return e;
}

/* reactions_run - the rows (reaction, react event id, post id) of q into out. */
static herr reactions_run(struct store *s, sqlite3_stmt *q, struct store_my_reaction *out,
                          size_t max, size_t *n)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < max) {
        struct store_my_reaction *r = &out[*n];
        const char *t = (const char *)sqlite3_column_text(q, 0);
        if (!t || sqlite3_column_bytes(q, 1) != HEARTH_ID_LEN ||
            sqlite3_column_bytes(q, 2) != HEARTH_ID_LEN)
            continue;
        snprintf(r->name, sizeof r->name, "%s", t);
        memcpy(r->id, sqlite3_column_blob(q, 1), HEARTH_ID_LEN);
        memcpy(r->post, sqlite3_column_blob(q, 2), HEARTH_ID_LEN);
        ++*n;
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HERR_OK
                                                 : store_sqlerr(s, rc, "cannot read reactions");
}

static herr reactions_query(struct store *s, const char *sql, const uint8_t id[HEARTH_ID_LEN],
                            const uint8_t author[HEARTH_PK_LEN], struct store_my_reaction *out,
                            size_t max, size_t *n)
{
    sqlite3_stmt *q = NULL;
    *n = 0;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (e)
        return e;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        e = store_sqlerr(s, rc, "cannot prepare a query");
    if (!e) {
        sq_bind_id(q, 1, id);
        sqlite3_bind_blob(q, 2, author, HEARTH_PK_LEN, SQLITE_STATIC);
        e = reactions_run(s, q, out, max, n);
    }
    sqlite3_finalize(q);
    store_read_end(s);
    return e;
}

herr store_my_reactions(struct store *s, const uint8_t post[HEARTH_ID_LEN],
                        const uint8_t author[HEARTH_PK_LEN], struct store_my_reaction *out,
                        size_t max, size_t *n)
{
    return reactions_query(s,
                           "SELECT r.reaction, e.id, t.id FROM events t JOIN events e ON "
                           "e.ref_ev = t.arrival AND e.kind = 7 JOIN reacts r ON r.ev = "
                           "e.arrival WHERE t.id = ?1 AND r.author = ?2 AND r.live = 1 "
                           "ORDER BY e.arrival",
                           post, author, out, max, n);
}

herr store_thread_reactions(struct store *s, const uint8_t thread[HEARTH_ID_LEN],
                            const uint8_t author[HEARTH_PK_LEN], struct store_my_reaction *out,
                            size_t max, size_t *n)
{
    /* From the author's events (events_author) to the posts they name. */
    return reactions_query(s,
                           "SELECT r.reaction, e.id, t.id FROM events e JOIN reacts r ON r.ev = "
                           "e.arrival JOIN events t ON t.arrival = e.ref_ev WHERE e.author = ?2 "
                           "AND +e.kind = 7 AND r.live = 1 AND (t.id = ?1 OR t.root = ?1) "
                           "ORDER BY e.arrival",
                           thread, author, out, max, n);
}

herr store_board_get(struct store *s, const uint8_t id[HEARTH_ID_LEN], struct store_board *b)
{
    sqlite3_stmt *q = NULL;
    memset(b, 0, sizeof *b);
    s->err[0] = '\0';
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT name, about, created FROM boards WHERE id = ?1 AND valid = 0", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, "cannot prepare a query");
    sq_bind_id(q, 1, id);
    herr e = HERR_OK;
    if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        memcpy(b->id, id, HEARTH_ID_LEN);
        b->name = strdup((const char *)sqlite3_column_text(q, 0));
        b->about = sqlite3_column_type(q, 1) == SQLITE_NULL
                       ? NULL
                       : strdup((const char *)sqlite3_column_text(q, 1));
        b->created = (uint64_t)sqlite3_column_int64(q, 2);
        if (!b->name || (sqlite3_column_type(q, 1) != SQLITE_NULL && !b->about))
            e = store_fail(s, HERR_NOMEM, "out of memory");
    } else {
        e = rc == SQLITE_DONE ? store_fail(s, HERR_NOT_FOUND, "no such board")
                              : store_sqlerr(s, rc, "cannot read a board");
    }
    sqlite3_finalize(q);
    if (e)
        store_board_release(b);
    return e;
}

void store_board_release(struct store_board *b)
{
    free(b->name);
    free(b->about);
    memset(b, 0, sizeof *b);
}

/* ---- the moderation log and the roles in force ---- */

/* each_event - call fn with each event whose arrival q's column 0 yields, parsed. */
typedef herr (*event_fn)(struct store *s, void *ctx, const struct event *ev);

static herr each_event(struct store *s, sqlite3_stmt *q, event_fn fn, void *ctx)
{
    struct hbuf b;
    herr e = HERR_OK;
    int rc;
    hbuf_init(&b, HEARTH_MAX_EVENT);
    while (!e && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct event ev;
        uint8_t id[HEARTH_ID_LEN];
        if (sqlite3_column_bytes(q, 0) != HEARTH_ID_LEN)
            continue;
        memcpy(id, sqlite3_column_blob(q, 0), HEARTH_ID_LEN);
        hbuf_reset(&b);
        /* A stored event parses: it was parsed and verified before it was stored. */
        if (!(e = store_get(s, id, &b)) && event_parse(&ev, b.data, b.len, NULL) == HERR_OK)
            e = fn(s, ctx, &ev);
    }
    if (!e && rc != SQLITE_DONE)
        e = store_sqlerr(s, rc, "cannot read events");
    hbuf_release(&b);
    return e;
}

struct grow {
    void *v;
    size_t n, cap, size;
};

static void *grow_next(struct grow *g)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        void *v = realloc(g->v, cap * g->size);
        if (!v)
            return NULL;
        g->v = v;
        g->cap = cap;
    }
    void *x = (char *)g->v + g->n++ * g->size;
    memset(x, 0, g->size);
    return x;
}

static char *name_of(struct store *s, const uint8_t pk[HEARTH_PK_LEN])
{
    char *name = NULL, *about = NULL;
    if (store_profile(s, pk, &name, &about) != HERR_OK)
        name = NULL;
    free(about);
    return name;
}

static herr mod_add(struct store *s, void *ctx, const struct event *ev)
{
    struct store_mod_entry *x;
    if (ev->kind != EK_MOD || !ev->body || !(x = grow_next(ctx)))
        return ev->kind != EK_MOD || !ev->body ? HERR_OK : HERR_NOMEM;
    memcpy(x->id, ev->id, HEARTH_ID_LEN);
    memcpy(x->author, ev->author, HEARTH_PK_LEN);
    x->created = ev->created;
    snprintf(x->action, sizeof x->action, "%.*s", (int)ev->b.action.n, ev->b.action.p);
    if ((x->has_target = ev->has_ref))
        memcpy(x->target, ev->ref, HEARTH_ID_LEN);
    if ((x->has_subject = ev->b.subject != NULL))
        memcpy(x->subject, ev->b.subject, HEARTH_PK_LEN);
    x->author_name = name_of(s, ev->author);
    if (!(x->reason = strndup(ev->b.reason.p, ev->b.reason.n)))
        return HERR_NOMEM;
    return HERR_OK;
}

/* listed - run sql (?1 a 32-byte id or key or NULL, ?2 a time, ?3 a limit) over the
 * store, and pass every event its column 0 names to add (into g), in one read. */
static herr listed(struct store *s, const char *sql, const uint8_t *blob, uint64_t since,
                   size_t limit, event_fn add, struct grow *g)
{
    sqlite3_stmt *q = NULL;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (e)
        return e;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        e = store_sqlerr(s, rc, "cannot prepare a query");
    if (!e) {
        if (blob)
            sqlite3_bind_blob(q, 1, blob, HEARTH_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, since > INT64_MAX ? INT64_MAX : (int64_t)since);
        sqlite3_bind_int64(q, 3, !limit ? 100 : limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
        e = each_event(s, q, add, g);
    }
    sqlite3_finalize(q);
    store_read_end(s);
    return e == HERR_NOMEM ? store_fail(s, e, "out of memory") : e;
}

static herr mod_list(struct store *s, const char *sql, const uint8_t *blob, uint64_t since,
                     size_t limit, struct store_mod_entry **out, size_t *n)
{
    struct grow g = {.size = sizeof **out};
    herr e = listed(s, sql, blob, since, limit, mod_add, &g);
    if (e) {
        store_mod_log_free(g.v, g.n);
        g.v = NULL;
        g.n = 0;
    }
    *out = g.v;
    *n = g.n;
    return e;
}

herr store_mod_log(struct store *s, const uint8_t *target, size_t limit,
                   struct store_mod_entry **out, size_t *n)
{
    return mod_list(s,
                    "SELECT e.id FROM mods m JOIN events e ON e.arrival = m.ev WHERE ?1 IS NULL "
                    "OR e.ref = ?1 ORDER BY e.created DESC, e.seq DESC, e.id DESC LIMIT ?3",
                    target, 0, limit, out, n);
}

herr store_mod_about(struct store *s, const uint8_t author[HEARTH_PK_LEN], uint64_t since_ms,
                     size_t limit, struct store_mod_entry **out, size_t *n)
{
    /* From the author's posts (events_author) to what names them (events_ref). */
    return mod_list(s,
                    "SELECT e.id FROM events e WHERE e.ref_ev IN (SELECT arrival FROM events "
                    "WHERE author = ?1 AND +kind IN (3, 4)) AND +e.kind = 11 AND +e.created > ?2 "
                    "ORDER BY e.created DESC, e.seq DESC, e.id DESC LIMIT ?3",
                    author, since_ms, limit, out, n);
}

void store_mod_log_free(struct store_mod_entry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].reason);
        free(v[i].author_name);
    }
    free(v);
}

static herr grant_add(struct store *s, void *ctx, const struct event *ev)
{
    struct store_role_grant *x;
    if (ev->kind != EK_ROLE || !ev->b.subject)
        return HERR_OK;
    if (!(x = grow_next(ctx)))
        return HERR_NOMEM;
    memcpy(x->grant, ev->id, HEARTH_ID_LEN);
    memcpy(x->subject, ev->b.subject, HEARTH_PK_LEN);
    x->created = ev->created;
    snprintf(x->role, sizeof x->role, "%.*s", (int)ev->b.role.n, ev->b.role.p);
    x->subject_name = name_of(s, ev->b.subject);
    if (ev->b.about.p && !(x->about = strndup(ev->b.about.p, ev->b.about.n)))
        return HERR_NOMEM;
    return HERR_OK;
}

herr store_role_grants(struct store *s, struct store_role_grant **out, size_t *n)
{
    struct grow g = {.size = sizeof **out};
    herr e = listed(s,
                    "SELECT e.id FROM roles r JOIN events e ON e.arrival = r.grant_ev WHERE "
                    "r.valid = 1 AND r.revoked = 0 ORDER BY r.role, e.created, e.id LIMIT ?3",
                    NULL, 0, SIZE_MAX, grant_add, &g);
    if (e) {
        store_role_grants_free(g.v, g.n);
        g.v = NULL;
        g.n = 0;
    }
    *out = g.v;
    *n = g.n;
    return e;
}

herr store_founder(struct store *s, uint8_t pk[HEARTH_PK_LEN])
{
    if (!s->has_founder)
        return store_fail(s, HERR_NOT_FOUND, "the forum's genesis is not here yet");
    memcpy(pk, s->founder, HEARTH_PK_LEN);
    return HERR_OK;
}

void store_role_grants_free(struct store_role_grant *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].about);
        free(v[i].subject_name);
    }
    free(v);
}
