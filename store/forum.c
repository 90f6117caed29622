/* forum.c - what the forum says of itself, and what a viewer did to a post: small
 * questions the front-ends ask on every page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/limits.h"
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

herr store_my_reactions(struct store *s, const uint8_t post[HEARTH_ID_LEN],
                        const uint8_t author[HEARTH_PK_LEN], struct store_my_reaction *out,
                        size_t max, size_t *n)
{
    sqlite3_stmt *q = NULL;
    *n = 0;
    s->err[0] = '\0';
    herr e = store_read_begin(s);
    if (e)
        return e;
    int rc = sqlite3_prepare_v2(
        s->db,
        "SELECT r.reaction, e.id FROM events t JOIN events e ON e.ref_ev = t.arrival "
        "AND e.kind = 7 JOIN reacts r ON r.ev = e.arrival WHERE t.id = ?1 AND "
        "r.author = ?2 AND r.live = 1 ORDER BY e.arrival",
        -1, &q, NULL);
    if (rc != SQLITE_OK)
        e = store_sqlerr(s, rc, "cannot prepare a query");
    if (!e) {
        sq_bind_id(q, 1, post);
        sqlite3_bind_blob(q, 2, author, HEARTH_PK_LEN, SQLITE_STATIC);
        while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < max) {
            struct store_my_reaction *r = &out[*n];
            const char *t = (const char *)sqlite3_column_text(q, 0);
            if (!t || sqlite3_column_bytes(q, 1) != HEARTH_ID_LEN)
                continue;
            snprintf(r->name, sizeof r->name, "%s", t);
            memcpy(r->id, sqlite3_column_blob(q, 1), HEARTH_ID_LEN);
            ++*n;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = store_sqlerr(s, rc, "cannot read reactions");
    }
    sqlite3_finalize(q);
    store_read_end(s);
    return e;
}
