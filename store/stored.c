/* stored.c - reading a stored event back: its envelope rebuilt from the parts the
 * events table keeps (header, signature, body) and parsed as a peer's would be.
 *
 * The lowest of the store's readers of events (store_int.h, "Layers"): the view, care
 * and the queries read held events through here, and this file calls nothing of
 * theirs.
 */
#include "store/store_int.h"

herr stored_event_parse(struct store *s, sqlite3_stmt *q, int col, struct event *ev)
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

/* parse_one - step q (bound) to its one row and parse it into ev, with column 3 into
 * *ref_ev when ref_ev is not NULL; HERR_NOT_FOUND when there is no row. */
static herr parse_one(struct store *s, sqlite3_stmt *q, struct event *ev, int64_t *ref_ev)
{
    herr e = HERR_OK;
    int n = sq_step(s, q, &e, "cannot read an event");
    if (n <= 0)
        return n < 0 ? e : HERR_NOT_FOUND;
    e = stored_event_parse(s, q, 0, ev);
    if (ref_ev)
        *ref_ev = sqlite3_column_int64(q, 3);
    sqlite3_reset(q);
    return e;
}

/* stored_event_get - the held event `id`, parsed (borrowing s->scratch). */
herr stored_event_get(struct store *s, const uint8_t *id, struct event *ev)
{
    sqlite3_stmt *q = sq(s, Q_EV_PARTS_BY_ID);
    if (!q)
        return HERR_IO;
    sq_bind_id(q, 1, id);
    return parse_one(s, q, ev, NULL);
}

/* stored_event_at - the event stored at `arrival`, parsed (borrowing s->scratch). */
herr stored_event_at(struct store *s, int64_t arrival, struct event *ev, int64_t *ref_ev)
{
    sqlite3_stmt *q = sq(s, Q_EV_PARTS_REF);
    if (!q)
        return HERR_IO;
    sqlite3_bind_int64(q, 1, arrival);
    return parse_one(s, q, ev, ref_ev);
}
